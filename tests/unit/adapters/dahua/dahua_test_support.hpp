#pragma once

// Fixture loading for the Dahua protocol tests (tests/fixtures/dahua/).

#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>

namespace pushgate::adapters::dahua::test_support {

inline std::filesystem::path fixture_path(const std::string& name) {
  return std::filesystem::path(PUSHGATE_SOURCE_DIR) / "tests" / "fixtures" / "dahua" / name;
}

/** The bytes of a fixture file, exactly (binary). */
inline std::string fixture(const std::string& name) {
  std::ifstream in(fixture_path(name), std::ios::binary);
  if (!in) {
    throw std::runtime_error("missing fixture " + fixture_path(name).string());
  }
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace pushgate::adapters::dahua::test_support
