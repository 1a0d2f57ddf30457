// Issue 16 item 8: the Dahua link state (online / offline / auth_failed /
// backfilling) in the retained MQTT terminal status and the Modbus terminal
// slot, as soon as the link changes, not after terminal_offline_after_s of
// silence. Real mosquitto, libmodbus's client, the simulated Dahua device of
// tests/sim, the in-process gateway with the MQTT, Modbus and Dahua adapters.
#include <gtest/gtest.h>
#include <modbus/modbus.h>

#include <cerrno>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "adapters/modbus/modbus_adapter.hpp"
#include "adapters/mqtt/mqtt_adapter.hpp"
#include "tests/integration/mqtt/mqtt_fixture.hpp"
#include "tests/sim/dahua_device.hpp"
#include "tests/support/gateway_harness.hpp"

namespace pushgate::test {
namespace {

namespace sim = pushgate::sim::dahua;
using nlohmann::json;
using namespace std::chrono_literals;

/** The last status message on `topic` (an empty object when none yet). */
json last_status(const Subscriber& s, const std::string& topic) {
  auto messages = s.on(topic);
  for (auto it = messages.rbegin(); it != messages.rend(); ++it) {
    auto j = json::parse(it->payload, nullptr, false);
    if (j.is_object()) {
      return j;
    }
  }
  return json::object();
}

/** Input register slot_state of Modbus slot `slot` (0 empty, 1 offline, 2 online); -1 on error. */
int slot_state(std::uint16_t port, int slot) {
  modbus_t* ctx = modbus_new_tcp("127.0.0.1", port);
  if (ctx == nullptr) {
    return -1;
  }
  modbus_set_slave(ctx, 255);
  int out = -1;
  if (modbus_connect(ctx) == 0) {
    std::uint16_t r = 0;
    if (modbus_read_input_registers(ctx, 100 + (slot - 1) * 64, 1, &r) == 1) {
      out = r;
    }
    modbus_close(ctx);
  }
  modbus_free(ctx);
  return out;
}

TEST(MqttDahuaStatus, LinkStateReachesTheRetainedStatusAndTheModbusSlotAtOnce) {
  TempDir tmp;
  Mosquitto broker(tmp.path() / "broker", std::vector<Mosquitto::Listener>{{free_port(), {}}});
  broker.start();
  sim::DahuaDeviceConfig dc;
  dc.serial = "DHSTAT0001";
  dc.heartbeat_unit = 1000ms;
  sim::DahuaDevice device(dc);
  // terminal_offline_after_s / offline_after far longer than the test: only
  // the link state can make the terminal offline in time.
  GatewayHarness h({"gateway.id=gw",
                    "mqtt.enabled=true",
                    "mqtt.server_uri=" + broker.uri(),
                    "mqtt.reconnect_min_ms=100",
                    "mqtt.reconnect_max_ms=500",
                    "mqtt.terminal_offline_after_s=3600",
                    "modbus.enabled=true",
                    "modbus.listen=127.0.0.1",
                    "modbus.port=0",
                    "modbus.slot_count=4",
                    "modbus.refresh_ms=100",
                    "modbus.offline_after_s=3600",
                    "dahua.enabled=true",
                    "dahua.heartbeat_s=1",
                    "dahua.reconnect_min_ms=100",
                    "dahua.reconnect_max_s=1",
                    "dahua.auth_attempts_per_hour=1",
                    "dahua.devices.door1.host=127.0.0.1",
                    "dahua.devices.door1.port=" + std::to_string(device.port()),
                    "dahua.devices.door1.user=admin",
                    "dahua.devices.door1.password=admin123"});
  auto& mb = *dynamic_cast<adapters::modbus::ModbusAdapter*>(h.gateway().adapter("modbus"));
  Subscriber client(broker.uri(), "bms");
  client.connect();
  const std::string topic = "pushgate/gw/terminal/DHSTAT0001/status";
  client.subscribe(topic);

  json st;
  ASSERT_TRUE(wait_for(
      [&] {
        st = last_status(client, topic);
        return st.value("link", "") == "online";
      },
      15s))
      << st.dump();
  EXPECT_EQ(st["online"], true);
  EXPECT_EQ(st["link_reason"], nullptr);
  ASSERT_TRUE(wait_for([&] { return mb.slot_serial(1) == "DHSTAT0001"; }, 10s));
  EXPECT_TRUE(wait_for([&] { return slot_state(mb.port(), 1) == 2; }, 5s));

  // The device goes away: offline with the reason, though it was heard from
  // a moment ago.
  device.reboot();
  ASSERT_TRUE(wait_for(
      [&] {
        st = last_status(client, topic);
        return st.value("link", "") == "offline";
      },
      15s))
      << st.dump();
  EXPECT_EQ(st["online"], false);
  EXPECT_TRUE(st["link_reason"].is_string() && !st["link_reason"].get<std::string>().empty())
      << st.dump();
  EXPECT_TRUE(wait_for([&] { return slot_state(mb.port(), 1) == 1; }, 5s))
      << slot_state(mb.port(), 1);

  // Back, with a password the gateway does not have: auth_failed, offline.
  device.set_password("changed-on-site");
  device.power_on();
  ASSERT_TRUE(wait_for(
      [&] {
        st = last_status(client, topic);
        return st.value("link", "") == "auth_failed";
      },
      15s))
      << st.dump();
  EXPECT_EQ(st["online"], false);
  EXPECT_NE(st.value("link_reason", "").find("refused"), std::string::npos) << st.dump();
  EXPECT_EQ(slot_state(mb.port(), 1), 1);

  // A new subscriber (a BMS restarting) gets the state from the retained message.
  Subscriber late(broker.uri(), "late");
  late.connect();
  late.subscribe(topic);
  ASSERT_TRUE(wait_for([&] { return !late.on(topic).empty(); }, 10s));
  EXPECT_EQ(last_status(late, topic).value("link", ""), "auth_failed");
  EXPECT_TRUE(late.on(topic).back().retained);
}

}  // namespace
}  // namespace pushgate::test
