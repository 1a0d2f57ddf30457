// Issue 19 item 3, idle terminals cost as little as the HTTP exchange: a
// poll with nothing queued answers from memory (no render, no write), yet a
// command queued while a terminal idles goes out at its very next poll (both
// flavours); last_seen is kept in memory, flushed in batches and at a clean
// stop; an INFO= that says nothing new costs no write.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

#include "gateway/store/sqlite.hpp"
#include "tests/integration/zkpush_terminal_support.hpp"
#include "tests/support/gateway_harness.hpp"
#include "tests/support/http_fixture.hpp"
#include "tests/support/processes.hpp"

namespace pushgate::test {
namespace {

using nlohmann::json;

// One integer from the database file of a stopped gateway.
std::int64_t stored_int(const std::filesystem::path& db_file, const std::string& sql,
                        const std::string& param) {
  boost::system::error_code ec;
  store::Connection::Options o;
  auto db = store::Connection::open(db_file.string(), o, ec);
  EXPECT_FALSE(ec) << ec.message();
  auto st = db.prepare(sql, ec);
  EXPECT_FALSE(ec) << ec.message();
  st.bind(1, std::string_view(param));
  return st.step(ec) ? st.column_int(0) : -1;
}

TEST(ZkpushIdleTest, AttendanceCommandQueuedWhileIdleGoesOutAtTheNextPoll) {
  GatewayHarness h;
  auto port = h.zkpush_port();
  for (int i = 0; i < 3; ++i) {
    auto idle = send(port, "GET", "/iclock/getrequest?SN=IDLE1");
    ASSERT_EQ(idle.status, 200);
    EXPECT_EQ(idle.body, "OK") << "nothing queued yet";
  }
  auto id = queue(h, "IDLE1", {{"verb", "delete_user"}, {"params", {{"pin", "7"}}}});
  ASSERT_GT(id, 0);
  auto poll = send(port, "GET", "/iclock/getrequest?SN=IDLE1");
  ASSERT_EQ(poll.status, 200);
  EXPECT_EQ(poll.body.rfind("C:" + std::to_string(id) + ":", 0), 0u) << poll.body;
  EXPECT_EQ(command_state(h, id), "sent");
  // Sent, waiting for its result: not handed out again before ack_timeout.
  EXPECT_EQ(send(port, "GET", "/iclock/getrequest?SN=IDLE1").body, "OK");
}

TEST(ZkpushIdleTest, SecurityCommandQueuedWhileIdleGoesOutAtTheNextPollAndPingStaysOk) {
  GatewayHarness h({"zkpush.token_check=enforce"});
  AccessTerminal acc{h.zkpush_port(), "IDLEACC1"};
  acc.connect();
  for (int i = 0; i < 3; ++i) {
    auto idle = acc.get("/iclock/getrequest?SN=IDLEACC1");
    ASSERT_EQ(idle.status, 200) << idle.body;
    EXPECT_EQ(idle.body, "OK");
    auto ping = acc.get("/iclock/ping?SN=IDLEACC1");
    ASSERT_EQ(ping.status, 200) << ping.body;
    EXPECT_EQ(ping.body, "OK");
  }
  auto id = queue(h, "IDLEACC1", {{"verb", "delete_user"}, {"params", {{"pin", "7"}}}});
  ASSERT_GT(id, 0);
  auto poll = acc.get("/iclock/getrequest?SN=IDLEACC1");
  ASSERT_EQ(poll.status, 200);
  EXPECT_NE(poll.body.find("C:" + std::to_string(id) + ":"), std::string::npos) << poll.body;
  EXPECT_EQ(command_state(h, id), "sent");
}

// The cached token follows the session: after the terminal registers
// afresh (new RegistryCode and SessionID) the old token is refused, the new
// one accepted.
TEST(ZkpushIdleTest, TokenOfAnOldSessionIsRefusedAfterReRegistration) {
  GatewayHarness h({"zkpush.token_check=enforce"});
  AccessTerminal acc{h.zkpush_port(), "IDLEACC2"};
  acc.connect();
  ASSERT_EQ(acc.get("/iclock/getrequest?SN=IDLEACC2").status, 200);
  const std::string old_token = acc.token();
  auto reset = http_request(h.api_port(), "POST", "/api/v1/terminals/IDLEACC2/reset-registration");
  ASSERT_EQ(reset.status, 200) << reset.body;
  acc.connect();
  ASSERT_NE(acc.token(), old_token);
  EXPECT_EQ(send(h.zkpush_port(), "GET", "/iclock/getrequest?SN=IDLEACC2", {}, old_token).status,
            401);
  EXPECT_EQ(acc.get("/iclock/getrequest?SN=IDLEACC2").status, 200);
}

// last_seen is live in memory (REST) at every poll, and a clean stop stores
// the latest one, though a poll no longer waits for a write of it.
TEST(ZkpushIdleTest, LastSeenIsLiveOverRestAndStoredAtACleanStop) {
  TempDir dir;
  std::int64_t latest = 0;
  {
    GatewayHarness h({}, dir.path());
    ASSERT_EQ(send(h.zkpush_port(), "GET", "/iclock/getrequest?SN=IDLE2").status, 200);
    const auto first = h.gateway().terminals().last_seen_ms("IDLE2");
    ASSERT_GT(first, 0);
    // The next poll must be at a later millisecond to tell the two apart.
    ASSERT_TRUE(wait_for(
        [&] {
          send(h.zkpush_port(), "GET", "/iclock/getrequest?SN=IDLE2");
          return h.gateway().terminals().last_seen_ms("IDLE2") > first;
        },
        std::chrono::seconds(5)));
    latest = h.gateway().terminals().last_seen_ms("IDLE2");
    auto list =
        json::parse(http_request(h.api_port(), "GET", "/api/v1/terminals").body, nullptr, false);
    ASSERT_TRUE(list.is_object() || list.is_array()) << list.dump();
    EXPECT_NE(list.dump().find("IDLE2"), std::string::npos);
    h.stop();
  }
  EXPECT_EQ(stored_int(dir.path() / "pushgate.db",
                       "SELECT last_seen_ms FROM terminals WHERE sn = ?1", "IDLE2"),
            latest);
}

// An INFO= repeated unchanged is not written again; a changed one is, and
// is there after a restart.
TEST(ZkpushIdleTest, RepeatedInfoCostsNoWriteAndChangedInfoIsStored) {
  TempDir dir;
  const std::string info1 =
      "/iclock/getrequest?SN=IDLE3&INFO=Ver%201.0,3,2,23,10.0.0.5,10,58,12,2,"
      "11110";
  const std::string info2 =
      "/iclock/getrequest?SN=IDLE3&INFO=Ver%202.0,4,2,23,10.0.0.5,10,58,12,2,"
      "11110";
  {
    GatewayHarness h({}, dir.path());
    auto port = h.zkpush_port();
    ASSERT_EQ(send(port, "GET", info1).status, 200);
    const double commits = metric(h, "pushgate_store_commits_total");
    ASSERT_GT(commits, 0) << "the first INFO (a new terminal) is written";
    for (int i = 0; i < 5; ++i) {
      ASSERT_EQ(send(port, "GET", info1).body, "OK");
    }
    EXPECT_EQ(metric(h, "pushgate_store_commits_total"), commits)
        << "the same INFO again was written again";
    ASSERT_EQ(send(port, "GET", info2).body, "OK");
    EXPECT_GT(metric(h, "pushgate_store_commits_total"), commits);
    h.stop();
  }
  GatewayHarness again({}, dir.path());
  auto t = again.gateway().terminals().find("IDLE3");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->firmware, "Ver 2.0");
}

}  // namespace
}  // namespace pushgate::test
