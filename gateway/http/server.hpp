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
  /** From inside pushgate (the MQTT API tunnel), not a socket: no credential asked. */
  bool trusted = false;
};

/**
 * A long answer written piece by piece after its header (server-sent
 * events): the body is the bytes written, delimited by the connection's
 * close (the header says `Connection: close`). Thread-safe.
 */
class Stream {
 public:
  virtual ~Stream() = default;
  /**
   * Queues `data` after what was queued before. False when the stream is
   * over, or when more than the stream's bound waits for a client that does
   * not read (the connection is then closed: a slow reader loses its
   * stream, not the gateway its memory).
   */
  virtual bool write(std::string data) = 0;
  /** Ends the stream once what is queued is written. */
  virtual void close() = 0;
  /** False once the client left, close() was called or the server stops. */
  virtual bool open() const = 0;
};

/**
 * Starts a stream: writes `header`, then what the returned Stream is given.
 * `on_closed` runs once, on the connection's strand, when the stream ends
 * for any reason (the client left, close(), a write failed, the server
 * stops).
 */
using StreamStart =
    std::function<std::shared_ptr<Stream>(Response&& header, std::function<void()> on_closed)>;

/**
 * The way to answer one request, later and from any thread: `send` posts the
 * response onto the connection's strand. Call it exactly once. Holding a
 * Reply keeps the connection alive (a pending handler owns its session).
 */
class Reply {
 public:
  Reply() = default;
  explicit Reply(std::function<void(Response&&)> send, net::any_io_executor ex,
                 StreamStart stream = nullptr)
      : send_(std::move(send)), executor_(std::move(ex)), stream_(std::move(stream)) {}
  void send(Response&& response) {
    if (send_) {
      auto f = std::move(send_);
      send_ = nullptr;
      stream_ = nullptr;
      f(std::move(response));
    }
  }
  bool pending() const noexcept { return static_cast<bool>(send_); }
  /** Whether stream() can answer (a socket's reply can; a tunnelled one cannot). */
  bool can_stream() const noexcept { return send_ && stream_; }
  /**
   * Answers with a stream instead of send(): see StreamStart. nullptr (and
   * the reply still pending) when this reply cannot stream.
   */
  std::shared_ptr<Stream> stream(Response&& header, std::function<void()> on_closed) {
    if (!can_stream()) {
      return nullptr;
    }
    auto start = std::move(stream_);
    stream_ = nullptr;
    send_ = nullptr;
    return start(std::move(header), std::move(on_closed));
  }
  /** The connection's strand: post follow-up work here. */
  const net::any_io_executor& executor() const noexcept { return executor_; }

 private:
  std::function<void(Response&&)> send_;
  net::any_io_executor executor_;
  StreamStart stream_;
};

/** Called on the connection's strand for each complete request. Must not block. */
using Handler = std::function<void(Request&& request, const RequestInfo& info, Reply reply)>;

/**
 * A budget of request-body bytes shared by servers (and all their
 * connections): a body is admitted only while the bytes of the bodies being
 * read, parsed and committed stay within the capacity, so memory does not
 * follow the number of clients uploading at once. Thread-safe; a request
 * holds its share from its header until its answer is written.
 */
class BodyBudget {
 public:
  explicit BodyBudget(std::size_t capacity) : capacity_(capacity) {}
  BodyBudget(const BodyBudget&) = delete;
  BodyBudget& operator=(const BodyBudget&) = delete;

  /**
   * Takes `bytes` when they fit; a body larger than the whole capacity is
   * admitted alone (when nothing else is in flight) so it is never starved.
   */
  bool try_acquire(std::size_t bytes);
  /**
   * try_acquire, or else `wake` runs once, on the thread of the next release
   * (post from it, then try again). Atomic: no release is missed between.
   */
  bool acquire_or_wait(std::size_t bytes, std::function<void()> wake);
  /** Gives `bytes` back and wakes the waiters. */
  void release(std::size_t bytes);
  std::size_t capacity() const noexcept { return capacity_; }
  std::size_t in_use() const;

 private:
  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::size_t in_use_ = 0;
  std::vector<std::function<void()>> waiters_;
};

struct ServerOptions {
  std::string name = "http";  ///< for logs and metrics labels
  std::string address = "0.0.0.0";
  std::uint16_t port = 0;  ///< 0 picks a free port (tests)
  std::size_t body_limit = 1024 * 1024;
  std::size_t header_limit = 16 * 1024;
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(60)};
  std::chrono::milliseconds request_timeout{std::chrono::seconds(30)};
  std::size_t max_connections = 2048;
  /** Most simultaneous connections from one IP address (0: no limit). */
  std::size_t max_connections_per_address = 64;
  /**
   * How long a new connection may take to send its first byte; a keep-alive
   * connection waits idle_timeout for the next one. Either way, once a
   * request has begun its header must arrive within request_timeout.
   */
  std::chrono::milliseconds first_request_timeout{std::chrono::seconds(10)};
  /** When set, bodies are admitted through this budget (shared by servers). */
  std::shared_ptr<BodyBudget> body_budget;
  /** How long a body waits for room in the budget before being answered 503. */
  std::chrono::milliseconds body_budget_wait{std::chrono::seconds(2)};
  /** Most bytes a stream (Reply::stream) may have queued for a client that does not read. */
  std::size_t stream_queue_limit = 1024 * 1024;
  /** When set, the listener speaks TLS only (HTTPS). */
  std::shared_ptr<net::ssl::context> tls;
  /**
   * How long a TLS client has from connecting to the end of its handshake:
   * one that never finishes it does not keep its slot.
   */
  std::chrono::milliseconds handshake_timeout{std::chrono::seconds(10)};
  /**
   * When set, accepted connections take turns over these io_contexts (each
   * run by one thread), so a connection's handlers never wake another
   * thread; else they run on the server's own io_context. They must run
   * until stop() has returned.
   */
  std::vector<net::io_context*> connection_contexts;
};

/**
 * An HTTP/1.1 server in the shape of Beast's advanced server: an acceptor on
 * the io_context, each connection on its own strand, bounded header and
 * body sizes (413 before the body is read when Content-Length says too much),
 * `Expect: 100-continue`, keep-alive and `Connection: close`, a timeout for
 * the first byte of a new connection, an idle timeout between requests, a
 * timeout for reading/writing each request (its header included), a limit of
 * connections per client address and an optional shared budget of body bytes
 * in flight (503 once it stays full for body_budget_wait). With `tls` set
 * every connection must finish a TLS handshake within handshake_timeout
 * (failures counted by reason); plain HTTP sent to it is answered 400 in
 * plain text and closed.
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
  std::size_t next_context_ = 0;  ///< acceptor strand only

  std::shared_ptr<Shared> shared_;
};

/** A plain-text error response with the given status, matching the request's version. */
Response make_response(const Request& req, boost::beast::http::status status, std::string body,
                       std::string_view content_type = "text/plain");

}  // namespace pushgate::http
