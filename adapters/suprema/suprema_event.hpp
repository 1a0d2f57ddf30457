#pragma once

// Suprema BioStar 2 events, as the server sends them: rows of
// `POST /api/events/search` and `{"Event":{…}}` messages of the `/wsapi`
// WebSocket, decoded into one neutral struct. Part of the pure protocol
// library pushgate_suprema_protocol; see adapters/suprema/README.md.
//
// Contract shared by every function of this library (all suprema_*.hpp):
// - Pure and re-entrant: no I/O, no logging, no global state, never blocks;
//   safe from any thread. Results own their strings (no views into input).
// - Server bytes are untrusted: nothing throws on them (only std::bad_alloc
//   can escape) and every input is bounded (body size, JSON depth, row count,
//   field length), so hostile input costs bounded memory and linear time.
// - Numbers arrive as strings ("id":"12", "code":"4102") [obs]; every
//   numeric field is read from a JSON string or number alike.
// - Nothing is dropped silently: an event with an unknown code is an event;
//   a field or row that cannot be used is reported as a problem.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "adapters/suprema/suprema_codes.hpp"

namespace pushgate::adapters::suprema {

/** Bounds of one JSON text from the server. */
struct JsonBounds {
  std::size_t max_bytes = 8 * 1024 * 1024;  ///< a search page of 1,000 rows is ~1 MB
  std::size_t max_depth = 16;
};

/** A single event message is small. */
inline constexpr JsonBounds kEventMessageBounds{256 * 1024, 16};

/** Longest text kept from one scalar field (names, ids); longer is a problem. */
inline constexpr std::size_t kMaxFieldBytes = 1024;

/** A JSON string or number as a signed integer ("12", 12, " 12 "); nullopt otherwise. */
std::optional<std::int64_t> json_integer(const nlohmann::json& value) noexcept;

/** A JSON string or number or bool as text (numbers in decimal); nullopt for objects/arrays/null.
 */
std::optional<std::string> json_text(const nlohmann::json& value);

/** A JSON bool, or the strings "true"/"false"/"1"/"0" (case-insensitive). */
std::optional<bool> json_bool(const nlohmann::json& value) noexcept;

/**
 * An ISO-8601 date-time as BioStar 2 writes it ("2015-06-10T02:14:05.268Z",
 * "2015-06-10T02:14:05Z", "2015-06-10T11:14:05+09:00", also with a space for
 * the 'T'), read to UTC milliseconds since the epoch. Without a zone the
 * text is taken as UTC (BioStar documents `datetime` as UTC) and
 * `zone_given` is false. Nullopt when the text is not such a time.
 */
struct ParsedTime {
  std::int64_t epoch_ms = 0;
  bool zone_given = false;
  int offset_minutes = 0;  ///< the offset written in the text (0 for Z)
};
std::optional<ParsedTime> parse_iso8601(std::string_view text) noexcept;

/** UTC milliseconds as BioStar wants them in queries: "YYYY-MM-DDTHH:MM:SS.mmmZ". */
std::string format_iso8601_utc(std::int64_t epoch_ms);

/** One event, from a search row or a WebSocket message. */
struct SupremaEvent {
  std::string id;                         ///< `id` as sent (server log row id; restarts monthly)
  std::optional<std::int64_t> code;       ///< `event_type_id.code` (4102 = 0x1006)
  std::string code_name;                  ///< `event_type_id.name` when sent
  Classification classification;          ///< `code` read through suprema_codes (unknown if none)
  std::string datetime;                   ///< `datetime` as sent (device time, UTC) [doc]
  std::optional<std::int64_t> epoch_ms;   ///< `datetime` read
  std::string server_datetime;            ///< `server_datetime` as sent (server's zone) [doc]
  std::optional<std::int64_t> device_id;  ///< `device_id.id`
  std::string device_name;                ///< `device_id.name`
  std::optional<std::int64_t> door_id;    ///< `door_id.id` (object, or first of an array)
  std::string door_name;                  ///< `door_id.name`
  std::string user_id;                    ///< `user_id.user_id` (text: ids may hold letters)
  std::string user_name;                  ///< `user_id.name`
  std::optional<int> tna_key;             ///< `tna_key` (0 = none)
  std::optional<int> punch_state;         ///< the T&A key by the default table
  std::optional<int> device_utc_offset_minutes;  ///< `timezone` {half,hour,negative} [doc]
  std::optional<std::int64_t> index;             ///< `index`
  std::optional<std::int64_t> parameter;         ///< `parameter`
  std::string raw;                               ///< the event object, compact JSON
  /** Fields present with an unusable value ("device_id":"abc"); the event is still kept. */
  std::vector<std::string> problems;
};

/**
 * The event's time on the device's wall clock, as UTC-based milliseconds
 * (`datetime` + the `timezone` offset), for attendance days and display;
 * nullopt without a time or an offset. DST (`is_dst`) is not applied: what
 * the server means by it is not documented.
 */
std::optional<std::int64_t> device_local_ms(const SupremaEvent& event) noexcept;

/** What one event object gave: an event, or why not. */
struct EventParse {
  std::optional<SupremaEvent> event;
  std::string error;  ///< why there is no event ("" when there is)
};

/**
 * Decodes one event object (a search row, or the value of "Event"). Only a
 * non-object is refused; missing fields stay empty; wrong types become
 * problems. The device's time zone: `timezone` {half, hour, negative} →
 * minutes (half adds 30) [doc: Suprema KB 24000090878].
 */
EventParse decode_event(const nlohmann::json& object);

/**
 * The key the same event has in search rows and WebSocket messages, for
 * storing it once: (device, id, datetime) because the server's `id` restarts
 * in every monthly log table [doc: Suprema KB 24000072558].
 */
std::string event_key(const SupremaEvent& event);

/** What a `/wsapi` text message is. */
enum class WsMessageKind { Event, Other, Invalid };

struct WsMessage {
  WsMessageKind kind = WsMessageKind::Invalid;
  std::optional<SupremaEvent> event;  ///< for Event
  std::string top_key;                ///< the first top-level key ("Event", "Device", …)
  std::string error;                  ///< for Invalid (and an Event whose object was unusable)
  std::string raw;                    ///< the text as received (up to the bound)
};

/**
 * Reads one text message of the `/wsapi` feed. `{"Event":{…}}` is an event
 * [obs: terryjohndado/WebSocketTest]; any other JSON object (device or door
 * status pushes, acknowledgements) is Other with its first key; anything
 * else (not JSON, too big, too deep, not an object) is Invalid with the reason.
 */
WsMessage parse_ws_message(std::string_view text, const JsonBounds& bounds = kEventMessageBounds);

/**
 * The text message a client sends first on `/wsapi`: "bs-session-id=<id>"
 * [obs: terryjohndado/WebSocketTest]. Empty when the id is not a safe token
 * (see is_valid_session_id()).
 */
std::string build_ws_session_message(std::string_view session_id);

/** A session id is 1..256 printable ASCII characters, no spaces, ';', ',' or '='. */
bool is_valid_session_id(std::string_view session_id) noexcept;

}  // namespace pushgate::adapters::suprema
