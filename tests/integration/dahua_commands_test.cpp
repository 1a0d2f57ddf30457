// Dahua commands end to end over loopback: the requests planned by
// adapters/dahua/dahua_commands.hpp, sent with the protocol library's
// DigestClient by a small synchronous Beast client, to the simulated Dahua
// device of tests/sim (written from the documentation, not from the adapter).
// Checks that the device's state changed and that the answers it wrote are
// read into the right results.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "adapters/dahua/dahua_commands.hpp"
#include "adapters/dahua/dahua_digest.hpp"
#include "tests/sim/dahua_device.hpp"

namespace pushgate::adapters::dahua {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace sim = pushgate::sim::dahua;
using json = nlohmann::json;
using namespace std::chrono_literals;

/** One request per connection, Digest answered from the device's challenge. */
class CgiClient {
 public:
  CgiClient(std::uint16_t port, std::string user, std::string password)
      : port_(port), digest_(std::move(user), std::move(password)) {}

  DahuaAnswer send(const DahuaRequest& request) {
    DahuaAnswer answer;
    for (int attempt = 0; attempt < 3; ++attempt) {
      std::string authorization;
      if (digest_.has_challenge()) {
        authorization =
            digest_.authorize(request.method, request.target, "c" + std::to_string(++cnonce_));
      }
      std::string challenge;
      answer = exchange(request, authorization, challenge);
      if (answer.status != 401) {
        if (digest_.has_challenge()) {
          digest_.on_authorized();
        }
        return answer;
      }
      const auto parsed = parse_digest_challenge(challenge);
      if (!parsed.challenge ||
          digest_.on_challenge(*parsed.challenge) == DigestClient::Verdict::AuthFailed) {
        return answer;
      }
    }
    return answer;
  }

  /** Runs a whole command: each request the run asks for, its answer back. */
  CommandOutcome run(const DahuaCommandPlan& plan, std::size_t* sent = nullptr) {
    DahuaCommandRun r(plan);
    while (const DahuaRequest* next = r.next()) {
      r.accept(send(*next));
    }
    if (sent != nullptr) {
      *sent = r.sent();
    }
    return r.outcome();
  }

 private:
  DahuaAnswer exchange(const DahuaRequest& request, const std::string& authorization,
                       std::string& challenge) {
    net::io_context ioc;
    beast::tcp_stream stream(ioc);
    stream.expires_after(10s);
    stream.connect(net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), port_));
    http::request<http::string_body> req{http::string_to_verb(request.method), request.target, 11};
    req.set(http::field::host, "127.0.0.1");
    if (!authorization.empty()) {
      req.set(http::field::authorization, authorization);
    }
    if (!request.content_type.empty()) {
      req.set(http::field::content_type, request.content_type);
    }
    req.body() = request.body;
    req.keep_alive(false);
    req.prepare_payload();
    http::write(stream, req);
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(stream, buffer, res);
    challenge = std::string(res[http::field::www_authenticate]);
    return {res.result_int(), res.body()};
  }

  std::uint16_t port_;
  DigestClient digest_;
  std::uint64_t cnonce_ = 0;
};

class DahuaCommandsTest : public ::testing::Test {
 protected:
  DahuaCommandsTest() : device_(config()), client_(device_.port(), "admin", "admin123") {}

  static sim::DahuaDeviceConfig config() {
    sim::DahuaDeviceConfig c;
    c.doors = 2;
    return c;
  }

  DahuaDeviceProfile probed() {
    const FirmwareProbe probe = decide_firmware(client_.send(firmware_probe_request()));
    if (probe.token) {
      EXPECT_EQ(read_answer(AnswerKind::Ok, client_.send(stop_find_request(*probe.token))).outcome,
                Outcome::Done);
    }
    DahuaDeviceProfile p;
    p.api = probe.api;
    p.doors.door_count = 2;
    return p;
  }

  sim::DahuaDevice device_;
  CgiClient client_;
};

TEST_F(DahuaCommandsTest, ProbeTellsCurrentFromLegacyFirmware) {
  EXPECT_EQ(probed().api, FirmwareApi::Current);
  device_.set_old_firmware(true);
  EXPECT_EQ(decide_firmware(client_.send(firmware_probe_request())).api, FirmwareApi::Legacy);

  sim::DahuaDeviceConfig c = config();
  c.old_firmware = true;
  c.old_firmware_answer = sim::OldFirmwareAnswer::BadRequest400;
  sim::DahuaDevice old(c);
  CgiClient old_client(old.port(), "admin", "admin123");
  EXPECT_EQ(decide_firmware(old_client.send(firmware_probe_request())).api, FirmwareApi::Legacy);
}

TEST_F(DahuaCommandsTest, DoorCommandsChangeTheDoorAndStatusIsRead) {
  const DahuaDeviceProfile p = probed();
  ASSERT_EQ(device_.door_status(1), "Close");
  auto opened = client_.run(plan_command("open_door", json{{"door", 2}}, p));
  EXPECT_EQ(opened.outcome, Outcome::Done) << opened.reason;
  EXPECT_EQ(device_.door_status(1), "Open");
  EXPECT_EQ(device_.door_status(0), "Close");
  EXPECT_EQ(device_.requests_seen("/cgi-bin/accessControl.cgi?action=openDoor"), 1U);

  auto status = client_.run(plan_command("door_status", json{{"door", 2}}, p));
  EXPECT_EQ(status.outcome, Outcome::Done);
  EXPECT_EQ(status.result, "Open");

  auto closed = client_.run(plan_command("close_door", json{{"door", 2}}, p));
  EXPECT_EQ(closed.outcome, Outcome::Done) << closed.reason;
  EXPECT_EQ(device_.door_status(1), "Close");

  // A door map pointing past the device's doors: the device's refusal is the result.
  DahuaDeviceProfile wrong = p;
  wrong.doors.door_count = 0;
  wrong.doors.channel_of_door = {{1, 5}};
  auto refused = client_.run(plan_command("open_door", json{{"door", 1}}, wrong));
  EXPECT_EQ(refused.outcome, Outcome::Failed);
  EXPECT_NE(refused.reason.find("Bad Request"), std::string::npos) << refused.reason;
}

TEST_F(DahuaCommandsTest, SetTimeMovesTheDeviceClock) {
  const auto done =
      client_.run(plan_command("set_time", json{{"time", "2030-01-02 03:04:05"}}, probed()));
  EXPECT_EQ(done.outcome, Outcome::Done) << done.reason;
  const std::int64_t expected = 1893553445;  // 2030-01-02 03:04:05 in the device's zone (UTC)
  EXPECT_NEAR(static_cast<double>(device_.device_now()), static_cast<double>(expected), 30.0);
  const auto read = read_answer(AnswerKind::KeyValues, client_.send(get_time_request()));
  ASSERT_EQ(read.outcome, Outcome::Done);
  EXPECT_EQ(json::parse(read.value)["result"].get<std::string>().substr(0, 13), "2030-01-02 03");
}

TEST_F(DahuaCommandsTest, UserSyncUpsertsAuthorizesAndDeletes) {
  const DahuaDeviceProfile p = probed();
  std::size_t sent = 0;
  auto first = client_.run(
      plan_command(
          "upsert_user",
          json{{"pin", "101"}, {"name", "Ana"}, {"card", "12EA3004"}, {"password", "1234"}}, p),
      &sent);
  ASSERT_EQ(first.outcome, Outcome::Done) << first.reason;
  EXPECT_EQ(sent, 5U);  // two inserts, then the card sweep: startFind, doFind, stopFind
  ASSERT_EQ(device_.users().count("101"), 1U);
  EXPECT_EQ(json::parse(device_.users().at("101"))["UserName"], "Ana");
  ASSERT_EQ(device_.cards().count("12EA3004"), 1U);
  EXPECT_EQ(json::parse(device_.cards().at("12EA3004"))["UserID"], "101");

  // Again with a new name: both inserts refused by the device, both updates done.
  auto second = client_.run(
      plan_command("upsert_user", json{{"pin", "101"}, {"name", "Ana B"}, {"card", "12EA3004"}}, p),
      &sent);
  ASSERT_EQ(second.outcome, Outcome::Done) << second.reason;
  EXPECT_EQ(sent, 7U);
  EXPECT_EQ(json::parse(device_.users().at("101"))["UserName"], "Ana B");
  EXPECT_EQ(device_.requests_seen("/cgi-bin/AccessUser.cgi?action=updateMulti"), 1U);

  auto auth =
      client_.run(plan_command("authorize_user", json{{"pin", "101"}, {"doors", {1, 2}}}, p));
  ASSERT_EQ(auth.outcome, Outcome::Done) << auth.reason;
  const json stored = json::parse(device_.users().at("101"));
  EXPECT_EQ(stored["Doors"], json({0, 1}));
  EXPECT_EQ(stored["TimeSections"], json({255, 255}));
  EXPECT_EQ(stored["UserName"], "Ana B");  // updateMulti kept the other fields

  // Authorising a user the device does not hold: the device's refusal.
  auto missing =
      client_.run(plan_command("authorize_user", json{{"pin", "999"}, {"doors", {1}}}, p));
  EXPECT_EQ(missing.outcome, Outcome::Failed);

  // A new card replaces the old one: the old card no longer opens anything.
  auto recard = client_.run(plan_command(
      "upsert_user", json{{"pin", "101"}, {"name", "Ana B"}, {"card", "0A1B2C3D"}}, p));
  ASSERT_EQ(recard.outcome, Outcome::Done) << recard.reason;
  EXPECT_EQ(device_.cards().count("12EA3004"), 0U);
  EXPECT_EQ(device_.cards().count("0A1B2C3D"), 1U);

  auto gone = client_.run(plan_command("delete_user", json{{"pin", "101"}}, p));
  ASSERT_EQ(gone.outcome, Outcome::Done) << gone.reason;
  EXPECT_EQ(device_.users().count("101"), 0U);
  EXPECT_TRUE(device_.cards().empty());  // its card went with it
}

TEST_F(DahuaCommandsTest, LegacyWritesNothingWhenItsLookupIsRefused) {
  device_.set_old_firmware(true);
  const DahuaDeviceProfile p = probed();
  ASSERT_EQ(p.api, FirmwareApi::Legacy);
  // The simulator has no recordFinder for the AccessControlCard table: the
  // lookup is refused, and the command fails with the device's words before
  // any recordUpdater write.
  std::size_t sent = 0;
  auto upsert = client_.run(
      plan_command("upsert_user", json{{"pin", "101"}, {"name", "Ana"}, {"card", "12EA3004"}}, p),
      &sent);
  EXPECT_EQ(upsert.outcome, Outcome::Failed);
  EXPECT_NE(upsert.reason.find("Bad Request"), std::string::npos) << upsert.reason;
  EXPECT_EQ(sent, 1U);
  EXPECT_TRUE(device_.legacy_cards().empty());
  EXPECT_EQ(device_.requests_seen("/cgi-bin/recordUpdater.cgi?action=insert"), 0U);
}

TEST_F(DahuaCommandsTest, LongUserListsGoInChunks) {
  ASSERT_EQ(probed().api, FirmwareApi::Current);  // also takes the Digest challenge
  std::vector<DahuaUser> users(23);
  for (std::size_t i = 0; i < users.size(); ++i) {
    users[i].user_id = "u" + std::to_string(i);
    users[i].name = "User " + std::to_string(i);
  }
  const auto requests = user_list_requests(ListAction::Insert, users, 10);
  ASSERT_EQ(requests.size(), 3U);
  for (const auto& r : requests) {
    EXPECT_EQ(read_answer(AnswerKind::ListWrite, client_.send(r)).outcome, Outcome::Done);
  }
  EXPECT_EQ(device_.users().size(), 23U);
  EXPECT_EQ(device_.requests_seen("/cgi-bin/AccessUser.cgi?action=insertMulti"), 3U);

  std::vector<std::string> ids;
  for (const auto& u : users) {
    ids.push_back(u.user_id);
  }
  for (const auto& r : remove_users_requests(ids, 10)) {
    EXPECT_EQ(read_answer(AnswerKind::ListWrite, client_.send(r)).outcome, Outcome::Done);
  }
  EXPECT_TRUE(device_.users().empty());
}

TEST_F(DahuaCommandsTest, UnsupportedAndUnprobedCommandsSendNothing) {
  auto unsupported = client_.run(plan_command("cancel_alarm", json::object(), probed()));
  EXPECT_EQ(unsupported.outcome, Outcome::Unsupported);
  auto unprobed =
      client_.run(plan_command("upsert_user", json{{"pin", "1"}}, DahuaDeviceProfile{}));
  EXPECT_EQ(unprobed.outcome, Outcome::RetryLater);
  EXPECT_EQ(device_.requests_seen("/cgi-bin/AccessUser.cgi?action=insertMulti"), 0U);
}

TEST_F(DahuaCommandsTest, RebootAndInfo) {
  const DahuaDeviceProfile p = probed();
  auto info = client_.run(plan_command("info", json::object(), p));
  ASSERT_EQ(info.outcome, Outcome::Done) << info.reason;
  EXPECT_EQ(json::parse(info.result)["serialNumber"], device_.serial());
  auto reboot = client_.run(plan_command("reboot", json::object(), p));
  EXPECT_EQ(reboot.outcome, Outcome::Done) << reboot.reason;
  EXPECT_EQ(device_.requests_seen("/cgi-bin/magicBox.cgi?action=reboot"), 1U);
}

}  // namespace
}  // namespace pushgate::adapters::dahua
