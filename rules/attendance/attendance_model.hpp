#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <date/date.h>

#include "rules/attendance/local_time.hpp"

namespace pushgate::rules::attendance {

/**
 * The attendance rule model: plain structs, no behaviour but validation.
 *
 * Mirrors the Dahua Attendance Standalone manual (see README.md for the
 * section-by-section mapping): shifts made of one or two duty periods and an
 * overtime session (§2.7.1), late-in/early-out allowances (§2.7.3), per-user
 * and per-department calendars with day codes 0/1-24/25/26 (§2.7.2), the
 * recheck interval (§2.11.2), state switch times (§2.11.6), SmartPSS Lite
 * attendance periods (§3.8: valid check-in/check-out windows, first-in/
 * last-out, late-as-absence, rest periods, flexible periods) and shift cycles
 * by day or week (§3.9). Holidays are this gateway's addition.
 *
 * A Rules value is immutable once built; share it as
 * std::shared_ptr<const Rules>. Everything that computes assumes the value
 * passed validate() (rules_from_json() only returns validated rules).
 */

/** Attendance state a terminal attaches to a punch (ZKTeco and Dahua numbering). */
enum class PunchState : int {
  CheckIn = 0,
  CheckOut = 1,
  BreakOut = 2,
  BreakIn = 3,
  OvertimeIn = 4,
  OvertimeOut = 5,
  Undefined = 255,
};

/** One attendance record as uploaded by a terminal. */
struct Punch {
  std::string pin;
  /** Terminal-local wall time (the site's local time). */
  date::local_seconds local{};
  /** 0 check-in, 1 check-out, 2 break-out, 3 break-in, 4 OT-in, 5 OT-out, 255 undefined. */
  std::optional<int> state;
  std::string terminal_sn;
  /** The terminal's own record key; (terminal_sn, event_id) identifies a punch. */
  std::int64_t event_id = 0;

  friend bool operator==(const Punch&, const Punch&) = default;
};

/**
 * The canonical total order of punches: by local time, then terminal, event
 * id, state and pin. Every tie is broken, so any arrival order sorts to the
 * same sequence.
 */
bool punch_before(const Punch& a, const Punch& b);

/** Day codes of a calendar (§2.7.2). */
inline constexpr int kRestCode = 0;
inline constexpr int kFirstShiftId = 1;
inline constexpr int kLastShiftId = 24;
inline constexpr int kBusinessTripCode = 25;
inline constexpr int kLeaveCode = 26;

/** Limits that carry meaning in the manual. */
inline constexpr int kMaxDutyPeriodsPerShift = 2;   // §2.7.1 "You can set 2 periods"
inline constexpr int kMaxRestPeriodsPerPeriod = 7;  // §3.8 "up to 7 rest periods"
inline constexpr int kMaxRecheckIntervalMin = 9;    // §2.11.2 "0 ... 9"
inline constexpr int kMaxStateSwitchEntries = 24;   // §2.11.6 "up to 24"

/** A range of wall-clock times; `to` is inclusive to the end of its minute. */
struct ClockWindow {
  TimeOfDay from{0};
  TimeOfDay to{0};
  friend bool operator==(const ClockWindow&, const ClockWindow&) = default;
};

/** A rest period inside a fixed period (§3.8, Figure 3-15/3-16). */
struct RestPeriod {
  std::string name;
  TimeOfDay start{0};
  TimeOfDay end{0};
  /** Where break-out/break-in punches are looked for; default [start, end]. */
  std::optional<ClockWindow> validity;
  /** "Rest Period (Minute)"; default end - start. */
  std::optional<int> minutes;
  /** Deduct the rest from worked time without any punch. */
  bool auto_deduct = true;
  /** The rest is taken by punching break-out and break-in. */
  bool must_check = false;
  /** A shorter break than `minutes` is credited as work (with must_check). */
  bool transfer_unused = false;
  friend bool operator==(const RestPeriod&, const RestPeriod&) = default;
};

enum class PeriodType { Fixed, Flexible };

/** An attendance period (§2.7.1 Duty T1/T2, §3.8 fixed or flexible type). */
struct Period {
  std::string id;
  std::string name;
  PeriodType type = PeriodType::Fixed;

  // Fixed type.
  TimeOfDay start{0};
  /** end <= start means the period ends on the next day (cross-midnight). */
  TimeOfDay end{0};
  /** "Valid Check-in Time": check-ins outside it do not count. */
  std::optional<ClockWindow> valid_check_in;
  /** "Valid Check-out Time": check-outs outside it do not count. */
  std::optional<ClockWindow> valid_check_out;
  /** Override the shift's and the site's allowances (§2.7.3, §3.8). */
  std::optional<int> late_allowance_min;
  std::optional<int> early_allowance_min;
  /** "Late sign in over N minutes is recorded as absence" (§3.8). */
  std::optional<int> late_absence_after_min;
  /** "Record as": the period's normal minutes; default its length less deducted rests. */
  std::optional<int> record_as_min;
  std::vector<RestPeriod> rests;

  /** "Use First Check-In and Last Check-Out Only" (§3.8); false pairs punches. */
  bool first_last_only = true;

  // Flexible type.
  int required_min = 0;
  /** "Cross Day Punch Change": the wall time at which the attendance day turns. */
  TimeOfDay day_start{0};
  /** Worked time beyond required_min counts as overtime. */
  bool overtime_beyond_required = false;

  friend bool operator==(const Period&, const Period&) = default;
};

/** The overtime session of a shift: no late/early, overtime = out - in (§2.15, §2.16). */
struct OvertimeSession {
  TimeOfDay start{0};
  TimeOfDay end{0};
  friend bool operator==(const OvertimeSession&, const OvertimeSession&) = default;
};

/** A shift (§2.7.1): one or two fixed periods, or one flexible period, plus overtime. */
struct Shift {
  /** 1..24, the day code that schedules it. */
  int id = 0;
  std::string name;
  /** Period ids in chronological order. */
  std::vector<std::string> periods;
  std::optional<OvertimeSession> overtime;
  /** Override the site's allowances for this shift's periods (§2.7.3). */
  std::optional<int> late_allowance_min;
  std::optional<int> early_allowance_min;
  friend bool operator==(const Shift&, const Shift&) = default;
};

enum class CycleMode { Day, Week };

/** A shift cycle (§3.9): a repeating list of day codes. */
struct Cycle {
  std::string id;
  std::string name;
  date::local_days start_date{};
  CycleMode mode = CycleMode::Day;
  /** "Number of Cycles": days (Day mode) or weeks (Week mode) before repeating. */
  int length = 1;
  /** Day codes; Day mode: `length` entries from start_date; Week mode: 7*length from Monday. */
  std::vector<int> days;
  friend bool operator==(const Cycle&, const Cycle&) = default;
};

/** "Schedule Mode" of a user (§2.5.1.1). */
enum class ScheduleMode { Department, Personal };

struct Department {
  int id = 0;
  std::string name;
  friend bool operator==(const Department&, const Department&) = default;
};

struct User {
  std::string pin;
  std::string name;
  std::optional<int> department;
  ScheduleMode schedule_mode = ScheduleMode::Department;
  friend bool operator==(const User&, const User&) = default;
};

/**
 * The calendar of one user or one department (§2.7.2): explicit day codes,
 * and optionally a cycle for the days not listed. Exactly one owner is set.
 */
struct Schedule {
  std::optional<std::string> user;
  std::optional<int> department;
  std::map<date::local_days, int> days;
  std::optional<std::string> cycle;
  friend bool operator==(const Schedule&, const Schedule&) = default;
};

/** Days on which a scheduled shift is not worked (inclusive range). */
struct Holiday {
  std::string name;
  date::local_days from{};
  date::local_days to{};
  friend bool operator==(const Holiday&, const Holiday&) = default;
};

/** One row of the state switch table (§2.11.6). */
struct StateSwitchEntry {
  TimeOfDay time{0};
  int state = 0;
  friend bool operator==(const StateSwitchEntry&, const StateSwitchEntry&) = default;
};

struct StateSwitch {
  /** Give punches without a state the state the table shows at their time. */
  bool infer_missing_states = false;
  std::vector<StateSwitchEntry> entries;
  friend bool operator==(const StateSwitch&, const StateSwitch&) = default;
};

/** The whole attendance configuration of a site. */
struct Rules {
  /** §2.11.2: punches within this many minutes of the last kept one are ignored. */
  int recheck_interval_min = 0;
  /** §2.7.3 site-wide allowances; shifts and periods may override. */
  int late_allowance_min = 0;
  int early_allowance_min = 0;
  StateSwitch state_switch;
  std::vector<Period> periods;
  std::vector<Shift> shifts;
  std::vector<Cycle> cycles;
  std::vector<Department> departments;
  std::vector<User> users;
  std::vector<Schedule> schedules;
  std::vector<Holiday> holidays;
  friend bool operator==(const Rules&, const Rules&) = default;
};

/** One problem in a configuration, naming the field ("shifts[0].periods[1]"). */
struct ConfigError {
  std::string field;
  std::string message;
  friend bool operator==(const ConfigError&, const ConfigError&) = default;
};

/** Every problem found; empty means the rules may be computed with. */
std::vector<ConfigError> validate(const Rules& rules);

/** The state a terminal following the §2.11.6 table shows at `time`; nullopt if no table. */
std::optional<int> state_at(const StateSwitch& table, TimeOfDay time);

}  // namespace pushgate::rules::attendance
