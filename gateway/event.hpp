#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pushgate {

/**
 * What a record is about. Stored as an integer; the names are the ones used
 * in the REST API and on MQTT topics. Values are persisted: never renumber.
 */
enum class EventKind : std::uint8_t {
  Attendance = 1,  ///< a punch (ATTLOG, attendance-mode rtlog)
  Access = 2,      ///< an access-control event (rtlog with a verify result)
  Alarm = 3,       ///< an alarm (tamper, duress, door forced…)
  DoorState = 4,   ///< a door sensor / relay / alarm state change
  Operation = 5,   ///< an operation log entry (OPLOG, menu actions)
  Enrollment = 6,  ///< user, card, template or photo uploaded by a terminal
  ErrorLog = 7,    ///< a terminal's error log entry
  Timecard = 8,    ///< an attendance timecard computed by pushgate
  Decision = 9,    ///< an access decision taken by pushgate
  Photo = 10,      ///< an attendance / comparison photo upload
  Alert = 11,      ///< an alert raised by a linkage rule (gateway/linkage)
  Audit = 12,      ///< who did what: API changes, logins, MQTT/Modbus commands (audit.hpp)
};

std::string_view to_string(EventKind kind) noexcept;
std::optional<EventKind> event_kind_from_string(std::string_view name) noexcept;

/** Sentinel for an integer field the terminal did not send. */
inline constexpr int kUnset = -1;

/**
 * One record in the append-only event log. Produced by adapters from what a
 * device uploaded (or by rules), committed by the store, read by sinks.
 *
 * `terminal_sn` + `record_key` identify the record the way the terminal does,
 * so the same record uploaded twice is stored once.
 */
struct Event {
  std::int64_t id = 0;      ///< assigned by the store on commit
  std::int64_t seq = 0;     ///< per-terminal sequence, assigned on commit
  std::string terminal_sn;  ///< serial number of the device
  std::string record_key;   ///< the device's own key for this record
  EventKind kind = EventKind::Attendance;
  std::string local_time;              ///< terminal-local time exactly as sent
  std::optional<std::int64_t> utc_ms;  ///< UTC derived from the terminal's zone; empty if unusable
  std::string pin;                     ///< user PIN ("" when none)
  int verify_mode = kUnset;            ///< how the user was verified (finger, face, card…)
  int status = kUnset;                 ///< attendance state / in-out state
  std::string work_code;
  int door = kUnset;
  int event_code = kUnset;
  std::string raw;               ///< the raw line as received
  std::string extra_json;        ///< other fields as a JSON object ("" when none)
  std::int64_t received_ms = 0;  ///< when pushgate received it (UTC ms)
  std::int64_t command_id = 0;   ///< the command whose answer this is (0 if none)
};

}  // namespace pushgate
