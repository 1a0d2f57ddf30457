// One BS2Event row of the device SDK → one pushgate Event (sdk_event.hpp):
// the code table, the union read by the code's family, the T&A key, the
// device's wall clock in its configured zone, unknown codes kept.
#include "adapters/suprema/sdk_event.hpp"

#include "adapters/suprema/suprema_codes.hpp"

#include <gtest/gtest.h>

#include <cstring>

#include <nlohmann/json.hpp>

namespace pushgate::adapters::suprema::sdk {
namespace {

Event row(std::uint32_t id, std::uint16_t code, std::uint32_t local_time) {
  Event e;
  std::memset(&e, 0, sizeof e);
  e.id = id;
  e.code = code;
  e.date_time = local_time;
  e.device_id = 540001234;
  return e;
}

Zone zone(const char* spec) {
  std::string error;
  auto z = Zone::parse(spec, error);
  EXPECT_TRUE(z) << error;
  return *z;
}

constexpr std::uint32_t kLocal = 1764547200;  // 2025-12-01 00:00:00 on the device's clock

TEST(SupremaSdkEvent, IdentifySuccessIsAGrantedAccessWithUserAndPunch) {
  auto r = row(42, 0x1303, kLocal);  // BS2_EVENT_IDENTIFY_SUCCESS, face
  std::memcpy(r.payload, "1001", 4);
  r.param = 1;  // T&A key 1
  const Zone z = zone("+09:00");
  auto e = map_event(r, {"540001234", &z, 5, "live"});
  EXPECT_EQ(e.terminal_sn, "540001234");
  EXPECT_EQ(e.record_key, "log:0000000042");
  EXPECT_EQ(e.kind, EventKind::Access);
  EXPECT_EQ(e.pin, "1001");
  EXPECT_EQ(e.event_code, 0x1303);
  EXPECT_EQ(e.local_time, "2025-12-01 00:00:00");
  ASSERT_TRUE(e.utc_ms);
  EXPECT_EQ(*e.utc_ms, (std::int64_t{kLocal} - 9 * 3600) * 1000);
  EXPECT_EQ(e.status, punch_state_for_tna_key(1).value_or(-2));
  auto extra = nlohmann::json::parse(e.extra_json);
  EXPECT_EQ(extra["result"], "granted");
  EXPECT_EQ(extra["event_id"], 42);
  EXPECT_EQ(extra["source"], "sdk_live");
  EXPECT_EQ(e.raw.size(), 96u);  // the 48 bytes, hex
}

TEST(SupremaSdkEvent, DoorEventsReadTheDoorIdFromTheUnion) {
  auto r = row(7, 0x5400, kLocal);  // BS2_EVENT_DOOR_FORCED_OPEN
  const std::uint32_t door = 2;
  std::memcpy(r.payload, &door, sizeof door);
  const Zone z = zone("UTC");
  auto e = map_event(r, {"1", &z, 5, "backfill"});
  EXPECT_EQ(e.door, 2);
  EXPECT_TRUE(e.pin.empty());
  EXPECT_EQ(nlohmann::json::parse(e.extra_json)["door_id"], 2);
}

TEST(SupremaSdkEvent, UnknownCodesAreStoredNotDropped) {
  auto r = row(9, 0xEE42, kLocal);
  const Zone z = zone("UTC");
  auto e = map_event(r, {"1", &z, 5, "live"});
  EXPECT_EQ(e.kind, EventKind::Operation);
  EXPECT_EQ(e.event_code, 0xEE42);
  auto extra = nlohmann::json::parse(e.extra_json);
  EXPECT_EQ(extra["unknown_code"], true);
  EXPECT_EQ(extra["code"], "0xEE42");
}

TEST(SupremaSdkEvent, UserIdBytesOutsidePrintableAsciiAreReplaced) {
  auto r = row(1, 0x1000, kLocal);
  const unsigned char id[] = {'4', 0x01, 0xff, '2'};
  std::memcpy(r.payload, id, sizeof id);
  const Zone z = zone("UTC");
  EXPECT_EQ(map_event(r, {"1", &z, 5, "live"}).pin, "4??2");
}

TEST(SupremaSdkEvent, AnUnsetClockKeepsTheRowWithoutUtc) {
  const Zone z = zone("UTC");
  auto e = map_event(row(3, 0x1000, 0), {"1", &z, 5, "live"});
  EXPECT_FALSE(e.utc_ms);
  EXPECT_EQ(nlohmann::json::parse(e.extra_json)["time_unset"], true);
}

}  // namespace
}  // namespace pushgate::adapters::suprema::sdk
