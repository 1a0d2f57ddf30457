// Backups with the real binaries (issue 19): `pushgated --backup` taken while
// simulated terminals upload holds every record acknowledged before it
// began; restored into a fresh data directory it brings a gateway back that
// serves them, and terminals re-uploading them do not duplicate them. Plus
// the command's refusals and exit codes, a full disk, and scheduled backups
// inside a running gateway.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "gateway/store/sqlite.hpp"
#include "tests/support/gateway_harness.hpp"
#include "tests/support/ledger_check.hpp"
#include "tests/support/processes.hpp"

namespace pushgate::test {
namespace {

namespace fs = std::filesystem;

const std::string kDaemon = PUSHGATED_PATH;
const std::string kSim = PUSHGATE_SIM_PATH;
const std::string kConfig = std::string(PUSHGATE_SOURCE_DIR) + "/config/pushgate.toml";

int run_process(const std::vector<std::string>& argv, const std::string& log) {
  pid_t pid = spawn_process(argv, log);
  if (pid <= 0) {
    return -1;
  }
  int st = 0;
  ::waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

std::vector<std::string> backup_argv(const fs::path& data_dir, const std::string& target,
                                     std::vector<std::string> extra = {}) {
  std::vector<std::string> argv{
      kDaemon,    "--config", kConfig, "--set", "gateway.data_dir=" + data_dir.string(),
      "--backup", target};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return argv;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void stop_process(pid_t pid) {
  ::kill(pid, SIGTERM);
  int st = 0;
  ::waitpid(pid, &st, 0);
}

std::vector<std::string> sim_argv(std::uint16_t port, int terminals, int records,
                                  const std::string& ledger) {
  return {kSim,
          "--port",
          std::to_string(port),
          "--terminals",
          std::to_string(terminals),
          "--records-per-terminal",
          std::to_string(records),
          "--batch",
          "50",
          "--seed",
          "19",
          "--start",
          "2026-01-05 07:00:00",
          "--poll-ms",
          "500",
          "--error-delay-ms",
          "100",
          "--until-acked",
          "--timeout",
          "300",
          "--ledger",
          ledger,
          "--report-ms",
          "0"};
}

std::int64_t query_int(store::Connection& db, const std::string& sql) {
  boost::system::error_code ec;
  auto st = db.prepare(sql, ec);
  EXPECT_FALSE(ec) << sql << ": " << ec.message();
  EXPECT_TRUE(st.step(ec)) << sql;
  return st.column_int(0);
}

store::Connection open_db(const fs::path& path) {
  boost::system::error_code ec;
  store::Connection::Options o;
  o.read_only = true;
  auto db = store::Connection::open(path.string(), o, ec);
  EXPECT_FALSE(ec) << path << ": " << ec.message();
  return db;
}

// Events served over REST, paging with next_after.
std::int64_t rest_event_count(std::uint16_t api_port) {
  std::int64_t after = 0;
  std::int64_t n = 0;
  for (;;) {
    auto a =
        http_request(api_port, "GET",
                     "/api/v1/events?kind=attendance&limit=1000&after=" + std::to_string(after));
    EXPECT_EQ(a.status, 200) << a.body;
    if (a.status != 200) {
      return -1;
    }
    auto j = nlohmann::json::parse(a.body);
    n += static_cast<std::int64_t>(j["events"].size());
    if (!j["more"].get<bool>()) {
      return n;
    }
    after = j["next_after"].get<std::int64_t>();
  }
}

// Terminals: 20 by default; PUSHGATE_BACKUP_TEST_TERMINALS=200 runs the
// issue's size (slower, same property).
int terminal_count() {
  const char* env = std::getenv("PUSHGATE_BACKUP_TEST_TERMINALS");
  return env != nullptr ? std::atoi(env) : 20;
}

TEST(BackupIntegrationTest, OnlineCopyDuringUploadHoldsEveryAckedRecordAndRestores) {
  TempDir tmp;
  const auto data = tmp.path() / "data";
  const auto port = free_port();
  const auto api_port = free_port();
  const std::string log = (tmp.path() / "run.log").string();
  const std::string ledger = (tmp.path() / "ledger.txt").string();
  const std::string copy = (tmp.path() / "backup.db").string();
  const int terminals = terminal_count();
  const int records = 100'000 / terminals;

  pid_t gw = spawn_process(pushgated_argv(kDaemon, kConfig, data.string(), port, api_port), log);
  ASSERT_GT(gw, 0);
  ASSERT_TRUE(wait_http_ready(api_port, std::chrono::seconds(20)));
  const auto token = admin_api_token(api_port, data.string());
  pid_t load = spawn_process(sim_argv(port, terminals, records, ledger), log);
  ASSERT_GT(load, 0);

  // Well into the upload: what the terminals were told OK for so far.
  ASSERT_TRUE(wait_for([&] { return read_attlog_ledger(ledger).size() >= 5000; },
                       std::chrono::milliseconds(120'000)))
      << read_file(log);
  const auto acked_before = read_attlog_ledger(ledger);
  ASSERT_EQ(::waitpid(load, nullptr, WNOHANG), 0) << "the upload ended before the backup";
  EXPECT_EQ(run_process(backup_argv(data, copy), log), 0) << read_file(log);
  const auto acked_after = read_attlog_ledger(ledger).size();
  EXPECT_GT(acked_after, acked_before.size()) << "the upload should go on during the backup";

  // Taken again to the same file: refused, the copy untouched.
  const auto size = fs::file_size(copy);
  EXPECT_EQ(run_process(backup_argv(data, copy), log), 4);
  EXPECT_EQ(fs::file_size(copy), size);
  EXPECT_FALSE(fs::exists(copy + ".tmp"));

  {
    auto db = open_db(copy);
    boost::system::error_code ec;
    auto check = db.prepare("PRAGMA integrity_check", ec);
    ASSERT_TRUE(check.step(ec));
    EXPECT_EQ(check.column_text(0), "ok");
    const std::size_t missing = not_stored_once(db, acked_before);
    EXPECT_EQ(missing, 0u) << "records acknowledged before the backup began are not in it";
  }
  int load_status = 0;
  ::waitpid(load, &load_status, 0);
  ASSERT_TRUE(WIFEXITED(load_status) && WEXITSTATUS(load_status) == 0) << read_file(log);
  stop_process(gw);
  auto copy_db = open_db(copy);
  // The terminals' records (kind 1); the rest are the gateway's audit events
  // (its first admin, the test's login and token).
  const auto in_copy = query_int(copy_db, "SELECT COUNT(*) FROM events WHERE kind = 1");
  copy_db = store::Connection{};
  EXPECT_LT(in_copy, terminals * records) << "the copy should be of the middle of the upload";
  std::printf(
      "%d terminals: %zu records acknowledged before the backup, %zu when it ended, %lld"
      " in the copy, %d in all\n",
      terminals, acked_before.size(), acked_after, static_cast<long long>(in_copy),
      terminals * records);

  // Restore: a fresh data directory, the copy as its database, no -wal/-shm.
  const auto restored = tmp.path() / "restored";
  fs::create_directories(restored);
  fs::copy_file(copy, restored / "pushgate.db");
  const auto port2 = free_port();
  const auto api_port2 = free_port();
  gw = spawn_process(pushgated_argv(kDaemon, kConfig, restored.string(), port2, api_port2), log);
  ASSERT_GT(gw, 0);
  ASSERT_TRUE(wait_http_ready(api_port2, std::chrono::seconds(20))) << read_file(log);
  // Accounts and API tokens are in the copy too: the token made before it works.
  register_api_token(api_port2, token);
  EXPECT_EQ(rest_event_count(api_port2), in_copy) << "the restored records are served back";

  // The terminals upload everything again: what the copy had is not doubled,
  // what came after it arrives, each record once.
  const std::string ledger2 = (tmp.path() / "ledger2.txt").string();
  EXPECT_EQ(run_process(sim_argv(port2, terminals, records, ledger2), log), 0) << read_file(log);
  stop_process(gw);
  auto db = open_db(restored / "pushgate.db");
  EXPECT_EQ(query_int(db, "SELECT COUNT(*) FROM events WHERE kind = 1"), terminals * records);
  EXPECT_EQ(query_int(db,
                      "SELECT COUNT(*) FROM (SELECT DISTINCT terminal_id, record_key"
                      " FROM events WHERE kind = 1)"),
            terminals * records);
  EXPECT_EQ(query_int(db,
                      "SELECT COUNT(*) FROM (SELECT terminal_id, MAX(seq) AS m, COUNT(*) AS c"
                      " FROM events GROUP BY terminal_id) WHERE m != c"),
            0);
}

TEST(BackupIntegrationTest, CommandLineRefusalsHaveTheirExitCodes) {
  TempDir tmp;
  const std::string log = (tmp.path() / "run.log").string();
  const auto empty = tmp.path() / "empty";
  fs::create_directories(empty);
  // No database there: 3, named.
  EXPECT_EQ(run_process(backup_argv(empty, (tmp.path() / "b.db").string()), log), 3);
  EXPECT_NE(read_file(log).find((empty / "pushgate.db").string()), std::string::npos)
      << read_file(log);
  EXPECT_FALSE(fs::exists(empty / "pushgate.db")) << "a backup must not create the database";
  // A config file that is not there, a --backup without a file, --force alone: 2.
  EXPECT_EQ(run_process({kDaemon, "--config", (tmp.path() / "none.toml").string(), "--backup",
                         (tmp.path() / "b.db").string()},
                        log),
            2);
  EXPECT_EQ(run_process({kDaemon, "--backup"}, log), 2);
  EXPECT_EQ(run_process({kDaemon, "--config", kConfig, "--force"}, log), 2);
  EXPECT_FALSE(fs::exists(tmp.path() / "b.db"));
}

// A real, tiny file system: the copy does not fit. Exit 5, nothing left behind.
TEST(BackupIntegrationTest, AFullDiskIsExitFiveAndLeavesNoTmp) {
  TempDir tmp;
  const std::string log = (tmp.path() / "run.log").string();
  const auto small = tmp.path() / "small";
  fs::create_directories(small);
  if (::mount("tmpfs", small.c_str(), "tmpfs", 0, "size=128k") != 0) {
    GTEST_SKIP() << "cannot mount a tmpfs here (needs CAP_SYS_ADMIN)";
  }
  struct Unmount {
    fs::path dir;
    ~Unmount() { ::umount2(dir.c_str(), MNT_DETACH); }
  } unmount{small};
  {
    GatewayHarness h({}, tmp.path() / "data");
    std::string body;
    for (int i = 0; i < 3000; ++i) {
      body += std::to_string(i) + "\t2026-01-05 08:00:00\t0\t1\t\t0\t0\n";
    }
    auto a =
        http_request(h.zkpush_port(), "POST", "/iclock/cdata?SN=FULL1&table=ATTLOG&Stamp=1", body);
    ASSERT_EQ(a.status, 200) << a.body;
    h.stop();
  }
  ASSERT_GT(fs::file_size(tmp.path() / "data" / "pushgate.db"), 256u * 1024);
  EXPECT_EQ(run_process(backup_argv(tmp.path() / "data", (small / "b.db").string()), log), 5)
      << read_file(log);
  EXPECT_NE(read_file(log).find("backup failed"), std::string::npos) << read_file(log);
  EXPECT_TRUE(fs::is_empty(small)) << "no .tmp may be left on the full disk";
}

// store.backup_dir in a running gateway: the first copy at once, shown in
// /readyz and /metrics, and a good database.
TEST(BackupIntegrationTest, ScheduledBackupsRunInsideTheGateway) {
  TempDir tmp;
  GatewayHarness h({"store.backup_dir=backups", "store.backup_interval=1h", "store.backup_keep=2"},
                   tmp.path() / "data");
  auto a = http_request(h.zkpush_port(), "POST", "/iclock/cdata?SN=SCHED1&table=ATTLOG&Stamp=1",
                        "1\t2026-01-05 08:00:00\t0\t1\t\t0\t0\n");
  ASSERT_EQ(a.status, 200) << a.body;
  const auto dir = tmp.path() / "data" / "backups";
  ASSERT_TRUE(wait_for(
      [&] {
        auto r = http_request(h.api_port(), "GET", "/readyz");
        auto j = nlohmann::json::parse(r.body);
        return j.contains("backup") && !j["backup"]["last_success"].is_null();
      },
      std::chrono::milliseconds(20'000)));
  auto j = nlohmann::json::parse(http_request(h.api_port(), "GET", "/readyz").body);
  EXPECT_EQ(j["backup"]["status"], "ok");
  EXPECT_EQ(j["backup"]["failures"], 0);
  const auto file = j["backup"]["last_file"].get<std::string>();
  EXPECT_EQ(fs::path(file).parent_path(), dir);
  EXPECT_TRUE(fs::exists(file));
  auto metrics = http_request(h.api_port(), "GET", "/metrics").body;
  EXPECT_NE(metrics.find("pushgate_backups_total 1"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("pushgate_backup_failures_total 0"), std::string::npos);
  auto db = open_db(file);
  boost::system::error_code ec;
  auto check = db.prepare("PRAGMA integrity_check", ec);
  ASSERT_TRUE(check.step(ec));
  EXPECT_EQ(check.column_text(0), "ok");
  EXPECT_GE(query_int(db, "SELECT COUNT(*) FROM events"), 0) << "the gateway's schema";
}

}  // namespace
}  // namespace pushgate::test

namespace pushgate::test {
namespace {

// As pushgate.service runs it (gateway.data_dir empty, $STATE_DIRECTORY set
// by StateDirectory=): store.backup_dir = "backups" lands inside the state
// directory, the one place ProtectSystem=strict leaves writable.
TEST(BackupIntegrationTest, UnderTheUnitBackupsGoInsideTheStateDirectory) {
  TempDir tmp;
  const auto state = tmp.path() / "state";
  fs::create_directories(state);
  const auto port = free_port();
  const auto api_port = free_port();
  const std::string log = (tmp.path() / "run.log").string();
  ::setenv("STATE_DIRECTORY", state.c_str(), 1);
  pid_t gw = spawn_process(
      pushgated_argv(kDaemon, kConfig, "", port, api_port, {"store.backup_dir=backups"}), log);
  ::unsetenv("STATE_DIRECTORY");
  ASSERT_GT(gw, 0);
  ASSERT_TRUE(wait_http_ready(api_port, std::chrono::seconds(20))) << read_file(log);
  EXPECT_TRUE(wait_for(
      [&] {
        std::error_code ec;
        return fs::exists(state / "pushgate.db") && !fs::is_empty(state / "backups", ec) && !ec;
      },
      std::chrono::milliseconds(20'000)))
      << read_file(log);
  stop_process(gw);
  for (const auto& e : fs::directory_iterator(state / "backups")) {
    EXPECT_EQ(e.path().filename().string().rfind("pushgate-", 0), 0u) << e.path();
    EXPECT_EQ(e.path().extension(), ".db") << e.path();
  }
}

}  // namespace
}  // namespace pushgate::test
