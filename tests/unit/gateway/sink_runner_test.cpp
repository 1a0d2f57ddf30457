// Included first: proves the header is self-contained.
#include "gateway/sink_runner.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "gateway/health.hpp"
#include "gateway/metrics/metrics.hpp"
#include "gateway/store/retention.hpp"
#include "gateway/store/sink_ports_impl.hpp"
#include "gateway/store/store.hpp"
#include "tests/unit/gateway/support/gateway_test_support.hpp"

// The core's sink runner against a real store in a temporary directory, with
// a sink that is not MQTT: it has no SQL and no cursor code, it only holds
// what it is handed and answers when the test says so.

namespace pushgate {
namespace {

using test::kDeadline;
using test::make_event;
using test::wait_until;

constexpr const char* kSink = "test";

/** A sink that keeps every handed-over event until the test answers it. */
class FakeSink final : public Sink {
 public:
  void deliver(const std::vector<Event>& events, bool replay, const Answer& answer) override {
    std::lock_guard lock(mutex_);
    for (const auto& e : events) {
      handed_.push_back(e.id);
      replayed_.push_back(replay);
      held_.emplace_back(e.id, answer);
    }
    max_held_ = std::max(max_held_, held_.size());
  }

  std::vector<std::int64_t> handed() const {
    std::lock_guard lock(mutex_);
    return handed_;
  }
  std::vector<bool> replayed() const {
    std::lock_guard lock(mutex_);
    return replayed_;
  }
  std::size_t held() const {
    std::lock_guard lock(mutex_);
    return held_.size();
  }
  std::size_t max_held() const {
    std::lock_guard lock(mutex_);
    return max_held_;
  }

  /** Answers the held event `id` (false: not held). */
  bool answer(std::int64_t id, SinkResult result, std::string reason = {}) {
    Answer a;
    {
      std::lock_guard lock(mutex_);
      auto it =
          std::find_if(held_.begin(), held_.end(), [id](const auto& h) { return h.first == id; });
      if (it == held_.end()) {
        return false;
      }
      a = it->second;
      held_.erase(it);
    }
    a(id, result, std::move(reason));
    return true;
  }

  /** Answers every held event with `result`; returns their ids. */
  std::vector<std::int64_t> answer_all(SinkResult result) {
    std::vector<std::pair<std::int64_t, Answer>> held;
    {
      std::lock_guard lock(mutex_);
      held.swap(held_);
    }
    std::vector<std::int64_t> ids;
    for (auto& [id, a] : held) {
      a(id, result, "test");
      ids.push_back(id);
    }
    return ids;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::int64_t> handed_;
  std::vector<bool> replayed_;
  std::vector<std::pair<std::int64_t, Answer>> held_;
  std::size_t max_held_ = 0;
};

/** A sink that answers inside deliver() itself: every event rejected. */
class RejectingSink final : public Sink {
 public:
  void deliver(const std::vector<Event>& events, bool, const Answer& answer) override {
    for (const auto& e : events) {
      answer(e.id, SinkResult::Reject, "the far side refuses this kind");
    }
  }
};

class SinkRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store::Store::Options options;
    options.path = dir_.file("pushgate.db");
    std::string error;
    store_metrics_ = std::make_unique<metrics::Registry>();
    store_ = store::Store::open(options, clock_, *store_metrics_, error);
    ASSERT_NE(store_, nullptr) << error;
    store_->start();
    ports_ = std::make_unique<store::StoreSinkPorts>(*store_);
  }

  SinkRunnerOptions options() const {
    SinkRunnerOptions o;
    o.name = kSink;
    o.window = 100;
    o.tick = std::chrono::milliseconds(5);
    o.retry_min = std::chrono::milliseconds(1);
    o.retry_max = std::chrono::milliseconds(4);
    o.cursor_write_every = std::chrono::milliseconds(0);
    return o;
  }

  std::unique_ptr<SinkRunner> make_runner(Sink& sink, SinkRunnerOptions o) {
    return std::make_unique<SinkRunner>(
        SinkRunner::Ports{io_.ioc(), *store_, *ports_, *ports_, metrics_, health_, clock_}, sink,
        std::move(o));
  }

  /** A runner of `sink` with this window and read-ahead, started. */
  std::unique_ptr<SinkRunner> started_runner(Sink& sink, std::size_t window,
                                             std::size_t read_ahead) {
    auto o = options();
    o.window = window;
    o.read_ahead = read_ahead;
    auto runner = make_runner(sink, std::move(o));
    EXPECT_FALSE(runner->start());
    return runner;
  }

  /** One pass of retention with a budget that deletes everything it may. */
  store::RetentionPass budget_pass() {
    store::RetentionOptions ro;
    ro.retain_days = 0;
    ro.max_db_size = 1;  // under no circumstances: everything it may delete goes
    ro.batch = 300;
    ro.gateway_id = "site";
    store::Retention retention(
        *store_, clock_, metrics_, health_, ro, [] { return std::vector<std::string>{kSink}; },
        ports_.get());
    return retention.run_pass();
  }

  /** Commits `n` events of terminal `sn`; returns their ids. */
  std::vector<std::int64_t> commit(int n, const std::string& sn = "T1",
                                   std::int64_t received_ms = 0) {
    WriteBatch b;
    for (int i = 0; i < n; ++i) {
      b.events.push_back(make_event(sn, sn + "-" + std::to_string(next_key_++)));
      if (received_ms != 0) {
        b.events.back().received_ms = received_ms;
      }
    }
    std::promise<CommitResult> p;
    auto f = p.get_future();
    store_->append(std::move(b), [&p](CommitResult r) { p.set_value(std::move(r)); });
    EXPECT_EQ(f.wait_for(kDeadline), std::future_status::ready);
    auto r = f.get();
    EXPECT_FALSE(r.ec) << r.ec.message();
    return r.event_ids;
  }

  std::int64_t stored_cursor() {
    boost::system::error_code ec;
    auto c = ports_->load(kSink, ec);
    EXPECT_FALSE(ec) << ec.message();
    return c;
  }

  double metric(const std::string& name) const { return metrics_.value(name, {{"sink", kSink}}); }

  test::TempDir dir_;
  test::FakeClock clock_;
  test::IoThread io_;  // the runner's io_context; outlives every runner
  std::unique_ptr<metrics::Registry> store_metrics_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<store::StoreSinkPorts> ports_;
  metrics::Registry metrics_;
  Health health_;
  int next_key_ = 0;
};

using Ids = std::vector<std::int64_t>;

TEST_F(SinkRunnerTest, CursorAdvancesOnlyOverDeliveredEvents) {
  auto ids = commit(3);
  ASSERT_EQ(ids, (Ids{1, 2, 3}));
  FakeSink sink;
  auto runner = make_runner(sink, options());
  ASSERT_FALSE(runner->start());

  ASSERT_TRUE(wait_until([&] { return sink.handed() == Ids{1, 2, 3}; }));
  EXPECT_EQ(stored_cursor(), 0);

  // Event 2 delivered, 1 not yet: the cursor may not pass 1.
  ASSERT_TRUE(sink.answer(2, SinkResult::Delivered));
  ASSERT_TRUE(wait_until([&] { return metric("pushgate_sink_delivered_total") == 1; }));
  ASSERT_TRUE(wait_until([&] { return runner->figures().delivered == 1; }));
  EXPECT_EQ(runner->figures().cursor, 0);
  EXPECT_EQ(stored_cursor(), 0);

  // Event 1 delivered: the contiguous prefix is 1..2.
  ASSERT_TRUE(sink.answer(1, SinkResult::Delivered));
  ASSERT_TRUE(wait_until([&] { return runner->figures().persisted == 2; }));
  EXPECT_EQ(stored_cursor(), 2);

  ASSERT_TRUE(sink.answer(3, SinkResult::Delivered));
  ASSERT_TRUE(wait_until([&] { return runner->figures().persisted == 3; }));
  EXPECT_EQ(stored_cursor(), 3);

  // Live events are handed over as they commit.
  commit(2);
  ASSERT_TRUE(wait_until([&] { return sink.handed().size() == 5; }));
  EXPECT_EQ(sink.handed(), (Ids{1, 2, 3, 4, 5}));
  runner->stop(kDeadline);
}

TEST_F(SinkRunnerTest, RetryHandsTheSameEventOverAgainAndHoldsTheCursor) {
  commit(2);
  FakeSink sink;
  auto runner = make_runner(sink, options());
  ASSERT_FALSE(runner->start());
  ASSERT_TRUE(wait_until([&] { return sink.held() == 2; }));

  ASSERT_TRUE(sink.answer(1, SinkResult::Retry, "far side busy"));
  ASSERT_TRUE(sink.answer(2, SinkResult::Delivered));
  // Event 1 comes back after the backoff; the cursor stays below it.
  ASSERT_TRUE(wait_until([&] { return sink.handed() == Ids{1, 2, 1}; }));
  EXPECT_EQ(stored_cursor(), 0);
  EXPECT_EQ(metric("pushgate_sink_retried_total"), 1);

  // Again and again: still the same event, nothing lost, nothing skipped.
  ASSERT_TRUE(sink.answer(1, SinkResult::Retry));
  ASSERT_TRUE(wait_until([&] { return sink.handed() == Ids{1, 2, 1, 1}; }));
  EXPECT_EQ(stored_cursor(), 0);

  ASSERT_TRUE(sink.answer(1, SinkResult::Delivered));
  ASSERT_TRUE(wait_until([&] { return runner->figures().persisted == 2; }));
  EXPECT_EQ(stored_cursor(), 2);
  EXPECT_EQ(metric("pushgate_sink_retried_total"), 2);
  EXPECT_EQ(metric("pushgate_sink_rejected_total"), 0);
  runner->stop(kDeadline);
}

TEST_F(SinkRunnerTest, RejectIsCountedAndNeverBlocksTheCursor) {
  commit(3);
  FakeSink sink;
  auto runner = make_runner(sink, options());
  ASSERT_FALSE(runner->start());
  ASSERT_TRUE(wait_until([&] { return sink.held() == 3; }));

  ASSERT_TRUE(sink.answer(1, SinkResult::Reject, "payload too large for the far side"));
  ASSERT_TRUE(wait_until([&] { return runner->figures().persisted == 1; }));
  ASSERT_TRUE(sink.answer(2, SinkResult::Delivered));
  ASSERT_TRUE(sink.answer(3, SinkResult::Reject));
  ASSERT_TRUE(wait_until([&] { return runner->figures().persisted == 3; }));
  EXPECT_EQ(stored_cursor(), 3);
  EXPECT_EQ(metric("pushgate_sink_rejected_total"), 2);
  EXPECT_EQ(metric("pushgate_sink_delivered_total"), 1);
  // A rejected event is not handed over again.
  EXPECT_EQ(sink.handed(), (Ids{1, 2, 3}));
  EXPECT_EQ(sink.held(), 0U);
  runner->stop(kDeadline);
}

TEST_F(SinkRunnerTest, ASinkMayAnswerInsideDeliver) {
  commit(250);
  RejectingSink sink;
  auto o = options();
  o.window = 10;
  auto runner = make_runner(sink, o);
  ASSERT_FALSE(runner->start());
  ASSERT_TRUE(wait_until([&] { return runner->figures().persisted == 250; }));
  EXPECT_EQ(metric("pushgate_sink_rejected_total"), 250);
  EXPECT_EQ(stored_cursor(), 250);
  runner->stop(kDeadline);
}

TEST_F(SinkRunnerTest, RestartResumesFromTheDurableCursorWithNothingLostOrDoubled) {
  commit(5);
  std::multiset<std::int64_t> delivered;
  {
    FakeSink sink;
    auto runner = make_runner(sink, options());
    ASSERT_FALSE(runner->start());
    ASSERT_TRUE(wait_until([&] { return sink.held() == 5; }));
    for (std::int64_t id : {1, 2, 3}) {
      ASSERT_TRUE(sink.answer(id, SinkResult::Delivered));
      delivered.insert(id);
    }
    ASSERT_TRUE(wait_until([&] { return metric("pushgate_sink_delivered_total") == 3; }));
    // 4 and 5 were handed over but never answered when the process stops.
    runner->stop(kDeadline);
  }
  EXPECT_EQ(stored_cursor(), 3);

  commit(1);  // committed while no sink runs
  FakeSink sink;
  auto runner = make_runner(sink, options());
  ASSERT_FALSE(runner->start());
  ASSERT_TRUE(wait_until([&] { return sink.handed().size() == 3; }));
  EXPECT_EQ(sink.handed(), (Ids{4, 5, 6}));
  commit(1);  // and one live
  ASSERT_TRUE(wait_until([&] { return sink.handed().size() == 4; }));
  for (auto id : sink.answer_all(SinkResult::Delivered)) {
    delivered.insert(id);
  }
  ASSERT_TRUE(wait_until([&] { return runner->figures().persisted == 7; }));
  runner->stop(kDeadline);
  EXPECT_EQ(stored_cursor(), 7);
  EXPECT_EQ(delivered, (std::multiset<std::int64_t>{1, 2, 3, 4, 5, 6, 7}));
}

TEST_F(SinkRunnerTest, StopStoresTheLastCursor) {
  commit(4);
  FakeSink sink;
  auto o = options();
  // No write before the stop: only the stop's own flush can store it.
  o.tick = std::chrono::hours(1);
  o.cursor_write_every = std::chrono::hours(1);
  auto runner = make_runner(sink, o);
  ASSERT_FALSE(runner->start());
  ASSERT_TRUE(wait_until([&] { return sink.held() == 4; }));
  ASSERT_EQ(sink.answer_all(SinkResult::Delivered).size(), 4U);
  ASSERT_TRUE(wait_until([&] { return metric("pushgate_sink_delivered_total") == 4; }));
  runner->stop(kDeadline);
  EXPECT_EQ(stored_cursor(), 4);
}

TEST_F(SinkRunnerTest, NeverMoreThanTheWindowUnanswered) {
  commit(5);
  FakeSink sink;
  auto o = options();
  o.window = 2;
  auto runner = make_runner(sink, o);
  ASSERT_FALSE(runner->start());
  ASSERT_TRUE(wait_until([&] { return sink.held() == 2; }));
  EXPECT_EQ(sink.handed(), (Ids{1, 2}));
  sink.answer_all(SinkResult::Delivered);
  ASSERT_TRUE(wait_until([&] { return sink.handed().size() == 4; }));
  sink.answer_all(SinkResult::Delivered);
  ASSERT_TRUE(wait_until([&] { return sink.handed().size() == 5; }));
  sink.answer_all(SinkResult::Delivered);
  ASSERT_TRUE(wait_until([&] { return runner->figures().persisted == 5; }));
  EXPECT_EQ(sink.handed(), (Ids{1, 2, 3, 4, 5}));
  EXPECT_LE(sink.max_held(), 2U);
  runner->stop(kDeadline);
}

TEST_F(SinkRunnerTest, LinkDownForgetsWhatIsUnansweredAndHandsItOverAgain) {
  commit(2);
  FakeSink sink;
  auto runner = make_runner(sink, options());
  ASSERT_FALSE(runner->start());
  ASSERT_TRUE(wait_until([&] { return sink.held() == 2; }));

  runner->set_connected(false);
  ASSERT_TRUE(wait_until([&] { return !health_.sinks()[kSink].connected; }));
  // A late answer from the connection that is gone changes nothing.
  ASSERT_TRUE(sink.answer(1, SinkResult::Delivered));
  commit(1);
  runner->set_connected(true);
  ASSERT_TRUE(wait_until([&] { return sink.handed().size() == 5; }));
  EXPECT_EQ(sink.handed(), (Ids{1, 2, 1, 2, 3}));
  EXPECT_EQ(metric("pushgate_sink_delivered_total"), 0);

  sink.answer_all(SinkResult::Delivered);  // the stale 2 as well: ignored
  ASSERT_TRUE(wait_until([&] { return runner->figures().persisted == 3; }));
  EXPECT_EQ(metric("pushgate_sink_delivered_total"), 3);
  runner->stop(kDeadline);
}

TEST_F(SinkRunnerTest, BacklogDepthAndAgeReachHealthAndMetrics) {
  const std::int64_t t0 = 1'700'000'000'000;
  clock_.set_ms(t0);
  commit(3, "T1", t0 - 10'000);
  FakeSink sink;
  auto o = options();
  o.connected_at_start = false;
  o.max_backlog_age_s = 5;
  auto runner = make_runner(sink, o);
  ASSERT_FALSE(runner->start());

  ASSERT_TRUE(wait_until([&] {
    auto s = health_.sinks();
    return s.count(kSink) == 1 && s[kSink].backlog_events == 3;
  }));
  auto s = health_.sinks()[kSink];
  EXPECT_FALSE(s.connected);
  EXPECT_DOUBLE_EQ(s.backlog_oldest_age_s, 10.0);
  EXPECT_EQ(metric("pushgate_sink_backlog_events"), 3);
  EXPECT_EQ(metric("pushgate_sink_backlog_oldest_age_seconds"), 10);
  EXPECT_EQ(runner->figures().backlog_events, 3);
  // Older than max_backlog_age_s: not ready, and the alarm is counted once.
  ASSERT_TRUE(wait_until([&] { return !health_.status(Health::Kind::Ready).first; }));
  EXPECT_EQ(metric("pushgate_sink_backlog_alarms_total"), 1);
  EXPECT_TRUE(sink.handed().empty());  // nothing goes out while the link is down

  clock_.advance_ms(5'000);
  ASSERT_TRUE(wait_until([&] { return health_.sinks()[kSink].backlog_oldest_age_s == 15.0; }));

  runner->set_connected(true);
  ASSERT_TRUE(wait_until([&] { return sink.held() == 3; }));
  ASSERT_TRUE(sink.answer(1, SinkResult::Delivered));
  ASSERT_TRUE(wait_until([&] { return health_.sinks()[kSink].backlog_events == 2; }));
  sink.answer_all(SinkResult::Delivered);
  ASSERT_TRUE(wait_until([&] {
    auto now = health_.sinks()[kSink];
    return now.connected && now.backlog_events == 0 && now.backlog_oldest_age_s == 0.0;
  }));
  ASSERT_TRUE(wait_until([&] { return health_.status(Health::Kind::Ready).first; }));
  EXPECT_EQ(metric("pushgate_sink_backlog_events"), 0);
  EXPECT_EQ(metric("pushgate_sink_backlog_alarms_total"), 1);
  runner->stop(kDeadline);
}

TEST_F(SinkRunnerTest, LiveEventGoesAheadOfTheBacklogUnlessItsTerminalHasBacklog) {
  commit(3, "T1");  // the backlog: ids 1..3
  FakeSink sink;
  auto o = options();
  o.window = 1;
  o.connected_at_start = false;
  auto runner = make_runner(sink, o);
  ASSERT_FALSE(runner->start());
  runner->set_connected(true);
  ASSERT_TRUE(wait_until([&] { return sink.held() == 1; }));
  commit(1, "T2");  // 4: its terminal has no backlog
  commit(1, "T1");  // 5: waits behind T1's backlog
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(wait_until([&] { return sink.held() == 1; }));
    sink.answer_all(SinkResult::Delivered);
  }
  ASSERT_TRUE(wait_until([&] { return runner->figures().persisted == 5; }));
  EXPECT_EQ(sink.handed(), (Ids{1, 4, 2, 3, 5}));
  EXPECT_EQ(sink.replayed(), (std::vector<bool>{true, false, true, true, true}));
  runner->stop(kDeadline);
}

// Retention (SinkHolder): an event it is deleting is skipped by the lanes,
// and the cursor waits below it until the deletion is over.
TEST_F(SinkRunnerTest, AnEventBeingDeletedIsSkippedAndTheCursorWaitsForTheDeletion) {
  commit(10);  // 1..10
  FakeSink sink;
  auto runner = started_runner(sink, 2, 3);
  ASSERT_TRUE(wait_until([&] { return sink.handed() == Ids{1, 2}; }));

  // The runner holds 1..3 (handed over, or read ahead): retention leaves them alone.
  auto held = ports_->reserve_deletion({1, 2, 3, 4, 5, 6, 7, 8});
  ASSERT_EQ(held.count(kSink), 1U);
  EXPECT_EQ(held[kSink].delivered, 0);
  EXPECT_EQ(held[kSink].read_to, 3);
  EXPECT_TRUE(held[kSink].holds(3));
  EXPECT_FALSE(held[kSink].holds(4));

  // 4..8 are being deleted: the backlog lane passes them by.
  sink.answer_all(SinkResult::Delivered);
  ASSERT_TRUE(wait_until([&] { return sink.held() == 2; }));
  sink.answer_all(SinkResult::Delivered);  // 3 and 9
  ASSERT_TRUE(wait_until([&] { return sink.handed() == Ids{1, 2, 3, 9, 10}; }));
  sink.answer_all(SinkResult::Delivered);  // 10
  ASSERT_TRUE(wait_until([&] { return runner->figures().delivered == 5; }));
  // Until the deletion is over the cursor stays below the first skipped event.
  ASSERT_TRUE(wait_until([&] { return runner->figures().persisted == 3; }));
  EXPECT_EQ(runner->figures().cursor, 3);

  ports_->deletion_done({4, 5, 6, 7, 8});
  ASSERT_TRUE(wait_until([&] { return runner->figures().persisted == 10; }));
  EXPECT_EQ(sink.handed(), (Ids{1, 2, 3, 9, 10}));
  runner->stop(kDeadline);
}

TEST_F(SinkRunnerTest, AnEventRetentionMeantToDeleteButKeptIsHandedOverAfterAll) {
  commit(6);
  FakeSink sink;
  auto runner = started_runner(sink, 1, 2);
  ASSERT_TRUE(wait_until([&] { return sink.handed() == Ids{1}; }));
  ports_->reserve_deletion({3, 4});
  for (int i = 0; i < 2; ++i) {  // 1 and 2 delivered; 3 and 4 are skipped
    ASSERT_TRUE(wait_until([&] { return sink.held() == 1; }));
    sink.answer_all(SinkResult::Delivered);
  }
  ASSERT_TRUE(wait_until([&] { return sink.handed() == Ids{1, 2, 5}; }));
  EXPECT_EQ(runner->figures().cursor, 2);
  // The commit failed (or another sink held them): nothing was deleted, so
  // the runner reads again from its cursor, which the skipped events held at 2.
  ports_->deletion_done({});
  ASSERT_TRUE(wait_until([&] { return sink.handed().size() == 4; }));
  sink.answer_all(SinkResult::Delivered);  // 5 of the old session (ignored) and 3
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(wait_until([&] { return sink.held() == 1; }));
    sink.answer_all(SinkResult::Delivered);
  }
  ASSERT_TRUE(wait_until([&] { return runner->figures().persisted == 6; }));
  EXPECT_EQ(sink.handed(), (Ids{1, 2, 5, 3, 4, 5, 6}));
  runner->stop(kDeadline);
}

// With retention itself: a budget that deletes everything it may, while the
// sink has a window out and a read-ahead. Counted lost is then exactly what
// the sink never hands over (before, what it was sending was counted too).
TEST_F(SinkRunnerTest, ABudgetCountsLostExactlyWhatTheSinkNeverHandsOver) {
  const auto ids = commit(2000);
  FakeSink sink;
  auto runner = started_runner(sink, 50, 200);
  ASSERT_TRUE(wait_until([&] { return sink.held() == 50; }));
  sink.answer_all(SinkResult::Delivered);  // 1..50 delivered
  ASSERT_TRUE(wait_until([&] { return sink.held() == 50; }));

  auto pass = budget_pass();
  EXPECT_FALSE(pass.failed);
  EXPECT_GT(pass.deleted_budget, 1000);
  EXPECT_EQ(pass.held, 150);  // 51..200: the window out and the read-ahead
  // The newest event stays, so a new event never gets a deleted one's id.
  EXPECT_EQ(pass.deleted_budget, 2000 - 150 - 1);

  // The sink goes on: it sends what it holds, then what is left.
  std::set<std::int64_t> delivered;
  ASSERT_TRUE(wait_until([&] {
    for (auto id : sink.answer_all(SinkResult::Delivered)) {
      delivered.insert(id);
    }
    return runner->figures().cursor >= ids.back();
  }));
  std::int64_t device_delivered = 0;
  for (auto id : delivered) {
    device_delivered += id <= ids.back() ? 1 : 0;
  }
  const auto lost = pass.undelivered[kSink];
  EXPECT_EQ(50 + device_delivered + lost, 2000)
      << "delivered " << device_delivered << ", counted lost " << lost;
  EXPECT_EQ(lost, pass.deleted_budget - 50);  // 1..50 were delivered before they went
  runner->stop(kDeadline);
}

// An event the live lane sent ahead of the backlog and had answered is
// above the cursor but delivered: deleting it is no loss.
TEST_F(SinkRunnerTest, AnEventSentAheadAndAnsweredIsNotCountedLost) {
  commit(3, "T1");  // 1..3: the backlog
  FakeSink sink;
  auto runner = started_runner(sink, 2, 1);
  ASSERT_TRUE(wait_until([&] { return sink.handed() == Ids{1, 2}; }));
  commit(1, "T2");  // 4: its terminal has no backlog, it goes ahead
  ASSERT_TRUE(wait_until([&] { return runner->figures().head == 4; }));  // seen, no room yet
  ASSERT_TRUE(sink.answer(2, SinkResult::Delivered));
  ASSERT_TRUE(wait_until([&] { return sink.handed() == Ids{1, 2, 4}; }));
  ASSERT_TRUE(sink.answer(4, SinkResult::Delivered));
  ASSERT_TRUE(wait_until([&] { return sink.handed() == Ids{1, 2, 4, 3}; }));
  commit(1, "T1");  // 5: waits behind T1's backlog (and is the newest, which stays)
  EXPECT_EQ(runner->figures().cursor, 0);  // 1 is not answered

  auto pass = budget_pass();
  EXPECT_EQ(pass.held, 3);            // 1..3: handed over or read
  EXPECT_EQ(pass.deleted_budget, 1);  // 4
  EXPECT_EQ(pass.undelivered[kSink], 0) << "event 4 was delivered";

  std::set<std::int64_t> delivered{2, 4};
  ASSERT_TRUE(wait_until([&] {
    for (auto id : sink.answer_all(SinkResult::Delivered)) {
      delivered.insert(id);
    }
    return runner->figures().cursor >= 5;
  }));
  EXPECT_EQ(delivered, (std::set<std::int64_t>{1, 2, 3, 4, 5}));
  runner->stop(kDeadline);
}

// An event handed over in a session that ended unanswered may have reached
// the far side (a broker that forwarded a PUBLISH whose PUBACK the link
// lost): retention keeps it until the sink has it answered, and never counts
// it lost. Before, a budget pass during the outage deleted it and counted it
// lost although the subscriber had it.
TEST_F(SinkRunnerTest, AnEventUnansweredWhenTheLinkWentDownIsNeitherDeletedNorCountedLost) {
  commit(10);  // 1..10
  FakeSink sink;
  auto runner = started_runner(sink, 5, 0);
  ASSERT_TRUE(wait_until([&] { return sink.handed() == Ids{1, 2, 3, 4, 5}; }));
  ASSERT_TRUE(sink.answer(1, SinkResult::Delivered));
  ASSERT_TRUE(wait_until([&] { return sink.handed() == Ids{1, 2, 3, 4, 5, 6}; }));
  runner->set_connected(false);
  ASSERT_TRUE(wait_until([&] { return !health_.sinks()[kSink].connected; }));

  auto pass = budget_pass();
  EXPECT_FALSE(pass.failed);
  EXPECT_EQ(pass.held, 5);            // 2..6: maybe delivered
  EXPECT_EQ(pass.deleted_budget, 4);  // 1 (delivered) and 7..9; 10 is the newest
  EXPECT_EQ(pass.undelivered[kSink], 3) << "7..9 were never handed over";

  // Back: 2..6 go again, then 10; each is delivered once, none of them lost.
  sink.answer_all(SinkResult::Delivered);  // stale answers of the old session
  runner->set_connected(true);
  std::set<std::int64_t> delivered{1, 2, 3, 4, 5, 6};
  ASSERT_TRUE(wait_until([&] {
    for (auto id : sink.answer_all(SinkResult::Delivered)) {
      delivered.insert(id);
    }
    return runner->figures().cursor >= 11;  // 11: retention's alert
  }));
  delivered.erase(11);
  EXPECT_EQ(delivered.size() + pass.undelivered[kSink], 10U);
  EXPECT_EQ(sink.handed(), (Ids{1, 2, 3, 4, 5, 6, 2, 3, 4, 5, 6, 10, 11}));

  // Answered now: a later pass may delete them, and counts nothing lost.
  runner->set_connected(false);
  ASSERT_TRUE(wait_until([&] { return !health_.sinks()[kSink].connected; }));
  commit(1);  // 12, the newest
  auto after = budget_pass();
  EXPECT_EQ(after.held, 0);
  EXPECT_EQ(after.undelivered[kSink], 0);
  runner->stop(kDeadline);
}

// An event in doubt from an earlier session, above what the new session has
// read yet, is held: retention leaves it, and the lanes hand it over when
// they reach it, once, instead of skipping it and reading everything again.
TEST_F(SinkRunnerTest, AnEventInDoubtThatRetentionLeavesIsHandedOverOnceWithoutAReread) {
  commit(5, "T1");  // 1..5: a backlog
  FakeSink sink;
  auto runner = started_runner(sink, 2, 0);
  ASSERT_TRUE(wait_until([&] { return sink.handed() == Ids{1, 2}; }));
  commit(1, "T2");  // 6: live, its terminal has no backlog: it goes ahead
  ASSERT_TRUE(wait_until([&] { return runner->figures().head == 6; }));  // seen, no room yet
  ASSERT_TRUE(sink.answer(1, SinkResult::Delivered));
  ASSERT_TRUE(wait_until([&] { return sink.handed() == Ids{1, 2, 6}; }));
  commit(1, "T1");               // 7: behind T1's backlog
  runner->set_connected(false);  // 2 and 6 unanswered: in doubt
  ASSERT_TRUE(wait_until([&] { return !health_.sinks()[kSink].connected; }));
  runner->set_connected(true);
  ASSERT_TRUE(wait_until([&] { return sink.handed() == Ids{1, 2, 6, 2, 3}; }));

  auto held = ports_->reserve_deletion({4, 5, 6});
  ASSERT_EQ(held.count(kSink), 1U);
  EXPECT_EQ(held[kSink].read_to, 3);
  EXPECT_TRUE(held[kSink].holds(6)) << "handed over before the link dropped: maybe delivered";
  EXPECT_FALSE(held[kSink].holds(4));

  // 4 and 5 are skipped; 6 is handed over, then 7.
  ASSERT_TRUE(wait_until([&] {
    sink.answer_all(SinkResult::Delivered);
    return sink.handed() == Ids{1, 2, 6, 2, 3, 6, 7};
  }));
  sink.answer_all(SinkResult::Delivered);
  ports_->deletion_done({4, 5});
  ASSERT_TRUE(wait_until([&] { return runner->figures().persisted == 7; }));
  EXPECT_EQ(sink.handed(), (Ids{1, 2, 6, 2, 3, 6, 7})) << "nothing read again";
  runner->stop(kDeadline);
}

}  // namespace
}  // namespace pushgate
