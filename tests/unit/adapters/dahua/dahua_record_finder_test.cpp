// recordFinder replies, the find URL and paging with overlap and RecNo de-duplication.
#include "adapters/dahua/dahua_record_finder.hpp"

#include <gtest/gtest.h>

#include "tests/unit/adapters/dahua/dahua_test_support.hpp"

namespace pushgate::adapters::dahua {
namespace {

using test_support::fixture;

TEST(DahuaRecordFinder, ReadsANormalReply) {
  const RecordFinderReply reply = parse_record_finder_reply(fixture("recordfinder-normal.txt"));
  EXPECT_EQ(reply.found, 2);
  EXPECT_FALSE(reply.total_count);
  EXPECT_TRUE(reply.problems.empty());
  ASSERT_EQ(reply.records.size(), 2u);
  const AccessFields& first = reply.records[0].access;
  EXPECT_EQ(first.rec_no, 550478);
  ASSERT_TRUE(first.create_time);
  EXPECT_EQ(first.create_time->epoch, 1789554842);
  EXPECT_EQ(first.user_id, "108");
  EXPECT_EQ(first.card_no, "");
  EXPECT_EQ(first.method, 15);
  EXPECT_EQ(first.status, 1);
  EXPECT_EQ(first.door, 0);
  EXPECT_EQ(first.reader_id, "1");
  EXPECT_EQ(first.attendance_state, 0);
  EXPECT_EQ(first.url, "/SnapShotFilePath/2026-12-01/550478.jpg");
  const AccessFields& second = reply.records[1].access;
  EXPECT_EQ(second.status, 0);
  EXPECT_EQ(second.error_code, 16);
  EXPECT_EQ(second.card_no, "12EA3004");
  EXPECT_EQ(reply.records[1].fields.size(), 13u);
}

TEST(DahuaRecordFinder, CapitalRecordsOmittedFieldsAndTotalCount) {
  const RecordFinderReply reply =
      parse_record_finder_reply(fixture("recordfinder-capital-records-omitted-fields.txt"));
  EXPECT_EQ(reply.total_count, 2);
  ASSERT_EQ(reply.records.size(), 2u);
  EXPECT_EQ(reply.records[0].access.direction, Direction::Exit);
  EXPECT_FALSE(reply.records[1].access.user_id);
  EXPECT_EQ(reply.records[1].access.error_code, 18);
}

TEST(DahuaRecordFinder, EmptyAndErrorReplies) {
  const RecordFinderReply empty = parse_record_finder_reply(fixture("recordfinder-empty.txt"));
  EXPECT_EQ(empty.found, 0);
  EXPECT_TRUE(empty.records.empty());
  EXPECT_FALSE(empty.device_error);
  const RecordFinderReply error = parse_record_finder_reply(fixture("recordfinder-error.txt"));
  EXPECT_TRUE(error.device_error);
  EXPECT_EQ(error.problems.size(), 2u);
}

TEST(DahuaRecordFinder, DateStringCreateTimeIsReturnedUnconvertedAndFlagged) {
  const RecordFinderReply reply =
      parse_record_finder_reply(fixture("recordfinder-date-createtime.txt"));
  ASSERT_EQ(reply.records.size(), 2u);
  const DeviceTime& time = *reply.records[1].access.create_time;
  EXPECT_TRUE(time.device_local);
  EXPECT_FALSE(time.epoch);
  EXPECT_EQ(time.text, "2026-12-01 08:31:07");
}

TEST(DahuaRecordFinder, HostileIndexesAndLinesAreProblemsNotMemory) {
  const RecordFinderReply reply = parse_record_finder_reply(
      "found=1\nrecords[999999999].RecNo=1\nrecords[x].RecNo=2\nrecords[0]RecNo=3\nnonsense\n"
      "records[0].RecNo=4\n");
  ASSERT_EQ(reply.records.size(), 1u);
  EXPECT_EQ(reply.records[0].access.rec_no, 4);
  EXPECT_EQ(reply.problems.size(), 4u);
}

TEST(DahuaRecordFinder, FieldsNobodyMappedAreKeptForAlarmRecordsToo) {
  // AccessControlAlarmRecord's field list is not documented publicly: every
  // field is kept as sent, known names decoded.
  const RecordFinderReply reply = parse_record_finder_reply(
      "found=1\r\nrecords[0].RecNo=77\r\nrecords[0].CreateTime=1789554000\r\n"
      "records[0].Door=1\r\nrecords[0].Event=BreakIn\r\nrecords[0].Doors[0]=2\r\n");
  ASSERT_EQ(reply.records.size(), 1u);
  const FoundRecord& row = reply.records[0];
  EXPECT_EQ(row.access.rec_no, 77);
  EXPECT_EQ(row.access.door, 1);
  ASSERT_EQ(row.access.other.size(), 2u);
  EXPECT_EQ(row.access.other[0].key, "Event");
  EXPECT_EQ(row.access.other[0].value, "BreakIn");
  EXPECT_EQ(row.access.other[1].key, "Doors[0]");
  EXPECT_EQ(row.fields.size(), 5u);
}

TEST(DahuaRecordFinder, FindTargetIsUrlEncoded) {
  FindRequest request;
  request.start_time = "2026-12-01 08:00:00";
  request.end_time = "1789554842";
  request.count = 50;
  EXPECT_EQ(build_record_finder_target(request),
            "/cgi-bin/recordFinder.cgi?action=find&name=AccessControlCardRec"
            "&StartTime=2026-12-01%2008%3A00%3A00&EndTime=1789554842&count=50");
}

TEST(DahuaRecordPager, PagesOverlapAtTheLastSecondAndEachRecNoComesOnce) {
  FindRequest request;
  request.start_time = "900";
  request.end_time = "2000";
  request.count = 3;
  RecordPager pager(request);
  std::vector<std::int64_t> recnos;
  std::vector<std::string> targets;
  std::vector<std::string> warnings;
  for (int page = 1; page <= 4 && !pager.done(); ++page) {
    targets.push_back(pager.next_target());
    const RecordPager::Page got = pager.accept(
        parse_record_finder_reply(fixture("recordfinder-paging-" + std::to_string(page) + ".txt")));
    for (const FoundRecord& row : got.fresh) {
      recnos.push_back(*row.access.rec_no);
    }
    if (!got.skipped_warning.empty()) {
      warnings.push_back(got.skipped_warning);
    }
  }
  EXPECT_TRUE(pager.done());
  EXPECT_EQ(recnos, (std::vector<std::int64_t>{1, 2, 3, 4, 5, 6}));
  ASSERT_EQ(targets.size(), 4u);
  EXPECT_NE(targets[0].find("StartTime=900&"), std::string::npos);
  EXPECT_NE(targets[1].find("StartTime=1000&"), std::string::npos);  // overlap kept, not +1
  EXPECT_NE(targets[2].find("StartTime=1000&"), std::string::npos);
  EXPECT_NE(targets[3].find("StartTime=1001&"), std::string::npos);  // stuck full second
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("more than 3 records at 1000"), std::string::npos);
}

TEST(DahuaRecordPager, AShortPageEndsTheWalkAndADeviceErrorKeepsTheCursor) {
  FindRequest request;
  request.start_time = "0";
  request.end_time = "2000";
  request.count = 10;
  RecordPager pager(request);
  const std::string before = pager.next_target();
  EXPECT_TRUE(pager.accept(parse_record_finder_reply("Error\r\n")).fresh.empty());
  EXPECT_FALSE(pager.done());
  EXPECT_EQ(pager.next_target(), before);
  EXPECT_EQ(
      pager.accept(parse_record_finder_reply(fixture("recordfinder-normal.txt"))).fresh.size(), 2u);
  EXPECT_TRUE(pager.done());
}

}  // namespace
}  // namespace pushgate::adapters::dahua
