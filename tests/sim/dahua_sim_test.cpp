// Tests of the simulated Dahua device (dahua_device.hpp). The client here is
// written in the test (plain Beast + its own few lines of Digest) so that the
// device is checked against the RFC, not against its own helpers.

#include <openssl/evp.h>
#include <sys/wait.h>
#include <unistd.h>

#include <zlib.h>
#include <csignal>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/sim/dahua_cli.hpp"
#include "tests/sim/dahua_device.hpp"

namespace pushgate::sim::dahua::test {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;

bool wait_for(const std::function<bool()>& pred, std::chrono::milliseconds limit = 10s) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (pred()) {
      return true;
    }
    std::this_thread::sleep_for(5ms);
  }
  return pred();
}

// --- the test's own Digest (RFC 2617 MD5, qop=auth) -------------------------

std::string md5(const std::string& s) {
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(s.data(), s.size(), d, &n, EVP_md5(), nullptr);
  std::string out;
  char b[3];
  for (unsigned i = 0; i < n; ++i) {
    std::snprintf(b, sizeof b, "%02x", d[i]);
    out += b;
  }
  return out;
}

std::string challenge_param(const std::string& header, const std::string& name) {
  const auto at = header.find(name + "=\"");
  if (at == std::string::npos) {
    return {};
  }
  const auto start = at + name.size() + 2;
  return header.substr(start, header.find('"', start) - start);
}

/// The Authorization value answering `challenge` (RFC 2617, MD5, qop=auth).
std::string digest_answer(const std::string& challenge, const std::string& user,
                          const std::string& password, const std::string& method,
                          const std::string& uri, std::uint32_t count) {
  char nc[9];
  std::snprintf(nc, sizeof nc, "%08x", count);
  const std::string cnonce = "0a4f113b" + std::to_string(count);
  const std::string realm = challenge_param(challenge, "realm");
  const std::string nonce = challenge_param(challenge, "nonce");
  const std::string ha1 = md5(user + ":" + realm + ":" + password);
  const std::string ha2 = md5(method + ":" + uri);
  const std::string response = md5(ha1 + ":" + nonce + ":" + nc + ":" + cnonce + ":auth:" + ha2);
  return "Digest username=\"" + user + "\", realm=\"" + realm + "\", nonce=\"" + nonce +
         "\", uri=\"" + uri + "\", qop=auth, nc=" + nc + ", cnonce=\"" + cnonce +
         "\", response=\"" + response + "\", opaque=\"" + challenge_param(challenge, "opaque") +
         "\"";
}

struct Answer {
  unsigned status = 0;
  std::string body;
  std::string www_authenticate;
};

/// A Dahua CGI client: one connection per request, Digest with a cached
/// challenge and an increasing nonce count, re-challenged on 401.
class Client {
 public:
  Client(std::uint16_t port, std::string user, std::string password)
      : port_(port), user_(std::move(user)), password_(std::move(password)) {}

  std::string authorization(const std::string& method, const std::string& uri) {
    return digest_answer(challenge_, user_, password_, method, uri, ++nc_);
  }

  /// One exchange with exactly the given Authorization header (none if empty).
  Answer raw(http::verb method, const std::string& target, const std::string& auth,
             const std::string& body = {}) {
    net::io_context ioc;
    beast::tcp_stream stream(ioc);
    stream.expires_after(10s);
    stream.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port_));
    http::request<http::string_body> req{method, target, 11};
    req.set(http::field::host, "127.0.0.1");
    if (!auth.empty()) {
      req.set(http::field::authorization, auth);
    }
    if (!body.empty()) {
      req.set(http::field::content_type, "application/json");
      req.body() = body;
    }
    req.keep_alive(false);
    req.prepare_payload();
    http::write(stream, req);
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(stream, buffer, res);
    return {res.result_int(), res.body(), std::string(res[http::field::www_authenticate])};
  }

  /// A request answered after at most one (re-)challenge.
  Answer request(http::verb method, const std::string& target, const std::string& body = {}) {
    Answer a;
    for (int i = 0; i < 2; ++i) {
      a = raw(method, target,
              challenge_.empty() ? std::string{}
                                 : authorization(http::to_string(method).data(), target),
              body);
      if (a.status != 401) {
        return a;
      }
      last_challenge_ = a.www_authenticate;
      challenge_ = a.www_authenticate;
      nc_ = 0;
    }
    return a;
  }
  Answer get(const std::string& target) { return request(http::verb::get, target); }
  Answer post(const std::string& target, const std::string& body) {
    return request(http::verb::post, target, body);
  }

  /// A bare request whose 401 gives the challenge to answer next.
  void prime(const std::string& target) {
    const Answer a = raw(http::verb::get, target, "");
    challenge_ = a.www_authenticate;
    nc_ = 0;
  }
  const std::string& last_challenge() const { return last_challenge_; }
  std::uint16_t port() const { return port_; }

 private:
  std::uint16_t port_;
  std::string user_;
  std::string password_;
  std::string challenge_;
  std::string last_challenge_;
  std::uint32_t nc_ = 0;
};

/// key=value lines of a CGI answer.
std::map<std::string, std::string> lines(const std::string& body) {
  std::map<std::string, std::string> out;
  std::istringstream in(body);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') {
      line.pop_back();
    }
    const auto eq = line.find('=');
    if (eq != std::string::npos) {
      out[line.substr(0, eq)] = line.substr(eq + 1);
    }
  }
  return out;
}

/// An eventManager stream read on its own thread; parts split on the
/// boundary (never on Content-Length, which a quirk may falsify).
class StreamReader {
 public:
  StreamReader(Client& client, const std::string& target) {
    client.get("/cgi-bin/magicBox.cgi?action=getSerialNo");  // a fresh challenge
    const std::string auth = client.authorization("GET", target);
    socket_.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), client.port()));
    const std::string req =
        "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: " + auth + "\r\n\r\n";
    net::write(socket_, net::buffer(req));
    thread_ = std::thread([this] {
      char buf[4096];
      for (;;) {
        boost::system::error_code ec;
        const auto n = socket_.read_some(net::buffer(buf), ec);
        std::lock_guard lock(mu_);
        if (ec) {
          eof_ = true;
          return;
        }
        data_.append(buf, n);
        ++reads_;
      }
    });
  }
  ~StreamReader() {
    boost::system::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_both, ec);
    thread_.join();
  }
  std::string data() const {
    std::lock_guard lock(mu_);
    return data_;
  }
  bool eof() const {
    std::lock_guard lock(mu_);
    return eof_;
  }
  /// Complete parts so far: (headers, body).
  std::vector<std::pair<std::string, std::string>> parts() const {
    const std::string d = data();
    std::vector<std::pair<std::string, std::string>> out;
    std::size_t at = d.find("--myboundary\r\n");
    while (at != std::string::npos) {
      const auto next = d.find("--myboundary\r\n", at + 14);
      if (next == std::string::npos && !eof()) {
        // The last part is complete once its trailing blank line arrived.
        const auto end = d.rfind("\r\n\r\n");
        if (end == std::string::npos || end + 4 != d.size()) {
          break;
        }
      }
      std::string part = d.substr(at + 14, (next == std::string::npos ? d.size() : next) - at - 14);
      const auto hdr_end = part.find("\r\n\r\n");
      if (hdr_end == std::string::npos) {
        break;
      }
      std::string body = part.substr(hdr_end + 4);
      while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) {
        body.pop_back();
      }
      out.emplace_back(part.substr(0, hdr_end), body);
      at = next;
    }
    return out;
  }
  std::size_t heartbeats() const {
    std::size_t n = 0;
    for (const auto& [h, b] : parts()) {
      n += b == "Heartbeat" ? 1 : 0;
    }
    return n;
  }
  /// The first part whose body holds `needle`.
  std::optional<std::pair<std::string, std::string>> find(const std::string& needle) const {
    for (auto& p : parts()) {
      if (p.second.find(needle) != std::string::npos) {
        return p;
      }
    }
    return std::nullopt;
  }

 private:
  net::io_context ioc_;
  tcp::socket socket_{ioc_};
  mutable std::mutex mu_;
  std::string data_;
  std::size_t reads_ = 0;
  bool eof_ = false;
  std::thread thread_;
};

AccessSpec user(const std::string& id, std::optional<std::int64_t> at = std::nullopt) {
  AccessSpec s;
  s.user_id = id;
  s.create_time = at;
  return s;
}

AlarmSpec alarm(const std::string& code, const std::string& action, int door = 0,
                std::optional<std::int64_t> at = std::nullopt) {
  AlarmSpec a;
  a.code = code;
  a.action = action;
  a.door = door;
  a.create_time = at;
  return a;
}

DahuaDeviceConfig fast_config() {
  DahuaDeviceConfig c;
  c.heartbeat_unit = 20ms;  // heartbeat=1 -> every 20 ms
  return c;
}

const std::string kInfo = "/cgi-bin/magicBox.cgi?action=getSystemInfo";

// --- Digest --------------------------------------------------------------------

TEST(DahuaSimDigest, ChallengesThenAnswersTheRightCredentials) {
  DahuaDevice device(fast_config());
  Client client(device.port(), "admin", "admin123");
  const Answer bare = client.raw(http::verb::get, kInfo, "");
  EXPECT_EQ(bare.status, 401u);
  EXPECT_NE(bare.www_authenticate.find("realm=\"Login to DHSIM0001\""), std::string::npos);
  EXPECT_NE(bare.www_authenticate.find("qop=\"auth\""), std::string::npos);
  const Answer info = client.get(kInfo);
  ASSERT_EQ(info.status, 200u) << info.body;
  EXPECT_EQ(lines(info.body)["serialNumber"], "DHSIM0001");
  EXPECT_EQ(lines(info.body)["deviceType"], "ASI3213A-W");
  EXPECT_EQ(lines(client.get("/cgi-bin/magicBox.cgi?action=getSerialNo").body)["sn"], "DHSIM0001");
  const AuthStats s = device.auth_stats();
  EXPECT_EQ(s.successes, 2u);
  EXPECT_EQ(s.failures, 0u);
}

TEST(DahuaSimDigest, NonceGoesStaleAfterItsUses) {
  auto config = fast_config();
  config.nonce_max_uses = 2;
  DahuaDevice device(config);
  Client client(device.port(), "admin", "admin123");
  ASSERT_EQ(client.get(kInfo).status, 200u);
  ASSERT_EQ(client.get(kInfo).status, 200u);
  // Third use of the nonce: stale=true, and the client's re-challenge works.
  ASSERT_EQ(client.get(kInfo).status, 200u);
  EXPECT_NE(client.last_challenge().find("stale=true"), std::string::npos);
  EXPECT_EQ(device.auth_stats().stale, 1u);
  EXPECT_EQ(device.auth_stats().failures, 0u);
  device.expire_nonces();
  ASSERT_EQ(client.get(kInfo).status, 200u);
  EXPECT_EQ(device.auth_stats().stale, 2u);
}

TEST(DahuaSimDigest, ReplayedNonceCountIsRefused) {
  DahuaDevice device(fast_config());
  Client client(device.port(), "admin", "admin123");
  ASSERT_EQ(client.get(kInfo).status, 200u);
  const std::string auth = client.authorization("GET", kInfo);
  EXPECT_EQ(client.raw(http::verb::get, kInfo, auth).status, 200u);
  EXPECT_EQ(client.raw(http::verb::get, kInfo, auth).status, 401u);
  EXPECT_EQ(device.auth_stats().replays, 1u);
  // A response computed for another URI does not pass either.
  EXPECT_EQ(client
                .raw(http::verb::get, "/cgi-bin/magicBox.cgi?action=getSerialNo",
                     client.authorization("GET", kInfo))
                .status,
            401u);
}

TEST(DahuaSimDigest, AccountLocksAfterRepeatedFailures) {
  auto config = fast_config();
  config.lock_after_failures = 3;
  DahuaDevice device(config);
  Client bad(device.port(), "admin", "wrong");
  bad.prime(kInfo);  // one bare request: a challenge, no attempt
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(bad.raw(http::verb::get, kInfo, bad.authorization("GET", kInfo)).status, 401u);
  }
  EXPECT_EQ(device.auth_stats().failures, 3u);
  EXPECT_TRUE(device.auth_stats().locked);
  Client good(device.port(), "admin", "admin123");
  good.prime(kInfo);
  const Answer locked = good.raw(http::verb::get, kInfo, good.authorization("GET", kInfo));
  EXPECT_EQ(locked.status, 401u);
  EXPECT_NE(locked.body.find("locked"), std::string::npos);
  const AuthStats s = device.auth_stats();
  EXPECT_EQ(s.failures_last_hour, 3u);  // the right password is no failure
  EXPECT_EQ(s.locked_rejections, 2u);   // good.prime() and the attempt
  EXPECT_EQ(s.attempts_last_hour, 4u);
  EXPECT_EQ(s.challenges, 1u);
  device.unlock_account();
  EXPECT_EQ(good.get(kInfo).status, 200u);
  EXPECT_FALSE(device.auth_stats().locked);
}

// The time rules, on the DigestServer itself with an injected clock (no waiting).
TEST(DahuaSimDigest, NonceAgesLockExpiresAndFailuresLeaveTheHourWindow) {
  DigestPolicy policy{"Login to X", "admin", "pw", 60s, 0, 2, 300s};
  DigestServer server(policy);
  const auto t0 = std::chrono::steady_clock::time_point{} + 1000h;
  const std::string uri = "/cgi-bin/magicBox.cgi?action=getSerialNo";
  const AuthDecision first = server.check("GET", uri, "", t0);
  ASSERT_EQ(first.verdict, AuthVerdict::Challenge);
  const std::string ch = first.challenge;
  EXPECT_EQ(
      server.check("GET", uri, digest_answer(ch, "admin", "pw", "GET", uri, 1), t0 + 59s).verdict,
      AuthVerdict::Ok);
  const AuthDecision aged =
      server.check("GET", uri, digest_answer(ch, "admin", "pw", "GET", uri, 2), t0 + 60s);
  EXPECT_EQ(aged.verdict, AuthVerdict::Stale);
  EXPECT_NE(aged.challenge.find("stale=true"), std::string::npos);
  // Two failures lock for 300 s; the lock ends by itself.
  const std::string ch2 = aged.challenge;
  EXPECT_EQ(
      server.check("GET", uri, digest_answer(ch2, "admin", "no", "GET", uri, 1), t0 + 61s).verdict,
      AuthVerdict::Failed);
  EXPECT_EQ(
      server.check("GET", uri, digest_answer(ch2, "admin", "no", "GET", uri, 2), t0 + 62s).verdict,
      AuthVerdict::Locked);
  EXPECT_EQ(
      server.check("GET", uri, digest_answer(ch2, "admin", "pw", "GET", uri, 3), t0 + 361s).verdict,
      AuthVerdict::Locked);
  EXPECT_TRUE(server.stats(t0 + 361s).locked);
  EXPECT_FALSE(server.stats(t0 + 362s).locked);
  // ch2 is 302 s old by now: stale, then a fresh nonce works.
  const AuthDecision again =
      server.check("GET", uri, digest_answer(ch2, "admin", "pw", "GET", uri, 4), t0 + 362s);
  EXPECT_EQ(again.verdict, AuthVerdict::Stale);
  EXPECT_EQ(server
                .check("GET", uri, digest_answer(again.challenge, "admin", "pw", "GET", uri, 1),
                       t0 + 362s)
                .verdict,
            AuthVerdict::Ok);
  EXPECT_EQ(server.stats(t0 + 362s).failures_last_hour, 2u);
  EXPECT_EQ(server.stats(t0 + 61s + 1h + 1s).failures_last_hour, 1u);
  EXPECT_EQ(server.stats(t0 + 62s + 1h + 1s).failures_last_hour, 0u);
  EXPECT_EQ(server.stats(t0 + 62s + 1h + 1s).failures, 2u);
}

// --- Clock --------------------------------------------------------------------------

TEST(DahuaSimClock, DeviceClockDriftsAndCanBeSet) {
  auto config = fast_config();
  config.clock_offset = 3600s;
  DahuaDevice device(config);
  Client client(device.port(), "admin", "admin123");
  const auto real = std::chrono::duration_cast<std::chrono::seconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
  const auto shown =
      parse_time(lines(client.get("/cgi-bin/global.cgi?action=getCurrentTime").body)["result"]);
  ASSERT_TRUE(shown);
  EXPECT_NEAR(static_cast<double>(*shown - real), 3600.0, 5.0);
  EXPECT_EQ(
      client.get("/cgi-bin/global.cgi?action=setCurrentTime&time=2030-01-02%2003:04:05").status,
      200u);
  EXPECT_NEAR(static_cast<double>(device.device_now()), 1893553445.0, 5.0);
  const Record r = device.generate_access({});
  EXPECT_NEAR(static_cast<double>(r.create_time), 1893553445.0, 5.0);
  EXPECT_EQ(client.get("/cgi-bin/global.cgi?action=setCurrentTime&time=yesterday").status, 400u);
}

// --- Stream ---------------------------------------------------------------------------

const std::string kAttach =
    "/cgi-bin/eventManager.cgi?action=attach&codes=[AccessControl,BreakIn]&heartbeat=1";

TEST(DahuaSimStream, DeliversRequestedCodesAndHeartbeats) {
  DahuaDevice device(fast_config());
  Client client(device.port(), "admin", "admin123");
  StreamReader reader(client, kAttach);
  ASSERT_TRUE(wait_for([&] { return reader.heartbeats() >= 2; }));
  EXPECT_NE(reader.data().find("multipart/x-mixed-replace; boundary=myboundary"),
            std::string::npos);
  device.generate_alarm(alarm("Duress", "Pulse"));  // not requested
  device.generate_alarm(alarm("BreakIn", "Start", 1));
  AccessSpec refused;
  refused.granted = false;
  refused.error_code = 16;
  refused.user_id = "77";
  const Record r = device.generate_access(refused);
  ASSERT_TRUE(wait_for([&] { return reader.find("\"UserID\" : \"77\"").has_value(); }));
  const auto part = reader.find("\"UserID\" : \"77\"");
  EXPECT_EQ(part->second.rfind("Code=AccessControl;action=Pulse;index=0;data={\n", 0), 0u)
      << part->second;
  EXPECT_NE(part->second.find("\"ErrorCode\" : 16"), std::string::npos);
  EXPECT_NE(part->second.find("\"Status\" : 0"), std::string::npos);
  EXPECT_NE(part->second.find("\"RecNo\" : " + std::to_string(r.rec_no)), std::string::npos);
  EXPECT_NE(part->first.find("Content-Length: " + std::to_string(part->second.size())),
            std::string::npos);
  EXPECT_TRUE(reader.find("Code=BreakIn;action=Start;index=1").has_value());
  EXPECT_FALSE(reader.find("Code=Duress").has_value());
}

TEST(DahuaSimStream, QuirksAreInjectable) {
  DahuaDevice device(fast_config());
  Client client(device.port(), "admin", "admin123");
  StreamReader reader(client,
                      "/cgi-bin/eventManager.cgi?action=attach&codes=[AccessControl]&heartbeat=5");
  ASSERT_TRUE(wait_for([&] { return device.stream_count() == 1; }));
  StreamQuirks q;
  q.pretty_json = false;
  q.content_length = StreamQuirks::Length::Missing;
  q.equals_in_values = true;
  q.mixed_key_case = true;
  device.set_stream_quirks(q);
  device.generate_access(user("u1"));
  ASSERT_TRUE(wait_for([&] { return reader.find("u1").has_value(); }));
  const auto one = *reader.find("u1");
  EXPECT_EQ(one.second.rfind("code=AccessControl;Action=Pulse;INDEX=0;Data={\"Attendance", 0), 0u)
      << one.second;
  EXPECT_EQ(one.second.find('\n'), std::string::npos);
  EXPECT_NE(one.second.find("\"CardName\":\"Name=Jo;Door=1\""), std::string::npos);
  EXPECT_EQ(one.first.find("Content-Length"), std::string::npos);

  q = StreamQuirks{};
  q.content_length = StreamQuirks::Length::Wrong;
  q.stall = true;
  device.set_stream_quirks(q);
  device.generate_access(user("lost"));  // happens while stalled: never on the stream
  q.stall = false;
  device.set_stream_quirks(q);
  device.generate_access(user("u3"));
  ASSERT_TRUE(wait_for([&] { return reader.find("u3").has_value(); }));
  const auto two = *reader.find("u3");
  EXPECT_EQ(two.first.find("Content-Length: " + std::to_string(two.second.size())),
            std::string::npos);
  EXPECT_NE(two.first.find("Content-Length: "), std::string::npos);
  EXPECT_FALSE(reader.find("\"lost\"").has_value());
  EXPECT_EQ(device.records(Table::Access).size(), 3u);  // the stalled one is stored
}

TEST(DahuaSimStream, TwoEventsQueuedTogetherShareOnePart) {
  DahuaDevice device(fast_config());
  Client client(device.port(), "admin", "admin123");
  StreamReader reader(client,
                      "/cgi-bin/eventManager.cgi?action=attach&codes=[AccessControl]&heartbeat=5");
  ASSERT_TRUE(wait_for([&] { return device.stream_count() == 1; }));
  StreamQuirks q;
  q.two_codes_per_part = true;
  q.hold = true;
  device.set_stream_quirks(q);
  device.generate_access(user("b"));
  device.generate_access(user("c"));
  q.hold = false;
  device.set_stream_quirks(q);
  ASSERT_TRUE(wait_for([&] { return reader.find("\"c\"").has_value(); }));
  const auto part = *reader.find("\"c\"");
  EXPECT_NE(part.second.find("\"UserID\" : \"b\""), std::string::npos) << part.second;
  EXPECT_NE(part.second.find("}\r\nCode=AccessControl;action=Pulse"), std::string::npos);
  EXPECT_EQ(reader.parts().size(), 1u);
}

TEST(DahuaSimStream, SplitWritesKeepTheBytesIntact) {
  DahuaDevice device(fast_config());
  Client client(device.port(), "admin", "admin123");
  StreamReader reader(client,
                      "/cgi-bin/eventManager.cgi?action=attach&codes=[AccessControl]&heartbeat=5");
  ASSERT_TRUE(wait_for([&] { return device.stream_count() == 1; }));
  StreamQuirks q;
  q.split_chunk = 1;  // byte by byte: a write boundary inside "--myboundary"
  device.set_stream_quirks(q);
  const auto before = device.stream_writes();
  const Record r = device.generate_access(user("split"));
  ASSERT_TRUE(wait_for([&] { return reader.find("\"split\"").has_value(); }));
  const auto part = *reader.find("\"split\"");
  const std::string whole = "--myboundary\r\n" + part.first + "\r\n\r\n" + part.second + "\r\n\r\n";
  EXPECT_EQ(device.stream_writes() - before, whole.size());
  EXPECT_EQ(part.second, event_text(r, StreamQuirks{}));

  q.split_chunk = 7;
  q.split_seed = 42;
  device.set_stream_quirks(q);
  const Record r2 = device.generate_access(user("random"));
  ASSERT_TRUE(wait_for([&] { return reader.find("\"random\"").has_value(); }));
  EXPECT_EQ(reader.find("\"random\"")->second, event_text(r2, StreamQuirks{}));
}

TEST(DahuaSimStream, DropAndStall) {
  DahuaDevice device(fast_config());
  Client client(device.port(), "admin", "admin123");
  {
    StreamReader reader(client, kAttach);
    ASSERT_TRUE(wait_for([&] { return reader.heartbeats() >= 1; }));
    StreamQuirks q;
    q.stall = true;
    device.set_stream_quirks(q);
    const auto beats = device.heartbeats_sent();
    device.generate_access(user("stalled"));
    q.stall = false;
    device.set_stream_quirks(q);
    device.generate_access(user("after"));
    ASSERT_TRUE(wait_for([&] { return reader.find("\"after\"").has_value(); }));
    EXPECT_FALSE(reader.find("\"stalled\"").has_value());
    EXPECT_GE(device.heartbeats_sent(), beats);
    device.drop_streams();
    ASSERT_TRUE(wait_for([&] { return reader.eof(); }));
  }
  EXPECT_TRUE(wait_for([&] { return device.stream_count() == 0; }));
  EXPECT_EQ(device.records(Table::Access).size(), 2u);
}

// --- recordFinder ------------------------------------------------------------------------

std::map<std::string, std::map<std::string, std::string>> rows(const std::string& body) {
  std::map<std::string, std::map<std::string, std::string>> out;  // index -> field -> value
  for (const auto& [k, v] : lines(body)) {
    const auto open = k.find('[');
    const auto close = k.find("].");
    if (open == std::string::npos || close == std::string::npos) {
      continue;
    }
    out[k.substr(open + 1, close - open - 1)][k.substr(close + 2)] = v;
  }
  return out;
}

TEST(DahuaSimRecordFinder, PagingWithOverlapReturnsEveryRecordOnce) {
  auto config = fast_config();
  config.page_cap = 10;
  DahuaDevice device(config);
  const std::int64_t base = 1700000000;
  for (int i = 0; i < 95; ++i) {
    device.generate_access(user(std::to_string(i), base + i / 3));
  }
  Client client(device.port(), "admin", "admin123");
  const auto page = [&](std::int64_t start) {
    return client.get("/cgi-bin/recordFinder.cgi?action=find&name=AccessControlCardRec&StartTime=" +
                      std::to_string(start) + "&EndTime=" + std::to_string(base + 1000) +
                      "&count=50");
  };
  // The overlap rule: next StartTime = last CreateTime (not +1), dedupe on RecNo.
  std::vector<std::uint64_t> seen;
  std::set<std::uint64_t> unique;
  std::int64_t start = base;
  for (int pages = 0; pages < 100; ++pages) {
    const Answer a = page(start);
    ASSERT_EQ(a.status, 200u);
    const auto found = std::stoul(lines(a.body)["found"]);
    ASSERT_LE(found, 10u);  // count=50 is capped at the page cap
    const auto r = rows(a.body);
    ASSERT_EQ(r.size(), found);
    for (std::size_t i = 0; i < found; ++i) {
      const auto& row = r.at(std::to_string(i));
      const auto rec = std::stoull(row.at("RecNo"));
      if (unique.insert(rec).second) {
        seen.push_back(rec);
      }
      start = std::stoll(row.at("CreateTime"));
    }
    if (found < 10) {
      break;
    }
  }
  ASSERT_EQ(seen.size(), 95u);
  for (std::size_t i = 0; i < seen.size(); ++i) {
    EXPECT_EQ(seen[i], i + 1);
  }
  // Paging with StartTime = last + 1 loses the rest of a second cut by the cap.
  std::set<std::uint64_t> naive;
  start = base;
  for (int pages = 0; pages < 100; ++pages) {
    const Answer a = page(start);
    const auto r = rows(a.body);
    for (const auto& [i, row] : r) {
      naive.insert(std::stoull(row.at("RecNo")));
      start = std::max<std::int64_t>(start, std::stoll(row.at("CreateTime")) + 1);
    }
    if (r.size() < 10) {
      break;
    }
  }
  EXPECT_LT(naive.size(), 95u);
}

TEST(DahuaSimRecordFinder, FirmwareQuirksAndAlarms) {
  DahuaDevice device(fast_config());
  AccessSpec no_card = user("1", 1700000000);
  no_card.card_no.clear();
  device.generate_access(no_card);
  device.generate_alarm(alarm("DoorNotClosed", "Start", 0, 1700000001));
  device.generate_alarm(alarm("DoorNotClosed", "Stop", 0, 1700000002));
  Client client(device.port(), "admin", "admin123");
  const std::string q =
      "/cgi-bin/recordFinder.cgi?action=find&name=AccessControlCardRec&StartTime=1699999999&"
      "EndTime=1700000100&count=10";
  const auto plain = lines(client.get(q).body);
  EXPECT_EQ(plain.at("found"), "1");
  EXPECT_EQ(plain.at("records[0].CreateTime"), "1700000000");
  EXPECT_EQ(plain.at("records[0].CardNo"), "");
  EXPECT_EQ(plain.count("totalCount"), 0u);

  FinderQuirks fq;
  fq.capital_records = true;
  fq.omit_empty = true;
  fq.date_string_time = true;
  fq.total_count = true;
  device.set_finder_quirks(fq);
  const auto quirky = lines(client.get(q).body);
  EXPECT_EQ(quirky.at("Records[0].CreateTime"), "2023-11-14 22:13:20");
  EXPECT_EQ(quirky.count("Records[0].CardNo"), 0u);
  EXPECT_EQ(quirky.at("totalCount"), "1");
  EXPECT_EQ(quirky.count("records[0].RecNo"), 0u);
  device.set_finder_quirks({});

  const auto alarms = rows(
      client
          .get("/cgi-bin/recordFinder.cgi?action=find&name=AccessControlAlarmRecord&StartTime=2023-"
               "11-14%2022:13:21&EndTime=1700000100")
          .body);
  ASSERT_EQ(alarms.size(), 2u);
  EXPECT_EQ(alarms.at("0").at("Event"), "DoorNotClosed");
  EXPECT_EQ(alarms.at("1").at("Action"), "Stop");
  EXPECT_EQ(client.get("/cgi-bin/recordFinder.cgi?action=find&name=Nope").status, 400u);
}

// --- Doors, users, cards ------------------------------------------------------------------

TEST(DahuaSimDoors, OpenDoorMakesARemoteEventAndStatus) {
  DahuaDevice device(fast_config());
  Client client(device.port(), "admin", "admin123");
  StreamReader reader(client, "/cgi-bin/eventManager.cgi?action=attach&codes=[All]&heartbeat=5");
  ASSERT_TRUE(wait_for([&] { return device.stream_count() == 1; }));
  const Answer open = client.get("/cgi-bin/accessControl.cgi?action=openDoor&channel=2&UserID=9");
  EXPECT_EQ(open.status, 200u);
  EXPECT_EQ(open.body, "OK\r\n");
  const auto recs = device.records(Table::Access);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(std::get<std::int64_t>(recs[0].fields.at("Method")), 4);
  EXPECT_EQ(std::get<std::int64_t>(recs[0].fields.at("Door")), 1);  // channel 2 -> Door 1
  EXPECT_EQ(lines(client.get("/cgi-bin/accessControl.cgi?action=getDoorStatus&channel=2").body)
                .at("Info.status"),
            "Open");
  ASSERT_TRUE(wait_for([&] { return reader.find("\"Method\" : 4").has_value(); }));
  EXPECT_TRUE(
      wait_for([&] { return reader.find("Code=DoorStatus;action=Pulse;index=1").has_value(); }));
  EXPECT_EQ(client.get("/cgi-bin/accessControl.cgi?action=closeDoor&channel=2").status, 200u);
  EXPECT_EQ(device.door_status(1), "Close");
  EXPECT_EQ(client.get("/cgi-bin/accessControl.cgi?action=openDoor&channel=0").status, 400u);
  EXPECT_EQ(client.get("/cgi-bin/accessControl.cgi?action=openDoor&channel=3").status, 400u);
}

TEST(DahuaSimUsers, InsertFindUpdateRemove) {
  DahuaDevice device(fast_config());
  Client client(device.port(), "admin", "admin123");
  const std::string users =
      R"({"UserList":[{"UserID":"1","UserName":"Ann","UserType":0,"Doors":[0]},)"
      R"({"UserID":"2","UserName":"Bob","UserType":0,"Doors":[0,1]}]})";
  EXPECT_EQ(client.post("/cgi-bin/AccessUser.cgi?action=insertMulti", users).status, 200u);
  EXPECT_EQ(client.post("/cgi-bin/AccessUser.cgi?action=insertMulti", users).status, 400u);
  EXPECT_EQ(client
                .post("/cgi-bin/AccessUser.cgi?action=updateMulti",
                      R"({"UserList":[{"UserID":"2","UserName":"Robert"}]})")
                .status,
            200u);
  EXPECT_EQ(client.post("/cgi-bin/AccessUser.cgi?action=insertMulti", "{not json").status, 400u);
  const auto start =
      nlohmann::json::parse(client.get("/cgi-bin/AccessUser.cgi?action=startFind").body);
  EXPECT_EQ(start.at("Total"), 2);
  const auto token = std::to_string(start.at("Token").get<int>());
  const auto found = nlohmann::json::parse(
      client.get("/cgi-bin/AccessUser.cgi?action=doFind&Token=" + token + "&Offset=0&Count=10")
          .body);
  ASSERT_EQ(found.at("Info").size(), 2u);
  EXPECT_EQ(found.at("Info")[1].at("UserName"), "Robert");
  EXPECT_EQ(found.at("Info")[1].at("Doors").size(), 2u);
  EXPECT_EQ(client.get("/cgi-bin/AccessUser.cgi?action=stopFind&Token=" + token).status, 200u);
  EXPECT_EQ(client.get("/cgi-bin/AccessUser.cgi?action=removeMulti&UserIDList[0]=1").status, 200u);
  EXPECT_EQ(device.users().size(), 1u);
  EXPECT_EQ(device.users().count("2"), 1u);

  EXPECT_EQ(client
                .post("/cgi-bin/AccessCard.cgi?action=insertMulti",
                      R"({"CardList":[{"CardNo":"12EA3004","UserID":"2","CardType":0}]})")
                .status,
            200u);
  const auto cards = nlohmann::json::parse(
      client.get("/cgi-bin/AccessCard.cgi?action=startFind&Condition.UserID=2").body);
  EXPECT_EQ(cards.at("Total"), 1);
  EXPECT_EQ(client.get("/cgi-bin/AccessCard.cgi?action=removeMulti&CardNoList[0]=12EA3004").status,
            200u);
  EXPECT_TRUE(device.cards().empty());
}

TEST(DahuaSimUsers, OldFirmwareHasOnlyTheLegacyRecordUpdater) {
  auto config = fast_config();
  config.old_firmware = true;
  DahuaDevice device(config);
  Client client(device.port(), "admin", "admin123");
  EXPECT_EQ(
      client.post("/cgi-bin/AccessUser.cgi?action=insertMulti", R"({"UserList":[{"UserID":"1"}]})")
          .status,
      404u);
  const Answer ins = client.get(
      "/cgi-bin/recordUpdater.cgi?action=insert&name=AccessControlCard&CardNo=ABC&UserID=5&"
      "CardName=Eve&CardStatus=0&CardType=0&Doors[0]=0");
  ASSERT_EQ(ins.status, 200u);
  EXPECT_EQ(ins.body, "RecNo=1\r\n");
  EXPECT_EQ(client
                .get("/cgi-bin/recordUpdater.cgi?action=update&name=AccessControlCard&recno=1&"
                     "CardName=Eva")
                .status,
            200u);
  EXPECT_EQ(device.legacy_cards().at(1).at("CardName"), "Eva");
  EXPECT_EQ(
      client.get("/cgi-bin/recordUpdater.cgi?action=remove&name=AccessControlCard&recno=9").status,
      400u);
  EXPECT_EQ(
      client.get("/cgi-bin/recordUpdater.cgi?action=remove&name=AccessControlCard&recno=1").status,
      200u);
  EXPECT_TRUE(device.legacy_cards().empty());
  device.set_old_firmware(false);
  EXPECT_EQ(
      client.post("/cgi-bin/AccessUser.cgi?action=insertMulti", R"({"UserList":[{"UserID":"1"}]})")
          .status,
      200u);
}

TEST(DahuaSimCgi, BadRequestsGetTheDeviceErrorAnswer) {
  DahuaDevice device(fast_config());
  Client client(device.port(), "admin", "admin123");
  const auto bad = [&](const std::string& target, unsigned status) {
    const Answer a = client.get(target);
    EXPECT_EQ(a.status, status) << target;
    EXPECT_EQ(a.body.rfind("Error\r\n", 0), 0u) << target << ": " << a.body;
  };
  bad("/cgi-bin/eventManager.cgi?action=attach&heartbeat=5", 400);
  bad("/cgi-bin/eventManager.cgi?action=attach&codes=[]", 400);
  bad("/cgi-bin/eventManager.cgi?action=attach&codes=[All]&heartbeat=0", 400);
  bad("/cgi-bin/recordFinder.cgi?action=find&name=AccessControlCardRec&StartTime=soon", 400);
  bad("/cgi-bin/recordFinder.cgi?action=find&name=AccessControlCardRec&count=0", 400);
  bad("/cgi-bin/AccessUser.cgi?action=doFind&Token=99&Offset=0&Count=1", 400);
  bad("/cgi-bin/AccessUser.cgi?action=removeMulti", 400);
  bad("/cgi-bin/magicBox.cgi?action=selfDestruct", 400);
  bad("/cgi-bin/nothing.cgi?action=x", 404);
  EXPECT_EQ(
      client.post("/cgi-bin/AccessCard.cgi?action=insertMulti", R"({"CardList":[{}]})").status,
      400u);
  EXPECT_TRUE(device.cards().empty());
  // Three attaches, the first challenged once: 4 requests.
  EXPECT_EQ(device.requests_seen("/cgi-bin/eventManager.cgi?action=attach"), 4u);
  EXPECT_EQ(device.stream_count(), 0u);
}

// --- Reboot -------------------------------------------------------------------------------

TEST(DahuaSimReboot, CutsTheStreamRefusesAndKeepsRecords) {
  DahuaDevice device(fast_config());
  Client client(device.port(), "admin", "admin123");
  device.generate_access(user("before"));
  {
    StreamReader reader(client, kAttach);
    ASSERT_TRUE(wait_for([&] { return reader.heartbeats() >= 1; }));
    device.reboot();
    EXPECT_TRUE(wait_for([&] { return reader.eof(); }));
  }
  EXPECT_FALSE(device.is_up());
  EXPECT_THROW(client.get(kInfo), boost::system::system_error);  // connection refused
  device.generate_access(user("while-down"));                    // only backfill can find it
  device.power_on();
  ASSERT_EQ(client.get(kInfo).status, 200u);  // old nonce forgotten: stale, re-challenged
  EXPECT_GE(device.auth_stats().stale, 1u);
  EXPECT_EQ(device.records(Table::Access).size(), 2u);
  EXPECT_EQ(device.boots(), 2u);
  // The CGI reboot answers first, then goes down for a while and comes back.
  EXPECT_EQ(client.get("/cgi-bin/magicBox.cgi?action=reboot").status, 200u);
  EXPECT_TRUE(wait_for([&] { return device.boots() == 3; }));
  EXPECT_EQ(client.get(kInfo).status, 200u);
}

// --- Ledger and generator ------------------------------------------------------------------

TEST(DahuaSimEvents, GeneratorAndLedger) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("dahua-sim-" + std::to_string(::getpid()) + "-" +
                    std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
  std::filesystem::create_directories(dir);
  auto config = fast_config();
  config.ledger_path = (dir / "ledger.tsv").string();
  {
    DahuaDevice device(config);
    device.start_generator(500, 20, 7, 5);
    ASSERT_TRUE(wait_for([&] { return device.generator_remaining() == 0; }));
    EXPECT_EQ(device.records(Table::Access).size(), 16u);
    EXPECT_EQ(device.records(Table::Alarm).size(), 4u);
    std::uint64_t last = 0;
    for (const auto& r : device.records(Table::Access)) {
      EXPECT_EQ(r.rec_no, last + 1);
      last = r.rec_no;
    }
  }
  std::ifstream in(config.ledger_path);
  std::string line;
  std::size_t n = 0;
  while (std::getline(in, line)) {
    EXPECT_EQ(line.rfind("DHSIM0001\tAccessControl", 0), 0u) << line;
    ++n;
  }
  EXPECT_EQ(n, 20u);
  std::filesystem::remove_all(dir);
}

// --- Push mode ----------------------------------------------------------------------------

/// A push target: answers the first `fail_first` event posts 500, challenges
/// with Digest when `user` is set, inflates deflate/gzip bodies.
class PushServer {
 public:
  PushServer(int fail_first, std::string user, std::string password, std::uint16_t port = 0)
      : fail_first_(fail_first), user_(std::move(user)), password_(std::move(password)) {
    acceptor_.open(tcp::v4());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    acceptor_.bind(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] { run(); });
  }
  ~PushServer() {
    stop_ = true;
    boost::system::error_code ec;
    tcp::socket poke(ioc_);
    poke.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port_), ec);
    thread_.join();
  }
  std::uint16_t port() const { return port_; }
  std::vector<std::string> accepted() const {
    std::lock_guard lock(mu_);
    return accepted_;
  }
  std::size_t keepalives() const {
    std::lock_guard lock(mu_);
    return keepalives_;
  }
  std::size_t unauthenticated() const {
    std::lock_guard lock(mu_);
    return unauthenticated_;
  }

 private:
  static std::string inflate_body(const std::string& in, const std::string& encoding) {
    if (encoding.empty()) {
      return in;
    }
    z_stream z{};
    // deflate: zlib-wrapped or raw (both seen); gzip: gzip header.
    const bool zlib_header =
        in.size() >= 2 && (static_cast<unsigned char>(in[0]) & 0x0F) == 8 &&
        ((static_cast<unsigned char>(in[0]) << 8) | static_cast<unsigned char>(in[1])) % 31 == 0;
    const int bits = encoding == "gzip" ? 31 : zlib_header ? 15 : -15;
    inflateInit2(&z, bits);
    std::string out(64 * 1024, '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z.avail_in = static_cast<uInt>(in.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    const int rc = inflate(&z, Z_FINISH);
    out.resize(z.total_out);
    inflateEnd(&z);
    return rc == Z_STREAM_END ? out : std::string("<inflate failed>");
  }

  void run() {
    int posts = 0;
    for (;;) {
      tcp::socket socket(ioc_);
      boost::system::error_code ec;
      acceptor_.accept(socket, ec);
      if (stop_) {
        return;
      }
      if (ec) {
        continue;
      }
      beast::flat_buffer buffer;
      http::request<http::string_body> req;
      http::read(socket, buffer, req, ec);
      if (ec) {
        continue;
      }
      http::response<http::string_body> res{http::status::ok, 11};
      const std::string auth(req[http::field::authorization]);
      const std::string nonce = "pushnonce";
      bool authorised = user_.empty();
      if (!user_.empty() && !auth.empty()) {
        const std::string realm = "pushgate";
        const std::string ha1 = md5(user_ + ":" + realm + ":" + password_);
        const std::string ha2 =
            md5(std::string(http::to_string(req.method())) + ":" + challenge_param(auth, "uri"));
        const auto nc_at = auth.find("nc=");
        const std::string nc = nc_at == std::string::npos ? "" : auth.substr(nc_at + 3, 8);
        const std::string want = md5(ha1 + ":" + nonce + ":" + nc + ":" +
                                     challenge_param(auth, "cnonce") + ":auth:" + ha2);
        authorised = challenge_param(auth, "response") == want;
      }
      if (!authorised) {
        std::lock_guard lock(mu_);
        ++unauthenticated_;
        res.result(http::status::unauthorized);
        res.set(http::field::www_authenticate,
                "Digest realm=\"pushgate\", qop=\"auth\", nonce=\"" + nonce + "\"");
      } else if (req.target() == "/EventHttpUpload/keepalive") {
        std::lock_guard lock(mu_);
        ++keepalives_;
        res.body() = "{\"result\":true}";
      } else if (posts++ < fail_first_) {
        res.result(http::status::internal_server_error);
      } else {
        std::lock_guard lock(mu_);
        accepted_.push_back(
            inflate_body(req.body(), std::string(req[http::field::content_encoding])));
      }
      res.keep_alive(false);
      res.prepare_payload();
      http::write(socket, res, ec);
    }
  }

  net::io_context ioc_;
  tcp::acceptor acceptor_{ioc_};
  std::uint16_t port_ = 0;
  int fail_first_;
  std::string user_;
  std::string password_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::vector<std::string> accepted_;
  std::size_t keepalives_ = 0;
  std::size_t unauthenticated_ = 0;
  std::thread thread_;
};

TEST(DahuaSimPush, RetriesEveryEventUntil200WithDigestAndDeflate) {
  PushServer server(3, "dev1", "pushsecret");
  auto config = fast_config();
  PushConfig push;
  push.port = server.port();
  push.path = "/dahua/dev1/event";
  push.encoding = PushConfig::Encoding::Deflate;
  push.user = "dev1";
  push.password = "pushsecret";
  push.retry_interval = 10ms;
  push.keepalive_interval = 20ms;
  config.push = push;
  DahuaDevice device(config);
  device.generate_access(user("p1"));
  device.generate_access(user("p2"));
  device.generate_alarm(alarm("ChassisIntruded", "Start"));
  ASSERT_TRUE(wait_for([&] { return device.push_stats().delivered == 3; }));
  const auto got = server.accepted();
  ASSERT_EQ(got.size(), 3u);  // each exactly once, in device order
  EXPECT_EQ(nlohmann::json::parse(got[0]).at("Data").at("UserID"), "p1");
  EXPECT_EQ(nlohmann::json::parse(got[1]).at("Data").at("UserID"), "p2");
  EXPECT_EQ(nlohmann::json::parse(got[2]).at("Code"), "ChassisIntruded");
  EXPECT_EQ(nlohmann::json::parse(got[0]).at("Action"), "Pulse");
  const PushStats s = device.push_stats();
  EXPECT_EQ(s.attempts, 6u);  // 3 answered 500, then 3 answered 200
  EXPECT_EQ(s.rejected, 3u);
  EXPECT_EQ(s.queued, 0u);
  EXPECT_GE(server.unauthenticated(), 1u);  // the first request was challenged
  EXPECT_TRUE(wait_for([&] { return server.keepalives() >= 1; }));
}

TEST(DahuaSimPush, TextBodiesGzipAndAnOutage) {
  auto config = fast_config();
  PushConfig push;
  push.port = 0;
  push.format = PushConfig::Format::Text;
  push.encoding = PushConfig::Encoding::Gzip;
  push.retry_interval = 10ms;
  push.keepalive_interval = 0ms;
  // The server comes up after the events happened: the device keeps them.
  std::unique_ptr<PushServer> server;
  {
    // Reserve a port by starting and stopping a server.
    PushServer probe(0, "", "");
    push.port = probe.port();
  }
  config.push = push;
  DahuaDevice device(config);
  device.generate_access(user("t1"));
  ASSERT_TRUE(wait_for([&] { return device.push_stats().failed >= 2; }));
  try {
    server = std::make_unique<PushServer>(0, "", "", push.port);
  } catch (const boost::system::system_error&) {
    GTEST_SKIP() << "the reserved port was taken meanwhile";
  }
  ASSERT_TRUE(wait_for([&] { return device.push_stats().delivered == 1; }));
  const auto got = server->accepted();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].rfind("Code=AccessControl;action=Pulse;index=0;data={", 0), 0u) << got[0];
}

// --- CLI ------------------------------------------------------------------------------------

TEST(DahuaSimCli, ParsesFlagsAndRejectsBadOnes) {
  const auto ok = parse_dahua_command_line(
      {"--port", "0", "--user", "u", "--password=p", "--clock-offset", "-120", "--page-cap", "1024",
       "--events-per-second", "2.5", "--push-url", "http://127.0.0.1:9000/dahua/x",
       "--push-encoding", "gzip", "--old-firmware"});
  ASSERT_TRUE(ok.ok) << ok.error;
  EXPECT_EQ(ok.cli.device.user, "u");
  EXPECT_EQ(ok.cli.device.password, "p");
  EXPECT_EQ(ok.cli.device.clock_offset, -120s);
  EXPECT_EQ(ok.cli.device.page_cap, 1024u);
  EXPECT_DOUBLE_EQ(ok.cli.events_per_second, 2.5);
  ASSERT_TRUE(ok.cli.device.push);
  EXPECT_EQ(ok.cli.device.push->port, 9000);
  EXPECT_EQ(ok.cli.device.push->path, "/dahua/x");
  EXPECT_EQ(ok.cli.device.push->encoding, PushConfig::Encoding::Gzip);
  EXPECT_TRUE(ok.cli.device.old_firmware);
  EXPECT_FALSE(parse_dahua_command_line({"--port", "70000"}).ok);
  EXPECT_FALSE(parse_dahua_command_line({"--push-url", "nohost"}).ok);
  EXPECT_FALSE(parse_dahua_command_line({"--push-encoding", "br"}).ok);
  EXPECT_FALSE(parse_dahua_command_line({"--bogus"}).ok);
  EXPECT_TRUE(parse_dahua_command_line({"--help"}).help);
}

/// Reads one line from `fd` (blocking).
std::string read_line(int fd) {
  std::string line;
  char c = 0;
  while (::read(fd, &c, 1) == 1 && c != '\n') {
    line.push_back(c);
  }
  return line;
}

TEST(DahuaSimCli, BinaryServesGeneratedEventsAndStopsOnSigterm) {
  const std::string binary = std::string(PUSHGATE_BINARY_DIR) + "/tests/sim/pushgate-sim";
  int out[2];
  ASSERT_EQ(::pipe(out), 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::dup2(out[1], STDOUT_FILENO);
    ::close(out[0]);
    ::close(out[1]);
    ::execl(binary.c_str(), binary.c_str(), "dahua", "--port", "0", "--password", "s3cret",
            "--serial", "CLI0001", "--events-per-second", "500", "--events", "5",
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(out[1]);
  const std::string first = read_line(out[0]);
  ASSERT_EQ(first.rfind("listening 127.0.0.1:", 0), 0u) << first;
  EXPECT_NE(first.find("serial=CLI0001"), std::string::npos);
  const auto port = static_cast<std::uint16_t>(std::stoi(first.substr(20)));
  Client client(port, "admin", "s3cret");
  EXPECT_TRUE(wait_for([&] {
    return lines(client
                     .get("/cgi-bin/recordFinder.cgi?action=find&name=AccessControlCardRec&"
                          "StartTime=0&EndTime=4000000000")
                     .body)["found"] == "5";
  }));
  ::kill(pid, SIGTERM);
  EXPECT_EQ(read_line(out[0]), "stopped: 5 access records, 0 alarm records");
  int status = 0;
  ::waitpid(pid, &status, 0);
  ::close(out[0]);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace pushgate::sim::dahua::test
