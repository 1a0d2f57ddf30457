#pragma once

// Fixture loading for the Suprema protocol tests (tests/fixtures/suprema/).

#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>

namespace pushgate::adapters::suprema::test_support {

inline std::filesystem::path fixture_path(const std::string& name) {
  return std::filesystem::path(PUSHGATE_SOURCE_DIR) / "tests" / "fixtures" / "suprema" / name;
}

/** The bytes of a fixture file, exactly. */
inline std::string fixture(const std::string& name) {
  std::ifstream in(fixture_path(name), std::ios::binary);
  if (!in) {
    throw std::runtime_error("missing fixture " + fixture_path(name).string());
  }
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace pushgate::adapters::suprema::test_support
