// A simulated access-control terminal (Security PUSH 3.x, DeviceType=acc)
// against an in-process gateway over real HTTP (and HTTPS): registration,
// handshake, the configuration download, every upload table with the
// byte-exact spec fixtures of tests/fixtures/zkpush/security/, door state,
// the session token and command round trips through the REST API.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <regex>
#include <string>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "adapters/zkpush/zkpush_adapter.hpp"
#include "adapters/zkpush/zkpush_security_protocol.hpp"
#include "tests/support/gateway_harness.hpp"
#include "tests/support/http_fixture.hpp"
#include "tests/support/processes.hpp"

namespace pushgate::test {
namespace {

namespace sec = adapters::zkpush::security;

const std::filesystem::path kFixtures =
    std::filesystem::path(PUSHGATE_SOURCE_DIR) / "tests/fixtures/zkpush/security";

constexpr const char* kSn = "3383154200002";

using Sender = std::function<HttpAnswer(const std::string&)>;

// A request as a terminal writes it; Cookie only when a token is given.
std::string request(const std::string& method, const std::string& target, const std::string& body,
                    const std::string& token = {}) {
  std::string out = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
                    "User-Agent: iClock Proxy/1.09\r\nConnection: close\r\n";
  if (!token.empty()) {
    out += "Cookie: token=" + token + "\r\n";
  }
  out += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  return out;
}

// A spec fixture, byte for byte, with the serial and the Cookie replaced by
// this terminal's (the spec's tokens belong to its own sessions).
std::string fixture(const std::string& name, const std::string& sn, const std::string& token) {
  auto f = load_http_fixture(kFixtures / name);
  std::string raw = f.raw;
  auto line_end = raw.find("\r\n");
  std::string first =
      std::regex_replace(raw.substr(0, line_end), std::regex("SN=[^& ]+"), "SN=" + sn);
  raw = first + raw.substr(line_end);
  static const std::regex cookie("Cookie: [^\r]*\r\n");
  raw = std::regex_replace(raw, cookie, "", std::regex_constants::format_first_only);
  if (!token.empty()) {
    raw.insert(raw.find("\r\n") + 2, "Cookie: token=" + token + "\r\n");
  }
  return raw;
}

// The terminal side of a session.
struct Terminal {
  Sender send;
  std::string sn = kSn;
  std::string registry_code;
  std::string session_id;

  std::string token() const {
    return sec::compute_token(registry_code, sn, session_id).value_or("");
  }
  HttpAnswer fixture(const std::string& name) {
    return send(pushgate::test::fixture(name, sn, token()));
  }
  HttpAnswer get(const std::string& target) { return send(request("GET", target, {}, token())); }
  HttpAnswer post(const std::string& target, const std::string& body) {
    return send(request("POST", target, body, token()));
  }
  // §4.1 handshake (unregistered) -> §4.4 registry -> §4.1 handshake -> §4.5 push.
  void register_and_connect() {
    auto hello = send(
        request("GET", "/iclock/cdata?SN=" + sn + "&options=all&pushver=3.1.2&DeviceType=acc", {}));
    ASSERT_EQ(hello.status, 200);
    if (registry_code.empty()) {
      EXPECT_EQ(hello.body, "OK");
    }
    auto reg = send(pushgate::test::fixture("registry-4.4-example.http", sn, {}));
    ASSERT_EQ(reg.status, 200) << reg.body;
    ASSERT_EQ(reg.body.rfind("RegistryCode=", 0), 0u) << reg.body;
    registry_code = reg.body.substr(13);
    EXPECT_TRUE(sec::valid_registry_code(registry_code)) << reg.body;
    auto shake = send(pushgate::test::fixture("handshake-4.1-example.http", sn, {}));
    ASSERT_EQ(shake.status, 200);
    ASSERT_EQ(shake.body.rfind("registry=ok\nRegistryCode=" + registry_code + "\n", 0), 0u)
        << shake.body;
    EXPECT_EQ(line_value(shake.body, "PushProtVer"), "3.0.1");
    EXPECT_FALSE(line_value(shake.body, "RequestDelay").empty());
    EXPECT_FALSE(line_value(shake.body, "TransTables").empty());
    session_id = line_value(shake.body, "SessionID");
    ASSERT_FALSE(session_id.empty()) << shake.body;
    auto push = fixture("push-4.5-example.http");
    ASSERT_EQ(push.status, 200);
    EXPECT_EQ(line_value(push.body, "SessionID"), session_id) << push.body;
    EXPECT_FALSE(line_value(push.body, "ServerVersion").empty());
  }
};

Terminal plain(std::uint16_t port) {
  Terminal t;
  t.send = [port](const std::string& bytes) { return send_raw(port, bytes); };
  return t;
}

std::int64_t events(GatewayHarness& h, const std::string& where, const std::string& sn = kSn) {
  return h.query_int(
      "SELECT COUNT(*) FROM events e JOIN terminals t ON t.id = e.terminal_id WHERE t.sn = ?1 "
      "AND " +
          where,
      {sn});
}

TEST(ZkpushSecurityTest, RegistrationHandshakeAndEveryUpload) {
  GatewayHarness h({"zkpush.token_check=enforce", "gateway.timezone=+08:00"});
  auto t = plain(h.zkpush_port());
  t.register_and_connect();
  // The registration is stored with the terminal; registering again keeps
  // the code, for the terminal holding its token only (§4.4: else 406).
  EXPECT_EQ(h.query_int("SELECT COUNT(*) FROM terminals WHERE sn = ?1 AND flavour = 'access'"
                        " AND device_type = 'acc'",
                        {kSn}),
            1);
  // ...and described in vendor-neutral terms (issue 14): F20/M, LockCount=1,
  // ReaderCount=2, FingerFunOn=1, AutoServerFunOn=1 (remote identification).
  EXPECT_EQ(h.query_int("SELECT COUNT(*) FROM terminals WHERE sn = ?1 AND vendor = 'zkteco'"
                        " AND protocol = 'zkpush-security' AND model = 'F20/M'"
                        " AND json_extract(capabilities, '$.doors') = 1"
                        " AND json_extract(capabilities, '$.readers') = 2"
                        " AND json_extract(capabilities, '$.biometrics[0]') = 'fingerprint'"
                        " AND json_extract(capabilities, '$.decision') = 'gateway'"
                        " AND json_extract(capabilities, '$.user_sync') = 1",
                        {kSn}),
            1);
  EXPECT_EQ(h.query_int("SELECT COUNT(*) FROM terminals WHERE sn = ?1"
                        " AND json_extract(info, '$.registration.LockCount') = '1'",
                        {kSn}),
            1);
  EXPECT_EQ(h.query_int("SELECT COUNT(*) FROM terminals WHERE sn = ?1"
                        " AND json_extract(info, '$.registry_code') = ?2",
                        {kSn, t.registry_code}),
            1);
  EXPECT_EQ(t.send(fixture("registry-4.4-example.http", kSn, t.token())).body,
            "RegistryCode=" + t.registry_code);
  EXPECT_EQ(t.send(fixture("registry-4.4-example.http", kSn, {})).status, 406);

  EXPECT_EQ(t.fixture("options-4.6-example.http").body, "OK");
  EXPECT_EQ(h.query_int("SELECT COUNT(*) FROM terminals WHERE sn = ?1"
                        " AND json_extract(options, '$.UserCount') = '7'",
                        {kSn}),
            1);
  EXPECT_EQ(t.fixture("ping-6-example.http").body, "OK");

  // §7.2 rtlog: an access event with its names; a re-upload adds nothing.
  EXPECT_EQ(t.fixture("rtlog-7.2-example.http").body, "OK");
  EXPECT_EQ(events(h,
                   "e.kind = 2 AND e.event_code = 27 AND e.door = 1 AND e.status = 1"
                   " AND e.local_time = '2017-01-10 11:49:32' AND e.utc_ms IS NOT NULL"
                   " AND json_extract(e.extra, '$.event_name') IS NOT NULL"
                   " AND json_extract(e.extra, '$.verify_mode_name') IS NOT NULL"),
            1);
  EXPECT_EQ(t.fixture("rtlog-7.2-example.http").body, "OK");
  EXPECT_EQ(events(h, "e.kind = 2"), 1);
  // Pre-NTP garbage times are kept raw, without UTC; index restarts do not dedup.
  EXPECT_EQ(t.fixture("rtlog-pre-ntp-time.http").body, "OK");
  EXPECT_GE(events(h, "e.utc_ms IS NULL AND e.local_time LIKE '1971%'"), 1);
  EXPECT_EQ(t.fixture("rtlog-door-state-row.http").body, "OK");
  EXPECT_GE(events(h, "e.kind = 4"), 2);
  EXPECT_GE(events(h, "e.kind = 2 AND e.pin = '1001'"), 1);
  EXPECT_EQ(t.fixture("rtlog-crlf-extra-keys.http").body, "OK");
  // Rows with no user (pin=0 or none, verifytype 200) are door or alarm
  // events, never passages; unreadable times are flagged and counted.
  EXPECT_EQ(events(h, "e.kind = 2 AND e.verify_mode = 200"), 0);
  EXPECT_GE(events(h, "e.kind = 4 AND e.verify_mode = 200 AND e.event_code = 200"), 1);
  EXPECT_GE(events(h, "json_extract(e.extra, '$.time_unparsed') = 1"), 1);
  {
    auto metrics = http_request(h.api_port(), "GET", "/metrics");
    EXPECT_NE(metrics.body.find("pushgate_zkpush_rtlog_unreadable_time_total "), std::string::npos)
        << metrics.body;
    EXPECT_EQ(metrics.body.find("pushgate_zkpush_rtlog_unreadable_time_total 0"),
              std::string::npos);
  }
  auto q_before = h.query_int("SELECT COUNT(*) FROM quarantine");
  EXPECT_EQ(t.fixture("rtlog-bad-lines.http").body, "OK");
  EXPECT_GT(h.query_int("SELECT COUNT(*) FROM quarantine"), q_before);

  // §7.3 rtstate: the door's state is stored; an event only when it changes.
  auto door_events = events(h, "e.kind = 4");
  EXPECT_EQ(t.fixture("rtstate-7.3-example.http").body, "OK");
  EXPECT_EQ(h.query_int("SELECT COUNT(*) FROM door_state d JOIN terminals t ON t.id = d.terminal_id"
                        " WHERE t.sn = ?1 AND d.door = 1 AND d.sensor = 'none'"
                        " AND d.relay = 'connected' AND d.alarm = 2",
                        {kSn}),
            1);
  EXPECT_EQ(h.query_int("SELECT COUNT(*) FROM door_state"), 1) << "LockCount=1 cuts the doors";
  EXPECT_EQ(events(h, "e.kind = 4"), door_events + 1);
  EXPECT_EQ(t.fixture("rtstate-7.3-example.http").body, "OK");
  EXPECT_EQ(events(h, "e.kind = 4"), door_events + 1) << "unchanged: no event";
  EXPECT_EQ(t.post(std::string("/iclock/cdata?SN=") + kSn + "&table=rtstate",
                   "time=2017-01-10 15:43:00\tsensor=02\trelay=01\talarm=0000000000000000\r\n")
                .body,
            "OK");
  EXPECT_EQ(events(h, "e.kind = 4"), door_events + 2);
  EXPECT_EQ(h.query_int("SELECT COUNT(*) FROM door_state WHERE sensor = 'open'"
                        " AND relay = 'disconnected' AND alarm = 0"),
            1);
  {
    auto doors = http_request(h.api_port(), "GET", "/api/v1/doors");
    ASSERT_EQ(doors.status, 200) << doors.body;
    auto j = nlohmann::json::parse(doors.body);
    ASSERT_EQ(j["doors"].size(), 1u) << doors.body;
    EXPECT_EQ(j["doors"][0]["terminal"], kSn);
    EXPECT_EQ(j["doors"][0]["sensor"], "open");
    EXPECT_EQ(j["doors"][0]["terminal_state"], "online");
  }

  // §7.5-7.12 tabledata: `<table>=<count>`, stored like the attendance flavour.
  EXPECT_EQ(t.fixture("tabledata-user-7.5-example.http").body, "user=1");
  EXPECT_EQ(h.query_int("SELECT COUNT(*) FROM terminal_users WHERE pin = '4'"), 1);
  EXPECT_EQ(t.fixture("tabledata-templatev10-7.7-example.http").body, "templatev10=2");
  EXPECT_GE(h.query_int("SELECT COUNT(*) FROM terminal_templates WHERE bio_type = 1"), 1);
  EXPECT_EQ(t.fixture("tabledata-biodata-7.11-example.http").body, "biodata=1");
  EXPECT_EQ(t.fixture("tabledata-userpic-7.10-example.http").body, "userpic=1");
  EXPECT_GE(h.query_int("SELECT COUNT(*) FROM terminal_photos WHERE photo_kind = 'userpic'"), 1);
  EXPECT_EQ(t.fixture("tabledata-biophoto-7.8-format.http").body.rfind("biophoto=", 0), 0u);
  EXPECT_EQ(t.fixture("tabledata-identitycard-7.6-example.http").body, "identitycard=1");
  EXPECT_EQ(t.fixture("tabledata-attphoto-7.9-example.http").body, "ATTPHOTO=1");
  EXPECT_EQ(t.fixture("tabledata-errorlog-7.12-example.http").body, "errorlog=1");
  EXPECT_EQ(events(h, "e.kind = 7"), 1);
  EXPECT_EQ(t.fixture("tabledata-deviceauthorize-5-format.http").status, 200);
  auto bad = t.fixture("tabledata-user-bad-lines.http");
  EXPECT_EQ(bad.body.rfind("user=", 0), 0u) << bad.body;

  // Unknown tables: the whole body kept, OK.
  q_before = h.query_int("SELECT COUNT(*) FROM quarantine");
  EXPECT_EQ(t.post(std::string("/iclock/cdata?SN=") + kSn + "&table=mystery", "a=1\tb=2\n").body,
            "OK");
  EXPECT_EQ(h.query_int("SELECT COUNT(*) FROM quarantine"), q_before + 1);

  // §9.1.4 querydata: the records carry the command id.
  EXPECT_EQ(t.fixture("querydata-user-9.1.4-example.http").body, "user=3");
  EXPECT_EQ(events(h, "e.command_id = 415"), 3);
  EXPECT_EQ(t.fixture("querydata-transaction-9.1.4-example.http").body, "transaction=1");
  // (the transaction is the event rtlog reported live: the same key, stored once)
  EXPECT_EQ(t.fixture("querydata-biophoto-9.1.4-example-pack1.http").status, 200);
  EXPECT_EQ(t.fixture("querydata-biophoto-9.1.4-example-pack2.http").status, 200);
  EXPECT_EQ(t.fixture("querydata-count-9.1.3-example.http").body, "user=5");

  // §10 remote identification: PIN 1 came into the access master data with the
  // terminal's user upload above, without an access level: refused (event 23).
  const std::string auth = t.fixture("remote-auth-10-format.http").body;
  EXPECT_EQ(auth.rfind("AUTH=FAILED", 0), 0u);
  EXPECT_NE(auth.find("\tevent=23\t"), std::string::npos) << auth;
  EXPECT_EQ(auth.find("CONTROL DEVICE"), std::string::npos);
}

TEST(ZkpushSecurityTest, RowWithAnOverlongFieldIsQuarantinedTheRestStored) {
  GatewayHarness h({"zkpush.max_field_bytes=4096"});
  auto t = plain(h.zkpush_port());
  t.register_and_connect();
  auto long_rows = [&] {
    return h.query_int(
        "SELECT COUNT(*) FROM quarantine WHERE reason LIKE 'field % is 5000 bytes, "
        "over the limit of 4096'");
  };
  const std::string big(5000, 'x');
  const std::string rtlog = std::string("/iclock/cdata?SN=") + kSn + "&table=rtlog";
  auto rtlog_line = [](const std::string& pin, const std::string& card) {
    return "time=2024-03-01 08:00:00\tpin=" + pin + "\tcardno=" + card +
           "\teventaddr=1\tevent=0\tinoutstatus=0\tverifytype=4\tindex=" + pin + "\n";
  };
  EXPECT_EQ(
      t.post(rtlog, rtlog_line("71", "1") + rtlog_line("72", big) + rtlog_line("73", "3")).body,
      "OK");
  EXPECT_EQ(events(h, "e.pin IN ('71', '73')"), 2);
  EXPECT_EQ(events(h, "e.pin = '72'"), 0);
  EXPECT_EQ(h.query_int("SELECT COUNT(*) FROM quarantine WHERE reason = 'field cardno is 5000 "
                        "bytes, over the limit of 4096' AND line_no = 2 AND table_name = 'rtlog'"),
            1);

  EXPECT_EQ(t.post(std::string("/iclock/cdata?SN=") + kSn + "&table=rtstate",
                   "time=2024-03-01 08:00:01\tsensor=00\trelay=00\talarm=0000000000000000\tdoor=" +
                       big + "\n")
                .body,
            "OK");
  EXPECT_EQ(long_rows(), 2);

  // tabledata: the answer still counts every line; a template's data is exempt.
  auto user = [](const std::string& pin, const std::string& name) {
    return "user uid=" + pin + "\tcardno=\tpin=" + pin +
           "\tpassword=\tgroup=1\tstarttime=0\tendtime=0\tname=" + name +
           "\tprivilege=0\tdisable=0\tverify=0\n";
  };
  EXPECT_EQ(
      t.post(std::string("/iclock/cdata?SN=") + kSn + "&table=tabledata&tablename=user&count=3",
             user("81", "a") + user("82", big) + user("83", "c"))
          .body,
      "user=3");
  EXPECT_EQ(h.query_int("SELECT COUNT(*) FROM terminal_users WHERE pin IN ('81', '83')"), 2);
  EXPECT_EQ(h.query_int("SELECT COUNT(*) FROM terminal_users WHERE pin = '82'"), 0);
  EXPECT_EQ(h.query_int("SELECT COUNT(*) FROM quarantine WHERE reason = 'field name is 5000 bytes, "
                        "over the limit of 4096' AND line_no = 2 AND length(raw) > 5000"),
            1);
  EXPECT_EQ(long_rows(), 3);
  EXPECT_EQ(
      t.post(std::string("/iclock/cdata?SN=") + kSn + "&table=tabledata&tablename=biodata&count=1",
             "biodata pin=84\tno=0\tindex=0\tvalid=1\tduress=0\ttype=1\tmajorver=10\t"
             "minorver=0\tformat=0\ttmp=" +
                 big + "\n")
          .body,
      "biodata=1");
  EXPECT_EQ(long_rows(), 3);
  EXPECT_EQ(h.query_int("SELECT COUNT(*) FROM terminal_templates WHERE pin = '84'"), 1);

  // Remote identification: kept raw, no decision, the record not echoed.
  auto auth = t.post(std::string("/iclock/cdata?SN=") + kSn + "&AuthType=device",
                     "time=2024-03-01 08:00:02\tpin=85\tcardno=" + big +
                         "\taddrtype=2\teventaddr=1\tevent=0\tinoutstatus=0\tverifytype=4\n");
  EXPECT_EQ(auth.body.rfind("AUTH=FAILED", 0), 0u) << auth.body;
  EXPECT_LT(auth.body.size(), 1000u);
  EXPECT_TRUE(wait_for([&] { return long_rows() == 4; }, std::chrono::seconds(10)));

  auto metrics = http_request(h.api_port(), "GET", "/metrics");
  EXPECT_NE(metrics.body.find("pushgate_zkpush_long_fields_total 4"), std::string::npos)
      << metrics.body;
}

TEST(ZkpushSecurityTest, RemoteAuthFromATerminalNotRegisteredGetsNoVerdict) {
  // A terminal that asks before its registry sends §10 straight away: it
  // must hear AUTH=, never the attendance flavour's "OK", and its rtlog must
  // be read as rtlog. No verdict though (the record as sent, FAILED: it
  // decides by itself): anyone could otherwise ask which PINs exist.
  GatewayHarness h;
  auto t = plain(h.zkpush_port());
  auto auth = t.post("/iclock/cdata?SN=NEWACC0001&AuthType=device",
                     "time=2026-11-21 09:00:00\tpin=77\tcardno=0\taddrtype=2\teventaddr=1\t"
                     "event=0\tinoutstatus=0\tverifytype=1");
  EXPECT_EQ(auth.status, 200);
  EXPECT_EQ(auth.body.rfind("AUTH=FAILED", 0), 0u) << auth.body;
  EXPECT_NE(auth.body.find("\tevent=0\t"), std::string::npos) << auth.body;  // as sent
  auto rtlog = t.post("/iclock/cdata?SN=NEWACC0001&table=rtlog",
                      "time=2026-11-21 09:00:01\tpin=77\tcardno=0\tsitecode=0\tlinkid=0\t"
                      "eventaddr=1\tevent=27\tinoutstatus=0\tverifytype=1\tindex=5\n");
  EXPECT_EQ(rtlog.status, 200);
  EXPECT_EQ(events(h, "e.kind = 2 AND e.event_code = 27", "NEWACC0001"), 1);
}

TEST(ZkpushSecurityTest, TokenCheckOffLogEnforce) {
  for (std::string mode : {"off", "log", "enforce"}) {
    SCOPED_TRACE(mode);
    GatewayHarness h({"zkpush.token_check=" + mode});
    auto t = plain(h.zkpush_port());
    t.register_and_connect();
    std::string target = std::string("/iclock/cdata?SN=") + kSn + "&table=rtlog";
    auto wrong = t.send(request("POST", target,
                                "time=2024-03-05 09:00:00\tpin=7\tevent=0\teventaddr=1\tindex=1\n",
                                "0123456789abcdef0123456789abcdef"));
    if (mode == "enforce") {
      EXPECT_EQ(wrong.status, 401);
      EXPECT_EQ(events(h, "e.kind = 2"), 0) << "nothing stored";
      auto metrics = http_request(h.api_port(), "GET", "/metrics");
      EXPECT_NE(metrics.body.find("pushgate_refused_requests_total{reason=\"bad_token\"} 1"),
                std::string::npos);
      // registry and push are not checked: the session is handed out there.
      EXPECT_EQ(t.send(fixture("push-4.5-example.http", kSn, "00")).status, 200);
    } else {
      EXPECT_EQ(wrong.status, 200);
      EXPECT_EQ(events(h, "e.kind = 2"), 1);
    }
    auto right = t.post(target, "time=2024-03-05 09:00:01\tpin=7\tevent=0\teventaddr=1\tindex=2\n");
    EXPECT_EQ(right.status, 200);
    EXPECT_EQ(right.body, "OK");
  }
}

struct Api {
  std::uint16_t port;
  std::int64_t queue(const std::string& body) {
    auto a =
        http_request(port, "POST", std::string("/api/v1/terminals/") + kSn + "/commands", body);
    EXPECT_EQ(a.status, 202) << a.body;
    return nlohmann::json::parse(a.body).value("id", std::int64_t{0});
  }
  nlohmann::json command(std::int64_t id) {
    auto a = http_request(port, "GET", "/api/v1/commands/" + std::to_string(id));
    EXPECT_EQ(a.status, 200) << a.body;
    return nlohmann::json::parse(a.body);
  }
};

TEST(ZkpushSecurityTest, CommandRoundTrips) {
  // Configured, so known before it ever connects (an unknown serial is refused).
  GatewayHarness h({"zkpush.token_check=enforce", "commands.ack_timeout_s=1",
                    "commands.max_attempts=2", std::string("terminals.") + kSn + ".name=Gate"});
  auto t = plain(h.zkpush_port());
  Api api{h.api_port()};
  std::string poll = std::string("/iclock/getrequest?SN=") + kSn;
  std::string result = std::string("/iclock/devicecmd?SN=") + kSn;

  // Queued before the terminal ever connected: delivered when it comes.
  auto early = api.queue(R"({"verb":"open_door","params":{"door":1,"seconds":5}})");
  t.register_and_connect();
  auto p = t.get(poll);
  EXPECT_EQ(p.body, "C:" + std::to_string(early) + ":CONTROL DEVICE 01010105\n");
  EXPECT_EQ(t.post(result, "ID=" + std::to_string(early) + "&Return=0&CMD=CONTROL DEVICE").body,
            "OK");
  EXPECT_EQ(api.command(early)["state"], "done");
  EXPECT_EQ(t.get(poll).body, "OK");

  // A lost result: re-delivered after ack_timeout, completed once.
  auto lost = api.queue(R"({"verb":"open_door","params":{"door":1,"seconds":5}})");
  EXPECT_EQ(t.get(poll).body, "C:" + std::to_string(lost) + ":CONTROL DEVICE 01010105\n");
  EXPECT_EQ(t.get(poll).body, "OK") << "not again before ack_timeout";
  std::this_thread::sleep_for(std::chrono::milliseconds(1300));
  EXPECT_EQ(t.get(poll).body, "C:" + std::to_string(lost) + ":CONTROL DEVICE 01010105\n");
  // Appendix 15: the master queues it for a sub-controller first (-5000).
  std::string id = std::to_string(lost);
  EXPECT_EQ(t.post(result, "ID=" + id + "&Return=-5000&CMD=CONTROL DEVICE&SN=SUB1").body, "OK");
  EXPECT_EQ(api.command(lost)["state"], "sent");
  EXPECT_EQ(t.post(result, "ID=" + id + "&Return=0&CMD=CONTROL DEVICE&SN=SUB1").body, "OK");
  EXPECT_EQ(t.post(result, "ID=" + id + "&Return=0&CMD=CONTROL DEVICE&SN=SUB1").body, "OK");
  auto done = api.command(lost);
  EXPECT_EQ(done["state"], "done");
  EXPECT_EQ(done["attempts"], 2);

  // Expired before the terminal asked.
  auto stale = api.queue(R"({"verb":"open_door","params":{"door":1,"seconds":5},"ttl_s":1})");
  std::this_thread::sleep_for(std::chrono::milliseconds(2300));
  EXPECT_EQ(api.command(stale)["state"], "expired");
  EXPECT_EQ(t.get(poll).body, "OK");

  // Never answered: failed after max_attempts, not left "sent".
  auto mute = api.queue(R"({"verb":"open_door","params":{"door":2,"seconds":3}})");
  EXPECT_EQ(t.get(poll).body, "C:" + std::to_string(mute) + ":CONTROL DEVICE 01020103\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(1300));
  EXPECT_EQ(t.get(poll).body, "C:" + std::to_string(mute) + ":CONTROL DEVICE 01020103\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(2300));
  auto failed = api.command(mute);
  EXPECT_EQ(failed["state"], "failed") << failed.dump();
  EXPECT_EQ(h.query_int("SELECT COUNT(*) FROM commands WHERE state = 'sent'"), 0);
}

// One request over TLS, read back as a status and body.
HttpAnswer send_tls(std::uint16_t port, const std::string& bytes) {
  namespace net = boost::asio;
  namespace ssl = boost::asio::ssl;
  namespace http = boost::beast::http;
  net::io_context ioc;
  ssl::context ctx(ssl::context::tls_client);
  ctx.set_verify_mode(ssl::verify_none);  // self-signed, as on a site LAN
  ssl::stream<net::ip::tcp::socket> stream(ioc, ctx);
  stream.next_layer().connect({net::ip::make_address("127.0.0.1"), port});
  stream.handshake(ssl::stream_base::client);
  net::write(stream, net::buffer(bytes));
  boost::beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(stream, buffer, res);
  boost::system::error_code ec;
  stream.shutdown(ec);
  HttpAnswer a;
  a.status = static_cast<int>(res.result_int());
  a.body = res.body();
  a.date_header = std::string(res[http::field::date]);
  return a;
}

// Appendix 14: a terminal that reports CmdFormat=1 gets every command with
// the DataType prefix; DateFmtFunOn=1 turns validity dates into Appendix 5
// seconds; the door authorisation is a command of its own.
TEST(ZkpushSecurityTest, CommandsInTheFormatTheTerminalReported) {
  GatewayHarness h({"zkpush.token_check=enforce"});
  auto t = plain(h.zkpush_port());
  Api api{h.api_port()};
  t.register_and_connect();
  auto opts = t.post(std::string("/iclock/cdata?SN=") + kSn + "&table=options",
                     "~CmdFormat=1,DateFmtFunOn=1");
  ASSERT_EQ(opts.status, 200) << opts.body;
  std::string poll = std::string("/iclock/getrequest?SN=") + kSn;

  auto open = api.queue(R"({"verb":"open_door","params":{"door":1,"seconds":5}})");
  auto user = api.queue(
      R"({"verb":"upsert_user","params":{"pin":"1001","name":"Alice","valid_from":"2018-02-27 14:51:00"}})");
  auto auth = api.queue(R"({"verb":"authorize_user","params":{"pin":"1001","doors":[1,2]}})");
  auto id = [](std::int64_t n) { return std::to_string(n); };
  auto prefix = [&](std::int64_t n) {
    return "DataType=1, SN=" + std::string(kSn) + ", Priority=0, CmdID=" + id(n) +
           ", CmdDesc=C:" + id(n) + ":";
  };
  EXPECT_EQ(t.get(poll).body,
            prefix(open) + "CONTROL DEVICE 01010105\n" + prefix(user) +
                "DATA UPDATE user CardNo=\tPin=1001\tPassword=\tGroup=0\tStartTime=583512660"
                "\tEndTime=0\tName=Alice\tPrivilege=0\n" +
                prefix(auth) +
                "DATA UPDATE userauthorize Pin=1001\tAuthorizeTimezoneId=1\tAuthorizeDoorId=3"
                "\tDevID=1\n");
  // Results come back by the plain ID, as in any format.
  auto results = "ID=" + id(open) + "&Return=0&CMD=CONTROL DEVICE\nID=" + id(user) +
                 "&Return=0&CMD=DATA\nID=" + id(auth) + "&Return=0&CMD=DATA\n";
  EXPECT_EQ(t.post(std::string("/iclock/devicecmd?SN=") + kSn, results).body, "OK");
  for (auto n : {open, user, auth}) {
    EXPECT_EQ(api.command(n)["state"], "done") << n;
  }
}

// terminals.*.networks: a serial speaking from outside its networks is
// refused (403, counted, nothing stored); from inside it is served.
TEST(ZkpushSecurityTest, SerialOutsideItsNetworksIsRefused) {
  const std::string hello =
      std::string("/iclock/cdata?SN=") + kSn + "&options=all&pushver=3.1.2&DeviceType=acc";
  {
    GatewayHarness h({std::string("terminals.") + kSn + ".networks=[\"192.168.1.0/24\"]"});
    auto t = plain(h.zkpush_port());
    auto a = t.send(request("GET", hello, {}));
    EXPECT_EQ(a.status, 403) << a.body;
    auto rtlog = t.send(request("POST", std::string("/iclock/cdata?SN=") + kSn + "&table=rtlog",
                                "time=2026-11-21 08:00:00\tpin=1\tcardno=0\teventaddr=1\t"
                                "event=0\tinoutstatus=0\tverifytype=1\tindex=1\r\n"));
    EXPECT_EQ(rtlog.status, 403);
    EXPECT_EQ(h.query_int("SELECT COUNT(*) FROM events"), 0);
    auto metrics = http_request(h.api_port(), "GET", "/metrics");
    EXPECT_NE(metrics.body.find("reason=\"wrong_network\"} 2"), std::string::npos) << metrics.body;
  }
  {
    GatewayHarness h({std::string("terminals.") + kSn + ".networks=[\"127.0.0.0/8\"]"});
    auto t = plain(h.zkpush_port());
    EXPECT_EQ(t.send(request("GET", hello, {})).status, 200);
  }
}

TEST(ZkpushSecurityTest, SameSessionOverTls) {
  TempDir certs;
  auto key = (certs.path() / "k.pem").string();
  auto cert = (certs.path() / "c.pem").string();
  std::string cmd =
      "openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=pushgate -days 2 -keyout " + key +
      " -out " + cert + " >/dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  GatewayHarness h(
      {"zkpush.token_check=enforce", "zkpush.tls_cert_file=" + cert, "zkpush.tls_key_file=" + key});
  auto* adapter = dynamic_cast<adapters::zkpush::ZkpushAdapter*>(h.gateway().adapter("zkpush"));
  ASSERT_NE(adapter, nullptr);
  auto port = adapter->tls_port();
  ASSERT_NE(port, 0) << "TLS starts on a free port when the certificate and key are set";
  Terminal t;
  t.send = [port](const std::string& bytes) { return send_tls(port, bytes); };
  t.register_and_connect();
  EXPECT_EQ(t.fixture("rtlog-7.2-example.http").body, "OK");
  EXPECT_EQ(t.fixture("tabledata-user-7.5-example.http").body, "user=1");
  EXPECT_EQ(events(h, "e.kind = 2"), 1);
  EXPECT_EQ(h.query_int("SELECT COUNT(*) FROM terminal_users WHERE pin = '4'"), 1);
}

}  // namespace
}  // namespace pushgate::test
