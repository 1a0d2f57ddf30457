#pragma once

#include <array>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <date/date.h>

#include "rules/attendance/attendance_model.hpp"

namespace pushgate::rules::attendance {

/** What a calendar day is for one user. */
enum class DayKind {
  Unscheduled,   // no calendar entry and no cycle covers the day
  Rest,          // day code 0
  Shift,         // day code 1-24 on a working day
  BusinessTrip,  // day code 25
  Leave,         // day code 26
  Holiday,       // day code 1-24 on a configured holiday
};

std::string_view to_string(DayKind kind);

enum class SegmentKind { Duty, Flexible, Overtime };

std::string_view to_string(SegmentKind kind);

/** A rest period placed on a day. */
struct RestPlan {
  std::string name;
  date::local_seconds start{};
  date::local_seconds end{};
  /** Break punches count in [valid_from, valid_until). */
  date::local_seconds valid_from{};
  date::local_seconds valid_until{};
  std::chrono::minutes length{0};
  bool auto_deduct = true;
  bool must_check = false;
  bool transfer_unused = false;
  friend bool operator==(const RestPlan&, const RestPlan&) = default;
};

/**
 * One duty period, flexible period or overtime session placed on a day, with
 * the punch windows the manual defines. All times are site wall times; every
 * range is half-open [from, until), so "12:00-12:59" in the manual is
 * [12:00:00, 13:00:00).
 */
struct SegmentPlan {
  SegmentKind kind = SegmentKind::Duty;
  /** The period id; empty for the overtime session. */
  std::string period_id;
  /** Scheduled work time (flexible: the day window). */
  date::local_seconds start{};
  date::local_seconds end{};
  /** Punches in this window belong to this segment (§2.15 split at the middle of the gap). */
  date::local_seconds window_begin{};
  date::local_seconds window_end{};
  /** The window narrowed by the valid check-in/check-out times (§3.8). */
  date::local_seconds check_in_from{};
  date::local_seconds check_in_until{};
  date::local_seconds check_out_from{};
  date::local_seconds check_out_until{};
  int late_allowance_min = 0;
  int early_allowance_min = 0;
  std::optional<int> late_absence_after_min;
  bool first_last_only = true;
  std::optional<std::chrono::minutes> record_as;
  /** Flexible only. */
  std::chrono::minutes required{0};
  bool overtime_beyond_required = false;
  /** Absence if this segment lacks a punch, in half days (§2.15: 1 = 0.5 day). */
  int absence_half_days = 0;
  std::vector<RestPlan> rests;
  friend bool operator==(const SegmentPlan&, const SegmentPlan&) = default;
};

/** Everything the schedule says about one user's day; the input of compute_timecard(). */
struct DayPlan {
  std::string pin;
  date::local_days day{};
  DayKind kind = DayKind::Unscheduled;
  /** The calendar's day code (0-26), if any. */
  std::optional<int> code;
  std::optional<int> shift_id;
  /** Holiday name when kind == Holiday. */
  std::string holiday;
  /** The attendance day: punches in [window_begin, window_end) belong to `day`. */
  date::local_seconds window_begin{};
  date::local_seconds window_end{};
  /** Duty/flexible segments in order, then the overtime session. */
  std::vector<SegmentPlan> segments;
  friend bool operator==(const DayPlan&, const DayPlan&) = default;
};

/**
 * Resolves calendars, cycles and holidays into day plans.
 *
 * Which calendar applies (§2.5.1.1 "Schedule Mode", §2.7.2): a user in
 * Personal mode follows their own schedule, in Department mode their
 * department's. In that schedule an explicit calendar day wins over the
 * cycle (§3.9); a day neither covers is Unscheduled. A shift code on a
 * holiday makes the day a Holiday; codes 0, 25 and 26 stay as they are.
 *
 * Attendance day windows: the manual's day runs from 00:00 (Table 2-14
 * "00:00-9:05"), so without cross-midnight shifts the window of day D is the
 * calendar day. When day D-1's shift ends at or after D's midnight, the
 * boundary moves to the middle of the gap between that end and D's first
 * start (or D's end of day if D has no shift), using the §2.15 rule for odd
 * gaps. A flexible day's window is [D + day_start, D+1 + day_start); next to
 * a flexible day its day_start decides the boundary (the later day's if both
 * are flexible).
 *
 * Immutable after construction; safe to share between threads. Requires
 * rules that passed validate().
 */
class Scheduler {
 public:
  explicit Scheduler(std::shared_ptr<const Rules> rules);

  const Rules& rules() const { return *rules_; }
  const std::shared_ptr<const Rules>& rules_ptr() const { return rules_; }

  /** The calendar day code for the user (before holidays), or nullopt if unscheduled. */
  std::optional<int> day_code(const std::string& pin, date::local_days day) const;

  /** The plan of one user's day, including its punch window. */
  DayPlan plan_day(const std::string& pin, date::local_days day) const;

  /** The attendance day a punch at `time` belongs to: its calendar day or the one before. */
  date::local_days owner_day(const std::string& pin, date::local_seconds time) const;

  /** A configured user, or nullptr. */
  const User* find_user(const std::string& pin) const;

  /** A configured department, or nullptr. */
  const Department* find_department(int id) const;

 private:
  struct CompiledSegment {
    SegmentKind kind = SegmentKind::Duty;
    const Period* period = nullptr;
    std::chrono::seconds start{0};
    std::chrono::seconds end{0};
    /** Offsets of the valid check-in start and check-out end, when set. */
    std::optional<std::chrono::seconds> check_in_from;
    std::optional<std::chrono::seconds> check_in_until;
    std::optional<std::chrono::seconds> check_out_from;
    std::optional<std::chrono::seconds> check_out_until;
    std::vector<RestPlan> rests;  // relative to the local epoch day 0
    int late_allowance_min = 0;
    int early_allowance_min = 0;
  };

  struct CompiledShift {
    int id = 0;
    bool flexible = false;
    std::chrono::seconds flex_day_start{0};
    std::vector<CompiledSegment> segments;
    /** window split points between consecutive segments. */
    std::vector<std::chrono::seconds> splits;
    int duty_count = 0;
  };

  struct DayShape {
    DayKind kind = DayKind::Unscheduled;
    std::optional<int> code;
    const CompiledShift* shift = nullptr;  // set when kind == Shift
    const Holiday* holiday = nullptr;
  };

  /** A user with the calendar and cycle that apply to them, resolved once. */
  struct UserEntry {
    const User* user = nullptr;
    const Schedule* schedule = nullptr;
    const Cycle* cycle = nullptr;
  };

  void compile_shift(const Shift& shift);
  const UserEntry* find_entry(const std::string& pin) const;
  std::optional<int> code_of(const UserEntry* entry, date::local_days day) const;
  DayShape shape(const UserEntry* entry, date::local_days day) const;
  const Holiday* holiday_on(date::local_days day) const;
  /** Start of day `day`'s window, between the shapes of day-1 and day. */
  date::local_seconds boundary(const DayShape& previous, const DayShape& current,
                               date::local_days day) const;

  std::shared_ptr<const Rules> rules_;
  std::unordered_map<std::string, UserEntry> users_;
  std::unordered_map<int, const Department*> departments_;
  std::array<std::optional<CompiledShift>, kLastShiftId + 1> shifts_;
};

}  // namespace pushgate::rules::attendance
