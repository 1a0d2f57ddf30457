#pragma once
// A section of a checked-in text file (an adapter README's code tables) that
// is generated from the code: the check that the file still says what the
// code does, and the way to rewrite it. Header-only test support (GoogleTest);
// never linked into pushgated.
//
// The section sits between a line starting with
//   <!-- BEGIN GENERATED: <name>
// (the rest of that line says where it comes from) and
//   <!-- END GENERATED: <name> -->

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include <gtest/gtest.h>

namespace pushgate::test {

struct GeneratedSection {
  std::string file;        ///< relative to the source tree, e.g. "adapters/dahua/README.md"
  std::string name;        ///< the name in the markers, e.g. "dahua code tables"
  std::string source;      ///< the code it is generated from, for the failure message
  std::string update_env;  ///< set (to anything) to rewrite the section instead of failing
};

/**
 * Expects the section to read `expected`. When it does not and the
 * environment variable `section.update_env` is set, rewrites the section in
 * the source tree and skips the test (the rewritten file is to be committed).
 * Call it as the last statement of a test: it returns early on failure.
 */
inline void expect_generated_section(const GeneratedSection& section, const std::string& expected) {
  const std::filesystem::path path = std::filesystem::path(PUSHGATE_SOURCE_DIR) / section.file;
  const std::string begin_marker = "<!-- BEGIN GENERATED: " + section.name;
  const std::string end_marker = "<!-- END GENERATED: " + section.name + " -->";
  std::ifstream in(path, std::ios::binary);
  ASSERT_TRUE(in) << path;
  std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  in.close();
  const std::size_t begin = text.find(begin_marker);
  ASSERT_NE(begin, std::string::npos) << section.file << " lacks the BEGIN marker";
  const std::size_t body = text.find('\n', begin) + 1;
  const std::size_t end = text.find(end_marker, body);
  ASSERT_NE(end, std::string::npos) << section.file << " lacks the END marker";
  if (text.compare(body, end - body, expected) != 0 &&
      std::getenv(section.update_env.c_str()) != nullptr) {
    text.replace(body, end - body, expected);
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    GTEST_SKIP() << "rewrote " << path;
  }
  EXPECT_EQ(text.substr(body, end - body), expected)
      << section.file << " drifted from " << section.source << "; rerun this test with "
      << section.update_env << "=1 and commit the file";
}

}  // namespace pushgate::test
