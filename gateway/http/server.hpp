#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "gateway/metrics/metrics.hpp"

namespace pushgate::http {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using Request = boost::beast::http::request<boost::beast::http::string_body>;
using Response = boost::beast::http::response<boost::beast::http::string_body>;

/** Facts about the connection a request came in on. */
struct RequestInfo {
  tcp::endpoint remote;
  bool tls = false;
  std::uint64_t connection_id = 0;
};

/**
 * The way to answer one request, later and from any thread: `send` posts the
 * response onto the connection's strand. Call it exactly once. Holding a
 * Reply keeps the connection alive (a pending handler owns its session).
 */
class Reply {
 public:
  Reply() = default;
  explicit Reply(std::function<void(Response&&)> send, net::any_io_executor ex)
      : send_(std::move(send)), executor_(std::move(ex)) {}
  void send(Response&& response) {
    if (send_) {
      auto f = std::move(send_);
      send_ = nullptr;
      f(std::move(response));
    }
  }
  bool pending() const noexcept { return static_cast<bool>(send_); }
  /** The connection's strand: post follow-up work here. */
  const net::any_io_executor& executor() const noexcept { return executor_; }

 private:
  std::function<void(Response&&)> send_;
  net::any_io_executor executor_;
};

/** Called on the connection's strand for each complete request. Must not block. */
using Handler = std::function<void(Request&& request, const RequestInfo& info, Reply reply)>;

struct ServerOptions {
  std::string name = "http";  ///< for logs and metrics labels
  std::string address = "0.0.0.0";
  std::uint16_t port = 0;  ///< 0 picks a free port (tests)
  std::size_t body_limit = 1024 * 1024;
  std::size_t header_limit = 16 * 1024;
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(60)};
  std::chrono::milliseconds request_timeout{std::chrono::seconds(30)};
  std::size_t max_connections = 2048;
  /** When set, the listener speaks TLS only (HTTPS). */
  std::shared_ptr<net::ssl::context> tls;
};

/**
 * An HTTP/1.1 server in the shape of Beast's advanced server: an acceptor on
 * the io_context, each connection on its own strand, bounded header and
 * body sizes (413 before the body is read when Content-Length says too much),
 * `Expect: 100-continue`, keep-alive and `Connection: close`, an idle timeout
 * between requests and a timeout for reading/writing each request.
 */
class Server {
 public:
  Server(net::io_context& ioc, ServerOptions options, Handler handler, metrics::Registry& metrics);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /** Binds, listens and starts accepting. */
  boost::system::error_code start();
  /** The bound port (after start). */
  std::uint16_t port() const noexcept { return bound_port_; }
  /**
   * Stops accepting and closes idle connections; connections waiting for a
   * reply are closed once it is written. Thread-safe.
   */
  void stop();
  std::size_t connections() const;

  class SessionBase;
  struct Shared;

 private:
  void do_accept();
  void on_accept(boost::system::error_code ec, tcp::socket socket);

  net::io_context& ioc_;
  ServerOptions options_;
  std::shared_ptr<const Handler> handler_;
  metrics::Registry& metrics_;
  net::strand<net::io_context::executor_type> acceptor_strand_;
  std::shared_ptr<tcp::acceptor> acceptor_;  ///< shared with a close posted by stop()
  std::uint16_t bound_port_ = 0;
  bool listening_ = false;  ///< start() succeeded: the accept loop runs on the strand
  std::uint64_t next_id_ = 1;

  std::shared_ptr<Shared> shared_;
};

/** A plain-text error response with the given status, matching the request's version. */
Response make_response(const Request& req, boost::beast::http::status status, std::string body,
                       std::string_view content_type = "text/plain");

}  // namespace pushgate::http
