// Linkage rules end to end: a simulated access terminal A uploads a real-time
// event over HTTP; the rule from linkage.rules_file opens a door on terminal
// B (a CONTROL DEVICE B executes), stores an alert event and pulses an
// output; the same event within the debounce time does nothing more. Rules
// put over REST are validated (400 naming the field), stored and applied;
// DELETE goes back to the file.
#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "gateway/gateway.hpp"
#include "gateway/linkage/linkage_service.hpp"
#include "gateway/outputs.hpp"
#include "gateway/store/sqlite.hpp"
#include "tests/sim/access_terminal.hpp"
#include "tests/support/gateway_harness.hpp"
#include "tests/support/io_thread.hpp"

namespace pushgate::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using sim::AccessTerminal;
using sim::AccessTerminalStats;

constexpr std::string_view kRules = R"({"rules": [{
  "id": "entry-a",
  "name": "A door 1 used: open B door 2, alert, siren",
  "match": {"terminals": ["LNK-A"], "doors": [1], "event_codes": [0], "kinds": ["access"]},
  "actions": [
    {"type": "command", "terminal": "LNK-B", "verb": "open_door", "params": {"door": 2, "seconds": 7}},
    {"type": "alert", "severity": "warning", "message": "door 1 of A used"},
    {"type": "output", "output": "siren", "mode": "pulse", "duration_s": 60}
  ],
  "debounce_s": 60
}]})";

std::string write_rules(const TempDir& dir) {
  const std::string path = (dir.path() / "linkage.json").string();
  std::ofstream(path) << kRules;
  return path;
}

class LinkageTest : public ::testing::Test {
 protected:
  LinkageTest() : gw_({"linkage.rules_file=" + write_rules(dir_), "outputs.names=[\"siren\"]"}) {}

  std::shared_ptr<AccessTerminal> terminal(const std::string& sn) {
    sim::AccessTerminalConfig c;
    c.serial_number = sn;
    c.http.port = gw_.zkpush_port();
    c.http.timeout = 5s;
    c.poll_interval = 30ms;
    c.error_delay = 50ms;
    auto t = AccessTerminal::create(io_.ioc(), c);
    t->start();
    EXPECT_TRUE(t->wait_until([](const AccessTerminalStats& s) { return s.polls >= 1; }, 10s));
    return t;
  }

  /** A's event uploaded, committed and matched. */
  void upload(const std::shared_ptr<AccessTerminal>& a, int door, int event) {
    const auto before = a->access_stats().uploads_acked;
    sim::RtLogEvent e;
    e.pin = "42";
    e.eventaddr = door;
    e.event = event;
    e.verifytype = 1;
    a->add_rtlog(e);
    ASSERT_TRUE(a->wait_until(
        [before](const AccessTerminalStats& s) { return s.uploads_acked > before; }, 10s));
    // The commit observer may run just after the OK went out.
    std::this_thread::sleep_for(100ms);
    ASSERT_TRUE(gw_.gateway().linkage()->wait_idle_for_test(5s));
  }

  std::int64_t alerts() { return gw_.query_int("SELECT count(*) FROM events WHERE kind = 11"); }

  TempDir dir_;
  GatewayHarness gw_;
  IoThread io_;
};

TEST_F(LinkageTest, EventOpensDoorElsewhereAlertsAndPulsesOnceWithinDebounce) {
  auto a = terminal("LNK-A");
  auto b = terminal("LNK-B");

  upload(a, 1, 0);
  ASSERT_TRUE(b->wait_until([](const AccessTerminalStats& s) { return s.door_actions >= 1; }, 10s));
  const auto doors = b->door_actions();
  ASSERT_EQ(doors.size(), 1u);
  EXPECT_EQ(doors[0].origin, "command");
  EXPECT_EQ(doors[0].control.action, 1);   // output
  EXPECT_EQ(doors[0].control.address, 2);  // door 2
  EXPECT_EQ(doors[0].control.target, 1);   // the lock
  EXPECT_EQ(doors[0].control.value, 7);    // seconds
  EXPECT_TRUE(a->door_actions().empty());
  EXPECT_EQ(gw_.query_int("SELECT count(*) FROM commands WHERE origin='rule' AND "
                          "terminal_sn='LNK-B' AND verb='open_door'"),
            1);
  EXPECT_EQ(alerts(), 1);
  EXPECT_EQ(gw_.query_int("SELECT count(*) FROM events WHERE kind = 11 AND terminal_id = "
                          "(SELECT id FROM terminals WHERE sn='LNK-A') AND door = 1 AND "
                          "json_extract(extra, '$.rule') = 'entry-a' AND "
                          "json_extract(extra, '$.severity') = 'warning'"),
            1);
  const auto siren = gw_.gateway().outputs().get("siren");
  ASSERT_TRUE(siren);
  EXPECT_TRUE(siren->on);
  EXPECT_GT(siren->until_ms, 0);
  EXPECT_EQ(siren->changes, 1u);

  // Within the debounce time: matched, held back; another door: no match.
  upload(a, 1, 0);
  upload(a, 2, 0);
  std::this_thread::sleep_for(200ms);  // B keeps polling; nothing more may arrive
  EXPECT_EQ(b->door_actions().size(), 1u);
  EXPECT_EQ(alerts(), 1);
  EXPECT_EQ(gw_.gateway().outputs().get("siren")->changes, 1u);
  const auto metrics = http_request(gw_.api_port(), "GET", "/metrics");
  EXPECT_NE(metrics.body.find("pushgate_linkage_debounced_total 1"), std::string::npos);
  EXPECT_NE(metrics.body.find("pushgate_linkage_fired_total 1"), std::string::npos);

  // GET shows the file's rules.
  auto got = http_request(gw_.api_port(), "GET", "/api/v1/linkage/rules");
  ASSERT_EQ(got.status, 200);
  EXPECT_EQ(json::parse(got.body).at("source"), "file");
  EXPECT_EQ(json::parse(got.body).at("rules").size(), 1u);

  // A bad document is refused whole, naming the field.
  auto bad = http_request(
      gw_.api_port(), "PUT", "/api/v1/linkage/rules",
      R"({"rules": [{"id": "x", "actions": [{"type": "output", "output": "siren", "mode": "blink"}]}]})");
  ASSERT_EQ(bad.status, 400) << bad.body;
  EXPECT_EQ(json::parse(bad.body).at("errors")[0].at("field"), "rules[0].actions[0].mode");
  // An output missing from outputs.names is refused at PUT, not when the
  // rule fires (issue 13 item 7); the rules in force stay.
  auto undeclared = http_request(
      gw_.api_port(), "PUT", "/api/v1/linkage/rules",
      R"({"rules": [{"id": "x", "actions": [{"type": "output", "output": "sirene"}]}]})");
  ASSERT_EQ(undeclared.status, 400) << undeclared.body;
  EXPECT_EQ(json::parse(undeclared.body).at("errors")[0].at("field"), "rules[0].actions[0].output");
  EXPECT_EQ(gw_.query_int("SELECT count(*) FROM linkage_rules"), 0);

  // A good one replaces the rules at once (no debounce: every event fires).
  json doc = json::parse(kRules);
  doc["rules"][0]["id"] = "entry-a-v2";
  doc["rules"][0]["debounce_s"] = 0;
  auto put = http_request(gw_.api_port(), "PUT", "/api/v1/linkage/rules", doc.dump());
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(gw_.query_int("SELECT count(*) FROM linkage_rules"), 1);
  upload(a, 1, 0);
  upload(a, 1, 0);
  ASSERT_TRUE(b->wait_until([](const AccessTerminalStats& s) { return s.door_actions >= 3; }, 10s));
  EXPECT_EQ(alerts(), 3);

  // DELETE: back to the file (the stored document is gone).
  auto del = http_request(gw_.api_port(), "DELETE", "/api/v1/linkage/rules");
  ASSERT_EQ(del.status, 200) << del.body;
  EXPECT_EQ(json::parse(del.body).at("source"), "file");
  EXPECT_EQ(gw_.query_int("SELECT count(*) FROM linkage_rules"), 0);
  a->stop();
  b->stop();
}

TEST(LinkageConfig, BadRulesFileStopsTheStartNamingTheField) {
  TempDir dir;
  const std::string path = (dir.path() / "bad.json").string();
  std::ofstream(path) << R"({"rules": [{"id": "x", "match": {"doors": ["one"]},
                              "actions": [{"type": "alert", "message": "m"}]}]})";
  try {
    GatewayHarness gw({"linkage.rules_file=" + path});
    FAIL() << "the gateway started with a bad rules file";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("rules[0].match.doors[0]"), std::string::npos) << e.what();
  }
}

// Rules an older version stored over PUT, which this version's command spec
// refuses: the gateway starts, those rules are disabled (logged, and shown
// by GET with the reason), the valid one is kept, until a PUT replaces them.
TEST(LinkageConfig, StoredRulesThatNoLongerValidateAreDisabledNotAStop) {
  TempDir dir;
  GatewayHarness({}, dir.path()).stop();  // creates the database
  {
    boost::system::error_code ec;
    auto db = store::Connection::open((dir.path() / "pushgate.db").string(),
                                      store::Connection::Options{}, ec);
    ASSERT_FALSE(ec) << ec.message();
    const std::string old_document = R"({"rules": [
      {"id": "kept", "match": {"kinds": ["access"]}, "actions": [{"type": "alert", "message": "m"}]},
      {"id": "bad-seconds", "actions": [{"type": "command", "terminal": "LNK-B",
        "verb": "open_door", "params": {"door": 1, "seconds": "five"}}]},
      {"id": "bad-param", "actions": [{"type": "command", "terminal": "LNK-B",
        "verb": "open_door", "params": {"door": 1, "colour": "red"}}]}]})";
    ASSERT_FALSE(db.exec("INSERT INTO linkage_rules(id, document, updated_ms) VALUES(1, '" +
                         old_document + "', 0)"));
  }
  GatewayHarness gw({"outputs.names=[\"siren\"]"}, dir.path());
  // The rest works: a terminal is answered.
  EXPECT_EQ(http_request(gw.zkpush_port(), "GET", "/iclock/cdata?SN=LNK-C&options=all").status,
            200);
  auto got = http_request(gw.api_port(), "GET", "/api/v1/linkage/rules");
  ASSERT_EQ(got.status, 200) << got.body;
  auto j = json::parse(got.body);
  EXPECT_EQ(j["source"], "api");
  ASSERT_EQ(j["rules"].size(), 1u) << got.body;
  EXPECT_EQ(j["rules"][0]["id"], "kept");
  ASSERT_EQ(j["invalid_rules"].size(), 2u) << got.body;
  EXPECT_EQ(j["invalid_rules"][0]["id"], "bad-seconds");
  EXPECT_EQ(j["invalid_rules"][0]["index"], 1);
  EXPECT_EQ(j["invalid_rules"][0]["enabled"], false);
  EXPECT_NE(j["invalid_rules"][0]["reason"].get<std::string>().find("rules[1].actions[0]"),
            std::string::npos)
      << got.body;
  EXPECT_EQ(j["invalid_rules"][1]["id"], "bad-param");
  EXPECT_NE(j["invalid_rules"][1]["reason"].get<std::string>().find("rules[2].actions[0]"),
            std::string::npos)
      << got.body;
  EXPECT_EQ(j["invalid_rules"][1]["rule"]["actions"][0]["params"]["colour"], "red");

  // A corrected set put over REST replaces them.
  json fixed = {{"rules", json::array({j["rules"][0]})}};
  auto put = http_request(gw.api_port(), "PUT", "/api/v1/linkage/rules", fixed.dump());
  ASSERT_EQ(put.status, 200) << put.body;
  j = json::parse(http_request(gw.api_port(), "GET", "/api/v1/linkage/rules").body);
  EXPECT_TRUE(j["invalid_rules"].empty()) << j.dump();
}

}  // namespace
}  // namespace pushgate::test
