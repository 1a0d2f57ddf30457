#include "adapters/mqtt/mqtt_protocol.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

namespace pushgate::adapters::mqtt {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

Zone berlin() {
  std::string error;
  auto z = Zone::parse("Europe/Berlin", error);
  EXPECT_TRUE(z) << error;
  return z ? *z : Zone::utc();
}

TEST(TopicsTest, EveryTopicIsUnderTheRoot) {
  Topics t("pushgate/site-1");
  EXPECT_EQ(t.status(), "pushgate/site-1/status");
  EXPECT_EQ(t.health(), "pushgate/site-1/health");
  EXPECT_EQ(t.terminal_status("CKJF1"), "pushgate/site-1/terminal/CKJF1/status");
  EXPECT_EQ(t.door_state("CKJF1", 2), "pushgate/site-1/terminal/CKJF1/door/2/state");
  EXPECT_EQ(t.event("CKJF1", EventKind::Access), "pushgate/site-1/terminal/CKJF1/event/access");
  EXPECT_EQ(t.output("siren"), "pushgate/site-1/output/siren");
  EXPECT_EQ(t.command(), "pushgate/site-1/command");
  EXPECT_EQ(t.command_result("abc"), "pushgate/site-1/command/result/abc");
}

TEST(TopicsTest, SerialWithWildcardsCannotEscapeItsLevel) {
  Topics t("r");
  EXPECT_EQ(t.terminal_status("a/b+#"), "r/terminal/a_b__/status");
  EXPECT_EQ(topic_level(""), "_");
}

TEST(TopicsTest, ParsesDoorSetTopicAndRefusesOthers) {
  Topics t("pushgate/gw");
  auto d = t.parse_door_set("pushgate/gw/terminal/SN1/door/3/set");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->first, "SN1");
  EXPECT_EQ(d->second, 3);
  EXPECT_FALSE(t.parse_door_set("pushgate/gw/terminal/SN1/door/x/set"));
  EXPECT_FALSE(t.parse_door_set("pushgate/gw/terminal/SN1/door/0/set"));
  EXPECT_FALSE(t.parse_door_set("pushgate/other/terminal/SN1/door/1/set"));
  EXPECT_FALSE(t.parse_door_set("pushgate/gw/terminal/SN1/door/1/state"));
}

TEST(EventPayloadTest, CarriesIdSequenceReplayFlagAndBothTimes) {
  Event e;
  e.id = 42;
  e.seq = 7;
  e.terminal_sn = "SN1";
  e.kind = EventKind::Attendance;
  e.local_time = "2026-11-21 10:00:00";
  e.utc_ms = 1795251600000;  // 09:00:00Z
  e.pin = "100";
  e.received_ms = 1795251600500;
  auto j = json::parse(event_payload(e, true));
  EXPECT_EQ(j["id"], 42);
  EXPECT_EQ(j["seq"], 7);
  EXPECT_EQ(j["replay"], true);
  EXPECT_EQ(j["kind"], "attendance");
  EXPECT_EQ(j["time"], "2026-11-21T10:00:00+01:00");
  EXPECT_EQ(j["utc"], "2026-11-21T09:00:00.000Z");
  EXPECT_EQ(json::parse(event_payload(e, false))["replay"], false);
}

TEST(StatusPayloadTest, TimesAreLocalWithOffsetAndUtc) {
  TerminalStatus t;
  t.sn = "SN1";
  t.online = true;
  t.state = "accepted";
  t.flavour = "access";
  t.last_seen_ms = 1795251600000;
  auto j = json::parse(terminal_status_payload(t, berlin()));
  EXPECT_EQ(j["online"], true);
  EXPECT_EQ(j["last_seen"], "2026-11-21T10:00:00+01:00");
  EXPECT_EQ(j["last_seen_utc"], "2026-11-21T09:00:00.000Z");
  EXPECT_EQ(j["name"], nullptr);
}

TEST(ParseCommandTest, ReadsAWellFormedCommand) {
  auto c = parse_command(
      R"({"id":"c-1","terminal":"SN1","verb":"open_door","params":{"door":1,"seconds":5},"ttl_s":60})",
      0);
  ASSERT_EQ(c.error, "");
  EXPECT_EQ(c.id, "c-1");
  EXPECT_EQ(c.request.client_ref, "c-1");
  EXPECT_EQ(c.request.origin, "mqtt");
  EXPECT_EQ(c.request.terminal_sn, "SN1");
  EXPECT_EQ(c.request.verb, "open_door");
  EXPECT_EQ(c.request.params["door"], 1);
  EXPECT_EQ(c.request.ttl_ms, 60000);
}

TEST(ParseCommandTest, TurnsAbsoluteExpiryIntoTimeToLive) {
  auto c = parse_command(
      R"({"id":7,"terminal":"SN1","verb":"reboot","expires":"2026-11-21T10:00:30+01:00"})",
      1795251600000);
  ASSERT_EQ(c.error, "");
  EXPECT_EQ(c.id, "7");
  EXPECT_EQ(c.request.ttl_ms, 30000);
  auto past =
      parse_command(R"({"id":"p","terminal":"S","verb":"reboot","expires":"2020-01-01T00:00:00Z"})",
                    1795251600000);
  ASSERT_EQ(past.error, "");
  EXPECT_EQ(past.request.ttl_ms, 1) << "already expired: reported expired by the queue";
}

TEST(ParseCommandTest, SaysWhyAMalformedCommandIsRefused) {
  EXPECT_THAT(parse_command("not json", 0).error, HasSubstr("JSON object"));
  EXPECT_THAT(parse_command(R"({"terminal":"S","verb":"reboot"})", 0).error, HasSubstr("\"id\""));
  auto no_terminal = parse_command(R"({"id":"x","verb":"reboot"})", 0);
  EXPECT_EQ(no_terminal.id, "x") << "the id is kept so the rejection reaches the caller";
  EXPECT_THAT(no_terminal.error, HasSubstr("terminal"));
  EXPECT_THAT(parse_command(R"({"id":"x","terminal":"S"})", 0).error, HasSubstr("verb"));
  EXPECT_THAT(parse_command(R"({"id":"x","terminal":"S","verb":"a","params":[1]})", 0).error,
              HasSubstr("params"));
  EXPECT_THAT(parse_command(R"({"id":"x","terminal":"S","verb":"a","ttl_s":"soon"})", 0).error,
              HasSubstr("ttl_s"));
  EXPECT_THAT(
      parse_command(R"({"id":"x","terminal":"S","verb":"a","expires":"tomorrow"})", 0).error,
      HasSubstr("expires"));
}

TEST(CommandResultPayloadTest, CarriesCallerIdStateAndReturnName) {
  CommandRecord c;
  c.id = 5;
  c.terminal_sn = "SN1";
  c.client_ref = "c-1";
  c.verb = "open_door";
  c.state = CommandState::Failed;
  c.return_code = -1002;
  c.return_name = "unsupported";
  auto j = json::parse(command_result_payload(c, "c-1", false, Zone::utc(), 1795251600000));
  EXPECT_EQ(j["id"], "c-1");
  EXPECT_EQ(j["command_id"], 5);
  EXPECT_EQ(j["state"], "failed");
  EXPECT_EQ(j["final"], true);
  EXPECT_EQ(j["return_code"], -1002);
  EXPECT_EQ(j["return_name"], "unsupported");
  EXPECT_EQ(j["time"], "2026-11-21T09:00:00+00:00");
  auto r = json::parse(command_rejected_payload("c-2", "no verb", Zone::utc(), 1795251600000));
  EXPECT_EQ(r["state"], "rejected");
  EXPECT_EQ(r["error"], "no verb");
}

TEST(DoorSetTest, UnlockAndOpenPulseTheDoorLockDoesNothing) {
  auto r = parse_door_set("SN1", 2, "UNLOCK", 5);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->verb, "open_door");
  EXPECT_EQ(r->params["door"], 2);
  EXPECT_TRUE(parse_door_set("SN1", 2, "OPEN", 5));
  EXPECT_FALSE(parse_door_set("SN1", 2, "LOCK", 5));
  EXPECT_FALSE(parse_door_set("SN1", 2, "garbage", 5));
}

TEST(HaDiscoveryTest, OneDeviceWithLockContactConnectivityAndEvents) {
  Topics t("pushgate/gw");
  DiscoveryInput in;
  in.gateway_id = "gw";
  in.prefix = "homeassistant";
  in.terminal.sn = "SN1";
  in.terminal.flavour = "access";
  in.terminal.doors = 2;
  in.doors = {1, 2};
  auto configs = ha_discovery(t, in);
  std::map<std::string, json> by_topic;
  for (const auto& [topic, payload] : configs) {
    by_topic[topic] = json::parse(payload);
  }
  ASSERT_EQ(by_topic.size(), 2u * 2 + 1 + 2);
  auto lock = by_topic.at("homeassistant/lock/gw/pushgate_gw_SN1_door2/config");
  EXPECT_EQ(lock["command_topic"], "pushgate/gw/terminal/SN1/door/2/set");
  EXPECT_EQ(lock["state_topic"], "pushgate/gw/terminal/SN1/door/2/state");
  EXPECT_EQ(lock["device"]["identifiers"][0], "pushgate_gw_SN1");
  EXPECT_EQ(lock["availability"][0]["topic"], "pushgate/gw/status");
  auto contact = by_topic.at("homeassistant/binary_sensor/gw/pushgate_gw_SN1_door1_contact/config");
  EXPECT_EQ(contact["device_class"], "door");
  auto conn = by_topic.at("homeassistant/binary_sensor/gw/pushgate_gw_SN1_connectivity/config");
  EXPECT_EQ(conn["state_topic"], "pushgate/gw/terminal/SN1/status");
  auto ev = by_topic.at("homeassistant/event/gw/pushgate_gw_SN1_access/config");
  EXPECT_EQ(ev["state_topic"], "pushgate/gw/terminal/SN1/event/access");
  EXPECT_EQ(ev["event_types"][0], "access");
}

TEST(HaDiscoveryTest, AttendanceTerminalHasNoLockAndEntityIdsAreCurrentForm) {
  Topics t("pushgate/gw");
  DiscoveryInput in;
  in.gateway_id = "Site-1";
  in.prefix = "homeassistant";
  in.sw_version = "0.1.0";
  in.terminal.sn = "CQZ7 2345";
  in.terminal.flavour = "attendance";
  std::map<std::string, std::string> by_topic;
  for (const auto& [topic, payload] : ha_discovery(t, in)) {
    by_topic[topic] = payload;
  }
  // Older versions announced a lock: it is removed (empty retained config).
  EXPECT_EQ(by_topic.at("homeassistant/lock/Site-1/pushgate_Site-1_CQZ7 2345_door1/config"), "");
  auto conn = json::parse(by_topic.at(
      "homeassistant/binary_sensor/Site-1/pushgate_Site-1_CQZ7 2345_connectivity/config"));
  EXPECT_FALSE(conn.contains("object_id"));
  EXPECT_EQ(conn["default_entity_id"], "binary_sensor.pushgate_site_1_cqz7_2345_connectivity");
  EXPECT_EQ(conn["origin"]["name"], "pushgate");
  EXPECT_EQ(conn["origin"]["sw_version"], "0.1.0");
  EXPECT_EQ(entity_slug("__A--b..9__"), "a_b_9");
  EXPECT_EQ(entity_slug("///"), "unnamed");
}

// Issue 13 item 9: "return code -1, reason 255" said nothing; a failed
// connect is put in words: the broker's refusals by code, and for paho's
// generic failure what a probe finds (DNS, refused, unreachable, TLS).
TEST(ConnectFailureTest, BrokerRefusalsAreNamed) {
  EXPECT_EQ(describe_connect_refusal(4, 255),
            "the broker refused: bad user name or password (mqtt.username, mqtt.password)");
  EXPECT_EQ(describe_connect_refusal(5, 255),
            "the broker refused: not authorized (mqtt.username, the broker's ACL)");
  EXPECT_EQ(describe_connect_refusal(-1, 0x86),
            "the broker refused: bad user name or password (mqtt.username, mqtt.password)");
  EXPECT_EQ(describe_connect_refusal(2, 255),
            "the broker refused: identifier rejected (mqtt.client_id)");
  EXPECT_EQ(describe_connect_refusal(-1, 255), "");
}

TEST(ConnectFailureTest, ProbeSaysARefusedPortIsRefused) {
  // A port bound and closed again: nothing listens there.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  auto port = std::to_string(ntohs(a.sin_port));
  ::close(fd);
  EXPECT_EQ(diagnose_connect("tcp://127.0.0.1:" + port, 2000),
            "connection refused by 127.0.0.1:" + port + " (no broker listening there?)");
}

TEST(ConnectFailureTest, ProbeSaysTlsFailedWhenTcpWorks) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(fd, 4), 0);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  auto port = std::to_string(ntohs(a.sin_port));
  EXPECT_THAT(
      diagnose_connect("ssl://127.0.0.1:" + port, 2000),
      ::testing::StartsWith("TCP to 127.0.0.1:" + port + " works; the TLS handshake failed"));
  ::close(fd);
}

}  // namespace
}  // namespace pushgate::adapters::mqtt
