// The API's listener (issue 18): HTTPS with api.tls_cert_file and
// api.tls_key_file, the lines the start logs about an exposed listener,
// and CORS closed by default — a whole gateway over real loopback sockets.

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <spdlog/sinks/ringbuffer_sink.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "gateway/logging.hpp"
#include "tests/support/api_call.hpp"
#include "tests/support/gateway_harness.hpp"
#include "tests/support/processes.hpp"

namespace pushgate::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace bhttp = boost::beast::http;
using api_call::Answer;
using api_call::Headers;

std::string slurp(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void spit(const std::filesystem::path& p, const std::string& text) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f << text;
}

/** A self-signed certificate for "localhost", made now, as PEM files in `dir`. */
struct CertFiles {
  std::string cert_pem;
  std::string cert;
  std::string key;
};

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(n));
}

CertFiles make_cert(const std::filesystem::path& dir) {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), &EVP_PKEY_free);
  std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), &X509_free);
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24 * 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  X509_sign(cert.get(), key.get(), EVP_sha256());
  std::unique_ptr<BIO, decltype(&BIO_free)> cert_bio(BIO_new(BIO_s_mem()), &BIO_free);
  std::unique_ptr<BIO, decltype(&BIO_free)> key_bio(BIO_new(BIO_s_mem()), &BIO_free);
  PEM_write_bio_X509(cert_bio.get(), cert.get());
  PEM_write_bio_PrivateKey(key_bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  CertFiles out;
  out.cert_pem = bio_text(cert_bio.get());
  out.cert = (dir / "api.crt").string();
  out.key = (dir / "api.key").string();
  spit(out.cert, out.cert_pem);
  spit(out.key, bio_text(key_bio.get()));
  return out;
}

/** Over plain HTTP; Host carries the port, as a browser's does. */
Answer call(std::uint16_t port, bhttp::verb method, const std::string& target,
            const std::string& body = {}, const Headers& headers = {}) {
  net::io_context ioc;
  net::ip::tcp::socket socket(ioc);
  socket.connect({net::ip::make_address("127.0.0.1"), port});
  return api_call::exchange(socket, method, target, body, headers,
                            "127.0.0.1:" + std::to_string(port));
}

/** Over HTTPS, trusting exactly `ca_pem` (the handshake fails otherwise). */
Answer call_tls(std::uint16_t port, const std::string& ca_pem, bhttp::verb method,
                const std::string& target, const std::string& body = {},
                const Headers& headers = {}) {
  net::io_context ioc;
  ssl::context ctx(ssl::context::tls_client);
  ctx.add_certificate_authority(net::buffer(ca_pem));
  ctx.set_verify_mode(ssl::verify_peer);
  ssl::stream<net::ip::tcp::socket> stream(ioc, ctx);
  stream.next_layer().connect({net::ip::make_address("127.0.0.1"), port});
  stream.handshake(ssl::stream_base::client);
  auto a = api_call::exchange(stream, method, target, body, headers,
                              "localhost:" + std::to_string(port));
  boost::system::error_code ignored;
  stream.shutdown(ignored);
  return a;
}

const Headers kJson = {{"Content-Type", "application/json"}};

// The message of the harness's failed start ("" when it started).
std::string start_error(std::vector<std::string> sets) {
  try {
    GatewayHarness h(std::move(sets));
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return {};
}

TEST(ApiTlsTest, LoginAndARouteWorkOverHttpsAndTheCookieIsSecure) {
  TempDir certs;
  auto files = make_cert(certs.path());
  GatewayHarness gw(
      {"api.auth=required", "api.tls_cert_file=" + files.cert, "api.tls_key_file=" + files.key}, {},
      GatewayHarness::Accounts::FirstStart);
  auto port = gw.api_port();
  auto login = call_tls(
      port, files.cert_pem, bhttp::verb::post, "/api/v1/login",
      json{{"name", "admin"}, {"password", api_call::initial_admin_password(gw.data_dir())}}.dump(),
      kJson);
  ASSERT_EQ(login.status, 200) << login.body;
  const auto& set_cookie = login.headers["set-cookie"];
  EXPECT_NE(set_cookie.find("; Secure"), std::string::npos) << set_cookie;
  EXPECT_NE(set_cookie.find("HttpOnly"), std::string::npos) << set_cookie;
  const auto [cookie, csrf] = api_call::session_of(login);

  auto me =
      call_tls(port, files.cert_pem, bhttp::verb::get, "/api/v1/session", {}, {{"Cookie", cookie}});
  ASSERT_EQ(me.status, 200) << me.body;
  EXPECT_EQ(me.js().value("name", ""), "admin");
  // A change, with its CSRF token, from the console's own (https) origin.
  auto token = call_tls(port, files.cert_pem, bhttp::verb::post, "/api/v1/tokens",
                        json{{"name", "scada"}, {"role", "viewer"}}.dump(),
                        {{"Cookie", cookie},
                         {"X-CSRF-Token", csrf},
                         {"Origin", "https://localhost:" + std::to_string(port)}});
  EXPECT_EQ(token.status, 201) << token.body;

  // Plain HTTP to the HTTPS port: a plain-text 400 that says so, then closed.
  auto plain = send_raw(port, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  EXPECT_EQ(plain.status, 400);
  EXPECT_NE(plain.body.find("HTTPS only"), std::string::npos) << plain.body;

  auto metrics = call_tls(port, files.cert_pem, bhttp::verb::get, "/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("pushgate_http_plain_on_tls_total{server=\"api\"} 1"),
            std::string::npos);
  // The cookie that ends the session is Secure too (a browser would not let
  // a plain one replace it).
  auto out = call_tls(port, files.cert_pem, bhttp::verb::post, "/api/v1/logout", {},
                      {{"Cookie", cookie}, {"X-CSRF-Token", csrf}});
  ASSERT_EQ(out.status, 200) << out.body;
  EXPECT_NE(out.headers["set-cookie"].find("Max-Age=0; Secure"), std::string::npos)
      << out.headers["set-cookie"];
}

TEST(ApiTlsTest, AClientThatDoesNotTrustTheCertificateIsRefusedAndCounted) {
  TempDir certs;
  auto files = make_cert(certs.path());
  TempDir other_dir;
  auto other = make_cert(other_dir.path());
  GatewayHarness gw({"api.tls_cert_file=" + files.cert, "api.tls_key_file=" + files.key});
  EXPECT_THROW(call_tls(gw.api_port(), other.cert_pem, bhttp::verb::get, "/healthz"),
               boost::system::system_error);
  EXPECT_TRUE(wait_for(
      [&] {
        auto m = call_tls(gw.api_port(), files.cert_pem, bhttp::verb::get, "/metrics");
        return m.body.find(
                   "pushgate_http_tls_handshake_failures_total{server=\"api\","
                   "reason=\"error\"} 1") != std::string::npos;
      },
      10s));
}

TEST(ApiTlsTest, OnlyOneOfCertAndKeyIsAConfigErrorNamingTheOtherKey) {
  TempDir certs;
  auto files = make_cert(certs.path());
  auto err = start_error({"api.tls_cert_file=" + files.cert});
  EXPECT_NE(err.find("api.tls_key_file"), std::string::npos) << err;
  EXPECT_NE(err.find("both"), std::string::npos) << err;
  err = start_error({"api.tls_key_file=" + files.key});
  EXPECT_NE(err.find("api.tls_cert_file"), std::string::npos) << err;
}

TEST(ApiTlsTest, AKeyOfAnotherCertificateFailsTheStartNamingTheFiles) {
  TempDir certs;
  auto files = make_cert(certs.path());
  TempDir other_dir;
  auto other = make_cert(other_dir.path());
  auto err = start_error({"api.tls_cert_file=" + files.cert, "api.tls_key_file=" + other.key});
  EXPECT_NE(err.find("api.tls_key_file"), std::string::npos) << err;
  EXPECT_NE(err.find(other.key), std::string::npos) << err;
}

TEST(ApiTlsTest, AMissingCertificateFailsTheDaemonWithExitCodeAndMessage) {
  TempDir dir;
  auto files = make_cert(dir.path());
  auto missing = (dir.path() / "no-such.crt").string();
  auto log = (dir.path() / "run.log").string();
  auto argv =
      pushgated_argv(PUSHGATED_PATH, std::string(PUSHGATE_SOURCE_DIR) + "/config/pushgate.toml",
                     (dir.path() / "data").string(), free_port(), free_port(),
                     {"api.tls_cert_file=" + missing, "api.tls_key_file=" + files.key});
  auto pid = spawn_process(argv, log);
  ASSERT_GT(pid, 0);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 1);
  auto text = slurp(log);
  EXPECT_NE(
      text.find("api.tls_cert_file: cannot read \"" + missing + "\": No such file or directory"),
      std::string::npos)
      << text;
}

/** The lines of logger("main") while the object lives, as "level: text". */
class MainLogCapture {
 public:
  MainLogCapture() : sink_(std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(256)) {
    sink_->set_pattern("%l: %v");
    logger("main")->sinks().push_back(sink_);
  }
  ~MainLogCapture() {
    auto& sinks = logger("main")->sinks();
    sinks.erase(std::remove(sinks.begin(), sinks.end(), sink_), sinks.end());
  }
  std::vector<std::string> lines_with(const std::string& text) const {
    std::vector<std::string> out;
    for (const auto& line : sink_->last_formatted()) {
      if (line.find(text) != std::string::npos) {
        out.push_back(line);
      }
    }
    return out;
  }

 private:
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_;
};

// 192.0.2.1 (TEST-NET-1, RFC 5737) is assigned to no host: the start logs
// its lines about the listener, then cannot bind it — no socket is ever
// opened beyond loopback.
constexpr const char* kNotLoopback = "api.listen=192.0.2.1";

TEST(ApiExposureTest, PlainHttpOnANonLoopbackAddressIsWarned) {
  MainLogCapture capture;
  auto err = start_error({kNotLoopback, "api.auth=required"});
  EXPECT_NE(err.find("cannot listen on 192.0.2.1"), std::string::npos) << err;
  auto lines = capture.lines_with("api.listen = 192.0.2.1 is not loopback");
  ASSERT_EQ(lines.size(), 1U);
  EXPECT_EQ(lines[0].rfind("warning: ", 0), 0U) << lines[0];
  EXPECT_NE(lines[0].find("plain HTTP"), std::string::npos) << lines[0];
}

TEST(ApiExposureTest, AuthOffOnANonLoopbackAddressIsAnErrorLine) {
  TempDir certs;
  auto files = make_cert(certs.path());
  MainLogCapture capture;
  start_error({kNotLoopback, "api.auth=off", "api.tls_cert_file=" + files.cert,
               "api.tls_key_file=" + files.key});
  auto lines = capture.lines_with("api.listen = 192.0.2.1 is not loopback");
  ASSERT_EQ(lines.size(), 1U);
  EXPECT_EQ(lines[0].rfind("error: ", 0), 0U) << lines[0];
  EXPECT_NE(lines[0].find("api.auth = \"off\""), std::string::npos) << lines[0];
}

TEST(ApiExposureTest, TlsAndCredentialsOnANonLoopbackAddressOrLoopbackSayNothing) {
  TempDir certs;
  auto files = make_cert(certs.path());
  MainLogCapture capture;
  start_error({kNotLoopback, "api.auth=required", "api.tls_cert_file=" + files.cert,
               "api.tls_key_file=" + files.key});
  GatewayHarness loopback({"api.listen=127.0.0.1", "api.auth=off"});
  EXPECT_TRUE(capture.lines_with("is not loopback").empty());
}

class CorsTest : public ::testing::Test {
 protected:
  CorsTest()
      : gw_({"api.auth=required", "api.cors_origins=[\"https://ops.example:8443\"]"}, {},
            GatewayHarness::Accounts::FirstStart),
        port_(gw_.api_port()),
        own_("http://127.0.0.1:" + std::to_string(port_)) {
    auto login =
        call(port_, bhttp::verb::post, "/api/v1/login",
             json{{"name", "admin"}, {"password", api_call::initial_admin_password(gw_.data_dir())}}
                 .dump(),
             kJson);
    EXPECT_EQ(login.status, 200) << login.body;
    const auto session = api_call::session_of(login);
    cookie_ = session.cookie;
    csrf_ = session.csrf;
  }

  Headers change(const std::string& origin) const {
    Headers h = {
        {"Cookie", cookie_}, {"X-CSRF-Token", csrf_}, {"Content-Type", "application/json"}};
    if (!origin.empty()) {
      h.emplace_back("Origin", origin);
    }
    return h;
  }

  std::int64_t tokens() { return gw_.query_int("SELECT count(*) FROM auth_tokens"); }

  GatewayHarness gw_;
  std::uint16_t port_;
  std::string own_;
  std::string cookie_;
  std::string csrf_;
};

TEST_F(CorsTest, APreflightFromAForeignOriginIsRefusedWithoutAllowHeaders) {
  auto a = call(port_, bhttp::verb::options, "/api/v1/tokens", {},
                {{"Origin", "http://evil.example"}, {"Access-Control-Request-Method", "POST"}});
  EXPECT_EQ(a.status, 403) << a.body;
  for (const auto& [name, value] : a.headers) {
    EXPECT_NE(name.rfind("access-control-", 0), 0U) << name << ": " << value;
  }
  auto refused = metric_value(port_, "pushgate_api_cors_refused_total{kind=\"preflight\"}");
  ASSERT_TRUE(refused);
  EXPECT_EQ(*refused, 1.0);
}

// A forged cross-site form post carries the victim's cookie wherever
// SameSite does not hold; its Origin gives it away.
TEST_F(CorsTest, AChangeFromAForeignOriginIsRefusedEvenWithAValidSession) {
  auto before = tokens();
  auto a = call(port_, bhttp::verb::post, "/api/v1/tokens",
                json{{"name", "forged"}, {"role", "admin"}}.dump(), change("http://evil.example"));
  EXPECT_EQ(a.status, 403) << a.body;
  EXPECT_EQ(a.js().value("error", ""), "origin not allowed");
  EXPECT_EQ(tokens(), before);
  auto refused = metric_value(port_, "pushgate_api_cors_refused_total{kind=\"change\"}");
  ASSERT_TRUE(refused);
  EXPECT_EQ(*refused, 1.0);
  // A read from there is answered, but without Access-Control-Allow-Origin
  // the browser keeps it from the foreign page.
  auto read = call(port_, bhttp::verb::get, "/api/v1/session", {},
                   {{"Cookie", cookie_}, {"Origin", "http://evil.example"}});
  EXPECT_EQ(read.status, 200);
  EXPECT_EQ(read.headers.count("access-control-allow-origin"), 0U);
}

TEST_F(CorsTest, TheApisOwnOriginAndNoOriginAreServed) {
  auto own = call(port_, bhttp::verb::post, "/api/v1/tokens",
                  json{{"name", "own"}, {"role", "viewer"}}.dump(), change(own_));
  EXPECT_EQ(own.status, 201) << own.body;
  EXPECT_EQ(own.headers.count("access-control-allow-origin"), 0U);
  auto none = call(port_, bhttp::verb::post, "/api/v1/tokens",
                   json{{"name", "script"}, {"role", "viewer"}}.dump(), change(""));
  EXPECT_EQ(none.status, 201) << none.body;
}

TEST_F(CorsTest, AListedOriginGetsItsPreflightAndItsAnswersAllowed) {
  const std::string listed = "https://ops.example:8443";
  auto pre = call(port_, bhttp::verb::options, "/api/v1/tokens", {},
                  {{"Origin", listed},
                   {"Access-Control-Request-Method", "POST"},
                   {"Access-Control-Request-Headers", "authorization, content-type"}});
  EXPECT_EQ(pre.status, 204) << pre.body;
  EXPECT_EQ(pre.headers["access-control-allow-origin"], listed);
  EXPECT_NE(pre.headers["access-control-allow-methods"].find("POST"), std::string::npos);
  EXPECT_NE(pre.headers["access-control-allow-headers"].find("Authorization"), std::string::npos);
  auto a = call(port_, bhttp::verb::post, "/api/v1/tokens",
                json{{"name", "ops"}, {"role", "viewer"}}.dump(), change(listed));
  EXPECT_EQ(a.status, 201) << a.body;
  EXPECT_EQ(a.headers["access-control-allow-origin"], listed);
  EXPECT_EQ(a.headers["vary"], "Origin");
  // Exact match: another port of the same host is another origin.
  auto near =
      call(port_, bhttp::verb::post, "/api/v1/tokens",
           json{{"name", "near"}, {"role", "viewer"}}.dump(), change("https://ops.example:9443"));
  EXPECT_EQ(near.status, 403) << near.body;
}

TEST(CorsConfigTest, AnOriginWithAPathIsAConfigError) {
  auto err = start_error({"api.cors_origins=[\"https://ops.example/console\"]"});
  EXPECT_NE(err.find("api.cors_origins"), std::string::npos) << err;
}

}  // namespace
}  // namespace pushgate::test
