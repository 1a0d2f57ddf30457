// Issue 12: no terminal acts for another, and unknown serials cost nothing.
// An in-process gateway over real HTTP on loopback: command results count
// only from the terminal a command was sent to (both flavours), a registered
// Security PUSH terminal cannot be re-registered (or its handshake answered)
// by someone without its token, a flood of invented serials stores nothing
// and logs a bounded number of lines, remote identification gives verdicts
// only to accepted, registered access terminals, a refused registration is
// 406, and a resent bad batch is quarantined once.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <sstream>
#include <string>

#include <spdlog/sinks/ostream_sink.h>
#include <nlohmann/json.hpp>

#include "adapters/zkpush/zkpush_security_protocol.hpp"
#include "gateway/logging.hpp"
#include "tests/integration/zkpush_terminal_support.hpp"
#include "tests/support/gateway_harness.hpp"
#include "tests/support/http_fixture.hpp"

namespace pushgate::test {
namespace {

using nlohmann::json;

// Every zkpush log line while it lives (an extra sink on the zkpush logger).
class ZkpushLogCapture {
 public:
  ZkpushLogCapture() : sink_(std::make_shared<spdlog::sinks::ostream_sink_mt>(out_)) {
    logger("zkpush")->sinks().push_back(sink_);
  }
  ~ZkpushLogCapture() {
    auto& sinks = logger("zkpush")->sinks();
    sinks.erase(std::remove(sinks.begin(), sinks.end(), sink_), sinks.end());
  }
  std::size_t lines_with(const std::string& text) {
    sink_->flush();
    std::istringstream in(out_.str());
    std::size_t n = 0;
    for (std::string line; std::getline(in, line);) {
      n += line.find(text) != std::string::npos ? 1 : 0;
    }
    return n;
  }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink_;
};

// Item 4, attendance flavour: a result from another serial (unknown,
// pending, or another configured terminal) or before the command was sent
// does not finish it; the terminal it was sent to still does.
TEST(ZkpushIdentTest, AttendanceResultsCountOnlyFromTheTerminalTheCommandWasSentTo) {
  GatewayHarness h({"gateway.unknown_terminals=pending", "terminals.REAL1.name=\"door\"",
                    "terminals.OTHER1.name=\"other\""});
  auto port = h.zkpush_port();
  auto id = queue(h, "REAL1", {{"verb", "delete_user"}, {"params", {{"pin", "1"}}}});
  ASSERT_GT(id, 0);
  const std::string result = "ID=" + std::to_string(id) + "&Return=0&CMD=DATA";

  // Before it was sent: nobody finishes it, not even REAL1.
  for (const std::string sn : {"UNK1", "OTHER1", "REAL1"}) {
    auto a = send(port, "POST", "/iclock/devicecmd?SN=" + sn, result);
    EXPECT_EQ(a.status, 200) << sn << ": " << a.body;
    EXPECT_EQ(a.body, "OK");
  }
  EXPECT_EQ(command_state(h, id), "queued");

  auto poll = send(port, "GET", "/iclock/getrequest?SN=REAL1");
  ASSERT_EQ(poll.body.rfind("C:" + std::to_string(id) + ":", 0), 0u) << poll.body;
  for (const std::string sn : {"UNK1", "OTHER1"}) {
    EXPECT_EQ(send(port, "POST", "/iclock/devicecmd?SN=" + sn, result).body, "OK");
  }
  EXPECT_EQ(command_state(h, id), "sent") << "another terminal's result finished it";
  EXPECT_EQ(metric(h, "pushgate_zkpush_command_results_refused_total{reason=\"other_terminal\"}"),
            4);
  EXPECT_EQ(metric(h, "pushgate_zkpush_command_results_refused_total{reason=\"not_sent\"}"), 1);

  EXPECT_EQ(send(port, "POST", "/iclock/devicecmd?SN=REAL1", result).body, "OK");
  EXPECT_EQ(command_state(h, id), "done");
}

// Item 4, Security PUSH: under token_check=enforce another registered
// access terminal (with its own valid token) cannot finish ACC1's command.
TEST(ZkpushIdentTest, SecurityResultsCountOnlyFromTheTerminalTheCommandWasSentTo) {
  GatewayHarness h({"zkpush.token_check=enforce"});
  AccessTerminal acc{h.zkpush_port(), "ACC1"};
  AccessTerminal other{h.zkpush_port(), "ACC2"};
  acc.connect();
  other.connect();
  auto id = queue(h, "ACC1", {{"verb", "delete_user"}, {"params", {{"pin", "1"}}}});
  ASSERT_GT(id, 0);
  const std::string result = "ID=" + std::to_string(id) + "&Return=0&CMD=DATA";
  auto poll = acc.get("/iclock/getrequest?SN=ACC1");
  ASSERT_EQ(poll.status, 200);
  ASSERT_NE(poll.body.find("C:" + std::to_string(id) + ":"), std::string::npos) << poll.body;

  auto forged = other.post("/iclock/devicecmd?SN=ACC2", result);
  EXPECT_EQ(forged.status, 200) << forged.body;
  EXPECT_EQ(command_state(h, id), "sent");
  EXPECT_EQ(metric(h, "pushgate_zkpush_command_results_refused_total{reason=\"other_terminal\"}"),
            1);
  EXPECT_EQ(acc.post("/iclock/devicecmd?SN=ACC1", result).status, 200);
  EXPECT_EQ(command_state(h, id), "done");
}

// Item 5: under token_check=enforce nobody without the current token gets
// the RegistryCode again (registry 406, handshake 401), the real terminal's
// token keeps working, the API never lists the secrets, and an operator
// reset lets the terminal register afresh.
TEST(ZkpushIdentTest, RegisteredTerminalCannotBeReRegisteredWithoutItsToken) {
  GatewayHarness h({"zkpush.token_check=enforce"});
  auto port = h.zkpush_port();
  AccessTerminal acc{port, "ACC1"};
  acc.connect();
  const std::string rtlog = "/iclock/cdata?SN=ACC1&table=rtlog";
  const std::string record =
      "time=2026-11-21 08:00:00\tpin=1\tcardno=0\teventaddr=1\tevent=0\t"
      "inoutstatus=0\tverifytype=1\tindex=1\n";

  auto stolen = send(port, "POST", "/iclock/registry?SN=ACC1", kRegistryBody);
  EXPECT_EQ(stolen.status, 406) << stolen.body;
  EXPECT_EQ(stolen.body.find(acc.registry_code), std::string::npos);
  auto shake = send(port, "GET", "/iclock/cdata?SN=ACC1&options=all&pushver=3.1.2&DeviceType=acc");
  EXPECT_EQ(shake.status, 401) << shake.body;
  EXPECT_EQ(shake.body.find(acc.registry_code), std::string::npos);
  EXPECT_EQ(metric(h, "pushgate_refused_requests_total{reason=\"reregistration_refused\"}"), 1);

  // The real terminal is unaffected: its token works, and with it it may
  // register again (same code) and handshake (a new session).
  EXPECT_EQ(acc.post(rtlog, record).body, "OK");
  auto again = acc.post("/iclock/registry?SN=ACC1", kRegistryBody);
  EXPECT_EQ(again.body, "RegistryCode=" + acc.registry_code);
  auto mine = acc.get("/iclock/cdata?SN=ACC1&options=all&pushver=3.1.2&DeviceType=acc");
  ASSERT_EQ(mine.status, 200) << mine.body;
  acc.session_id = line_value(mine.body, "SessionID");
  EXPECT_EQ(acc.post(rtlog, record).body, "OK");

  // Secrets are not listed.
  auto list = http_request(h.api_port(), "GET", "/api/v1/terminals");
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(list.body.find(acc.registry_code), std::string::npos);
  EXPECT_EQ(list.body.find(acc.session_id), std::string::npos);
  EXPECT_EQ(list.body.find("registry_code"), std::string::npos);
  EXPECT_EQ(list.body.find("session_id"), std::string::npos);
  auto listed = json::parse(list.body);
  ASSERT_EQ(listed["terminals"].size(), 1u);
  EXPECT_EQ(listed["terminals"][0]["info"]["registered"], true);

  // The operator reset: the terminal registers afresh, with a new code.
  EXPECT_EQ(http_request(h.api_port(), "POST", "/api/v1/terminals/NOPE/reset-registration").status,
            404);
  auto reset = http_request(h.api_port(), "POST", "/api/v1/terminals/ACC1/reset-registration");
  EXPECT_EQ(reset.status, 200) << reset.body;
  EXPECT_EQ(acc.post(rtlog, record).status, 401) << "the old session is gone";
  auto old_code = acc.registry_code;
  acc.registry_code.clear();
  acc.session_id.clear();
  acc.connect();
  EXPECT_NE(acc.registry_code, old_code);
  EXPECT_EQ(acc.post(rtlog, record).body, "OK");
}

// Item 8: thousands of invented serials under `refuse` store nothing and
// log a bounded number of lines; under `pending` at most
// gateway.max_pending_terminals are kept.
TEST(ZkpushIdentTest, FloodOfUnknownSerialsStoresNothingAndLogsBoundedLines) {
  constexpr int kFlood = 3000;
  {
    ZkpushLogCapture log;
    GatewayHarness h({"gateway.unknown_terminals=refuse", "log.level=info"});
    auto port = h.zkpush_port();
    for (int i = 0; i < kFlood; ++i) {
      auto a = send(port, "GET", "/iclock/ping?SN=FLOOD" + std::to_string(i));
      ASSERT_EQ(a.status, 403) << i << ": " << a.body;
    }
    EXPECT_EQ(metric(h, "pushgate_refused_requests_total{reason=\"unknown_terminal\"}"), kFlood);
    auto list = json::parse(http_request(h.api_port(), "GET", "/api/v1/terminals").body);
    EXPECT_EQ(list["terminals"].size(), 0u);
    h.stop();
    EXPECT_EQ(h.query_int("SELECT COUNT(*) FROM terminals"), 0);
    // One line a minute: the flood takes far less than a few minutes.
    auto lines = log.lines_with("refused unknown serial");
    EXPECT_GE(lines, 1u);
    EXPECT_LE(lines, 5u);
  }
  {
    GatewayHarness h({"gateway.unknown_terminals=pending", "gateway.max_pending_terminals=5"});
    auto port = h.zkpush_port();
    int answered = 0;
    for (int i = 0; i < 300; ++i) {
      auto a = send(port, "GET", "/iclock/cdata?SN=PEND" + std::to_string(i) + "&options=all");
      answered += a.status == 200 ? 1 : 0;
    }
    EXPECT_EQ(answered, 5);
    EXPECT_EQ(metric(h, "pushgate_refused_requests_total{reason=\"pending_limit\"}"), 295);
    EXPECT_EQ(h.query_int("SELECT COUNT(*) FROM terminals"), 5);
    // Those already pending are still answered.
    EXPECT_EQ(send(port, "GET", "/iclock/cdata?SN=PEND0&options=all").status, 200);
  }
}

// Item 9: remote identification is no PIN oracle: a serial that is not an
// accepted, registered access terminal hears the same undecided FAILED for
// a PIN that exists and one that does not.
TEST(ZkpushIdentTest, RemoteIdentificationGivesVerdictsOnlyToAcceptedRegisteredTerminals) {
  GatewayHarness h;
  auto port = h.zkpush_port();
  auto user = http_request(h.api_port(), "PUT", "/api/v1/access/users/42",
                           R"({"name":"Ada","cards":["123456"],"levels":[]})");
  ASSERT_EQ(user.status, 200) << user.body;
  auto ask = [&](const std::string& sn, const std::string& pin, const std::string& token) {
    auto a = send(port, "POST", "/iclock/cdata?SN=" + sn + "&AuthType=device",
                  "time=2026-11-21 09:00:00\tpin=" + pin +
                      "\tcardno=0\taddrtype=2\teventaddr=1\tevent=0\tinoutstatus=0\tverifytype=1",
                  token);
    EXPECT_EQ(a.status, 200) << a.body;
    EXPECT_EQ(a.body.rfind("AUTH=FAILED", 0), 0u) << a.body;
    return a.body;
  };
  auto known = ask("UNKACC1", "42", {});
  auto unknown = ask("UNKACC1", "77", {});
  EXPECT_NE(known.find("\tevent=0\t"), std::string::npos) << known;
  EXPECT_NE(unknown.find("\tevent=0\t"), std::string::npos) << unknown;
  EXPECT_EQ(known.find("event=23"), std::string::npos);
  EXPECT_EQ(unknown.find("event=27"), std::string::npos);
  EXPECT_EQ(metric(h, "pushgate_zkpush_remote_auth_total{outcome=\"not_admitted\"}"), 2);

  // A registered access terminal gets verdicts: 23 (no access) vs 27 (unknown).
  AccessTerminal acc{port, "ACC1"};
  acc.connect();
  EXPECT_NE(ask("ACC1", "42", acc.token()).find("\tevent=23\t"), std::string::npos);
  EXPECT_NE(ask("ACC1", "77", acc.token()).find("\tevent=27\t"), std::string::npos);
  // Refused over REST: no verdict (403, like every request of it).
  ASSERT_EQ(http_request(h.api_port(), "POST", "/api/v1/terminals/ACC1/refuse").status, 200);
  auto refused = send(port, "POST", "/iclock/cdata?SN=ACC1&AuthType=device",
                      "time=2026-11-21 09:00:00\tpin=42\tcardno=0\taddrtype=2\teventaddr=1\t"
                      "event=0\tinoutstatus=0\tverifytype=1",
                      acc.token());
  EXPECT_EQ(refused.status, 403);
  EXPECT_EQ(refused.body.find("event="), std::string::npos);
}

// Item 10: Security PUSH §4.4 "If registration fails, 406": a refused
// registration is 406 whatever refused it; other requests stay 403.
TEST(ZkpushIdentTest, RefusedRegistrationIs406) {
  {
    GatewayHarness h({"gateway.unknown_terminals=refuse",
                      "terminals.ACC9.networks=[\"10.0.0.0/8\"]", "terminals.ACC8.name=\"lobby\""});
    auto port = h.zkpush_port();
    EXPECT_EQ(send(port, "POST", "/iclock/registry?SN=NEWACC", kRegistryBody).status, 406);
    EXPECT_EQ(send(port, "GET", "/iclock/cdata?SN=NEWACC&options=all").status, 403);
    EXPECT_EQ(send(port, "POST", "/iclock/registry?SN=ACC9", kRegistryBody).status, 406)
        << "outside its networks";
    EXPECT_EQ(send(port, "GET", "/iclock/ping?SN=ACC9").status, 403);
    ASSERT_EQ(http_request(h.api_port(), "POST", "/api/v1/terminals/ACC8/refuse").status, 200);
    EXPECT_EQ(send(port, "POST", "/iclock/registry?SN=ACC8", kRegistryBody).status, 406);
    EXPECT_EQ(send(port, "GET", "/iclock/ping?SN=ACC8").status, 403);
  }
}

// Item 10: the same bad batch sent twice is quarantined once per terminal;
// another terminal's identical line is its own row.
TEST(ZkpushIdentTest, ResentBadBatchIsQuarantinedOnce) {
  GatewayHarness h;
  auto port = h.zkpush_port();
  const std::string batch =
      "1\t2026-11-21 08:00:00\t0\t1\t\t0\t0\n"
      "201\t2020-09-23 10:00:02\n"
      "203\t2020-09-23T10:00:04\t0\t1\t\t0\t0\n";
  for (int i = 0; i < 2; ++i) {
    auto a = send(port, "POST", "/iclock/cdata?SN=ATT1&table=ATTLOG", batch);
    ASSERT_EQ(a.status, 200) << a.body;
  }
  auto first = h.query_int("SELECT COUNT(*) FROM quarantine WHERE terminal_sn = 'ATT1'");
  EXPECT_EQ(first, 2);
  EXPECT_EQ(send(port, "POST", "/iclock/cdata?SN=ATT2&table=ATTLOG", batch).status, 200);
  EXPECT_EQ(h.query_int("SELECT COUNT(*) FROM quarantine WHERE terminal_sn = 'ATT2'"), 2);
  EXPECT_EQ(h.query_int("SELECT COUNT(*) FROM quarantine"), 4);
  EXPECT_EQ(metric(h, "pushgate_quarantined_lines_total"), 4);
}

}  // namespace
}  // namespace pushgate::test
