// Power cuts of the real pushgated (issue 20, daemon variant).
//
// pushgated runs with the power-cut VFS preloaded (powercut_preload.cpp)
// while the terminal simulator uploads with its fsynced ledger (a record is
// in the ledger only after a terminal was told OK for it). At a random cut
// (the N-th sync of the database, WAL or journal) the library writes the disk
// images a power cut would leave and the process _exit()s inside the sync,
// so no later OK can leave. Each image, opened with the stock VFS, must pass
// integrity_check, hold every ledger record exactly once, and let the store
// open it and append. Network timing varies the sync count, so cuts are
// random (seeded, logged) rather than exhaustive; PUSHGATE_POWERCUT_CUT=<n>
// runs that cut alone, PUSHGATE_POWERCUT_SEED=<s> another series.

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "gateway/logging.hpp"
#include "gateway/metrics/metrics.hpp"
#include "gateway/store/record_keys.hpp"
#include "gateway/store/sqlite.hpp"
#include "gateway/store/store.hpp"
#include "tests/powercut/powercut_store_check.hpp"
#include "tests/support/gateway_harness.hpp"
#include "tests/support/processes.hpp"

namespace pushgate::test {
namespace {

namespace fs = std::filesystem;
using powercut::check_store_appends;

constexpr int kExitAtCut = 86;  // powercut_preload.cpp
constexpr int kCuts = 20;

std::optional<std::uint64_t> env_number(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') {
    return std::nullopt;
  }
  return std::strtoull(v, nullptr, 10);
}

/** (serial, record key) of every ledger line: what terminals were told OK for. */
std::map<std::pair<std::string, std::string>, int> read_ledger(const std::string& path) {
  std::map<std::pair<std::string, std::string>, int> acked;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    auto tab = line.find('\t');
    if (tab == std::string::npos) {
      continue;
    }
    auto rec = line.substr(tab + 1);
    auto t1 = rec.find('\t');
    auto t2 = rec.find('\t', t1 + 1);
    acked[{line.substr(0, tab), "ATTLOG\t" + rec.substr(0, t2)}]++;
  }
  return acked;
}

/** Why the image in `dir` is wrong, or "". */
std::string check_image(const fs::path& dir,
                        const std::map<std::pair<std::string, std::string>, int>& acked) {
  auto path = (dir / "pushgate.db").string();
  {
    // The test process has no shim: Connection opens with the stock VFS.
    boost::system::error_code ec;
    store::Connection::Options o;
    o.synchronous = "OFF";
    auto db = store::Connection::open(path, o, ec);
    if (ec) {
      return "open: " + ec.message();
    }
    auto ic = db.prepare("PRAGMA integrity_check", ec);
    if (ec || !ic.step(ec) || ic.column_text(0) != "ok") {
      return "integrity_check: " + (ec ? ec.message() : ic.column_text(0));
    }
    auto has = db.prepare("SELECT count(*) FROM sqlite_master WHERE name='events'", ec);
    bool schema = !ec && has.step(ec) && has.column_int(0) == 1;
    if (!schema) {
      return acked.empty() ? ""
                           : "no schema, but " + std::to_string(acked.size()) +
                                 " record(s) were acknowledged";
    }
    auto count = db.prepare(
        "SELECT COUNT(*) FROM events e JOIN terminals t ON t.id = e.terminal_id"
        " WHERE t.sn = ?1 AND e.record_key = ?2",
        ec);
    if (ec) {
      return "prepare: " + ec.message();
    }
    std::size_t missing = 0;
    std::string first;
    for (const auto& [key, n] : acked) {
      count.reset();
      // The column holds ATTLOG keys time first (store/record_keys.hpp).
      count.bind(1, std::string_view(key.first)).bind(2, store::stored_record_key(key.second));
      if (!count.step(ec) || count.column_int(0) != 1) {
        if (missing++ == 0) {
          first = key.first + " " + key.second;
        }
      }
    }
    if (missing != 0) {
      return std::to_string(missing) + " acknowledged record(s) not stored exactly once, e.g. " +
             first;
    }
  }
  return check_store_appends(path);
}

bool exited(pid_t pid, int& status) {
  return ::waitpid(pid, &status, WNOHANG) == pid;
}

TEST(PowerCutDaemon, AcknowledgedRecordsSurviveRandomCutsOfPushgated) {
  const auto seed = env_number("PUSHGATE_POWERCUT_SEED").value_or(20261206);
  const auto only = env_number("PUSHGATE_POWERCUT_CUT");
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<std::uint64_t> pick(1, 160);
  const std::string daemon = PUSHGATED_PATH;
  const std::string sim = PUSHGATE_SIM_PATH;
  const std::string preload = PUSHGATE_POWERCUT_PRELOAD;
  const auto started = std::chrono::steady_clock::now();
  logger("store")->set_level(spdlog::level::warn);  // each image store's start line

  int hit = 0;
  int not_reached = 0;
  std::size_t images = 0;
  std::size_t ledger_total = 0;
  std::vector<std::string> failures;
  for (int attempt = 0; hit < (only ? 1 : kCuts) && attempt < 2 * kCuts; ++attempt) {
    const std::uint64_t cut = only ? *only : pick(rng);
    TempDir tmp;
    const auto data = tmp.path() / "data";
    const auto image_root = tmp.path() / "images";
    fs::create_directories(data);
    const auto port = free_port();
    const auto api_port = free_port();
    const std::string ledger = (tmp.path() / "ledger.txt").string();
    const std::string log = (tmp.path() / "run.log").string();

    ::setenv("PUSHGATE_POWERCUT_DIR", data.c_str(), 1);
    ::setenv("PUSHGATE_POWERCUT_CUT_AT", std::to_string(cut).c_str(), 1);
    ::setenv("PUSHGATE_POWERCUT_IMAGES", image_root.c_str(), 1);
    ::setenv("PUSHGATE_POWERCUT_SEED", std::to_string(seed).c_str(), 1);
    ::setenv("LD_PRELOAD", preload.c_str(), 1);
    pid_t gw = spawn_process(
        pushgated_argv(daemon, std::string(PUSHGATE_SOURCE_DIR) + "/config/pushgate.toml",
                       data.string(), port, api_port),
        log);
    for (const char* v : {"LD_PRELOAD", "PUSHGATE_POWERCUT_DIR", "PUSHGATE_POWERCUT_CUT_AT",
                          "PUSHGATE_POWERCUT_IMAGES", "PUSHGATE_POWERCUT_SEED"}) {
      ::unsetenv(v);
    }
    ASSERT_GT(gw, 0);
    int gw_status = 0;
    bool gw_gone = false;
    ASSERT_TRUE(wait_for(
        [&] {
          gw_gone = gw_gone || exited(gw, gw_status);
          return gw_gone || wait_http_ready(api_port, std::chrono::seconds(0));
        },
        std::chrono::seconds(20)))
        << "pushgated neither started nor stopped; see " << log;
    pid_t load = -1;
    int load_status = 0;
    if (!gw_gone) {
      load = spawn_process({sim,
                            "--port",
                            std::to_string(port),
                            "--terminals",
                            "4",
                            "--records-per-terminal",
                            "1000",
                            "--batch",
                            "20",
                            "--error-delay-ms",
                            "50",
                            "--poll-ms",
                            "500",
                            "--request-timeout-ms",
                            "2000",
                            "--timeout",
                            "60",
                            "--ledger",
                            ledger,
                            "--report-ms",
                            "0"},
                           log);
      ASSERT_GT(load, 0);
      bool load_done = false;
      ASSERT_TRUE(wait_for(
          [&] {
            gw_gone = gw_gone || exited(gw, gw_status);
            load_done = load_done || exited(load, load_status);
            return gw_gone || load_done;
          },
          std::chrono::seconds(90)));
      if (!gw_gone) {
        // Every record acknowledged before the cut came: no cut this time.
        ::kill(gw, SIGTERM);
        ::waitpid(gw, &gw_status, 0);
        ++not_reached;
        continue;
      }
      if (!load_done) {
        ::kill(load, SIGKILL);
        ::waitpid(load, &load_status, 0);
      }
    }
    ASSERT_TRUE(WIFEXITED(gw_status) && WEXITSTATUS(gw_status) == kExitAtCut)
        << "pushgated ended otherwise than at the cut (status " << gw_status << "); see " << log;
    ++hit;
    auto acked = read_ledger(ledger);
    ledger_total += acked.size();
    std::string cut_line;
    {
      std::ifstream in(image_root / "cut.txt");
      std::getline(in, cut_line);
    }
    bool failed = false;
    for (const auto& entry : fs::directory_iterator(image_root)) {
      if (!entry.is_directory()) {
        continue;
      }
      ++images;
      auto why = check_image(entry.path(), acked);
      if (!why.empty()) {
        failed = true;
        failures.push_back("cut " + std::to_string(cut) + " variant " +
                           entry.path().filename().string() + " seed " + std::to_string(seed) +
                           ": " + why + "\n  " + cut_line);
      }
    }
    if (failed) {
      // Kept for the developer beside the temporary directory, which goes.
      auto keep = fs::temp_directory_path() /
                  ("pushgate-powercut-daemon-failed-" + std::to_string(::getpid())) /
                  ("cut-" + std::to_string(cut));
      std::error_code ec;
      fs::create_directories(keep, ec);
      fs::copy(tmp.path(), keep, fs::copy_options::recursive, ec);
      failures.back() += "\n  kept in " + keep.string() +
                         "\n  rerun alone: PUSHGATE_POWERCUT_CUT=" + std::to_string(cut) +
                         " PUSHGATE_POWERCUT_SEED=" + std::to_string(seed);
    }
  }
  EXPECT_GE(hit, only ? 1 : kCuts) << not_reached << " cut(s) came after the whole upload";
  std::string all;
  for (const auto& f : failures) {
    all += f + "\n";
  }
  EXPECT_TRUE(failures.empty()) << all;
  std::printf(
      "daemon power cuts: %d cut(s) hit, %d not reached, %zu images checked, %zu ledger records "
      "in all, %.1f s\n",
      hit, not_reached, images, ledger_total,
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
}

}  // namespace
}  // namespace pushgate::test
