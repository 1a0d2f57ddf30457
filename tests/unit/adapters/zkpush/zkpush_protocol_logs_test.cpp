// Attendance PUSH log table tests: ATTLOG, OPERLOG, BIODATA and ERRORLOG parsing.
#include "adapters/zkpush/zkpush_protocol.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <variant>
#include <vector>

#include "tests/support/http_fixture.hpp"
#include "tests/unit/adapters/zkpush/zkpush_protocol_test_support.hpp"

namespace pushgate::adapters::zkpush {
namespace {

using test::HttpRequestFixture;
using test_support::captured;
using test_support::handmade;
using test_support::problem_lines;
using test_support::reasons;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

template <typename Record>
const Record& record_as(const OperlogEntry& entry) {
  return std::get<Record>(entry.record);
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

}  // namespace
}  // namespace pushgate::adapters::zkpush
