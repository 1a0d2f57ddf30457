// Issue 14 acceptance: a database written by the release before the device
// model (schema version 8, tests/fixtures/db/release-0008.sqlite, made by
// that release's daemon: see the README there) opens with the current
// gateway, migrates, and every row is still served through the product's
// read paths: REST for terminals, events, quarantine, commands, doors,
// access master data, linkage rules and sync; the core device records for
// what each terminal holds. Terminals get a vendor-neutral description
// derived from what they had announced.

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "gateway/device_records.hpp"
#include "gateway/store/device_record_queries.hpp"
#include "gateway/store/migrations.hpp"
#include "gateway/store/migrations_generated.hpp"
#include "gateway/store/store.hpp"
#include "tests/support/gateway_harness.hpp"

namespace pushgate::test {
namespace {

using nlohmann::json;

// The fixture's own counts (the README lists them).
constexpr int kEvents = 22;
constexpr int kQuarantine = 5;
constexpr int kCommands = 8;

json get(GatewayHarness& h, const std::string& target) {
  auto a = http_request(h.api_port(), "GET", target);
  EXPECT_EQ(a.status, 200) << target << ": " << a.body;
  return json::parse(a.body, nullptr, false);
}

class ReleaseUpgradeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto fixture =
        std::filesystem::path(PUSHGATE_SOURCE_DIR) / "tests/fixtures/db/release-0008.sqlite";
    ASSERT_TRUE(std::filesystem::exists(fixture)) << fixture;
    std::filesystem::copy_file(fixture, dir_.path() / "pushgate.db");
    // gateway.timezone as the release's daemon ran (the fixture script).
    h_ = std::make_unique<GatewayHarness>(
        std::vector<std::string>{"gateway.timezone=+01:00", "zkpush.token_check=log"}, dir_.path());
  }
  TempDir dir_;
  std::unique_ptr<GatewayHarness> h_;
};

TEST_F(ReleaseUpgradeTest, EveryMigrationRanOnTheOldDatabase) {
  // Every migration the daemon carries (versions may have a gap: numbers are
  // reserved per change, and one can land before a lower one).
  EXPECT_EQ(h_->query_int("SELECT COUNT(*) FROM schema_migrations WHERE dirty = 0"),
            static_cast<std::int64_t>(store::generated::kMigrations.size()));
  EXPECT_EQ(h_->query_int("SELECT MAX(version) FROM schema_migrations"),
            store::latest_schema_version());
  EXPECT_GE(h_->query_int("SELECT MAX(version) FROM schema_migrations"), 9);
}

// Migration 0012 noted every terminal whose punches the release stored under
// their key as sent, so a resend of one after the upgrade is a duplicate.
TEST_F(ReleaseUpgradeTest, PunchesStoredByTheReleaseKeepTheirDedup) {
  auto terminals = h_->query_int(
      "SELECT COUNT(DISTINCT terminal_id) FROM events WHERE substr(record_key, 1, 7) = 'ATTLOG' ||"
      " char(9)");
  EXPECT_GT(terminals, 0);
  EXPECT_EQ(h_->query_int("SELECT COUNT(*) FROM attlog_legacy_keys"), terminals);
}

TEST_F(ReleaseUpgradeTest, TerminalsAreServedWithADerivedDeviceModel) {
  const auto body = get(*h_, "/api/v1/terminals");
  ASSERT_TRUE(body.is_object());
  std::map<std::string, json> by_sn;
  for (const auto& t : body["terminals"]) {
    by_sn[t["sn"]] = t;
  }
  ASSERT_EQ(by_sn.size(), 3u) << body.dump();

  const auto& att = by_sn.at("ATT0008");
  EXPECT_EQ(att["flavour"], "attendance");  // kept for compatibility
  EXPECT_EQ(att["state"], "accepted");
  EXPECT_EQ(att["firmware"], "ZAM170-NF-Ver1.3.5");
  EXPECT_EQ(att["vendor"], "zkteco");
  EXPECT_EQ(att["protocol"], "zkpush-attendance");
  EXPECT_EQ(att["model"], "SpeedFace-V5L[TD]");
  EXPECT_EQ(att["capabilities"]["doors"], 0);
  EXPECT_EQ(att["capabilities"]["user_sync"], false);
  EXPECT_EQ(att["capabilities"]["commands"], "poll");
  EXPECT_EQ(att["capabilities"]["decision"], "local");
  // FingerFunOn, FaceFunOn and PvFunOn are 1 in its options.
  EXPECT_EQ(att["capabilities"]["biometrics"], json::array({"fingerprint", "face", "palm"}));
  EXPECT_EQ(att["counts"]["users"], 1) << att.dump();

  const auto& acc = by_sn.at("ACC0008");
  EXPECT_EQ(acc["flavour"], "access");
  EXPECT_EQ(acc["device_type"], "acc");
  EXPECT_EQ(acc["vendor"], "zkteco");
  EXPECT_EQ(acc["protocol"], "zkpush-security");
  EXPECT_EQ(acc["model"], "ProBio");             // ~DeviceName of its options
  EXPECT_EQ(acc["capabilities"]["doors"], 1);    // LockCount=1 at registration
  EXPECT_EQ(acc["capabilities"]["readers"], 2);  // ReaderCount=2
  EXPECT_EQ(acc["capabilities"]["user_sync"], true);
  EXPECT_EQ(acc["capabilities"]["decision"], "gateway");  // AutoServerFunOn=1
  EXPECT_TRUE(acc["info"]["registered"].get<bool>()) << acc["info"].dump();

  const auto& pend = by_sn.at("PEND0008");
  EXPECT_EQ(pend["state"], "refused");
  EXPECT_EQ(pend["protocol"], "zkpush-attendance");

  // The registry answers from the migrated rows too.
  const auto r = h_->gateway().terminals().find("ACC0008");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->capabilities.user_sync);
  // Stored before sync_writes: the sync writes to it everything it wrote before.
  EXPECT_EQ(r->capabilities.sync_writes, kAllSyncWrites);
  EXPECT_TRUE(r->capabilities.has(Biometric::Fingerprint));
  EXPECT_EQ(r->capabilities.decision, DecisionMode::Gateway);
}

TEST_F(ReleaseUpgradeTest, EveryEventAndQuarantinedLineIsServed) {
  std::set<std::int64_t> ids;
  std::string after = "0";
  for (int page = 0; page < 100; ++page) {
    const auto body = get(*h_, "/api/v1/events?limit=5&after=" + after);
    for (const auto& e : body["events"]) {
      // The upgrade's first start created the first admin (an audit event of
      // the gateway's own, below); the rest are the release's.
      if (e["kind"] != "audit") {
        ids.insert(e["id"].get<std::int64_t>());
      }
    }
    if (!body["more"].get<bool>()) {
      break;
    }
    after = std::to_string(body["next_after"].get<std::int64_t>());
  }
  EXPECT_EQ(ids.size(), static_cast<std::size_t>(kEvents));
  // The release had no accounts: the first start after the upgrade made `admin`.
  EXPECT_TRUE(std::filesystem::exists(dir_.path() / "initial-admin-password"));
  EXPECT_EQ(h_->query_int("SELECT COUNT(*) FROM events WHERE kind = 12"
                          " AND json_extract(extra, '$.action') = 'user_created'"),
            1);
  EXPECT_EQ(get(*h_, "/api/v1/quarantine?limit=100")["quarantine"].size(),
            static_cast<std::size_t>(kQuarantine));
}

TEST_F(ReleaseUpgradeTest, CommandsDoorsMasterDataRulesAndSyncAreServed) {
  const auto commands = get(*h_, "/api/v1/commands?limit=100")["commands"];
  ASSERT_EQ(commands.size(), static_cast<std::size_t>(kCommands)) << commands.dump();
  int done = 0;
  for (const auto& c : commands) {
    done += c["state"] == "done" ? 1 : 0;
  }
  EXPECT_EQ(done, 1);  // the reboot ATT0008 answered

  const auto doors = get(*h_, "/api/v1/doors")["doors"];
  ASSERT_EQ(doors.size(), 1u) << doors.dump();
  EXPECT_EQ(doors[0]["terminal"], "ACC0008");
  EXPECT_EQ(doors[0]["door"], 1);

  std::set<std::string> pins;
  const auto users = get(*h_, "/api/v1/access/users");
  for (const auto& u : users["items"]) {
    pins.insert(u["pin"].get<std::string>());
  }
  EXPECT_EQ(pins.size(), 3u);
  EXPECT_EQ(pins.count("500"), 1u);
  EXPECT_EQ(get(*h_, "/api/v1/access/levels")["items"].size(), 1u);
  EXPECT_EQ(get(*h_, "/api/v1/access/timezones")["items"].size(), 1u);
  EXPECT_EQ(get(*h_, "/api/v1/access/holidays")["items"].size(), 1u);

  const auto rules = get(*h_, "/api/v1/linkage/rules");
  ASSERT_EQ(rules["rules"].size(), 1u) << rules.dump();
  EXPECT_EQ(rules["rules"][0]["id"], "forced");

  const auto sync = http_request(h_->api_port(), "GET", "/api/v1/sync");
  EXPECT_EQ(sync.status, 200) << sync.body;
}

TEST_F(ReleaseUpgradeTest, WhatEachTerminalHoldsIsReadAsDeviceRecords) {
  auto& store = h_->gateway().store();
  const auto keys = store.read([](store::Connection& db) {
    boost::system::error_code ec;
    auto k = store::read_device_user_keys(db, ec);
    EXPECT_FALSE(ec) << ec.message();
    return k;
  });
  using Key = std::pair<std::string, std::string>;
  EXPECT_EQ(keys, (std::vector<Key>{{"ACC0008", "4"}, {"ATT0008", "200"}}));
  // Every pin with a user, template or photo row in the fixture (templates
  // and photos can come before their user).
  const std::vector<Key> pins = {{"ACC0008", "1"},
                                 {"ACC0008", "4"},
                                 {"ATT0008", "100"},
                                 {"ATT0008", "200"},
                                 {"ATT0008", "300"}};
  std::size_t users = 0;
  std::size_t templates = 0;
  std::size_t photos = 0;
  std::set<Biometric> kinds;
  for (const auto& [sn, pin] : pins) {
    const auto e = store.read([&sn = sn, &pin = pin](store::Connection& db) {
      boost::system::error_code ec;
      auto r = store::read_device_enrolment(db, sn, pin, ec);
      EXPECT_FALSE(ec) << ec.message();
      return r;
    });
    if (e.user) {
      ++users;
      EXPECT_EQ(e.user->pin, pin);
    }
    for (const auto& t : e.templates) {
      EXPECT_FALSE(t.data.empty());
      ASSERT_TRUE(t.biometric()) << "type " << t.type;
      kinds.insert(*t.biometric());
    }
    for (const auto& p : e.photos) {
      EXPECT_FALSE(p.content.empty());
    }
    templates += e.templates.size();
    photos += e.photos.size();
  }
  EXPECT_EQ(users, static_cast<std::size_t>(h_->query_int("SELECT COUNT(*) FROM terminal_users")));
  EXPECT_EQ(templates,
            static_cast<std::size_t>(h_->query_int("SELECT COUNT(*) FROM terminal_templates")));
  EXPECT_EQ(photos,
            static_cast<std::size_t>(h_->query_int("SELECT COUNT(*) FROM terminal_photos")));
  EXPECT_EQ(templates, 6u);
  EXPECT_EQ(photos, 2u);
  EXPECT_EQ(kinds, (std::set<Biometric>{Biometric::Fingerprint, Biometric::Face, Biometric::Palm}));
}

}  // namespace
}  // namespace pushgate::test
