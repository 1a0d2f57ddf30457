// Memory and connections do not follow the client: an in-process gateway on
// loopback, driven over real HTTP, with its limits set small enough to reach
// (per-address connection limit, first-byte and header timeouts, field
// length, bytes per REST page, body bytes in flight).
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <sys/time.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <spdlog/sinks/ringbuffer_sink.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <nlohmann/json.hpp>

#include "gateway/logging.hpp"
#include "tests/support/gateway_harness.hpp"
#include "tests/support/processes.hpp"

namespace pushgate::test {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using nlohmann::json;

constexpr auto kWait = std::chrono::seconds(10);

/** A loopback connection that the test drives byte by byte. */
class RawConnection {
 public:
  explicit RawConnection(std::uint16_t port) : socket_(ioc_) {
    socket_.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    // A read never hangs the test: past this it fails as a timeout.
    timeval tv{15, 0};
    setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  void send(const std::string& bytes) { net::write(socket_, net::buffer(bytes)); }
  /** Reads until the server closes; returns what it sent, and whether it closed in time. */
  bool read_until_closed(std::string& received) {
    char buf[4096];
    for (;;) {
      ssize_t n = ::recv(socket_.native_handle(), buf, sizeof buf, 0);
      if (n > 0) {
        received.append(buf, static_cast<std::size_t>(n));
        continue;
      }
      if (n == 0) {
        return true;
      }
      // ECONNRESET is a close too; EAGAIN is SO_RCVTIMEO passing.
      return errno == ECONNRESET;
    }
  }
  /** What the server sent next (empty when it closed). */
  std::string read_some() {
    char buf[4096];
    ssize_t n = ::recv(socket_.native_handle(), buf, sizeof buf, 0);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
  }
  void close() {
    boost::system::error_code ec;
    socket_.close(ec);
  }

 private:
  net::io_context ioc_;
  tcp::socket socket_;
};

/** The warnings of the http logger while the object lives. */
class HttpLogCapture {
 public:
  HttpLogCapture() : sink_(std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(64)) {
    logger("http")->sinks().push_back(sink_);
  }
  ~HttpLogCapture() {
    auto& sinks = logger("http")->sinks();
    sinks.erase(std::remove(sinks.begin(), sinks.end(), sink_), sinks.end());
  }
  bool contains(const std::string& text) const {
    for (const auto& line : sink_->last_formatted()) {
      if (line.find(text) != std::string::npos) {
        return true;
      }
    }
    return false;
  }

 private:
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_;
};

std::string attlog_post(const std::string& sn, const std::string& body) {
  return "POST /iclock/cdata?SN=" + sn +
         "&table=ATTLOG&Stamp=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

std::string attlog_lines(int first_pin, int count, std::size_t reserved_bytes = 0) {
  std::string out;
  for (int i = 0; i < count; ++i) {
    out += std::to_string(first_pin + i) + "\t2024-03-04 09:" + (i % 60 < 10 ? "0" : "") +
           std::to_string(i % 60) + ":00\t0\t1\t\t" + std::string(reserved_bytes, 'r') + "\t0\n";
  }
  return out;
}

std::uint64_t counter(GatewayHarness& h, const std::string& name, const metrics::Labels& l) {
  return h.gateway().metrics().counter(name, "", l).value();
}

TEST(ConnectionLimitTest, RefusesConnectionsPastThePerAddressLimitAndLogs) {
  GatewayHarness h({"zkpush.max_connections_per_address=3"});
  HttpLogCapture log;
  std::vector<std::unique_ptr<RawConnection>> idle;
  for (int i = 0; i < 3; ++i) {
    idle.push_back(std::make_unique<RawConnection>(h.zkpush_port()));
  }
  // The fourth from the same address (accepted after the three, in order)
  // is closed by the server at once, without a word.
  RawConnection fourth(h.zkpush_port());
  std::string received;
  EXPECT_TRUE(fourth.read_until_closed(received));
  EXPECT_EQ(received, "");
  EXPECT_GE(
      counter(h, "pushgate_http_connections_refused_per_address_total", {{"server", "zkpush"}}),
      1u);
  EXPECT_TRUE(log.contains("refused 1 connection(s) from 127.0.0.1"));

  // One idle connection goes: the address has room again.
  idle.back()->close();
  idle.pop_back();
  EXPECT_TRUE(wait_for(
      [&] {
        try {
          return http_request(h.zkpush_port(), "GET", "/iclock/ping?SN=LIMIT01").status == 200;
        } catch (const std::exception&) {
          return false;
        }
      },
      kWait));
}

TEST(ConnectionTimeoutTest, SilentNewConnectionIsClosedAtTheFirstRequestTimeout) {
  GatewayHarness h({"zkpush.first_request_timeout_ms=300", "zkpush.idle_timeout_ms=600000",
                    "zkpush.request_timeout_ms=600000"});
  RawConnection silent(h.zkpush_port());
  std::string received;
  EXPECT_TRUE(silent.read_until_closed(received));
  EXPECT_EQ(received, "");
}

TEST(ConnectionTimeoutTest, SlowHeaderIsCutAtTheRequestTimeout) {
  GatewayHarness h({"zkpush.request_timeout_ms=300", "zkpush.idle_timeout_ms=600000",
                    "zkpush.first_request_timeout_ms=600000"});
  RawConnection slow(h.zkpush_port());
  // The request line and one header, then nothing: the header never ends.
  slow.send("GET /iclock/cdata?SN=SLOW01&options=all HTTP/1.1\r\nHost: 127.0.0.1\r\n");
  std::string received;
  EXPECT_TRUE(slow.read_until_closed(received));
  EXPECT_EQ(received, "");
}

TEST(ConnectionTimeoutTest, KeepAliveConnectionMayIdleBetweenRequests) {
  GatewayHarness h({"zkpush.request_timeout_ms=300", "zkpush.first_request_timeout_ms=300"});
  RawConnection c(h.zkpush_port());
  c.send("GET /iclock/ping?SN=IDLE01 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  // Well past both short timeouts, the kept-alive connection still serves.
  std::this_thread::sleep_for(std::chrono::milliseconds(900));
  c.send("GET /iclock/ping?SN=IDLE01 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  std::string received;
  EXPECT_TRUE(c.read_until_closed(received));
  std::size_t answers = 0;
  for (auto pos = received.find("HTTP/1.1 200"); pos != std::string::npos;
       pos = received.find("HTTP/1.1 200", pos + 1)) {
    ++answers;
  }
  EXPECT_EQ(answers, 2u) << received;
}

TEST(FieldLimitTest, RecordWithAnOverlongFieldIsQuarantinedNotStored) {
  GatewayHarness h({"zkpush.max_field_bytes=4096"});
  std::string body = attlog_lines(1001, 1) + attlog_lines(1002, 1, 5000) + attlog_lines(1003, 1);
  auto up =
      http_request(h.zkpush_port(), "POST", "/iclock/cdata?SN=FIELD01&table=ATTLOG&Stamp=1", body);
  EXPECT_EQ(up.status, 200);
  EXPECT_EQ(up.body, "OK: 3");
  EXPECT_EQ(h.query_int("SELECT COUNT(*) FROM events WHERE kind = 1"), 2);
  EXPECT_EQ(h.query_int("SELECT COUNT(*) FROM events WHERE pin = '1002'"), 0);
  EXPECT_EQ(h.query_int("SELECT COUNT(*) FROM quarantine WHERE reason LIKE "
                        "'field Reserved1 is 5000 bytes, over the limit of 4096' AND line_no = 2"),
            1);
  EXPECT_EQ(h.query_int("SELECT length(raw) FROM quarantine"),
            static_cast<std::int64_t>(attlog_lines(1002, 1, 5000).size() - 1));
  EXPECT_EQ(counter(h, "pushgate_zkpush_long_fields_total", {}), 1u);
}

TEST(RestBoundsTest, EventsPageIsBoundedByBytesAndPagingReturnsEveryEvent) {
  GatewayHarness h({"api.max_answer_bytes=8192", "zkpush.max_field_bytes=65536"});
  constexpr int kEvents = 40;
  auto up = http_request(h.zkpush_port(), "POST", "/iclock/cdata?SN=PAGE01&table=ATTLOG&Stamp=1",
                         attlog_lines(2001, kEvents, 1500));
  ASSERT_EQ(up.body, "OK: " + std::to_string(kEvents));

  std::set<std::int64_t> ids;
  std::int64_t after = 0;
  int pages = 0;
  for (bool more = true; more; ++pages) {
    ASSERT_LT(pages, 100);
    auto page = http_request(h.api_port(), "GET",
                             "/api/v1/events?limit=1000&after=" + std::to_string(after));
    ASSERT_EQ(page.status, 200);
    // The budget plus at most one row's worth of JSON.
    EXPECT_LT(page.body.size(), 8192u + 4096u);
    auto j = json::parse(page.body);
    for (const auto& e : j["events"]) {
      ids.insert(e["id"].get<std::int64_t>());
    }
    more = j["more"].get<bool>();
    after = j["next_after"].get<std::int64_t>();
  }
  EXPECT_EQ(ids.size(), static_cast<std::size_t>(kEvents));
  EXPECT_GT(pages, 5);
}

TEST(BodyBudgetTest, FullBudgetAnswers503AndTheRetriedUploadIsStored) {
  GatewayHarness h({"zkpush.inflight_body_bytes=65536", "zkpush.inflight_wait_ms=200"});
  HttpLogCapture log;
  // A slow upload announces 60000 bytes and sends a few: its share of the
  // budget is held while its body is being read. 100 Continue comes once
  // the share is taken.
  RawConnection holder(h.zkpush_port());
  holder.send(
      "POST /iclock/cdata?SN=BUDGET01&table=ATTLOG&Stamp=1 HTTP/1.1\r\n"
      "Host: 127.0.0.1\r\nContent-Length: 60000\r\nExpect: 100-continue\r\n\r\n");
  ASSERT_EQ(holder.read_some().rfind("HTTP/1.1 100 Continue", 0), 0u);
  holder.send("1\t2024");

  std::string body = attlog_lines(3001, 300);
  ASSERT_GT(body.size(), 65536u - 60000u);
  HttpAnswer busy = send_raw(h.zkpush_port(), attlog_post("BUDGET02", body));
  EXPECT_EQ(busy.status, 503);
  EXPECT_EQ(busy.body, "ERROR: server busy, retry later\n");
  EXPECT_EQ(h.query_int("SELECT COUNT(*) FROM events"), 0);
  EXPECT_GE(counter(h, "pushgate_http_body_budget_refused_total", {{"server", "zkpush"}}), 1u);
  EXPECT_TRUE(log.contains("answered 503"));

  // The slow upload goes away; the terminal's retry is stored.
  holder.close();
  HttpAnswer retried;
  ASSERT_TRUE(wait_for(
      [&] {
        retried = send_raw(h.zkpush_port(), attlog_post("BUDGET02", body));
        return retried.status == 200;
      },
      kWait));
  EXPECT_EQ(retried.body, "OK: 300");
  EXPECT_EQ(h.query_int("SELECT COUNT(*) FROM events"), 300);
}

}  // namespace
}  // namespace pushgate::test
