// The code tables, and adapters/suprema/README.md generated from them.
#include "adapters/suprema/suprema_codes.hpp"

#include <gtest/gtest.h>

#include <set>
#include <utility>

#include "tests/support/generated_section.hpp"

namespace pushgate::adapters::suprema {
namespace {

TEST(SupremaCodes, KindsAreEventKindNames) {
  const std::set<std::string_view> kinds{"access",    "alarm",      "door_state",
                                         "operation", "attendance", "enrollment"};
  for (const EventCodeInfo& info : event_codes()) {
    EXPECT_TRUE(kinds.count(info.kind)) << info.name;
    EXPECT_EQ(info.outcome != Outcome::None, info.kind == "access") << info.name;
  }
}

TEST(SupremaCodes, GrantedByMethod) {
  const Classification card = classify(4102);  // 0x1006 [obs: WebSocketTest comment]
  EXPECT_TRUE(card.known);
  EXPECT_EQ(card.name, "BS2_EVENT_VERIFY_SUCCESS");
  EXPECT_EQ(card.kind, "access");
  EXPECT_EQ(card.outcome, Outcome::Granted);
  EXPECT_EQ(card.method, "card");
  EXPECT_EQ(card.reason, "");
  EXPECT_EQ(classify(0x1303).method, "face");  // identify by face
  EXPECT_EQ(classify(0x1008).method, "card+finger");
  EXPECT_EQ(classify(0x10FE).method, "unknown");  // an unknown method is still a grant
  EXPECT_EQ(classify(0x10FE).outcome, Outcome::Granted);
}

TEST(SupremaCodes, RefusedWithReason) {
  EXPECT_EQ(classify(0x1905).reason, "anti_passback");
  EXPECT_EQ(classify(0x1905).outcome, Outcome::Refused);
  EXPECT_EQ(classify(0x1901).reason, "no_door_permission");
  EXPECT_EQ(classify(0x1903).reason, "validity_period");
  EXPECT_EQ(classify(0x1102).reason, "invalid_card");
  EXPECT_EQ(classify(0x1800).reason, "unregistered_credential");
  EXPECT_EQ(classify(0x1803).reason, "auth_timeout");
  EXPECT_EQ(classify(0x19EE).reason, "access_denied");  // unknown sub: the row's reason
  EXPECT_EQ(classify(0x1A00).reason, "fake_finger");
}

TEST(SupremaCodes, DuressDoorsTamperAlarmZones) {
  EXPECT_EQ(classify(0x1206).outcome, Outcome::Granted);
  EXPECT_EQ(classify(0x1206).reason, "duress");
  EXPECT_EQ(classify(0x1501).reason, "duress");
  EXPECT_EQ(classify(0x5200).kind, "door_state");                     // opened
  EXPECT_EQ(classify(0x5400).kind, "alarm");                          // forced
  EXPECT_EQ(classify(0x5500).kind, "alarm");                          // held open
  EXPECT_EQ(classify(0x4000).kind, "alarm");                          // tamper on
  EXPECT_EQ(classify(0x9800).kind, "alarm");                          // intrusion alarm
  EXPECT_EQ(classify(0x6700).kind, "alarm");                          // fire alarm
  EXPECT_EQ(classify(0x3201).name, "BS2_EVENT_DEVICE_TIMEZONE_SET");  // exact row, not 0x3200
  EXPECT_EQ(classify(0x3200).name, "BS2_EVENT_DEVICE_TIME_SET");
}

TEST(SupremaCodes, UnknownCodesAreKeptAsOperation) {
  for (std::uint32_t code : {0xFF00U, 0x3255U, 0x10000U, 0xFFFFFFFFU}) {
    const Classification c = classify(code);
    EXPECT_FALSE(c.known) << code;
    EXPECT_EQ(c.kind, "operation");
    EXPECT_EQ(c.name, "unknown");
    EXPECT_EQ(c.outcome, Outcome::None);
  }
  EXPECT_EQ(find_event_code(0x10000), nullptr);  // not 0x00xx of a family
}

TEST(SupremaCodes, TnaKeyToPunchState) {
  EXPECT_EQ(punch_state_for_tna_key(0), std::nullopt);
  EXPECT_EQ(punch_state_for_tna_key(1), 0);
  EXPECT_EQ(punch_state_for_tna_key(2), 1);
  EXPECT_EQ(punch_state_for_tna_key(4), 3);
  EXPECT_EQ(punch_state_for_tna_key(16), std::nullopt);
  EXPECT_EQ(punch_state_for_tna_key(-1), std::nullopt);
}

TEST(SupremaCodes, TablesHaveNoDuplicateKeys) {
  std::set<std::pair<std::uint32_t, bool>> codes;
  for (const EventCodeInfo& info : event_codes()) {
    EXPECT_TRUE(codes.insert({info.code, info.family}).second) << info.name;
    if (info.family) {
      EXPECT_EQ(info.code & 0xFFU, 0U) << info.name;
    }
  }
  std::set<std::pair<int, int>> subs;
  for (const SubCodeInfo& info : sub_codes()) {
    EXPECT_TRUE(subs.insert({static_cast<int>(info.table), info.sub}).second) << info.slug;
  }
  std::set<int> keys;
  for (const TnaKeyInfo& info : tna_keys()) {
    EXPECT_TRUE(keys.insert(info.key).second) << info.key;
  }
}

/**
 * The README's tables are generated from the code. When this fails, rerun
 * with PUSHGATE_UPDATE_SUPREMA_README=1 to rewrite them, and commit the README.
 */
TEST(SupremaCodes, ReadmeTablesMatchTheCode) {
  pushgate::test::expect_generated_section(
      {"adapters/suprema/README.md", "suprema code tables", "adapters/suprema/suprema_codes.cpp",
       "PUSHGATE_UPDATE_SUPREMA_README"},
      render_code_tables_markdown());
}

}  // namespace
}  // namespace pushgate::adapters::suprema
