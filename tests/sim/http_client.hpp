#pragma once

// The HTTP plumbing every simulated terminal flavour shares: one request per
// TCP connection ("Connection: close", like the captured iClock Proxy/1.09
// client), a timeout over connect + write + read, body limits, a global gate
// on in-flight requests, and transport faults injected on purpose.
//
// Threading: an HttpClient belongs to one terminal and is used only from that
// terminal's strand; completion handlers run on that strand. RequestGate is
// thread-safe and shared by all terminals of a load run.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/system/error_code.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace pushgate::sim {

namespace net = boost::asio;

/// One request as a terminal builds it.
struct HttpRequest {
  boost::beast::http::verb method = boost::beast::http::verb::get;
  /// Origin-form target, e.g. "/iclock/getrequest?SN=X".
  std::string target;
  std::string body;
  /// Content-Type for a body; empty sends none.
  std::string content_type;
  /// Extra header fields after the defaults (Cookie, Accept-Charset, ...).
  std::vector<std::pair<std::string, std::string>> headers;
};

/// Faults the client can inject into one exchange.
enum class ExchangeFault {
  None,
  /// Sends the header and half the body, then closes: the server sees a
  /// truncated request (a terminal losing power or link mid-upload).
  DropMidRequest,
  /// Sends the whole request, then closes without reading the answer: the
  /// server may have committed and answered OK, the terminal never saw it and
  /// will send the same data again.
  DropBeforeResponse,
};

/// What one exchange produced.
struct HttpResult {
  /// Set when no complete response was read (connect refused, reset, timeout,
  /// injected fault). status/body are meaningless then.
  boost::system::error_code ec;
  unsigned status = 0;
  std::string body;
  /// The Date header, empty when absent.
  std::string date;
  std::chrono::steady_clock::duration elapsed{};
};

struct HttpClientConfig {
  std::string host = "127.0.0.1";
  std::uint16_t port = 80;
  std::string user_agent = "iClock Proxy/1.09";
  std::string accept = "*/*";
  /// The captured terminals send "close"; the Security PUSH 3.x examples
  /// show other values, hence configurable.
  std::string connection = "close";
  std::chrono::milliseconds timeout{30000};
  std::uint64_t body_limit = 8 * 1024 * 1024;
  std::uint32_t header_limit = 16 * 1024;
};

/// Limits how many requests are in flight across all terminals (the load
/// generator's --concurrency). Thread-safe.
class RequestGate {
 public:
  /// `limit` 0 means unlimited.
  explicit RequestGate(std::size_t limit);

  /// Calls `granted` through `executor` once a slot is free. The caller owns
  /// the slot until it calls release(). Keeps `executor`'s context busy
  /// (tracked work) while waiting.
  void acquire(const net::any_io_executor& executor, std::function<void()> granted);

  void release();

  std::size_t in_flight() const;

 private:
  struct Waiter {
    net::any_io_executor executor;
    std::function<void()> granted;
  };
  const std::size_t limit_;
  mutable std::mutex mutex_;
  std::size_t in_flight_ = 0;
  std::deque<Waiter> waiters_;
};

class HttpExchange;

/// Sends requests one at a time for one terminal.
class HttpClient {
 public:
  using Handler = std::function<void(HttpResult)>;

  /// `strand` is the owning terminal's strand; every handler runs on it.
  HttpClient(net::any_io_executor strand, HttpClientConfig config);
  ~HttpClient();

  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  /// Starts one exchange on a new connection. Only one at a time (asserted).
  /// `handler` runs exactly once, on the strand, also when cancelled.
  void async_request(HttpRequest request, ExchangeFault fault, Handler handler);

  /// Aborts the exchange in flight, if any; its handler gets an error.
  void cancel();

  bool busy() const { return busy_; }

  const HttpClientConfig& config() const { return config_; }

 private:
  net::any_io_executor strand_;
  HttpClientConfig config_;
  /// Resolved once and reused; numeric hosts never touch the resolver.
  std::shared_ptr<std::vector<net::ip::tcp::endpoint>> endpoints_;
  std::weak_ptr<HttpExchange> current_;
  bool busy_ = false;
};

}  // namespace pushgate::sim
