#pragma once

// Helpers the Security PUSH parser tests share: the fixtures of
// tests/fixtures/zkpush/security/ and short views of parse results.

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "adapters/zkpush/zkpush_protocol.hpp"
#include "adapters/zkpush/zkpush_security_tables.hpp"
#include "tests/support/http_fixture.hpp"

namespace pushgate::adapters::zkpush::security::test_support {

using test::HttpRequestFixture;

inline std::filesystem::path security_fixtures_dir() {
  return std::filesystem::path(PUSHGATE_SOURCE_DIR) / "tests" / "fixtures" / "zkpush" / "security";
}

/**
 * A request from tests/fixtures/zkpush/security/: the Security PUSH 3.1.2
 * examples (named after their section) and hand-made firmware shapes.
 */
inline HttpRequestFixture fixture(const std::string& name) {
  return test::load_http_fixture(security_fixtures_dir() / name);
}

inline QueryResult query_of(const HttpRequestFixture& request) {
  return parse_query(request.query());
}

inline std::size_t non_blank_lines(std::string_view body) {
  std::size_t count = 0;
  std::size_t pos = 0;
  while (pos < body.size()) {
    std::size_t eol = body.find('\n', pos);
    if (eol == std::string_view::npos) {
      eol = body.size();
    }
    const std::string_view line = body.substr(pos, eol - pos);
    if (line.find_first_not_of(std::string_view(" \t\r\0", 4)) != std::string_view::npos) {
      ++count;
    }
    pos = eol + 1;
  }
  return count;
}

inline std::vector<std::size_t> problem_lines(const std::vector<ParseProblem>& problems) {
  std::vector<std::size_t> out;
  for (const ParseProblem& problem : problems) {
    out.push_back(problem.line);
  }
  return out;
}

inline std::vector<std::string> reasons(const std::vector<ParseProblem>& problems) {
  std::vector<std::string> out;
  for (const ParseProblem& problem : problems) {
    out.push_back(problem.reason);
  }
  return out;
}

template <typename Record>
const Record& record_as(const TableEntry& entry) {
  return std::get<Record>(entry.record);
}

}  // namespace pushgate::adapters::zkpush::security::test_support
