// Included first: proves the header is self-contained.
#include "adapters/zkpush/zkpush_text.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pushgate::adapters::zkpush::text {
namespace {

using namespace std::string_view_literals;

std::vector<std::string> lines_of(std::string_view body, LineEnd line_end) {
  std::vector<std::string> out;
  LineCursor cursor(body, line_end);
  Line line;
  while (cursor.next(line)) {
    out.emplace_back(line.text);
  }
  return out;
}

// The two flavours drop different line ends on purpose: Security PUSH bodies
// end in CRLF plus a NUL (its spec examples are three bytes longer than their
// text); the attendance parsers keep a NUL visible and call a NUL-only line blank.
TEST(ZkpushTextTest, SecurityCursorDropsTrailingCrsAndNulsInAnyMix) {
  EXPECT_EQ(lines_of("a=1\r\n\0b=2\r\0\nc=3\0\r"sv, LineEnd::CrNul),
            (std::vector<std::string>{"a=1", std::string("\0b=2", 4), "c=3"}));
}

TEST(ZkpushTextTest, AttendanceCursorDropsTrailingCrsOnly) {
  EXPECT_EQ(lines_of("a=1\r\nb=2\0\r\n"sv, LineEnd::Cr),
            (std::vector<std::string>{"a=1", std::string("b=2\0", 4)}));
}

TEST(ZkpushTextTest, CursorCountsAFinalLineWithoutLfAndNoLineAfterAFinalLf) {
  EXPECT_EQ(lines_of("", LineEnd::Cr), std::vector<std::string>{});
  EXPECT_EQ(lines_of("\n", LineEnd::CrNul), std::vector<std::string>{""});
  EXPECT_EQ(lines_of("a\n", LineEnd::Cr), std::vector<std::string>{"a"});
  EXPECT_EQ(lines_of("a\nb", LineEnd::CrNul), (std::vector<std::string>{"a", "b"}));
}

TEST(ZkpushTextTest, CursorReportsByteOffsetsOfEachLine) {
  LineCursor cursor("ab\r\ncd");
  Line line;
  ASSERT_TRUE(cursor.next(line));
  EXPECT_EQ(line.number, 1U);
  EXPECT_EQ(line.begin, 0U);
  EXPECT_EQ(line.end, 3U);
  EXPECT_EQ(line.next, 4U);
  ASSERT_TRUE(cursor.next(line));
  EXPECT_EQ(line.number, 2U);
  EXPECT_EQ(line.begin, 4U);
  EXPECT_EQ(line.end, 6U);
  EXPECT_FALSE(cursor.next(line));
}

// Security PUSH lines separate the type word with spaces ("user  uid=5"); the
// attendance parser keeps a space before a key, so " Name" is not "Name".
TEST(ZkpushTextTest, SplitTabPairsSkipsSpacesBeforeKeysOnlyWhenAsked) {
  KeyValues skipped;
  std::string_view bad;
  ASSERT_TRUE(split_tab_pairs("  uid=5\t pin=7\t\t", skipped, bad, KeySpaces::Skip));
  ASSERT_EQ(skipped.size(), 2U);
  EXPECT_EQ(skipped[0].key, "uid");
  EXPECT_EQ(skipped[1].key, "pin");

  KeyValues kept;
  ASSERT_TRUE(split_tab_pairs("uid=5\t pin=7", kept, bad, KeySpaces::Keep));
  ASSERT_EQ(kept.size(), 2U);
  EXPECT_EQ(kept[1].key, " pin");

  KeyValues refused;
  EXPECT_FALSE(split_tab_pairs("uid=5\t =7", refused, bad, KeySpaces::Skip));
  EXPECT_EQ(bad, "=7");
  EXPECT_FALSE(split_tab_pairs("uid=5\tnoequals", refused, bad));
  EXPECT_EQ(bad, "noequals");
}

TEST(ZkpushTextTest, FieldTakerKeepsTheFirstBadNumberAndTheRestAsSent) {
  FieldTaker taker(KeyValues{{"PIN", "7"}, {"size", "x1"}, {"valid", "y"}, {"pin", "8"}});
  EXPECT_EQ(taker.take_string({"pin"}), "7");
  EXPECT_FALSE(taker.take_number<int>({"size"}).has_value());
  EXPECT_FALSE(taker.take_number<int>({"valid"}).has_value());
  EXPECT_EQ(taker.error(), "size is not a number: 'x1'");
  const KeyValues rest = taker.rest();
  ASSERT_EQ(rest.size(), 1U);
  EXPECT_EQ(rest[0].key, "pin");

  std::string error;
  FieldTaker other(KeyValues{{"No", "3"}, {"Size", "-"}});
  EXPECT_EQ(other.take_number<int>({"FID", "No"}, error), 3);
  EXPECT_FALSE(other.take_number<int>({"Size"}, error).has_value());
  EXPECT_EQ(error, "Size is not a number: '-'");
  EXPECT_TRUE(other.error().empty());
}

TEST(ZkpushTextTest, HexBytesRoundTrip) {
  std::vector<std::uint8_t> bytes;
  ASSERT_TRUE(decode_hex_bytes("00aF7c", bytes));
  EXPECT_EQ(bytes, (std::vector<std::uint8_t>{0x00, 0xaf, 0x7c}));
  std::vector<std::uint8_t> refused;
  EXPECT_FALSE(decode_hex_bytes("abc", refused));
  EXPECT_FALSE(decode_hex_bytes("0g", refused));
  std::string out;
  for (std::uint8_t byte : bytes) {
    append_hex_byte(out, byte);
  }
  EXPECT_EQ(out, "00AF7C");
}

TEST(ZkpushTextTest, AnswerLinesCannotCarryLineBreaks) {
  EXPECT_EQ(key_value_line("Key\r\n", "va\0lue\n"sv), "Key=value");
  EXPECT_EQ(joined({"a", "b", "c"}, "\r\n"), "a\r\nb\r\nc");
  EXPECT_EQ(trim_spaces(" \t x y\t "), "x y");
}

}  // namespace
}  // namespace pushgate::adapters::zkpush::text
