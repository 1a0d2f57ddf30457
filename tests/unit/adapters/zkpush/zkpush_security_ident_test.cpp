// Included first: proves the header is self-contained.
#include "adapters/zkpush/zkpush_security_ident.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/unit/adapters/zkpush/zkpush_security_test_support.hpp"

namespace pushgate::adapters::zkpush::security {
namespace {

using test_support::fixture;
using test_support::HttpRequestFixture;
using test_support::problem_lines;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// ---------------------------------------------------------------------------
// Remote identification (§10)
// ---------------------------------------------------------------------------

TEST(RemoteAuthTest, ParsesTheRequestRecord) {
  const HttpRequestFixture request = fixture("remote-auth-10-format.http");
  const RemoteAuthResult result = parse_remote_auth(request.body);
  EXPECT_TRUE(result.problems.empty());
  ASSERT_TRUE(result.request.has_value());
  const RtlogRecord& e = result.request->event;
  EXPECT_EQ(result.request->addr_type, 2);
  EXPECT_EQ(e.time, (DeviceTime{2017, 1, 10, 11, 49, 32}));
  EXPECT_EQ(e.pin, "1");
  EXPECT_EQ(e.card_no, "123456789");
  EXPECT_EQ(e.event_addr, 1);
  EXPECT_EQ(e.event, 0);
  EXPECT_EQ(e.in_out_status, 0);
  EXPECT_EQ(e.verify_mode, 4);
  EXPECT_TRUE(e.extra.empty());  // addrtype is typed, not extra
  EXPECT_EQ(e.raw, request.body);
}

TEST(RemoteAuthTest, QuarantinesExtraAndBadLines) {
  const RemoteAuthResult two =
      parse_remote_auth("time=2024-01-01 00:00:00\tpin=1\r\ntime=2024-01-01 00:00:01\tpin=2\r\n");
  ASSERT_TRUE(two.request.has_value());
  EXPECT_EQ(two.request->event.pin, "1");
  EXPECT_THAT(problem_lines(two.problems), ElementsAre(2U));
  const RemoteAuthResult bad = parse_remote_auth("pin=1\tevent=0");
  EXPECT_FALSE(bad.request.has_value());
  ASSERT_EQ(bad.problems.size(), 1U);
  EXPECT_THAT(bad.problems[0].reason, HasSubstr("without time"));
  const RemoteAuthResult bad_addr = parse_remote_auth("time=x\taddrtype=door");
  EXPECT_FALSE(bad_addr.request.has_value());
  EXPECT_EQ(bad_addr.problems.size(), 1U);
  EXPECT_FALSE(parse_remote_auth("").request.has_value());
}

TEST(RemoteAuthTest, RendersSuccessWithTheDoorCommand) {
  const RemoteAuthResult request = parse_remote_auth(fixture("remote-auth-10-format.http").body);
  ASSERT_TRUE(request.request.has_value());
  RemoteAuthAnswer answer;
  answer.verdict = AuthVerdict::Success;
  answer.event = request.request->event.raw;
  answer.control = open_door(1, 5);
  answer.tips = "Welcome";
  EXPECT_EQ(render_remote_auth_answer(answer),
            "AUTH=SUCCESS\r\n"
            "time=2017-01-10 11:49:32\tpin=1\tcardno=123456789\taddrtype=2\teventaddr=1\tevent=0\t"
            "inoutstatus=0\tverifytype=4\r\n"
            "CONTROL DEVICE 01010105\r\n"
            "TIPS=Welcome");
}

TEST(RemoteAuthTest, FailureNeverCarriesTheDoorCommand) {
  RemoteAuthAnswer answer;
  answer.verdict = AuthVerdict::Failed;
  answer.event = "time=2017-01-10 11:49:32\tpin=1";
  answer.control = open_door(1, 5);
  EXPECT_EQ(render_remote_auth_answer(answer), "AUTH=FAILED\r\ntime=2017-01-10 11:49:32\tpin=1");
  answer.verdict = AuthVerdict::Timeout;
  answer.event.clear();
  answer.tips = "line1\r\nAUTH=SUCCESS";
  EXPECT_EQ(render_remote_auth_answer(answer), "AUTH=TIMEOUT\r\nTIPS=line1AUTH=SUCCESS");
  EXPECT_EQ(to_string(AuthVerdict::Success), "SUCCESS");
}

TEST(RemoteAuthTest, TipsCannotForgeACommandLine) {
  // Fuzz corpus remote_auth_corpus/regression-fuzz-target-nul-joined-control-device.body:
  // removing CR, LF and NUL may join bytes into "CONTROL DEVICE", but only
  // inside the TIPS line, never as a line of its own.
  using namespace std::string_literals;
  RemoteAuthAnswer answer;
  answer.verdict = AuthVerdict::Failed;
  answer.tips = "x\r\nCONTROL DEVI\0CE 01010105"s;
  EXPECT_EQ(render_remote_auth_answer(answer), "AUTH=FAILED\r\nTIPS=xCONTROL DEVICE 01010105");
}

TEST(RemoteAuthTest, EventCodeReplacesOnlyTheEventField) {
  const RemoteAuthResult request = parse_remote_auth(fixture("remote-auth-10-format.http").body);
  ASSERT_TRUE(request.request.has_value());
  EXPECT_EQ(with_event_code(request.request->event.raw, 24),
            "time=2017-01-10 11:49:32\tpin=1\tcardno=123456789\taddrtype=2\teventaddr=1\t"
            "event=24\tinoutstatus=0\tverifytype=4");
  // "eventaddr=" is not "event=", and a record without one gets it appended.
  EXPECT_EQ(with_event_code("pin=1\teventaddr=3", 27), "pin=1\teventaddr=3\tevent=27");
  EXPECT_EQ(with_event_code("", 44), "event=44");
}

}  // namespace
}  // namespace pushgate::adapters::zkpush::security
