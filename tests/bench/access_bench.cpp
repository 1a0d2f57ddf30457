// Remote identification (Security PUSH §10) end to end over HTTP: a whole
// gateway in-process with 10,000 users, one hard anti-passback area and 200
// access terminals (tests/sim/access_terminal.*, real HTTP/1.1 keep-alive on
// loopback), each asking at its share of a fixed aggregate rate (open loop:
// each request has a scheduled time; latency is measured from it, so a slow
// answer also delays — and is charged to — the requests queued behind it).
//
// Users alternate in and out, so nearly every answer is a grant that moves an
// anti-passback position. With the shipped access.wait_for_commit = none the
// answer goes out at once and the position is committed right after (WAL,
// synchronous=FULL, group commit); `--wait apb` makes each such grant wait
// for its commit, the strict mode, to show what one fsync per grant costs.
// Prints decisions/s, p50/p99/max latency, the mix of answers, and the
// database's filesystem.
//
// --no-apb: the doors are in no anti-passback area, so no answer moves
// anyone (the Decision events are still all stored).
// --dir: where the database goes (default a temporary directory under /tmp).
//
// Usage: access_bench [--terminals 200] [--users 10000] [--rate 2000] [--seconds 10]
//                     [--dir /path] [--no-apb] [--wait none|apb|all] [--smoke]
#include <sys/statfs.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <future>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include "gateway/access/access_service.hpp"
#include "tests/bench/latency.hpp"
#include "tests/sim/access_terminal.hpp"
#include "tests/support/gateway_harness.hpp"

using namespace std::chrono_literals;
using nlohmann::json;
using pushgate::access::AccessService;
using pushgate::access::EntityKind;
using Steady = std::chrono::steady_clock;

namespace {

using pushgate::bench::percentile;

struct Options {
  int terminals = 200;
  int users = 10000;
  int rate = 2000;
  int seconds = 10;
  std::string dir;
  bool apb = true;
  std::string wait = "none";  // access.wait_for_commit, the shipped default
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const bool has_value = i + 1 < argc;
    if (std::strcmp(argv[i], "--smoke") == 0) {
      o.terminals = 10;
      o.users = 200;
      o.rate = 200;
      o.seconds = 1;
    } else if (std::strcmp(argv[i], "--terminals") == 0 && has_value) {
      o.terminals = std::clamp(std::atoi(argv[++i]), 1, 2000);
    } else if (std::strcmp(argv[i], "--users") == 0 && has_value) {
      o.users = std::clamp(std::atoi(argv[++i]), 1, 50000);
    } else if (std::strcmp(argv[i], "--rate") == 0 && has_value) {
      o.rate = std::clamp(std::atoi(argv[++i]), 1, 100000);
    } else if (std::strcmp(argv[i], "--seconds") == 0 && has_value) {
      o.seconds = std::clamp(std::atoi(argv[++i]), 1, 3600);
    } else if (std::strcmp(argv[i], "--no-apb") == 0) {
      o.apb = false;
    } else if (std::strcmp(argv[i], "--wait") == 0 && has_value) {
      o.wait = argv[++i];
    } else if (std::strcmp(argv[i], "--dir") == 0 && has_value) {
      o.dir = argv[++i];
    } else {
      std::fprintf(stderr,
                   "usage: access_bench [--terminals N] [--users N] [--rate R] [--seconds S] "
                   "[--dir D] [--no-apb] [--wait none|apb|all] [--smoke]\n");
      std::exit(2);
    }
  }
  return o;
}

std::string serial(int i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "BENCH%05d", i);
  return buf;
}

void put(AccessService& s, EntityKind kind, json body) {
  std::promise<AccessService::Update> p;
  auto f = p.get_future();
  s.put(kind, std::move(body), std::nullopt,
        [&p](AccessService::Update u) { p.set_value(std::move(u)); });
  auto u = f.get();
  if (!u.errors.empty() || u.ec) {
    std::fprintf(stderr, "setup failed: %s %s\n",
                 u.errors.empty() ? "" : (u.errors[0].field + ": " + u.errors[0].message).c_str(),
                 u.ec.message().c_str());
    std::exit(1);
  }
}

const char* filesystem_of(const std::string& path) {
  struct statfs s {};
  if (statfs(path.c_str(), &s) != 0) {
    return "unknown";
  }
  switch (static_cast<unsigned long>(s.f_type)) {
    case 0x01021994UL:
      return "tmpfs";
    case 0xEF53UL:
      return "ext4";
    case 0x794C7630UL:
      return "overlayfs";
    case 0x58465342UL:
      return "xfs";
    case 0x9123683EUL:
      return "btrfs";
    default:
      return "other";
  }
}

/** One terminal's open-loop schedule: a request every `period`, from `first`. */
struct Driver : std::enable_shared_from_this<Driver> {
  std::shared_ptr<pushgate::sim::AccessTerminal> terminal;
  boost::asio::steady_timer timer;
  Steady::duration period{};
  Steady::time_point next{};
  Steady::time_point end{};
  std::mt19937 rng;
  int users = 0;
  std::vector<std::uint8_t>* inside = nullptr;  // shared; one slot per user
  std::mutex* inside_mutex = nullptr;
  std::mutex* results_mutex = nullptr;
  std::vector<double>* latencies_ms = nullptr;
  std::atomic<long>* granted = nullptr;
  std::atomic<long>* refused = nullptr;
  std::atomic<long>* errors = nullptr;
  std::atomic<long>* outstanding = nullptr;

  Driver(boost::asio::io_context& ioc, unsigned seed) : timer(ioc), rng(seed) {}

  void arm() {
    if (next >= end) {
      return;
    }
    timer.expires_at(next);
    timer.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (!ec) {
        self->fire();
      }
    });
  }

  void fire() {
    auto scheduled = next;
    next += period;
    int user = std::uniform_int_distribution<int>(0, users - 1)(rng);
    int in_out = 0;
    {
      std::lock_guard lock(*inside_mutex);
      // Out if inside, in if not: the answer is a grant that moves the user.
      in_out = (*inside)[static_cast<std::size_t>(user)] ? 1 : 0;
      (*inside)[static_cast<std::size_t>(user)] ^= 1;
    }
    pushgate::sim::RemoteAuthRequest req;
    req.pin = std::to_string(1000 + user);
    req.inoutstatus = in_out;
    req.verifytype = 1;
    ++*outstanding;
    terminal->identify(
        req, [self = shared_from_this(), scheduled](pushgate::sim::RemoteAuthResult r) {
          double ms = std::chrono::duration<double, std::milli>(Steady::now() - scheduled).count();
          if (r.ec || r.status != 200 || !r.answer.ok) {
            ++*self->errors;
          } else if (r.answer.auth == "SUCCESS") {
            ++*self->granted;
          } else {
            ++*self->refused;
          }
          {
            std::lock_guard lock(*self->results_mutex);
            self->latencies_ms->push_back(ms);
          }
          --*self->outstanding;
        });
    arm();
  }
};

}  // namespace

int main(int argc, char** argv) {
  Options o = parse(argc, argv);
  // Decisions only: the terminal sync (which would queue 10,000 users for
  // each of 200 terminals) and linkage are not what is measured here.
  std::vector<std::string> overrides = {
      "zkpush.token_check=off", "log.level=warn", "mqtt.enabled=false", "sync.enabled=false",
      "linkage.enabled=false", "attendance.enabled=false", "access.wait_for_commit=" + o.wait,
      // every simulated terminal is on 127.0.0.1
      "zkpush.max_connections_per_address=0"};
  pushgate::test::GatewayHarness gw(
      overrides, o.dir.empty() ? std::filesystem::path() : std::filesystem::path(o.dir));
  AccessService* access = gw.gateway().access();
  if (access == nullptr) {
    std::fprintf(stderr, "access is disabled\n");
    return 1;
  }

  // Master data: every terminal's door 1 enters the one hard APB area.
  auto t_setup = Steady::now();
  put(*access, EntityKind::TimeZone,
      json::parse(R"({"id":1,"sun":["00:00-23:59"],"mon":["00:00-23:59"],"tue":["00:00-23:59"],
        "wed":["00:00-23:59"],"thu":["00:00-23:59"],"fri":["00:00-23:59"],"sat":["00:00-23:59"],
        "hol1":["00:00-23:59"],"hol2":["00:00-23:59"],"hol3":["00:00-23:59"]})"));
  put(*access, EntityKind::Area, json::parse(R"({"id":1,"name":"site","apb":"hard"})"));
  json doors = json::array();
  json level = {{"id", 1}, {"timezone", 1}, {"doors", json::array()}};
  for (int i = 0; i < o.terminals; ++i) {
    doors.push_back(
        {{"terminal", serial(i)}, {"door", 1}, {"open_s", 5}, {"area_in", o.apb ? 1 : 0}});
    level["doors"].push_back(serial(i) + "/1");
  }
  put(*access, EntityKind::Door, doors);
  put(*access, EntityKind::Level, level);
  json users = json::array();
  for (int u = 0; u < o.users; ++u) {
    users.push_back({{"pin", std::to_string(1000 + u)},
                     {"name", "User " + std::to_string(u)},
                     {"cards", {std::to_string(5000000 + u)}},
                     {"levels", {1}}});
  }
  put(*access, EntityKind::User, users);
  double setup_s = std::chrono::duration<double>(Steady::now() - t_setup).count();

  // The terminals: registered and online before the clock starts.
  boost::asio::io_context ioc;
  auto work = boost::asio::make_work_guard(ioc);
  std::thread io([&] { ioc.run(); });
  std::vector<std::shared_ptr<pushgate::sim::AccessTerminal>> terminals;
  for (int i = 0; i < o.terminals; ++i) {
    pushgate::sim::AccessTerminalConfig c;
    c.serial_number = serial(i);
    c.http.port = gw.zkpush_port();
    c.http.timeout = 10s;
    c.poll_interval = 3600s;  // only remote identification during the run
    c.error_delay = 200ms;
    terminals.push_back(pushgate::sim::AccessTerminal::create(ioc, c));
    terminals.back()->start();
  }
  for (auto& t : terminals) {
    if (!t->wait_until([](const auto& s) { return s.polls >= 1; }, 60s)) {
      std::fprintf(stderr, "terminal %s never came online\n", t->serial_number().c_str());
      return 1;
    }
  }

  std::vector<std::uint8_t> inside(static_cast<std::size_t>(o.users), 0);
  std::mutex inside_mutex;
  std::mutex results_mutex;
  std::vector<double> latencies;
  latencies.reserve(static_cast<std::size_t>(o.rate) * static_cast<std::size_t>(o.seconds) + 16);
  std::atomic<long> granted{0};
  std::atomic<long> refused{0};
  std::atomic<long> errors{0};
  std::atomic<long> outstanding{0};

  const auto period = std::chrono::duration_cast<Steady::duration>(
      std::chrono::duration<double>(static_cast<double>(o.terminals) / o.rate));
  const auto start = Steady::now() + 100ms;
  const auto end = start + std::chrono::seconds(o.seconds);
  std::vector<std::shared_ptr<Driver>> drivers;
  for (int i = 0; i < o.terminals; ++i) {
    auto d = std::make_shared<Driver>(ioc, static_cast<unsigned>(i) * 7919u + 1u);
    d->terminal = terminals[static_cast<std::size_t>(i)];
    d->period = period;
    d->next = start + period * i / o.terminals;  // spread evenly, not in bursts
    d->end = end;
    d->users = o.users;
    d->inside = &inside;
    d->inside_mutex = &inside_mutex;
    d->results_mutex = &results_mutex;
    d->latencies_ms = &latencies;
    d->granted = &granted;
    d->refused = &refused;
    d->errors = &errors;
    d->outstanding = &outstanding;
    drivers.push_back(d);
  }
  for (auto& d : drivers) {
    boost::asio::post(ioc, [d] { d->arm(); });
  }
  std::this_thread::sleep_until(end);
  auto drain_until = Steady::now() + 30s;
  while (outstanding.load() > 0 && Steady::now() < drain_until) {
    std::this_thread::sleep_for(5ms);
  }
  double elapsed = std::chrono::duration<double>(Steady::now() - start).count();

  for (auto& t : terminals) {
    t->stop();
  }
  work.reset();
  ioc.stop();
  io.join();

  std::vector<double> v;
  {
    std::lock_guard lock(results_mutex);
    v = latencies;
  }
  const long done = static_cast<long>(v.size());
  double p50 = percentile(v, 0.50);
  double p99 = percentile(v, 0.99);
  double max = v.empty() ? 0 : *std::max_element(v.begin(), v.end());
  // Answers before the commit leave their Decision events a few ms behind.
  long decisions = 0;
  for (auto until = Steady::now() + 10s; Steady::now() < until; std::this_thread::sleep_for(10ms)) {
    decisions = gw.query_int("SELECT count(*) FROM events WHERE kind = 9");
    if (decisions >= done) {
      break;
    }
  }
  double load[3] = {0, 0, 0};
  if (std::FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(f, "%lf %lf %lf", &load[0], &load[1], &load[2]) != 3) {
      load[0] = -1;
    }
    std::fclose(f);
  }

  std::printf(
      "access_bench: %d terminals, %d users, target %d req/s for %d s, %s, "
      "access.wait_for_commit = %s\n",
      o.terminals, o.users, o.rate, o.seconds,
      o.apb ? "hard anti-passback (grants move users)" : "no anti-passback", o.wait.c_str());
  std::printf("  setup: master data stored in %.2f s; database on %s (%s)\n", setup_s,
              filesystem_of(gw.data_dir().string()), gw.data_dir().c_str());
  std::printf("  answered %ld in %.2f s: %.0f decisions/s (SUCCESS %ld, FAILED %ld, errors %ld)\n",
              done, elapsed, static_cast<double>(done) / elapsed, granted.load(), refused.load(),
              errors.load());
  std::printf("  latency end to end over HTTP: p50 %.3f ms, p99 %.3f ms, max %.3f ms\n", p50, p99,
              max);
  std::printf("  Decision events stored: %ld\n", decisions);
  std::printf("  machine: %u hardware threads, load average %.2f (1 min) during the run\n",
              std::thread::hardware_concurrency(), load[0]);
  std::printf("  target p99 < 2 ms at 2,000 req/s: %s\n",
              o.rate >= 2000 && o.users >= 10000 && o.terminals >= 200
                  ? (p99 < 2.0 && errors.load() == 0 ? "met" : "NOT met")
                  : "not the target load (smoke)");
  if (errors.load() > 0 || done == 0 || decisions < done) {
    return 1;
  }
  return 0;
}
