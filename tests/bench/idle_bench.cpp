// idle_bench: what idle terminals cost. N registered terminals poll a real
// pushgated process every `interval` with nothing queued for them, each
// poll on a NEW TCP connection (as terminals do: `Connection: close`),
// from its own loopback address (127.1.x.y). Half are attendance PUSH
// terminals (`GET /iclock/getrequest?SN=..`, with INFO= now and then, as
// the captured firmware does), half Security PUSH access terminals
// (`GET /iclock/getrequest?SN=..` and now and then `GET /iclock/ping?SN=..`,
// each with its session token cookie).
//
// Before the measured window every terminal is registered through the
// real handshake (attendance: cdata?options=all; access: cdata, registry,
// push), then a warm-up runs. Over the window the bench reads the daemon's
// utime+stime from /proc/<pid>/stat and prints the daemon's CPU as % of one
// core, the requests/s served, p50/p99 poll latency (connect to the last
// byte of the answer) and the errors. The client is one asio thread pacing
// the polls evenly (N / interval per second); its own CPU is printed too.
//
// Several daemons can be measured in one run (`--daemon LABEL=PATH`, in
// turn, each on a fresh data directory), e.g. main's binary and this
// tree's, so before and after come from the same run on the same machine.
//
// Usage: idle_bench [--terminals 2000] [--interval-ms 2000] [--warmup-s 10]
//                   [--window-s 30] [--access-share 50] [--info-every 30]
//                   [--ping-every 4] [--daemon LABEL=PATH]... [--set KEY=VALUE]...
//                   [--max-cpu PCT]
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>

#include "tests/bench/latency.hpp"
#include "tests/bench/proc_stats.hpp"
#include "tests/sim/access_protocol.hpp"
#include "tests/sim/attendance_protocol.hpp"
#include "tests/sim/push_protocol.hpp"
#include "tests/support/gateway_harness.hpp"
#include "tests/support/processes.hpp"

namespace {

using pushgate::bench::percentile;

namespace net = boost::asio;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
using Steady = std::chrono::steady_clock;

struct Daemon {
  std::string label;
  std::string path;
};

struct Options {
  std::size_t terminals = 2000;
  std::int64_t interval_ms = 2000;
  int warmup_s = 10;
  int window_s = 30;
  int access_share = 50;  // % of terminals speaking Security PUSH
  int info_every = 30;    // an attendance poll carries INFO= once in this many
  int ping_every = 4;     // an access terminal pings instead of polling once in this many
  double max_cpu = 0;     // > 0: fail when the last daemon's CPU % is above it
  std::vector<Daemon> daemons;
  std::vector<std::string> sets;  // extra --set key=value for every daemon
};

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage: idle_bench [--terminals N] [--interval-ms MS] [--warmup-s S] [--window-s S]"
               " [--access-share PCT] [--info-every N] [--ping-every N] [--daemon LABEL=PATH]..."
               " [--set KEY=VALUE]... [--max-cpu PCT]\n");
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    std::string v = argv[i + 1];
    if (k == "--terminals") {
      o.terminals = std::stoul(v);
    } else if (k == "--interval-ms") {
      o.interval_ms = std::stoll(v);
    } else if (k == "--warmup-s") {
      o.warmup_s = std::stoi(v);
    } else if (k == "--window-s") {
      o.window_s = std::stoi(v);
    } else if (k == "--access-share") {
      o.access_share = std::stoi(v);
    } else if (k == "--info-every") {
      o.info_every = std::stoi(v);
    } else if (k == "--ping-every") {
      o.ping_every = std::stoi(v);
    } else if (k == "--max-cpu") {
      o.max_cpu = std::stod(v);
    } else if (k == "--set") {
      o.sets.push_back(v);
    } else if (k == "--daemon") {
      auto eq = v.find('=');
      if (eq == std::string::npos) {
        o.daemons.push_back({v, v});
      } else {
        o.daemons.push_back({v.substr(0, eq), v.substr(eq + 1)});
      }
    } else {
      usage();
    }
  }
  if (o.terminals == 0 || o.terminals > 60000 || o.interval_ms <= 0 || o.window_s <= 0) {
    usage();
  }
  if (o.daemons.empty()) {
    o.daemons.push_back({"this tree", PUSHGATED_PATH});
  }
  return o;
}

double self_cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  auto s = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return s(u.ru_utime) + s(u.ru_stime);
}

// Each terminal speaks from its own loopback address, as on a site LAN:
// 127.1.0.1, 127.1.0.2, ... (the whole of 127/8 is loopback on Linux).
net::ip::address_v4 source_of(std::size_t index) {
  auto n = static_cast<std::uint32_t>(index);
  return net::ip::address_v4((127u << 24) | (1u << 16) | ((n / 250) << 8) | (1 + n % 250));
}

struct Terminal {
  std::string sn;
  bool access = false;
  net::ip::address_v4 source;
  std::string cookie;  // access: "token=..."
  std::string poll;    // the usual request bytes
  std::string info;    // attendance: the poll with INFO=
  std::string ping;    // access: the heartbeat
  std::size_t polls = 0;
  bool busy = false;
};

std::string get_request(const std::string& target, const std::string& cookie) {
  std::string r = "GET " + target +
                  " HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: iClock Proxy/1.09\r\n"
                  "Connection: close\r\nAccept: */*\r\n";
  if (!cookie.empty()) {
    r += "Cookie: " + cookie + "\r\n";
  }
  return r + "\r\n";
}

/** Registers one terminal the way it would (blocking); "" or what went wrong. */
std::string register_terminal(std::uint16_t port, Terminal& t) {
  using pushgate::test::send_raw;
  if (!t.access) {
    pushgate::sim::DeviceProfile profile;
    auto a = send_raw(port, get_request(pushgate::sim::handshake_target(profile, t.sn), ""));
    if (a.status != 200) {
      return "handshake answered " + std::to_string(a.status);
    }
    pushgate::sim::DeviceCounts counts;
    t.poll = get_request("/iclock/getrequest?SN=" + t.sn, "");
    t.info = get_request(
        "/iclock/getrequest?SN=" + t.sn + "&INFO=" +
            pushgate::sim::encode_query_value(pushgate::sim::format_info_value(profile, counts)),
        "");
    return {};
  }
  pushgate::sim::AccessDeviceProfile profile;
  auto h = send_raw(port, get_request(pushgate::sim::access_handshake_target(profile, t.sn), ""));
  if (h.status != 200) {
    return "handshake answered " + std::to_string(h.status);
  }
  std::string body = pushgate::sim::format_registry_body(profile);
  auto r = send_raw(port, "POST /iclock/registry?SN=" + t.sn +
                              " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                              "Content-Type: application/push;charset=UTF-8\r\nContent-Length: " +
                              std::to_string(body.size()) + "\r\n\r\n" + body);
  auto code = pushgate::sim::parse_registry_answer(r.body);
  if (r.status != 200 || !code) {
    return "registry answered " + std::to_string(r.status) + " " + r.body.substr(0, 60);
  }
  auto p = send_raw(port, "POST /iclock/push?SN=" + t.sn +
                              " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                              "Content-Length: 0\r\n\r\n");
  auto cfg = pushgate::sim::parse_access_server_config(p.body);
  if (p.status != 200 || !cfg.ok || cfg.config.session_id.empty()) {
    return "push answered " + std::to_string(p.status) + " " + p.body.substr(0, 60);
  }
  t.cookie = "token=" + pushgate::sim::session_token(*code, t.sn, cfg.config.session_id);
  t.poll = get_request("/iclock/getrequest?SN=" + t.sn, t.cookie);
  t.ping = get_request("/iclock/ping?SN=" + t.sn, t.cookie);
  return {};
}

struct Tally {
  std::size_t sent = 0;
  std::size_t ok = 0;
  std::size_t skipped = 0;  // the terminal's previous poll was still open
  std::size_t connect_errors = 0;
  std::size_t io_errors = 0;
  std::size_t wrong = 0;  // not 200 "OK"
  std::vector<double> latency_ms;
};

// One poll: connect from the terminal's address, send, read the answer, close.
class Poll : public std::enable_shared_from_this<Poll> {
 public:
  Poll(net::io_context& ioc, Terminal& t, const std::string& request, tcp::endpoint server,
       Tally& tally, const bool& measuring)
      : socket_(ioc),
        terminal_(t),
        request_(request),
        server_(server),
        tally_(tally),
        measuring_(measuring) {}

  void start() {
    start_ = Steady::now();
    terminal_.busy = true;
    boost::system::error_code ec;
    socket_.open(tcp::v4(), ec);
    if (!ec) {
      // The port is chosen at connect time, per destination: no exhaustion
      // of the ephemeral range by sockets bound before connecting.
      int one = 1;
      ::setsockopt(socket_.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
      socket_.bind(tcp::endpoint(terminal_.source, 0), ec);
    }
    if (ec) {
      finish(&Tally::connect_errors);
      return;
    }
    socket_.async_connect(server_, [self = shared_from_this()](boost::system::error_code cec) {
      if (cec) {
        self->finish(&Tally::connect_errors);
        return;
      }
      net::async_write(self->socket_, net::buffer(self->request_),
                       [self](boost::system::error_code wec, std::size_t) {
                         if (wec) {
                           self->finish(&Tally::io_errors);
                           return;
                         }
                         bhttp::async_read(self->socket_, self->buffer_, self->res_,
                                           [self](boost::system::error_code rec, std::size_t) {
                                             self->on_read(rec);
                                           });
                       });
    });
  }

 private:
  void on_read(boost::system::error_code ec) {
    if (ec) {
      finish(&Tally::io_errors);
      return;
    }
    if (res_.result_int() != 200 || res_.body() != "OK") {
      if (measuring_ && tally_.wrong < 5) {
        std::fprintf(stderr, "%s: answered %u %s\n", terminal_.sn.c_str(), res_.result_int(),
                     res_.body().substr(0, 80).c_str());
      }
      finish(&Tally::wrong);
      return;
    }
    if (measuring_) {
      tally_.latency_ms.push_back(
          std::chrono::duration<double, std::milli>(Steady::now() - start_).count());
    }
    finish(&Tally::ok);
  }

  void finish(std::size_t Tally::*counter) {
    boost::system::error_code ignored;
    socket_.close(ignored);
    terminal_.busy = false;
    if (measuring_) {
      ++(tally_.*counter);
    }
  }

  tcp::socket socket_;
  Terminal& terminal_;
  const std::string& request_;
  tcp::endpoint server_;
  Tally& tally_;
  const bool& measuring_;
  boost::beast::flat_buffer buffer_;
  bhttp::response<bhttp::string_body> res_;
  Steady::time_point start_;
};

struct Figures {
  double cpu_pct = 0;
  double served_per_s = 0;
  double p50 = 0;
  double p99 = 0;
  std::size_t errors = 0;
  std::size_t skipped = 0;
  double client_cpu_pct = 0;
  double rss_mb = 0;
  bool ok = false;
};

Figures run_one(const Options& o, const Daemon& d) {
  Figures f;
  pushgate::test::TempDir tmp;
  const auto port = pushgate::test::free_port();
  const auto api_port = pushgate::test::free_port();
  const std::string log = (tmp.path() / "pushgated.log").string();
  // Production defaults (log level info), the poll interval the terminals
  // are told, and room for every terminal's address.
  std::vector<std::string> sets = {
      "log.level=info",
      "zkpush.delay_s=" + std::to_string(std::max<std::int64_t>(1, o.interval_ms / 1000))};
  sets.insert(sets.end(), o.sets.begin(), o.sets.end());  // --set: after ours, so they win
  auto argv = pushgate::test::pushgated_argv(
      d.path, std::string(PUSHGATE_SOURCE_DIR) + "/config/pushgate.toml", tmp.path().string(), port,
      api_port, sets);
  pid_t pid = pushgate::test::spawn_process(argv, log);
  if (pid <= 0 || !pushgate::test::wait_http_ready(api_port, std::chrono::seconds(30))) {
    std::fprintf(stderr, "[%s] pushgated did not start (log: %s)\n", d.label.c_str(), log.c_str());
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    return f;
  }
  std::printf("[%s] pushgated pid %d\n", d.label.c_str(), static_cast<int>(pid));
  std::fflush(stdout);

  std::vector<Terminal> terminals(o.terminals);
  for (std::size_t i = 0; i < o.terminals; ++i) {
    auto& t = terminals[i];
    t.access = static_cast<int>((i * 100) / o.terminals) < o.access_share;
    char sn[32];
    std::snprintf(sn, sizeof sn, "%s%05zu", t.access ? "IDLEACC" : "IDLEATT", i);
    t.sn = sn;
    t.source = source_of(i);
  }
  // Registration: a few blocking clients in parallel (group commit takes
  // their writes together).
  auto reg_start = Steady::now();
  std::atomic<std::size_t> next{0};
  std::atomic<std::size_t> reg_failed{0};
  std::mutex err_mutex;
  std::string first_error;
  std::vector<std::thread> workers;
  for (int w = 0; w < 32; ++w) {
    workers.emplace_back([&] {
      for (std::size_t i = next++; i < terminals.size(); i = next++) {
        std::string why;
        try {
          why = register_terminal(port, terminals[i]);
        } catch (const std::exception& e) {
          why = e.what();
        }
        if (!why.empty()) {
          reg_failed.fetch_add(1);
          std::lock_guard lock(err_mutex);
          if (first_error.empty()) {
            first_error = terminals[i].sn + ": " + why;
          }
        }
      }
    });
  }
  for (auto& w : workers) {
    w.join();
  }
  double reg_s = std::chrono::duration<double>(Steady::now() - reg_start).count();
  if (reg_failed.load() > 0) {
    std::fprintf(stderr, "[%s] %zu terminal(s) not registered, first: %s\n", d.label.c_str(),
                 reg_failed.load(), first_error.c_str());
  }

  net::io_context ioc(1);
  tcp::endpoint server(net::ip::make_address_v4("127.0.0.1"), port);
  Tally tally;
  bool measuring = false;
  const auto period = std::chrono::duration<double>(static_cast<double>(o.interval_ms) / 1000.0 /
                                                    static_cast<double>(o.terminals));
  const auto start = Steady::now();
  const auto window_start = start + std::chrono::seconds(o.warmup_s);
  const auto window_end = window_start + std::chrono::seconds(o.window_s);
  double cpu_at_start = 0;
  double self_at_start = 0;
  double cpu_at_end = 0;
  double self_at_end = 0;
  std::size_t launched = 0;
  net::steady_timer tick(ioc);
  std::function<void()> on_tick = [&] {
    auto now = Steady::now();
    if (!measuring && now >= window_start && cpu_at_start == 0) {
      measuring = true;
      cpu_at_start = pushgate::bench::cpu_seconds(pid);
      self_at_start = self_cpu_seconds();
    }
    if (now >= window_end) {
      cpu_at_end = pushgate::bench::cpu_seconds(pid);
      self_at_end = self_cpu_seconds();
      measuring = false;
      return;  // the polls in flight finish, then run() returns
    }
    // Every poll due by now, in terminal order: even pacing.
    auto due = static_cast<std::size_t>(std::chrono::duration<double>(now - start) / period);
    for (; launched < due; ++launched) {
      auto& t = terminals[launched % terminals.size()];
      if (t.busy) {
        if (measuring) {
          ++tally.skipped;
        }
        continue;
      }
      const std::string* req = &t.poll;
      ++t.polls;
      if (!t.access && o.info_every > 0 && t.polls % static_cast<std::size_t>(o.info_every) == 1) {
        req = &t.info;
      } else if (t.access && o.ping_every > 0 &&
                 t.polls % static_cast<std::size_t>(o.ping_every) == 0) {
        req = &t.ping;
      }
      if (measuring) {
        ++tally.sent;
      }
      std::make_shared<Poll>(ioc, t, *req, server, tally, measuring)->start();
    }
    tick.expires_at(now + std::chrono::milliseconds(1));
    tick.async_wait([&](boost::system::error_code) { on_tick(); });
  };
  on_tick();
  ioc.run();

  const double window = static_cast<double>(o.window_s);
  f.cpu_pct = 100.0 * (cpu_at_end - cpu_at_start) / window;
  f.client_cpu_pct = 100.0 * (self_at_end - self_at_start) / window;
  f.served_per_s = static_cast<double>(tally.ok) / window;
  f.p50 = percentile(tally.latency_ms, 0.50);
  f.p99 = percentile(tally.latency_ms, 0.99);
  f.errors = tally.connect_errors + tally.io_errors + tally.wrong + reg_failed.load();
  f.skipped = tally.skipped;
  f.rss_mb = pushgate::bench::rss_mb(pid);
  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
  f.ok = f.errors == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
  std::printf(
      "[%s] %zu terminals (%zu access) registered in %.1f s; window %d s after %d s warm-up:"
      " %zu polls sent, %.0f requests/s served, pushgated CPU %.1f%% of one core, p50 %.2f ms,"
      " p99 %.2f ms, errors %zu (connect %zu, i/o %zu, wrong answer %zu, not registered %zu),"
      " skipped %zu, pushgated RSS %.0f MB, client CPU %.1f%%, exit status %d\n",
      d.label.c_str(), o.terminals,
      static_cast<std::size_t>(std::count_if(terminals.begin(), terminals.end(),
                                             [](const Terminal& t) { return t.access; })),
      reg_s, o.window_s, o.warmup_s, tally.sent, f.served_per_s, f.cpu_pct, f.p50, f.p99, f.errors,
      tally.connect_errors, tally.io_errors, tally.wrong, reg_failed.load(), f.skipped, f.rss_mb,
      f.client_cpu_pct, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  std::fflush(stdout);
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parse(argc, argv);
  std::printf(
      "idle_bench: %zu terminals polling every %lld ms on a new connection each"
      " (%.0f polls/s), %d%% Security PUSH\n",
      o.terminals, static_cast<long long>(o.interval_ms),
      static_cast<double>(o.terminals) * 1000.0 / static_cast<double>(o.interval_ms),
      o.access_share);
  std::fflush(stdout);
  bool pass = true;
  std::vector<Figures> all;
  for (const auto& d : o.daemons) {
    all.push_back(run_one(o, d));
    pass = pass && all.back().ok;
  }
  if (o.max_cpu > 0 && !all.empty() && all.back().cpu_pct > o.max_cpu) {
    pass = false;
  }
  std::printf("idle_bench summary (pushgated CPU %% of one core):");
  for (std::size_t i = 0; i < all.size(); ++i) {
    std::printf(" %s %.1f%%;", o.daemons[i].label.c_str(), all[i].cpu_pct);
  }
  std::printf(" %s\n", pass ? "PASS" : "FAIL");
  return pass ? 0 : 1;
}
