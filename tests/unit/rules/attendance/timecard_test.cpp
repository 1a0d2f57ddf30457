#include "rules/attendance/timecard.hpp"

#include <gtest/gtest.h>

#include "attendance_test_support.hpp"

namespace pushgate::rules::attendance {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;
using test::at;
using test::card_for;
using test::hm;
using test::manual_rules;
using test::punch;

constexpr const char* kDay = "2022-12-01";

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

const date::time_zone* berlin() {
  return date::locate_zone("Europe/Berlin");
}

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

// ---------------------------------------------------------------------------
// "Now": pending vs final.
// ---------------------------------------------------------------------------

TEST(TimecardTest, MissingPunchIsPendingUntilThePeriodWindowCloses) {
  const std::vector<Punch> punches = {punch("2022-12-01T09:00:00"), punch("2022-12-01T12:00:00"),
                                      punch("2022-12-01T14:00:00")};
  const Timecard open =
      card_for(manual_rules(), kDay, punches, ComputeContext{nullptr, at("2022-12-01T18:07:59")});
  EXPECT_TRUE(open.periods[1].pending);
  EXPECT_EQ(open.absence_half_days, 0);
  EXPECT_FALSE(open.final);
  EXPECT_EQ(timecard_status(open), "normal/pending");

  const Timecard closed =
      card_for(manual_rules(), kDay, punches, ComputeContext{nullptr, at("2022-12-01T18:08:00")});
  EXPECT_FALSE(closed.periods[1].pending);
  EXPECT_EQ(closed.absence_half_days, 1);
  EXPECT_FALSE(closed.final);

  const Timecard final_card =
      card_for(manual_rules(), kDay, punches, ComputeContext{nullptr, at("2022-12-02T00:00:00")});
  EXPECT_TRUE(final_card.final);
}

TEST(TimecardTest, SiteNowComesFromTheInjectedClock) {
  // 2023-03-26 01:30 UTC is 03:30 CEST.
  const test::FakeClock clock(date::sys_days{date::March / 26 / 2023} + hours{1} + minutes{30});
  EXPECT_EQ(site_now(clock, berlin()), at("2023-03-26T03:30:00"));
  EXPECT_EQ(site_now(clock, nullptr), at("2023-03-26T01:30:00"));
}

// ---------------------------------------------------------------------------
// Day kinds.
// ---------------------------------------------------------------------------

TEST(TimecardTest, LeaveTripRestAndHolidayDaysHaveNoAbsence) {
  Rules r = manual_rules();
  r.schedules[0].days[test::day("2022-12-01")] = kLeaveCode;
  r.schedules[0].days[test::day("2022-12-02")] = kBusinessTripCode;
  r.schedules[0].days[test::day("2022-12-03")] = kRestCode;
  r.holidays.push_back({"Founders", test::day("2022-12-04"), test::day("2022-12-04")});
  const std::vector<std::pair<const char*, DayKind>> expected = {
      {"2022-12-01", DayKind::Leave},
      {"2022-12-02", DayKind::BusinessTrip},
      {"2022-12-03", DayKind::Rest},
      {"2022-12-04", DayKind::Holiday}};
  for (const auto& [on, kind] : expected) {
    const Timecard card = card_for(r, on, std::vector<Punch>{});
    EXPECT_EQ(card.kind, kind) << on;
    EXPECT_EQ(card.absence_half_days, 0) << on;
    EXPECT_TRUE(card.periods.empty()) << on;
  }
  EXPECT_EQ(card_for(r, "2022-12-04", std::vector<Punch>{}).holiday, "Founders");
}

TEST(TimecardTest, UnknownUserIsUnscheduled) {
  const Timecard card =
      card_for(manual_rules(), kDay, {punch("2022-12-01T09:00:00", std::nullopt, "999")},
               test::settled(), "999");
  EXPECT_EQ(card.kind, DayKind::Unscheduled);
  EXPECT_EQ(card.punches.size(), 1U);
  EXPECT_EQ(card.absence_half_days, 0);
}

TEST(TimecardTest, OtherUsersAndOtherDaysAreIgnored) {
  const Timecard card = card_for(manual_rules(), kDay,
                                 {punch("2022-12-01T09:00:00", std::nullopt, "2"),
                                  punch("2022-11-30T23:59:59"), punch("2022-12-02T00:00:00")});
  EXPECT_TRUE(card.punches.empty());
}

// ---------------------------------------------------------------------------
// Serialisation.
// ---------------------------------------------------------------------------

TEST(TimecardTest, JsonCarriesTheManualFigures) {
  const Timecard card = card_for(
      manual_rules(), kDay,
      {punch("2022-12-01T09:05:00"), punch("2022-12-01T11:54:00"), punch("2022-12-01T17:00:00")});
  const nlohmann::json j = timecard_to_json(card);
  EXPECT_EQ(j["pin"], "1");
  EXPECT_EQ(j["date"], "2022-12-01");
  EXPECT_EQ(j["kind"], "shift");
  EXPECT_EQ(j["shift"], 1);
  EXPECT_EQ(j["status"], "early/absent");
  EXPECT_EQ(j["periods"][0]["early_min"], 1);
  EXPECT_EQ(j["periods"][0]["check_in"], "2022-12-01T09:05:00");
  EXPECT_EQ(j["periods"][1]["check_out"], nullptr);
  EXPECT_DOUBLE_EQ(j["totals"]["absence_days"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(j["periods"][0]["worked_hours"].get<double>(), 2.8);
  EXPECT_EQ(j["punches"][2]["role"], "check_in");
  EXPECT_EQ(j["punches"][2]["period"], 1);
  nlohmann::json via_adl = card;
  EXPECT_EQ(via_adl, j);
}

TEST(TimecardTest, CsvHasHeaderAndOneRow) {
  const Timecard card = card_for(
      manual_rules(), kDay,
      {punch("2022-12-01T08:00:00"), punch("2022-12-01T12:30:00"), punch("2022-12-01T15:00:00"),
       punch("2022-12-01T17:00:00"), punch("2022-12-01T18:20:00"), punch("2022-12-01T19:30:00")});
  EXPECT_EQ(timecard_to_csv(card),
            "pin,date,kind,shift,status,check_in_1,check_out_1,late_min_1,early_min_1,check_in_2,"
            "check_out_2,late_min_2,early_min_2,overtime_in,overtime_out,late_min,early_min,"
            "absence_days,worked_hours,expected_hours,overtime_hours,final\r\n"
            "1,2022-12-01,shift,1,normal/late+early,2022-12-01T08:00:00,2022-12-01T12:30:00,0,0,"
            "2022-12-01T15:00:00,2022-12-01T17:00:00,55,25,2022-12-01T18:20:00,"
            "2022-12-01T19:30:00,55,25,0.0,5.0,6.5,1.1,true\r\n");
}

TEST(TimecardTest, CsvFieldQuotesSeparatorsAndQuotes) {
  EXPECT_EQ(csv_field("plain"), "plain");
  EXPECT_EQ(csv_field("a,b"), "\"a,b\"");
  EXPECT_EQ(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(csv_field("two\nlines"), "\"two\nlines\"");
}

TEST(TimecardTest, FormatsTenthsAndHalfDays) {
  EXPECT_EQ(format_tenths(0), "0.0");
  EXPECT_EQ(format_tenths(11), "1.1");
  EXPECT_EQ(format_tenths(65), "6.5");
  EXPECT_EQ(format_half_days(1), "0.5");
  EXPECT_EQ(format_half_days(3), "1.5");
}

}  // namespace
}  // namespace pushgate::rules::attendance
