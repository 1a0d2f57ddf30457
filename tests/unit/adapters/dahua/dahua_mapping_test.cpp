// Dahua events and records → gateway Events (adapters/dahua/dahua_mapping):
// the same record from the stream and from recordFinder gets the same key,
// the door map, the refusal reason, the time policies and door reports.
#include "adapters/dahua/dahua_mapping.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "adapters/dahua/dahua_multipart.hpp"

namespace pushgate::adapters::dahua {
namespace {

using nlohmann::json;

DahuaEvent event_of(const std::string& text) {
  auto parsed = parse_event_text(text);
  EXPECT_TRUE(parsed.event) << parsed.error;
  return parsed.event.value_or(DahuaEvent{});
}

struct DahuaMapping : ::testing::Test {
  DeviceConfig device;
  Zone zone = Zone::utc();
  MappingContext ctx() {
    MappingContext c;
    c.sn = "DH1";
    c.device = &device;
    c.zone = &zone;
    c.received_ms = 1'700'000'010'000;
    return c;
  }
};

TEST_F(DahuaMapping, StreamEventAndRecordOfOneRecNoShareTheKeyAndTheFields) {
  device.door_map = {{0, 3}};
  auto live = map_stream_event(
      event_of("Code=AccessControl;action=Pulse;index=0;data={\"RecNo\":42,\"UserID\":\"7\","
               "\"CardNo\":\"AB12\",\"Door\":0,\"Method\":15,\"Status\":0,\"ErrorCode\":21,"
               "\"Type\":\"Exit\",\"UTC\":1700000000,\"CreateTime\":1700000000}"),
      ctx());
  auto rows = parse_record_finder_reply(
      "found=1\nrecords[0].RecNo=42\nrecords[0].UserID=7\nrecords[0].CardNo=AB12\n"
      "records[0].Door=0\nrecords[0].Method=15\nrecords[0].Status=0\nrecords[0].ErrorCode=21\n"
      "records[0].Type=Exit\nrecords[0].CreateTime=1700000000\n");
  ASSERT_EQ(rows.records.size(), 1u);
  auto stored = map_card_record(rows.records[0], ctx());
  EXPECT_EQ(live.record_key, "recno:42");
  EXPECT_EQ(stored.record_key, live.record_key);
  for (const Event* e : {&live, &stored}) {
    EXPECT_EQ(e->kind, EventKind::Access);
    EXPECT_EQ(e->door, 3);  // event Door 0 is gateway door 3 by the door map
    EXPECT_EQ(e->pin, "7");
    EXPECT_EQ(e->verify_mode, 15);
    EXPECT_EQ(e->status, 1);  // exit
    EXPECT_EQ(e->event_code, kRefusedBase + 21);
    EXPECT_EQ(e->utc_ms, 1'700'000'000'000);
    auto extra = json::parse(e->extra_json);
    EXPECT_EQ(extra["reason"], "anti_passback");
    EXPECT_EQ(extra["result"], "refused");
    EXPECT_EQ(extra["card"], "AB12");
    EXPECT_EQ(extra["method"], "face");
  }
  EXPECT_EQ(json::parse(live.extra_json)["drift_s"], -10);
}

TEST_F(DahuaMapping, AGrantedPassageOnATimeAndAttendanceTerminalIsAlsoAPunch) {
  auto rows = parse_record_finder_reply(
      "found=2\nrecords[0].RecNo=7\nrecords[0].UserID=1001\nrecords[0].Door=0\n"
      "records[0].Status=1\nrecords[0].AttendanceState=4\nrecords[0].CreateTime=1700000000\n"
      "records[0].URL=/SnapShotFilePath/2023-11-14/1001_20231114221320.jpg\n"
      "records[1].RecNo=8\nrecords[1].UserID=1001\nrecords[1].Door=0\n"
      "records[1].Status=0\nrecords[1].ErrorCode=16\nrecords[1].AttendanceState=1\n"
      "records[1].CreateTime=1700000001\n");
  ASSERT_EQ(rows.records.size(), 2u);
  const auto granted = map_card_record(rows.records[0], ctx());
  const auto refused = map_card_record(rows.records[1], ctx());
  // The snapshot's path on the device is kept with the event.
  EXPECT_EQ(json::parse(granted.extra_json)["snapshot_url"],
            "/SnapShotFilePath/2023-11-14/1001_20231114221320.jpg");
  // A door controller (attendance off): passages only.
  EXPECT_FALSE(attendance_punch(granted, rows.records[0].access, device));
  device.attendance = true;
  auto punch = attendance_punch(granted, rows.records[0].access, device);
  ASSERT_TRUE(punch);
  EXPECT_EQ(punch->kind, EventKind::Attendance);
  EXPECT_EQ(punch->record_key, "att:recno:7");
  EXPECT_EQ(punch->pin, "1001");
  EXPECT_EQ(punch->status, 1);  // AttendanceState 4, sign out: the rules' check-out
  EXPECT_EQ(punch->utc_ms, granted.utc_ms);
  EXPECT_EQ(punch->local_time, granted.local_time);
  EXPECT_EQ(punch->raw, granted.raw);
  auto extra = json::parse(punch->extra_json);
  EXPECT_EQ(extra["punch"], "check_out");
  EXPECT_EQ(extra["passage"], "recno:7");
  // Never for a refusal.
  EXPECT_FALSE(attendance_punch(refused, rows.records[1].access, device));
  // State 0 (no key pressed) and unknown states: no state, the rules decide.
  auto none = rows.records[0].access;
  none.attendance_state = 0;
  EXPECT_EQ(attendance_punch(granted, none, device)->status, kUnset);
  none.attendance_state = 99;
  EXPECT_EQ(attendance_punch(granted, none, device)->status, kUnset);
}

TEST_F(DahuaMapping, GrantedWithoutADoorMapIsThePassageOfDoorPlusOne) {
  auto e = map_stream_event(
      event_of("Code=AccessControl;action=Pulse;index=1;data={\"RecNo\":1,\"UserID\":\"5\","
               "\"Door\":1,\"Status\":1,\"Type\":\"Entry\",\"UTC\":1700000000}"),
      ctx());
  EXPECT_EQ(e.door, 2);
  EXPECT_EQ(e.event_code, kGranted);
  EXPECT_EQ(e.status, 0);
}

TEST_F(DahuaMapping, LocalTimePolicyReadsTheEpochAsWallTimeInTheTerminalZone) {
  std::string error;
  auto berlin = Zone::parse("+02:00", error);
  ASSERT_TRUE(berlin) << error;
  zone = *berlin;
  device.time_policy = TimePolicy::Local;
  auto e = map_stream_event(
      event_of("Code=AccessControl;action=Pulse;index=0;data={\"RecNo\":1,\"UTC\":1700000000}"),
      ctx());
  EXPECT_EQ(e.utc_ms, 1'700'000'000'000 - 2 * 3600 * 1000);
  device.time_policy = TimePolicy::Utc;
  auto u = map_stream_event(
      event_of("Code=AccessControl;action=Pulse;index=0;data={\"RecNo\":1,\"UTC\":1700000000}"),
      ctx());
  EXPECT_EQ(u.utc_ms, 1'700'000'000'000);
  EXPECT_EQ(u.local_time, "2023-11-15 00:13:20");  // wall time in +02:00
}

TEST_F(DahuaMapping, AlarmsKeepTheirOwnKeySpaceAndUnknownCodesAreKept) {
  auto alarm = map_stream_event(
      event_of("Code=ChassisIntruded;action=Start;index=0;data={\"RecNo\":42,\"UTC\":1}"), ctx());
  EXPECT_EQ(alarm.kind, EventKind::Alarm);
  EXPECT_EQ(alarm.record_key, "alarm:recno:42");  // not the access record 42
  EXPECT_EQ(json::parse(alarm.extra_json)["alarm"], "tamper");
  auto rows = parse_record_finder_reply(
      "found=1\nrecords[0].RecNo=42\nrecords[0].Event=ChassisIntruded\nrecords[0].Action=Start\n"
      "records[0].Door=0\nrecords[0].CreateTime=1\n");
  ASSERT_EQ(rows.records.size(), 1u);
  EXPECT_EQ(map_alarm_record(rows.records[0], ctx()).record_key, alarm.record_key);

  auto odd =
      map_stream_event(event_of("Code=FaceMatch;action=Pulse;index=0;data={\"X\":1}"), ctx());
  EXPECT_EQ(odd.kind, EventKind::Operation);
  auto extra = json::parse(odd.extra_json);
  EXPECT_EQ(extra["code"], "FaceMatch");
  EXPECT_EQ(extra["unknown_code"], true);
  EXPECT_EQ(extra["time_unparsed"], true);
  EXPECT_EQ(odd.record_key.rfind("live:h:", 0), 0u);
}

TEST_F(DahuaMapping, DoorReportsFollowDoorStatusAndAlarmStartStop) {
  auto open = door_report(
      event_of("Code=DoorStatus;action=Pulse;index=0;data={\"Status\":\"Open\",\"UTC\":1}"), {});
  ASSERT_TRUE(open);
  EXPECT_EQ(open->sensor, DoorSensor::Open);
  auto forced =
      door_report(event_of("Code=BreakIn;action=Start;index=0;data={\"UTC\":1}"), DoorState{});
  ASSERT_TRUE(forced);
  EXPECT_TRUE(forced->has_alarm(DoorAlarm::AccidentalOpen));
  auto over = door_report(event_of("Code=BreakIn;action=Stop;index=0;data={\"UTC\":2}"), *forced);
  ASSERT_TRUE(over);
  EXPECT_FALSE(over->has_alarm(DoorAlarm::AccidentalOpen));
  EXPECT_FALSE(door_report(event_of("Code=AccessControl;action=Pulse;index=0;data={}"), {}));
}

}  // namespace
}  // namespace pushgate::adapters::dahua
