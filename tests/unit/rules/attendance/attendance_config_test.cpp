#include "rules/attendance/attendance_config.hpp"

#include <algorithm>
#include <iterator>
#include <limits>
#include <random>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "attendance_test_support.hpp"

namespace pushgate::rules::attendance {
namespace {

using test::day;
using test::hm;
using ::testing::Contains;
using ::testing::Field;
using ::testing::HasSubstr;

// The example of README.md: Table 2-13's shift, a Figure 3-14 period, a
// flexible period, a night shift, a weekly cycle and a holiday.
constexpr const char* kExample = R"json({
  "recheck_interval_min": 3,
  "late_allowance_min": 5,
  "early_allowance_min": 5,
  "state_switch": {
    "infer_missing_states": false,
    "entries": [{"time": "08:00", "state": 0}, {"time": "17:30", "state": 1}]
  },
  "periods": [
    {"id": "am", "start": "09:00", "end": "12:00"},
    {"id": "pm", "start": "14:00", "end": "17:30"},
    {"id": "office", "type": "fixed", "name": "Office", "start": "08:30", "end": "17:30",
     "valid_check_in": {"from": "06:30", "to": "12:00"},
     "valid_check_out": {"from": "13:00", "to": "19:30"},
     "late_allowance_min": 5, "early_allowance_min": 5, "late_absence_after_min": 120,
     "record_as_min": 540, "first_last_only": true,
     "rests": [{"name": "lunch", "start": "12:00", "end": "12:10", "minutes": 10,
                "auto_deduct": true, "must_check": false, "transfer_unused": false}]},
    {"id": "flex", "type": "flexible", "required_min": 480, "day_start": "05:00",
     "first_last_only": true, "overtime_beyond_required": true},
    {"id": "night", "start": "22:00", "end": "06:00"}
  ],
  "shifts": [
    {"id": 1, "name": "Standard", "periods": ["am", "pm"],
     "overtime": {"start": "18:45", "end": "20:00"}},
    {"id": 2, "name": "Office", "periods": ["office"]},
    {"id": 3, "name": "Flexible", "periods": ["flex"]},
    {"id": 4, "name": "Night", "periods": ["night"], "late_allowance_min": 10}
  ],
  "cycles": [
    {"id": "weekdays", "name": "Mon-Fri", "start_date": "2022-11-21", "mode": "week",
     "length": 1, "days": [1, 1, 1, 1, 1, 0, 0]},
    {"id": "nights", "start_date": "2022-11-23", "mode": "day", "length": 4,
     "days": [4, 4, 0, 0]}
  ],
  "departments": [{"id": 1, "name": "HQ"}, {"id": 2, "name": "PM1"}],
  "users": [
    {"pin": "1001", "name": "Ann", "department": 1, "schedule_mode": "department"},
    {"pin": "1002", "name": "Bo", "department": 2, "schedule_mode": "personal"}
  ],
  "schedules": [
    {"department": 1, "cycle": "weekdays", "days": {"2022-12-26": 26}},
    {"user": "1002", "cycle": "nights", "days": {"2022-12-01": 25}}
  ],
  "holidays": [{"name": "New Year", "from": "2023-01-01", "to": "2023-01-02"}]
})json";

std::vector<std::string> fields_of(const RulesResult& result) {
  std::vector<std::string> fields;
  for (const ConfigError& e : result.errors) {
    fields.push_back(e.field);
  }
  return fields;
}

std::string message_for(const RulesResult& result, const std::string& field) {
  for (const ConfigError& e : result.errors) {
    if (e.field == field) {
      return e.message;
    }
  }
  return "<no error for " + field + ">";
}

nlohmann::json example() {
  return nlohmann::json::parse(kExample);
}

TEST(AttendanceConfigTest, ReadsTheReadmeExample) {
  const RulesResult result = parse_rules(kExample);
  ASSERT_TRUE(result.ok()) << (result.errors.empty()
                                   ? ""
                                   : result.errors[0].field + ": " + result.errors[0].message);
  const Rules& r = *result.rules;
  EXPECT_EQ(r.recheck_interval_min, 3);
  ASSERT_EQ(r.periods.size(), 5U);
  EXPECT_EQ(r.periods[2].valid_check_in, (ClockWindow{hm(6, 30), hm(12, 0)}));
  EXPECT_EQ(r.periods[2].late_absence_after_min, std::optional<int>(120));
  EXPECT_EQ(r.periods[2].rests.at(0).minutes, std::optional<int>(10));
  EXPECT_EQ(r.periods[3].type, PeriodType::Flexible);
  EXPECT_EQ(r.periods[3].day_start, hm(5, 0));
  EXPECT_EQ(r.shifts[0].overtime, (OvertimeSession{hm(18, 45), hm(20, 0)}));
  EXPECT_EQ(r.shifts[3].late_allowance_min, std::optional<int>(10));
  EXPECT_EQ(r.cycles[0].mode, CycleMode::Week);
  EXPECT_EQ(r.users[1].schedule_mode, ScheduleMode::Personal);
  EXPECT_EQ(r.schedules[0].days.at(day("2022-12-26")), kLeaveCode);
  EXPECT_EQ(r.holidays[0].to, day("2023-01-02"));
  EXPECT_EQ(r.state_switch.entries.size(), 2U);
}

TEST(AttendanceConfigTest, RoundTripsThroughJson) {
  const RulesResult first = parse_rules(kExample);
  ASSERT_TRUE(first.ok());
  const nlohmann::json j = rules_to_json(*first.rules);
  const RulesResult second = rules_from_json(j);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*second.rules, *first.rules);
  nlohmann::json via_adl = *first.rules;
  EXPECT_EQ(via_adl, j);
}

TEST(AttendanceConfigTest, RoundTripsTheTestRules) {
  const Rules r = test::manual_rules();
  const RulesResult back = rules_from_json(rules_to_json(r));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back.rules, r);
}

TEST(AttendanceConfigTest, EmptyObjectIsAValidEmptyConfig) {
  const RulesResult result = parse_rules("{}");
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(*result.rules, Rules{});
}

TEST(AttendanceConfigTest, SyntaxErrorIsReportedNotThrown) {
  const RulesResult result = parse_rules("{\"periods\": [");
  EXPECT_FALSE(result.ok());
  ASSERT_EQ(result.errors.size(), 1U);
  EXPECT_EQ(result.errors[0].message, "not valid JSON");
}

TEST(AttendanceConfigTest, NonObjectRootIsReported) {
  const RulesResult result = rules_from_json(nlohmann::json::array());
  EXPECT_FALSE(result.ok());
  EXPECT_THAT(result.errors[0].message, HasSubstr("must be an object"));
}

TEST(AttendanceConfigTest, UnknownKeyIsNamed) {
  nlohmann::json j = example();
  j["shifts"][0]["late_alowance_min"] = 5;
  const RulesResult result = rules_from_json(j);
  EXPECT_FALSE(result.ok());
  EXPECT_THAT(fields_of(result), Contains("shifts[0].late_alowance_min"));
  EXPECT_EQ(message_for(result, "shifts[0].late_alowance_min"), "unknown key");
}

TEST(AttendanceConfigTest, BadTimeIsNamedWithTheValue) {
  nlohmann::json j = example();
  j["periods"][0]["start"] = "9:00";
  j["shifts"][0]["overtime"]["end"] = "24:00";
  const RulesResult result = rules_from_json(j);
  EXPECT_THAT(message_for(result, "periods[0].start"), HasSubstr("\"9:00\""));
  EXPECT_THAT(message_for(result, "shifts[0].overtime.end"), HasSubstr("HH:MM"));
}

TEST(AttendanceConfigTest, WrongTypesAreNamed) {
  nlohmann::json j = example();
  j["recheck_interval_min"] = "3";
  j["periods"][2]["first_last_only"] = 1;
  j["periods"][2]["record_as_min"] = 540.5;
  j["shifts"][1]["periods"] = "office";
  j["cycles"][0]["days"][2] = "1";
  const RulesResult result = rules_from_json(j);
  EXPECT_THAT(message_for(result, "recheck_interval_min"), HasSubstr("must be an integer"));
  EXPECT_THAT(message_for(result, "periods[2].first_last_only"), HasSubstr("true or false"));
  EXPECT_THAT(message_for(result, "periods[2].record_as_min"), HasSubstr("integer"));
  EXPECT_THAT(message_for(result, "shifts[1].periods"), HasSubstr("array"));
  EXPECT_THAT(message_for(result, "cycles[0].days[2]"), HasSubstr("integer"));
}

TEST(AttendanceConfigTest, MissingRequiredFieldsAreNamed) {
  nlohmann::json j = example();
  j["periods"][0].erase("end");
  j["shifts"][0].erase("id");
  j["cycles"][0].erase("days");
  const RulesResult result = rules_from_json(j);
  EXPECT_EQ(message_for(result, "periods[0].end"), "is required");
  EXPECT_EQ(message_for(result, "shifts[0].id"), "is required");
  EXPECT_EQ(message_for(result, "cycles[0].days"), "is required");
}

TEST(AttendanceConfigTest, BadEnumsAndDatesAreNamed) {
  nlohmann::json j = example();
  j["periods"][3]["type"] = "elastic";
  j["cycles"][0]["mode"] = "month";
  j["users"][0]["schedule_mode"] = "team";
  j["holidays"][0]["from"] = "2023-02-30";
  j["schedules"][0]["days"]["2022-13-01"] = 1;
  const RulesResult result = rules_from_json(j);
  EXPECT_THAT(message_for(result, "periods[3].type"), HasSubstr("\"elastic\""));
  EXPECT_THAT(message_for(result, "cycles[0].mode"), HasSubstr("\"month\""));
  EXPECT_THAT(message_for(result, "users[0].schedule_mode"), HasSubstr("\"team\""));
  EXPECT_THAT(message_for(result, "holidays[0].from"), HasSubstr("YYYY-MM-DD"));
  EXPECT_THAT(message_for(result, "schedules[0].days.2022-13-01"), HasSubstr("date"));
}

TEST(AttendanceConfigTest, Manual2112RecheckIntervalIsZeroToNine) {
  nlohmann::json j = example();
  j["recheck_interval_min"] = 10;
  const RulesResult result = rules_from_json(j);
  EXPECT_THAT(message_for(result, "recheck_interval_min"), HasSubstr("between 0 and 9"));
}

TEST(AttendanceConfigTest, Manual271AtMostTwoDutyPeriodsPerShift) {
  nlohmann::json j = example();
  j["periods"].push_back({{"id", "eve"}, {"start", "20:00"}, {"end", "21:00"}});
  j["shifts"][0]["periods"] = {"am", "pm", "eve"};
  j["shifts"][0].erase("overtime");
  const RulesResult result = rules_from_json(j);
  EXPECT_THAT(message_for(result, "shifts[0].periods"), HasSubstr("at most 2"));
}

TEST(AttendanceConfigTest, Manual271PeriodsMustNotOverlap) {
  nlohmann::json j = example();
  j["periods"][1]["start"] = "11:00";  // pm now overlaps am (09:00-12:00)
  const RulesResult result = rules_from_json(j);
  EXPECT_THAT(message_for(result, "shifts[0]"), HasSubstr("overlap"));
}

TEST(AttendanceConfigTest, Manual38SpanMustNotExceed24Hours) {
  nlohmann::json j = example();
  j["shifts"][0]["overtime"] = {{"start", "20:00"}, {"end", "10:00"}};
  const RulesResult result = rules_from_json(j);
  EXPECT_THAT(message_for(result, "shifts[0]"), HasSubstr("24 hours"));
}

TEST(AttendanceConfigTest, Manual272ShiftIdsAreDayCodes1To24) {
  nlohmann::json j = example();
  j["shifts"][1]["id"] = 25;
  j["shifts"][2]["id"] = 1;
  const RulesResult result = rules_from_json(j);
  EXPECT_THAT(message_for(result, "shifts[1].id"), HasSubstr("between 1 and 24"));
  EXPECT_THAT(message_for(result, "shifts[2].id"), HasSubstr("duplicate"));
}

TEST(AttendanceConfigTest, Manual272DayCodesMustExist) {
  nlohmann::json j = example();
  j["schedules"][0]["days"]["2022-12-27"] = 27;
  j["schedules"][0]["days"]["2022-12-28"] = 9;
  const RulesResult result = rules_from_json(j);
  EXPECT_THAT(message_for(result, "schedules[0].days.2022-12-27"),
              HasSubstr("0 (rest), 1-24 (shift), 25 (business trip) or 26 (leave)"));
  EXPECT_THAT(message_for(result, "schedules[0].days.2022-12-28"), HasSubstr("not defined"));
}

TEST(AttendanceConfigTest, Manual39CycleNeedsOneCodePerDay) {
  nlohmann::json j = example();
  j["cycles"][0]["length"] = 2;
  const RulesResult result = rules_from_json(j);
  EXPECT_THAT(message_for(result, "cycles[0].days"), HasSubstr("must list 14 day codes"));
}

TEST(AttendanceConfigTest, Manual38RestMustLieInsideWorkTime) {
  nlohmann::json j = example();
  j["periods"][2]["rests"][0]["start"] = "17:20";
  j["periods"][2]["rests"][0]["end"] = "17:40";
  const RulesResult result = rules_from_json(j);
  EXPECT_THAT(message_for(result, "periods[2].rests[0]"), HasSubstr("within the work time"));
}

TEST(AttendanceConfigTest, Manual38AtMostSevenRests) {
  nlohmann::json j = example();
  const nlohmann::json rest = j["periods"][2]["rests"][0];
  for (int i = 0; i < 7; ++i) {
    j["periods"][2]["rests"].push_back(rest);
  }
  const RulesResult result = rules_from_json(j);
  EXPECT_THAT(message_for(result, "periods[2].rests"), HasSubstr("at most 7"));
}

TEST(AttendanceConfigTest, Manual38LateAbsenceMustExceedTheAllowance) {
  nlohmann::json j = example();
  j["periods"][2]["late_absence_after_min"] = 5;
  const RulesResult result = rules_from_json(j);
  EXPECT_THAT(message_for(result, "periods[2].late_absence_after_min"),
              HasSubstr("greater than late_allowance_min"));
}

TEST(AttendanceConfigTest, Manual253DepartmentNamesCannotBeEmpty) {
  nlohmann::json j = example();
  j["departments"][1]["name"] = "";
  const RulesResult result = rules_from_json(j);
  EXPECT_THAT(message_for(result, "departments[1].name"), HasSubstr("cannot be empty"));
}

TEST(AttendanceConfigTest, Manual2116AtMost24StateSwitchTimes) {
  nlohmann::json j = example();
  j["state_switch"]["entries"] = nlohmann::json::array();
  for (int i = 0; i < 25; ++i) {
    j["state_switch"]["entries"].push_back(
        {{"time", format_time_of_day(TimeOfDay{i * 30})}, {"state", i % 2}});
  }
  const RulesResult result = rules_from_json(j);
  EXPECT_THAT(message_for(result, "state_switch.entries"), HasSubstr("at most 24"));
}

TEST(AttendanceConfigTest, ReferencesMustResolve) {
  nlohmann::json j = example();
  j["shifts"][0]["periods"][1] = "lunch";
  j["users"][0]["department"] = 9;
  j["schedules"][1]["user"] = "4242";
  j["schedules"][0]["cycle"] = "fortnight";
  const RulesResult result = rules_from_json(j);
  EXPECT_THAT(message_for(result, "shifts[0].periods[1]"), HasSubstr("unknown period 'lunch'"));
  EXPECT_THAT(message_for(result, "users[0].department"), HasSubstr("unknown department 9"));
  EXPECT_THAT(message_for(result, "schedules[1].user"), HasSubstr("unknown user '4242'"));
  EXPECT_THAT(message_for(result, "schedules[0].cycle"), HasSubstr("unknown cycle"));
}

TEST(AttendanceConfigTest, ScheduleOwnerMustBeExactlyOne) {
  nlohmann::json j = example();
  j["schedules"][0]["user"] = "1001";
  const RulesResult result = rules_from_json(j);
  EXPECT_THAT(message_for(result, "schedules[0]"), HasSubstr("exactly one"));
}

TEST(AttendanceConfigTest, FlexibleShiftHasNoOvertimeSessionOrPartner) {
  nlohmann::json j = example();
  j["shifts"][2]["overtime"] = {{"start", "20:00"}, {"end", "21:00"}};
  j["shifts"][3]["periods"] = {"flex", "night"};
  const RulesResult result = rules_from_json(j);
  EXPECT_THAT(message_for(result, "shifts[2].overtime"), HasSubstr("flexible"));
  EXPECT_THAT(message_for(result, "shifts[3].periods"), HasSubstr("only period"));
}

TEST(AttendanceConfigTest, ReportsEveryProblemAtOnce) {
  nlohmann::json j = example();
  j["periods"][0]["start"] = "nine";
  j["shifts"][1]["bogus"] = true;
  j["departments"][0]["id"] = "one";
  const RulesResult result = rules_from_json(j);
  EXPECT_GE(result.errors.size(), 3U);
  EXPECT_FALSE(result.rules.has_value());
}

TEST(AttendanceConfigTest, ValidateNamesProgrammaticMistakes) {
  Rules r = test::manual_rules();
  r.periods[0].end = r.periods[0].start;
  const std::vector<ConfigError> errors = validate(r);
  EXPECT_THAT(errors, Contains(Field(&ConfigError::field, "periods[0].end")));
}

// Replaces one random value anywhere in the document with a value of a
// random other type.
void mutate(nlohmann::json& j, std::mt19937& rng) {
  std::uniform_int_distribution<int> pick(0, 9);
  nlohmann::json* node = &j;
  while ((node->is_object() || node->is_array()) && !node->empty() && pick(rng) < 8) {
    std::uniform_int_distribution<std::size_t> child(0, node->size() - 1);
    auto it = node->begin();
    std::advance(it, static_cast<std::ptrdiff_t>(child(rng)));
    node = &*it;
  }
  switch (pick(rng)) {
    case 0:
      *node = nullptr;
      break;
    case 1:
      *node = "25:61";
      break;
    case 2:
      *node = -1;
      break;
    case 3:
      *node = 1e300;
      break;
    case 4:
      *node = nlohmann::json::array({1, "x", nullptr});
      break;
    case 5:
      *node = nlohmann::json::object({{"from", "08:00"}});
      break;
    case 6:
      *node = std::numeric_limits<std::uint64_t>::max();
      break;
    case 7:
      *node = true;
      break;
    case 8:
      *node = "";
      break;
    default:
      *node = 0;
      break;
  }
}

TEST(AttendanceConfigTest, NeverThrowsOnMutatedDocuments) {
  std::mt19937 rng(38U);  // fixed seed
  int rejected = 0;
  for (int i = 0; i < 2000; ++i) {
    nlohmann::json j = example();
    for (int k = 0; k <= i % 4; ++k) {
      mutate(j, rng);
    }
    RulesResult result;
    ASSERT_NO_THROW(result = rules_from_json(j)) << j.dump();
    if (!result.ok()) {
      ++rejected;
      EXPECT_FALSE(result.errors.empty());
    } else {
      // Whatever validates can be computed with.
      EXPECT_TRUE(validate(*result.rules).empty());
      const Scheduler scheduler(std::make_shared<const Rules>(*result.rules));
      const std::vector<Punch> punches = {test::punch("2022-12-01T09:00:00", 0, "1001"),
                                          test::punch("2022-12-02T02:00:00", 1, "1002")};
      for (const char* pin : {"1001", "1002"}) {
        for (int d = 0; d < 3; ++d) {
          const DayPlan plan = scheduler.plan_day(pin, day("2022-11-30") + date::days{d});
          const Timecard card = compute_timecard(*result.rules, plan, punches, test::settled());
          EXPECT_EQ(card.pin, pin);
        }
      }
    }
  }
  EXPECT_GT(rejected, 1000);
}

TEST(AttendanceConfigTest, StateAtFollowsTheSwitchTable) {
  // §2.11.6: 08:00 Check In, 17:30 Check Out.
  StateSwitch table;
  table.entries = {{hm(17, 30), 1}, {hm(8, 0), 0}};
  EXPECT_EQ(state_at(table, hm(8, 0)), std::optional<int>(0));
  EXPECT_EQ(state_at(table, hm(17, 29)), std::optional<int>(0));
  EXPECT_EQ(state_at(table, hm(17, 30)), std::optional<int>(1));
  EXPECT_EQ(state_at(table, hm(7, 59)), std::optional<int>(1));  // still yesterday's 17:30
  EXPECT_EQ(state_at(StateSwitch{}, hm(7, 59)), std::nullopt);
}

}  // namespace
}  // namespace pushgate::rules::attendance
