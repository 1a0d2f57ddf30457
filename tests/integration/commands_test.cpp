// Commands over the real REST API (issue 12 item 3, issue 13 items 3 and 4,
// issue 12 item 10): JSON bodies are bounded before parsing, a command is
// validated when queued (verb, params, terminal) and refused naming the
// field, door actions expire after commands.door_ttl_s and are reported
// expired, a malformed command id is a 400. Rules documents, over REST and
// from a file, are bounded the same way.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "tests/support/gateway_harness.hpp"
#include "tests/support/processes.hpp"

namespace pushgate::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

// 100,000 nested arrays: about 200 KB, under the body limit.
std::string deep_arrays() {
  return std::string(100000, '[') + std::string(100000, ']');
}

json body_of(const HttpAnswer& a) {
  return json::parse(a.body, nullptr, false);
}

std::string post_command(std::uint16_t port, const std::string& sn, const std::string& body,
                         int expected_status) {
  auto a = http_request(port, "POST", "/api/v1/terminals/" + sn + "/commands", body);
  EXPECT_EQ(a.status, expected_status) << body.substr(0, 200) << " -> " << a.body;
  return body_of(a).value("detail", "");
}

TEST(CommandsApiTest, DeeplyNestedParamsAre400NamingTheLimitAndTheDaemonLives) {
  GatewayHarness h({"terminals.T1.name=Gate"});
  const auto port = h.api_port();
  auto a = http_request(port, "POST", "/api/v1/terminals/T1/commands",
                        R"({"verb":"open_door","params":{"door":)" + deep_arrays() + "}}");
  ASSERT_EQ(a.status, 400) << a.body.substr(0, 200);
  EXPECT_EQ(body_of(a)["error"], "body too deeply nested");
  EXPECT_NE(body_of(a)["detail"].get<std::string>().find("64 levels"), std::string::npos) << a.body;
  // Still serving, nothing queued, the refusal counted.
  EXPECT_EQ(http_request(port, "GET", "/api/v1/commands").status, 200);
  EXPECT_EQ(h.query_int("SELECT COUNT(*) FROM commands"), 0);
  EXPECT_NE(http_request(port, "GET", "/metrics")
                .body.find("pushgate_json_refused_total{reason=\"too_deep\"} "),
            std::string::npos);
}

TEST(CommandsApiTest, BadVerbUnknownTerminalAndWrongTypeAre400AndNothingIsQueued) {
  GatewayHarness h({"terminals.T1.name=Gate"});
  const auto port = h.api_port();
  EXPECT_EQ(post_command(port, "T1", R"({"verb":"open_dor","params":{"door":1}})", 400),
            "verb: unknown verb \"open_dor\"");
  EXPECT_EQ(post_command(port, "NOPE", R"({"verb":"open_door","params":{"door":1}})", 400),
            "terminal: unknown terminal NOPE (never seen and not configured)");
  EXPECT_EQ(post_command(port, "T1", R"({"verb":"open_door","params":{"seconds":"five"}})", 400),
            "params.seconds: must be an integer 1..254");
  EXPECT_EQ(post_command(port, "T1", R"({"verb":"open_door","params":{"secs":5}})", 400),
            "params.secs: is not a parameter of open_door");
  EXPECT_EQ(h.query_int("SELECT COUNT(*) FROM commands"), 0);
  // A good one is still queued.
  post_command(port, "T1", R"({"verb":"open_door","params":{"door":1,"seconds":5}})", 202);
  EXPECT_EQ(h.query_int("SELECT COUNT(*) FROM commands"), 1);
  EXPECT_NE(http_request(port, "GET", "/metrics")
                .body.find("pushgate_commands_refused_total{origin=\"rest\"} 4"),
            std::string::npos);
}

TEST(CommandsApiTest, ARefusedTerminalGetsNoCommands) {
  GatewayHarness h({"terminals.T1.name=Gate"});
  const auto port = h.api_port();
  ASSERT_EQ(http_request(port, "POST", "/api/v1/terminals/T1/refuse").status, 200);
  EXPECT_EQ(post_command(port, "T1", R"({"verb":"reboot"})", 400),
            "terminal: terminal T1 is refused");
  EXPECT_EQ(h.query_int("SELECT COUNT(*) FROM commands"), 0);
}

TEST(CommandsApiTest, MalformedCommandIdOnCancelIs400) {
  GatewayHarness h({"terminals.T1.name=Gate"});
  const auto port = h.api_port();
  auto bad = http_request(port, "DELETE", "/api/v1/commands/abc");
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_EQ(body_of(bad)["error"], "bad id");
  // A well-formed id of nothing cancellable is still a conflict.
  EXPECT_EQ(http_request(port, "DELETE", "/api/v1/commands/999").status, 409);
}

TEST(CommandsApiTest, DoorActionWithoutTtlExpiresAfterTheDoorTtlAndIsReportedExpired) {
  GatewayHarness h({"terminals.T1.name=Gate", "commands.door_ttl_s=1"});
  const auto port = h.api_port();
  auto a = http_request(port, "POST", "/api/v1/terminals/T1/commands",
                        R"({"verb":"open_door","params":{"door":1,"seconds":5}})");
  ASSERT_EQ(a.status, 202) << a.body;
  const auto id = body_of(a)["id"].get<std::int64_t>();
  auto other = http_request(port, "POST", "/api/v1/terminals/T1/commands", R"({"verb":"info"})");
  ASSERT_EQ(other.status, 202) << other.body;
  EXPECT_EQ(h.query_int("SELECT expires_ms - created_ms FROM commands WHERE id = ?1",
                        {std::to_string(id)}),
            1000);
  EXPECT_EQ(h.query_int("SELECT expires_ms - created_ms FROM commands WHERE verb = 'info'"),
            86400 * 1000);
  ASSERT_TRUE(wait_for(
      [&] {
        return body_of(http_request(port, "GET", "/api/v1/commands/" + std::to_string(id)))
                   .value("state", "") == "expired";
      },
      10s));
  auto c = body_of(http_request(port, "GET", "/api/v1/commands/" + std::to_string(id)));
  EXPECT_EQ(c["error"], "expired before the terminal asked for it");
}

TEST(LinkageRulesBoundsTest, DeeplyNestedCommandActionIsRefusedOverRest) {
  GatewayHarness h({"terminals.T1.name=Gate"});
  const std::string doc =
      R"({"rules":[{"id":"x","actions":[{"type":"command","terminal":"T1","verb":"open_door",)"
      R"("params":{"door":)" +
      deep_arrays() + "}}]}]}";
  auto a = http_request(h.api_port(), "PUT", "/api/v1/linkage/rules", doc);
  ASSERT_EQ(a.status, 400) << a.body.substr(0, 200);
  EXPECT_NE(a.body.find("64 levels"), std::string::npos) << a.body;
  EXPECT_EQ(http_request(h.api_port(), "GET", "/api/v1/linkage/rules").status, 200);
}

TEST(LinkageRulesBoundsTest, RuleWithAnInvalidCommandIsRefusedNamingTheField) {
  GatewayHarness h;
  auto a = http_request(
      h.api_port(), "PUT", "/api/v1/linkage/rules",
      R"({"rules":[{"id":"x","actions":[{"type":"command","terminal":"$source","verb":"open_door",)"
      R"("params":{"door":"$door","seconds":"five"}}]}]})");
  ASSERT_EQ(a.status, 400) << a.body;
  EXPECT_EQ(body_of(a)["errors"][0]["field"], "rules[0].actions[0].params.seconds") << a.body;
}

TEST(LinkageRulesBoundsTest, DeeplyNestedRulesFileStopsTheStartNamingTheFile) {
  TempDir dir;
  const std::string path = (dir.path() / "deep.json").string();
  std::ofstream(path) << R"({"rules":[{"id":"x","actions":[{"type":"command","terminal":"T1",)"
                      << R"("verb":"open_door","params":{"door":)" << deep_arrays() << "}}]}]}";
  try {
    GatewayHarness h({"linkage.rules_file=" + path});
    FAIL() << "the gateway started with a rules file 100,000 levels deep";
  } catch (const std::exception& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(path), std::string::npos) << what;
    EXPECT_NE(what.find("64 levels"), std::string::npos) << what;
  }
}

TEST(AttendanceRulesBoundsTest, DeeplyNestedRulesFileStopsTheStartNamingTheFile) {
  TempDir dir;
  const std::string path = (dir.path() / "deep-attendance.json").string();
  std::ofstream(path) << R"({"shifts":)" << deep_arrays() << "}";
  try {
    GatewayHarness h({"attendance.rules_file=" + path});
    FAIL() << "the gateway started with a rules file 100,000 levels deep";
  } catch (const std::exception& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(path), std::string::npos) << what;
    EXPECT_NE(what.find("64 levels"), std::string::npos) << what;
  }
}

}  // namespace
}  // namespace pushgate::test
