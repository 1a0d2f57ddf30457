#pragma once

// Traffic capture of one terminal (issue 15 item 5), the pure part: the
// redaction of biometric templates and photos, and the rendering of one
// exchange in the text format of ZKTeco's demo server logs
// (tests/fixtures/zk-pushdemo/README.md), which the test replay
// (tests/support/pushdemo_log.hpp) loads back byte for byte.
//
// Standard library only (plus POSIX open for the 0600 mode); the hook in
// the session is zkpush_session_capture.cpp.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pushgate::adapters::zkpush {

/** One header as captured: name, value. */
using CaptureField = std::pair<std::string, std::string>;

/** The marker that replaces a redacted value: "[redacted N bytes]". */
std::string capture_redaction_marker(std::size_t bytes);

/**
 * The body with biometric templates and photos replaced by
 * capture_redaction_marker(length):
 * - the whole body of an /iclock/fdata upload and of a table=ATTPHOTO or
 *   table=BIOPHOTO upload (binary JPEG bytes);
 * - in text bodies, the value of every TAB- or line-separated `tmp=`,
 *   `content=` field (any case: FP/FACE/BIODATA templates, userpic and
 *   biophoto content).
 * Other bytes are kept as they are.
 */
std::string redact_capture_body(std::string_view target, std::string_view body);

/**
 * One request section: "Sever Receive Data:  <at>", the request line,
 * headers with LF line ends (CR/LF inside a value become spaces; a
 * Content-Length header is rewritten to the size of `body`), a blank line,
 * the body, two LFs.
 */
std::string render_capture_request(std::string_view at, std::string_view method,
                                   std::string_view target, std::string_view version,
                                   const std::vector<CaptureField>& headers, std::string_view body);

/**
 * The answer: a "Sever Send Data:" section with the status line and headers,
 * then, when the body is not empty, a second one with the body.
 */
std::string render_capture_response(std::string_view at, int status, std::string_view reason,
                                    const std::vector<CaptureField>& headers,
                                    std::string_view body);

/** One request and its answer, as the session saw them. */
struct CaptureExchange {
  std::string_view method;
  std::string_view target;
  std::string_view version;  ///< "HTTP/1.1"
  std::vector<CaptureField> headers;
  std::string_view body;  ///< as the terminal sent it
  int status = 0;
  std::string_view reason;
  std::vector<CaptureField> answer_headers;
  std::string_view answer_body;
};

/** What GET /api/v1/terminals/{sn}/capture answers. */
struct CaptureStatus {
  bool active = false;
  std::string file;           ///< empty before the first capture
  std::uint64_t bytes = 0;    ///< written to `file`
  std::int64_t until_ms = 0;  ///< 0: no end (zkpush.capture_terminals)
  bool redact = true;
  std::string stopped;  ///< why it stopped: "expired", "max_bytes", an I/O error
};

/**
 * The captures in progress, one file per terminal:
 * `<directory>/<sn>-<UTC time>.log`, mode 0600, bounded by max_bytes (the
 * exchange that would pass it is not written and the capture stops).
 * Thread-safe; a write is one small buffered append and a flush. A failing
 * write stops the capture, never the request: write() returns the error
 * text once for the caller to log.
 */
class CaptureRegistry {
 public:
  CaptureRegistry(std::filesystem::path directory, std::vector<std::string> configured,
                  std::uint64_t max_bytes, bool configured_redact = true);
  ~CaptureRegistry();
  CaptureRegistry(const CaptureRegistry&) = delete;
  CaptureRegistry& operator=(const CaptureRegistry&) = delete;

  /** Starts (or restarts) a capture until `until_ms`; returns an error text or "". */
  std::string start(const std::string& sn, std::int64_t now_ms, std::int64_t until_ms, bool redact);
  /** True when this terminal's traffic is captured now (cheap; starts a configured one). */
  bool wants(std::string_view sn, std::int64_t now_ms);
  /** Appends one exchange; returns an error text when the capture just stopped on an error. */
  std::string write(std::string_view sn, std::int64_t now_ms, const CaptureExchange& exchange);
  std::optional<CaptureStatus> status(std::string_view sn, std::int64_t now_ms);

  static std::string utc_stamp(std::int64_t ms, bool for_file);

 private:
  struct Capture {
    CaptureStatus status;
    std::FILE* file = nullptr;
  };
  std::string open_locked(const std::string& sn, std::int64_t now_ms, std::int64_t until_ms,
                          bool redact);
  void stop_locked(Capture& c, std::string why);

  std::filesystem::path directory_;
  std::vector<std::string> configured_;
  std::uint64_t max_bytes_;
  bool configured_redact_;
  std::mutex mutex_;
  std::map<std::string, Capture, std::less<>> captures_;
};

}  // namespace pushgate::adapters::zkpush
