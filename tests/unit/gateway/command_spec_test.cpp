// gateway/command_spec: the one list of verbs and parameters every source's
// commands are checked against when queued (issue 13 item 3).
#include "gateway/command_spec.hpp"

#include <set>
#include <string>

#include <gtest/gtest.h>

#include "gateway/command.hpp"

namespace pushgate {
namespace {

std::string problem(std::string_view verb, const nlohmann::json& params) {
  auto p = validate_command(verb, params);
  return p ? p->text() : std::string();
}

TEST(CommandSpecTest, EveryTypedApiCommandIsValid) {
  commands::User u;
  u.pin = "42";
  u.name = "Ann";
  commands::Template t;
  t.pin = "42";
  t.data = "QUJD";
  for (const auto& r :
       {commands::open_door("T", 1, 5), commands::cancel_alarm("T"),
        commands::normal_open("T", 2, false), commands::lock_door("T", 1, true),
        commands::reboot("T"), commands::set_time("T", "2026-01-02 03:04:05"),
        commands::upsert_user("T", u), commands::authorize_user("T", "42", {1, 2}),
        commands::deauthorize_user("T", "42"), commands::delete_user("T", "42"),
        commands::upsert_template("T", t), commands::upsert_photo("T", "42", "QQ=="),
        commands::query_users("T"),
        commands::query_records("T", "2026-01-01 00:00:00", "2026-01-02 00:00:00"),
        commands::get_options("T", {"~DeviceName"}), commands::set_option("T", "Delay", "30"),
        commands::info("T"), commands::raw("T", "CHECK")}) {
    EXPECT_EQ(problem(r.verb, r.params), "") << r.verb << " " << r.params.dump();
  }
}

TEST(CommandSpecTest, RefusesAnUnknownVerb) {
  EXPECT_EQ(problem("open_dor", nlohmann::json::object()), "verb: unknown verb \"open_dor\"");
  EXPECT_EQ(find_verb_spec("open_dor"), nullptr);
}

TEST(CommandSpecTest, RefusesAWrongTypeOrRangeNamingTheField) {
  EXPECT_EQ(problem("open_door", {{"door", 1}, {"seconds", "five"}}),
            "params.seconds: must be an integer 1..254");
  EXPECT_EQ(problem("open_door", {{"seconds", 5.5}}), "params.seconds: must be an integer 1..254");
  EXPECT_EQ(problem("open_door", {{"seconds", 0}}), "params.seconds: must be an integer 1..254");
  EXPECT_EQ(problem("open_door", {{"door", -1}}), "params.door: must be an integer 1..255");
  EXPECT_EQ(problem("open_door", {{"door", nullptr}}), "params.door: must be an integer 1..255");
  EXPECT_EQ(problem("open_door", {{"door", 18446744073709551615ULL}}),
            "params.door: must be an integer 1..255");
  EXPECT_EQ(problem("normal_open", {{"on", "yes"}}), "params.on: must be true or false");
  EXPECT_EQ(problem("authorize_user", {{"pin", "1"}, {"doors", {1, 31}}}),
            "params.doors: must be an array of integers 1..30");
  EXPECT_EQ(problem("upsert_user", {{"pin", nlohmann::json::array()}}),
            "params.pin: must be a string");
}

TEST(CommandSpecTest, RefusesUnknownAndMissingParameters) {
  EXPECT_EQ(problem("open_door", {{"secs", 5}}), "params.secs: is not a parameter of open_door");
  EXPECT_EQ(problem("delete_user", nlohmann::json::object()),
            "params.pin: is required by delete_user");
  EXPECT_EQ(problem("reboot", {{"now", true}}), "params.now: is not a parameter of reboot");
  EXPECT_EQ(problem("open_door", nlohmann::json::array()), "params: must be a JSON object");
}

TEST(CommandSpecTest, ABatchIsRecordsOfOneTableEachChecked) {
  const auto user = [](const char* pin) {
    return nlohmann::json{{"verb", "upsert_user"}, {"params", {{"pin", pin}, {"card", "1"}}}};
  };
  EXPECT_EQ(problem("batch", {{"commands", {user("1"), user("2")}}}), "");
  EXPECT_EQ(problem("batch", {{"commands", nlohmann::json::array()}}),
            "params.commands: must be an array of 1..100 {\"verb\", \"params\"} records");
  EXPECT_EQ(
      problem("batch",
              {{"commands",
                {user("1"),
                 {{"verb", "upsert_template"}, {"params", {{"pin", "1"}, {"data", "QQ=="}}}}}}}),
      "params.commands[1].verb: must be upsert_user (one table per batch)");
  EXPECT_EQ(problem("batch", {{"commands", {{{"verb", "open_door"}, {"params", {{"door", 1}}}}}}}),
            "params.commands[0].verb: must be one of upsert_user, authorize_user, "
            "upsert_template, upsert_biophoto, upsert_photo");
  EXPECT_EQ(
      problem("batch", {{"commands", {{{"verb", "upsert_user"}, {"params", {{"pin", ""}}}}}}}),
      "params.commands[0].params.pin: must not be empty");
  EXPECT_EQ(problem("batch", {{"commands", {user("1")}}, {"extra", 1}}),
            "params.extra: is not a parameter of batch");
}

TEST(CommandSpecTest, DoorActionsAreTheDoorVerbs) {
  std::set<std::string> doors;
  for (const auto& v : verb_specs()) {
    if (v.door_action) {
      doors.insert(std::string(v.verb));
    }
  }
  EXPECT_EQ(doors, (std::set<std::string>{"open_door", "normal_open", "lock_door", "cancel_alarm",
                                          "close_door"}));
}

}  // namespace
}  // namespace pushgate
