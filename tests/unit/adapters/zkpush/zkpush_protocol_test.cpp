// Attendance PUSH core tests: device time, query string, INFO, options, handshake answer.

// Included first: proves the header is self-contained.
#include "adapters/zkpush/zkpush_protocol.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "tests/support/http_fixture.hpp"
#include "tests/support/pushdemo_log.hpp"
#include "tests/unit/adapters/zkpush/zkpush_protocol_test_support.hpp"

namespace pushgate::adapters::zkpush {
namespace {

using test::HttpRequestFixture;
using test_support::captured;
using test_support::demo_log;
using test_support::handmade;
using test_support::problem_lines;
using test_support::reasons;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

QueryResult query_of(const HttpRequestFixture& request) {
  return parse_query(request.query());
}

// ---------------------------------------------------------------------------
// Time
// ---------------------------------------------------------------------------

TEST(DeviceTimeTest, ParsesTerminalTimestamp) {
  const auto time = parse_device_time("2020-09-23 13:01:24");
  ASSERT_TRUE(time.has_value());
  EXPECT_EQ(*time, (DeviceTime{2020, 9, 23, 13, 1, 24}));
}

TEST(DeviceTimeTest, RejectsGarbage) {
  for (std::string_view text :
       {"", "2020-09-22", "2020-09-22T15:28:54", "2020-9-22 15:28:54", "2020-09-22 15:28:54 ",
        " 2020-09-22 15:28:54", "abcd-ef-gh ij:kl:mn", "2020-09-22 15:28:5x", "+020-09-22 15:28:54",
        "-020-09-22 15:28:54", "2020-09-22 15:28:-4", "2020/09/22 15:28:54"}) {
    EXPECT_FALSE(parse_device_time(text).has_value()) << "'" << text << "'";
  }
}

TEST(DeviceTimeTest, RejectsImpossibleDates) {
  for (std::string_view text :
       {"2020-13-01 00:00:00", "2020-00-01 00:00:00", "2020-09-00 00:00:00", "2020-09-31 00:00:00",
        "2021-02-29 00:00:00", "1900-02-29 00:00:00", "2020-09-22 24:00:00", "2020-09-22 23:60:00",
        "2020-09-22 23:59:60", "0000-01-01 00:00:00"}) {
    EXPECT_FALSE(parse_device_time(text).has_value()) << text;
  }
}

TEST(DeviceTimeTest, AcceptsLeapDays) {
  EXPECT_TRUE(parse_device_time("2020-02-29 12:00:00").has_value());
  EXPECT_TRUE(parse_device_time("2000-02-29 12:00:00").has_value());
}

TEST(DeviceTimeTest, FormatsBackToTheTerminalForm) {
  const DeviceTime time{2015, 7, 30, 5, 6, 7};
  EXPECT_EQ(format_device_time(time), "2015-07-30 05:06:07");
  EXPECT_EQ(parse_device_time(format_device_time(time)), time);
}

// ---------------------------------------------------------------------------
// Query string, endpoint, table
// ---------------------------------------------------------------------------

TEST(QueryTest, ParsesHandshakeParameters) {
  const QueryResult query = query_of(captured("handshake-options-all-fw1.3.5.http"));
  EXPECT_TRUE(query.problems.empty());
  ASSERT_EQ(query.params.size(), 6U);
  EXPECT_EQ(*query.find("SN"), "CKJF202560310");
  EXPECT_EQ(*query.find("options"), "all");
  EXPECT_EQ(*query.find("pushver"), "2.4.1");
  EXPECT_EQ(*query.find("language"), "101");
  EXPECT_EQ(*query.find("DeviceType"), "att");
  EXPECT_EQ(*query.find("PushOptionsFlag"), "1");
  EXPECT_EQ(query.find("pushcommkey"), nullptr);
}

TEST(QueryTest, FindsKeysIgnoringCase) {
  const QueryResult query = query_of(captured("attlog-realtime-10-fields.http"));
  EXPECT_EQ(*query.find("sn"), "CKJF202560310");
  EXPECT_EQ(*query.find("TABLE"), "ATTLOG");
  EXPECT_EQ(*query.find("stamp"), "9999");
  EXPECT_EQ(query.params[0].key, "SN");  // kept as sent
}

TEST(QueryTest, FindsLowerCaseSnOfHandMadeRequests) {
  const test::PushdemoLog log = demo_log("Debug_2020-09-22_ServerLog16.txt");
  const auto it = std::find_if(log.exchanges.begin(), log.exchanges.end(), [](const auto& e) {
    return e.hand_made && e.query().substr(0, 3) == "sn=";
  });
  ASSERT_NE(it, log.exchanges.end());
  const QueryResult query = parse_query(it->query());
  ASSERT_NE(query.find("SN"), nullptr);
  EXPECT_EQ(*query.find("SN"), "CKJF202560310");
}

TEST(QueryTest, DecodesPercentEscapes) {
  const QueryResult query = query_of(handmade("getrequest-info-spec.http"));
  EXPECT_TRUE(query.problems.empty());
  EXPECT_EQ(*query.find("INFO"), "Ver 2.0.12-20150625,0,0,0,192.168.16.27,10,7,15,0,111");
}

TEST(QueryTest, KeepsMalformedEscapesAndReportsThem) {
  // The developer's REST tool sent a literal "pushver=%s&language=%d".
  const test::PushdemoLog log = demo_log("Debug_2020-09-23_ServerLog12.txt");
  const auto it = std::find_if(log.exchanges.begin(), log.exchanges.end(), [](const auto& e) {
    return e.target.find("pushver=%s&language=%d") != std::string::npos;
  });
  ASSERT_NE(it, log.exchanges.end());
  EXPECT_TRUE(it->hand_made);
  const QueryResult query = parse_query(it->query());
  EXPECT_EQ(*query.find("pushver"), "%s");
  EXPECT_EQ(*query.find("language"), "%d");
  EXPECT_EQ(*query.find("options"), "all");
  ASSERT_EQ(query.problems.size(), 2U);
  EXPECT_EQ(query.problems[0].raw, "pushver=%s");
  EXPECT_EQ(query.problems[1].raw, "language=%d");
}

TEST(QueryTest, KeepsPlusEmptyValuesAndBareKeys) {
  const QueryResult query = parse_query("?a=1+2&b=&c&&d=x%2By&e=%41%4a%6b");
  EXPECT_TRUE(query.problems.empty());
  ASSERT_EQ(query.params.size(), 5U);
  EXPECT_EQ(*query.find("a"), "1+2");
  EXPECT_EQ(*query.find("b"), "");
  EXPECT_EQ(*query.find("c"), "");
  EXPECT_EQ(*query.find("d"), "x+y");
  EXPECT_EQ(*query.find("e"), "AJk");
}

TEST(QueryTest, ReportsTruncatedEscapeAtTheEnd) {
  const QueryResult query = parse_query("SN=ABC%4");
  EXPECT_EQ(*query.find("SN"), "ABC%4");
  ASSERT_EQ(query.problems.size(), 1U);
  EXPECT_EQ(query.problems[0].line, 1U);
}

TEST(QueryTest, SplitsTargetAtTheFirstQuestionMark) {
  const RequestTarget target = split_target("/iclock/cdata?SN=1&x=?y");
  EXPECT_EQ(target.path, "/iclock/cdata");
  EXPECT_EQ(target.query, "SN=1&x=?y");
  const RequestTarget bare = split_target("/favicon.ico");
  EXPECT_EQ(bare.path, "/favicon.ico");
  EXPECT_TRUE(bare.query.empty());
}

TEST(QueryTest, ExtractsDataQueryAnswerPaging) {
  const QueryResult query = query_of(captured("attlog-query-answer-18-records.http"));
  const std::optional<QueryAnswerPack> pack = query_answer_pack(query);
  ASSERT_TRUE(pack.has_value());
  EXPECT_EQ(pack->count, 18);
  EXPECT_EQ(pack->pack_count, 1);
  EXPECT_EQ(pack->pack_index, 1);
  EXPECT_EQ(pack->cmd_id, "1630");
}

TEST(QueryTest, RealtimeUploadHasNoPaging) {
  EXPECT_FALSE(query_answer_pack(query_of(captured("attlog-realtime-10-fields.http"))).has_value());
}

TEST(QueryTest, PagingWithBadNumbersLeavesThemEmpty) {
  const std::optional<QueryAnswerPack> pack =
      query_answer_pack(parse_query("table=ATTLOG&Count=x&PackCnt=&cmdid=7"));
  ASSERT_TRUE(pack.has_value());
  EXPECT_FALSE(pack->count.has_value());
  EXPECT_FALSE(pack->pack_count.has_value());
  EXPECT_FALSE(pack->pack_index.has_value());
  EXPECT_EQ(pack->cmd_id, "7");
}

TEST(QueryTest, ClassifiesEndpoints) {
  EXPECT_EQ(classify_endpoint("/iclock/cdata"), Endpoint::Cdata);
  EXPECT_EQ(classify_endpoint("/iclock/fdata"), Endpoint::Fdata);
  EXPECT_EQ(classify_endpoint("/iclock/getrequest"), Endpoint::GetRequest);
  EXPECT_EQ(classify_endpoint("/iclock/devicecmd"), Endpoint::DeviceCmd);
  EXPECT_EQ(classify_endpoint("/iclock/ping"), Endpoint::Ping);
  EXPECT_EQ(classify_endpoint("/iclock/exchange"), Endpoint::Exchange);
  EXPECT_EQ(classify_endpoint("/iclock/file"), Endpoint::File);
  EXPECT_EQ(classify_endpoint("/ICLOCK/CData/"), Endpoint::Cdata);
  EXPECT_EQ(classify_endpoint("/favicon.ico"), Endpoint::Unknown);
  EXPECT_EQ(classify_endpoint("/iclock/"), Endpoint::Unknown);
  EXPECT_EQ(classify_endpoint("/iclock/cdata/x"), Endpoint::Unknown);
  EXPECT_EQ(classify_endpoint(""), Endpoint::Unknown);
}

TEST(QueryTest, ClassifiesUploadTables) {
  EXPECT_EQ(classify_table("ATTLOG"), UploadTable::AttLog);
  EXPECT_EQ(classify_table("attlog"), UploadTable::AttLog);
  EXPECT_EQ(classify_table("OPERLOG"), UploadTable::OperLog);
  EXPECT_EQ(classify_table("ATTPHOTO"), UploadTable::AttPhoto);
  EXPECT_EQ(classify_table("BIODATA"), UploadTable::BioData);
  EXPECT_EQ(classify_table("options"), UploadTable::Options);
  EXPECT_EQ(classify_table("ERRORLOG"), UploadTable::ErrorLog);
  EXPECT_EQ(classify_table("IDCARD"), UploadTable::IdCard);
  EXPECT_EQ(classify_table("RemoteAtt"), UploadTable::Unknown);
  EXPECT_EQ(classify_table(""), UploadTable::Unknown);
}

// ---------------------------------------------------------------------------
// INFO
// ---------------------------------------------------------------------------

TEST(InfoTest, ParsesAllTenValues) {
  const QueryResult query = query_of(captured("getrequest-info-fw1.3.5.http"));
  const InfoResult result = parse_info(*query.find("INFO"));
  EXPECT_TRUE(result.problems.empty());
  const DeviceInfo& info = result.info;
  EXPECT_EQ(info.firmware, "ZAM170-NF-Ver1.3.5");
  EXPECT_EQ(info.users, 3);
  EXPECT_EQ(info.fingerprints, 2);
  EXPECT_EQ(info.attlogs, 6);
  EXPECT_EQ(info.ip, "192.168.1.201");
  EXPECT_EQ(info.fingerprint_algorithm, "10");
  EXPECT_EQ(info.face_algorithm, "58");
  EXPECT_EQ(info.faces_required, 12);
  EXPECT_EQ(info.faces, 1);
  EXPECT_EQ(info.functions, "11110");
  EXPECT_TRUE(info.extra.empty());
  EXPECT_TRUE(info.supports(DeviceFunction::Fingerprint));
  EXPECT_TRUE(info.supports(DeviceFunction::Face));
  EXPECT_TRUE(info.supports(DeviceFunction::UserPhoto));
  EXPECT_TRUE(info.supports(DeviceFunction::BioPhoto));
  EXPECT_FALSE(info.supports(DeviceFunction::VisibleLightFace));
}

TEST(InfoTest, ParsesOlderFirmware) {
  const QueryResult query = query_of(captured("getrequest-info-fw1.1.27.http"));
  const InfoResult result = parse_info(*query.find("INFO"));
  EXPECT_TRUE(result.problems.empty());
  EXPECT_EQ(result.info.firmware, "ZAM170-NF-Ver1.1.27");
  EXPECT_EQ(result.info.attlogs, 0);
  EXPECT_EQ(result.info.ip, "192.168.54.216");
}

TEST(InfoTest, ParsesSpecExampleWithThreeFunctionFlags) {
  const InfoResult result =
      parse_info(*query_of(handmade("getrequest-info-spec.http")).find("INFO"));
  EXPECT_TRUE(result.problems.empty());
  EXPECT_EQ(result.info.firmware, "Ver 2.0.12-20150625");
  EXPECT_EQ(result.info.face_algorithm, "7");
  EXPECT_EQ(result.info.faces_required, 15);
  EXPECT_EQ(result.info.functions, "111");
  EXPECT_TRUE(result.info.supports(DeviceFunction::UserPhoto));
  EXPECT_FALSE(result.info.supports(DeviceFunction::BioPhoto));
}

TEST(InfoTest, ReportsNonNumericCountsAndKeepsTheRest) {
  const InfoResult result = parse_info("fw,x,2,,1.2.3.4,10,58,12,1,11110,extra1,extra2");
  EXPECT_FALSE(result.info.users.has_value());
  EXPECT_EQ(result.info.fingerprints, 2);
  EXPECT_FALSE(result.info.attlogs.has_value());  // empty is not a problem
  EXPECT_EQ(result.info.ip, "1.2.3.4");
  EXPECT_THAT(result.info.extra, ElementsAre("extra1", "extra2"));
  ASSERT_EQ(result.problems.size(), 1U);
  EXPECT_EQ(result.problems[0].raw, "x");
  EXPECT_THAT(result.problems[0].reason, HasSubstr("users"));
}

TEST(InfoTest, EmptyInfoIsAProblem) {
  const InfoResult result = parse_info("");
  EXPECT_EQ(result.problems.size(), 1U);
  EXPECT_TRUE(result.info.firmware.empty());
}

// ---------------------------------------------------------------------------
// options
// ---------------------------------------------------------------------------

TEST(OptionsParserTest, KeepsCommasInsideValues) {
  const OptionsResult result = parse_options(captured("options-push.http").body);
  EXPECT_TRUE(result.problems.empty());
  ASSERT_FALSE(result.options.empty());
  EXPECT_EQ(result.options.front().key, "~DeviceName");
  EXPECT_EQ(result.options.front().value, "SpeedFace-V5L[TD]");
  EXPECT_EQ(result.options.back().key, "MultiBioPhotoCount");
  EXPECT_EQ(result.options.back().value, "0:0:0:0:0:0:0:0:0:0");
  EXPECT_EQ(*result.find("UserPicURLFunOn"), "");
  ASSERT_NE(result.find("~OEMVendor"), nullptr);
  EXPECT_EQ(*result.find("~OEMVendor"), "ZKTeco Co., Ltd.");
  EXPECT_EQ(*result.find("MAC"), "00:17:61:12:fa:f0");
  EXPECT_EQ(*result.find("FWVersion"), "ZAM170-NF-Ver1.3.5");
  EXPECT_EQ(*result.find("PushVersion"), "Ver 2.0.32S-20200513");
  EXPECT_EQ(*result.find("MultiBioDataSupport"), "0:1:0:0:0:0:0:0:1:1");
  // Every piece is a pair: the count of '=' equals the count of options.
  const std::string& body = captured("options-push.http").body;
  EXPECT_EQ(static_cast<std::size_t>(std::count(body.begin(), body.end(), '=')),
            result.options.size());
}

TEST(OptionsParserTest, FindIgnoresTildeAndCase) {
  const OptionsResult result = parse_options(captured("options-push.http").body);
  ASSERT_NE(result.find("DeviceName"), nullptr);
  EXPECT_EQ(*result.find("devicename"), "SpeedFace-V5L[TD]");
  EXPECT_EQ(*result.find("~maxattlogcount"), "20");
  EXPECT_EQ(*result.find("~IPAddress"), "192.168.1.201");
  EXPECT_EQ(result.find("NoSuchKey"), nullptr);
}

TEST(OptionsParserTest, ParsesSpecExample) {
  const OptionsResult result = parse_options(handmade("options-spec.http").body);
  EXPECT_TRUE(result.problems.empty());
  ASSERT_EQ(result.options.size(), 2U);
  EXPECT_EQ(*result.find("FingerFunOn"), "1");
  EXPECT_EQ(*result.find("FaceFunOn"), "1");
}

TEST(OptionsParserTest, SplitsLinesTrailingCommasAndSpacedKeys) {
  const OptionsResult result = parse_options("a=1,\r\nb=2, c=3,d=x, y,\n,e=");
  EXPECT_TRUE(result.problems.empty()) << ::testing::PrintToString(reasons(result.problems));
  ASSERT_EQ(result.options.size(), 5U);
  EXPECT_EQ(*result.find("a"), "1");
  EXPECT_EQ(*result.find("b"), "2");
  EXPECT_EQ(*result.find("c"), "3");
  EXPECT_EQ(*result.find("d"), "x, y");
  EXPECT_EQ(*result.find("e"), "");
}

TEST(OptionsParserTest, ReportsPieceWithoutKey) {
  const OptionsResult result = parse_options("junk,a=1\n=2,b=3\n");
  ASSERT_EQ(result.options.size(), 2U);
  EXPECT_EQ(*result.find("a"), "1");
  EXPECT_EQ(*result.find("b"), "3");
  EXPECT_THAT(problem_lines(result.problems), ElementsAre(1U, 2U));
  EXPECT_EQ(result.problems[0].raw, "junk");
  EXPECT_EQ(result.problems[1].raw, "=2");
}

// ---------------------------------------------------------------------------
// Handshake, TimeZone, Date
// ---------------------------------------------------------------------------

TEST(HandshakeTest, RendersSpecOrderWithOneLfPerLine) {
  HandshakeOptions options;
  options.serial_number = "0316144680030";
  options.attlog_stamp = "9999";
  options.operlog_stamp = "9999";
  options.attphoto_stamp = "0";
  options.biodata_stamp = "0";
  options.legacy_stamp_keys = false;
  options.time_zone = render_timezone(8 * 60);
  options.push_options = {"FingerFunOn", "FaceFunOn"};
  options.multi_bio_data_support = "0:1:1:0:0:0:0:0:0:1";
  EXPECT_EQ(render_handshake(options),
            "GET OPTION FROM: 0316144680030\n"
            "ATTLOGStamp=9999\n"
            "OPERLOGStamp=9999\n"
            "ATTPHOTOStamp=0\n"
            "BIODATAStamp=0\n"
            "ErrorDelay=30\n"
            "Delay=10\n"
            "TransTimes=00:00;14:05\n"
            "TransInterval=1\n"
            "TransFlag=TransData AttLog\tOpLog\tAttPhoto\tEnrollUser\tChgUser\tEnrollFP\tChgFP\t"
            "FPImag\tFACE\tUserPic\tWORKCODE\tBioPhoto\n"
            "TimeZone=8\n"
            "Realtime=1\n"
            "ServerVer=2.4.1\n"
            "PushProtVer=2.4.1\n"
            "PushOptionsFlag=1\n"
            "PushOptions=FingerFunOn,FaceFunOn\n"
            "MultiBioDataSupport=0:1:1:0:0:0:0:0:0:1\n");
}

std::vector<std::string> sorted_lines(std::string_view body) {
  std::vector<std::string> lines;
  std::size_t pos = 0;
  while (pos < body.size()) {
    const std::size_t eol = std::min(body.find('\n', pos), body.size());
    lines.emplace_back(body.substr(pos, eol - pos));
    pos = eol + 1;
  }
  std::sort(lines.begin(), lines.end());
  return lines;
}

TEST(HandshakeTest, SaysWhatTheDemoSaidToTheTerminal) {
  // The 451-byte answer after which the terminal uploaded with Stamp=9999.
  const test::PushdemoLog log = demo_log("Debug_2020-09-22_ServerLog15.txt");
  const auto it = std::find_if(log.exchanges.begin(), log.exchanges.end(), [](const auto& e) {
    return e.response && e.response->body.find("MultiBioDataSupport=0:1") != std::string::npos;
  });
  ASSERT_NE(it, log.exchanges.end());
  std::string demo = it->response->body;

  HandshakeOptions options;
  options.serial_number = *parse_query(it->query()).find("SN");
  options.attlog_stamp = "9999";
  options.operlog_stamp = "9999";
  options.attphoto_stamp = "0";
  options.error_delay = 120;
  options.delay = 10;
  options.trans_times = "";
  options.trans_interval = 30;
  options.time_zone = "-300";  // the demo sends minutes even for whole hours
  options.server_ver = "2.2.14 22/09/2020";
  options.multi_bio_data_support = "0:1:1:0:0:0:0:0:1:1";
  options.extra = {{"SyncTime", "0"}, {"ServerName", "Logtime Server"}};
  std::string ours = render_handshake(options);

  // Same lines in another order; the demo writes no space after "FROM:".
  const std::string first_line = "GET OPTION FROM: CKJF202560310\n";
  ASSERT_EQ(ours.substr(0, first_line.size()), first_line);
  ASSERT_EQ(demo.substr(0, first_line.size() - 1), "GET OPTION FROM:CKJF202560310\n");
  EXPECT_EQ(sorted_lines(ours.substr(first_line.size())),
            sorted_lines(demo.substr(first_line.size() - 1)));
  // And the whole-hour zone the spec prefers for that terminal:
  EXPECT_EQ(render_timezone(-300), "-5");
}

TEST(HandshakeTest, StripsLineBreaksSoNoValueAddsLines) {
  HandshakeOptions options;
  options.serial_number = "ABC\r\nRealtime=0";
  options.trans_times = "00:00\n";
  options.extra = {KeyValue{"Server\nName", std::string("x\0y", 3)}};
  const std::string body = render_handshake(options);
  EXPECT_EQ(body.substr(0, body.find('\n')), "GET OPTION FROM: ABCRealtime=0");
  EXPECT_EQ(std::count(body.begin(), body.end(), '\r'), 0);
  EXPECT_EQ(std::count(body.begin(), body.end(), '\0'), 0);
  EXPECT_THAT(body, HasSubstr("\nTransTimes=00:00\n"));
  EXPECT_THAT(body, HasSubstr("\nServerName=xy\n"));
  EXPECT_EQ(body.find("\nRealtime=0"), std::string::npos);
}

TEST(HandshakeTest, OmitsUnsetOptionalLinesAndSendsLegacyStampNames) {
  HandshakeOptions options;
  options.serial_number = "X";
  options.attlog_stamp = "1";
  options.operlog_stamp = "2";
  options.push_options_flag = false;
  options.realtime = false;
  options.encrypt = "0";
  const std::string body = render_handshake(options);
  EXPECT_THAT(body, HasSubstr("\nStamp=1\nOpStamp=2\nATTLOGStamp=1\nOPERLOGStamp=2\nErrorDelay="));
  EXPECT_EQ(body.find("PhotoStamp"), std::string::npos);
  EXPECT_EQ(body.find("TimeZone"), std::string::npos);
  EXPECT_EQ(body.find("PushOptions="), std::string::npos);
  EXPECT_EQ(body.find("MultiBio"), std::string::npos);
  EXPECT_THAT(body, HasSubstr("\nRealtime=0\nEncrypt=0\n"));
  EXPECT_THAT(body, HasSubstr("\nPushOptionsFlag=0\n"));
  EXPECT_EQ(body.back(), '\n');
}

TEST(TimeZoneTest, SendsWholeHoursInHours) {
  EXPECT_EQ(render_timezone(0), "0");
  EXPECT_EQ(render_timezone(-300), "-5");
  EXPECT_EQ(render_timezone(480), "8");
  EXPECT_EQ(render_timezone(60), "1");
  EXPECT_EQ(render_timezone(-60), "-1");
  EXPECT_EQ(render_timezone(660), "11");
  EXPECT_EQ(render_timezone(-660), "-11");
}

TEST(TimeZoneTest, SendsTwelveHoursAndMoreInMinutes) {
  // -12 < TimeZone < 12 is the hour range, so +-12 h and +13/+14 h go in minutes.
  EXPECT_EQ(render_timezone(720), "720");
  EXPECT_EQ(render_timezone(-720), "-720");
  EXPECT_EQ(render_timezone(780), "780");
  EXPECT_EQ(render_timezone(840), "840");
}

TEST(TimeZoneTest, SendsHalfAndQuarterZonesInMinutes) {
  EXPECT_EQ(render_timezone(330), "330");    // India
  EXPECT_EQ(render_timezone(345), "345");    // Nepal
  EXPECT_EQ(render_timezone(-570), "-570");  // Marquesas
  EXPECT_EQ(render_timezone(-210), "-210");  // Newfoundland
  EXPECT_EQ(render_timezone(-90), "-90");
}

TEST(TimeZoneTest, RefusesOffsetsTheTerminalCannotBeTold) {
  for (int minutes : {30, -30, 45, -45, 59, -59, 841, -721, 1440, -1440}) {
    EXPECT_FALSE(render_timezone(minutes).has_value()) << minutes;
  }
}

TEST(HttpDateTest, FormatsImfFixdateInGmt) {
  using namespace std::chrono;
  const sys_days day = year{2020} / September / 22;
  EXPECT_EQ(format_http_date(day + 20h + 28min + 15s), "Tue, 22 Sep 2020 20:28:15 GMT");
  EXPECT_EQ(format_http_date(sys_days{year{2024} / February / 29} + 5h + 7min + 9s + 999ms),
            "Thu, 29 Feb 2024 05:07:09 GMT");
  EXPECT_EQ(format_http_date(system_clock::time_point{}), "Thu, 01 Jan 1970 00:00:00 GMT");
  EXPECT_EQ(format_http_date(system_clock::time_point{} - 1s), "Wed, 31 Dec 1969 23:59:59 GMT");
}

TEST(HttpDateTest, MatchesTheDemosDateHeader) {
  using namespace std::chrono;
  const test::PushdemoLog log = demo_log("Debug_2020-09-23_ServerLog15.txt");
  ASSERT_FALSE(log.exchanges.empty());
  ASSERT_TRUE(log.exchanges[0].response.has_value());
  const std::string* date = test::find_header(log.exchanges[0].response->headers, "Date");
  ASSERT_NE(date, nullptr);
  // "Wed, 23 Sep 2020 20:00:..": rebuild it from its parts.
  const int hh = std::stoi(date->substr(17, 2));
  const int mm = std::stoi(date->substr(20, 2));
  const int ss = std::stoi(date->substr(23, 2));
  const sys_days day = year{2020} / September / 23;
  EXPECT_EQ(format_http_date(day + hours{hh} + minutes{mm} + seconds{ss}), *date);
}

}  // namespace
}  // namespace pushgate::adapters::zkpush
