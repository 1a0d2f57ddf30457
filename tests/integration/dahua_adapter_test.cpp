// The Dahua adapter in pull mode inside an in-process Gateway, against the
// simulated device of tests/sim (written from the vendor documentation, not
// from the adapter) on loopback: backfill then live, a stream cut while
// events happen, a reboot, a wrong password. Every event the device recorded
// must be stored exactly once, in device (RecNo) order.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "adapters/dahua/dahua_adapter.hpp"
#include "adapters/dahua/dahua_digest.hpp"
#include "gateway/gateway.hpp"
#include "gateway/linkage/linkage_service.hpp"
#include "gateway/store/sqlite.hpp"
#include "tests/sim/access_terminal.hpp"
#include "tests/sim/dahua_device.hpp"
#include "tests/support/gateway_harness.hpp"
#include "tests/support/io_thread.hpp"
#include "tests/support/ledger_check.hpp"
#include "tests/support/master_data_check.hpp"
#include "tests/support/processes.hpp"
#include "tests/support/zk_access.hpp"

namespace pushgate::test {
namespace {

namespace sim = pushgate::sim::dahua;
using nlohmann::json;

std::vector<std::string> dahua_keys(std::uint16_t port, const std::string& password,
                                    std::vector<std::string> more = {}) {
  std::vector<std::string> keys = {
      "dahua.enabled=true",
      "dahua.heartbeat_s=1",
      "dahua.reconnect_min_ms=100",
      "dahua.reconnect_max_s=1",
      "dahua.request_timeout_s=5",
      "dahua.devices.door1.host=127.0.0.1",
      "dahua.devices.door1.port=" + std::to_string(port),
      "dahua.devices.door1.user=admin",
      "dahua.devices.door1.password=" + password,
  };
  keys.insert(keys.end(), more.begin(), more.end());
  return keys;
}

sim::DahuaDeviceConfig device_config() {
  sim::DahuaDeviceConfig c;
  c.serial = "DHTEST0001";
  c.heartbeat_unit = std::chrono::milliseconds(1000);
  return c;
}

std::int64_t count_events(GatewayHarness& h, const std::string& sn) {
  return h.query_int(
      "SELECT COUNT(*) FROM events e JOIN terminals t ON t.id = e.terminal_id WHERE t.sn = ?",
      {sn});
}

/** The RecNos of the stored access events, in id (storage) order. */
std::vector<std::int64_t> stored_access_recnos(GatewayHarness& h, const std::string& sn) {
  std::vector<std::int64_t> out;
  const auto n = h.query_int(
      "SELECT COUNT(*) FROM events e JOIN terminals t ON t.id = e.terminal_id WHERE t.sn = ? "
      "AND e.kind = 2",
      {sn});
  for (std::int64_t i = 0; i < n; ++i) {
    out.push_back(h.query_int(
        "SELECT CAST(substr(e.record_key, 7) AS INTEGER) FROM events e JOIN terminals t ON "
        "t.id = e.terminal_id WHERE t.sn = ? AND e.kind = 2 ORDER BY e.id LIMIT 1 OFFSET " +
            std::to_string(i),
        {sn}));
  }
  return out;
}

/** Every access record of the device stored exactly once, in RecNo order. */
void expect_exactly_once_in_order(GatewayHarness& h, const sim::DahuaDevice& device) {
  const auto records = device.records(sim::Table::Access);
  const auto stored = stored_access_recnos(h, device.serial());
  ASSERT_EQ(stored.size(), records.size());
  for (std::size_t i = 0; i < records.size(); ++i) {
    ASSERT_EQ(stored[i], static_cast<std::int64_t>(records[i].rec_no)) << "at " << i;
  }
}

json terminal(GatewayHarness& h, const std::string& sn) {
  auto answer = http_request(h.api_port(), "GET", "/api/v1/terminals");
  auto body = json::parse(answer.body, nullptr, false);
  if (!body.is_object()) {
    return json();
  }
  for (const auto& t : body["terminals"]) {
    if (t.value("sn", "") == sn) {
      return t;
    }
  }
  return json();
}

std::string status_of(GatewayHarness& h, const std::string& sn) {
  auto t = terminal(h, sn);
  if (!t.is_object() || !t["info"].is_object()) {
    return "";
  }
  return t["info"].value("status", "");
}

sim::AccessSpec access_at(std::int64_t t, bool granted = true) {
  sim::AccessSpec s;
  s.create_time = t;
  s.granted = granted;
  s.error_code = granted ? 0 : 21;
  return s;
}

TEST(DahuaAdapter, BackfillsStoredRecordsThenStoresLiveEvents) {
  sim::DahuaDevice device(device_config());
  const auto now = device.device_now();
  for (int i = 0; i < 250; ++i) {  // three pages of 100, at most 50 records a second
    device.generate_access(access_at(now - 100 + i / 50, i % 10 != 3));
  }
  for (int i = 0; i < 5; ++i) {
    sim::AlarmSpec a;
    a.code = i % 2 == 0 ? "BreakIn" : "ChassisIntruded";
    a.create_time = now - 50 + i;
    device.generate_alarm(a);
  }
  GatewayHarness h(dahua_keys(device.port(), "admin123"));
  ASSERT_TRUE(
      wait_for([&] { return count_events(h, device.serial()) == 255; }, std::chrono::seconds(20)))
      << count_events(h, device.serial());
  ASSERT_TRUE(wait_for([&] { return status_of(h, device.serial()) == "online"; },
                       std::chrono::seconds(10)));
  for (int i = 0; i < 10; ++i) {
    device.generate_access(access_at(device.device_now()));
  }
  ASSERT_TRUE(
      wait_for([&] { return count_events(h, device.serial()) == 265; }, std::chrono::seconds(10)))
      << count_events(h, device.serial());
  expect_exactly_once_in_order(h, device);

  auto t = terminal(h, device.serial());
  EXPECT_EQ(t.value("vendor", ""), "dahua");
  // Heartbeats keep last_seen current between events (doors, MQTT, Modbus judge by it).
  const auto seen = h.gateway().terminals().last_seen_ms(device.serial());
  EXPECT_TRUE(wait_for([&] { return h.gateway().terminals().last_seen_ms(device.serial()) > seen; },
                       std::chrono::seconds(5)));
  EXPECT_EQ(t.value("model", ""), "ASI3213A-W");
  // A refusal keeps its reason; a granted passage is event 0 (anti-passback counts it).
  EXPECT_EQ(h.query_int("SELECT COUNT(*) FROM events WHERE kind = 2 AND event_code = 1021"), 25);
  EXPECT_EQ(h.query_int("SELECT COUNT(*) FROM events WHERE kind = 2 AND event_code = 0"), 235);
  EXPECT_EQ(h.query_int("SELECT COUNT(*) FROM events WHERE kind = 3 AND door = 1"), 5);
  EXPECT_EQ(h.query_int("SELECT COUNT(*) FROM events WHERE extra LIKE "
                        "'%\"reason\":\"anti_passback\"%'"),
            25);
  EXPECT_EQ(metric_value(h.api_port(), "pushgate_dahua_devices{state=\"online\"}"), 1.0);
}

TEST(DahuaAdapter, BackfillCopesWithTheFirmwareQuirksOfRecordFinder) {
  sim::DahuaDevice device(device_config());
  sim::FinderQuirks quirks;
  quirks.capital_records = true;   // Records[n]
  quirks.omit_empty = true;        // CardName left out
  quirks.date_string_time = true;  // CreateTime as device-local text
  quirks.total_count = true;
  device.set_finder_quirks(quirks);
  const auto now = device.device_now();
  for (int i = 0; i < 250; ++i) {
    device.generate_access(access_at(now - 100 + i / 50));
  }
  GatewayHarness h(dahua_keys(device.port(), "admin123"));
  ASSERT_TRUE(
      wait_for([&] { return count_events(h, device.serial()) == 250; }, std::chrono::seconds(20)))
      << count_events(h, device.serial());
  ASSERT_TRUE(wait_for([&] { return status_of(h, device.serial()) == "online"; },
                       std::chrono::seconds(10)));
  device.generate_access(access_at(device.device_now()));
  ASSERT_TRUE(
      wait_for([&] { return count_events(h, device.serial()) == 251; }, std::chrono::seconds(10)));
  expect_exactly_once_in_order(h, device);
  // The text times were read in the terminal's zone (UTC here): none unusable.
  EXPECT_EQ(h.query_int("SELECT count(*) FROM events WHERE utc_ms IS NULL"), 0);
}

TEST(DahuaAdapter, LiveEventsSurviveTheStreamQuirksOfRealDevices) {
  sim::DahuaDevice device(device_config());
  GatewayHarness h(dahua_keys(device.port(), "admin123"));
  ASSERT_TRUE(wait_for([&] { return status_of(h, device.serial()) == "online"; },
                       std::chrono::seconds(10)));
  sim::StreamQuirks q;
  q.split_chunk = 7;  // parts split anywhere, the boundary too
  q.split_seed = 3;
  q.two_codes_per_part = true;
  q.content_length = sim::StreamQuirks::Length::Wrong;
  q.equals_in_values = true;
  q.mixed_key_case = true;
  device.set_stream_quirks(q);
  for (int i = 0; i < 30; ++i) {
    device.generate_access(access_at(device.device_now()));
  }
  ASSERT_TRUE(
      wait_for([&] { return count_events(h, device.serial()) == 30; }, std::chrono::seconds(10)))
      << count_events(h, device.serial());
  expect_exactly_once_in_order(h, device);
  // They came live, not by a backfill after a broken stream.
  EXPECT_EQ(metric_value(h.api_port(), "pushgate_dahua_reconnects_total"), 0.0);
  EXPECT_EQ(metric_value(h.api_port(), "pushgate_dahua_quarantined_total"), 0.0);
}

TEST(DahuaAdapter, StreamCutWhileAThousandEventsHappenStoresEachOnceInOrder) {
  auto config = device_config();
  config.page_cap = 1000;
  sim::DahuaDevice device(config);
  GatewayHarness h(dahua_keys(device.port(), "admin123", {"dahua.page_size=1000"}));
  ASSERT_TRUE(wait_for([&] { return status_of(h, device.serial()) == "online"; },
                       std::chrono::seconds(10)));
  device.generate_access(access_at(device.device_now()));
  ASSERT_TRUE(
      wait_for([&] { return count_events(h, device.serial()) == 1; }, std::chrono::seconds(10)));
  // The device drops the stream again and again while 1000 events happen:
  // some arrive live, the others only by backfill.
  device.start_generator(400.0, 1000, 7);
  while (device.generator_remaining() > 0) {
    device.drop_streams();
    wait_for([&] { return device.stream_count() > 0 || device.generator_remaining() == 0; },
             std::chrono::seconds(5));
    wait_for([] { return false; }, std::chrono::milliseconds(300));
  }
  ASSERT_TRUE(
      wait_for([&] { return count_events(h, device.serial()) == 1001; }, std::chrono::seconds(30)))
      << count_events(h, device.serial());
  expect_exactly_once_in_order(h, device);
  EXPECT_GT(metric_value(h.api_port(), "pushgate_dahua_reconnects_total").value_or(0), 0.0);
}

TEST(DahuaAdapter, EventsDuringARebootAreBackfilledAfterIt) {
  sim::DahuaDevice device(device_config());
  GatewayHarness h(dahua_keys(device.port(), "admin123"));
  ASSERT_TRUE(wait_for([&] { return status_of(h, device.serial()) == "online"; },
                       std::chrono::seconds(10)));
  device.reboot();
  ASSERT_TRUE(wait_for([&] { return status_of(h, device.serial()) == "offline"; },
                       std::chrono::seconds(10)));
  const auto now = device.device_now();
  for (int i = 0; i < 300; ++i) {
    device.generate_access(access_at(now + i / 50));
  }
  device.power_on();
  ASSERT_TRUE(
      wait_for([&] { return count_events(h, device.serial()) == 300; }, std::chrono::seconds(20)))
      << count_events(h, device.serial());
  expect_exactly_once_in_order(h, device);
  EXPECT_TRUE(wait_for([&] { return status_of(h, device.serial()) == "online"; },
                       std::chrono::seconds(10)));
}

TEST(DahuaAdapter, ASilentStreamIsReopenedAfterThreeHeartbeatsAndTheGapBackfilled) {
  sim::DahuaDevice device(device_config());
  GatewayHarness h(dahua_keys(device.port(), "admin123"));
  ASSERT_TRUE(wait_for([&] { return status_of(h, device.serial()) == "online"; },
                       std::chrono::seconds(10)));
  sim::StreamQuirks stalled;
  stalled.stall = true;  // open, but silent: no heartbeat, no event
  device.set_stream_quirks(stalled);
  const auto now = device.device_now();
  for (int i = 0; i < 20; ++i) {
    device.generate_access(access_at(now));
  }
  // Only the watchdog (3 x heartbeat_s = 3 s) can notice; the backfill finds them.
  ASSERT_TRUE(
      wait_for([&] { return count_events(h, device.serial()) == 20; }, std::chrono::seconds(15)))
      << count_events(h, device.serial());
  EXPECT_GE(metric_value(h.api_port(), "pushgate_dahua_reconnects_total").value_or(0), 1.0);
  device.set_stream_quirks(sim::StreamQuirks{});
  expect_exactly_once_in_order(h, device);
}

void rest(std::uint16_t port, const std::string& method, const std::string& target,
          const std::string& body) {
  auto a = http_request(port, method, target, body);
  ASSERT_EQ(a.status, 200) << method << " " << target << ": " << a.body;
}

TEST(DahuaAdapter, APassageCountsForSiteWideAntiPassback) {
  sim::DahuaDevice device(device_config());
  GatewayHarness h(dahua_keys(device.port(), "admin123"));
  ASSERT_TRUE(wait_for([&] { return status_of(h, device.serial()) == "online"; },
                       std::chrono::seconds(10)));
  const auto api = h.api_port();
  rest(api, "PUT", "/api/v1/access/timezones/1",
       R"({"name":"always","sun":["00:00-23:59"],"mon":["00:00-23:59"],"tue":["00:00-23:59"],
           "wed":["00:00-23:59"],"thu":["00:00-23:59"],"fri":["00:00-23:59"],
           "sat":["00:00-23:59"],"hol1":["00:00-23:59"],"hol2":["00:00-23:59"],
           "hol3":["00:00-23:59"]})");
  rest(api, "PUT", "/api/v1/access/areas/1", R"({"name":"building","apb":"hard"})");
  rest(api, "POST", "/api/v1/access/doors",
       R"([{"terminal":"DHTEST0001","door":1,"open_s":5,"area_in":1},
           {"terminal":"ZKAPB0001","door":1,"open_s":5,"area_in":1}])");
  rest(api, "PUT", "/api/v1/access/levels/1",
       R"({"name":"staff","timezone":1,"doors":["DHTEST0001/1","ZKAPB0001/1"]})");
  rest(api, "PUT", "/api/v1/access/users/42", R"({"name":"Ada","levels":[1]})");
  IoThread io;
  auto zk = start_zk_access_terminal(io, h.zkpush_port(), "ZKAPB0001");
  auto in = access_at(device.device_now());
  in.user_id = "42";
  in.door = 0;  // the device's door 0 is the gateway's door 1
  in.type = "Entry";
  device.generate_access(in);
  // The passage moved Ada into the area, as a ZKTeco terminal's would.
  ASSERT_TRUE(
      wait_for([&] { return h.query_int("SELECT count(*) FROM access_apb WHERE pin='42'") == 1; },
               std::chrono::seconds(10)));
  EXPECT_EQ(h.query_int("SELECT area FROM access_apb WHERE pin='42'"), 1);
  EXPECT_EQ(metric_value(api, "pushgate_access_apb_moves_from_terminals_total"), 1.0);
  // Ada is inside: entering again at the ZKTeco terminal's door B is refused
  // (anti-passback, event 24) and nothing opens; leaving there is allowed.
  auto again = remote_identify(*zk, "42", 0);
  ASSERT_FALSE(again.ec) << again.ec.message();
  EXPECT_EQ(again.answer.auth, "FAILED") << again.body;
  EXPECT_EQ(remote_event_of(again), "24") << again.body;
  EXPECT_TRUE(again.answer.control_device.empty()) << again.body;
  EXPECT_EQ(remote_identify(*zk, "42", 1).answer.auth, "SUCCESS");
  EXPECT_EQ(zk->door_actions().size(), 1u);
  zk->stop();
}

// Issue 16: "a linkage rule on a Dahua alarm opens a ZKTeco door". The rule
// matches alarms at the Dahua device's door 1 (its event Door 0); a ZKTeco
// Security PUSH terminal (tests/sim) polls for its commands over HTTP.
TEST(DahuaAdapter, ALinkageRuleOnADahuaAlarmOpensAZktecoDoor) {
  using namespace std::chrono_literals;
  TempDir dir;
  const std::string rules = (dir.path() / "linkage.json").string();
  std::ofstream(rules) << R"({"rules": [{
    "id": "dahua-forced",
    "match": {"terminals": ["DHTEST0001"], "kinds": ["alarm"], "doors": [1]},
    "actions": [{"type": "command", "terminal": "ZKB0001", "verb": "open_door",
                 "params": {"door": 2, "seconds": 7}}],
    "debounce_s": 0}]})";
  sim::DahuaDevice device(device_config());
  GatewayHarness h(dahua_keys(device.port(), "admin123", {"linkage.rules_file=" + rules}));
  IoThread io;
  pushgate::sim::AccessTerminalConfig zc;
  zc.serial_number = "ZKB0001";
  zc.http.port = h.zkpush_port();
  zc.http.timeout = 5s;
  zc.poll_interval = 30ms;
  zc.error_delay = 50ms;
  auto zk = pushgate::sim::AccessTerminal::create(io.ioc(), zc);
  zk->start();
  ASSERT_TRUE(zk->wait_until(
      [](const pushgate::sim::AccessTerminalStats& s) { return s.polls >= 1; }, 10s));
  ASSERT_TRUE(wait_for([&] { return status_of(h, device.serial()) == "online"; },
                       std::chrono::seconds(10)));

  sim::AlarmSpec elsewhere;  // door 2 of the Dahua device: no match
  elsewhere.code = "BreakIn";
  elsewhere.door = 1;
  device.generate_alarm(elsewhere);
  sim::AlarmSpec forced;
  forced.code = "BreakIn";
  forced.door = 0;
  device.generate_alarm(forced);

  ASSERT_TRUE(zk->wait_until(
      [](const pushgate::sim::AccessTerminalStats& s) { return s.door_actions >= 1; }, 10s));
  const auto doors = zk->door_actions();
  ASSERT_EQ(doors.size(), 1u);
  EXPECT_EQ(doors[0].origin, "command");
  EXPECT_EQ(doors[0].control.action, 1);   // output
  EXPECT_EQ(doors[0].control.address, 2);  // door 2
  EXPECT_EQ(doors[0].control.target, 1);   // the lock
  EXPECT_EQ(doors[0].control.value, 7);    // seconds
  ASSERT_TRUE(
      wait_for([&] { return count_events(h, device.serial()) == 2; }, std::chrono::seconds(10)));
  ASSERT_TRUE(h.gateway().linkage()->wait_idle_for_test(5s));
  EXPECT_EQ(h.query_int("SELECT count(*) FROM commands WHERE origin='rule' AND "
                        "terminal_sn='ZKB0001' AND verb='open_door'"),
            1);
  EXPECT_EQ(metric_value(h.api_port(), "pushgate_linkage_fired_total"), 1.0);
}

// Issue 16: "attendance punches from Dahua terminals feed the attendance
// rules". The manual's §2.15 example of tests/integration/attendance_test.cpp
// (9:00-12:00 and 14:00-17:30, punches at 9:05, 11:54 and 17:00), punched on a
// Dahua T&A terminal: two before the gateway starts (backfilled), one live.
TEST(DahuaAdapter, PunchesOfATimeAndAttendanceTerminalMakeTheTimecard) {
  TempDir dir;
  const std::string rules = (dir.path() / "attendance.json").string();
  std::ofstream(rules) << R"({
    "late_allowance_min": 5, "early_allowance_min": 5,
    "periods": [{"id": "p1", "start": "09:00", "end": "12:00"},
                {"id": "p2", "start": "14:00", "end": "17:30"}],
    "shifts": [{"id": 1, "name": "Table 2-13", "periods": ["p1", "p2"]}],
    "cycles": [{"id": "daily", "start_date": "2024-01-01", "mode": "day", "length": 1,
                "days": [1]}],
    "users": [{"pin": "1001", "name": "Jakc", "schedule_mode": "personal"}],
    "schedules": [{"user": "1001", "cycle": "daily"}]})";
  constexpr std::int64_t k0905 = 1709543100;  // 2024-03-04 09:05:00 UTC
  auto punch = [](std::int64_t t, int attendance_state, bool granted = true) {
    auto s = access_at(t, granted);
    s.user_id = "1001";
    s.attendance_state = attendance_state;
    return s;
  };
  sim::DahuaDevice device(device_config());
  device.generate_access(punch(k0905, 1));                    // check in
  device.generate_access(punch(k0905 + 169 * 60, 4));         // 11:54 check out
  device.generate_access(punch(k0905 + 200 * 60, 0, false));  // 12:25 refused: no punch
  GatewayHarness h(dahua_keys(
      device.port(), "admin123",
      {"dahua.devices.door1.attendance=true", "attendance.rules_file=" + rules,
       "attendance.terminal_states=false", "attendance.retain_days=3660", "gateway.timezone=UTC"}));
  ASSERT_TRUE(wait_for([&] { return status_of(h, device.serial()) == "online"; },
                       std::chrono::seconds(10)));
  device.generate_access(punch(k0905 + 475 * 60, 1));  // 17:00, live
  json card;
  ASSERT_TRUE(wait_for(
      [&] {
        auto a = http_request(h.api_port(), "GET", "/api/v1/attendance/timecards/1001/2024-03-04");
        card = json::parse(a.body, nullptr, false);
        return a.status == 200 && card.is_object() && card["punches"].size() == 3;
      },
      std::chrono::seconds(20)))
      << card.dump();
  // "an early leave by 1 minute in the first period, and 0.5 day absence".
  EXPECT_EQ(card["status"], "early/absent");
  EXPECT_EQ(card["periods"][0]["early_min"], 1);
  EXPECT_EQ(card["periods"][1]["check_in"], "2024-03-04T17:00:00");
  // Each granted passage is stored twice: an access event and its punch, with
  // the Dahua AttendanceState as the punch state (1 check-in: 0, 4 check-out: 1).
  auto punches = [&](const std::string& where) {
    return h.query_int(
        "SELECT COUNT(*) FROM events e JOIN terminals t ON t.id = e.terminal_id WHERE t.sn = ? "
        "AND e.kind = 1 AND e.pin = '1001' " +
            where,
        {device.serial()});
  };
  EXPECT_EQ(punches(""), 3);
  EXPECT_EQ(punches("AND e.status = 0"), 2);
  EXPECT_EQ(punches("AND e.status = 1 AND e.local_time = '2024-03-04 11:54:00'"), 1);
  EXPECT_EQ(punches("AND e.record_key LIKE 'att:recno:%'"), 3);
  EXPECT_EQ(h.query_int("SELECT COUNT(*) FROM events WHERE kind = 2"), 4);
  // A reconnect backfills the same records again: nothing is stored twice.
  device.drop_streams();
  ASSERT_TRUE(wait_for([&] { return device.stream_count() > 0; }, std::chrono::seconds(10)));
  device.generate_access(punch(k0905 + 480 * 60, 0));  // 17:05, to know the stream is back
  ASSERT_TRUE(wait_for([&] { return punches("") == 4; }, std::chrono::seconds(10)));
  EXPECT_EQ(h.query_int("SELECT COUNT(*) FROM events WHERE kind = 2"), 5);
}

TEST(DahuaAdapter, WrongPasswordStopsAtTheConfiguredAttemptsAndShowsAuthFailed) {
  sim::DahuaDevice device(device_config());
  GatewayHarness h(dahua_keys(device.port(), "wrong", {"dahua.auth_attempts_per_hour=1"}));
  ASSERT_TRUE(wait_for([&] { return status_of(h, device.serial()) == "auth_failed"; },
                       std::chrono::seconds(10)));
  EXPECT_EQ(metric_value(h.api_port(), "pushgate_dahua_devices{state=\"auth_failed\"}"), 1.0);
  // Give a hammering client time to hammer: the device must see one attempt.
  wait_for([] { return false; }, std::chrono::seconds(2));
  const auto stats = device.auth_stats();
  EXPECT_EQ(stats.failures_last_hour, 1u);
  EXPECT_EQ(stats.attempts_last_hour, 1u);
  EXPECT_FALSE(stats.locked);
  auto ready = http_request(h.api_port(), "GET", "/readyz");
  EXPECT_EQ(ready.status, 503);
  EXPECT_NE(ready.body.find("dahua.door1"), std::string::npos);
}

/** A self-signed certificate for 127.0.0.1 (its own CA) in `dir`: {cert, key}. */
std::pair<std::string, std::string> self_signed(const std::filesystem::path& dir,
                                                const std::string& name) {
  const auto cert = (dir / (name + ".crt")).string();
  const auto key = (dir / (name + ".key")).string();
  const std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=" + name +
                          " -addext subjectAltName=IP:127.0.0.1 -days 2 -keyout " + key + " -out " +
                          cert + " >/dev/null 2>&1";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  return {cert, key};
}

// Issue 16 item 1: https = true with the device's CA in ca_file. The
// simulated device serves HTTPS with a self-signed certificate.
TEST(DahuaAdapter, HttpsWithTheDevicesCertificateStoresEventsAndAWrongCaSaysWhy) {
  TempDir certs;
  const auto [cert, key] = self_signed(certs.path(), "dahua-sim");
  const auto other = self_signed(certs.path(), "someone-else").first;
  auto config = device_config();
  config.tls_cert_file = cert;
  config.tls_key_file = key;
  sim::DahuaDevice device(config);
  TempDir data;
  {
    GatewayHarness h(
        dahua_keys(device.port(), "admin123",
                   {"dahua.devices.door1.https=true", "dahua.devices.door1.ca_file=" + cert}),
        data.path());
    ASSERT_TRUE(wait_for([&] { return status_of(h, device.serial()) == "online"; },
                         std::chrono::seconds(10)));
    for (int i = 0; i < 5; ++i) {
      device.generate_access(access_at(device.device_now()));
    }
    ASSERT_TRUE(
        wait_for([&] { return count_events(h, device.serial()) == 5; }, std::chrono::seconds(10)))
        << count_events(h, device.serial());
    expect_exactly_once_in_order(h, device);
    EXPECT_GT(device.tls_handshakes(), 0u);
    EXPECT_EQ(device.tls_failures(), 0u);
  }
  // The device's certificate changed (or ca_file is the wrong one): offline,
  // saying why, and nothing sent to a device the gateway cannot verify.
  const auto requests = device.requests_seen("/cgi-bin/magicBox.cgi?action=getSystemInfo");
  const auto handshakes = device.tls_handshakes();
  GatewayHarness h(
      dahua_keys(device.port(), "admin123",
                 {"dahua.devices.door1.https=true", "dahua.devices.door1.ca_file=" + other}),
      data.path());
  // The terminal row still says "offline: stopped" from the first gateway
  // until this one's first attempt ends: wait for the reason itself.
  json t;
  ASSERT_TRUE(wait_for(
      [&] {
        t = terminal(h, device.serial());
        return t.is_object() && t["info"].value("status", "") == "offline" &&
               t["info"].value("status_reason", "").find("certificate verify failed") !=
                   std::string::npos;
      },
      std::chrono::seconds(10)))
      << t.dump();
  // The device counts the failure when its side of the handshake ends, which
  // can be after the gateway has given up on it (seen under ASan in CI).
  EXPECT_TRUE(wait_for([&] { return device.tls_failures() > 0; }, std::chrono::seconds(5)));
  // Retried with the reconnect backoff (100 ms doubling to 1 s here), not in a loop.
  wait_for([] { return false; }, std::chrono::seconds(2));
  EXPECT_LE(device.tls_handshakes() - handshakes, 8u);
  // Every attempt failed. The two counters move one after the other (a
  // handshake is counted when it starts, its failure when it ends): compare
  // them between two attempts, not while one is in flight.
  EXPECT_TRUE(
      wait_for([&] { return device.tls_failures() == device.tls_handshakes() - handshakes; },
               std::chrono::seconds(5)))
      << device.tls_failures() << " failures of " << device.tls_handshakes() - handshakes;
  EXPECT_EQ(device.requests_seen("/cgi-bin/magicBox.cgi?action=getSystemInfo"), requests);
}

/** Access RecNos stored in the database file of a pushgated process, in id order. */
std::vector<std::int64_t> recnos_in_file(const std::filesystem::path& db_path) {
  std::vector<std::int64_t> out;
  boost::system::error_code ec;
  store::Connection::Options o;
  auto db = store::Connection::open(db_path.string(), o, ec);
  if (ec) {
    return out;
  }
  auto q = db.prepare(
      "SELECT CAST(substr(record_key, 7) AS INTEGER) FROM events WHERE kind = 2 ORDER BY id", ec);
  while (!ec && q.step(ec)) {
    out.push_back(q.column_int(0));
  }
  return out;
}

TEST(DahuaAdapter, SigkillMidBackfillLosesNothingAndStoresNothingTwice) {
  sim::DahuaDevice device(device_config());
  const auto now = device.device_now();
  constexpr int kRecords = 3000;
  for (int i = 0; i < kRecords; ++i) {
    device.generate_access(access_at(now - 500 + i / 8));  // 8 a second: pages of 10 hold them
  }
  TempDir tmp;
  const auto api_port = free_port();
  const auto argv =
      pushgated_argv(PUSHGATED_PATH, std::string(PUSHGATE_SOURCE_DIR) + "/config/pushgate.toml",
                     tmp.path().string(), free_port(), api_port,
                     dahua_keys(device.port(), "admin123", {"dahua.page_size=10"}));
  const auto log = (tmp.path() / "run.log").string();
  pid_t gw = spawn_process(argv, log);
  ASSERT_GT(gw, 0);
  int kills = 0;
  for (; kills < 3; ++kills) {
    ASSERT_TRUE(wait_http_ready(api_port, std::chrono::seconds(20)));
    // Killed while the backfill is under way: some pages stored, most not.
    if (!wait_for(
            [&] {
              return metric_value(api_port, "pushgate_dahua_backfilled_total").value_or(0) >= 200;
            },
            std::chrono::seconds(20))) {
      break;
    }
    ASSERT_EQ(::kill(gw, SIGKILL), 0);
    int st = 0;
    ::waitpid(gw, &st, 0);
    gw = spawn_process(argv, log);
    ASSERT_GT(gw, 0);
  }
  EXPECT_EQ(kills, 3) << "the backfill ended before three kills; see " << log;
  const auto db_path = tmp.path() / "pushgate.db";
  EXPECT_TRUE(wait_for([&] { return recnos_in_file(db_path).size() >= kRecords; },
                       std::chrono::seconds(60)));
  ::kill(gw, SIGTERM);
  int st = 0;
  ::waitpid(gw, &st, 0);

  std::set<AckedRecord> recorded;
  for (const auto& r : device.records(sim::Table::Access)) {
    recorded.insert({device.serial(), "recno:" + std::to_string(r.rec_no)});
  }
  boost::system::error_code ec;
  store::Connection::Options o;
  auto db = store::Connection::open(db_path.string(), o, ec);
  ASSERT_FALSE(ec);
  EXPECT_EQ(not_stored_once(db, recorded), 0u);
  const auto stored = recnos_in_file(db_path);
  ASSERT_EQ(stored.size(), static_cast<std::size_t>(kRecords));
  for (std::size_t i = 1; i < stored.size(); ++i) {
    ASSERT_LT(stored[i - 1], stored[i]) << "device order broken at " << i;
  }
}

TEST(DahuaAdapter, RefusesAPasswordFileOthersCanRead) {
  TempDir dir;
  auto file = dir.path() / "pw";
  {
    std::FILE* f = std::fopen(file.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs("admin123\n", f);
    std::fclose(f);
  }
  std::filesystem::permissions(file, std::filesystem::perms(0644));
  config::Schema schema = build_schema();
  auto loaded = config::Config::load_string(schema, "",
                                            {"dahua.enabled=true", "dahua.devices.d.host=127.0.0.1",
                                             "dahua.devices.d.password_file=" + file.string()});
  ASSERT_TRUE(loaded.config);
  auto errors = adapters::dahua::DahuaAdapter::validate_config(*loaded.config);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].key, "dahua.devices.d.password_file");
  std::filesystem::permissions(file, std::filesystem::perms(0600));
  EXPECT_TRUE(adapters::dahua::DahuaAdapter::validate_config(*loaded.config).empty());
}

/** Queues a command through the REST API; its id (0 when refused). */
std::int64_t post_command(GatewayHarness& h, const std::string& sn, const json& command) {
  auto answer =
      http_request(h.api_port(), "POST", "/api/v1/terminals/" + sn + "/commands", command.dump());
  auto body = json::parse(answer.body, nullptr, false);
  EXPECT_EQ(answer.status, 202) << answer.body;
  return body.is_object() ? body.value("id", std::int64_t{0}) : 0;
}

json command_of(GatewayHarness& h, std::int64_t id) {
  auto answer = http_request(h.api_port(), "GET", "/api/v1/commands/" + std::to_string(id));
  auto body = json::parse(answer.body, nullptr, false);
  return body.is_object() ? body : json::object();
}

/** Waits until command `id` is no longer queued or sent; its JSON. */
json finished_command(GatewayHarness& h, std::int64_t id) {
  json c;
  wait_for(
      [&] {
        c = command_of(h, id);
        const auto state = c.value("state", "");
        return !state.empty() && state != "queued" && state != "sent";
      },
      std::chrono::seconds(15));
  return c;
}

TEST(DahuaAdapter, CommandsQueuedThroughRestReachTheDeviceAndReportTheResult) {
  sim::DahuaDevice device(device_config());
  GatewayHarness h(dahua_keys(device.port(), "admin123"));
  ASSERT_TRUE(wait_for([&] { return status_of(h, device.serial()) == "online"; },
                       std::chrono::seconds(10)));
  ASSERT_EQ(device.door_status(1), "Close");

  const auto open =
      post_command(h, device.serial(), {{"verb", "open_door"}, {"params", {{"door", 2}}}});
  auto c = finished_command(h, open);
  EXPECT_EQ(c.value("state", ""), "done") << c.dump();
  EXPECT_EQ(device.door_status(1), "Open");
  EXPECT_EQ(device.door_status(0), "Close");
  EXPECT_EQ(device.requests_seen("/cgi-bin/accessControl.cgi?action=openDoor"), 1U);

  // The verbs only Dahua has: a read whose answer is the result, and a close.
  c = finished_command(
      h, post_command(h, device.serial(), {{"verb", "door_status"}, {"params", {{"door", 2}}}}));
  EXPECT_EQ(c.value("state", ""), "done") << c.dump();
  EXPECT_EQ(c.value("result", ""), "Open");
  c = finished_command(
      h, post_command(h, device.serial(), {{"verb", "close_door"}, {"params", {{"door", 2}}}}));
  EXPECT_EQ(c.value("state", ""), "done") << c.dump();
  EXPECT_EQ(device.door_status(1), "Close");
  EXPECT_EQ(metric_value(h.api_port(), "pushgate_dahua_commands_total{result=\"done\"}"), 3.0);
}

TEST(DahuaAdapter, CommandsTheDeviceRefusesOrCannotDoFailWithTheReason) {
  sim::DahuaDevice device(device_config());  // two doors
  GatewayHarness h(dahua_keys(device.port(), "admin123"));
  ASSERT_TRUE(wait_for([&] { return status_of(h, device.serial()) == "online"; },
                       std::chrono::seconds(10)));
  auto c = finished_command(
      h, post_command(h, device.serial(), {{"verb", "open_door"}, {"params", {{"door", 5}}}}));
  EXPECT_EQ(c.value("state", ""), "failed") << c.dump();
  EXPECT_NE(c.value("error", "").find("Bad Request"), std::string::npos) << c.dump();
  EXPECT_EQ(device.door_status(0), "Close");

  // No Dahua equivalent: nothing sent, failed saying so.
  const auto before = device.requests_seen("/cgi-bin/accessControl.cgi?action=openDoor");
  c = finished_command(
      h, post_command(h, device.serial(),
                      {{"verb", "lock_door"}, {"params", {{"door", 1}, {"locked", true}}}}));
  EXPECT_EQ(c.value("state", ""), "failed") << c.dump();
  EXPECT_FALSE(c.value("error", "").empty()) << c.dump();
  EXPECT_EQ(device.requests_seen("/cgi-bin/accessControl.cgi?action=openDoor"), before);
  EXPECT_EQ(metric_value(h.api_port(), "pushgate_dahua_commands_total{result=\"failed\"}"), 1.0);
  EXPECT_EQ(metric_value(h.api_port(), "pushgate_dahua_commands_total{result=\"unsupported\"}"),
            1.0);
}

TEST(DahuaAdapter, CommandQueuedWhileTheDeviceIsOfflineGoesWhenItIsBack) {
  sim::DahuaDevice device(device_config());
  GatewayHarness h(dahua_keys(device.port(), "admin123"));
  ASSERT_TRUE(wait_for([&] { return status_of(h, device.serial()) == "online"; },
                       std::chrono::seconds(10)));
  device.reboot();  // down until power_on()
  ASSERT_TRUE(wait_for([&] { return status_of(h, device.serial()) == "offline"; },
                       std::chrono::seconds(10)));
  const auto id =
      post_command(h, device.serial(), {{"verb", "open_door"}, {"params", {{"door", 1}}}});
  EXPECT_EQ(command_of(h, id).value("state", ""), "queued");
  device.power_on();
  auto c = finished_command(h, id);
  EXPECT_EQ(c.value("state", ""), "done") << c.dump();
  EXPECT_EQ(device.door_status(0), "Open");
  EXPECT_EQ(device.requests_seen("/cgi-bin/accessControl.cgi?action=openDoor"), 1U);
}

sim::DahuaDeviceConfig push_device_config(std::uint16_t push_port) {
  sim::DahuaDeviceConfig c = device_config();
  sim::PushConfig push;
  push.port = push_port;
  push.path = "/EventHttpUpload";
  push.user = "admin";  // the upload table's Digest account: the device's configured one
  push.password = "admin123";
  push.encoding = sim::PushConfig::Encoding::Deflate;
  push.retry_interval = std::chrono::milliseconds(50);
  push.keepalive_interval = std::chrono::milliseconds(0);
  c.push = push;
  return c;
}

std::vector<std::string> push_keys(std::uint16_t device_port, std::uint16_t push_port,
                                   const std::string& mode) {
  return dahua_keys(device_port, "admin123",
                    {"dahua.devices.door1.mode=" + mode, "dahua.push_address=127.0.0.1",
                     "dahua.push_port=" + std::to_string(push_port)});
}

TEST(DahuaAdapter, PushModeUploadsAreStoredBeforeTheDeviceHearsOk) {
  const auto push_port = free_port();
  sim::DahuaDevice device(push_device_config(push_port));
  GatewayHarness h(push_keys(device.port(), push_port, "push"));
  // The login gives the serial the uploads are stored under.
  ASSERT_TRUE(wait_for([&] { return status_of(h, device.serial()) == "online"; },
                       std::chrono::seconds(10)));
  for (int i = 0; i < 20; ++i) {
    device.generate_access(access_at(device.device_now(), i % 4 != 0));
  }
  ASSERT_TRUE(
      wait_for([&] { return device.push_stats().delivered == 20; }, std::chrono::seconds(20)))
      << device.push_stats().delivered;
  // Every event the device heard 200 for is in the log already.
  EXPECT_EQ(count_events(h, device.serial()), 20);
  expect_exactly_once_in_order(h, device);
  EXPECT_EQ(device.requests_seen("/cgi-bin/eventManager.cgi?action=attach"), 0U)
      << "push only: no event stream";
  EXPECT_EQ(h.query_int("SELECT COUNT(*) FROM events WHERE kind = 2 AND event_code = 1021"), 5);
}

TEST(DahuaAdapter, BothModesStoreEachRecordOnce) {
  const auto push_port = free_port();
  sim::DahuaDevice device(push_device_config(push_port));
  const auto now = device.device_now();
  for (int i = 0; i < 30; ++i) {
    device.generate_access(access_at(now - 30 + i));  // backfilled and pushed
  }
  GatewayHarness h(push_keys(device.port(), push_port, "both"));
  ASSERT_TRUE(wait_for([&] { return status_of(h, device.serial()) == "online"; },
                       std::chrono::seconds(10)));
  for (int i = 0; i < 10; ++i) {
    device.generate_access(access_at(device.device_now()));  // streamed and pushed
  }
  ASSERT_TRUE(
      wait_for([&] { return device.push_stats().delivered == 40; }, std::chrono::seconds(20)))
      << device.push_stats().delivered;
  ASSERT_TRUE(
      wait_for([&] { return count_events(h, device.serial()) == 40; }, std::chrono::seconds(10)));
  expect_exactly_once_in_order(h, device);
  EXPECT_GT(metric_value(h.api_port(), "pushgate_dahua_duplicates_total").value_or(0), 0.0);
}

/** One POST to the push listener answering its Digest challenge as `user`; the status. */
unsigned post_upload(std::uint16_t port, const std::string& body, const std::string& user,
                     const std::string& password) {
  namespace net = boost::asio;
  namespace beast = boost::beast;
  namespace bhttp = beast::http;
  auto once = [&](const std::string& authorization, std::string* challenge) {
    net::io_context ioc;
    beast::tcp_stream stream(ioc);
    stream.expires_after(std::chrono::seconds(10));
    stream.connect(net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    bhttp::request<bhttp::string_body> req{bhttp::verb::post, "/EventHttpUpload", 11};
    req.set(bhttp::field::host, "127.0.0.1");
    req.set(bhttp::field::content_type, "text/plain");
    if (!authorization.empty()) {
      req.set(bhttp::field::authorization, authorization);
    }
    req.keep_alive(false);
    req.body() = body;
    req.prepare_payload();
    bhttp::write(stream, req);
    beast::flat_buffer buffer;
    bhttp::response<bhttp::string_body> res;
    bhttp::read(stream, buffer, res);
    if (challenge != nullptr) {
      *challenge = std::string(res[bhttp::field::www_authenticate]);
    }
    return res.result_int();
  };
  std::string challenge;
  if (once("", &challenge) != 401) {
    return 0;
  }
  auto parsed = adapters::dahua::parse_digest_challenge(challenge);
  if (!parsed.challenge) {
    return 0;
  }
  adapters::dahua::DigestClient client(user, password);
  client.on_challenge(std::move(*parsed.challenge));
  return once(client.authorize("POST", "/EventHttpUpload", "0a4f113b"), nullptr);
}

TEST(DahuaAdapter, PushUploadThatNeverDecodesIsQuarantinedAndTaken) {
  const auto push_port = free_port();
  sim::DahuaDevice device(push_device_config(push_port));
  GatewayHarness h(push_keys(device.port(), push_port, "push"));
  ASSERT_TRUE(wait_for([&] { return status_of(h, device.serial()) == "online"; },
                       std::chrono::seconds(10)));
  // 200, or the device would send it again forever; the body is kept for the operator.
  EXPECT_EQ(post_upload(push_port, "this is not an event", "admin", "admin123"), 200U);
  EXPECT_EQ(h.query_int("SELECT COUNT(*) FROM quarantine WHERE terminal_sn = ? AND endpoint = "
                        "'EventHttpUpload' AND CAST(raw AS TEXT) = 'this is not an event'",
                        {device.serial()}),
            1);
  EXPECT_EQ(count_events(h, device.serial()), 0);
  EXPECT_EQ(metric_value(h.api_port(), "pushgate_dahua_quarantined_total"), 1.0);
  // A wrong password is still refused: nothing taken.
  EXPECT_EQ(post_upload(push_port, "this is not an event", "admin", "wrong"), 401U);
  EXPECT_EQ(h.query_int("SELECT COUNT(*) FROM quarantine"), 1);
  // Real events still go through afterwards.
  device.generate_access(access_at(device.device_now()));
  EXPECT_TRUE(
      wait_for([&] { return count_events(h, device.serial()) == 1; }, std::chrono::seconds(10)));
}

TEST(DahuaAdapter, MasterDataUsersAndCardsReachTheDeviceChangeAndGo) {
  sim::DahuaDevice device(device_config());
  GatewayHarness h(dahua_keys(device.port(), "admin123"));
  const std::string sn = device.serial();
  ASSERT_TRUE(wait_for([&] { return status_of(h, sn) == "online"; }, std::chrono::seconds(10)));
  EXPECT_EQ(terminal(h, sn)["capabilities"]["sync_writes"],
            json::array({"users", "cards", "passwords", "door_rights"}));
  const auto user = [&] {
    const auto users = device.users();
    return users.count("500") != 0 ? json::parse(users.at("500")) : json();
  };
  // The site: a time zone and a holiday the device has no table for, a level
  // with its door 1 (its door right below).
  UserRoundTrip trip;
  trip.held = [&](const std::string& pin) {
    const auto users = device.users();
    return users.count(pin) != 0 ? users.at(pin) : std::string();
  };
  trip.shows_renamed = [](const std::string& held) {
    const auto j = json::parse(held, nullptr, false);
    return j.is_object() && j.value("UserName", "") == "Ada L.";
  };
  trip.after_create = [&] {
    ASSERT_TRUE(
        wait_for([&] { return device.cards().count("123456") != 0; }, std::chrono::seconds(10)))
        << sync_count(h, sn, "failed") << " failed";
    EXPECT_EQ(user().value("UserName", ""), "Ada");
    EXPECT_EQ(user().value("Password", ""), "7788");
    EXPECT_EQ(json::parse(device.cards().at("123456")).value("UserID", ""), "500");
    // Its door right: door 1 (Doors index 0) at all times (zone 1 = TimeSections 255).
    // (cleared first, then set)
    ASSERT_TRUE(wait_for([&] { return user().value("Doors", json()) == json::array({0}); },
                         std::chrono::seconds(10)))
        << user().dump();
    EXPECT_EQ(user()["TimeSections"], json::array({255}));
  };
  trip.after_rename = [&] { EXPECT_EQ(device.cards().count("123456"), 1u); };
  // Deleted: its card is gone with it.
  trip.after_delete = [&] { EXPECT_EQ(device.cards().count("123456"), 0u); };
  // Only what it takes was sent: nothing failed (a time zone, holiday or
  // batch command would, as unsupported), and none of them was queued.
  trip.min_done = 4;  // user, rights (clear + set), delete
  expect_user_reaches_device_changes_and_goes(h, sn, trip);
}

}  // namespace
}  // namespace pushgate::test
