// The Suprema BioStar 2 bridge inside an in-process Gateway (and a real
// pushgated for the crash test), against the simulated BioStar 2 server of
// tests/sim (written from Suprema's documentation, not from the adapter) over
// HTTPS with its self-signed certificate pinned: backfill then live, a feed
// cut while 1,000 events happen, session expiry mid-feed, a SIGKILL
// mid-backfill, a wrong password. Every event of the server's log must be
// stored exactly once, in log (id) order.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "adapters/suprema/suprema_adapter.hpp"
#include "gateway/store/sqlite.hpp"
#include "tests/sim/biostar2_server.hpp"
#include "tests/support/gateway_harness.hpp"
#include "tests/support/master_data_check.hpp"
#include "tests/support/processes.hpp"
#include "tests/support/zk_access.hpp"

namespace pushgate::test {
namespace {

namespace sim = pushgate::sim::biostar2;
using nlohmann::json;
using namespace std::chrono_literals;

/** A server and its certificate in a file (the gateway pins it with ca_file). */
struct Server {
  explicit Server(sim::BioStar2Config config = {}) : server(config) {
    cert = dir.path() / "biostar2.pem";
    std::ofstream(cert) << server.certificate_pem();
  }
  TempDir dir;
  sim::BioStar2Server server;
  std::filesystem::path cert;
};

std::vector<std::string> suprema_keys(const Server& s, const std::string& password,
                                      std::vector<std::string> more = {}) {
  std::vector<std::string> keys = {
      "suprema.enabled=true",
      "suprema.reconnect_min_ms=100",
      "suprema.reconnect_max_s=1",
      "suprema.request_timeout_s=5",
      "suprema.servers.main.host=127.0.0.1",
      "suprema.servers.main.port=" + std::to_string(s.server.port()),
      "suprema.servers.main.ca_file=" + s.cert.string(),
      "suprema.servers.main.user=admin",
      "suprema.servers.main.password=" + password,
  };
  keys.insert(keys.end(), more.begin(), more.end());
  return keys;
}

std::int64_t count_events(GatewayHarness& h) {
  return h.query_int("SELECT COUNT(*) FROM events WHERE extra LIKE '%\"server\":\"main\"%'");
}

/** The server's event ids of the stored events, in storage (id) order. */
std::vector<std::int64_t> stored_ids(const std::filesystem::path& db_path) {
  std::vector<std::int64_t> out;
  boost::system::error_code ec;
  store::Connection::Options o;
  auto db = store::Connection::open(db_path.string(), o, ec);
  if (ec) {
    return out;
  }
  auto q = db.prepare(
      "SELECT CAST(json_extract(extra, '$.event_id') AS INTEGER) FROM events WHERE extra LIKE "
      "'%\"server\":\"main\"%' ORDER BY id",
      ec);
  while (!ec && q.step(ec)) {
    out.push_back(q.column_int(0));
  }
  return out;
}

/** Every event of the server's log stored exactly once, in log order. */
void expect_exactly_once_in_order(const std::filesystem::path& db_path,
                                  const sim::BioStar2Server& server) {
  const auto log = server.events();
  const auto stored = stored_ids(db_path);
  ASSERT_EQ(stored.size(), log.size());
  for (std::size_t i = 0; i < log.size(); ++i) {
    ASSERT_EQ(stored[i], static_cast<std::int64_t>(log[i].id)) << "at " << i;
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

std::string first_device(const sim::BioStar2Config& c = {}) {
  return std::to_string(c.first_device_id);
}

TEST(SupremaAdapter, BackfillsTheServerLogThenStoresLiveEvents) {
  sim::BioStar2Config config;
  config.page_cap = 100;
  Server s(config);
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  for (int i = 0; i < 250; ++i) {  // three pages, several events per millisecond
    sim::EventSpec e;
    e.code = i % 10 == 3 ? sim::code::kVerifyFailCard : sim::code::kVerifySuccessCard;
    e.datetime_ms = now - 100'000 + (i / 4) * 1000;
    s.server.inject(e);
  }
  GatewayHarness h(suprema_keys(s, config.password, {"suprema.page_size=100"}));
  ASSERT_TRUE(wait_for([&] { return count_events(h) == 250; }, 20s)) << count_events(h);
  ASSERT_TRUE(wait_for([&] { return status_of(h, first_device()) == "online"; }, 10s));
  for (int i = 0; i < 10; ++i) {
    s.server.inject({});
  }
  ASSERT_TRUE(wait_for([&] { return count_events(h) == 260; }, 10s)) << count_events(h);
  expect_exactly_once_in_order(h.data_dir() / "pushgate.db", s.server);

  auto t = terminal(h, first_device());
  EXPECT_EQ(t.value("vendor", ""), "suprema");
  EXPECT_EQ(t["info"].value("name", ""), "BioStation 2 " + first_device());
  // A granted passage is event 0 (anti-passback counts it); a refusal keeps its code and reason.
  EXPECT_EQ(h.query_int("SELECT COUNT(*) FROM events WHERE kind = 2 AND event_code = 0"), 235);
  EXPECT_EQ(h.query_int("SELECT COUNT(*) FROM events WHERE kind = 2 AND event_code = 4354"), 25);
  EXPECT_EQ(h.query_int("SELECT COUNT(*) FROM events WHERE utc_ms IS NULL"), 0);
  EXPECT_EQ(metric_value(h.api_port(), "pushgate_suprema_servers{state=\"online\"}"), 1.0);
  EXPECT_EQ(metric_value(h.api_port(), "pushgate_suprema_backfilled_total"), 250.0);
}

TEST(SupremaAdapter, ADoorForcedOpenShowsOnTheDoorBoard) {
  Server s;
  GatewayHarness h(suprema_keys(s, sim::BioStar2Config{}.password));
  ASSERT_TRUE(wait_for([&] { return status_of(h, first_device()) == "online"; }, 10s));
  sim::EventSpec forced;
  forced.code = sim::code::kDoorForcedOpen;
  s.server.inject(forced);
  ASSERT_TRUE(wait_for(
      [&] { return h.query_int("SELECT COUNT(*) FROM events WHERE kind = 3 AND door = 1") == 1; },
      10s));
  json door;
  ASSERT_TRUE(wait_for(
      [&] {
        auto body =
            json::parse(http_request(h.api_port(), "GET", "/api/v1/doors").body, nullptr, false);
        if (!body.is_object() || !body["doors"].is_array()) {
          return false;
        }
        for (const auto& d : body["doors"]) {
          if (d.value("terminal", "") == first_device() && d.value("door", 0) == 1) {
            door = d;
            return d["alarm"].is_number();
          }
        }
        return false;
      },
      10s));
  EXPECT_EQ(door["alarm"].get<int>(), 0x01) << door.dump();  // forced (accidental open)
  EXPECT_EQ(door.value("sensor", ""), "open");
}

TEST(SupremaAdapter, FeedCutWhileAThousandEventsHappenStoresEachOnceInOrder) {
  sim::BioStar2Config config;
  config.page_cap = 1000;
  config.devices = 3;
  Server s(config);
  // A feed silent when the last events happen shows no gap: the resync search finds them.
  GatewayHarness h(
      suprema_keys(s, config.password, {"suprema.page_size=1000", "suprema.resync_s=2"}));
  ASSERT_TRUE(wait_for([&] { return status_of(h, first_device()) == "online"; }, 10s));
  s.server.inject({});
  ASSERT_TRUE(wait_for([&] { return count_events(h) == 1; }, 10s));
  // The feed goes silent (events lost to it, still in the log) or is closed,
  // again and again, while 1,000 events happen.
  s.server.start_generator(400.0, 1000, 7);
  int round = 0;
  while (s.server.generator_remaining() > 0) {
    if (round++ % 2 == 0) {
      s.server.cut_feed();
      wait_for([] { return false; }, 200ms);
      s.server.restore_feed();
    } else {
      s.server.close_feeds();
      wait_for([&] { return s.server.feed_count() > 0 || s.server.generator_remaining() == 0; },
               5s);
    }
    wait_for([] { return false; }, 200ms);
  }
  ASSERT_TRUE(wait_for([&] { return count_events(h) == 1001; }, 30s)) << count_events(h);
  expect_exactly_once_in_order(h.data_dir() / "pushgate.db", s.server);
  EXPECT_GT(metric_value(h.api_port(), "pushgate_suprema_reconnects_total").value_or(0), 0.0);
  EXPECT_GT(metric_value(h.api_port(), "pushgate_suprema_feed_gaps_total").value_or(0), 0.0);
}

TEST(SupremaAdapter, SessionExpiryMidFeedLogsInAgainAndLosesNothing) {
  sim::BioStar2Config config;
  config.page_cap = 1000;
  Server s(config);
  GatewayHarness h(suprema_keys(s, config.password, {"suprema.page_size=1000"}));
  ASSERT_TRUE(wait_for([&] { return status_of(h, first_device()) == "online"; }, 10s));
  const auto logins = s.server.logins();
  s.server.start_generator(200.0, 400, 11);
  for (int i = 0; i < 3 && s.server.generator_remaining() > 0; ++i) {
    wait_for([] { return false; }, 300ms);
    s.server.expire_sessions();  // the feed of the session closes; every call answers 401
  }
  ASSERT_TRUE(wait_for([&] { return s.server.generator_remaining() == 0; }, 20s));
  ASSERT_TRUE(wait_for([&] { return count_events(h) == 400; }, 30s)) << count_events(h);
  expect_exactly_once_in_order(h.data_dir() / "pushgate.db", s.server);
  EXPECT_GT(s.server.logins(), logins);
  EXPECT_EQ(s.server.failed_logins(), 0u);
  EXPECT_TRUE(wait_for([&] { return status_of(h, first_device()) == "online"; }, 10s));
}

TEST(SupremaAdapter, AnOversizeFeedMessageClosesTheFeedAndTheSearchStoresItsEvent) {
  Server s;
  GatewayHarness h(suprema_keys(s, sim::BioStar2Config{}.password, {"suprema.max_frame_kb=4"}));
  ASSERT_TRUE(wait_for([&] { return status_of(h, first_device()) == "online"; }, 10s));
  s.server.inject({});
  sim::EventSpec big;
  big.user_id = std::string(8000, '7');  // the feed message is over 4 KiB
  s.server.inject(big);
  s.server.inject({});
  ASSERT_TRUE(wait_for([&] { return count_events(h) == 3; }, 15s)) << count_events(h);
  expect_exactly_once_in_order(h.data_dir() / "pushgate.db", s.server);
  EXPECT_EQ(metric_value(h.api_port(), "pushgate_suprema_oversize_frames_total"), 1.0);
  EXPECT_GE(metric_value(h.api_port(), "pushgate_suprema_reconnects_total").value_or(0), 1.0);
}

TEST(SupremaAdapter, WrongPasswordShowsAuthFailedAndDoesNotHammer) {
  Server s;
  GatewayHarness h(suprema_keys(s, "wrong", {"suprema.auth_retry_s=3600"}));
  ASSERT_TRUE(wait_for(
      [&] {
        return metric_value(h.api_port(), "pushgate_suprema_servers{state=\"auth_failed\"}") == 1.0;
      },
      10s));
  // Give a hammering client time to hammer: the server must see one attempt.
  wait_for([] { return false; }, 2s);
  EXPECT_EQ(s.server.failed_logins(), 1u);
  EXPECT_EQ(s.server.logins(), 0u);
  EXPECT_EQ(metric_value(h.api_port(), "pushgate_suprema_auth_failures_total"), 1.0);
  auto ready = http_request(h.api_port(), "GET", "/readyz");
  EXPECT_EQ(ready.status, 503);
  EXPECT_NE(ready.body.find("suprema.main"), std::string::npos);
}

TEST(SupremaAdapter, AnUnpinnedSelfSignedCertificateIsRefused) {
  Server s;
  auto keys = suprema_keys(s, sim::BioStar2Config{}.password);
  keys.erase(std::remove_if(keys.begin(), keys.end(),
                            [](const std::string& k) { return k.find("ca_file") != k.npos; }),
             keys.end());
  GatewayHarness h(keys);
  ASSERT_TRUE(wait_for(
      [&] {
        return metric_value(h.api_port(), "pushgate_suprema_reconnects_total").value_or(0) >= 1;
      },
      10s));
  EXPECT_EQ(s.server.logins(), 0u);  // the password never left over an unverified link
  EXPECT_EQ(metric_value(h.api_port(), "pushgate_suprema_servers{state=\"offline\"}"), 1.0);
}

TEST(SupremaAdapter, RefusesAPasswordFileOthersCanRead) {
  TempDir dir;
  auto file = dir.path() / "pw";
  std::ofstream(file) << "secret\n";
  std::filesystem::permissions(file, std::filesystem::perms(0644));
  config::Schema schema = build_schema();
  auto loaded =
      config::Config::load_string(schema, "",
                                  {"suprema.enabled=true", "suprema.servers.s.host=127.0.0.1",
                                   "suprema.servers.s.password_file=" + file.string()});
  ASSERT_TRUE(loaded.config);
  auto errors = adapters::suprema::SupremaAdapter::validate_config(*loaded.config);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].key, "suprema.servers.s.password_file");
  std::filesystem::permissions(file, std::filesystem::perms(0600));
  EXPECT_TRUE(adapters::suprema::SupremaAdapter::validate_config(*loaded.config).empty());
}

void rest(std::uint16_t port, const std::string& method, const std::string& target,
          const std::string& body) {
  auto a = http_request(port, method, target, body);
  ASSERT_EQ(a.status, 200) << method << " " << target << ": " << a.body;
}

TEST(SupremaAdapter, APassageCountsForSiteWideAntiPassback) {
  Server s;
  GatewayHarness h(suprema_keys(s, sim::BioStar2Config{}.password));
  const auto sn = first_device();
  ASSERT_TRUE(wait_for([&] { return status_of(h, sn) == "online"; }, 10s));
  const auto api = h.api_port();
  rest(api, "PUT", "/api/v1/access/timezones/1",
       R"({"name":"always","sun":["00:00-23:59"],"mon":["00:00-23:59"],"tue":["00:00-23:59"],
           "wed":["00:00-23:59"],"thu":["00:00-23:59"],"fri":["00:00-23:59"],
           "sat":["00:00-23:59"],"hol1":["00:00-23:59"],"hol2":["00:00-23:59"],
           "hol3":["00:00-23:59"]})");
  rest(api, "PUT", "/api/v1/access/areas/1", R"({"name":"building","apb":"hard"})");
  rest(api, "POST", "/api/v1/access/doors",
       R"([{"terminal":")" + sn + R"(","door":1,"open_s":5,"area_in":1},
           {"terminal":"ZKAPB0001","door":1,"open_s":5,"area_in":1}])");
  rest(api, "PUT", "/api/v1/access/levels/1",
       R"({"name":"staff","timezone":1,"doors":[")" + sn + R"(/1","ZKAPB0001/1"]})");
  rest(api, "PUT", "/api/v1/access/users/42", R"({"name":"Ada","levels":[1]})");
  IoThread io;
  auto zk = start_zk_access_terminal(io, h.zkpush_port(), "ZKAPB0001");
  sim::EventSpec in;
  in.user_id = "42";
  in.door_id = 1;  // BioStar door 1 is the gateway's door 1 of its device
  s.server.inject(in);
  // The passage moved Ada into the area, as a ZKTeco terminal's would.
  ASSERT_TRUE(wait_for(
      [&] { return h.query_int("SELECT count(*) FROM access_apb WHERE pin='42'") == 1; }, 10s));
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

/** Queues a command through the REST API; its id (0 when refused). */
std::int64_t post_command(GatewayHarness& h, const std::string& sn, const json& command) {
  auto answer =
      http_request(h.api_port(), "POST", "/api/v1/terminals/" + sn + "/commands", command.dump());
  auto body = json::parse(answer.body, nullptr, false);
  EXPECT_EQ(answer.status, 202) << answer.body;
  return body.is_object() ? body.value("id", std::int64_t{0}) : 0;
}

json finished_command(GatewayHarness& h, std::int64_t id) {
  json c;
  wait_for(
      [&] {
        auto answer = http_request(h.api_port(), "GET", "/api/v1/commands/" + std::to_string(id));
        c = json::parse(answer.body, nullptr, false);
        const auto state = c.is_object() ? c.value("state", "") : "";
        return !state.empty() && state != "queued" && state != "sent";
      },
      15s);
  return c;
}

TEST(SupremaAdapter, DoorCommandsReachTheServerAndReportTheResult) {
  sim::BioStar2Config config;
  config.doors_per_device = 2;
  Server s(config);
  GatewayHarness h(suprema_keys(s, config.password));
  const auto sn = first_device();
  ASSERT_TRUE(wait_for([&] { return status_of(h, sn) == "online"; }, 10s));
  auto open =
      finished_command(h, post_command(h, sn, {{"verb", "open_door"}, {"params", {{"door", 2}}}}));
  EXPECT_EQ(open.value("state", ""), "done") << open.dump();
  EXPECT_EQ(s.server.requests_seen("POST /api/doors/open"), 1u);
  auto doors = s.server.doors();
  ASSERT_EQ(doors.size(), 2u);
  EXPECT_EQ(doors[0].opens, 0u);
  EXPECT_EQ(doors[1].opens, 1u);
  auto unlock = finished_command(
      h, post_command(h, sn, {{"verb", "normal_open"}, {"params", {{"door", 1}, {"on", true}}}}));
  EXPECT_EQ(unlock.value("state", ""), "done") << unlock.dump();
  EXPECT_TRUE(s.server.doors()[0].unlocked);
  auto status = finished_command(
      h, post_command(h, sn, {{"verb", "door_status"}, {"params", {{"door", 1}}}}));
  EXPECT_EQ(status.value("state", ""), "done") << status.dump();
  EXPECT_NE(status.dump().find("unlocked"), std::string::npos) << status.dump();
  auto reboot = finished_command(h, post_command(h, sn, {{"verb", "reboot"}}));
  EXPECT_EQ(reboot.value("state", ""), "failed") << reboot.dump();
}

TEST(SupremaAdapter, UsersAndCardsFromPushgateAreCreatedChangedAndRemovedOnTheServer) {
  Server s;
  GatewayHarness h(suprema_keys(s, sim::BioStar2Config{}.password));
  const auto sn = first_device();
  ASSERT_TRUE(wait_for([&] { return status_of(h, sn) == "online"; }, 10s));
  auto created = finished_command(h, post_command(h, sn,
                                                  {{"verb", "upsert_user"},
                                                   {"params",
                                                    {{"pin", "77"},
                                                     {"name", "Grace"},
                                                     {"card", "12345678"},
                                                     {"valid_until", "2030-12-31 23:59:00"}}}}));
  EXPECT_EQ(created.value("state", ""), "done") << created.dump();
  auto users = s.server.users();
  ASSERT_EQ(users.count("77"), 1u);
  auto user = json::parse(users["77"]);
  EXPECT_EQ(user.value("name", ""), "Grace");
  ASSERT_EQ(s.server.cards().size(), 1u);
  EXPECT_NE(s.server.cards().begin()->second.find("12345678"), std::string::npos);
  EXPECT_EQ(user["cards"].size(), 1u) << user.dump();
  // Changed: the same card is found again, not created twice.
  auto changed = finished_command(
      h, post_command(h, sn,
                      {{"verb", "upsert_user"},
                       {"params", {{"pin", "77"}, {"name", "Grace H."}, {"card", "12345678"}}}}));
  EXPECT_EQ(changed.value("state", ""), "done") << changed.dump();
  EXPECT_EQ(json::parse(s.server.users()["77"]).value("name", ""), "Grace H.");
  EXPECT_EQ(s.server.cards().size(), 1u);
  auto removed = finished_command(
      h, post_command(h, sn, {{"verb", "delete_user"}, {"params", {{"pin", "77"}}}}));
  EXPECT_EQ(removed.value("state", ""), "done") << removed.dump();
  EXPECT_EQ(s.server.users().count("77"), 0u);
  auto bad = finished_command(
      h, post_command(h, sn,
                      {{"verb", "upsert_user"}, {"params", {{"pin", "78"}, {"card", "12ab"}}}}));
  EXPECT_EQ(bad.value("state", ""), "failed") << bad.dump();
}

TEST(SupremaAdapter, SigkillMidBackfillLosesNothingAndStoresNothingTwice) {
  sim::BioStar2Config config;
  config.page_cap = 1000;
  Server s(config);
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  constexpr int kEvents = 3000;
  for (int i = 0; i < kEvents; ++i) {
    sim::EventSpec e;
    e.datetime_ms = now - 600'000 + (i / 8) * 1000;  // 8 a second: pages of 10 hold them
    s.server.inject(e);
  }
  TempDir tmp;
  const auto api_port = free_port();
  const auto argv =
      pushgated_argv(PUSHGATED_PATH, std::string(PUSHGATE_SOURCE_DIR) + "/config/pushgate.toml",
                     tmp.path().string(), free_port(), api_port,
                     suprema_keys(s, config.password, {"suprema.page_size=10"}));
  const auto log = (tmp.path() / "run.log").string();
  pid_t gw = spawn_process(argv, log);
  ASSERT_GT(gw, 0);
  int kills = 0;
  for (; kills < 3; ++kills) {
    ASSERT_TRUE(wait_http_ready(api_port, std::chrono::seconds(20)));
    // Killed while the backfill is under way: some pages stored, most not.
    if (!wait_for(
            [&] {
              return metric_value(api_port, "pushgate_suprema_backfilled_total").value_or(0) >= 200;
            },
            20s)) {
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
  EXPECT_TRUE(wait_for([&] { return stored_ids(db_path).size() >= kEvents; }, 60s));
  ::kill(gw, SIGTERM);
  int st = 0;
  ::waitpid(gw, &st, 0);
  expect_exactly_once_in_order(db_path, s.server);
}

TEST(SupremaAdapter, MasterDataUsersAndCardsReachTheServerChangeAndGo) {
  Server s;
  GatewayHarness h(suprema_keys(s, sim::BioStar2Config{}.password));
  const auto sn = first_device();
  ASSERT_TRUE(wait_for([&] { return status_of(h, sn) == "online"; }, 10s));
  EXPECT_EQ(terminal(h, sn)["capabilities"]["sync_writes"], json::array({"users", "cards"}));
  const auto user = [&] {
    const auto users = s.server.users();
    return users.count("500") != 0 ? json::parse(users.at("500")) : json();
  };
  UserRoundTrip trip;
  trip.held = [&](const std::string& pin) {
    const auto users = s.server.users();
    return users.count(pin) != 0 ? users.at(pin) : std::string();
  };
  trip.shows_renamed = [](const std::string& held) {
    const auto j = json::parse(held, nullptr, false);
    return j.is_object() && j.value("name", "") == "Ada L.";
  };
  trip.after_create = [&] {
    EXPECT_EQ(user().value("name", ""), "Ada");
    // Its card: created on the server and named by the user.
    ASSERT_EQ(s.server.cards().size(), 1u);
    const auto card = json::parse(s.server.cards().begin()->second);
    EXPECT_NE(card.dump().find("123456"), std::string::npos) << card.dump();
    ASSERT_EQ(user()["cards"].size(), 1u) << user().dump();
  };
  trip.after_rename = [&] {
    EXPECT_EQ(s.server.cards().size(), 1u);  // the same card, not a second one
  };
  // The site's time zone, holiday and level: tables no Suprema path writes, and
  // no door rights either.
  trip.not_taken.insert(trip.not_taken.end(), {"authorize_user", "deauthorize_user"});
  expect_user_reaches_device_changes_and_goes(h, sn, trip);
}

}  // namespace
}  // namespace pushgate::test
