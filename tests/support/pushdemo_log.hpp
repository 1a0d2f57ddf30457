#pragma once

// Loader for the request/response logs of ZKTeco's demo PUSH server
// (tests/fixtures/zk-pushdemo/, format described in its README.md): turns a
// log file into the ordered HTTP exchanges a real terminal had with the demo.
//
// Test support only: errors in the log format throw std::runtime_error
// naming the file and line, so a test fails loudly instead of replaying
// half an exchange.

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pushgate::test {

/** One header line, name and value as logged (value without surrounding spaces). */
struct HttpField {
  std::string name;
  std::string value;
};

/** First value of header `name` (ASCII case-insensitive), or nullptr. */
const std::string* find_header(const std::vector<HttpField>& headers, std::string_view name);

/** What the demo server answered. */
struct DemoResponse {
  std::size_t log_line = 0;  ///< 1-based line of its "Sever Send Data" marker
  std::string sent_at;       ///< the demo's local time, as logged
  std::string status_line;   ///< "HTTP/1.1 200 OK"
  int status = 0;            ///< 200, 401, ...
  std::vector<HttpField> headers;
  /**
   * The body as logged. The demo's logger dropped CR bytes, so this can be
   * shorter than the Content-Length header ("OK\r\n" is logged as "OK\n").
   */
  std::string body;
};

/** One request a client sent to the demo, with the demo's answer. */
struct PushdemoExchange {
  std::string source;              ///< log file name
  std::size_t log_line = 0;        ///< 1-based line of its "Sever Receive Data" marker
  std::string received_at;         ///< the demo's local time, as logged
  std::string method;              ///< "GET", "POST"
  std::string target;              ///< "/iclock/cdata?SN=...", as sent
  std::string version;             ///< "HTTP/1.1"
  std::vector<HttpField> headers;  ///< in order
  std::string body;                ///< exactly Content-Length bytes
  /**
   * True for requests no terminal sent: a REST tool or browser (Postman or
   * Mozilla user agent), lower-case `sn=`, an unexpanded `%s`/`%d`, a path
   * outside /iclock/ such as /favicon.ico.
   */
  bool hand_made = false;
  std::string hand_made_reason;          ///< why, when hand_made
  std::optional<DemoResponse> response;  ///< empty when the demo logged no answer

  const std::string* header(std::string_view field) const { return find_header(headers, field); }
  std::string_view path() const;   ///< target up to '?'
  std::string_view query() const;  ///< target after '?', or empty
};

/** A whole log file. */
struct PushdemoLog {
  std::string source;                       ///< file name
  std::vector<PushdemoExchange> exchanges;  ///< in log order
  /** Answers whose request is not in this file (it was logged in the previous hour's file). */
  std::vector<DemoResponse> orphan_responses;
  std::size_t restarts = 0;  ///< "Sever Start" markers
};

/** Loads one demo log. Throws std::runtime_error on I/O or format errors. */
PushdemoLog load_pushdemo_log(const std::filesystem::path& file);

/** The *.txt logs of a directory, sorted by name (chronological within a build). */
std::vector<std::filesystem::path> pushdemo_log_files(const std::filesystem::path& directory);

/**
 * The request as it went over the wire: request line and headers with CRLF
 * line ends (the log kept LF), an empty line, then the body.
 */
std::string render_http_request(const PushdemoExchange& exchange);

}  // namespace pushgate::test
