// Issue 17's acceptance point: an MQTT open_door for a Suprema door reaches
// the BioStar 2 server (the simulated server of tests/sim, HTTPS over
// loopback, its certificate pinned) and the result comes back on MQTT. Real
// mosquitto, the in-process gateway with the MQTT bridge and the Suprema
// adapter.
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "adapters/mqtt/mqtt_adapter.hpp"
#include "tests/integration/mqtt/mqtt_fixture.hpp"
#include "tests/sim/biostar2_server.hpp"
#include "tests/support/gateway_harness.hpp"

namespace pushgate::test {
namespace {

namespace sim = pushgate::sim::biostar2;
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

TEST(MqttSupremaCommand, OpenDoorOverMqttOpensTheSupremaDoorAndTheResultComesBack) {
  TempDir tmp;
  Mosquitto broker(tmp.path() / "broker", std::vector<Mosquitto::Listener>{{free_port(), {}}});
  broker.start();
  sim::BioStar2Config sc;
  sc.doors_per_device = 2;
  sim::BioStar2Server server(sc);
  const auto cert = tmp.path() / "biostar2.pem";
  std::ofstream(cert) << server.certificate_pem();
  const std::string sn = std::to_string(sc.first_device_id);
  GatewayHarness h(
      {"gateway.id=gw", "mqtt.enabled=true", "mqtt.server_uri=" + broker.uri(),
       "mqtt.reconnect_min_ms=100", "mqtt.reconnect_max_ms=500", "suprema.enabled=true",
       "suprema.reconnect_min_ms=100", "suprema.servers.site.host=127.0.0.1",
       "suprema.servers.site.port=" + std::to_string(server.port()),
       "suprema.servers.site.ca_file=" + cert.string(), "suprema.servers.site.user=" + sc.login_id,
       "suprema.servers.site.password=" + sc.password});
  Subscriber client(broker.uri(), "bms");
  client.connect();
  client.subscribe("pushgate/gw/command/result/#");
  ASSERT_TRUE(wait_for(
      [&] {
        auto* a = dynamic_cast<adapters::mqtt::MqttAdapter*>(h.gateway().adapter("mqtt"));
        return a != nullptr && a->connected_for_test();
      },
      10s));
  // The BioStar device is a terminal once the adapter logged in and listed it.
  ASSERT_TRUE(wait_for(
      [&] { return h.query_int("SELECT COUNT(*) FROM terminals WHERE sn = ?", {sn}) == 1; }, 10s));
  ASSERT_EQ(server.doors().at(1).opens, 0u);
  client.publish("pushgate/gw/command", R"({"id":"gate-2","terminal":")" + sn +
                                            R"(","verb":"open_door","params":{"door":2}})");
  json result;
  ASSERT_TRUE(wait_for(
      [&] { return saw_state(client, "pushgate/gw/command/result/gate-2", "done", &result); },
      15s));
  EXPECT_EQ(server.doors().at(1).opens, 1u);  // BioStar door 2: the gateway's door 2
  EXPECT_EQ(server.doors().at(0).opens, 0u);
  EXPECT_EQ(server.requests_seen("POST /api/doors/open"), 1u);
  EXPECT_EQ(result.value("verb", ""), "open_door");
}

}  // namespace
}  // namespace pushgate::test
