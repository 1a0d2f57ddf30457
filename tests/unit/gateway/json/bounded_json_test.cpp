// gateway/json: every JSON input is bounded in size and depth before it
// becomes a tree (issue 12 item 3: 100,000 nested arrays crashed the daemon).
#include "gateway/json/bounded_json.hpp"

#include <string>

#include <gtest/gtest.h>

namespace pushgate {
namespace {

std::string nested_arrays(std::size_t depth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

TEST(BoundedJsonTest, ParsesADocumentWithinTheLimits) {
  auto r = parse_json_bounded(R"({"verb":"open_door","params":{"door":1,"list":[[1],[2]]}})");
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.value["params"]["door"], 1);
  EXPECT_TRUE(r.error.empty());
}

TEST(BoundedJsonTest, RefusesHundredThousandNestedArraysNamingTheDepthLimit) {
  const std::string body = R"({"verb":"open_door","params":{"x":)" + nested_arrays(100000) + "}}";
  auto r = parse_json_bounded(body, {1024 * 1024, 64});
  EXPECT_EQ(r.refusal, JsonRefusal::TooDeep);
  EXPECT_TRUE(r.value.is_discarded());
  EXPECT_NE(r.error.find("64"), std::string::npos) << r.error;
}

TEST(BoundedJsonTest, AcceptsExactlyTheDepthLimitAndRefusesOneMore) {
  EXPECT_TRUE(parse_json_bounded(nested_arrays(64), {1024, 64}).ok());
  EXPECT_EQ(parse_json_bounded(nested_arrays(65), {1024, 64}).refusal, JsonRefusal::TooDeep);
  // Objects count as levels too.
  EXPECT_EQ(parse_json_bounded(R"({"a":{"b":{"c":1}}})", {1024, 2}).refusal, JsonRefusal::TooDeep);
}

TEST(BoundedJsonTest, BracketsInsideStringsAreNotLevels) {
  const std::string text = R"({"a":"[[[[[[[[{{{{{{\"[[[[","b":["]]]]"]})";
  auto r = parse_json_bounded(text, {1024, 2});
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.value["b"][0], "]]]]");
}

TEST(BoundedJsonTest, RefusesATextOverTheSizeLimitNamingIt) {
  const std::string text = "[\"" + std::string(2000, 'x') + "\"]";
  auto r = parse_json_bounded(text, {1000, 64});
  EXPECT_EQ(r.refusal, JsonRefusal::TooLarge);
  EXPECT_NE(r.error.find("1000"), std::string::npos) << r.error;
}

TEST(BoundedJsonTest, ReportsInvalidJsonAndInvalidUtf8WithoutThrowing) {
  EXPECT_EQ(parse_json_bounded("{\"a\":").refusal, JsonRefusal::Invalid);
  EXPECT_EQ(parse_json_bounded("]]]]").refusal, JsonRefusal::Invalid);
  EXPECT_EQ(parse_json_bounded("\"\xff\xfe\"").refusal, JsonRefusal::Invalid);
  EXPECT_EQ(parse_json_bounded("").refusal, JsonRefusal::Invalid);
}

TEST(BoundedJsonTest, CountsEveryRefusalByReason) {
  const auto deep = json_refused_count(JsonRefusal::TooDeep);
  const auto large = json_refused_count(JsonRefusal::TooLarge);
  (void)parse_json_bounded(nested_arrays(10), {1024, 5});
  (void)parse_json_bounded("[1,2,3]", {3, 5});
  EXPECT_EQ(json_refused_count(JsonRefusal::TooDeep), deep + 1);
  EXPECT_EQ(json_refused_count(JsonRefusal::TooLarge), large + 1);
}

}  // namespace
}  // namespace pushgate
