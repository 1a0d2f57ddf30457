// Included first: proves the header is self-contained.
#include "gateway/store/sync_queries.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <future>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "gateway/store/store.hpp"
#include "tests/unit/gateway/support/gateway_test_support.hpp"

namespace pushgate::store {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;

// The sync reads a terminal's rows a few PINs at a time: "user/12" or
// "template/12/" must not bring PIN 123's rows (nor another terminal's).
class SyncQueriesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Store::Options options;
    options.path = dir_.file("pushgate.db");
    std::string error;
    store_ = Store::open(options, clock_, metrics_, error);
    ASSERT_NE(store_, nullptr) << error;
    store_->start();
  }

  boost::system::error_code write(std::vector<WriteOp> ops) {
    WriteBatch batch;
    batch.ops = std::move(ops);
    auto p = std::make_shared<std::promise<CommitResult>>();
    auto f = p->get_future();
    store_->append(std::move(batch), [p](CommitResult r) { p->set_value(std::move(r)); });
    if (f.wait_for(test::kDeadline) != std::future_status::ready) {
      return make_error_code(boost::system::errc::timed_out);
    }
    return f.get().ec;
  }

  std::vector<std::pair<std::string, std::string>> read(const std::string& sn,
                                                        std::vector<std::string> exact,
                                                        std::vector<std::string> prefixes) {
    return store_->read([&](Connection& db) {
      boost::system::error_code ec;
      auto out = read_sync_items(db, sn, exact, prefixes, ec);
      EXPECT_FALSE(ec) << ec.message();
      return out;
    });
  }

  test::TempDir dir_;
  test::FakeClock clock_;
  metrics::Registry metrics_;
  std::unique_ptr<Store> store_;
};

TEST_F(SyncQueriesTest, ReadsTheNamedItemsAndPrefixesOfOneTerminal) {
  ASSERT_FALSE(write({upsert_sync_item("T1", "user/12", "d-u12", 1),
                      upsert_sync_item("T1", "user/123", "d-u123", 1),
                      upsert_sync_item("T1", "authorize/12", "d-a12", 1),
                      upsert_sync_item("T1", "template/12/1/6/0", "d-t12", 1),
                      upsert_sync_item("T1", "template/123/1/6/0", "d-t123", 1),
                      upsert_sync_item("T1", "photo/12/biophoto/9", "d-p12", 1),
                      upsert_sync_item("T2", "user/12", "d-other", 1)}));
  EXPECT_THAT(
      read("T1", {"user/12", "authorize/12"}, {"template/12/", "photo/12/"}),
      ElementsAre(Pair("user/12", "d-u12"), Pair("authorize/12", "d-a12"),
                  Pair("template/12/1/6/0", "d-t12"), Pair("photo/12/biophoto/9", "d-p12")));
  EXPECT_THAT(read("T2", {"user/12", "authorize/12"}, {"template/12/"}),
              ElementsAre(Pair("user/12", "d-other")));
  EXPECT_THAT(read("T3", {"user/12"}, {"template/"}), IsEmpty());

  // Upsert replaces the digest ("" is a delete sent); delete removes the row.
  ASSERT_FALSE(write(
      {upsert_sync_item("T1", "user/12", "", 2), delete_sync_item("T1", "template/12/1/6/0")}));
  EXPECT_THAT(read("T1", {"user/12"}, {"template/12/"}), ElementsAre(Pair("user/12", "")));

  const auto served = store_->read([](Connection& db) {
    boost::system::error_code ec;
    auto out = read_sync_terminals(db, ec);
    EXPECT_FALSE(ec) << ec.message();
    return out;
  });
  EXPECT_THAT(served, ElementsAre("T1", "T2"));
}

}  // namespace
}  // namespace pushgate::store
