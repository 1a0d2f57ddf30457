// The push-mode listener (adapters/dahua/dahua_push_server.hpp) over real
// HTTP on loopback: the simulated Dahua device of tests/sim uploading in push
// mode (its own Digest client and compressors, written from the docs), and a
// plain Beast client in this file for the answers the device does not show
// (exact status codes, multipart pictures, replays).

#include "adapters/dahua/dahua_push_server.hpp"

#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <ostream>
#include <sstream>
#include <stdexcept>

#include <gtest/gtest.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "adapters/dahua/dahua_digest.hpp"
#include "gateway/metrics/metrics.hpp"
#include "tests/sim/dahua_device.hpp"
#include "tests/support/io_thread.hpp"
#include "tests/support/processes.hpp"
#include "tests/support/self_signed.hpp"

namespace pushgate::adapters::dahua {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;
using pushgate::test::make_self_signed;
using pushgate::test::SelfSigned;
using pushgate::test::wait_for;
namespace sim = pushgate::sim::dahua;

constexpr auto kWait = 10s;
constexpr const char* kPath = "/dahua/event";

std::string fixture(const std::string& name) {
  std::ifstream in(
      std::filesystem::path(PUSHGATE_SOURCE_DIR) / "tests" / "fixtures" / "dahua" / name,
      std::ios::binary);
  if (!in) {
    throw std::runtime_error("cannot read fixture " + name);
  }
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

/** A PushServer on its own io thread, recording uploads; done is called per `mode`. */
class Listener {
 public:
  enum class Mode { Commit, Hold, FailFirst, Throw, Drop };

  explicit Listener(Mode mode = Mode::Commit,
                    std::function<void(PushServerOptions&)> tweak = nullptr)
      : mode_(mode) {
    PushServerOptions o;
    o.name = "dahua-push-test";
    o.address = "127.0.0.1";
    o.port = 0;
    o.paths = {kPath, "/PictureHttpUpload"};
    o.credentials = [](std::string_view user) {
      // Two devices share the user name "admin": the password tells them apart.
      std::vector<PushCredential> out;
      if (user == "dev1") {
        out.push_back({"door-1", "dev1", "pushsecret"});
      }
      if (user == "admin") {
        out.push_back({"door-2", "admin", "first"});
        out.push_back({"door-3", "admin", "second"});
      }
      return out;
    };
    if (tweak) {
      tweak(o);
    }
    server_ = std::make_unique<PushServer>(
        io_.ioc(), o,
        [this](PushUpload upload, PushDone done) { on_events(std::move(upload), done); }, metrics_,
        [this](const PushPeer& peer) {
          std::lock_guard lock(mu_);
          keepalive_devices_.push_back(peer.device);
        });
    const auto ec = server_->start();
    if (ec) {
      throw std::runtime_error("listener did not start: " + ec.message());
    }
  }

  ~Listener() {
    // Before the io thread goes: held answers own connections of its io_context.
    server_.reset();
    std::lock_guard lock(mu_);
    held_.clear();
  }

  PushServer& server() { return *server_; }
  std::uint16_t port() const { return server_->port(); }
  metrics::Registry& metrics() { return metrics_; }

  std::vector<PushUpload> uploads() const {
    std::lock_guard lock(mu_);
    return uploads_;
  }
  std::size_t upload_count() const {
    std::lock_guard lock(mu_);
    return uploads_.size();
  }
  std::size_t held() const {
    std::lock_guard lock(mu_);
    return held_.size();
  }
  /** Answers the oldest held upload. */
  void release(bool ok) {
    PushDone done;
    {
      std::lock_guard lock(mu_);
      done = held_.front();
      held_.pop_front();
    }
    done(ok);
  }
  std::vector<std::string> keepalive_devices() const {
    std::lock_guard lock(mu_);
    return keepalive_devices_;
  }

 private:
  void on_events(PushUpload upload, PushDone done) {
    bool fail = false;
    {
      std::lock_guard lock(mu_);
      uploads_.push_back(std::move(upload));
      fail = mode_ == Mode::FailFirst && uploads_.size() == 1;
      if (mode_ == Mode::Hold) {
        held_.push_back(done);
        return;
      }
    }
    switch (mode_) {
      case Mode::Throw:
        throw std::runtime_error("store on fire");
      case Mode::Drop:
        return;  // every copy of done dropped uncalled
      default:
        done(!fail);
    }
  }

  metrics::Registry metrics_;
  Mode mode_;
  mutable std::mutex mu_;
  std::vector<PushUpload> uploads_;
  std::deque<PushDone> held_;
  std::vector<std::string> keepalive_devices_;
  test::IoThread io_;  // after what its handlers touch: it stops first
  std::unique_ptr<PushServer> server_;
};

sim::DahuaDeviceConfig device_config(std::uint16_t port, sim::PushConfig::Encoding encoding,
                                     sim::PushConfig::Format format,
                                     const std::string& password = "pushsecret") {
  sim::DahuaDeviceConfig c;
  sim::PushConfig push;
  push.port = port;
  push.path = kPath;
  push.user = "dev1";
  push.password = password;
  push.encoding = encoding;
  push.format = format;
  push.retry_interval = 20ms;
  push.keepalive_interval = 0ms;
  c.push = push;
  return c;
}

sim::AccessSpec card(const std::string& card_no, const std::string& user) {
  sim::AccessSpec spec;
  spec.card_no = card_no;
  spec.user_id = user;
  return spec;
}

/** What a plain client got. */
struct Answer {
  unsigned status = 0;
  std::string body;
  std::string www_authenticate;
};

/** One request on its own connection, synchronously (the test thread's own io_context). */
Answer request(std::uint16_t port, bhttp::verb method, const std::string& target,
               const std::string& body, const std::string& content_type = "application/json",
               const std::string& authorization = "", const std::string& encoding = "") {
  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  stream.expires_after(kWait);
  stream.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  bhttp::request<bhttp::string_body> req{method, target, 11};
  req.set(bhttp::field::host, "127.0.0.1");
  if (!content_type.empty()) {
    req.set(bhttp::field::content_type, content_type);
  }
  if (!authorization.empty()) {
    req.set(bhttp::field::authorization, authorization);
  }
  if (!encoding.empty()) {
    req.set(bhttp::field::content_encoding, encoding);
  }
  req.keep_alive(false);
  req.body() = body;
  req.prepare_payload();
  beast::error_code ec;
  // A server answering early (413) may close before the whole body is
  // written: the answer is read all the same.
  bhttp::write(stream, req, ec);
  beast::flat_buffer buffer;
  bhttp::response<bhttp::string_body> res;
  bhttp::read(stream, buffer, res, ec);
  if (ec) {
    return {};
  }
  return {res.result_int(), res.body(), std::string(res[bhttp::field::www_authenticate])};
}

/** The challenge of a 401 to an unauthenticated request. */
DigestChallenge challenge_of(std::uint16_t port, const std::string& target) {
  const Answer a = request(port, bhttp::verb::post, target, "{}");
  EXPECT_EQ(a.status, 401u);
  auto parsed = parse_digest_challenge(a.www_authenticate);
  if (!parsed.challenge) {
    throw std::runtime_error("no challenge: " + parsed.error);
  }
  return *parsed.challenge;
}

/** A POST answered after one challenge (the DigestClient of the protocol library). */
Answer post_with_digest(std::uint16_t port, const std::string& target, const std::string& body,
                        const std::string& content_type, const std::string& user = "dev1",
                        const std::string& password = "pushsecret") {
  DigestClient client(user, password);
  client.on_challenge(challenge_of(port, target));
  return request(port, bhttp::verb::post, target, body, content_type,
                 client.authorize("POST", target, "0a4f113b"));
}

const std::string kEventJson =
    R"({"Code":"AccessControl","Action":"Pulse","Index":0,"Data":{"CardNo":"AB12","UserID":"7","Door":0,"Method":1,"Status":1,"Type":"Entry","UTC":1789555000,"RecNo":41}})";

// --- The simulated device uploading -----------------------------------------------------

struct EncodingCase {
  sim::PushConfig::Encoding encoding;
  sim::PushConfig::Format format;
  const char* coding;  // what the decoder must report
  const char* name;    // the test name's suffix
};

// Stable test names in ctest (not the bytes of the struct).
void PrintTo(const EncodingCase& c, std::ostream* os) {
  *os << c.name;
}

class DahuaPushServerEncodings : public ::testing::TestWithParam<EncodingCase> {};

TEST_P(DahuaPushServerEncodings, DeviceUploadsWithDigestAndEveryEventArrivesOnce) {
  const auto param = GetParam();
  Listener listener;
  sim::DahuaDevice device(device_config(listener.port(), param.encoding, param.format));
  device.generate_access(card("C0FFEE01", "11"));
  device.generate_access(card("C0FFEE02", "12"));
  device.generate_access(card("C0FFEE03", "13"));
  ASSERT_TRUE(wait_for([&] { return device.push_stats().delivered == 3; }, kWait));

  const auto uploads = listener.uploads();
  ASSERT_EQ(uploads.size(), 3u);
  const auto records = device.records(sim::Table::Access);
  for (std::size_t i = 0; i < 3; ++i) {
    const auto& u = uploads[i];
    EXPECT_EQ(u.peer.device, "door-1");
    EXPECT_EQ(u.peer.user, "dev1");
    EXPECT_EQ(u.body.coding, param.coding);
    EXPECT_FALSE(u.raw.empty());
    ASSERT_EQ(u.body.events.size(), 1u);
    ASSERT_TRUE(u.body.events[0].event) << u.body.events[0].error;
    const auto& e = *u.body.events[0].event;
    EXPECT_EQ(e.code, "AccessControl");
    EXPECT_EQ(e.data.card_no, "C0FFEE0" + std::to_string(i + 1));
    EXPECT_EQ(e.data.rec_no, static_cast<std::int64_t>(records[i].rec_no));
  }
  const auto s = listener.server().stats();
  EXPECT_EQ(s.uploads_ok, 3u);
  EXPECT_EQ(s.events, 3u);
  EXPECT_GE(s.challenges, 1u);  // the device's first request had no credentials
  EXPECT_EQ(s.auth_refused, 0u);
  EXPECT_EQ(device.push_stats().failed, 0u);
  EXPECT_EQ(listener.metrics().value("pushgate_dahua_push_answers_total",
                                     {{"listener", "dahua-push-test"}, {"result", "ok"}}),
            3.0);
}

INSTANTIATE_TEST_SUITE_P(
    Bodies, DahuaPushServerEncodings,
    ::testing::Values(EncodingCase{sim::PushConfig::Encoding::None, sim::PushConfig::Format::Json,
                                   "identity", "json"},
                      EncodingCase{sim::PushConfig::Encoding::None, sim::PushConfig::Format::Text,
                                   "identity", "text"},
                      EncodingCase{sim::PushConfig::Encoding::Deflate,
                                   sim::PushConfig::Format::Text, "deflate-raw",
                                   "raw_deflate_text"},
                      EncodingCase{sim::PushConfig::Encoding::Zlib, sim::PushConfig::Format::Json,
                                   "deflate-zlib", "zlib_deflate_json"},
                      EncodingCase{sim::PushConfig::Encoding::Gzip, sim::PushConfig::Format::Json,
                                   "gzip", "gzip_json"}),
    [](const ::testing::TestParamInfo<EncodingCase>& param_info) {
      return std::string(param_info.param.name);
    });

TEST(DahuaPushServer, WrongPasswordIsRefusedWith401AndCounted) {
  Listener listener;
  sim::DahuaDevice device(device_config(listener.port(), sim::PushConfig::Encoding::None,
                                        sim::PushConfig::Format::Json, "not-the-password"));
  device.generate_access(card("BADC0DE", "1"));
  ASSERT_TRUE(wait_for([&] { return device.push_stats().rejected >= 2; }, kWait));
  EXPECT_EQ(device.push_stats().delivered, 0u);
  EXPECT_EQ(listener.upload_count(), 0u);
  EXPECT_GE(listener.server().stats().auth_refused, 2u);

  // The exact answer: 401 with a fresh challenge, not 403 (the device keeps trying).
  const Answer a =
      post_with_digest(listener.port(), kPath, kEventJson, "application/json", "dev1", "wrong");
  EXPECT_EQ(a.status, 401u);
  auto parsed = parse_digest_challenge(a.www_authenticate);
  ASSERT_TRUE(parsed.challenge);
  EXPECT_FALSE(parsed.challenge->stale);
  EXPECT_EQ(parsed.challenge->realm, "pushgate");
  // An unknown user is refused the same way.
  EXPECT_EQ(post_with_digest(listener.port(), kPath, kEventJson, "application/json", "nobody",
                             "pushsecret")
                .status,
            401u);
}

TEST(DahuaPushServer, SharedUserNameIsTheDeviceWhosePasswordMatches) {
  Listener listener;
  EXPECT_EQ(
      post_with_digest(listener.port(), kPath, kEventJson, "application/json", "admin", "second")
          .status,
      200u);
  EXPECT_EQ(
      post_with_digest(listener.port(), kPath, kEventJson, "application/json", "admin", "first")
          .status,
      200u);
  const auto uploads = listener.uploads();
  ASSERT_EQ(uploads.size(), 2u);
  EXPECT_EQ(uploads[0].peer.device, "door-3");
  EXPECT_EQ(uploads[1].peer.device, "door-2");
}

TEST(DahuaPushServer, AnswersOkOnlyAfterDoneTrue) {
  Listener listener(Listener::Mode::Hold);
  sim::DahuaDevice device(device_config(listener.port(), sim::PushConfig::Encoding::Deflate,
                                        sim::PushConfig::Format::Json));
  device.generate_access(card("HELD0001", "3"));
  ASSERT_TRUE(wait_for([&] { return listener.held() == 1; }, kWait));
  // Another full exchange on the listener while the upload waits: the
  // listener keeps serving, and the device still has no answer.
  EXPECT_EQ(request(listener.port(), bhttp::verb::get, "/EventHttpUpload/keepalive", "", "").status,
            401u);
  EXPECT_EQ(listener.server().pending(), 1u);
  auto stats = device.push_stats();
  EXPECT_EQ(stats.attempts, 0u);  // counted once an answer is read
  EXPECT_EQ(stats.delivered, 0u);
  EXPECT_EQ(stats.queued, 1u);

  listener.release(true);
  ASSERT_TRUE(wait_for([&] { return device.push_stats().delivered == 1; }, kWait));
  EXPECT_EQ(device.push_stats().attempts, 1u);
  EXPECT_EQ(listener.server().pending(), 0u);
  EXPECT_EQ(listener.upload_count(), 1u);
}

TEST(DahuaPushServer, FailedCommitAnswers503AndTheDeviceSendsAgain) {
  Listener listener(Listener::Mode::FailFirst);
  sim::DahuaDevice device(device_config(listener.port(), sim::PushConfig::Encoding::Gzip,
                                        sim::PushConfig::Format::Text));
  device.generate_access(card("RETRY001", "4"));
  ASSERT_TRUE(wait_for([&] { return device.push_stats().delivered == 1; }, kWait));
  const auto s = device.push_stats();
  EXPECT_EQ(s.rejected, 1u);  // the 503
  EXPECT_EQ(s.attempts, 2u);
  const auto uploads = listener.uploads();
  ASSERT_EQ(uploads.size(), 2u);  // the same event, sent again
  ASSERT_TRUE(uploads[0].body.events[0].event);
  ASSERT_TRUE(uploads[1].body.events[0].event);
  EXPECT_EQ(uploads[0].body.events[0].event->data.rec_no,
            uploads[1].body.events[0].event->data.rec_no);
  EXPECT_EQ(listener.server().stats().commit_failed, 1u);
  EXPECT_EQ(listener.server().stats().uploads_ok, 1u);
}

TEST(DahuaPushServer, ExactFailureAnswers) {
  {
    Listener failing(Listener::Mode::FailFirst);
    const Answer a = post_with_digest(failing.port(), kPath, kEventJson, "application/json");
    EXPECT_EQ(a.status, 503u);
    EXPECT_NE(a.body.find("send them again"), std::string::npos);
  }
  {
    Listener throwing(Listener::Mode::Throw);
    EXPECT_EQ(post_with_digest(throwing.port(), kPath, kEventJson, "application/json").status,
              503u);
    EXPECT_EQ(throwing.server().stats().handler_errors, 1u);
  }
  {
    Listener dropping(Listener::Mode::Drop);
    EXPECT_EQ(post_with_digest(dropping.port(), kPath, kEventJson, "application/json").status,
              503u);
    EXPECT_EQ(dropping.server().stats().commit_failed, 1u);
    EXPECT_EQ(dropping.server().pending(), 0u);
  }
}

TEST(DahuaPushServer, CommitThatNeverAnswersGets503AfterTheCommitTimeout) {
  Listener listener(Listener::Mode::Hold, [](PushServerOptions& o) { o.commit_timeout = 100ms; });
  EXPECT_EQ(post_with_digest(listener.port(), kPath, kEventJson, "application/json").status, 503u);
  EXPECT_EQ(listener.server().stats().commit_timeouts, 1u);
  listener.release(true);  // too late: ignored, nothing sent twice
  EXPECT_EQ(listener.server().stats().uploads_ok, 0u);
}

TEST(DahuaPushServer, OversizeBodyIs413AndTheDeviceStaysHealthy) {
  Listener listener(Listener::Mode::Commit, [](PushServerOptions& o) { o.body_limit = 256; });
  const Answer a = request(listener.port(), bhttp::verb::post, kPath, std::string(4096, ' '));
  EXPECT_EQ(a.status, 413u);
  EXPECT_EQ(listener.upload_count(), 0u);
  // A body within the limit on the same listener still goes through.
  EXPECT_EQ(post_with_digest(listener.port(), kPath, R"({"Code":"DoorStatus","Index":0})",
                             "application/json")
                .status,
            200u);
  EXPECT_EQ(listener.upload_count(), 1u);
}

TEST(DahuaPushServer, InflatedSizeAndEventCountAreBounded) {
  Listener listener(Listener::Mode::Commit, [](PushServerOptions& o) {
    o.limits.max_inflated_bytes = 64;
    o.limits.max_events = 2;
  });
  // A body whose Content-Encoding claims gzip of something over the cap: 400.
  sim::DahuaDevice device(device_config(listener.port(), sim::PushConfig::Encoding::Gzip,
                                        sim::PushConfig::Format::Json));
  device.generate_access(card("BIG00001", "9"));
  ASSERT_TRUE(wait_for([&] { return listener.server().stats().bad_bodies >= 1; }, kWait));
  EXPECT_EQ(listener.upload_count(), 0u);
  EXPECT_EQ(device.push_stats().delivered, 0u);
}

TEST(DahuaPushServer, EventsOverThePerUploadLimitAreCountedAndTheRestTaken) {
  Listener listener(Listener::Mode::Commit, [](PushServerOptions& o) { o.limits.max_events = 2; });
  const std::string three =
      "Code=DoorStatus;action=Pulse;index=0;data={\"RecNo\":1}\r\n"
      "Code=DoorStatus;action=Pulse;index=0;data={\"RecNo\":2}\r\n"
      "Code=DoorStatus;action=Pulse;index=0;data={\"RecNo\":3}\r\n";
  EXPECT_EQ(post_with_digest(listener.port(), kPath, three, "text/plain").status, 200u);
  const auto uploads = listener.uploads();
  ASSERT_EQ(uploads.size(), 1u);
  EXPECT_EQ(uploads[0].body.events.size(), 2u);
  EXPECT_EQ(uploads[0].raw, three);  // the raw body keeps the third
  EXPECT_EQ(listener.server().stats().events_refused, 1u);
}

TEST(DahuaPushServer, UndecodableBodyIs400CountedAndTheNextUploadWorks) {
  Listener listener;
  const Answer bad = post_with_digest(listener.port(), kPath, "this is not an event", "text/plain");
  EXPECT_EQ(bad.status, 400u);
  EXPECT_NE(bad.body.find("not decodable"), std::string::npos);
  EXPECT_EQ(post_with_digest(listener.port(), kPath, "\x1f\x8b garbage", "application/json", "dev1",
                             "pushsecret")
                .status,
            400u);
  EXPECT_EQ(listener.upload_count(), 0u);
  EXPECT_EQ(listener.server().stats().bad_bodies, 2u);
  EXPECT_EQ(post_with_digest(listener.port(), kPath, kEventJson, "application/json").status, 200u);
  EXPECT_EQ(listener.upload_count(), 1u);
}

// The adapter's setting: a body that never decodes is handed over (to be
// quarantined) and answered 200 after the commit, so the device stops re-sending it.
TEST(DahuaPushServer, UndecodableBodyIsHandedOverWhenTheOwnerQuarantinesIt) {
  Listener listener(Listener::Mode::Commit,
                    [](PushServerOptions& o) { o.hand_undecodable = true; });
  const Answer a = post_with_digest(listener.port(), kPath, "this is not an event", "text/plain");
  EXPECT_EQ(a.status, 200u);
  const auto uploads = listener.uploads();
  ASSERT_EQ(uploads.size(), 1u);
  EXPECT_FALSE(uploads[0].body.usable());
  for (const auto& e : uploads[0].body.events) {
    EXPECT_FALSE(e.event);  // errors only, each saying why
    EXPECT_FALSE(e.error.empty());
  }
  EXPECT_EQ(uploads[0].raw, "this is not an event");
  EXPECT_EQ(listener.server().stats().bad_bodies, 1u);
  EXPECT_EQ(listener.server().stats().uploads_ok, 1u);
}

TEST(DahuaPushServer, PictureUploadMultipartHandsEventsAndImage) {
  Listener listener;
  const Answer a =
      post_with_digest(listener.port(), "/PictureHttpUpload", fixture("push-picture.multipart"),
                       "multipart/form-data; boundary=pushgateboundary");
  EXPECT_EQ(a.status, 200u);
  EXPECT_EQ(a.body, R"({"result":true})");
  const auto uploads = listener.uploads();
  ASSERT_EQ(uploads.size(), 1u);
  const auto& body = uploads[0].body;
  EXPECT_EQ(body.channel, 0);
  ASSERT_EQ(body.events.size(), 1u);
  ASSERT_TRUE(body.events[0].event);
  EXPECT_EQ(body.events[0].event->data.rec_no, 902);
  ASSERT_EQ(body.images.size(), 1u);
  EXPECT_TRUE(body.images[0].kept);
  EXPECT_EQ(body.images[0].filename, "snap.jpg");
}

TEST(DahuaPushServer, StaleUnknownAndReplayedNoncesAreChallengedStale) {
  // Every nonce expires at once.
  Listener listener(Listener::Mode::Commit, [](PushServerOptions& o) { o.nonce_lifetime = 0ms; });
  // An expired nonce with the right password: 401 stale=true (no failure counted).
  const DigestChallenge old = challenge_of(listener.port(), kPath);
  const Answer a =
      request(listener.port(), bhttp::verb::post, kPath, kEventJson, "application/json",
              build_digest_authorization(old, "dev1", "pushsecret", "POST", kPath, 1, "c1"));
  EXPECT_EQ(a.status, 401u);
  EXPECT_NE(a.www_authenticate.find("stale=true"), std::string::npos);
  EXPECT_EQ(listener.server().stats().auth_refused, 0u);
  EXPECT_GE(listener.server().stats().auth_stale, 1u);

  // A nonce this listener never issued (e.g. before a restart): stale too.
  DigestChallenge foreign = old;
  foreign.nonce = "00112233445566778899aabbccddeeff";
  const Answer f =
      request(listener.port(), bhttp::verb::post, kPath, kEventJson, "application/json",
              build_digest_authorization(foreign, "dev1", "pushsecret", "POST", kPath, 1, "c2"));
  EXPECT_EQ(f.status, 401u);
  EXPECT_NE(f.www_authenticate.find("stale=true"), std::string::npos);
  EXPECT_EQ(listener.upload_count(), 0u);
}

TEST(DahuaPushServer, ReplayedNonceCountIsChallengedStaleNotTaken) {
  Listener listener;
  const DigestChallenge c = challenge_of(listener.port(), kPath);
  const std::string auth =
      build_digest_authorization(c, "dev1", "pushsecret", "POST", kPath, 1, "feedbeef");
  EXPECT_EQ(request(listener.port(), bhttp::verb::post, kPath, kEventJson, "application/json", auth)
                .status,
            200u);
  const Answer replay =
      request(listener.port(), bhttp::verb::post, kPath, kEventJson, "application/json", auth);
  EXPECT_EQ(replay.status, 401u);
  EXPECT_NE(replay.www_authenticate.find("stale=true"), std::string::npos);
  // The next count on the same nonce is fine.
  EXPECT_EQ(
      request(listener.port(), bhttp::verb::post, kPath, kEventJson, "application/json",
              build_digest_authorization(c, "dev1", "pushsecret", "POST", kPath, 2, "feedbeef"))
          .status,
      200u);
  EXPECT_EQ(listener.upload_count(), 2u);
}

TEST(DahuaPushServer, KeepalivesAreAnswered200AfterDigest) {
  Listener listener;
  auto config = device_config(listener.port(), sim::PushConfig::Encoding::None,
                              sim::PushConfig::Format::Json);
  config.push->keepalive_interval = 20ms;
  sim::DahuaDevice device(config);
  ASSERT_TRUE(wait_for([&] { return device.push_stats().keepalives >= 2; }, kWait));
  EXPECT_GE(listener.server().stats().keepalives, 2u);
  const auto devices = listener.keepalive_devices();
  ASSERT_FALSE(devices.empty());
  EXPECT_EQ(devices.front(), "door-1");
  EXPECT_EQ(listener.upload_count(), 0u);
}

TEST(DahuaPushServer, OtherPathsAndMethodsAreRefused) {
  Listener listener;
  EXPECT_EQ(request(listener.port(), bhttp::verb::post, "/iclock/cdata", kEventJson).status, 404u);
  EXPECT_EQ(request(listener.port(), bhttp::verb::get, kPath, "", "").status, 405u);
  EXPECT_EQ(listener.server().stats().not_found, 2u);
}

TEST(DahuaPushServer, CredentialsLookupThatThrowsRefusesWith401) {
  Listener listener(Listener::Mode::Commit, [](PushServerOptions& o) {
    o.credentials = [](std::string_view) -> std::vector<PushCredential> {
      throw std::runtime_error("config being reloaded");
    };
  });
  EXPECT_EQ(post_with_digest(listener.port(), kPath, kEventJson, "application/json").status, 401u);
  EXPECT_EQ(listener.server().stats().auth_refused, 1u);
  EXPECT_EQ(listener.upload_count(), 0u);
}

TEST(DahuaPushServer, UnauthenticatedDevicesKnownByAddress) {
  Listener listener(Listener::Mode::Commit, [](PushServerOptions& o) {
    o.unauthenticated_device = [](const net::ip::address& a) {
      return a.is_loopback() ? std::string("door-open") : std::string();
    };
  });
  EXPECT_EQ(request(listener.port(), bhttp::verb::post, kPath, kEventJson).status, 200u);
  const auto uploads = listener.uploads();
  ASSERT_EQ(uploads.size(), 1u);
  EXPECT_EQ(uploads[0].peer.device, "door-open");
  EXPECT_EQ(uploads[0].peer.user, "");
}

/** One POST over TLS to a listener whose certificate is `cert_pem`. */
Answer tls_post(std::uint16_t port, const std::string& cert_pem, const std::string& body,
                const std::string& authorization) {
  net::io_context ioc;
  net::ssl::context ctx(net::ssl::context::tls_client);
  ctx.add_certificate_authority(net::buffer(cert_pem));
  ctx.set_verify_mode(net::ssl::verify_peer);
  beast::ssl_stream<beast::tcp_stream> stream(ioc, ctx);
  beast::get_lowest_layer(stream).expires_after(kWait);
  beast::get_lowest_layer(stream).connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  stream.handshake(net::ssl::stream_base::client);
  bhttp::request<bhttp::string_body> req{bhttp::verb::post, kPath, 11};
  req.set(bhttp::field::host, "localhost");
  req.set(bhttp::field::content_type, "application/json");
  if (!authorization.empty()) {
    req.set(bhttp::field::authorization, authorization);
  }
  req.keep_alive(false);
  req.body() = body;
  req.prepare_payload();
  bhttp::write(stream, req);
  beast::flat_buffer buffer;
  bhttp::response<bhttp::string_body> res;
  bhttp::read(stream, buffer, res);
  return {res.result_int(), res.body(), std::string(res[bhttp::field::www_authenticate])};
}

TEST(DahuaPushServer, DigestUploadOverTls) {
  const SelfSigned pair = make_self_signed();
  ASSERT_FALSE(pair.cert_pem.empty());
  Listener listener(Listener::Mode::Commit, [&](PushServerOptions& o) {
    o.tls = std::make_shared<net::ssl::context>(net::ssl::context::tls_server);
    o.tls->use_certificate_chain(net::buffer(pair.cert_pem));
    o.tls->use_private_key(net::buffer(pair.key_pem), net::ssl::context::pem);
  });
  const Answer first = tls_post(listener.port(), pair.cert_pem, kEventJson, "");
  ASSERT_EQ(first.status, 401u);
  auto parsed = parse_digest_challenge(first.www_authenticate);
  ASSERT_TRUE(parsed.challenge);
  DigestClient client("dev1", "pushsecret");
  client.on_challenge(*parsed.challenge);
  const Answer second = tls_post(listener.port(), pair.cert_pem, kEventJson,
                                 client.authorize("POST", kPath, "7f3a0c11"));
  EXPECT_EQ(second.status, 200u);
  const auto uploads = listener.uploads();
  ASSERT_EQ(uploads.size(), 1u);
  EXPECT_EQ(uploads[0].peer.device, "door-1");
  // Plain HTTP on the TLS listener is told 400 (this port speaks HTTPS
  // only) and closed; nothing is taken.
  EXPECT_EQ(request(listener.port(), bhttp::verb::post, kPath, kEventJson).status, 400u);
  EXPECT_EQ(listener.uploads().size(), 1u);
}

TEST(DahuaPushServer, StopAnswersUncommittedUploads503AfterTheGrace) {
  Listener listener(Listener::Mode::Hold);
  sim::DahuaDevice device(device_config(listener.port(), sim::PushConfig::Encoding::None,
                                        sim::PushConfig::Format::Json));
  device.generate_access(card("STOP0001", "5"));
  ASSERT_TRUE(wait_for([&] { return listener.held() == 1; }, kWait));
  listener.server().stop(50ms);
  ASSERT_TRUE(wait_for([&] { return listener.server().pending() == 0; }, kWait));
  EXPECT_EQ(listener.server().stats().stopped_pending, 1u);
  ASSERT_TRUE(wait_for([&] { return device.push_stats().rejected >= 1; }, kWait));
  EXPECT_EQ(device.push_stats().delivered, 0u);
  EXPECT_EQ(device.push_stats().queued, 1u);  // kept on the device for the next start
}

TEST(DahuaPushServer, StopLetsACommitInTheGraceAnswer200) {
  Listener listener(Listener::Mode::Hold);
  sim::DahuaDevice device(device_config(listener.port(), sim::PushConfig::Encoding::None,
                                        sim::PushConfig::Format::Json));
  device.generate_access(card("STOP0002", "6"));
  ASSERT_TRUE(wait_for([&] { return listener.held() == 1; }, kWait));
  listener.server().stop(10s);
  listener.release(true);
  ASSERT_TRUE(wait_for([&] { return device.push_stats().delivered == 1; }, kWait));
  EXPECT_EQ(listener.server().stats().stopped_pending, 0u);
}

}  // namespace
}  // namespace pushgate::adapters::dahua
