// Simulator tests of the pure protocol pieces, byte-exact against the zk-pushdemo captures.

#include <gtest/gtest.h>

#include "tests/sim/attendance_protocol.hpp"
#include "tests/sim/push_protocol.hpp"
#include "tests/sim/sim_test_support.hpp"

namespace pushgate::sim::test {
namespace {

// ---------------------------------------------------------------------------
// Pure pieces: push_protocol

TEST(PushProtocolTest, FormatsAndParsesRecordTime) {
  const auto t = parse_local_time("2020-09-22 15:28:54");
  ASSERT_TRUE(t);
  EXPECT_EQ(format_local_time(*t), "2020-09-22 15:28:54");
  EXPECT_EQ(parse_local_time("2020-09-22T15:28:54"), t);
}

TEST(PushProtocolTest, RejectsImpossibleRecordTimes) {
  EXPECT_FALSE(parse_local_time("2024-13-45 25:61:61"));
  EXPECT_FALSE(parse_local_time("2024-02-30 10:00:00"));
  EXPECT_FALSE(parse_local_time("2020-09-22 15:28"));
  EXPECT_FALSE(parse_local_time("2020-09-22T00:00:00 EndTime=2020-09-23T00:00:00"));
}

TEST(PushProtocolTest, ParsesAndFormatsHttpDate) {
  const auto d = parse_http_date("Tue, 22 Sep 2020 20:24:13 GMT");
  ASSERT_TRUE(d);
  EXPECT_EQ(format_http_date(*d), "Tue, 22 Sep 2020 20:24:13 GMT");
  EXPECT_FALSE(parse_http_date("Tue, 22 Foo 2020 20:24:13 GMT"));
  EXPECT_FALSE(parse_http_date(""));
}

TEST(PushProtocolTest, EncodesQueryValueLikeTheTerminals) {
  EXPECT_EQ(encode_query_value("ZAM170-NF-Ver1.3.5,3,2,6,192.168.1.201,10,58,12,1,11110"),
            "ZAM170-NF-Ver1.3.5,3,2,6,192.168.1.201,10,58,12,1,11110");
  EXPECT_EQ(encode_query_value("Ver 2.0.12&x"), "Ver%202.0.12%26x");
}

TEST(PushProtocolTest, OnlyStatus200WithOkBodyIsAnAcknowledgement) {
  EXPECT_TRUE(is_ok_answer(200, "OK"));
  EXPECT_TRUE(is_ok_answer(200, "OK: 9"));
  EXPECT_FALSE(is_ok_answer(200, "ERROR"));
  EXPECT_FALSE(is_ok_answer(200, " OK"));
  EXPECT_FALSE(is_ok_answer(503, "OK"));
  EXPECT_FALSE(is_ok_answer(200, ""));
}

TEST(PushProtocolTest, ParsesCapturedCommandAnswer) {
  const auto list = parse_command_list(
      "C:1630:DATA QUERY ATTLOG StartTime=2020-09-22T00:00:00 EndTime=2020-09-23T00:00:00\r\n\r\n");
  ASSERT_EQ(list.commands.size(), 1u);
  EXPECT_EQ(list.commands[0].id, "1630");
  EXPECT_EQ(list.commands[0].text,
            "DATA QUERY ATTLOG StartTime=2020-09-22T00:00:00 EndTime=2020-09-23T00:00:00");
  EXPECT_TRUE(list.problems.empty());
}

TEST(PushProtocolTest, ParsesSeveralCommandsAndKeepsGarbageAsProblems) {
  const auto list = parse_command_list(
      "C:1:INFO\nC: 2: CHECK\nhello\nC:3\nC:4:DATA UPDATE USERINFO PIN=1\tName=A\n");
  ASSERT_EQ(list.commands.size(), 3u);
  EXPECT_EQ(list.commands[1].id, "2");
  EXPECT_EQ(list.commands[1].text, "CHECK");
  EXPECT_EQ(list.commands[2].text, "DATA UPDATE USERINFO PIN=1\tName=A");
  ASSERT_EQ(list.problems.size(), 2u);
  EXPECT_EQ(list.problems[0].line, 3u);
  EXPECT_EQ(list.problems[0].raw, "hello");
}

TEST(PushProtocolTest, PlainOkAnswerHasNoCommands) {
  const auto list = parse_command_list("OK\n\n");
  EXPECT_TRUE(list.commands.empty());
  EXPECT_TRUE(list.problems.empty());
}

TEST(PushProtocolTest, SplitsFieldsOnTabOnlyLikeTheFirmware) {
  // C:1638 from the captures: a space after PIN=100 made the real terminal
  // store a second, strange user.
  const Fields f = parse_tab_fields("PIN=100 Name=Jorge Leon\tPri=0\tPasswd=1234\tCard=1234");
  ASSERT_EQ(f.size(), 4u);
  EXPECT_EQ(find_field(f, "PIN"), "100 Name=Jorge Leon");
  EXPECT_EQ(find_field(f, "pin"), "100 Name=Jorge Leon");
  EXPECT_EQ(find_field(f, "Card"), "1234");
  EXPECT_FALSE(find_field(f, "Name"));
}

TEST(PushProtocolTest, FormatsCommandResultAsCaptured) {
  EXPECT_EQ(format_command_result("1630", 0, "DATA"), "ID=1630&Return=0&CMD=DATA");
  EXPECT_EQ(format_command_result("1666", -1004, "DATA"), "ID=1666&Return=-1004&CMD=DATA");
}

// ---------------------------------------------------------------------------
// Pure pieces: attendance_protocol

constexpr std::string_view kCapturedHandshakeAnswer =
    "GET OPTION FROM:CKJF201960996\nStamp=0\nOpStamp=0\nPhotoStamp=0\n"
    "TransFlag=TransData AttLog\tOpLog\tAttPhoto\tEnrollUser\tChgUser\tEnrollFP\tChgFP\tFPImag\t"
    "FACE\tUserPic\tWORKCODE\tBioPhoto\nErrorDelay=120\nDelay=10\nTimeZone=480\nTransTimes=\n"
    "TransInterval=30\nSyncTime=0\nRealtime=1\nServerVer=2.2.14 2020-06-23\nPushProtVer=2.4.1\n"
    "PushOptionsFlag=1\nATTLOGStamp=0\nOPERLOGStamp=0\nATTPHOTOStamp=0\nServerName=Logtime "
    "Server\nMultiBioDataSupport=\n";

TEST(ServerOptionsTest, ParsesCapturedHandshakeAnswer) {
  const auto parsed = parse_server_options(kCapturedHandshakeAnswer);
  ASSERT_TRUE(parsed.ok) << parsed.error;
  const ServerOptions& o = parsed.options;
  EXPECT_EQ(o.serial_number, "CKJF201960996");
  EXPECT_EQ(o.error_delay, 120s);
  EXPECT_EQ(o.delay, 10s);
  EXPECT_EQ(o.time_zone, std::chrono::minutes{480});
  EXPECT_EQ(o.trans_interval, std::chrono::minutes{30});
  EXPECT_TRUE(o.trans_times.empty());
  EXPECT_TRUE(o.realtime);
  EXPECT_TRUE(o.push_options_flag);
  EXPECT_EQ(o.push_prot_ver, "2.4.1");
  EXPECT_EQ(o.values.at("ServerName"), "Logtime Server");
  EXPECT_EQ(o.values.at("Stamp"), "0");
  EXPECT_TRUE(parsed.problems.empty());
}

TEST(ServerOptionsTest, AcceptsSpecSpacingAndReportsBadValues) {
  const auto parsed = parse_server_options(
      "GET OPTION FROM: "
      "0316144680030\r\nATTLOGStamp=None\r\nErrorDelay=abc\r\nDelay=5\r\nnoise\r\n");
  ASSERT_TRUE(parsed.ok);
  EXPECT_EQ(parsed.options.serial_number, "0316144680030");
  EXPECT_EQ(parsed.options.delay, 5s);
  EXPECT_FALSE(parsed.options.error_delay);
  EXPECT_EQ(parsed.problems.size(), 2u);
}

TEST(ServerOptionsTest, RefusesAnswerWithoutGetOptionHeader) {
  EXPECT_FALSE(parse_server_options("Device Unauthorized").ok);
  EXPECT_FALSE(parse_server_options("").ok);
  EXPECT_FALSE(parse_server_options("OK").ok);
}

TEST(ServerOptionsTest, NormalisesTimeZoneToMinutes) {
  EXPECT_EQ(parse_time_zone("8"), std::chrono::minutes{480});
  EXPECT_EQ(parse_time_zone("-5"), std::chrono::minutes{-300});
  EXPECT_EQ(parse_time_zone("330"), std::chrono::minutes{330});
  EXPECT_EQ(parse_time_zone("-300"), std::chrono::minutes{-300});
  EXPECT_FALSE(parse_time_zone("30"));
  EXPECT_FALSE(parse_time_zone("x"));
}

TEST(ServerOptionsTest, ParsesTransTimes) {
  const auto times = parse_trans_times("14:05;00:00;bad;25:00");
  ASSERT_EQ(times.size(), 2u);
  EXPECT_EQ(times[0], std::chrono::minutes{0});
  EXPECT_EQ(times[1], std::chrono::minutes{14 * 60 + 5});
}

TEST(AttlogFormatTest, MatchesCapturedSpeedFaceLine) {
  AttendanceRecord r = record("200", "2020-09-22 11:10:49", 1);
  r.mask = 1;
  r.temperature_tenths = 363;
  r.index = 2;
  EXPECT_EQ(format_attlog_line(r, kSpeedFaceAttlogFields),
            "200\t2020-09-22 11:10:49\t0\t1\t\t0\t0\t1\t36.3\t2");
}

TEST(AttlogFormatTest, KeepsTheConfiguredNumberOfFields) {
  const AttendanceRecord r = record("1452", "2015-07-30 15:16:28", 1);
  EXPECT_EQ(format_attlog_line(r, kSpecAttlogFields), "1452\t2015-07-30 15:16:28\t0\t1\t\t0\t0");
  EXPECT_EQ(format_attlog_line(r, 2), "1452\t2015-07-30 15:16:28");
  EXPECT_EQ(format_attlog_line(r, 99), format_attlog_line(r, kSpeedFaceAttlogFields));
}

TEST(RecordFormatTest, OplogUserAndBiodataLinesMatchCaptures) {
  OperationRecord op;
  op.op_type = 5;
  op.time = *parse_local_time("2020-06-23 13:20:44");
  op.value1 = "DHCP";
  EXPECT_EQ(format_oplog_line(op), "OPLOG 5\t0\t2020-06-23 13:20:44\tDHCP\t0\t0\t0");

  UserInfo u;
  u.pin = "200";
  u.name = "Jose Luis Rivera";
  EXPECT_EQ(format_user_line(u),
            "USER PIN=200\tName=Jose Luis Rivera\tPri=0\tPasswd=\tCard=\tGrp=1\t"
            "TZ=0000000100000000\tVerify=-1\tViceCard=\tStartDatetime=0\tEndDatetime=0");

  BioTemplate t;
  t.pin = "100";
  t.type = 2;
  t.no = 3;
  t.tmp = "WktG";
  EXPECT_EQ(format_biodata_line(t),
            "BIODATA Pin=100\tNo=3\tIndex=0\tValid=1\tDuress=0\tType=2\tMajorVer=0\tMinorVer=\t"
            "Format=ZK\tTmp=WktG");
  t.type = 1;
  EXPECT_EQ(format_fp_line(t), "FP PIN=100\tFID=3\tSize=4\tValid=1\tTMP=WktG");
}

DeviceProfile captured_profile() {
  DeviceProfile p;
  p.language = 101;
  return p;
}

TEST(DeviceReportTest, HandshakeTargetMatchesCapturedFirmware135) {
  EXPECT_EQ(handshake_target(captured_profile(), "CKJF202560310"),
            "/iclock/cdata?SN=CKJF202560310&options=all&language=101&pushver=2.4.1&DeviceType=att"
            "&PushOptionsFlag=1");
}

TEST(DeviceReportTest, OptionsLineMatchesCapture) {
  DeviceCounts c;
  c.attlogs = 20;
  c.users = 3;
  c.fingerprints = 2;
  c.faces = 2;
  EXPECT_EQ(
      format_options_line(captured_profile(), c),
      "~DeviceName=SpeedFace-V5L[TD],MAC=00:17:61:12:fa:f0,TransactionCount=20,~MaxAttLogCount=20,"
      "UserCount=3,~MaxUserCount=100,PhotoFunOn=1,~MaxUserPhotoCount=2500,FingerFunOn=1,"
      "FPVersion=10,~MaxFingerCount=60,FPCount=2,FaceFunOn=1,FaceVersion=58,~MaxFaceCount=6000,"
      "FaceCount=2,FvFunOn=0,FvVersion=3,~MaxFvCount=10,FvCount=0,PvFunOn=1,PvVersion=12,"
      "~MaxPvCount=3000,PvCount=0,Language=101,IPAddress=192.168.1.201,~Platform=ZAM170_TFT,"
      "~OEMVendor=ZKTeco Co., Ltd.,FWVersion=ZAM170-NF-Ver1.3.5,PushVersion=Ver 2.0.32S-20200513,"
      "RegDeviceType=,VisilightFun=1,MultiBioDataSupport=0:1:0:0:0:0:0:0:1:1,"
      "MultiBioPhotoSupport=0:0:0:0:0:0:0:0:0:1,IRTempDetectionFunOn=1,MaskDetectionFunOn=1,"
      "UserPicURLFunOn=,MultiBioVersion=0:10.0:0:0:0:0:0:0:12.0:58.10,"
      "MaxMultiBioDataCount=0:6000:0:0:0:0:0:0:3000:6000,MaxMultiBioPhotoCount=0:0:0:0:0:0:0:0:0:"
      "6000,MultiBioDataCount=0:2:0:0:0:0:0:0:0:2,MultiBioPhotoCount=0:0:0:0:0:0:0:0:0:0");
}

TEST(DeviceReportTest, InfoValueMatchesCapture) {
  DeviceCounts c;
  c.users = 3;
  c.fingerprints = 2;
  c.attlogs = 6;
  c.faces = 1;
  EXPECT_EQ(format_info_value(captured_profile(), c),
            "ZAM170-NF-Ver1.3.5,3,2,6,192.168.1.201,10,58,12,1,11110");
}

// The body of the captured devicecmd POST answering C:1626:INFO
// (Debug_2020-09-22_ServerLog15.txt, Content-Length 1337).
constexpr std::string_view kCapturedInfoReply =
    "ID=1626&Return=0&CMD=INFO\n"
    "~DeviceName=SpeedFace-V5L[TD]\n"
    "MAC=00:17:61:12:fa:f0\n"
    "TransactionCount=6\n"
    "~MaxAttLogCount=20\n"
    "UserCount=3\n"
    "~MaxUserCount=100\n"
    "PhotoFunOn=1\n"
    "~MaxUserPhotoCount=2500\n"
    "FingerFunOn=1\n"
    "~AlgVer=10\n"
    "FPVersion=10\n"
    "~MaxFingerCount=60\n"
    "FPCount=2\n"
    "FaceFunOn=1\n"
    "FaceVersion=58\n"
    "~MaxFaceCount=6000\n"
    "FaceCount=1\n"
    "FvFunOn=0\n"
    "FvVersion=3\n"
    "~MaxFvCount=10\n"
    "FvCount=0\n"
    "PvFunOn=1\n"
    "PvVersion=12\n"
    "~MaxPvCount=3000\n"
    "PvCount=0\n"
    "MainTime=1970-01-01 00:00:00\n"
    "FlashSize=5545568\n"
    "FreeFlashSize=5229512\n"
    "Language=101\n"
    "VOLUME=10\n"
    "DtFmt=9\n"
    "IPAddress=192.168.1.201\n"
    "IsTFT=1\n"
    "~Platform=ZAM170_TFT\n"
    "Brightness=0\n"
    "BackupDev=0\n"
    "~OEMVendor=ZKTeco Co., Ltd.\n"
    "FWVersion=ZAM170-NF-Ver1.3.5\n"
    "PushVersion=Ver 2.0.32S-20200513\n"
    "CardProtFormat=1\n"
    "~ZKFPVersion=10\n"
    "~SerialNumber=CKJF202560310\n"
    "IsSupportNFC=0\n"
    "AccSupportFunList="
    "0010010010101000000000000000000000100011101000000000000000000000000000000000000000000000000000"
    "00\n"
    "~DSTF=1\n"
    "Reader1IOState=0\n"
    "MultiCardInterTimeFunOn=1\n"
    "MachineTZFunOn=1\n"
    "MaxMCUCardBits=\n"
    "authKey=\n"
    "BioPhotoFun=1\n"
    "BioDataFun=\n"
    "VisilightFun=1\n"
    "~MaxBioPhotoCount=6000\n"
    "RegDeviceType=\n"
    "AutoServerFunOn=1\n"
    "MultiBioDataSupport=0:1:0:0:0:0:0:0:1:1\n"
    "MultiBioPhotoSupport=0:0:0:0:0:0:0:0:0:1\n"
    "MultiBioVersion=0:10.0:0:0:0:0:0:0:12.0:58.10\n"
    "MaxMultiBioPhotoCount=0:0:0:0:0:0:0:0:0:6000\n"
    "MaxMultiBioDataCount=0:6000:0:0:0:0:0:0:3000:6000\n"
    "IRTempDetectionFunOn=1\n"
    "MaskDetectionFunOn=1\n"
    "UserPicURLFunOn=\n";

TEST(DeviceReportTest, InfoReplyMatchesCapture) {
  DeviceCounts c;
  c.users = 3;
  c.fingerprints = 2;
  c.attlogs = 6;
  c.faces = 1;
  const std::string body =
      "ID=1626&Return=0&CMD=INFO\n" + format_info_reply(captured_profile(), c, "CKJF202560310", {});
  EXPECT_EQ(body, kCapturedInfoReply);
  EXPECT_EQ(body.size(), 1337u);
}

TEST(CommandParseTest, MapsVerbsToReplyCommands) {
  const auto p = parse_attendance_command("DATA UPDATE USERINFO PIN=1\tName=A");
  EXPECT_EQ(p.verb, CommandVerb::DataUpdate);
  EXPECT_EQ(p.table, "USERINFO");
  EXPECT_EQ(p.argument, "PIN=1\tName=A");
  EXPECT_EQ(p.reply_cmd, "DATA");

  EXPECT_EQ(parse_attendance_command("DATA DELETE USERINFO PIN=1").verb, CommandVerb::DataDelete);
  EXPECT_EQ(parse_attendance_command("DATA QUERY ATTLOG StartTime=x").table, "ATTLOG");
  EXPECT_EQ(parse_attendance_command("CLEAR LOG").reply_cmd, "CLEAR_LOG");
  EXPECT_EQ(parse_attendance_command("CLEAR DATA").verb, CommandVerb::ClearData);
  EXPECT_EQ(parse_attendance_command("SET OPTION Delay=5").argument, "Delay=5");
  EXPECT_EQ(parse_attendance_command("SET OPTION Delay=5").reply_cmd, "SET OPTION");
  EXPECT_EQ(parse_attendance_command("RELOAD OPTIONS").reply_cmd, "RELOAD OPTIONS");
  EXPECT_EQ(parse_attendance_command("REBOOT").verb, CommandVerb::Reboot);
  EXPECT_EQ(parse_attendance_command("INFO").reply_cmd, "INFO");
  EXPECT_EQ(parse_attendance_command("CONTROL DEVICE 01010105").verb, CommandVerb::ControlDevice);
  EXPECT_EQ(parse_attendance_command("VERIFY SUM ATTLOG StartTime=a").reply_cmd, "VERIFY SUM");
  EXPECT_EQ(parse_attendance_command("GetFile attlog.dat").reply_cmd, "GetFile");
  EXPECT_EQ(parse_attendance_command("FROBNICATE now").verb, CommandVerb::Unknown);
  EXPECT_EQ(parse_attendance_command("FROBNICATE now").reply_cmd, "FROBNICATE");
}

}  // namespace
}  // namespace pushgate::sim::test
