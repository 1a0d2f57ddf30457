#include "gateway/http/server.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <deque>
#include <future>
#include <optional>
#include <sstream>
#include <unordered_map>
#include <utility>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "gateway/logging.hpp"

namespace pushgate::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

// What the listener and its sessions share: the registry of live sessions
// (weak pointers, so the registry never keeps one alive) and the counters.
struct Server::Shared {
  ServerOptions options;
  std::mutex mutex;
  std::unordered_map<std::uint64_t, std::weak_ptr<Server::SessionBase>> sessions;
  std::unordered_map<std::string, std::size_t> per_address;  // open connections by client IP
  bool stopping = false;
  // The per-address refusal warning is rate-limited: one line per interval,
  // with the count of refusals it stands for.
  std::chrono::steady_clock::time_point last_address_warning{};
  std::size_t address_refusals_unlogged = 0;
  std::chrono::steady_clock::time_point last_budget_warning{};
  std::size_t budget_refusals_unlogged = 0;
  metrics::Counter* refused = nullptr;
  metrics::Counter* refused_per_address = nullptr;
  metrics::Counter* budget_waits = nullptr;
  metrics::Counter* budget_refused = nullptr;
  metrics::Counter* too_large = nullptr;
  metrics::Counter* requests = nullptr;
  metrics::Counter* bad_requests = nullptr;
  metrics::Counter* handshake_timeouts = nullptr;
  metrics::Counter* handshake_errors = nullptr;
  metrics::Counter* plain_on_tls = nullptr;
  metrics::Gauge* open = nullptr;
};

class Server::SessionBase {
 public:
  virtual ~SessionBase() = default;
  /** Closes the connection when idle, or after the reply in flight. */
  virtual void shutdown() = 0;
};

bool BodyBudget::try_acquire(std::size_t bytes) {
  std::lock_guard lock(mutex_);
  if (in_use_ != 0 && in_use_ + bytes > capacity_) {
    return false;
  }
  in_use_ += bytes;
  return true;
}

bool BodyBudget::acquire_or_wait(std::size_t bytes, std::function<void()> wake) {
  std::lock_guard lock(mutex_);
  if (in_use_ != 0 && in_use_ + bytes > capacity_) {
    waiters_.push_back(std::move(wake));
    return false;
  }
  in_use_ += bytes;
  return true;
}

void BodyBudget::release(std::size_t bytes) {
  std::vector<std::function<void()>> wake;
  {
    std::lock_guard lock(mutex_);
    in_use_ -= std::min(bytes, in_use_);
    wake.swap(waiters_);
  }
  for (auto& w : wake) {
    w();
  }
}

std::size_t BodyBudget::in_use() const {
  std::lock_guard lock(mutex_);
  return in_use_;
}

Response make_response(const Request& req, bhttp::status status, std::string body,
                       std::string_view content_type) {
  Response res{status, req.version()};
  res.set(bhttp::field::content_type, content_type);
  res.keep_alive(req.keep_alive());
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

namespace {

constexpr std::string_view kBusyBody = "ERROR: server busy, retry later\n";
constexpr std::chrono::seconds kWarningInterval{10};

// What a stream (Reply::stream) and its connection share.
struct StreamShared {
  std::atomic<bool> open{true};
  std::atomic<std::size_t> queued{0};  // bytes queued, not yet written
};

// The application's side of a stream: writes are posted to the connection's
// strand. Holds the connection, which holds only the shared counters.
template <class S>
class SessionStream final : public Stream {
 public:
  SessionStream(std::shared_ptr<S> session, std::shared_ptr<StreamShared> shared, std::size_t limit)
      : session_(std::move(session)), shared_(std::move(shared)), limit_(limit) {}

  bool write(std::string data) override {
    if (!shared_->open.load()) {
      return false;
    }
    const auto n = data.size();
    if (shared_->queued.fetch_add(n) + n > limit_) {
      shared_->queued.fetch_sub(n);
      logger("http")->warn("a stream's client does not read ({} bytes waiting): stream closed",
                           shared_->queued.load());
      net::post(session_->stream().get_executor(), [s = session_] { s->end_stream(); });
      shared_->open = false;
      return false;
    }
    net::post(session_->stream().get_executor(), [s = session_, data = std::move(data)]() mutable {
      s->stream_push(std::move(data));
    });
    return true;
  }
  void close() override {
    net::post(session_->stream().get_executor(), [s = session_] { s->stream_close(); });
  }
  bool open() const override { return shared_->open.load(); }

 private:
  std::shared_ptr<S> session_;
  std::shared_ptr<StreamShared> shared_;
  std::size_t limit_;
};

// One connection, for a plain or a TLS stream (Beast's flex-server shape).
// Every completion handler holds shared_from_this(): pending handlers own
// the session; the Reply handed to the application holds it too.
template <class Derived>
class Session : public Server::SessionBase {
 public:
  Session(std::shared_ptr<const Handler> handler, std::shared_ptr<Server::Shared> shared,
          RequestInfo info)
      : handler_(std::move(handler)),
        shared_(std::move(shared)),
        options_(shared_->options),
        info_(std::move(info)) {}

  ~Session() override {
    release_budget();
    std::lock_guard lock(shared_->mutex);
    shared_->sessions.erase(info_.connection_id);
    auto it = shared_->per_address.find(info_.remote.address().to_string());
    if (it != shared_->per_address.end() && --it->second == 0) {
      shared_->per_address.erase(it);
    }
    shared_->open->add(-1);
  }

  void shutdown() override {
    net::dispatch(derived().stream().get_executor(), [self = derived().shared_from_this()] {
      self->closing_ = true;
      if (self->streaming_) {
        self->end_stream();
      } else if (!self->busy_) {
        self->derived().do_eof();
      }
    });
  }

 protected:
  Derived& derived() { return static_cast<Derived&>(*this); }

  beast::tcp_stream& tcp() { return beast::get_lowest_layer(derived().stream()); }

 public:
  void do_read() {
    if (closing_) {
      derived().do_eof();
      return;
    }
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(options_.header_limit));
    parser_->body_limit(options_.body_limit);
    if (buffer_.size() > 0) {
      // Pipelined bytes are already here: the next request has begun.
      do_read_header();
      return;
    }
    // Waiting for a request to begin: a new connection gets a short time to
    // say anything (a socket opened and left silent holds a slot), a
    // keep-alive one may idle between requests.
    tcp().expires_after(first_request_ ? options_.first_request_timeout : options_.idle_timeout);
    derived().stream().async_read_some(
        buffer_.prepare(kFirstRead),
        [self = derived().shared_from_this()](beast::error_code ec, std::size_t n) {
          self->on_first_bytes(ec, n);
        });
  }

 private:
  static constexpr std::size_t kFirstRead = 1024;

  void on_first_bytes(beast::error_code ec, std::size_t n) {
    if (ec == net::error::eof) {
      derived().do_eof();
      return;
    }
    if (ec) {
      // Idle or first-byte timeout, reset, or shutdown: nothing to answer.
      close_now();
      return;
    }
    buffer_.commit(n);
    do_read_header();
  }

  void do_read_header() {
    first_request_ = false;
    // Once a request has begun, its header gets request_timeout, like its body.
    tcp().expires_after(options_.request_timeout);
    bhttp::async_read_header(derived().stream(), buffer_, *parser_,
                             [self = derived().shared_from_this()](
                                 beast::error_code ec, std::size_t) { self->on_read_header(ec); });
  }

  void on_read_header(beast::error_code ec) {
    if (ec == bhttp::error::end_of_stream || ec == net::error::eof) {
      derived().do_eof();
      return;
    }
    if (ec == bhttp::error::header_limit) {
      shared_->bad_requests->inc();
      reply_error(bhttp::status::request_header_fields_too_large, "header too large\n");
      return;
    }
    // Beast (1.74) compares Content-Length with body_limit while it parses
    // the header and fails async_read_header with body_limit, so an oversized
    // declared body lands here, not at the check below: answer 413 now,
    // without reading the body, instead of dropping the connection unanswered.
    if (ec == bhttp::error::body_limit) {
      shared_->too_large->inc();
      // The header is not marked done here (Beast asserts on content_length()
      // then), but the field it rejected is parsed: name the declared size.
      std::string declared(parser_->get()[bhttp::field::content_length]);
      reply_error(bhttp::status::payload_too_large,
                  "body of " + (declared.empty() ? std::string("unknown") : declared) +
                      " bytes exceeds the limit of " + std::to_string(options_.body_limit) + "\n");
      return;
    }
    if (ec) {
      // Timeouts, resets and garbage: nothing to answer on a broken stream.
      if (ec != beast::error::timeout && ec != net::error::operation_aborted) {
        shared_->bad_requests->inc();
      }
      close_now();
      return;
    }
    auto& req = parser_->get();
    // Refuse an oversized body before reading it (limits before reading).
    if (auto len = parser_->content_length(); len && *len > options_.body_limit) {
      shared_->too_large->inc();
      reply_error(bhttp::status::payload_too_large, "body of " + std::to_string(*len) +
                                                        " bytes exceeds the limit of " +
                                                        std::to_string(options_.body_limit) + "\n");
      return;
    }
    keep_alive_ = req.keep_alive();
    version_ = req.version();
    if (options_.body_budget) {
      // A body is admitted only with room in the shared budget: the bytes
      // being read, parsed and committed stay bounded whatever the number of
      // clients uploading at once. Chunked bodies are charged the limit.
      if (auto len = parser_->content_length()) {
        budget_want_ = static_cast<std::size_t>(*len);
      } else {
        budget_want_ = parser_->chunked() ? options_.body_limit : 0;
      }
      if (budget_want_ > 0 && !acquire_budget()) {
        shared_->budget_waits->inc();
        budget_waiting_ = true;
        budget_timer_.emplace(derived().stream().get_executor());
        budget_timer_->expires_after(options_.body_budget_wait);
        budget_timer_->async_wait([self = derived().shared_from_this()](beast::error_code tec) {
          if (tec || !self->budget_waiting_) {
            return;
          }
          self->budget_waiting_ = false;
          self->refuse_busy();
        });
        return;
      }
    }
    continue_request();
  }

  // Takes the body's share of the budget, or registers to be woken on the
  // next release (then tries again on this strand).
  bool acquire_budget() {
    bool ok =
        options_.body_budget->acquire_or_wait(budget_want_, [self = derived().shared_from_this()] {
          net::post(self->stream().get_executor(), [self] { self->on_budget_wake(); });
        });
    if (ok) {
      budget_held_ = budget_want_;
    }
    return ok;
  }

  void on_budget_wake() {
    if (!budget_waiting_) {
      return;
    }
    if (acquire_budget()) {
      budget_waiting_ = false;
      budget_timer_->cancel();
      continue_request();
    }
  }

  void release_budget() {
    if (budget_held_ > 0) {
      options_.body_budget->release(budget_held_);
      budget_held_ = 0;
    }
  }

  // The budget stayed full: answer 503 so the client sends the body again
  // later. The body is read and discarded first (in small pieces, nothing
  // kept) so the client reads the answer instead of a reset; a chunked body
  // or one announced with 100-continue is not read and the connection closes.
  void refuse_busy() {
    shared_->budget_refused->inc();
    warn_budget_refusal();
    auto& req = parser_->get();
    auto len = parser_->content_length();
    bool expect_continue = beast::iequals(req[bhttp::field::expect], "100-continue");
    if (!len || expect_continue) {
      reply_error(bhttp::status::service_unavailable, std::string(kBusyBody));
      return;
    }
    auto in_buffer = std::min<std::size_t>(buffer_.size(), static_cast<std::size_t>(*len));
    buffer_.consume(in_buffer);
    drain_left_ = static_cast<std::size_t>(*len) - in_buffer;
    do_drain();
  }

  void do_drain() {
    if (drain_left_ == 0) {
      Response res{bhttp::status::service_unavailable, version_};
      res.set(bhttp::field::content_type, "text/plain");
      res.set(bhttp::field::retry_after, "1");
      res.body() = std::string(kBusyBody);
      res.keep_alive(keep_alive_);
      res.prepare_payload();
      busy_ = true;
      do_write(std::move(res));
      return;
    }
    tcp().expires_after(options_.request_timeout);
    derived().stream().async_read_some(
        buffer_.prepare(std::min<std::size_t>(drain_left_, 16 * 1024)),
        [self = derived().shared_from_this()](beast::error_code ec, std::size_t n) {
          if (ec) {
            self->close_now();
            return;
          }
          self->buffer_.commit(n);
          self->buffer_.consume(n);
          self->drain_left_ -= n;
          self->do_drain();
        });
  }

  void warn_budget_refusal() {
    std::size_t count = 0;
    {
      std::lock_guard lock(shared_->mutex);
      ++shared_->budget_refusals_unlogged;
      auto now = std::chrono::steady_clock::now();
      if (now - shared_->last_budget_warning < kWarningInterval) {
        return;
      }
      shared_->last_budget_warning = now;
      count = std::exchange(shared_->budget_refusals_unlogged, 0);
    }
    logger("http")->warn(
        "[{}] {} request(s) answered 503: the {} bytes of bodies in flight are taken "
        "(last from {})",
        options_.name, count, options_.body_budget->capacity(), info_.remote.address().to_string());
  }

  void continue_request() {
    auto& req = parser_->get();
    tcp().expires_after(options_.request_timeout);
    if (beast::iequals(req[bhttp::field::expect], "100-continue")) {
      continue_res_.emplace(bhttp::status::continue_, req.version());
      bhttp::async_write(derived().stream(), *continue_res_,
                         [self = derived().shared_from_this()](beast::error_code wec, std::size_t) {
                           if (wec) {
                             self->close_now();
                             return;
                           }
                           self->do_read_body();
                         });
      return;
    }
    do_read_body();
  }

  void do_read_body() {
    bhttp::async_read(derived().stream(), buffer_, *parser_,
                      [self = derived().shared_from_this()](beast::error_code ec, std::size_t) {
                        self->on_read_body(ec);
                      });
  }

  void on_read_body(beast::error_code ec) {
    if (ec == bhttp::error::body_limit) {
      shared_->too_large->inc();
      reply_error(bhttp::status::payload_too_large,
                  "body exceeds the limit of " + std::to_string(options_.body_limit) + "\n");
      return;
    }
    if (ec) {
      if (ec != beast::error::timeout && ec != net::error::operation_aborted) {
        shared_->bad_requests->inc();
      }
      close_now();
      return;
    }
    shared_->requests->inc();
    Request req = parser_->release();
    keep_alive_ = req.keep_alive();
    version_ = req.version();
    busy_ = true;
    // No timer runs while the application works (e.g. waits for a commit):
    // it answers through Reply, and its own deadline bounds the wait.
    tcp().expires_never();
    auto self = derived().shared_from_this();
    // Answered on the strand (a poll with nothing queued, from inside the
    // handler): written at once; from elsewhere (after a commit): posted.
    // One scheduler round trip less per answered request.
    Reply reply(
        [self](Response&& res) {
          net::dispatch(self->stream().get_executor(),
                        [self, res = std::move(res)]() mutable { self->do_write(std::move(res)); });
        },
        derived().stream().get_executor(),
        [self](Response&& header, std::function<void()> on_closed) -> std::shared_ptr<Stream> {
          return self->start_stream(std::move(header), std::move(on_closed));
        });
    (*handler_)(std::move(req), info_, std::move(reply));
  }

 public:
  // Streams (Reply::stream): the header, then the queued pieces, one write
  // at a time; a read stays pending to notice the client leaving.
  std::shared_ptr<Stream> start_stream(Response&& header, std::function<void()> on_closed) {
    auto counters = std::make_shared<StreamShared>();
    header.keep_alive(false);
    header.erase(bhttp::field::content_length);
    std::ostringstream head;
    head << header.base();
    auto self = derived().shared_from_this();
    auto stream =
        std::make_shared<SessionStream<Derived>>(self, counters, options_.stream_queue_limit);
    net::dispatch(derived().stream().get_executor(),
                  [self, counters, head = head.str(), on_closed = std::move(on_closed)]() mutable {
                    self->streaming_ = true;
                    self->stream_shared_ = counters;
                    self->on_stream_closed_ = std::move(on_closed);
                    if (self->closing_) {
                      self->end_stream();
                      return;
                    }
                    self->buffer_.consume(self->buffer_.size());
                    self->tcp().expires_never();
                    self->stream_read();
                    counters->queued += head.size();
                    self->stream_push(std::move(head));
                  });
    return stream;
  }

  void stream_push(std::string data) {
    if (stream_ended_) {
      return;
    }
    out_.push_back(std::move(data));
    if (!stream_writing_) {
      stream_write_next();
    }
  }

  void stream_close() {
    stream_close_when_flushed_ = true;
    if (!stream_writing_ && out_.empty()) {
      end_stream();
    }
  }

  void end_stream() {
    if (stream_ended_) {
      return;
    }
    stream_ended_ = true;
    if (stream_shared_) {
      stream_shared_->open = false;
    }
    close_now();
    if (auto f = std::exchange(on_stream_closed_, nullptr)) {
      f();
    }
  }

 private:
  void stream_write_next() {
    if (stream_ended_) {
      return;
    }
    if (out_.empty()) {
      if (stream_close_when_flushed_) {
        end_stream();
      }
      return;
    }
    stream_writing_ = true;
    // A client that stops reading is dropped after request_timeout.
    tcp().expires_after(options_.request_timeout);
    net::async_write(derived().stream(), net::buffer(out_.front()),
                     [self = derived().shared_from_this()](beast::error_code ec, std::size_t) {
                       self->stream_writing_ = false;
                       if (!self->out_.empty()) {
                         if (self->stream_shared_) {
                           self->stream_shared_->queued -= self->out_.front().size();
                         }
                         self->out_.pop_front();
                       }
                       if (ec) {
                         self->end_stream();
                         return;
                       }
                       self->tcp().expires_never();
                       self->stream_write_next();
                     });
  }

  void stream_read() {
    derived().stream().async_read_some(
        buffer_.prepare(512),
        [self = derived().shared_from_this()](beast::error_code ec, std::size_t n) {
          if (ec) {
            self->end_stream();
            return;
          }
          // A stream's client has nothing more to say: what it sends is dropped.
          self->buffer_.commit(n);
          self->buffer_.consume(self->buffer_.size());
          self->stream_read();
        });
  }

  void reply_error(bhttp::status status, std::string body) {
    Response res{status, version_};
    res.set(bhttp::field::content_type, "text/plain");
    res.body() = std::move(body);
    res.keep_alive(false);  // the rest of the stream is unusable
    res.prepare_payload();
    busy_ = true;
    do_write(std::move(res));
  }

  void do_write(Response&& res) {
    if (closing_) {
      res.keep_alive(false);
    }
    if (!keep_alive_) {
      res.keep_alive(false);
    }
    res_.emplace(std::move(res));
    tcp().expires_after(options_.request_timeout);
    bhttp::async_write(derived().stream(), *res_,
                       [self = derived().shared_from_this()](beast::error_code ec, std::size_t) {
                         self->on_write(ec);
                       });
  }

  void on_write(beast::error_code ec) {
    busy_ = false;
    // The answer is out: the request's body and what was made of it are gone.
    release_budget();
    bool close = !res_->keep_alive();
    res_.reset();
    if (ec) {
      close_now();
      return;
    }
    if (close || closing_) {
      derived().do_eof();
      return;
    }
    do_read();
  }

 protected:
  void close_now() {
    beast::error_code ignored;
    tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
    tcp().close();
  }

  beast::flat_buffer buffer_;

 protected:
  std::shared_ptr<const Handler> handler_;
  std::shared_ptr<Server::Shared> shared_;
  const ServerOptions& options_;  // owned by shared_, which this session keeps alive
  RequestInfo info_;

 private:
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::optional<bhttp::response<bhttp::empty_body>> continue_res_;
  std::optional<Response> res_;
  std::optional<net::steady_timer> budget_timer_;
  std::size_t budget_want_ = 0;
  std::size_t budget_held_ = 0;
  std::size_t drain_left_ = 0;
  bool budget_waiting_ = false;
  bool first_request_ = true;
  bool keep_alive_ = true;
  unsigned version_ = 11;
  bool busy_ = false;
  bool closing_ = false;
  // Streams.
  bool streaming_ = false;
  bool stream_writing_ = false;
  bool stream_ended_ = false;
  bool stream_close_when_flushed_ = false;
  std::deque<std::string> out_;
  std::shared_ptr<StreamShared> stream_shared_;
  std::function<void()> on_stream_closed_;
};

class PlainSession final : public Session<PlainSession>,
                           public std::enable_shared_from_this<PlainSession> {
 public:
  PlainSession(tcp::socket&& socket, std::shared_ptr<const Handler> handler,
               std::shared_ptr<Server::Shared> shared, RequestInfo info)
      : Session(std::move(handler), std::move(shared), std::move(info)),
        stream_(std::move(socket)) {}

  beast::tcp_stream& stream() { return stream_; }
  void run() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->do_read(); });
  }
  void do_eof() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.close();
  }

 private:
  beast::tcp_stream stream_;
};

class SslSession final : public Session<SslSession>,
                         public std::enable_shared_from_this<SslSession> {
 public:
  SslSession(tcp::socket&& socket, net::ssl::context& ctx, std::shared_ptr<const Handler> handler,
             std::shared_ptr<Server::Shared> shared, RequestInfo info)
      : Session(std::move(handler), std::move(shared), std::move(info)),
        stream_(std::move(socket), ctx) {}

  beast::ssl_stream<beast::tcp_stream>& stream() { return stream_; }
  void run() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      // One deadline from the connect to the end of the handshake: a client
      // that connects and never finishes it does not keep its slot.
      self->tcp().expires_after(self->options_.handshake_timeout);
      // The first bytes tell a TLS ClientHello (a handshake record, 0x16)
      // from plain HTTP sent to the HTTPS port by mistake, which gets a
      // plain-text answer saying so instead of a silent close.
      self->tcp().async_read_some(
          self->buffer_.prepare(kPeek),
          [self](beast::error_code ec, std::size_t n) { self->on_peek(ec, n); });
    });
  }
  void do_eof() {
    tcp().expires_after(std::chrono::seconds(5));
    stream_.async_shutdown([self = shared_from_this()](beast::error_code) { self->close_now(); });
  }

 private:
  static constexpr std::size_t kPeek = 512;
  static constexpr unsigned char kHandshakeRecord = 0x16;

  void on_peek(beast::error_code ec, std::size_t n) {
    if (ec) {
      handshake_failed(ec);
      return;
    }
    buffer_.commit(n);
    auto first = static_cast<const unsigned char*>(buffer_.data().data())[0];
    if (first != kHandshakeRecord && std::isupper(first) != 0) {
      shared_->plain_on_tls->inc();
      logger("http")->debug("[{}] plain HTTP from {} on the HTTPS port", options_.name,
                            info_.remote.address().to_string());
      plain_.emplace(bhttp::status::bad_request, 11);
      plain_->set(bhttp::field::content_type, "text/plain");
      plain_->body() = "ERROR: this port speaks HTTPS only; use https://\n";
      plain_->keep_alive(false);
      plain_->prepare_payload();
      bhttp::async_write(
          tcp(), *plain_,
          [self = shared_from_this()](beast::error_code, std::size_t) { self->close_now(); });
      return;
    }
    stream_.async_handshake(net::ssl::stream_base::server, buffer_.data(),
                            [self = shared_from_this()](beast::error_code hec, std::size_t) {
                              if (hec) {
                                self->handshake_failed(hec);
                                return;
                              }
                              // The engine took every peeked byte as input.
                              self->buffer_.consume(self->buffer_.size());
                              self->do_read();
                            });
  }

  void handshake_failed(beast::error_code ec) {
    if (ec == beast::error::timeout) {
      shared_->handshake_timeouts->inc();
    } else if (ec != net::error::operation_aborted && ec != net::error::eof) {
      shared_->handshake_errors->inc();
    }
    logger("http")->debug("[{}] TLS handshake with {} failed: {}", options_.name,
                          info_.remote.address().to_string(), ec.message());
    close_now();
  }

  beast::ssl_stream<beast::tcp_stream> stream_;
  std::optional<bhttp::response<bhttp::string_body>> plain_;
};

}  // namespace

Server::Server(net::io_context& ioc, ServerOptions options, Handler handler,
               metrics::Registry& metrics)
    : ioc_(ioc),
      options_(std::move(options)),
      handler_(std::make_shared<const Handler>(std::move(handler))),
      metrics_(metrics),
      acceptor_strand_(net::make_strand(ioc)),
      acceptor_(std::make_shared<tcp::acceptor>(acceptor_strand_)),
      shared_(std::make_shared<Shared>()) {
  shared_->options = options_;
  metrics::Labels l{{"server", options_.name}};
  shared_->refused = &metrics.counter("pushgate_http_connections_refused_total",
                                      "Connections refused at the connection limit", l);
  shared_->too_large = &metrics.counter("pushgate_http_body_too_large_total",
                                        "Requests answered 413 for a body over the limit", l);
  shared_->requests = &metrics.counter("pushgate_http_requests_total", "Requests read", l);
  shared_->bad_requests = &metrics.counter("pushgate_http_bad_requests_total",
                                           "Connections closed on malformed HTTP", l);
  shared_->open = &metrics.gauge("pushgate_http_connections", "Open connections", l);
  if (options_.tls) {
    auto failures = [&](const char* reason) {
      auto labels = l;
      labels.emplace_back("reason", reason);
      return &metrics.counter("pushgate_http_tls_handshake_failures_total",
                              "TLS handshakes that failed, by reason (timeout: not finished "
                              "within the handshake timeout; error: refused by TLS)",
                              labels);
    };
    shared_->handshake_timeouts = failures("timeout");
    shared_->handshake_errors = failures("error");
    shared_->plain_on_tls = &metrics.counter(
        "pushgate_http_plain_on_tls_total",
        "Plain HTTP requests sent to an HTTPS listener (answered 400 and closed)", l);
  }
  shared_->refused_per_address =
      &metrics.counter("pushgate_http_connections_refused_per_address_total",
                       "Connections refused because their address had too many open", l);
  shared_->budget_waits =
      &metrics.counter("pushgate_http_body_budget_waits_total",
                       "Requests whose body waited for room in the in-flight body budget", l);
  shared_->budget_refused =
      &metrics.counter("pushgate_http_body_budget_refused_total",
                       "Requests answered 503 because the in-flight body budget stayed full", l);
}

Server::~Server() {
  stop();
}

boost::system::error_code Server::start() {
  boost::system::error_code ec;
  auto address = net::ip::make_address(options_.address, ec);
  if (ec) {
    return ec;
  }
  tcp::endpoint endpoint(address, options_.port);
  // A failed start leaves no socket open and nothing queued on the strand,
  // so stop() (and the destructor) has nothing to wait for.
  auto fail = [this](boost::system::error_code e) {
    boost::system::error_code ignored;
    acceptor_->close(ignored);
    return e;
  };
  acceptor_->open(endpoint.protocol(), ec);
  if (ec) {
    return fail(ec);
  }
  acceptor_->set_option(net::socket_base::reuse_address(true), ec);
  acceptor_->bind(endpoint, ec);
  if (ec) {
    return fail(ec);
  }
  acceptor_->listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    return fail(ec);
  }
  bound_port_ = acceptor_->local_endpoint().port();
  listening_ = true;
  net::dispatch(acceptor_strand_, [this] { do_accept(); });
  return {};
}

void Server::do_accept() {
  auto& contexts = options_.connection_contexts;
  net::io_context& ctx = contexts.empty() ? ioc_ : *contexts[next_context_++ % contexts.size()];
  acceptor_->async_accept(net::make_strand(ctx),
                          [this](boost::system::error_code ec, tcp::socket socket) {
                            on_accept(ec, std::move(socket));
                          });
}

void Server::on_accept(boost::system::error_code ec, tcp::socket socket) {
  if (ec == net::error::operation_aborted || !acceptor_->is_open()) {
    return;
  }
  if (!ec) {
    RequestInfo info;
    boost::system::error_code rec;
    info.remote = socket.remote_endpoint(rec);
    info.tls = options_.tls != nullptr;
    info.connection_id = next_id_++;
    std::shared_ptr<SessionBase> session;
    {
      std::lock_guard lock(shared_->mutex);
      if (shared_->stopping || shared_->sessions.size() >= options_.max_connections) {
        shared_->refused->inc();
        socket.close(rec);
        do_accept();
        return;
      }
      // One client must not take every connection (idle sockets opened in
      // bulk): past its share, its new connections are closed at once.
      auto& open_from = shared_->per_address[info.remote.address().to_string()];
      if (options_.max_connections_per_address != 0 &&
          open_from >= options_.max_connections_per_address) {
        shared_->refused_per_address->inc();
        ++shared_->address_refusals_unlogged;
        auto now = std::chrono::steady_clock::now();
        if (now - shared_->last_address_warning >= kWarningInterval) {
          shared_->last_address_warning = now;
          logger("http")->warn(
              "[{}] refused {} connection(s) from {}: it already has {} open (limit {})",
              options_.name, std::exchange(shared_->address_refusals_unlogged, 0),
              info.remote.address().to_string(), open_from, options_.max_connections_per_address);
        }
        socket.close(rec);
        do_accept();
        return;
      }
      ++open_from;
    }
    if (options_.tls) {
      auto s =
          std::make_shared<SslSession>(std::move(socket), *options_.tls, handler_, shared_, info);
      session = s;
      s->run();
    } else {
      auto s = std::make_shared<PlainSession>(std::move(socket), handler_, shared_, info);
      session = s;
      s->run();
    }
    std::lock_guard lock(shared_->mutex);
    shared_->sessions.emplace(info.connection_id, session);
    shared_->open->add(1);
  } else {
    logger("http")->warn("[{}] accept failed: {}", options_.name, ec.message());
  }
  do_accept();
}

void Server::stop() {
  std::vector<std::shared_ptr<SessionBase>> live;
  {
    std::lock_guard lock(shared_->mutex);
    if (shared_->stopping) {
      return;
    }
    shared_->stopping = true;
    for (auto& [id, weak] : shared_->sessions) {
      if (auto s = weak.lock()) {
        live.push_back(std::move(s));
      }
    }
  }
  // The acceptor lives on its strand; close it there and wait, unless it
  // never listened (a failed start: nothing runs on the strand), the
  // io_context is not running, or we already are on that strand.
  if (!listening_ || ioc_.stopped() || acceptor_strand_.running_in_this_thread()) {
    boost::system::error_code ec;
    acceptor_->close(ec);
  } else {
    // The promise and the acceptor are shared with the posted close: should
    // the wait time out and the server be destroyed, the close still runs
    // later on live objects (a promise on this stack was written after its
    // destruction: std::future_error, abort).
    auto closed = std::make_shared<std::promise<void>>();
    auto done = closed->get_future();
    net::post(acceptor_strand_, [acceptor = acceptor_, closed] {
      boost::system::error_code ec;
      acceptor->close(ec);
      closed->set_value();
    });
    if (done.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
      logger("http")->warn("[{}] acceptor did not close in time", options_.name);
    }
  }
  for (auto& s : live) {
    s->shutdown();
  }
}

std::size_t Server::connections() const {
  std::lock_guard lock(shared_->mutex);
  return shared_->sessions.size();
}

}  // namespace pushgate::http
