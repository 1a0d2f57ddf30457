// Included first: proves the header is self-contained.
#include "adapters/zkpush/zkpush_security_control.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>

#include "adapters/zkpush/zkpush_security_codes.hpp"
#include "tests/unit/adapters/zkpush/zkpush_security_test_support.hpp"

namespace pushgate::adapters::zkpush::security {
namespace {

using test_support::fixture;

// ---------------------------------------------------------------------------
// Command results (§7.4, Appendix 15): zkpush::parse_devicecmd
// ---------------------------------------------------------------------------

TEST(SecurityDeviceCmdTest, ParsesTheSpecExample) {
  const DeviceCmdResult result = parse_devicecmd(fixture("devicecmd-7.4-example.http").body);
  EXPECT_TRUE(result.problems.empty());
  ASSERT_EQ(result.confirmations.size(), 1U);
  EXPECT_EQ(result.confirmations[0].id, "1");
  EXPECT_EQ(result.confirmations[0].return_code, 0);
  EXPECT_EQ(result.confirmations[0].cmd, "DATA UPDATE");
  EXPECT_FALSE(sub_controller_sn(result.confirmations[0]).has_value());
}

TEST(SecurityDeviceCmdTest, ParsesLowerCaseReturnAndBareSegments) {
  const DeviceCmdResult result = parse_devicecmd(fixture("devicecmd-9-results-examples.http").body);
  EXPECT_TRUE(result.problems.empty());
  ASSERT_EQ(result.confirmations.size(), 4U);
  EXPECT_EQ(result.confirmations[0].return_code, 3);
  EXPECT_EQ(result.confirmations[0].cmd, "DATA QUERY");
  EXPECT_EQ(result.confirmations[2].cmd, "CONTROL DEVICE");
  const CommandConfirmation& account = result.confirmations[3];
  EXPECT_EQ(account.cmd, "ACCOUNT");
  ASSERT_NE(find_value(account.extra, "transaction"), nullptr);
  EXPECT_EQ(*find_value(account.extra, "transaction"), "");
  EXPECT_EQ(*find_value(account.extra, "RecordSum"), "41");
}

TEST(SecurityDeviceCmdTest, ReadsSubControllerResults) {
  const DeviceCmdResult result =
      parse_devicecmd(fixture("devicecmd-sub-controller-appendix15.http").body);
  EXPECT_TRUE(result.problems.empty());
  ASSERT_EQ(result.confirmations.size(), 4U);
  const CommandConfirmation& queued = result.confirmations[0];
  EXPECT_TRUE(queued_for_sub_controller(queued));
  EXPECT_EQ(sub_controller_sn(queued), "DDG7012017010600049");
  EXPECT_EQ(return_code_name(queued.return_code),
            "Received by the master controller, waiting for the sub-controller");
  EXPECT_FALSE(queued_for_sub_controller(result.confirmations[2]));
  EXPECT_EQ(result.confirmations[2].id, queued.id);  // the final result of the same command
  EXPECT_FALSE(sub_controller_sn(result.confirmations[3]).has_value());
  EXPECT_EQ(return_code_name(result.confirmations[3].return_code),
            "Failed to remotely cancel the alarm");
}

// ---------------------------------------------------------------------------
// CONTROL DEVICE (§9.4) and remote identification (§10)
// ---------------------------------------------------------------------------

TEST(ControlDeviceTest, RendersTheSpecExamples) {
  EXPECT_EQ(render_control_device(open_door(1, 5)), "CONTROL DEVICE 01010105");
  EXPECT_EQ(render_control_device(ControlDevice{2, 1, 0, 0, std::nullopt}),
            "CONTROL DEVICE 02010000");
  EXPECT_EQ(render_control_device(ControlDevice{3, 0, 0, 0, std::nullopt}),
            "CONTROL DEVICE 03000000");
  EXPECT_EQ(render_control_device(ControlDevice{9, 0, 0, 0, 0}), "CONTROL DEVICE 0900000000");
  EXPECT_EQ(render_control_device(ControlDevice{11, 1, 0, 0, std::nullopt}),
            "CONTROL DEVICE 0B010000");
  EXPECT_EQ(render_control_device(ControlDevice{13, 0, 0, 0, std::nullopt}),
            "CONTROL DEVICE 0D000000");
  EXPECT_EQ(static_cast<int>(ControlOperation::SubDeviceStatus), 13);
}

TEST(ControlDeviceTest, RefusesValuesThatDoNotFitAByte) {
  EXPECT_EQ(render_control_device(1, 1, 1, 255), "CONTROL DEVICE 010101FF");
  EXPECT_EQ(render_control_device(4, 16, 1, 0), "CONTROL DEVICE 04100100");
  EXPECT_FALSE(render_control_device(1, 256, 1, 5).has_value());
  EXPECT_FALSE(render_control_device(1, -1, 1, 5).has_value());
  EXPECT_FALSE(render_control_device(300, 1, 1, 5).has_value());
  EXPECT_FALSE(render_control_device(1, 1, 1, 1000).has_value());
}

}  // namespace
}  // namespace pushgate::adapters::zkpush::security
