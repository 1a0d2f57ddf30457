// REST builders and readers: login, errors, session expiry, event search,
// doors, users, cards.
#include "adapters/suprema/suprema_rest.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/unit/adapters/suprema/suprema_test_support.hpp"

namespace pushgate::adapters::suprema {
namespace {

using nlohmann::json;
using test_support::fixture;

TEST(SupremaLogin, BuildsTheDocumentedBody) {
  const ApiRequest r = build_login("admin", "qw\"er");
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.target, "/api/login");
  EXPECT_EQ(json::parse(r.body),
            json::parse(R"({"User":{"login_id":"admin","password":"qw\"er"}})"));
}

TEST(SupremaLogin, SessionComesFromTheHeader) {
  const LoginResult ok = read_login(200, "c0ffee1234", fixture("login-ok.json"));
  EXPECT_TRUE(ok.ok) << ok.error;
  EXPECT_EQ(ok.session_id, "c0ffee1234");
  const LoginResult no_header = read_login(200, "", fixture("login-ok.json"));
  EXPECT_FALSE(no_header.ok);
  EXPECT_NE(no_header.error.find("bs-session-id"), std::string::npos);
  EXPECT_FALSE(read_login(200, "bad id\r\n", fixture("login-ok.json")).ok);
}

TEST(SupremaLogin, RefusalKeepsCodeAndMessage) {
  const LoginResult r = read_login(401, "", fixture("login-failed.json"));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.result.status.code, "20");
  EXPECT_NE(r.error.find("Login failed"), std::string::npos);
  EXPECT_EQ(r.session_id, "");
  // A 200 carrying an error code is a refusal too.
  EXPECT_FALSE(read_login(200, "abc", fixture("login-failed.json")).ok);
  EXPECT_FALSE(read_login(200, "abc", "<html>").ok);
}

TEST(SupremaErrors, SessionExpiredDetection) {
  const ApiResult expired = read_api_result(200, fixture("session-expired.json"));
  EXPECT_FALSE(expired.ok);
  EXPECT_TRUE(expired.session_expired);
  EXPECT_TRUE(read_api_result(401, "").session_expired);
  EXPECT_TRUE(read_api_result(400, R"({"Response":{"code":"1","message":"LOGIN REQUIRED"}})")
                  .session_expired);
  const ApiResult other = read_api_result(400, R"({"Response":{"code":"3","message":"Bad"}})");
  EXPECT_FALSE(other.ok);
  EXPECT_FALSE(other.session_expired);
  EXPECT_NE(other.error.find("Response.code 3: Bad"), std::string::npos);
  const ApiResult fine =
      read_api_result(200, R"({"Response":{"code":"0","message":"Login required? no"}})");
  EXPECT_TRUE(fine.ok);
  EXPECT_FALSE(fine.session_expired);
  EXPECT_TRUE(read_api_result(200, "").ok);
  EXPECT_TRUE(read_api_result(200, R"({"Response":{"code":"0"}})").ok);
  EXPECT_FALSE(read_api_result(500, "").ok);
}

TEST(SupremaSearch, BuildsTheDocumentedQuery) {
  EventSearch s;
  s.from_ms = 1433902445268;
  s.until_ms = 1433902445268 + 3600000;
  s.limit = 200;
  const ApiRequest r = build_event_search(s);
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.target, "/api/events/search");
  EXPECT_EQ(json::parse(r.body), json::parse(R"({"Query":{"limit":200,
      "conditions":[{"column":"datetime","operator":3,
                     "values":["2015-06-10T02:14:05.268Z","2015-06-10T03:14:05.268Z"]}],
      "orders":[{"column":"datetime","descending":false}]}})"));
  s.offset = 400;
  s.device_id = 538151189;
  const json with = json::parse(build_event_search(s).body);
  EXPECT_EQ(with["Query"]["offset"], 400);
  EXPECT_EQ(with["Query"]["conditions"][1],
            json::parse(R"({"column":"device_id.id","operator":0,"values":["538151189"]})"));
}

TEST(SupremaSearch, ReadsAPage) {
  const EventSearchReply r = read_event_search(200, fixture("events-search-page.json"));
  ASSERT_TRUE(r.result.ok) << r.result.error;
  EXPECT_EQ(r.rows, 4U);
  EXPECT_EQ(r.total, 4);
  ASSERT_EQ(r.events.size(), 4U);
  EXPECT_TRUE(r.problems.empty());
  const SupremaEvent& granted = r.events[0];
  EXPECT_EQ(granted.id, "101");
  EXPECT_EQ(granted.classification.method, "card");
  EXPECT_EQ(granted.door_id, 1);  // door_id as an array
  EXPECT_EQ(granted.door_name, "Main entrance");
  EXPECT_EQ(granted.punch_state, 0);
  const SupremaEvent& refused = r.events[1];
  EXPECT_EQ(refused.classification.outcome, Outcome::Refused);
  EXPECT_EQ(refused.classification.reason, "anti_passback");
  EXPECT_EQ(refused.user_id, "1003");
  EXPECT_EQ(r.events[2].classification.kind, "alarm");
  EXPECT_EQ(r.events[2].device_utc_offset_minutes, -210);
  const SupremaEvent& unknown = r.events[3];  // unknown code: kept
  EXPECT_EQ(unknown.code, 65280);
  EXPECT_FALSE(unknown.classification.known);
  EXPECT_EQ(unknown.code_name, "SOMETHING_NEW");
}

TEST(SupremaSearch, EmptyAndBadRows) {
  const EventSearchReply empty = read_event_search(200, fixture("events-search-empty.json"));
  EXPECT_TRUE(empty.result.ok);
  EXPECT_TRUE(empty.events.empty());
  EXPECT_TRUE(read_event_search(200, R"({"Response":{"code":"0"}})").result.ok);
  EXPECT_FALSE(read_event_search(200, "").result.ok);  // never "no more events"
  EXPECT_FALSE(read_event_search(200, "[]").result.ok);
  const EventSearchReply bad = read_event_search(200, fixture("events-search-bad-rows.json"));
  ASSERT_TRUE(bad.result.ok);
  EXPECT_EQ(bad.rows, 3U);
  ASSERT_EQ(bad.problems.size(), 1U);
  EXPECT_EQ(bad.problems[0].row, 0U);
  ASSERT_EQ(bad.events.size(), 2U);
  EXPECT_EQ(bad.events[0].problems.size(), 2U);  // time and device id unreadable, event kept
  EXPECT_EQ(bad.events[1].device_id, 12);        // real numbers read like strings
  EXPECT_EQ(bad.events[1].classification.method, "face");
  EXPECT_FALSE(read_event_search(200, R"({"EventCollection":{"rows":"x"}})").result.ok);
  EXPECT_TRUE(read_event_search(200, fixture("session-expired.json")).result.session_expired);
}

TEST(SupremaSearch, RowCountIsBounded) {
  std::string body = R"({"EventCollection":{"rows":[)";
  for (int i = 0; i < 50; ++i) {
    body += (i ? "," : "") + std::string(R"({"id":")") + std::to_string(i) + R"("})";
  }
  body += "]}}";
  SearchLimits limits;
  limits.max_rows = 10;
  const EventSearchReply r = read_event_search(200, body, limits);
  EXPECT_EQ(r.events.size(), 10U);
  ASSERT_EQ(r.problems.size(), 1U);
  EXPECT_EQ(r.rows, 50U);
  limits.json.max_bytes = 100;
  EXPECT_FALSE(read_event_search(200, body, limits).result.ok);
}

TEST(SupremaSearch, EventsStartAfterTheWsapiSession) {
  const ApiRequest r = build_events_start();
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.target, "/api/events/start");
  EXPECT_EQ(json::parse(r.body), json::parse(R"({"Query":{}})"));
}

TEST(SupremaDoors, Commands) {
  const std::vector<std::int64_t> doors{1, 12};
  const ApiRequest open = build_door_command(DoorAction::Open, doors);
  EXPECT_EQ(open.method, "POST");
  EXPECT_EQ(open.target, "/api/doors/open");
  EXPECT_EQ(json::parse(open.body),
            json::parse(R"({"DoorCollection":{"rows":[{"id":"1"},{"id":"12"}]}})"));
  EXPECT_EQ(build_door_command(DoorAction::Lock, doors).target, "/api/doors/lock");
  EXPECT_EQ(build_door_command(DoorAction::Unlock, doors).target, "/api/doors/unlock");
  EXPECT_EQ(build_door_command(DoorAction::Release, doors).target, "/api/doors/release");
  EXPECT_EQ(build_door_command(DoorAction::Open, {}).target, "");
  const ApiRequest status = build_door_status();
  EXPECT_EQ(status.target, "/api/doors/status");
  EXPECT_EQ(json::parse(status.body), json::parse(R"({"monitoring_permission":true})"));
}

TEST(SupremaDoors, StatusReply) {
  const DoorStatusReply r = read_door_status(200, fixture("door-status.json"));
  ASSERT_TRUE(r.result.ok) << r.result.error;
  ASSERT_EQ(r.doors.size(), 2U);
  EXPECT_EQ(r.doors[0].door_id, 3);
  EXPECT_EQ(r.doors[0].opened, true);
  EXPECT_EQ(r.doors[0].alarm, 2049);
  EXPECT_EQ(door_status_names(*r.doors[0].status),
            std::vector<std::string_view>{"operator_unlocked"});
  EXPECT_EQ(door_status_names(*r.doors[1].status), std::vector<std::string_view>{"locked"});
  EXPECT_EQ(door_status_names(0), std::vector<std::string_view>{"normal"});
  EXPECT_EQ(door_status_names(-1), std::vector<std::string_view>{"invalid"});
  EXPECT_EQ(door_status_names(12),
            (std::vector<std::string_view>{"forced_open_alarm", "held_open_alarm"}));
}

TEST(SupremaUsers, CreateUpdateDelete) {
  NeutralUser u;
  u.user_id = "1002";
  u.name = "Kim";
  u.valid_from_ms = 1704067200000;  // 2024-01-01
  u.valid_until_ms = 1735689540000;
  u.access_group_ids = {3, 4};
  u.card_ids = {19};
  const ApiRequest create = build_user_create(u);
  EXPECT_EQ(create.method, "POST");
  EXPECT_EQ(create.target, "/api/users");
  EXPECT_EQ(json::parse(create.body), json::parse(R"({"User":{"user_id":"1002","name":"Kim",
      "user_group_id":{"id":"1"},"start_datetime":"2024-01-01T00:00:00.000Z",
      "expiry_datetime":"2024-12-31T23:59:00.000Z","access_groups":[{"id":"3"},{"id":"4"}],
      "cards":[{"id":"19"}]}})"));
  const ApiRequest update = build_user_update(u);
  EXPECT_EQ(update.method, "PUT");
  EXPECT_EQ(update.target, "/api/users/1002");
  EXPECT_EQ(update.body, create.body);
  const std::vector<std::string> ids{"1002", "A-7"};
  const ApiRequest del = build_user_delete(ids);
  EXPECT_EQ(del.method, "DELETE");
  EXPECT_EQ(del.target, "/api/users?id=1002+A-7");
  EXPECT_EQ(build_user_delete(std::vector<std::string>{"1", "../x"}).target, "");
  EXPECT_EQ(build_user_delete({}).target, "");
}

TEST(SupremaUsers, DefaultsAndRefusals) {
  NeutralUser u;
  u.user_id = "7";
  const json body = json::parse(build_user_create(u).body);
  EXPECT_EQ(body["User"]["start_datetime"], "2001-01-01T00:00:00.000Z");
  EXPECT_EQ(body["User"]["expiry_datetime"], "2030-12-31T23:59:00.000Z");
  EXPECT_EQ(body["User"]["cards"], json::array());
  for (const char* bad : {"", "a b", "1/2", "x?y"}) {
    u.user_id = bad;
    EXPECT_FALSE(validate_user(u).empty()) << bad;
    EXPECT_EQ(build_user_create(u).target, "");
  }
  u.user_id = "7";
  u.valid_from_ms = 2000;
  u.valid_until_ms = 1000;
  EXPECT_FALSE(validate_user(u).empty());
  u.valid_until_ms.reset();
  u.name = std::string(49, 'n');
  EXPECT_FALSE(validate_user(u).empty());
}

TEST(SupremaCards, CreateAndReadIds) {
  const std::vector<std::string> numbers{"164438234751549"};
  const ApiRequest r = build_card_create(numbers);
  EXPECT_EQ(r.target, "/api/cards");
  EXPECT_EQ(json::parse(r.body), json::parse(R"({"CardCollection":{"rows":[
      {"card_id":"164438234751549","card_type":{"id":"0"}}]}})"));
  EXPECT_EQ(build_card_create(std::vector<std::string>{"12AB"}).target, "");
  EXPECT_EQ(build_card_create({}).target, "");
  const CardCreateReply reply = read_card_create(200, fixture("cards-created.json"));
  ASSERT_TRUE(reply.result.ok) << reply.result.error;
  EXPECT_EQ(reply.card_ids, std::vector<std::int64_t>{19});
  EXPECT_FALSE(read_card_create(200, R"({"Response":{"code":"0"}})").result.ok);
}

}  // namespace
}  // namespace pushgate::adapters::suprema
