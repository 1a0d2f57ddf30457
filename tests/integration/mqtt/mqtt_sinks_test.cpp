// The sinks against a real mosquitto (and libmodbus's client for the
// Modbus map): the gateway's own event source is never a terminal,
// /readyz sees the uplink's backlog, Home Assistant discovery in the form
// current Home Assistant reads, one result per command state, and a stop
// that a silent broker cannot hold up.
#include <gtest/gtest.h>
#include <modbus/modbus.h>

#include <signal.h>

#include <cerrno>
#include <chrono>
#include <future>
#include <set>

#include <nlohmann/json.hpp>

#include "adapters/modbus/modbus_adapter.hpp"
#include "adapters/mqtt/mqtt_adapter.hpp"
#include "adapters/zkpush/zkpush_device_model.hpp"
#include "gateway/store/store.hpp"
#include "gateway/terminals.hpp"
#include "tests/integration/mqtt/mqtt_fixture.hpp"
#include "tests/support/gateway_harness.hpp"

namespace pushgate::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A terminal talks to the gateway (as zkpush records it), with `flavour`.
void seen(GatewayHarness& h, const std::string& sn, const std::string& flavour = "attendance") {
  bool persist = false;
  h.gateway().terminals().seen(sn, "127.0.0.1", now_ms(), persist);
  auto r = h.gateway().terminals().update(sn, [&](TerminalRecord& t) {
    t.flavour = flavour;
    adapters::zkpush::describe_terminal(t);  // doors, as zkpush describes the flavour
  });
  WriteBatch b;
  b.ops.push_back(TerminalRegistry::persist_op(r));
  h.gateway().store().append(std::move(b), [](CommitResult c) { EXPECT_FALSE(c.ec); });
}

// Commits one event of `sn` received `age_ms` ago and waits for the commit.
void append_event(GatewayHarness& h, const std::string& sn, EventKind kind, const std::string& key,
                  std::int64_t age_ms = 0) {
  WriteBatch b;
  Event e;
  e.terminal_sn = sn;
  e.record_key = key;
  e.kind = kind;
  e.local_time = "2026-12-01 08:00:00";
  e.pin = "1";
  e.raw = key;
  if (kind == EventKind::Timecard) {
    e.extra_json = R"({"pin":"1","day":"2026-12-01"})";
  }
  e.received_ms = now_ms() - age_ms;
  b.events.push_back(std::move(e));
  std::promise<bool> done;
  auto f = done.get_future();
  h.gateway().store().append(std::move(b), [&done](CommitResult r) { done.set_value(!r.ec); });
  ASSERT_EQ(f.wait_for(10s), std::future_status::ready);
  ASSERT_TRUE(f.get());
}

json parse(const std::string& s) {
  return json::parse(s, nullptr, false);
}

json last_json(const Subscriber& s, const std::string& topic) {
  auto msgs = s.on(topic);
  return msgs.empty() ? json(nullptr) : parse(msgs.back().payload);
}

// Topics on which a non-empty message arrived (empty retained ones remove).
std::set<std::string> non_empty_topics(const Subscriber& s) {
  std::set<std::string> out;
  for (const auto& m : s.messages()) {
    if (!m.payload.empty()) {
      out.insert(m.topic);
    }
  }
  return out;
}

std::string modbus_serial(std::uint16_t port, int slot) {
  modbus_t* ctx = modbus_new_tcp("127.0.0.1", port);
  modbus_set_slave(ctx, 255);
  std::string s;
  if (modbus_connect(ctx) != 0) {
    modbus_free(ctx);
    return "<" + std::string(modbus_strerror(errno)) + ">";
  }
  std::uint16_t r[10] = {};
  if (modbus_read_input_registers(ctx, 100 + (slot - 1) * 64 + 2, 10, r) == 10) {
    for (auto w : r) {
      for (char c : {static_cast<char>(w >> 8), static_cast<char>(w & 0xFF)}) {
        if (c != 0) {
          s += c;
        }
      }
    }
  } else {
    s = "<error>";
  }
  modbus_close(ctx);
  modbus_free(ctx);
  return s;
}

class MqttSinksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    broker_ = std::make_unique<Mosquitto>(tmp_.path() / "broker",
                                          std::vector<Mosquitto::Listener>{{free_port(), {}}});
    broker_->start();
  }

  std::unique_ptr<GatewayHarness> gateway(std::vector<std::string> extra = {},
                                          std::filesystem::path dir = {}) {
    std::vector<std::string> sets = {"gateway.id=gw", "mqtt.enabled=true",
                                     "mqtt.server_uri=" + broker_->uri(),
                                     "mqtt.reconnect_min_ms=100", "mqtt.reconnect_max_ms=300"};
    sets.insert(sets.end(), extra.begin(), extra.end());
    return std::make_unique<GatewayHarness>(sets, dir);
  }

  static bool connected(GatewayHarness& h) {
    auto* a = dynamic_cast<adapters::mqtt::MqttAdapter*>(h.gateway().adapter("mqtt"));
    return a != nullptr && a->connected_for_test();
  }

  TempDir tmp_;
  std::unique_ptr<Mosquitto> broker_;
};

// Issue 13 item 5: timecards are written under gateway.id. After a restart
// that source was taken for a terminal: a retained status, a Home Assistant
// device with a lock, and a Modbus slot that pushed every later terminal
// one slot down.
TEST_F(MqttSinksTest, GatewaysOwnSourceIsNeverATerminal) {
  TempDir data;
  const std::vector<std::string> modbus = {"modbus.enabled=true", "modbus.listen=127.0.0.1",
                                           "modbus.port=0", "modbus.slot_count=4",
                                           "modbus.refresh_ms=100"};
  {
    auto h = gateway(modbus, data.path());
    auto& mb = *dynamic_cast<adapters::modbus::ModbusAdapter*>(h->gateway().adapter("modbus"));
    seen(*h, "T1");
    ASSERT_TRUE(wait_for([&] { return mb.slot_serial(1) == "T1"; }, 10s));
    append_event(*h, "gw", EventKind::Timecard, "TIMECARD\t1\t2026-12-01\t1\tdigest");
    h->stop();
  }
  auto h = gateway(modbus, data.path());
  auto& mb = *dynamic_cast<adapters::modbus::ModbusAdapter*>(h->gateway().adapter("modbus"));
  ASSERT_TRUE(wait_for([&] { return connected(*h); }, 10s));
  Subscriber ha(broker_->uri(), "ha");
  ha.connect();
  ha.subscribe("pushgate/gw/#");
  ha.subscribe("homeassistant/#");
  seen(*h, "T2", "access");
  // The next terminal gets the next slot: 2, as a BMS configured for it expects.
  ASSERT_TRUE(wait_for([&] { return mb.slot_serial(2) == "T2"; }, 10s))
      << "slot 2: " << mb.slot_serial(2) << ", slot 3: " << mb.slot_serial(3);
  EXPECT_TRUE(wait_for([&] { return modbus_serial(mb.port(), 2) == "T2"; }, 5s));
  for (int slot = 1; slot <= 4; ++slot) {
    EXPECT_NE(mb.slot_serial(static_cast<std::uint16_t>(slot)), "gw") << "slot " << slot;
  }
  ASSERT_TRUE(wait_for(
      [&] {
        return !ha.on("homeassistant/lock/gw/pushgate_gw_T2_door1/config").empty() &&
               !ha.on("pushgate/gw/terminal/T2/status").empty();
      },
      10s));
  // Retained messages (T1's status) have arrived: anything about gw would have too.
  ASSERT_TRUE(wait_for([&] { return !ha.on("pushgate/gw/terminal/T1/status").empty(); }, 10s));
  for (const auto& topic : non_empty_topics(ha)) {
    EXPECT_EQ(topic.find("pushgate/gw/terminal/gw/status"), std::string::npos) << topic;
    EXPECT_EQ(topic.find("pushgate_gw_gw"), std::string::npos) << topic;
  }
  // The REST API does not list it either.
  auto terminals = parse(http_request(h->api_port(), "GET", "/api/v1/terminals").body);
  for (const auto& t : terminals["terminals"]) {
    EXPECT_NE(t["sn"], "gw");
  }
  h->stop();
  EXPECT_EQ(h->query_int("SELECT COUNT(*) FROM adapter_state WHERE adapter = 'modbus'"
                         " AND value ->> 'sn' = 'gw'"),
            0);
}

// Issue 13 item 8: default_entity_id (object_id is ignored by Home Assistant
// since 2026.4), unknown until reported, availability of gateway and
// terminal, the origin block, and no lock on an attendance terminal.
TEST_F(MqttSinksTest, HomeAssistantDiscoveryAsCurrentHomeAssistantReadsIt) {
  auto h = gateway();
  ASSERT_TRUE(wait_for([&] { return connected(*h); }, 10s));
  Subscriber ha(broker_->uri(), "ha");
  ha.connect();
  ha.subscribe("homeassistant/#");
  ha.subscribe("pushgate/gw/terminal/+/door/#");
  seen(*h, "Door-Ctl.7", "access");
  seen(*h, "ATT1", "attendance");
  const std::string lock = "homeassistant/lock/gw/pushgate_gw_Door-Ctl.7_door1/config";
  const std::string contact =
      "homeassistant/binary_sensor/gw/pushgate_gw_Door-Ctl.7_door1_contact/config";
  const std::string att_conn =
      "homeassistant/binary_sensor/gw/pushgate_gw_ATT1_connectivity/config";
  ASSERT_TRUE(wait_for(
      [&] {
        return !ha.on(lock).empty() && !ha.on(contact).empty() && !ha.on(att_conn).empty() &&
               !ha.on("homeassistant/event/gw/pushgate_gw_ATT1_attendance/config").empty();
      },
      10s));
  auto l = last_json(ha, lock);
  EXPECT_FALSE(l.contains("object_id")) << l.dump();
  EXPECT_EQ(l["default_entity_id"], "lock.pushgate_gw_door_ctl_7_door1");
  EXPECT_EQ(l["unique_id"], "pushgate_gw_Door-Ctl.7_door1");
  EXPECT_EQ(l["origin"]["name"], "pushgate");
  EXPECT_TRUE(l["origin"]["sw_version"].is_string());
  EXPECT_EQ(l["availability_mode"], "all");
  ASSERT_EQ(l["availability"].size(), 2U);
  EXPECT_EQ(l["availability"][0]["topic"], "pushgate/gw/status");
  EXPECT_EQ(l["availability"][1]["topic"], "pushgate/gw/terminal/Door-Ctl.7/status");
  // Never reported: no state message, and the template says None (unknown)
  // for a payload without a relay, never LOCKED.
  const auto tpl = l["value_template"].get<std::string>();
  EXPECT_NE(tpl.find("None"), std::string::npos) << tpl;
  EXPECT_NE(tpl.find("'disconnected' %}LOCKED"), std::string::npos) << tpl;
  EXPECT_TRUE(ha.on("pushgate/gw/terminal/Door-Ctl.7/door/1/state").empty());
  auto c = last_json(ha, contact);
  EXPECT_EQ(c["default_entity_id"], "binary_sensor.pushgate_gw_door_ctl_7_door1_contact");
  EXPECT_NE(c["value_template"].get<std::string>().find("None"), std::string::npos);
  // Connectivity says itself whether the terminal is there: only the gateway gates it.
  auto conn = last_json(ha, att_conn);
  EXPECT_EQ(conn["default_entity_id"], "binary_sensor.pushgate_gw_att1_connectivity");
  ASSERT_EQ(conn["availability"].size(), 1U);
  EXPECT_EQ(conn["availability"][0]["topic"], "pushgate/gw/status");
  // Attendance PUSH has no doors: no lock (an empty retained config removes one).
  for (const auto& m : ha.on("homeassistant/lock/gw/pushgate_gw_ATT1_door1/config")) {
    EXPECT_TRUE(m.payload.empty()) << m.payload;
  }
  for (const auto& topic : non_empty_topics(ha)) {
    EXPECT_EQ(topic.find("ATT1_door"), std::string::npos) << topic;
  }
}

// Issue 13 item 6: /readyz reports the uplink and fails once the oldest
// event the broker has not acknowledged is older than
// health.max_backlog_age_s; /healthz stays about the process.
TEST_F(MqttSinksTest, ReadyzFailsWhileTheBacklogIsTooOldAndRecovers) {
  auto h = gateway({"health.max_backlog_age_s=60", "mqtt.ha_discovery=false"});
  ASSERT_TRUE(wait_for([&] { return connected(*h); }, 10s));
  auto ready = [&] { return http_request(h->api_port(), "GET", "/readyz"); };
  ASSERT_TRUE(wait_for(
      [&] {
        auto r = parse(ready().body);
        return r.is_object() && r["sinks"]["mqtt"]["connected"] == true;
      },
      10s));
  EXPECT_EQ(ready().status, 200);
  broker_->stop(SIGKILL);
  ASSERT_TRUE(wait_for([&] { return !connected(*h); }, 10s));
  // A punch received 10 minutes ago (the terminal's backlog) waits for the broker.
  append_event(*h, "T1", EventKind::Attendance, "ATTLOG\told", 600'000);
  ASSERT_TRUE(wait_for([&] { return ready().status == 503; }, 10s)) << ready().body;
  auto r = parse(ready().body);
  EXPECT_EQ(r["status"], "failing");
  ASSERT_TRUE(r["failing"]["mqtt"].is_string()) << r.dump();
  EXPECT_NE(r["failing"]["mqtt"].get<std::string>().find("health.max_backlog_age_s"),
            std::string::npos);
  EXPECT_EQ(r["sinks"]["mqtt"]["connected"], false);
  EXPECT_TRUE(r["sinks"]["mqtt"]["since"].is_string());
  EXPECT_GE(r["sinks"]["mqtt"]["backlog_events"].get<std::int64_t>(), 1);
  EXPECT_GE(r["sinks"]["mqtt"]["backlog_oldest_age_s"].get<double>(), 599);
  EXPECT_EQ(http_request(h->api_port(), "GET", "/healthz").status, 200);
  EXPECT_GE(h->gateway().metrics().value("pushgate_sink_backlog_alarms_total", {{"sink", "mqtt"}}),
            1);
  // The broker returns, the backlog drains: ready again.
  broker_->start();
  ASSERT_TRUE(wait_for([&] { return ready().status == 200; }, 20s)) << ready().body;
  EXPECT_EQ(parse(ready().body)["sinks"]["mqtt"]["backlog_events"], 0);
}

// Issue 13 item 7: a command's queued result went out twice.
TEST_F(MqttSinksTest, QueuedResultIsPublishedOnce) {
  // A configured terminal that never connected: its commands are queued.
  auto h = gateway({"mqtt.ha_discovery=false", "terminals.OFFLINE1.name=Offline"});
  Subscriber client(broker_->uri(), "bms");
  client.connect();
  client.subscribe("pushgate/gw/command/result/#");
  ASSERT_TRUE(wait_for([&] { return connected(*h); }, 10s));
  client.publish("pushgate/gw/command", R"({"id":"c1","terminal":"OFFLINE1","verb":"info"})");
  client.publish("pushgate/gw/command", R"({"id":"c2","terminal":"OFFLINE1","verb":"info"})");
  // c2's result is published after every result of c1 (one thread, in order).
  ASSERT_TRUE(wait_for([&] { return !client.on("pushgate/gw/command/result/c2").empty(); }, 10s));
  auto c1 = client.on("pushgate/gw/command/result/c1");
  ASSERT_EQ(c1.size(), 1U);
  EXPECT_EQ(parse(c1[0].payload)["state"], "queued");
  EXPECT_EQ(client.on("pushgate/gw/command/result/c2").size(), 1U);
}

// Issue 13 item 7: stop took 3 s with the broker up and the whole 10 s
// deadline with a broker that answers nothing.
TEST_F(MqttSinksTest, StopIsQuickWithTheBrokerUp) {
  auto h = gateway({"mqtt.ha_discovery=false"});
  ASSERT_TRUE(wait_for([&] { return connected(*h); }, 10s));
  Subscriber client(broker_->uri(), "watcher");
  client.connect();
  client.subscribe("pushgate/gw/status");
  auto t0 = std::chrono::steady_clock::now();
  h->stop();
  auto took = std::chrono::steady_clock::now() - t0;
  RecordProperty(
      "stop_ms",
      static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(took).count()));
  EXPECT_LT(took, 2s) << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                      << " ms";
  ASSERT_TRUE(wait_for(
      [&] {
        return !client.on("pushgate/gw/status").empty() &&
               client.on("pushgate/gw/status").back().payload == "offline";
      },
      5s));
}

TEST_F(MqttSinksTest, StopIsQuickWithABrokerThatAnswersNothing) {
  auto h = gateway({"mqtt.ha_discovery=false"});
  ASSERT_TRUE(wait_for([&] { return connected(*h); }, 10s));
  broker_->signal(SIGSTOP);  // the connection stays up; nothing comes back
  auto t0 = std::chrono::steady_clock::now();
  h->stop();
  auto took = std::chrono::steady_clock::now() - t0;
  RecordProperty(
      "stop_ms",
      static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(took).count()));
  broker_->signal(SIGCONT);
  EXPECT_LT(took, 3s) << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                      << " ms";
}

TEST_F(MqttSinksTest, StopIsQuickWithTheBrokerGone) {
  auto h =
      gateway({"mqtt.ha_discovery=false", "mqtt.reconnect_min_ms=50", "mqtt.reconnect_max_ms=100"});
  ASSERT_TRUE(wait_for([&] { return connected(*h); }, 10s));
  broker_->stop(SIGKILL);
  ASSERT_TRUE(wait_for([&] { return !connected(*h); }, 10s));
  auto t0 = std::chrono::steady_clock::now();
  h->stop();
  auto took = std::chrono::steady_clock::now() - t0;
  RecordProperty(
      "stop_ms",
      static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(took).count()));
  EXPECT_LT(took, 3s) << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                      << " ms";
}

}  // namespace
}  // namespace pushgate::test
