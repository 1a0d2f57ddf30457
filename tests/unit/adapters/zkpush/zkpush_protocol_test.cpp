// Included first: proves the header is self-contained.
#include "adapters/zkpush/zkpush_protocol.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tests/support/device_lines.hpp"
#include "tests/support/http_fixture.hpp"
#include "tests/support/pushdemo_log.hpp"

namespace pushgate::adapters::zkpush {
namespace {

namespace fs = std::filesystem;
using test::HttpRequestFixture;
using test::load_http_fixture;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

fs::path fixtures_dir() {
  return fs::path(PUSHGATE_SOURCE_DIR) / "tests" / "fixtures";
}

/** A request cut from the real terminal captures. */
HttpRequestFixture captured(const std::string& name) {
  return load_http_fixture(fixtures_dir() / "zkpush" / "speedface-v5l" / name);
}

/** A request written by hand for a shape the captures lack. */
HttpRequestFixture handmade(const std::string& name) {
  return load_http_fixture(fixtures_dir() / "zkpush" / "handmade" / name);
}

test::PushdemoLog demo_log(const std::string& name) {
  return test::load_pushdemo_log(fixtures_dir() / "zk-pushdemo" / name);
}

std::vector<test::PushdemoLog> all_demo_logs() {
  std::vector<test::PushdemoLog> logs;
  for (const fs::path& file : test::pushdemo_log_files(fixtures_dir() / "zk-pushdemo")) {
    logs.push_back(test::load_pushdemo_log(file));
  }
  return logs;
}

using test::non_blank_lines;

QueryResult query_of(const HttpRequestFixture& request) {
  return parse_query(request.query());
}

template <typename Record>
const Record& record_as(const OperlogEntry& entry) {
  return std::get<Record>(entry.record);
}

std::vector<std::string> reasons(const std::vector<ParseProblem>& problems) {
  std::vector<std::string> out;
  for (const ParseProblem& problem : problems) {
    out.push_back(problem.reason);
  }
  return out;
}

std::vector<std::size_t> problem_lines(const std::vector<ParseProblem>& problems) {
  std::vector<std::size_t> out;
  for (const ParseProblem& problem : problems) {
    out.push_back(problem.line);
  }
  return out;
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
// ATTLOG
// ---------------------------------------------------------------------------

TEST(AttlogParserTest, ParsesRealtimeTenFieldLine) {
  const HttpRequestFixture request = captured("attlog-realtime-10-fields.http");
  const AttlogResult result = parse_attlog(request.body);
  EXPECT_TRUE(result.problems.empty());
  ASSERT_EQ(result.records.size(), 1U);
  const AttlogRecord& r = result.records[0];
  EXPECT_EQ(r.line, 1U);
  EXPECT_EQ(r.raw, "100\t2020-09-22 15:28:54\t0\t15\t\t0\t0\t0\t36.2\t6");
  EXPECT_EQ(r.pin, "100");
  EXPECT_EQ(r.time_text, "2020-09-22 15:28:54");
  EXPECT_EQ(r.time, (DeviceTime{2020, 9, 22, 15, 28, 54}));
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.verify, 15);
  EXPECT_EQ(r.workcode, "");
  EXPECT_EQ(r.reserved1, "0");
  EXPECT_EQ(r.reserved2, "0");
  ASSERT_EQ(r.extra.size(), 3U);
  EXPECT_EQ(r.extra[0].position, 8U);
  EXPECT_EQ(r.extra[0].name, "mask_flag");
  EXPECT_EQ(r.extra[0].value, "0");
  EXPECT_EQ(r.extra[1].name, "temperature");
  EXPECT_EQ(r.extra[1].value, "36.2");
  EXPECT_EQ(r.extra[2].position, 10U);
  EXPECT_EQ(r.extra[2].name, "field10");
  EXPECT_EQ(r.extra[2].value, "6");
}

TEST(AttlogParserTest, ParsesDataQueryAnswer) {
  const AttlogResult result = parse_attlog(captured("attlog-query-answer-18-records.http").body);
  EXPECT_TRUE(result.problems.empty());
  ASSERT_EQ(result.records.size(), 18U);
  EXPECT_EQ(result.records[1].pin, "200");
  EXPECT_EQ(result.records[1].verify, 1);
  EXPECT_EQ(result.records[1].extra[0].value, "1");  // mask worn
  EXPECT_EQ(result.records[17].line, 18U);
  EXPECT_EQ(result.records[17].time_text, "2020-09-23 15:07:05");
}

TEST(AttlogParserTest, HandlesCrlfTrailingTabsBlankLinesAndShortLines) {
  const AttlogResult result = parse_attlog(handmade("attlog-crlf-trailing-tabs.http").body);
  EXPECT_TRUE(result.problems.empty()) << ::testing::PrintToString(reasons(result.problems));
  ASSERT_EQ(result.records.size(), 4U);
  // Seven fields, the spec's own shape.
  EXPECT_EQ(result.records[0].pin, "1452");
  EXPECT_EQ(result.records[0].workcode, "0");
  EXPECT_EQ(result.records[0].raw, "1452\t2015-07-30 15:16:28\t0\t1\t0\t0\t0");
  EXPECT_TRUE(result.records[0].extra.empty());
  // Trailing TABs add nothing.
  EXPECT_EQ(result.records[1].status, 1);
  EXPECT_TRUE(result.records[1].extra.empty());
  EXPECT_EQ(result.records[1].raw, "1452\t2015-07-30 15:16:29\t1\t1\t\t0\t0\t\t\t");
  // Line 3 is blank; line numbers stay physical.
  EXPECT_EQ(result.records[2].line, 4U);
  ASSERT_EQ(result.records[2].extra.size(), 3U);
  EXPECT_EQ(result.records[2].extra[2].value, "13");
  // Four fields: older firmware.
  EXPECT_EQ(result.records[3].line, 5U);
  EXPECT_EQ(result.records[3].pin, "8965");
  EXPECT_EQ(result.records[3].workcode, "");
  EXPECT_EQ(result.records[3].reserved2, "");
}

TEST(AttlogParserTest, AcceptsStatus255) {
  const AttlogResult result = parse_attlog(handmade("attlog-status-255.http").body);
  EXPECT_TRUE(result.problems.empty());
  ASSERT_EQ(result.records.size(), 2U);
  EXPECT_EQ(result.records[0].status, 255);
  EXPECT_EQ(result.records[1].status, 255);
  EXPECT_EQ(result.records[1].extra.size(), 0U);
}

TEST(AttlogParserTest, QuarantinesOneBadLineAndKeepsTheOthers) {
  const AttlogResult result = parse_attlog(handmade("attlog-bad-line.http").body);
  ASSERT_EQ(result.records.size(), 5U);
  ASSERT_EQ(result.problems.size(), 1U);
  EXPECT_EQ(result.problems[0].line, 4U);
  EXPECT_EQ(result.problems[0].raw, "999\t2020-13-45 25:61:00\t0\t15\t\t0\t0\t0\t36.5\t4");
  EXPECT_THAT(result.problems[0].reason, HasSubstr("time"));
  EXPECT_EQ(result.records[3].pin, "103");
  EXPECT_EQ(result.records[3].line, 5U);
}

TEST(AttlogParserTest, SkipsLinesWithEachKindOfBadField) {
  const AttlogResult result = parse_attlog(handmade("attlog-bad-fields.http").body);
  ASSERT_EQ(result.records.size(), 1U);
  EXPECT_EQ(result.records[0].pin, "205");
  EXPECT_THAT(problem_lines(result.problems), ElementsAre(1U, 2U, 3U, 4U, 5U, 6U));
  const std::vector<std::string> why = reasons(result.problems);
  EXPECT_THAT(why[0], HasSubstr("status"));
  EXPECT_THAT(why[1], HasSubstr("PIN"));
  EXPECT_THAT(why[2], HasSubstr("fields"));
  EXPECT_THAT(why[3], HasSubstr("time"));
  EXPECT_THAT(why[4], HasSubstr("time"));
  EXPECT_THAT(why[5], HasSubstr("verify"));
  EXPECT_EQ(result.problems[2].raw, "201\t2020-09-23 10:00:02");
}

TEST(AttlogParserTest, NamesIdentityCardFields) {
  const AttlogResult result = parse_attlog(handmade("attlog-idcard.http").body);
  EXPECT_TRUE(result.problems.empty());
  ASSERT_EQ(result.records.size(), 3U);
  ASSERT_EQ(result.records[1].extra.size(), 2U);
  EXPECT_EQ(result.records[1].extra[0].name, "id_number");
  EXPECT_EQ(result.records[1].extra[0].value, "21021819910306210X");
  EXPECT_EQ(result.records[1].extra[1].name, "record_type");
  EXPECT_EQ(result.records[1].extra[1].value, "1");
}

TEST(AttlogParserTest, LayoutCanBeChosenByTheCaller) {
  const std::string body = captured("attlog-realtime-10-fields.http").body;
  const AttlogResult positional = parse_attlog(body, AttlogLayout::Positional);
  ASSERT_EQ(positional.records.size(), 1U);
  EXPECT_EQ(positional.records[0].extra[0].name, "field8");
  EXPECT_EQ(positional.records[0].extra[1].name, "field9");
  const AttlogResult id_card = parse_attlog(body, AttlogLayout::IdCard);
  EXPECT_EQ(id_card.records[0].extra[0].name, "id_number");
  const AttlogResult mask = parse_attlog("7\t2021-01-01 00:00:00\t0\t15\t\t0\t0\t1\t\t9\n",
                                         AttlogLayout::MaskTemperature);
  ASSERT_EQ(mask.records[0].extra.size(), 3U);
  EXPECT_EQ(mask.records[0].extra[1].name, "temperature");
  EXPECT_EQ(mask.records[0].extra[1].value, "");
}

TEST(AttlogParserTest, EmptyAndBlankBodiesYieldNothing) {
  for (std::string_view body : {std::string_view(""), std::string_view("\n"),
                                std::string_view("\r\n\r\n"), std::string_view(" \t\n\0\n", 5)}) {
    const AttlogResult result = parse_attlog(body);
    EXPECT_TRUE(result.records.empty());
    EXPECT_TRUE(result.problems.empty());
  }
}

TEST(AttlogParserTest, LastLineWithoutTerminatorCounts) {
  const AttlogResult result =
      parse_attlog("1\t2021-01-01 00:00:00\t0\t1\n2\t2021-01-01 00:00:01\t0\t1");
  ASSERT_EQ(result.records.size(), 2U);
  EXPECT_EQ(result.records[1].line, 2U);
}

// ---------------------------------------------------------------------------
// OPERLOG
// ---------------------------------------------------------------------------

TEST(OperlogParserTest, ParsesOplogBatch) {
  const OperlogResult result = parse_operlog(captured("operlog-oplog-batch.http").body);
  EXPECT_TRUE(result.problems.empty());
  ASSERT_EQ(result.entries.size(), 6U);
  for (const OperlogEntry& entry : result.entries) {
    EXPECT_EQ(entry.kind, OperlogKind::Oplog);
  }
  const auto& alarm = record_as<OplogRecord>(result.entries[1]);
  EXPECT_EQ(alarm.op_type, 3);
  EXPECT_EQ(alarm.op_who, "0");
  EXPECT_EQ(alarm.time, (DeviceTime{2020, 6, 23, 13, 19, 37}));
  EXPECT_EQ(alarm.value1, "55");  // appendix 5: machine been broken
  const auto& settings = record_as<OplogRecord>(result.entries[3]);
  EXPECT_EQ(settings.op_type, 5);
  EXPECT_EQ(settings.value1, "DHCP");
  EXPECT_EQ(result.entries[5].raw, "OPLOG 5\t0\t2020-06-23 13:20:50\tDHCP\t0\t0\t0");
  EXPECT_EQ(result.entries[5].line, 6U);
}

TEST(OperlogParserTest, ParsesEnrolmentCodesAboveTheSpecTable) {
  const OperlogResult result = parse_operlog(captured("operlog-oplog-enrol-codes.http").body);
  EXPECT_TRUE(result.problems.empty());
  ASSERT_EQ(result.entries.size(), 2U);
  EXPECT_EQ(record_as<OplogRecord>(result.entries[0]).op_type, 114);
  EXPECT_EQ(record_as<OplogRecord>(result.entries[0]).value1, "100 Name=Jorge Leon");
  EXPECT_EQ(record_as<OplogRecord>(result.entries[1]).op_type, 101);
}

TEST(OperlogParserTest, ParsesEnrolledUser) {
  const OperlogResult result = parse_operlog(captured("operlog-user-enrolled.http").body);
  EXPECT_TRUE(result.problems.empty());
  ASSERT_EQ(result.entries.size(), 1U);
  ASSERT_EQ(result.entries[0].kind, OperlogKind::User);
  const auto& user = record_as<UserRecord>(result.entries[0]);
  EXPECT_EQ(user.pin, "200");
  EXPECT_EQ(user.name, "Jose Luis Rivera");
  EXPECT_EQ(user.privilege, 0);
  EXPECT_EQ(user.password, "");
  EXPECT_EQ(user.card, "");
  EXPECT_EQ(user.group, 1);
  EXPECT_EQ(user.time_zones, "0000000100000000");
  EXPECT_EQ(user.verify, -1);
  EXPECT_EQ(user.vice_card, "");
  ASSERT_EQ(user.extra.size(), 2U);
  EXPECT_EQ(user.extra[0].key, "StartDatetime");
  EXPECT_EQ(user.extra[1].key, "EndDatetime");
}

TEST(OperlogParserTest, KeepsPinWithSpaceExactlyAsTheTerminalStoredIt) {
  // The demo sent "DATA UPDATE USERINFO PIN=100 Name=Jorge Leon\t..." with a
  // space instead of a TAB; the terminal stored the whole text as the PIN.
  const OperlogResult result = parse_operlog(captured("operlog-user-pin-with-space.http").body);
  EXPECT_TRUE(result.problems.empty());
  ASSERT_EQ(result.entries.size(), 1U);
  const auto& user = record_as<UserRecord>(result.entries[0]);
  EXPECT_EQ(user.pin, "100 Name=Jorge Leon");
  EXPECT_EQ(user.name, "");
  EXPECT_EQ(user.password, "1234");
  EXPECT_EQ(user.card, "1234");
}

TEST(OperlogParserTest, ParsesComparisonPhoto) {
  const OperlogResult result = parse_operlog(captured("operlog-biophoto.http").body);
  EXPECT_TRUE(result.problems.empty());
  ASSERT_EQ(result.entries.size(), 1U);
  ASSERT_EQ(result.entries[0].kind, OperlogKind::BioPhoto);
  const auto& photo = record_as<PhotoRecord>(result.entries[0]);
  EXPECT_EQ(photo.pin, "200");
  EXPECT_EQ(photo.number, 0);
  EXPECT_EQ(photo.index, 0);
  EXPECT_EQ(photo.file_name, "200.jpg");
  EXPECT_EQ(photo.type, 9);
  ASSERT_TRUE(photo.size.has_value());
  EXPECT_EQ(static_cast<std::size_t>(*photo.size), photo.content.size());
  EXPECT_EQ(photo.content.substr(0, 4), "/9j/");  // base64 of a JPEG SOI
}

TEST(OperlogParserTest, ParsesOlderComparisonPhotoWithoutNumber) {
  const OperlogResult result = parse_operlog(captured("operlog-biophoto-fw1.1.27.http").body);
  EXPECT_TRUE(result.problems.empty());
  ASSERT_EQ(result.entries.size(), 1U);
  const auto& photo = record_as<PhotoRecord>(result.entries[0]);
  EXPECT_EQ(photo.pin, "5");
  EXPECT_FALSE(photo.number.has_value());
  EXPECT_EQ(photo.type, 0);
  EXPECT_EQ(photo.size, 36908);
}

TEST(OperlogParserTest, ParsesUserPhoto) {
  const OperlogResult result = parse_operlog(captured("operlog-userpic.http").body);
  EXPECT_TRUE(result.problems.empty());
  ASSERT_EQ(result.entries.size(), 1U);
  ASSERT_EQ(result.entries[0].kind, OperlogKind::UserPic);
  const auto& photo = record_as<PhotoRecord>(result.entries[0]);
  EXPECT_EQ(photo.pin, "200");
  EXPECT_EQ(photo.file_name, "200.jpg");
  EXPECT_EQ(photo.size, 40124);
  EXPECT_EQ(photo.content.size(), 40124U);
}

TEST(OperlogParserTest, ParsesEveryRecordTypeOfAMixedBody) {
  const OperlogResult result = parse_operlog(handmade("operlog-mixed.http").body);
  EXPECT_TRUE(result.problems.empty()) << ::testing::PrintToString(reasons(result.problems));
  std::vector<OperlogKind> kinds;
  for (const OperlogEntry& entry : result.entries) {
    kinds.push_back(entry.kind);
  }
  EXPECT_THAT(kinds, ElementsAre(OperlogKind::Oplog, OperlogKind::User, OperlogKind::Fingerprint,
                                 OperlogKind::Face, OperlogKind::FingerVein, OperlogKind::BioData,
                                 OperlogKind::UserPic, OperlogKind::BioPhoto));
  const auto& user = record_as<UserRecord>(result.entries[1]);
  EXPECT_EQ(user.card, "133440");
  EXPECT_EQ(user.time_zones, "0001000000000000");
  const auto& fp = record_as<TemplateRecord>(result.entries[2]);
  EXPECT_EQ(fp.pin, "2");
  EXPECT_EQ(fp.number, 0);
  EXPECT_EQ(fp.valid, 1);
  ASSERT_TRUE(fp.size.has_value());
  EXPECT_EQ(static_cast<std::size_t>(*fp.size), fp.data.size());
  const auto& face = record_as<TemplateRecord>(result.entries[3]);  // SIZE=, VALID= upper case
  EXPECT_EQ(face.size, 20);
  EXPECT_EQ(face.valid, 1);
  EXPECT_EQ(face.number, 2);
  const auto& vein = record_as<TemplateRecord>(result.entries[4]);  // Pin=, Tmp=
  EXPECT_EQ(vein.pin, "306");
  EXPECT_EQ(vein.index, 0);
  EXPECT_EQ(vein.data, "AAAAAAAAAAAAAAAA");
  const auto& bio = record_as<TemplateRecord>(result.entries[5]);
  EXPECT_EQ(bio.type, 8);
  EXPECT_EQ(bio.index, 2);
  EXPECT_EQ(bio.major_ver, 1);
  EXPECT_EQ(bio.minor_ver, 0);
  EXPECT_EQ(bio.format, "0");
  EXPECT_EQ(record_as<PhotoRecord>(result.entries[7]).type, 2);
}

TEST(OperlogParserTest, QuarantinesUnknownAndMalformedRecords) {
  const OperlogResult result = parse_operlog(handmade("operlog-unknown-record.http").body);
  ASSERT_EQ(result.entries.size(), 2U);
  EXPECT_EQ(result.entries[0].kind, OperlogKind::Oplog);
  EXPECT_EQ(result.entries[1].kind, OperlogKind::User);
  EXPECT_EQ(result.entries[1].line, 9U);
  EXPECT_EQ(record_as<UserRecord>(result.entries[1]).card, "[15CD5B07]");
  EXPECT_THAT(problem_lines(result.problems), ElementsAre(2U, 3U, 4U, 5U, 6U, 7U, 8U));
  const std::vector<std::string> why = reasons(result.problems);
  EXPECT_THAT(why[0], HasSubstr("unknown record type 'WORKCODE'"));
  EXPECT_THAT(why[1], HasSubstr("unknown record type 'IDCARD'"));
  EXPECT_THAT(why[2], HasSubstr("USER without PIN"));
  EXPECT_THAT(why[3], HasSubstr("FID is not a number"));
  EXPECT_THAT(why[4], HasSubstr("without template data"));
  EXPECT_THAT(why[5], HasSubstr("not expected in table=OPERLOG"));
  EXPECT_THAT(why[6], HasSubstr("OPLOG type"));
  EXPECT_EQ(result.problems[0].raw, "WORKCODE Code=1\tName=Sales");
}

TEST(OperlogParserTest, ReportsFieldWithoutEquals) {
  const OperlogResult result = parse_operlog("USER PIN=1\tjunk\tName=x\nOPLOG 4\t0\n");
  EXPECT_TRUE(result.entries.empty());
  ASSERT_EQ(result.problems.size(), 2U);
  EXPECT_THAT(result.problems[0].reason, HasSubstr("'junk'"));
  EXPECT_THAT(result.problems[1].reason, HasSubstr("at least"));
}

TEST(OperlogParserTest, RecordTypeWordIgnoresCaseAndAcceptsTab) {
  const OperlogResult result =
      parse_operlog("user\tPIN=9\tName=x\nOplog 4\t0\t2020-01-01 00:00:00\n");
  EXPECT_TRUE(result.problems.empty());
  ASSERT_EQ(result.entries.size(), 2U);
  EXPECT_EQ(record_as<UserRecord>(result.entries[0]).pin, "9");
  EXPECT_TRUE(record_as<OplogRecord>(result.entries[1]).value1.empty());
}

TEST(OperlogParserTest, NamesRecordKinds) {
  EXPECT_EQ(to_string(OperlogKind::Oplog), "OPLOG");
  EXPECT_EQ(to_string(OperlogKind::Fingerprint), "FP");
  EXPECT_EQ(to_string(OperlogKind::FingerVein), "FVEIN");
  EXPECT_EQ(to_string(OperlogKind::UserPic), "USERPIC");
  EXPECT_EQ(to_string(OperlogKind::ErrorLog), "ERRORLOG");
}

// ---------------------------------------------------------------------------
// BIODATA and ERRORLOG
// ---------------------------------------------------------------------------

TEST(BiodataParserTest, ParsesVisibleLightFaceTemplate) {
  const OperlogResult result = parse_biodata(captured("biodata-visible-face.http").body);
  EXPECT_TRUE(result.problems.empty());
  ASSERT_EQ(result.entries.size(), 1U);
  EXPECT_EQ(result.entries[0].kind, OperlogKind::BioData);
  const auto& t = record_as<TemplateRecord>(result.entries[0]);
  EXPECT_EQ(t.pin, "100");
  EXPECT_EQ(t.number, 0);
  EXPECT_EQ(t.index, 0);
  EXPECT_EQ(t.valid, 1);
  EXPECT_EQ(t.duress, 0);
  EXPECT_EQ(t.type, 9);
  EXPECT_EQ(t.major_ver, 58);
  EXPECT_EQ(t.minor_ver, 10);
  EXPECT_EQ(t.format, "0");
  EXPECT_FALSE(t.size.has_value());
  EXPECT_EQ(t.data.size(), result.entries[0].raw.size() - result.entries[0].raw.find("Tmp=") - 4);
  EXPECT_TRUE(t.extra.empty());
}

TEST(BiodataParserTest, KeepsAnEmptyMinorVersionEmpty) {
  const OperlogResult result = parse_biodata(captured("biodata-nir-face-12-templates.http").body);
  EXPECT_TRUE(result.problems.empty());
  ASSERT_EQ(result.entries.size(), 12U);
  for (std::size_t i = 0; i < result.entries.size(); ++i) {
    const auto& t = record_as<TemplateRecord>(result.entries[i]);
    EXPECT_EQ(t.number, static_cast<int>(i));
    EXPECT_EQ(t.type, 2);
    EXPECT_EQ(t.major_ver, 0);
    EXPECT_FALSE(t.minor_ver.has_value());
    EXPECT_EQ(t.format, "ZK");
  }
}

TEST(BiodataParserTest, ParsesFingerprintTemplates) {
  const OperlogResult result = parse_biodata(captured("biodata-fingerprints.http").body);
  EXPECT_TRUE(result.problems.empty());
  ASSERT_EQ(result.entries.size(), 2U);
  const auto& first = record_as<TemplateRecord>(result.entries[0]);
  EXPECT_EQ(first.pin, "200");
  EXPECT_EQ(first.number, 6);
  EXPECT_EQ(first.type, 1);
  EXPECT_EQ(first.major_ver, 10);
  EXPECT_EQ(record_as<TemplateRecord>(result.entries[1]).pin, "300");
}

TEST(BiodataParserTest, ParsesPalmTemplatesOfOlderFirmware) {
  const OperlogResult result = parse_biodata(captured("biodata-palm-fw1.1.27.http").body);
  EXPECT_TRUE(result.problems.empty());
  ASSERT_EQ(result.entries.size(), 5U);
  for (std::size_t i = 0; i < result.entries.size(); ++i) {
    const auto& t = record_as<TemplateRecord>(result.entries[i]);
    EXPECT_EQ(t.type, 8);
    EXPECT_EQ(t.index, static_cast<int>(i));
    EXPECT_EQ(t.major_ver, 12);
  }
}

TEST(BiodataParserTest, RejectsOtherRecordTypes) {
  const OperlogResult result = parse_biodata(handmade("operlog-mixed.http").body);
  ASSERT_EQ(result.entries.size(), 1U);
  EXPECT_EQ(result.entries[0].line, 6U);
  ASSERT_EQ(result.problems.size(), 7U);
  for (const ParseProblem& problem : result.problems) {
    EXPECT_THAT(problem.reason, HasSubstr("not expected in table=BIODATA"));
  }
}

TEST(ErrorlogParserTest, ParsesSpecExample) {
  const OperlogResult result = parse_errorlog(handmade("errorlog-spec.http").body);
  EXPECT_TRUE(result.problems.empty());
  ASSERT_EQ(result.entries.size(), 1U);
  EXPECT_EQ(result.entries[0].kind, OperlogKind::ErrorLog);
  const auto& log = record_as<ErrorLogRecord>(result.entries[0]);
  EXPECT_EQ(log.err_code, "D01E0001");
  EXPECT_EQ(log.err_msg, "");
  EXPECT_EQ(log.data_origin, "cmd");
  EXPECT_EQ(log.cmd_id, "123");
}

TEST(ErrorlogParserTest, RejectsOtherRecordTypesAndMissingCode) {
  const OperlogResult result =
      parse_errorlog("OPLOG 4\t0\t2020-01-01 00:00:00\nERRORLOG ErrMsg=x\n");
  EXPECT_TRUE(result.entries.empty());
  ASSERT_EQ(result.problems.size(), 2U);
  EXPECT_THAT(result.problems[0].reason, HasSubstr("not expected in table=ERRORLOG"));
  EXPECT_THAT(result.problems[1].reason, HasSubstr("without ErrCode"));
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
// devicecmd
// ---------------------------------------------------------------------------

TEST(DeviceCmdParserTest, ParsesSingleConfirmation) {
  const DeviceCmdResult result = parse_devicecmd(captured("devicecmd-data-ok.http").body);
  EXPECT_TRUE(result.problems.empty());
  ASSERT_EQ(result.confirmations.size(), 1U);
  const CommandConfirmation& c = result.confirmations[0];
  EXPECT_EQ(c.id, "1630");
  EXPECT_EQ(c.return_code, 0);
  EXPECT_EQ(c.cmd, "DATA");
  EXPECT_EQ(c.line, 1U);
  EXPECT_EQ(c.line_count, 1U);
  EXPECT_EQ(c.raw, "ID=1630&Return=0&CMD=DATA");
  EXPECT_TRUE(c.extra.empty());
}

TEST(DeviceCmdParserTest, ParsesInfoAnswerWithItsKeyValueLines) {
  const DeviceCmdResult result = parse_devicecmd(captured("devicecmd-info.http").body);
  EXPECT_TRUE(result.problems.empty());
  ASSERT_EQ(result.confirmations.size(), 1U);
  const CommandConfirmation& c = result.confirmations[0];
  EXPECT_EQ(c.id, "1626");
  EXPECT_EQ(c.cmd, "INFO");
  EXPECT_EQ(c.line_count, 65U);
  EXPECT_EQ(c.extra.size(), 64U);
  EXPECT_EQ(c.extra.front().key, "~DeviceName");
  EXPECT_EQ(*find_value(c.extra, "~OEMVendor"), "ZKTeco Co., Ltd.");
  EXPECT_EQ(*find_value(c.extra, "MainTime"), "1970-01-01 00:00:00");
  EXPECT_EQ(*find_value(c.extra, "maxmcucardbits"), "");
  EXPECT_EQ(*find_value(c.extra, "MultiBioVersion"), "0:10.0:0:0:0:0:0:0:12.0:58.10");
}

TEST(DeviceCmdParserTest, ParsesNegativeReturnCodes) {
  const DeviceCmdResult unsupported =
      parse_devicecmd(captured("devicecmd-data-unsupported.http").body);
  ASSERT_EQ(unsupported.confirmations.size(), 1U);
  EXPECT_EQ(unsupported.confirmations[0].return_code, -1004);
  const DeviceCmdResult getfile = parse_devicecmd(captured("devicecmd-getfile-failed.http").body);
  ASSERT_EQ(getfile.confirmations.size(), 1U);
  EXPECT_EQ(getfile.confirmations[0].return_code, -2);
  EXPECT_EQ(getfile.confirmations[0].cmd, "GetFile");
}

TEST(DeviceCmdParserTest, ParsesBatchedConfirmations) {
  const DeviceCmdResult result = parse_devicecmd(handmade("devicecmd-batched.http").body);
  EXPECT_TRUE(result.problems.empty());
  std::vector<std::string> ids;
  for (const CommandConfirmation& c : result.confirmations) {
    ids.push_back(c.id);
    EXPECT_EQ(c.cmd, "DATA");
    EXPECT_EQ(c.line_count, 1U);
  }
  EXPECT_THAT(ids, ElementsAre("info8487", "info8488", "info8489", "info7464", "fp7464"));
  EXPECT_EQ(result.confirmations[4].line, 5U);
}

TEST(DeviceCmdParserTest, ParsesCrlfBatchWithEmptyCmdAndExtraPairs) {
  const DeviceCmdResult result =
      parse_devicecmd(handmade("devicecmd-batched-crlf-empty-cmd.http").body);
  EXPECT_TRUE(result.problems.empty());
  ASSERT_EQ(result.confirmations.size(), 4U);
  EXPECT_EQ(result.confirmations[0].raw, "ID=1700&Return=0&CMD=DATA");  // no CR
  EXPECT_EQ(result.confirmations[3].raw, "ID=1703&Return=0&CMD=CLEAR_LOG");
  EXPECT_EQ(result.confirmations[1].id, "1701");
  EXPECT_EQ(result.confirmations[1].return_code, -1002);
  EXPECT_EQ(result.confirmations[1].cmd, "");
  const CommandConfirmation& verify = result.confirmations[2];
  EXPECT_EQ(verify.cmd, "VERIFY SUM");
  EXPECT_EQ(*find_value(verify.extra, "StartTime"), "2020-09-22 00:00:00");
  EXPECT_EQ(*find_value(verify.extra, "EndTime"), "2020-09-23 00:00:00");
  EXPECT_EQ(*find_value(verify.extra, "AttlogSum"), "18");
  EXPECT_EQ(result.confirmations[3].cmd, "CLEAR_LOG");
}

TEST(DeviceCmdParserTest, ParsesAnswersSpreadOverLines) {
  const DeviceCmdResult result =
      parse_devicecmd(handmade("devicecmd-multiline-putfile-shell.http").body);
  EXPECT_TRUE(result.problems.empty()) << ::testing::PrintToString(reasons(result.problems));
  ASSERT_EQ(result.confirmations.size(), 2U);
  const CommandConfirmation& put = result.confirmations[0];
  EXPECT_EQ(put.id, "1710");
  EXPECT_EQ(put.return_code, 2048);
  EXPECT_EQ(put.cmd, "PutFile");
  EXPECT_EQ(put.line_count, 3U);
  EXPECT_EQ(put.raw, "ID=1710\nReturn=2048\nCMD=PutFile");
  const CommandConfirmation& shell = result.confirmations[1];
  EXPECT_EQ(shell.id, "1711");
  EXPECT_EQ(shell.line, 4U);
  EXPECT_EQ(shell.return_code, 0);
  EXPECT_EQ(shell.cmd, "Shell");
  EXPECT_EQ(*find_value(shell.extra, "SN"), "CKJF202560310");
  EXPECT_EQ(*find_value(shell.extra, "FILENAME"), "shellout.txt");
  // Content runs to the end of the body, LFs and a look-alike ID= included.
  EXPECT_EQ(*find_value(shell.extra, "Content"),
            "total 4\n-rw-r--r-- 1 root root 12 attlog.dat\nID=not-a-new-record\n");
  EXPECT_EQ(shell.line_count, 8U);  // lines 4-11
}

TEST(DeviceCmdParserTest, QuarantinesBrokenConfirmations) {
  const DeviceCmdResult result = parse_devicecmd(handmade("devicecmd-bad-lines.http").body);
  ASSERT_EQ(result.confirmations.size(), 1U);
  EXPECT_EQ(result.confirmations[0].id, "1722");
  EXPECT_THAT(problem_lines(result.problems), ElementsAre(1U, 2U, 3U, 4U));
  const std::vector<std::string> why = reasons(result.problems);
  EXPECT_THAT(why[0], HasSubstr("outside"));
  EXPECT_THAT(why[1], HasSubstr("without ID"));
  EXPECT_THAT(why[2], HasSubstr("without Return"));
  EXPECT_THAT(why[3], HasSubstr("not a number"));
  EXPECT_EQ(result.problems[2].raw, "ID=1720&CMD=DATA");
}

TEST(DeviceCmdParserTest, KeepsStrayLinesWithTheirConfirmation) {
  const DeviceCmdResult result =
      parse_devicecmd("ID=1&Return=0&CMD=INFO&flag\nk=v\n\nnot a pair\n");
  EXPECT_TRUE(result.problems.empty());
  ASSERT_EQ(result.confirmations.size(), 1U);
  const CommandConfirmation& c = result.confirmations[0];
  ASSERT_EQ(c.extra.size(), 3U);
  EXPECT_EQ(c.extra[0].key, "flag");
  EXPECT_EQ(c.extra[1].value, "v");
  EXPECT_EQ(c.extra[2].key, "not a pair");
  EXPECT_EQ(c.line_count, 4U);
  EXPECT_EQ(c.raw, "ID=1&Return=0&CMD=INFO&flag\nk=v\n\nnot a pair");
}

TEST(DeviceCmdParserTest, EmptyBodyYieldsNothing) {
  const DeviceCmdResult result = parse_devicecmd("");
  EXPECT_TRUE(result.confirmations.empty());
  EXPECT_TRUE(result.problems.empty());
}

// ---------------------------------------------------------------------------
// ATTPHOTO
// ---------------------------------------------------------------------------

TEST(AttphotoParserTest, LocatesBinaryPartAfterTheNul) {
  const HttpRequestFixture request = handmade("attphoto-nul-binary.http");
  const AttPhotoResult result = parse_attphoto(request.body);
  EXPECT_TRUE(result.problems.empty()) << ::testing::PrintToString(reasons(result.problems));
  ASSERT_TRUE(result.photo.has_value());
  const AttPhoto& photo = *result.photo;
  EXPECT_EQ(photo.file_name, "20200923150705-100.jpg");
  EXPECT_EQ(photo.sn, "CKJF202560310");
  EXPECT_EQ(photo.cmd, "uploadphoto");
  EXPECT_EQ(photo.header.size(), 4U);
  ASSERT_TRUE(photo.declared_size.has_value());
  EXPECT_EQ(static_cast<std::size_t>(*photo.declared_size), photo.data_size);
  EXPECT_EQ(photo.data_offset + photo.data_size, request.body.size());
  const std::string_view jpeg =
      std::string_view(request.body).substr(photo.data_offset, photo.data_size);
  EXPECT_EQ(jpeg.substr(0, 2), "\xFF\xD8");
  EXPECT_EQ(jpeg.substr(jpeg.size() - 2), "\xFF\xD9");
  EXPECT_GT(std::count(jpeg.begin(), jpeg.end(), '\0'), 5);
}

TEST(AttphotoParserTest, ParsesFdataUploadWithIdentityCardName) {
  const HttpRequestFixture request = handmade("attphoto-fdata-idcard-name.http");
  EXPECT_EQ(classify_endpoint(request.path()), Endpoint::Fdata);
  const AttPhotoResult result = parse_attphoto(request.body);
  ASSERT_TRUE(result.photo.has_value());
  const std::optional<AttPhotoName> name = parse_attphoto_name(result.photo->file_name);
  ASSERT_TRUE(name.has_value());
  EXPECT_EQ(name->time, (DeviceTime{2016, 6, 15, 9, 37, 58}));
  EXPECT_EQ(name->photo_type, 0);
  EXPECT_EQ(name->pin, "1457");
  EXPECT_EQ(name->id_number, "210218199011304365");
}

TEST(AttphotoParserTest, ParsesPlainFileName) {
  const std::optional<AttPhotoName> name = parse_attphoto_name("20150731103012-123.jpg");
  ASSERT_TRUE(name.has_value());
  EXPECT_EQ(name->time, (DeviceTime{2015, 7, 31, 10, 30, 12}));
  EXPECT_EQ(name->pin, "123");
  EXPECT_FALSE(name->photo_type.has_value());
  EXPECT_TRUE(name->id_number.empty());
}

TEST(AttphotoParserTest, RejectsOtherFileNames) {
  for (std::string_view text : {"", "photo.jpg", "20150731103012.jpg", "20151331103012-1.jpg",
                                "2015073110301-1.jpg", "20150731103012-x-1-2.jpg", "a-b-c"}) {
    EXPECT_FALSE(parse_attphoto_name(text).has_value()) << text;
  }
}

TEST(AttphotoParserTest, ReportsSizeMismatchButKeepsThePhoto) {
  const std::string body = handmade("attphoto-nul-binary.http").body;
  const AttPhotoResult result = parse_attphoto(std::string_view(body).substr(0, body.size() - 10));
  ASSERT_TRUE(result.photo.has_value());
  ASSERT_EQ(result.problems.size(), 1U);
  EXPECT_THAT(result.problems[0].reason, HasSubstr("size says 185"));
}

TEST(AttphotoParserTest, RejectsUploadWithoutBinaryPart) {
  const AttPhotoResult result = parse_attphoto("PIN=1.jpg\nSN=1\nsize=3\nCMD=uploadphoto");
  EXPECT_FALSE(result.photo.has_value());
  ASSERT_EQ(result.problems.size(), 1U);
  EXPECT_THAT(result.problems[0].reason, HasSubstr("without binary part"));
}

TEST(AttphotoParserTest, RejectsUploadWithoutFileName) {
  const AttPhotoResult result = parse_attphoto(std::string_view("SN=1\nCMD=uploadphoto\0ab", 23));
  EXPECT_FALSE(result.photo.has_value());
  ASSERT_EQ(result.problems.size(), 1U);
  EXPECT_THAT(result.problems[0].reason, HasSubstr("without PIN"));
}

TEST(AttphotoParserTest, WithoutCmdLineTheFirstNulEndsTheHeader) {
  const AttPhotoResult result = parse_attphoto(std::string_view("PIN=2.jpg\r\nSN=9\0\x01\x02", 18));
  ASSERT_TRUE(result.photo.has_value());
  EXPECT_EQ(result.photo->sn, "9");
  EXPECT_EQ(result.photo->data_offset, 16U);
  EXPECT_EQ(result.photo->data_size, 2U);
}

TEST(AttphotoParserTest, StopsLookingForAHeaderInBinaryGarbage) {
  std::string garbage;
  for (int i = 0; i < 100; ++i) {
    garbage += "\xFF\x01 binary\n";
  }
  const AttPhotoResult result = parse_attphoto(garbage);
  EXPECT_FALSE(result.photo.has_value());
  EXPECT_LE(result.problems.size(), 18U);
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

// ---------------------------------------------------------------------------
// The demo-log loader and the fixtures cut from it
// ---------------------------------------------------------------------------

TEST(PushdemoLogTest, LoadsEveryExchangeWithByteExactBodies) {
  std::size_t exchanges = 0;
  std::size_t answered = 0;
  std::size_t hand_made = 0;
  for (const test::PushdemoLog& log : all_demo_logs()) {
    for (const test::PushdemoExchange& e : log.exchanges) {
      ++exchanges;
      answered += e.response ? 1 : 0;
      hand_made += e.hand_made ? 1 : 0;
      const std::string* length = e.header("Content-Length");
      EXPECT_EQ(e.body.size(), length == nullptr ? 0U : std::stoul(*length))
          << e.source << ":" << e.log_line;
      EXPECT_TRUE(e.method == "GET" || e.method == "POST") << e.method;
      EXPECT_EQ(e.version, "HTTP/1.1");
    }
  }
  EXPECT_EQ(exchanges, 1776U);
  EXPECT_EQ(hand_made, 32U);
  EXPECT_GE(answered, exchanges - 2);
}

TEST(PushdemoLogTest, SkipsTheBomInFrontOfTheFirstMarker) {
  const test::PushdemoLog log = demo_log("Debug_2020-09-23_ServerLog13.txt");
  ASSERT_EQ(log.exchanges.size(), 11U);
  EXPECT_EQ(log.exchanges[0].log_line, 1U);
  EXPECT_EQ(log.exchanges[0].method, "GET");
  EXPECT_EQ(log.exchanges[0].received_at, "2020-09-23 13:00:03:568");
}

TEST(PushdemoLogTest, FlagsEveryRequestNoTerminalSent) {
  std::set<std::string> reasons_seen;
  for (const test::PushdemoLog& log : all_demo_logs()) {
    for (const test::PushdemoExchange& e : log.exchanges) {
      const std::string* agent = e.header("User-Agent");
      const bool terminal = agent != nullptr && agent->rfind("iClock Proxy/", 0) == 0;
      EXPECT_EQ(e.hand_made, !terminal) << e.source << ":" << e.log_line << " " << e.target;
      if (e.hand_made) {
        reasons_seen.insert(e.hand_made_reason);
      }
    }
  }
  std::string all;
  for (const std::string& reason : reasons_seen) {
    all += reason + "\n";
  }
  EXPECT_THAT(all, HasSubstr("Postman"));
  EXPECT_THAT(all, HasSubstr("web browser"));
  EXPECT_THAT(all, HasSubstr("lower-case sn="));
  EXPECT_THAT(all, HasSubstr("unexpanded printf placeholder"));
  EXPECT_THAT(all, HasSubstr("path outside /iclock/: /favicon.ico"));
}

TEST(PushdemoLogTest, KeepsResponsesWhoseRequestIsInThePreviousFile) {
  const test::PushdemoLog log = demo_log("Debug_2020-09-23_ServerLog17.txt");
  ASSERT_FALSE(log.orphan_responses.empty());
  EXPECT_EQ(log.orphan_responses[0].status, 200);
  // 43 bytes on the wire; the logger dropped the CR of the last "\r\n".
  EXPECT_EQ(log.orphan_responses[0].body, "C:1664:DATA QUERY BIODATA PIN=100 Type=9\n\n");
  EXPECT_EQ(*test::find_header(log.orphan_responses[0].headers, "Content-Length"), "43");
}

TEST(PushdemoLogTest, KeepsTheDemosAnswers) {
  const test::PushdemoLog log = demo_log("Debug_2020-09-22_ServerLog15.txt");
  ASSERT_TRUE(log.exchanges[0].response.has_value());
  EXPECT_EQ(log.exchanges[0].response->status, 401);
  EXPECT_EQ(log.exchanges[0].response->body, "Device Unauthorized");
  EXPECT_EQ(log.restarts, 4U);
}

TEST(PushdemoLogTest, CapturedFixturesMatchTheDemoLogs) {
  std::set<std::string> rendered;
  for (const test::PushdemoLog& log : all_demo_logs()) {
    for (const test::PushdemoExchange& e : log.exchanges) {
      if (!e.hand_made) {
        rendered.insert(test::render_http_request(e));
      }
    }
  }
  const auto files = test::http_fixture_files(fixtures_dir() / "zkpush" / "speedface-v5l");
  EXPECT_GE(files.size(), 20U);
  for (const fs::path& file : files) {
    const HttpRequestFixture fixture = load_http_fixture(file);
    EXPECT_TRUE(rendered.count(fixture.raw)) << file.filename() << " is not in the captures";
  }
}

TEST(PushdemoLogTest, HandmadeFixturesAreWellFormedRequests) {
  const auto files = test::http_fixture_files(fixtures_dir() / "zkpush" / "handmade");
  EXPECT_GE(files.size(), 15U);
  for (const fs::path& file : files) {
    const HttpRequestFixture fixture = load_http_fixture(file);
    EXPECT_NE(classify_endpoint(fixture.path()), Endpoint::Unknown) << file.filename();
    EXPECT_NE(parse_query(fixture.query()).find("SN"), nullptr) << file.filename();
  }
}

// ---------------------------------------------------------------------------
// Every body of every capture
// ---------------------------------------------------------------------------

/** Parses one request body with the parser its endpoint and table call for. */
struct Replayed {
  std::string what;           ///< "ATTLOG", "devicecmd", ...
  std::size_t accounted = 0;  ///< non-blank body lines held by records or problems
  std::size_t records = 0;
  std::vector<ParseProblem> problems;
};

std::size_t non_blank_lines_of(const std::vector<ParseProblem>& problems) {
  std::size_t count = 0;
  for (const ParseProblem& problem : problems) {
    count += std::max<std::size_t>(1, non_blank_lines(problem.raw));
  }
  return count;
}

std::optional<Replayed> replay(const test::PushdemoExchange& e, AttlogResult* attlog) {
  const QueryResult query = parse_query(e.query());
  const Endpoint endpoint = classify_endpoint(e.path());
  Replayed out;
  if (endpoint == Endpoint::DeviceCmd) {
    const DeviceCmdResult result = parse_devicecmd(e.body);
    out.what = "devicecmd";
    out.records = result.confirmations.size();
    for (const CommandConfirmation& c : result.confirmations) {
      out.accounted += non_blank_lines(c.raw);
    }
    out.accounted += non_blank_lines_of(result.problems);
    out.problems = result.problems;
    return out;
  }
  if (endpoint != Endpoint::Cdata || e.method != "POST") {
    return std::nullopt;
  }
  const std::string* table = query.find("table");
  const UploadTable kind = table == nullptr ? UploadTable::Unknown : classify_table(*table);
  out.what = table == nullptr ? "?" : *table;
  switch (kind) {
    case UploadTable::AttLog: {
      *attlog = parse_attlog(e.body);
      out.records = attlog->records.size();
      out.problems = attlog->problems;
      break;
    }
    case UploadTable::OperLog:
    case UploadTable::BioData: {
      const OperlogResult result =
          kind == UploadTable::OperLog ? parse_operlog(e.body) : parse_biodata(e.body);
      out.records = result.entries.size();
      out.problems = result.problems;
      break;
    }
    case UploadTable::Options: {
      // One line holds many options: nothing is lost when the options,
      // joined back with commas, give the line again.
      const OptionsResult result = parse_options(e.body);
      std::string joined;
      for (const KeyValue& option : result.options) {
        joined += (joined.empty() ? "" : ",") + option.key + "=" + option.value;
      }
      std::string_view text = e.body;
      while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) {
        text.remove_suffix(1);
      }
      out.records = result.options.size();
      out.problems = result.problems;
      out.accounted = joined == text ? non_blank_lines(e.body) : 0;
      return out;
    }
    default:
      return std::nullopt;
  }
  out.accounted = out.records + out.problems.size();
  return out;
}

TEST(ZkpushCapturesTest, EveryTerminalBodyParsesAndNoLineIsLost) {
  std::map<std::string, std::size_t> uploads_by_table;
  std::map<std::string, std::size_t> attlog_records;
  std::map<std::string, std::size_t> attlog_uploads;
  std::map<std::string, std::set<std::pair<std::string, std::string>>> punches;
  std::size_t bodies = 0;
  for (const test::PushdemoLog& log : all_demo_logs()) {
    for (const test::PushdemoExchange& e : log.exchanges) {
      if (e.hand_made) {
        continue;
      }
      const std::string sn = *parse_query(e.query()).find("SN");
      // Every terminal request line parses cleanly; INFO= too.
      const QueryResult query = parse_query(e.query());
      EXPECT_TRUE(query.problems.empty()) << e.target;
      if (const std::string* info = query.find("INFO")) {
        EXPECT_TRUE(parse_info(*info).problems.empty()) << *info;
      }
      AttlogResult attlog;
      const std::optional<Replayed> replayed = replay(e, &attlog);
      if (!replayed) {
        EXPECT_TRUE(e.body.empty()) << e.source << ":" << e.log_line << " unreplayed body";
        continue;
      }
      ++bodies;
      ++uploads_by_table[replayed->what];
      const std::string where = e.source + ":" + std::to_string(e.log_line);
      EXPECT_EQ(replayed->accounted, non_blank_lines(e.body)) << where << " lost a line";
      EXPECT_TRUE(replayed->problems.empty())
          << where << " " << ::testing::PrintToString(reasons(replayed->problems));
      if (replayed->what == "ATTLOG") {
        ++attlog_uploads[sn];
        attlog_records[sn] += attlog.records.size();
        for (const AttlogRecord& r : attlog.records) {
          punches[sn].insert({r.pin, r.time_text});
        }
      }
    }
  }
  EXPECT_EQ(bodies, 115U);
  EXPECT_EQ(uploads_by_table["ATTLOG"], 18U);
  EXPECT_EQ(uploads_by_table["OPERLOG"], 38U);
  EXPECT_EQ(uploads_by_table["BIODATA"], 18U);
  EXPECT_EQ(uploads_by_table["options"], 7U);
  EXPECT_EQ(uploads_by_table["devicecmd"], 34U);
  EXPECT_EQ(attlog_records["CKJF202560310"], 86U);
  EXPECT_EQ(punches["CKJF202560310"].size(), 23U);
  EXPECT_EQ(attlog_records.count("CKJF201960996"), 0U);

  for (const auto& [table, count] : uploads_by_table) {
    std::printf("[ captures ] %-9s %3zu bodies\n", table.c_str(), count);
  }
  for (const char* sn : {"CKJF202560310", "CKJF201960996"}) {
    std::printf("[ captures ] ATTLOG %s: %zu records in %zu uploads, %zu distinct punches\n", sn,
                attlog_records[sn], attlog_uploads[sn], punches[sn].size());
  }
}

TEST(ZkpushCapturesTest, HandMadeJunkIsQuarantinedNotLost) {
  std::size_t junk_bodies = 0;
  for (const test::PushdemoLog& log : all_demo_logs()) {
    for (const test::PushdemoExchange& e : log.exchanges) {
      if (!e.hand_made || e.body.empty()) {
        continue;
      }
      // Whatever the endpoint, an ATTLOG parse of a JSON body must account for
      // every line as a problem.
      ++junk_bodies;
      const AttlogResult result = parse_attlog(e.body);
      EXPECT_TRUE(result.records.empty());
      EXPECT_EQ(result.problems.size(), non_blank_lines(e.body));
    }
  }
  EXPECT_EQ(junk_bodies, 28U);
}

}  // namespace
}  // namespace pushgate::adapters::zkpush
