// Wire rendering of queued commands per dialect (adapters/zkpush/zkpush_commands).
#include "adapters/zkpush/zkpush_commands.hpp"

#include <gtest/gtest.h>

#include <string>

#include "gateway/command.hpp"
#include "gateway/command_spec.hpp"

namespace pushgate::adapters::zkpush {
namespace {

CommandRecord record(const CommandRequest& req, std::int64_t id = 295) {
  CommandRecord c;
  c.id = id;
  c.terminal_sn = req.terminal_sn;
  c.verb = req.verb;
  c.params = req.params;
  return c;
}

CommandQueue::Rendered render(const CommandRequest& req, Dialect d,
                              std::string_view push_version = "2.4.1",
                              const TerminalFormat& f = {}) {
  return render_command(record(req), d, push_version, f);
}

commands::User alice() {
  commands::User u;
  u.pin = "1001";
  u.name = "Alice";
  u.privilege = 0;
  u.password = "234";
  u.card = "12345678";
  u.group = 1;
  return u;
}

TEST(DialectFor, FlavourAndPushVersionDecide) {
  EXPECT_EQ(dialect_for("access", "3.1.2"), Dialect::Access);
  EXPECT_EQ(dialect_for("access", ""), Dialect::Access);
  EXPECT_EQ(dialect_for("attendance", "2.4.1"), Dialect::Attendance);
  EXPECT_EQ(dialect_for("attendance", ""), Dialect::AttendanceLegacy);
}

TEST(RenderAttendance, UserFieldsSeparatedByTabOnly) {
  auto r = render(commands::upsert_user("SN", alice()), Dialect::Attendance);
  ASSERT_TRUE(r.error.empty()) << r.error;
  EXPECT_EQ(r.line,
            "DATA UPDATE USERINFO PIN=1001\tName=Alice\tPri=0\tPasswd=234\tCard=12345678\tGrp=1"
            "\tTZ=0000000000000000\tVerify=-1\tViceCard=");
  EXPECT_EQ(r.line.find(' ', std::string("DATA UPDATE USERINFO ").size()), std::string::npos);
}

TEST(RenderAttendance, LegacyFirmwareGetsOldVerbs) {
  auto r = render(commands::upsert_user("SN", alice()), Dialect::AttendanceLegacy, "");
  EXPECT_EQ(r.line.rfind("DATA USER PIN=1001\tName=Alice", 0), 0U) << r.line;
  EXPECT_EQ(render(commands::delete_user("SN", "7"), Dialect::AttendanceLegacy, "").line,
            "DATA DEL_USER PIN=7");
  EXPECT_EQ(render(commands::delete_user("SN", "7"), Dialect::Attendance).line,
            "DATA DELETE USERINFO PIN=7");
}

TEST(RenderAttendance, ValuesCannotAddFieldsOrCommands) {
  auto u = alice();
  u.name = "Eve\tPri=14\r\nC:9:REBOOT";
  auto r = render(commands::upsert_user("SN", u), Dialect::Attendance);
  EXPECT_NE(r.line.find("\tName=EvePri=14C:9:REBOOT\tPri=0\t"), std::string::npos) << r.line;
  EXPECT_EQ(r.line.find('\n'), std::string::npos);
  EXPECT_EQ(r.line.find('\r'), std::string::npos);
}

TEST(RenderAttendance, FingerprintFormatFollowsPushVersion) {
  commands::Template t;
  t.pin = "1001";
  t.bio_type = 1;
  t.no = 6;
  t.data = "AAAA";
  EXPECT_EQ(render(commands::upsert_template("SN", t), Dialect::Attendance, "2.2.13").line,
            "DATA UPDATE FINGERTMP PIN=1001\tFID=6\tSize=4\tValid=1\tTMP=AAAA");
  EXPECT_EQ(render(commands::upsert_template("SN", t), Dialect::Attendance, "2.4.1").line,
            "DATA UPDATE BIODATA Pin=1001\tNo=6\tIndex=0\tValid=1\tDuress=0\tType=1\tMajorVer=\t"
            "MinorVer=\tFormat=0\tTmp=AAAA");
}

TEST(RenderAttendance, AccessOnlyVerbsFailWithAReason) {
  for (const auto& req :
       {commands::normal_open("SN", 1, true), commands::lock_door("SN", 1, true),
        commands::authorize_user("SN", "1", {1}), commands::deauthorize_user("SN", "1")}) {
    auto r = render(req, Dialect::Attendance);
    EXPECT_TRUE(r.line.empty());
    EXPECT_NE(r.error.find("access-control"), std::string::npos) << req.verb;
  }
  EXPECT_EQ(render(commands::open_door("SN", 1, 5), Dialect::Attendance).line, "AC_UNLOCK");
  EXPECT_EQ(render(commands::query_records("SN", "2026-01-01 00:00:00", "2026-01-02 00:00:00"),
                   Dialect::Attendance)
                .line,
            "DATA QUERY ATTLOG StartTime=2026-01-01 00:00:00\tEndTime=2026-01-02 00:00:00");
}

TEST(RenderAccess, ControlDeviceForDoors) {
  EXPECT_EQ(render(commands::open_door("SN", 1, 5), Dialect::Access).line,
            "CONTROL DEVICE 01010105");
  EXPECT_EQ(render(commands::open_door("SN", 2, 254), Dialect::Access).line,
            "CONTROL DEVICE 010201FE");
  EXPECT_FALSE(render(commands::open_door("SN", 1, 255), Dialect::Access).error.empty());
  EXPECT_FALSE(render(commands::open_door("SN", 0, 5), Dialect::Access).error.empty());
  auto reboot = render(commands::reboot("SN"), Dialect::Access);
  EXPECT_TRUE(reboot.ends_batch);
}

TEST(RenderAccess, UserWithYyyymmddValidityByDefault) {
  auto u = alice();
  u.valid_from = "2026-01-01 00:00:00";
  u.valid_until = "2026-12-31 23:59:59";
  auto r = render(commands::upsert_user("SN", u), Dialect::Access, "3.1.2");
  ASSERT_TRUE(r.error.empty()) << r.error;
  EXPECT_EQ(r.line,
            "DATA UPDATE user CardNo=12345678\tPin=1001\tPassword=234\tGroup=1\tStartTime=20260101"
            "\tEndTime=20261231\tName=Alice\tPrivilege=0");
  EXPECT_EQ(r.line.find('\n'), std::string::npos);
}

TEST(RenderAccess, UserValidityInAppendix5SecondsWhenDateFmtFunOn) {
  auto u = alice();
  u.valid_from = "2018-02-27 14:51:00";
  TerminalFormat f;
  f.date_fmt_seconds = true;
  auto r = render(commands::upsert_user("SN", u), Dialect::Access, "3.1.2", f);
  ASSERT_TRUE(r.error.empty()) << r.error;
  // 583512660 is the spec's own example value of StartTime.
  EXPECT_NE(r.line.find("\tStartTime=583512660\tEndTime=0\t"), std::string::npos) << r.line;
}

TEST(RenderAccess, UnreadableValidityFailsTheCommand) {
  auto u = alice();
  u.valid_until = "31/12/2026";
  auto r = render(commands::upsert_user("SN", u), Dialect::Access, "3.1.2");
  EXPECT_TRUE(r.line.empty());
  EXPECT_NE(r.error.find("valid_"), std::string::npos);
}

TEST(RenderAccess, AuthorizeIsItsOwnCommandWithADoorMask) {
  EXPECT_EQ(
      render(commands::authorize_user("SN", "1001", {1, 3}, 2), Dialect::Access).line,
      "DATA UPDATE userauthorize Pin=1001\tAuthorizeTimezoneId=2\tAuthorizeDoorId=5\tDevID=1");
  EXPECT_EQ(render(commands::deauthorize_user("SN", "1001"), Dialect::Access).line,
            "DATA DELETE userauthorize Pin=1001");
  EXPECT_FALSE(render(commands::authorize_user("SN", "1001", {}), Dialect::Access).error.empty());
  EXPECT_FALSE(render(commands::authorize_user("SN", "1001", {31}), Dialect::Access).error.empty());
}

TEST(RenderAccess, QueriesUseTablenameFielddescFilter) {
  EXPECT_EQ(render(commands::query_users("SN"), Dialect::Access).line,
            "DATA QUERY tablename=user,fielddesc=*,filter=*");
  EXPECT_EQ(render(commands::query_users("SN", "7"), Dialect::Access).line,
            "DATA QUERY tablename=user,fielddesc=*,filter=Pin=7");
}

TEST(RenderAnyDialect, UnknownVerbFails) {
  CommandRequest req;
  req.terminal_sn = "SN";
  req.verb = "self_destruct";
  for (auto d : {Dialect::AttendanceLegacy, Dialect::Attendance, Dialect::Access}) {
    auto r = render(req, d);
    EXPECT_TRUE(r.line.empty());
    EXPECT_NE(r.error.find("unknown verb"), std::string::npos);
  }
}

TEST(ZkEncodeTime, MatchesTheSpecAlgorithm) {
  EXPECT_EQ(zk_encode_time("2000-01-01 00:00:00"), 0U);
  EXPECT_EQ(zk_encode_time("2018-02-27 14:51:00"), 583512660U);
  EXPECT_EQ(zk_encode_time("2018-02-27"), 583459200U);
  EXPECT_FALSE(zk_encode_time("1999-12-31 23:59:59"));
  EXPECT_FALSE(zk_encode_time("2026-02-30"));
  EXPECT_FALSE(zk_encode_time("2026-13-01"));
  EXPECT_FALSE(zk_encode_time("2026-01-01 24:00:00"));
  EXPECT_FALSE(zk_encode_time("soon"));
}

TEST(TerminalFormatOf, ReadsCmdFormatAndDateFmtIgnoringTildeAndCase) {
  auto f = terminal_format_of(R"({"~CmdFormat":"1","datefmtfunon":"1","FirmVer":"x"})");
  EXPECT_EQ(f.cmd_format, 1);
  EXPECT_TRUE(f.date_fmt_seconds);
  auto g = terminal_format_of(R"({"CmdFormat":"0","DateFmtFunOn":"0"})");
  EXPECT_EQ(g.cmd_format, 0);
  EXPECT_FALSE(g.date_fmt_seconds);
  EXPECT_EQ(terminal_format_of("").cmd_format, 0);
  EXPECT_EQ(terminal_format_of("not json").cmd_format, 0);
}

TEST(RenderForTerminal, CmdFormat1PrefixesAccessCommands) {
  TerminalFormat f;
  f.cmd_format = 1;
  auto r = render_for_terminal(record(commands::open_door("DDG7012017010600049", 1, 5)),
                               Dialect::Access, "3.1.2", f, "DDG7012017010600049");
  EXPECT_EQ(r.prefix, "DataType=1, SN=DDG7012017010600049, Priority=0, CmdID=295, CmdDesc=");
  EXPECT_EQ(r.line, "CONTROL DEVICE 01010105");
  auto plain = render_for_terminal(record(commands::open_door("SN", 1, 5)), Dialect::Access,
                                   "3.1.2", TerminalFormat{}, "SN");
  EXPECT_TRUE(plain.prefix.empty());
  // Attendance terminals have no CmdFormat; a stray option changes nothing.
  auto att =
      render_for_terminal(record(commands::info("SN")), Dialect::Attendance, "2.4.1", f, "SN");
  EXPECT_TRUE(att.prefix.empty());
}

// §9.1.1: "${LF} is used to connect multiple records" — one DATA UPDATE,
// the table named once, one result for all.
TEST(RenderCommand, ABatchIsOneDataUpdateWithARecordPerLine) {
  CommandRequest req;
  req.terminal_sn = "SN";
  req.verb = "batch";
  req.params = {{"commands",
                 {{{"verb", "upsert_biophoto"},
                   {"params", {{"pin", "1"}, {"bio_type", 9}, {"data", "QUJD"}}}},
                  {{"verb", "upsert_biophoto"},
                   {"params", {{"pin", "2"}, {"bio_type", 9}, {"data", "REVG"}}}}}}};
  EXPECT_EQ(render(req, Dialect::Access).line,
            "DATA UPDATE biophoto PIN=1\tType=9\tSize=4\tContent=QUJD\tFormat=0\n"
            "PIN=2\tType=9\tSize=4\tContent=REVG\tFormat=0");
  EXPECT_EQ(render(req, Dialect::Attendance).error,
            "batch: only access-control terminals take several records per command");
  req.params["commands"][1]["params"]["bio_type"] = 0;
  EXPECT_EQ(render(req, Dialect::Access).error,
            "batch: upsert_biophoto needs pin, data and bio_type 1..31");
}

// The command spec is the one list of verbs: each verb it allows is one this
// renderer knows in at least one dialect (a verb added to the spec without a
// rendering fails here), and a verb outside it is never rendered.
TEST(RenderCommand, EveryVerbOfTheSpecRendersInSomeDialect) {
  for (const auto& spec : verb_specs()) {
    CommandRequest req;
    req.terminal_sn = "SN";
    req.verb = std::string(spec.verb);
    bool known = false;
    for (auto d : {Dialect::AttendanceLegacy, Dialect::Attendance, Dialect::Access}) {
      known = known || render(req, d).error.rfind("unknown verb", 0) != 0;
    }
    EXPECT_TRUE(known) << spec.verb << " is in the spec but no dialect renders it";
  }
  CommandRequest bogus;
  bogus.verb = "open_dor";
  EXPECT_EQ(render(bogus, Dialect::Access).error, "unknown verb \"open_dor\"");
}

}  // namespace
}  // namespace pushgate::adapters::zkpush
