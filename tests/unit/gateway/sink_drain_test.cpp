#include "gateway/sink_drain.hpp"

#include <gtest/gtest.h>

namespace pushgate {
namespace {

TEST(DrainStateTest, LiveEventOfTerminalWithoutBacklogGoesAhead) {
  DrainState d;
  d.begin(0, 3, {{"A", 3}});  // A has ids 1..3 waiting
  EXPECT_TRUE(d.draining());
  EXPECT_TRUE(d.admit_live("B", 4)) << "B has no backlog: its event goes out now";
  EXPECT_TRUE(d.admit_backlog("A", 1));
  EXPECT_TRUE(d.admit_backlog("A", 2));
  EXPECT_TRUE(d.admit_backlog("A", 3));
  EXPECT_FALSE(d.admit_backlog("B", 4)) << "already sent by the live lane";
  EXPECT_FALSE(d.draining());
}

TEST(DrainStateTest, LiveEventOfTerminalWithBacklogWaitsItsTurn) {
  DrainState d;
  d.begin(0, 2, {{"A", 2}});
  EXPECT_FALSE(d.admit_live("A", 3)) << "A's older events must go first";
  EXPECT_TRUE(d.admit_backlog("A", 1));
  EXPECT_TRUE(d.admit_backlog("A", 2));
  EXPECT_TRUE(d.draining()) << "event 3 is still to replay";
  EXPECT_TRUE(d.admit_backlog("A", 3));
  EXPECT_FALSE(d.draining());
  EXPECT_TRUE(d.admit_live("A", 4)) << "caught up: live again";
}

TEST(DrainStateTest, CursorNeverPassesAnUnacknowledgedEvent) {
  DrainState d;
  d.begin(10, 13, {{"A", 13}});
  for (std::int64_t id = 11; id <= 13; ++id) {
    ASSERT_TRUE(d.admit_backlog("A", id));
    d.published(id);
  }
  EXPECT_EQ(d.cursor(), 10);
  EXPECT_TRUE(d.acked(12));
  EXPECT_EQ(d.cursor(), 10) << "11 is not acknowledged";
  EXPECT_TRUE(d.acked(11));
  EXPECT_EQ(d.cursor(), 12);
  EXPECT_TRUE(d.acked(13));
  EXPECT_EQ(d.cursor(), 13);
  EXPECT_FALSE(d.acked(13)) << "a second ack is stale";
}

TEST(DrainStateTest, AckOfLiveEventAheadDoesNotMoveCursorPastBacklog) {
  DrainState d;
  d.begin(0, 2, {{"A", 2}});
  ASSERT_TRUE(d.admit_live("B", 3));
  d.published(3);
  EXPECT_TRUE(d.acked(3));
  EXPECT_EQ(d.cursor(), 0) << "1 and 2 are not sent yet";
  ASSERT_TRUE(d.admit_backlog("A", 1));
  d.published(1);
  d.acked(1);
  EXPECT_EQ(d.cursor(), 1);
  ASSERT_TRUE(d.admit_backlog("A", 2));
  d.published(2);
  d.acked(2);
  EXPECT_FALSE(d.admit_backlog("B", 3));
  EXPECT_EQ(d.cursor(), 3);
}

TEST(DrainStateTest, FailedEventHoldsCursorUntilNextSession) {
  DrainState d;
  d.begin(0, 0, {});
  ASSERT_TRUE(d.admit_live("A", 1));
  d.published(1);
  ASSERT_TRUE(d.admit_live("A", 2));
  d.published(2);
  d.failed(1);
  d.acked(2);
  EXPECT_EQ(d.cursor(), 0) << "event 1 must be sent again";
  d.begin(d.cursor(), 2, {{"A", 2}});
  EXPECT_TRUE(d.draining());
  EXPECT_EQ(d.in_flight(), 0u);
  EXPECT_TRUE(d.admit_backlog("A", 1));
  EXPECT_TRUE(d.admit_backlog("A", 2)) << "resent: the consumer drops the duplicate by id";
}

TEST(DrainStateTest, CaughtUpLiveEventsMoveTheCursorAsTheyAreAcknowledged) {
  DrainState d;
  d.begin(0, 0, {});
  for (std::int64_t id = 1; id <= 3; ++id) {
    ASSERT_TRUE(d.admit_live("A", id));
    EXPECT_FALSE(d.draining()) << "nothing to replay: live events are not a backlog";
    d.published(id);
  }
  d.acked(1);
  d.acked(2);
  EXPECT_EQ(d.cursor(), 2);
  d.acked(3);
  EXPECT_EQ(d.cursor(), 3);
}

TEST(DrainStateTest, GapInIdsEndsTheBacklog) {
  DrainState d;
  d.begin(5, 9, {{"A", 9}});
  EXPECT_TRUE(d.admit_backlog("A", 9));
  EXPECT_FALSE(d.draining());
  EXPECT_EQ(d.cursor(), 9);
}

}  // namespace
}  // namespace pushgate
