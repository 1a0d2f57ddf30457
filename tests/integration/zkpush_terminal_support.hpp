#pragma once

// A terminal as the zkpush integration tests drive it by hand over loopback:
// raw requests as a terminal writes them, a Security PUSH terminal's §4
// connection sequence, and the REST and /metrics reads the tests check.

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "adapters/zkpush/zkpush_security_protocol.hpp"
#include "tests/support/gateway_harness.hpp"
#include "tests/support/http_fixture.hpp"

namespace pushgate::test {

// A request as a terminal writes it; Cookie only when a token is given.
inline HttpAnswer send(std::uint16_t port, const std::string& method, const std::string& target,
                       const std::string& body = {}, const std::string& token = {}) {
  std::string out = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
                    "User-Agent: iClock Proxy/1.09\r\nConnection: close\r\n";
  if (!token.empty()) {
    out += "Cookie: token=" + token + "\r\n";
  }
  out += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  return send_raw(port, out);
}

inline const std::string kRegistryBody =
    "DeviceType=acc,~DeviceName=F20/M,FirmVer=Ver 8.0.1.3-20151229,LockCount=1,ReaderCount=2";

// A Security PUSH terminal: §4.1 handshake, §4.4 registry, §4.5 push.
struct AccessTerminal {
  AccessTerminal(std::uint16_t p, std::string serial) : port(p), sn(std::move(serial)) {}
  std::uint16_t port;
  std::string sn;
  std::string registry_code;
  std::string session_id;

  std::string token() const {
    return adapters::zkpush::security::compute_token(registry_code, sn, session_id).value_or("");
  }
  void connect() {
    auto hello =
        send(port, "GET", "/iclock/cdata?SN=" + sn + "&options=all&pushver=3.1.2&DeviceType=acc");
    ASSERT_EQ(hello.status, 200) << hello.body;
    auto reg = send(port, "POST", "/iclock/registry?SN=" + sn, kRegistryBody);
    ASSERT_EQ(reg.status, 200) << reg.body;
    ASSERT_EQ(reg.body.rfind("RegistryCode=", 0), 0u) << reg.body;
    registry_code = reg.body.substr(13);
    auto push = send(port, "POST", "/iclock/push?SN=" + sn);
    ASSERT_EQ(push.status, 200) << push.body;
    session_id = line_value(push.body, "SessionID");
    ASSERT_FALSE(session_id.empty()) << push.body;
  }
  HttpAnswer get(const std::string& target) { return send(port, "GET", target, {}, token()); }
  HttpAnswer post(const std::string& target, const std::string& body) {
    return send(port, "POST", target, body, token());
  }
};

// The value of one metric line ("name{labels}"), 0 when absent.
inline double metric(GatewayHarness& h, const std::string& series) {
  return metric_value(h.api_port(), series).value_or(0);
}

// Queues `command` for terminal `sn` over REST; its id.
inline std::int64_t queue(GatewayHarness& h, const std::string& sn, const nlohmann::json& command) {
  auto a =
      http_request(h.api_port(), "POST", "/api/v1/terminals/" + sn + "/commands", command.dump());
  EXPECT_EQ(a.status, 202) << a.body;
  return nlohmann::json::parse(a.body, nullptr, false).value("id", std::int64_t{0});
}

inline std::string command_state(GatewayHarness& h, std::int64_t id) {
  auto a = http_request(h.api_port(), "GET", "/api/v1/commands/" + std::to_string(id));
  EXPECT_EQ(a.status, 200) << a.body;
  return nlohmann::json::parse(a.body, nullptr, false).value("state", std::string());
}

}  // namespace pushgate::test
