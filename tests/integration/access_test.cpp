// Local access decisions end to end: two simulated access-control terminals
// (tests/sim/access_terminal.*) ask a real in-process gateway over HTTP for
// remote identification (§10); master data is set over the REST API. A user
// who entered through terminal A is refused re-entry at terminal B and
// allowed out, with the MQTT bridge's broker up, and again with it stopped:
// decisions need no uplink.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#ifdef PUSHGATE_ACCESS_TEST_MOSQUITTO
#include "tests/integration/mqtt/mqtt_fixture.hpp"
#endif
#include "tests/sim/access_terminal.hpp"
#include "tests/support/gateway_harness.hpp"
#include "tests/support/io_thread.hpp"
#include "tests/support/processes.hpp"
#include "tests/support/zk_access.hpp"

namespace pushgate::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using sim::AccessTerminal;
using sim::AccessTerminalStats;

std::string metrics(GatewayHarness& gw) {
  return http_request(gw.api_port(), "GET", "/metrics", "").body;
}

std::shared_ptr<AccessTerminal> start_terminal(IoThread& t, std::uint16_t port, std::string sn,
                                               bool log_passages = false) {
  return start_zk_access_terminal(t, port, std::move(sn), log_passages);
}

void rest(std::uint16_t port, const std::string& method, const std::string& target,
          const json& body) {
  auto a = http_request(port, method, target, body.dump());
  ASSERT_EQ(a.status, 200) << method << " " << target << ": " << a.body;
}

/** One site area with hard anti-passback; each terminal's door 1 enters it (in) or leaves (out). */
void configure_site(std::uint16_t api) {
  rest(api, "PUT", "/api/v1/access/timezones/1",
       json::parse(R"({"name":"always","sun":["00:00-23:59"],"mon":["00:00-23:59"],
         "tue":["00:00-23:59"],"wed":["00:00-23:59"],"thu":["00:00-23:59"],
         "fri":["00:00-23:59"],"sat":["00:00-23:59"],"hol1":["00:00-23:59"],
         "hol2":["00:00-23:59"],"hol3":["00:00-23:59"]})"));
  rest(api, "PUT", "/api/v1/access/areas/1", json::parse(R"({"name":"building","apb":"hard"})"));
  rest(api, "POST", "/api/v1/access/doors",
       json::parse(R"([{"terminal":"ACCA0001","door":1,"open_s":6,"area_in":1},
                       {"terminal":"ACCB0001","door":1,"open_s":8,"area_in":1}])"));
  rest(api, "PUT", "/api/v1/access/levels/1",
       json::parse(R"({"name":"staff","timezone":1,"doors":["ACCA0001/1","ACCB0001/1"]})"));
  rest(api, "PUT", "/api/v1/access/users/42",
       json::parse(R"({"name":"Ada","cards":["123456"],"levels":[1]})"));
}

sim::RemoteAuthResult identify(AccessTerminal& t, const std::string& pin, int in_out) {
  return remote_identify(t, pin, in_out);
}

std::string event_of(const sim::RemoteAuthResult& r) {
  return remote_event_of(r);
}

/** The acceptance sequence: in at A, refused in at B (24), out at B, refused unknown (27). */
void entry_refused_at_the_other_terminal_exit_allowed(GatewayHarness& gw, AccessTerminal& a,
                                                      AccessTerminal& b) {
  auto in_a = identify(a, "42", 0);
  ASSERT_FALSE(in_a.ec) << in_a.ec.message();
  ASSERT_EQ(in_a.status, 200u);
  EXPECT_EQ(in_a.answer.auth, "SUCCESS") << in_a.body;
  EXPECT_EQ(in_a.answer.control_device, "01010106") << in_a.body;  // door 1, lock, 6 s

  auto again_b = identify(b, "42", 0);
  EXPECT_EQ(again_b.answer.auth, "FAILED") << again_b.body;
  EXPECT_EQ(event_of(again_b), "24") << again_b.body;  // anti-passback
  EXPECT_TRUE(again_b.answer.control_device.empty());

  auto out_b = identify(b, "42", 1);
  EXPECT_EQ(out_b.answer.auth, "SUCCESS") << out_b.body;
  EXPECT_EQ(out_b.answer.control_device, "01010108");

  auto stranger = identify(a, "999", 0);
  EXPECT_EQ(stranger.answer.auth, "FAILED");
  EXPECT_EQ(event_of(stranger), "27");  // not registered

  // The terminals carried out exactly the two openings.
  EXPECT_EQ(a.door_actions().size(), 1u);
  EXPECT_EQ(b.door_actions().size(), 1u);
  // Every decision is stored as a Decision event (kind 9).
  EXPECT_TRUE(
      wait_for([&] { return gw.query_int("SELECT count(*) FROM events WHERE kind=9") == 4; }, 10s));
  EXPECT_EQ(gw.query_int("SELECT count(*) FROM events WHERE kind=9 AND event_code=24 AND "
                         "pin='42'"),
            1);
  EXPECT_EQ(gw.query_int("SELECT area FROM access_apb WHERE pin='42'"), 0);
}

TEST(AccessTest, EntryRefusedAtTheOtherTerminalAndExitAllowed) {
  GatewayHarness gw;
  configure_site(gw.api_port());
  IoThread io;
  auto a = start_terminal(io, gw.zkpush_port(), "ACCA0001");
  auto b = start_terminal(io, gw.zkpush_port(), "ACCB0001");
  entry_refused_at_the_other_terminal_exit_allowed(gw, *a, *b);
  EXPECT_TRUE(a->problems().empty()) << a->problems().front();
  a->stop();
  b->stop();
}

TEST(AccessTest, PassagesTheTerminalsLogCountForAntiPassback) {
  GatewayHarness gw;  // access.wait_for_commit at its default: answers never wait
  configure_site(gw.api_port());
  rest(gw.api_port(), "PUT", "/api/v1/access/users/43",
       json::parse(R"({"name":"Bo","levels":[1]})"));
  IoThread io;
  auto a = start_terminal(io, gw.zkpush_port(), "ACCA0001", /*log_passages=*/true);
  auto b = start_terminal(io, gw.zkpush_port(), "ACCB0001");

  // Ada is let in at A; A logs the passage (222) and uploads it: stored as
  // an access event, it confirms the position pushgate already holds.
  ASSERT_EQ(identify(*a, "42", 0).answer.auth, "SUCCESS");
  ASSERT_TRUE(wait_for(
      [&] {
        return gw.query_int(
                   "SELECT count(*) FROM events WHERE kind=2 AND event_code=222 AND "
                   "pin='42'") == 1;
      },
      10s));
  EXPECT_EQ(gw.query_int("SELECT area FROM access_apb WHERE pin='42'"), 1);
  EXPECT_NE(metrics(gw).find("pushgate_access_apb_moves_from_terminals_total 0"),
            std::string::npos);

  // Bo goes in at A on the terminal's own decision (it never asked): its
  // rtlog moves him all the same, and B refuses him as passed back.
  sim::RtLogEvent local;
  local.pin = "43";
  local.event = 0;  // the door opens normally after verification
  local.inoutstatus = 0;
  local.verifytype = 1;
  a->add_rtlog(local);
  ASSERT_TRUE(wait_for(
      [&] { return gw.query_int("SELECT count(*) FROM access_apb WHERE pin='43'") == 1; }, 10s));
  EXPECT_NE(metrics(gw).find("pushgate_access_apb_moves_from_terminals_total 1"),
            std::string::npos);
  auto bo_at_b = identify(*b, "43", 0);
  EXPECT_EQ(bo_at_b.answer.auth, "FAILED") << bo_at_b.body;
  EXPECT_EQ(event_of(bo_at_b), "24") << bo_at_b.body;
  EXPECT_EQ(identify(*b, "43", 1).answer.auth, "SUCCESS");  // and out
  a->stop();
  b->stop();
}

TEST(AccessTest, RestApiValidatesPagesAndRefusesDeletesInUse) {
  GatewayHarness gw;
  const auto api = gw.api_port();
  configure_site(api);
  // 400 names every bad field (the form first, then what it refers to); nothing is stored.
  const auto fields_of = [&](const std::string& body) {
    auto a = http_request(api, "PUT", "/api/v1/access/users/7", body);
    EXPECT_EQ(a.status, 400) << a.body;
    std::vector<std::string> fields;
    const json answer = json::parse(a.body);
    for (const auto& e : answer["errors"]) {
      fields.push_back(e["field"]);
    }
    return fields;
  };
  EXPECT_EQ(fields_of(R"({"cards":["0"],"valid_until":"2026-02-30","colour":"red"})"),
            (std::vector<std::string>{"valid_until", "cards[0]", "colour"}));
  EXPECT_EQ(fields_of(R"({"name":"x","cards":["123456"],"levels":[9]})"),
            (std::vector<std::string>{"levels[0]", "cards[0]"}));
  EXPECT_EQ(http_request(api, "GET", "/api/v1/access/users/7", "").status, 404);
  EXPECT_EQ(http_request(api, "POST", "/api/v1/access/users", "not json").status, 400);
  // 409 while something refers to it; 404 for what is not there.
  EXPECT_EQ(http_request(api, "DELETE", "/api/v1/access/levels/1", "").status, 409);
  EXPECT_EQ(http_request(api, "DELETE", "/api/v1/access/holidays/2026-12-25", "").status, 404);
  // Paging by key.
  rest(api, "POST", "/api/v1/access/users",
       json::parse(R"([{"pin":"50","levels":[1]},{"pin":"51"},{"pin":"52"}])"));
  auto page =
      json::parse(http_request(api, "GET", "/api/v1/access/users?after=42&limit=2", "").body);
  ASSERT_EQ(page["items"].size(), 2u) << page;
  EXPECT_EQ(page["items"][0]["pin"], "50");
  EXPECT_TRUE(page["more"].get<bool>());
  EXPECT_FALSE(page["items"][0].contains("password"));
  // A door shows its live state; the APB positions can be reset.
  auto door = json::parse(http_request(api, "GET", "/api/v1/access/doors/ACCA0001/1", "").body);
  EXPECT_EQ(door["open_s"], 6);
  EXPECT_TRUE(door.contains("state"));
  EXPECT_EQ(http_request(api, "DELETE", "/api/v1/access/apb", "").status, 200);
  EXPECT_EQ(http_request(api, "DELETE", "/api/v1/access/users/52", "").status, 200);
  EXPECT_EQ(http_request(api, "GET", "/api/v1/access/users/52", "").status, 404);
}

TEST(AccessTest, DecisionsNeedNoUplinkWithNoMqttBrokerReachable) {
  // The MQTT bridge is on and points where no broker listens: it keeps
  // failing to connect while the doors are decided.
  GatewayHarness gw({"mqtt.enabled=true",
                     "mqtt.server_uri=tcp://127.0.0.1:" + std::to_string(free_port()),
                     "mqtt.reconnect_min_ms=50", "mqtt.reconnect_max_ms=200"});
  configure_site(gw.api_port());
  IoThread io;
  auto a = start_terminal(io, gw.zkpush_port(), "ACCA0001");
  auto b = start_terminal(io, gw.zkpush_port(), "ACCB0001");
  ASSERT_TRUE(wait_for(
      [&] {
        auto m = metrics(gw);
        return m.find("\npushgate_mqtt_connect_failures_total 0") == std::string::npos &&
               m.find("\npushgate_mqtt_connect_failures_total ") != std::string::npos;
      },
      15s))
      << metrics(gw);
  entry_refused_at_the_other_terminal_exit_allowed(gw, *a, *b);
  EXPECT_NE(metrics(gw).find("pushgate_mqtt_connected 0"), std::string::npos);
  a->stop();
  b->stop();
}

#ifdef PUSHGATE_ACCESS_TEST_MOSQUITTO
TEST(AccessTest, DecisionsNeedNoUplinkWithTheMqttBrokerStopped) {
  TempDir broker_dir;
  Mosquitto broker(broker_dir.path(), {Mosquitto::Listener{free_port(), {}}});
  broker.start();
  GatewayHarness gw({"mqtt.enabled=true", "mqtt.server_uri=" + broker.uri(),
                     "mqtt.reconnect_min_ms=50", "mqtt.reconnect_max_ms=200"});
  configure_site(gw.api_port());
  IoThread io;
  auto a = start_terminal(io, gw.zkpush_port(), "ACCA0001");
  auto b = start_terminal(io, gw.zkpush_port(), "ACCB0001");
  // Connected first, so the broker going away is an outage the bridge sees.
  ASSERT_TRUE(wait_for(
      [&] { return metrics(gw).find("pushgate_mqtt_connected 1") != std::string::npos; }, 15s));
  broker.stop(9);  // SIGKILL: the uplink is gone
  ASSERT_TRUE(wait_for(
      [&] { return metrics(gw).find("pushgate_mqtt_connected 0") != std::string::npos; }, 15s));
  entry_refused_at_the_other_terminal_exit_allowed(gw, *a, *b);
  a->stop();
  b->stop();
}
#endif

}  // namespace
}  // namespace pushgate::test
