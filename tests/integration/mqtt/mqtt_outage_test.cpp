// The acceptance runs of the MQTT bridge with the real binaries: 100,000
// records uploaded by simulated terminals (pushgate-sim) to pushgated while
// the broker is down all reach a subscriber once it is back, in order per
// terminal and each exactly once after dropping duplicates by id — also
// when pushgated is SIGKILLed and restarted in the middle of the drain.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>

#include <map>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "gateway/store/sqlite.hpp"
#include "tests/integration/mqtt/mqtt_fixture.hpp"
#include "tests/support/gateway_harness.hpp"

namespace pushgate::test {
namespace {

constexpr int kTerminals = 20;
constexpr int kRecordsPerTerminal = 5000;

// What the subscriber saw, checked as a consumer would: drop duplicates by
// id, and each terminal's new events must come in sequence order.
struct Tally {
  std::mutex mutex;
  std::set<std::int64_t> ids;
  std::map<std::string, std::int64_t> last_seq;
  std::size_t duplicates = 0;
  std::size_t out_of_order = 0;
  std::size_t replayed = 0;
  std::size_t parse_errors = 0;

  void add(const Received& r) {
    auto j = nlohmann::json::parse(r.payload, nullptr, false);
    std::lock_guard lock(mutex);
    if (j.is_discarded() || !j.contains("id") || !j.contains("seq")) {
      ++parse_errors;
      return;
    }
    auto id = j["id"].get<std::int64_t>();
    if (!ids.insert(id).second) {
      ++duplicates;
      return;
    }
    if (j.value("replay", false)) {
      ++replayed;
    }
    auto& last = last_seq[j["terminal"].get<std::string>()];
    if (j["seq"].get<std::int64_t>() != last + 1) {
      ++out_of_order;
    }
    last = j["seq"].get<std::int64_t>();
  }
  std::size_t distinct() {
    std::lock_guard lock(mutex);
    return ids.size();
  }
};

std::int64_t count_events(const std::filesystem::path& db_path) {
  boost::system::error_code ec;
  store::Connection::Options o;
  o.read_only = true;
  auto db = store::Connection::open(db_path.string(), o, ec);
  auto st = db.prepare("SELECT COUNT(*) FROM events", ec);
  return st.step(ec) ? st.column_int(0) : -1;
}

// The value of one metric series, -1 when absent.
double metric(std::uint16_t api_port, const std::string& series) {
  return metric_value(api_port, series).value_or(-1);
}

void run_outage(bool kill_mid_drain) {
  TempDir tmp;
  const auto dir = tmp.path();
  const auto gw_port = free_port();
  const auto sub_port = free_port();
  const auto zk_port = free_port();
  const auto api_port = free_port();

  // The subscriber's session (with its subscription) outlives the broker's
  // restart, so nothing published after the broker is back is missed.
  Mosquitto broker(dir / "broker", {{sub_port, {}}}, /*persistence=*/true);
  broker.start();
  Tally tally;
  Subscriber sub(broker.uri(0), "outage-consumer");
  sub.set_hook([&tally](const Received& r) { tally.add(r); });
  sub.connect(/*clean=*/false);
  sub.subscribe("pushgate/site/terminal/+/event/#", 1);
  sub.disconnect();
  broker.stop(SIGTERM);  // the broker is down

  const auto daemon_argv =
      pushgated_argv(PUSHGATED_PATH, std::string(PUSHGATE_SOURCE_DIR) + "/config/pushgate.toml",
                     (dir / "data").string(), zk_port, api_port,
                     {"gateway.id=site", "mqtt.enabled=true",
                      "mqtt.server_uri=tcp://127.0.0.1:" + std::to_string(gw_port),
                      "mqtt.reconnect_min_ms=100", "mqtt.reconnect_max_ms=500"});
  const std::string log = (dir / "run.log").string();
  pid_t gw = spawn_process(daemon_argv, log);
  ASSERT_GT(gw, 0);
  ASSERT_TRUE(wait_http_ready(api_port, std::chrono::seconds(20)));

  pid_t load = spawn_process(
      {PUSHGATE_SIM_PATH, "--port", std::to_string(zk_port), "--terminals",
       std::to_string(kTerminals), "--records-per-terminal", std::to_string(kRecordsPerTerminal),
       "--batch", "500", "--error-delay-ms", "50", "--poll-ms", "500", "--until-acked", "--timeout",
       "120", "--report-ms", "0"},
      log);
  ASSERT_GT(load, 0);
  int load_status = 0;
  ::waitpid(load, &load_status, 0);
  ASSERT_TRUE(WIFEXITED(load_status) && WEXITSTATUS(load_status) == 0)
      << "the simulator did not get every record acknowledged; see " << log;
  const auto stored = count_events(dir / "data" / "pushgate.db");
  ASSERT_GE(stored, kTerminals * kRecordsPerTerminal);
  // The backlog is visible while the broker is down.
  EXPECT_TRUE(wait_for(
      [&] {
        return metric(api_port, "pushgate_sink_backlog_events{sink=\"mqtt\"}") ==
               static_cast<double>(stored);
      },
      std::chrono::seconds(5)));
  EXPECT_GT(metric(api_port, "pushgate_sink_backlog_oldest_age_seconds{sink=\"mqtt\"}"), -1);

  // The broker comes back (on the gateway's port too).
  broker.set_listeners({{sub_port, {}}, {gw_port, {}}});
  broker.start();
  sub.connect(/*clean=*/false);
  auto started = std::chrono::steady_clock::now();

  if (kill_mid_drain) {
    ASSERT_TRUE(wait_for([&] { return tally.distinct() >= static_cast<std::size_t>(stored / 4); },
                         std::chrono::seconds(60)));
    ASSERT_EQ(::kill(gw, SIGKILL), 0);
    int st = 0;
    ::waitpid(gw, &st, 0);
    auto at_kill = tally.distinct();
    std::printf("SIGKILLed pushgated after %zu of %lld events reached the subscriber\n", at_kill,
                static_cast<long long>(stored));
    EXPECT_LT(at_kill, static_cast<std::size_t>(stored)) << "the drain ended before the kill";
    gw = spawn_process(daemon_argv, log);
    ASSERT_GT(gw, 0);
    ASSERT_TRUE(wait_http_ready(api_port, std::chrono::seconds(20)));
  }
  EXPECT_TRUE(wait_for([&] { return tally.distinct() >= static_cast<std::size_t>(stored); },
                       std::chrono::seconds(90)))
      << tally.distinct() << " of " << stored << " events received";
  auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  // Quiet for a moment: nothing more (no stray extra events) arrives.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));

  std::lock_guard lock(tally.mutex);
  std::printf("%zu distinct events in %.1f s (%zu duplicates dropped by id, %zu flagged replay)\n",
              tally.ids.size(), secs, tally.duplicates, tally.replayed);
  EXPECT_EQ(tally.ids.size(), static_cast<std::size_t>(stored));
  EXPECT_EQ(tally.out_of_order, 0u) << "a terminal's events arrived out of sequence";
  EXPECT_EQ(tally.parse_errors, 0u);
  // The terminals, and the gateway's own audit events (under gateway.id
  // "site": the first admin its first start created), in order like theirs.
  EXPECT_EQ(tally.last_seq.size(), static_cast<std::size_t>(kTerminals) + 1);
  EXPECT_EQ(tally.last_seq.count("site"), 1u);
  EXPECT_EQ(tally.replayed, static_cast<std::size_t>(stored))
      << "everything was uploaded during the outage: all of it is backlog";
  if (!kill_mid_drain) {
    EXPECT_EQ(tally.duplicates, 0u) << "no restart: nothing is sent twice";
  } else {
    EXPECT_LT(tally.duplicates, static_cast<std::size_t>(stored) / 2)
        << "the restart resumed from the stored cursor, not from the start";
  }
  ::kill(gw, SIGTERM);
  int st = 0;
  ::waitpid(gw, &st, 0);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

TEST(MqttOutageTest, EveryEventUploadedWhileBrokerDownArrivesInOrderOnce) {
  run_outage(false);
}

TEST(MqttOutageTest, DrainSurvivesSigkillOfPushgatedMidway) {
  run_outage(true);
}

// A subscriber that connects late sees the gateway and every terminal's
// current state (retained); the last will says offline when pushgated dies.
TEST(MqttRetainedTest, LateSubscriberSeesStateAndLastWillFiresOnSigkill) {
  TempDir tmp;
  const auto dir = tmp.path();
  const auto zk_port = free_port();
  const auto api_port = free_port();
  Mosquitto broker(dir / "broker", {{free_port(), {}}});
  broker.start();
  const std::string log = (dir / "run.log").string();
  pid_t gw = spawn_process(
      pushgated_argv(PUSHGATED_PATH, std::string(PUSHGATE_SOURCE_DIR) + "/config/pushgate.toml",
                     (dir / "data").string(), zk_port, api_port,
                     {"gateway.id=late", "mqtt.enabled=true", "mqtt.server_uri=" + broker.uri(),
                      "mqtt.keepalive_s=5"}),
      log);
  ASSERT_GT(gw, 0);
  ASSERT_TRUE(wait_http_ready(api_port, std::chrono::seconds(20)));
  pid_t load = spawn_process({PUSHGATE_SIM_PATH,
                              "--port",
                              std::to_string(zk_port),
                              "--terminals",
                              "3",
                              "--records-per-terminal",
                              "5",
                              "--batch",
                              "5",
                              "--poll-ms",
                              "200",
                              "--error-delay-ms",
                              "50",
                              "--until-acked",
                              "--timeout",
                              "60",
                              "--sn-prefix",
                              "LATE",
                              "--report-ms",
                              "0"},
                             log);
  int load_status = 0;
  ::waitpid(load, &load_status, 0);
  ASSERT_TRUE(WIFEXITED(load_status) && WEXITSTATUS(load_status) == 0) << "see " << log;
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // the 1 s status tick

  Subscriber late(broker.uri(), "late-subscriber");
  late.connect();
  late.subscribe("pushgate/late/#");
  ASSERT_TRUE(
      wait_for([&] { return !late.on("pushgate/late/status").empty(); }, std::chrono::seconds(5)));
  auto status = late.on("pushgate/late/status");
  EXPECT_TRUE(status.front().retained);
  EXPECT_EQ(status.front().payload, "online");
  ASSERT_TRUE(wait_for(
      [&] {
        std::size_t n = 0;
        for (const auto& m : late.messages()) {
          if (m.retained && m.topic.rfind("pushgate/late/terminal/", 0) == 0 &&
              m.topic.size() > 7 && m.topic.substr(m.topic.size() - 7) == "/status") {
            ++n;
          }
        }
        return n == 3;
      },
      std::chrono::seconds(5)))
      << "every terminal's retained status";
  for (const auto& m : late.messages()) {
    if (m.topic.rfind("pushgate/late/terminal/", 0) == 0 &&
        m.topic.substr(m.topic.size() - 7) == "/status") {
      auto j = nlohmann::json::parse(m.payload);
      EXPECT_EQ(j["online"], true) << m.payload;
      EXPECT_EQ(j["state"], "accepted");
    }
  }
  EXPECT_FALSE(late.on("pushgate/late/health").empty()) << "health is retained too";

  ASSERT_EQ(::kill(gw, SIGKILL), 0);
  int st = 0;
  ::waitpid(gw, &st, 0);
  ASSERT_TRUE(wait_for(
      [&] {
        auto m = late.on("pushgate/late/status");
        return m.back().payload == "offline";
      },
      std::chrono::seconds(15)))
      << "the last will did not fire";
}

}  // namespace
}  // namespace pushgate::test
