// The web console's server side (issue 18) over real HTTP on loopback: the
// static files under /console/ with their security headers and no way out
// of their folder, and the live event stream (server-sent events) the
// console's tail reads: filters, Last-Event-ID, the limit of streams, the
// end of a stream when its session is revoked.

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "tests/support/api_call.hpp"
#include "tests/support/gateway_harness.hpp"

namespace pushgate::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
namespace net = boost::asio;
namespace bhttp = boost::beast::http;
using api_call::call;
using api_call::Headers;

/**
 * A raw connection reading a server-sent-event stream: what arrived so far
 * is in `text`; `wait_for` reads until a predicate holds or 20 s pass.
 */
class SseClient {
 public:
  SseClient(std::uint16_t port, const std::string& target, const Headers& headers) : socket_(ioc_) {
    socket_.connect({net::ip::make_address("127.0.0.1"), port});
    timeval tv{0, 200'000};  // a read returns at least every 200 ms to check the deadline
    ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string req =
        "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n";
    for (const auto& [k, v] : headers) {
      req += k + ": " + v + "\r\n";
    }
    req += "\r\n";
    net::write(socket_, net::buffer(req));
  }

  /** Reads until `pred(text)` or the deadline; false on timeout. Sets `closed` at EOF. */
  bool wait_for(const std::function<bool(const std::string&)>& pred,
                std::chrono::milliseconds deadline = 20s) {
    auto until = std::chrono::steady_clock::now() + deadline;
    while (!pred(text)) {
      if (closed || std::chrono::steady_clock::now() > until) {
        return pred(text);
      }
      // The socket's own recv: SO_RCVTIMEO makes it return, Asio's would wait on.
      char buf[4096];
      auto n = ::recv(socket_.native_handle(), buf, sizeof buf, 0);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        closed = true;
      } else if (n > 0) {
        text.append(buf, static_cast<std::size_t>(n));
      }
    }
    return true;
  }
  bool wait_text(const std::string& needle) {
    return wait_for([&](const std::string& t) { return t.find(needle) != std::string::npos; });
  }
  bool wait_closed() {
    return wait_for([&](const std::string&) { return closed; });
  }

  std::string text;
  bool closed = false;

 private:
  net::io_context ioc_;
  net::ip::tcp::socket socket_;
};

bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds deadline = 20s) {
  auto until = std::chrono::steady_clock::now() + deadline;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > until) {
      return false;
    }
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

/** The data JSON of each `event: <kind>` in a stream's text, in order. */
std::vector<json> events_of(const std::string& text, const std::string& kind) {
  std::vector<json> out;
  std::size_t pos = 0;
  const std::string head = "event: " + kind + "\ndata: ";
  while ((pos = text.find(head, pos)) != std::string::npos) {
    auto start = pos + head.size();
    auto end = text.find('\n', start);
    if (end == std::string::npos) {
      break;
    }
    out.push_back(json::parse(text.substr(start, end - start)));
    pos = end;
  }
  return out;
}

// ------------------------------------------------------------ static files

class ConsoleFilesTest : public ::testing::Test {
 protected:
  ConsoleFilesTest() {
    dir_ = temp_.path() / "console";
    std::filesystem::create_directories(dir_ / "img");
    std::ofstream(dir_ / "index.html") << "<!doctype html><title>console</title>";
    std::ofstream(dir_ / "app.js") << "export const x = 1;\n";
    std::ofstream(dir_ / "img" / "logo.svg") << "<svg xmlns='http://www.w3.org/2000/svg'/>";
    // What must never be served: a file beside the folder, reached by a
    // symlink inside it or by dots.
    std::ofstream(temp_.path() / "secret.txt") << "the secret";
    std::filesystem::create_symlink(temp_.path() / "secret.txt", dir_ / "leak.txt");
    gw_ = std::make_unique<GatewayHarness>(
        std::vector<std::string>{"api.auth=required", "api.console_dir=" + dir_.string()});
    port_ = gw_->api_port();
  }

  TempDir temp_;
  std::filesystem::path dir_;
  std::unique_ptr<GatewayHarness> gw_;
  std::uint16_t port_ = 0;
};

TEST_F(ConsoleFilesTest, ServesThePagesWithStrictSecurityHeadersAndNoCredential) {
  auto root = call(port_, bhttp::verb::get, "/");
  EXPECT_EQ(root.status, 302);
  EXPECT_EQ(root.headers["location"], "/console/");

  auto index = call(port_, bhttp::verb::get, "/console/");
  ASSERT_EQ(index.status, 200);
  EXPECT_EQ(index.body, "<!doctype html><title>console</title>");
  EXPECT_EQ(index.headers["content-type"], "text/html; charset=utf-8");
  EXPECT_EQ(index.headers["cache-control"], "no-cache");
  EXPECT_NE(index.headers["content-security-policy"].find("default-src 'self'"), std::string::npos);
  EXPECT_NE(index.headers["content-security-policy"].find("frame-ancestors 'none'"),
            std::string::npos);
  EXPECT_EQ(index.headers["x-content-type-options"], "nosniff");
  EXPECT_EQ(index.headers["x-frame-options"], "DENY");
  ASSERT_FALSE(index.headers["etag"].empty());

  auto again = call(port_, bhttp::verb::get, "/console/index.html", {},
                    {{"If-None-Match", index.headers["etag"]}});
  EXPECT_EQ(again.status, 304);

  auto js = call(port_, bhttp::verb::get, "/console/app.js");
  EXPECT_EQ(js.status, 200);
  EXPECT_EQ(js.headers["content-type"], "text/javascript; charset=utf-8");
  EXPECT_EQ(js.headers["cache-control"], "max-age=60, must-revalidate");
  auto svg = call(port_, bhttp::verb::get, "/console/img/logo.svg");
  EXPECT_EQ(svg.status, 200);
  EXPECT_EQ(svg.headers["content-type"], "image/svg+xml");

  EXPECT_EQ(call(port_, bhttp::verb::post, "/console/app.js").status, 405);
  // The API behind the console still wants a credential.
  EXPECT_EQ(call(port_, bhttp::verb::get, "/api/v1/terminals").status, 401);
}

TEST_F(ConsoleFilesTest, NoPathLeavesTheConsoleFolder) {
  for (const std::string target :
       {"/console/../secret.txt", "/console/..%2fsecret.txt", "/console/%2e%2e/secret.txt",
        "/console/img/../../secret.txt", "/console//etc/passwd", "/console/leak.txt",
        "/console/index.html%00.js", "/console/./index.html", "/console/img/",
        "/console/nothing.js", "/console/../../../../etc/passwd"}) {
    auto a = call(port_, bhttp::verb::get, target);
    EXPECT_EQ(a.status, 404) << target;
    EXPECT_EQ(a.body.find("the secret"), std::string::npos) << target;
    EXPECT_EQ(a.headers["x-content-type-options"], "nosniff") << target;
  }
  auto refused = metric_value(port_, "pushgate_console_not_found_total");
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(*refused, 11.0);
}

// ------------------------------------------------------------ event stream

class EventStreamTest : public ::testing::Test {
 protected:
  explicit EventStreamTest(std::vector<std::string> extra = {}) {
    std::vector<std::string> sets = {"api.auth=required", "api.max_event_streams=2"};
    sets.insert(sets.end(), extra.begin(), extra.end());
    gw_ = std::make_unique<GatewayHarness>(sets, std::filesystem::path{},
                                           GatewayHarness::Accounts::FirstStart);
    port_ = gw_->api_port();
    password_ = api_call::initial_admin_password(gw_->data_dir());
  }

  /** Logs the admin in: the cookie and the CSRF token. */
  std::pair<std::string, std::string> login() {
    auto a = api_call::login(port_, "admin", password_);
    EXPECT_EQ(a.status, 200) << a.body;
    auto session = api_call::session_of(a);
    return {session.cookie, session.csrf};
  }

  void punch(const std::string& sn, const std::string& pin, const std::string& time) {
    auto up =
        http_request(gw_->zkpush_port(), "POST", "/iclock/cdata?SN=" + sn + "&table=ATTLOG&Stamp=1",
                     pin + "\t" + time + "\t0\t1\t\t0\t0\n");
    ASSERT_EQ(up.status, 200) << up.body;
    ASSERT_EQ(up.body.rfind("OK", 0), 0U) << up.body;
  }

  std::unique_ptr<GatewayHarness> gw_;
  std::uint16_t port_ = 0;
  std::string password_;
};

TEST_F(EventStreamTest, RefusesACallerWithoutCredential) {
  auto a = call(port_, bhttp::verb::get, "/api/v1/events/stream");
  EXPECT_EQ(a.status, 401);
}

TEST_F(EventStreamTest, LiveEventsArriveFilteredAsTheyCommit) {
  auto [cookie, csrf] = login();
  SseClient all(port_, "/api/v1/events/stream", {{"Cookie", cookie}});
  SseClient only(port_, "/api/v1/events/stream?kind=attendance&user=1002&terminal=ATT0001",
                 {{"Cookie", cookie}});
  ASSERT_TRUE(all.wait_text(": pushgate event stream"));
  ASSERT_TRUE(only.wait_text(": pushgate event stream"));
  EXPECT_EQ(all.text.rfind("HTTP/1.1 200 OK\r\n", 0), 0U) << all.text;
  EXPECT_NE(all.text.find("Content-Type: text/event-stream"), std::string::npos) << all.text;

  punch("ATT0001", "1001", "2024-03-04 09:05:00");
  punch("ATT0002", "1002", "2024-03-04 09:06:00");
  punch("ATT0001", "1002", "2024-03-04 09:07:00");

  ASSERT_TRUE(all.wait_for([](const std::string& t) {
    return events_of(t, "attendance").size() == 3;
  })) << all.text;
  auto seen = events_of(all.text, "attendance");
  EXPECT_EQ(seen[0]["pin"], "1001");
  EXPECT_EQ(seen[2]["terminal"], "ATT0001");
  // Each event says its id, so a reconnecting EventSource resumes after it.
  EXPECT_NE(all.text.find("id: " + std::to_string(seen[2]["id"].get<std::int64_t>()) + "\n"),
            std::string::npos);

  // The filtered stream's first (and only) event is the third punch.
  ASSERT_TRUE(only.wait_text("event: attendance")) << only.text;
  auto mine = events_of(only.text, "attendance");
  ASSERT_EQ(mine.size(), 1U) << only.text;
  EXPECT_EQ(mine[0]["pin"], "1002");
  EXPECT_EQ(mine[0]["terminal"], "ATT0001");
  EXPECT_EQ(mine[0]["id"], seen[2]["id"]);
}

TEST_F(EventStreamTest, LastEventIdReplaysWhatWasMissedThenGoesLive) {
  auto [cookie, csrf] = login();
  punch("ATT0001", "1001", "2024-03-04 09:05:00");
  punch("ATT0001", "1002", "2024-03-04 09:06:00");
  auto first = gw_->query_int("SELECT MIN(id) FROM events WHERE kind = 1");
  SseClient resumed(port_, "/api/v1/events/stream?kind=attendance",
                    {{"Cookie", cookie}, {"Last-Event-ID", std::to_string(first)}});
  ASSERT_TRUE(resumed.wait_text("event: attendance")) << resumed.text;
  punch("ATT0001", "1003", "2024-03-04 09:07:00");
  ASSERT_TRUE(resumed.wait_for([](const std::string& t) {
    return events_of(t, "attendance").size() == 2;
  })) << resumed.text;
  auto got = events_of(resumed.text, "attendance");
  EXPECT_EQ(got[0]["pin"], "1002");  // after the Last-Event-ID, not it
  EXPECT_EQ(got[1]["pin"], "1003");

  auto bad = call(port_, bhttp::verb::get, "/api/v1/events/stream", {},
                  {{"Cookie", cookie}, {"Last-Event-ID", "yesterday"}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(
      call(port_, bhttp::verb::get, "/api/v1/events/stream?kind=nonsense", {}, {{"Cookie", cookie}})
          .status,
      400);
}

TEST_F(EventStreamTest, StreamsBeyondTheLimitAre503AndAFreedSlotServesAgain) {
  auto [cookie, csrf] = login();
  auto one =
      std::make_unique<SseClient>(port_, "/api/v1/events/stream", Headers{{"Cookie", cookie}});
  SseClient two(port_, "/api/v1/events/stream", {{"Cookie", cookie}});
  ASSERT_TRUE(one->wait_text(": pushgate event stream"));
  ASSERT_TRUE(two.wait_text(": pushgate event stream"));
  auto third = call(port_, bhttp::verb::get, "/api/v1/events/stream", {}, {{"Cookie", cookie}});
  EXPECT_EQ(third.status, 503) << third.body;
  EXPECT_FALSE(third.headers["retry-after"].empty());
  EXPECT_EQ(metric_value(port_, "pushgate_api_event_streams_refused_total"), 1.0);

  one.reset();  // the client leaves: its slot is free again
  ASSERT_TRUE(wait_until([&] { return metric_value(port_, "pushgate_api_event_streams") == 1.0; }));
  SseClient again(port_, "/api/v1/events/stream", {{"Cookie", cookie}});
  EXPECT_TRUE(again.wait_text(": pushgate event stream")) << again.text;
}

TEST_F(EventStreamTest, LogoutEndsTheSessionsStream) {
  auto [cookie, csrf] = login();
  SseClient stream(port_, "/api/v1/events/stream", {{"Cookie", cookie}});
  ASSERT_TRUE(stream.wait_text(": pushgate event stream"));
  auto out = call(port_, bhttp::verb::post, "/api/v1/logout", {},
                  {{"Cookie", cookie}, {"X-CSRF-Token", csrf}});
  ASSERT_EQ(out.status, 200) << out.body;
  ASSERT_TRUE(stream.wait_closed()) << stream.text;
  auto ends = events_of(stream.text, "end");
  ASSERT_EQ(ends.size(), 1U) << stream.text;
  EXPECT_EQ(ends[0]["reason"], "session ended");
  EXPECT_EQ(metric_value(port_, "pushgate_api_event_streams_ended_total"), 1.0);
}

class EventStreamHeartbeatTest : public EventStreamTest {
 protected:
  EventStreamHeartbeatTest() : EventStreamTest({"api.event_stream_heartbeat_s=1"}) {}
};

TEST_F(EventStreamHeartbeatTest, HeartbeatsKeepAnIdleStreamTalking) {
  auto [cookie, csrf] = login();
  SseClient stream(port_, "/api/v1/events/stream", {{"Cookie", cookie}});
  EXPECT_TRUE(stream.wait_text(": heartbeat\n\n")) << stream.text;
  EXPECT_FALSE(stream.closed);
}

}  // namespace
}  // namespace pushgate::test
