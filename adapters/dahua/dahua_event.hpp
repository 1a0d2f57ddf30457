#pragma once

// Dahua access-control events, as the HTTP API sends them: the semicolon text
// form of the eventManager stream and of EventHttpUpload
// (`Code=AccessControl;action=Pulse;index=0;data={...}`) and the JSON form of
// EventHttpUpload (`{"Code":..,"Action":..,"Index":..,"Data":{..}}`), decoded
// into one neutral struct. Part of the pure protocol library
// pushgate_dahua_protocol; see adapters/dahua/README.md for the wire formats.
//
// Contract shared by every function of this library (all dahua_*.hpp):
// - Pure and re-entrant: no I/O, no logging, no global state, never blocks;
//   safe from any thread. Results own their strings (no views into input).
// - Device bytes are untrusted: nothing throws on them (only std::bad_alloc
//   can escape) and every input is bounded (JSON depth and size, part and
//   body caps) so hostile input costs bounded memory and linear time.
// - Keys are matched ASCII case-insensitively (`Code`/`code`,
//   `action`/`Action`, `data`/`Data`); what was sent is kept in `raw`.
// - Nothing is dropped silently: an event with an unknown code is an event;
//   a field or record that cannot be used is reported as a problem.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace pushgate::adapters::dahua {

/** A key=value pair exactly as the device sent it (key case preserved). */
struct KeyValue {
  std::string key;
  std::string value;
};

/** ASCII case-insensitive equality (device keys are ASCII). */
bool iequals(std::string_view a, std::string_view b) noexcept;

/** `text` without leading and trailing spaces, TABs, CRs, LFs and NULs. */
std::string_view trim(std::string_view text) noexcept;

/** A decimal integer (optional sign) filling the whole trimmed text; empty otherwise. */
std::optional<std::int64_t> parse_int(std::string_view text) noexcept;

/** The `action` of an event: Start/Stop for states, Pulse for one-off events. */
enum class EventAction { None, Start, Stop, Pulse, Other };

std::string_view to_string(EventAction action) noexcept;

/** `Type` of an access record: Entry / Exit (case-insensitive); Unknown otherwise. */
enum class Direction { Unknown, Entry, Exit };

std::string_view to_string(Direction direction) noexcept;

/**
 * A device time in the form the device sent it. Epoch seconds are taken as
 * sent (the device's idea of UTC); a "YYYY-MM-DD HH:MM:SS" text is
 * device-local and is returned unconverted with `device_local` set: only the
 * adapter knows the device's zone.
 */
struct DeviceTime {
  std::string text;                   ///< as sent (trimmed)
  std::optional<std::int64_t> epoch;  ///< when the text is an integer
  bool device_local = false;          ///< text is a valid "YYYY-MM-DD HH:MM:SS"
  bool usable() const noexcept { return epoch.has_value() || device_local; }
};

/** Reads a device time: an integer, or "YYYY-MM-DD HH:MM:SS" (also with a 'T'). */
DeviceTime parse_device_time(std::string_view text);

/**
 * The fields of an access-control record, from an event's `data` object or
 * a recordFinder row (the same names on both). Every field is optional:
 * firmware omits empty ones. Values are kept as text where the device is
 * inconsistent about the type (UserID, ReaderID, CardNo arrive as numbers
 * or strings).
 */
struct AccessFields {
  std::optional<std::string> user_id;        ///< UserID ("" for an unknown card/face)
  std::optional<std::string> card_no;        ///< CardNo, verbatim (often hex)
  std::optional<std::string> card_name;      ///< CardName
  std::optional<std::string> user_name;      ///< UserName / Name of the user (when sent)
  std::optional<int> card_type;              ///< CardType
  std::optional<int> user_type;              ///< UserType
  std::optional<int> door;                   ///< Door, 0-based (the URL `channel` is 1-based)
  std::optional<std::string> reader_id;      ///< ReaderID ("1"…)
  std::optional<int> method;                 ///< Method (HTTP-API enum, see dahua_codes.hpp)
  std::optional<int> status;                 ///< Status as an int (1 granted, 0 refused)
  std::string status_text;                   ///< Status as sent when it was text ("Open")
  std::optional<int> error_code;             ///< ErrorCode (refusal reason)
  Direction direction = Direction::Unknown;  ///< Type Entry / Exit
  std::string type_text;                     ///< Type as sent
  std::optional<int> attendance_state;       ///< AttendanceState
  std::optional<std::int64_t> rec_no;        ///< RecNo (the device's record number)
  std::optional<std::int64_t> utc;           ///< UTC (epoch s, the device's clock)
  std::optional<std::int64_t> real_utc;      ///< RealUTC (when the firmware sends it)
  std::optional<DeviceTime> create_time;     ///< CreateTime (epoch or device-local text)
  std::string locale_time;                   ///< LocaleTime as sent (VTO)
  std::string url;                           ///< URL of a snapshot (records)
  std::string name;                          ///< Name (VTO: "OpenDoor")
  /** Fields not listed above, as text (objects and arrays as compact JSON). */
  std::vector<KeyValue> other;
  /** Known fields whose value had the wrong type ("Door=abc"), kept as text. */
  std::vector<KeyValue> bad;

  /**
   * The best device time: RealUTC, then UTC, then an epoch CreateTime
   * (the research file's policy, adapters/dahua/README.md). Empty when only a
   * device-local text time is known.
   */
  std::optional<std::int64_t> best_epoch() const noexcept;
};

/**
 * Sets one field from its text value (key matched case-insensitively).
 * Unknown keys go to `other`; a known key with an unusable value goes to `bad`.
 * Empty values of optional text fields are kept as empty text.
 */
void apply_field(AccessFields& fields, std::string_view key, std::string_view value);

/** One decoded event, from the stream or from a push upload. */
struct DahuaEvent {
  std::string code;  ///< Code as sent ("AccessControl", "DoorStatus", unknown ones too)
  EventAction action = EventAction::None;
  std::string action_text;           ///< action as sent
  std::optional<int> index;          ///< index (channel-like, 0-based)
  bool has_data = false;             ///< a data object was present and parsed
  AccessFields data;                 ///< the data object's fields (empty when none)
  std::string data_json;             ///< the data object re-serialised compactly ("" when none)
  std::string data_raw;              ///< the data value exactly as sent ("" when none)
  std::vector<KeyValue> other_keys;  ///< top-level keys other than Code/action/index/data
  std::string raw;                   ///< the event text (or JSON object) as received
  /** Non-fatal problems (data not JSON, bad index…); the event is still usable. */
  std::vector<std::string> problems;
};

/** JSON bounds for a data object (device events are small and flat). */
inline constexpr std::size_t kMaxEventJsonBytes = 64 * 1024;
inline constexpr std::size_t kMaxEventJsonDepth = 16;

/** What one event text or JSON object gave: an event, or why not. */
struct EventParse {
  std::optional<DahuaEvent> event;
  std::string error;  ///< why there is no event ("" when there is)
  std::string raw;    ///< the input as received
};

/**
 * Decodes one event in the semicolon form: `Code=..;action=..;index=..;data=..`.
 * Pairs are split on ';' and at the first '=' (so values may hold '='); the
 * `data` value runs to the end of the text (it may hold ';' and newlines) and
 * is parsed as bounded JSON when it starts with '{'. Fragments without '=' are
 * reported as problems. Without a `Code` key there is no event.
 */
EventParse parse_event_text(std::string_view text);

/**
 * Decodes one event from a JSON object of the push form
 * (`{"Code":..,"Action":..,"Index":..,"Data":{..}}`, keys in any case).
 * `raw` is stored as the event's raw text.
 */
EventParse decode_event_object(const nlohmann::json& object, std::string raw);

/**
 * Parses `text` as bounded JSON (kMaxEventJson*). On refusal returns
 * std::nullopt and sets `error` to one sentence.
 */
std::optional<nlohmann::json> parse_event_json(std::string_view text, std::string& error);

/**
 * The key the same record has everywhere (stream, push, backfill), for
 * storing it once: "recno:<RecNo>" when known, else "h:<16 hex>" of
 * (best time, CreateTime text, UserID, CardNo, Door, Method, Code).
 * RecNo numbers the access records (AccessControl events and
 * AccessControlCardRec rows share it [obs]); whether alarm records share that
 * sequence is not known, so a caller storing AccessControlAlarmRecord rows
 * and alarm events should prefix the key with its own namespace.
 */
std::string record_key(std::string_view code, const AccessFields& fields);

}  // namespace pushgate::adapters::dahua
