// Issue 13: a start that cannot work fails with one line naming the key and
// the value, and the half-started gateway stops cleanly (no abort, no wait
// for a timeout); validate_config() finds what a start would refuse.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "gateway/adapter.hpp"
#include "gateway/gateway.hpp"
#include "tests/support/gateway_harness.hpp"

namespace pushgate::test {
namespace {

using ::testing::HasSubstr;

// A loopback port held in LISTEN for the test's lifetime.
class HeldPort {
 public:
  HeldPort() : acceptor_(ioc_) {
    boost::asio::ip::tcp::endpoint ep(boost::asio::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(ep.protocol());
    acceptor_.bind(ep);
    acceptor_.listen();
  }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

 private:
  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;
};

// The message of the harness's failed start ("" when it started).
std::string start_error(std::vector<std::string> sets) {
  try {
    GatewayHarness h(std::move(sets));
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return {};
}

// Old code: the adapter whose listener failed was destroyed before any I/O
// thread ran; its server's stop() waited 5 s for a close posted to the idle
// io_context and left it a promise on its stack, which the close wrote when
// the gateway's stop ran the io_context: std::future_error, abort.
TEST(StartupTest, TakenTerminalPortFailsWithOneLineAndStopsCleanly) {
  HeldPort held;
  auto p = std::to_string(held.port());
  EXPECT_EQ(
      start_error({"zkpush.listen=127.0.0.1", "zkpush.port=" + p}),
      "gateway start: zkpush.port: cannot listen on 127.0.0.1:" + p + ": Address already in use");
}

TEST(StartupTest, TakenApiPortFailsWithOneLine) {
  HeldPort held;
  auto p = std::to_string(held.port());
  EXPECT_EQ(
      start_error({"api.listen=127.0.0.1", "api.port=" + p}),
      "gateway start: api.port: cannot listen on 127.0.0.1:" + p + ": Address already in use");
}

TEST(StartupTest, TakenModbusPortFailsWithOneLine) {
  HeldPort held;
  auto p = std::to_string(held.port());
  EXPECT_EQ(
      start_error({"modbus.enabled=true", "modbus.listen=127.0.0.1", "modbus.port=" + p}),
      "gateway start: modbus.port: cannot listen on 127.0.0.1:" + p + ": Address already in use");
}

config::Config load(const config::Schema& schema, const std::vector<std::string>& sets) {
  auto r = config::Config::load_string(schema, "", sets);
  if (!r.ok()) {
    throw std::runtime_error(config::format_errors(r.errors));
  }
  return *r.config;
}

std::string reason_for(const std::vector<config::ConfigError>& errors, const std::string& key) {
  for (const auto& e : errors) {
    if (e.key == key) {
      return e.reason;
    }
  }
  return "(no error for " + key + ")";
}

// Old code: --check-config ran only the schema and the time zones, so each
// of these passed it and then failed the start (or, gateway.id, published
// under a topic with a space and a slash).
TEST(ValidateConfigTest, FindsEveryProblemTheStartRefuses) {
  TempDir dir;
  auto missing = (dir.path() / "none.json").string();
  auto schema = build_schema();
  auto cfg = load(schema, {"gateway.id=site a/1", "attendance.rules_file=" + missing,
                           "linkage.rules_file=" + missing, "mqtt.enabled=true",
                           "mqtt.server_uri=127.0.0.1:1883", "modbus.enabled=true",
                           "modbus.write_allow=10.0.0.300"});
  auto errors = validate_config(cfg);
  EXPECT_EQ(errors.size(), 5U) << config::format_errors(errors);
  EXPECT_EQ(reason_for(errors, "gateway.id"),
            "must be letters, digits, - and _ (it is an MQTT topic level), got \"site a/1\"");
  EXPECT_EQ(reason_for(errors, "attendance.rules_file"),
            "cannot read \"" + missing + "\": No such file or directory");
  EXPECT_EQ(reason_for(errors, "linkage.rules_file"),
            missing + ": cannot be read: No such file or directory");
  EXPECT_EQ(
      reason_for(errors, "mqtt.server_uri"),
      "must start with tcp:// or ssl://, got \"127.0.0.1:1883\" (write tcp://127.0.0.1:1883)");
  EXPECT_EQ(reason_for(errors, "modbus.write_allow"),
            "\"10.0.0.300\" is not an IP address or CIDR network");
}

// A misspelt component in log.components used to do nothing, silently.
TEST(ValidateConfigTest, UnknownLogComponentIsNamedWithTheNearestOne) {
  auto schema = build_schema();
  auto errors =
      validate_config(load(schema, {"log.components=zkpush=debug,mqtt=info,modbsu=warn"}));
  ASSERT_EQ(errors.size(), 1U) << config::format_errors(errors);
  EXPECT_THAT(reason_for(errors, "log.components"),
              HasSubstr("no component \"modbsu\"; did you mean modbus?"));
  EXPECT_TRUE(
      validate_config(load(schema, {"log.components=zkpush=debug,store=warn,main=info"})).empty());
  EXPECT_THAT(start_error({"log.components=zkpsuh=debug"}),
              HasSubstr("log.components: no component \"zkpsuh\"; did you mean zkpush?"));
}

TEST(ValidateConfigTest, TheStartRunsTheSameChecks) {
  auto err = start_error({"gateway.id=site a/1"});
  EXPECT_THAT(err, HasSubstr("gateway.id: must be letters, digits, - and _"));
}

TEST(ValidateConfigTest, BrokenRulesFileIsReportedAtLineAndColumn) {
  TempDir dir;
  auto path = (dir.path() / "rules.json").string();
  std::ofstream(path) << "{\n  \"periods\": [\n    {\"id\": x}\n  ]\n}\n";
  auto schema = build_schema();
  auto errors = validate_config(
      load(schema, {"attendance.rules_file=" + path, "linkage.rules_file=" + path}));
  EXPECT_THAT(reason_for(errors, "attendance.rules_file"),
              HasSubstr(path + ":line 3, column 12: syntax error"));
  EXPECT_THAT(reason_for(errors, "linkage.rules_file"),
              HasSubstr(path + ": not valid JSON at line 3, column 12: syntax error"));
}

TEST(ValidateConfigTest, UnwritableDataDirSaysWhoAndWhy) {
  TempDir dir;
  auto data = dir.path() / "data";
  std::filesystem::create_directories(data);
  // Root writes through permissions: a read-only mount stops it; others get
  // a directory without write permission.
  bool root = ::geteuid() == 0;
  if (root && ::mount("tmpfs", data.c_str(), "tmpfs", MS_RDONLY, "size=64k") != 0) {
    GTEST_SKIP() << "cannot mount a read-only tmpfs";
  }
  if (!root) {
    std::filesystem::permissions(
        data, std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
  }
  auto err = start_error({"gateway.data_dir=" + data.string()});
  if (root) {
    ::umount2(data.c_str(), MNT_DETACH);
  } else {
    std::filesystem::permissions(data, std::filesystem::perms::owner_all);
  }
  EXPECT_THAT(err, HasSubstr("gateway.data_dir: cannot write in " + data.string() + ": " +
                             (root ? "Read-only file system" : "Permission denied") +
                             "; running as user "));
  EXPECT_THAT(err, HasSubstr(", the directory belongs to user "));
}

TEST(CheckListenersTest, NamesAPortAnotherProcessHolds) {
  HeldPort held;
  auto p = std::to_string(held.port());
  auto schema = build_schema();
  std::vector<std::string> notes;
  auto errors = check_listeners(
      load(schema, {"zkpush.listen=127.0.0.1", "zkpush.port=" + p, "api.port=0"}), notes);
  ASSERT_EQ(errors.size(), 1U) << config::format_errors(errors);
  EXPECT_EQ(errors[0].key, "zkpush.port");
  EXPECT_THAT(errors[0].reason,
              HasSubstr("cannot listen on 127.0.0.1:" + p + ": Address already in use (held by "));
}

}  // namespace
}  // namespace pushgate::test
