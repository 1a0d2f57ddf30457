// Timecard tests of the manual's §2 rules: allowances, windows, hours, recheck, terminal states.

#include "rules/attendance/timecard.hpp"

#include <gtest/gtest.h>

#include "attendance_test_support.hpp"
#include "timecard_test_support.hpp"

namespace pushgate::rules::attendance {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;
using test::at;
using test::card_for;
using test::hm;
using test::kDay;
using test::manual_rules;
using test::punch;

// ---------------------------------------------------------------------------
// §2.7.1 and §2.7.3: allowances, earliest check-in and latest check-out.
// ---------------------------------------------------------------------------

Rules shift_0800_1730(int late_allowance, int early_allowance) {
  Rules r = test::single_shift_rules({test::fixed_period("day", hm(8, 0), hm(17, 30))});
  r.late_allowance_min = late_allowance;
  r.early_allowance_min = early_allowance;
  return r;
}

TEST(TimecardTest, Manual273ArrivalAt0806WithFiveMinutesAllowedIsLateByOneMinute) {
  // §2.7.3: "normal punch-in time is 8:00, late-in allowed 5 minutes, the
  // employee who arrives at 8:06 AM will be marked late by 1 minute".
  const Timecard card = card_for(shift_0800_1730(5, 5), kDay,
                                 {punch("2022-12-01T08:06:00"), punch("2022-12-01T17:30:00")});
  ASSERT_EQ(card.periods.size(), 1U);
  EXPECT_EQ(card.periods[0].late_minutes, 1);
  EXPECT_EQ(card.periods[0].early_minutes, 0);
  EXPECT_EQ(period_status(card.periods[0]), "late");
}

TEST(TimecardTest, Manual273CheckOutAt1725WithFiveMinutesAllowedIsNotEarlyLeave) {
  // §2.7.3: "normal punch-out time is 17:30 ... early-out allowed 5 minute,
  // the employee who clock out at 17:25 will not be considered as an early leave".
  const Timecard card = card_for(shift_0800_1730(5, 5), kDay,
                                 {punch("2022-12-01T08:00:00"), punch("2022-12-01T17:25:00")});
  EXPECT_EQ(card.periods[0].early_minutes, 0);
  EXPECT_EQ(period_status(card.periods[0]), "normal");
  EXPECT_EQ(card.absence_half_days, 0);
}

TEST(TimecardTest, Manual273CheckOutAt1724IsEarlyByOneMinute) {
  const Timecard card = card_for(shift_0800_1730(5, 5), kDay,
                                 {punch("2022-12-01T08:00:00"), punch("2022-12-01T17:24:59")});
  EXPECT_EQ(card.periods[0].early_minutes, 1);
}

TEST(TimecardTest, Manual271ZeroAllowanceNeedsCheckInBy0800AndOutFrom1700) {
  // §2.7.1: "If you set 08:00-17:00, you need to clock in before 08:00 or
  // earlier, and punch out at 17:00 or later".
  Rules r = test::single_shift_rules({test::fixed_period("day", hm(8, 0), hm(17, 0))});
  const Timecard ok =
      card_for(r, kDay, {punch("2022-12-01T08:00:59"), punch("2022-12-01T17:00:00")});
  EXPECT_EQ(timecard_status(ok), "normal");
  const Timecard late =
      card_for(r, kDay, {punch("2022-12-01T08:01:00"), punch("2022-12-01T17:00:00")});
  EXPECT_EQ(late.late_minutes, 1);
  const Timecard early =
      card_for(r, kDay, {punch("2022-12-01T08:00:00"), punch("2022-12-01T16:59:59")});
  EXPECT_EQ(early.early_minutes, 1);
}

TEST(TimecardTest, Manual271EarliestCheckInAndLatestCheckOutAreEffective) {
  const Timecard card = card_for(
      shift_0800_1730(0, 0), kDay,
      {punch("2022-12-01T08:10:00"), punch("2022-12-01T07:50:00"), punch("2022-12-01T16:00:00"),
       punch("2022-12-01T17:35:00"), punch("2022-12-01T12:00:00")});
  EXPECT_EQ(card.periods[0].check_in, at("2022-12-01T07:50:00"));
  EXPECT_EQ(card.periods[0].check_out, at("2022-12-01T17:35:00"));
  EXPECT_EQ(timecard_status(card), "normal");
  EXPECT_EQ(card.worked_tenths, 95);
}

// ---------------------------------------------------------------------------
// §2.15 Attendance rules, with the shifts of Table 2-13.
// ---------------------------------------------------------------------------

TEST(TimecardTest, Manual215PunchesAt0905And1154And1700AreEarlyByOneAndHalfDayAbsent) {
  // §2.15: "if a person checks the attendance at 9:05, 11:54, and 17:00, it
  // be marked as an early leave by 1 minute in the first period, and 0.5 day
  // absence from work because there is no punch-out in the second period."
  const Timecard card = card_for(
      manual_rules(), kDay,
      {punch("2022-12-01T09:05:00"), punch("2022-12-01T11:54:00"), punch("2022-12-01T17:00:00")});
  ASSERT_EQ(card.periods.size(), 2U);
  EXPECT_EQ(card.periods[0].late_minutes, 0);
  EXPECT_EQ(card.periods[0].early_minutes, 1);
  EXPECT_EQ(card.periods[0].absence_half_days, 0);
  EXPECT_EQ(card.periods[1].check_in, at("2022-12-01T17:00:00"));
  EXPECT_TRUE(card.periods[1].missing_check_out);
  EXPECT_EQ(card.periods[1].absence_half_days, 1);
  // The absence replaces period 2's lateness: the manual names none.
  EXPECT_EQ(card.periods[1].late_minutes, 0);
  EXPECT_EQ(card.late_minutes, 0);
  EXPECT_EQ(card.early_minutes, 1);
  EXPECT_EQ(card.absence_half_days, 1);
  EXPECT_EQ(format_half_days(card.absence_half_days), "0.5");
  EXPECT_EQ(timecard_status(card), "early/absent");
}

TEST(TimecardTest, Manual215EvenGapSplitsAt1300) {
  // §2.15: a 120-minute gap; period 1 punch-out 12:00-12:59, period 2
  // punch-in 13:00-14:00.
  const Timecard out_of_p1 =
      card_for(manual_rules(), kDay, {punch("2022-12-01T09:00:00"), punch("2022-12-01T12:59:59")});
  EXPECT_EQ(out_of_p1.periods[0].check_out, at("2022-12-01T12:59:59"));
  EXPECT_FALSE(out_of_p1.periods[1].check_in.has_value());

  const Timecard in_of_p2 =
      card_for(manual_rules(), kDay, {punch("2022-12-01T09:00:00"), punch("2022-12-01T13:00:00")});
  EXPECT_FALSE(in_of_p2.periods[0].check_out.has_value());
  EXPECT_EQ(in_of_p2.periods[1].check_in, at("2022-12-01T13:00:00"));
}

TEST(TimecardTest, Manual215OddGapSplitsAt1808) {
  // §2.15: 17:30 to 18:45 is 75 minutes; punch-out 17:30-18:07, overtime
  // punch-in 18:08-18:45.
  const Timecard p2 = card_for(
      manual_rules(), kDay,
      {punch("2022-12-01T14:00:00"), punch("2022-12-01T18:07:59"), punch("2022-12-01T19:00:00")});
  EXPECT_EQ(p2.periods[1].check_out, at("2022-12-01T18:07:59"));
  EXPECT_FALSE(p2.overtime.check_in.has_value());

  const Timecard ot = card_for(
      manual_rules(), kDay,
      {punch("2022-12-01T14:00:00"), punch("2022-12-01T18:08:00"), punch("2022-12-01T19:00:00")});
  EXPECT_TRUE(ot.periods[1].missing_check_out);
  EXPECT_EQ(ot.overtime.check_in, at("2022-12-01T18:08:00"));
  EXPECT_EQ(ot.overtime.check_out, at("2022-12-01T19:00:00"));
}

TEST(TimecardTest, Manual215Table214Period1NormalCheckInRunsFrom0000To0905Seconds) {
  // Table 2-14: "00:00-9:05 ... 9:05:00-9:05:59 is the normal punch-in time."
  const auto late_of = [](const char* in) {
    return card_for(manual_rules(), kDay, {punch(in), punch("2022-12-01T12:00:00")}).periods[0];
  };
  EXPECT_EQ(late_of("2022-12-01T00:00:00").check_in, at("2022-12-01T00:00:00"));
  EXPECT_EQ(late_of("2022-12-01T09:05:00").late_minutes, 0);
  EXPECT_EQ(late_of("2022-12-01T09:05:59").late_minutes, 0);
  EXPECT_EQ(late_of("2022-12-01T09:06:00").late_minutes, 1);
}

TEST(TimecardTest, Manual215Table214Period1NormalCheckOutIs1155To1259) {
  const auto early_of = [](const char* out) {
    return card_for(manual_rules(), kDay, {punch("2022-12-01T09:00:00"), punch(out)}).periods[0];
  };
  EXPECT_EQ(early_of("2022-12-01T11:54:59").early_minutes, 1);
  EXPECT_EQ(early_of("2022-12-01T11:55:00").early_minutes, 0);
  EXPECT_EQ(early_of("2022-12-01T12:59:59").early_minutes, 0);
  EXPECT_EQ(period_status(early_of("2022-12-01T12:59:59")), "normal");
}

TEST(TimecardTest, Manual215Table214Period2CheckInFrom1300AndNormalUntil1405) {
  // Table 2-14 prints "13:00-13:05"; with period 2 starting 14:00 and 5
  // minutes allowed the normal punch-in is 13:00-14:05 (see README).
  const auto p2_of = [](const char* in) {
    return card_for(manual_rules(), kDay, {punch(in), punch("2022-12-01T17:30:00")}).periods[1];
  };
  EXPECT_EQ(p2_of("2022-12-01T13:00:00").late_minutes, 0);
  EXPECT_EQ(p2_of("2022-12-01T13:05:00").late_minutes, 0);
  EXPECT_EQ(p2_of("2022-12-01T14:05:59").late_minutes, 0);
  EXPECT_EQ(p2_of("2022-12-01T14:06:00").late_minutes, 1);
}

TEST(TimecardTest, Manual215Table214Period2NormalCheckOutIs1725To1807) {
  const auto p2_of = [](const char* out) {
    return card_for(manual_rules(), kDay, {punch("2022-12-01T14:00:00"), punch(out)}).periods[1];
  };
  EXPECT_EQ(p2_of("2022-12-01T17:24:59").early_minutes, 1);
  EXPECT_EQ(p2_of("2022-12-01T17:25:00").early_minutes, 0);
  EXPECT_EQ(p2_of("2022-12-01T18:07:59").check_out, at("2022-12-01T18:07:59"));
}

TEST(TimecardTest, Manual215LastWindowRunsTo235959OfTheDay) {
  // Without an overtime session period 2 takes punch-outs until the day ends.
  const std::vector<Punch> punches = {punch("2022-12-01T14:00:00"), punch("2022-12-01T23:59:59"),
                                      punch("2022-12-02T00:00:00")};
  const Timecard card = card_for(manual_rules(false), kDay, punches);
  EXPECT_EQ(card.periods[1].check_out, at("2022-12-01T23:59:59"));
  EXPECT_EQ(card.punches.size(), 2U);
  // With it, the same punch is the overtime check-out.
  const Timecard with_ot = card_for(manual_rules(true), kDay,
                                    {punch("2022-12-01T19:00:00"), punch("2022-12-01T23:59:59")});
  EXPECT_EQ(with_ot.overtime.check_out, at("2022-12-01T23:59:59"));
}

TEST(TimecardTest, Manual215EachPeriodWithoutBothPunchesIsHalfDayAbsence) {
  const Timecard none = card_for(manual_rules(), kDay, std::vector<Punch>{});
  EXPECT_EQ(none.absence_half_days, 2);
  EXPECT_EQ(format_half_days(none.absence_half_days), "1.0");
  EXPECT_EQ(timecard_status(none), "absent/absent");

  const Timecard morning_only =
      card_for(manual_rules(), kDay, {punch("2022-12-01T08:55:00"), punch("2022-12-01T12:01:00")});
  EXPECT_EQ(morning_only.absence_half_days, 1);
  EXPECT_EQ(timecard_status(morning_only), "normal/absent");
}

TEST(TimecardTest, Manual215LonePunchAfterPeriodEndIsCheckOut) {
  // A single punch in the punch-out part of the window (after 12:00) can
  // only be the check-out: period 1 lacks its check-in.
  const Timecard card = card_for(manual_rules(), kDay, {punch("2022-12-01T12:10:00")});
  EXPECT_TRUE(card.periods[0].missing_check_in);
  EXPECT_EQ(card.periods[0].check_out, at("2022-12-01T12:10:00"));
}

TEST(TimecardTest, Manual215OvertimeHasNoLateOrEarly) {
  // §2.15: "There is no late-in or early-out status in the overtime period.
  // The time between the punch-in and punch-out is the overtime."
  const Timecard card = card_for(
      manual_rules(), kDay,
      {punch("2022-12-01T08:59:00"), punch("2022-12-01T12:00:00"), punch("2022-12-01T14:00:00"),
       punch("2022-12-01T17:30:00"), punch("2022-12-01T19:10:00"), punch("2022-12-01T19:40:00")});
  EXPECT_EQ(timecard_status(card), "normal/normal");
  EXPECT_EQ(card.late_minutes, 0);
  EXPECT_EQ(card.early_minutes, 0);
  EXPECT_EQ(card.overtime.worked, minutes{30});
  EXPECT_EQ(card.overtime_tenths, 5);
}

TEST(TimecardTest, Manual215OvertimeWithOnePunchIsNoOvertimeAndNoAbsence) {
  const Timecard card = card_for(manual_rules(), kDay,
                                 {punch("2022-12-01T09:00:00"), punch("2022-12-01T12:00:00"),
                                  punch("2022-12-01T14:00:00"), punch("2022-12-01T19:00:00")});
  EXPECT_EQ(card.overtime.worked, seconds{0});
  EXPECT_EQ(card.absence_half_days, 1);  // period 2 has no check-out; overtime never absent
}

// ---------------------------------------------------------------------------
// §2.16 Working hours.
// ---------------------------------------------------------------------------

TEST(TimecardTest, Manual216PunchesAt0800And1230And1500And1700WorkFiveHours) {
  // §2.16: "8:00, 12:30, 15:00 and 17:00, the working hours are 3 hours in
  // the period 1, and ... 2 hours in the period 2, and the total working
  // hours are 5 hours."
  for (const bool with_overtime : {false, true}) {
    const Timecard card = card_for(manual_rules(with_overtime), kDay,
                                   {punch("2022-12-01T08:00:00"), punch("2022-12-01T12:30:00"),
                                    punch("2022-12-01T15:00:00"), punch("2022-12-01T17:00:00")});
    EXPECT_EQ(card.periods[0].worked, hours{3});
    EXPECT_EQ(card.periods[0].worked_tenths, 30);
    EXPECT_EQ(card.periods[1].worked, hours{2});
    EXPECT_EQ(card.periods[1].worked_tenths, 20);
    EXPECT_EQ(card.worked_tenths, 50);
    EXPECT_EQ(format_tenths(card.worked_tenths), "5.0");
  }
}

TEST(TimecardTest, Manual216NormalWorkingHoursForADayAreSixAndAHalf) {
  // §2.16: "period 1 is 9:00-12:00 and the period 2 is 14:00-17:30, and the
  // normal working hours for a day is 6.5 hours."
  const Timecard card = card_for(manual_rules(), kDay, std::vector<Punch>{});
  EXPECT_EQ(card.expected_tenths, 65);
}

TEST(TimecardTest, Manual216OvertimeFrom1820To1930IsOnePointOneHours) {
  // §2.16: "punches in at 18:20 and punches out at 19:30 during the overtime
  // period, the total overtime working hours are 1.1 hours" (70 minutes,
  // truncated to one decimal).
  const Timecard card =
      card_for(manual_rules(), kDay, {punch("2022-12-01T18:20:00"), punch("2022-12-01T19:30:00")});
  EXPECT_EQ(card.overtime.check_in, at("2022-12-01T18:20:00"));
  EXPECT_EQ(card.overtime.worked, minutes{70});
  EXPECT_EQ(card.overtime.tenths, 11);
  EXPECT_EQ(card.overtime_tenths, 11);
}

TEST(TimecardTest, Manual216HoursArePreciseToOneDecimalTruncated) {
  // 9:05:00 to 11:54:00 is 2 h 49 min = 2.81 h -> 2.8; 5:59 short of 3 h is 2.9.
  const Timecard a =
      card_for(manual_rules(), kDay, {punch("2022-12-01T09:05:00"), punch("2022-12-01T11:54:00")});
  EXPECT_EQ(a.periods[0].worked_tenths, 28);
  const Timecard b =
      card_for(manual_rules(), kDay, {punch("2022-12-01T09:00:00"), punch("2022-12-01T11:54:01")});
  EXPECT_EQ(b.periods[0].worked_tenths, 29);
}

// ---------------------------------------------------------------------------
// §2.11.2 Recheck interval.
// ---------------------------------------------------------------------------

TEST(TimecardTest, Manual2112PunchesWithinRecheckIntervalAreIgnored) {
  Rules r = manual_rules();
  r.recheck_interval_min = 3;
  const Timecard card = card_for(
      r, kDay,
      {punch("2022-12-01T09:00:00"), punch("2022-12-01T09:02:59", std::nullopt, "1", "T2"),
       punch("2022-12-01T09:03:00"), punch("2022-12-01T12:00:00"), punch("2022-12-01T12:01:00")});
  ASSERT_EQ(card.punches.size(), 5U);
  EXPECT_EQ(card.punches[0].role, PunchRole::CheckIn);
  EXPECT_EQ(card.punches[1].role, PunchRole::Duplicate);  // 2:59 after, other terminal too
  EXPECT_EQ(card.punches[2].role, PunchRole::Unused);     // exactly 3:00 after: kept
  EXPECT_EQ(card.punches[3].role, PunchRole::CheckOut);   // the latest kept punch
  EXPECT_EQ(card.punches[4].role, PunchRole::Duplicate);  // 1 minute after 12:00
  EXPECT_EQ(card.periods[0].check_out, at("2022-12-01T12:00:00"));
}

TEST(TimecardTest, Manual2112DuplicateDoesNotBecomeTheLatestCheckOut) {
  Rules r = manual_rules();
  r.recheck_interval_min = 5;
  const Timecard card = card_for(
      r, kDay,
      {punch("2022-12-01T09:00:00"), punch("2022-12-01T11:58:00"), punch("2022-12-01T12:02:00")});
  EXPECT_EQ(card.periods[0].check_out, at("2022-12-01T11:58:00"));
  EXPECT_EQ(card.periods[0].early_minutes, 0);
}

TEST(TimecardTest, Manual2112ZeroIntervalKeepsEveryPunch) {
  const Timecard card =
      card_for(manual_rules(), kDay, {punch("2022-12-01T09:00:00"), punch("2022-12-01T09:00:01")});
  EXPECT_EQ(card.punches[1].role, PunchRole::CheckOut);
}

TEST(TimecardTest, ReuploadedRecordCountsOnce) {
  const std::vector<Punch> punches = {punch("2022-12-01T09:00:00"), punch("2022-12-01T09:00:00"),
                                      punch("2022-12-01T12:00:00")};
  const Timecard card = card_for(manual_rules(), kDay, punches);
  EXPECT_EQ(card.punches.size(), 2U);
}

// ---------------------------------------------------------------------------
// Terminal attendance states (§2.11.5/§2.11.6) respected when present.
// ---------------------------------------------------------------------------

TEST(TimecardTest, CheckOutStateAloneInPeriodIsMissingCheckIn) {
  // The same 17:00 punch as §2.15's example, but the terminal said check-out.
  const Timecard card = card_for(manual_rules(), kDay,
                                 {punch("2022-12-01T09:00:00", 0), punch("2022-12-01T12:00:00", 1),
                                  punch("2022-12-01T17:00:00", 1)});
  EXPECT_TRUE(card.periods[1].missing_check_in);
  EXPECT_EQ(card.periods[1].check_out, at("2022-12-01T17:00:00"));
  EXPECT_EQ(card.periods[1].absence_half_days, 1);
  EXPECT_EQ(card.periods[1].early_minutes, 0);  // the absence replaces the early leave
}

TEST(TimecardTest, CheckInStateIsNeverTakenAsCheckOut) {
  const Timecard card = card_for(
      manual_rules(), kDay, {punch("2022-12-01T09:00:00", 0), punch("2022-12-01T12:30:00", 0)});
  EXPECT_EQ(card.periods[0].check_in, at("2022-12-01T09:00:00"));
  EXPECT_TRUE(card.periods[0].missing_check_out);
}

TEST(TimecardTest, BreakStatesAreNotCheckInOrOut) {
  const Timecard card = card_for(manual_rules(), kDay,
                                 {punch("2022-12-01T09:00:00"), punch("2022-12-01T10:00:00", 2),
                                  punch("2022-12-01T10:15:00", 3)});
  EXPECT_TRUE(card.periods[0].missing_check_out);
  EXPECT_EQ(card.punches[1].role, PunchRole::Unused);
}

TEST(TimecardTest, OvertimeStatesCountAsOvertimeWhereverTheyFall) {
  // 17:40 lies in period 2's punch-out window, but the terminal said OT-in.
  const Timecard card =
      card_for(manual_rules(), kDay,
               {punch("2022-12-01T14:00:00"), punch("2022-12-01T17:31:00"),
                punch("2022-12-01T17:40:00", 4), punch("2022-12-01T19:40:00", 5)});
  EXPECT_EQ(card.periods[1].check_out, at("2022-12-01T17:31:00"));
  EXPECT_EQ(card.overtime.check_in, at("2022-12-01T17:40:00"));
  EXPECT_EQ(card.overtime.worked, hours{2});
}

TEST(TimecardTest, OvertimeStatesOnARestDayAreOvertime) {
  Rules r = manual_rules();
  r.schedules[0].days[test::day(kDay)] = kRestCode;
  const Timecard card = card_for(r, kDay,
                                 {punch("2022-12-01T10:00:00", 4), punch("2022-12-01T13:30:00", 5),
                                  punch("2022-12-01T14:00:00")});
  EXPECT_EQ(card.kind, DayKind::Rest);
  EXPECT_TRUE(card.periods.empty());
  EXPECT_FALSE(card.overtime.scheduled);
  EXPECT_EQ(card.overtime_tenths, 35);
  EXPECT_EQ(card.absence_half_days, 0);
  EXPECT_EQ(card.punches[2].role, PunchRole::Unused);
}

TEST(TimecardTest, UndefinedStateIsTreatedAsUntyped) {
  const Timecard card = card_for(
      manual_rules(), kDay, {punch("2022-12-01T09:00:00", 255), punch("2022-12-01T12:00:00", 255)});
  EXPECT_EQ(timecard_status(card).substr(0, 6), "normal");
  EXPECT_FALSE(card.punches[0].effective_state.has_value());
}

TEST(TimecardTest, Manual2116StateSwitchTableGivesUntypedPunchesAState) {
  Rules r = manual_rules();
  r.state_switch.infer_missing_states = true;
  r.state_switch.entries = {{hm(5, 0), 0}, {hm(11, 0), 1}, {hm(13, 0), 0}, {hm(17, 0), 1}};
  // 11:00-13:00 shows check-out, so 12:30 is a check-out; 13:10 a check-in.
  const Timecard card = card_for(r, kDay,
                                 {punch("2022-12-01T09:00:00"), punch("2022-12-01T12:30:00"),
                                  punch("2022-12-01T13:10:00"), punch("2022-12-01T16:00:00")});
  EXPECT_EQ(card.punches[1].effective_state, std::optional<int>(1));
  EXPECT_EQ(card.punches[3].effective_state, std::optional<int>(0));
  // 16:00 shows check-in: period 2 has two check-ins and no check-out.
  EXPECT_TRUE(card.periods[1].missing_check_out);
  EXPECT_EQ(card.periods[1].check_in, at("2022-12-01T13:10:00"));
  EXPECT_EQ(card.periods[0].check_out, at("2022-12-01T12:30:00"));
}

TEST(TimecardTest, Manual2116UploadedStateWinsOverTheTable) {
  Rules r = manual_rules();
  r.state_switch.infer_missing_states = true;
  r.state_switch.entries = {{hm(8, 0), 0}, {hm(17, 30), 1}};
  const Timecard card =
      card_for(r, kDay, {punch("2022-12-01T09:00:00"), punch("2022-12-01T12:00:00", 1)});
  EXPECT_EQ(card.punches[0].effective_state, std::optional<int>(0));
  EXPECT_EQ(card.punches[1].effective_state, std::optional<int>(1));
  EXPECT_EQ(timecard_status(card), "normal/absent");
}

}  // namespace
}  // namespace pushgate::rules::attendance
