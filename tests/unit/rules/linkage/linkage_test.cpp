// rules/linkage: parsing and validation of rules documents, pattern matching
// (terminal, door, event code, kind, user group, time windows to the
// minute), action substitution and debounce on a fake clock (at_ms).
#include "rules/linkage/linkage.hpp"

#include <gtest/gtest.h>

namespace pushgate::rules::linkage {
namespace {

using nlohmann::json;

constexpr std::int64_t kT0 = 1'700'000'000'000;

EventFacts forced_door(std::int64_t at_ms, std::string sn = "ACC-A", int door = 1) {
  EventFacts f;
  f.event_id = at_ms;
  f.terminal_sn = std::move(sn);
  f.kind = "alarm";
  f.door = door;
  f.event_code = 28;  // Appendix 2: door opened forcefully
  f.weekday = 1;      // Monday
  f.minute_of_day = 22 * 60;
  f.at_ms = at_ms;
  return f;
}

json forced_door_rules(int debounce_s = 30) {
  return json::parse(R"({"rules": [{
    "id": "forced", "name": "Door forced at night",
    "match": {"terminals": ["ACC-A"], "doors": [1], "event_codes": [28], "kinds": ["alarm"],
              "time": [{"days": ["mon", "tue"], "start": "20:00", "end": "23:59"}]},
    "actions": [
      {"type": "command", "terminal": "ACC-B", "verb": "open_door", "params": {"door": 2, "seconds": 5}},
      {"type": "command", "terminal": "$source", "verb": "lock_door", "params": {"door": "$door", "locked": true}},
      {"type": "alert", "severity": "critical", "message": "door forced"},
      {"type": "output", "output": "siren", "mode": "pulse", "duration_s": 10}
    ],
    "debounce_s": )" +
                     std::to_string(debounce_s) + "}]}");
}

TEST(LinkageParse, ReadsEveryField) {
  const Parsed p = parse_rules(forced_door_rules());
  ASSERT_TRUE(p.ok()) << p.errors.front().field << ": " << p.errors.front().message;
  ASSERT_EQ(p.rules.size(), 1u);
  const Rule& r = p.rules[0];
  EXPECT_EQ(r.id, "forced");
  EXPECT_EQ(r.debounce_ms, 30000);
  EXPECT_EQ(r.match.doors, std::vector<int>{1});
  ASSERT_EQ(r.match.time.size(), 1u);
  EXPECT_EQ(r.match.time[0].start, 20 * 60);
  EXPECT_EQ(r.match.time[0].end, 23 * 60 + 59);
  EXPECT_EQ(r.match.time[0].weekdays, (std::vector<int>{1, 2}));
  ASSERT_EQ(r.actions.size(), 4u);
  EXPECT_EQ(r.actions[0].type, Action::Type::Command);
  EXPECT_EQ(r.actions[2].severity, "critical");
  EXPECT_EQ(r.actions[3].mode, Action::OutputMode::Pulse);
  EXPECT_EQ(r.actions[3].duration_ms, 10000);
  // Round trip: what GET shows is what PUT accepts, unchanged.
  const Parsed again = parse_rules(to_json(p.rules));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again.rules, p.rules);
}

TEST(LinkageParse, NamesEveryBadField) {
  const json bad = json::parse(R"({"rules": [
    {"id": "a", "match": {"doors": [300], "kinds": ["nope"], "colour": 1,
                          "time": [{"start": "25:00", "end": "08:00"}, {"start": "10:00", "end": "09:00"}]},
     "actions": [{"type": "output", "output": "x", "mode": "blink"}, {"type": "teleport"}]},
    {"id": "a", "actions": []},
    {"actions": [{"type": "alert"}]}
  ]})");
  const Parsed p = parse_rules(bad);
  EXPECT_FALSE(p.ok());
  EXPECT_TRUE(p.rules.empty());
  const auto has = [&p](const std::string& field) {
    return std::any_of(p.errors.begin(), p.errors.end(),
                       [&field](const FieldError& e) { return e.field == field; });
  };
  EXPECT_TRUE(has("rules[0].match.doors[0]"));
  EXPECT_TRUE(has("rules[0].match.kinds[0]"));
  EXPECT_TRUE(has("rules[0].match.colour"));
  EXPECT_TRUE(has("rules[0].match.time[0].start"));
  EXPECT_TRUE(has("rules[0].match.time[1].end"));
  EXPECT_TRUE(has("rules[0].actions[0].mode"));
  EXPECT_TRUE(has("rules[0].actions[1].type"));
  EXPECT_TRUE(has("rules[1].id"));
  EXPECT_TRUE(has("rules[1].actions"));
  EXPECT_TRUE(has("rules[2].id"));
  EXPECT_TRUE(has("rules[2].actions[0].message"));
  EXPECT_FALSE(parse_rules(json::array()).ok());
  EXPECT_FALSE(parse_rules(json::parse(R"({"rules": 3})")).ok());
  EXPECT_TRUE(parse_rules(json::parse(R"({"rules": []})")).ok());
}

TEST(LinkagePattern, EachFieldNarrows) {
  const Rule r = parse_rules(forced_door_rules()).rules.at(0);
  EXPECT_TRUE(matches(r.match, forced_door(kT0)));
  EXPECT_FALSE(matches(r.match, forced_door(kT0, "ACC-B")));
  EXPECT_FALSE(matches(r.match, forced_door(kT0, "ACC-A", 2)));
  auto f = forced_door(kT0);
  f.event_code = 27;
  EXPECT_FALSE(matches(r.match, f));
  f = forced_door(kT0);
  f.kind = "access";
  EXPECT_FALSE(matches(r.match, f));
  f = forced_door(kT0);
  f.door = -1;  // an event without a door never matches a door list
  EXPECT_FALSE(matches(r.match, f));
  EXPECT_TRUE(matches(Pattern{}, f));  // the empty pattern matches everything
}

TEST(LinkagePattern, TimeWindowEdgesToTheMinute) {
  const Rule r = parse_rules(forced_door_rules()).rules.at(0);
  auto f = forced_door(kT0);
  f.minute_of_day = 20 * 60 - 1;  // 19:59
  EXPECT_FALSE(matches(r.match, f));
  f.minute_of_day = 20 * 60;  // 20:00
  EXPECT_TRUE(matches(r.match, f));
  f.minute_of_day = 23 * 60 + 59;  // 23:59
  EXPECT_TRUE(matches(r.match, f));
  f.weekday = 3;  // Wednesday: not in the window's days
  EXPECT_FALSE(matches(r.match, f));
  f.weekday = 2;
  EXPECT_TRUE(matches(r.match, f));
}

TEST(LinkagePattern, UserGroups) {
  Pattern p;
  p.user_groups = {2, 3};
  EventFacts f = forced_door(kT0);
  EXPECT_FALSE(matches(p, f));  // no user known
  f.user_group = 1;
  EXPECT_FALSE(matches(p, f));
  f.user_group = 3;
  EXPECT_TRUE(matches(p, f));
}

TEST(LinkageEngine, SubstitutesSourceDoorAndPin) {
  Engine e(parse_rules(forced_door_rules(0)).rules);
  auto f = forced_door(kT0);
  f.pin = "42";
  const auto out = e.on_event(f);
  ASSERT_EQ(out.fired.size(), 1u);
  const auto& acts = out.fired[0].actions;
  ASSERT_EQ(acts.size(), 4u);
  EXPECT_EQ(acts[0].terminal, "ACC-B");
  EXPECT_EQ(acts[0].params.at("door"), 2);
  EXPECT_EQ(acts[1].terminal, "ACC-A");
  EXPECT_EQ(acts[1].params.at("door"), 1);
  EXPECT_EQ(acts[1].params.at("locked"), true);
}

TEST(LinkageEngine, DebouncePerRuleTerminalAndDoor) {
  Engine e(parse_rules(forced_door_rules(30)).rules);
  EXPECT_EQ(e.on_event(forced_door(kT0)).fired.size(), 1u);
  // Within 30 s: held back and reported.
  auto held = e.on_event(forced_door(kT0 + 29'999));
  EXPECT_TRUE(held.fired.empty());
  EXPECT_EQ(held.debounced, std::vector<std::string>{"forced"});
  // Exactly 30 s after the firing (not after the held-back event): fires.
  EXPECT_EQ(e.on_event(forced_door(kT0 + 30'000)).fired.size(), 1u);
  EXPECT_TRUE(e.on_event(forced_door(kT0 + 30'001)).fired.empty());

  // Replacing the rules keeps the memory of rules that still exist...
  e.set_rules(parse_rules(forced_door_rules(30)).rules);
  EXPECT_TRUE(e.on_event(forced_door(kT0 + 40'000)).fired.empty());
  // ...and a disabled rule never fires.
  auto rules = parse_rules(forced_door_rules(30)).rules;
  rules[0].enabled = false;
  e.set_rules(rules);
  EXPECT_TRUE(e.on_event(forced_door(kT0 + 100'000)).fired.empty());
  EXPECT_TRUE(e.on_event(forced_door(kT0 + 100'000)).debounced.empty());
}

TEST(LinkageEngine, DebounceKeysOnTerminalAndDoor) {
  auto doc = forced_door_rules(60);
  doc["rules"][0]["match"] = json::object();  // any event
  Engine e(parse_rules(doc).rules);
  EXPECT_EQ(e.on_event(forced_door(kT0, "ACC-A", 1)).fired.size(), 1u);
  EXPECT_EQ(e.on_event(forced_door(kT0 + 1, "ACC-A", 2)).fired.size(), 1u);
  EXPECT_EQ(e.on_event(forced_door(kT0 + 2, "ACC-C", 1)).fired.size(), 1u);
  EXPECT_TRUE(e.on_event(forced_door(kT0 + 3, "ACC-A", 1)).fired.empty());
}

}  // namespace
}  // namespace pushgate::rules::linkage
