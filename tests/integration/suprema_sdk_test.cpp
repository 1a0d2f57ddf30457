// The suprema_sdk adapter (adapters/suprema/sdk_*) inside an in-process
// Gateway and inside pushgated, loading the fake device SDK of
// tests/sim/fake_bs_sdk (written from Suprema's function reference, not from
// the adapter) through the same dlopen path as Suprema's libBS_SDK_V2.so.
// Every event a device logged must be stored exactly once, whatever happens
// to the link or to pushgated.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdint>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "adapters/suprema/sdk_adapter.hpp"
#include "gateway/store/sqlite.hpp"
#include "tests/sim/fake_bs_sdk/fake_bs_sdk.h"
#include "tests/support/gateway_harness.hpp"
#include "tests/support/master_data_check.hpp"
#include "tests/support/processes.hpp"

namespace pushgate::test {
namespace {

using nlohmann::json;

constexpr std::uint16_t kDevicePort = 41211;  // only a key in the fake's state directory
constexpr std::uint32_t kDeviceId = 540001234;
constexpr std::uint16_t kVerifySuccessCard = 0x1006;  // BS2_EVENT_VERIFY_SUCCESS | card
constexpr std::uint32_t kLocalTime = 1764547200;      // 2025-12-01 00:00:00 on the device's clock

/** A fake SDK state directory, set as FAKE_BS_SDK_DIR for the SDK loaded in this process. */
struct FakeSdk {
  TempDir dir;
  FakeSdk() { ::setenv("FAKE_BS_SDK_DIR", dir.path().c_str(), 1); }
  ~FakeSdk() { ::unsetenv("FAKE_BS_SDK_DIR"); }
  const char* path() const { return dir.path().c_str(); }
  std::uint32_t append(std::uint32_t device, std::uint32_t n, std::uint8_t tna_key = 0) {
    return fakesdk_append_events(path(), device, n, kVerifySuccessCard, kLocalTime, "1001",
                                 tna_key);
  }
  std::string doors(std::uint32_t device) const {
    char buf[4096];
    fakesdk_door_commands(path(), device, buf, sizeof buf);
    return buf;
  }
};

std::vector<std::string> sdk_keys(const std::string& library, std::vector<std::string> more = {}) {
  std::vector<std::string> keys = {
      "suprema_sdk.enabled=true",
      "suprema_sdk.library=" + library,
      "suprema_sdk.reconnect_min_ms=100",
      "suprema_sdk.reconnect_max_s=1",
  };
  keys.insert(keys.end(), more.begin(), more.end());
  return keys;
}

std::vector<std::string> direct_device() {
  return {"suprema_sdk.devices.door1.host=127.0.0.1",
          "suprema_sdk.devices.door1.port=" + std::to_string(kDevicePort),
          "suprema_sdk.devices.door1.device_id=" + std::to_string(kDeviceId)};
}

std::int64_t stored(GatewayHarness& h, std::uint32_t device) {
  return h.query_int(
      "SELECT COUNT(*) FROM events e JOIN terminals t ON t.id = e.terminal_id WHERE t.sn = ?",
      {std::to_string(device)});
}

/** Distinct log ids stored and their range: exactly once means count == distinct == max. */
struct Stored {
  std::int64_t rows = 0, distinct = 0, min_id = 0, max_id = 0;
};
Stored stored_ids(GatewayHarness& h, std::uint32_t device) {
  const std::vector<std::string> sn{std::to_string(device)};
  const std::string from =
      " FROM events e JOIN terminals t ON t.id = e.terminal_id WHERE t.sn = ? AND "
      "e.record_key LIKE 'log:%'";
  Stored s;
  s.rows = h.query_int("SELECT COUNT(*)" + from, sn);
  s.distinct = h.query_int("SELECT COUNT(DISTINCT e.record_key)" + from, sn);
  s.min_id =
      h.query_int("SELECT COALESCE(MIN(CAST(substr(e.record_key, 5) AS INTEGER)), 0)" + from, sn);
  s.max_id =
      h.query_int("SELECT COALESCE(MAX(CAST(substr(e.record_key, 5) AS INTEGER)), 0)" + from, sn);
  return s;
}

void expect_exactly_once(GatewayHarness& h, std::uint32_t device, std::int64_t n) {
  const auto s = stored_ids(h, device);
  EXPECT_EQ(s.rows, n);
  EXPECT_EQ(s.distinct, n);
  EXPECT_EQ(s.min_id, 1);
  EXPECT_EQ(s.max_id, n);
}

json terminal(GatewayHarness& h, std::uint32_t device) {
  auto answer = http_request(h.api_port(), "GET", "/api/v1/terminals");
  auto body = json::parse(answer.body, nullptr, false);
  if (!body.is_object()) {
    return json();
  }
  for (const auto& t : body["terminals"]) {
    if (t.value("sn", "") == std::to_string(device)) {
      return t;
    }
  }
  return json();
}

std::string status_of(GatewayHarness& h, std::uint32_t device) {
  auto t = terminal(h, device);
  if (!t.is_object() || !t["info"].is_object()) {
    return "";
  }
  return t["info"].value("status", "");
}

TEST(SupremaSdk, ThousandEventsDuringALinkCutAreStoredExactlyOnce) {
  FakeSdk sdk;
  ASSERT_EQ(fakesdk_add_device(sdk.path(), kDevicePort, kDeviceId), 1);
  ASSERT_EQ(sdk.append(kDeviceId, 20, 1), 20u);  // logged before the gateway ever connected
  auto keys = sdk_keys(FAKE_BS_SDK_PATH, direct_device());
  keys.push_back("terminals." + std::to_string(kDeviceId) + ".timezone=+02:00");
  GatewayHarness h(keys);
  ASSERT_TRUE(wait_for([&] { return stored(h, kDeviceId) == 20; }, std::chrono::seconds(20)))
      << stored(h, kDeviceId);
  ASSERT_TRUE(
      wait_for([&] { return status_of(h, kDeviceId) == "online"; }, std::chrono::seconds(10)));
  // The device's wall clock read in its configured zone; the T&A key became the punch state.
  EXPECT_EQ(h.query_int("SELECT utc_ms FROM events WHERE record_key = 'log:0000000001'"),
            (std::int64_t{kLocalTime} - 2 * 3600) * 1000);
  EXPECT_EQ(h.query_int("SELECT kind FROM events WHERE record_key = 'log:0000000001'"),
            2);  // access

  ASSERT_EQ(sdk.append(kDeviceId, 5), 25u);  // live, through the monitoring callback
  ASSERT_TRUE(wait_for([&] { return stored(h, kDeviceId) == 25; }, std::chrono::seconds(10)));

  ASSERT_EQ(fakesdk_set_link(sdk.path(), kDeviceId, 0), 1);
  ASSERT_TRUE(
      wait_for([&] { return status_of(h, kDeviceId) == "offline"; }, std::chrono::seconds(10)));
  for (int i = 0; i < 10; ++i) {  // 1,000 events while the link is down
    sdk.append(kDeviceId, 100);
  }
  EXPECT_EQ(stored(h, kDeviceId), 25);
  ASSERT_EQ(fakesdk_set_link(sdk.path(), kDeviceId, 1), 1);
  ASSERT_TRUE(wait_for([&] { return stored(h, kDeviceId) == 1025; }, std::chrono::seconds(30)))
      << stored(h, kDeviceId);
  ASSERT_TRUE(
      wait_for([&] { return status_of(h, kDeviceId) == "online"; }, std::chrono::seconds(10)));
  sdk.append(kDeviceId, 10);  // live again after the reconnect
  ASSERT_TRUE(wait_for([&] { return stored(h, kDeviceId) == 1035; }, std::chrono::seconds(10)));
  expect_exactly_once(h, kDeviceId, 1035);
  EXPECT_GE(metric_value(h.api_port(), "pushgate_suprema_sdk_backfilled_total").value_or(0), 1000);
  EXPECT_EQ(metric_value(h.api_port(), "pushgate_suprema_sdk_devices{state=\"online\"}"), 1.0);
}

TEST(SupremaSdk, AFullHandOffIsCountedAndRecoveredByABackfill) {
  FakeSdk sdk;
  ASSERT_EQ(fakesdk_add_device(sdk.path(), kDevicePort, kDeviceId), 1);
  auto keys = sdk_keys(FAKE_BS_SDK_PATH, direct_device());
  keys.push_back("suprema_sdk.handoff_queue=16");
  GatewayHarness h(keys);
  ASSERT_TRUE(
      wait_for([&] { return status_of(h, kDeviceId) == "online"; }, std::chrono::seconds(20)));
  sdk.append(kDeviceId, 2000);  // one burst of live rows: far more than the hand-off holds
  ASSERT_TRUE(wait_for([&] { return stored(h, kDeviceId) == 2000; }, std::chrono::seconds(30)))
      << stored(h, kDeviceId);
  expect_exactly_once(h, kDeviceId, 2000);
  EXPECT_GT(metric_value(h.api_port(), "pushgate_suprema_sdk_handoff_overflow_total").value_or(0),
            0);
  EXPECT_GT(metric_value(h.api_port(), "pushgate_suprema_sdk_backfilled_total").value_or(0), 0);
}

TEST(SupremaSdk, AConfiguredDeviceShowsOfflineBeforeItsFirstConnect) {
  FakeSdk sdk;  // no device answers on the port
  GatewayHarness h(sdk_keys(FAKE_BS_SDK_PATH, direct_device()));
  ASSERT_TRUE(
      wait_for([&] { return status_of(h, kDeviceId) == "offline"; }, std::chrono::seconds(10)));
  EXPECT_NE(
      terminal(h, kDeviceId)["info"].value("status_reason", "").find("BS2_ConnectDeviceViaIP"),
      std::string::npos);
}

TEST(SupremaSdk, RestartResumesFromTheStoredCursor) {
  FakeSdk sdk;
  ASSERT_EQ(fakesdk_add_device(sdk.path(), kDevicePort, kDeviceId), 1);
  sdk.append(kDeviceId, 300);
  TempDir data;
  {
    GatewayHarness h(sdk_keys(FAKE_BS_SDK_PATH, direct_device()), data.path());
    ASSERT_TRUE(wait_for([&] { return stored(h, kDeviceId) == 300; }, std::chrono::seconds(20)));
    h.stop();
  }
  sdk.append(kDeviceId, 50);  // while the gateway is down
  GatewayHarness h(sdk_keys(FAKE_BS_SDK_PATH, direct_device()), data.path());
  ASSERT_TRUE(wait_for([&] { return stored(h, kDeviceId) == 350; }, std::chrono::seconds(20)));
  ASSERT_TRUE(
      wait_for([&] { return status_of(h, kDeviceId) == "online"; }, std::chrono::seconds(10)));
  expect_exactly_once(h, kDeviceId, 350);
  // Resumed after id 300: the second run read only the 50 new rows.
  EXPECT_EQ(metric_value(h.api_port(), "pushgate_suprema_sdk_backfilled_total"), 50.0);
  EXPECT_EQ(metric_value(h.api_port(), "pushgate_suprema_sdk_duplicates_total"), 0.0);
}

/** (rows, distinct record keys, max log id) of the SDK events in a pushgated database file. */
std::vector<std::int64_t> ids_in_file(const std::filesystem::path& db_path) {
  boost::system::error_code ec;
  store::Connection::Options o;
  auto db = store::Connection::open(db_path.string(), o, ec);
  if (ec) {
    return {0, 0, 0};
  }
  auto q = db.prepare(
      "SELECT COUNT(*), COUNT(DISTINCT record_key), "
      "COALESCE(MAX(CAST(substr(record_key, 5) AS INTEGER)), 0) FROM events WHERE record_key "
      "LIKE 'log:%'",
      ec);
  if (ec || !q.step(ec)) {
    return {0, 0, 0};
  }
  return {q.column_int(0), q.column_int(1), q.column_int(2)};
}

TEST(SupremaSdk, PushgatedKilledMidBackfillStoresEveryEventOnce) {
  FakeSdk sdk;
  ASSERT_EQ(fakesdk_add_device(sdk.path(), kDevicePort, kDeviceId), 1);
  constexpr std::int64_t kEvents = 3000;
  sdk.append(kDeviceId, kEvents);
  ::setenv("FAKE_BS_SDK_GETLOG_DELAY_MS", "40", 1);  // a slow device: pages of 50, 40 ms each
  TempDir tmp;
  const auto api_port = free_port();
  const auto argv =
      pushgated_argv(PUSHGATED_PATH, std::string(PUSHGATE_SOURCE_DIR) + "/config/pushgate.toml",
                     tmp.path().string(), free_port(), api_port, sdk_keys(FAKE_BS_SDK_PATH, [] {
                       auto k = direct_device();
                       k.push_back("suprema_sdk.page_size=50");
                       return k;
                     }()));
  const auto log = (tmp.path() / "run.log").string();
  const auto db_path = tmp.path() / "pushgate.db";
  pid_t gw = spawn_process(argv, log);
  ASSERT_GT(gw, 0);
  int kills = 0;
  std::int64_t floor = 0;
  for (; kills < 3; ++kills) {
    ASSERT_TRUE(wait_http_ready(api_port, std::chrono::seconds(20)));
    // Killed while the backfill is under way: some pages stored, most not.
    const auto target = floor + 300;
    if (!wait_for([&] { return ids_in_file(db_path)[0] >= target; }, std::chrono::seconds(30))) {
      break;
    }
    ASSERT_LT(ids_in_file(db_path)[0], kEvents) << "the backfill ended before the kill";
    ASSERT_EQ(::kill(gw, SIGKILL), 0);
    int st = 0;
    ::waitpid(gw, &st, 0);
    floor = ids_in_file(db_path)[0];
    gw = spawn_process(argv, log);
    ASSERT_GT(gw, 0);
  }
  EXPECT_EQ(kills, 3) << "see " << log;
  EXPECT_TRUE(
      wait_for([&] { return ids_in_file(db_path)[0] >= kEvents; }, std::chrono::seconds(60)));
  ::kill(gw, SIGTERM);
  int st = 0;
  ::waitpid(gw, &st, 0);
  ::unsetenv("FAKE_BS_SDK_GETLOG_DELAY_MS");
  const auto ids = ids_in_file(db_path);
  EXPECT_EQ(ids[0], kEvents);
  EXPECT_EQ(ids[1], kEvents);
  EXPECT_EQ(ids[2], kEvents);
}

TEST(SupremaSdk, ServerModeDeviceDialsInAndUnknownOnesWait) {
  FakeSdk sdk;
  constexpr std::uint32_t kGate = 540009001;
  constexpr std::uint32_t kStranger = 540009002;
  sdk.append(kGate, 30);
  sdk.append(kStranger, 7);
  GatewayHarness h(
      sdk_keys(FAKE_BS_SDK_PATH, {"suprema_sdk.server_port=51212",
                                  "suprema_sdk.devices.gate.device_id=" + std::to_string(kGate),
                                  "gateway.unknown_terminals=pending"}));
  ASSERT_EQ(fakesdk_set_dial(sdk.path(), kGate, 1), 1);
  ASSERT_EQ(fakesdk_set_dial(sdk.path(), kStranger, 1), 1);
  ASSERT_TRUE(wait_for([&] { return stored(h, kGate) == 30; }, std::chrono::seconds(20)));
  ASSERT_TRUE(wait_for([&] { return status_of(h, kGate) == "online"; }, std::chrono::seconds(10)));
  sdk.append(kGate, 3);
  ASSERT_TRUE(wait_for([&] { return stored(h, kGate) == 33; }, std::chrono::seconds(10)));
  expect_exactly_once(h, kGate, 33);
  ASSERT_TRUE(wait_for(
      [&] {
        return metric_value(h.api_port(), "pushgate_suprema_sdk_unknown_devices_total")
                   .value_or(0) >= 1;
      },
      std::chrono::seconds(10)));
  EXPECT_EQ(terminal(h, kStranger).value("state", ""), "pending");
  EXPECT_EQ(stored(h, kStranger), 0);
}

/** Queues a command through the REST API; its id (0 when refused). */
std::int64_t post_command(GatewayHarness& h, std::uint32_t device, const json& command) {
  auto answer =
      http_request(h.api_port(), "POST",
                   "/api/v1/terminals/" + std::to_string(device) + "/commands", command.dump());
  auto body = json::parse(answer.body, nullptr, false);
  EXPECT_EQ(answer.status, 202) << answer.body;
  return body.is_object() ? body.value("id", std::int64_t{0}) : 0;
}

std::string command_state(GatewayHarness& h, std::int64_t id) {
  auto answer = http_request(h.api_port(), "GET", "/api/v1/commands/" + std::to_string(id));
  auto body = json::parse(answer.body, nullptr, false);
  return body.is_object() ? body.value("state", "") : "";
}

TEST(SupremaSdk, DoorCommandsReachTheDevice) {
  FakeSdk sdk;
  ASSERT_EQ(fakesdk_add_device(sdk.path(), kDevicePort, kDeviceId), 1);
  GatewayHarness h(sdk_keys(FAKE_BS_SDK_PATH, direct_device()));
  ASSERT_TRUE(
      wait_for([&] { return status_of(h, kDeviceId) == "online"; }, std::chrono::seconds(20)));
  const auto open = post_command(
      h, kDeviceId, {{"verb", "open_door"}, {"params", {{"door", 2}, {"seconds", 1}}}});
  ASSERT_GT(open, 0);
  ASSERT_TRUE(wait_for([&] { return command_state(h, open) == "done"; }, std::chrono::seconds(10)))
      << command_state(h, open);
  // Unlocked as the operator (flag 4), released (relocked) after its seconds.
  ASSERT_TRUE(wait_for(
      [&] { return sdk.doors(kDeviceId) == "unlock flag=4 door=2\nrelease flag=4 door=2\n"; },
      std::chrono::seconds(10)))
      << sdk.doors(kDeviceId);
  const auto lock = post_command(
      h, kDeviceId, {{"verb", "lock_door"}, {"params", {{"door", 1}, {"locked", true}}}});
  ASSERT_TRUE(wait_for([&] { return command_state(h, lock) == "done"; }, std::chrono::seconds(10)));
  EXPECT_NE(sdk.doors(kDeviceId).find("lock flag=4 door=1\n"), std::string::npos);
  // door_status: read from the device, answered and reported to the gateway's doors.
  const auto hold = post_command(
      h, kDeviceId, {{"verb", "normal_open"}, {"params", {{"door", 3}, {"on", true}}}});
  ASSERT_TRUE(wait_for([&] { return command_state(h, hold) == "done"; }, std::chrono::seconds(10)));
  const auto status =
      post_command(h, kDeviceId, {{"verb", "door_status"}, {"params", {{"door", 3}}}});
  ASSERT_TRUE(
      wait_for([&] { return command_state(h, status) == "done"; }, std::chrono::seconds(10)));
  auto answer = json::parse(
      http_request(h.api_port(), "GET", "/api/v1/commands/" + std::to_string(status)).body, nullptr,
      false);
  const auto text = answer.is_object() && answer["result"].is_string()
                        ? answer["result"].get<std::string>()
                        : std::string();
  auto result = json::parse(text, nullptr, false);
  ASSERT_TRUE(result.is_object()) << answer.dump();
  EXPECT_EQ(result.value("unlocked", false), true);
  auto doors = json::parse(http_request(h.api_port(), "GET", "/api/v1/doors").body, nullptr, false);
  bool found = false;
  for (const auto& d : doors.value("doors", json::array())) {
    if (d.value("terminal", d.value("sn", "")) == std::to_string(kDeviceId) &&
        d.value("door", 0) == 3) {
      found = true;
      EXPECT_EQ(d.value("sensor", ""), "open") << d.dump();
    }
  }
  EXPECT_TRUE(found) << doors.dump();
  const auto reboot = post_command(h, kDeviceId, {{"verb", "reboot"}});
  ASSERT_TRUE(
      wait_for([&] { return command_state(h, reboot) == "failed"; }, std::chrono::seconds(10)));
  EXPECT_EQ(
      metric_value(h.api_port(), "pushgate_suprema_sdk_commands_total{result=\"unsupported\"}"),
      1.0);
}

/** The row of door `door` of `device` in GET /api/v1/doors (null when absent). */
json door_row(GatewayHarness& h, std::uint32_t device, int door) {
  auto doors = json::parse(http_request(h.api_port(), "GET", "/api/v1/doors").body, nullptr, false);
  if (!doors.is_object()) {
    return json::object();
  }
  for (const auto& d : doors.value("doors", json::array())) {
    if (d.value("terminal", "") == std::to_string(device) && d.value("door", 0) == door) {
      return d;
    }
  }
  return json::object();
}

TEST(SupremaSdk, DoorEventsMoveTheDoorBoard) {
  FakeSdk sdk;
  ASSERT_EQ(fakesdk_add_device(sdk.path(), kDevicePort, kDeviceId), 1);
  const char door2[] = "\x02";  // the row's union holds doorID = 2 (little-endian)
  // Logged while nobody listened: read by the backfill, and the board follows.
  fakesdk_append_events(sdk.path(), kDeviceId, 1, 0x5400, kLocalTime, door2, 0);  // forced open
  GatewayHarness h(sdk_keys(FAKE_BS_SDK_PATH, direct_device()));
  ASSERT_TRUE(wait_for([&] { return door_row(h, kDeviceId, 2)["sensor"] == "open"; },
                       std::chrono::seconds(20)))
      << door_row(h, kDeviceId, 2).dump();
  EXPECT_EQ(door_row(h, kDeviceId, 2)["alarm"], 0x01);  // accidental open (forced)
  fakesdk_append_events(sdk.path(), kDeviceId, 1, 0x5700, kLocalTime, door2, 0);  // alarm clear
  fakesdk_append_events(sdk.path(), kDeviceId, 1, 0x5300, kLocalTime, door2, 0);  // closed
  ASSERT_TRUE(wait_for([&] { return door_row(h, kDeviceId, 2)["sensor"] == "closed"; },
                       std::chrono::seconds(10)));
  EXPECT_EQ(door_row(h, kDeviceId, 2)["alarm"], 0);
  // The door events are events too.
  EXPECT_TRUE(wait_for([&] { return stored(h, kDeviceId) == 3; }, std::chrono::seconds(10)));
}

TEST(SupremaSdk, UsersAreEnrolledAndRemoved) {
  FakeSdk sdk;
  ASSERT_EQ(fakesdk_add_device(sdk.path(), kDevicePort, kDeviceId), 1);
  GatewayHarness h(sdk_keys(FAKE_BS_SDK_PATH, direct_device()));
  ASSERT_TRUE(
      wait_for([&] { return status_of(h, kDeviceId) == "online"; }, std::chrono::seconds(20)));
  auto users = [&] {
    char buf[4096];
    fakesdk_users(sdk.path(), kDeviceId, buf, sizeof buf);
    return std::string(buf);
  };
  const auto add = post_command(
      h, kDeviceId, {{"verb", "upsert_user"}, {"params", {{"pin", "1001"}, {"name", "Ana Lima"}}}});
  ASSERT_TRUE(wait_for([&] { return command_state(h, add) == "done"; }, std::chrono::seconds(10)));
  EXPECT_EQ(users(), "1001\tAna Lima\n");
  const auto del =
      post_command(h, kDeviceId, {{"verb", "delete_user"}, {"params", {{"pin", "1001"}}}});
  ASSERT_TRUE(wait_for([&] { return command_state(h, del) == "done"; }, std::chrono::seconds(10)));
  EXPECT_EQ(users(), "");
  // A user the device does not have: the SDK's refusal fails the command with its code.
  const auto again =
      post_command(h, kDeviceId, {{"verb", "delete_user"}, {"params", {{"pin", "1001"}}}});
  ASSERT_TRUE(
      wait_for([&] { return command_state(h, again) == "failed"; }, std::chrono::seconds(10)));
  // Longer than a Suprema user id: refused without a call.
  const auto long_pin = post_command(
      h, kDeviceId, {{"verb", "upsert_user"}, {"params", {{"pin", std::string(40, '7')}}}});
  ASSERT_TRUE(
      wait_for([&] { return command_state(h, long_pin) == "failed"; }, std::chrono::seconds(10)));
  EXPECT_EQ(users(), "");
}

TEST(SupremaSdk, MissingLibraryDisablesThePathAndTheRestRuns) {
  FakeSdk sdk;
  const std::string missing = "/nonexistent/suprema/libBS_SDK_V2.so";
  GatewayHarness h(sdk_keys(missing, direct_device()));
  auto ready = http_request(h.api_port(), "GET", "/readyz");
  EXPECT_EQ(ready.status, 503);
  EXPECT_NE(ready.body.find(missing), std::string::npos) << ready.body;
  EXPECT_EQ(http_request(h.api_port(), "GET", "/api/v1/terminals").status, 200);
  EXPECT_EQ(metric_value(h.api_port(), "pushgate_suprema_sdk_library_loaded"), 0.0);
  // The configured device is offline and says why.
  ASSERT_EQ(status_of(h, kDeviceId), "offline");
  EXPECT_NE(terminal(h, kDeviceId)["info"].value("status_reason", "").find(missing),
            std::string::npos);
}

TEST(SupremaSdk, ConfigChecksNameTheKey) {
  config::Schema schema = build_schema();
  auto loaded = config::Config::load_string(
      schema, "",
      {"suprema_sdk.enabled=true", "suprema_sdk.library=/opt/suprema/libBS_SDK_V2.so",
       "suprema_sdk.devices.gate.port=51211", "suprema_sdk.devices.a.host=10.0.0.5",
       "suprema_sdk.devices.a.device_id=7", "suprema_sdk.devices.b.host=10.0.0.6",
       "suprema_sdk.devices.b.device_id=7"});
  ASSERT_TRUE(loaded.config);
  auto errors = adapters::suprema::sdk::SdkAdapter::validate_config(*loaded.config);
  std::set<std::string> keys;
  for (const auto& e : errors) {
    keys.insert(e.key);
  }
  // gate: server mode without a device id and without a server port; b: a second id 7.
  EXPECT_EQ(keys, (std::set<std::string>{"suprema_sdk.devices.gate.device_id",
                                         "suprema_sdk.devices.gate.host",
                                         "suprema_sdk.devices.b.device_id"}));
  auto fine = config::Config::load_string(schema, "",
                                          {"suprema_sdk.enabled=true", "suprema_sdk.library=/x.so",
                                           "suprema_sdk.devices.a.host=10.0.0.5"});
  ASSERT_TRUE(fine.config);
  EXPECT_TRUE(adapters::suprema::sdk::SdkAdapter::validate_config(*fine.config).empty());
}

TEST(SupremaSdk, MissingSymbolIsNamed) {
  FakeSdk sdk;
  GatewayHarness h(sdk_keys(FAKE_BS_SDK_NOGETLOG_PATH, direct_device()));
  auto ready = http_request(h.api_port(), "GET", "/readyz");
  EXPECT_EQ(ready.status, 503);
  EXPECT_NE(ready.body.find("BS2_GetLog"), std::string::npos) << ready.body;
  EXPECT_NE(ready.body.find(FAKE_BS_SDK_NOGETLOG_PATH), std::string::npos) << ready.body;
  EXPECT_EQ(http_request(h.api_port(), "GET", "/api/v1/terminals").status, 200);
}

TEST(SupremaSdk, MasterDataUsersWithCardAndPinReachTheDeviceChangeAndGo) {
  FakeSdk sdk;
  ASSERT_EQ(fakesdk_add_device(sdk.path(), kDevicePort, kDeviceId), 1);
  GatewayHarness h(sdk_keys(FAKE_BS_SDK_PATH, direct_device()));
  const std::string sn = std::to_string(kDeviceId);
  ASSERT_TRUE(
      wait_for([&] { return status_of(h, kDeviceId) == "online"; }, std::chrono::seconds(20)));
  EXPECT_EQ(terminal(h, kDeviceId)["capabilities"]["sync_writes"],
            json::array({"users", "cards", "passwords"}));
  // Every user the device holds, a line each: "<pin>\t<name>\tcard=<csn>\tpin=<pin code>".
  auto users = [&] {
    char buf[4096];
    fakesdk_users(sdk.path(), kDeviceId, buf, sizeof buf);
    return std::string(buf);
  };
  UserRoundTrip trip;
  trip.held = [&](const std::string& pin) {
    std::istringstream lines(users());
    std::string line;
    std::string held;
    while (std::getline(lines, line)) {
      if (line.rfind(pin + "\t", 0) == 0) {
        held += line + "\n";
      }
    }
    return held;
  };
  trip.shows_renamed = [](const std::string& held) {
    return held == "500\tAda L.\tcard=123456\tpin=7788\n";
  };
  // The name, the CSN card and the PIN, as the device holds them, and no one else.
  trip.after_create = [&] { EXPECT_EQ(users(), "500\tAda\tcard=123456\tpin=7788\n"); };
  trip.after_rename = [&] { EXPECT_EQ(users(), "500\tAda L.\tcard=123456\tpin=7788\n"); };
  trip.after_delete = [&] { EXPECT_EQ(users(), ""); };
  // The site's time zone, holiday and level: tables no Suprema path writes, and
  // no door rights either.
  trip.not_taken.insert(trip.not_taken.end(), {"authorize_user", "deauthorize_user"});
  expect_user_reaches_device_changes_and_goes(h, sn, trip);
}

TEST(SupremaSdk, ACardOrPinTheDeviceCannotHoldFailsTheCommandAndSaysWhy) {
  FakeSdk sdk;
  ASSERT_EQ(fakesdk_add_device(sdk.path(), kDevicePort, kDeviceId), 1);
  GatewayHarness h(sdk_keys(FAKE_BS_SDK_PATH, direct_device()));
  ASSERT_TRUE(
      wait_for([&] { return status_of(h, kDeviceId) == "online"; }, std::chrono::seconds(20)));
  const auto card = post_command(
      h, kDeviceId,
      {{"verb", "upsert_user"}, {"params", {{"pin", "9"}, {"card", "18446744073709551616"}}}});
  const auto pin = post_command(
      h, kDeviceId, {{"verb", "upsert_user"}, {"params", {{"pin", "9"}, {"password", "12ab"}}}});
  ASSERT_TRUE(
      wait_for([&] { return command_state(h, card) == "failed"; }, std::chrono::seconds(10)));
  ASSERT_TRUE(
      wait_for([&] { return command_state(h, pin) == "failed"; }, std::chrono::seconds(10)));
  // The reason is on the command, and nothing reached the device.
  const auto reason = [&](std::int64_t id) {
    return http_request(h.api_port(), "GET", "/api/v1/commands/" + std::to_string(id)).body;
  };
  EXPECT_NE(reason(card).find("below 2^64"), std::string::npos) << reason(card);
  EXPECT_NE(reason(pin).find("a Suprema PIN is 1..16 digits"), std::string::npos) << reason(pin);
  char buf[256];
  fakesdk_users(sdk.path(), kDeviceId, buf, sizeof buf);
  EXPECT_EQ(std::string(buf), "");
}

}  // namespace
}  // namespace pushgate::test
