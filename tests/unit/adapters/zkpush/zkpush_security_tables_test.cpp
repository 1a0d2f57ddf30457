// Included first: proves the header is self-contained.
#include "adapters/zkpush/zkpush_security_tables.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "adapters/zkpush/zkpush_security_codes.hpp"
#include "tests/unit/adapters/zkpush/zkpush_security_test_support.hpp"

namespace pushgate::adapters::zkpush::security {
namespace {

using test_support::fixture;
using test_support::HttpRequestFixture;
using test_support::problem_lines;
using test_support::query_of;
using test_support::reasons;
using test_support::record_as;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// ---------------------------------------------------------------------------
// tabledata (§7.5-7.12, §5)
// ---------------------------------------------------------------------------

TEST(TableDataParserTest, ParsesTheUserExample) {
  const HttpRequestFixture request = fixture("tabledata-user-7.5-example.http");
  const TableDataParams params = tabledata_params(query_of(request));
  EXPECT_EQ(params.table_name, "user");
  EXPECT_EQ(params.count, 1);
  const TableDataResult result = parse_tabledata(params.table_name, request.body);
  EXPECT_EQ(result.kind, TableKind::User);
  EXPECT_TRUE(result.problems.empty());
  ASSERT_EQ(result.entries.size(), 1U);
  const TableEntry& entry = result.entries[0];
  EXPECT_EQ(entry.type_word, "user");
  EXPECT_EQ(entry.fields.size(), 11U);
  EXPECT_EQ(entry.fields[0].key, "uid");
  const UserInfoRecord& u = record_as<UserInfoRecord>(entry);
  EXPECT_EQ(u.pin, "4");
  EXPECT_EQ(u.uid, 5);
  EXPECT_EQ(u.card_no, "");
  EXPECT_EQ(u.group, 1);
  EXPECT_EQ(u.start_time, "0");
  EXPECT_EQ(u.end_time, "0");
  EXPECT_EQ(u.privilege, 0);
  EXPECT_EQ(u.disable, 0);
  EXPECT_EQ(u.verify, 0);
  EXPECT_TRUE(u.extra.empty());
  EXPECT_EQ(render_table_count_answer(params.table_name, result.entries.size()), "user=1");
}

TEST(TableDataParserTest, ParsesTheIdentityCardExampleWithEitherKeySpelling) {
  const TableDataResult result =
      parse_tabledata("identitycard", fixture("tabledata-identitycard-7.6-example.http").body);
  EXPECT_TRUE(result.problems.empty());
  ASSERT_EQ(result.entries.size(), 1U);
  const IdentityCardRecord& c = record_as<IdentityCardRecord>(result.entries[0]);
  EXPECT_EQ(c.pin, "1");
  EXPECT_EQ(c.sn_num, "26121292460088826975");
  EXPECT_EQ(c.id_num, "210102199212182xxxx");
  EXPECT_EQ(c.name, "Zhangsan");
  EXPECT_EQ(c.gender, 1);
  EXPECT_EQ(c.nation, 1);
  EXPECT_EQ(c.birthday, "19911218");
  EXPECT_EQ(c.valid_info, "2013091220230912");
  EXPECT_EQ(c.address, "xxxxx, Tangxia Town, Dongguan, Guangdong");
  EXPECT_EQ(c.issuer, "xxx Public Security Bureau");
  EXPECT_THAT(c.fp_template1, StartsWith("QwGIEgEL"));
  EXPECT_THAT(c.fp_template2, StartsWith("QwGIEgEQ"));
  EXPECT_TRUE(c.extra.empty());
  const TableDataResult underscored = parse_tabledata(
      "identitycard",
      "identitycard pin=2\tID_Num=1\tValid_Info=2\tFP_Template1=3\tAdditional_Info=4");
  ASSERT_EQ(underscored.entries.size(), 1U);
  const IdentityCardRecord& u = record_as<IdentityCardRecord>(underscored.entries[0]);
  EXPECT_EQ(u.id_num, "1");
  EXPECT_EQ(u.valid_info, "2");
  EXPECT_EQ(u.fp_template1, "3");
  EXPECT_EQ(u.additional_info, "4");
}

TEST(TableDataParserTest, ParsesFingerprintTemplates) {
  const HttpRequestFixture request = fixture("tabledata-templatev10-7.7-example.http");
  const TableDataResult result = parse_tabledata("templatev10", request.body);
  EXPECT_TRUE(result.problems.empty());
  ASSERT_EQ(result.entries.size(), 2U);
  const auto& first = record_as<FingerprintTemplateRecord>(result.entries[0]);
  EXPECT_EQ(first.pin, "4");
  EXPECT_EQ(first.size, 1808);
  EXPECT_EQ(first.uid, 4);
  EXPECT_EQ(first.finger(), 7);
  EXPECT_FALSE(first.duress());
  EXPECT_THAT(first.template_data, StartsWith("TAItUzIxAAAFSksECAUHCc7Q"));
  EXPECT_EQ(*find_value(first.extra, "resverd"), "");
  EXPECT_EQ(*find_value(first.extra, "endtag"), "");
  const auto& second = record_as<FingerprintTemplateRecord>(result.entries[1]);
  EXPECT_EQ(second.uid, 3);
  EXPECT_EQ(second.finger(), 6);
  EXPECT_EQ(tabledata_params(query_of(request)).count, 2);
  EXPECT_EQ(render_table_count_answer("templatev10", result.entries.size()), "templatev10=2");
  const TableDataResult duress =
      parse_tabledata("templatev10", "templatev10 pin=9\tfingerid=22\tvalid=1\ttemplate=QUJD");
  ASSERT_EQ(duress.entries.size(), 1U);
  EXPECT_TRUE(record_as<FingerprintTemplateRecord>(duress.entries[0]).duress());
  EXPECT_EQ(record_as<FingerprintTemplateRecord>(duress.entries[0]).finger(), 6);
}

TEST(TableDataParserTest, ParsesPhotosAndSnapshots) {
  const TableDataResult snapshot =
      parse_tabledata("ATTPHOTO", fixture("tabledata-attphoto-7.9-example.http").body);
  EXPECT_EQ(snapshot.kind, TableKind::AttPhoto);
  ASSERT_EQ(snapshot.entries.size(), 1U);
  EXPECT_EQ(snapshot.entries[0].type_word, "");  // §7.9 lines have no type word
  const SnapshotRecord& s = record_as<SnapshotRecord>(snapshot.entries[0]);
  EXPECT_EQ(s.file_name, "20181003143617-22.jpg");
  EXPECT_EQ(s.sn, "1809140006");
  EXPECT_EQ(s.size, 22701);
  EXPECT_THAT(s.photo, StartsWith("/9j/4AAQ"));
  const std::optional<AttPhotoName> name = parse_attphoto_name(s.file_name);
  ASSERT_TRUE(name.has_value());
  EXPECT_EQ(name->pin, "22");
  EXPECT_EQ(name->time, (DeviceTime{2018, 10, 3, 14, 36, 17}));

  const TableDataResult userpic =
      parse_tabledata("userpic", fixture("tabledata-userpic-7.10-example.http").body);
  ASSERT_EQ(userpic.entries.size(), 1U);
  const PhotoRecord& p = record_as<PhotoRecord>(userpic.entries[0]);
  EXPECT_EQ(p.pin, "1");
  EXPECT_EQ(p.file_name, "1.jpg");
  EXPECT_EQ(p.size, 22320);
  EXPECT_THAT(p.content, StartsWith("/9j/4AAQ"));

  const TableDataResult biophoto =
      parse_tabledata("biophoto", fixture("tabledata-biophoto-7.8-format.http").body);
  ASSERT_EQ(biophoto.entries.size(), 1U);
  EXPECT_EQ(record_as<PhotoRecord>(biophoto.entries[0]).type, 9);
  const TableDataResult spaced =
      parse_tabledata("biophoto", "biophoto pin=7\tfile name=7.jpg\ttype=9\tsize=4\tcontent=AAAA");
  ASSERT_EQ(spaced.entries.size(), 1U);
  EXPECT_EQ(record_as<PhotoRecord>(spaced.entries[0]).file_name, "7.jpg");
}

TEST(TableDataParserTest, ParsesUnifiedTemplatesAndErrorLogs) {
  const TableDataResult bio =
      parse_tabledata("biodata", fixture("tabledata-biodata-7.11-example.http").body);
  ASSERT_EQ(bio.entries.size(), 1U);
  const TemplateRecord& t = record_as<TemplateRecord>(bio.entries[0]);
  EXPECT_EQ(t.pin, "1");
  EXPECT_EQ(t.number, 0);
  EXPECT_EQ(t.index, 0);
  EXPECT_EQ(t.valid, 1);
  EXPECT_EQ(t.duress, 0);
  EXPECT_EQ(t.type, 8);
  EXPECT_EQ(t.major_ver, 5);
  EXPECT_EQ(t.minor_ver, 0);
  EXPECT_EQ(t.format, "0");
  EXPECT_THAT(t.data, StartsWith("apUBD+cAC44IAAEAAJfKWlBWAQQF"));

  const TableDataResult errors =
      parse_tabledata("errorlog", fixture("tabledata-errorlog-7.12-example.http").body);
  ASSERT_EQ(errors.entries.size(), 1U);
  const ErrorLogRecord& e = record_as<ErrorLogRecord>(errors.entries[0]);
  EXPECT_EQ(e.err_code, "D01E0001");
  EXPECT_EQ(e.err_msg, "");
  EXPECT_EQ(e.data_origin, "cmd");
  EXPECT_EQ(e.cmd_id, "123");
  // §7.12's format has no type word; its example has one. Both parse.
  const TableDataResult bare = parse_tabledata("errorlog", "errcode=D01E0005\tdataorigin=dev");
  ASSERT_EQ(bare.entries.size(), 1U);
  EXPECT_EQ(record_as<ErrorLogRecord>(bare.entries[0]).err_code, "D01E0005");
}

TEST(TableDataParserTest, KeepsOtherTablesAsPairs) {
  const HttpRequestFixture request = fixture("tabledata-deviceauthorize-5-format.http");
  const TableDataResult result =
      parse_tabledata(tabledata_params(query_of(request)).table_name, request.body);
  EXPECT_EQ(result.kind, TableKind::DeviceAuthorize);
  EXPECT_TRUE(result.problems.empty());
  ASSERT_EQ(result.entries.size(), 2U);
  EXPECT_TRUE(std::holds_alternative<std::monostate>(result.entries[0].record));
  EXPECT_EQ(*find_value(result.entries[0].fields, "SN"), "DDG7012017010600049");
  EXPECT_EQ(*find_value(result.entries[1].fields, "AuthorizeInfo"), "F20");
  const TableDataResult aplist =
      parse_tabledata("APlist", "APList ecn=3\tssid=Office WiFi\trssi=-40\tmac=aa:bb");
  EXPECT_EQ(aplist.kind, TableKind::Other);
  ASSERT_EQ(aplist.entries.size(), 1U);
  EXPECT_EQ(*find_value(aplist.entries[0].fields, "ssid"), "Office WiFi");
}

TEST(TableDataParserTest, QuarantinesBadLinesAndKeepsTheRest) {
  const HttpRequestFixture request = fixture("tabledata-user-bad-lines.http");
  const TableDataResult result = parse_tabledata("user", request.body);
  ASSERT_EQ(result.entries.size(), 2U);
  const UserInfoRecord& jorge = record_as<UserInfoRecord>(result.entries[0]);
  EXPECT_EQ(jorge.name, "Jorge Leon");
  EXPECT_EQ(jorge.privilege, 14);
  EXPECT_EQ(parse_card_number(jorge.card_no), 123456789U);
  EXPECT_EQ(decode_old_time(static_cast<std::uint32_t>(std::stoul(jorge.start_time))),
            (DeviceTime{2018, 2, 27, 14, 51, 0}));
  EXPECT_EQ(result.entries[1].line, 6U);
  EXPECT_EQ(result.entries[1].type_word, "");
  EXPECT_EQ(record_as<UserInfoRecord>(result.entries[1]).pin, "5");
  EXPECT_THAT(problem_lines(result.problems), ElementsAre(2U, 3U, 4U, 5U));
  const std::vector<std::string> why = reasons(result.problems);
  EXPECT_THAT(why[0], HasSubstr("without pin"));
  EXPECT_THAT(why[1], HasSubstr("privilege is not a number"));
  EXPECT_THAT(why[2], HasSubstr("not expected in tablename=user"));
  EXPECT_THAT(why[3], HasSubstr("without key=value"));
  // count= covers every line the terminal sent: records plus quarantined ones.
  EXPECT_EQ(static_cast<std::size_t>(*tabledata_params(query_of(request)).count),
            result.entries.size() + result.problems.size());
}

TEST(TableDataParserTest, RequiresTheDataThatMakesARecord) {
  EXPECT_EQ(parse_tabledata("templatev10", "templatev10 pin=1\ttemplate=").problems.size(), 1U);
  EXPECT_EQ(parse_tabledata("biodata", "biodata pin=1\ttmp=").problems.size(), 1U);
  EXPECT_EQ(parse_tabledata("biophoto", "biophoto filename=x.jpg").problems.size(), 1U);
  EXPECT_EQ(parse_tabledata("ATTPHOTO", "sn=1\tsize=3").problems.size(), 1U);
  EXPECT_EQ(parse_tabledata("errorlog", "errorlog errmsg=x").problems.size(), 1U);
  EXPECT_EQ(parse_tabledata("transaction", "transaction pin=1").problems.size(), 1U);
  EXPECT_EQ(parse_tabledata("transaction", "transaction time_second=-1").problems.size(), 1U);
  EXPECT_EQ(parse_tabledata("user", "user").problems.size(), 1U);
  EXPECT_EQ(parse_tabledata("", "anything k=v").entries.size(), 1U);  // no tablename: any word
}

TEST(TableDataParserTest, ClassifiesTableNames) {
  EXPECT_EQ(classify_table_name("USER"), TableKind::User);
  EXPECT_EQ(classify_table_name("identitycard"), TableKind::IdentityCard);
  EXPECT_EQ(classify_table_name("templatev10"), TableKind::TemplateV10);
  EXPECT_EQ(classify_table_name("biophoto"), TableKind::BioPhoto);
  EXPECT_EQ(classify_table_name("attphoto"), TableKind::AttPhoto);
  EXPECT_EQ(classify_table_name("userpic"), TableKind::UserPic);
  EXPECT_EQ(classify_table_name("biodata"), TableKind::BioData);
  EXPECT_EQ(classify_table_name("errorlog"), TableKind::ErrorLog);
  EXPECT_EQ(classify_table_name("transaction"), TableKind::Transaction);
  EXPECT_EQ(classify_table_name("DeviceAuthorize"), TableKind::DeviceAuthorize);
  EXPECT_EQ(classify_table_name("mulcarduser"), TableKind::Other);
  EXPECT_EQ(classify_table_name(""), TableKind::Other);
}

TEST(TableDataParserTest, RendersCountAnswers) {
  EXPECT_EQ(render_table_count_answer("ATTPHOTO", 1), "ATTPHOTO=1");
  EXPECT_EQ(render_table_count_answer("biodata", 0), "biodata=0");
  EXPECT_EQ(render_table_count_answer("user\r\nOK", 3), "userOK=3");
}

TEST(CardNumberTest, ReadsDecimalAndBracketedHex) {
  EXPECT_EQ(parse_card_number("123456789"), 123456789U);
  EXPECT_EQ(parse_card_number("[15CD5B07]"), 123456789U);  // §7.5's example pair
  EXPECT_EQ(parse_card_number("[15cd5b07]"), 123456789U);
  EXPECT_EQ(parse_card_number("[01]"), 1U);
  EXPECT_EQ(parse_card_number("0"), 0U);
  for (std::string_view bad : {"", "[]", "[15CD5B0]", "[GG]", "-1", "+1", "12a", " 1",
                               "18446744073709551616", "[112233445566778899]"}) {
    EXPECT_FALSE(parse_card_number(bad).has_value()) << bad;
  }
}

TEST(OldTimeTest, ConvertsAppendixFiveAndSixSeconds) {
  EXPECT_EQ(decode_old_time(548003688), (DeviceTime{2017, 1, 19, 15, 14, 48}));
  EXPECT_EQ(encode_old_time(DeviceTime{2017, 1, 19, 15, 14, 48}), 548003688U);
  EXPECT_EQ(decode_old_time(0), (DeviceTime{2000, 1, 1, 0, 0, 0}));
  EXPECT_FALSE(encode_old_time(DeviceTime{1999, 12, 31, 23, 59, 59}).has_value());
  EXPECT_FALSE(encode_old_time(DeviceTime{2200, 1, 1, 0, 0, 0}).has_value());
  // Every month has 31 days in the encoding: 30 Feb encodes but is no date.
  const std::optional<std::uint32_t> feb30 = encode_old_time(DeviceTime{2021, 2, 30, 0, 0, 0});
  ASSERT_TRUE(feb30.has_value());
  EXPECT_FALSE(decode_old_time(*feb30).has_value());
}

// ---------------------------------------------------------------------------
// querydata (§9.1.3, §9.1.4, §9.2.1)
// ---------------------------------------------------------------------------

QueryDataResult querydata(const std::string& name) {
  const HttpRequestFixture request = fixture(name);
  return parse_querydata(query_of(request), request.body);
}

TEST(QueryDataParserTest, ParsesUsersWithPaging) {
  const QueryDataResult result = querydata("querydata-user-9.1.4-example.http");
  EXPECT_EQ(result.params.type, "tabledata");
  EXPECT_EQ(result.params.cmd_id, "415");
  EXPECT_EQ(result.params.table_name, "user");
  EXPECT_EQ(result.params.count, 3);
  EXPECT_EQ(result.params.pack_count, 1);
  EXPECT_EQ(result.params.pack_index, 1);
  EXPECT_TRUE(result.params.last_pack());
  EXPECT_TRUE(result.params.problems.empty());
  EXPECT_EQ(result.kind, TableKind::User);
  EXPECT_TRUE(result.problems.empty());
  ASSERT_EQ(result.entries.size(), 3U);
  EXPECT_EQ(record_as<UserInfoRecord>(result.entries[1]).password, "1");
  EXPECT_EQ(record_as<UserInfoRecord>(result.entries[2]).pin, "3");
  EXPECT_EQ(render_table_count_answer(result.params.table_name, result.entries.size()), "user=3");
}

TEST(QueryDataParserTest, ParsesAccessRecordsWithAppendixFiveTimes) {
  const QueryDataResult result = querydata("querydata-transaction-9.1.4-example.http");
  EXPECT_EQ(result.kind, TableKind::Transaction);
  ASSERT_EQ(result.entries.size(), 1U);
  const TransactionRecord& x = record_as<TransactionRecord>(result.entries[0]);
  EXPECT_EQ(x.pin, "0");
  EXPECT_EQ(x.verified, 200);
  EXPECT_EQ(x.door_id, 1);
  EXPECT_EQ(x.event_type, 100);
  EXPECT_EQ(event_code_name(*x.event_type), "Tamper alarm");
  EXPECT_EQ(x.in_out_state, 2);
  EXPECT_EQ(x.time_second, 548003688U);
  EXPECT_EQ(x.time, (DeviceTime{2017, 1, 19, 15, 14, 48}));
  EXPECT_EQ(x.index, 92);
  EXPECT_EQ(x.site_code, 0);
  EXPECT_EQ(x.dev_id, 1);
  EXPECT_EQ(*find_value(x.extra, "sn"), "3383154200002");
}

TEST(QueryDataParserTest, TracksPackagesOfAMultiPackageAnswer) {
  const QueryDataResult first = querydata("querydata-biophoto-9.1.4-example-pack1.http");
  EXPECT_EQ(first.params.pack_count, 2);
  EXPECT_EQ(first.params.pack_index, 1);
  EXPECT_FALSE(first.params.last_pack());
  ASSERT_EQ(first.entries.size(), 1U);
  EXPECT_EQ(record_as<PhotoRecord>(first.entries[0]).pin, "123");
  const QueryDataResult second = querydata("querydata-biophoto-9.1.4-example-pack2.http");
  EXPECT_TRUE(second.params.last_pack());
  EXPECT_EQ(record_as<PhotoRecord>(second.entries[0]).file_name, "124.jpg");
  const QueryDataResult bio = querydata("querydata-biodata-9.1.4-example-pack1.http");
  ASSERT_EQ(bio.entries.size(), 1U);
  EXPECT_EQ(record_as<TemplateRecord>(bio.entries[0]).major_ver, 10);
}

TEST(QueryDataParserTest, ReadsCountAnswers) {
  const QueryDataResult result = querydata("querydata-count-9.1.3-example.http");
  EXPECT_EQ(result.params.type, "count");
  EXPECT_EQ(result.counted, 5);
  EXPECT_TRUE(result.problems.empty());
  EXPECT_TRUE(result.entries.empty());
  const QueryDataResult wrong =
      parse_querydata(parse_query("type=count&tablename=user"), "transaction=5\nuser=x\nuser=2\n");
  EXPECT_EQ(wrong.counted, 2);
  EXPECT_THAT(problem_lines(wrong.problems), ElementsAre(1U, 2U));
  const QueryDataResult twice =
      parse_querydata(parse_query("type=count&tablename=user"), "user=1\nuser=2");
  EXPECT_EQ(twice.counted, 1);
  EXPECT_EQ(twice.problems.size(), 1U);
}

TEST(QueryDataParserTest, ReadsGetOptionsAnswers) {
  const QueryDataResult result = parse_querydata(
      parse_query("SN=1&type=options&cmdid=408&tablename=options&count=1&packcnt=1&packidx=1"),
      "~SerialNumber=3383154200002,FirmVer=AC Ver 4.1.9 3893-05 Oct 17 2013,LockCount=4");
  EXPECT_TRUE(result.problems.empty());
  ASSERT_EQ(result.options.size(), 3U);
  EXPECT_EQ(result.options[1].value, "AC Ver 4.1.9 3893-05 Oct 17 2013");
}

TEST(QueryDataParserTest, QuarantinesArchivesAndUnknownTypesWhole) {
  const HttpRequestFixture request = fixture("querydata-account-9.2.1-example.http");
  const QueryDataResult archive = parse_querydata(query_of(request), request.body);
  EXPECT_EQ(archive.params.datafmt, 3);
  EXPECT_EQ(archive.params.stamp, "9999");
  EXPECT_TRUE(archive.entries.empty());
  ASSERT_EQ(archive.problems.size(), 1U);
  EXPECT_EQ(archive.problems[0].raw, request.body);  // NUL and all
  const QueryDataResult unknown = parse_querydata(parse_query("type=blob"), "x=1");
  ASSERT_EQ(unknown.problems.size(), 1U);
  EXPECT_EQ(unknown.problems[0].raw, "x=1");
  EXPECT_TRUE(parse_querydata(parse_query("type=blob"), "").problems.empty());
}

TEST(QueryDataParserTest, ReportsNonNumericPaging) {
  const QueryDataParams params =
      querydata_params(parse_query("type=tabledata&count=x&packcnt=&packidx=2"));
  EXPECT_FALSE(params.count.has_value());
  EXPECT_FALSE(params.pack_count.has_value());
  EXPECT_EQ(params.pack_index, 2);
  EXPECT_TRUE(params.last_pack());  // without packcnt there is nothing to wait for
  ASSERT_EQ(params.problems.size(), 1U);
  EXPECT_EQ(params.problems[0].raw, "count=x");
}

}  // namespace
}  // namespace pushgate::adapters::zkpush::security
