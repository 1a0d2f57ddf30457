// Dahua adapter figures (issue 16), in one run, on loopback:
//   (a) live latency: --devices simulated Dahua devices (tests/sim, in this
//       process) in pull mode, each with --rate access events a second for
//       --seconds; from the moment the event happens on the device (the
//       simulator records it and writes it to the event stream) until a
//       subscriber of a real mosquitto receives it from the gateway (stored
//       with fsync first, then published): p50/p99/max;
//   (b) backfill: --backfill records stored on one device before the gateway
//       starts, read through recordFinder at --page records a page (the
//       device's cap and dahua.page_size): records/s until every one is stored.
// Target (issue 16): (a) p99 < 20 ms. Figures only: nothing here asserts a time.
//
// Usage: dahua_bench [--devices 100] [--rate 10] [--seconds 10]
//                    [--backfill 100000] [--page 100]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
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
#include "tests/sim/dahua_device.hpp"
#include "tests/support/gateway_harness.hpp"

using namespace pushgate;
using namespace pushgate::test;
namespace dsim = pushgate::sim::dahua;
using Steady = std::chrono::steady_clock;

namespace {

struct Options {
  std::size_t devices = 100;
  double rate = 10;  // events a second per device
  double seconds = 10;
  std::size_t backfill = 100000;
  std::size_t page = 100;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    std::string v = argv[i + 1];
    if (k == "--devices") {
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

std::vector<std::string> device_keys(const std::string& name, std::uint16_t port) {
  const std::string k = "dahua.devices." + name + ".";
  return {k + "host=127.0.0.1", k + "port=" + std::to_string(port), k + "user=admin",
          k + "password=admin123"};
}

using Key = std::pair<std::string, std::int64_t>;  // serial, RecNo

// (a) Live latency.
bool live_latency(const Options& o) {
  TempDir tmp;
  Mosquitto broker(tmp.path() / "broker", {{free_port(), {}}});
  broker.start();
  std::vector<std::unique_ptr<dsim::DahuaDevice>> devices;
  std::vector<std::string> keys = {"gateway.id=bench",           "gateway.timezone=UTC",
                                   "mqtt.enabled=true",          "mqtt.server_uri=" + broker.uri(),
                                   "mqtt.ha_discovery=false",    "dahua.enabled=true",
                                   "dahua.reconnect_min_ms=200", "dahua.reconnect_max_s=2"};
  for (std::size_t i = 0; i < o.devices; ++i) {
    dsim::DahuaDeviceConfig c;
    char serial[32];
    std::snprintf(serial, sizeof serial, "DHBENCH%04zu", i);
    c.serial = serial;
    devices.push_back(std::make_unique<dsim::DahuaDevice>(c));
    auto more = device_keys("d" + std::to_string(i), devices.back()->port());
    keys.insert(keys.end(), more.begin(), more.end());
  }
  GatewayHarness h(keys);
  auto& m = h.gateway().metrics();

  std::mutex mutex;
  std::map<Key, Steady::time_point> happened;
  std::map<Key, Steady::time_point> arrived;
  Subscriber sub(broker.uri(), "bench-dahua");
  sub.set_hook([&](const Received& r) {
    const auto now = Steady::now();
    auto j = nlohmann::json::parse(r.payload, nullptr, false);
    if (j.is_discarded() || !j["terminal"].is_string() || !j["extra"].is_object() ||
        !j["extra"]["rec_no"].is_number_integer()) {
      return;
    }
    std::lock_guard lock(mutex);
    arrived.emplace(Key{j["terminal"].get<std::string>(), j["extra"]["rec_no"].get<std::int64_t>()},
                    now);
  });
  sub.connect();
  sub.subscribe("pushgate/bench/terminal/+/event/#", 1);
  const auto n = static_cast<double>(o.devices);
  if (!wait_for(
          [&] {
            return m.value("pushgate_mqtt_connected") == 1 &&
                   m.value("pushgate_dahua_devices", {{"state", "online"}}) == n;
          },
          std::chrono::seconds(60))) {
    std::printf("(a) live: not every device online (%.0f of %zu) or MQTT not connected\n",
                m.value("pushgate_dahua_devices", {{"state", "online"}}), o.devices);
    return false;
  }
  const auto cpu0 = bench::cpu_seconds(::getpid());
  // One clock for all devices: events spread evenly over the devices, round
  // robin, at devices x rate a second in total.
  const auto total = static_cast<std::size_t>(n * o.rate * o.seconds);
  bench::paced(total, n * o.rate, [&](std::size_t i) {
    auto& device = *devices[i % devices.size()];
    dsim::AccessSpec spec;
    spec.user_id = std::to_string(1 + i % 5000);
    const auto t = Steady::now();
    auto record = device.generate_access(spec);
    std::lock_guard lock(mutex);
    happened.emplace(Key{device.serial(), static_cast<std::int64_t>(record.rec_no)}, t);
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
      "(a) live latency, event on the device -> MQTT subscriber, %zu devices x %.0f events/s for "
      "%.0f s (%zu events): p50 %.2f ms, p99 %.2f ms, max %.2f ms (%zu received, %.0f "
      "reconnects); CPU of this process (gateway, devices, subscriber) %.1f s   target p99 < 20 "
      "ms: %s\n",
      o.devices, o.rate, o.seconds, total, p50, p99, max, latencies_ms.size(),
      m.value("pushgate_dahua_reconnects_total"), cpu, p99 < 20.0 ? "met" : "NOT MET");
  std::fflush(stdout);
  return latencies_ms.size() == total;
}

// (b) Backfill.
bool backfill(const Options& o) {
  dsim::DahuaDeviceConfig c;
  c.serial = "DHBACKFILL0";
  c.page_cap = o.page;
  dsim::DahuaDevice device(c);
  const auto now = device.device_now();
  // Fewer records a second than a page holds (the pager's limit), spread
  // over the last hours, as a busy door's log would be.
  const std::int64_t per_second = std::max<std::int64_t>(1, static_cast<std::int64_t>(o.page) / 4);
  const auto span = static_cast<std::int64_t>(o.backfill) / per_second + 1;
  for (std::size_t i = 0; i < o.backfill; ++i) {
    dsim::AccessSpec spec;
    spec.user_id = std::to_string(1 + i % 5000);
    spec.create_time = now - span + static_cast<std::int64_t>(i) / per_second;
    device.generate_access(spec);
  }
  std::vector<std::string> keys = {"gateway.id=bench", "gateway.timezone=UTC", "dahua.enabled=true",
                                   "dahua.page_size=" + std::to_string(o.page)};
  auto more = device_keys("d", device.port());
  keys.insert(keys.end(), more.begin(), more.end());
  const auto t0 = Steady::now();
  GatewayHarness h(keys);
  auto& m = h.gateway().metrics();
  const auto target = static_cast<double>(o.backfill);
  const bool done = wait_for([&] { return m.value("pushgate_dahua_backfilled_total") >= target; },
                             std::chrono::seconds(60 + o.backfill / 500));
  const auto secs = std::chrono::duration<double>(Steady::now() - t0).count();
  const auto stored = m.value("pushgate_dahua_backfilled_total");
  const auto pages = device.requests_seen("/cgi-bin/recordFinder.cgi?action=find");
  std::printf(
      "(b) backfill of %zu records from one device, %zu a page: %.0f records/s (%.1f s from "
      "gateway start, %.0f stored, %llu recordFinder requests)%s\n",
      o.backfill, o.page, stored / secs, secs, stored, static_cast<unsigned long long>(pages),
      done ? "" : "   INCOMPLETE");
  std::fflush(stdout);
  return done;
}

}  // namespace

int main(int argc, char** argv) {
  auto o = parse(argc, argv);
  bool ok = live_latency(o);
  ok = backfill(o) && ok;
  return ok ? 0 : 1;
}
