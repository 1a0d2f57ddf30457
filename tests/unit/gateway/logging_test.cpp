// LogRateLimiter: one line per reason per interval, with the count of the
// lines suppressed in between.
#include "gateway/log_rate_limiter.hpp"

#include <gtest/gtest.h>

namespace pushgate {
namespace {

TEST(LogRateLimiter, OneLinePerReasonPerIntervalWithTheSuppressedCount) {
  LogRateLimiter limiter(1000);
  EXPECT_EQ(limiter.admit("flood", 5000), std::optional<std::size_t>(0));
  for (int i = 0; i < 41; ++i) {
    EXPECT_FALSE(limiter.admit("flood", 5000 + i * 20).has_value());
  }
  // Another reason has its own budget.
  EXPECT_EQ(limiter.admit("other", 5500), std::optional<std::size_t>(0));
  EXPECT_FALSE(limiter.admit("flood", 5999).has_value());
  EXPECT_EQ(limiter.admit("flood", 6000), std::optional<std::size_t>(42));
  EXPECT_FALSE(limiter.admit("flood", 6001).has_value());
  EXPECT_EQ(limiter.admit("flood", 9000), std::optional<std::size_t>(1));
  EXPECT_EQ(limiter.admit("flood", 20000), std::optional<std::size_t>(0));
}

TEST(LogRateLimiter, FirstLineAtClockZeroIsLogged) {
  LogRateLimiter limiter(1000);
  EXPECT_TRUE(limiter.admit("r", 0).has_value());
  EXPECT_FALSE(limiter.admit("r", 1).has_value());
}

TEST(LogRateLimiter, SuppressedNote) {
  EXPECT_EQ(suppressed_note(0), "");
  EXPECT_EQ(suppressed_note(1), " (1 similar line suppressed)");
  EXPECT_EQ(suppressed_note(7), " (7 similar lines suppressed)");
}

}  // namespace
}  // namespace pushgate
