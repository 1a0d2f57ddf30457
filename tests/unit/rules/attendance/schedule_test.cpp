#include "rules/attendance/schedule.hpp"

#include <gtest/gtest.h>

#include "attendance_test_support.hpp"

namespace pushgate::rules::attendance {
namespace {

using test::at;
using test::day;
using test::hm;

// Two departments and three users: one follows the department calendar, one
// a personal weekly cycle, one a personal calendar only.
Rules company_rules() {
  Rules r = test::manual_rules();
  r.users.clear();
  r.schedules.clear();
  r.cycles.clear();
  Period night = test::fixed_period("night", hm(22, 0), hm(6, 0));
  r.periods.push_back(night);
  Shift s2;
  s2.id = 2;
  s2.periods = {"night"};
  r.shifts.push_back(s2);

  Cycle weekdays;
  weekdays.id = "weekdays";
  weekdays.start_date = day("2022-11-23");  // a Wednesday
  weekdays.mode = CycleMode::Week;
  weekdays.length = 1;
  weekdays.days = {1, 1, 1, 1, 1, 0, 0};  // Monday first
  r.cycles.push_back(weekdays);

  Cycle rota;  // §3.9 Figure 3-18 style: a day cycle
  rota.id = "rota";
  rota.start_date = day("2022-11-23");
  rota.mode = CycleMode::Day;
  rota.length = 4;
  rota.days = {1, 1, 0, 0};
  r.cycles.push_back(rota);

  r.departments = {{1, "HQ"}, {2, "PM1"}};
  User a;
  a.pin = "100";
  a.department = 1;
  User b;
  b.pin = "200";
  b.department = 1;
  b.schedule_mode = ScheduleMode::Personal;
  User c;
  c.pin = "300";
  c.department = 2;
  c.schedule_mode = ScheduleMode::Personal;
  r.users = {a, b, c};

  Schedule hq;
  hq.department = 1;
  hq.cycle = "weekdays";
  hq.days[day("2022-12-02")] = kLeaveCode;
  Schedule personal_b;
  personal_b.user = "200";
  personal_b.cycle = "rota";
  Schedule personal_c;
  personal_c.user = "300";
  personal_c.days[day("2022-12-01")] = 2;
  personal_c.days[day("2022-12-02")] = 2;
  r.schedules = {hq, personal_b, personal_c};
  r.holidays.push_back({"Winter", day("2022-12-26"), day("2022-12-27")});
  return r;
}

Scheduler make(const Rules& r) {
  return Scheduler(std::make_shared<const Rules>(r));
}

TEST(SchedulerTest, Manual272DepartmentModeFollowsTheDepartmentCalendar) {
  const Scheduler s = make(company_rules());
  EXPECT_EQ(s.day_code("100", day("2022-12-01")), std::optional<int>(1));  // Thursday
  EXPECT_EQ(s.day_code("100", day("2022-12-02")), std::optional<int>(kLeaveCode));
  EXPECT_EQ(s.day_code("100", day("2022-12-03")), std::optional<int>(kRestCode));  // Saturday
}

TEST(SchedulerTest, Manual2511PersonalModeIgnoresTheDepartmentCalendar) {
  const Scheduler s = make(company_rules());
  // User 200 is in department 1 (on leave that day) but follows the
  // personal 4-day rota.
  EXPECT_EQ(s.day_code("200", day("2022-12-02")), std::optional<int>(1));
  EXPECT_EQ(s.day_code("200", day("2022-12-07")), std::optional<int>(kRestCode));  // a Wednesday
}

TEST(SchedulerTest, Manual39DayCycleRepeatsFromItsStartDate) {
  const Scheduler s = make(company_rules());
  const std::vector<int> expected = {1, 1, 0, 0, 1, 1, 0, 0};
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(s.day_code("200", day("2022-11-23") + date::days{i}), std::optional(expected[i]))
        << i;
  }
  EXPECT_EQ(s.day_code("200", day("2022-11-22")), std::nullopt);  // before the cycle starts
}

TEST(SchedulerTest, Manual39WeekCycleIsAlignedToMonday) {
  const Scheduler s = make(company_rules());
  EXPECT_EQ(s.day_code("100", day("2022-11-23")), std::optional<int>(1));          // Wednesday
  EXPECT_EQ(s.day_code("100", day("2022-11-26")), std::optional<int>(kRestCode));  // Saturday
  EXPECT_EQ(s.day_code("100", day("2022-11-27")), std::optional<int>(kRestCode));  // Sunday
  EXPECT_EQ(s.day_code("100", day("2022-11-28")), std::optional<int>(1));          // Monday
  EXPECT_EQ(s.day_code("100", day("2022-11-21")), std::nullopt);  // Monday before start_date
}

TEST(SchedulerTest, Manual39TwoWeekCycleAlternatesWeeks) {
  Rules r = company_rules();
  r.cycles[0].length = 2;
  r.cycles[0].days = {1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  const Scheduler s = make(r);
  EXPECT_EQ(s.day_code("100", day("2022-11-23")), std::optional<int>(1));
  EXPECT_EQ(s.day_code("100", day("2022-11-30")), std::optional<int>(0));
  EXPECT_EQ(s.day_code("100", day("2022-12-07")), std::optional<int>(1));
}

TEST(SchedulerTest, ExplicitCalendarDayWinsOverTheCycle) {
  const Scheduler s = make(company_rules());
  EXPECT_EQ(s.day_code("100", day("2022-12-02")), std::optional<int>(kLeaveCode));
}

TEST(SchedulerTest, UnlistedDayWithoutCycleIsUnscheduled) {
  const Scheduler s = make(company_rules());
  EXPECT_EQ(s.day_code("300", day("2022-12-05")), std::nullopt);
  EXPECT_EQ(s.plan_day("300", day("2022-12-05")).kind, DayKind::Unscheduled);
  EXPECT_EQ(s.day_code("nobody", day("2022-12-05")), std::nullopt);
}

TEST(SchedulerTest, HolidayTurnsAShiftDayIntoAHoliday) {
  const Scheduler s = make(company_rules());
  const DayPlan plan = s.plan_day("100", day("2022-12-26"));
  EXPECT_EQ(plan.kind, DayKind::Holiday);
  EXPECT_EQ(plan.holiday, "Winter");
  EXPECT_EQ(plan.code, std::optional<int>(1));
  EXPECT_TRUE(plan.segments.empty());
  // A rest day stays a rest day on a holiday.
  EXPECT_EQ(s.plan_day("200", day("2022-12-27")).kind, DayKind::Rest);
}

TEST(SchedulerTest, Manual215PlanPlacesWindowsAtTheMiddleOfEachGap) {
  const Scheduler s = make(test::manual_rules());
  const DayPlan plan = s.plan_day("1", day("2022-12-01"));
  ASSERT_EQ(plan.segments.size(), 3U);
  EXPECT_EQ(plan.window_begin, at("2022-12-01T00:00:00"));
  EXPECT_EQ(plan.window_end, at("2022-12-02T00:00:00"));
  EXPECT_EQ(plan.segments[0].window_begin, at("2022-12-01T00:00:00"));
  EXPECT_EQ(plan.segments[0].window_end, at("2022-12-01T13:00:00"));
  EXPECT_EQ(plan.segments[1].window_begin, at("2022-12-01T13:00:00"));
  EXPECT_EQ(plan.segments[1].window_end, at("2022-12-01T18:08:00"));
  EXPECT_EQ(plan.segments[2].kind, SegmentKind::Overtime);
  EXPECT_EQ(plan.segments[2].window_begin, at("2022-12-01T18:08:00"));
  EXPECT_EQ(plan.segments[2].window_end, at("2022-12-02T00:00:00"));
  EXPECT_EQ(plan.segments[0].late_allowance_min, 5);
  EXPECT_EQ(plan.segments[0].absence_half_days, 1);
}

TEST(SchedulerTest, AllowancesComeFromPeriodThenShiftThenSite) {
  Rules r = test::manual_rules();
  r.shifts[0].late_allowance_min = 7;
  r.periods[1].late_allowance_min = 9;
  const DayPlan plan = make(r).plan_day("1", day("2022-12-01"));
  EXPECT_EQ(plan.segments[0].late_allowance_min, 7);
  EXPECT_EQ(plan.segments[1].late_allowance_min, 9);
  EXPECT_EQ(plan.segments[0].early_allowance_min, 5);
}

TEST(SchedulerTest, NightShiftWindowsSplitBetweenNightsAndBeforeAFreeDay) {
  // User 300: nothing on 2022-11-30, night shifts 22:00-06:00 on 12-01 and 12-02.
  const Scheduler s = make(company_rules());
  const DayPlan night = s.plan_day("300", day("2022-12-01"));
  EXPECT_EQ(night.window_begin, at("2022-12-01T00:00:00"));
  // Next day is a night shift too: 06:00..22:00 splits at 14:00.
  EXPECT_EQ(night.window_end, at("2022-12-02T14:00:00"));
  const DayPlan second = s.plan_day("300", day("2022-12-02"));
  EXPECT_EQ(second.window_begin, at("2022-12-02T14:00:00"));
  // Then nothing is scheduled: 06:00..next midnight splits at 15:00.
  EXPECT_EQ(second.window_end, at("2022-12-03T15:00:00"));
  EXPECT_EQ(s.plan_day("300", day("2022-12-03")).window_begin, at("2022-12-03T15:00:00"));
}

TEST(SchedulerTest, OwnerDayFollowsTheWindowsToTheSecond) {
  const Scheduler s = make(company_rules());
  EXPECT_EQ(s.owner_day("300", at("2022-12-02T13:59:59")), day("2022-12-01"));
  EXPECT_EQ(s.owner_day("300", at("2022-12-02T14:00:00")), day("2022-12-02"));
  EXPECT_EQ(s.owner_day("300", at("2022-12-03T14:59:59")), day("2022-12-02"));
  EXPECT_EQ(s.owner_day("300", at("2022-12-03T15:00:00")), day("2022-12-03"));
  EXPECT_EQ(s.owner_day("100", at("2022-12-01T23:59:59")), day("2022-12-01"));
  EXPECT_EQ(s.owner_day("100", at("2022-12-02T00:00:00")), day("2022-12-02"));
}

TEST(SchedulerTest, OwnerDayAgreesWithPlanWindowsEverywhere) {
  const Scheduler s = make(company_rules());
  for (const std::string pin : {"100", "200", "300"}) {
    for (int m = 0; m < 5 * 24 * 60; m += 7) {
      const auto t = at("2022-11-30T00:00:00") + std::chrono::minutes{m};
      const date::local_days owner = s.owner_day(pin, t);
      const DayPlan plan = s.plan_day(pin, owner);
      EXPECT_LE(plan.window_begin, t) << pin << " " << format_local_time(t);
      EXPECT_LT(t, plan.window_end) << pin << " " << format_local_time(t);
    }
  }
}

TEST(SchedulerTest, Manual38ValidWindowsNarrowTheSplitWindow) {
  Period p = test::fixed_period("std", hm(8, 30), hm(17, 30));
  p.valid_check_in = ClockWindow{hm(6, 30), hm(10, 0)};
  p.valid_check_out = ClockWindow{hm(16, 0), hm(19, 30)};
  const DayPlan plan = make(test::single_shift_rules({p})).plan_day("1", day("2022-12-01"));
  const SegmentPlan& seg = plan.segments.at(0);
  EXPECT_EQ(seg.check_in_from, at("2022-12-01T06:30:00"));
  EXPECT_EQ(seg.check_in_until, at("2022-12-01T10:01:00"));
  EXPECT_EQ(seg.check_out_from, at("2022-12-01T16:00:00"));
  EXPECT_EQ(seg.check_out_until, at("2022-12-01T19:31:00"));
}

TEST(SchedulerTest, Manual38RestPeriodIsPlacedInsideItsPeriod) {
  Period p = test::fixed_period("night", hm(22, 0), hm(6, 0));
  RestPeriod rest;
  rest.name = "1";
  rest.start = hm(1, 0);
  rest.end = hm(2, 0);
  p.rests.push_back(rest);
  const DayPlan plan = make(test::single_shift_rules({p})).plan_day("1", day("2022-12-01"));
  const RestPlan& placed = plan.segments.at(0).rests.at(0);
  EXPECT_EQ(placed.start, at("2022-12-02T01:00:00"));
  EXPECT_EQ(placed.end, at("2022-12-02T02:00:00"));
  EXPECT_EQ(placed.length, std::chrono::minutes{60});
  EXPECT_EQ(placed.valid_until, at("2022-12-02T02:01:00"));
}

TEST(SchedulerTest, FlexibleDayWindowUsesItsDayStart) {
  Period p;
  p.id = "flex";
  p.type = PeriodType::Flexible;
  p.required_min = 480;
  p.day_start = hm(4, 0);
  const DayPlan plan = make(test::single_shift_rules({p})).plan_day("1", day("2022-12-01"));
  EXPECT_EQ(plan.window_begin, at("2022-12-01T04:00:00"));
  EXPECT_EQ(plan.window_end, at("2022-12-02T04:00:00"));
  ASSERT_EQ(plan.segments.size(), 1U);
  EXPECT_EQ(plan.segments[0].kind, SegmentKind::Flexible);
  EXPECT_EQ(plan.segments[0].absence_half_days, 2);
}

TEST(SchedulerTest, DayKindNames) {
  EXPECT_EQ(to_string(DayKind::BusinessTrip), "business_trip");
  EXPECT_EQ(to_string(SegmentKind::Overtime), "overtime");
}

}  // namespace
}  // namespace pushgate::rules::attendance
