// Included first: proves the header is self-contained.
#include "gateway/timezone.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <ostream>
#include <string>

namespace pushgate {

// Lets failures print the time instead of its bytes (found by ADL).
inline void PrintTo(const LocalDateTime& t, std::ostream* os) {
  *os << format_local_date_time(t);
}

namespace {

using ::testing::HasSubstr;

std::chrono::system_clock::time_point at_ms(std::int64_t ms) {
  return std::chrono::system_clock::time_point(std::chrono::milliseconds(ms));
}

LocalDateTime local(int y, int mo, int d, int h, int mi, int s) {
  LocalDateTime t;
  t.year = y;
  t.month = mo;
  t.day = d;
  t.hour = h;
  t.minute = mi;
  t.second = s;
  return t;
}

Zone zone(const std::string& spec) {
  std::string error;
  auto z = Zone::parse(spec, error);
  EXPECT_TRUE(z.has_value()) << spec << ": " << error;
  return z.value_or(Zone::utc());
}

TEST(LocalDateTimeTest, ParsesTerminalFormat) {
  auto t = parse_local_date_time("2020-09-23 13:01:24");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(*t, local(2020, 9, 23, 13, 1, 24));
  EXPECT_EQ(parse_local_date_time("2020-09-23T13:01:24"), t);
  EXPECT_EQ(format_local_date_time(*t), "2020-09-23 13:01:24");
}

TEST(LocalDateTimeTest, AcceptsBoundaries) {
  EXPECT_EQ(parse_local_date_time("2020-02-29 00:00:00"), local(2020, 2, 29, 0, 0, 0));
  EXPECT_EQ(parse_local_date_time("2000-02-29 23:59:59"), local(2000, 2, 29, 23, 59, 59));
  EXPECT_EQ(parse_local_date_time("2021-12-31 23:59:59"), local(2021, 12, 31, 23, 59, 59));
}

TEST(LocalDateTimeTest, RejectsPreNtpGarbage) {
  EXPECT_EQ(parse_local_date_time("1971--10--29 -23:-27:-54"), std::nullopt);
  EXPECT_EQ(parse_local_date_time("1971-1--29 -3:-7:-54"), std::nullopt);
  EXPECT_EQ(parse_local_date_time("2020-0a-23 13:01:24"), std::nullopt);
  EXPECT_EQ(parse_local_date_time("2020-+9-23 13:01:24"), std::nullopt);
  EXPECT_EQ(parse_local_date_time("2020-09-23 1 :01:24"), std::nullopt);
}

TEST(LocalDateTimeTest, RejectsImpossibleDates) {
  EXPECT_EQ(parse_local_date_time("2021-02-29 10:00:00"), std::nullopt);  // not a leap year
  EXPECT_EQ(parse_local_date_time("1900-02-29 10:00:00"), std::nullopt);  // century rule
  EXPECT_EQ(parse_local_date_time("2021-04-31 10:00:00"), std::nullopt);
  EXPECT_EQ(parse_local_date_time("2021-13-01 10:00:00"), std::nullopt);
  EXPECT_EQ(parse_local_date_time("2021-00-10 10:00:00"), std::nullopt);
  EXPECT_EQ(parse_local_date_time("2021-01-00 10:00:00"), std::nullopt);
}

TEST(LocalDateTimeTest, RejectsImpossibleTimes) {
  EXPECT_EQ(parse_local_date_time("2021-01-01 24:00:00"), std::nullopt);
  EXPECT_EQ(parse_local_date_time("2021-01-01 23:60:00"), std::nullopt);
  EXPECT_EQ(parse_local_date_time("2021-01-01 23:59:61"), std::nullopt);
}

TEST(LocalDateTimeTest, RejectsOtherShapes) {
  EXPECT_EQ(parse_local_date_time(""), std::nullopt);
  EXPECT_EQ(parse_local_date_time("2020-09-23"), std::nullopt);
  EXPECT_EQ(parse_local_date_time("2020-09-23 13:01"), std::nullopt);
  EXPECT_EQ(parse_local_date_time("2020-09-23 13:01:24 "), std::nullopt);
  EXPECT_EQ(parse_local_date_time(" 2020-09-23 13:01:24"), std::nullopt);
  EXPECT_EQ(parse_local_date_time("2020/09/23 13:01:24"), std::nullopt);
  EXPECT_EQ(parse_local_date_time("2020-09-23_13:01:24"), std::nullopt);
  EXPECT_EQ(parse_local_date_time("2020-9-23 13:01:245"), std::nullopt);
}

TEST(ZoneTest, ParsesIanaNames) {
  auto berlin = zone("Europe/Berlin");
  EXPECT_EQ(berlin.name(), "Europe/Berlin");
  auto ny = zone("America/New_York");
  EXPECT_EQ(ny.to_utc_ms(local(2020, 9, 23, 13, 1, 24)), 1'600'880'484'000);  // EDT, -04:00
}

TEST(ZoneTest, ParsesUtc) {
  auto utc = zone("UTC");
  EXPECT_EQ(utc.name(), "UTC");
  EXPECT_EQ(utc.to_utc_ms(local(2020, 9, 23, 18, 1, 24)), 1'600'884'084'000);
  EXPECT_EQ(utc.offset_minutes_at(at_ms(1'600'884'084'000)), 0);
  EXPECT_EQ(Zone::utc().to_utc_ms(local(1970, 1, 1, 0, 0, 0)), 0);
}

TEST(ZoneTest, ParsesFixedOffsets) {
  auto india = zone("+05:30");
  EXPECT_EQ(india.name(), "+05:30");
  EXPECT_EQ(india.offset_minutes_at(at_ms(0)), 330);
  EXPECT_EQ(india.to_utc_ms(local(2020, 9, 23, 23, 31, 24)), 1'600'884'084'000);
  auto brazil = zone("-03:00");
  EXPECT_EQ(brazil.offset_minutes_at(at_ms(1'600'884'084'000)), -180);
  EXPECT_EQ(brazil.to_utc_ms(local(2020, 9, 23, 15, 1, 24)), 1'600'884'084'000);
  EXPECT_EQ(zone("+14:00").offset_minutes_at(at_ms(0)), 840);
}

TEST(ZoneTest, RejectsBadSpecs) {
  for (const char* bad : {"Mars/Olympus_Mons", "Europe/Berlinn", "+05:60", "+15:00", "+05:3x",
                          "05:30", "+", "-:30", "utc+1"}) {
    std::string error;
    EXPECT_FALSE(Zone::parse(bad, error).has_value()) << bad;
    EXPECT_FALSE(error.empty()) << bad;
  }
  std::string error;
  Zone::parse("Mars/Olympus_Mons", error);
  EXPECT_THAT(error, HasSubstr("Mars/Olympus_Mons"));
}

TEST(ZoneTest, EmptySpecIsTheSystemZone) {
  std::string error;
  auto z = Zone::parse("", error);
  ASSERT_TRUE(z.has_value()) << error;
  EXPECT_FALSE(z->name().empty());
}

TEST(ZoneTest, ToUtcFollowsDaylightSavingTime) {
  auto berlin = zone("Europe/Berlin");
  EXPECT_EQ(berlin.to_utc_ms(local(2021, 1, 15, 12, 0, 0)), 1'610'708'400'000);  // CET
  EXPECT_EQ(berlin.to_utc_ms(local(2021, 7, 1, 12, 0, 0)), 1'625'133'600'000);   // CEST
}

TEST(ZoneTest, NonexistentLocalTimeMapsToTheTransition) {
  // 2021-03-28 02:00 CET jumps to 03:00 CEST: 02:30 never happened in Berlin.
  // The earliest choice is the instant of the change, 01:00 UTC.
  auto berlin = zone("Europe/Berlin");
  EXPECT_EQ(berlin.to_utc_ms(local(2021, 3, 28, 2, 30, 0)), 1'616'893'200'000);
  EXPECT_EQ(berlin.to_utc_ms(local(2021, 3, 28, 1, 59, 59)), 1'616'893'199'000);
  EXPECT_EQ(berlin.to_utc_ms(local(2021, 3, 28, 3, 0, 0)), 1'616'893'200'000);
}

TEST(ZoneTest, AmbiguousLocalTimeMapsToTheEarlierInstant) {
  // 2021-10-31 03:00 CEST falls back to 02:00 CET: 02:30 happens twice.
  auto berlin = zone("Europe/Berlin");
  EXPECT_EQ(berlin.to_utc_ms(local(2021, 10, 31, 2, 30, 0)), 1'635'640'200'000);  // 00:30Z
  EXPECT_EQ(berlin.to_utc_ms(local(2021, 10, 31, 3, 30, 0)), 1'635'647'400'000);  // 02:30Z
}

TEST(ZoneTest, OffsetMinutesAtFollowsTheInstant) {
  auto berlin = zone("Europe/Berlin");
  EXPECT_EQ(berlin.offset_minutes_at(at_ms(1'610'708'400'000)), 60);
  EXPECT_EQ(berlin.offset_minutes_at(at_ms(1'625'133'600'000)), 120);
  // Either side of the spring change.
  EXPECT_EQ(berlin.offset_minutes_at(at_ms(1'616'893'199'000)), 60);
  EXPECT_EQ(berlin.offset_minutes_at(at_ms(1'616'893'200'000)), 120);
}

TEST(ZoneTest, ToLocalIsTheInverseOutsideTransitions) {
  auto berlin = zone("Europe/Berlin");
  EXPECT_EQ(berlin.to_local(at_ms(1'625'133'600'000)), local(2021, 7, 1, 12, 0, 0));
  EXPECT_EQ(zone("-03:00").to_local(at_ms(1'600'884'084'000)), local(2020, 9, 23, 15, 1, 24));
  // The second pass of an ambiguous hour reads back as local time too.
  EXPECT_EQ(berlin.to_local(at_ms(1'635'643'800'000)), local(2021, 10, 31, 2, 30, 0));
}

}  // namespace
}  // namespace pushgate
