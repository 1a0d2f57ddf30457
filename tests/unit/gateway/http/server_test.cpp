// Included first: proves the header is self-contained.
#include "gateway/http/server.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "tests/support/self_signed.hpp"
#include "tests/unit/gateway/support/gateway_test_support.hpp"

namespace pushgate::http {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using test::HttpTestClient;
using test::kDeadline;
using test::make_self_signed;
using test::SelfSigned;
using ::testing::HasSubstr;

class HttpServerTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (server_) {
      server_->stop();
    }
    std::lock_guard lock(mutex_);
    held_.clear();
  }

  /** Starts a server on 127.0.0.1, port 0, with `options` and the test's handler. */
  void start(ServerOptions options = {}) {
    options.name = "test";
    options.address = "127.0.0.1";
    options.port = 0;
    server_ = std::make_unique<Server>(
        io_.ioc(), options,
        [this](Request&& req, const RequestInfo& info, Reply reply) {
          requests_seen_.fetch_add(1);
          on_request(std::move(req), info, std::move(reply));
        },
        metrics_);
    ASSERT_FALSE(server_->start());
    ASSERT_NE(server_->port(), 0);
  }

  // Default behaviour: echo the body, report the connection; "/hold" keeps the Reply.
  void on_request(Request&& req, const RequestInfo& info, Reply reply) {
    if (req.target() == "/hold") {
      std::lock_guard lock(mutex_);
      held_.push_back(std::move(reply));
      return;
    }
    auto res = make_response(req, bhttp::status::ok, req.body(), "application/octet-stream");
    res.set("X-Connection-Id", std::to_string(info.connection_id));
    res.set("X-Target", req.target());
    res.set("X-Tls", info.tls ? "yes" : "no");
    res.set("X-Remote", info.remote.address().to_string());
    res.set("X-Thread", thread_name());
    res.prepare_payload();
    reply.send(std::move(res));
  }

  std::size_t held_count() {
    std::lock_guard lock(mutex_);
    return held_.size();
  }
  Reply take_held() {
    std::lock_guard lock(mutex_);
    Reply r = std::move(held_.front());
    held_.erase(held_.begin());
    return r;
  }

  static std::string thread_name() {
    return std::to_string(std::hash<std::thread::id>{}(std::this_thread::get_id()));
  }

  double counter(const std::string& name) { return metrics_.value(name, {{"server", "test"}}); }

  // Order matters: sessions touch the metrics while the io_context tears
  // down, and held replies own sessions bound to the io_context.
  metrics::Registry metrics_;
  test::IoThread io_;
  std::unique_ptr<Server> server_;
  std::mutex mutex_;
  std::vector<Reply> held_;
  std::atomic<int> requests_seen_{0};
};

TEST_F(HttpServerTest, RoundTripsRequestAndResponse) {
  start();
  HttpTestClient client;
  ASSERT_FALSE(client.connect(server_->port()));
  HttpTestClient::Response res;
  ASSERT_FALSE(client.request(bhttp::verb::post, "/iclock/cdata?SN=1&table=ATTLOG", res, "hello",
                              "text/plain"));
  EXPECT_EQ(res.result(), bhttp::status::ok);
  EXPECT_EQ(res.body(), "hello");
  EXPECT_EQ(res["X-Target"], "/iclock/cdata?SN=1&table=ATTLOG");
  EXPECT_EQ(res["X-Tls"], "no");
  EXPECT_EQ(res["X-Remote"], "127.0.0.1");
  EXPECT_EQ(counter("pushgate_http_requests_total"), 1.0);
}

TEST_F(HttpServerTest, ConnectionsTakeTurnsOverTheConnectionContexts) {
  test::IoThread a;
  test::IoThread b;
  ServerOptions o;
  o.connection_contexts = {&a.ioc(), &b.ioc()};
  start(o);
  std::promise<std::string> own;
  boost::asio::post(io_.ioc(), [&own] { own.set_value(thread_name()); });
  const std::string server_thread = own.get_future().get();
  std::vector<std::string> threads;
  for (int i = 0; i < 4; ++i) {
    HttpTestClient client;
    ASSERT_FALSE(client.connect(server_->port()));
    for (int k = 0; k < 2; ++k) {  // a keep-alive connection stays where it is
      HttpTestClient::Response res;
      ASSERT_FALSE(client.request(bhttp::verb::get, "/iclock/getrequest?SN=1", res));
      ASSERT_EQ(res.result(), bhttp::status::ok);
      if (k == 0) {
        threads.push_back(std::string(res["X-Thread"]));
      } else {
        EXPECT_EQ(res["X-Thread"], threads.back());
      }
    }
  }
  EXPECT_NE(threads[0], threads[1]);
  EXPECT_EQ(threads[0], threads[2]);
  EXPECT_EQ(threads[1], threads[3]);
  for (const auto& t : threads) {
    EXPECT_NE(t, server_thread);  // none runs on the acceptor's io_context
  }
  // The sessions live on a and b: stopped before them.
  server_->stop();
  server_.reset();
}

TEST_F(HttpServerTest, KeepAliveServesTwoRequestsOnOneConnection) {
  start();
  HttpTestClient client;
  ASSERT_FALSE(client.connect(server_->port()));
  HttpTestClient::Response first;
  HttpTestClient::Response second;
  ASSERT_FALSE(client.request(bhttp::verb::get, "/one", first));
  ASSERT_FALSE(client.request(bhttp::verb::post, "/two", second, "body"));
  EXPECT_TRUE(first.keep_alive());
  EXPECT_EQ(second.body(), "body");
  EXPECT_EQ(first["X-Connection-Id"], second["X-Connection-Id"]);
  EXPECT_EQ(server_->connections(), 1U);

  // A second client gets its own connection.
  HttpTestClient other;
  ASSERT_FALSE(other.connect(server_->port()));
  HttpTestClient::Response third;
  ASSERT_FALSE(other.request(bhttp::verb::get, "/three", third));
  EXPECT_NE(third["X-Connection-Id"], first["X-Connection-Id"]);
}

TEST_F(HttpServerTest, ConnectionCloseIsHonoured) {
  start();
  HttpTestClient client;
  ASSERT_FALSE(client.connect(server_->port()));
  HttpTestClient::Request req{bhttp::verb::get, "/bye", 11};
  req.set(bhttp::field::host, "127.0.0.1");
  req.keep_alive(false);
  ASSERT_FALSE(client.write(req));
  HttpTestClient::Response res;
  ASSERT_FALSE(client.read(res));
  EXPECT_EQ(res.result(), bhttp::status::ok);
  EXPECT_FALSE(res.keep_alive());
  EXPECT_TRUE(client.wait_closed_by_peer());
}

TEST_F(HttpServerTest, Http10WithoutKeepAliveIsClosedAfterTheAnswer) {
  start();
  HttpTestClient client;
  ASSERT_FALSE(client.connect(server_->port()));
  ASSERT_FALSE(client.write_raw("GET /old HTTP/1.0\r\n\r\n"));
  HttpTestClient::Response res;
  ASSERT_FALSE(client.read(res));
  EXPECT_EQ(res.version(), 10U);
  EXPECT_EQ(res.result(), bhttp::status::ok);
  EXPECT_TRUE(client.wait_closed_by_peer());
}

TEST_F(HttpServerTest, ExpectContinueGetsInterimThenFinalAnswer) {
  start();
  HttpTestClient client;
  ASSERT_FALSE(client.connect(server_->port()));
  ASSERT_FALSE(
      client.write_raw("POST /iclock/cdata?SN=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                       "Expect: 100-continue\r\n\r\n"));
  bhttp::response<bhttp::empty_body> interim;
  ASSERT_FALSE(client.read_message(interim));
  EXPECT_EQ(interim.result(), bhttp::status::continue_);
  EXPECT_EQ(requests_seen_.load(), 0);  // the body is not here yet
  ASSERT_FALSE(client.write_raw("hello"));
  HttpTestClient::Response res;
  ASSERT_FALSE(client.read(res));
  EXPECT_EQ(res.result(), bhttp::status::ok);
  EXPECT_EQ(res.body(), "hello");
}

TEST_F(HttpServerTest, DeclaredBodyOverLimitGets413WithoutReadingIt) {
  ServerOptions options;
  options.body_limit = 1024;
  start(options);
  HttpTestClient client;
  ASSERT_FALSE(client.connect(server_->port()));
  // Only the header is sent: the answer must not wait for the body.
  ASSERT_FALSE(client.write_raw(
      "POST /iclock/cdata HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n"));
  HttpTestClient::Response res;
  ASSERT_FALSE(client.read(res));
  EXPECT_EQ(res.result(), bhttp::status::payload_too_large);
  EXPECT_THAT(res.body(), HasSubstr("1000000"));
  EXPECT_FALSE(res.keep_alive());
  EXPECT_TRUE(client.wait_closed_by_peer());
  EXPECT_EQ(requests_seen_.load(), 0);
  EXPECT_EQ(counter("pushgate_http_body_too_large_total"), 1.0);
}

TEST_F(HttpServerTest, DeclaredBodyOverLimitWithExpectContinueGets413InsteadOf100) {
  ServerOptions options;
  options.body_limit = 1024;
  start(options);
  HttpTestClient client;
  ASSERT_FALSE(client.connect(server_->port()));
  ASSERT_FALSE(
      client.write_raw("POST /iclock/cdata HTTP/1.1\r\nHost: x\r\nContent-Length: 4096\r\n"
                       "Expect: 100-continue\r\n\r\n"));
  HttpTestClient::Response res;
  ASSERT_FALSE(client.read(res));
  EXPECT_EQ(res.result(), bhttp::status::payload_too_large);
  EXPECT_EQ(requests_seen_.load(), 0);
}

TEST_F(HttpServerTest, BodyAtTheLimitIsAccepted) {
  ServerOptions options;
  options.body_limit = 1024;
  start(options);
  HttpTestClient client;
  ASSERT_FALSE(client.connect(server_->port()));
  HttpTestClient::Response res;
  ASSERT_FALSE(client.request(bhttp::verb::post, "/up", res, std::string(1024, 'x')));
  EXPECT_EQ(res.result(), bhttp::status::ok);
  EXPECT_EQ(res.body().size(), 1024U);
}

TEST_F(HttpServerTest, ChunkedBodyOverLimitGets413) {
  ServerOptions options;
  options.body_limit = 1500;
  start(options);
  HttpTestClient client;
  ASSERT_FALSE(client.connect(server_->port()));
  std::string chunk(1024, 'c');
  ASSERT_FALSE(
      client.write_raw("POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                       "400\r\n" +
                       chunk + "\r\n400\r\n" + chunk + "\r\n0\r\n\r\n"));
  HttpTestClient::Response res;
  ASSERT_FALSE(client.read(res));
  EXPECT_EQ(res.result(), bhttp::status::payload_too_large);
  EXPECT_FALSE(res.keep_alive());
  EXPECT_EQ(requests_seen_.load(), 0);
  EXPECT_EQ(counter("pushgate_http_body_too_large_total"), 1.0);
}

TEST_F(HttpServerTest, ChunkedBodyWithinLimitIsReassembled) {
  start();
  HttpTestClient client;
  ASSERT_FALSE(client.connect(server_->port()));
  ASSERT_FALSE(
      client.write_raw("POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                       "3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n"));
  HttpTestClient::Response res;
  ASSERT_FALSE(client.read(res));
  EXPECT_EQ(res.result(), bhttp::status::ok);
  EXPECT_EQ(res.body(), "abcdefg");
}

TEST_F(HttpServerTest, HeaderOverLimitGets431) {
  ServerOptions options;
  options.header_limit = 1024;
  start(options);
  HttpTestClient client;
  ASSERT_FALSE(client.connect(server_->port()));
  ASSERT_FALSE(client.write_raw("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(3000, 'h') +
                                "\r\n\r\n"));
  HttpTestClient::Response res;
  ASSERT_FALSE(client.read(res));
  EXPECT_EQ(res.result(), bhttp::status::request_header_fields_too_large);
  EXPECT_FALSE(res.keep_alive());
  EXPECT_TRUE(client.wait_closed_by_peer());
  EXPECT_EQ(requests_seen_.load(), 0);
}

TEST_F(HttpServerTest, MalformedRequestClosesTheConnection) {
  start();
  HttpTestClient client;
  ASSERT_FALSE(client.connect(server_->port()));
  ASSERT_FALSE(client.write_raw("THIS IS NOT HTTP\r\n\r\n"));
  EXPECT_TRUE(client.wait_closed_by_peer());
  EXPECT_EQ(requests_seen_.load(), 0);
  EXPECT_EQ(counter("pushgate_http_bad_requests_total"), 1.0);
}

TEST_F(HttpServerTest, IdleConnectionIsClosedAfterIdleTimeout) {
  ServerOptions options;
  options.idle_timeout = std::chrono::milliseconds(50);
  start(options);
  HttpTestClient client;
  ASSERT_FALSE(client.connect(server_->port()));
  EXPECT_TRUE(client.wait_closed_by_peer());
  EXPECT_TRUE(test::wait_until([this] { return server_->connections() == 0; }));
}

TEST_F(HttpServerTest, ReplySentLaterFromAnotherThreadArrives) {
  start();
  HttpTestClient client;
  ASSERT_FALSE(client.connect(server_->port()));
  HttpTestClient::Request req{bhttp::verb::post, "/hold", 11};
  req.set(bhttp::field::host, "x");
  req.body() = "wait for commit";
  req.prepare_payload();
  ASSERT_FALSE(client.write(req));
  ASSERT_TRUE(test::wait_until([this] { return held_count() == 1; }));
  Reply reply = take_held();
  EXPECT_TRUE(reply.pending());
  std::thread other(
      [&reply, &req] { reply.send(make_response(req, bhttp::status::ok, "committed\n")); });
  other.join();
  EXPECT_FALSE(reply.pending());
  HttpTestClient::Response res;
  ASSERT_FALSE(client.read(res));
  EXPECT_EQ(res.body(), "committed\n");
  // The connection stays usable.
  HttpTestClient::Response next;
  ASSERT_FALSE(client.request(bhttp::verb::get, "/after", next));
  EXPECT_EQ(next.result(), bhttp::status::ok);
}

TEST_F(HttpServerTest, StopClosesIdleConnectionsAndStopsAccepting) {
  start();
  HttpTestClient client;
  ASSERT_FALSE(client.connect(server_->port()));
  HttpTestClient::Response res;
  ASSERT_FALSE(client.request(bhttp::verb::get, "/before", res));
  ASSERT_EQ(server_->connections(), 1U);
  server_->stop();
  EXPECT_TRUE(client.wait_closed_by_peer());
  EXPECT_TRUE(test::wait_until([this] { return server_->connections() == 0; }));
  HttpTestClient late;
  EXPECT_TRUE(late.connect(server_->port())) << "the listener still accepts after stop()";
}

TEST_F(HttpServerTest, StopLetsPendingReplyGoOutThenCloses) {
  start();
  HttpTestClient client;
  ASSERT_FALSE(client.connect(server_->port()));
  HttpTestClient::Request req{bhttp::verb::post, "/hold", 11};
  req.set(bhttp::field::host, "x");
  ASSERT_FALSE(client.write(req));
  ASSERT_TRUE(test::wait_until([this] { return held_count() == 1; }));
  server_->stop();
  Reply reply = take_held();
  reply.send(make_response(req, bhttp::status::ok, "late but sure\n"));
  HttpTestClient::Response res;
  ASSERT_FALSE(client.read(res));
  EXPECT_EQ(res.body(), "late but sure\n");
  EXPECT_FALSE(res.keep_alive());
  EXPECT_TRUE(client.wait_closed_by_peer());
}

TEST_F(HttpServerTest, BinaryBodyWithNulBytesArrivesIntact) {
  start();
  std::string body;
  for (int round = 0; round < 4; ++round) {
    for (int b = 0; b < 256; ++b) {
      body.push_back(static_cast<char>(b));
    }
  }
  HttpTestClient client;
  ASSERT_FALSE(client.connect(server_->port()));
  HttpTestClient::Response res;
  ASSERT_FALSE(client.request(bhttp::verb::post, "/fdata", res, body, "application/octet-stream"));
  EXPECT_EQ(res.body().size(), body.size());
  EXPECT_EQ(res.body(), body);
}

TEST_F(HttpServerTest, ServesHttpsWithTheConfiguredContext) {
  auto pair = make_self_signed();
  ASSERT_FALSE(pair.cert_pem.empty());
  ServerOptions options;
  options.tls = std::make_shared<net::ssl::context>(net::ssl::context::tls_server);
  options.tls->use_certificate_chain(net::buffer(pair.cert_pem));
  options.tls->use_private_key(net::buffer(pair.key_pem), net::ssl::context::pem);
  start(options);

  // A client that trusts exactly this certificate.
  net::io_context ioc;
  net::ssl::context client_ctx(net::ssl::context::tls_client);
  client_ctx.add_certificate_authority(net::buffer(pair.cert_pem));
  client_ctx.set_verify_mode(net::ssl::verify_peer);
  beast::ssl_stream<beast::tcp_stream> stream(ioc, client_ctx);
  auto run = [&ioc] {
    ioc.restart();
    ioc.run();
  };
  beast::get_lowest_layer(stream).expires_after(kDeadline);

  boost::system::error_code connect_ec = net::error::would_block;
  beast::get_lowest_layer(stream).async_connect(
      tcp::endpoint(net::ip::make_address("127.0.0.1"), server_->port()),
      [&](boost::system::error_code ec) { connect_ec = ec; });
  run();
  ASSERT_FALSE(connect_ec) << connect_ec.message();

  boost::system::error_code handshake_ec = net::error::would_block;
  stream.async_handshake(net::ssl::stream_base::client,
                         [&](boost::system::error_code ec) { handshake_ec = ec; });
  run();
  ASSERT_FALSE(handshake_ec) << handshake_ec.message();

  Request req{bhttp::verb::post, "/secure", 11};
  req.set(bhttp::field::host, "localhost");
  req.body() = "over tls";
  req.prepare_payload();
  boost::system::error_code write_ec = net::error::would_block;
  bhttp::async_write(stream, req,
                     [&](boost::system::error_code ec, std::size_t) { write_ec = ec; });
  run();
  ASSERT_FALSE(write_ec) << write_ec.message();

  beast::flat_buffer buffer;
  Response res;
  boost::system::error_code read_ec = net::error::would_block;
  bhttp::async_read(stream, buffer, res,
                    [&](boost::system::error_code ec, std::size_t) { read_ec = ec; });
  run();
  ASSERT_FALSE(read_ec) << read_ec.message();
  EXPECT_EQ(res.result(), bhttp::status::ok);
  EXPECT_EQ(res.body(), "over tls");
  EXPECT_EQ(res["X-Tls"], "yes");
}

ServerOptions tls_options() {
  auto pair = make_self_signed();
  ServerOptions options;
  options.tls = std::make_shared<net::ssl::context>(net::ssl::context::tls_server);
  options.tls->use_certificate_chain(net::buffer(pair.cert_pem));
  options.tls->use_private_key(net::buffer(pair.key_pem), net::ssl::context::pem);
  return options;
}

// Old code: the handshake failed on the request line and the connection was
// closed without a word; curl said "empty reply", a browser "connection reset".
TEST_F(HttpServerTest, PlainHttpToTlsListenerGets400SayingHttpsAndIsClosed) {
  start(tls_options());
  HttpTestClient client;
  ASSERT_FALSE(client.connect(server_->port()));
  ASSERT_FALSE(client.write_raw("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  HttpTestClient::Response res;
  ASSERT_FALSE(client.read(res));
  EXPECT_EQ(res.result(), bhttp::status::bad_request);
  EXPECT_THAT(res.body(), HasSubstr("HTTPS only"));
  EXPECT_FALSE(res.keep_alive());
  EXPECT_TRUE(client.wait_closed_by_peer());
  EXPECT_EQ(requests_seen_.load(), 0);
  EXPECT_EQ(counter("pushgate_http_plain_on_tls_total"), 1.0);
}

// Old code: the handshake had request_timeout (30 s) and no failure was
// counted; a client that connects and stays silent is now closed after the
// handshake timeout and counted.
TEST_F(HttpServerTest, TlsClientThatNeverHandshakesIsClosedAndCounted) {
  auto options = tls_options();
  options.handshake_timeout = std::chrono::milliseconds(200);
  options.first_request_timeout = std::chrono::seconds(30);
  options.request_timeout = std::chrono::seconds(30);
  start(options);
  HttpTestClient client;
  ASSERT_FALSE(client.connect(server_->port()));
  EXPECT_TRUE(client.wait_closed_by_peer());
  EXPECT_TRUE(test::wait_until([&] {
    return metrics_.value("pushgate_http_tls_handshake_failures_total",
                          {{"server", "test"}, {"reason", "timeout"}}) == 1.0;
  }));
  EXPECT_TRUE(test::wait_until([&] { return server_->connections() == 0; }));
}

TEST_F(HttpServerTest, GarbageInsteadOfAHandshakeIsCountedAsAnError) {
  start(tls_options());
  HttpTestClient client;
  ASSERT_FALSE(client.connect(server_->port()));
  ASSERT_FALSE(client.write_raw(std::string("\x16\x03\x01\x00\x05hello", 10)));
  EXPECT_TRUE(client.wait_closed_by_peer());
  EXPECT_TRUE(test::wait_until([&] {
    return metrics_.value("pushgate_http_tls_handshake_failures_total",
                          {{"server", "test"}, {"reason", "error"}}) == 1.0;
  }));
  EXPECT_EQ(requests_seen_.load(), 0);
}

TEST(MakeResponseTest, FollowsRequestVersionAndKeepAlive) {
  Request old{bhttp::verb::get, "/", 10};
  auto res = make_response(old, bhttp::status::not_found, "nope\n");
  EXPECT_EQ(res.version(), 10U);
  EXPECT_FALSE(res.keep_alive());
  EXPECT_EQ(res[bhttp::field::content_type], "text/plain");
  EXPECT_EQ(res[bhttp::field::content_length], "5");

  Request modern{bhttp::verb::get, "/", 11};
  auto res11 = make_response(modern, bhttp::status::ok, "{}", "application/json");
  EXPECT_EQ(res11.version(), 11U);
  EXPECT_TRUE(res11.keep_alive());
  EXPECT_EQ(res11[bhttp::field::content_type], "application/json");
}

// Issue 13 item 1: a server whose start failed (port taken) is stopped
// before the io_context ever runs, as a gateway does on a failed start.
// Old code posted the acceptor's close to the idle io_context, waited 5 s
// for it, and left it a promise on the stack of stop(): running the
// io_context afterwards (the gateway's stop does) wrote to a destroyed
// promise (std::future_error, abort). Now a failed start leaves nothing to
// close and nothing queued.
TEST(HttpServerStartTest, FailedStartStopsWithoutTouchingTheIoContext) {
  net::io_context holder_ioc;
  tcp::acceptor holder(holder_ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
  metrics::Registry metrics;
  Handler handler = [](Request&&, const RequestInfo&, Reply) {};

  net::io_context ioc;
  ServerOptions o;
  o.address = "127.0.0.1";
  o.port = holder.local_endpoint().port();
  auto server = std::make_unique<Server>(ioc, o, handler, metrics);
  EXPECT_EQ(server->start(), net::error::address_in_use);
  server->stop();
  server.reset();
  EXPECT_EQ(ioc.poll(), 0U) << "a stopped, never-started server left work on the io_context";
}

}  // namespace
}  // namespace pushgate::http
