// The API routes the console's pages need beyond the lists (issue 18), over
// real HTTP on loopback: paging back in the event history (before=), a
// terminal's name and time zone (PATCH /api/v1/terminals/{sn}, kept across
// a restart and used for the terminal's next punch), an admin resetting
// another user's password, and the attendance rules naming every bad field.
// Each change route: 401 without credential, 403 for a too small role, 403
// for a session without its CSRF token, 400 naming the fields, an audit event.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "tests/support/api_call.hpp"
#include "tests/support/gateway_harness.hpp"
#include "tests/support/processes.hpp"

namespace pushgate::test {
namespace {

using nlohmann::json;
namespace net = boost::asio;
namespace bhttp = boost::beast::http;
// call_json: every call says it sends JSON, as the console does.
using api_call::Answer;
using api_call::bearer;
using api_call::call_json;
using api_call::Session;

std::set<std::string> error_fields(const Answer& a) {
  std::set<std::string> out;
  auto j = json::parse(a.body, nullptr, false);
  if (j.is_object() && j.contains("errors")) {
    for (const auto& e : j["errors"]) {
      out.insert(e.value("field", ""));
    }
  }
  return out;
}

class ConsoleApiTest : public ::testing::Test {
 protected:
  ConsoleApiTest() { start(); }

  void start() {
    gw_ = std::make_unique<GatewayHarness>(
        std::vector<std::string>{"api.auth=required", "gateway.timezone=UTC"}, temp_.path(),
        GatewayHarness::Accounts::FirstStart);
    port_ = gw_->api_port();
    if (admin_password_.empty()) {
      std::ifstream f(gw_->data_dir() / "initial-admin-password");
      std::string name;
      f >> name >> admin_password_;
    }
  }

  void restart() {
    gw_.reset();
    start();
  }

  Answer login(const std::string& name, const std::string& password) {
    return api_call::login(port_, name, password);
  }

  Session session(const std::string& name, const std::string& password) {
    auto a = login(name, password);
    EXPECT_EQ(a.status, 200) << name << ": " << a.body;
    return api_call::session_of(a);
  }

  Session admin() { return session("admin", admin_password_); }

  void punch(const std::string& sn, const std::string& pin, const std::string& time) {
    auto up =
        http_request(gw_->zkpush_port(), "POST", "/iclock/cdata?SN=" + sn + "&table=ATTLOG&Stamp=1",
                     pin + "\t" + time + "\t0\t1\t\t0\t0\n");
    ASSERT_EQ(up.status, 200) << up.body;
    ASSERT_EQ(up.body.rfind("OK", 0), 0U) << up.body;
  }

  std::int64_t audits(const std::string& action, const std::string& like = "%") {
    return gw_->query_int(
        "SELECT count(*) FROM events WHERE kind = 12 AND json_extract(extra, '$.action') = ?1 "
        "AND extra LIKE ?2",
        {action, like});
  }

  /** The audit events of `action` (matching `like`), once `n` are stored (they follow the answer).
   */
  std::int64_t audits_once(const std::string& action, std::int64_t n,
                           const std::string& like = "%") {
    wait_for([&] { return audits(action, like) >= n; }, std::chrono::seconds(10));
    return audits(action, like);
  }

  json terminal(const std::string& sn, const Session& as) {
    auto a = call_json(port_, bhttp::verb::get, "/api/v1/terminals", {}, as.read());
    EXPECT_EQ(a.status, 200) << a.body;
    const auto body = a.js();  // held: a range-for over a temporary's member dangles
    for (const auto& t : body["terminals"]) {
      if (t["sn"] == sn) {
        return t;
      }
    }
    return nullptr;
  }

  TempDir temp_;
  std::unique_ptr<GatewayHarness> gw_;
  std::uint16_t port_ = 0;
  std::string admin_password_;
};

std::vector<std::int64_t> ids(const Answer& a) {
  std::vector<std::int64_t> out;
  const auto body = a.js();
  for (const auto& e : body["events"]) {
    out.push_back(e["id"].get<std::int64_t>());
  }
  return out;
}

TEST_F(ConsoleApiTest, EventsPageBackInHistoryNewestFirst) {
  for (int i = 1; i <= 5; ++i) {
    punch("ATT0001", std::to_string(1000 + i), "2024-03-04 09:0" + std::to_string(i) + ":00");
  }
  punch("ATT0002", "2000", "2024-03-04 10:00:00");  // another terminal, filtered out
  const auto viewer = gw_->api_token(auth::Role::Viewer);
  auto all =
      call_json(port_, bhttp::verb::get, "/api/v1/events?terminal=ATT0001", {}, bearer(viewer));
  ASSERT_EQ(all.status, 200) << all.body;
  auto oldest_first = ids(all);
  ASSERT_EQ(oldest_first.size(), 5U) << all.body;
  std::vector<std::int64_t> newest_first(oldest_first.rbegin(), oldest_first.rend());

  auto page1 = call_json(port_, bhttp::verb::get,
                         "/api/v1/events?before=0&limit=2&terminal=ATT0001", {}, bearer(viewer));
  ASSERT_EQ(page1.status, 200) << page1.body;
  EXPECT_EQ(ids(page1), (std::vector<std::int64_t>{newest_first[0], newest_first[1]}));
  EXPECT_TRUE(page1.js()["more"].get<bool>());
  EXPECT_EQ(page1.js()["next_before"], newest_first[1]);
  EXPECT_EQ(page1.js()["events"][0]["pin"], "1005");

  auto page2 = call_json(port_, bhttp::verb::get,
                         "/api/v1/events?limit=2&terminal=ATT0001&before=" +
                             std::to_string(page1.js()["next_before"].get<std::int64_t>()),
                         {}, bearer(viewer));
  ASSERT_EQ(page2.status, 200) << page2.body;
  EXPECT_EQ(ids(page2), (std::vector<std::int64_t>{newest_first[2], newest_first[3]}));
  EXPECT_TRUE(page2.js()["more"].get<bool>());

  auto page3 = call_json(port_, bhttp::verb::get,
                         "/api/v1/events?limit=2&terminal=ATT0001&before=" +
                             std::to_string(page2.js()["next_before"].get<std::int64_t>()),
                         {}, bearer(viewer));
  ASSERT_EQ(page3.status, 200) << page3.body;
  EXPECT_EQ(ids(page3), (std::vector<std::int64_t>{newest_first[4]}));
  EXPECT_FALSE(page3.js()["more"].get<bool>());

  // before and after together: the rows between them, newest first.
  auto between =
      call_json(port_, bhttp::verb::get,
                "/api/v1/events?terminal=ATT0001&after=" + std::to_string(oldest_first[0]) +
                    "&before=" + std::to_string(oldest_first[3]),
                {}, bearer(viewer));
  EXPECT_EQ(ids(between), (std::vector<std::int64_t>{oldest_first[2], oldest_first[1]}));

  for (const char* bad : {"before=-1", "before=x", "before=1.5"}) {
    auto a = call_json(port_, bhttp::verb::get, std::string("/api/v1/events?") + bad, {},
                       bearer(viewer));
    EXPECT_EQ(a.status, 400) << bad << ": " << a.body;
    EXPECT_NE(a.body.find("before"), std::string::npos) << a.body;
  }
  EXPECT_EQ(call_json(port_, bhttp::verb::get, "/api/v1/events?before=0").status, 401);
}

TEST_F(ConsoleApiTest, AnAdminRenamesATerminalAndSetsItsTimeZone) {
  punch("ATT0001", "1001", "2024-03-04 09:05:00");
  const std::string target = "/api/v1/terminals/ATT0001";
  const std::string good = json{{"name", "Front door"}, {"timezone", "Europe/Berlin"}}.dump();
  auto a = admin();
  EXPECT_EQ(terminal("ATT0001", a)["timezone"], "UTC");

  EXPECT_EQ(call_json(port_, bhttp::verb::patch, target, good).status, 401);
  for (auto role : {auth::Role::Viewer, auth::Role::Operator}) {
    auto r = call_json(port_, bhttp::verb::patch, target, good, bearer(gw_->api_token(role)));
    EXPECT_EQ(r.status, 403) << r.body;
  }
  auto no_csrf = call_json(port_, bhttp::verb::patch, target, good, a.read());
  EXPECT_EQ(no_csrf.status, 403) << no_csrf.body;
  EXPECT_EQ(terminal("ATT0001", a)["name"], "");

  auto unknown =
      call_json(port_, bhttp::verb::patch, "/api/v1/terminals/NOPE0001", good, a.change());
  EXPECT_EQ(unknown.status, 404) << unknown.body;

  auto bad = call_json(
      port_, bhttp::verb::patch, target,
      json{{"name", 5}, {"timezone", "Mars/Olympus_Mons"}, {"colour", "red"}}.dump(), a.change());
  ASSERT_EQ(bad.status, 400) << bad.body;
  EXPECT_EQ(error_fields(bad), (std::set<std::string>{"name", "timezone", "colour"})) << bad.body;
  auto long_name = call_json(port_, bhttp::verb::patch, target,
                             json{{"name", std::string(65, 'x')}}.dump(), a.change());
  EXPECT_EQ(error_fields(long_name), std::set<std::string>{"name"}) << long_name.body;
  auto empty = call_json(port_, bhttp::verb::patch, target, "{}", a.change());
  EXPECT_EQ(empty.status, 400) << empty.body;
  EXPECT_EQ(terminal("ATT0001", a)["timezone"], "UTC");

  auto ok = call_json(port_, bhttp::verb::patch, target, good, a.change());
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ok.js()["name"], "Front door");
  EXPECT_EQ(ok.js()["timezone"], "Europe/Berlin");
  auto t = terminal("ATT0001", a);
  EXPECT_EQ(t["name"], "Front door");
  EXPECT_EQ(t["timezone"], "Europe/Berlin");
  // Who did it and what, in the audit.
  EXPECT_EQ(
      audits_once("api_change", 1, "%\"status\":200,\"target\":\"/api/v1/terminals/ATT0001\"%"), 1);
  EXPECT_EQ(audits("api_change", "%\"name\":\"Front door\"%Europe/Berlin%\"status\":200%"), 1);

  // The terminal's next punch is placed in its new zone: 09:05 in Berlin
  // in March is 08:05 UTC.
  punch("ATT0001", "1002", "2024-03-04 09:05:00");
  auto ev = call_json(port_, bhttp::verb::get, "/api/v1/events?before=0&limit=1&terminal=ATT0001",
                      {}, a.read());
  ASSERT_EQ(ev.status, 200) << ev.body;
  ASSERT_EQ(ev.js()["events"].size(), 1U) << ev.body;
  EXPECT_EQ(ev.js()["events"][0]["pin"], "1002");
  EXPECT_EQ(ev.js()["events"][0]["time"], "2024-03-04T09:05:00+01:00") << ev.body;

  // Kept across a restart.
  restart();
  a = admin();
  t = terminal("ATT0001", a);
  EXPECT_EQ(t["name"], "Front door");
  EXPECT_EQ(t["timezone"], "Europe/Berlin");

  // null takes it back: the site's zone again.
  auto back = call_json(port_, bhttp::verb::patch, target, R"({"timezone": null})", a.change());
  ASSERT_EQ(back.status, 200) << back.body;
  EXPECT_EQ(back.js()["timezone"], "UTC");
  EXPECT_EQ(back.js()["name"], "Front door");
  punch("ATT0001", "1003", "2024-03-04 09:05:00");
  ev = call_json(port_, bhttp::verb::get, "/api/v1/events?before=0&limit=1&terminal=ATT0001", {},
                 a.read());
  EXPECT_EQ(ev.js()["events"][0]["time"], "2024-03-04T09:05:00+00:00") << ev.body;
}

TEST_F(ConsoleApiTest, AnAdminResetsAForgottenPasswordAndTheOldSessionsEnd) {
  auto a = admin();
  auto made =
      call_json(port_, bhttp::verb::post, "/api/v1/users",
                json{{"name", "clerk"}, {"role", "viewer"}, {"password", "timecards-2026"}}.dump(),
                a.change());
  ASSERT_EQ(made.status, 201) << made.body;
  auto clerk = session("clerk", "timecards-2026");
  const std::string target = "/api/v1/users/clerk/password";
  const std::string good = json{{"password", "new-timecards-2026"}}.dump();

  EXPECT_EQ(call_json(port_, bhttp::verb::post, target, good).status, 401);
  EXPECT_EQ(call_json(port_, bhttp::verb::post, target, good,
                      bearer(gw_->api_token(auth::Role::Operator)))
                .status,
            403);
  // The clerk cannot reset passwords, not even their own this way.
  EXPECT_EQ(call_json(port_, bhttp::verb::post, target, good, clerk.change()).status, 403);
  EXPECT_EQ(call_json(port_, bhttp::verb::post, target, good, a.read()).status, 403);

  auto short_one =
      call_json(port_, bhttp::verb::post, target, json{{"password", "short"}}.dump(), a.change());
  ASSERT_EQ(short_one.status, 400) << short_one.body;
  EXPECT_EQ(error_fields(short_one), std::set<std::string>{"password"});
  auto extra =
      call_json(port_, bhttp::verb::post, target,
                json{{"password", "new-timecards-2026"}, {"role", "admin"}}.dump(), a.change());
  EXPECT_EQ(error_fields(extra), std::set<std::string>{"role"}) << extra.body;
  auto nobody =
      call_json(port_, bhttp::verb::post, "/api/v1/users/nobody/password", good, a.change());
  EXPECT_EQ(nobody.status, 404) << nobody.body;
  // Refused changes changed nothing.
  EXPECT_EQ(call_json(port_, bhttp::verb::get, "/api/v1/session", {}, clerk.read()).status, 200);

  auto ok = call_json(port_, bhttp::verb::post, target, good, a.change());
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(call_json(port_, bhttp::verb::get, "/api/v1/session", {}, clerk.read()).status, 401);
  EXPECT_EQ(login("clerk", "timecards-2026").status, 401);
  EXPECT_EQ(login("clerk", "new-timecards-2026").status, 200);
  EXPECT_EQ(audits_once("password_reset", 1, "%\"user\":\"clerk\"%"), 1);
  // Audited without the password.
  EXPECT_EQ(
      gw_->query_int("SELECT count(*) FROM events WHERE extra LIKE ?1", {"%new-timecards-2026%"}),
      0);
}

TEST_F(ConsoleApiTest, TheRulesEditorGetsEveryBadFieldByName) {
  auto a = admin();
  const json bad = {
      {"late_allowance_min", "five"},
      {"periods", json::array({{{"id", "day"}, {"start", "25:00"}, {"end", "17:00"}}})},
      {"shifts", json::array({{{"id", 1}, {"periods", json::array({"day"})}}})},
  };
  EXPECT_EQ(call_json(port_, bhttp::verb::put, "/api/v1/attendance/rules", bad.dump()).status, 401);
  EXPECT_EQ(call_json(port_, bhttp::verb::put, "/api/v1/attendance/rules", bad.dump(),
                      bearer(gw_->api_token(auth::Role::Operator)))
                .status,
            403);
  EXPECT_EQ(
      call_json(port_, bhttp::verb::put, "/api/v1/attendance/rules", bad.dump(), a.read()).status,
      403);
  auto r = call_json(port_, bhttp::verb::put, "/api/v1/attendance/rules", bad.dump(), a.change());
  ASSERT_EQ(r.status, 400) << r.body;
  auto fields = error_fields(r);
  EXPECT_TRUE(fields.count("late_allowance_min")) << r.body;
  EXPECT_TRUE(fields.count("periods[0].start")) << r.body;
  const auto answer = r.js();
  for (const auto& e : answer["errors"]) {
    EXPECT_FALSE(e.value("message", "").empty()) << r.body;
  }
  // Fixed, it is saved, and the change is audited.
  json fixed = bad;
  fixed["late_allowance_min"] = 5;
  fixed["periods"][0]["start"] = "08:00";
  auto saved =
      call_json(port_, bhttp::verb::put, "/api/v1/attendance/rules", fixed.dump(), a.change());
  ASSERT_EQ(saved.status, 200) << saved.body;
  EXPECT_EQ(saved.js()["rules"]["late_allowance_min"], 5);
  EXPECT_EQ(
      audits_once("api_change", 1, "%\"status\":200,\"target\":\"/api/v1/attendance/rules\"%"), 1);
}

}  // namespace
}  // namespace pushgate::test
