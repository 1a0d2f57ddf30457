// The code tables, and adapters/dahua/README.md generated from them.
#include "adapters/dahua/dahua_codes.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

namespace pushgate::adapters::dahua {
namespace {

constexpr std::string_view kBegin = "<!-- BEGIN GENERATED: dahua code tables";
constexpr std::string_view kEnd = "<!-- END GENERATED: dahua code tables -->";

TEST(DahuaCodes, KindsAreEventKindNamesAndUnknownCodesAreKept) {
  const std::set<std::string_view> kinds{"access", "alarm", "door_state", "operation",
                                         "attendance"};
  for (const EventCodeInfo& info : event_codes()) {
    EXPECT_TRUE(kinds.count(info.kind)) << info.code;
  }
  EXPECT_EQ(event_kind_for("accesscontrol"), "access");
  EXPECT_EQ(event_kind_for("ChassisIntruded"), "alarm");
  EXPECT_EQ(event_kind_for("SomethingNew"), "operation");
  EXPECT_EQ(find_event_code("SomethingNew"), nullptr);
}

TEST(DahuaCodes, MethodsAreTheHttpApiEnumNotTheSdkOne) {
  EXPECT_EQ(verify_method_name(15), "face");
  EXPECT_EQ(verify_method_name(1), "card");
  EXPECT_EQ(verify_method_name(4), "remote");
  EXPECT_EQ(verify_method_name(16), "unknown");  // reserved in the HTTP API (face in the SDK)
  EXPECT_EQ(verify_method_name(-1), "unknown");
}

TEST(DahuaCodes, ErrorCodesAreRefusalReasons) {
  EXPECT_EQ(refusal_reason(0), "none");
  EXPECT_EQ(refusal_reason(16), "unauthorized");
  EXPECT_EQ(refusal_reason(21), "anti_passback");
  EXPECT_EQ(refusal_reason(18), "no_door_permission");
  EXPECT_EQ(refusal_reason(12345), "unknown");
}

TEST(DahuaCodes, TablesHaveNoDuplicateKeys) {
  std::set<std::string> codes;
  for (const EventCodeInfo& info : event_codes()) {
    EXPECT_TRUE(codes.insert(std::string(info.code)).second) << info.code;
  }
  std::set<int> methods;
  for (const MethodInfo& info : verify_methods()) {
    EXPECT_TRUE(methods.insert(info.code).second) << info.code;
  }
  std::set<int> errors;
  for (const ErrorCodeInfo& info : error_codes()) {
    EXPECT_TRUE(errors.insert(info.code).second) << info.code;
  }
}

/**
 * The README's tables are generated from the code. When this fails, rerun
 * with PUSHGATE_UPDATE_DAHUA_README=1 to rewrite them, and commit the README.
 */
TEST(DahuaCodes, ReadmeTablesMatchTheCode) {
  const std::filesystem::path path =
      std::filesystem::path(PUSHGATE_SOURCE_DIR) / "adapters" / "dahua" / "README.md";
  std::ifstream in(path, std::ios::binary);
  ASSERT_TRUE(in) << path;
  std::string readme{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  in.close();
  const std::size_t begin = readme.find(kBegin);
  ASSERT_NE(begin, std::string::npos) << "README lacks the BEGIN marker";
  const std::size_t body = readme.find('\n', begin) + 1;
  const std::size_t end = readme.find(kEnd, body);
  ASSERT_NE(end, std::string::npos) << "README lacks the END marker";
  const std::string expected = render_code_tables_markdown();
  if (readme.compare(body, end - body, expected) != 0 &&
      std::getenv("PUSHGATE_UPDATE_DAHUA_README") != nullptr) {
    readme.replace(body, end - body, expected);
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << readme;
    GTEST_SKIP() << "rewrote " << path;
  }
  EXPECT_EQ(readme.substr(body, end - body), expected)
      << "adapters/dahua/README.md drifted from adapters/dahua/dahua_codes.cpp; rerun this test "
         "with PUSHGATE_UPDATE_DAHUA_README=1 and commit the README";
}

}  // namespace
}  // namespace pushgate::adapters::dahua
