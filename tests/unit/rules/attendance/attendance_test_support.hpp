#pragma once

// Hand-made rules, punches and a fixed clock for the attendance rule tests.
// Nothing here reads the wall clock.

#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <date/date.h>

#include "gateway/clock.hpp"
#include "rules/attendance/attendance_model.hpp"
#include "rules/attendance/local_time.hpp"
#include "rules/attendance/schedule.hpp"
#include "rules/attendance/timecard.hpp"

namespace pushgate::rules::attendance::test {

/** A Clock stuck at one instant. */
class FakeClock final : public Clock {
 public:
  explicit FakeClock(std::chrono::system_clock::time_point now) : now_(now) {}
  std::chrono::system_clock::time_point now() const override { return now_; }
  std::chrono::steady_clock::time_point monotonic() const override {
    return std::chrono::steady_clock::time_point{now_.time_since_epoch()};
  }

 private:
  std::chrono::system_clock::time_point now_;
};

inline date::local_seconds at(std::string_view text) {
  const auto t = parse_local_time(text);
  if (!t) {
    throw std::invalid_argument("bad test time " + std::string(text));
  }
  return *t;
}

inline date::local_days day(std::string_view text) {
  const auto d = parse_date(text);
  if (!d) {
    throw std::invalid_argument("bad test date " + std::string(text));
  }
  return *d;
}

inline TimeOfDay hm(int hours, int minutes) {
  return TimeOfDay{hours * 60 + minutes};
}

/**
 * A punch; the event id defaults to the punch's local time in seconds, so
 * every distinct time on one terminal is a distinct record.
 */
inline Punch punch(std::string_view local, std::optional<int> state = std::nullopt,
                   std::string pin = "1", std::string terminal = "T1",
                   std::optional<std::int64_t> event_id = std::nullopt) {
  Punch p;
  p.pin = std::move(pin);
  p.local = at(local);
  p.state = state;
  p.terminal_sn = std::move(terminal);
  p.event_id = event_id.value_or(p.local.time_since_epoch().count());
  return p;
}

inline Period fixed_period(std::string id, TimeOfDay start, TimeOfDay end) {
  Period p;
  p.id = std::move(id);
  p.type = PeriodType::Fixed;
  p.start = start;
  p.end = end;
  return p;
}

/**
 * §2.15 Table 2-13: period 1 9:00-12:00, period 2 14:00-17:30, overtime
 * 18:45-20:00, 5 minutes late-in and early-out allowed. User "1" works shift
 * 1 every day (personal calendar through a one-day cycle).
 */
inline Rules manual_rules(bool with_overtime = true) {
  Rules r;
  r.late_allowance_min = 5;
  r.early_allowance_min = 5;
  r.periods.push_back(fixed_period("p1", hm(9, 0), hm(12, 0)));
  r.periods.push_back(fixed_period("p2", hm(14, 0), hm(17, 30)));
  Shift s;
  s.id = 1;
  s.name = "Table 2-13";
  s.periods = {"p1", "p2"};
  if (with_overtime) {
    s.overtime = OvertimeSession{hm(18, 45), hm(20, 0)};
  }
  r.shifts.push_back(s);
  Cycle c;
  c.id = "daily";
  c.start_date = day("2022-01-01");
  c.mode = CycleMode::Day;
  c.length = 1;
  c.days = {1};
  r.cycles.push_back(c);
  User u;
  u.pin = "1";
  u.name = "Jakc";
  u.schedule_mode = ScheduleMode::Personal;
  r.users.push_back(u);
  Schedule sched;
  sched.user = "1";
  sched.cycle = "daily";
  r.schedules.push_back(sched);
  return r;
}

/** Rules with one shift made of the given periods, worked by user "1" every day. */
inline Rules single_shift_rules(std::vector<Period> periods,
                                std::optional<OvertimeSession> overtime = std::nullopt) {
  Rules r;
  Shift s;
  s.id = 1;
  for (const Period& p : periods) {
    s.periods.push_back(p.id);
  }
  s.overtime = overtime;
  r.periods = std::move(periods);
  r.shifts.push_back(s);
  Cycle c;
  c.id = "daily";
  c.start_date = day("2022-01-01");
  c.length = 1;
  c.days = {1};
  r.cycles.push_back(c);
  User u;
  u.pin = "1";
  u.schedule_mode = ScheduleMode::Personal;
  r.users.push_back(u);
  Schedule sched;
  sched.user = "1";
  sched.cycle = "daily";
  r.schedules.push_back(sched);
  return r;
}

/** A context whose "now" is long after every test day, so days are final. */
inline ComputeContext settled(const date::time_zone* zone = nullptr) {
  return ComputeContext{zone, at("2099-01-01T00:00:00")};
}

/** The timecard of `pin` on `on` computed by the pure function. */
inline Timecard card_for(const Rules& rules, std::string_view on, std::span<const Punch> punches,
                         const ComputeContext& context = settled(), const std::string& pin = "1") {
  const Scheduler scheduler(std::make_shared<const Rules>(rules));
  return compute_timecard(rules, scheduler.plan_day(pin, day(on)), punches, context);
}

inline Timecard card_for(const Rules& rules, std::string_view on, std::vector<Punch> punches,
                         const ComputeContext& context = settled(), const std::string& pin = "1") {
  return card_for(rules, on, std::span<const Punch>(punches), context, pin);
}

}  // namespace pushgate::rules::attendance::test
