// Suprema adapter figures (issue 17), through each of its two paths, in one
// run, on loopback:
//   BioStar 2 path (adapter `suprema`): one simulated BioStar 2 server
//     (tests/sim/biostar2_server, in this process, HTTPS with its self-signed
//     certificate pinned) managing --devices readers;
//   device-SDK path (adapter `suprema_sdk`): the fake device SDK
//     (tests/sim/fake_bs_sdk, loaded by the adapter through dlopen) with
//     --devices readers connected directly.
// For each path:
//   (a) live latency: every reader logs --rate access events a second for
//       --seconds; from the moment the event happens (the simulator records it)
//       until a subscriber of a real mosquitto receives it from the gateway
//       (stored with fsync first, then published): p50/p99/max;
//   (b) backfill: --backfill events logged on one reader before the gateway
//       starts, read at --page events a request: events/s until every one is
//       stored.
// Target (issue 17): (a) p99 < 20 ms. Figures only: nothing here asserts a
// time. The fake SDK's own thread looks at the device logs every 5 ms (as a
// device's link would deliver them), so up to 5 ms of each SDK-path figure
// is the simulator's.
//
// Usage: suprema_bench [--path both|biostar|sdk] [--devices 100] [--rate 10]
//                      [--seconds 10] [--backfill 100000] [--page 200]
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/bench/latency.hpp"
#include "tests/bench/proc_stats.hpp"
#include "tests/integration/mqtt/mqtt_fixture.hpp"
#include "tests/sim/biostar2_server.hpp"
#include "tests/sim/fake_bs_sdk/fake_bs_sdk.h"
#include "tests/support/gateway_harness.hpp"

using namespace pushgate;
using namespace pushgate::test;
namespace bsim = pushgate::sim::biostar2;
using Steady = std::chrono::steady_clock;

namespace {

struct Options {
  std::string path = "both";
  std::size_t devices = 100;
  double rate = 10;  // events a second per reader
  double seconds = 10;
  std::size_t backfill = 100000;
  std::size_t page = 200;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    std::string v = argv[i + 1];
    if (k == "--path") {
      o.path = v;
    } else if (k == "--devices") {
      o.devices = std::stoul(v);
    } else if (k == "--rate") {
      o.rate = std::stod(v);
    } else if (k == "--seconds") {
      o.seconds = std::stod(v);
    } else if (k == "--backfill") {
      o.backfill = std::stoul(v);
    } else if (k == "--page") {
      o.page = std::stoul(v);
    }
  }
  return o;
}

using Key = std::pair<std::string, std::string>;  // terminal serial, event id

/** The event id of a published event's `extra` (a number or a string). */
std::string event_id_of(const nlohmann::json& extra) {
  if (!extra.is_object() || !extra.contains("event_id")) {
    return {};
  }
  const auto& id = extra["event_id"];
  if (id.is_string()) {
    return id.get<std::string>();
  }
  if (id.is_number_integer()) {
    return std::to_string(id.get<std::int64_t>());
  }
  return {};
}

/** A path under test: its gateway keys, how to log one event on reader i, its metrics. */
struct PathUnderTest {
  std::string name;
  std::vector<std::string> keys;
  std::function<bool(Gateway&)> ready;                              // every reader online
  std::function<Key(std::size_t reader, std::size_t n)> log_event;  // returns its key
};

// (a) Live latency, the same measure for both paths.
bool live_latency(const Options& o, const std::string& broker_uri, PathUnderTest& p) {
  std::vector<std::string> keys = {"gateway.id=bench", "gateway.timezone=UTC", "mqtt.enabled=true",
                                   "mqtt.server_uri=" + broker_uri, "mqtt.ha_discovery=false"};
  keys.insert(keys.end(), p.keys.begin(), p.keys.end());
  GatewayHarness h(keys);
  auto& m = h.gateway().metrics();

  std::mutex mutex;
  std::map<Key, Steady::time_point> happened;
  std::map<Key, Steady::time_point> arrived;
  Subscriber sub(broker_uri, "bench-suprema-" + p.name);
  sub.set_hook([&](const Received& r) {
    const auto now = Steady::now();
    auto j = nlohmann::json::parse(r.payload, nullptr, false);
    if (j.is_discarded() || !j["terminal"].is_string()) {
      return;
    }
    auto id = event_id_of(j["extra"]);
    if (id.empty()) {
      return;
    }
    std::lock_guard lock(mutex);
    arrived.emplace(Key{j["terminal"].get<std::string>(), std::move(id)}, now);
  });
  sub.connect();
  sub.subscribe("pushgate/bench/terminal/+/event/#", 1);
  if (!wait_for([&] { return m.value("pushgate_mqtt_connected") == 1 && p.ready(h.gateway()); },
                std::chrono::seconds(60))) {
    std::printf("[%s] (a) live: not every reader online or MQTT not connected\n", p.name.c_str());
    return false;
  }
  const auto cpu0 = bench::cpu_seconds(::getpid());
  const auto n = static_cast<double>(o.devices);
  const auto total = static_cast<std::size_t>(n * o.rate * o.seconds);
  bench::paced(total, n * o.rate, [&](std::size_t i) {
    const auto t = Steady::now();
    auto key = p.log_event(i % o.devices, i);
    std::lock_guard lock(mutex);
    happened.emplace(std::move(key), t);
  });
  wait_for(
      [&] {
        std::lock_guard lock(mutex);
        return arrived.size() >= total;
      },
      std::chrono::seconds(30));
  const auto cpu = bench::cpu_seconds(::getpid()) - cpu0;
  std::vector<double> latencies_ms;
  {
    std::lock_guard lock(mutex);
    latencies_ms = bench::latencies_ms(happened, arrived);
  }
  const auto [p50, p99, max] = bench::summarize(latencies_ms);
  std::printf(
      "[%s] (a) live latency, event on the reader -> MQTT subscriber, %zu readers x %.0f "
      "events/s for %.0f s (%zu events): p50 %.2f ms, p99 %.2f ms, max %.2f ms (%zu received); "
      "CPU of this process (gateway, simulator, subscriber) %.1f s   target p99 < 20 ms: %s\n",
      p.name.c_str(), o.devices, o.rate, o.seconds, total, p50, p99, max, latencies_ms.size(), cpu,
      p99 < 20.0 ? "met" : "NOT MET");
  std::fflush(stdout);
  return latencies_ms.size() == total;
}

/** Waits until `metric` reaches `target` and prints the rate. */
bool report_backfill(const Options& o, const std::string& name, Gateway& g, const char* metric,
                     Steady::time_point t0, const std::function<std::string()>& requests) {
  auto& m = g.metrics();
  const auto target = static_cast<double>(o.backfill);
  const bool done = wait_for([&] { return m.value(metric) >= target; },
                             std::chrono::seconds(60 + o.backfill / 500));
  const auto secs = std::chrono::duration<double>(Steady::now() - t0).count();
  const auto stored = m.value(metric);
  std::printf(
      "[%s] (b) backfill of %zu events from one reader, %zu a request: %.0f events/s (%.1f s "
      "from gateway start, %.0f stored%s)%s\n",
      name.c_str(), o.backfill, o.page, stored / secs, secs, stored, requests().c_str(),
      done ? "" : "   INCOMPLETE");
  std::fflush(stdout);
  return done;
}

// --- BioStar 2 path -----------------------------------------------------------------

constexpr std::uint32_t kFirstDevice = 540000001;

struct BioStar {
  explicit BioStar(bsim::BioStar2Config c) : server(c) {
    cert = dir.path() / "biostar2.pem";
    std::ofstream(cert) << server.certificate_pem();
  }
  std::vector<std::string> keys(const Options& o) const {
    return {"suprema.enabled=true",
            "suprema.reconnect_min_ms=200",
            "suprema.reconnect_max_s=2",
            "suprema.page_size=" + std::to_string(o.page),
            "suprema.servers.main.host=127.0.0.1",
            "suprema.servers.main.port=" + std::to_string(server.port()),
            "suprema.servers.main.ca_file=" + cert.string(),
            "suprema.servers.main.user=admin",
            "suprema.servers.main.password=" + bsim::BioStar2Config{}.password};
  }
  TempDir dir;
  bsim::BioStar2Server server;
  std::filesystem::path cert;
};

bool biostar(const Options& o, const std::string& broker_uri) {
  bool ok = true;
  {
    bsim::BioStar2Config c;
    c.devices = static_cast<int>(o.devices);
    c.first_device_id = kFirstDevice;
    c.page_cap = o.page;
    BioStar b(c);
    PathUnderTest p;
    p.name = "biostar2";
    p.keys = b.keys(o);
    p.ready = [&](Gateway& g) {
      return g.metrics().value("pushgate_suprema_servers", {{"state", "online"}}) == 1 &&
             b.server.feed_count() >= 1;
    };
    p.log_event = [&](std::size_t reader, std::size_t n) {
      bsim::EventSpec spec;
      spec.device_id = kFirstDevice + static_cast<std::uint32_t>(reader);
      spec.user_id = std::to_string(1 + n % 5000);
      auto ev = b.server.inject(spec);
      return Key{std::to_string(ev.device_id), std::to_string(ev.id)};
    };
    ok = live_latency(o, broker_uri, p);
  }
  bsim::BioStar2Config c;
  c.page_cap = o.page;
  BioStar b(c);
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  // Spread over the last hours, a few events a second, as a busy door's log.
  const auto span_ms = static_cast<std::int64_t>(o.backfill) * 250 + 1000;
  for (std::size_t i = 0; i < o.backfill; ++i) {
    bsim::EventSpec spec;
    spec.user_id = std::to_string(1 + i % 5000);
    spec.datetime_ms = now_ms - span_ms + static_cast<std::int64_t>(i) * 250;
    b.server.inject(spec);
  }
  std::vector<std::string> keys = {"gateway.id=bench", "gateway.timezone=UTC"};
  auto more = b.keys(o);
  keys.insert(keys.end(), more.begin(), more.end());
  const auto t0 = Steady::now();
  GatewayHarness h(keys);
  const bool done =
      report_backfill(o, "biostar2", h.gateway(), "pushgate_suprema_backfilled_total", t0, [&] {
        return ", " + std::to_string(b.server.requests_seen("POST /api/events/search")) +
               " searches";
      });
  return done && ok;
}

// --- device-SDK path ------------------------------------------------------------------

/** A fake-SDK state directory, set as FAKE_BS_SDK_DIR for the SDK the adapter loads. */
struct FakeSdk {
  TempDir dir;
  FakeSdk() { ::setenv("FAKE_BS_SDK_DIR", dir.path().c_str(), 1); }
  ~FakeSdk() { ::unsetenv("FAKE_BS_SDK_DIR"); }
  FakeSdk(const FakeSdk&) = delete;
  FakeSdk& operator=(const FakeSdk&) = delete;
  const char* path() const { return dir.path().c_str(); }
};

constexpr std::uint16_t kFirstPort = 41000;  // only keys in the fake's state directory
constexpr std::uint16_t kVerifySuccessCard = 0x1006;

std::vector<std::string> sdk_keys(const Options& o, std::size_t readers) {
  std::vector<std::string> keys = {
      "suprema_sdk.enabled=true", std::string("suprema_sdk.library=") + FAKE_BS_SDK_PATH,
      "suprema_sdk.reconnect_min_ms=200", "suprema_sdk.reconnect_max_s=2",
      "suprema_sdk.page_size=" + std::to_string(o.page)};
  for (std::size_t i = 0; i < readers; ++i) {
    const std::string k = "suprema_sdk.devices.r" + std::to_string(i) + ".";
    keys.push_back(k + "host=127.0.0.1");
    keys.push_back(k + "port=" + std::to_string(kFirstPort + i));
    keys.push_back(k + "device_id=" + std::to_string(kFirstDevice + i));
  }
  return keys;
}

std::uint32_t unix_now() {
  return static_cast<std::uint32_t>(std::time(nullptr));
}

bool sdk(const Options& o, const std::string& broker_uri) {
  bool ok = true;
  {
    FakeSdk fake;
    for (std::size_t i = 0; i < o.devices; ++i) {
      fakesdk_add_device(fake.path(), static_cast<std::uint16_t>(kFirstPort + i),
                         static_cast<std::uint32_t>(kFirstDevice + i));
    }
    PathUnderTest p;
    p.name = "sdk";
    p.keys = sdk_keys(o, o.devices);
    const auto n = static_cast<double>(o.devices);
    p.ready = [&](Gateway& g) {
      return g.metrics().value("pushgate_suprema_sdk_devices", {{"state", "online"}}) == n;
    };
    p.log_event = [&](std::size_t reader, std::size_t i) {
      const auto device = static_cast<std::uint32_t>(kFirstDevice + reader);
      const auto user = std::to_string(1 + i % 5000);
      const auto id = fakesdk_append_events(fake.path(), device, 1, kVerifySuccessCard, unix_now(),
                                            user.c_str(), 0);
      return Key{std::to_string(device), std::to_string(id)};
    };
    ok = live_latency(o, broker_uri, p);
  }
  FakeSdk fake;
  fakesdk_add_device(fake.path(), kFirstPort, kFirstDevice);
  // One append per second of the device's clock, a few events each, ending now.
  const std::uint32_t per_second = 4;
  const auto seconds = static_cast<std::uint32_t>(o.backfill / per_second + 1);
  const auto start = unix_now() - seconds;
  std::size_t logged = 0;
  for (std::uint32_t s = 0; logged < o.backfill; ++s) {
    const auto count =
        static_cast<std::uint32_t>(std::min<std::size_t>(per_second, o.backfill - logged));
    fakesdk_append_events(fake.path(), kFirstDevice, count, kVerifySuccessCard, start + s, "1001",
                          0);
    logged += count;
  }
  std::vector<std::string> keys = {"gateway.id=bench", "gateway.timezone=UTC"};
  auto more = sdk_keys(o, 1);
  keys.insert(keys.end(), more.begin(), more.end());
  const auto t0 = Steady::now();
  GatewayHarness h(keys);
  const bool done = report_backfill(o, "sdk", h.gateway(), "pushgate_suprema_sdk_backfilled_total",
                                    t0, [] { return std::string(); });
  return done && ok;
}

}  // namespace

int main(int argc, char** argv) {
  auto o = parse(argc, argv);
  TempDir tmp;
  Mosquitto broker(tmp.path() / "broker", {{free_port(), {}}});
  broker.start();
  bool ok = true;
  if (o.path == "both" || o.path == "biostar") {
    ok = biostar(o, broker.uri()) && ok;
  }
  if (o.path == "both" || o.path == "sdk") {
    ok = sdk(o, broker.uri()) && ok;
  }
  return ok ? 0 : 1;
}
