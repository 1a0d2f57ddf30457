// Retention's disk budget with the real binaries (issue 19): pushgate-sim
// uploads more than store.max_db_size holds while the MQTT broker is down.
// Uploads keep being acknowledged while retention deletes; the oldest events
// go, each one counted for the sink that never got it (metric, the alert
// events' counts, the log, /readyz); once the broker is back every event
// still stored reaches the subscriber exactly once, so delivered + counted
// lost = uploaded.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>

#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "gateway/store/sqlite.hpp"
#include "tests/integration/mqtt/mqtt_fixture.hpp"
#include "tests/support/gateway_harness.hpp"

namespace pushgate::test {
namespace {

constexpr int kTerminals = 10;
constexpr int kRecordsPerTerminal = 3000;

struct Tally {
  std::mutex mutex;
  std::set<std::int64_t> ids;  // terminal events
  std::size_t duplicates = 0;
  std::int64_t alerted = 0;  // sum of the alerts' counts for sink mqtt
  std::size_t alerts = 0;

  void add(const Received& r) {
    if (r.topic.find("/event/") == std::string::npos) {
      return;  // status, discovery
    }
    auto j = nlohmann::json::parse(r.payload, nullptr, false);
    if (j.is_discarded() || !j.contains("id")) {
      return;
    }
    std::lock_guard lock(mutex);
    if (r.topic.size() > 6 && r.topic.substr(r.topic.size() - 6) == "/alert") {
      if (j["extra"].value("reason", "") == "max_db_size") {
        ++alerts;
        alerted += j["extra"]["undelivered"].value("mqtt", std::int64_t{0});
      }
      return;
    }
    if (!ids.insert(j["id"].get<std::int64_t>()).second) {
      ++duplicates;
    }
  }
  std::size_t distinct() {
    std::lock_guard lock(mutex);
    return ids.size();
  }
};

std::int64_t query(const std::filesystem::path& db_path, const std::string& sql) {
  boost::system::error_code ec;
  store::Connection::Options o;
  o.read_only = true;
  auto db = store::Connection::open(db_path.string(), o, ec);
  auto st = db.prepare(sql, ec);
  return !ec && st.step(ec) ? st.column_int(0) : -1;
}

// The value of one metric series, -1 when absent.
double metric(std::uint16_t api_port, const std::string& series) {
  return metric_value(api_port, series).value_or(-1);
}

std::string read_all(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(MqttRetentionTest, BudgetDropsOldestUndeliveredCountedAndTheRestArrivesOnce) {
  TempDir tmp;
  const auto dir = tmp.path();
  const auto gw_port = free_port();
  const auto sub_port = free_port();
  const auto zk_port = free_port();
  const auto api_port = free_port();
  const auto db = dir / "data" / "pushgate.db";

  Mosquitto broker(dir / "broker", {{sub_port, {}}}, /*persistence=*/true);
  broker.start();
  Tally tally;
  Subscriber sub(broker.uri(0), "retention-consumer");
  sub.set_hook([&tally](const Received& r) { tally.add(r); });
  sub.connect(/*clean=*/false);
  sub.subscribe("pushgate/site/#", 1);
  sub.disconnect();
  broker.stop(SIGTERM);  // the broker is down for the whole upload

  const auto daemon_argv = pushgated_argv(
      PUSHGATED_PATH, std::string(PUSHGATE_SOURCE_DIR) + "/config/pushgate.toml",
      (dir / "data").string(), zk_port, api_port,
      {"gateway.id=site", "mqtt.enabled=true",
       "mqtt.server_uri=tcp://127.0.0.1:" + std::to_string(gw_port), "mqtt.reconnect_min_ms=100",
       "mqtt.reconnect_max_ms=500", "store.max_db_size=3MB", "store.retention_interval_s=1",
       "store.retention_batch=200", "health.max_backlog_age_s=0"});
  const std::string log = (dir / "run.log").string();
  pid_t gw = spawn_process(daemon_argv, log);
  ASSERT_GT(gw, 0);
  // A failed assertion returns early: the daemon must not outlive the test.
  struct Reaper {
    pid_t& pid;
    ~Reaper() {
      if (pid > 0) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
      }
    }
  } reaper{gw};
  ASSERT_TRUE(wait_http_ready(api_port, std::chrono::seconds(20)));

  pid_t load = spawn_process(
      {PUSHGATE_SIM_PATH, "--port", std::to_string(zk_port), "--terminals",
       std::to_string(kTerminals), "--records-per-terminal", std::to_string(kRecordsPerTerminal),
       "--batch", "200", "--error-delay-ms", "50", "--poll-ms", "500", "--until-acked", "--timeout",
       "120", "--report-ms", "0"},
      log);
  ASSERT_GT(load, 0);
  int load_status = 0;
  ::waitpid(load, &load_status, 0);
  ASSERT_TRUE(WIFEXITED(load_status) && WEXITSTATUS(load_status) == 0)
      << "uploads were refused while retention deleted; see " << log;
  const std::int64_t uploaded = std::int64_t{kTerminals} * kRecordsPerTerminal;

  // The budget was passed: the oldest went, counted for the sink that lost them.
  const std::string dropped = "pushgate_events_dropped_undelivered_total{sink=\"mqtt\"}";
  ASSERT_TRUE(wait_for(
      [&] {
        return metric(api_port, dropped) > 0 &&
               query(db, "SELECT COALESCE(SUM(unreported), -1) FROM retention_losses") == 0;
      },
      std::chrono::seconds(30)))
      << "no budget deletion was reported; see " << log;
  // Nothing is deleted any more once the uploads stopped and the size is under the budget.
  double lost = 0;
  ASSERT_TRUE(wait_for(
      [&] {
        double before = metric(api_port, dropped);
        auto used = metric(api_port, "pushgate_database_used_bytes");
        lost = before;
        return used > 0 && used < 3.0 * 1024 * 1024 &&
               query(db, "SELECT COALESCE(SUM(unreported), -1) FROM retention_losses") == 0;
      },
      std::chrono::seconds(30)));
  EXPECT_EQ(query(db, "SELECT total FROM retention_losses WHERE sink = 'mqtt'"),
            static_cast<std::int64_t>(lost));
  auto ready = http_request(api_port, "GET", "/readyz");
  EXPECT_EQ(ready.status, 503);
  EXPECT_NE(ready.body.find("retention"), std::string::npos) << ready.body;
  EXPECT_NE(read_all(log).find("not yet delivered to sink mqtt"), std::string::npos);

  const auto stored_device_events =
      query(db,
            "SELECT COUNT(*) FROM events WHERE kind <> 11 AND terminal_id <>"
            " (SELECT id FROM terminals WHERE sn = 'site')");
  // The broker never had any: every deleted event was counted lost. The
  // count also holds alert events a later pass deleted (at most one per alert).
  const auto alerts_stored = metric(api_port, "pushgate_retention_alerts_total");
  const auto lost_device = uploaded - stored_device_events;
  EXPECT_GT(lost_device, 0);
  EXPECT_LE(lost_device, static_cast<std::int64_t>(lost));
  EXPECT_GE(lost_device, static_cast<std::int64_t>(lost - alerts_stored));

  // The broker comes back: everything still stored arrives, once.
  broker.set_listeners({{sub_port, {}}, {gw_port, {}}});
  broker.start();
  sub.connect(/*clean=*/false);
  EXPECT_TRUE(
      wait_for([&] { return tally.distinct() >= static_cast<std::size_t>(stored_device_events); },
               std::chrono::seconds(90)))
      << tally.distinct() << " of " << stored_device_events << " events received";
  EXPECT_TRUE(wait_for(
      [&] {
        std::lock_guard lock(tally.mutex);
        return tally.alerts > 0;
      },
      std::chrono::seconds(10)));
  {
    std::lock_guard lock(tally.mutex);
    EXPECT_EQ(tally.ids.size(), static_cast<std::size_t>(stored_device_events));
    EXPECT_EQ(tally.duplicates, 0U);
    EXPECT_EQ(static_cast<std::int64_t>(tally.ids.size()) + lost_device, uploaded);
    // An alert may itself be among the oldest a later pass deleted; what
    // the alerts that arrived say never exceeds what was lost.
    EXPECT_GT(tally.alerted, 0);
    EXPECT_LE(tally.alerted, static_cast<std::int64_t>(lost));
  }
  ::kill(gw, SIGTERM);
  int st = 0;
  ::waitpid(gw, &st, 0);
  gw = 0;
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

}  // namespace
}  // namespace pushgate::test
