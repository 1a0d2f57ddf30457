// Events from search rows and /wsapi messages; times; the session message.
#include "adapters/suprema/suprema_event.hpp"

#include <gtest/gtest.h>

#include <string>

#include "tests/unit/adapters/suprema/suprema_test_support.hpp"

namespace pushgate::adapters::suprema {
namespace {

using test_support::fixture;

TEST(SupremaTime, ReadsUtcOffsetsAndFractions) {
  auto t = parse_iso8601("2015-06-10T02:14:05.268Z");  // the KB's example
  ASSERT_TRUE(t);
  EXPECT_EQ(t->epoch_ms, 1433902445268);
  EXPECT_TRUE(t->zone_given);
  t = parse_iso8601("2015-06-10T11:14:05.268+09:00");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->epoch_ms, 1433902445268);
  EXPECT_EQ(t->offset_minutes, 540);
  t = parse_iso8601("2015-06-09T21:44:05.268-0430");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->epoch_ms, 1433902445268);
  t = parse_iso8601("2015-06-10 02:14:05");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->epoch_ms, 1433902445000);
  EXPECT_FALSE(t->zone_given);
  EXPECT_EQ(parse_iso8601("1977-10-08T04:00:00.00Z")->epoch_ms, 245131200000);
  for (const char* bad : {"", "yesterday", "2015-13-10T02:14:05Z", "2015-02-29T00:00:00Z",
                          "2015-06-10T24:00:00Z", "2015-06-10T02:14:05.Z", "2015-06-10T02:14:05Q",
                          "2015-06-10T02:14:05+9", "2015-06-10T02:14:05Zjunk"}) {
    EXPECT_FALSE(parse_iso8601(bad)) << bad;
  }
}

TEST(SupremaTime, FormatsWhatItReads) {
  EXPECT_EQ(format_iso8601_utc(1433902445268), "2015-06-10T02:14:05.268Z");
  EXPECT_EQ(format_iso8601_utc(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_iso8601_utc(-1), "1969-12-31T23:59:59.999Z");
  for (std::int64_t ms : {951782400000LL, 4102444799999LL, 1709630045268LL}) {
    EXPECT_EQ(parse_iso8601(format_iso8601_utc(ms))->epoch_ms, ms);
  }
}

TEST(SupremaJson, NumbersArriveAsStrings) {
  using nlohmann::json;
  EXPECT_EQ(json_integer(json("4102")), 4102);
  EXPECT_EQ(json_integer(json(4102)), 4102);
  EXPECT_EQ(json_integer(json(" 12 ")), 12);
  EXPECT_EQ(json_integer(json("12a")), std::nullopt);
  EXPECT_EQ(json_integer(json("")), std::nullopt);
  EXPECT_EQ(json_integer(json("99999999999999999999999")), std::nullopt);
  EXPECT_EQ(json_integer(json(1.5)), std::nullopt);
  EXPECT_EQ(json_integer(json::object()), std::nullopt);
  EXPECT_EQ(json_bool(json("false")), false);
  EXPECT_EQ(json_bool(json("TRUE")), true);
  EXPECT_EQ(json_bool(json("1")), true);
  EXPECT_EQ(json_bool(json("maybe")), std::nullopt);
}

TEST(SupremaWs, VerifyByCardEvent) {
  const WsMessage m = parse_ws_message(fixture("ws-event-verify-card.json"));
  ASSERT_EQ(m.kind, WsMessageKind::Event) << m.error;
  ASSERT_TRUE(m.event);
  const SupremaEvent& e = *m.event;
  EXPECT_EQ(e.id, "5432");
  EXPECT_EQ(e.code, 4102);
  EXPECT_EQ(e.code_name, "VERIFY_SUCCESS_CARD");
  EXPECT_EQ(e.classification.kind, "access");
  EXPECT_EQ(e.classification.outcome, Outcome::Granted);
  EXPECT_EQ(e.classification.method, "card");
  EXPECT_EQ(e.epoch_ms, 1709630045268);
  EXPECT_EQ(e.server_datetime, "2024-03-05T18:14:06.00Z");
  EXPECT_EQ(e.device_id, 538151189);
  EXPECT_EQ(e.device_name, "BioEntry W2 538151189");
  EXPECT_EQ(e.user_id, "1002");
  EXPECT_EQ(e.user_name, "Kim");
  EXPECT_EQ(e.tna_key, 2);
  EXPECT_EQ(e.punch_state, 1);
  EXPECT_EQ(e.device_utc_offset_minutes, 540);
  EXPECT_EQ(e.index, 88);
  EXPECT_FALSE(e.door_id);
  EXPECT_TRUE(e.problems.empty());
  EXPECT_NE(e.raw.find("\"enable_alert\":\"false\""), std::string::npos);  // raw kept whole
}

TEST(SupremaWs, DoorForcedEventWithDoorObject) {
  const WsMessage m = parse_ws_message(fixture("ws-event-door-forced.json"));
  ASSERT_EQ(m.kind, WsMessageKind::Event) << m.error;
  EXPECT_EQ(m.event->classification.kind, "alarm");
  EXPECT_EQ(m.event->classification.name, "BS2_EVENT_DOOR_FORCED_OPEN");
  EXPECT_EQ(m.event->door_id, 3);
  EXPECT_EQ(m.event->door_name, "Store room");
  EXPECT_EQ(m.event->user_id, "");
  EXPECT_EQ(m.event->punch_state, std::nullopt);
}

TEST(SupremaWs, OtherMessagesAreKeptNotErrors) {
  const WsMessage m = parse_ws_message(fixture("ws-device-status.json"));
  EXPECT_EQ(m.kind, WsMessageKind::Other);
  EXPECT_EQ(m.top_key, "Device");
  EXPECT_TRUE(m.error.empty());
  EXPECT_EQ(m.raw, fixture("ws-device-status.json"));
}

TEST(SupremaWs, BadMessagesSayWhy) {
  for (const std::string& text :
       {std::string("bs-session-id=abc"), std::string("[1,2]"), std::string("{}"),
        std::string("{\"Event\":\"x\"}"), std::string(300 * 1024, ' '),
        std::string(100, '[') + std::string(100, ']'), std::string("{\"Event\":{\"id\":\"1\"")}) {
    const WsMessage m = parse_ws_message(text);
    EXPECT_EQ(m.kind, WsMessageKind::Invalid) << text.substr(0, 40);
    EXPECT_FALSE(m.error.empty());
    EXPECT_FALSE(m.event);
    EXPECT_LE(m.raw.size(), kEventMessageBounds.max_bytes);
  }
}

TEST(SupremaWs, WrongTypesAreProblemsNotLosses) {
  const WsMessage m = parse_ws_message(
      R"({"Event":{"id":{"x":1},"datetime":"soon","device_id":{"id":"dev"},"door_id":"x",)"
      R"("event_type_id":{"code":"-5"},"tna_key":"F1","timezone":{"hour":"99"},"user_id":[1]}})");
  ASSERT_EQ(m.kind, WsMessageKind::Event) << m.error;
  const SupremaEvent& e = *m.event;
  EXPECT_EQ(e.problems.size(), 8U);
  EXPECT_FALSE(e.epoch_ms);
  EXPECT_FALSE(e.device_id);
  EXPECT_FALSE(e.code);
  EXPECT_EQ(e.classification.kind, "operation");
  EXPECT_FALSE(e.raw.empty());
}

TEST(SupremaWs, OversizeFieldsAreRefusedNotKept) {
  const std::string name(5000, 'n');
  const WsMessage m =
      parse_ws_message(R"({"Event":{"id":")" + name + R"(","user_id":{"user_id":")" + name +
                       R"(","name":")" + name + R"("}}})");
  ASSERT_EQ(m.kind, WsMessageKind::Event);
  EXPECT_EQ(m.event->id, "");
  EXPECT_EQ(m.event->user_id, "");
  EXPECT_EQ(m.event->user_name, "");
  EXPECT_EQ(m.event->problems.size(), 2U);
}

TEST(SupremaWs, DeviceLocalTimeFromTheTimezoneField) {
  const WsMessage m = parse_ws_message(fixture("ws-event-verify-card.json"));
  ASSERT_TRUE(m.event);
  // 09:14:05.268 UTC on a UTC+9 device is 18:14:05.268 on its clock.
  EXPECT_EQ(format_iso8601_utc(*device_local_ms(*m.event)), "2024-03-05T18:14:05.268Z");
  SupremaEvent no_zone = *m.event;
  no_zone.device_utc_offset_minutes.reset();
  EXPECT_EQ(device_local_ms(no_zone), std::nullopt);
}

TEST(SupremaWs, TimezoneHalfAndNegative) {
  const WsMessage m =
      parse_ws_message(R"({"Event":{"timezone":{"half":"1","hour":"3","negative":"1"}}})");
  ASSERT_EQ(m.kind, WsMessageKind::Event);
  EXPECT_EQ(m.event->device_utc_offset_minutes, -210);
}

TEST(SupremaWs, SessionMessage) {
  EXPECT_EQ(build_ws_session_message("4f1c2e0a9b"), "bs-session-id=4f1c2e0a9b");
  EXPECT_EQ(build_ws_session_message(""), "");
  EXPECT_EQ(build_ws_session_message("a b"), "");
  EXPECT_EQ(build_ws_session_message("a\r\nX: y"), "");
  EXPECT_EQ(build_ws_session_message(std::string(257, 'a')), "");
}

TEST(SupremaEventKey, SameEventSameKeyAcrossFeeds) {
  const WsMessage live = parse_ws_message(
      R"({"Event":{"id":"101","datetime":"2024-03-05T09:14:05.268Z","device_id":{"id":"538151189"}}})");
  const auto row = decode_event(nlohmann::json::parse(
      R"({"id":101,"datetime":"2024-03-05T18:14:05.268+09:00","device_id":{"id":538151189}})"));
  ASSERT_TRUE(live.event && row.event);
  EXPECT_EQ(event_key(*live.event), event_key(*row.event));
  const auto other_device = decode_event(nlohmann::json::parse(
      R"({"id":"101","datetime":"2024-03-05T09:14:05.268Z","device_id":{"id":"7"}})"));
  EXPECT_NE(event_key(*live.event), event_key(*other_device.event));
}

}  // namespace
}  // namespace pushgate::adapters::suprema
