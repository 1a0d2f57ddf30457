// CommandQueue for push-style adapters (a device the gateway reaches itself):
// told as soon as a command is queued or due again, take() / complete() /
// fail(), with the poll path's re-delivery, attempts and expiry.
#include "gateway/command_queue.hpp"

#include <gtest/gtest.h>

#include <mutex>
#include <string>
#include <vector>

#include "tests/unit/gateway/command_queue_test_support.hpp"

namespace pushgate {
namespace {

class CommandQueuePushTest : public CommandQueueTest {
 protected:
  // An adapter that serves the serials starting with "D" and notes each cue.
  Subscription add_pusher() {
    CommandQueue::Pusher p;
    p.owns = [](std::string_view sn) { return sn.starts_with("D"); };
    p.ready = [this](const std::string& sn) {
      std::lock_guard lock(cues_mutex_);
      cues_.push_back(sn);
    };
    return queue_->add_pusher(std::move(p));
  }

  std::vector<std::string> cues() {
    std::lock_guard lock(cues_mutex_);
    return std::exchange(cues_, {});
  }

  std::vector<CommandRecord> take(const std::string& sn, std::size_t max = 0) {
    WriteBatch batch;
    std::vector<CommandRecord> changed;
    auto taken = queue_->take(sn, batch, changed, max);
    commit(std::move(batch), changed);
    return taken;
  }

  std::mutex cues_mutex_;
  std::vector<std::string> cues_;
};

TEST_F(CommandQueuePushTest, ToldWhenQueuedThenTakenAndFinishedByTheDeviceAnswer) {
  auto sub = add_pusher();
  auto q = enqueue(open_door("D1"));
  ASSERT_TRUE(q.error.empty()) << q.error;
  EXPECT_EQ(cues(), std::vector<std::string>{"D1"}) << "told once the command is committed";
  auto polled = enqueue(open_door("T1"));
  EXPECT_TRUE(cues().empty()) << "a polling terminal's command is not the pusher's";

  auto taken = take("D1");
  ASSERT_EQ(taken.size(), 1U);
  EXPECT_EQ(taken[0].id, q.record.id);
  EXPECT_EQ(taken[0].state, CommandState::Sent);
  EXPECT_EQ(taken[0].attempts, 1);
  EXPECT_EQ(stored(q.record.id).state, CommandState::Sent);
  EXPECT_TRUE(take("D1").empty()) << "sent and waiting: not taken twice";

  EXPECT_EQ(results({{q.record.id, 0, "", "HTTP 200 OK"}}, "D1"), 0U);
  auto done = stored(q.record.id);
  EXPECT_EQ(done.state, CommandState::Done);
  EXPECT_EQ(done.result, "HTTP 200 OK");
  std::lock_guard lock(observed_mutex_);
  ASSERT_FALSE(observed_.empty());
  EXPECT_EQ(observed_.back().state, CommandState::Done) << "results published as for a poll";
  EXPECT_EQ(stored(polled.record.id).state, CommandState::Queued);
}

TEST_F(CommandQueuePushTest, ADeviceThatNeverAnsweredIsToldOncePerAttemptThenFails) {
  auto sub = add_pusher();
  auto q = enqueue(open_door("D1"));
  cues();
  ASSERT_EQ(take("D1").size(), 1U);
  clock_.advance_ms(9'999);
  sweep();
  EXPECT_TRUE(cues().empty()) << "inside ack_timeout";
  clock_.advance_ms(1);
  sweep();
  EXPECT_EQ(cues(), std::vector<std::string>{"D1"}) << "due for re-delivery";
  sweep();
  EXPECT_TRUE(cues().empty()) << "one cue per attempt, not one per sweep";
  auto again = take("D1");
  ASSERT_EQ(again.size(), 1U);
  EXPECT_EQ(again[0].attempts, 2);
  clock_.advance_ms(10'000);
  sweep();
  EXPECT_TRUE(cues().empty()) << "attempts exhausted: not offered a third time";
  auto c = stored(q.record.id);
  EXPECT_EQ(c.state, CommandState::Failed);
  EXPECT_EQ(c.error, "no result after 2 deliveries");
}

TEST_F(CommandQueuePushTest, ARefusalFailsTheCommandWithTheDeviceReason) {
  auto sub = add_pusher();
  auto q = enqueue(open_door("D1"));
  ASSERT_EQ(take("D1").size(), 1U);
  WriteBatch batch;
  std::vector<CommandRecord> changed;
  EXPECT_FALSE(queue_->fail("D2", q.record.id, "not mine", batch, changed))
      << "only the device it was queued for";
  EXPECT_TRUE(
      queue_->fail("D1", q.record.id, "device answered 400: unknown channel", batch, changed));
  EXPECT_FALSE(queue_->fail("D1", q.record.id, "twice", batch, changed)) << "already failed";
  commit(std::move(batch), changed);
  auto c = stored(q.record.id);
  EXPECT_EQ(c.state, CommandState::Failed);
  EXPECT_EQ(c.error, "device answered 400: unknown channel");
  EXPECT_FALSE(queue_->has_deliverable("D1"));
}

TEST_F(CommandQueuePushTest, WhatWasOpenBeforeTheAdapterCameIsAnnouncedAtRegistration) {
  auto q = enqueue(open_door("D1"));
  enqueue(open_door("T1"));
  open();  // a restart: the queue reloads the open commands
  auto sub = add_pusher();
  EXPECT_EQ(cues(), std::vector<std::string>{"D1"});
  auto taken = take("D1");
  ASSERT_EQ(taken.size(), 1U);
  EXPECT_EQ(taken[0].id, q.record.id);
}

TEST_F(CommandQueuePushTest, TakeIsCappedAndOldestFirst) {
  auto sub = add_pusher();
  std::vector<std::int64_t> ids;
  for (int i = 0; i < 5; ++i) {
    ids.push_back(enqueue(open_door("D1")).record.id);
  }
  auto first = take("D1", 2);
  ASSERT_EQ(first.size(), 2U);
  EXPECT_EQ(first[0].id, ids[0]);
  EXPECT_EQ(first[1].id, ids[1]);
  EXPECT_EQ(take("D1").size(), 3U) << "the rest, within max_per_poll (3)";
}

TEST_F(CommandQueuePushTest, NotToldAfterTheSubscriptionEndsAndUntakenCommandsExpire) {
  auto sub = add_pusher();
  sub.reset();
  auto door = open_door("D1");
  door.ttl_ms = 30'000;
  auto q = enqueue(door);
  EXPECT_TRUE(cues().empty());
  clock_.advance_ms(30'000);
  sweep();
  auto c = stored(q.record.id);
  EXPECT_EQ(c.state, CommandState::Expired);
  EXPECT_EQ(c.error, "expired before the terminal asked for it");
}

TEST_F(CommandQueuePushTest, AResetFromInsideTheCueDoesNotDeadlock) {
  Subscription sub;
  CommandQueue::Pusher p;
  p.owns = [](std::string_view) { return true; };
  int calls = 0;
  p.ready = [&](const std::string&) {
    ++calls;
    sub.reset();
  };
  sub = queue_->add_pusher(std::move(p));
  enqueue(open_door("D1"));
  enqueue(open_door("D2"));
  EXPECT_EQ(calls, 1);
  EXPECT_FALSE(sub.active());
}

}  // namespace
}  // namespace pushgate
