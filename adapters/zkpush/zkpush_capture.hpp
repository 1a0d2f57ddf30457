#pragma once

// Traffic capture of one terminal (issue 15 item 5), the pure part: the
// redaction of biometric templates and photos, and the rendering of one
// exchange in the text format of ZKTeco's demo server logs
// (tests/fixtures/zk-pushdemo/README.md), which the test replay
// (tests/support/pushdemo_log.hpp) loads back byte for byte.
//
// Standard library only; the file handling and the hooks in the session are
// not part of this file.

#include <cstddef>
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

}  // namespace pushgate::adapters::zkpush
