// A full synchronisation at the size of a site (issue 19 item 6): one
// enrolment terminal uploads U users (each with a card, one fingerprint
// template and one face photo), then T access terminals come online and the
// sync brings every user to every one of them. A whole gateway in-process,
// the terminals simulated (tests/sim/access_terminal.*, Security PUSH over
// real HTTP on loopback: getrequest, DATA UPDATE, devicecmd results).
//
// Prints the time until every terminal holds every user (checked in what
// each simulated terminal executed, not in what the gateway believes), the
// peak size of the commands table (rows and bytes of params + wire), the
// peak of open sync commands, the database growth during the sync, and the
// store errors (commit failures, sync commands the queue refused).
//
// The simulated terminals keep a digest of each template and photo
// (AccessTerminalConfig::keep_digests), so 200 copies of 10,000 photos do
// not need to fit in RAM.
//
// With --daemon the gateway is a pushgated process of its own (the one built
// with this bench, or the path given), so its resident size and CPU are
// printed apart from the simulators': the peak RSS of pushgated during the
// sync against the documented 64 MB ceiling (issue 19 item 4). Without it
// the gateway runs in this process, beside the simulators, and the bench
// prints the RSS of the two together.
//
// Usage: sync_bench [--terminals 200] [--users 10000] [--template-bytes 1400]
//                   [--photo-bytes 20000] [--poll-ms 200] [--timeout-s 600]
//                   [--dir /path] [--set section.key=value]... [--daemon [PATH]]
//                   [--smoke]
#include <signal.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "tests/bench/proc_stats.hpp"
#include "tests/sim/access_terminal.hpp"
#include "tests/support/gateway_harness.hpp"
#include "tests/support/processes.hpp"

using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;

namespace {

struct Options {
  int terminals = 200;
  int users = 10000;
  int template_bytes = 1400;  // a 10.0 fingerprint template, base64 (spec §7.7 Size ~1.4 KB)
  int photo_bytes = 20000;    // a face photo (biophoto), base64 JPEG
  int poll_ms = 200;
  int timeout_s = 600;
  std::string dir;
  std::vector<std::string> sets;
  std::string daemon;  ///< empty: the gateway in this process
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const bool has_value = i + 1 < argc;
    if (std::strcmp(argv[i], "--smoke") == 0) {
      o.terminals = 3;
      o.users = 60;
      o.photo_bytes = 2000;
      o.poll_ms = 50;
      o.timeout_s = 60;
    } else if (std::strcmp(argv[i], "--terminals") == 0 && has_value) {
      o.terminals = std::clamp(std::atoi(argv[++i]), 1, 2000);
    } else if (std::strcmp(argv[i], "--users") == 0 && has_value) {
      o.users = std::clamp(std::atoi(argv[++i]), 1, 100000);
    } else if (std::strcmp(argv[i], "--template-bytes") == 0 && has_value) {
      o.template_bytes = std::clamp(std::atoi(argv[++i]), 16, 100000);
    } else if (std::strcmp(argv[i], "--photo-bytes") == 0 && has_value) {
      o.photo_bytes = std::clamp(std::atoi(argv[++i]), 16, 1000000);
    } else if (std::strcmp(argv[i], "--poll-ms") == 0 && has_value) {
      o.poll_ms = std::clamp(std::atoi(argv[++i]), 1, 60000);
    } else if (std::strcmp(argv[i], "--timeout-s") == 0 && has_value) {
      o.timeout_s = std::clamp(std::atoi(argv[++i]), 1, 86400);
    } else if (std::strcmp(argv[i], "--dir") == 0 && has_value) {
      o.dir = argv[++i];
    } else if (std::strcmp(argv[i], "--set") == 0 && has_value) {
      o.sets.emplace_back(argv[++i]);
    } else if (std::strcmp(argv[i], "--daemon") == 0) {
      o.daemon = has_value && argv[i + 1][0] != '-' ? argv[++i] : PUSHGATED_PATH;
    } else {
      std::fprintf(stderr,
                   "usage: sync_bench [--terminals N] [--users N] [--template-bytes B] "
                   "[--photo-bytes B] [--poll-ms MS] [--timeout-s S] [--dir D] "
                   "[--set section.key=value]... [--daemon [PATH]] [--smoke]\n");
      std::exit(2);
    }
  }
  return o;
}

std::string serial(int i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "SYNCB%05d", i);
  return buf;
}

std::string base64ish(std::mt19937& rng, int n) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string s(static_cast<std::size_t>(n), 'A');
  for (auto& c : s) {
    c = kAlphabet[rng() % 64];
  }
  return s;
}

std::uintmax_t dir_bytes(const std::filesystem::path& dir) {
  std::uintmax_t total = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    if (e.is_regular_file(ec)) {
      total += e.file_size(ec);
    }
  }
  return total;
}

double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

long rss_now_mb() {
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) {
    return -1;
  }
  char line[256];
  long kb = -1;
  while (std::fgets(line, sizeof line, f) != nullptr) {
    if (std::strncmp(line, "VmRSS:", 6) == 0) {
      kb = std::atol(line + 6);
      break;
    }
  }
  std::fclose(f);
  return kb < 0 ? -1 : kb / 1024;
}

long peak_rss_mb() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss / 1024;
}

// The gateway under test: what the bench reads of it, wherever it runs.
class Target {
 public:
  virtual ~Target() = default;
  virtual std::uint16_t zkpush_port() const = 0;
  virtual std::uint16_t api_port() const = 0;
  virtual std::filesystem::path data_dir() const = 0;
  /** A SELECT returning one integer. */
  virtual std::int64_t query_int(const std::string& sql) = 0;
  /** An unlabelled metric's value; 0 when absent. */
  virtual double metric(const std::string& name) = 0;
  /** The pushgated process, or -1 when the gateway runs in this one. */
  virtual pid_t pid() const { return -1; }
};

class InProcess final : public Target {
 public:
  InProcess(std::vector<std::string> overrides, const std::string& dir)
      : gw_(std::move(overrides),
            dir.empty() ? std::filesystem::path() : std::filesystem::path(dir)) {}
  std::uint16_t zkpush_port() const override { return gw_.zkpush_port(); }
  std::uint16_t api_port() const override { return gw_.api_port(); }
  std::filesystem::path data_dir() const override { return gw_.data_dir(); }
  std::int64_t query_int(const std::string& sql) override { return gw_.query_int(sql); }
  double metric(const std::string& name) override { return gw_.gateway().metrics().value(name); }

 private:
  pushgate::test::GatewayHarness gw_;
};

// pushgated started with the shipped config and the bench's --set lines; the
// database read through a read-only connection of its own (WAL: it never
// blocks the daemon's writer), the metrics through GET /metrics.
class Daemon final : public Target {
 public:
  Daemon(const std::string& bin, const std::vector<std::string>& sets, const std::string& dir) {
    if (dir.empty()) {
      temp_ = std::make_unique<pushgate::test::TempDir>();
      dir_ = temp_->path();
    } else {
      dir_ = dir;
      std::filesystem::create_directories(dir_);
    }
    zkpush_port_ = pushgate::test::free_port();
    api_port_ = pushgate::test::free_port();
    pid_ = pushgate::test::spawn_process(
        pushgate::test::pushgated_argv(bin,
                                       std::string(PUSHGATE_SOURCE_DIR) + "/config/pushgate.toml",
                                       dir_.string(), zkpush_port_, api_port_, sets),
        (dir_ / "pushgated.log").string());
    try {
      if (pid_ <= 0 || !pushgate::test::wait_http_ready(api_port_, std::chrono::seconds(60))) {
        throw std::runtime_error("pushgated " + bin + " did not become ready (log: " +
                                 (dir_ / "pushgated.log").string() + ")");
      }
      pushgate::test::admin_api_token(api_port_, dir_.string());
      const auto db = dir_ / "pushgate.db";
      if (sqlite3_open_v2(db.c_str(), &db_, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
        throw std::runtime_error("cannot open " + db.string() + " read-only");
      }
      sqlite3_busy_timeout(db_, 5000);
    } catch (...) {
      stop();
      throw;
    }
  }
  ~Daemon() override { stop(); }
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  std::uint16_t zkpush_port() const override { return zkpush_port_; }
  std::uint16_t api_port() const override { return api_port_; }
  std::filesystem::path data_dir() const override { return dir_; }
  pid_t pid() const override { return pid_; }
  std::int64_t query_int(const std::string& sql) override {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
      throw std::runtime_error("prepare " + sql + ": " + sqlite3_errmsg(db_));
    }
    const int rc = sqlite3_step(st);
    const std::int64_t v = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW) {
      throw std::runtime_error("no row for " + sql + ": " + sqlite3_errmsg(db_));
    }
    return v;
  }
  double metric(const std::string& name) override {
    return pushgate::test::metric_value(api_port_, name).value_or(0);
  }

 private:
  void stop() {
    sqlite3_close(db_);
    db_ = nullptr;
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      ::waitpid(pid_, &status, 0);
      pid_ = -1;
    }
  }

  std::unique_ptr<pushgate::test::TempDir> temp_;
  std::filesystem::path dir_;
  std::uint16_t zkpush_port_ = 0;
  std::uint16_t api_port_ = 0;
  pid_t pid_ = -1;
  sqlite3* db_ = nullptr;
};

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  std::vector<std::string> overrides = {"zkpush.token_check=off", "log.level=warn",
                                        "mqtt.enabled=false", "linkage.enabled=false",
                                        "attendance.enabled=false", "sync.enabled=true",
                                        // every simulated terminal is on 127.0.0.1
                                        "zkpush.max_connections_per_address=0"};
  overrides.insert(overrides.end(), o.sets.begin(), o.sets.end());
  std::unique_ptr<Target> target;
  if (o.daemon.empty()) {
    target = std::make_unique<InProcess>(overrides, o.dir);
  } else {
    target = std::make_unique<Daemon>(o.daemon, overrides, o.dir);
  }
  Target& gw = *target;
  const pid_t daemon_pid = gw.pid();

  boost::asio::io_context ioc;
  auto work = boost::asio::make_work_guard(ioc);
  std::thread io([&] { ioc.run(); });
  const auto make = [&](const std::string& sn) {
    pushgate::sim::AccessTerminalConfig c;
    c.serial_number = sn;
    c.http.port = gw.zkpush_port();
    c.http.timeout = 30s;
    c.poll_interval = std::chrono::milliseconds(o.poll_ms);
    c.error_delay = 500ms;
    c.keep_digests = true;
    c.profile.multi_bio_data_support = "0:1:0:0:0:0:0:0:0:1";  // fingerprint, visible face
    c.profile.multi_bio_photo_support = "0:0:0:0:0:0:0:0:0:1";
    auto t = pushgate::sim::AccessTerminal::create(ioc, c);
    t->start();
    return t;
  };

  // 1. The enrolment station uploads every user (the sync has nobody to
  //    send them to yet).
  const auto t_enrol = Steady::now();
  auto station = make("SYNCBENROL");
  if (!station->wait_until([](const auto& s) { return s.polls >= 1; }, 60s)) {
    std::fprintf(stderr, "the enrolment terminal never came online\n");
    return 1;
  }
  std::mt19937 rng(19);
  std::vector<std::string> finger_digest(static_cast<std::size_t>(o.users));
  std::vector<std::string> photo_digest(static_cast<std::size_t>(o.users));
  for (int u = 0; u < o.users; ++u) {
    pushgate::sim::AccessUser user;
    user.pin = std::to_string(100000 + u);
    user.name = "User " + std::to_string(u);
    user.card = std::to_string(7000000 + u);
    pushgate::sim::AccessTemplate finger;
    finger.type = pushgate::sim::bio_type::kFingerprint;
    finger.no = 6;
    finger.major_ver = "10";
    finger.tmp = base64ish(rng, o.template_bytes);
    pushgate::sim::AccessPhoto photo;
    photo.table = "biophoto";
    photo.type = pushgate::sim::bio_type::kVisibleFace;
    photo.content = base64ish(rng, o.photo_bytes);
    finger_digest[static_cast<std::size_t>(u)] = pushgate::sim::content_digest(finger.tmp);
    photo_digest[static_cast<std::size_t>(u)] = pushgate::sim::content_digest(photo.content);
    station->enroll(user, {finger}, {photo});
    if (u % 200 == 199 &&
        !station->wait_until([](const auto& s) { return s.uploads_pending == 0; }, 120s)) {
      std::fprintf(stderr, "enrolment uploads stalled\n");
      return 1;
    }
  }
  if (!station->wait_until([](const auto& s) { return s.uploads_pending == 0; }, 120s)) {
    std::fprintf(stderr, "enrolment uploads stalled\n");
    return 1;
  }
  const double enrol_s = std::chrono::duration<double>(Steady::now() - t_enrol).count();
  const auto station_stats = station->access_stats();
  std::this_thread::sleep_for(500ms);  // the last commit's observers
  const auto db_before = dir_bytes(gw.data_dir());
  const double store_fail_before = gw.metric("pushgate_store_commit_failures_total");

  // 2. The site's access terminals come online; the sync brings them everyone.
  const auto t0 = Steady::now();
  const double cpu0 = cpu_seconds();
  const double daemon_cpu0 = daemon_pid > 0 ? pushgate::bench::cpu_seconds(daemon_pid) : 0;
  const double daemon_rss_before = daemon_pid > 0 ? pushgate::bench::rss_mb(daemon_pid) : 0;
  double daemon_rss_peak = daemon_rss_before;
  std::vector<std::shared_ptr<pushgate::sim::AccessTerminal>> terminals;
  for (int i = 0; i < o.terminals; ++i) {
    terminals.push_back(make(serial(i)));
  }
  const std::size_t want = static_cast<std::size_t>(o.users);
  std::int64_t peak_rows = 0;
  std::int64_t peak_bytes = 0;
  double peak_open = 0;
  // Resident size while the sync runs (the gateway and the simulators share
  // this process: the simulators' part is the same before and after a change).
  const long rss_before = rss_now_mb();
  long peak_rss_sync = rss_before;
  double peak_tracked = 0;
  std::uintmax_t peak_db = db_before;
  bool complete = false;
  auto next_report = t0 + 10s;
  while (Steady::now() - t0 < std::chrono::seconds(o.timeout_s)) {
    std::this_thread::sleep_for(1s);
    peak_rows = std::max(peak_rows, gw.query_int("SELECT count(*) FROM commands"));
    peak_bytes = std::max(peak_bytes, gw.query_int("SELECT coalesce(sum(length(params)) + "
                                                   "sum(coalesce(length(wire), 0)), 0) "
                                                   "FROM commands"));
    peak_open = std::max(peak_open, gw.metric("pushgate_sync_commands_open"));
    peak_rss_sync = std::max(peak_rss_sync, rss_now_mb());
    if (daemon_pid > 0) {
      daemon_rss_peak = std::max(daemon_rss_peak, pushgate::bench::rss_mb(daemon_pid));
    }
    peak_tracked = std::max(peak_tracked, gw.metric("pushgate_sync_tracked_items"));
    peak_db = std::max(peak_db, dir_bytes(gw.data_dir()));
    std::size_t min_users = want;
    std::size_t min_templates = want;
    std::size_t min_photos = want;
    std::size_t done = 0;
    for (const auto& t : terminals) {
      const auto h = t->held_counts();
      min_users = std::min(min_users, h.users);
      min_templates = std::min(min_templates, h.templates);
      min_photos = std::min(min_photos, h.photos);
      done += (h.users >= want && h.templates >= want && h.photos >= want) ? 1 : 0;
    }
    if (Steady::now() >= next_report) {
      next_report += 10s;
      std::printf(
          "  %4.0f s: %zu/%d terminals complete; least held: %zu users, %zu templates, "
          "%zu photos; commands table %lld rows; open sync commands %.0f\n",
          std::chrono::duration<double>(Steady::now() - t0).count(), done, o.terminals, min_users,
          min_templates, min_photos,
          static_cast<long long>(gw.query_int("SELECT count(*) FROM commands")),
          gw.metric("pushgate_sync_commands_open"));
      std::fflush(stdout);
    }
    if (done == terminals.size()) {
      complete = true;
      break;
    }
  }
  const double sync_s = std::chrono::duration<double>(Steady::now() - t0).count();
  const double cpu_s = cpu_seconds() - cpu0;
  const double daemon_cpu_s =
      daemon_pid > 0 ? pushgate::bench::cpu_seconds(daemon_pid) - daemon_cpu0 : 0;
  std::this_thread::sleep_for(1s);  // the last results' commits
  const auto db_after = dir_bytes(gw.data_dir());
  const std::int64_t rows_after = gw.query_int("SELECT count(*) FROM commands");
  const std::int64_t sync_items = gw.query_int("SELECT count(*) FROM sync_items");
  // What the gateway keeps in memory of what each terminal was sent.
  const auto sync_state = pushgate::test::http_request(gw.api_port(), "GET", "/api/v1/sync");
  long long items_tracked = -1;
  if (const auto at = sync_state.body.find("\"items_tracked\":"); at != std::string::npos) {
    items_tracked = std::atoll(sync_state.body.c_str() + at + 16);
  }
  const long rss_end = rss_now_mb();
  const double daemon_rss_end = daemon_pid > 0 ? pushgate::bench::rss_mb(daemon_pid) : 0;
  const double daemon_hwm = daemon_pid > 0 ? pushgate::bench::status_mb(daemon_pid, "VmHWM") : 0;

  // 3. What each terminal holds, item by item.
  std::size_t wrong = 0;
  std::string first_wrong;
  std::uint64_t executed = 0;
  std::uint64_t failed = 0;
  std::uint64_t problems = 0;
  for (const auto& t : terminals) {
    const auto users = t->users();
    const auto templates = t->templates();
    const auto photos = t->photos();
    const auto s = t->access_stats();
    executed += s.commands_executed;
    failed += s.commands_failed;
    problems += s.protocol_problems;
    std::vector<char> ok_user(want, 0);
    std::vector<char> ok_finger(want, 0);
    std::vector<char> ok_photo(want, 0);
    for (const auto& [pin, u] : users) {
      const long i = std::atol(pin.c_str()) - 100000;
      if (i >= 0 && static_cast<std::size_t>(i) < want && u.card == std::to_string(7000000 + i)) {
        ok_user[static_cast<std::size_t>(i)] = 1;
      }
    }
    for (const auto& x : templates) {
      const long i = std::atol(x.pin.c_str()) - 100000;
      if (i >= 0 && static_cast<std::size_t>(i) < want && x.type == 1 &&
          x.tmp == finger_digest[static_cast<std::size_t>(i)]) {
        ok_finger[static_cast<std::size_t>(i)] = 1;
      }
    }
    for (const auto& x : photos) {
      const long i = std::atol(x.pin.c_str()) - 100000;
      if (i >= 0 && static_cast<std::size_t>(i) < want && x.type == 9 &&
          x.content == photo_digest[static_cast<std::size_t>(i)]) {
        ok_photo[static_cast<std::size_t>(i)] = 1;
      }
    }
    for (std::size_t i = 0; i < want; ++i) {
      if (!ok_user[i] || !ok_finger[i] || !ok_photo[i]) {
        ++wrong;
        if (first_wrong.empty()) {
          first_wrong = t->serial_number() + " PIN " + std::to_string(100000 + i);
        }
      }
    }
  }
  const double store_failures =
      gw.metric("pushgate_store_commit_failures_total") - store_fail_before;
  const double enqueue_failures = gw.metric("pushgate_sync_enqueue_failures_total");

  for (auto& t : terminals) {
    t->stop();
  }
  station->stop();
  work.reset();
  ioc.stop();
  io.join();

  const double mb = 1024.0 * 1024.0;
  std::printf(
      "sync_bench: %d users (card, %d-byte fingerprint template, %d-byte face photo) to %d "
      "access terminals polling every %d ms\n",
      o.users, o.template_bytes, o.photo_bytes, o.terminals, o.poll_ms);
  std::printf("  enrolment uploaded in %.1f s; database %.1f MB before the sync (%s)\n", enrol_s,
              static_cast<double>(db_before) / mb, gw.data_dir().c_str());
  std::printf("  enrolment station: %llu uploads acknowledged, %llu failed requests\n",
              static_cast<unsigned long long>(station_stats.uploads_acked),
              static_cast<unsigned long long>(station_stats.failures()));
  if (daemon_pid > 0) {
    std::printf("  sync %s in %.1f s (CPU: pushgated %.1f s, simulators %.1f s)\n",
                complete ? "complete" : "NOT complete", sync_s, daemon_cpu_s, cpu_s);
  } else {
    std::printf("  sync %s in %.1f s (process CPU %.1f s: gateway and simulators)\n",
                complete ? "complete" : "NOT complete", sync_s, cpu_s);
  }
  std::printf("  commands table peak: %lld rows, %.1f MB (params + wire); %lld rows after\n",
              static_cast<long long>(peak_rows), static_cast<double>(peak_bytes) / mb,
              static_cast<long long>(rows_after));
  std::printf("  open sync commands peak: %.0f; sync_items rows: %lld\n", peak_open,
              static_cast<long long>(sync_items));
  std::printf(
      "  database growth: %.1f MB at the end, %.1f MB at the peak (files in the data dir)\n",
      (static_cast<double>(db_after) - static_cast<double>(db_before)) / mb,
      (static_cast<double>(peak_db) - static_cast<double>(db_before)) / mb);
  std::printf("  store errors: %.0f commit failures, %.0f sync commands refused by the queue\n",
              store_failures, enqueue_failures);
  std::printf(
      "  terminals: %llu commands executed, %llu failed, %llu protocol problems; %zu "
      "(terminal, user) pairs missing or wrong%s%s\n",
      static_cast<unsigned long long>(executed), static_cast<unsigned long long>(failed),
      static_cast<unsigned long long>(problems), wrong,
      first_wrong.empty() ? "" : ", first: ", first_wrong.c_str());
  if (daemon_pid > 0) {
    // Sampled once a second; VmHWM is the kernel's own peak over the whole run.
    std::printf(
        "  pushgated RSS: %.1f MB before the sync, peak %.1f MB during it, %.1f MB after; "
        "VmHWM %.1f MB (whole run, enrolment included); ceiling 64 MB: %s\n",
        daemon_rss_before, daemon_rss_peak, daemon_rss_end, daemon_hwm,
        daemon_hwm <= 64.0 ? "under" : "OVER");
    std::printf(
        "  sent items pushgated holds in memory: peak %.0f, %lld after "
        "(pushgate_sync_tracked_items); simulators' RSS (this process): peak %ld MB\n",
        peak_tracked, items_tracked, peak_rss_mb());
  } else {
    std::printf(
        "  RSS of the bench process (gateway and simulators): peak %ld MB, %ld MB after the "
        "sync; sent items the gateway holds in memory: %lld\n",
        peak_rss_mb(), rss_end, items_tracked);
    std::printf(
        "  RSS during the sync: %ld MB before, peak %ld MB (+%ld MB); sent items held in "
        "memory: peak %.0f (pushgate_sync_tracked_items)\n",
        rss_before, peak_rss_sync, peak_rss_sync - rss_before, peak_tracked);
  }
  return complete && wrong == 0 && store_failures == 0 && enqueue_failures == 0 ? 0 : 1;
}
