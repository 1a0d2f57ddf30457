#pragma once

// The Dahua code tables, in one place: event Code → neutral event kind,
// HTTP-API `Method` → verify method, `ErrorCode` → refusal reason. The
// tables in adapters/dahua/README.md are generated from these
// (render_code_tables_markdown(); dahua_codes_test fails when they drift).
// Pure (see dahua_event.hpp).
//
// Kinds are the names of pushgate::EventKind (gateway/event.hpp:
// "access", "alarm", "door_state", "operation"), as text so this library
// does not depend on the gateway; the adapter maps them with
// event_kind_from_string().

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace pushgate::adapters::dahua {

/** Where a table row comes from. */
enum class Evidence {
  Doc,  ///< vendor documentation (Dahua HTTP API as quoted, Intelbras public API pages)
  Obs,  ///< open projects / SDK headers that ran against devices, not vendor HTTP docs
};

std::string_view to_string(Evidence evidence) noexcept;

struct EventCodeInfo {
  std::string_view code;     ///< the event Code as sent (matched case-insensitively)
  std::string_view kind;     ///< pushgate EventKind name
  std::string_view meaning;  ///< one line, for the README and logs
  Evidence evidence;
};

/** Every event code pushgate knows, in README order. */
std::span<const EventCodeInfo> event_codes() noexcept;

/** The row of `code`, or nullptr for a code nobody mapped (still stored, never dropped). */
const EventCodeInfo* find_event_code(std::string_view code) noexcept;

/** The kind for `code`: the table's, or "operation" for an unmapped code. */
std::string_view event_kind_for(std::string_view code) noexcept;

struct MethodInfo {
  int code;
  std::string_view name;  ///< short neutral name ("card", "face", "card+password"…)
  std::string_view meaning;
  Evidence evidence;
};

/** The HTTP-API `Method` values (not the NetSDK enum: there face is 16, here 15). */
std::span<const MethodInfo> verify_methods() noexcept;

/** "unknown" for values not in the table. */
std::string_view verify_method_name(int method) noexcept;

struct ErrorCodeInfo {
  int code;
  std::string_view reason;  ///< neutral slug ("anti_passback", "no_door_permission"…)
  std::string_view meaning;
  Evidence evidence;
};

/** The `ErrorCode` values of a refused access (0 = no error). */
std::span<const ErrorCodeInfo> error_codes() noexcept;

/** "unknown" for values not in the table; "none" for 0. */
std::string_view refusal_reason(int error_code) noexcept;

struct AttendanceStateInfo {
  int code;               ///< AttendanceState as sent
  std::string_view name;  ///< neutral slug ("check_in", "break_out"…)
  int punch_state;        ///< the gateway's punch state (ZKTeco 0-5), -1: none
  std::string_view meaning;
  Evidence evidence;
};

/** The `AttendanceState` values of a punch on a T&A terminal. */
std::span<const AttendanceStateInfo> attendance_states() noexcept;

/**
 * The punch state (0 check-in, 1 check-out, 2 break-out, 3 break-in, 4
 * overtime-in, 5 overtime-out: the attendance rules' numbering) of
 * `AttendanceState`; -1 for 0 and unknown values (the rules then give the
 * punch its role by its time).
 */
int punch_state_of(int attendance_state) noexcept;

/** The four tables as Markdown, exactly as they stand in adapters/dahua/README.md. */
std::string render_code_tables_markdown();

}  // namespace pushgate::adapters::dahua
