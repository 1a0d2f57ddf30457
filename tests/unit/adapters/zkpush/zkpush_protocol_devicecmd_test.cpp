// Attendance PUSH devicecmd tests: the command results a terminal posts back.
#include "adapters/zkpush/zkpush_protocol.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/unit/adapters/zkpush/zkpush_protocol_test_support.hpp"

namespace pushgate::adapters::zkpush {
namespace {

using test_support::captured;
using test_support::handmade;
using test_support::problem_lines;
using test_support::reasons;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// ---------------------------------------------------------------------------
// devicecmd
// ---------------------------------------------------------------------------

TEST(DeviceCmdParserTest, ParsesSingleConfirmation) {
  const DeviceCmdResult result = parse_devicecmd(captured("devicecmd-data-ok.http").body);
  EXPECT_TRUE(result.problems.empty());
  ASSERT_EQ(result.confirmations.size(), 1U);
  const CommandConfirmation& c = result.confirmations[0];
  EXPECT_EQ(c.id, "1630");
  EXPECT_EQ(c.return_code, 0);
  EXPECT_EQ(c.cmd, "DATA");
  EXPECT_EQ(c.line, 1U);
  EXPECT_EQ(c.line_count, 1U);
  EXPECT_EQ(c.raw, "ID=1630&Return=0&CMD=DATA");
  EXPECT_TRUE(c.extra.empty());
}

TEST(DeviceCmdParserTest, ParsesInfoAnswerWithItsKeyValueLines) {
  const DeviceCmdResult result = parse_devicecmd(captured("devicecmd-info.http").body);
  EXPECT_TRUE(result.problems.empty());
  ASSERT_EQ(result.confirmations.size(), 1U);
  const CommandConfirmation& c = result.confirmations[0];
  EXPECT_EQ(c.id, "1626");
  EXPECT_EQ(c.cmd, "INFO");
  EXPECT_EQ(c.line_count, 65U);
  EXPECT_EQ(c.extra.size(), 64U);
  EXPECT_EQ(c.extra.front().key, "~DeviceName");
  EXPECT_EQ(*find_value(c.extra, "~OEMVendor"), "ZKTeco Co., Ltd.");
  EXPECT_EQ(*find_value(c.extra, "MainTime"), "1970-01-01 00:00:00");
  EXPECT_EQ(*find_value(c.extra, "maxmcucardbits"), "");
  EXPECT_EQ(*find_value(c.extra, "MultiBioVersion"), "0:10.0:0:0:0:0:0:0:12.0:58.10");
}

TEST(DeviceCmdParserTest, ParsesNegativeReturnCodes) {
  const DeviceCmdResult unsupported =
      parse_devicecmd(captured("devicecmd-data-unsupported.http").body);
  ASSERT_EQ(unsupported.confirmations.size(), 1U);
  EXPECT_EQ(unsupported.confirmations[0].return_code, -1004);
  const DeviceCmdResult getfile = parse_devicecmd(captured("devicecmd-getfile-failed.http").body);
  ASSERT_EQ(getfile.confirmations.size(), 1U);
  EXPECT_EQ(getfile.confirmations[0].return_code, -2);
  EXPECT_EQ(getfile.confirmations[0].cmd, "GetFile");
}

TEST(DeviceCmdParserTest, ParsesBatchedConfirmations) {
  const DeviceCmdResult result = parse_devicecmd(handmade("devicecmd-batched.http").body);
  EXPECT_TRUE(result.problems.empty());
  std::vector<std::string> ids;
  for (const CommandConfirmation& c : result.confirmations) {
    ids.push_back(c.id);
    EXPECT_EQ(c.cmd, "DATA");
    EXPECT_EQ(c.line_count, 1U);
  }
  EXPECT_THAT(ids, ElementsAre("info8487", "info8488", "info8489", "info7464", "fp7464"));
  EXPECT_EQ(result.confirmations[4].line, 5U);
}

TEST(DeviceCmdParserTest, ParsesCrlfBatchWithEmptyCmdAndExtraPairs) {
  const DeviceCmdResult result =
      parse_devicecmd(handmade("devicecmd-batched-crlf-empty-cmd.http").body);
  EXPECT_TRUE(result.problems.empty());
  ASSERT_EQ(result.confirmations.size(), 4U);
  EXPECT_EQ(result.confirmations[0].raw, "ID=1700&Return=0&CMD=DATA");  // no CR
  EXPECT_EQ(result.confirmations[3].raw, "ID=1703&Return=0&CMD=CLEAR_LOG");
  EXPECT_EQ(result.confirmations[1].id, "1701");
  EXPECT_EQ(result.confirmations[1].return_code, -1002);
  EXPECT_EQ(result.confirmations[1].cmd, "");
  const CommandConfirmation& verify = result.confirmations[2];
  EXPECT_EQ(verify.cmd, "VERIFY SUM");
  EXPECT_EQ(*find_value(verify.extra, "StartTime"), "2020-09-22 00:00:00");
  EXPECT_EQ(*find_value(verify.extra, "EndTime"), "2020-09-23 00:00:00");
  EXPECT_EQ(*find_value(verify.extra, "AttlogSum"), "18");
  EXPECT_EQ(result.confirmations[3].cmd, "CLEAR_LOG");
}

TEST(DeviceCmdParserTest, ParsesAnswersSpreadOverLines) {
  const DeviceCmdResult result =
      parse_devicecmd(handmade("devicecmd-multiline-putfile-shell.http").body);
  EXPECT_TRUE(result.problems.empty()) << ::testing::PrintToString(reasons(result.problems));
  ASSERT_EQ(result.confirmations.size(), 2U);
  const CommandConfirmation& put = result.confirmations[0];
  EXPECT_EQ(put.id, "1710");
  EXPECT_EQ(put.return_code, 2048);
  EXPECT_EQ(put.cmd, "PutFile");
  EXPECT_EQ(put.line_count, 3U);
  EXPECT_EQ(put.raw, "ID=1710\nReturn=2048\nCMD=PutFile");
  const CommandConfirmation& shell = result.confirmations[1];
  EXPECT_EQ(shell.id, "1711");
  EXPECT_EQ(shell.line, 4U);
  EXPECT_EQ(shell.return_code, 0);
  EXPECT_EQ(shell.cmd, "Shell");
  EXPECT_EQ(*find_value(shell.extra, "SN"), "CKJF202560310");
  EXPECT_EQ(*find_value(shell.extra, "FILENAME"), "shellout.txt");
  // Content runs to the end of the body, LFs and a look-alike ID= included.
  EXPECT_EQ(*find_value(shell.extra, "Content"),
            "total 4\n-rw-r--r-- 1 root root 12 attlog.dat\nID=not-a-new-record\n");
  EXPECT_EQ(shell.line_count, 8U);  // lines 4-11
}

TEST(DeviceCmdParserTest, QuarantinesBrokenConfirmations) {
  const DeviceCmdResult result = parse_devicecmd(handmade("devicecmd-bad-lines.http").body);
  ASSERT_EQ(result.confirmations.size(), 1U);
  EXPECT_EQ(result.confirmations[0].id, "1722");
  EXPECT_THAT(problem_lines(result.problems), ElementsAre(1U, 2U, 3U, 4U));
  const std::vector<std::string> why = reasons(result.problems);
  EXPECT_THAT(why[0], HasSubstr("outside"));
  EXPECT_THAT(why[1], HasSubstr("without ID"));
  EXPECT_THAT(why[2], HasSubstr("without Return"));
  EXPECT_THAT(why[3], HasSubstr("not a number"));
  EXPECT_EQ(result.problems[2].raw, "ID=1720&CMD=DATA");
}

TEST(DeviceCmdParserTest, KeepsStrayLinesWithTheirConfirmation) {
  const DeviceCmdResult result =
      parse_devicecmd("ID=1&Return=0&CMD=INFO&flag\nk=v\n\nnot a pair\n");
  EXPECT_TRUE(result.problems.empty());
  ASSERT_EQ(result.confirmations.size(), 1U);
  const CommandConfirmation& c = result.confirmations[0];
  ASSERT_EQ(c.extra.size(), 3U);
  EXPECT_EQ(c.extra[0].key, "flag");
  EXPECT_EQ(c.extra[1].value, "v");
  EXPECT_EQ(c.extra[2].key, "not a pair");
  EXPECT_EQ(c.line_count, 4U);
  EXPECT_EQ(c.raw, "ID=1&Return=0&CMD=INFO&flag\nk=v\n\nnot a pair");
}

TEST(DeviceCmdParserTest, EmptyBodyYieldsNothing) {
  const DeviceCmdResult result = parse_devicecmd("");
  EXPECT_TRUE(result.confirmations.empty());
  EXPECT_TRUE(result.problems.empty());
}

}  // namespace
}  // namespace pushgate::adapters::zkpush
