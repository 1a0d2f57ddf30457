// Included first: proves the header is self-contained.
#include "gateway/store/store.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>

#include "gateway/store/event_queries.hpp"
#include "gateway/store/write_context.hpp"
#include "tests/unit/gateway/support/gateway_test_support.hpp"

namespace pushgate::store {
namespace {

namespace net = boost::asio;
using namespace std::string_literals;
using test::kDeadline;
using test::make_event;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

/**
 * The writer's fault-injection hook, installed before start(). It can
 *  - park the writer at the next group's "begin" step, so that batches
 *    appended meanwhile are committed together as the following group; and
 *  - fail the nth write step ("begin", "event", "quarantine", "op",
 *    "commit") of one chosen group with a given error, in the spirit of
 *    Beast's test::fail_count.
 * Called on the writer thread; driven from the test thread.
 */
class WriterProbe {
 public:
  boost::system::error_code on_step(std::string_view step) {
    std::unique_lock lock(mutex_);
    if (step == "begin") {
      ++groups_;
      if (park_) {
        parked_group_ = groups_;
        cv_.notify_all();
        cv_.wait(lock, [this] { return !park_; });
      }
    }
    if (groups_ != target_group_) {
      return {};
    }
    int n = calls_++;
    steps_.emplace_back(step);
    if (n == fail_at_) {
      failed_step_ = std::string(step);
      return error_;
    }
    return {};
  }

  /** Makes the writer stop at the next group's "begin" until release(). */
  void park_next_group() {
    std::lock_guard lock(mutex_);
    park_ = true;
    parked_group_ = 0;
  }
  /** Waits until the writer is parked; returns the parked group's number (0 on timeout). */
  int wait_parked() {
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, kDeadline, [this] { return parked_group_ != 0; });
    return parked_group_;
  }
  void release() {
    std::lock_guard lock(mutex_);
    park_ = false;
    cv_.notify_all();
  }
  /** Counts the steps of group `group` and fails step number `fail_at` (-1: none) with `error`. */
  void arm(int group, int fail_at, boost::system::error_code error) {
    std::lock_guard lock(mutex_);
    target_group_ = group;
    fail_at_ = fail_at;
    error_ = error;
    calls_ = 0;
    steps_.clear();
    failed_step_.clear();
  }
  /** Stops counting; failed_step() and steps() keep what the armed group did. */
  void disarm() {
    std::lock_guard lock(mutex_);
    target_group_ = -1;
    fail_at_ = -1;
  }
  /** The step that failed in the armed group ("" when none did). */
  std::string failed_step() const {
    std::lock_guard lock(mutex_);
    return failed_step_;
  }
  std::vector<std::string> steps() const {
    std::lock_guard lock(mutex_);
    return steps_;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  int groups_ = 0;
  bool park_ = false;
  int parked_group_ = 0;
  int target_group_ = -1;
  int fail_at_ = -1;
  int calls_ = 0;
  boost::system::error_code error_;
  std::vector<std::string> steps_;
  std::string failed_step_;
};

/** What the commit observers saw. */
class ObservedEvents {
 public:
  void add(const std::vector<Event>& events) {
    std::lock_guard lock(mutex_);
    events_.insert(events_.end(), events.begin(), events.end());
  }
  std::vector<Event> events() const {
    std::lock_guard lock(mutex_);
    return events_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<Event> events_;
};

std::optional<CommitResult> wait_result(std::future<CommitResult>& f) {
  if (f.wait_for(kDeadline) != std::future_status::ready) {
    return std::nullopt;
  }
  return f.get();
}

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override { open_store(); }

  void open_store(std::size_t max_group_records = 20000) {
    Store::Options options;
    options.path = dir_.file("pushgate.db");
    options.max_group_records = max_group_records;
    // The store registers metrics that point at itself: one registry per store.
    metrics_ = std::make_unique<metrics::Registry>();
    std::string error;
    store_ = Store::open(options, clock_, *metrics_, error);
    ASSERT_NE(store_, nullptr) << error;
    store_->set_fault_injector_for_test(
        [this](std::string_view step) { return probe_.on_step(step); });
    observed_sub_ = store_->subscribe([this](const std::vector<Event>& e) { observed_.add(e); });
    store_->start();
  }

  void reopen_store() {
    store_.reset();
    open_store();
  }

  /** Appends and waits for `done`; a missing answer fails the test. */
  CommitResult commit(WriteBatch batch) {
    auto p = std::make_shared<std::promise<CommitResult>>();
    auto f = p->get_future();
    store_->append(std::move(batch), [p](CommitResult r) { p->set_value(std::move(r)); });
    auto r = wait_result(f);
    EXPECT_TRUE(r.has_value()) << "no answer from the store within the deadline";
    return r.value_or(CommitResult{});
  }

  /**
   * Commits `batches` as ONE group: parks the writer on a gate group, queues
   * every batch behind it, arms the probe for the next group (failing its
   * step `fail_at`, -1 for none), then lets the writer go.
   */
  std::vector<CommitResult> commit_as_one_group(std::vector<WriteBatch> batches, int fail_at = -1,
                                                boost::system::error_code error = {}) {
    probe_.park_next_group();
    auto gate = std::make_shared<std::promise<CommitResult>>();
    auto gate_done = gate->get_future();
    store_->append(WriteBatch{}, [gate](CommitResult r) { gate->set_value(std::move(r)); });
    int gate_group = probe_.wait_parked();
    EXPECT_NE(gate_group, 0) << "the writer never reached the gate";
    probe_.arm(gate_group + 1, fail_at, error);

    std::vector<std::future<CommitResult>> futures;
    for (auto& batch : batches) {
      auto p = std::make_shared<std::promise<CommitResult>>();
      futures.push_back(p->get_future());
      store_->append(std::move(batch), [p](CommitResult r) { p->set_value(std::move(r)); });
    }
    EXPECT_TRUE(test::wait_until([&] { return store_->queue_depth() == futures.size(); }));
    probe_.release();

    EXPECT_TRUE(wait_result(gate_done).has_value());
    std::vector<CommitResult> results;
    for (auto& f : futures) {
      auto r = wait_result(f);
      EXPECT_TRUE(r.has_value()) << "no answer from the store within the deadline";
      results.push_back(r.value_or(CommitResult{}));
    }
    probe_.disarm();
    return results;
  }

  std::vector<Event> all_events() {
    return store_->read([](Connection& db) {
      boost::system::error_code ec;
      EventQuery q;
      q.limit = 1'000'000;
      auto events = read_events(db, q, ec);
      EXPECT_FALSE(ec) << ec.message();
      return events;
    });
  }

  std::int64_t count(std::string sql) {
    return store_->read([sql](Connection& db) -> std::int64_t {
      boost::system::error_code ec;
      auto st = db.prepare(sql, ec);
      EXPECT_FALSE(ec) << sql << ": " << db.last_error_message();
      if (ec || !st.step(ec)) {
        return -1;
      }
      return st.column_int(0);
    });
  }

  std::set<std::string> stored_keys() {
    std::set<std::string> keys;
    for (const auto& e : all_events()) {
      keys.insert(e.terminal_sn + "/" + e.record_key);
    }
    return keys;
  }

  /** Each terminal's seq runs 1..n without a gap and terminals.last_seq is n. */
  void expect_sequences_gap_free() {
    std::map<std::string, std::vector<std::int64_t>> seqs;
    for (const auto& e : all_events()) {
      seqs[e.terminal_sn].push_back(e.seq);
    }
    for (auto& [sn, list] : seqs) {
      std::sort(list.begin(), list.end());
      for (std::size_t i = 0; i < list.size(); ++i) {
        ASSERT_EQ(list[i], static_cast<std::int64_t>(i + 1)) << "terminal " << sn;
      }
      EXPECT_EQ(count("SELECT last_seq FROM terminals WHERE sn = '" + sn + "'"),
                static_cast<std::int64_t>(list.size()))
          << "terminal " << sn;
    }
  }

  test::TempDir dir_;
  test::FakeClock clock_;
  WriterProbe probe_;
  ObservedEvents observed_;
  std::unique_ptr<metrics::Registry> metrics_;
  std::unique_ptr<Store> store_;
  CommitSubscription observed_sub_;  // may outlive store_ (reopen_store)
};

WriteBatch events_batch(const std::string& sn, std::vector<std::string> keys) {
  WriteBatch b;
  for (auto& k : keys) {
    b.events.push_back(make_event(sn, std::move(k)));
  }
  return b;
}

QuarantineRecord quarantine_record(std::string sn, std::string raw, std::string reason) {
  QuarantineRecord q;
  q.terminal_sn = std::move(sn);
  q.endpoint = "cdata";
  q.table = "ATTLOG";
  q.line_no = 2;
  q.reason = std::move(reason);
  q.raw = std::move(raw);
  q.received_ms = 1'600'000'000'123;
  return q;
}

/** A WriteOp that records `name` in the cursors table (any row proves the op committed). */
WriteOp cursor_op(std::string name) {
  return [name](WriteContext& ctx) {
    boost::system::error_code ec;
    auto& st =
        ctx.statement("INSERT INTO cursors(name, position, updated_ms) VALUES(?1, 0, ?2)", ec);
    if (ec) {
      return ec;
    }
    st.bind(1, std::string_view(name)).bind(2, ctx.now_ms());
    return st.run();
  };
}

/** A WriteOp that violates a NOT NULL constraint: a bug, not the environment. */
WriteOp violating_op() {
  return [](WriteContext& ctx) {
    boost::system::error_code ec;
    auto& st = ctx.statement("INSERT INTO cursors(name, position) VALUES('bad', NULL)", ec);
    if (ec) {
      return ec;
    }
    return st.run();
  };
}

TEST_F(StoreTest, AppendAssignsIdsAndPerTerminalSequence) {
  auto r1 = commit(events_batch("T1", {"a", "b", "c"}));
  ASSERT_FALSE(r1.ec) << r1.ec.message();
  EXPECT_EQ(r1.inserted, 3U);
  EXPECT_EQ(r1.duplicates, 0U);
  ASSERT_EQ(r1.event_ids.size(), 3U);
  EXPECT_GT(r1.event_ids[0], 0);
  EXPECT_LT(r1.event_ids[0], r1.event_ids[1]);
  EXPECT_LT(r1.event_ids[1], r1.event_ids[2]);

  auto r2 = commit(events_batch("T2", {"a", "b"}));
  ASSERT_FALSE(r2.ec);
  EXPECT_GT(r2.event_ids[0], r1.event_ids[2]);

  auto events = all_events();
  ASSERT_EQ(events.size(), 5U);
  EXPECT_EQ(events[0].id, r1.event_ids[0]);
  std::vector<std::pair<std::string, std::int64_t>> seqs;
  for (const auto& e : events) {
    seqs.emplace_back(e.terminal_sn + "/" + e.record_key, e.seq);
  }
  EXPECT_THAT(seqs, ElementsAre(std::pair<std::string, std::int64_t>{"T1/a", 1},
                                std::pair<std::string, std::int64_t>{"T1/b", 2},
                                std::pair<std::string, std::int64_t>{"T1/c", 3},
                                std::pair<std::string, std::int64_t>{"T2/a", 1},
                                std::pair<std::string, std::int64_t>{"T2/b", 2}));
}

TEST_F(StoreTest, EventFieldsRoundTrip) {
  Event e = make_event("T1", "k1", EventKind::Access);
  e.local_time = "2021-03-28 02:30:00";
  e.utc_ms = 1'616'893'200'000;
  e.pin = "1001";
  e.verify_mode = 15;
  e.status = 0;
  e.work_code = "7";
  e.door = 2;
  e.event_code = 27;
  e.extra_json = R"({"mask":1})";
  e.received_ms = 1'616'893'201'000;
  e.command_id = 42;
  WriteBatch b;
  b.events.push_back(e);
  ASSERT_FALSE(commit(std::move(b)).ec);

  Event unset = make_event("T1", "k2");
  WriteBatch b2;
  b2.events.push_back(unset);
  ASSERT_FALSE(commit(std::move(b2)).ec);

  auto events = all_events();
  ASSERT_EQ(events.size(), 2U);
  const auto& got = events[0];
  EXPECT_EQ(got.kind, EventKind::Access);
  EXPECT_EQ(got.local_time, e.local_time);
  EXPECT_EQ(got.utc_ms, e.utc_ms);
  EXPECT_EQ(got.pin, "1001");
  EXPECT_EQ(got.verify_mode, 15);
  EXPECT_EQ(got.status, 0);
  EXPECT_EQ(got.work_code, "7");
  EXPECT_EQ(got.door, 2);
  EXPECT_EQ(got.event_code, 27);
  EXPECT_EQ(got.raw, e.raw);
  EXPECT_EQ(got.extra_json, e.extra_json);
  EXPECT_EQ(got.received_ms, e.received_ms);
  EXPECT_EQ(got.command_id, 42);
  const auto& none = events[1];
  EXPECT_FALSE(none.utc_ms.has_value());
  EXPECT_EQ(none.verify_mode, kUnset);
  EXPECT_EQ(none.status, kUnset);
  EXPECT_EQ(none.door, kUnset);
  EXPECT_EQ(none.event_code, kUnset);
  EXPECT_EQ(none.command_id, 0);
}

TEST_F(StoreTest, ReuploadAcrossBatchesIsDuplicateAndConsumesNoSequence) {
  ASSERT_FALSE(commit(events_batch("T1", {"a", "b"})).ec);
  auto again = commit(events_batch("T1", {"a", "b", "c"}));
  ASSERT_FALSE(again.ec);
  EXPECT_EQ(again.inserted, 1U);
  EXPECT_EQ(again.duplicates, 2U);
  EXPECT_THAT(again.event_ids, ElementsAre(0, 0, ::testing::Gt(0)));
  auto next = commit(events_batch("T1", {"d"}));
  ASSERT_FALSE(next.ec);

  auto events = all_events();
  ASSERT_EQ(events.size(), 4U);
  EXPECT_EQ(events[2].record_key, "c");
  EXPECT_EQ(events[2].seq, 3);
  EXPECT_EQ(events[3].seq, 4);
  EXPECT_EQ(metrics_->value("pushgate_events_duplicate_total"), 2.0);
  expect_sequences_gap_free();
}

TEST_F(StoreTest, DuplicateWithinOneBatchIsStoredOnce) {
  auto r = commit(events_batch("T1", {"a", "a", "b", "a"}));
  ASSERT_FALSE(r.ec);
  EXPECT_EQ(r.inserted, 2U);
  EXPECT_EQ(r.duplicates, 2U);
  EXPECT_EQ(r.event_ids[1], 0);
  EXPECT_EQ(r.event_ids[3], 0);
  auto events = all_events();
  ASSERT_EQ(events.size(), 2U);
  EXPECT_EQ(events[0].seq, 1);
  EXPECT_EQ(events[1].seq, 2);
  expect_sequences_gap_free();
}

TEST_F(StoreTest, SameRecordKeyOnTwoTerminalsIsTwoEvents) {
  auto r = commit(events_batch("T1", {"a"}));
  auto r2 = commit(events_batch("T2", {"a"}));
  EXPECT_EQ(r.inserted, 1U);
  EXPECT_EQ(r2.inserted, 1U);
  EXPECT_EQ(all_events().size(), 2U);
}

TEST_F(StoreTest, ConcurrentAppendsFromManyThreadsAllLand) {
  static constexpr int kThreads = 6;
  static constexpr int kBatches = 40;
  static constexpr std::size_t kEvents = 5;
  struct Answers {
    std::mutex mutex;
    std::condition_variable cv;
    int answered = 0;
    int failed = 0;
  };
  auto answers = std::make_shared<Answers>();
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int b = 0; b < kBatches; ++b) {
        WriteBatch batch;
        for (std::size_t e = 0; e < kEvents; ++e) {
          // Two threads share each terminal, so batches interleave per terminal.
          batch.events.push_back(
              make_event("T" + std::to_string(t % 3),
                         std::to_string(t) + "-" + std::to_string(b) + "-" + std::to_string(e)));
        }
        store_->append(std::move(batch), [answers](CommitResult r) {
          std::lock_guard lock(answers->mutex);
          ++answers->answered;
          answers->failed += (r.ec || r.inserted != kEvents) ? 1 : 0;
          answers->cv.notify_all();
        });
      }
    });
  }
  for (auto& th : threads) {
    th.join();
  }
  {
    std::unique_lock lock(answers->mutex);
    ASSERT_TRUE(answers->cv.wait_for(lock, kDeadline,
                                     [&] { return answers->answered == kThreads * kBatches; }))
        << answers->answered << " of " << kThreads * kBatches << " answered";
    EXPECT_EQ(answers->failed, 0);
  }
  EXPECT_EQ(all_events().size(), kThreads * kBatches * kEvents);
  EXPECT_EQ(count("SELECT COUNT(DISTINCT id) FROM events"),
            static_cast<std::int64_t>(kThreads * kBatches * kEvents));
  expect_sequences_gap_free();
  // Group commit: never more transactions than requests.
  EXPECT_LE(metrics_->value("pushgate_store_commits_total"), kThreads * kBatches);
}

TEST_F(StoreTest, BatchesQueuedTogetherCommitInOneTransaction) {
  double commits_before = metrics_->value("pushgate_store_commits_total");
  std::vector<WriteBatch> batches;
  for (int i = 0; i < 10; ++i) {
    batches.push_back(events_batch("T" + std::to_string(i % 2), {"k" + std::to_string(i)}));
  }
  auto results = commit_as_one_group(std::move(batches));
  for (const auto& r : results) {
    EXPECT_FALSE(r.ec) << r.ec.message();
    EXPECT_EQ(r.inserted, 1U);
  }
  // One transaction for the gate, one for all ten requests.
  EXPECT_EQ(metrics_->value("pushgate_store_commits_total") - commits_before, 2.0);
  EXPECT_EQ(all_events().size(), 10U);
  expect_sequences_gap_free();
}

TEST_F(StoreTest, GroupIsSplitAtMaxGroupRecords) {
  store_.reset();
  open_store(/*max_group_records=*/4);
  double commits_before = metrics_->value("pushgate_store_commits_total");
  std::vector<WriteBatch> batches;
  for (int i = 0; i < 6; ++i) {
    batches.push_back(events_batch("T1", {"a" + std::to_string(i), "b" + std::to_string(i)}));
  }
  auto results = commit_as_one_group(std::move(batches));
  for (const auto& r : results) {
    EXPECT_FALSE(r.ec);
  }
  // Gate, then 6 batches of 2 events at most 4 events per transaction: 3 groups.
  EXPECT_EQ(metrics_->value("pushgate_store_commits_total") - commits_before, 4.0);
  EXPECT_EQ(all_events().size(), 12U);
  expect_sequences_gap_free();
}

TEST_F(StoreTest, QuarantineKeepsRawBytesExactly) {
  const std::string raw = "1\t2020-09-23 13:01:24\0\xff\xfe\r\n\x01"s;
  ASSERT_EQ(raw.size(), 27U);
  WriteBatch b;
  b.quarantine.push_back(quarantine_record("T1", raw, "bad timestamp"));
  b.quarantine.push_back(quarantine_record("T1", std::string(), "empty line"));
  auto r = commit(std::move(b));
  ASSERT_FALSE(r.ec);
  EXPECT_EQ(r.quarantined, 2U);

  auto rows = store_->read([](Connection& db) {
    boost::system::error_code ec;
    auto out = read_quarantine(db, 0, 100, "", ec);
    EXPECT_FALSE(ec);
    return out;
  });
  ASSERT_EQ(rows.size(), 2U);
  EXPECT_EQ(rows[0].record.raw, raw);
  EXPECT_EQ(rows[0].record.raw.size(), 27U);
  EXPECT_EQ(rows[0].record.terminal_sn, "T1");
  EXPECT_EQ(rows[0].record.endpoint, "cdata");
  EXPECT_EQ(rows[0].record.table, "ATTLOG");
  EXPECT_EQ(rows[0].record.line_no, 2);
  EXPECT_EQ(rows[0].record.reason, "bad timestamp");
  EXPECT_EQ(rows[0].record.received_ms, 1'600'000'000'123);
  EXPECT_EQ(rows[1].record.raw, "");
  EXPECT_EQ(
      count("SELECT typeof(raw) = 'blob' FROM quarantine WHERE id = " + std::to_string(rows[0].id)),
      1);
  EXPECT_EQ(metrics_->value("pushgate_quarantined_lines_total"), 2.0);
}

TEST_F(StoreTest, EventRawAndBlobKeepBytesExactly) {
  const std::string raw = "PIN=1\0tail\xc3("s;
  const std::string photo = "\xff\xd8\xff\xe0\0\0JFIF\0"s;
  ASSERT_EQ(raw.size(), 12U);
  ASSERT_EQ(photo.size(), 11U);
  Event e = make_event("T1", "p1", EventKind::Photo);
  e.raw = raw;
  WriteBatch b;
  b.events.push_back(e);
  b.blobs.emplace_back(0, photo);
  auto r = commit(std::move(b));
  ASSERT_FALSE(r.ec);
  auto events = all_events();
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].raw, raw);
  auto blob = store_->read([id = r.event_ids[0]](Connection& db) {
    boost::system::error_code ec;
    auto st = db.prepare("SELECT content FROM event_blobs WHERE event_id = ?1", ec);
    st.bind(1, id);
    return st.step(ec) ? st.column_blob(0) : std::string("<none>");
  });
  EXPECT_EQ(blob, photo);
}

TEST_F(StoreTest, BlobOfDuplicateUploadKeepsFirstCopy) {
  WriteBatch b;
  b.events.push_back(make_event("T1", "p1", EventKind::Photo));
  b.blobs.emplace_back(0, "first");
  auto r = commit(std::move(b));
  WriteBatch again;
  again.events.push_back(make_event("T1", "p1", EventKind::Photo));
  again.blobs.emplace_back(0, "second");
  auto r2 = commit(std::move(again));
  ASSERT_FALSE(r2.ec);
  EXPECT_EQ(r2.duplicates, 1U);
  EXPECT_EQ(count("SELECT COUNT(*) FROM event_blobs"), 1);
  EXPECT_EQ(count("SELECT CAST(content AS TEXT) = 'first' FROM event_blobs WHERE event_id = " +
                  std::to_string(r.event_ids[0])),
            1);
}

TEST_F(StoreTest, WriteOpRunsInTheBatchTransaction) {
  std::int64_t seen_by_op = -1;
  WriteBatch b = events_batch("T1", {"a", "b"});
  // The op sees its batch's events before they are committed: same transaction.
  b.ops.push_back([&seen_by_op](WriteContext& ctx) {
    boost::system::error_code ec;
    auto& st = ctx.statement("SELECT COUNT(*) FROM events", ec);
    if (ec) {
      return ec;
    }
    seen_by_op = st.step(ec) ? st.column_int(0) : -2;
    st.reset();
    return ec;
  });
  b.ops.push_back(cursor_op("op-a"));
  auto r = commit(std::move(b));
  ASSERT_FALSE(r.ec) << r.ec.message();
  EXPECT_EQ(seen_by_op, 2);
  EXPECT_EQ(count("SELECT COUNT(*) FROM cursors WHERE name = 'op-a'"), 1);
}

TEST_F(StoreTest, FailingWriteOpRollsBackOnlyItsBatch) {
  ASSERT_FALSE(commit(events_batch("T1", {"warm"})).ec);
  std::vector<WriteBatch> batches;
  batches.push_back(events_batch("T1", {"a1", "a2"}));
  batches.back().ops.push_back(cursor_op("ok-1"));
  batches.push_back(events_batch("T1", {"b1", "b2"}));
  batches.back().events.push_back(make_event("T9", "new-terminal"));
  batches.back().quarantine.push_back(quarantine_record("T1", "junk", "bad"));
  batches.back().ops.push_back(cursor_op("doomed"));  // written, then rolled back
  batches.back().ops.push_back(violating_op());
  batches.push_back(events_batch("T1", {"c1"}));
  batches.back().ops.push_back(cursor_op("ok-3"));

  auto results = commit_as_one_group(std::move(batches));
  ASSERT_EQ(results.size(), 3U);
  EXPECT_FALSE(results[0].ec);
  ASSERT_TRUE(results[1].ec);
  EXPECT_EQ(results[1].ec.category(), sqlite_category());
  EXPECT_EQ(results[1].ec.value() & 0xff, SQLITE_CONSTRAINT);
  EXPECT_FALSE(is_environment_error(results[1].ec));
  EXPECT_EQ(results[1].inserted, 0U);
  EXPECT_FALSE(results[2].ec);

  EXPECT_EQ(stored_keys(), (std::set<std::string>{"T1/warm", "T1/a1", "T1/a2", "T1/c1"}));
  EXPECT_EQ(count("SELECT COUNT(*) FROM cursors WHERE name IN ('ok-1','ok-3')"), 2);
  EXPECT_EQ(count("SELECT COUNT(*) FROM cursors WHERE name = 'doomed'"), 0);
  EXPECT_EQ(count("SELECT COUNT(*) FROM quarantine"), 0);
  EXPECT_EQ(count("SELECT COUNT(*) FROM terminals WHERE sn = 'T9'"), 0);
  // c1 takes the number b1 gave back.
  expect_sequences_gap_free();
  // warm, a1, a2 and c1 were committed; observers run after the answers.
  EXPECT_TRUE(test::wait_until([this] { return observed_.events().size() >= 4; }));
  for (const auto& e : observed_.events()) {
    EXPECT_NE(e.record_key.front(), 'b') << "observer saw a rolled-back event";
  }

  // The terminal created by the rolled-back batch is created again when it returns.
  auto again = commit(events_batch("T9", {"new-terminal"}));
  EXPECT_FALSE(again.ec);
  EXPECT_EQ(again.inserted, 1U);
  expect_sequences_gap_free();
}

TEST_F(StoreTest, NonEnvironmentErrorAtAStepFailsOnlyThatBatch) {
  std::vector<WriteBatch> batches;
  batches.push_back(events_batch("T1", {"a1"}));
  batches.push_back(events_batch("T1", {"b1"}));
  batches.push_back(events_batch("T1", {"c1"}));
  // Steps: begin(0), event a1(1), event b1(2), ...
  auto results = commit_as_one_group(std::move(batches), 2, make_sqlite_error(SQLITE_CONSTRAINT));
  EXPECT_FALSE(results[0].ec);
  EXPECT_TRUE(results[1].ec);
  EXPECT_FALSE(results[2].ec);
  EXPECT_EQ(stored_keys(), (std::set<std::string>{"T1/a1", "T1/c1"}));
  expect_sequences_gap_free();
}

// Rule 12: an environment error (disk full, I/O) at any write step of a group
// fails every request in the group, leaves nothing of them in the database,
// and the store goes on working. Loops n over the steps like Beast's
// fail_count until the group commits without reaching step n.
TEST_F(StoreTest, DeviceNeverToldOkForUncommittedBatch) {
  ASSERT_FALSE(commit(events_batch("T1", {"warm"})).ec);  // warm caches for T1
  const int codes[] = {SQLITE_FULL, SQLITE_IOERR, SQLITE_IOERR_WRITE};
  std::set<std::string> failed_steps;
  int round = 0;
  for (int code : codes) {
    auto error = make_sqlite_error(code);
    ASSERT_TRUE(is_environment_error(error)) << code;
    for (int n = 0;; ++n) {
      ASSERT_LT(n, 100) << "the group never committed";
      std::string tag = "r" + std::to_string(round++);
      std::vector<WriteBatch> batches;
      batches.push_back(events_batch("T1", {tag + "-a1", tag + "-a2"}));
      batches.back().quarantine.push_back(quarantine_record("T1", "junk " + tag, tag));
      batches.back().ops.push_back(cursor_op(tag + "-op1"));
      batches.push_back(events_batch("T2", {tag + "-b1"}));
      batches.back().quarantine.push_back(quarantine_record("T2", "junk " + tag, tag));
      batches.push_back(events_batch("T1", {tag + "-c1"}));
      batches.back().ops.push_back(cursor_op(tag + "-op3"));
      const std::vector<std::string> tagged_keys = {"T1/" + tag + "-a1", "T1/" + tag + "-a2",
                                                    "T2/" + tag + "-b1", "T1/" + tag + "-c1"};

      auto keys_before = stored_keys();
      auto results = commit_as_one_group(std::move(batches), n, error);
      std::string step = probe_.failed_step();
      auto keys_after = stored_keys();

      if (step.empty()) {
        // n is past the last step: the group committed in full.
        for (const auto& r : results) {
          EXPECT_FALSE(r.ec) << r.ec.message();
        }
        for (const auto& k : tagged_keys) {
          EXPECT_EQ(keys_after.count(k), 1U) << k;
        }
        EXPECT_EQ(count("SELECT COUNT(*) FROM quarantine WHERE reason = '" + tag + "'"), 2);
        expect_sequences_gap_free();
        break;
      }
      failed_steps.insert(step);
      SCOPED_TRACE("failed at step " + std::to_string(n) + " (" + step + ") with " +
                   error.message());
      for (const auto& r : results) {
        EXPECT_EQ(r.ec, error);  // no device of the group hears OK
      }
      EXPECT_EQ(keys_after, keys_before);  // and nothing of the group is stored
      EXPECT_EQ(count("SELECT COUNT(*) FROM quarantine WHERE reason = '" + tag + "'"), 0);
      EXPECT_EQ(count("SELECT COUNT(*) FROM cursors WHERE name LIKE '" + tag + "-%'"), 0);
      expect_sequences_gap_free();

      // The store keeps working for the next request, with the same terminals.
      auto next = commit(events_batch("T1", {tag + "-next"}));
      EXPECT_FALSE(next.ec) << next.ec.message();
      EXPECT_EQ(next.inserted, 1U);
      auto next2 = commit(events_batch("T2", {tag + "-next"}));
      EXPECT_FALSE(next2.ec) << next2.ec.message();
      expect_sequences_gap_free();
    }
  }
  EXPECT_EQ(failed_steps, (std::set<std::string>{"begin", "event", "quarantine", "op", "commit"}));
  EXPECT_GT(metrics_->value("pushgate_store_commit_failures_total"), 0.0);

  // Observers heard of exactly the committed events, each once, with ids
  // (they run after the requests are answered: wait for the last commit's).
  auto stored = all_events();
  EXPECT_TRUE(test::wait_until([&] { return observed_.events().size() >= stored.size(); }));
  auto observed = observed_.events();
  ASSERT_EQ(observed.size(), stored.size());
  std::set<std::int64_t> observed_ids;
  for (const auto& e : observed) {
    observed_ids.insert(e.id);
  }
  for (const auto& e : stored) {
    EXPECT_EQ(observed_ids.count(e.id), 1U) << e.record_key;
  }
}

TEST_F(StoreTest, StoreSurvivesReopenAfterFailedCommit) {
  std::vector<WriteBatch> batches;
  batches.push_back(events_batch("T1", {"a"}));
  auto results = commit_as_one_group(std::move(batches), 0, make_sqlite_error(SQLITE_FULL));
  ASSERT_TRUE(results[0].ec);
  reopen_store();
  auto r = commit(events_batch("T1", {"a", "b"}));
  EXPECT_FALSE(r.ec);
  EXPECT_EQ(r.inserted, 2U);
  expect_sequences_gap_free();
}

TEST_F(StoreTest, ReopenContinuesSequencesAndKnowsDuplicates) {
  ASSERT_FALSE(commit(events_batch("T1", {"a", "b"})).ec);
  reopen_store();
  auto r = commit(events_batch("T1", {"b", "c"}));
  ASSERT_FALSE(r.ec);
  EXPECT_EQ(r.inserted, 1U);
  EXPECT_EQ(r.duplicates, 1U);
  auto events = all_events();
  ASSERT_EQ(events.size(), 3U);
  EXPECT_EQ(events[2].seq, 3);
  expect_sequences_gap_free();
}

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

TEST_F(StoreTest, CommitObserversReceiveCommittedEventsWithIds) {
  auto r1 = commit(events_batch("T1", {"a", "b"}));
  auto r2 = commit(events_batch("T1", {"b", "c"}));  // b is a duplicate
  // Observers run after the requests are answered: wait for the second commit's.
  EXPECT_TRUE(test::wait_until([this] { return observed_.events().size() >= 3; }));
  auto observed = observed_.events();
  ASSERT_EQ(observed.size(), 3U);
  EXPECT_EQ(observed[0].id, r1.event_ids[0]);
  EXPECT_EQ(observed[1].id, r1.event_ids[1]);
  EXPECT_EQ(observed[2].id, r2.event_ids[1]);
  EXPECT_EQ(observed[2].record_key, "c");
  EXPECT_EQ(observed[2].seq, 3);
}

/** Counts an observer's calls; `sentinel` is subscribed after it. */
struct CallCount {
  std::atomic<int> calls{0};
  std::atomic<int> sentinel_calls{0};
};

TEST_F(StoreTest, ResetSubscriptionIsNeverCalledAgain) {
  auto count = std::make_shared<CallCount>();
  auto sub = store_->subscribe([count](const std::vector<Event>&) { ++count->calls; });
  // Subscribed after `sub`: once it has seen a commit, `sub`'s turn for it is over.
  auto sentinel =
      store_->subscribe([count](const std::vector<Event>&) { ++count->sentinel_calls; });
  EXPECT_TRUE(sub.active());
  commit(events_batch("T1", {"a"}));
  ASSERT_TRUE(test::wait_until([&] { return count->sentinel_calls == 1; }));
  EXPECT_EQ(count->calls, 1);

  sub.reset();
  EXPECT_FALSE(sub.active());
  sub.reset();  // twice is harmless
  commit(events_batch("T1", {"b"}));
  ASSERT_TRUE(test::wait_until([&] { return count->sentinel_calls == 2; }));
  EXPECT_EQ(count->calls, 1) << "called after its subscription was reset";
}

TEST_F(StoreTest, MovedSubscriptionStaysSubscribedUntilItsLastHolderEnds) {
  auto count = std::make_shared<CallCount>();
  CommitSubscription held;
  {
    auto sub = store_->subscribe([count](const std::vector<Event>&) { ++count->calls; });
    CommitSubscription moved(std::move(sub));
    EXPECT_FALSE(sub.active());  // NOLINT(bugprone-use-after-move): the moved-from state
    held = std::move(moved);
    // `sub` and `moved` end here: moved from, they unsubscribe nothing.
  }
  auto sentinel =
      store_->subscribe([count](const std::vector<Event>&) { ++count->sentinel_calls; });
  EXPECT_TRUE(held.active());
  commit(events_batch("T1", {"a"}));
  ASSERT_TRUE(test::wait_until([&] { return count->sentinel_calls == 1; }));
  EXPECT_EQ(count->calls, 1) << "the moved subscription no longer hears commits";

  held = CommitSubscription();  // assigning over it unsubscribes
  commit(events_batch("T1", {"b"}));
  ASSERT_TRUE(test::wait_until([&] { return count->sentinel_calls == 2; }));
  EXPECT_EQ(count->calls, 1);
}

TEST_F(StoreTest, ResetFromAnotherThreadWaitsForTheCallInProgress) {
  // What the observer captures; the subscriber frees it once reset returns.
  struct Target {
    std::mutex mutex;
    std::condition_variable cv;
    bool entered = false;
    bool released = false;
    std::vector<std::int64_t> seen;
  };
  auto* target = new Target;
  std::atomic<bool> resetting{false};
  std::atomic<bool> reset_returned{false};
  std::atomic<bool> returned_during_call{false};
  auto sub = store_->subscribe(
      [target, &reset_returned, &returned_during_call](const std::vector<Event>& committed) {
        std::unique_lock lock(target->mutex);
        target->entered = true;
        target->cv.notify_all();
        target->cv.wait(lock, [target] { return target->released; });
        // Still inside the call: a reset that did not wait would already have
        // returned (and freed `target`, which ASan reports below).
        returned_during_call = reset_returned.load();
        target->seen.push_back(committed.front().id);
      });
  commit(events_batch("T1", {"a"}));
  {
    std::unique_lock lock(target->mutex);
    ASSERT_TRUE(target->cv.wait_for(lock, kDeadline, [target] { return target->entered; }));
  }
  std::thread resetter([&] {
    resetting = true;
    sub.reset();
    reset_returned = true;
    delete target;  // the subscriber's right once reset() returned
  });
  ASSERT_TRUE(test::wait_until([&] { return resetting.load(); }));
  EXPECT_FALSE(reset_returned) << "reset returned while the observer was running";
  {
    std::lock_guard lock(target->mutex);
    target->released = true;
  }
  target->cv.notify_all();
  resetter.join();
  EXPECT_TRUE(reset_returned);
  EXPECT_FALSE(returned_during_call) << "reset returned while the observer was running";
  // And the store goes on without it.
  auto r = commit(events_batch("T1", {"b"}));
  EXPECT_TRUE(test::wait_until([&] { return observed_.events().size() == 2; }));
  EXPECT_EQ(observed_.events().back().id, r.event_ids[0]);
}

TEST_F(StoreTest, ObserverMayEndItsOwnSubscriptionAndSubscribeAnother) {
  auto count = std::make_shared<CallCount>();
  CommitSubscription self;
  CommitSubscription second;
  self = store_->subscribe([&, count](const std::vector<Event>&) {
    self.reset();  // on the writer thread, inside its own call: must not deadlock
    second = store_->subscribe([count](const std::vector<Event>&) { ++count->sentinel_calls; });
    ++count->calls;  // last: the test reads `self` once it sees this
  });
  commit(events_batch("T1", {"a"}));
  ASSERT_TRUE(
      test::wait_until([&] { return observed_.events().size() == 1 && count->calls == 1; }));
  EXPECT_EQ(count->sentinel_calls, 0) << "a subscription made during a commit saw that commit";
  commit(events_batch("T1", {"b"}));
  ASSERT_TRUE(test::wait_until([&] { return count->sentinel_calls == 1; }));
  EXPECT_EQ(count->calls, 1);
  EXPECT_FALSE(self.active());
}

TEST_F(StoreTest, SubscriptionMayOutliveTheStore) {
  auto count = std::make_shared<CallCount>();
  auto sub = store_->subscribe([count](const std::vector<Event>&) { ++count->calls; });
  store_.reset();
  sub.reset();  // the store is gone: nothing to unsubscribe from, nothing to wait for
  EXPECT_FALSE(sub.active());
  EXPECT_EQ(count->calls, 0);
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
