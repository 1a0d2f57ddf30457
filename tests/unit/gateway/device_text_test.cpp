#include "gateway/device_text.hpp"

#include <gtest/gtest.h>

namespace pushgate::text {
namespace {

TEST(DeviceText, CanonicalEncodingNames) {
  EXPECT_EQ(canonical_encoding("UTF8"), "utf-8");
  EXPECT_EQ(canonical_encoding("utf-8"), "utf-8");
  EXPECT_EQ(canonical_encoding("ISO-8859-1"), "latin-1");
  EXPECT_EQ(canonical_encoding("latin1"), "latin-1");
  EXPECT_EQ(canonical_encoding("windows-1252"), "cp1252");
  EXPECT_EQ(canonical_encoding("GB2312"), "gbk");
  EXPECT_EQ(canonical_encoding("gb18030"), "gbk");
  EXPECT_FALSE(canonical_encoding("ebcdic"));
  EXPECT_FALSE(canonical_encoding(""));
}

TEST(DeviceText, ValidUtf8) {
  EXPECT_TRUE(is_valid_utf8("Jos\xC3\xA9"));
  EXPECT_TRUE(is_valid_utf8("\xE4\xB8\xAD\xF0\x9F\x98\x80"));
  EXPECT_FALSE(is_valid_utf8("Jos\xE9"));
  EXPECT_FALSE(is_valid_utf8("\xFF\xFE"));
  EXPECT_FALSE(is_valid_utf8("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(is_valid_utf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));  // past U+10FFFF
  EXPECT_FALSE(is_valid_utf8("\xE4\xB8"));          // cut off
}

TEST(DeviceText, Utf8ReplacesEachInvalidByte) {
  EXPECT_EQ(to_utf8("Jos\xE9", "utf-8"), "Jos\xEF\xBF\xBD");
  EXPECT_EQ(to_utf8("\xFF\xFE", "utf-8"), "\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(to_utf8("a\tJos\xC3\xA9\n", "utf-8"), "a\tJos\xC3\xA9\n");
  EXPECT_EQ(to_utf8("x\xE4\xB8", "utf-8"), "x\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(DeviceText, Latin1AndCp1252) {
  EXPECT_EQ(to_utf8("Jos\xE9", "latin-1"), "Jos\xC3\xA9");
  EXPECT_EQ(to_utf8("\x80", "cp1252"), "\xE2\x82\xAC");  // euro sign
  EXPECT_EQ(to_utf8("M\xFCller", "cp1252"),
            "M\xC3\xBC"
            "ller");
  // 0x81 is undefined in cp1252: replaced, the rest kept.
  EXPECT_EQ(to_utf8("a\x81"
                    "b",
                    "cp1252"),
            "a\xEF\xBF\xBD"
            "b");
}

TEST(DeviceText, Gbk) {
  // "中文" in GBK.
  EXPECT_EQ(to_utf8("\xD6\xD0\xCE\xC4", "gbk"), "\xE4\xB8\xAD\xE6\x96\x87");
  // A lead byte cut off at the end of the field becomes U+FFFD.
  EXPECT_EQ(to_utf8("\xD6\xD0\xCE", "gbk"), "\xE4\xB8\xAD\xEF\xBF\xBD");
  EXPECT_EQ(to_utf8("Name=\xD6\xD0\tPri=0", "gbk"), "Name=\xE4\xB8\xAD\tPri=0");
}

TEST(DeviceText, EveryByteStringBecomesValidUtf8InEveryEncoding) {
  std::string all;
  for (int i = 0; i < 256; ++i) {
    all += static_cast<char>(i);
    all += static_cast<char>(255 - i);
  }
  for (const char* enc : {"utf-8", "latin-1", "cp1252", "gbk", "nonsense"}) {
    const std::string out = to_utf8(all, enc);
    EXPECT_TRUE(is_valid_utf8(out)) << enc;
    EXPECT_NE(out.find('\t'), std::string::npos) << enc;
    EXPECT_NE(out.find('\n'), std::string::npos) << enc;
  }
}

TEST(DeviceText, UnchangedByConversion) {
  EXPECT_TRUE(unchanged_by_conversion("PIN=1\tName=Bob", "gbk"));
  EXPECT_TRUE(unchanged_by_conversion("Jos\xC3\xA9", "utf-8"));
  EXPECT_FALSE(unchanged_by_conversion("Jos\xC3\xA9", "latin-1"));
  EXPECT_FALSE(unchanged_by_conversion("Jos\xE9", "utf-8"));
}

TEST(DeviceText, MakeUtf8ReportsAChange) {
  std::string ascii = "PIN=1\tName=Bob";
  EXPECT_FALSE(make_utf8(ascii, "gbk"));
  std::string bad = "Jos\xE9";
  EXPECT_TRUE(make_utf8(bad, "utf-8"));
  EXPECT_EQ(bad, "Jos\xEF\xBF\xBD");
}

TEST(DeviceText, MakeUtf8CountsOnlyTheReplacementsItMade) {
  std::size_t replaced = 0;
  // The device's own U+FFFD (valid UTF-8) is kept and not counted; the lone
  // 0xE9 is the one replacement.
  std::string mixed = "\xEF\xBF\xBD Jos\xE9";
  EXPECT_TRUE(make_utf8(mixed, "utf-8", &replaced));
  EXPECT_EQ(mixed, "\xEF\xBF\xBD Jos\xEF\xBF\xBD");
  EXPECT_EQ(replaced, 1U);
  std::string cp =
      "a\x81\x81"
      "b\x80";  // two undefined bytes, one euro sign
  EXPECT_TRUE(make_utf8(cp, "cp1252", &replaced));
  EXPECT_EQ(replaced, 3U);
  std::string gbk = "\xD6\xD0\xCE";  // one character, one cut-off lead byte
  EXPECT_TRUE(make_utf8(gbk, "gbk", &replaced));
  EXPECT_EQ(replaced, 4U);
  std::string latin = "Jos\xE9";  // every byte is defined in latin-1
  EXPECT_TRUE(make_utf8(latin, "latin-1", &replaced));
  EXPECT_EQ(replaced, 4U);
  std::string clean = "PIN=1";
  EXPECT_FALSE(make_utf8(clean, "utf-8", &replaced));
  EXPECT_EQ(replaced, 4U);
}

TEST(DeviceText, LogEscapeKeepsOneLine) {
  EXPECT_EQ(log_escape("CJDE193560303"), "CJDE193560303");
  EXPECT_EQ(log_escape("A\r\n2026-12-05 info [zkpush] forged"),
            "A\\r\\n2026-12-05 info [zkpush] forged");
  EXPECT_EQ(log_escape("\xFF\xFE"), "\\xff\\xfe");
  EXPECT_EQ(log_escape("Jos\xC3\xA9"), "Jos\xC3\xA9");
  EXPECT_EQ(log_escape("a\\b\x01\x7f\t"), "a\\\\b\\x01\\x7f\\t");
  EXPECT_EQ(log_escape("\xC2\x85"), "\\xc2\\x85");  // NEL, a C1 line break
  EXPECT_EQ(log_escape(std::string(300, 'x'), 10), "xxxxxxxxxx...");
}

TEST(DeviceText, SerialValidation) {
  EXPECT_TRUE(valid_serial("CJDE193560303"));
  EXPECT_TRUE(valid_serial("DDG7012017010600049"));
  EXPECT_TRUE(valid_serial("sim-term_01"));
  EXPECT_TRUE(valid_serial(std::string(kMaxSerialLength, 'A')));
  EXPECT_FALSE(valid_serial(""));
  EXPECT_FALSE(valid_serial(std::string(kMaxSerialLength + 1, 'A')));
  EXPECT_FALSE(valid_serial("\xFF\xFE"));
  EXPECT_FALSE(valid_serial("ABC\r\nX"));
  EXPECT_FALSE(valid_serial("ABC 1"));
  EXPECT_FALSE(valid_serial("../etc"));
  EXPECT_FALSE(valid_serial(std::string("AB\0C", 4)));
}

}  // namespace
}  // namespace pushgate::text
