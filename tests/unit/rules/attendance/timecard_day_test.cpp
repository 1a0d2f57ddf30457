// Timecard tests: pending vs final, day kinds and the JSON/CSV serialisation.

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
