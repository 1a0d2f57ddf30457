// Included first: proves the header is self-contained.
#include "gateway/store/event_queries.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <future>
#include <memory>
#include <string>
#include <vector>

#include "gateway/store/store.hpp"
#include "gateway/store/write_context.hpp"
#include "tests/unit/gateway/support/gateway_test_support.hpp"

namespace pushgate::store {
namespace {

using test::make_event;
using ::testing::ElementsAre;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

class EventQueriesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Store::Options options;
    options.path = dir_.file("pushgate.db");
    std::string error;
    store_ = Store::open(options, clock_, metrics_, error);
    ASSERT_NE(store_, nullptr) << error;
    store_->start();
  }

  void commit(WriteBatch batch) {
    auto p = std::make_shared<std::promise<CommitResult>>();
    auto f = p->get_future();
    store_->append(std::move(batch), [p](CommitResult r) { p->set_value(std::move(r)); });
    ASSERT_EQ(f.wait_for(test::kDeadline), std::future_status::ready);
    auto r = f.get();
    ASSERT_FALSE(r.ec) << r.ec.message();
  }

  // T1: attendance a1 a2 a3, alarm x1; T2: access b1 b2 (ids 1..6 in this order).
  void seed() {
    WriteBatch b;
    for (const char* k : {"a1", "a2"}) {
      b.events.push_back(make_event("T1", k, EventKind::Attendance));
    }
    b.events.push_back(make_event("T2", "b1", EventKind::Access));
    b.events.push_back(make_event("T1", "a3", EventKind::Attendance));
    b.events.push_back(make_event("T2", "b2", EventKind::Access));
    b.events.push_back(make_event("T1", "x1", EventKind::Alarm));
    commit(std::move(b));
  }

  std::vector<std::string> keys(const EventQuery& q) {
    return store_->read([&q](Connection& db) {
      boost::system::error_code ec;
      std::vector<std::string> out;
      for (const auto& e : read_events(db, q, ec)) {
        out.push_back(std::to_string(e.id) + ":" + e.record_key);
      }
      EXPECT_FALSE(ec) << ec.message();
      return out;
    });
  }

  test::TempDir dir_;
  test::FakeClock clock_;
  metrics::Registry metrics_;
  std::unique_ptr<Store> store_;
};

EventQuery query(std::int64_t after, std::size_t limit, std::string terminal = {},
                 std::optional<EventKind> kind = std::nullopt) {
  EventQuery q;
  q.after = after;
  q.limit = limit;
  q.terminal = std::move(terminal);
  q.kind = kind;
  return q;
}

TEST_F(EventQueriesTest, EmptyLogReadsNothing) {
  EXPECT_TRUE(keys(query(0, 100)).empty());
  auto max = store_->read([](Connection& db) {
    boost::system::error_code ec;
    return max_event_id(db, ec);
  });
  EXPECT_EQ(max, 0);
}

TEST_F(EventQueriesTest, PagesAreAscendingAndStrictlyAfterCursor) {
  seed();
  EXPECT_THAT(keys(query(0, 2)), ElementsAre("1:a1", "2:a2"));
  EXPECT_THAT(keys(query(2, 2)), ElementsAre("3:b1", "4:a3"));
  EXPECT_THAT(keys(query(4, 2)), ElementsAre("5:b2", "6:x1"));
  EXPECT_TRUE(keys(query(6, 2)).empty());
  EXPECT_THAT(keys(query(5, 100)), ElementsAre("6:x1"));
  auto max = store_->read([](Connection& db) {
    boost::system::error_code ec;
    return max_event_id(db, ec);
  });
  EXPECT_EQ(max, 6);
}

TEST_F(EventQueriesTest, FiltersByTerminalAndKind) {
  seed();
  EXPECT_THAT(keys(query(0, 100, "T2")), ElementsAre("3:b1", "5:b2"));
  EXPECT_THAT(keys(query(0, 100, "", EventKind::Attendance)), ElementsAre("1:a1", "2:a2", "4:a3"));
  EXPECT_THAT(keys(query(0, 100, "T1", EventKind::Alarm)), ElementsAre("6:x1"));
  EXPECT_TRUE(keys(query(0, 100, "T2", EventKind::Alarm)).empty());
  EXPECT_TRUE(keys(query(0, 100, "NOPE")).empty());
  // Filters and paging combine: the cursor is the last id seen.
  EXPECT_THAT(keys(query(0, 2, "T1")), ElementsAre("1:a1", "2:a2"));
  EXPECT_THAT(keys(query(2, 2, "T1")), ElementsAre("4:a3", "6:x1"));
}

TEST_F(EventQueriesTest, QuarantinePagesAndFiltersByTerminal) {
  WriteBatch b;
  int n = 0;
  for (const char* sn : {"T1", "T2", "T1"}) {
    QuarantineRecord q;
    q.terminal_sn = sn;
    q.reason = "bad";
    // Distinct lines: the quarantine keeps one row per terminal and raw line.
    q.raw = std::string("raw-") + sn + "-" + std::to_string(++n);
    b.quarantine.push_back(q);
  }
  QuarantineRecord anonymous;
  anonymous.reason = "no serial";
  anonymous.raw = "?";
  b.quarantine.push_back(anonymous);
  commit(std::move(b));
  auto page = [this](std::int64_t after, std::size_t limit, std::string terminal) {
    return store_->read([=](Connection& db) {
      boost::system::error_code ec;
      std::vector<std::int64_t> ids;
      for (const auto& r : read_quarantine(db, after, limit, terminal, ec)) {
        ids.push_back(r.id);
      }
      return ids;
    });
  };
  EXPECT_THAT(page(0, 2, ""), ElementsAre(1, 2));
  EXPECT_THAT(page(2, 10, ""), ElementsAre(3, 4));
  EXPECT_THAT(page(0, 10, "T1"), ElementsAre(1, 3));
  EXPECT_THAT(page(1, 10, "T1"), ElementsAre(3));
}

TEST_F(EventQueriesTest, TerminalCountsByKindAndTable) {
  seed();
  WriteBatch b;
  QuarantineRecord q;
  q.terminal_sn = "T2";
  q.reason = "bad";
  q.raw = "x";
  b.quarantine.push_back(q);
  // A user T1 uploaded, stored through a WriteOp as the adapter would.
  b.ops.push_back([](WriteContext& ctx) {
    boost::system::error_code ec;
    auto id = ctx.terminal_id("T1", ec);
    if (ec) {
      return ec;
    }
    auto& st = ctx.statement(
        "INSERT INTO terminal_users(terminal_id, pin, name, updated_ms) VALUES(?1, '1', 'A', ?2)",
        ec);
    if (ec) {
      return ec;
    }
    st.bind(1, id).bind(2, ctx.now_ms());
    return st.run();
  });
  commit(std::move(b));

  auto counts = store_->read([](Connection& db) {
    boost::system::error_code ec;
    auto c = read_terminal_counts(db, ec);
    EXPECT_FALSE(ec);
    return c;
  });
  ASSERT_EQ(counts.size(), 2U);
  EXPECT_EQ(counts[0].sn, "T1");
  EXPECT_EQ(counts[0].events, 4);
  EXPECT_THAT(counts[0].by_kind, UnorderedElementsAre(Pair("attendance", 3), Pair("alarm", 1)));
  EXPECT_EQ(counts[0].users, 1);
  EXPECT_EQ(counts[0].quarantined, 0);
  EXPECT_EQ(counts[1].sn, "T2");
  EXPECT_EQ(counts[1].events, 2);
  EXPECT_THAT(counts[1].by_kind, ElementsAre(Pair("access", 2)));
  EXPECT_EQ(counts[1].users, 0);
  EXPECT_EQ(counts[1].quarantined, 1);
}

// A status board's start (Modbus): each terminal's latest event of the
// kinds asked for, whatever came after it of other kinds.
TEST_F(EventQueriesTest, LatestPerTerminalOfTheKindsAskedFor) {
  seed();
  auto latest = [this](std::vector<EventKind> kinds) {
    return store_->read([&kinds](Connection& db) {
      boost::system::error_code ec;
      std::vector<std::string> out;
      for (const auto& e : latest_event_per_terminal(db, kinds, ec)) {
        out.push_back(e.terminal_sn + ":" + e.record_key);
      }
      EXPECT_FALSE(ec) << ec.message();
      return out;
    });
  };
  EXPECT_THAT(latest({EventKind::Attendance, EventKind::Access}), ElementsAre("T1:a3", "T2:b2"));
  EXPECT_THAT(latest({EventKind::Alarm}), ElementsAre("T1:x1"));
  EXPECT_THAT(latest({EventKind::DoorState}), ElementsAre());
  EXPECT_THAT(latest({}), ElementsAre());
}

}  // namespace
}  // namespace pushgate::store
