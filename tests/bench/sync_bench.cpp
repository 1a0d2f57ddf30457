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
// Usage: sync_bench [--terminals 200] [--users 10000] [--template-bytes 1400]
//                   [--photo-bytes 20000] [--poll-ms 200] [--timeout-s 600]
//                   [--dir /path] [--set section.key=value]... [--smoke]
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "tests/sim/access_terminal.hpp"
#include "tests/support/gateway_harness.hpp"

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
    } else {
      std::fprintf(stderr,
                   "usage: sync_bench [--terminals N] [--users N] [--template-bytes B] "
                   "[--photo-bytes B] [--poll-ms MS] [--timeout-s S] [--dir D] "
                   "[--set section.key=value]... [--smoke]\n");
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

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  std::vector<std::string> overrides = {"zkpush.token_check=off", "log.level=warn",
                                        "mqtt.enabled=false", "linkage.enabled=false",
                                        "attendance.enabled=false", "sync.enabled=true",
                                        // every simulated terminal is on 127.0.0.1
                                        "zkpush.max_connections_per_address=0"};
  overrides.insert(overrides.end(), o.sets.begin(), o.sets.end());
  pushgate::test::GatewayHarness gw(
      overrides, o.dir.empty() ? std::filesystem::path() : std::filesystem::path(o.dir));
  auto& metrics = gw.gateway().metrics();

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
  const double store_fail_before = metrics.value("pushgate_store_commit_failures_total");

  // 2. The site's access terminals come online; the sync brings them everyone.
  const auto t0 = Steady::now();
  const double cpu0 = cpu_seconds();
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
    peak_open = std::max(peak_open, metrics.value("pushgate_sync_commands_open"));
    peak_rss_sync = std::max(peak_rss_sync, rss_now_mb());
    peak_tracked = std::max(peak_tracked, metrics.value("pushgate_sync_tracked_items"));
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
          metrics.value("pushgate_sync_commands_open"));
      std::fflush(stdout);
    }
    if (done == terminals.size()) {
      complete = true;
      break;
    }
  }
  const double sync_s = std::chrono::duration<double>(Steady::now() - t0).count();
  const double cpu_s = cpu_seconds() - cpu0;
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
      metrics.value("pushgate_store_commit_failures_total") - store_fail_before;
  const double enqueue_failures = metrics.value("pushgate_sync_enqueue_failures_total");

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
  std::printf("  sync %s in %.1f s (process CPU %.1f s: gateway and simulators)\n",
              complete ? "complete" : "NOT complete", sync_s, cpu_s);
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
  std::printf(
      "  RSS of the bench process (gateway and simulators): peak %ld MB, %ld MB after the sync; "
      "sent items the gateway holds in memory: %lld\n",
      peak_rss_mb(), rss_end, items_tracked);
  std::printf(
      "  RSS during the sync: %ld MB before, peak %ld MB (+%ld MB); sent items held in memory: "
      "peak %.0f (pushgate_sync_tracked_items)\n",
      rss_before, peak_rss_sync, peak_rss_sync - rss_before, peak_tracked);
  return complete && wrong == 0 && store_failures == 0 && enqueue_failures == 0 ? 0 : 1;
}
