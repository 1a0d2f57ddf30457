// Included first: proves the header is self-contained.
#include "adapters/zkpush/zkpush_security_rtlog.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "adapters/zkpush/zkpush_security_codes.hpp"
#include "tests/unit/adapters/zkpush/zkpush_security_test_support.hpp"

namespace pushgate::adapters::zkpush::security {
namespace {

using test_support::fixture;
using test_support::problem_lines;
using test_support::reasons;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// ---------------------------------------------------------------------------
// Door states and rtstate (§7.3)
// ---------------------------------------------------------------------------

TEST(DoorStateTest, DecodesSensorRelayAndAlarmBits) {
  const DoorStatesResult result = decode_door_states("5A", "05", "0102000000000000", 4);
  ASSERT_TRUE(result.error.empty()) << result.error;
  ASSERT_EQ(result.doors.size(), 4U);
  // 0x5A = 01 01 10 10: doors 4 and 3 closed, 2 and 1 open (door 1 lowest).
  EXPECT_EQ(result.doors[0].sensor, DoorSensor::Open);
  EXPECT_EQ(result.doors[1].sensor, DoorSensor::Open);
  EXPECT_EQ(result.doors[2].sensor, DoorSensor::Closed);
  EXPECT_EQ(result.doors[3].sensor, DoorSensor::Closed);
  // 0x05: relays 1 and 3 disconnected.
  EXPECT_EQ(result.doors[0].relay, RelayState::Disconnected);
  EXPECT_EQ(result.doors[1].relay, RelayState::Connected);
  EXPECT_EQ(result.doors[2].relay, RelayState::Disconnected);
  EXPECT_TRUE(result.doors[0].has_alarm(DoorAlarm::AccidentalOpen));
  EXPECT_FALSE(result.doors[0].has_alarm(DoorAlarm::Tamper));
  EXPECT_TRUE(result.doors[1].has_alarm(DoorAlarm::Tamper));
  EXPECT_EQ(result.doors[3].alarms, 0);
  EXPECT_EQ(result.doors[3].door, 4);
}

TEST(DoorStateTest, CoversAsManyDoorsAsTheLongestField) {
  const DoorStatesResult result = decode_door_states("C0FF", std::nullopt, std::nullopt);
  ASSERT_EQ(result.doors.size(), 8U);
  EXPECT_EQ(result.doors[3].sensor, DoorSensor::Unknown);  // 0b11, undefined
  EXPECT_EQ(result.doors[0].sensor, DoorSensor::None);
  EXPECT_FALSE(result.doors[0].relay.has_value());
  EXPECT_FALSE(result.doors[0].alarms.has_value());
  EXPECT_TRUE(decode_door_states(std::nullopt, std::nullopt, std::nullopt).doors.empty());
  EXPECT_TRUE(decode_door_states("", "", "").doors.empty());
}

TEST(DoorStateTest, RefusesBadHexAndTooManyDoors) {
  EXPECT_THAT(decode_door_states("5", std::nullopt, std::nullopt).error, HasSubstr("sensor"));
  EXPECT_THAT(decode_door_states(std::nullopt, "zz", std::nullopt).error, HasSubstr("relay"));
  EXPECT_THAT(decode_door_states(std::nullopt, std::nullopt, std::string(130, '0')).error,
              HasSubstr("65 doors"));
  const DoorStatesResult many =
      decode_door_states(std::string(34, '0'), std::nullopt, std::nullopt);
  EXPECT_THAT(many.error, HasSubstr("68 doors"));
  EXPECT_TRUE(many.doors.empty());
  EXPECT_TRUE(decode_door_states(std::string(32, '0'), std::nullopt, std::nullopt).error.empty());
}

TEST(RtStateParserTest, ParsesTheSpecExample) {
  const RtStateResult result = parse_rtstate(fixture("rtstate-7.3-example.http").body);
  EXPECT_TRUE(result.problems.empty());
  ASSERT_EQ(result.records.size(), 1U);
  const RtStateRecord& r = result.records[0];
  EXPECT_EQ(r.time, (DeviceTime{2017, 1, 10, 15, 42, 40}));
  EXPECT_EQ(r.sensor, "00");
  EXPECT_EQ(r.relay, "00");
  EXPECT_EQ(r.alarm, "0200000000000000");
  EXPECT_EQ(r.raw, "time=2017-01-10 15:42:40\tsensor=00\trelay=00\talarm=0200000000000000");
  ASSERT_EQ(r.doors.size(), 8U);
  EXPECT_EQ(r.doors[0].sensor, DoorSensor::None);
  EXPECT_EQ(r.doors[0].relay, RelayState::Connected);
  EXPECT_TRUE(r.doors[0].has_alarm(DoorAlarm::Tamper));
  EXPECT_FALSE(r.doors[4].sensor.has_value());  // sensor=00 covers doors 1-4
  // Told the terminal has one door (LockCount=1), only door 1 is reported.
  const RtStateResult one = parse_rtstate(fixture("rtstate-7.3-example.http").body, 1);
  ASSERT_EQ(one.records.size(), 1U);
  EXPECT_EQ(one.records[0].doors.size(), 1U);
}

TEST(RtStateParserTest, QuarantinesRowsItCannotDecode) {
  const RtStateResult result = parse_rtstate(fixture("rtstate-four-doors.http").body, 4);
  ASSERT_EQ(result.records.size(), 2U);
  EXPECT_EQ(result.records[0].line, 1U);
  EXPECT_EQ(result.records[0].doors.size(), 4U);
  EXPECT_EQ(result.records[0].doors[0].sensor, DoorSensor::Open);
  EXPECT_EQ(result.records[1].line, 3U);
  EXPECT_EQ(*find_value(result.records[1].extra, "door"), "all");
  EXPECT_THAT(problem_lines(result.problems), ElementsAre(2U, 4U));
  EXPECT_THAT(result.problems[0].reason, HasSubstr("sensor is not hex"));
  EXPECT_THAT(result.problems[1].reason, HasSubstr("without sensor, relay or alarm"));
  EXPECT_EQ(result.problems[1].raw, "time=2024-03-05 11:00:10\tcount=3");
}

TEST(RtStateParserTest, KeepsUnsetClockAndNeedsTime) {
  const RtStateResult result =
      parse_rtstate("time=1970--01--01 -0:-0:-1\tsensor=01\nsensor=01\n\n");
  ASSERT_EQ(result.records.size(), 1U);
  EXPECT_FALSE(result.records[0].time.has_value());
  EXPECT_EQ(result.records[0].time_text, "1970--01--01 -0:-0:-1");
  ASSERT_EQ(result.problems.size(), 1U);
  EXPECT_EQ(result.problems[0].line, 2U);
}

// ---------------------------------------------------------------------------
// rtlog (§7.2)
// ---------------------------------------------------------------------------

TEST(RtlogParserTest, ParsesTheSpecExample) {
  const RtlogResult result = parse_rtlog(fixture("rtlog-7.2-example.http").body);
  EXPECT_TRUE(result.problems.empty());
  ASSERT_EQ(result.records.size(), 1U);
  const RtlogRecord& r = result.records[0];
  EXPECT_EQ(r.line, 1U);
  EXPECT_EQ(r.raw,
            "time=2017-01-10 11:49:32\tpin=0\tcardno=0\teventaddr=1\tevent=27\tinoutstatus=1\t"
            "verifytype=0\tindex=21");  // CRLF dropped
  EXPECT_EQ(r.time, (DeviceTime{2017, 1, 10, 11, 49, 32}));
  EXPECT_FALSE(r.time_unparsed());
  EXPECT_EQ(r.pin, "0");
  EXPECT_EQ(r.card_no, "0");
  EXPECT_EQ(r.event_addr, 1);
  EXPECT_EQ(r.event, 27);
  EXPECT_EQ(event_code_name(*r.event), "The user is not registered");
  EXPECT_EQ(r.in_out_status, 1);
  EXPECT_EQ(r.verify_mode, 0);
  EXPECT_FALSE(r.verify_styles.has_value());
  EXPECT_EQ(r.index, 21);
  EXPECT_FALSE(r.site_code.has_value());
  EXPECT_TRUE(r.extra.empty());
  EXPECT_FALSE(r.is_door_state_row());
}

TEST(RtlogParserTest, ParsesByKeyWhateverTheOrderCaseAndExtraKeys) {
  const RtlogResult result = parse_rtlog(fixture("rtlog-crlf-extra-keys.http").body);
  EXPECT_TRUE(result.problems.empty()) << ::testing::PrintToString(reasons(result.problems));
  ASSERT_EQ(result.records.size(), 4U);

  const RtlogRecord& thermal = result.records[0];
  EXPECT_EQ(thermal.mask_flag, 1);
  EXPECT_EQ(thermal.temperature, "36.4");
  EXPECT_EQ(thermal.conv_temperature, "97.5");
  EXPECT_EQ(thermal.bit_count, 0);
  EXPECT_EQ(thermal.site_code, 0);
  EXPECT_EQ(thermal.link_id, 0);
  EXPECT_EQ(thermal.verify_mode, 15);
  EXPECT_EQ(verify_mode_name(*thermal.verify_mode), "Face");
  EXPECT_TRUE(thermal.extra.empty());

  const RtlogRecord& styles = result.records[1];
  ASSERT_TRUE(styles.verify_styles.has_value());
  EXPECT_EQ(*styles.verify_styles, std::uint16_t{1 << 11});
  EXPECT_EQ(verify_style_name(11), "Card");
  EXPECT_FALSE(styles.verify_mode.has_value());
  ASSERT_EQ(styles.extra.size(), 2U);  // the trailing TAB adds nothing
  EXPECT_EQ(styles.extra[0].key, "devname");
  EXPECT_EQ(styles.extra[1].value, "20240305081509-1002.jpg");

  const RtlogRecord& mixed_case = result.records[2];
  EXPECT_EQ(mixed_case.line, 4U);  // line 3 is blank
  EXPECT_EQ(mixed_case.card_no, "99887766");
  EXPECT_EQ(mixed_case.event, 27);
  EXPECT_EQ(mixed_case.index, 1206);

  const RtlogRecord& reordered = result.records[3];
  EXPECT_EQ(reordered.time, (DeviceTime{2024, 3, 5, 8, 17, 0}));
  EXPECT_EQ(reordered.event, 4008);
  EXPECT_EQ(event_category(*reordered.event), EventCategory::Normal);
  EXPECT_EQ(reordered.alarm_type, 200);
  EXPECT_EQ(reordered.pin, "");
}

TEST(RtlogParserTest, KeepsDoorStateRowsWithoutPin) {
  const RtlogResult result = parse_rtlog(fixture("rtlog-door-state-row.http").body);
  EXPECT_TRUE(result.problems.empty()) << ::testing::PrintToString(reasons(result.problems));
  ASSERT_EQ(result.records.size(), 4U);
  EXPECT_EQ(result.records[0].pin, "1001");
  EXPECT_EQ(result.records[1].pin, "");
  EXPECT_EQ(event_code_name(*result.records[1].event), "The door is open");
  EXPECT_FALSE(result.records[1].is_door_state_row());
  const RtlogRecord& status = result.records[2];
  EXPECT_EQ(status.event, 255);
  EXPECT_TRUE(status.is_door_state_row());
  EXPECT_EQ(event_category(255), EventCategory::Status);
  const RtlogRecord& sensors = result.records[3];
  EXPECT_TRUE(sensors.is_door_state_row());
  EXPECT_FALSE(sensors.event.has_value());
  ASSERT_EQ(sensors.doors.size(), 8U);
  EXPECT_EQ(sensors.doors[0].sensor, DoorSensor::Closed);
  EXPECT_EQ(sensors.doors[0].relay, RelayState::Connected);
  EXPECT_EQ(sensors.doors[0].alarms, 0);
  EXPECT_EQ(*find_value(sensors.extra, "sensor"), "01");  // text kept, in order
  EXPECT_EQ(sensors.extra[0].key, "sensor");
}

TEST(RtlogParserTest, KeepsEventsStampedBeforeNtp) {
  const RtlogResult result = parse_rtlog(fixture("rtlog-pre-ntp-time.http").body);
  EXPECT_TRUE(result.problems.empty());
  ASSERT_EQ(result.records.size(), 4U);
  const RtlogRecord& boot = result.records[0];
  EXPECT_TRUE(boot.time_unparsed());
  EXPECT_EQ(boot.time_text, "1971--10--29 -23:-27:-54");
  EXPECT_EQ(boot.event, 206);
  EXPECT_EQ(event_code_name(206), "Start the device");
  EXPECT_EQ(result.records[1].event, 102);  // a door forced open is not thrown away
  EXPECT_TRUE(result.records[1].time_unparsed());
  EXPECT_FALSE(result.records[2].time_unparsed());
}

TEST(RtlogParserTest, DedupKeyIncludesTheTimeBecauseIndexRestarts) {
  const std::string body = fixture("rtlog-pre-ntp-time.http").body;
  const RtlogResult result = parse_rtlog(body);
  ASSERT_EQ(result.records.size(), 4U);
  // Records 1 and 4 share index=1 (the log was cleared); the time tells them apart.
  EXPECT_EQ(result.records[0].index, result.records[3].index);
  const std::string first = rtlog_dedup_key("CJDE202260011", result.records[0]);
  EXPECT_NE(first, rtlog_dedup_key("CJDE202260011", result.records[3]));
  EXPECT_NE(first, rtlog_dedup_key("CJDE202260011", result.records[1]));
  EXPECT_NE(first, rtlog_dedup_key("OTHER", result.records[0]));
  // A re-upload of the same bytes gives the same key.
  EXPECT_EQ(first, rtlog_dedup_key("CJDE202260011", parse_rtlog(body).records[0]));
  RtlogRecord moved = result.records[3];
  moved.time_text = "2024-03-05 08:00:04";
  EXPECT_NE(rtlog_dedup_key("S", moved), rtlog_dedup_key("S", result.records[3]));
  // Length prefixes: no value can imitate a separator.
  RtlogRecord a;
  a.pin = "1|2";
  RtlogRecord b;
  b.pin = "1";
  b.card_no = "2";
  EXPECT_NE(rtlog_dedup_key("S", a), rtlog_dedup_key("S", b));
}

TEST(RtlogParserTest, QuarantinesBadLinesAndKeepsTheRest) {
  const RtlogResult result = parse_rtlog(fixture("rtlog-bad-lines.http").body);
  ASSERT_EQ(result.records.size(), 2U);
  EXPECT_EQ(result.records[0].index, 1400);
  EXPECT_EQ(result.records[1].index, 1405);
  EXPECT_EQ(result.records[1].line, 7U);
  EXPECT_THAT(problem_lines(result.problems), ElementsAre(2U, 3U, 4U, 5U, 6U));
  const std::vector<std::string> why = reasons(result.problems);
  EXPECT_THAT(why[0], HasSubstr("without key=value"));
  EXPECT_THAT(why[1], HasSubstr("without time"));
  EXPECT_THAT(why[2], HasSubstr("event is not a number"));
  EXPECT_THAT(why[3], HasSubstr("verifytype"));
  EXPECT_THAT(why[4], HasSubstr("sensor is not hex"));
  EXPECT_EQ(result.problems[1].raw,
            "pin=1003\tcardno=0\teventaddr=1\tevent=0\tinoutstatus=0\tverifytype=1\tindex=1402");
}

TEST(RtlogParserTest, ToleratesNulAndBareCrTerminators) {
  using namespace std::string_literals;
  const RtlogResult nul =
      parse_rtlog("time=2024-01-01 00:00:00\tindex=21\0\r\ntime=2024-01-01 00:00:01\r\n\0"s);
  EXPECT_TRUE(nul.problems.empty());
  ASSERT_EQ(nul.records.size(), 2U);
  EXPECT_EQ(nul.records[0].index, 21);
  EXPECT_TRUE(parse_rtlog("").records.empty());
  EXPECT_TRUE(parse_rtlog("\r\n\t\r\n").problems.empty());
}

TEST(RtlogParserTest, ParsesVerifyStyleStrings) {
  EXPECT_EQ(parse_verify_styles("0000101000000011"), 0x0A03);
  EXPECT_EQ(parse_verify_styles("0000000000000010"), 0x0002);  // face
  EXPECT_FALSE(parse_verify_styles("000010100000001").has_value());
  EXPECT_FALSE(parse_verify_styles("000010100000002x").has_value());
  EXPECT_EQ(verify_style_name(1), "Face");
  EXPECT_EQ(verify_style_name(12), "QR code / health code");
  EXPECT_EQ(verify_style_name(13), "unknown");
}

}  // namespace
}  // namespace pushgate::adapters::zkpush::security
