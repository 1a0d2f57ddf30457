// Backup under load (issue 19): the real pushgated with a stored history,
// N simulated terminals (pushgate-sim) uploading, and `pushgated --backup`
// taken in the middle of it. Prints, in the same run, the ingest rate and
// pushgated's CPU per record in a window just before the backup and during
// it, the backup's time, CPU and size, how far the WAL grew meanwhile, and
// checks the copy: integrity_check and every record acknowledged before the
// backup began.
//
// Usage: backup_bench [--terminals 200] [--preload 2500] [--records 2500] [--dir /path]
//   --preload: records per terminal stored before (the history to copy)
//   --records: records per terminal uploaded while the backup runs
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "gateway/store/sqlite.hpp"
#include "tests/bench/proc_stats.hpp"
#include "tests/support/gateway_harness.hpp"
#include "tests/support/ledger_check.hpp"
#include "tests/support/processes.hpp"

using namespace pushgate;
using Steady = std::chrono::steady_clock;
namespace fs = std::filesystem;

namespace {

struct Options {
  int terminals = 200;
  int preload = 2500;
  int records = 2500;
  std::string dir;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    std::string v = argv[i + 1];
    if (k == "--terminals") {
      o.terminals = std::stoi(v);
    } else if (k == "--preload") {
      o.preload = std::stoi(v);
    } else if (k == "--records") {
      o.records = std::stoi(v);
    } else if (k == "--dir") {
      o.dir = v;
    }
  }
  return o;
}

// Where each thread of a process waits in the kernel (tracing stalls).
std::string wchans(pid_t pid) {
  std::string out;
  std::error_code ec;
  for (const auto& t : fs::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    std::ifstream in(t.path() / "wchan");
    std::string w;
    std::getline(in, w);
    out += (out.empty() ? "" : ",") + w;
  }
  return out;
}

std::size_t ledger_lines(const std::string& path) {
  std::ifstream in(path);
  std::size_t n = 0;
  std::string line;
  while (std::getline(in, line)) {
    ++n;
  }
  return n;
}

std::uint64_t size_of(const fs::path& p) {
  std::error_code ec;
  auto n = fs::file_size(p, ec);
  return ec ? 0 : n;
}

std::vector<std::string> sim(std::uint16_t port, const Options& o, int records,
                             const std::string& prefix, const std::string& ledger) {
  std::vector<std::string> a{PUSHGATE_SIM_PATH,
                             "--port",
                             std::to_string(port),
                             "--terminals",
                             std::to_string(o.terminals),
                             "--records-per-terminal",
                             std::to_string(records),
                             "--batch",
                             "100",
                             "--sn-prefix",
                             prefix,
                             "--poll-ms",
                             "2000",
                             "--error-delay-ms",
                             "200",
                             "--until-acked",
                             "--timeout",
                             "900",
                             "--report-ms",
                             "0"};
  if (!ledger.empty()) {
    a.push_back("--ledger");
    a.push_back(ledger);
  }
  return a;
}

}  // namespace

int main(int argc, char** argv) {
  auto o = parse(argc, argv);
  std::unique_ptr<test::TempDir> tmp;
  if (o.dir.empty()) {
    tmp = std::make_unique<test::TempDir>();
    o.dir = tmp->path().string();
  }
  const fs::path dir(o.dir);
  const auto data = dir / "data";
  const auto db = data / "pushgate.db";
  const auto copy = dir / "backup.db";
  const std::string log = (dir / "run.log").string();
  const std::string ledger = (dir / "ledger.txt").string();
  fs::remove(copy);
  fs::remove(ledger);
  const auto port = test::free_port();
  const auto api_port = test::free_port();
  const std::string config = std::string(PUSHGATE_SOURCE_DIR) + "/config/pushgate.toml";
  pid_t gw = test::spawn_process(
      // Every simulated terminal comes from 127.0.0.1: no per-address cap.
      test::pushgated_argv(PUSHGATED_PATH, config, data.string(), port, api_port,
                           {"zkpush.max_connections_per_address=0"}),
      log);
  if (gw <= 0 || !test::wait_http_ready(api_port, std::chrono::seconds(30))) {
    std::fprintf(stderr, "pushgated did not start; see %s\n", log.c_str());
    return 1;
  }
  auto run = [&](const std::vector<std::string>& args) {
    pid_t p = test::spawn_process(args, log);
    int st = 0;
    ::waitpid(p, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  };

  // The history the backup has to copy.
  if (o.preload > 0 && run(sim(port, o, o.preload, "PRE", "")) != 0) {
    std::fprintf(stderr, "preload failed; see %s\n", log.c_str());
    return 1;
  }
  std::printf("history: %d terminals x %d records, database %.1f MB\n", o.terminals, o.preload,
              static_cast<double>(size_of(db) + size_of(data / "pushgate.db-wal")) / 1e6);

  // The upload the backup runs in.
  const std::size_t total = static_cast<std::size_t>(o.terminals) * o.records;
  pid_t load = test::spawn_process(sim(port, o, o.records, "LOAD", ledger), log);
  test::wait_for([&] { return ledger_lines(ledger) >= total / 10; },
                 std::chrono::milliseconds(600'000));

  // Window 1, no backup: as long as we expect the backup to take (at least 1 s).
  const auto window = std::chrono::milliseconds(std::max<std::int64_t>(
      1000, static_cast<std::int64_t>(size_of(db) / (50 * 1000))));  // ~50 MB/s
  auto l0 = ledger_lines(ledger);
  auto c0 = bench::cpu_seconds(gw);
  auto t0 = Steady::now();
  std::this_thread::sleep_for(window);
  auto l1 = ledger_lines(ledger);
  auto c1 = bench::cpu_seconds(gw);
  auto t1 = Steady::now();

  // Window 2: the backup.
  const auto acked_before = test::read_attlog_ledger(ledger);
  const auto l2 = ledger_lines(ledger);
  const auto c2 = bench::cpu_seconds(gw);
  const auto t2 = Steady::now();
  pid_t b = test::spawn_process({PUSHGATED_PATH, "--config", config, "--set",
                                 "gateway.data_dir=" + data.string(), "--backup", copy.string()},
                                log);
  std::uint64_t wal_max = size_of(data / "pushgate.db-wal");
  const auto wal_start = wal_max;
  int st = 0;
  rusage ru{};
  auto next_sample = Steady::now();
  while (::wait4(b, &st, WNOHANG, &ru) == 0) {
    wal_max = std::max(wal_max, size_of(data / "pushgate.db-wal"));
    if (std::getenv("BACKUP_BENCH_TRACE") != nullptr && Steady::now() >= next_sample) {
      next_sample += std::chrono::milliseconds(250);
      std::printf("    t=%.2f s acked=%zu wal=%.1f MB tmp=%.1f MB pushgated cpu=%.2f s\n",
                  std::chrono::duration<double>(Steady::now() - t2).count(), ledger_lines(ledger),
                  static_cast<double>(size_of(data / "pushgate.db-wal")) / 1e6,
                  static_cast<double>(size_of(copy.string() + ".tmp")) / 1e6,
                  bench::cpu_seconds(gw));
      std::printf("      pushgated %s\n      sim %s\n", wchans(gw).c_str(), wchans(load).c_str());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const auto t3 = Steady::now();
  const auto l3 = ledger_lines(ledger);
  const auto c3 = bench::cpu_seconds(gw);
  const bool still_uploading = ::waitpid(load, nullptr, WNOHANG) == 0;
  const bool backup_ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;

  auto secs = [](auto a, auto z) { return std::chrono::duration<double>(z - a).count(); };
  const double w1 = secs(t0, t1);
  const double w2 = secs(t2, t3);
  const double backup_cpu = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                            static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  std::printf("upload: %d terminals x %d records, batches of 100\n", o.terminals, o.records);
  std::printf(
      "  without backup: %8.0f records/s acknowledged, %6.1f us pushgated CPU/record (%.2f s)\n",
      static_cast<double>(l1 - l0) / w1,
      l1 > l0 ? (c1 - c0) * 1e6 / static_cast<double>(l1 - l0) : 0.0, w1);
  std::printf(
      "  during backup:  %8.0f records/s acknowledged, %6.1f us pushgated CPU/record (%.2f s)\n",
      static_cast<double>(l3 - l2) / w2,
      l3 > l2 ? (c3 - c2) * 1e6 / static_cast<double>(l3 - l2) : 0.0, w2);
  std::printf("backup: %s, %.1f MB in %.2f s (%.0f MB/s), %.2f s CPU; WAL %.1f -> max %.1f MB\n",
              backup_ok ? "written" : "FAILED", static_cast<double>(size_of(copy)) / 1e6, w2,
              static_cast<double>(size_of(copy)) / 1e6 / w2, backup_cpu,
              static_cast<double>(wal_start) / 1e6, static_cast<double>(wal_max) / 1e6);
  std::printf("  upload still running when the backup ended: %s\n", still_uploading ? "yes" : "no");

  // The copy: opens, integrity ok, every record acknowledged before it began.
  std::size_t missing = acked_before.size();
  std::string verdict = "not checked";
  if (backup_ok) {
    boost::system::error_code ec;
    store::Connection::Options ro;
    ro.read_only = true;
    auto cdb = store::Connection::open(copy.string(), ro, ec);
    auto check = cdb.prepare("PRAGMA integrity_check", ec);
    if (!ec && check.step(ec)) {
      verdict = check.column_text(0);
    }
    missing = test::not_stored_once(cdb, acked_before);
  }
  std::printf("copy: integrity_check %s; %zu records acknowledged before it began, %zu missing\n",
              verdict.c_str(), acked_before.size(), missing);

  int load_status = 0;
  ::waitpid(load, &load_status, 0);
  ::kill(gw, SIGTERM);
  ::waitpid(gw, &st, 0);
  const bool ok = backup_ok && verdict == "ok" && missing == 0 && WIFEXITED(load_status) &&
                  WEXITSTATUS(load_status) == 0;
  return ok ? 0 : 1;
}
