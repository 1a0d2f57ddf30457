// The backfill pager: overlapping pages, duplicates dropped, the durable
// cursor moved only over stored events. A scripted server (a sorted event
// log answering BETWEEN/limit/offset as documented) stands in for BioStar.
#include "adapters/suprema/suprema_pager.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

namespace pushgate::adapters::suprema {
namespace {

using nlohmann::json;

struct LogRow {
  std::string id;
  std::int64_t ms;
  std::int64_t device;
};

// Answers a search from `log` (sorted by time) the way the documentation
// describes it: both ends inclusive, ascending, limit and offset.
EventSearchReply answer(const std::vector<LogRow>& log, const EventSearch& search) {
  json rows = json::array();
  std::size_t skipped = 0;
  for (const LogRow& row : log) {
    if (row.ms < search.from_ms || row.ms > search.until_ms) {
      continue;
    }
    if (skipped++ < search.offset) {
      continue;
    }
    if (rows.size() == search.limit) {
      break;
    }
    rows.push_back({{"id", row.id},
                    {"datetime", format_iso8601_utc(row.ms)},
                    {"device_id", {{"id", std::to_string(row.device)}}},
                    {"event_type_id", {{"code", "4102"}}}});
  }
  return read_event_search(200, json{{"EventCollection", {{"rows", rows}}}}.dump());
}

// Runs a pager to the end, storing every fresh event; returns the ids stored.
std::vector<std::string> drain(EventPager& pager, const std::vector<LogRow>& log,
                               std::size_t max_pages = 1000) {
  std::vector<std::string> stored;
  for (std::size_t page = 0; !pager.done() && page < max_pages; ++page) {
    const EventPager::Page p = pager.accept(answer(log, pager.next_search()));
    for (const SupremaEvent& e : p.fresh) {
      stored.push_back(e.id);
      pager.mark_stored(e);
    }
  }
  EXPECT_TRUE(pager.done());
  return stored;
}

std::vector<LogRow> make_log(std::size_t n, std::int64_t start, std::int64_t step) {
  std::vector<LogRow> log;
  for (std::size_t i = 0; i < n; ++i) {
    log.push_back({std::to_string(i + 1), start + static_cast<std::int64_t>(i) * step, 7});
  }
  return log;
}

std::vector<std::string> ids(std::size_t from, std::size_t to) {
  std::vector<std::string> out;
  for (std::size_t i = from; i <= to; ++i) {
    out.push_back(std::to_string(i));
  }
  return out;
}

constexpr std::int64_t kT0 = 1709630000000;

TEST(SupremaPager, WalksEveryEventOnceAcrossPages) {
  const auto log = make_log(250, kT0, 1000);
  EventPager pager({}, kT0, kT0 + 3600000, 100);
  EXPECT_EQ(drain(pager, log), ids(1, 250));
  EXPECT_EQ(pager.cursor().epoch_ms, kT0 + 249 * 1000);
  EXPECT_EQ(pager.cursor().keys_at_time.size(), 1U);
}

TEST(SupremaPager, OverlapAtPageBoundaryIsNotLostOrDoubled) {
  // Pairs of events share a millisecond, so pages end in the middle of a time.
  std::vector<LogRow> log;
  for (int i = 0; i < 301; ++i) {
    log.push_back({std::to_string(i + 1), kT0 + (i / 2) * 10, 7});
  }
  EventPager pager({}, kT0, kT0 + 100000, 100);
  EXPECT_EQ(drain(pager, log), ids(1, 301));
}

TEST(SupremaPager, MoreEventsInOneMillisecondThanAPage) {
  std::vector<LogRow> log;
  for (int i = 0; i < 250; ++i) {
    log.push_back({std::to_string(i + 1), kT0, 7});
  }
  for (int i = 250; i < 260; ++i) {
    log.push_back({std::to_string(i + 1), kT0 + 5, 7});
  }
  EventPager pager({}, kT0, kT0 + 100000, 100);
  std::vector<std::string> stored;
  bool warned = false;
  while (!pager.done()) {
    const EventPager::Page p = pager.accept(answer(log, pager.next_search()));
    warned = warned || !p.problems.empty();
    for (const SupremaEvent& e : p.fresh) {
      stored.push_back(e.id);
      pager.mark_stored(e);
    }
  }
  EXPECT_EQ(stored, ids(1, 260));
  EXPECT_TRUE(warned);  // the offset paging is reported
}

TEST(SupremaPager, ResumesFromTheDurableCursorWithoutDuplicates) {
  const auto log = make_log(120, kT0, 500);
  // First run: stores only the first page's first 30 events, then "crashes".
  EventPager first({}, kT0, kT0 + 600000, 50);
  const EventPager::Page p = first.accept(answer(log, first.next_search()));
  ASSERT_EQ(p.fresh.size(), 50U);
  for (std::size_t i = 0; i < 30; ++i) {
    first.mark_stored(p.fresh[i]);
  }
  const EventCursor saved = first.cursor();  // what the adapter persisted
  EXPECT_EQ(saved.epoch_ms, kT0 + 29 * 500);

  EventPager second(saved, kT0, kT0 + 600000, 50);
  EXPECT_EQ(second.next_search().from_ms, kT0 + 29 * 500);  // starts AT the cursor time
  EXPECT_EQ(drain(second, log), ids(31, 120));
}

TEST(SupremaPager, CursorSharedTimeKeepsUnstoredSiblings) {
  // Three events at one time; the first run stored two of them.
  std::vector<LogRow> log{{"1", kT0, 7}, {"2", kT0, 7}, {"3", kT0, 7}, {"4", kT0 + 1, 7}};
  EventPager first({}, kT0, kT0 + 1000, 100);
  const EventPager::Page p = first.accept(answer(log, first.next_search()));
  first.mark_stored(p.fresh[0]);
  first.mark_stored(p.fresh[1]);
  EventPager second(first.cursor(), kT0, kT0 + 1000, 100);
  EXPECT_EQ(drain(second, log), (std::vector<std::string>{"3", "4"}));
}

TEST(SupremaPager, CursorMovesOnlyOverStoredEvents) {
  const auto log = make_log(10, kT0, 1000);
  EventPager pager({}, kT0, kT0 + 100000, 100);
  const EventPager::Page p = pager.accept(answer(log, pager.next_search()));
  EXPECT_EQ(p.fresh.size(), 10U);
  EXPECT_TRUE(pager.done());
  EXPECT_FALSE(pager.cursor().epoch_ms);  // nothing stored yet
  pager.mark_stored(p.fresh[4]);
  EXPECT_EQ(pager.cursor().epoch_ms, kT0 + 4000);
  pager.mark_stored(p.fresh[2]);  // older: does not move it back
  EXPECT_EQ(pager.cursor().epoch_ms, kT0 + 4000);
  SupremaEvent no_time = p.fresh[9];
  no_time.epoch_ms.reset();
  pager.mark_stored(no_time);
  EXPECT_EQ(pager.cursor().epoch_ms, kT0 + 4000);
}

TEST(SupremaPager, FailedPageIsAskedAgain) {
  const auto log = make_log(5, kT0, 1000);
  EventPager pager({}, kT0, kT0 + 100000, 100);
  const EventSearch before = pager.next_search();
  const EventPager::Page failed = pager.accept(
      read_event_search(401, R"({"Response":{"code":"10","message":"Login required."}})"));
  EXPECT_TRUE(failed.fresh.empty());
  ASSERT_EQ(failed.problems.size(), 1U);
  EXPECT_FALSE(pager.done());
  EXPECT_EQ(pager.next_search().from_ms, before.from_ms);
  EXPECT_EQ(pager.next_search().offset, before.offset);
  EXPECT_EQ(drain(pager, log), ids(1, 5));
}

TEST(SupremaPager, DuplicatesInsideAPageAndOldRowsAreCounted) {
  json rows = json::array();
  for (const char* id : {"1", "1", "2"}) {
    rows.push_back(
        {{"id", id}, {"datetime", format_iso8601_utc(kT0)}, {"device_id", {{"id", "7"}}}});
  }
  rows.push_back(
      {{"id", "0"}, {"datetime", format_iso8601_utc(kT0 - 5000)}, {"device_id", {{"id", "7"}}}});
  EventPager pager({}, kT0, kT0 + 1000, 100);
  const EventPager::Page p =
      pager.accept(read_event_search(200, json{{"EventCollection", {{"rows", rows}}}}.dump()));
  EXPECT_EQ(p.duplicates, 1U);
  EXPECT_EQ(p.out_of_range, 1U);
  EXPECT_EQ(p.fresh.size(), 3U);  // the old row is kept, never dropped
  EXPECT_TRUE(pager.done());
}

TEST(SupremaPager, ARowSeenOnAnEarlierPageIsNotGivenAgain) {
  const auto page_of = [](std::vector<std::pair<const char*, std::int64_t>> rows) {
    json out = json::array();
    for (const auto& [id, ms] : rows) {
      out.push_back(
          {{"id", id}, {"datetime", format_iso8601_utc(ms)}, {"device_id", {{"id", "7"}}}});
    }
    return read_event_search(200, json{{"EventCollection", {{"rows", out}}}}.dump());
  };
  EventPager pager({}, kT0, kT0 + 1000, 2);
  EXPECT_EQ(pager.accept(page_of({{"A", kT0}, {"B", kT0 + 1}})).fresh.size(), 2U);
  // A server that sends A again with the next page: A is not given twice.
  const EventPager::Page again = pager.accept(page_of({{"A", kT0}, {"C", kT0 + 2}}));
  ASSERT_EQ(again.fresh.size(), 1U);
  EXPECT_EQ(again.fresh[0].id, "C");
  EXPECT_EQ(again.duplicates, 1U);
  EXPECT_TRUE(pager.accept(page_of({})).fresh.empty());
  EXPECT_TRUE(pager.done());
}

TEST(SupremaPager, EmptyRangeIsDoneAtOnce) {
  EventPager pager({}, kT0 + 10, kT0, 100);
  EXPECT_TRUE(pager.done());
}

}  // namespace
}  // namespace pushgate::adapters::suprema
