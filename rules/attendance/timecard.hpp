#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <date/date.h>
#include <date/tz.h>
#include <nlohmann/json.hpp>

#include "gateway/clock.hpp"
#include "rules/attendance/attendance_model.hpp"
#include "rules/attendance/schedule.hpp"

namespace pushgate::rules::attendance {

/**
 * Timecards: one per user per attendance day, computed by a pure function
 * from the day plan and the punches of that day's window.
 *
 * The rules never read the wall clock. Whether a day is over (and a missing
 * punch has become an absence) is decided against ComputeContext::now, which
 * the caller takes from its pushgate::Clock (see site_now()).
 *
 * Pure functions; safe to call from any thread.
 */

/** What a computation needs besides rules, plan and punches. */
struct ComputeContext {
  /**
   * The site's time zone, so durations are real elapsed time across
   * daylight-saving changes; nullptr computes durations on the wall clock.
   * Not owned (date's tzdb zones live for the whole process).
   */
  const date::time_zone* zone = nullptr;
  /** The site's current wall time; windows ending at or before it are closed. */
  date::local_seconds now{};
};

/** The site's current wall time from a Clock (UTC when zone == nullptr). */
date::local_seconds site_now(const Clock& clock, const date::time_zone* zone);

/** What a punch was used for in its timecard. */
enum class PunchRole {
  Unused,     // in the day window but not needed, or outside every valid window
  Duplicate,  // within the recheck interval of the previous kept punch (§2.11.2)
  CheckIn,
  CheckOut,
  BreakOut,
  BreakIn,
  OvertimeIn,
  OvertimeOut,
};

std::string_view to_string(PunchRole role);

struct PunchUse {
  date::local_seconds local{};
  /** As uploaded. */
  std::optional<int> state;
  /** The state the rules read: the uploaded 0-5, an inferred one (§2.11.6), or none. */
  std::optional<int> effective_state;
  std::string terminal_sn;
  std::int64_t event_id = 0;
  PunchRole role = PunchRole::Unused;
  /** Index into Timecard::periods for check-in/out and break roles; -1 otherwise. */
  int period = -1;
  friend bool operator==(const PunchUse&, const PunchUse&) = default;
};

/** One paired check-in/check-out inside a period. */
struct WorkSession {
  date::local_seconds check_in{};
  date::local_seconds check_out{};
  friend bool operator==(const WorkSession&, const WorkSession&) = default;
};

/** The result for one duty or flexible period. */
struct PeriodResult {
  SegmentKind kind = SegmentKind::Duty;
  std::string period_id;
  date::local_seconds start{};
  date::local_seconds end{};
  /** Earliest effective check-in and latest effective check-out. */
  std::optional<date::local_seconds> check_in;
  std::optional<date::local_seconds> check_out;
  /** first_last_only: one session; otherwise every pair (§3.8). */
  std::vector<WorkSession> sessions;
  /** Minutes late/early beyond the allowance (§2.7.3: 8:06 with 5 min allowed is 1). */
  int late_minutes = 0;
  int early_minutes = 0;
  /** Flexible: minutes short of the required hours. */
  int short_minutes = 0;
  bool missing_check_in = false;
  bool missing_check_out = false;
  /** Late beyond late_absence_after_min: recorded as absence, not as late (§3.8). */
  bool late_absence = false;
  /** The window is still open and a punch is missing: no absence yet. */
  bool pending = false;
  /** Absence in half days (§2.15: a period without both punches is 0.5 day). */
  int absence_half_days = 0;
  /** Real elapsed time worked inside the period, rests deducted. */
  std::chrono::seconds worked{0};
  /** worked in tenths of an hour, truncated (§2.16 "precise down to one decimal place"). */
  int worked_tenths = 0;
  std::chrono::seconds expected{0};
  int expected_tenths = 0;
  std::chrono::seconds rest_deducted{0};
  /** A must-check rest without its break-out/break-in punches. */
  bool missing_break_punch = false;
  /** Punches left without a partner when pairing (first_last_only == false). */
  int unpaired_punches = 0;
  friend bool operator==(const PeriodResult&, const PeriodResult&) = default;
};

/** Overtime session result (§2.15/§2.16: no late/early, out - in). */
struct OvertimeResult {
  /** The shift has an overtime session. */
  bool scheduled = false;
  std::optional<date::local_seconds> check_in;
  std::optional<date::local_seconds> check_out;
  std::chrono::seconds worked{0};
  int tenths = 0;
  friend bool operator==(const OvertimeResult&, const OvertimeResult&) = default;
};

struct Timecard {
  std::string pin;
  date::local_days day{};
  DayKind kind = DayKind::Unscheduled;
  std::optional<int> code;
  std::optional<int> shift_id;
  std::string holiday;
  date::local_seconds window_begin{};
  date::local_seconds window_end{};
  /** now >= window_end: no punch can still be missing in time. */
  bool final = false;
  std::vector<PeriodResult> periods;
  OvertimeResult overtime;
  /** Every punch of the window in canonical order, with its role. */
  std::vector<PunchUse> punches;

  // Day totals.
  int late_minutes = 0;
  int early_minutes = 0;
  int absence_half_days = 0;
  std::chrono::seconds worked{0};
  /** Sum of the periods' tenths (§2.16: day = period 1 + period 2). */
  int worked_tenths = 0;
  int expected_tenths = 0;
  /** Overtime session plus flexible time beyond the required hours. */
  std::chrono::seconds overtime_worked{0};
  int overtime_tenths = 0;

  friend bool operator==(const Timecard&, const Timecard&) = default;
};

/**
 * The timecard of plan.pin on plan.day.
 *
 * `punches` may hold anything: only punches of plan.pin inside the plan's
 * window are used, and punches sharing (terminal_sn, event_id) count once
 * (the first in punch_before() order). The result does not depend on the
 * order of `punches`.
 *
 * `rules` supplies the recheck interval and the state switch table; it must
 * be the Rules the plan was made from.
 */
Timecard compute_timecard(const Rules& rules, const DayPlan& plan, std::span<const Punch> punches,
                          const ComputeContext& context);

/** Status words: "normal", "late", "early", "late+early", "short", "absent", "pending". */
std::string period_status(const PeriodResult& period);
/** The day kind, or the period statuses joined by '/' ("early/absent"). */
std::string timecard_status(const Timecard& card);

/** "5.0" for 50 tenths; "0.5" for 1 half day. */
std::string format_tenths(int tenths);
std::string format_half_days(int half_days);

nlohmann::json timecard_to_json(const Timecard& card);
void to_json(nlohmann::json& out, const Timecard& card);

/** RFC 4180 CSV: the header line and one line for the timecard (both end in CRLF). */
std::string timecard_csv_header();
std::string timecard_to_csv_row(const Timecard& card);
std::string timecard_to_csv(const Timecard& card);

/** Quotes a CSV field when it holds a comma, quote, CR or LF. */
std::string csv_field(std::string_view text);

}  // namespace pushgate::rules::attendance
