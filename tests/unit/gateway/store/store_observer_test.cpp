// Store tests: commit observers and the lifetime of their subscriptions.

#include <gtest/gtest.h>

#include "tests/unit/gateway/store/store_test_support.hpp"

namespace pushgate::store {
namespace {

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

}  // namespace
}  // namespace pushgate::store
