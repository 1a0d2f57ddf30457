// The code tables, and adapters/dahua/README.md generated from them.
#include "adapters/dahua/dahua_codes.hpp"

#include <gtest/gtest.h>

#include <set>

#include "tests/support/generated_section.hpp"

namespace pushgate::adapters::dahua {
namespace {

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
  pushgate::test::expect_generated_section(
      {"adapters/dahua/README.md", "dahua code tables", "adapters/dahua/dahua_codes.cpp",
       "PUSHGATE_UPDATE_DAHUA_README"},
      render_code_tables_markdown());
}

}  // namespace
}  // namespace pushgate::adapters::dahua
