// Included first: proves the header is self-contained.
#include "gateway/store/access_queries.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <future>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "gateway/store/store.hpp"
#include "tests/unit/gateway/support/gateway_test_support.hpp"

namespace pushgate::store {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

class AccessQueriesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Store::Options options;
    options.path = dir_.file("pushgate.db");
    std::string error;
    store_ = Store::open(options, clock_, metrics_, error);
    ASSERT_NE(store_, nullptr) << error;
    store_->start();
  }

  /** Runs `op` in one commit; the op's error, or the commit's. */
  boost::system::error_code write(WriteOp op) {
    WriteBatch batch;
    batch.ops.push_back(std::move(op));
    auto p = std::make_shared<std::promise<CommitResult>>();
    auto f = p->get_future();
    store_->append(std::move(batch), [p](CommitResult r) { p->set_value(std::move(r)); });
    if (f.wait_for(test::kDeadline) != std::future_status::ready) {
      return make_error_code(boost::system::errc::timed_out);
    }
    return f.get().ec;
  }

  AccessRows rows() {
    return store_->read([](Connection& db) {
      boost::system::error_code ec;
      AccessRows out = read_access_rows(db, ec);
      EXPECT_FALSE(ec) << ec.message();
      return out;
    });
  }

  /** "card:pin:lost" of every access_cards row, by card. */
  std::vector<std::string> cards() {
    return store_->read([](Connection& db) {
      boost::system::error_code ec;
      std::vector<std::string> out;
      auto st = db.prepare("SELECT card, pin, lost FROM access_cards ORDER BY card", ec);
      while (!ec && st.step(ec)) {
        out.push_back(st.column_text(0) + ":" + st.column_text(1) + ":" +
                      std::to_string(st.column_int(2)));
      }
      EXPECT_FALSE(ec) << ec.message();
      return out;
    });
  }

  static std::vector<std::string> positions(const AccessRows& r) {
    std::vector<std::string> out;
    for (const auto& p : r.positions) {
      out.push_back(p.pin + "@" + std::to_string(p.area) + "/" + std::to_string(p.since_ms));
    }
    return out;
  }

  test::TempDir dir_;
  test::FakeClock clock_;
  metrics::Registry metrics_;
  std::unique_ptr<Store> store_;
};

TEST_F(AccessQueriesTest, UserRowsReplaceTheirCardsAndDeleteWithTheirPosition) {
  ASSERT_FALSE(write([](WriteContext& ctx) {
    return put_access_user(ctx, "7", R"({"pin":"7"})", "rest", {{"111", false}, {"222", true}}, 10);
  }));
  EXPECT_THAT(cards(), ElementsAre("111:7:0", "222:7:1"));
  ASSERT_FALSE(write([](WriteContext& ctx) {
    return put_access_user(ctx, "7", R"({"pin":"7","name":"x"})", "terminal:T1", {{"333", false}},
                           20);
  }));
  EXPECT_THAT(cards(), ElementsAre("333:7:0"));
  EXPECT_THAT(rows().users, ElementsAre(R"({"pin":"7","name":"x"})"));

  ASSERT_FALSE(write([](WriteContext& ctx) { return put_access_position(ctx, "7", 2, 100); }));
  ASSERT_FALSE(write([](WriteContext& ctx) { return delete_access_user(ctx, "7"); }));
  const AccessRows after = rows();
  EXPECT_THAT(after.users, IsEmpty());
  EXPECT_THAT(after.positions, IsEmpty());
  EXPECT_THAT(cards(), IsEmpty());
}

TEST_F(AccessQueriesTest, DocumentsAreReadInKeyOrderPerTable) {
  ASSERT_FALSE(write([](WriteContext& ctx) {
    for (auto [table, id, doc] : {std::tuple{AccessDocTable::TimeZones, 2, "tz2"},
                                  std::tuple{AccessDocTable::TimeZones, 1, "tz1"},
                                  std::tuple{AccessDocTable::Levels, 5, "level5"},
                                  std::tuple{AccessDocTable::Areas, 3, "area3"}}) {
      if (auto ec = put_access_doc(ctx, table, id, doc, 1)) {
        return ec;
      }
    }
    if (auto ec = put_access_holiday(ctx, "2026-12-25", "xmas", 1)) {
      return ec;
    }
    if (auto ec = put_access_holiday(ctx, "2026-01-01", "new year", 1)) {
      return ec;
    }
    if (auto ec = put_access_door(ctx, "T2", 1, "T2/1", 1)) {
      return ec;
    }
    return put_access_door(ctx, "T1", 2, "T1/2", 1);
  }));
  AccessRows r = rows();
  EXPECT_THAT(r.timezones, ElementsAre("tz1", "tz2"));
  EXPECT_THAT(r.levels, ElementsAre("level5"));
  EXPECT_THAT(r.areas, ElementsAre("area3"));
  EXPECT_THAT(r.holidays, ElementsAre("new year", "xmas"));
  EXPECT_THAT(r.doors, ElementsAre("T1/2", "T2/1"));

  // A put replaces the document; deletes take one row each.
  ASSERT_FALSE(write([](WriteContext& ctx) {
    if (auto ec = put_access_doc(ctx, AccessDocTable::TimeZones, 1, "tz1b", 2)) {
      return ec;
    }
    if (auto ec = delete_access_doc(ctx, AccessDocTable::TimeZones, 2)) {
      return ec;
    }
    if (auto ec = delete_access_holiday(ctx, "2026-12-25")) {
      return ec;
    }
    return delete_access_door(ctx, "T2", 1);
  }));
  r = rows();
  EXPECT_THAT(r.timezones, ElementsAre("tz1b"));
  EXPECT_THAT(r.holidays, ElementsAre("new year"));
  EXPECT_THAT(r.doors, ElementsAre("T1/2"));
}

TEST_F(AccessQueriesTest, APositionNeverMovesBackInTime) {
  ASSERT_FALSE(write([](WriteContext& ctx) { return put_access_position(ctx, "1", 2, 200); }));
  // An older passage committed later (a terminal's record after the decision) is ignored.
  ASSERT_FALSE(write([](WriteContext& ctx) { return put_access_position(ctx, "1", 3, 100); }));
  ASSERT_FALSE(write([](WriteContext& ctx) { return put_access_position(ctx, "2", 1, 50); }));
  EXPECT_THAT(positions(rows()), ElementsAre("1@2/200", "2@1/50"));
  ASSERT_FALSE(write([](WriteContext& ctx) { return put_access_position(ctx, "1", 0, 300); }));
  ASSERT_FALSE(write([](WriteContext& ctx) { return delete_access_position(ctx, "2"); }));
  EXPECT_THAT(positions(rows()), ElementsAre("1@0/300"));
  ASSERT_FALSE(write([](WriteContext& ctx) { return delete_access_positions(ctx); }));
  EXPECT_THAT(positions(rows()), IsEmpty());
}

TEST_F(AccessQueriesTest, ReadsTheDoorSensorsTerminalsReported) {
  ASSERT_FALSE(write([](WriteContext& ctx) -> boost::system::error_code {
    boost::system::error_code ec;
    const std::int64_t id = ctx.terminal_id("T9", ec);
    if (ec) {
      return ec;
    }
    auto& st = ctx.statement(
        "INSERT INTO door_state(terminal_id, door, sensor, updated_ms) VALUES(?1,?2,?3,1)", ec);
    if (ec) {
      return ec;
    }
    st.bind(1, id).bind(2, 1).bind(3, std::string_view("open"));
    if ((ec = st.run())) {
      return ec;
    }
    auto& none =
        ctx.statement("INSERT INTO door_state(terminal_id, door, updated_ms) VALUES(?1,?2,1)", ec);
    if (ec) {
      return ec;
    }
    none.bind(1, id).bind(2, 2);
    return none.run();
  }));
  std::vector<std::string> seen;
  for (const auto& d : rows().door_sensors) {
    seen.push_back(d.sn + "/" + std::to_string(d.door) + "=" + d.sensor);
  }
  EXPECT_THAT(seen, ::testing::UnorderedElementsAre("T9/1=open", "T9/2="));
}

}  // namespace
}  // namespace pushgate::store
