#pragma once

// Store test helpers: the StoreTest fixture on a real SQLite file, WriterProbe fault injection.

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

inline std::optional<CommitResult> wait_result(std::future<CommitResult>& f) {
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

inline WriteBatch events_batch(const std::string& sn, std::vector<std::string> keys) {
  WriteBatch b;
  for (auto& k : keys) {
    b.events.push_back(make_event(sn, std::move(k)));
  }
  return b;
}

inline QuarantineRecord quarantine_record(std::string sn, std::string raw, std::string reason) {
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
inline WriteOp cursor_op(std::string name) {
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
inline WriteOp violating_op() {
  return [](WriteContext& ctx) {
    boost::system::error_code ec;
    auto& st = ctx.statement("INSERT INTO cursors(name, position) VALUES('bad', NULL)", ec);
    if (ec) {
      return ec;
    }
    return st.run();
  };
}

}  // namespace pushgate::store
