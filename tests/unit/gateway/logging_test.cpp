// LogRateLimiter: one line per reason per interval, with the count of the
// lines suppressed in between. Loggers: named by string, levels from
// log.level and log.components.
#include "gateway/log_rate_limiter.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "gateway/logging.hpp"

namespace pushgate {
namespace {

using ::testing::HasSubstr;

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

// Loggers are named by string: no central list of components.
TEST(Logger, SameNameGivesTheSameLogger) {
  auto a = logger("test-same");
  auto b = logger(std::string("test-") + "same");
  EXPECT_EQ(a, b);
  EXPECT_EQ(a->name(), "test-same");
  EXPECT_NE(logger("test-other"), a);
}

TEST(Logger, NameNeverSeenBeforeGetsTheConfiguredDefaultLevel) {
  ASSERT_EQ(configure_logging("warn", "store=debug", false), "");
  EXPECT_EQ(logger("test-brand-new-adapter")->level(), spdlog::level::warn);
  ASSERT_EQ(configure_logging("info", "", false), "");
  EXPECT_EQ(logger("test-brand-new-adapter")->level(), spdlog::level::info);
  EXPECT_EQ(logger("test-another-new-one")->level(), spdlog::level::info);
}

TEST(Logger, ComponentLevelAppliesToExistingAndLaterLoggers) {
  ASSERT_EQ(configure_logging("info", "", false), "");
  auto early = logger("test-early");
  EXPECT_EQ(early->level(), spdlog::level::info);
  ASSERT_EQ(configure_logging("info", "test-early=trace,test-late=error", false), "");
  EXPECT_EQ(early->level(), spdlog::level::trace);
  // Configured before it exists, as an adapter's logger is at startup.
  EXPECT_EQ(logger("test-late")->level(), spdlog::level::err);
  // A reload without the override gives both the global level back.
  ASSERT_EQ(configure_logging("warn", "", false), "");
  EXPECT_EQ(early->level(), spdlog::level::warn);
  EXPECT_EQ(logger("test-late")->level(), spdlog::level::warn);
  ASSERT_EQ(configure_logging("info", "", false), "");
}

TEST(Logger, BadComponentLevelsAreRefusedAndChangeNothing) {
  ASSERT_EQ(configure_logging("info", "test-kept=debug", false), "");
  auto kept = logger("test-kept");
  EXPECT_THAT(configure_logging("info", "zkpush=loud", false), HasSubstr("\"loud\""));
  EXPECT_THAT(configure_logging("info", "zkpush", false), HasSubstr("component=level"));
  EXPECT_THAT(configure_logging("info", "Zk Push=debug", false), HasSubstr("\"Zk Push\""));
  EXPECT_THAT(configure_logging("info", "=debug", false), HasSubstr("component name"));
  EXPECT_THAT(configure_logging("chatty", "", false), HasSubstr("\"chatty\""));
  EXPECT_EQ(kept->level(), spdlog::level::debug);
  EXPECT_EQ(logger("test-kept-new")->level(), spdlog::level::info);
  ASSERT_EQ(configure_logging("info", "", false), "");
}

TEST(Logger, CheckConfigNamesAComponentThatDoesNotExist) {
  const std::vector<std::string> known = {"main", "store", "zkpush", "mqtt"};
  EXPECT_EQ(check_component_levels("", known), "");
  EXPECT_EQ(check_component_levels("zkpush=debug,store=warn", known), "");
  auto typo = check_component_levels("zkpsuh=debug", known);
  EXPECT_THAT(typo, HasSubstr("no component \"zkpsuh\""));
  EXPECT_THAT(typo, HasSubstr("did you mean zkpush?"));
  EXPECT_THAT(typo, HasSubstr("components: main store zkpush mqtt"));
  auto far = check_component_levels("dahua=debug", known);
  EXPECT_THAT(far, HasSubstr("no component \"dahua\""));
  EXPECT_THAT(far, ::testing::Not(HasSubstr("did you mean")));
  // Malformed text is reported as configure_logging reports it.
  EXPECT_THAT(check_component_levels("zkpush", known), HasSubstr("expected component=level"));
  EXPECT_THAT(check_component_levels("zkpush=loud", known), HasSubstr("unknown log level"));
}

}  // namespace
}  // namespace pushgate
