// The core device model on a real SQLite store: a terminal's vendor-neutral
// description (capabilities) round-trips through the terminals table, and
// device users, templates and photos written with gateway/device_records.hpp
// read back as the same records (gateway/store/device_record_queries).
#include "gateway/device_records.hpp"

#include <gtest/gtest.h>

#include <future>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "gateway/config/config.hpp"
#include "gateway/config/core_config.hpp"
#include "gateway/store/device_record_queries.hpp"
#include "gateway/store/store.hpp"
#include "gateway/store/terminal_queries.hpp"
#include "gateway/terminals.hpp"
#include "tests/unit/gateway/support/gateway_test_support.hpp"

namespace pushgate {
namespace {

using test::FakeClock;
using test::TempDir;

class DeviceRecordsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store::Store::Options so;
    so.path = dir_.file("pushgate.db");
    std::string error;
    store_ = store::Store::open(so, clock_, metrics_, error);
    ASSERT_NE(store_, nullptr) << error;
    store_->start();
  }
  void TearDown() override {
    if (store_) {
      store_->stop();
    }
  }

  CommitResult commit(WriteBatch batch) {
    auto p = std::make_shared<std::promise<CommitResult>>();
    auto f = p->get_future();
    store_->append(std::move(batch), [p](CommitResult r) { p->set_value(std::move(r)); });
    EXPECT_EQ(f.wait_for(test::kDeadline), std::future_status::ready);
    return f.get();
  }

  DeviceEnrolment read(const std::string& sn, const std::string& pin) {
    return store_->read([&](store::Connection& db) {
      boost::system::error_code ec;
      auto e = store::read_device_enrolment(db, sn, pin, ec);
      EXPECT_FALSE(ec) << ec.message();
      return e;
    });
  }

  std::vector<TerminalRecord> terminals() {
    return store_->read([](store::Connection& db) {
      boost::system::error_code ec;
      auto t = store::read_terminals(db, ec);
      EXPECT_FALSE(ec) << ec.message();
      return t;
    });
  }

  TempDir dir_;
  FakeClock clock_;
  metrics::Registry metrics_;
  std::unique_ptr<store::Store> store_;
};

TEST(DeviceCapabilitiesTest, JsonNamesEveryFieldAndReadsBackTheSame) {
  DeviceCapabilities c;
  c.doors = 4;
  c.readers = 8;
  c.add(Biometric::Fingerprint);
  c.add(Biometric::FingerVein);
  c.decision = DecisionMode::Gateway;
  c.commands = CommandDelivery::Push;
  c.user_sync = true;
  c.sync_writes = sync_bit(SyncWrite::Users) | sync_bit(SyncWrite::Cards);
  c.shared_users = true;
  const nlohmann::json j = c;
  EXPECT_EQ(j, nlohmann::json::parse(R"({"doors": 4, "readers": 8,
      "biometrics": ["fingerprint", "finger_vein"], "decision": "gateway",
      "commands": "push", "user_sync": true, "sync_writes": ["users", "cards"],
      "shared_users": true})"));
  EXPECT_EQ(j.get<DeviceCapabilities>(), c);
  // Every write has a name that reads back.
  c.sync_writes = kAllSyncWrites;
  EXPECT_EQ(nlohmann::json(c)["sync_writes"].size(), kSyncWrites.size());
  EXPECT_EQ(nlohmann::json(c).get<DeviceCapabilities>(), c);
  // A row stored before sync_writes (a ZKTeco access terminal) takes everything;
  // one that names none takes none.
  EXPECT_EQ(nlohmann::json::parse(R"({"user_sync": true})").get<DeviceCapabilities>().sync_writes,
            kAllSyncWrites);
  EXPECT_EQ(nlohmann::json::parse(R"({"user_sync": true, "sync_writes": []})")
                .get<DeviceCapabilities>()
                .sync_writes,
            0u);
  EXPECT_EQ(nlohmann::json::parse(R"({"user_sync": false})").get<DeviceCapabilities>().sync_writes,
            0u);
  // Unknown names and members are ignored; what is absent keeps its default.
  const auto partial =
      nlohmann::json::parse(R"({"doors": -2, "biometrics": ["face", "smell", 3], "x": 1})")
          .get<DeviceCapabilities>();
  EXPECT_EQ(partial.doors, 0);
  EXPECT_TRUE(partial.has(Biometric::Face));
  EXPECT_FALSE(partial.has(Biometric::Fingerprint));
  EXPECT_EQ(partial.decision, DecisionMode::Local);
  EXPECT_EQ(partial.commands, CommandDelivery::Poll);
  EXPECT_FALSE(partial.user_sync);
}

TEST(DeviceRecordsNamesTest, TemplateTypesMapOntoBiometrics) {
  EXPECT_EQ(biometric_of_template_type(1), Biometric::Fingerprint);
  EXPECT_EQ(biometric_of_template_type(2), Biometric::Face);
  EXPECT_EQ(biometric_of_template_type(9), Biometric::Face);
  EXPECT_EQ(biometric_of_template_type(8), Biometric::Palm);
  EXPECT_EQ(biometric_of_template_type(7), Biometric::FingerVein);
  EXPECT_EQ(biometric_of_template_type(4), Biometric::Iris);
  EXPECT_EQ(biometric_of_template_type(0), std::nullopt);
  EXPECT_EQ(biometric_of_template_type(3), std::nullopt);  // voice: not a template we model
  for (auto b : kBiometrics) {
    EXPECT_EQ(parse_biometric(to_string(b)), b);
  }
  EXPECT_EQ(parse_photo_kind("biophoto"), DevicePhoto::Kind::Biometric);
  EXPECT_EQ(parse_photo_kind("userpic"), DevicePhoto::Kind::User);
  EXPECT_EQ(parse_photo_kind("selfie"), std::nullopt);
}

TEST_F(DeviceRecordsTest, TerminalDescriptionRoundTripsAndAnUndescribedWriteKeepsIt) {
  TerminalRecord t;
  t.sn = "T1";
  t.vendor = "acme";
  t.model = "Door-4";
  t.protocol = "acme-http";
  t.firmware = "1.2";
  t.capabilities.doors = 4;
  t.capabilities.add(Biometric::Face);
  t.capabilities.commands = CommandDelivery::Push;
  t.first_seen_ms = t.last_seen_ms = 1000;
  WriteBatch b;
  b.ops.push_back(store::upsert_terminal(t));
  ASSERT_FALSE(commit(std::move(b)).ec);
  auto rows = terminals();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].vendor, "acme");
  EXPECT_EQ(rows[0].model, "Door-4");
  EXPECT_EQ(rows[0].protocol, "acme-http");
  EXPECT_EQ(rows[0].capabilities, t.capabilities);

  // A write from a record not described (first sight, a poll) keeps the description.
  TerminalRecord seen;
  seen.sn = "T1";
  seen.last_seen_ms = 2000;
  WriteBatch again;
  again.ops.push_back(store::upsert_terminal(seen));
  ASSERT_FALSE(commit(std::move(again)).ec);
  rows = terminals();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].protocol, "acme-http");
  EXPECT_EQ(rows[0].capabilities, t.capabilities);
  EXPECT_EQ(rows[0].last_seen_ms, 2000);
}

TEST_F(DeviceRecordsTest, UserTemplatesAndPhotosReadBackAndLeaveTogether) {
  DeviceUser u;
  u.pin = "42";
  u.name = "Ada";
  u.privilege = 14;
  u.password = "77";
  u.card = "123456";
  u.other_cards = {"654321"};
  u.group = 2;
  u.verify = 1;
  u.fields_json = R"({"pin":"42","vice_card":"654321"})";
  DeviceTemplate finger;
  finger.pin = "42";
  finger.type = 1;
  finger.number = 6;
  finger.valid = 1;
  finger.major_ver = "10";
  finger.format = "0";
  finger.size = 8;
  finger.data = "QUJDREVGR0g=";
  DeviceTemplate face = finger;
  face.type = 9;
  face.number = 0;
  face.major_ver = "58";
  DevicePhoto pic;
  pic.pin = "42";
  pic.kind = DevicePhoto::Kind::Biometric;
  pic.type = 9;
  pic.file_name = "9_42.jpg";
  pic.size = 4;
  pic.content = "/9j/";

  WriteBatch b;
  add_device_user(b, "T1", u);
  add_device_template(b, "T1", finger);
  add_device_template(b, "T1", face);
  add_device_photo(b, "T1", pic);
  add_device_template(b, "T2", finger);  // another terminal, same pin
  ASSERT_FALSE(commit(std::move(b)).ec);

  auto e = read("T1", "42");
  ASSERT_TRUE(e.user);
  EXPECT_EQ(e.user->name, "Ada");
  EXPECT_EQ(e.user->privilege, 14);
  EXPECT_TRUE(e.user->has_password());
  EXPECT_EQ(e.user->card, "123456");
  EXPECT_EQ(e.user->other_cards, std::vector<std::string>{"654321"});
  EXPECT_EQ(e.user->group, 2);
  EXPECT_EQ(e.user->verify, 1);
  ASSERT_EQ(e.templates.size(), 2u);
  EXPECT_EQ(e.templates[0].biometric(), Biometric::Fingerprint);
  EXPECT_EQ(e.templates[0].number, 6);
  EXPECT_EQ(e.templates[0].major_ver, "10");
  EXPECT_EQ(e.templates[0].minor_ver, "");
  EXPECT_EQ(e.templates[0].size, 8);
  EXPECT_EQ(e.templates[0].data, finger.data);
  EXPECT_EQ(e.templates[1].biometric(), Biometric::Face);
  ASSERT_EQ(e.photos.size(), 1u);
  EXPECT_EQ(e.photos[0].kind, DevicePhoto::Kind::Biometric);
  EXPECT_EQ(e.photos[0].file_name, "9_42.jpg");
  EXPECT_EQ(e.photos[0].size, 4);

  // An upsert replaces the record of the same key.
  u.name = "Ada L.";
  WriteBatch change;
  add_device_user(change, "T1", u);
  ASSERT_FALSE(commit(std::move(change)).ec);
  EXPECT_EQ(read("T1", "42").user->name, "Ada L.");

  const auto keys = store_->read([](store::Connection& db) {
    boost::system::error_code ec;
    return store::read_device_user_keys(db, ec);
  });
  EXPECT_EQ(keys, (std::vector<std::pair<std::string, std::string>>{{"T1", "42"}}));

  WriteBatch gone;
  remove_device_user(gone, "T1", "42");
  ASSERT_FALSE(commit(std::move(gone)).ec);
  e = read("T1", "42");
  EXPECT_FALSE(e.user);
  EXPECT_TRUE(e.templates.empty());
  EXPECT_TRUE(e.photos.empty());
  EXPECT_EQ(read("T2", "42").templates.size(), 1u) << "only that terminal's records go";
}

}  // namespace
}  // namespace pushgate
