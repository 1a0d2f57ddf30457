// Event decoding: the semicolon text form and the JSON push form into one struct.
#include "adapters/dahua/dahua_event.hpp"

#include <gtest/gtest.h>

namespace pushgate::adapters::dahua {
namespace {

TEST(DahuaEventText, DecodesTheIntelbrasSampleFields) {
  const EventParse parsed = parse_event_text(
      "Code=AccessControl;action=Pulse;index=0;data={\n"
      "   \"CardName\" : \"\",\n   \"CardNo\" : \"12EA3004\",\n   \"CardType\" : 0,\n"
      "   \"CreateTime\" : 1629721071,\n   \"Door\" : 0,\n   \"ErrorCode\" : 0,\n"
      "   \"Method\" : 1,\n   \"ReaderID\" : \"1\",\n   \"Status\" : 1,\n   \"Type\" : \"Entry\",\n"
      "   \"UTC\" : 1629721071,\n   \"UserID\" : \"1\",\n   \"UserType\" : 0\n}");
  ASSERT_TRUE(parsed.event) << parsed.error;
  const DahuaEvent& e = *parsed.event;
  EXPECT_EQ(e.code, "AccessControl");
  EXPECT_EQ(e.action, EventAction::Pulse);
  EXPECT_EQ(e.index, 0);
  ASSERT_TRUE(e.has_data);
  EXPECT_EQ(e.data.card_no, "12EA3004");
  EXPECT_EQ(e.data.card_name, "");
  EXPECT_EQ(e.data.card_type, 0);
  EXPECT_EQ(e.data.door, 0);
  EXPECT_EQ(e.data.error_code, 0);
  EXPECT_EQ(e.data.method, 1);
  EXPECT_EQ(e.data.reader_id, "1");
  EXPECT_EQ(e.data.status, 1);
  EXPECT_EQ(e.data.direction, Direction::Entry);
  EXPECT_EQ(e.data.utc, 1629721071);
  ASSERT_TRUE(e.data.create_time);
  EXPECT_EQ(e.data.create_time->epoch, 1629721071);
  EXPECT_EQ(e.data.user_id, "1");
  EXPECT_EQ(e.data.user_type, 0);
  EXPECT_TRUE(e.data.other.empty());
  EXPECT_TRUE(e.data.bad.empty());
  EXPECT_TRUE(e.problems.empty());
  EXPECT_EQ(e.data.best_epoch(), 1629721071);
}

TEST(DahuaEventText, KeysInAnyCaseAndEqualsOrSemicolonsInsideValues) {
  const EventParse parsed = parse_event_text(
      "code=CrossRegionDetection;Action=Start;INDEX=2;Extra=a=b;data={\"Name\":\"Drive; Gate\","
      "\"Encoded\":\"dGVzdA==\"}");
  ASSERT_TRUE(parsed.event) << parsed.error;
  const DahuaEvent& e = *parsed.event;
  EXPECT_EQ(e.code, "CrossRegionDetection");
  EXPECT_EQ(e.action, EventAction::Start);
  EXPECT_EQ(e.index, 2);
  ASSERT_EQ(e.other_keys.size(), 1u);
  EXPECT_EQ(e.other_keys[0].key, "Extra");
  EXPECT_EQ(e.other_keys[0].value, "a=b");
  EXPECT_EQ(e.data.name, "Drive; Gate");
  ASSERT_EQ(e.data.other.size(), 1u);
  EXPECT_EQ(e.data.other[0].value, "dGVzdA==");
}

TEST(DahuaEventText, UnknownCodesAreEventsAndNonJsonDataIsKeptAsAProblem) {
  const EventParse parsed =
      parse_event_text("Code=SomethingNew;action=Start;index=0;data=key=value");
  ASSERT_TRUE(parsed.event);
  EXPECT_EQ(parsed.event->code, "SomethingNew");
  EXPECT_FALSE(parsed.event->has_data);
  EXPECT_EQ(parsed.event->data_raw, "key=value");
  EXPECT_EQ(parsed.event->problems.size(), 1u);
}

TEST(DahuaEventText, NoCodeIsNoEvent) {
  EXPECT_FALSE(parse_event_text("action=Start;index=0").event);
  EXPECT_FALSE(parse_event_text("").event);
  EXPECT_FALSE(parse_event_text("some random text").event);
}

TEST(DahuaEventText, TooDeepDataIsRefusedButTheEventIsKept) {
  const std::string deep =
      "Code=X;action=Pulse;data=" + std::string(100, '[') + std::string(100, ']');
  const EventParse parsed = parse_event_text(deep);
  ASSERT_TRUE(parsed.event);
  EXPECT_FALSE(parsed.event->has_data);
  EXPECT_FALSE(parsed.event->problems.empty());
  const std::string deep_object =
      "Code=X;action=Pulse;data={\"a\":" + std::string(100, '[') + std::string(100, ']') + "}";
  const EventParse object = parse_event_text(deep_object);
  ASSERT_TRUE(object.event);
  EXPECT_FALSE(object.event->has_data);
  EXPECT_EQ(object.event->problems.size(), 1u);
}

TEST(DahuaEventFields, StatusAsTextAndBadValuesAreKept) {
  AccessFields f;
  apply_field(f, "Status", "Open");
  apply_field(f, "door", "abc");
  apply_field(f, "CreateTime", "2024-05-01 08:30:00");
  apply_field(f, "Whatever", "x");
  EXPECT_FALSE(f.status);
  EXPECT_EQ(f.status_text, "Open");
  EXPECT_FALSE(f.door);
  ASSERT_EQ(f.bad.size(), 1u);
  EXPECT_EQ(f.bad[0].key, "door");
  ASSERT_TRUE(f.create_time);
  EXPECT_TRUE(f.create_time->device_local);
  EXPECT_FALSE(f.create_time->epoch);
  EXPECT_EQ(f.create_time->text, "2024-05-01 08:30:00");
  ASSERT_EQ(f.other.size(), 1u);
  EXPECT_FALSE(f.best_epoch());
}

TEST(DahuaEventFields, BestTimePrefersRealUtcThenUtcThenCreateTime) {
  AccessFields f;
  apply_field(f, "CreateTime", "100");
  EXPECT_EQ(f.best_epoch(), 100);
  apply_field(f, "UTC", "200");
  EXPECT_EQ(f.best_epoch(), 200);
  apply_field(f, "RealUTC", "190");
  EXPECT_EQ(f.best_epoch(), 190);
}

TEST(DahuaDeviceTime, RefusesImpossibleDates) {
  EXPECT_FALSE(parse_device_time("2024-13-01 08:30:00").usable());
  EXPECT_FALSE(parse_device_time("2024-05-01 8:30:00").usable());
  EXPECT_TRUE(parse_device_time("2024-05-01T08:30:00").device_local);
  EXPECT_EQ(parse_device_time(" 1700000000 ").epoch, 1700000000);
}

TEST(DahuaEventObject, DecodesThePushJsonForm) {
  const auto json = nlohmann::json::parse(
      R"({"Code":"AccessControl","Action":"Pulse","Index":0,"Data":{"UserID":"7","CardNo":"A1",
          "Door":1,"Method":15,"Status":1,"Type":"Entry","UTC":1700000000,"RecNo":5}})");
  const EventParse parsed = decode_event_object(json, json.dump());
  ASSERT_TRUE(parsed.event) << parsed.error;
  EXPECT_EQ(parsed.event->code, "AccessControl");
  EXPECT_EQ(parsed.event->action, EventAction::Pulse);
  EXPECT_EQ(parsed.event->data.door, 1);
  EXPECT_EQ(parsed.event->data.rec_no, 5);
  EXPECT_EQ(record_key(parsed.event->code, parsed.event->data), "recno:5");
}

TEST(DahuaEventObject, HugeAndFractionalNumbersAreKeptAsText) {
  // 1e46 used to be converted to an integer before its range was checked (UBSan, fuzzing).
  const auto json =
      nlohmann::json::parse(R"({"Code":"X","Data":{"UTC":1.11111e+46,"Door":2.0,"RecNo":1.5}})");
  const EventParse parsed = decode_event_object(json, json.dump());
  ASSERT_TRUE(parsed.event);
  EXPECT_FALSE(parsed.event->data.utc);
  EXPECT_EQ(parsed.event->data.door, 2);
  EXPECT_FALSE(parsed.event->data.rec_no);
  EXPECT_EQ(parsed.event->data.bad.size(), 2u);
}

TEST(DahuaRecordKey, WithoutRecNoTheKeyIsStableAndDependsOnTheFields) {
  AccessFields a;
  apply_field(a, "UTC", "1700000000");
  apply_field(a, "UserID", "1");
  AccessFields b = a;
  EXPECT_EQ(record_key("AccessControl", a), record_key("AccessControl", b));
  apply_field(b, "Door", "1");
  EXPECT_NE(record_key("AccessControl", a), record_key("AccessControl", b));
  EXPECT_EQ(record_key("AccessControl", a).substr(0, 2), "h:");
}

}  // namespace
}  // namespace pushgate::adapters::dahua
