#pragma once

// The master-data round trip every adapter that writes users goes through
// (issue 17): a site (a time zone, a holiday, a level with door 1), then a
// user with a card created over REST, renamed, deleted, each seen on the
// device; then nothing open, nothing failed and no command of a kind the
// terminal does not take queued. The adapter's test says what its device
// holds for a pin and adds its own checks at each step.
//
// Header-only: it asserts with gtest, which the support libraries do not link.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/gateway_harness.hpp"
#include "tests/support/processes.hpp"

namespace pushgate::test {

/** POST (or PUT, DELETE) on /api/v1/access/<path> as the harness's admin; the status. */
inline int master_data(GatewayHarness& h, const std::string& method, const std::string& path,
                       const std::string& body = {}) {
  const auto a = http_request(h.api_port(), method, "/api/v1/access/" + path, body);
  EXPECT_TRUE(a.status >= 200 && a.status < 300) << method << " " << path << ": " << a.body;
  return static_cast<int>(a.status);
}

/** The sync's count of `state` commands for `sn` (GET /api/v1/sync); -1 without `sn`. */
inline std::int64_t sync_count(GatewayHarness& h, const std::string& sn, const char* state) {
  const auto body =
      nlohmann::json::parse(http_request(h.api_port(), "GET", "/api/v1/sync").body, nullptr, false);
  if (body.is_object() && body.contains("terminals")) {
    for (const auto& t : body["terminals"]) {
      if (t.value("terminal", "") == sn) {
        return t.value(state, std::int64_t{0});
      }
    }
  }
  return -1;
}

/** What a device holds for a pin, in its own words; "" when it holds no such user. */
using HeldForPin = std::function<std::string(const std::string& pin)>;

/** What differs between adapters in the round trip of expect_user_reaches_device_changes_and_goes.
 */
struct UserRoundTrip {
  HeldForPin held;
  /** Whether what is held for the pin shows the new name "Ada L.". */
  std::function<bool(const std::string& held)> shows_renamed;
  /** The adapter's own checks once the user is held, after the rename, after the delete (may wait).
   */
  std::function<void()> after_create = [] {};
  std::function<void()> after_rename = [] {};
  std::function<void()> after_delete = [] {};
  /** At least this many commands done in the end. */
  std::int64_t min_done = 3;
  /** Command verbs the terminal does not take: none may be queued for it. */
  std::vector<std::string> not_taken = {"batch", "upsert_timezone", "upsert_holiday"};
};

/**
 * Posts a time zone 1, a holiday and level 1 with door 1 of `sn`; creates
 * user 500 "Ada" with card 123456, password 7788 and level 1; renames her
 * "Ada L."; deletes her. Waits (10 s each) for each step on the device
 * through `trip.held`, running the adapter's checks after it; then waits
 * until nothing is queued or sent for `sn` and expects nothing failed, at
 * least `trip.min_done` done and none of `trip.not_taken` ever queued.
 */
inline void expect_user_reaches_device_changes_and_goes(GatewayHarness& h, const std::string& sn,
                                                        const UserRoundTrip& trip) {
  const auto held = [&] { return trip.held("500"); };
  master_data(h, "POST", "timezones", R"({"id": 1, "name": "always", "mon": ["00:00-23:59"]})");
  master_data(h, "POST", "holidays", R"({"date": "2026-12-25", "type": 1, "yearly": true})");
  master_data(h, "POST", "levels",
              R"({"id": 1, "name": "front", "timezone": 1, "doors": [")" + sn + R"(/1"]})");
  master_data(h, "POST", "users", R"({"pin": "500", "name": "Ada", "cards": [{"number": "123456"}],
                                      "password": "7788", "levels": [1]})");
  ASSERT_TRUE(wait_for([&] { return !held().empty(); }, std::chrono::seconds(10)))
      << sync_count(h, sn, "failed") << " failed";
  ASSERT_NO_FATAL_FAILURE(trip.after_create());

  master_data(h, "PUT", "users/500", R"({"pin": "500", "name": "Ada L.",
                                         "cards": [{"number": "123456"}], "password": "7788",
                                         "levels": [1]})");
  ASSERT_TRUE(wait_for([&] { return trip.shows_renamed(held()); }, std::chrono::seconds(10)))
      << held();
  ASSERT_NO_FATAL_FAILURE(trip.after_rename());

  master_data(h, "DELETE", "users/500");
  ASSERT_TRUE(wait_for([&] { return held().empty(); }, std::chrono::seconds(10))) << held();
  ASSERT_NO_FATAL_FAILURE(trip.after_delete());

  ASSERT_TRUE(wait_for([&] { return sync_count(h, sn, "queued") + sync_count(h, sn, "sent") == 0; },
                       std::chrono::seconds(10)));
  EXPECT_EQ(sync_count(h, sn, "failed"), 0);
  EXPECT_GE(sync_count(h, sn, "done"), trip.min_done);
  std::string verbs;
  std::vector<std::string> params = {sn};
  for (const auto& v : trip.not_taken) {
    verbs += (verbs.empty() ? "?" : ", ?") + std::to_string(params.size() + 1);
    params.push_back(v);
  }
  EXPECT_EQ(h.query_int(
                "SELECT COUNT(*) FROM commands WHERE terminal_sn = ?1 AND verb IN (" + verbs + ")",
                params),
            0)
      << "a command of a kind " << sn << " does not take was queued";
}

}  // namespace pushgate::test
