#pragma once

// The eventManager.cgi?action=attach stream (multipart/x-mixed-replace):
// an incremental parser fed with whatever the socket delivers, yielding
// events, heartbeats and errors. Pure (see dahua_event.hpp for the contract).
//
// Wire format [doc: Dahua HTTP API as quoted at qna.habr.com/q/1338700 and the
// Intelbras eventManager page]:
//   --myboundary\r\n
//   Content-Type: text/plain\r\n
//   Content-Length: 315\r\n
//   \r\n
//   Code=AccessControl;action=Pulse;index=0;data={ ...pretty-printed JSON... }\r\n
//   \r\n
// and parts whose body is `Heartbeat`. What real devices add [obs]: a part
// split anywhere by TCP (even inside the boundary), several `Code=` lines in
// one part, a missing or wrong Content-Length, LF instead of CRLF.
//
// How it delimits: never by Content-Length. A part runs from one boundary
// marker ("--" + boundary) to the next; inside a part, an event record ends
// at a line end outside the braces of `data={...}` (brace matching skips
// JSON strings, escaped quotes included), at the brace that closes
// `data={...}` (data is the last key), at the next marker, or at finish().
// So an event is yielded as soon as it is complete, without waiting for the
// next part. (A record without data and without a line end — a `Heartbeat`
// sent without CRLF — is complete only when the next part begins: a
// watchdog should count bytes received, not items.) The marker is recognised anywhere, even inside
// an unterminated JSON object, so a part cut short by a reboot costs that part only. Memory is
// bounded by `max_part_bytes`: a part (headers and body) larger than that is reported once as an
// error and skipped up to the next marker.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/dahua/dahua_event.hpp"

namespace pushgate::adapters::dahua {

/** One thing the stream gave. */
struct StreamItem {
  enum class Type { Event, Heartbeat, Error };
  Type type = Type::Error;
  std::optional<DahuaEvent> event;  ///< when type == Event
  std::string error;                ///< when type == Error: one sentence
  /** The record text (Event, Heartbeat, a record that was not an event);
   * for an oversized part its first 256 bytes. */
  std::string raw;
};

/** The boundary parameter of a multipart Content-Type (quoted or not); empty if none. */
std::string multipart_boundary(std::string_view content_type);

/**
 * Splits a text body (one part's body, or a push upload in the semicolon
 * form) into event records the way the stream parser does: a record ends at a
 * line end outside `data={...}` braces or at the brace closing them. Blank
 * records are skipped.
 */
std::vector<std::string> split_event_records(std::string_view text);

/** Turns one record text into a stream item (Heartbeat, Event or Error). */
StreamItem classify_record(std::string_view record);

class EventStreamParser {
 public:
  struct Limits {
    std::size_t max_part_bytes = 64 * 1024;  ///< headers + body of one part
  };

  /** `boundary` as in the Content-Type (a leading "--" is tolerated). */
  explicit EventStreamParser(std::string_view boundary, Limits limits);
  explicit EventStreamParser(std::string_view boundary) : EventStreamParser(boundary, Limits{}) {}

  /** Consumes `bytes` (any chunking) and returns what became complete. */
  std::vector<StreamItem> feed(std::string_view bytes);

  /** End of stream: a record complete up to the end is yielded; an unfinished one is an error. */
  std::vector<StreamItem> finish();

  /** Bytes held for an incomplete marker, header or record (bounded by the limits). */
  std::size_t buffered() const noexcept { return buf_.size(); }

  /** Parts seen (markers that opened a part). */
  std::size_t parts() const noexcept { return parts_; }

 private:
  enum class State { Preamble, MarkerLine, Headers, Body, Skip, Closed };

  void run(std::vector<StreamItem>& out, bool at_end);
  void end_record(std::vector<StreamItem>& out, std::size_t end);
  void reset_record() noexcept;
  bool over_cap(std::vector<StreamItem>& out);

  std::string marker_;
  Limits limits_;
  std::string buf_;  ///< unconsumed bytes; buf_[0] is the start of what is pending
  State state_ = State::Preamble;
  std::size_t scan_ = 0;        ///< body: bytes of buf_ already scanned
  std::size_t part_bytes_ = 0;  ///< bytes of the current part consumed so far
  int depth_ = 0;               ///< brace depth of the record being scanned
  bool in_string_ = false;
  bool escape_ = false;
  std::size_t parts_ = 0;
};

}  // namespace pushgate::adapters::dahua
