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
#include "tests/support/device_lines.hpp"
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

using test::non_blank_lines;

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
