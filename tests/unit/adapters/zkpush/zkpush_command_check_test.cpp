#include "adapters/zkpush/zkpush_command_check.hpp"

#include <gtest/gtest.h>

namespace pushgate::adapters::zkpush {
namespace {

CommandRequest request(std::string verb, nlohmann::json params) {
  CommandRequest r;
  r.terminal_sn = "SN1";
  r.verb = std::move(verb);
  r.params = std::move(params);
  return r;
}

TEST(CommandCheckTest, RefusesTabCrLfInAValueNamingTheField) {
  EXPECT_EQ(check_command_values(request("set_option", {{"key", "Delay"}, {"value", "1\t2"}})),
            "params.value: contains a TAB, which the terminal reads as the start of another field");
  auto why = check_command_values(request("upsert_user", {{"pin", "7"}, {"name", "Bo\r\nREBOOT"}}));
  EXPECT_EQ(why.rfind("params.name: contains a CR or LF", 0), 0u) << why;
  why = check_command_values(request("get_options", {{"keys", {"A", "B\nC"}}}));
  EXPECT_EQ(why.rfind("params.keys[1]:", 0), 0u) << why;
}

TEST(CommandCheckTest, AcceptsCleanValuesAndTabsInARawLine) {
  EXPECT_EQ(check_command_values(request("set_option", {{"key", "Delay"}, {"value", "30"}})), "");
  EXPECT_EQ(check_command_values(request("upsert_user", {{"pin", "7"}, {"name", "Bo Li"}})), "");
  EXPECT_EQ(check_command_values(request("raw", {{"line", "DATA UPDATE user Pin=1\tName=A"}})), "");
  EXPECT_NE(check_command_values(request("raw", {{"line", "REBOOT\nCLEAR LOG"}})), "");
}

TEST(CommandCheckTest, RefusesSeveralOptionsInOneSetOption) {
  auto why = check_command_values(request("set_option", {{"key", "Delay=5,ErrorDelay"}}));
  EXPECT_EQ(why.rfind("params.key: one option per set_option", 0), 0u) << why;
}

}  // namespace
}  // namespace pushgate::adapters::zkpush
