#pragma once

// Helpers the attendance PUSH parser tests share: fixtures, demo logs, problem views.

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "adapters/zkpush/zkpush_protocol.hpp"
#include "tests/support/http_fixture.hpp"
#include "tests/support/pushdemo_log.hpp"

namespace pushgate::adapters::zkpush::test_support {

inline std::filesystem::path fixtures_dir() {
  return std::filesystem::path(PUSHGATE_SOURCE_DIR) / "tests" / "fixtures";
}

/** A request cut from the real terminal captures. */
inline test::HttpRequestFixture captured(const std::string& name) {
  return test::load_http_fixture(fixtures_dir() / "zkpush" / "speedface-v5l" / name);
}

/** A request written by hand for a shape the captures lack. */
inline test::HttpRequestFixture handmade(const std::string& name) {
  return test::load_http_fixture(fixtures_dir() / "zkpush" / "handmade" / name);
}

inline test::PushdemoLog demo_log(const std::string& name) {
  return test::load_pushdemo_log(fixtures_dir() / "zk-pushdemo" / name);
}

inline std::vector<std::string> reasons(const std::vector<ParseProblem>& problems) {
  std::vector<std::string> out;
  for (const ParseProblem& problem : problems) {
    out.push_back(problem.reason);
  }
  return out;
}

inline std::vector<std::size_t> problem_lines(const std::vector<ParseProblem>& problems) {
  std::vector<std::size_t> out;
  for (const ParseProblem& problem : problems) {
    out.push_back(problem.line);
  }
  return out;
}

}  // namespace pushgate::adapters::zkpush::test_support
