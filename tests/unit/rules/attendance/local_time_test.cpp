#include "rules/attendance/local_time.hpp"

#include <gtest/gtest.h>

namespace pushgate::rules::attendance {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

date::local_seconds local(const char* text) {
  return parse_local_time(text).value();
}

const date::time_zone* berlin() {
  return date::locate_zone("Europe/Berlin");
}

TEST(LocalTimeTest, ParsesAndFormatsTimeOfDay) {
  EXPECT_EQ(parse_time_of_day("00:00"), TimeOfDay{0});
  EXPECT_EQ(parse_time_of_day("23:59"), TimeOfDay{23 * 60 + 59});
  EXPECT_EQ(parse_time_of_day("24:00"), std::nullopt);
  EXPECT_EQ(parse_time_of_day("9:00"), std::nullopt);
  EXPECT_EQ(parse_time_of_day("09:60"), std::nullopt);
  EXPECT_EQ(parse_time_of_day("0a:00"), std::nullopt);
  EXPECT_EQ(format_time_of_day(TimeOfDay{18 * 60 + 7}), "18:07");
}

TEST(LocalTimeTest, ParsesAndFormatsDates) {
  EXPECT_EQ(format_date(parse_date("2024-02-29").value()), "2024-02-29");
  EXPECT_EQ(parse_date("2023-02-29"), std::nullopt);
  EXPECT_EQ(parse_date("2023-1-01"), std::nullopt);
  EXPECT_EQ(parse_date("2023-00-10"), std::nullopt);
}

TEST(LocalTimeTest, ParsesAndFormatsLocalTimes) {
  EXPECT_EQ(format_local_time(local("2022-12-01T09:05:59")), "2022-12-01T09:05:59");
  EXPECT_EQ(parse_local_time("2022-12-01 09:05:59"), parse_local_time("2022-12-01T09:05:59"));
  EXPECT_EQ(parse_local_time("2022-12-01T24:00:00"), std::nullopt);
  EXPECT_EQ(parse_local_time("2022-12-01T09:05"), std::nullopt);
}

TEST(LocalTimeTest, WithoutZoneDurationsAreWallClock) {
  EXPECT_EQ(elapsed(local("2023-03-25T22:00:00"), local("2023-03-26T06:00:00"), nullptr), hours{8});
  EXPECT_EQ(to_sys(local("2023-03-26T06:00:00"), nullptr).time_since_epoch(),
            local("2023-03-26T06:00:00").time_since_epoch());
}

TEST(LocalTimeTest, DstSpringForwardNightIsOneHourShorter) {
  EXPECT_EQ(elapsed(local("2023-03-25T22:00:00"), local("2023-03-26T06:00:00"), berlin()),
            hours{7});
}

TEST(LocalTimeTest, DstFallBackNightIsOneHourLonger) {
  EXPECT_EQ(elapsed(local("2023-10-28T22:00:00"), local("2023-10-29T06:00:00"), berlin()),
            hours{9});
}

TEST(LocalTimeTest, DstAmbiguousWallTimeIsTheEarlierInstant) {
  // 02:30 happens twice on 2023-10-29; the first is 00:30 UTC (CEST).
  const auto sys = to_sys(local("2023-10-29T02:30:00"), berlin());
  EXPECT_EQ(sys, date::sys_days{date::October / 29 / 2023} + minutes{30});
}

TEST(LocalTimeTest, DstSkippedWallTimeIsTheTransitionInstant) {
  // 02:00-02:59 does not exist on 2023-03-26; the clocks jumped at 01:00 UTC.
  const auto transition = date::sys_days{date::March / 26 / 2023} + hours{1};
  EXPECT_EQ(to_sys(local("2023-03-26T02:00:00"), berlin()), transition);
  EXPECT_EQ(to_sys(local("2023-03-26T02:59:59"), berlin()), transition);
  EXPECT_EQ(to_sys(local("2023-03-26T03:00:00"), berlin()), transition);
  EXPECT_EQ(elapsed(local("2023-03-26T02:30:00"), local("2023-03-26T03:00:00"), berlin()),
            seconds{0});
}

TEST(LocalTimeTest, DstMappingNeverRunsBackwards) {
  const date::time_zone* zone = berlin();
  for (const char* start : {"2023-03-26T00:00:00", "2023-10-29T00:00:00"}) {
    auto previous = to_sys(local(start), zone);
    for (int s = 60; s < 6 * 3600; s += 60) {
      const auto current = to_sys(local(start) + seconds{s}, zone);
      EXPECT_GE(current, previous) << start << " +" << s;
      previous = current;
    }
  }
}

TEST(LocalTimeTest, ToLocalIsTheSiteWallTime) {
  const auto utc = date::sys_days{date::July / 1 / 2023} + hours{10};
  EXPECT_EQ(to_local(utc, berlin()), local("2023-07-01T12:00:00"));
  EXPECT_EQ(to_local(utc, nullptr), local("2023-07-01T10:00:00"));
}

}  // namespace
}  // namespace pushgate::rules::attendance
