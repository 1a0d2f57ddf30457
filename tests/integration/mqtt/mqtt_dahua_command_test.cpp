// Issue 16's acceptance point: an MQTT open_door for a Dahua door reaches the
// device (the simulated Dahua terminal of tests/sim, over loopback) and the
// result comes back on MQTT. Real mosquitto, the in-process gateway with the
// MQTT bridge and the Dahua adapter.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "adapters/mqtt/mqtt_adapter.hpp"
#include "tests/integration/mqtt/mqtt_fixture.hpp"
#include "tests/sim/dahua_device.hpp"
#include "tests/support/gateway_harness.hpp"

namespace pushgate::test {
namespace {

namespace sim = pushgate::sim::dahua;
using nlohmann::json;
using namespace std::chrono_literals;

bool saw_state(const Subscriber& s, const std::string& topic, const std::string& state,
               json* last = nullptr) {
  for (const auto& m : s.on(topic)) {
    auto j = json::parse(m.payload, nullptr, false);
    if (!j.is_discarded() && j.value("state", "") == state) {
      if (last != nullptr) {
        *last = j;
      }
      return true;
    }
  }
  return false;
}

TEST(MqttDahuaCommand, OpenDoorOverMqttOpensTheDahuaDoorAndTheResultComesBack) {
  TempDir tmp;
  Mosquitto broker(tmp.path() / "broker", std::vector<Mosquitto::Listener>{{free_port(), {}}});
  broker.start();
  sim::DahuaDeviceConfig dc;
  dc.serial = "DHMQTT0001";
  sim::DahuaDevice device(dc);
  GatewayHarness h({"gateway.id=gw", "mqtt.enabled=true", "mqtt.server_uri=" + broker.uri(),
                    "mqtt.reconnect_min_ms=100", "mqtt.reconnect_max_ms=500", "dahua.enabled=true",
                    "dahua.heartbeat_s=1", "dahua.reconnect_min_ms=100",
                    "dahua.devices.door1.host=127.0.0.1",
                    "dahua.devices.door1.port=" + std::to_string(device.port()),
                    "dahua.devices.door1.user=admin", "dahua.devices.door1.password=admin123"});
  Subscriber client(broker.uri(), "bms");
  client.connect();
  client.subscribe("pushgate/gw/command/result/#");
  ASSERT_TRUE(wait_for(
      [&] {
        auto* a = dynamic_cast<adapters::mqtt::MqttAdapter*>(h.gateway().adapter("mqtt"));
        return a != nullptr && a->connected_for_test();
      },
      10s));
  // The device is a terminal once the adapter logged in (its serial).
  ASSERT_TRUE(wait_for(
      [&] {
        return h.query_int("SELECT COUNT(*) FROM terminals WHERE sn = ?", {device.serial()}) == 1;
      },
      10s));
  ASSERT_EQ(device.door_status(1), "Close");
  client.publish(
      "pushgate/gw/command",
      R"({"id":"gate-2","terminal":"DHMQTT0001","verb":"open_door","params":{"door":2}})");
  json result;
  ASSERT_TRUE(wait_for(
      [&] { return saw_state(client, "pushgate/gw/command/result/gate-2", "done", &result); },
      15s));
  EXPECT_EQ(device.door_status(1), "Open");
  EXPECT_EQ(device.requests_seen("/cgi-bin/accessControl.cgi?action=openDoor"), 1U);
  EXPECT_EQ(result.value("verb", ""), "open_door");
}

}  // namespace
}  // namespace pushgate::test
