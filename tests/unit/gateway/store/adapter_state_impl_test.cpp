// Included first: proves the header is self-contained.
#include "gateway/store/adapter_state_impl.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <future>
#include <memory>
#include <string>
#include <utility>

#include "gateway/store/store.hpp"
#include "gateway/store/write_context.hpp"
#include "tests/unit/gateway/support/gateway_test_support.hpp"

namespace pushgate::store {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

class AdapterStateTest : public ::testing::Test {
 protected:
  void SetUp() override { open(); }

  void open() {
    state_.reset();
    store_.reset();
    metrics_ = std::make_unique<metrics::Registry>();
    Store::Options options;
    options.path = dir_.file("pushgate.db");
    std::string error;
    store_ = Store::open(options, clock_, *metrics_, error);
    ASSERT_NE(store_, nullptr) << error;
    store_->start();
    state_ = std::make_unique<StoreAdapterState>(*store_);
  }

  CommitResult commit(WriteBatch batch) {
    std::promise<CommitResult> p;
    auto f = p.get_future();
    store_->append(std::move(batch), [&p](CommitResult r) { p.set_value(std::move(r)); });
    EXPECT_EQ(f.wait_for(test::kDeadline), std::future_status::ready);
    return f.get();
  }

  AdapterState::Entries load(std::string_view adapter) {
    boost::system::error_code ec;
    auto entries = state_->load(adapter, ec);
    EXPECT_FALSE(ec) << ec.message();
    return entries;
  }

  test::TempDir dir_;
  test::FakeClock clock_;
  std::unique_ptr<metrics::Registry> metrics_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<StoreAdapterState> state_;
};

TEST_F(AdapterStateTest, PutReplaceEraseAndEachAdapterSeesOnlyItsOwn) {
  EXPECT_THAT(load("dahua"), ElementsAre());
  WriteBatch b;
  b.ops.push_back(state_->put("dahua", "cursor/door-1", R"({"rec":17})"));
  b.ops.push_back(state_->put("dahua", "cursor/door-0", R"({"rec":3})"));
  b.ops.push_back(state_->put("modbus", "slot/00001", R"({"sn":"T1"})"));
  ASSERT_FALSE(commit(std::move(b)).ec);
  EXPECT_THAT(load("dahua"), ElementsAre(Pair("cursor/door-0", R"({"rec":3})"),
                                         Pair("cursor/door-1", R"({"rec":17})")));
  WriteBatch c;
  c.ops.push_back(state_->put("dahua", "cursor/door-1", R"({"rec":18})"));
  c.ops.push_back(state_->erase("dahua", "cursor/door-0"));
  c.ops.push_back(state_->erase("dahua", "never/stored"));
  ASSERT_FALSE(commit(std::move(c)).ec);
  EXPECT_THAT(load("dahua"), ElementsAre(Pair("cursor/door-1", R"({"rec":18})")));
  EXPECT_THAT(load("modbus"), ElementsAre(Pair("slot/00001", R"({"sn":"T1"})")));
  open();  // durable across a restart
  EXPECT_THAT(load("dahua"), ElementsAre(Pair("cursor/door-1", R"({"rec":18})")));
}

TEST_F(AdapterStateTest, ARecordCommitsWithTheBatchOrNotAtAll) {
  WriteBatch b;
  b.events.push_back(test::make_event("D1", "rec-1"));
  b.ops.push_back(state_->put("dahua", "cursor/D1", "1"));
  b.ops.push_back([](WriteContext&) -> boost::system::error_code {
    return boost::system::errc::make_error_code(boost::system::errc::io_error);
  });
  EXPECT_TRUE(commit(std::move(b)).ec);
  EXPECT_THAT(load("dahua"), ElementsAre()) << "the cursor never runs ahead of its events";
}

}  // namespace
}  // namespace pushgate::store
