// The eventManager multipart stream: quirks, any chunking, bounded memory.
#include "adapters/dahua/dahua_multipart.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/unit/adapters/dahua/dahua_test_support.hpp"

namespace pushgate::adapters::dahua {
namespace {

using test_support::fixture;

/** A comparable summary of every item (type, code, action, index, data, error). */
std::vector<std::string> summary(const std::vector<StreamItem>& items) {
  std::vector<std::string> out;
  for (const StreamItem& item : items) {
    switch (item.type) {
      case StreamItem::Type::Heartbeat:
        out.push_back("heartbeat");
        break;
      case StreamItem::Type::Error:
        out.push_back("error:" + item.error + "|" + item.raw);
        break;
      case StreamItem::Type::Event:
        out.push_back("event:" + item.event->code + "|" + item.event->action_text + "|" +
                      std::to_string(item.event->index.value_or(-1)) + "|" + item.event->data_json +
                      "|" + item.event->raw);
        break;
    }
  }
  return out;
}

std::vector<StreamItem> parse_all(std::string_view bytes, EventStreamParser::Limits limits = {}) {
  EventStreamParser parser("myboundary", limits);
  std::vector<StreamItem> items = parser.feed(bytes);
  for (StreamItem& item : parser.finish()) {
    items.push_back(std::move(item));
  }
  return items;
}

TEST(DahuaMultipart, BoundaryFromContentType) {
  EXPECT_EQ(multipart_boundary("multipart/x-mixed-replace; boundary=myboundary"), "myboundary");
  EXPECT_EQ(multipart_boundary("multipart/x-mixed-replace;Boundary=\"my b\""), "my b");
  EXPECT_EQ(multipart_boundary("text/plain"), "");
}

TEST(DahuaMultipart, TheIntelbrasSampleGivesItsEventsAndHeartbeats) {
  const std::vector<StreamItem> items = parse_all(fixture("stream-intelbras-sample.multipart"));
  ASSERT_EQ(items.size(), 7u);
  ASSERT_EQ(items[0].type, StreamItem::Type::Event);
  EXPECT_EQ(items[0].event->code, "AccessControl");
  EXPECT_EQ(items[0].event->data.card_no, "12EA3004");
  EXPECT_EQ(items[0].event->data.status, 1);
  EXPECT_EQ(items[1].type, StreamItem::Type::Heartbeat);
  EXPECT_EQ(items[2].event->code, "BreakIn");
  EXPECT_EQ(items[3].event->code, "DoorNotClosed");
  EXPECT_EQ(items[3].event->action, EventAction::Start);
  EXPECT_EQ(items[4].event->action, EventAction::Stop);
  EXPECT_EQ(items[5].event->code, "Duress");
  EXPECT_EQ(items[6].type, StreamItem::Type::Heartbeat);
}

TEST(DahuaMultipart, EveryQuirkOfTheQuirksFixture) {
  const std::vector<StreamItem> items = parse_all(fixture("stream-quirks.multipart"));
  ASSERT_EQ(items.size(), 7u) << ::testing::PrintToString(summary(items));
  // Two Code= lines in one part whose Content-Length is wrong.
  EXPECT_EQ(items[0].event->code, "DoorStatus");
  EXPECT_EQ(items[0].event->data.status_text, "Open");
  EXPECT_EQ(items[1].event->index, 1);
  EXPECT_EQ(items[1].event->data.status_text, "Close");
  // No Content-Length; '=', ';', braces and escaped quotes inside strings; keys in any case.
  const DahuaEvent& access = *items[2].event;
  EXPECT_EQ(access.code, "AccessControl");
  EXPECT_EQ(access.index, 1);
  EXPECT_EQ(access.data.card_name, "a=b; c {x} \"q\" }");
  EXPECT_EQ(access.data.card_no, "dGVzdA==");
  EXPECT_EQ(access.data.user_id, "108");
  EXPECT_EQ(access.data.reader_id, "2");
  EXPECT_EQ(access.data.error_code, 16);
  EXPECT_EQ(access.data.status, 0);
  EXPECT_EQ(access.data.direction, Direction::Exit);
  EXPECT_EQ(access.data.rec_no, 42);
  EXPECT_EQ(access.data.best_epoch(), 1700000095);
  EXPECT_EQ(access.data.attendance_state, 1);
  // LF-only part, no data, a code nobody maps: still an event.
  EXPECT_EQ(items[3].event->code, "VideoMotion");
  EXPECT_FALSE(items[3].event->has_data);
  // The VTO shape: CardType null, LocaleTime, Name.
  EXPECT_FALSE(items[4].event->data.card_type);
  EXPECT_EQ(items[4].event->data.locale_time, "2021-08-23 12:17:51");
  EXPECT_EQ(items[4].event->data.name, "OpenDoor");
  EXPECT_EQ(items[5].type, StreamItem::Type::Heartbeat);
  // A part without headers.
  EXPECT_EQ(items[6].event->code, "ChassisIntruded");
}

/** Every split point of the whole fixture, then byte by byte: the same items. */
void expect_chunking_independent(const std::string& bytes) {
  const std::vector<std::string> whole = summary(parse_all(bytes));
  for (std::size_t cut = 0; cut <= bytes.size(); ++cut) {
    EventStreamParser parser("myboundary");
    std::vector<StreamItem> items = parser.feed(std::string_view(bytes).substr(0, cut));
    for (StreamItem& item : parser.feed(std::string_view(bytes).substr(cut))) {
      items.push_back(std::move(item));
    }
    for (StreamItem& item : parser.finish()) {
      items.push_back(std::move(item));
    }
    ASSERT_EQ(summary(items), whole) << "split at byte " << cut;
  }
  EventStreamParser parser("myboundary");
  std::vector<StreamItem> items;
  for (char c : bytes) {
    for (StreamItem& item : parser.feed(std::string_view(&c, 1))) {
      items.push_back(std::move(item));
    }
  }
  for (StreamItem& item : parser.finish()) {
    items.push_back(std::move(item));
  }
  EXPECT_EQ(summary(items), whole) << "byte by byte";
}

TEST(DahuaMultipart, TheDocumentedSampleSplitAtEveryByteGivesTheSameItems) {
  expect_chunking_independent(fixture("stream-intelbras-sample.multipart"));
}

TEST(DahuaMultipart, TheQuirksSplitAtEveryByteGiveTheSameItems) {
  expect_chunking_independent(fixture("stream-quirks.multipart"));
}

TEST(DahuaMultipart, AnEventIsYieldedAsSoonAsItsLineIsCompleteNotAtTheNextPart) {
  EventStreamParser parser("myboundary");
  const auto items = parser.feed(
      "--myboundary\r\nContent-Type: text/plain\r\nContent-Length: 4\r\n\r\n"
      "Code=BreakIn;action=Pulse;index=0;data={\n \"UTC\" : 1\n}\r\n");
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].event->code, "BreakIn");
}

TEST(DahuaMultipart, AnEventWhoseDataEndsWithoutALineEndIsYieldedAtItsClosingBrace) {
  EventStreamParser parser("myboundary");
  const auto items = parser.feed(
      "--myboundary\r\nContent-Type: text/plain\r\n\r\n"
      "Code=BreakIn;action=Pulse;index=0;data={\n \"UTC\" : 1,\n \"Name\" : \"}\"\n}");
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].event->code, "BreakIn");
  EXPECT_EQ(items[0].event->data.name, "}");
  EXPECT_TRUE(parser.feed("\r\n\r\n").empty());
}

TEST(DahuaMultipart, AnOversizedPartIsOneErrorAndTheNextPartStillParses) {
  EventStreamParser::Limits limits;
  limits.max_part_bytes = 1024;
  EventStreamParser parser("myboundary", limits);
  std::vector<StreamItem> items = parser.feed(
      "--myboundary\r\nContent-Type: text/plain\r\n\r\nCode=X;action=Pulse;data={\"a\":\"");
  const std::string filler(4096, 'x');
  for (int i = 0; i < 100; ++i) {
    for (StreamItem& item : parser.feed(filler)) {
      items.push_back(std::move(item));
    }
    EXPECT_LE(parser.buffered(), limits.max_part_bytes);
  }
  for (StreamItem& item : parser.feed("\r\n--myboundary\r\n\r\nHeartbeat\r\n\r\n")) {
    items.push_back(std::move(item));
  }
  ASSERT_EQ(items.size(), 2u) << ::testing::PrintToString(summary(items));
  EXPECT_EQ(items[0].type, StreamItem::Type::Error);
  EXPECT_NE(items[0].error.find("larger than 1024"), std::string::npos);
  EXPECT_EQ(items[1].type, StreamItem::Type::Heartbeat);
}

TEST(DahuaMultipart, APartCutShortByARebootCostsThatPartOnly) {
  const auto items = parse_all(
      "--myboundary\r\n\r\nCode=AccessControl;action=Pulse;data={\"UserID\":\"1\",\r\n"
      "--myboundary\r\nContent-Type: text/plain\r\n\r\nCode=BreakIn;action=Pulse;index=0\r\n\r\n");
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].type, StreamItem::Type::Error);
  EXPECT_EQ(items[1].event->code, "BreakIn");
}

TEST(DahuaMultipart, GarbageBeforeTheFirstBoundaryAndABoundaryWithDashesAreTolerated) {
  EventStreamParser parser("--myboundary");
  auto items = parser.feed(std::string(10000, 'z'));
  EXPECT_TRUE(items.empty());
  EXPECT_LT(parser.buffered(), 16u);
  items = parser.feed("--myboundary\r\n\r\nHeartbeat\r\n");
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].type, StreamItem::Type::Heartbeat);
}

TEST(DahuaMultipart, StreamEndingInsideAnEventIsAnError) {
  EventStreamParser parser("myboundary");
  EXPECT_TRUE(parser.feed("--myboundary\r\n\r\nCode=X;data={\"a\":1").empty());
  const auto items = parser.finish();
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].type, StreamItem::Type::Error);
}

TEST(DahuaMultipart, SplitRecordsOfATextBody) {
  const auto records = split_event_records(
      "Code=A;action=Pulse;data={\n\"x\":\"}\\\"\\n\"\n}\r\n\r\nCode=B;action=Start\nCode=C");
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[2], "Code=C");
}

}  // namespace
}  // namespace pushgate::adapters::dahua
