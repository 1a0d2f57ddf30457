// Tests of the simulated BioStar 2 server (biostar2_server.hpp), checked by a
// client written here (plain Beast HTTP/WebSocket over OpenSSL), not by the
// server's own helpers nor by adapters/suprema/.

#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <utility>  // before asio: Boost 1.74 awaitable.hpp uses std::exchange

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <functional>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/sim/biostar2_cli.hpp"
#include "tests/sim/biostar2_server.hpp"

namespace pushgate::sim::biostar2::test {
namespace {

namespace net = boost::asio;
namespace ssl = net::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;
using json = nlohmann::json;
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

struct Reply {
  unsigned status = 0;
  std::string session;  // bs-session-id header
  json body;
};

/// One request per connection, TLS with the server's certificate pinned
/// (verify_peer, host name checked) or plain.
class Client {
 public:
  Client(std::uint16_t port, bool tls, std::string ca_pem)
      : port_(port), tls_(tls), ca_pem_(std::move(ca_pem)) {}

  Reply call(http::verb verb, const std::string& target, const std::string& body = "",
             const std::string& session = "") {
    http::request<http::string_body> req{verb, target, 11};
    req.set(http::field::host, "localhost");
    req.set(http::field::content_type, "application/json");
    if (!session.empty()) {
      req.set("bs-session-id", session);
    }
    req.body() = body;
    req.prepare_payload();
    net::io_context ioc;
    tcp::socket socket(ioc);
    socket.connect({net::ip::make_address("127.0.0.1"), port_});
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    if (tls_) {
      ssl::context ctx = context();
      beast::ssl_stream<tcp::socket> stream(std::move(socket), ctx);
      stream.set_verify_callback(ssl::host_name_verification("localhost"));
      stream.handshake(ssl::stream_base::client);
      http::write(stream, req);
      http::read(stream, buffer, res);
    } else {
      http::write(socket, req);
      http::read(socket, buffer, res);
    }
    Reply r;
    r.status = res.result_int();
    r.session = std::string(res["bs-session-id"]);
    r.body = json::parse(res.body(), nullptr, false);
    return r;
  }

  Reply post(const std::string& target, const json& body, const std::string& session) {
    return call(http::verb::post, target, body.dump(), session);
  }

  std::string login(const std::string& user = "admin", const std::string& password = "Admin1234!") {
    const auto r = call(http::verb::post, "/api/login",
                        json{{"User", {{"login_id", user}, {"password", password}}}}.dump());
    return r.status == 200 ? r.session : "";
  }

  ssl::context context() const {
    ssl::context ctx(ssl::context::tls_client);
    ctx.set_verify_mode(ssl::verify_peer);
    ctx.add_certificate_authority(net::buffer(ca_pem_));
    return ctx;
  }

  std::uint16_t port() const { return port_; }

 private:
  std::uint16_t port_;
  bool tls_;
  std::string ca_pem_;
};

/// A /wsapi client over TLS (certificate pinned).
class Feed {
 public:
  explicit Feed(const Client& client) : ctx_(client.context()), ws_(ioc_, ctx_) {
    beast::get_lowest_layer(ws_).connect({net::ip::make_address("127.0.0.1"), client.port()});
    ws_.next_layer().set_verify_callback(ssl::host_name_verification("localhost"));
    ws_.next_layer().handshake(ssl::stream_base::client);
    ws_.handshake("localhost", "/wsapi");
  }
  void send(const std::string& text) { ws_.write(net::buffer(text)); }
  /// The next message; empty with `error` set when the socket ended.
  std::string read(beast::error_code& error) {
    beast::flat_buffer buffer;
    ws_.read(buffer, error);
    return error ? "" : beast::buffers_to_string(buffer.data());
  }
  websocket::close_reason reason() const { return ws_.reason(); }

 private:
  net::io_context ioc_;
  ssl::context ctx_;
  websocket::stream<beast::ssl_stream<tcp::socket>> ws_;
};

json search_query(std::size_t limit, std::size_t offset, const json& conditions,
                  const json& orders = json::array()) {
  json q = {{"limit", limit}, {"offset", offset}, {"conditions", conditions}};
  if (!orders.empty()) {
    q["orders"] = orders;
  }
  return {{"Query", q}};
}

class BioStar2Sim : public ::testing::Test {
 protected:
  void start(BioStar2Config config = {}) {
    server_ = std::make_unique<BioStar2Server>(config);
    client_ = std::make_unique<Client>(server_->port(), config.tls, server_->certificate_pem());
  }
  std::unique_ptr<BioStar2Server> server_;
  std::unique_ptr<Client> client_;
};

// --- login, sessions, TLS ---------------------------------------------------

TEST_F(BioStar2Sim, LoginReturnsSessionHeaderAndWrongPasswordIsRefused) {
  start();
  const auto bad = client_->call(http::verb::post, "/api/login",
                                 R"({"User":{"login_id":"admin","password":"nope"}})");
  EXPECT_EQ(bad.status, 401u);
  EXPECT_TRUE(bad.session.empty());
  EXPECT_EQ(bad.body["Response"]["code"], "20");
  EXPECT_EQ(server_->failed_logins(), 1u);

  const auto missing = client_->call(http::verb::post, "/api/login", R"({"User":{"login_id":1}})");
  EXPECT_EQ(missing.status, 400u);
  EXPECT_EQ(client_->call(http::verb::post, "/api/login", "{not json").status, 400u);

  const auto good = client_->call(http::verb::post, "/api/login",
                                  R"({"User":{"login_id":"admin","password":"Admin1234!"}})");
  ASSERT_EQ(good.status, 200u);
  ASSERT_FALSE(good.session.empty());
  EXPECT_EQ(good.body["Response"]["code"], "0");
  EXPECT_EQ(good.body["User"]["user_id"], "1");

  // Every other call needs the header.
  const auto anon = client_->call(http::verb::get, "/api/users");
  EXPECT_EQ(anon.status, 401u);
  EXPECT_EQ(anon.body["Response"]["code"], "10");
  EXPECT_EQ(client_->call(http::verb::get, "/api/users", "", "bogus").status, 401u);
  EXPECT_EQ(client_->call(http::verb::get, "/api/users", "", good.session).status, 200u);

  // Logout ends the session.
  EXPECT_EQ(client_->post("/api/logout", json::object(), good.session).status, 200u);
  EXPECT_EQ(client_->call(http::verb::get, "/api/users", "", good.session).status, 401u);
}

TEST_F(BioStar2Sim, IdleSessionExpiresAndReloginWorks) {
  BioStar2Config config;
  config.session_idle_timeout = 100ms;
  start(config);
  const auto sid = client_->login();
  ASSERT_FALSE(sid.empty());
  EXPECT_EQ(client_->call(http::verb::get, "/api/devices", "", sid).status, 200u);
  // The behaviour under test is time passing unused: no condition to poll
  // (each poll would use the session).
  std::this_thread::sleep_for(300ms);
  const auto expired = client_->call(http::verb::get, "/api/devices", "", sid);
  EXPECT_EQ(expired.status, 401u);
  EXPECT_EQ(expired.body["Response"]["code"], "10");
  EXPECT_EQ(server_->session_count(), 0u);
  const auto again = client_->login();
  ASSERT_FALSE(again.empty());
  EXPECT_NE(again, sid);
  EXPECT_EQ(client_->call(http::verb::get, "/api/devices", "", again).status, 200u);
}

TEST_F(BioStar2Sim, ExpireSessionsInvalidatesEverySession) {
  start();
  const auto a = client_->login();
  const auto b = client_->login();
  server_->expire_sessions();
  EXPECT_EQ(client_->call(http::verb::get, "/api/devices", "", a).status, 401u);
  EXPECT_EQ(client_->call(http::verb::get, "/api/devices", "", b).status, 401u);
}

TEST_F(BioStar2Sim, TlsCertificateIsSelfSignedForLocalhostAndUnpinnedClientsFail) {
  start();
  const std::string pem = server_->certificate_pem();
  ASSERT_NE(pem.find("BEGIN CERTIFICATE"), std::string::npos);
  // Pinned: works (every other test does this too).
  EXPECT_FALSE(client_->login().empty());
  // Verifying against the system store only: the handshake fails.
  net::io_context ioc;
  ssl::context ctx(ssl::context::tls_client);
  ctx.set_verify_mode(ssl::verify_peer);
  beast::ssl_stream<tcp::socket> stream(ioc, ctx);
  beast::get_lowest_layer(stream).connect({net::ip::make_address("127.0.0.1"), server_->port()});
  beast::error_code ec;
  stream.handshake(ssl::stream_base::client, ec);
  EXPECT_TRUE(ec);
  // Plain HTTP on the TLS port gets no HTTP answer.
  Client plain(server_->port(), false, "");
  EXPECT_ANY_THROW(plain.login());
}

TEST_F(BioStar2Sim, PlainHttpModeServesTheSameApi) {
  BioStar2Config config;
  config.tls = false;
  start(config);
  EXPECT_TRUE(server_->certificate_pem().empty());
  const auto sid = client_->login();
  ASSERT_FALSE(sid.empty());
  EXPECT_EQ(client_->call(http::verb::get, "/api/doors", "", sid).status, 200u);
  // The feed over plain WebSocket (ws://).
  net::io_context ioc;
  websocket::stream<tcp::socket> ws(ioc);
  ws.next_layer().connect({net::ip::make_address("127.0.0.1"), server_->port()});
  ws.handshake("localhost", "/wsapi");
  ws.write(net::buffer("bs-session-id=" + sid));
  ASSERT_TRUE(wait_for([&] { return server_->feed_count() == 1; }));
  ASSERT_EQ(client_->post("/api/events/start", json::object(), sid).status, 200u);
  const Event e = server_->inject({});
  beast::flat_buffer buffer;
  ws.read(buffer);
  const auto frame = json::parse(beast::buffers_to_string(buffer.data()), nullptr, false);
  EXPECT_EQ(frame["Event"]["id"], std::to_string(e.id));
  // A WebSocket upgrade on another path is refused.
  websocket::stream<tcp::socket> other(ioc);
  other.next_layer().connect({net::ip::make_address("127.0.0.1"), server_->port()});
  beast::error_code ec;
  other.handshake("localhost", "/api/events", ec);
  EXPECT_TRUE(ec);
}

// --- event search -------------------------------------------------------------

TEST_F(BioStar2Sim, SearchPagesByLimitAndOffsetInsideADatetimeRange) {
  BioStar2Config config;
  config.devices = 2;
  config.page_cap = 10;
  start(config);
  const std::int64_t t0 = 1'780'000'000'000;  // 2026-05-28
  for (int i = 0; i < 25; ++i) {
    EventSpec s;
    s.datetime_ms = t0 + i * 1000;
    s.user_id = std::to_string(100 + i);
    server_->inject(s);
  }
  const auto sid = client_->login();
  const json range =
      json::array({{{"column", "datetime"},
                    {"operator", 3},
                    {"values", {format_datetime(t0 + 2000), format_datetime(t0 + 23000)}}}});
  std::vector<std::string> ids;
  for (std::size_t offset = 0;; offset += 10) {
    // limit 50 is capped to the server's page size (10).
    const auto r = client_->post("/api/events/search", search_query(50, offset, range), sid);
    ASSERT_EQ(r.status, 200u) << r.body.dump();
    const auto& rows = r.body["EventCollection"]["rows"];
    for (const auto& row : rows) {
      ASSERT_TRUE(row["id"].is_string());  // numbers as strings
      ASSERT_TRUE(row["device_id"]["id"].is_string());
      ASSERT_TRUE(row["event_type_id"]["code"].is_string());
      ids.push_back(row["id"]);
    }
    EXPECT_LE(rows.size(), 10u);
    if (rows.size() < 10) {
      break;
    }
  }
  // Both ends inclusive: events 3..24 (ids), 22 rows, ascending, none twice.
  ASSERT_EQ(ids.size(), 22u);
  EXPECT_EQ(ids.front(), "3");
  EXPECT_EQ(ids.back(), "24");

  // Row content, from a one-row page.
  const auto one = client_->post(
      "/api/events/search",
      search_query(1, 0, json::array({{{"column", "id"}, {"operator", 0}, {"values", {"5"}}}})),
      sid);
  const auto& row = one.body["EventCollection"]["rows"][0];
  EXPECT_EQ(row["datetime"], format_datetime(t0 + 4000));
  EXPECT_EQ(row["user_id"]["user_id"], "104");
  EXPECT_EQ(row["event_type_id"]["code"], std::to_string(code::kVerifySuccessCard));
  EXPECT_EQ(row["device_id"]["id"], "540000001");
  EXPECT_EQ(row["door_id"]["id"], "1");

  // id GREATER (the cursor form), datetime descending.
  const auto after = client_->post(
      "/api/events/search",
      search_query(5, 0, json::array({{{"column", "id"}, {"operator", 5}, {"values", {"20"}}}}),
                   json::array({{{"column", "datetime"}, {"descending", true}}})),
      sid);
  const auto& rows = after.body["EventCollection"]["rows"];
  ASSERT_EQ(rows.size(), 5u);
  EXPECT_EQ(rows[0]["id"], "25");
  EXPECT_EQ(rows[4]["id"], "21");
}

TEST_F(BioStar2Sim, SearchRefusesMalformedQueries) {
  start();
  const auto sid = client_->login();
  const auto code = [&](const std::string& body) {
    return client_->call(http::verb::post, "/api/events/search", body, sid).status;
  };
  EXPECT_EQ(code("{"), 400u);
  EXPECT_EQ(code("[]"), 400u);
  EXPECT_EQ(code(R"({"Query":{"limit":"ten"}})"), 400u);
  EXPECT_EQ(code(R"({"Query":{"conditions":[{"column":"nope","operator":0,"values":["1"]}]}})"),
            400u);
  EXPECT_EQ(code(R"({"Query":{"conditions":[{"column":"datetime","operator":3,)"
                 R"("values":["2026-01-02T00:00:00.000Z","2026-01-01T00:00:00.000Z"]}]}})"),
            400u);
  EXPECT_EQ(code(R"({"Query":{"conditions":[{"column":"datetime","operator":5,)"
                 R"("values":["yesterday"]}]}})"),
            400u);
  EXPECT_EQ(code(R"({"Query":{"orders":[{"column":"user_id","descending":false}]}})"), 400u);
  // Deep nesting is refused before parsing, not a crash.
  EXPECT_EQ(code(std::string(100000, '[')), 400u);
  // Numbers as strings are accepted where numbers are expected.
  EXPECT_EQ(code(R"({"Query":{"limit":"10","offset":"0"}})"), 200u);
  // Unknown paths and methods.
  EXPECT_EQ(client_->call(http::verb::get, "/api/nothing", "", sid).status, 404u);
  EXPECT_EQ(client_->call(http::verb::get, "/index.html", "", sid).status, 404u);
  EXPECT_EQ(client_->call(http::verb::get, "/api/login").status, 405u);
  // Too large a body: 413 as soon as the header announces it (the test
  // sends only the header, so the early answer cannot race its writes).
  net::io_context ioc;
  ssl::context ctx = client_->context();
  beast::ssl_stream<tcp::socket> stream(ioc, ctx);
  beast::get_lowest_layer(stream).connect({net::ip::make_address("127.0.0.1"), server_->port()});
  stream.handshake(ssl::stream_base::client);
  const std::string head =
      "POST /api/events/search HTTP/1.1\r\nHost: localhost\r\n"
      "bs-session-id: " +
      sid + "\r\nContent-Length: 2097152\r\n\r\n";
  net::write(stream, net::buffer(head));
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(stream, buffer, res);
  EXPECT_EQ(res.result_int(), 413u);
  // A request line that is not HTTP: the connection is closed, the server lives on.
  beast::ssl_stream<tcp::socket> junk(ioc, ctx);
  beast::get_lowest_layer(junk).connect({net::ip::make_address("127.0.0.1"), server_->port()});
  junk.handshake(ssl::stream_base::client);
  net::write(junk, net::buffer(std::string("\x01\x02 GARBAGE\r\n\r\n")));
  beast::error_code ec;
  char byte = 0;
  junk.read_some(net::buffer(&byte, 1), ec);
  EXPECT_TRUE(ec);
  EXPECT_FALSE(client_->login().empty());
}

// --- WebSocket feed -------------------------------------------------------------

TEST_F(BioStar2Sim, FeedPushesEventsAfterSessionIdAndEventsStart) {
  start();
  const auto sid = client_->login();
  Feed feed(*client_);
  feed.send("bs-session-id=" + sid);
  ASSERT_TRUE(wait_for([&] { return server_->feed_count() == 1; }));
  // Before events/start nothing is pushed for this session.
  server_->inject({});
  ASSERT_EQ(client_->post("/api/events/start", json{{"Query", json::object()}}, sid).status, 200u);
  EventSpec s;
  s.code = code::kDoorForcedOpen;
  s.user_id = "";
  const Event e = server_->inject(s);
  beast::error_code ec;
  const auto frame = json::parse(feed.read(ec), nullptr, false);
  ASSERT_FALSE(ec);
  ASSERT_TRUE(frame.contains("Event")) << frame.dump();
  EXPECT_EQ(frame["Event"]["id"], std::to_string(e.id));  // not the one before start
  EXPECT_EQ(frame["Event"]["event_type_id"]["code"], std::to_string(code::kDoorForcedOpen));
  EXPECT_EQ(frame["Event"]["datetime"], format_datetime(e.datetime_ms));
  EXPECT_FALSE(frame["Event"].contains("user_id"));
}

TEST_F(BioStar2Sim, FeedWithoutAValidSessionIsClosedWithPolicyError) {
  start();
  Feed feed(*client_);
  feed.send("bs-session-id=not-a-session");
  beast::error_code ec;
  feed.read(ec);
  EXPECT_EQ(ec, websocket::error::closed);
  EXPECT_EQ(feed.reason().code, websocket::close_code::policy_error);
}

TEST_F(BioStar2Sim, CutFeedLosesLiveEventsButSearchStillHasThem) {
  start();
  const auto sid = client_->login();
  Feed feed(*client_);
  feed.send("bs-session-id=" + sid);
  ASSERT_TRUE(wait_for([&] { return server_->feed_count() == 1; }));
  client_->post("/api/events/start", json{{"Query", json::object()}}, sid);
  server_->cut_feed();
  const Event lost = server_->inject({});
  server_->restore_feed();
  const Event live = server_->inject({});
  beast::error_code ec;
  const auto frame = json::parse(feed.read(ec), nullptr, false);
  ASSERT_FALSE(ec);
  EXPECT_EQ(frame["Event"]["id"], std::to_string(live.id));
  const auto r = client_->post("/api/events/search", search_query(10, 0, json::array()), sid);
  ASSERT_EQ(r.body["EventCollection"]["rows"].size(), 2u);
  EXPECT_EQ(r.body["EventCollection"]["rows"][0]["id"], std::to_string(lost.id));
}

TEST_F(BioStar2Sim, CloseFeedsEndsTheSocket) {
  start();
  const auto sid = client_->login();
  Feed feed(*client_);
  feed.send("bs-session-id=" + sid);
  ASSERT_TRUE(wait_for([&] { return server_->feed_count() == 1; }));
  server_->close_feeds();
  beast::error_code ec;
  feed.read(ec);
  EXPECT_TRUE(ec);
  EXPECT_TRUE(wait_for([&] { return server_->feed_count() == 0; }));
}

TEST_F(BioStar2Sim, SessionExpiryMidFeedClosesTheFeedAndForcesRelogin) {
  start();
  const auto sid = client_->login();
  Feed feed(*client_);
  feed.send("bs-session-id=" + sid);
  ASSERT_TRUE(wait_for([&] { return server_->feed_count() == 1; }));
  client_->post("/api/events/start", json{{"Query", json::object()}}, sid);
  server_->expire_sessions();
  const Event missed = server_->inject({});
  beast::error_code ec;
  feed.read(ec);
  EXPECT_EQ(ec, websocket::error::closed);
  EXPECT_EQ(feed.reason().code, websocket::close_code::policy_error);
  EXPECT_EQ(client_->post("/api/events/start", json::object(), sid).status, 401u);
  // After a new login, search finds what the feed missed.
  const auto again = client_->login();
  const auto r = client_->post(
      "/api/events/search",
      search_query(10, 0, json::array({{{"column", "id"}, {"operator", 5}, {"values", {"0"}}}})),
      again);
  ASSERT_EQ(r.body["EventCollection"]["rows"].size(), 1u);
  EXPECT_EQ(r.body["EventCollection"]["rows"][0]["id"], std::to_string(missed.id));
}

TEST_F(BioStar2Sim, OversizeFeedMessageClosesTheSocket) {
  BioStar2Config config;
  config.ws_message_limit = 1024;
  start(config);
  Feed feed(*client_);
  feed.send(std::string(4096, 'x'));
  beast::error_code ec;
  feed.read(ec);
  EXPECT_TRUE(ec);
  EXPECT_EQ(server_->feed_count(), 0u);
}

// --- restarts, generator ------------------------------------------------------

TEST_F(BioStar2Sim, StopRefusesConnectionsAndStartKeepsTheLogButNotSessions) {
  start();
  const auto sid = client_->login();
  server_->inject({});
  server_->inject({});
  server_->stop();
  EXPECT_FALSE(server_->is_up());
  EXPECT_ANY_THROW(client_->login());
  server_->start();
  EXPECT_TRUE(server_->is_up());
  EXPECT_EQ(client_->call(http::verb::get, "/api/devices", "", sid).status, 401u);
  const auto again = client_->login();
  const auto r = client_->post("/api/events/search", search_query(10, 0, json::array()), again);
  EXPECT_EQ(r.body["EventCollection"]["rows"].size(), 2u);
  EXPECT_EQ(server_->inject({}).id, 3u);  // ids keep increasing
}

TEST_F(BioStar2Sim, StopForAPeriodComesBackByItself) {
  start();
  server_->stop(50ms);
  EXPECT_TRUE(wait_for([&] { return server_->is_up(); }));
  EXPECT_FALSE(client_->login().empty());
}

TEST_F(BioStar2Sim, GeneratorProducesIncreasingIdsOnEveryDevice) {
  BioStar2Config config;
  config.devices = 3;
  config.doors_per_device = 2;
  start(config);
  server_->start_generator(2000, 60, 7);
  ASSERT_TRUE(wait_for([&] { return server_->events().size() == 60; }));
  const auto log = server_->events();
  std::set<std::uint32_t> devices;
  std::set<int> codes;
  for (std::size_t i = 0; i < log.size(); ++i) {
    EXPECT_EQ(log[i].id, i + 1);
    devices.insert(log[i].device_id);
    codes.insert(log[i].code);
  }
  EXPECT_EQ(devices.size(), 3u);
  EXPECT_GT(codes.size(), 3u);
  EXPECT_EQ(server_->generator_remaining(), 0u);
}

// --- doors ---------------------------------------------------------------------------

TEST_F(BioStar2Sim, DoorCommandsChangeStateVisibleToTestsAndStatus) {
  BioStar2Config config;
  config.devices = 2;
  config.doors_per_device = 2;
  start(config);
  const auto sid = client_->login();
  const auto rows = [](std::initializer_list<const char*> ids) {
    json r = json::array();
    for (const char* id : ids) {
      r.push_back({{"id", id}});
    }
    return json{{"DoorCollection", {{"rows", r}}}};
  };
  const auto list = client_->call(http::verb::get, "/api/doors", "", sid);
  ASSERT_EQ(list.body["DoorCollection"]["rows"].size(), 4u);
  EXPECT_EQ(list.body["DoorCollection"]["rows"][2]["entry_device_id"]["id"], "540000002");

  EXPECT_EQ(client_->post("/api/doors/open", rows({"1", "3"}), sid).status, 200u);
  EXPECT_EQ(client_->post("/api/doors/unlock", rows({"2"}), sid).status, 200u);
  EXPECT_EQ(client_->post("/api/doors/lock", rows({"4"}), sid).status, 200u);
  auto doors = server_->doors();
  EXPECT_EQ(doors[0].opens, 1u);
  EXPECT_EQ(doors[2].opens, 1u);
  EXPECT_TRUE(doors[1].unlocked);
  EXPECT_TRUE(doors[3].locked);
  const auto status =
      client_->post("/api/doors/status", json{{"monitoring_permission", true}}, sid);
  ASSERT_EQ(status.status, 200u);
  EXPECT_EQ(status.body["DoorStatusCollection"]["rows"][1]["unlocked"], "true");
  EXPECT_EQ(status.body["DoorStatusCollection"]["rows"][1]["status"], "2");
  EXPECT_EQ(client_->post("/api/doors/release", rows({"2"}), sid).status, 200u);
  doors = server_->doors();
  EXPECT_FALSE(doors[1].unlocked);
  EXPECT_EQ(doors[1].releases, 1u);

  // An unknown door refuses the whole request; the per-door path is refused.
  EXPECT_EQ(client_->post("/api/doors/open", rows({"1", "99"}), sid).status, 404u);
  EXPECT_EQ(server_->doors()[0].opens, 1u);
  EXPECT_EQ(client_->post("/api/doors/1/open", json::object(), sid).status, 400u);
  EXPECT_EQ(client_->post("/api/doors/open", json{{"DoorCollection", 5}}, sid).status, 400u);
  EXPECT_EQ(server_->requests_seen("POST /api/doors/open"), 3u);
}

// --- users and cards -----------------------------------------------------------------

TEST_F(BioStar2Sim, UsersAndCardsAreCreatedChangedListedAndDeleted) {
  start();
  const auto sid = client_->login();
  const auto cards = client_->post(
      "/api/cards",
      json{{"CardCollection",
            {{"rows", {{{"card_id", "12345678"}, {"card_type", {{"id", "0"}, {"type", "1"}}}}}}}}},
      sid);
  ASSERT_EQ(cards.status, 200u) << cards.body.dump();
  const std::string card_id = cards.body["CardCollection"]["rows"][0]["id"];
  EXPECT_EQ(server_->cards().size(), 1u);

  const json user = {{"User",
                      {{"user_id", "1001"},
                       {"name", "Ana"},
                       {"user_group_id", {{"id", 1}}},
                       {"start_datetime", "2001-01-01T00:00:00.00Z"},
                       {"expiry_datetime", "2030-12-31T23:59:00.00Z"},
                       {"cards", {{{"id", card_id}}}}}}};
  EXPECT_EQ(client_->post("/api/users", user, sid).status, 200u);
  EXPECT_EQ(client_->post("/api/users", user, sid).status, 400u);  // duplicate
  auto second = user;
  second["User"]["user_id"] = "1002";
  second["User"]["cards"] = json::array({{{"id", "999"}}});
  EXPECT_EQ(client_->post("/api/users", second, sid).status, 400u);  // no such card
  second["User"].erase("cards");
  second["User"]["name"] = 7;
  EXPECT_EQ(client_->post("/api/users", second, sid).status, 400u);  // wrong type
  second["User"]["name"] = "Bo";
  EXPECT_EQ(client_->post("/api/users", second, sid).status, 200u);
  second["User"]["user_id"] = "1003";
  EXPECT_EQ(client_->post("/api/users", second, sid).status, 200u);

  EXPECT_EQ(
      client_->call(http::verb::put, "/api/users/1001", R"({"User":{"name":"Ana B"}})", sid).status,
      200u);
  EXPECT_EQ(json::parse(server_->users().at("1001"))["name"], "Ana B");
  EXPECT_EQ(client_->call(http::verb::put, "/api/users/42", R"({"User":{"name":"x"}})", sid).status,
            404u);
  const auto got = client_->call(http::verb::get, "/api/users/1001", "", sid);
  EXPECT_EQ(got.body["User"]["cards"][0]["id"], card_id);
  EXPECT_EQ(
      client_->call(http::verb::get, "/api/users", "", sid).body["UserCollection"]["rows"].size(),
      3u);

  EXPECT_EQ(client_->call(http::verb::delete_, "/api/users?id=1002+1003", "", sid).status, 200u);
  EXPECT_EQ(client_->call(http::verb::delete_, "/api/users/1001", "", sid).status, 200u);
  EXPECT_EQ(client_->call(http::verb::delete_, "/api/users/1001", "", sid).status, 404u);
  EXPECT_TRUE(server_->users().empty());
  EXPECT_EQ(client_->call(http::verb::delete_, "/api/cards/" + card_id, "", sid).status, 200u);
  EXPECT_TRUE(server_->cards().empty());
}

// --- times, CLI ------------------------------------------------------------------------

TEST(BioStar2SimFormat, DatetimesRoundTripAndMalformedOnesAreRefused) {
  EXPECT_EQ(format_datetime(1433902445268), "2015-06-10T02:14:05.268Z");
  EXPECT_EQ(parse_datetime("2015-06-10T02:14:05.268Z"), 1433902445268);
  EXPECT_EQ(parse_datetime("2001-01-01T00:00:00.00Z"), 978307200000);
  EXPECT_EQ(parse_datetime("2001-01-01T00:00:00Z"), 978307200000);
  EXPECT_FALSE(parse_datetime("2001-01-01 00:00:00Z"));
  EXPECT_FALSE(parse_datetime("2001-01-01T00:00:00+01:00"));
  EXPECT_FALSE(parse_datetime("2001-13-01T00:00:00Z"));
  EXPECT_FALSE(parse_datetime(""));
}

TEST(BioStar2SimCli, ParsesFlagsAndRefusesBadOnes) {
  const auto ok = parse_biostar2_command_line({"--port", "8443", "--plain", "--devices", "3",
                                               "--doors", "2", "--session-timeout-ms", "5000",
                                               "--events-per-second=10", "--events", "100"});
  ASSERT_TRUE(ok.ok) << ok.error;
  EXPECT_EQ(ok.cli.server.port, 8443);
  EXPECT_FALSE(ok.cli.server.tls);
  EXPECT_EQ(ok.cli.server.devices, 3);
  EXPECT_EQ(ok.cli.server.doors_per_device, 2);
  EXPECT_EQ(ok.cli.server.session_idle_timeout, 5000ms);
  EXPECT_DOUBLE_EQ(ok.cli.events_per_second, 10);
  EXPECT_EQ(ok.cli.events, 100u);
  EXPECT_FALSE(parse_biostar2_command_line({"--port", "70000"}).ok);
  EXPECT_FALSE(parse_biostar2_command_line({"--devices", "0"}).ok);
  EXPECT_FALSE(parse_biostar2_command_line({"--bogus"}).ok);
  EXPECT_TRUE(parse_biostar2_command_line({"--help"}).help);
}

std::string read_line(int fd) {
  std::string line;
  char c = 0;
  while (::read(fd, &c, 1) == 1 && c != '\n') {
    line.push_back(c);
  }
  return line;
}

TEST(BioStar2SimCli, BinaryServesGeneratedEventsAndStopsOnSigterm) {
  const std::string binary = std::string(PUSHGATE_BINARY_DIR) + "/tests/sim/pushgate-sim";
  int out[2];
  ASSERT_EQ(::pipe(out), 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::dup2(out[1], STDOUT_FILENO);
    ::close(out[0]);
    ::close(out[1]);
    ::execl(binary.c_str(), binary.c_str(), "biostar2", "--port", "0", "--password", "s3cret",
            "--events-per-second", "500", "--events", "5", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(out[1]);
  const std::string first = read_line(out[0]);
  ASSERT_EQ(first.rfind("listening https://127.0.0.1:", 0), 0u) << first;
  const auto port = static_cast<std::uint16_t>(std::stoi(first.substr(28)));
  const std::string pem_path = first.substr(first.find("cert=") + 5);
  std::string pem;
  {
    FILE* f = std::fopen(pem_path.c_str(), "r");
    ASSERT_NE(f, nullptr) << pem_path;
    char buf[4096];
    std::size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) {
      pem.append(buf, n);
    }
    std::fclose(f);
  }
  Client client(port, true, pem);
  const auto sid = client.login("admin", "s3cret");
  ASSERT_FALSE(sid.empty());
  EXPECT_TRUE(wait_for([&] {
    return client.post("/api/events/search", search_query(10, 0, json::array()), sid)
               .body["EventCollection"]["rows"]
               .size() == 5;
  }));
  ::kill(pid, SIGTERM);
  EXPECT_EQ(read_line(out[0]), "stopped: 5 events");
  int status = 0;
  ::waitpid(pid, &status, 0);
  ::close(out[0]);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace pushgate::sim::biostar2::test
