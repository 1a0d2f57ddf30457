// Crash safety with the real binaries: the terminal simulator uploads while
// pushgated is killed with SIGKILL at random moments and restarted, 20+
// times. Afterwards every record any terminal was told OK for (the
// simulator's ledger, fsynced as each OK arrives) is stored exactly once,
// and PRAGMA integrity_check is ok.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "gateway/store/sqlite.hpp"
#include "tests/support/gateway_harness.hpp"
#include "tests/support/ledger_check.hpp"
#include "tests/support/processes.hpp"

namespace pushgate::test {
namespace {

TEST(CrashTest, EveryAcknowledgedRecordSurvivesRepeatedSigkill) {
  TempDir tmp;
  const auto dir = tmp.path();
  const auto port = free_port();
  const auto api_port = free_port();
  const std::string daemon = PUSHGATED_PATH;
  const std::string sim = PUSHGATE_SIM_PATH;
  const auto daemon_argv =
      pushgated_argv(daemon, std::string(PUSHGATE_SOURCE_DIR) + "/config/pushgate.toml",
                     dir.string(), port, api_port);
  const std::string ledger = (dir / "ledger.txt").string();
  const std::string log = (dir / "run.log").string();

  pid_t gw = spawn_process(daemon_argv, log);
  ASSERT_GT(gw, 0);
  ASSERT_TRUE(wait_http_ready(api_port, std::chrono::seconds(20)));
  pid_t load = spawn_process({sim,
                              "--port",
                              std::to_string(port),
                              "--terminals",
                              "20",
                              "--records-per-terminal",
                              "20000",
                              "--batch",
                              "50",
                              "--error-delay-ms",
                              "50",
                              "--poll-ms",
                              "500",
                              "--request-timeout-ms",
                              "5000",
                              "--until-acked",
                              "--timeout",
                              "300",
                              "--ledger",
                              ledger,
                              "--report-ms",
                              "0"},
                             log);
  ASSERT_GT(load, 0);

  std::mt19937 rng(20261121);
  std::uniform_int_distribution<int> pause_ms(30, 250);
  int kills = 0;
  int load_status = -1;
  for (; kills < 25; ++kills) {
    std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms(rng)));
    ASSERT_EQ(::kill(gw, SIGKILL), 0);
    int st = 0;
    ::waitpid(gw, &st, 0);
    gw = spawn_process(daemon_argv, log);
    ASSERT_GT(gw, 0);
    ASSERT_TRUE(wait_http_ready(api_port, std::chrono::seconds(20))) << "restart " << kills;
    if (::waitpid(load, &load_status, WNOHANG) == load) {
      break;  // the simulator finished early: fewer kills than planned
    }
  }
  if (load_status == -1) {
    ::waitpid(load, &load_status, 0);
  }
  ::kill(gw, SIGTERM);
  int st = 0;
  ::waitpid(gw, &st, 0);
  std::printf("SIGKILLed pushgated %d times during the upload\n", kills + 1);
  EXPECT_GE(kills + 1, 20) << "the upload finished before 20 kills; make it larger";
  ASSERT_TRUE(WIFEXITED(load_status)) << "simulator did not exit normally";
  EXPECT_EQ(WEXITSTATUS(load_status), 0) << "not every record was acknowledged; see " << log;

  // Every ledger line (a record a terminal was told OK for) exactly once.
  const auto acked = read_attlog_ledger(ledger);
  EXPECT_EQ(acked.size(), 20u * 20000u);
  boost::system::error_code ec;
  store::Connection::Options o;
  auto db = store::Connection::open((dir / "pushgate.db").string(), o, ec);
  ASSERT_FALSE(ec);
  const std::size_t missing = not_stored_once(db, acked);
  EXPECT_EQ(missing, 0u) << "acknowledged records not stored exactly once";
  // Audit events (the first admin created at the first start) are the gateway's.
  auto total = db.prepare("SELECT COUNT(*) FROM events WHERE kind != 12", ec);
  ASSERT_TRUE(total.step(ec));
  EXPECT_EQ(total.column_int(0), static_cast<std::int64_t>(acked.size()));
  auto check = db.prepare("PRAGMA integrity_check", ec);
  ASSERT_TRUE(check.step(ec));
  EXPECT_EQ(check.column_text(0), "ok");
  // Per-terminal sequences stayed gap-free across the crashes.
  auto gaps = db.prepare(
      "SELECT COUNT(*) FROM (SELECT terminal_id, MAX(seq) AS m, COUNT(*) AS c FROM events"
      " GROUP BY terminal_id) WHERE m != c",
      ec);
  ASSERT_TRUE(gaps.step(ec));
  EXPECT_EQ(gaps.column_int(0), 0);
}

}  // namespace
}  // namespace pushgate::test
