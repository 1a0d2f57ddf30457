// Included first: proves the header is self-contained.
#include "gateway/http/query.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <utility>

namespace pushgate::http {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;
using namespace std::string_literals;

TEST(QueryTest, PercentDecodeDecodesEscapesInEitherCase) {
  EXPECT_EQ(percent_decode("a%20b"), "a b");
  EXPECT_EQ(percent_decode("%41%4a%4A"), "AJJ");
  EXPECT_EQ(percent_decode("2020-09-23%2013%3A01%3A24"), "2020-09-23 13:01:24");
  EXPECT_EQ(percent_decode("%00x"), "\0x"s);
  EXPECT_EQ(percent_decode("%ff"), "\xff");
}

TEST(QueryTest, PercentDecodeTurnsPlusIntoSpace) {
  EXPECT_EQ(percent_decode("a+b+"), "a b ");
  EXPECT_EQ(percent_decode("%2B"), "+");
}

TEST(QueryTest, PercentDecodeKeepsMalformedEscapes) {
  EXPECT_EQ(percent_decode("%"), "%");
  EXPECT_EQ(percent_decode("100%"), "100%");
  EXPECT_EQ(percent_decode("%4"), "%4");
  EXPECT_EQ(percent_decode("a%4"), "a%4");
  EXPECT_EQ(percent_decode("%zz"), "%zz");
  EXPECT_EQ(percent_decode("%g1%41"), "%g1A");
  EXPECT_EQ(percent_decode("%%41"), "%A");
  EXPECT_EQ(percent_decode("ab%41"), "abA");  // an escape ending the text
  EXPECT_EQ(percent_decode(""), "");
}

TEST(QueryTest, ParsesPairsInOrderDecoded) {
  auto q = Query::parse("SN=CQZ7224460246&table=ATTLOG&Stamp=9999&name=J%C3%BCrgen+M");
  EXPECT_THAT(q.items(), ElementsAre(Pair("SN", "CQZ7224460246"), Pair("table", "ATTLOG"),
                                     Pair("Stamp", "9999"), Pair("name", "J\xc3\xbcrgen M")));
}

TEST(QueryTest, GetIsCaseInsensitiveAndFirstWins) {
  auto q = Query::parse("SN=first&sn=second");
  EXPECT_EQ(q.get("sn"), "first");
  EXPECT_EQ(q.get("Sn"), "first");
  EXPECT_TRUE(q.has("SN"));
  EXPECT_EQ(q.get("table"), std::nullopt);
  EXPECT_EQ(q.get_or("table", "none"), "none");
  EXPECT_EQ(q.get_or("SN", "none"), "first");
}

TEST(QueryTest, KeyWithoutValueAndEmptyItems) {
  auto q = Query::parse("&&flag&a=&b=1=2&");
  EXPECT_THAT(q.items(), ElementsAre(Pair("flag", ""), Pair("a", ""), Pair("b", "1=2")));
  EXPECT_TRUE(q.has("flag"));
  EXPECT_EQ(q.get("a"), "");
}

TEST(QueryTest, EncodedSeparatorsDoNotSplit) {
  auto q = Query::parse("k%3Dv=x%26y");
  EXPECT_THAT(q.items(), ElementsAre(Pair("k=v", "x&y")));
}

TEST(QueryTest, ParseTargetTakesThePartAfterQuestionMark) {
  auto q = Query::parse_target("/iclock/cdata?SN=1&options=all");
  EXPECT_THAT(q.items(), ElementsAre(Pair("SN", "1"), Pair("options", "all")));
  EXPECT_TRUE(Query::parse_target("/iclock/cdata").items().empty());
  EXPECT_TRUE(Query::parse_target("/iclock/cdata?").items().empty());
  auto second = Query::parse_target("/p?a=1?b=2");
  EXPECT_THAT(second.items(), ElementsAre(Pair("a", "1?b=2")));
}

TEST(QueryTest, TargetPathStopsAtQuestionMark) {
  EXPECT_EQ(target_path("/iclock/cdata?SN=1"), "/iclock/cdata");
  EXPECT_EQ(target_path("/iclock/cdata"), "/iclock/cdata");
  EXPECT_EQ(target_path("/iclock/cdata?"), "/iclock/cdata");
  EXPECT_EQ(target_path("?x=1"), "");
  EXPECT_EQ(target_path(""), "");
}

}  // namespace
}  // namespace pushgate::http
