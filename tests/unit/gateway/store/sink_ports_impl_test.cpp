// Included first: proves the header is self-contained.
#include "gateway/store/sink_ports_impl.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "gateway/store/sqlite.hpp"
#include "gateway/store/store.hpp"
#include "gateway/store/write_context.hpp"
#include "tests/unit/gateway/support/gateway_test_support.hpp"

namespace pushgate::store {
namespace {

using test::kDeadline;
using test::make_event;

class SinkPortsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Store::Options options;
    options.path = dir_.file("pushgate.db");
    std::string error;
    // The store registers metrics that point at itself: one registry per store.
    metrics_ = std::make_unique<metrics::Registry>();
    store_ = Store::open(options, clock_, *metrics_, error);
    ASSERT_NE(store_, nullptr) << error;
    store_->start();
    ports_ = std::make_unique<StoreSinkPorts>(*store_);
  }

  CommitResult commit(WriteBatch batch) {
    std::promise<CommitResult> p;
    auto f = p.get_future();
    store_->append(std::move(batch), [&p](CommitResult r) { p.set_value(std::move(r)); });
    EXPECT_EQ(f.wait_for(kDeadline), std::future_status::ready);
    return f.get();
  }

  CommitResult commit_events(const std::string& sn, std::vector<std::string> keys,
                             std::int64_t received_ms = 0) {
    WriteBatch b;
    for (auto& k : keys) {
      b.events.push_back(make_event(sn, std::move(k)));
      if (received_ms != 0) {
        b.events.back().received_ms = received_ms++;
      }
    }
    return commit(std::move(b));
  }

  /** Stores a cursor and waits for its `done`: the error it reported. */
  std::optional<boost::system::error_code> store_cursor(const std::string& name, std::int64_t pos) {
    std::promise<boost::system::error_code> p;
    auto f = p.get_future();
    ports_->store(name, pos, [&p](boost::system::error_code ec) { p.set_value(ec); });
    if (f.wait_for(kDeadline) != std::future_status::ready) {
      return std::nullopt;
    }
    return f.get();
  }

  test::TempDir dir_;
  test::FakeClock clock_;
  std::unique_ptr<metrics::Registry> metrics_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<StoreSinkPorts> ports_;
};

TEST_F(SinkPortsTest, ReaderReadsTheCommittedLogInIdOrder) {
  boost::system::error_code ec;
  auto reader = ports_->open_reader(ec);
  ASSERT_FALSE(ec) << ec.message();
  ASSERT_NE(reader, nullptr);
  EXPECT_EQ(reader->max_event_id(ec), 0);
  EXPECT_TRUE(reader->read_after(0, 10, ec).empty());

  // Opened before these commits: every call is a fresh read transaction.
  auto a = commit_events("T1", {"a", "b", "c"}, 1'000);
  auto b = commit_events("T2", {"d"}, 2'000);
  ASSERT_FALSE(a.ec);
  ASSERT_FALSE(b.ec);
  EXPECT_EQ(reader->max_event_id(ec), b.event_ids[0]);
  EXPECT_FALSE(ec);

  auto first = reader->read_after(0, 2, ec);
  ASSERT_FALSE(ec);
  ASSERT_EQ(first.size(), 2U);
  EXPECT_EQ(first[0].id, a.event_ids[0]);
  EXPECT_EQ(first[1].id, a.event_ids[1]);
  EXPECT_EQ(first[0].terminal_sn, "T1");
  EXPECT_EQ(first[0].record_key, "a");
  auto rest = reader->read_after(first[1].id, 10, ec);
  ASSERT_EQ(rest.size(), 2U);
  EXPECT_EQ(rest[0].id, a.event_ids[2]);
  EXPECT_EQ(rest[1].terminal_sn, "T2");

  auto last = reader->last_id_per_terminal_after(a.event_ids[0], ec);
  EXPECT_FALSE(ec);
  EXPECT_EQ(last,
            (std::map<std::string, std::int64_t>{{"T1", a.event_ids[2]}, {"T2", b.event_ids[0]}}));
  EXPECT_EQ(reader->last_id_per_terminal_after(b.event_ids[0], ec).size(), 0U);

  EXPECT_EQ(reader->first_received_ms_after(0, ec), 1'000);
  EXPECT_EQ(reader->first_received_ms_after(a.event_ids[2], ec), 2'000);
  EXPECT_EQ(reader->first_received_ms_after(b.event_ids[0], ec), 0);
  EXPECT_FALSE(ec);
}

TEST_F(SinkPortsTest, EachReaderHasItsOwnReadOnlyConnection) {
  boost::system::error_code ec;
  auto r1 = ports_->open_reader(ec);
  auto r2 = ports_->open_reader(ec);
  ASSERT_NE(r1, nullptr);
  ASSERT_NE(r2, nullptr);
  EXPECT_NE(r1.get(), r2.get());
  auto id = commit_events("T1", {"a"}).event_ids.at(0);
  EXPECT_EQ(r1->max_event_id(ec), id);
  r1.reset();  // closing one leaves the other working
  EXPECT_EQ(r2->max_event_id(ec), id);
  EXPECT_FALSE(ec);
}

TEST_F(SinkPortsTest, ReaderOfAMissingDatabaseFailsToOpen) {
  // Read-only: a reader never creates the database it was pointed at.
  Store::Options options;
  options.path = dir_.file("other.db");
  std::string error;
  metrics::Registry metrics;
  auto other = Store::open(options, clock_, metrics, error);
  ASSERT_NE(other, nullptr) << error;
  StoreSinkPorts ports(*other);
  std::filesystem::remove(options.path);
  boost::system::error_code ec;
  auto reader = ports.open_reader(ec);
  EXPECT_TRUE(ec);
  EXPECT_EQ(reader, nullptr);
  EXPECT_FALSE(std::filesystem::exists(options.path));
}

TEST_F(SinkPortsTest, CursorIsStoredThroughTheWriterAndLoadedBack) {
  boost::system::error_code ec;
  EXPECT_EQ(ports_->load("mqtt", ec), 0) << "a sink that never stored a cursor starts at 0";
  EXPECT_FALSE(ec);
  EXPECT_EQ(store_cursor("mqtt", 42), boost::system::error_code{});
  EXPECT_EQ(ports_->load("mqtt", ec), 42);
  EXPECT_EQ(store_cursor("mqtt", 50), boost::system::error_code{});
  EXPECT_EQ(store_cursor("other", 7), boost::system::error_code{});
  EXPECT_EQ(ports_->load("mqtt", ec), 50);
  EXPECT_EQ(ports_->load("other", ec), 7);
  EXPECT_FALSE(ec);

  // Durable: a new store on the same file has it.
  ports_.reset();
  store_.reset();
  SetUp();
  EXPECT_EQ(ports_->load("mqtt", ec), 50);
}

// Retention asks which sinks run: those that loaded their cursor (a cursor a
// sink stored in an earlier run, and no longer loads, does not count).
TEST_F(SinkPortsTest, SinksThatLoadedTheirCursorAreTheRunningOnes) {
  boost::system::error_code ec;
  EXPECT_EQ(store_cursor("retired", 9), boost::system::error_code{});
  EXPECT_TRUE(ports_->loaded_cursors().empty());
  ports_->load("mqtt", ec);
  ports_->load("mqtt", ec);
  ports_->load("b", ec);
  EXPECT_EQ(ports_->loaded_cursors(), (std::vector<std::string>{"b", "mqtt"}));
}

TEST_F(SinkPortsTest, CursorDoneRunsAfterTheCommit) {
  // From `done`, another connection already reads the new position.
  std::promise<std::int64_t> seen;
  auto f = seen.get_future();
  ports_->store("mqtt", 9, [this, &seen](boost::system::error_code ec) {
    EXPECT_FALSE(ec);
    boost::system::error_code rec;
    seen.set_value(ports_->load("mqtt", rec));
  });
  ASSERT_EQ(f.wait_for(kDeadline), std::future_status::ready);
  EXPECT_EQ(f.get(), 9);
}

TEST_F(SinkPortsTest, FailedCursorWriteIsReportedAndKeepsTheStoredPosition) {
  ASSERT_EQ(store_cursor("mqtt", 5), boost::system::error_code{});
  store_->set_fault_injector_for_test([](std::string_view step) {
    return step == "op" ? make_error_code(boost::system::errc::io_error)
                        : boost::system::error_code{};
  });
  auto ec = store_cursor("mqtt", 6);
  ASSERT_TRUE(ec.has_value()) << "done never called";
  EXPECT_TRUE(*ec);
  store_->set_fault_injector_for_test(nullptr);
  boost::system::error_code lec;
  EXPECT_EQ(ports_->load("mqtt", lec), 5);
}

}  // namespace
}  // namespace pushgate::store
