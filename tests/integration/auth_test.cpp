// Accounts and API credentials (issue 18) over real HTTP on loopback: a
// whole gateway with api.auth = "required", its first admin, sessions with
// their cookie and CSRF token, API tokens, lockouts and audit events.

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "gateway/api/route_roles.hpp"
#include "gateway/auth/crypto.hpp"
#include "gateway/store/auth_queries.hpp"
#include "tests/support/api_call.hpp"
#include "tests/support/gateway_harness.hpp"

namespace pushgate::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
namespace net = boost::asio;
namespace bhttp = boost::beast::http;
using api_call::Answer;
using api_call::bearer;
using api_call::call;
using api_call::Session;

bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds deadline = 20s) {
  auto until = std::chrono::steady_clock::now() + deadline;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > until) {
      return false;
    }
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

std::string slurp(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

class AuthTest : public ::testing::Test {
 protected:
  explicit AuthTest(std::vector<std::string> extra = {}) {
    std::vector<std::string> sets = {"api.auth=required", "api.login_max_failures=3",
                                     "api.login_max_failures_per_address=1000"};
    sets.insert(sets.end(), extra.begin(), extra.end());
    // The first start as in production: it creates `admin` (and its audit event).
    gw_ = std::make_unique<GatewayHarness>(sets, std::filesystem::path(),
                                           GatewayHarness::Accounts::FirstStart);
    port_ = gw_->api_port();
    // The first admin's password, written once at the first start.
    admin_password_ = api_call::initial_admin_password(gw_->data_dir());
  }

  Answer login(const std::string& name, const std::string& password) {
    return api_call::login(port_, name, password);
  }

  Session admin_session() {
    auto a = login("admin", admin_password_);
    EXPECT_EQ(a.status, 200) << a.body;
    return api_call::session_of(a);
  }

  /** A new API token of `role`, made by the admin. */
  json make_token(const Session& admin, const std::string& name, const std::string& role) {
    auto a = call(port_, bhttp::verb::post, "/api/v1/tokens",
                  json{{"name", name}, {"role", role}}.dump(), admin.change());
    EXPECT_EQ(a.status, 201) << a.body;
    return a.js();
  }

  std::int64_t audits(const std::string& action) {
    return gw_->query_int(
        "SELECT count(*) FROM events WHERE kind = 12 AND json_extract(extra, '$.action') = ?1",
        {action});
  }

  std::unique_ptr<GatewayHarness> gw_;
  std::uint16_t port_ = 0;
  std::string admin_password_;
};

std::string fill(std::string_view pattern) {
  std::string out;
  bool in = false;
  for (char c : pattern) {
    if (c == '{') {
      in = true;
      out += "x1";
    } else if (c == '}') {
      in = false;
    } else if (!in) {
      out += c;
    }
  }
  return out;
}

TEST_F(AuthTest, EveryApiRouteRefusesACallWithoutCredential) {
  int checked = 0;
  for (const auto& r : api::declared_route_roles()) {
    if (r.role == auth::Role::Open) {
      continue;
    }
    auto a = call(port_, r.method, fill(r.pattern), "{}", {{"Content-Type", "application/json"}});
    EXPECT_EQ(a.status, 401) << bhttp::to_string(r.method) << " " << r.pattern << ": " << a.body;
    EXPECT_EQ(a.headers["www-authenticate"], "Bearer realm=\"pushgate\"") << r.pattern;
    ++checked;
  }
  EXPECT_GT(checked, 40);
  // Open: health, and /metrics to a loopback client.
  EXPECT_EQ(call(port_, bhttp::verb::get, "/healthz").status, 200);
  EXPECT_NE(call(port_, bhttp::verb::get, "/readyz").status, 401);
  EXPECT_EQ(call(port_, bhttp::verb::get, "/metrics").status, 200);
  auto refused = metric_value(port_, "pushgate_api_auth_refused_total{reason=\"no_credential\"}");
  ASSERT_TRUE(refused);
  EXPECT_EQ(*refused, checked);
}

TEST_F(AuthTest, EveryRouteBelowAdminRefusesATokenWithTooSmallARole) {
  auto admin = admin_session();
  auto viewer = make_token(admin, "dashboard", "viewer")["token"].get<std::string>();
  auto op = make_token(admin, "door-panel", "operator")["token"].get<std::string>();
  for (const auto& r : api::declared_route_roles()) {
    auto target = fill(r.pattern);
    if (r.role > auth::Role::Viewer) {
      auto a = call(port_, r.method, target, "{}", bearer(viewer));
      EXPECT_EQ(a.status, 403) << bhttp::to_string(r.method) << " " << r.pattern << ": " << a.body;
    }
    if (r.role > auth::Role::Operator) {
      auto a = call(port_, r.method, target, "{}", bearer(op));
      EXPECT_EQ(a.status, 403) << bhttp::to_string(r.method) << " " << r.pattern << ": " << a.body;
    }
  }
  // Within their role they pass the guard (the route itself answers).
  EXPECT_EQ(call(port_, bhttp::verb::get, "/api/v1/terminals", {}, bearer(viewer)).status, 200);
  auto approve = call(port_, bhttp::verb::post, "/api/v1/terminals/NOPE/approve", {}, bearer(op));
  EXPECT_NE(approve.status, 401);
  EXPECT_NE(approve.status, 403);
}

TEST_F(AuthTest, TheFirstAdminLogsInWithASessionCookie) {
  auto a = login("admin", admin_password_);
  ASSERT_EQ(a.status, 200) << a.body;
  const auto& cookie = a.headers["set-cookie"];
  EXPECT_EQ(cookie.rfind("pushgate_session=", 0), 0U) << cookie;
  for (const char* attr : {"; Path=/", "; HttpOnly", "; SameSite=Strict"}) {
    EXPECT_NE(cookie.find(attr), std::string::npos) << attr << " in " << cookie;
  }
  EXPECT_EQ(cookie.find("Secure"), std::string::npos) << "plain HTTP: no Secure";
  auto body = a.js();
  EXPECT_EQ(body["role"], "admin");
  EXPECT_EQ(body["csrf_token"].get<std::string>().size(), 43U);

  Session s{cookie.substr(0, cookie.find(';')), body["csrf_token"]};
  auto me = call(port_, bhttp::verb::get, "/api/v1/session", {}, s.read());
  ASSERT_EQ(me.status, 200) << me.body;
  EXPECT_EQ(me.js()["name"], "admin");
  EXPECT_EQ(me.js()["csrf_token"], s.csrf);
  EXPECT_EQ(call(port_, bhttp::verb::get, "/api/v1/terminals", {}, s.read()).status, 200);
  auto users = call(port_, bhttp::verb::get, "/api/v1/users", {}, s.read());
  ASSERT_EQ(users.status, 200);
  EXPECT_EQ(users.js()["users"][0]["name"], "admin");
}

TEST_F(AuthTest, AStateChangeWithASessionNeedsTheCsrfToken) {
  auto s = admin_session();
  auto body = json{{"name", "t"}, {"role", "viewer"}}.dump();
  auto without = call(port_, bhttp::verb::post, "/api/v1/tokens", body, s.read());
  EXPECT_EQ(without.status, 403) << without.body;
  EXPECT_NE(without.body.find("X-CSRF-Token"), std::string::npos);
  auto wrong = call(port_, bhttp::verb::post, "/api/v1/tokens", body,
                    {{"Cookie", s.cookie}, {"X-CSRF-Token", s.csrf + "x"}});
  EXPECT_EQ(wrong.status, 403);
  EXPECT_EQ(call(port_, bhttp::verb::post, "/api/v1/tokens", body, s.change()).status, 201);
  // A token needs no CSRF token: no browser sends it by itself.
  auto token = make_token(s, "machine", "admin")["token"].get<std::string>();
  EXPECT_EQ(call(port_, bhttp::verb::post, "/api/v1/tokens", body, bearer(token)).status, 201);
}

TEST_F(AuthTest, LogoutEndsTheSessionOnTheServer) {
  auto s = admin_session();
  ASSERT_EQ(call(port_, bhttp::verb::get, "/api/v1/terminals", {}, s.read()).status, 200);
  auto out = call(port_, bhttp::verb::post, "/api/v1/logout", {}, s.change());
  ASSERT_EQ(out.status, 200) << out.body;
  EXPECT_NE(out.headers["set-cookie"].find("Max-Age=0"), std::string::npos);
  // The cookie a client kept is worth nothing now.
  auto after = call(port_, bhttp::verb::get, "/api/v1/terminals", {}, s.read());
  EXPECT_EQ(after.status, 401);
  EXPECT_NE(after.body.find("log in again"), std::string::npos) << after.body;
}

TEST_F(AuthTest, ExpiredSessionsAreRefused) {
  // Sessions as a past login left them: one past its absolute expiry, one
  // idle longer than api.session_idle_s (default 1800 s), one fresh.
  auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  auto user_id = gw_->query_int("SELECT id FROM auth_users WHERE name = 'admin'");
  struct Case {
    std::string id;
    std::int64_t last_seen;
    std::int64_t expires;
    int want;
  };
  std::vector<Case> cases = {{auth::random_secret(), now - 1000, now - 1, 401},
                             {auth::random_secret(), now - 1801 * 1000, now + 3600'000, 401},
                             {auth::random_secret(), now - 1000, now + 3600'000, 200}};
  WriteBatch batch;
  for (const auto& c : cases) {
    store::AuthSessionRow row;
    row.id_hash = auth::sha256_hex(c.id);
    row.user_id = user_id;
    row.created_ms = now - 2000 * 1000;
    row.last_seen_ms = c.last_seen;
    row.expires_ms = c.expires;
    row.csrf_token = "csrf";
    batch.ops.push_back(
        [row](store::WriteContext& ctx) { return store::insert_auth_session(ctx.db(), row); });
  }
  std::promise<boost::system::error_code> done;
  gw_->gateway().store().append(std::move(batch),
                                [&done](CommitResult r) { done.set_value(r.ec); });
  ASSERT_FALSE(done.get_future().get());
  for (const auto& c : cases) {
    auto a = call(port_, bhttp::verb::get, "/api/v1/terminals", {},
                  {{"Cookie", "pushgate_session=" + c.id}});
    EXPECT_EQ(a.status, c.want) << a.body;
    if (c.want == 401) {
      EXPECT_NE(a.body.find("expired"), std::string::npos) << a.body;
    }
  }
}

TEST_F(AuthTest, ARevokedTokenIsRefusedAndTokensAreShownOnce) {
  auto s = admin_session();
  auto made = make_token(s, "erp", "viewer");
  auto token = made["token"].get<std::string>();
  EXPECT_EQ(token.rfind("pgt_", 0), 0U);
  ASSERT_EQ(call(port_, bhttp::verb::get, "/api/v1/events", {}, bearer(token)).status, 200);

  auto list = call(port_, bhttp::verb::get, "/api/v1/tokens", {}, s.read());
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(list.body.find(token), std::string::npos) << "a token is shown once";
  // The list also has the harness's own admin token; "erp" is found by name.
  auto erp = [](const nlohmann::json& tokens) {
    for (const auto& t : tokens) {
      if (t["name"] == "erp") {
        return t;
      }
    }
    return nlohmann::json();
  };
  EXPECT_EQ(erp(list.js()["tokens"])["role"], "viewer");
  // Its use is recorded (written after the answer, so waited for).
  EXPECT_TRUE(wait_until([&] {
    auto l = call(port_, bhttp::verb::get, "/api/v1/tokens", {}, s.read());
    return l.status == 200 && !erp(l.js()["tokens"])["last_used"].is_null();
  }));

  auto id = std::to_string(made["id"].get<int>());
  auto revoked = call(port_, bhttp::verb::delete_, "/api/v1/tokens/" + id, {}, s.change());
  ASSERT_EQ(revoked.status, 200) << revoked.body;
  EXPECT_EQ(call(port_, bhttp::verb::delete_, "/api/v1/tokens/" + id, {}, s.change()).status, 404);
  auto after = call(port_, bhttp::verb::get, "/api/v1/events", {}, bearer(token));
  EXPECT_EQ(after.status, 401);
  EXPECT_NE(after.body.find("revoked"), std::string::npos);
  EXPECT_EQ(call(port_, bhttp::verb::get, "/api/v1/events", {}, bearer("pgt_guess")).status, 401);
}

TEST_F(AuthTest, RepeatedFailedLoginsLockTheUserOut) {
  for (int i = 0; i < 3; ++i) {
    auto a = login("admin", "wrong password " + std::to_string(i));
    EXPECT_EQ(a.status, 401) << a.body;
  }
  // Locked: even the right password is refused, without trying it.
  auto locked = login("admin", admin_password_);
  EXPECT_EQ(locked.status, 429) << locked.body;
  EXPECT_FALSE(locked.headers["retry-after"].empty());
  EXPECT_EQ(metric_value(port_, "pushgate_api_login_lockouts_total{scope=\"user\"}"), 1.0);
  EXPECT_EQ(metric_value(port_, "pushgate_api_logins_total{result=\"failed\"}"), 3.0);
  EXPECT_EQ(metric_value(port_, "pushgate_api_logins_total{result=\"locked\"}"), 1.0);
  // Another user is not locked by them.
  EXPECT_EQ(login("nobody", "whatever it is").status, 401);
  EXPECT_TRUE(wait_until([&] { return audits("login_failed") == 4; }));
  EXPECT_TRUE(wait_until([&] { return audits("login_refused") == 1; }));
}

class AuthAddressLockoutTest : public AuthTest {
 protected:
  AuthAddressLockoutTest()
      : AuthTest({"api.login_max_failures_per_address=4", "api.login_max_failures=100"}) {}
};

TEST_F(AuthAddressLockoutTest, ManyNamesFromOneAddressLockTheAddress) {
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(login("user" + std::to_string(i), "wrong password").status, 401);
  }
  EXPECT_EQ(login("admin", admin_password_).status, 429);
  EXPECT_EQ(metric_value(port_, "pushgate_api_login_lockouts_total{scope=\"address\"}"), 1.0);
}

TEST_F(AuthTest, NoSecretIsStoredInClear) {
  auto s = admin_session();
  auto token = make_token(s, "erp", "admin")["token"].get<std::string>();
  auto session_id = s.cookie.substr(s.cookie.find('=') + 1);
  ASSERT_EQ(call(port_, bhttp::verb::get, "/api/v1/events", {}, bearer(token)).status, 200);
  auto db = gw_->data_dir() / "pushgate.db";
  std::string bytes = slurp(db) + slurp(db.string() + "-wal");
  ASSERT_FALSE(bytes.empty());
  EXPECT_EQ(bytes.find(admin_password_), std::string::npos);
  EXPECT_EQ(bytes.find(token), std::string::npos);
  EXPECT_EQ(bytes.find(session_id), std::string::npos);
  // What is there is their hash.
  EXPECT_NE(bytes.find(auth::sha256_hex(token)), std::string::npos);
}

TEST_F(AuthTest, ChangesAndCredentialsLeaveAuditEvents) {
  auto s = admin_session();
  auto made = make_token(s, "erp", "operator");
  auto token = made["token"].get<std::string>();
  call(port_, bhttp::verb::delete_, "/api/v1/tokens/" + std::to_string(made["id"].get<int>()), {},
       s.change());
  auto op = make_token(s, "panel", "operator")["token"].get<std::string>();
  call(port_, bhttp::verb::post, "/api/v1/terminals/NOPE/approve", {}, bearer(op));
  login("admin", "not the password");
  call(port_, bhttp::verb::post, "/api/v1/logout", {}, s.change());
  for (const char* action : {"user_created", "login", "token_created", "token_revoked",
                             "api_change", "login_failed", "logout"}) {
    EXPECT_TRUE(wait_until([&] { return audits(action) >= 1; })) << action;
  }
  // Who, from where, what.
  EXPECT_EQ(
      gw_->query_int("SELECT count(*) FROM events WHERE kind = 12"
                     " AND json_extract(extra, '$.action') = 'api_change'"
                     " AND json_extract(extra, '$.actor') = 'panel'"
                     " AND json_extract(extra, '$.from') = '127.0.0.1'"
                     " AND json_extract(extra, '$.target') = '/api/v1/terminals/NOPE/approve'"),
      1);
  // Served like every event (the sinks read the same log).
  auto events = call(port_, bhttp::verb::get, "/api/v1/events?kind=audit", {}, s.read());
  EXPECT_EQ(events.status, 401) << "logged out";
  auto viewer = make_token(admin_session(), "v", "viewer")["token"].get<std::string>();
  events = call(port_, bhttp::verb::get, "/api/v1/events?kind=audit", {}, bearer(viewer));
  ASSERT_EQ(events.status, 200) << events.body;
  EXPECT_NE(events.body.find("\"kind\":\"audit\""), std::string::npos) << events.body;
}

// The shipped default (no api.auth override): a credential on every
// /api/v1 call, the first admin written down, the harness's helpers carrying
// their token.
TEST(AuthDefaultTest, ByDefaultEveryApiCallNeedsACredential) {
  GatewayHarness gw({}, {}, GatewayHarness::Accounts::FirstStart);
  auto port = gw.api_port();
  auto none = http_request_as("", port, "GET", "/api/v1/terminals");
  EXPECT_EQ(none.status, 401) << none.body;
  EXPECT_EQ(http_request_as("", port, "GET", "/healthz").status, 200);
  EXPECT_EQ(http_request(port, "GET", "/api/v1/terminals").status, 200)
      << "http_request sends the harness's admin token";
  auto viewer = gw.api_token(auth::Role::Viewer);
  EXPECT_EQ(http_request_as(viewer, port, "GET", "/api/v1/terminals").status, 200);
  EXPECT_EQ(http_request_as(viewer, port, "POST", "/api/v1/terminals/NOPE/approve").status, 403);
  // The first admin, whose password is in the data directory, owner-only.
  auto file = gw.data_dir() / "initial-admin-password";
  ASSERT_TRUE(std::filesystem::exists(file));
  EXPECT_EQ(std::filesystem::status(file).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  std::istringstream line(slurp(file));
  std::string name;
  std::string password;
  line >> name >> password;
  EXPECT_EQ(name, "admin");
  auto login = http_request_as("", port, "POST", "/api/v1/login",
                               json{{"name", name}, {"password", password}}.dump());
  EXPECT_EQ(login.status, 200) << login.body;
  gw.stop();
  EXPECT_EQ(registered_api_token(port), "") << "a stopped harness's port has no token";
}

// The harness's own account keeps the first start quiet: no `admin`, no
// password file, no audit event among a test's events.
TEST(AuthDefaultTest, TheHarnessAccountLeavesNoAuditEventOrPasswordFile) {
  GatewayHarness gw;
  EXPECT_EQ(http_request(gw.api_port(), "GET", "/api/v1/terminals").status, 200);
  EXPECT_EQ(http_request_as("", gw.api_port(), "GET", "/api/v1/terminals").status, 401);
  EXPECT_FALSE(std::filesystem::exists(gw.data_dir() / "initial-admin-password"));
  EXPECT_EQ(gw.query_int("SELECT COUNT(*) FROM events"), 0);
  EXPECT_EQ(gw.query_int("SELECT COUNT(*) FROM auth_users WHERE name = 'harness'"), 1);
}

class AuthOffTest : public ::testing::Test {};

TEST_F(AuthOffTest, OffLetsCallsWithoutCredentialThroughAndAuditsThem) {
  GatewayHarness gw({"api.auth=off"});
  auto port = gw.api_port();
  EXPECT_EQ(call(port, bhttp::verb::get, "/api/v1/terminals").status, 200);
  EXPECT_NE(call(port, bhttp::verb::post, "/api/v1/terminals/NOPE/approve").status, 401);
  EXPECT_TRUE(wait_until([&] {
    return gw.query_int(
               "SELECT count(*) FROM events WHERE kind = 12"
               " AND json_extract(extra, '$.actor') = 'anonymous'") == 1;
  }));
}

}  // namespace
}  // namespace pushgate::test
