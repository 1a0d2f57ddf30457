// The access-control terminal simulator (tests/sim/access_terminal.*) against
// a real in-process gateway: it registers (§4), downloads its configuration,
// uploads an enrolment as tabledata and real-time events, executes the
// commands queued over REST in the access dialect, and gets an answer to
// remote identification (§10). What other tests build on.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "tests/sim/access_terminal.hpp"
#include "tests/support/gateway_harness.hpp"
#include "tests/support/io_thread.hpp"
#include "tests/support/processes.hpp"

namespace pushgate::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using sim::AccessTerminal;
using sim::AccessTerminalConfig;
using sim::AccessTerminalStats;

std::shared_ptr<AccessTerminal> make_terminal(IoThread& t, std::uint16_t port, std::string sn) {
  AccessTerminalConfig c;
  c.serial_number = std::move(sn);
  c.http.port = port;
  c.http.timeout = 5s;
  c.poll_interval = 30ms;
  c.error_delay = 50ms;
  return AccessTerminal::create(t.ioc(), c);
}

TEST(AccessTerminalSim, RegistersUploadsAndExecutesCommands) {
  GatewayHarness gw({"zkpush.token_check=enforce"});
  IoThread io;
  auto term = make_terminal(io, gw.zkpush_port(), "ACCSIM0001");
  term->start();
  ASSERT_TRUE(term->wait_until([](const AccessTerminalStats& s) { return s.polls >= 1; }, 10s))
      << "never online; problems: " << term->problems().size();
  // token_check=enforce: every request after registration carried the token.
  EXPECT_EQ(term->access_stats().failures_status, 0u);
  EXPECT_FALSE(term->registry_code().empty());
  EXPECT_EQ(gw.query_int("SELECT count(*) FROM terminals WHERE sn='ACCSIM0001' AND "
                         "flavour='access'"),
            1);

  sim::AccessUser user;
  user.pin = "42";
  user.name = "Ada";
  user.card = "123456";
  sim::AccessTemplate finger;
  finger.type = sim::bio_type::kFingerprint;
  finger.no = 6;
  finger.tmp = "TUlDUk9GSU5HRVI=";
  sim::AccessPhoto face;
  face.type = sim::bio_type::kVisibleFace;
  face.content = "/9j/4AAQSkZJRg==";
  term->enroll(user, {finger}, {face});
  sim::RtLogEvent ev;
  ev.pin = "42";
  ev.event = 0;
  term->add_rtlog(ev);
  ASSERT_TRUE(term->wait_until(
      [](const AccessTerminalStats& s) { return s.uploads_acked >= 4 && s.uploads_pending == 0; },
      10s));
  EXPECT_EQ(gw.query_int("SELECT count(*) FROM terminal_users WHERE pin='42'"), 1);
  EXPECT_EQ(gw.query_int("SELECT count(*) FROM terminal_templates WHERE pin='42' AND "
                         "template='TUlDUk9GSU5HRVI='"),
            1);
  EXPECT_EQ(gw.query_int("SELECT count(*) FROM terminal_photos WHERE pin='42'"), 1);

  // Commands over REST, rendered in the access dialect.
  const auto queue = [&](json body) {
    const auto a =
        http_request(gw.api_port(), "POST", "/api/v1/terminals/ACCSIM0001/commands", body.dump());
    ASSERT_TRUE(a.status == 200 || a.status == 201 || a.status == 202) << a.body;
  };
  queue({{"verb", "upsert_user"}, {"params", {{"pin", "7"}, {"name", "Bo"}, {"card", "99"}}}});
  queue({{"verb", "upsert_template"},
         {"params", {{"pin", "7"}, {"bio_type", 1}, {"no", 3}, {"data", "QUJDRA=="}}}});
  queue({{"verb", "open_door"}, {"params", {{"door", 1}, {"seconds", 5}}}});
  ASSERT_TRUE(term->wait_until(
      [](const AccessTerminalStats& s) {
        return s.command_results_acked >= 3 && s.uploads_pending == 0;
      },
      10s));
  const auto users = term->users();
  ASSERT_EQ(users.count("7"), 1u);
  EXPECT_EQ(users.at("7").name, "Bo");
  EXPECT_EQ(users.at("7").card, "99");
  bool found = false;
  for (const auto& t : term->templates()) {
    found = found || (t.pin == "7" && t.type == 1 && t.no == 3 && t.tmp == "QUJDRA==");
  }
  EXPECT_TRUE(found);
  const auto doors = term->door_actions();
  ASSERT_EQ(doors.size(), 1u);
  EXPECT_EQ(doors[0].control.action, 1);
  EXPECT_EQ(doors[0].control.address, 1);
  EXPECT_EQ(doors[0].control.value, 5);
  for (const auto& c : term->executed_commands()) {
    EXPECT_EQ(c.return_code, 0) << c.text;
  }
  EXPECT_EQ(gw.query_int("SELECT count(*) FROM commands WHERE state='done'"), 3);

  // Remote identification gets an AUTH= answer over its own connection.
  sim::RemoteAuthRequest req;
  req.pin = "42";
  const auto r = term->identify_sync(req, 5s);
  ASSERT_FALSE(r.ec) << r.ec.message();
  EXPECT_EQ(r.status, 200u);
  EXPECT_TRUE(r.answer.ok) << r.body;
  EXPECT_FALSE(r.answer.auth.empty());
  EXPECT_TRUE(term->problems().empty()) << term->problems().front();
  term->stop();
}

// What a 3.x terminal that does not say what it is must get: registered,
// served, its rtlog stored and a command carried out (issue 15, item 1).
void expect_served(GatewayHarness& gw, AccessTerminal& term, const std::string& sn) {
  ASSERT_TRUE(term.wait_until([](const AccessTerminalStats& s) { return s.polls >= 1; }, 10s))
      << "never online; problems: "
      << (term.problems().empty() ? std::string("none") : term.problems().front());
  EXPECT_EQ(term.access_stats().registrations, 1u);
  EXPECT_FALSE(term.registry_code().empty());
  EXPECT_EQ(
      gw.query_int("SELECT count(*) FROM terminals WHERE sn='" + sn + "' AND flavour='access'"), 1);
  sim::RtLogEvent ev;
  ev.pin = "42";
  ev.event = 0;
  term.add_rtlog(ev);
  ASSERT_TRUE(term.wait_until(
      [](const AccessTerminalStats& s) { return s.uploads_acked >= 1 && s.uploads_pending == 0; },
      10s));
  EXPECT_EQ(gw.query_int("SELECT count(*) FROM events WHERE pin='42'"), 1);
  const auto a =
      http_request(gw.api_port(), "POST", "/api/v1/terminals/" + sn + "/commands",
                   json{{"verb", "open_door"}, {"params", {{"door", 1}, {"seconds", 3}}}}.dump());
  ASSERT_EQ(a.status, 202) << a.body;
  ASSERT_TRUE(term.wait_until(
      [](const AccessTerminalStats& s) { return s.command_results_acked >= 1; }, 10s));
  const auto doors = term.door_actions();
  ASSERT_EQ(doors.size(), 1u);
  EXPECT_EQ(doors[0].control.value, 3);
  EXPECT_EQ(gw.query_int("SELECT count(*) FROM commands WHERE state='done'"), 1);
  EXPECT_EQ(term.access_stats().failures_body, 0u);
}

TEST(AccessTerminalSim, HandshakeWithoutDeviceTypeRegistersAndIsServed) {
  GatewayHarness gw({"zkpush.token_check=enforce"});
  IoThread io;
  AccessTerminalConfig c;
  c.serial_number = "ACCNODT001";
  c.http.port = gw.zkpush_port();
  c.http.timeout = 5s;
  c.poll_interval = 30ms;
  c.error_delay = 50ms;
  c.profile.handshake_device_type = false;  // pushver=3.1.2 only
  auto term = AccessTerminal::create(io.ioc(), c);
  term->start();
  expect_served(gw, *term, c.serial_number);
  EXPECT_GE(term->access_stats().handshakes_ok, 1u);
  term->stop();
}

TEST(AccessTerminalSim, TerminalStartingWithInfoPollRegistersAndIsServed) {
  GatewayHarness gw({"zkpush.token_check=enforce"});
  IoThread io;
  AccessTerminalConfig c;
  c.serial_number = "ACCINFO001";
  c.http.port = gw.zkpush_port();
  c.http.timeout = 5s;
  c.poll_interval = 30ms;
  c.error_delay = 50ms;
  c.profile.handshake_device_type = false;
  c.start_with_info_poll = true;
  auto term = AccessTerminal::create(io.ioc(), c);
  term->start();
  expect_served(gw, *term, c.serial_number);
  // It never sent a handshake: recognised from its first getrequest.
  EXPECT_EQ(term->access_stats().handshakes_ok, 0u);
  EXPECT_EQ(term->access_stats().info_polls, 1u);
  term->stop();
}

// Firmware answers Return=0 when it accepted a command, not when it applied
// it (issue 15, item 3): one option per command, no TAB/CR/LF in a value,
// and read-back verification.
TEST(AccessTerminalSim, SetOptionIsOneCommandPerOptionCheckedAndVerified) {
  GatewayHarness gw;
  IoThread io;
  AccessTerminalConfig c;
  c.serial_number = "ACCOPT0001";
  c.http.port = gw.zkpush_port();
  c.http.timeout = 5s;
  c.poll_interval = 30ms;
  c.error_delay = 50ms;
  c.ignored_options = {"IgnoredOpt"};
  auto term = AccessTerminal::create(io.ioc(), c);
  term->start();
  ASSERT_TRUE(term->wait_until([](const AccessTerminalStats& s) { return s.polls >= 1; }, 10s));
  const std::string target = "/api/v1/terminals/ACCOPT0001/commands";

  // A TAB in a value: refused before it is queued, the field named.
  auto tab = http_request(
      gw.api_port(), "POST", target,
      json{{"verb", "set_option"}, {"params", {{"key", "Delay"}, {"value", "1\t2"}}}}.dump());
  EXPECT_EQ(tab.status, 400) << tab.body;
  EXPECT_NE(tab.body.find("params.value"), std::string::npos) << tab.body;
  tab = http_request(
      gw.api_port(), "POST", target,
      json{{"verb", "set_option"}, {"params", {{"options", {{"A", "1"}, {"B", "x\ny"}}}}}}.dump());
  EXPECT_EQ(tab.status, 400) << tab.body;
  EXPECT_NE(tab.body.find("params.options.B"), std::string::npos) << tab.body;
  EXPECT_EQ(gw.query_int("SELECT count(*) FROM commands"), 0);

  // Two options: two commands, each one SET OPTIONS line.
  const auto two = http_request(
      gw.api_port(), "POST", target,
      json{{"verb", "set_option"}, {"params", {{"options", {{"OptA", "1"}, {"OptB", "2"}}}}}}
          .dump());
  ASSERT_EQ(two.status, 202) << two.body;
  ASSERT_EQ(json::parse(two.body)["commands"].size(), 2u) << two.body;
  ASSERT_TRUE(term->wait_until(
      [](const AccessTerminalStats& s) { return s.command_results_acked >= 2; }, 10s));
  for (const auto& e : term->executed_commands()) {
    EXPECT_EQ(std::count(e.text.begin(), e.text.end(), '='), 1) << e.text;
  }
  EXPECT_EQ(term->options()["OptA"], "1");
  EXPECT_EQ(term->options()["OptB"], "2");

  // Read-back: the ignored option is reported "not applied", the other "verified".
  const auto queue_verified = [&](const std::string& key) {
    const auto a = http_request(
        gw.api_port(), "POST", target,
        json{{"verb", "set_option"}, {"params", {{"key", key}, {"value", "5"}, {"verify", true}}}}
            .dump());
    EXPECT_EQ(a.status, 202) << a.body;
    return json::parse(a.body).value("id", std::int64_t{0});
  };
  const auto ignored = queue_verified("IgnoredOpt");
  const auto applied = queue_verified("OptC");
  const auto command = [&](std::int64_t id) {
    const auto a = http_request(gw.api_port(), "GET", "/api/v1/commands/" + std::to_string(id));
    return json::parse(a.body, nullptr, false);
  };
  const auto text = [](const json& j, const char* key) {
    return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>()
                                                                  : std::string();
  };
  ASSERT_TRUE(wait_for(
      [&] {
        return text(command(ignored), "result").rfind("not applied", 0) == 0 &&
               text(command(applied), "result") == "verified";
      },
      10s))
      << command(ignored).dump() << " " << command(applied).dump();
  EXPECT_EQ(text(command(ignored), "state"), "failed");
  EXPECT_EQ(text(command(applied), "state"), "done");
  term->stop();
}

TEST(AccessTerminalSimProtocol, SpecExamples) {
  // §9.4: open door 1 for 5 s.
  const auto c = sim::parse_control_device("01010105");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->action, 1);
  EXPECT_EQ(c->address, 1);
  EXPECT_EQ(c->target, 1);
  EXPECT_EQ(c->value, 5);
  EXPECT_FALSE(sim::parse_control_device("0101010"));
  EXPECT_FALSE(sim::parse_control_device("01XX0105"));
  // §3.1 example: fingerprint and visible-light face.
  const auto s = sim::parse_bio_support("0:1:0:0:0:0:0:0:1:0");
  EXPECT_TRUE(sim::bio_supported(s, 1));
  EXPECT_FALSE(sim::bio_supported(s, 9));
  EXPECT_TRUE(sim::bio_supported(s, 8));
  EXPECT_FALSE(sim::bio_supported(s, 12));
  // §10 answer.
  const auto a = sim::parse_remote_auth_answer(
      "AUTH=SUCCESS\r\ntime=2024-01-01 08:00:00\tpin=1\tcardno=0\taddrtype=2\teventaddr=1\t"
      "event=0\tinoutstatus=0\tverifytype=1\r\nCONTROL DEVICE 0101010a\r\nTIPS=hello\r\n");
  ASSERT_TRUE(a.ok);
  EXPECT_EQ(a.auth, "SUCCESS");
  EXPECT_EQ(a.control_device, "0101010a");
  EXPECT_EQ(a.tips, "hello");
  EXPECT_EQ(sim::find_field(a.event, "pin").value_or(""), "1");
  EXPECT_TRUE(a.problems.empty());
  EXPECT_FALSE(sim::parse_remote_auth_answer("OK").ok);
  // §4.4 answer and the session token (MD5 hex, RFC 1321 test vector "abc").
  EXPECT_EQ(sim::parse_registry_answer("RegistryCode=Uy47fxftP3").value_or(""), "Uy47fxftP3");
  EXPECT_FALSE(sim::parse_registry_answer("OK"));
  EXPECT_EQ(sim::session_token("a", "b", "c"), "900150983cd24fb0d6963f7d28e17f72");
  const auto cmd = sim::parse_access_command("DATA UPDATE user CardNo=\tPin=1\tPassword=234");
  EXPECT_EQ(cmd.verb, sim::AccessVerb::DataUpdate);
  EXPECT_EQ(cmd.table, "user");
  EXPECT_EQ(cmd.reply_cmd, "DATA");
  EXPECT_EQ(sim::find_field(sim::parse_tab_fields(cmd.argument), "Pin").value_or(""), "1");
}

}  // namespace
}  // namespace pushgate::test
