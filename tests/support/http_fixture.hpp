#pragma once

// Reader for the byte-exact single-request fixtures in tests/fixtures/zkpush/
// (`<endpoint>-<what>.http`: request line and headers with CRLF, an empty
// line, then exactly Content-Length body bytes).
//
// Test support only: malformed files throw std::runtime_error naming the
// file, so a broken fixture fails the test that loads it.

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "tests/support/pushdemo_log.hpp"

namespace pushgate::test {

/** A request loaded from a .http fixture. */
struct HttpRequestFixture {
  std::string name;     ///< file name without directory
  std::string method;   ///< "GET", "POST"
  std::string target;   ///< "/iclock/cdata?SN=...&table=ATTLOG&Stamp=9999"
  std::string version;  ///< "HTTP/1.1"
  std::vector<HttpField> headers;
  std::string body;  ///< exactly Content-Length bytes
  std::string raw;   ///< the whole file

  const std::string* header(std::string_view field) const { return find_header(headers, field); }
  std::string_view path() const;   ///< target up to '?'
  std::string_view query() const;  ///< target after '?', or empty
};

/** All bytes of a file. Throws std::runtime_error when it cannot be read. */
std::string read_file_bytes(const std::filesystem::path& file);

/**
 * Loads a .http fixture. Throws std::runtime_error when the header block does
 * not end with CRLF CRLF, a header line does not end with CRLF, or the body
 * length differs from Content-Length (no Content-Length: the body must be
 * empty).
 */
HttpRequestFixture load_http_fixture(const std::filesystem::path& file);

/**
 * The value of `key=` in a line-oriented answer body (a handshake's option
 * block, a registry answer): up to the line's end, "" when absent.
 */
std::string line_value(const std::string& body, const std::string& key);

/** The *.http files of a directory, sorted by name. */
std::vector<std::filesystem::path> http_fixture_files(const std::filesystem::path& directory);

}  // namespace pushgate::test
