// MQTT bridge figures, in one run, against a real mosquitto on loopback:
//   (a) live latency: an ATTLOG upload over HTTP to the in-process gateway
//       (committed with fsync, then published) until a subscriber receives
//       it, p50/p99 at a steady --rate uploads per second;
//   (b) backlog drain: --drain-events stored while the broker is down,
//       then the broker comes back: messages/s acknowledged (QoS 1, PUBACK)
//       by mosquitto, beside a bare paho client publishing the same payloads
//       to the same broker with the same in-flight window, and the ratio.
// Targets (issue 4): p99 < 5 ms; drain >= 30,000 msg/s and >= 0.5x bare.
//
// Usage: mqtt_bench [--live-events 10000] [--rate 1000] [--drain-events 1000000]
//                   [--inflight 100]  (the mqtt.inflight default)
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <mqtt/async_client.h>
#include <nlohmann/json.hpp>

#include "adapters/mqtt/mqtt_protocol.hpp"
#include "gateway/store/event_queries.hpp"
#include "gateway/store/store.hpp"
#include "tests/bench/latency.hpp"
#include "tests/integration/mqtt/mqtt_fixture.hpp"
#include "tests/support/gateway_harness.hpp"

using namespace pushgate;
using namespace pushgate::test;
using Steady = std::chrono::steady_clock;

namespace {

using pushgate::bench::percentile;

struct Options {
  std::size_t live_events = 10000;
  std::size_t rate = 1000;
  std::size_t drain_events = 1000000;
  int inflight = 100;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    std::string v = argv[i + 1];
    if (k == "--live-events") {
      o.live_events = std::stoul(v);
    } else if (k == "--rate") {
      o.rate = std::stoul(v);
    } else if (k == "--drain-events") {
      o.drain_events = std::stoul(v);
    } else if (k == "--inflight") {
      o.inflight = std::stoi(v);
    }
  }
  return o;
}

/** The last two digits of `n` (0..99 as "00".."99"). */
std::string two(int n) {
  const auto v = static_cast<unsigned>(n < 0 ? -n : n) % 100U;
  return {static_cast<char>('0' + v / 10), static_cast<char>('0' + v % 10)};
}

// (a) Live latency.
bool live_latency(const Options& o) {
  TempDir tmp;
  Mosquitto broker(tmp.path() / "broker", {{free_port(), {}}});
  broker.start();
  GatewayHarness h({"gateway.id=bench", "mqtt.enabled=true", "mqtt.server_uri=" + broker.uri(),
                    "gateway.timezone=UTC", "mqtt.ha_discovery=false"});
  constexpr int kTerminals = 8;
  std::mutex mutex;
  std::map<std::string, Steady::time_point> sent;  // pin -> upload start
  std::vector<double> latencies_ms;
  std::atomic<std::size_t> received{0};
  Subscriber sub(broker.uri(), "bench-live");
  sub.set_hook([&](const Received& r) {
    auto now = Steady::now();
    auto j = nlohmann::json::parse(r.payload, nullptr, false);
    if (j.is_discarded() || !j["pin"].is_string()) {
      return;
    }
    std::lock_guard lock(mutex);
    auto it = sent.find(j["pin"].get<std::string>());
    if (it != sent.end()) {
      latencies_ms.push_back(std::chrono::duration<double, std::milli>(now - it->second).count());
      sent.erase(it);
      ++received;
    }
  });
  sub.connect();
  sub.subscribe("pushgate/bench/terminal/+/event/#", 1);
  if (!wait_for([&] { return h.gateway().metrics().value("pushgate_mqtt_connected") == 1; },
                std::chrono::seconds(10))) {
    std::printf("live: the gateway did not connect\n");
    return false;
  }
  // One sender thread per terminal, each uploading one punch per request at
  // rate / kTerminals per second (a new connection each, as terminals do).
  auto period =
      std::chrono::nanoseconds(1'000'000'000LL * kTerminals / static_cast<long long>(o.rate));
  auto per_terminal = o.live_events / kTerminals;
  auto start = Steady::now() + std::chrono::milliseconds(100);
  std::vector<std::thread> senders;
  std::atomic<std::size_t> failures{0};
  for (int t = 0; t < kTerminals; ++t) {
    senders.emplace_back([&, t] {
      const std::string sn = "BENCHLIVE" + std::to_string(t);
      // Warm-up handshake: the terminal exists before the timed uploads.
      http_request(h.zkpush_port(), "GET", "/iclock/cdata?SN=" + sn + "&options=all&pushver=2.4.1");
      auto next = start + period * t / kTerminals;
      for (std::size_t i = 0; i < per_terminal; ++i) {
        std::this_thread::sleep_until(next);
        next += period;
        const std::string pin = std::to_string(t) + "0" + std::to_string(i + 1);
        int sec = static_cast<int>(i % 60);
        int min = static_cast<int>((i / 60) % 60);
        int hour = static_cast<int>((i / 3600) % 24);
        const std::string body = pin + "\t2026-11-21 " + two(hour) + ":" + two(min) + ":" +
                                 two(sec) + "\t0\t1\t\t0\t0\n";
        {
          std::lock_guard lock(mutex);
          sent[pin] = Steady::now();
        }
        auto a = http_request(h.zkpush_port(), "POST",
                              "/iclock/cdata?SN=" + sn + "&table=ATTLOG&Stamp=9999", body);
        if (a.status != 200 || a.body.rfind("OK", 0) != 0) {
          ++failures;
        }
      }
    });
  }
  for (auto& s : senders) {
    s.join();
  }
  auto expected = per_terminal * kTerminals;
  wait_for([&] { return received.load() >= expected; }, std::chrono::seconds(10));
  std::lock_guard lock(mutex);
  double p50 = percentile(latencies_ms, 0.50);
  double p99 = percentile(latencies_ms, 0.99);
  double max =
      latencies_ms.empty() ? 0 : *std::max_element(latencies_ms.begin(), latencies_ms.end());
  std::printf(
      "(a) live latency, upload -> subscriber, %zu events at %zu/s: p50 %.2f ms, p99 %.2f ms,"
      " max %.2f ms (%zu received, %zu upload failures)   target p99 < 5 ms: %s\n",
      expected, o.rate, p50, p99, max, latencies_ms.size(), failures.load(),
      p99 < 5.0 ? "met" : "NOT MET");
  return received.load() == expected && failures.load() == 0;
}

// A bare paho client: publish every payload at QoS 1 with at most `inflight`
// unacknowledged, as fast as PUBACKs come back.
class BareListener final : public ::mqtt::iaction_listener {
 public:
  std::atomic<std::size_t> acked{0};
  std::atomic<std::size_t> failed{0};
  std::mutex mutex;
  std::condition_variable cv;

 private:
  void on_success(const ::mqtt::token&) override {
    acked.fetch_add(1);
    cv.notify_one();
  }
  void on_failure(const ::mqtt::token&) override {
    failed.fetch_add(1);
    cv.notify_one();
  }
};

double bare_rate(const std::string& uri,
                 const std::vector<std::pair<std::string, std::string>>& msgs, int inflight) {
  ::mqtt::create_options opts(MQTTVERSION_3_1_1);
  opts.set_max_buffered_messages(inflight + 1024);  // as the bridge does
  ::mqtt::async_client c(uri, "bench-bare", opts, nullptr);
  ::mqtt::connect_options co;
  co.set_clean_session(true);
  co.set_max_inflight(std::min(65535, inflight + 256));
  c.connect(co)->wait();
  BareListener l;
  auto t0 = Steady::now();
  std::size_t sent = 0;
  for (const auto& [topic, payload] : msgs) {
    {
      std::unique_lock lock(l.mutex);
      l.cv.wait(lock, [&] {
        return sent - (l.acked.load() + l.failed.load()) < static_cast<std::size_t>(inflight);
      });
    }
    c.publish(::mqtt::make_message(topic, payload, 1, false), nullptr, l);
    ++sent;
  }
  while (l.acked.load() + l.failed.load() < sent) {
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  auto secs = std::chrono::duration<double>(Steady::now() - t0).count();
  c.disconnect()->wait();
  if (l.failed.load() != 0) {
    std::printf("bare client: %zu publishes failed\n", l.failed.load());
  }
  return static_cast<double>(msgs.size()) / secs;
}

// (b) Backlog drain.
bool drain(const Options& o) {
  TempDir tmp;
  const auto port = free_port();
  Mosquitto broker(tmp.path() / "broker", {{port, {}}});
  GatewayHarness h({"gateway.id=bench", "mqtt.enabled=true",
                    "mqtt.server_uri=tcp://127.0.0.1:" + std::to_string(port),
                    "mqtt.reconnect_min_ms=50", "mqtt.reconnect_max_ms=100",
                    "mqtt.inflight=" + std::to_string(o.inflight), "gateway.timezone=UTC",
                    "mqtt.ha_discovery=false"});
  // The backlog: stored while the broker is down (straight into the log, in
  // batches like uploads of 20 terminals).
  auto t_fill = Steady::now();
  constexpr std::size_t kBatch = 5000;
  std::atomic<std::size_t> committed{0};
  std::size_t n = 0;
  while (n < o.drain_events) {
    WriteBatch b;
    for (std::size_t i = 0; i < kBatch && n < o.drain_events; ++i, ++n) {
      Event e;
      e.terminal_sn = "BENCHDRAIN" + std::to_string(n % 20);
      e.record_key = "ATTLOG\t" + std::to_string(n);
      e.kind = EventKind::Attendance;
      e.local_time = "2026-11-21 08:00:00";
      e.utc_ms = 1795248000000;
      e.pin = std::to_string(n % 5000);
      e.verify_mode = 1;
      e.status = 0;
      e.raw = e.pin + "\t2026-11-21 08:00:00\t0\t1\t\t0\t0";
      e.received_ms = 1795248000000;
      b.events.push_back(std::move(e));
    }
    auto count = b.events.size();
    h.gateway().store().append(std::move(b), [&committed, count](CommitResult r) {
      if (!r.ec) {
        committed += count;
      }
    });
    while (n - committed.load() > 4 * kBatch) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  wait_for([&] { return committed.load() == o.drain_events; }, std::chrono::seconds(300));
  auto fill_secs = std::chrono::duration<double>(Steady::now() - t_fill).count();
  // The gauge is refreshed once a second by the sink.
  wait_for(
      [&] {
        return h.gateway().metrics().value("pushgate_sink_backlog_events", {{"sink", "mqtt"}}) ==
               static_cast<double>(o.drain_events);
      },
      std::chrono::seconds(3));
  std::printf("stored %zu events in %.1f s (broker down); backlog gauge %.0f\n", committed.load(),
              fill_secs,
              h.gateway().metrics().value("pushgate_sink_backlog_events", {{"sink", "mqtt"}}));

  auto& m = h.gateway().metrics();
  // Read before the broker starts: the bridge publishes the moment it
  // connects, so acknowledgements can land before this thread sees it connected.
  const auto acked0 = m.value("pushgate_mqtt_acked_total");
  broker.start();
  if (!wait_for([&] { return m.value("pushgate_mqtt_connected") == 1; },
                std::chrono::seconds(10))) {
    std::printf("drain: the gateway did not connect\n");
    return false;
  }
  auto t0 = Steady::now();
  // A drain slower than 1,000 msg/s is a failure, not a figure.
  const auto limit = std::chrono::seconds(30 + o.drain_events / 1000);
  bool done = wait_for(
      [&] {
        return m.value("pushgate_mqtt_acked_total") - acked0 >= static_cast<double>(o.drain_events);
      },
      limit);
  auto secs = std::chrono::duration<double>(Steady::now() - t0).count();
  if (!done) {
    std::printf(
        "drain stalled after %.0f s: published %.0f, acked %.0f (of %zu), failed %.0f, "
        "connects %.0f, lost %.0f, connected %.0f, backlog gauge %.0f\n",
        secs, m.value("pushgate_mqtt_published_total"),
        m.value("pushgate_mqtt_acked_total") - acked0, o.drain_events,
        m.value("pushgate_mqtt_failed_total"), m.value("pushgate_mqtt_connects_total"),
        m.value("pushgate_mqtt_connections_lost_total"), m.value("pushgate_mqtt_connected"),
        m.value("pushgate_sink_backlog_events", {{"sink", "mqtt"}}));
    std::fflush(stdout);
    return false;
  }
  double ours = static_cast<double>(o.drain_events) / secs;

  // The same payloads (read back from the log, serialised as the bridge
  // does) from a bare client, to the same broker.
  adapters::mqtt::Topics topics("pushgate/bench");
  std::vector<std::pair<std::string, std::string>> msgs;
  msgs.reserve(o.drain_events);
  h.gateway().store().read([&](store::Connection& db) {
    boost::system::error_code ec;
    store::EventQuery q;
    q.limit = 20000;
    for (;;) {
      auto events = store::read_events(db, q, ec);
      if (ec || events.empty()) {
        break;
      }
      for (const auto& e : events) {
        msgs.emplace_back(topics.event(e.terminal_sn, e.kind),
                          adapters::mqtt::event_payload(e, true));
      }
      q.after = events.back().id;
    }
    return 0;
  });
  double bare = bare_rate(broker.uri(), msgs, o.inflight);
  double ratio = ours / bare;
  std::printf(
      "(b) backlog drain of %zu stored events into mosquitto, QoS 1, in-flight %d:"
      " %.0f msg/s (%.1f s); bare paho client, same payloads: %.0f msg/s; ratio %.2f"
      "   targets >= 30000 msg/s: %s, >= 0.5x bare: %s\n",
      o.drain_events, o.inflight, ours, secs, bare, ratio, ours >= 30000 ? "met" : "NOT MET",
      ratio >= 0.5 ? "met" : "NOT MET");
  return done;
}

}  // namespace

int main(int argc, char** argv) {
  auto o = parse(argc, argv);
  bool ok = live_latency(o);
  ok = drain(o) && ok;
  return ok ? 0 : 1;
}
