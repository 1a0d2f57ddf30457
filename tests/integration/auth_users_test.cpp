// User management over the API (issue 18), over real HTTP on loopback: an
// admin lists, creates, changes and removes console users; the last admin
// cannot be removed or demoted; a user changes their own password, which
// ends their other sessions; every change is an audit event.

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <map>
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
using api_call::call_json;
using api_call::Session;

class AuthUsersTest : public ::testing::Test {
 protected:
  AuthUsersTest()
      : gw_({"api.auth=required"}, {}, GatewayHarness::Accounts::FirstStart),
        port_(gw_.api_port()) {
    admin_password_ = api_call::initial_admin_password(gw_.data_dir());
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

  Answer create(const Session& as, const std::string& name, const std::string& role,
                const std::string& password) {
    return call_json(port_, bhttp::verb::post, "/api/v1/users",
                     json{{"name", name}, {"role", role}, {"password", password}}.dump(),
                     as.change());
  }

  std::int64_t audits(const std::string& action) {
    return gw_.query_int(
        "SELECT count(*) FROM events WHERE kind = 12 AND json_extract(extra, '$.action') = ?1",
        {action});
  }

  /** The audit events of `action`, once `n` are stored (they commit after the answer). */
  std::int64_t audits_once(const std::string& action, std::int64_t n) {
    wait_for([&] { return audits(action) >= n; }, std::chrono::seconds(10));
    return audits(action);
  }

  GatewayHarness gw_;
  std::uint16_t port_;
  std::string admin_password_;
};

TEST_F(AuthUsersTest, AnAdminCreatesAUserWhoCanLogInAndIsListedWithoutItsHash) {
  auto a = admin();
  auto made = create(a, "clerk", "viewer", "timecards-2026");
  ASSERT_EQ(made.status, 201) << made.body;
  EXPECT_EQ(made.js().value("role", ""), "viewer");
  EXPECT_EQ(made.js().count("password_hash"), 0U);
  // The first admin (made at start) and the clerk.
  EXPECT_EQ(audits_once("user_created", 2), 2);
  // Audited without the password: no generic api_change with the body.
  EXPECT_EQ(gw_.query_int("SELECT count(*) FROM events WHERE kind = 12 AND extra LIKE ?1",
                          {"%timecards-2026%"}),
            0);
  auto clerk = session("clerk", "timecards-2026");
  EXPECT_FALSE(clerk.cookie.empty());

  auto list = call_json(port_, bhttp::verb::get, "/api/v1/users", {}, a.read());
  ASSERT_EQ(list.status, 200) << list.body;
  EXPECT_EQ(list.js()["users"].size(), 2U);
  EXPECT_EQ(list.body.find("scrypt"), std::string::npos);
  // A viewer manages no one.
  EXPECT_EQ(call_json(port_, bhttp::verb::get, "/api/v1/users", {}, clerk.read()).status, 403);
  EXPECT_EQ(create(clerk, "x", "admin", "long-enough-1").status, 403);
}

TEST_F(AuthUsersTest, ThePasswordPolicyAndDuplicatesAreRefusedField400And409) {
  auto a = admin();
  auto short_one = create(a, "guard", "operator", "short");
  EXPECT_EQ(short_one.status, 400);
  EXPECT_EQ(short_one.js()["errors"][0].value("field", ""), "password");
  auto is_name = create(a, "guard.night", "operator", "GUARD.NIGHT");
  EXPECT_EQ(is_name.status, 400) << is_name.body;
  EXPECT_NE(is_name.body.find("user name"), std::string::npos) << is_name.body;
  EXPECT_EQ(create(a, "guard", "superuser", "long-enough-1").status, 400);
  EXPECT_EQ(create(a, "bad name", "viewer", "long-enough-1").status, 400);
  ASSERT_EQ(create(a, "guard", "operator", "long-enough-1").status, 201);
  auto again = create(a, "guard", "viewer", "long-enough-2");
  EXPECT_EQ(again.status, 409) << again.body;
  EXPECT_EQ(audits_once("user_created", 2), 2);  // the first admin, then guard only
}

TEST_F(AuthUsersTest, ChangingRoleAndDisablingTakeEffectAtOnce) {
  auto a = admin();
  ASSERT_EQ(create(a, "guard", "viewer", "long-enough-1").status, 201);
  auto guard = session("guard", "long-enough-1");
  EXPECT_EQ(call_json(port_, bhttp::verb::get, "/api/v1/tokens", {}, guard.read()).status, 403);
  auto up = call_json(port_, bhttp::verb::patch, "/api/v1/users/guard",
                      json{{"role", "admin"}}.dump(), a.change());
  ASSERT_EQ(up.status, 200) << up.body;
  EXPECT_EQ(call_json(port_, bhttp::verb::get, "/api/v1/tokens", {}, guard.read()).status, 200);
  auto off = call_json(port_, bhttp::verb::patch, "/api/v1/users/guard",
                       json{{"disabled", true}}.dump(), a.change());
  ASSERT_EQ(off.status, 200) << off.body;
  EXPECT_EQ(call_json(port_, bhttp::verb::get, "/api/v1/session", {}, guard.read()).status, 401);
  EXPECT_EQ(login("guard", "long-enough-1").status, 401);
  EXPECT_EQ(audits_once("user_changed", 2), 2);
  EXPECT_EQ(call_json(port_, bhttp::verb::patch, "/api/v1/users/nobody",
                      json{{"role", "viewer"}}.dump(), a.change())
                .status,
            404);
  EXPECT_EQ(call_json(port_, bhttp::verb::patch, "/api/v1/users/guard",
                      json{{"password", "long-enough-9"}}.dump(), a.change())
                .status,
            400);
}

TEST_F(AuthUsersTest, TheLastAdminCannotBeRemovedDemotedOrDisabled) {
  auto a = admin();
  for (const auto& change : {json{{"role", "operator"}}, json{{"disabled", true}}}) {
    auto r = call_json(port_, bhttp::verb::patch, "/api/v1/users/admin", change.dump(), a.change());
    EXPECT_EQ(r.status, 409) << r.body;
  }
  auto del = call_json(port_, bhttp::verb::delete_, "/api/v1/users/admin", {}, a.change());
  EXPECT_EQ(del.status, 409) << del.body;
  EXPECT_EQ(call_json(port_, bhttp::verb::get, "/api/v1/session", {}, a.read()).status, 200);
  // With a second admin, the first can go; its session ends with it.
  ASSERT_EQ(create(a, "deputy", "admin", "long-enough-1").status, 201);
  auto deputy = session("deputy", "long-enough-1");
  auto gone = call_json(port_, bhttp::verb::delete_, "/api/v1/users/admin", {}, deputy.change());
  EXPECT_EQ(gone.status, 200) << gone.body;
  EXPECT_EQ(call_json(port_, bhttp::verb::get, "/api/v1/session", {}, a.read()).status, 401);
  EXPECT_EQ(audits_once("user_removed", 1), 1);
  EXPECT_EQ(
      call_json(port_, bhttp::verb::delete_, "/api/v1/users/admin", {}, deputy.change()).status,
      404);
}

TEST_F(AuthUsersTest, AUserChangesTheirPasswordAndTheirOtherSessionsEnd) {
  auto a = admin();
  ASSERT_EQ(create(a, "clerk", "viewer", "timecards-2026").status, 201);
  auto phone = session("clerk", "timecards-2026");
  auto desk = session("clerk", "timecards-2026");
  auto path = "/api/v1/users/me/password";
  auto wrong =
      call_json(port_, bhttp::verb::post, path,
                json{{"current", "not-the-one"}, {"new", "payroll-2027!"}}.dump(), desk.change());
  EXPECT_EQ(wrong.status, 403) << wrong.body;
  auto weak =
      call_json(port_, bhttp::verb::post, path,
                json{{"current", "timecards-2026"}, {"new", "clerk"}}.dump(), desk.change());
  EXPECT_EQ(weak.status, 400) << weak.body;
  auto ok = call_json(port_, bhttp::verb::post, path,
                      json{{"current", "timecards-2026"}, {"new", "payroll-2027!"}}.dump(),
                      desk.change());
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(call_json(port_, bhttp::verb::get, "/api/v1/session", {}, desk.read()).status, 200);
  EXPECT_EQ(call_json(port_, bhttp::verb::get, "/api/v1/session", {}, phone.read()).status, 401);
  EXPECT_EQ(login("clerk", "timecards-2026").status, 401);
  EXPECT_EQ(login("clerk", "payroll-2027!").status, 200);
  EXPECT_EQ(audits_once("password_changed", 1), 1);
  EXPECT_EQ(audits_once("password_change_failed", 1), 1);
  EXPECT_EQ(gw_.query_int("SELECT count(*) FROM events WHERE kind = 12 AND extra LIKE ?1",
                          {"%payroll-2027%"}),
            0);
  // Without the CSRF token, a session changes nothing.
  EXPECT_EQ(
      call_json(port_, bhttp::verb::post, path,
                json{{"current", "payroll-2027!"}, {"new", "another-one-1"}}.dump(), desk.read())
          .status,
      403);
}

}  // namespace
}  // namespace pushgate::test
