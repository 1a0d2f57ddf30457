#pragma once

// Private state of BioStar2Server, shared by biostar2_server.cpp (listener,
// TLS, feed, restarts) and biostar2_api.cpp (REST handlers). Not for tests.

#include <utility>  // before asio: Boost 1.74 awaitable.hpp uses std::exchange

// GCC 12 reports the frame allocator of Boost 1.74's awaitable as a
// new/delete mismatch (a false positive of the coroutine lowering).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

#include <boost/asio/awaitable.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <deque>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>

#include "tests/sim/biostar2_server.hpp"

namespace pushgate::sim::biostar2 {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

/// Frames queued for one feed client at most; beyond, it is disconnected.
inline constexpr std::size_t kFeedQueueLimit = 100000;

struct Session {
  std::chrono::steady_clock::time_point last_used;
  bool feed_started = false;  // POST /api/events/start seen
};

/// One open /wsapi socket. Server thread only.
struct Feed {
  explicit Feed(net::io_context& ioc) : wake(ioc) {}
  std::string session;  // set by the client's "bs-session-id=<id>" message
  std::deque<std::string> pending;
  net::steady_timer wake;
  bool closed = false;
  std::optional<beast::websocket::close_code> close_code;  // set: close with a frame
  std::string close_reason;
};

/// The row of `e` as events/search and the feed write it (numbers as strings).
nlohmann::json event_json(const Event& e);

struct BioStar2Server::Impl {
  Impl(BioStar2Server& owner, const BioStar2Config& config);

  // Declared first: destroyed last, after every socket and timer below.
  net::io_context ioc;
  BioStar2Server& owner;
  BioStar2Config config;
  net::ssl::context tls;
  std::string cert_pem;
  tcp::acceptor acceptor;
  std::uint16_t port = 0;

  // Shared state, guarded by `mu`.
  mutable std::mutex mu;
  std::map<std::string, Session> sessions;
  std::vector<Event> log;
  std::uint64_t next_event_id = 1;
  std::vector<std::uint32_t> device_ids;
  std::map<std::uint32_t, std::uint32_t> next_index;  // device -> next log index
  std::map<std::uint32_t, DoorState> doors;
  std::map<std::string, nlohmann::json> users;
  std::map<std::string, nlohmann::json> cards;  // id -> card
  std::uint64_t next_card_id = 1;
  std::map<std::string, std::uint64_t> requests;
  std::uint64_t login_count = 0;
  std::uint64_t failed_login_count = 0;

  // Server thread only.
  std::map<std::uint64_t, std::function<void()>> closers;  // open connections
  std::uint64_t next_connection = 1;
  std::set<std::shared_ptr<Feed>> feeds;
  bool feed_cut = false;
  std::uint64_t feeds_opened = 0;
  std::uint64_t feeds_rejected = 0;
  std::uint64_t frames_sent = 0;
  std::uint64_t frames_received = 0;
  std::uint64_t tls_failures = 0;
  std::uint64_t restarts = 0;
  net::steady_timer generator_timer;
  net::steady_timer restart_timer;
  std::mt19937_64 generator_rng;
  std::atomic<std::size_t> generator_remaining{0};
  std::chrono::nanoseconds generator_period{0};
  std::uint64_t generator_epoch = 0;
  bool stopping = false;

  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::thread thread;

  // biostar2_server.cpp
  void start_accepting();
  void close_everything();
  void do_start();
  net::awaitable<void> accept_loop();
  template <class Stream>
  net::awaitable<void> connection(std::shared_ptr<Stream> stream);
  template <class WsStream>
  net::awaitable<void> run_feed(std::shared_ptr<WsStream> ws, http::request<http::string_body> req);
  net::awaitable<void> run_generator(std::uint64_t epoch);
  void deliver(const Event& e);
  /// Whether `sid` names a live session; an idle one is dropped. `mu` held.
  bool session_valid_locked(const std::string& sid, bool touch);

  // biostar2_api.cpp
  http::response<http::string_body> handle(const http::request<http::string_body>& req);
};

/// {"Response":{"code":..,"message":..}} with `status`.
http::response<http::string_body> error_response(http::status status, const std::string& code,
                                                 const std::string& message);

}  // namespace pushgate::sim::biostar2
