#pragma once

#include <array>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <date/date.h>
#include <nlohmann/json.hpp>

#include "rules/attendance/schedule.hpp"
#include "rules/attendance/timecard.hpp"
#include "rules/attendance/timecard_engine.hpp"

namespace pushgate::rules::attendance {

/**
 * The period report: what a terminal exports to USB as "Export Monthly ATT.
 * Report" (§2.6.2): one summary row per user per day and a totals row per
 * user. Full detail of a day stays in its Timecard (timecard_to_json()).
 *
 * Pure functions; safe to call from any thread.
 */

/** The figures a day contributes, and (summed) a user's totals. */
struct ReportCounts {
  int scheduled_days = 0;  // shift days (not holidays)
  int normal_days = 0;     // shift days without late, early, short, pending or absence
  int rest_days = 0;
  int holiday_days = 0;
  int leave_days = 0;
  int business_trip_days = 0;
  int unscheduled_days = 0;
  int late_count = 0;  // periods with late minutes
  int late_minutes = 0;
  int early_count = 0;  // periods with early minutes
  int early_minutes = 0;
  int absence_half_days = 0;
  int missing_punches = 0;  // missing check-ins plus check-outs of closed periods
  int worked_tenths = 0;
  int expected_tenths = 0;
  int overtime_tenths = 0;
  /** Every day counted is final. */
  bool final = true;
  friend bool operator==(const ReportCounts&, const ReportCounts&) = default;
};

/** Who a row or a total is about. */
struct ReportUser {
  std::string pin;
  std::string name;
  std::optional<int> department;
  std::string department_name;
  friend bool operator==(const ReportUser&, const ReportUser&) = default;
};

/** One user's day. */
struct ReportRow {
  ReportUser user;
  date::local_days day{};
  DayKind kind = DayKind::Unscheduled;
  std::optional<int> shift_id;
  std::string holiday;
  /** timecard_status(): "normal/late", "rest", ... */
  std::string status;
  /** Effective check-in/check-out of the first and second period. */
  std::array<std::optional<date::local_seconds>, 2> check_in;
  std::array<std::optional<date::local_seconds>, 2> check_out;
  std::optional<date::local_seconds> overtime_in;
  std::optional<date::local_seconds> overtime_out;
  ReportCounts counts;
  friend bool operator==(const ReportRow&, const ReportRow&) = default;
};

struct UserTotals {
  ReportUser user;
  ReportCounts counts;
  friend bool operator==(const UserTotals&, const UserTotals&) = default;
};

struct PeriodReport {
  date::local_days from{};
  date::local_days to{};
  /** Sorted by pin, then day. */
  std::vector<ReportRow> rows;
  /** One per pin, sorted by pin. */
  std::vector<UserTotals> totals;
  friend bool operator==(const PeriodReport&, const PeriodReport&) = default;
};

/** The summary row of one timecard; names and departments from the scheduler's rules. */
ReportRow report_row(const Scheduler& scheduler, const Timecard& card);

/**
 * A report over [from, to] (inclusive) from the given timecards; timecards
 * outside the range are skipped. The caller supplies one timecard per user
 * per day.
 */
PeriodReport build_period_report(const Scheduler& scheduler, date::local_days from,
                                 date::local_days to, std::span<const Timecard> timecards);

/** Computes every day of every known user (engine.pins()) over [from, to], then reports. */
PeriodReport build_period_report(const TimecardEngine& engine, date::local_days from,
                                 date::local_days to, const ComputeContext& context);

nlohmann::json period_report_to_json(const PeriodReport& report);
void to_json(nlohmann::json& out, const PeriodReport& report);

/**
 * RFC 4180 CSV, CRLF line ends. One header; each user's "day" rows followed
 * by their "total" row, with the same columns (a day row counts 1 in the day
 * columns that apply, so a spreadsheet can sum them).
 */
std::string period_report_to_csv(const PeriodReport& report);

}  // namespace pushgate::rules::attendance
