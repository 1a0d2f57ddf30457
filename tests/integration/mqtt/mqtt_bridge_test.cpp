// The MQTT bridge in-process against a real mosquitto: commands in with
// results back (MQTT 5 response topic and correlation data too), offline
// terminals, expiry, malformed commands, live events and TLS with a test CA.
#include <gtest/gtest.h>

#include <signal.h>

#include <cstdlib>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <nlohmann/json.hpp>

#include "adapters/mqtt/mqtt_adapter.hpp"
#include "tests/integration/mqtt/mqtt_fixture.hpp"
#include "tests/sim/attendance_terminal.hpp"
#include "tests/support/gateway_harness.hpp"
#include "tests/support/io_thread.hpp"

namespace pushgate::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

std::shared_ptr<sim::AttendanceTerminal> terminal(IoThread& io, std::uint16_t port,
                                                  const std::string& sn) {
  sim::AttendanceTerminalConfig c;
  c.serial_number = sn;
  c.http.port = port;
  c.http.timeout = 5s;
  c.poll_interval = 50ms;
  c.error_delay = 100ms;
  return sim::AttendanceTerminal::create(io.ioc(), c);
}

// The last message on `topic` parsed, or null.
json last_json(const Subscriber& s, const std::string& topic) {
  auto msgs = s.on(topic);
  return msgs.empty() ? json(nullptr) : json::parse(msgs.back().payload, nullptr, false);
}

bool saw_state(const Subscriber& s, const std::string& topic, const std::string& state) {
  for (const auto& m : s.on(topic)) {
    auto j = json::parse(m.payload, nullptr, false);
    if (!j.is_discarded() && j.value("state", "") == state) {
      return true;
    }
  }
  return false;
}

class MqttBridgeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    broker_ = std::make_unique<Mosquitto>(tmp_.path() / "broker",
                                          std::vector<Mosquitto::Listener>{{free_port(), {}}});
    broker_->start();
  }

  std::unique_ptr<GatewayHarness> gateway(std::vector<std::string> extra = {}) {
    std::vector<std::string> sets = {"gateway.id=gw", "mqtt.enabled=true",
                                     "mqtt.server_uri=" + broker_->uri(),
                                     "mqtt.reconnect_min_ms=100", "mqtt.reconnect_max_ms=500"};
    sets.insert(sets.end(), extra.begin(), extra.end());
    auto h = std::make_unique<GatewayHarness>(sets);
    return h;
  }

  static bool connected(GatewayHarness& h) {
    auto* a = dynamic_cast<adapters::mqtt::MqttAdapter*>(h.gateway().adapter("mqtt"));
    return a != nullptr && a->connected_for_test();
  }

  TempDir tmp_;
  std::unique_ptr<Mosquitto> broker_;
};

TEST_F(MqttBridgeTest, CommandReachesOfflineTerminalWhenItReturnsAndResultComesBack) {
  // Configured: known while offline (a serial never seen nor configured is refused).
  auto h = gateway({"mqtt.protocol_version=5", "terminals.SIMCMD01.name=Sim"});
  Subscriber client(broker_->uri(), "bms", 5);
  client.connect();
  client.subscribe("pushgate/gw/command/result/#");
  client.subscribe("reply/bms");
  ASSERT_TRUE(wait_for([&] { return connected(*h); }, 10s));

  ::mqtt::properties props;
  props.add(::mqtt::property(::mqtt::property::RESPONSE_TOPIC, "reply/bms"));
  props.add(::mqtt::property(::mqtt::property::CORRELATION_DATA, "corr-1"));
  const std::string cmd = R"({"id":"cmd-1","terminal":"SIMCMD01","verb":"info","ttl_s":120})";
  client.publish("pushgate/gw/command", cmd, 1, false, props);
  const std::string result_topic = "pushgate/gw/command/result/cmd-1";
  ASSERT_TRUE(wait_for([&] { return saw_state(client, result_topic, "queued"); }, 10s));

  // The same id again is queued once and answered as a duplicate.
  client.publish("pushgate/gw/command", cmd, 1, false, props);
  ASSERT_TRUE(wait_for(
      [&] {
        for (const auto& m : client.on(result_topic)) {
          if (json::parse(m.payload).value("duplicate", false)) {
            return true;
          }
        }
        return false;
      },
      10s));
  EXPECT_EQ(h->query_int("SELECT COUNT(*) FROM commands WHERE client_ref = 'cmd-1'"), 1);
  // Queued from the command topic: audited once (not for the duplicate), the
  // topic as the actor (the broker's ACL on it is the credential).
  EXPECT_TRUE(wait_for(
      [&] {
        return h->query_int(
                   "SELECT COUNT(*) FROM events WHERE kind = 12"
                   " AND json_extract(extra, '$.action') = 'command_queued'"
                   " AND json_extract(extra, '$.actor') = 'mqtt:pushgate/gw/command'"
                   " AND json_extract(extra, '$.verb') = 'info'"
                   " AND json_extract(extra, '$.terminal') = 'SIMCMD01'"
                   " AND json_extract(extra, '$.client_ref') = 'cmd-1'") == 1;
      },
      10s));
  EXPECT_EQ(h->query_int("SELECT COUNT(*) FROM events WHERE kind = 12"
                         " AND json_extract(extra, '$.action') = 'command_queued'"),
            1);

  // The terminal was offline; it comes back, polls, runs it, reports.
  IoThread io;
  auto t = terminal(io, h->zkpush_port(), "SIMCMD01");
  t->start();
  ASSERT_TRUE(wait_for([&] { return saw_state(client, result_topic, "done"); }, 20s));
  auto done = last_json(client, result_topic);
  EXPECT_EQ(done["id"], "cmd-1");
  EXPECT_EQ(done["terminal"], "SIMCMD01");
  EXPECT_EQ(done["final"], true);
  EXPECT_EQ(done["return_code"], 0);
  EXPECT_TRUE(done["return_name"].is_string()) << done.dump();
  EXPECT_TRUE(done["utc"].is_string());
  ASSERT_FALSE(t->executed_commands().empty());
  EXPECT_EQ(t->executed_commands().front().text.rfind("INFO", 0), 0u);

  // MQTT 5: the same answers on the response topic with the correlation data.
  ASSERT_TRUE(wait_for([&] { return saw_state(client, "reply/bms", "done"); }, 5s));
  for (const auto& m : client.on("reply/bms")) {
    EXPECT_EQ(m.correlation, "corr-1");
  }
  t->stop();
}

TEST_F(MqttBridgeTest, ExpiredCommandIsReportedExpired) {
  auto h = gateway({"terminals.NEVERSEEN.name=Offline"});
  Subscriber client(broker_->uri(), "bms");
  client.connect();
  client.subscribe("pushgate/gw/command/result/#");
  ASSERT_TRUE(wait_for([&] { return connected(*h); }, 10s));
  client.publish("pushgate/gw/command",
                 R"({"id":"late","terminal":"NEVERSEEN","verb":"reboot","ttl_s":1})");
  ASSERT_TRUE(wait_for(
      [&] { return saw_state(client, "pushgate/gw/command/result/late", "expired"); }, 10s));
  auto r = last_json(client, "pushgate/gw/command/result/late");
  EXPECT_EQ(r["final"], true);
  EXPECT_EQ(r["verb"], "reboot");
}

TEST_F(MqttBridgeTest, MalformedCommandGetsResultSayingWhy) {
  auto h = gateway();
  Subscriber client(broker_->uri(), "bms");
  client.connect();
  client.subscribe("pushgate/gw/command/result/#");
  ASSERT_TRUE(wait_for([&] { return connected(*h); }, 10s));
  client.publish("pushgate/gw/command", "{not json");
  client.publish("pushgate/gw/command", R"({"id":"m2","terminal":"SN1"})");
  ASSERT_TRUE(wait_for(
      [&] { return saw_state(client, "pushgate/gw/command/result/_invalid", "rejected"); }, 10s));
  ASSERT_TRUE(wait_for(
      [&] { return saw_state(client, "pushgate/gw/command/result/m2", "rejected"); }, 10s));
  EXPECT_NE(
      last_json(client, "pushgate/gw/command/result/m2")["error"].get<std::string>().find("verb"),
      std::string::npos);
  EXPECT_GE(h->gateway().metrics().value("pushgate_mqtt_commands_rejected_total"), 2);
}

// Issue 12 item 3: a command 100,000 levels deep is rejected before it is
// parsed, naming the limit; the gateway keeps serving MQTT.
TEST_F(MqttBridgeTest, DeeplyNestedCommandIsRejectedNamingTheLimit) {
  auto h = gateway({"terminals.SN1.name=Gate"});
  Subscriber client(broker_->uri(), "bms");
  client.connect();
  client.subscribe("pushgate/gw/command/result/#");
  ASSERT_TRUE(wait_for([&] { return connected(*h); }, 10s));
  client.publish("pushgate/gw/command",
                 R"({"id":"deep","terminal":"SN1","verb":"open_door","params":{"door":)" +
                     std::string(100000, '[') + std::string(100000, ']') + "}}");
  ASSERT_TRUE(wait_for(
      [&] { return saw_state(client, "pushgate/gw/command/result/_invalid", "rejected"); }, 10s));
  EXPECT_NE(
      last_json(client, "pushgate/gw/command/result/_invalid")["error"].get<std::string>().find(
          "64 levels"),
      std::string::npos);
  // Still alive and answering.
  client.publish("pushgate/gw/command", R"({"id":"ok","terminal":"SN1","verb":"info"})");
  ASSERT_TRUE(
      wait_for([&] { return saw_state(client, "pushgate/gw/command/result/ok", "queued"); }, 10s));
  EXPECT_EQ(h->query_int("SELECT COUNT(*) FROM commands"), 1);
}

// Issue 13 item 3: a misspelt verb, an unknown terminal and a wrong-typed
// parameter are rejected at once, naming the field, and never queued.
TEST_F(MqttBridgeTest, InvalidCommandIsRejectedNamingTheFieldAndNeverQueued) {
  auto h = gateway({"terminals.SN1.name=Gate"});
  Subscriber client(broker_->uri(), "bms");
  client.connect();
  client.subscribe("pushgate/gw/command/result/#");
  ASSERT_TRUE(wait_for([&] { return connected(*h); }, 10s));
  client.publish("pushgate/gw/command", R"({"id":"v","terminal":"SN1","verb":"open_dor"})");
  client.publish("pushgate/gw/command", R"({"id":"t","terminal":"NOPE","verb":"open_door"})");
  client.publish("pushgate/gw/command",
                 R"({"id":"p","terminal":"SN1","verb":"open_door","params":{"seconds":"five"}})");
  for (const char* id : {"v", "t", "p"}) {
    ASSERT_TRUE(wait_for(
        [&] {
          return saw_state(client, std::string("pushgate/gw/command/result/") + id, "rejected");
        },
        10s))
        << id;
  }
  auto error = [&](const char* id) {
    return last_json(client, std::string("pushgate/gw/command/result/") + id)["error"]
        .get<std::string>();
  };
  EXPECT_EQ(error("v"), "verb: unknown verb \"open_dor\"");
  EXPECT_EQ(error("t"), "terminal: unknown terminal NOPE (never seen and not configured)");
  EXPECT_EQ(error("p"), "params.seconds: must be an integer 1..254");
  EXPECT_EQ(h->query_int("SELECT COUNT(*) FROM commands"), 0);
}

// Issue 13 item 4: a Home Assistant UNLOCK lives commands.door_ttl_s, not a
// day, and is reported expired when the terminal does not come back in time.
TEST_F(MqttBridgeTest, DoorUnlockExpiresAfterTheDoorTtlAndIsReportedExpired) {
  auto h = gateway({"terminals.OFFLINE1.name=Gate", "commands.door_ttl_s=1"});
  ASSERT_TRUE(wait_for([&] { return connected(*h); }, 10s));
  Subscriber ha(broker_->uri(), "ha");
  ha.connect();
  ha.subscribe("pushgate/gw/command/result/#");
  ha.publish("pushgate/gw/terminal/OFFLINE1/door/1/set", "UNLOCK");
  ASSERT_TRUE(wait_for(
      [&] {
        return h->query_int(
                   "SELECT COUNT(*) FROM commands WHERE verb = 'open_door' AND"
                   " terminal_sn = 'OFFLINE1' AND expires_ms - created_ms = 1000") == 1;
      },
      10s));
  // Who opened the door: the door's set topic, in the audit.
  EXPECT_TRUE(wait_for(
      [&] {
        return h->query_int(
                   "SELECT COUNT(*) FROM events WHERE kind = 12"
                   " AND json_extract(extra, '$.action') = 'command_queued'"
                   " AND json_extract(extra, '$.actor') ="
                   " 'mqtt:pushgate/gw/terminal/OFFLINE1/door/1/set'"
                   " AND json_extract(extra, '$.verb') = 'open_door'"
                   " AND json_extract(extra, '$.terminal') = 'OFFLINE1'") == 1;
      },
      10s));
  ASSERT_TRUE(wait_for(
      [&] {
        return h->query_int(
                   "SELECT COUNT(*) FROM commands WHERE verb = 'open_door' AND"
                   " state = 'expired'") == 1;
      },
      10s));
  // The expiry goes out as a result like any other final state.
  ASSERT_TRUE(wait_for(
      [&] {
        for (const auto& m : ha.messages()) {
          auto j = json::parse(m.payload, nullptr, false);
          if (!j.is_discarded() && j.value("state", "") == "expired" &&
              j.value("verb", "") == "open_door") {
            return true;
          }
        }
        return false;
      },
      10s));
}

TEST_F(MqttBridgeTest, LiveEventsArriveFlaggedLiveWithTerminalStatusRetained) {
  auto h = gateway();
  Subscriber client(broker_->uri(), "ha");
  client.connect();
  client.subscribe("pushgate/gw/#");
  ASSERT_TRUE(wait_for([&] { return connected(*h); }, 10s));
  IoThread io;
  auto t = terminal(io, h->zkpush_port(), "SIMLIVE1");
  t->start();
  ASSERT_TRUE(t->wait_until([](const sim::TerminalStats& s) { return s.polls > 0; }, 10s));
  t->punch("100");
  const std::string topic = "pushgate/gw/terminal/SIMLIVE1/event/attendance";
  ASSERT_TRUE(wait_for([&] { return !client.on(topic).empty(); }, 10s));
  auto e = last_json(client, topic);
  EXPECT_EQ(e["replay"], false);
  EXPECT_EQ(e["pin"], "100");
  EXPECT_EQ(e["terminal"], "SIMLIVE1");
  EXPECT_TRUE(e["id"].is_number_integer());
  EXPECT_TRUE(e["seq"].is_number_integer());
  ASSERT_TRUE(
      wait_for([&] { return !client.on("pushgate/gw/terminal/SIMLIVE1/status").empty(); }, 10s));
  EXPECT_EQ(last_json(client, "pushgate/gw/terminal/SIMLIVE1/status")["online"], true);
  // The cursor moved past the acknowledged event and is stored.
  ASSERT_TRUE(wait_for(
      [&] {
        return h->query_int("SELECT COALESCE(MAX(position), 0) FROM cursors WHERE name = 'mqtt'") >=
               e["id"].get<std::int64_t>();
      },
      5s));
  t->stop();
}

TEST_F(MqttBridgeTest, HomeAssistantDiscoveryResentWhenHomeAssistantComesOnline) {
  auto h = gateway();
  IoThread io;
  auto t = terminal(io, h->zkpush_port(), "SIMHA001");
  t->start();
  ASSERT_TRUE(t->wait_until([](const sim::TerminalStats& s) { return s.polls > 0; }, 10s));
  Subscriber ha(broker_->uri(), "homeassistant");
  ha.connect();
  ha.subscribe("homeassistant/#");
  // An attendance terminal: no doors, so its device has no lock.
  const std::string lock =
      "homeassistant/binary_sensor/gw/pushgate_gw_SIMHA001_connectivity/config";
  ASSERT_TRUE(wait_for([&] { return !ha.on(lock).empty(); }, 10s));
  auto before = ha.on(lock).size();
  // Retained: a subscriber that comes after it was published still gets it,
  // flagged retained. (ha itself may have been subscribed before the
  // publish, and a live delivery carries no retain flag.)
  Subscriber late(broker_->uri(), "late-subscriber");
  late.connect();
  late.subscribe(lock);
  ASSERT_TRUE(wait_for([&] { return !late.on(lock).empty(); }, 10s));
  EXPECT_TRUE(late.on(lock).front().retained);
  ha.publish("homeassistant/status", "online");
  ASSERT_TRUE(wait_for([&] { return ha.on(lock).size() > before; }, 10s));
  auto cfg = last_json(ha, lock);
  EXPECT_EQ(cfg["state_topic"], "pushgate/gw/terminal/SIMHA001/status");
  for (const auto& m : ha.on("homeassistant/lock/gw/pushgate_gw_SIMHA001_door1/config")) {
    EXPECT_TRUE(m.payload.empty()) << m.payload;
  }
  EXPECT_FALSE(ha.on("homeassistant/event/gw/pushgate_gw_SIMHA001_attendance/config").empty());
  // The lock's UNLOCK becomes an open_door command for the terminal.
  ha.publish("pushgate/gw/terminal/SIMHA001/door/1/set", "UNLOCK");
  ASSERT_TRUE(wait_for(
      [&] {
        return h->query_int(
                   "SELECT COUNT(*) FROM commands WHERE verb = 'open_door' AND"
                   " terminal_sn = 'SIMHA001' AND origin = 'mqtt'") == 1;
      },
      10s));
  t->stop();
}

TEST_F(MqttBridgeTest, RestRequestOverMqttIsAnsweredByTheSameRouter) {
  auto h = gateway({"mqtt.api_requests=true", "terminals.SNAPI.name=Api"});
  Subscriber client(broker_->uri(), "bms");
  client.connect();
  client.subscribe("pushgate/gw/api/response/#");
  ASSERT_TRUE(wait_for([&] { return connected(*h); }, 10s));
  client.publish("pushgate/gw/api/request",
                 R"({"id":"r1","method":"POST","path":"/api/v1/terminals/SNAPI/commands",)"
                 R"("body":{"verb":"reboot","client_ref":"via-api"}})");
  client.publish("pushgate/gw/api/request", R"({"id":"r2","method":"GET","path":"/api/v1/nope"})");
  client.publish("pushgate/gw/api/request", R"({"id":"r3","path":"/etc/passwd"})");
  ASSERT_TRUE(wait_for(
      [&] {
        return !client.on("pushgate/gw/api/response/r1").empty() &&
               !client.on("pushgate/gw/api/response/r2").empty() &&
               !client.on("pushgate/gw/api/response/r3").empty();
      },
      10s));
  auto r1 = last_json(client, "pushgate/gw/api/response/r1");
  EXPECT_EQ(r1["status"], 202) << r1.dump();
  EXPECT_EQ(r1["body"]["verb"], "reboot");
  EXPECT_EQ(h->query_int("SELECT COUNT(*) FROM commands WHERE client_ref = 'via-api'"), 1);
  EXPECT_EQ(last_json(client, "pushgate/gw/api/response/r2")["status"], 404);
  EXPECT_EQ(last_json(client, "pushgate/gw/api/response/r3")["status"], 400);
}

// With api.auth = "required" (the default) the tunnel needs no credential
// (the broker authenticated its client; its ACL on the request topic is the
// credential) and what it changes is audited as "mqtt:<request topic>".
TEST_F(MqttBridgeTest, RestRequestOverMqttPassesTheGuardAndIsAudited) {
  auto h = gateway({"mqtt.api_requests=true", "api.auth=required", "terminals.SNAPI.name=Api"});
  Subscriber client(broker_->uri(), "bms");
  client.connect();
  client.subscribe("pushgate/gw/api/response/#");
  ASSERT_TRUE(wait_for([&] { return connected(*h); }, 10s));
  client.publish("pushgate/gw/api/request",
                 R"({"id":"a1","method":"POST","path":"/api/v1/terminals/SNAPI/commands",)"
                 R"("body":{"verb":"reboot","client_ref":"via-guard"}})");
  ASSERT_TRUE(wait_for([&] { return !client.on("pushgate/gw/api/response/a1").empty(); }, 10s));
  EXPECT_EQ(last_json(client, "pushgate/gw/api/response/a1")["status"], 202);
  EXPECT_TRUE(wait_for(
      [&] {
        return h->query_int(
                   "SELECT COUNT(*) FROM events WHERE kind = 12"
                   " AND json_extract(extra, '$.actor') = 'mqtt:pushgate/gw/api/request'"
                   " AND json_extract(extra, '$.from') = 'internal'"
                   " AND json_extract(extra, '$.target') = '/api/v1/terminals/SNAPI/commands'"
                   " AND json_extract(extra, '$.status') = 202") == 1;
      },
      10s));
}

// With a drain cap the backlog replays no faster than the cap, and a live
// event of a terminal without backlog goes out ahead of it, flagged live.
TEST(MqttDrainTest, CappedDrainLetsLiveEventOvertakeTheBacklog) {
  TempDir tmp;
  const auto port = free_port();
  GatewayHarness h({"gateway.id=cap", "mqtt.enabled=true",
                    "mqtt.server_uri=tcp://127.0.0.1:" + std::to_string(port),
                    "mqtt.reconnect_min_ms=100", "mqtt.reconnect_max_ms=200",
                    "mqtt.drain_max_per_s=1000", "mqtt.ha_discovery=false"});
  auto event = [](const std::string& sn, int n) {
    Event e;
    e.terminal_sn = sn;
    e.record_key = "ATTLOG\t" + std::to_string(n);
    e.kind = EventKind::Attendance;
    e.local_time = "2026-11-21 08:00:00";
    e.pin = std::to_string(n);
    e.raw = e.pin;
    e.received_ms = 1795248000000;
    return e;
  };
  constexpr int kBacklog = 3000;
  std::promise<void> stored;
  WriteBatch backlog;
  for (int i = 0; i < kBacklog; ++i) {
    backlog.events.push_back(event("CAPOLD", i));
  }
  h.gateway().store().append(std::move(backlog), [&](CommitResult r) {
    EXPECT_FALSE(r.ec);
    stored.set_value();
  });
  stored.get_future().wait();

  Mosquitto broker(tmp.path() / "broker", {{port, {}}});
  broker.start();
  Subscriber sub(broker.uri(), "cap-consumer");
  sub.connect();
  sub.subscribe("pushgate/cap/terminal/+/event/#");
  auto& m = h.gateway().metrics();
  ASSERT_TRUE(wait_for([&] { return m.value("pushgate_mqtt_connected") == 1; }, 10s));
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(wait_for([&] { return sub.count() >= 200; }, 10s));
  WriteBatch live;
  live.events.push_back(event("CAPNEW", 1));
  h.gateway().store().append(std::move(live), [](CommitResult) {});
  const std::string live_topic = "pushgate/cap/terminal/CAPNEW/event/attendance";
  ASSERT_TRUE(wait_for([&] { return !sub.on(live_topic).empty(); }, 5s));
  EXPECT_EQ(json::parse(sub.on(live_topic).front().payload)["replay"], false);
  EXPECT_LT(sub.on("pushgate/cap/terminal/CAPOLD/event/attendance").size(),
            static_cast<std::size_t>(kBacklog))
      << "the live event did not overtake the backlog";
  ASSERT_TRUE(wait_for([&] { return m.value("pushgate_mqtt_acked_total") >= kBacklog + 1; }, 20s));
  auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // 3000 at 1000/s (a burst of at most 100 ahead): not under 2.5 s.
  EXPECT_GE(secs, 2.5) << "the drain ran past its cap";
  auto old = sub.on("pushgate/cap/terminal/CAPOLD/event/attendance");
  ASSERT_EQ(old.size(), static_cast<std::size_t>(kBacklog));
  for (std::size_t i = 0; i < old.size(); ++i) {
    ASSERT_EQ(json::parse(old[i].payload)["seq"], static_cast<std::int64_t>(i + 1));
  }
}

// The broker goes away in the middle of a drain and comes back: the bridge
// reconnects (jittered), resumes from its cursor and nothing is lost.
// Stores `count` punches straight into the log, spread over `terminals`
// terminals named `prefix`0, `prefix`1, ….
void append_punches(GatewayHarness& h, const std::string& prefix, int terminals, int count) {
  WriteBatch b;
  for (int i = 0; i < count; ++i) {
    Event e;
    e.terminal_sn = prefix + std::to_string(i % terminals);
    e.record_key = "ATTLOG\t" + std::to_string(i);
    e.kind = EventKind::Attendance;
    e.local_time = "2026-11-21 08:00:00";
    e.pin = std::to_string(i);
    e.raw = e.pin;
    e.received_ms = 1795248000000;
    b.events.push_back(std::move(e));
  }
  h.gateway().store().append(std::move(b), [](CommitResult r) { EXPECT_FALSE(r.ec); });
}

TEST(MqttDrainTest, BrokerRestartMidDrainLosesNothing) {
  TempDir tmp;
  const auto port = free_port();
  Mosquitto broker(tmp.path() / "broker", {{port, {}}}, /*persistence=*/true);
  broker.start();
  std::mutex mutex;
  std::set<std::int64_t> ids;
  std::map<std::string, std::int64_t> last_seq;
  std::size_t out_of_order = 0;
  Subscriber sub(broker.uri(), "restart-consumer");
  sub.set_hook([&](const Received& r) {
    auto j = json::parse(r.payload);
    std::lock_guard lock(mutex);
    if (!ids.insert(j["id"].get<std::int64_t>()).second) {
      return;  // a duplicate, dropped by id
    }
    auto& last = last_seq[j["terminal"].get<std::string>()];
    if (j["seq"].get<std::int64_t>() != last + 1) {
      ++out_of_order;
    }
    last = j["seq"].get<std::int64_t>();
  });
  sub.connect(/*clean=*/false);
  sub.subscribe("pushgate/rs/terminal/+/event/#");
  GatewayHarness h({"gateway.id=rs", "mqtt.enabled=true", "mqtt.server_uri=" + broker.uri(),
                    "mqtt.reconnect_min_ms=100", "mqtt.reconnect_max_ms=300",
                    "mqtt.ha_discovery=false"});
  auto& m = h.gateway().metrics();
  ASSERT_TRUE(wait_for([&] { return m.value("pushgate_mqtt_connected") == 1; }, 10s));
  constexpr int kEvents = 30000;
  append_punches(h, "RS", 5, kEvents);
  auto distinct = [&] {
    std::lock_guard lock(mutex);
    return ids.size();
  };
  ASSERT_TRUE(wait_for([&] { return distinct() >= 3000; }, 20s));
  broker.stop(SIGTERM);  // saves the consumer's session and what is queued for it
  ASSERT_TRUE(wait_for([&] { return m.value("pushgate_mqtt_connected") == 0; }, 10s));
  auto at_stop = distinct();
  std::this_thread::sleep_for(500ms);
  broker.start();
  sub.connect(/*clean=*/false);
  ASSERT_TRUE(wait_for([&] { return distinct() >= static_cast<std::size_t>(kEvents); }, 60s))
      << distinct() << " of " << kEvents << " (" << at_stop << " before the restart)";
  EXPECT_LT(at_stop, static_cast<std::size_t>(kEvents)) << "the drain ended before the restart";
  EXPECT_GE(m.value("pushgate_mqtt_connections_lost_total"), 1);
  std::lock_guard lock(mutex);
  EXPECT_EQ(ids.size(), static_cast<std::size_t>(kEvents));
  EXPECT_EQ(out_of_order, 0u);
}

TEST(MqttDrainTest, BrokerThatStopsAcknowledgingIsLeftAndEverythingSentAgain) {
  TempDir tmp;
  Mosquitto broker(tmp.path() / "broker", {{free_port(), {}}});
  broker.start();
  std::mutex mutex;
  std::set<std::int64_t> ids;
  Subscriber sub(broker.uri(), "ack-consumer");
  sub.set_hook([&](const Received& r) {
    auto j = json::parse(r.payload);
    std::lock_guard lock(mutex);
    ids.insert(j["id"].get<std::int64_t>());
  });
  sub.connect();
  sub.subscribe("pushgate/ack/terminal/+/event/#");
  GatewayHarness h({"gateway.id=ack", "mqtt.enabled=true", "mqtt.server_uri=" + broker.uri(),
                    "mqtt.reconnect_min_ms=100", "mqtt.reconnect_max_ms=300",
                    "mqtt.connect_timeout_s=1", "mqtt.ack_timeout_s=2", "mqtt.ha_discovery=false"});
  auto& m = h.gateway().metrics();
  ASSERT_TRUE(wait_for([&] { return m.value("pushgate_mqtt_connected") == 1; }, 10s));
  broker.signal(SIGSTOP);  // connections stay up; no PUBACK will come
  constexpr int kEvents = 300;
  append_punches(h, "ACK", 3, kEvents);
  const bool timed_out =
      wait_for([&] { return m.value("pushgate_mqtt_ack_timeouts_total") >= 1; }, 15s);
  const double acked_while_stopped = m.value("pushgate_mqtt_acked_total");
  broker.signal(SIGCONT);
  ASSERT_TRUE(timed_out) << "the window stayed full without PUBACKs and nothing noticed";
  EXPECT_EQ(acked_while_stopped, 0);
  auto distinct = [&] {
    std::lock_guard lock(mutex);
    return ids.size();
  };
  ASSERT_TRUE(wait_for([&] { return distinct() >= static_cast<std::size_t>(kEvents); }, 30s))
      << distinct() << " of " << kEvents;
  EXPECT_TRUE(wait_for([&] { return m.value("pushgate_mqtt_acked_total") >= kEvents; }, 10s));
  EXPECT_GE(m.value("pushgate_mqtt_connects_total"), 2);
}

// TLS: a CA, a broker certificate and a client certificate made with
// openssl for this test; the broker requires the client certificate.
class MqttTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = tmp_.path().string();
    const std::string script =
        "set -e; cd " + d +
        "; openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=pushgate-test-ca"
        " -keyout ca.key -out ca.crt 2>/dev/null"
        "; openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout server.key"
        " -out server.csr 2>/dev/null"
        "; printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > san.ext"
        "; openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2"
        " -extfile san.ext -out server.crt 2>/dev/null"
        "; openssl req -newkey rsa:2048 -nodes -subj /CN=pushgate-gw -keyout client.key"
        " -out client.csr 2>/dev/null"
        "; openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2"
        " -out client.crt 2>/dev/null"
        "; openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=other-ca"
        " -keyout other.key -out other.crt 2>/dev/null";
    ASSERT_EQ(std::system(script.c_str()), 0) << "openssl failed";
    tls_port_ = free_port();
    broker_ = std::make_unique<Mosquitto>(
        tmp_.path() / "broker",
        std::vector<Mosquitto::Listener>{
            {free_port(), {}},
            {tls_port_,
             {"cafile " + d + "/ca.crt", "certfile " + d + "/server.crt",
              "keyfile " + d + "/server.key", "require_certificate true", "tls_version tlsv1.2"}}});
    broker_->start();
  }
  std::string file(const char* name) const { return (tmp_.path() / name).string(); }

  TempDir tmp_;
  std::uint16_t tls_port_ = 0;
  std::unique_ptr<Mosquitto> broker_;
};

TEST_F(MqttTlsTest, ConnectsWithTestCaAndClientCertificate) {
  Subscriber watcher(broker_->uri(0), "watcher");
  watcher.connect();
  watcher.subscribe("pushgate/tls/status");
  GatewayHarness h({"gateway.id=tls", "mqtt.enabled=true",
                    "mqtt.server_uri=ssl://127.0.0.1:" + std::to_string(tls_port_),
                    "mqtt.tls_ca_file=" + file("ca.crt"),
                    "mqtt.tls_cert_file=" + file("client.crt"),
                    "mqtt.tls_key_file=" + file("client.key")});
  ASSERT_TRUE(wait_for(
      [&] {
        auto m = watcher.on("pushgate/tls/status");
        return !m.empty() && m.back().payload == "online";
      },
      15s));
  EXPECT_EQ(h.gateway().metrics().value("pushgate_mqtt_connected"), 1);
}

TEST_F(MqttTlsTest, RefusesBrokerSignedByAnotherCa) {
  GatewayHarness h({"gateway.id=tls2", "mqtt.enabled=true",
                    "mqtt.server_uri=ssl://127.0.0.1:" + std::to_string(tls_port_),
                    "mqtt.tls_ca_file=" + file("other.crt"),
                    "mqtt.tls_cert_file=" + file("client.crt"),
                    "mqtt.tls_key_file=" + file("client.key"), "mqtt.reconnect_min_ms=100",
                    "mqtt.reconnect_max_ms=200"});
  ASSERT_TRUE(wait_for(
      [&] { return h.gateway().metrics().value("pushgate_mqtt_connect_failures_total") >= 2; },
      15s));
  EXPECT_EQ(h.gateway().metrics().value("pushgate_mqtt_connected"), 0);
}

}  // namespace
}  // namespace pushgate::test
