// Retention soak (issue 19): days of uploads from 200 terminals with time
// accelerated by a fake clock, the MQTT broker (a real mosquitto) down half
// of each day, and a disk budget that forces deletion. Per simulated day it
// prints the database size (pages in use, file, WAL), the process RSS, the
// events deleted (age, budget) and lost before delivery. At the end the
// broker comes back for good and the bench checks, as a consumer would
// (dropping duplicates by id): every event committed was either delivered
// or counted in pushgate_events_dropped_undelivered_total, and that metric
// equals the alert events' counts and retention_losses.
//
// What stands in: uploads go to the gateway's event log (Store::append,
// batches of --batch records per terminal, as the zkpush adapter commits
// them) rather than over HTTP, so that days of load run in minutes; the
// gateway (store, MQTT sink, retention) is the real one, in-process, on a
// fake clock. Retention passes run when the bench says (one per simulated
// hour), not on a timer. The consumer is a process of its own, as it would
// be on a site: mosquitto_sub (QoS 1, a persistent session) writing to a
// pipe the bench reads. RSS is the bench process's (the gateway and the
// consumer's tally of ids seen, sized once up front and printed), with the
// allocator set up as pushgated sets it (tune_allocator and the heap
// trimmer). Each row also gives the heap in use and free (mallinfo2), to tell
// growth from fragmentation.
// Simulated time runs far faster than MQTT delivery, so in the middle of each
// day the bench waits (real time) until the sink has delivered everything
// committed, then stops the broker for the rest of the day: what is lost is
// what the down half leaves undelivered when the budget is reached.
//
// Usage: retention_bench [--days 60] [--events-per-day 1000000] [--terminals 200]
//                        [--batch 500] [--budget 2GB] [--retain-days 30]
#include <malloc.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <future>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "gateway/adapter.hpp"
#include "gateway/gateway.hpp"
#include "gateway/logging.hpp"
#include "gateway/memory.hpp"
#include "gateway/store/retention.hpp"
#include "gateway/store/store.hpp"
#include "tests/bench/proc_stats.hpp"
#include "tests/integration/mqtt/mqtt_fixture.hpp"
#include "tests/support/gateway_harness.hpp"
#include "tests/support/processes.hpp"

using namespace pushgate;
using namespace pushgate::test;

namespace {

constexpr std::int64_t kDayMs = 24LL * 3600 * 1000;

struct Options {
  int days = 60;
  std::int64_t per_day = 1000000;
  int terminals = 200;
  int batch = 500;
  std::string budget = "2GB";
  int retain_days = 30;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    std::string v = argv[i + 1];
    if (k == "--days") {
      o.days = std::stoi(v);
    } else if (k == "--events-per-day") {
      o.per_day = std::stoll(v);
    } else if (k == "--terminals") {
      o.terminals = std::stoi(v);
    } else if (k == "--batch") {
      o.batch = std::stoi(v);
    } else if (k == "--budget") {
      o.budget = v;
    } else if (k == "--retain-days") {
      o.retain_days = std::stoi(v);
    }
  }
  return o;
}

class FakeClock final : public Clock {
 public:
  std::chrono::system_clock::time_point now() const override {
    return std::chrono::system_clock::time_point(std::chrono::milliseconds(now_ms_.load()));
  }
  std::chrono::steady_clock::time_point monotonic() const override {
    return std::chrono::steady_clock::now();  // timers (sink retries) keep running in real time
  }
  void set_ms(std::int64_t ms) { now_ms_ = ms; }
  std::int64_t ms() const { return now_ms_.load(); }

 private:
  std::atomic<std::int64_t> now_ms_{1'700'000'000'000};
};

struct Tally {
  std::mutex mutex;
  std::vector<bool> seen;  // by event id; sized up front, grown only if the guess was short
  std::size_t distinct = 0;
  std::size_t duplicates = 0;
  std::int64_t alerted = 0;
  std::size_t alerts = 0;
  void add(std::string_view topic, std::string_view payload) {
    if (topic.find("/event/") == std::string::npos) {
      return;
    }
    auto j = nlohmann::json::parse(payload, nullptr, false);
    if (j.is_discarded() || !j.contains("id")) {
      return;
    }
    auto id = j["id"].get<std::int64_t>();
    std::lock_guard lock(mutex);
    if (static_cast<std::size_t>(id) >= seen.size()) {
      seen.resize(static_cast<std::size_t>(id) * 2 + 1024);
    }
    if (seen[static_cast<std::size_t>(id)]) {
      ++duplicates;
      return;
    }
    seen[static_cast<std::size_t>(id)] = true;
    ++distinct;
    if (topic.ends_with("/alert") && j["extra"].value("reason", "") == "max_db_size") {
      ++alerts;
      alerted += j["extra"]["undelivered"].value("mqtt", std::int64_t{0});
    }
  }
};

/**
 * The consumer: mosquitto_sub with a persistent QoS 1 session on `port`,
 * reconnecting on its own while the broker is down; each message it prints
 * ("topic payload") goes to the tally. Its own process, so that neither its
 * memory nor its MQTT client's locks are the gateway's.
 */
class Consumer {
 public:
  Consumer(std::uint16_t port, Tally& tally) : port_(port), tally_(tally) {
    int fds[2];
    if (::pipe(fds) != 0) {
      throw std::runtime_error("pipe failed");
    }
    const std::string p = std::to_string(port);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(fds[1], 1);
      ::close(fds[0]);
      ::close(fds[1]);
      ::execlp("mosquitto_sub", "mosquitto_sub", "-h", "127.0.0.1", "-p", p.c_str(), "-q", "1",
               "-c", "-i", "retention-bench", "-t", "pushgate/site/#", "-t", "bench/probe", "-v",
               static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(fds[1]);
    if (pid_ < 0) {
      ::close(fds[0]);
      throw std::runtime_error("fork failed");
    }
    in_ = ::fdopen(fds[0], "r");
    reader_ = std::thread([this] { read(); });
  }
  ~Consumer() {
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
    reader_.join();
    std::fclose(in_);
  }
  Consumer(const Consumer&) = delete;
  Consumer& operator=(const Consumer&) = delete;

  /** Its subscription is in place: a probe published to the broker came back. */
  bool subscribed() {
    Subscriber probe("tcp://127.0.0.1:" + std::to_string(port_), "retention-bench-probe");
    probe.connect();
    return wait_for(
        [&] {
          if (!probed_) {  // published until mosquitto_sub has subscribed and prints it
            probe.publish("bench/probe", "probe");
          }
          return probed_.load();
        },
        std::chrono::seconds(20));
  }

 private:
  void read() {
    char* line = nullptr;
    std::size_t cap = 0;
    ssize_t n = 0;
    while ((n = ::getline(&line, &cap, in_)) > 0) {
      std::string_view l(line, static_cast<std::size_t>(n));
      if (l.ends_with('\n')) {
        l.remove_suffix(1);
      }
      const auto sp = l.find(' ');
      if (sp == std::string_view::npos) {
        continue;
      }
      if (l.substr(0, sp) == "bench/probe") {
        probed_ = true;
      } else {
        tally_.add(l.substr(0, sp), l.substr(sp + 1));
      }
    }
    std::free(line);
  }

  std::uint16_t port_;
  Tally& tally_;
  pid_t pid_ = -1;
  std::FILE* in_ = nullptr;
  std::thread reader_;
  std::atomic<bool> probed_{false};
};

std::int64_t query(store::Store& s, const std::string& sql) {
  return s.read([&](store::Connection& db) -> std::int64_t {
    boost::system::error_code ec;
    auto st = db.prepare(sql, ec);
    return !ec && st.step(ec) ? st.column_int(0) : -1;
  });
}

}  // namespace

int main(int argc, char** argv) {
  tune_allocator();  // as pushgated does
  const auto opt = parse(argc, argv);
  std::string err;
  const auto budget = store::parse_size(opt.budget, err);
  if (!budget) {
    std::fprintf(stderr, "--budget: %s\n", err.c_str());
    return 2;
  }
  TempDir tmp;
  const auto dir = tmp.path();
  const auto gw_port = free_port();
  const auto sub_port = free_port();

  Mosquitto broker(dir / "broker", {{sub_port, {}}, {gw_port, {}}}, /*persistence=*/true);
  broker.start();
  Tally tally;
  // Every event, the alerts and the attendance timecards included, with room to spare.
  tally.seen.resize(static_cast<std::size_t>(opt.days * opt.per_day / 50 * 51 + 100000));
  Consumer consumer(sub_port, tally);
  if (!consumer.subscribed()) {
    std::fprintf(stderr, "mosquitto_sub did not subscribe\n");
    return 1;
  }

  auto schema = build_schema();
  auto loaded = config::Config::load_string(
      schema, "",
      {"gateway.data_dir=" + (dir / "data").string(), "gateway.id=site", "zkpush.enabled=false",
       "api.enabled=false", "log.level=warn", "mqtt.enabled=true",
       "mqtt.server_uri=tcp://127.0.0.1:" + std::to_string(gw_port), "mqtt.reconnect_min_ms=100",
       "mqtt.reconnect_max_ms=500", "store.max_db_size=" + opt.budget,
       "store.retain_days=" + std::to_string(opt.retain_days),
       // The bench drives the passes: the gateway's own timer never fires.
       "store.retention_interval_s=86400", "health.max_backlog_age_s=0"});
  if (!loaded.ok()) {
    std::fprintf(stderr, "config: %s\n", config::format_errors(loaded.errors).c_str());
    return 2;
  }
  configure_logging("warn", "", false);
  FakeClock clock;
  const std::int64_t t0 = clock.ms();
  HeapTrimmer heap_trimmer;  // as pushgated runs one
  Gateway gw(*loaded.config, clock);
  if (auto e = gw.start(); !e.empty()) {
    std::fprintf(stderr, "gateway: %s\n", e.c_str());
    return 1;
  }
  auto& st = gw.store();
  auto ro = store::retention_options_from_config(*loaded.config);
  store::Retention retention(
      st, clock, gw.metrics(), gw.health(), ro, [] { return std::vector<std::string>{"mqtt"}; },
      &gw.sink_holds());

  std::printf(
      "retention soak: %d days x %lld events/day, %d terminals, batches of %d, budget %s "
      "(%lld bytes), retain_days %d, broker down half of each day\n",
      opt.days, static_cast<long long>(opt.per_day), opt.terminals, opt.batch, opt.budget.c_str(),
      static_cast<long long>(*budget), opt.retain_days);
  std::printf("the consumer's tally of ids: %.1f MB of the RSS\n",
              static_cast<double>(tally.seen.capacity()) / 8.0 / 1048576.0);
  std::printf("%4s %10s %10s %10s %8s %8s %8s %8s %10s %10s %10s %8s %7s\n", "day", "events",
              "used_MB", "file_MB", "wal_MB", "rss_MB", "heap_MB", "free_MB", "del_age",
              "del_budget", "lost", "alerts", "cpu_s");

  std::int64_t committed = 0;
  std::int64_t total_age = 0, total_budget = 0, total_lost = 0, total_alerts = 0;
  std::vector<std::int64_t> seqs(static_cast<std::size_t>(opt.terminals), 0);
  const std::int64_t per_terminal_batch = opt.batch;
  const std::int64_t batches_per_day = std::max<std::int64_t>(1, opt.per_day / per_terminal_batch);
  const auto started = std::chrono::steady_clock::now();
  std::int64_t events_per_pass_hour = std::max<std::int64_t>(1, batches_per_day / 24);

  for (int day = 0; day < opt.days; ++day) {
    std::int64_t day_age = 0, day_budget = 0, day_lost = 0, day_alerts = 0;
    for (std::int64_t b = 0; b < batches_per_day; ++b) {
      if (b == batches_per_day / 2) {
        // Time runs faster than delivery: the broker's half day is given
        // the real time the sink needs to deliver what it has, then it goes
        // down for the second half of the day.
        const auto head = query(st, "SELECT MAX(id) FROM events");
        wait_for(
            [&] {
              return query(st,
                           "SELECT COALESCE(MAX(position), 0) FROM cursors WHERE name = "
                           "'mqtt'") >= head;
            },
            std::chrono::seconds(120));
        broker.stop(SIGTERM);
      }
      const std::int64_t now = t0 + day * kDayMs + b * (kDayMs / batches_per_day);
      clock.set_ms(now);
      const int t = static_cast<int>(b % opt.terminals);
      WriteBatch batch;
      batch.events.reserve(static_cast<std::size_t>(per_terminal_batch));
      char sn[16];
      std::snprintf(sn, sizeof sn, "BENCH%04d", t);
      for (std::int64_t i = 0; i < per_terminal_batch; ++i) {
        Event e;
        e.terminal_sn = sn;
        auto seq = ++seqs[static_cast<std::size_t>(t)];
        e.record_key = std::to_string(seq);
        e.kind = EventKind::Attendance;
        e.local_time = "2023-11-14 22:13:20";
        e.utc_ms = now;
        e.pin = std::to_string(1000 + seq % 997);
        e.verify_mode = 1;
        e.status = 0;
        e.raw = e.pin + "\t2023-11-14 22:13:20\t0\t1\t0\t0\t0";
        e.received_ms = now;
        batch.events.push_back(std::move(e));
      }
      auto p = std::make_shared<std::promise<CommitResult>>();
      auto f = p->get_future();
      st.append(std::move(batch), [p](CommitResult r) { p->set_value(std::move(r)); });
      auto r = f.get();
      if (r.ec) {
        std::fprintf(stderr, "day %d: commit failed: %s\n", day, r.ec.message().c_str());
        return 1;
      }
      committed += static_cast<std::int64_t>(r.inserted);
      if ((b + 1) % events_per_pass_hour == 0 || b + 1 == batches_per_day) {
        auto pass = retention.run_pass();
        day_age += pass.deleted_aged;
        day_budget += pass.deleted_budget;
        day_lost += pass.undelivered["mqtt"];
        day_alerts += pass.alerts;
      }
    }
    committed += day_alerts;  // alert events are events too
    total_age += day_age;
    total_budget += day_budget;
    total_lost += day_lost;
    total_alerts += day_alerts;
    auto size = st.read([&](store::Connection& db) {
      boost::system::error_code ec;
      return store::measure_database(db, st.path(), ec);
    });
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    double cpu = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                 static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    const struct mallinfo2 heap = mallinfo2();
    std::printf(
        "%4d %10lld %10.1f %10.1f %8.1f %8.1f %8.1f %8.1f %10lld %10lld %10lld %8lld %7.1f\n",
        day + 1, static_cast<long long>(query(st, "SELECT COUNT(*) FROM events")),
        static_cast<double>(size.used_bytes()) / 1048576.0,
        static_cast<double>(size.file_bytes()) / 1048576.0,
        static_cast<double>(size.wal_bytes) / 1048576.0, bench::rss_mb(::getpid()),
        static_cast<double>(heap.uordblks + heap.hblkhd) / 1048576.0,
        static_cast<double>(heap.fordblks) / 1048576.0, static_cast<long long>(day_age),
        static_cast<long long>(day_budget), static_cast<long long>(day_lost),
        static_cast<long long>(day_alerts), cpu);
    std::fflush(stdout);
    broker.start();  // up for the first half of the next day; mosquitto_sub reconnects
  }

  // The broker stays up: everything still stored is delivered.
  const auto stored = query(st, "SELECT COUNT(*) FROM events");
  const auto last_id = query(st, "SELECT MAX(id) FROM events");
  wait_for(
      [&] {
        std::lock_guard lock(tally.mutex);
        return static_cast<std::size_t>(last_id) < tally.seen.size() &&
               tally.seen[static_cast<std::size_t>(last_id)];
      },
      std::chrono::seconds(300));
  // The last event is in; give the sink a moment to finish its window.
  wait_for([&] { return query(st, "SELECT position FROM cursors WHERE name = 'mqtt'") >= last_id; },
           std::chrono::seconds(60));
  const auto metric =
      gw.metrics()
          .counter("pushgate_events_dropped_undelivered_total", "", {{"sink", "mqtt"}})
          .value();
  const auto losses_total =
      query(st, "SELECT COALESCE(SUM(total), 0) FROM retention_losses WHERE sink = 'mqtt'");
  const auto bytes_per_event = [&] {
    auto size = st.read([&](store::Connection& db) {
      boost::system::error_code ec;
      return store::measure_database(db, st.path(), ec);
    });
    return stored > 0 ? static_cast<double>((size.pages - size.free_pages) * size.page_size) /
                            static_cast<double>(stored)
                      : 0.0;
  }();
  std::size_t delivered = 0, dups = 0, alerts = 0;
  std::int64_t alerted = 0;
  {
    std::lock_guard lock(tally.mutex);
    delivered = tally.distinct;
    dups = tally.duplicates;
    alerts = tally.alerts;
    alerted = tally.alerted;
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("\ncommitted %lld events (incl. %lld alerts) in %.0f s; stored at the end %lld\n",
              static_cast<long long>(committed), static_cast<long long>(total_alerts), secs,
              static_cast<long long>(stored));
  std::printf("deleted: %lld by age (delivered, older than %d days), %lld by the budget\n",
              static_cast<long long>(total_age), opt.retain_days,
              static_cast<long long>(total_budget));
  std::printf(
      "lost before delivery: passes %lld, metric %llu, retention_losses.total %lld, "
      "alert events %lld (sum of counts in the %zu alerts delivered: %lld)\n",
      static_cast<long long>(total_lost), static_cast<unsigned long long>(metric),
      static_cast<long long>(losses_total), static_cast<long long>(total_alerts), alerts,
      static_cast<long long>(alerted));
  // Every event the log ever held, the gateway's own included (timecards the
  // attendance service computes from the punches): ids are rowids, and the
  // newest event is never deleted, so they run 1..MAX(id) without reuse.
  const std::int64_t in_log = last_id;
  std::printf(
      "events committed in all (MAX(id)): %lld, of them %lld the gateway's own "
      "besides alerts (timecards)\n",
      static_cast<long long>(in_log), static_cast<long long>(in_log - committed));
  std::printf(
      "delivered: %zu distinct (%zu duplicates dropped by id); delivered + lost = %lld of "
      "%lld committed\n",
      delivered, dups,
      static_cast<long long>(static_cast<std::int64_t>(delivered) +
                             static_cast<std::int64_t>(metric)),
      static_cast<long long>(in_log));
  std::printf("bytes per event (pages in use / events stored): %.0f\n", bytes_per_event);
  const bool ok =
      static_cast<std::int64_t>(metric) == losses_total &&
      static_cast<std::int64_t>(metric) == total_lost &&
      static_cast<std::int64_t>(delivered) + static_cast<std::int64_t>(metric) == in_log;
  // Exact: an event counted lost was never delivered (an over-count would
  // show as delivered + lost > committed, an uncounted loss as less).
  std::printf("%s\n", ok ? "OK: every event delivered or counted lost, exactly once; counts agree"
                         : "MISMATCH");
  gw.stop(std::chrono::seconds(10));
  return ok ? 0 : 1;
}
