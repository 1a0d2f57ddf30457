#include "gateway/auth/limiter.hpp"

#include <gtest/gtest.h>

namespace pushgate::auth {
namespace {

LoginLimiter::Options three_in_a_minute() {
  LoginLimiter::Options o;
  o.max_failures = 3;
  o.window_ms = 60'000;
  o.lockout_ms = 300'000;
  o.max_keys = 100;
  return o;
}

TEST(LoginLimiter, LocksAfterMaxFailuresForTheLockout) {
  LoginLimiter l(three_in_a_minute());
  EXPECT_FALSE(l.failed("alice", 1000));
  EXPECT_FALSE(l.failed("alice", 2000));
  EXPECT_EQ(l.locked_for("alice", 2000), 0);
  EXPECT_TRUE(l.failed("alice", 3000));
  EXPECT_EQ(l.locked_for("alice", 3000), 300'000);
  EXPECT_EQ(l.locked_for("alice", 303'000 - 1), 1);
  EXPECT_EQ(l.locked_for("alice", 303'000), 0);
  // Another key is not affected.
  EXPECT_EQ(l.locked_for("bob", 3000), 0);
}

TEST(LoginLimiter, FailuresOutsideTheWindowDoNotAddUp) {
  LoginLimiter l(three_in_a_minute());
  EXPECT_FALSE(l.failed("alice", 0));
  EXPECT_FALSE(l.failed("alice", 10'000));
  EXPECT_FALSE(l.failed("alice", 70'001));  // the window restarted here
  EXPECT_FALSE(l.failed("alice", 80'000));
  EXPECT_TRUE(l.failed("alice", 90'000));
}

TEST(LoginLimiter, SuccessForgetsTheFailures) {
  LoginLimiter l(three_in_a_minute());
  l.failed("alice", 0);
  l.failed("alice", 1);
  l.succeeded("alice");
  EXPECT_FALSE(l.failed("alice", 2));
  EXPECT_FALSE(l.failed("alice", 3));
  EXPECT_TRUE(l.failed("alice", 4));
}

TEST(LoginLimiter, AfterALockoutTheCountStartsAgain) {
  LoginLimiter l(three_in_a_minute());
  for (int i = 0; i < 3; ++i) {
    l.failed("alice", i);
  }
  ASSERT_GT(l.locked_for("alice", 10), 0);
  EXPECT_FALSE(l.failed("alice", 400'000));
  EXPECT_EQ(l.locked_for("alice", 400'000), 0);
}

TEST(LoginLimiter, MemoryIsBoundedAndLockedKeysAreKept) {
  auto o = three_in_a_minute();
  o.max_keys = 3;
  LoginLimiter l(o);
  for (int i = 0; i < 3; ++i) {
    l.failed("locked", i);
  }
  for (int i = 0; i < 50; ++i) {
    l.failed("spray" + std::to_string(i), 100 + i);
  }
  EXPECT_GT(l.locked_for("locked", 200), 0);
}

TEST(SessionState, RevokedExpiredIdleOrValid) {
  SessionTimes s{1000, 100'000, false};
  EXPECT_EQ(session_state(s, 1000, 10'000), SessionState::Valid);
  EXPECT_EQ(session_state(s, 10'999, 10'000), SessionState::Valid);
  EXPECT_EQ(session_state(s, 11'000, 10'000), SessionState::IdleExpired);
  s.last_seen_ms = 99'000;
  EXPECT_EQ(session_state(s, 99'999, 10'000), SessionState::Valid);
  EXPECT_EQ(session_state(s, 100'000, 10'000), SessionState::Expired);
  s.revoked = true;
  EXPECT_EQ(session_state(s, 99'500, 10'000), SessionState::Revoked);
}

}  // namespace
}  // namespace pushgate::auth
