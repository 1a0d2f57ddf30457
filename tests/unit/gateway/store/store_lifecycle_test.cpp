// Store tests: stop, the read thread, the SQLite settings and integrity, unopenable files.

#include <gtest/gtest.h>

#include "tests/unit/gateway/store/store_test_support.hpp"

namespace pushgate::store {
namespace {

TEST_F(StoreTest, StopCommitsEverythingQueuedBeforeReturning) {
  probe_.park_next_group();
  auto gate = std::make_shared<std::promise<CommitResult>>();
  auto gate_done = gate->get_future();
  store_->append(WriteBatch{}, [gate](CommitResult r) { gate->set_value(std::move(r)); });
  ASSERT_NE(probe_.wait_parked(), 0);

  constexpr int kQueued = 5;
  struct Answers {
    std::mutex mutex;
    std::vector<CommitResult> results;
  };
  auto answers = std::make_shared<Answers>();
  for (int i = 0; i < kQueued; ++i) {
    store_->append(events_batch("T1", {"q" + std::to_string(i)}), [answers](CommitResult r) {
      std::lock_guard lock(answers->mutex);
      answers->results.push_back(std::move(r));
    });
  }
  std::thread stopper([this] { store_->stop(); });
  // Once stop() has begun, appends are refused at once (answered on this
  // thread). Probes appended before that are queued and committed like any.
  bool stopping = test::wait_until([&] {
    auto refused = std::make_shared<std::atomic<bool>>(false);
    store_->append(WriteBatch{},
                   [refused](CommitResult r) { *refused = r.ec == boost::asio::error::shut_down; });
    return refused->load();
  });
  probe_.release();
  stopper.join();
  ASSERT_TRUE(stopping);

  // stop() returned: every queued request was answered, and answered OK.
  {
    std::lock_guard lock(answers->mutex);
    ASSERT_EQ(answers->results.size(), static_cast<std::size_t>(kQueued));
    for (const auto& r : answers->results) {
      EXPECT_FALSE(r.ec) << r.ec.message();
      EXPECT_EQ(r.inserted, 1U);
    }
  }
  EXPECT_TRUE(wait_result(gate_done).has_value());
  EXPECT_EQ(all_events().size(), static_cast<std::size_t>(kQueued));
}

TEST_F(StoreTest, AppendAfterStopIsAnsweredWithError) {
  store_->stop();
  std::optional<CommitResult> result;
  store_->append(events_batch("T1", {"late"}), [&result](CommitResult r) { result = r; });
  ASSERT_TRUE(result.has_value()) << "done must be called even after stop";
  EXPECT_EQ(result->ec, boost::asio::error::shut_down);
  EXPECT_TRUE(all_events().empty());
}

TEST_F(StoreTest, AsyncReadRunsOnReadThreadAndPostsToHandlerExecutor) {
  ASSERT_FALSE(commit(events_batch("T1", {"a"})).ec);
  net::io_context ioc;
  auto strand = net::make_strand(ioc);
  auto test_thread = std::this_thread::get_id();
  std::thread::id job_thread;
  bool on_strand = false;
  std::optional<std::int64_t> result;
  store_->async_read(
      [&job_thread](Connection& db) {
        job_thread = std::this_thread::get_id();
        boost::system::error_code ec;
        return max_event_id(db, ec);
      },
      net::bind_executor(strand, [&](std::int64_t id) {
        on_strand = strand.running_in_this_thread();
        result = id;
      }));
  auto work = net::make_work_guard(ioc);
  auto until = std::chrono::steady_clock::now() + kDeadline;
  while (!result && std::chrono::steady_clock::now() < until) {
    ioc.run_one_until(until);
  }
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(*result, 1);
  EXPECT_TRUE(on_strand);
  EXPECT_NE(job_thread, test_thread);
  // The read thread lets go of its copy of the strand only after posting:
  // join it before this test's io_context is destroyed.
  store_->stop();
}

TEST_F(StoreTest, WriterConnectionIsWalWithSynchronousFull) {
  std::string journal_mode;
  std::int64_t synchronous = -1;
  std::int64_t foreign_keys = -1;
  WriteBatch b;
  b.ops.push_back([&](WriteContext& ctx) {
    boost::system::error_code ec;
    auto jm = ctx.db().prepare("PRAGMA journal_mode", ec);
    if (!ec && jm.step(ec)) {
      journal_mode = jm.column_text(0);
    }
    auto sync = ctx.db().prepare("PRAGMA synchronous", ec);
    if (!ec && sync.step(ec)) {
      synchronous = sync.column_int(0);
    }
    auto fk = ctx.db().prepare("PRAGMA foreign_keys", ec);
    if (!ec && fk.step(ec)) {
      foreign_keys = fk.column_int(0);
    }
    return ec;
  });
  ASSERT_FALSE(commit(std::move(b)).ec);
  EXPECT_EQ(journal_mode, "wal");
  EXPECT_EQ(synchronous, 2);  // FULL
  EXPECT_EQ(foreign_keys, 1);
  // Readers open the same way.
  EXPECT_EQ(count("PRAGMA synchronous"), 2);
  EXPECT_EQ(count("PRAGMA foreign_keys"), 1);
}

TEST_F(StoreTest, DatabasePassesIntegrityCheckAfterWork) {
  ASSERT_FALSE(commit(events_batch("T1", {"a", "b"})).ec);
  std::vector<WriteBatch> batches;
  batches.push_back(events_batch("T2", {"x"}));
  commit_as_one_group(std::move(batches), 1, make_sqlite_error(SQLITE_IOERR));
  WriteBatch q;
  q.quarantine.push_back(quarantine_record("T1", "\0\0"s, "nul"));
  ASSERT_FALSE(commit(std::move(q)).ec);
  auto check = store_->read([](Connection& db) {
    boost::system::error_code ec;
    std::vector<std::string> rows;
    auto st = db.prepare("PRAGMA integrity_check", ec);
    while (!ec && st.step(ec)) {
      rows.push_back(st.column_text(0));
    }
    auto fk = db.prepare("PRAGMA foreign_key_check", ec);
    while (!ec && fk.step(ec)) {
      rows.push_back("foreign key violation in " + fk.column_text(0));
    }
    return rows;
  });
  EXPECT_THAT(check, ElementsAre("ok"));
}

TEST_F(StoreTest, UnopenableDatabaseIsAnErrorNamingThePath) {
  metrics::Registry metrics;
  Store::Options options;
  options.path = "/nonexistent-dir/pushgate.db";
  std::string error;
  auto store = Store::open(options, clock_, metrics, error);
  EXPECT_EQ(store, nullptr);
  EXPECT_THAT(error, HasSubstr("/nonexistent-dir/pushgate.db"));
}

}  // namespace
}  // namespace pushgate::store
