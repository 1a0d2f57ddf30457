#include "rules/attendance/report.hpp"

#include <algorithm>

#include <gtest/gtest.h>

#include "attendance_test_support.hpp"

namespace pushgate::rules::attendance {
namespace {

using test::at;
using test::day;
using test::punch;

// User "1" (Table 2-13 shift every day) and user "2" in department HQ who is
// on leave on the second day; three days of December 2022.
Rules report_rules() {
  Rules r = test::manual_rules();
  r.departments = {{1, "HQ, North"}};
  r.users[0].department = 1;
  User two;
  two.pin = "2";
  two.name = "Bo";
  two.department = 1;
  two.schedule_mode = ScheduleMode::Personal;
  r.users.push_back(two);
  Schedule s;
  s.user = "2";
  s.cycle = "daily";
  s.days[day("2022-12-02")] = kLeaveCode;
  r.schedules.push_back(s);
  return r;
}

TimecardEngine filled_engine() {
  TimecardEngine engine(std::make_shared<const Rules>(report_rules()));
  const std::vector<Punch> punches = {
      // Day 1: §2.15's example for user 1, §2.16's for user 2.
      punch("2022-12-01T09:05:00"), punch("2022-12-01T11:54:00"), punch("2022-12-01T17:00:00"),
      punch("2022-12-01T08:00:00", std::nullopt, "2", "T2"),
      punch("2022-12-01T12:30:00", std::nullopt, "2", "T2"),
      punch("2022-12-01T15:00:00", std::nullopt, "2", "T2"),
      punch("2022-12-01T17:00:00", std::nullopt, "2", "T2"),
      // Day 2: user 1 normal with overtime 18:20-19:30.
      punch("2022-12-02T08:58:00"), punch("2022-12-02T12:00:00"), punch("2022-12-02T13:58:00"),
      punch("2022-12-02T17:30:00"), punch("2022-12-02T18:20:00"), punch("2022-12-02T19:30:00"),
      // Day 3: user 1 late in the morning, nothing for user 2.
      punch("2022-12-03T09:10:00"), punch("2022-12-03T12:00:00"), punch("2022-12-03T14:00:00"),
      punch("2022-12-03T17:30:00")};
  engine.add_punches(punches);
  return engine;
}

PeriodReport december_report() {
  const TimecardEngine engine = filled_engine();
  return build_period_report(engine, day("2022-12-01"), day("2022-12-03"),
                             ComputeContext{nullptr, at("2022-12-10T00:00:00")});
}

TEST(PeriodReportTest, OneRowPerUserPerDay) {
  const PeriodReport report = december_report();
  ASSERT_EQ(report.rows.size(), 6U);
  EXPECT_EQ(report.rows[0].user.pin, "1");
  EXPECT_EQ(report.rows[0].day, day("2022-12-01"));
  EXPECT_EQ(report.rows[0].status, "early/absent");
  EXPECT_EQ(report.rows[0].check_in[1], at("2022-12-01T17:00:00"));
  EXPECT_EQ(report.rows[0].check_out[1], std::nullopt);
  EXPECT_EQ(report.rows[1].overtime_out, at("2022-12-02T19:30:00"));
  EXPECT_EQ(report.rows[3].user.pin, "2");
  EXPECT_EQ(report.rows[4].kind, DayKind::Leave);
  EXPECT_EQ(report.rows[3].user.department_name, "HQ, North");
}

TEST(PeriodReportTest, TotalsSumTheDays) {
  const PeriodReport report = december_report();
  ASSERT_EQ(report.totals.size(), 2U);
  const ReportCounts& one = report.totals[0].counts;
  EXPECT_EQ(report.totals[0].user.pin, "1");
  EXPECT_EQ(report.totals[0].user.name, "Jakc");
  EXPECT_EQ(one.scheduled_days, 3);
  EXPECT_EQ(one.normal_days, 1);
  EXPECT_EQ(one.early_count, 1);
  EXPECT_EQ(one.early_minutes, 1);
  EXPECT_EQ(one.late_count, 1);
  EXPECT_EQ(one.late_minutes, 5);       // 9:10 with 5 minutes allowed
  EXPECT_EQ(one.absence_half_days, 1);  // §2.15's missing punch-out
  EXPECT_EQ(one.missing_punches, 1);
  EXPECT_EQ(one.overtime_tenths, 11);  // §2.16's 1.1 h
  EXPECT_TRUE(one.final);

  const ReportCounts& two = report.totals[1].counts;
  EXPECT_EQ(two.scheduled_days, 2);
  EXPECT_EQ(two.leave_days, 1);
  EXPECT_EQ(two.absence_half_days, 2);  // day 3 without punches
  EXPECT_EQ(two.worked_tenths, 50);     // §2.16's 5 hours
  EXPECT_EQ(two.expected_tenths, 130);
}

TEST(PeriodReportTest, OpenDaysMakeTheTotalsOpen) {
  const TimecardEngine engine = filled_engine();
  const PeriodReport report =
      build_period_report(engine, day("2022-12-01"), day("2022-12-03"),
                          ComputeContext{nullptr, at("2022-12-03T12:00:00")});
  EXPECT_FALSE(report.totals[0].counts.final);
  EXPECT_FALSE(report.rows[2].counts.final);
  EXPECT_TRUE(report.rows[1].counts.final);
}

TEST(PeriodReportTest, RowSummarisesItsTimecard) {
  const TimecardEngine engine = filled_engine();
  const Timecard card = engine.timecard({"2", day("2022-12-01")}, test::settled());
  const ReportRow row = report_row(engine.scheduler(), card);
  EXPECT_EQ(row.user.name, "Bo");
  EXPECT_EQ(row.status, "normal/late+early");
  EXPECT_EQ(row.counts.late_minutes, 55);
  EXPECT_EQ(row.counts.late_count, 1);
  EXPECT_EQ(row.counts.early_minutes, 25);
  EXPECT_EQ(row.counts.worked_tenths, 50);
  EXPECT_EQ(row.counts.scheduled_days, 1);
  EXPECT_EQ(row.counts.normal_days, 0);
}

TEST(PeriodReportTest, TimecardsOutsideTheRangeAreSkipped) {
  const TimecardEngine engine = filled_engine();
  const std::vector<Timecard> cards = {engine.timecard({"1", day("2022-12-01")}, test::settled()),
                                       engine.timecard({"1", day("2022-12-05")}, test::settled())};
  const PeriodReport report =
      build_period_report(engine.scheduler(), day("2022-12-01"), day("2022-12-03"), cards);
  EXPECT_EQ(report.rows.size(), 1U);
}

TEST(PeriodReportTest, CsvHasDayRowsThenATotalPerUser) {
  const std::string csv = period_report_to_csv(december_report());
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < csv.size()) {
    const std::size_t end = csv.find("\r\n", start);
    ASSERT_NE(end, std::string::npos);
    lines.push_back(csv.substr(start, end - start));
    start = end + 2;
  }
  ASSERT_EQ(lines.size(), 1U + 3 + 1 + 3 + 1);
  EXPECT_EQ(lines[0].substr(0, 40), "row,pin,name,department,department_name,");
  EXPECT_EQ(lines[1],
            "day,1,Jakc,1,\"HQ, North\",2022-12-01,shift,1,early/absent,2022-12-01T09:05:00,"
            "2022-12-01T11:54:00,2022-12-01T17:00:00,,,,0,0,1,1,0.5,1,2.8,6.5,0.0,1,0,0,0,0,0,0,"
            "true");
  EXPECT_EQ(
      lines[4],
      "total,1,Jakc,1,\"HQ, North\",,,,,,,,,,,5,1,1,1,0.5,1,15.6,19.5,1.1,3,1,0,0,0,0,0,true");
  EXPECT_EQ(lines[6].rfind("day,2,Bo,1,\"HQ, North\",2022-12-02,leave,", 0), 0U) << lines[6];
  EXPECT_EQ(lines[8].rfind("total,2,Bo,", 0), 0U) << lines[8];
  // Every line has the header's number of columns (the quoted comma aside).
  for (const std::string& line : lines) {
    const auto commas = std::count(line.begin(), line.end(), ',');
    EXPECT_EQ(commas - (line.find("\"HQ, North\"") != std::string::npos ? 1 : 0),
              std::count(lines[0].begin(), lines[0].end(), ','))
        << line;
  }
}

TEST(PeriodReportTest, JsonHasRowsAndTotals) {
  const nlohmann::json j = period_report_to_json(december_report());
  EXPECT_EQ(j["from"], "2022-12-01");
  EXPECT_EQ(j["to"], "2022-12-03");
  ASSERT_EQ(j["rows"].size(), 6U);
  EXPECT_EQ(j["rows"][0]["name"], "Jakc");
  EXPECT_EQ(j["rows"][0]["status"], "early/absent");
  EXPECT_EQ(j["rows"][0]["check_in"][1], "2022-12-01T17:00:00");
  EXPECT_EQ(j["rows"][0]["check_out"][1], nullptr);
  EXPECT_DOUBLE_EQ(j["rows"][0]["absence_days"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(j["totals"][0]["absence_days"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(j["totals"][1]["worked_hours"].get<double>(), 5.0);
  const nlohmann::json via_adl = december_report();
  EXPECT_EQ(via_adl, j);
}

}  // namespace
}  // namespace pushgate::rules::attendance
