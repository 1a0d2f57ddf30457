// Timecard tests: §3.8 attendance periods, cross-midnight shifts and daylight saving.

#include <gtest/gtest.h>

#include "attendance_test_support.hpp"
#include "timecard_test_support.hpp"

namespace pushgate::rules::attendance {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;
using test::at;
using test::berlin;
using test::card_for;
using test::hm;
using test::kDay;
using test::manual_rules;
using test::punch;

// ---------------------------------------------------------------------------
// §3.8 Attendance periods: valid windows, late-as-absence, pairing, rests.
// ---------------------------------------------------------------------------

// Figure 3-14: work 08:30-17:30, valid check-in from 06:30, valid check-out
// until 19:30, 5 minutes late/early permitted, late over 120 minutes absent.
Rules figure_314_rules() {
  Period p = test::fixed_period("std", hm(8, 30), hm(17, 30));
  p.valid_check_in = ClockWindow{hm(6, 30), hm(12, 0)};
  p.valid_check_out = ClockWindow{hm(13, 0), hm(19, 30)};
  p.late_allowance_min = 5;
  p.early_allowance_min = 5;
  p.late_absence_after_min = 120;
  return test::single_shift_rules({p});
}

TEST(TimecardTest, Manual38CheckInBeforeValidWindowDoesNotCount) {
  const Timecard before = card_for(figure_314_rules(), kDay,
                                   {punch("2022-12-01T06:29:59"), punch("2022-12-01T17:30:00")});
  EXPECT_TRUE(before.periods[0].missing_check_in);
  EXPECT_EQ(before.punches[0].role, PunchRole::Unused);
  EXPECT_EQ(before.absence_half_days, 2);  // the shift's only period is the whole day

  const Timecard first = card_for(figure_314_rules(), kDay,
                                  {punch("2022-12-01T06:30:00"), punch("2022-12-01T17:30:00")});
  EXPECT_EQ(first.periods[0].check_in, at("2022-12-01T06:30:00"));
}

TEST(TimecardTest, Manual38CheckInWindowEndIsInclusiveToItsMinute) {
  const Timecard last = card_for(figure_314_rules(), kDay,
                                 {punch("2022-12-01T12:00:59"), punch("2022-12-01T17:30:00")});
  EXPECT_EQ(last.periods[0].check_in, at("2022-12-01T12:00:59"));
  const Timecard after = card_for(figure_314_rules(), kDay,
                                  {punch("2022-12-01T12:01:00"), punch("2022-12-01T17:30:00")});
  EXPECT_TRUE(after.periods[0].missing_check_in);
}

TEST(TimecardTest, Manual38CheckOutAfterValidWindowDoesNotCount) {
  const Timecard last = card_for(figure_314_rules(), kDay,
                                 {punch("2022-12-01T08:30:00"), punch("2022-12-01T19:30:59")});
  EXPECT_EQ(last.periods[0].check_out, at("2022-12-01T19:30:59"));
  const Timecard after = card_for(figure_314_rules(), kDay,
                                  {punch("2022-12-01T08:30:00"), punch("2022-12-01T19:31:00")});
  EXPECT_TRUE(after.periods[0].missing_check_out);
  const Timecard too_early = card_for(figure_314_rules(), kDay,
                                      {punch("2022-12-01T08:30:00"), punch("2022-12-01T12:59:59")});
  EXPECT_TRUE(too_early.periods[0].missing_check_out);
}

TEST(TimecardTest, Manual38LateOver120MinutesIsAbsence) {
  // 10:30:59 is 120 minutes late: late (115 after the allowance), not absent.
  const Timecard late = card_for(figure_314_rules(), kDay,
                                 {punch("2022-12-01T10:30:59"), punch("2022-12-01T17:30:00")});
  EXPECT_EQ(late.periods[0].late_minutes, 115);
  EXPECT_FALSE(late.periods[0].late_absence);
  EXPECT_EQ(late.absence_half_days, 0);
  // 10:31:00 is 121 minutes late: recorded as absence instead of late.
  const Timecard absent = card_for(figure_314_rules(), kDay,
                                   {punch("2022-12-01T10:31:00"), punch("2022-12-01T17:30:00")});
  EXPECT_TRUE(absent.periods[0].late_absence);
  EXPECT_EQ(absent.periods[0].late_minutes, 0);
  EXPECT_EQ(absent.absence_half_days, 2);
  EXPECT_EQ(timecard_status(absent), "absent");
}

TEST(TimecardTest, Manual38WithoutFirstLastOnlyPunchesPairIntoSessions) {
  Rules r = figure_314_rules();
  r.periods[0].first_last_only = false;
  r.periods[0].valid_check_in.reset();
  r.periods[0].valid_check_out.reset();
  const Timecard card = card_for(
      r, kDay,
      {punch("2022-12-01T08:30:00"), punch("2022-12-01T12:00:00"), punch("2022-12-01T13:00:00"),
       punch("2022-12-01T17:30:00"), punch("2022-12-01T18:00:00")});
  ASSERT_EQ(card.periods[0].sessions.size(), 2U);
  EXPECT_EQ(card.periods[0].worked, hours{8});
  EXPECT_EQ(card.periods[0].unpaired_punches, 1);
  EXPECT_EQ(card.periods[0].check_in, at("2022-12-01T08:30:00"));
  EXPECT_EQ(card.periods[0].check_out, at("2022-12-01T17:30:00"));

  r.periods[0].first_last_only = true;
  const Timecard first_last = card_for(
      r, kDay,
      {punch("2022-12-01T08:30:00"), punch("2022-12-01T12:00:00"), punch("2022-12-01T13:00:00"),
       punch("2022-12-01T17:30:00"), punch("2022-12-01T18:00:00")});
  EXPECT_EQ(first_last.periods[0].worked, hours{9});
  EXPECT_EQ(first_last.periods[0].check_out, at("2022-12-01T18:00:00"));
}

Rules rest_rules(RestPeriod rest) {
  Period p = test::fixed_period("std", hm(8, 30), hm(17, 30));
  p.rests.push_back(std::move(rest));
  return test::single_shift_rules({p});
}

RestPeriod figure_315_rest() {
  // Figure 3-15: rest 12:00-12:10, 10 minutes, auto deduction enabled.
  RestPeriod rest;
  rest.name = "2";
  rest.start = hm(12, 0);
  rest.end = hm(12, 10);
  rest.minutes = 10;
  rest.auto_deduct = true;
  return rest;
}

TEST(TimecardTest, Manual38AutoDeductedRestIsNotWorked) {
  const Timecard card = card_for(rest_rules(figure_315_rest()), kDay,
                                 {punch("2022-12-01T08:30:00"), punch("2022-12-01T17:30:00")});
  EXPECT_EQ(card.periods[0].rest_deducted, minutes{10});
  EXPECT_EQ(card.periods[0].worked, hours{9} - minutes{10});
  EXPECT_EQ(card.periods[0].expected, hours{9} - minutes{10});
}

TEST(TimecardTest, Manual38RestOutsideWorkedTimeIsNotDeducted) {
  const Timecard card = card_for(rest_rules(figure_315_rest()), kDay,
                                 {punch("2022-12-01T12:30:00"), punch("2022-12-01T17:30:00")});
  EXPECT_EQ(card.periods[0].rest_deducted, seconds{0});
  EXPECT_EQ(card.periods[0].worked, hours{5});
}

TEST(TimecardTest, Manual38RecordAsSetsTheNormalHours) {
  RestPeriod rest = figure_315_rest();
  Rules r = rest_rules(rest);
  r.periods[0].record_as_min = 540;
  const Timecard card = card_for(r, kDay, std::vector<Punch>{});
  EXPECT_EQ(card.expected_tenths, 90);
}

TEST(TimecardTest, Manual38PaidRestWithoutAutoDeductionIsWorked) {
  RestPeriod rest = figure_315_rest();
  rest.auto_deduct = false;
  const Timecard card = card_for(rest_rules(rest), kDay,
                                 {punch("2022-12-01T08:30:00"), punch("2022-12-01T17:30:00")});
  EXPECT_EQ(card.periods[0].worked, hours{9});
}

RestPeriod lunch_must_check(bool transfer_unused) {
  RestPeriod rest;
  rest.name = "lunch";
  rest.start = hm(12, 0);
  rest.end = hm(13, 0);
  rest.validity = ClockWindow{hm(11, 30), hm(13, 30)};
  rest.minutes = 30;
  rest.auto_deduct = false;
  rest.must_check = true;
  rest.transfer_unused = transfer_unused;
  return rest;
}

TEST(TimecardTest, Manual38MustCheckRestDeductsTheBreakTaken) {
  const Timecard card = card_for(rest_rules(lunch_must_check(false)), kDay,
                                 {punch("2022-12-01T08:30:00"), punch("2022-12-01T12:05:00", 2),
                                  punch("2022-12-01T12:50:00", 3), punch("2022-12-01T17:30:00")});
  EXPECT_EQ(card.periods[0].rest_deducted, minutes{45});
  EXPECT_EQ(card.periods[0].worked, hours{9} - minutes{45});
  EXPECT_FALSE(card.periods[0].missing_break_punch);
  EXPECT_EQ(card.punches[1].role, PunchRole::BreakOut);
  EXPECT_EQ(card.punches[2].role, PunchRole::BreakIn);
}

TEST(TimecardTest, Manual38ShortBreakWithoutTransferStillDeductsTheRest) {
  const Timecard card = card_for(rest_rules(lunch_must_check(false)), kDay,
                                 {punch("2022-12-01T08:30:00"), punch("2022-12-01T12:00:00"),
                                  punch("2022-12-01T12:20:00"), punch("2022-12-01T17:30:00")});
  EXPECT_EQ(card.periods[0].rest_deducted, minutes{30});
}

TEST(TimecardTest, Manual38ShortBreakWithTransferCreditsUnusedRest) {
  const Timecard card = card_for(rest_rules(lunch_must_check(true)), kDay,
                                 {punch("2022-12-01T08:30:00"), punch("2022-12-01T12:00:00"),
                                  punch("2022-12-01T12:20:00"), punch("2022-12-01T17:30:00")});
  EXPECT_EQ(card.periods[0].rest_deducted, minutes{20});
  EXPECT_EQ(card.periods[0].worked, hours{9} - minutes{20});
}

TEST(TimecardTest, Manual38MustCheckRestWithoutBreakPunchesIsFlagged) {
  const Timecard card = card_for(rest_rules(lunch_must_check(false)), kDay,
                                 {punch("2022-12-01T08:30:00"), punch("2022-12-01T17:30:00")});
  EXPECT_TRUE(card.periods[0].missing_break_punch);
  EXPECT_EQ(card.periods[0].rest_deducted, minutes{30});
}

TEST(TimecardTest, Manual38MustCheckRestWithPairingUsesTheGap) {
  Rules r = rest_rules(lunch_must_check(false));
  r.periods[0].first_last_only = false;
  const Timecard card = card_for(r, kDay,
                                 {punch("2022-12-01T08:30:00"), punch("2022-12-01T12:00:00"),
                                  punch("2022-12-01T12:20:00"), punch("2022-12-01T17:30:00")});
  ASSERT_EQ(card.periods[0].sessions.size(), 2U);
  EXPECT_FALSE(card.periods[0].missing_break_punch);
  // 20 minutes were not worked; 10 more of the 30-minute rest are deducted.
  EXPECT_EQ(card.periods[0].worked, hours{9} - minutes{30});
}

// Figure 3-17: flexible type, required work hours.
Rules flexible_rules(bool overtime_beyond_required) {
  Period p;
  p.id = "flex";
  p.type = PeriodType::Flexible;
  p.required_min = 480;
  p.day_start = hm(5, 0);
  p.overtime_beyond_required = overtime_beyond_required;
  return test::single_shift_rules({p});
}

TEST(TimecardTest, Manual38FlexiblePeriodCountsFirstToLastPunch) {
  const Timecard card = card_for(
      flexible_rules(false), kDay,
      {punch("2022-12-01T09:13:00"), punch("2022-12-01T12:00:00"), punch("2022-12-01T18:01:00")});
  ASSERT_EQ(card.periods.size(), 1U);
  EXPECT_EQ(card.periods[0].kind, SegmentKind::Flexible);
  EXPECT_EQ(card.periods[0].worked, hours{8} + minutes{48});
  EXPECT_EQ(card.periods[0].late_minutes, 0);
  EXPECT_EQ(card.periods[0].short_minutes, 0);
  EXPECT_EQ(card.expected_tenths, 80);
}

TEST(TimecardTest, Manual38FlexiblePeriodShortOfRequiredHours) {
  const Timecard card = card_for(flexible_rules(false), kDay,
                                 {punch("2022-12-01T10:00:00"), punch("2022-12-01T17:00:00")});
  EXPECT_EQ(card.periods[0].short_minutes, 60);
  EXPECT_EQ(period_status(card.periods[0]), "short");
}

TEST(TimecardTest, Manual38FlexibleTimeBeyondRequiredIsOvertimeWhenEnabled) {
  const Timecard card = card_for(flexible_rules(true), kDay,
                                 {punch("2022-12-01T08:00:00"), punch("2022-12-01T18:30:00")});
  EXPECT_EQ(card.periods[0].worked, hours{8});
  EXPECT_EQ(card.overtime_worked, hours{2} + minutes{30});
  EXPECT_EQ(card.overtime_tenths, 25);
}

TEST(TimecardTest, Manual38FlexibleDayTurnsAtCrossDayPunchChange) {
  // Day start 05:00: a punch at 04:59:59 on the next day is still this day's.
  const std::vector<Punch> punches = {punch("2022-12-01T20:00:00"), punch("2022-12-02T04:59:59"),
                                      punch("2022-12-02T05:00:00")};
  const Timecard card = card_for(flexible_rules(false), kDay, punches);
  EXPECT_EQ(card.window_begin, at("2022-12-01T05:00:00"));
  EXPECT_EQ(card.window_end, at("2022-12-02T05:00:00"));
  EXPECT_EQ(card.periods[0].check_out, at("2022-12-02T04:59:59"));
  EXPECT_EQ(card.punches.size(), 2U);
}

TEST(TimecardTest, Manual38FlexibleDayWithOnePunchIsAWholeDayAbsent) {
  const Timecard card = card_for(flexible_rules(false), kDay, {punch("2022-12-01T09:00:00")});
  EXPECT_EQ(card.absence_half_days, 2);
}

// ---------------------------------------------------------------------------
// Cross-midnight shifts.
// ---------------------------------------------------------------------------

Rules night_rules() {
  return test::single_shift_rules({test::fixed_period("night", hm(22, 0), hm(6, 0))});
}

TEST(TimecardTest, CrossMidnightShiftBelongsToTheDayItStarts) {
  const std::vector<Punch> punches = {punch("2022-12-01T21:55:00"), punch("2022-12-02T06:05:00")};
  const Timecard card = card_for(night_rules(), kDay, punches);
  EXPECT_EQ(card.periods[0].start, at("2022-12-01T22:00:00"));
  EXPECT_EQ(card.periods[0].end, at("2022-12-02T06:00:00"));
  EXPECT_EQ(card.periods[0].worked, hours{8});
  EXPECT_EQ(timecard_status(card), "normal");
  const Timecard next = card_for(night_rules(), "2022-12-02", punches);
  EXPECT_TRUE(next.punches.empty());
}

TEST(TimecardTest, CrossMidnightWindowSplitsAtMiddleOfGapToNextNight) {
  // 06:00 to the next 22:00 is 16 h: the boundary is 14:00.
  const std::vector<Punch> punches = {punch("2022-12-01T22:00:00"), punch("2022-12-02T13:59:59"),
                                      punch("2022-12-02T14:00:00")};
  const Timecard first = card_for(night_rules(), kDay, punches);
  EXPECT_EQ(first.window_end, at("2022-12-02T14:00:00"));
  EXPECT_EQ(first.periods[0].check_out, at("2022-12-02T13:59:59"));
  const Timecard second = card_for(night_rules(), "2022-12-02", punches);
  EXPECT_EQ(second.window_begin, at("2022-12-02T14:00:00"));
  EXPECT_EQ(second.periods[0].check_in, at("2022-12-02T14:00:00"));
}

TEST(TimecardTest, CrossMidnightTwoPeriodShiftSplitsPastMidnight) {
  Rules r = test::single_shift_rules(
      {test::fixed_period("a", hm(20, 0), hm(0, 0)), test::fixed_period("b", hm(1, 0), hm(5, 0))});
  const Timecard card = card_for(r, kDay,
                                 {punch("2022-12-01T19:58:00"), punch("2022-12-02T00:29:59"),
                                  punch("2022-12-02T00:30:00"), punch("2022-12-02T05:00:00")});
  EXPECT_EQ(card.periods[0].check_out, at("2022-12-02T00:29:59"));
  EXPECT_EQ(card.periods[1].check_in, at("2022-12-02T00:30:00"));
  EXPECT_EQ(card.worked_tenths, 80);
  EXPECT_EQ(timecard_status(card), "normal/normal");
}

TEST(TimecardTest, ShiftEndingAtMidnightKeepsItsCheckOutWindowPastMidnight) {
  Rules r = test::single_shift_rules({test::fixed_period("late", hm(16, 0), hm(0, 0))});
  r.schedules[0].days[test::day("2022-12-02")] = kRestCode;
  const Timecard card =
      card_for(r, kDay, {punch("2022-12-01T16:00:00"), punch("2022-12-02T00:03:00")});
  EXPECT_EQ(card.periods[0].check_out, at("2022-12-02T00:03:00"));
  EXPECT_EQ(card.worked_tenths, 80);
}

// ---------------------------------------------------------------------------
// Daylight saving (Europe/Berlin: 2023-03-26 02:00->03:00, 2023-10-29 03:00->02:00).
// ---------------------------------------------------------------------------

TEST(TimecardTest, DstSpringForwardNightShiftWorksSevenRealHours) {
  const std::vector<Punch> punches = {punch("2023-03-25T22:00:00"), punch("2023-03-26T06:00:00")};
  const Timecard zoned = card_for(night_rules(), "2023-03-25", punches, test::settled(berlin()));
  EXPECT_EQ(zoned.periods[0].worked, hours{7});
  EXPECT_EQ(zoned.expected_tenths, 70);
  EXPECT_EQ(timecard_status(zoned), "normal");
  const Timecard wall = card_for(night_rules(), "2023-03-25", punches, test::settled(nullptr));
  EXPECT_EQ(wall.periods[0].worked, hours{8});
}

TEST(TimecardTest, DstFallBackNightShiftWorksNineRealHours) {
  const std::vector<Punch> punches = {punch("2023-10-28T22:00:00"), punch("2023-10-29T06:00:00")};
  const Timecard card = card_for(night_rules(), "2023-10-28", punches, test::settled(berlin()));
  EXPECT_EQ(card.periods[0].worked, hours{9});
  EXPECT_EQ(card.worked_tenths, 90);
}

TEST(TimecardTest, DstEarlyLeaveIsCountedInRealMinutes) {
  // Leaving at 05:00 on the fall-back night is one real hour early.
  const Timecard card = card_for(night_rules(), "2023-10-28",
                                 {punch("2023-10-28T22:00:00"), punch("2023-10-29T05:00:00")},
                                 test::settled(berlin()));
  EXPECT_EQ(card.periods[0].early_minutes, 60);
  EXPECT_EQ(card.periods[0].worked, hours{8});
}

TEST(TimecardTest, DstPunchInTheSkippedHourCountsAsTheTransition) {
  // 02:30 does not exist on 2023-03-26: it reads as the transition instant
  // (02:00 CET = 03:00 CEST), 4 real hours after 22:00 CET.
  const Timecard card = card_for(night_rules(), "2023-03-25",
                                 {punch("2023-03-25T22:00:00"), punch("2023-03-26T02:30:00")},
                                 test::settled(berlin()));
  EXPECT_EQ(card.periods[0].worked, hours{4});
}

TEST(TimecardTest, DstDayShiftOnTheChangeDayIsUnaffected) {
  const Timecard card = card_for(manual_rules(), "2023-03-26",
                                 {punch("2023-03-26T08:00:00"), punch("2023-03-26T12:30:00"),
                                  punch("2023-03-26T15:00:00"), punch("2023-03-26T17:00:00")},
                                 test::settled(berlin()));
  EXPECT_EQ(card.worked_tenths, 50);
}

TEST(TimecardTest, DstOvertimeAcrossFallBackIsRealElapsed) {
  Rules r = test::single_shift_rules({test::fixed_period("eve", hm(16, 0), hm(20, 0))},
                                     OvertimeSession{hm(21, 0), hm(4, 0)});
  const Timecard card =
      card_for(r, "2023-10-28", {punch("2023-10-28T21:00:00"), punch("2023-10-29T04:00:00")},
               test::settled(berlin()));
  EXPECT_EQ(card.overtime.worked, hours{8});
}

}  // namespace
}  // namespace pushgate::rules::attendance
