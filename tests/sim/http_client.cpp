#include "tests/sim/http_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/execution.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <cassert>
#include <optional>
#include <sstream>

namespace pushgate::sim {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using boost::system::error_code;

// ---------------------------------------------------------------------------
// RequestGate

RequestGate::RequestGate(std::size_t limit) : limit_(limit) {}

void RequestGate::acquire(const net::any_io_executor& executor, std::function<void()> granted) {
  {
    std::lock_guard lock(mutex_);
    if (limit_ != 0 && in_flight_ >= limit_) {
      // Tracked work: a terminal parked here must keep run() from returning.
      waiters_.push_back(
          {net::prefer(executor, net::execution::outstanding_work.tracked), std::move(granted)});
      return;
    }
    ++in_flight_;
  }
  net::dispatch(executor, std::move(granted));
}

void RequestGate::release() {
  Waiter next;
  {
    std::lock_guard lock(mutex_);
    if (waiters_.empty()) {
      assert(in_flight_ > 0);
      --in_flight_;
      return;
    }
    // The slot passes straight to the oldest waiter; in_flight_ is unchanged.
    next = std::move(waiters_.front());
    waiters_.pop_front();
  }
  net::post(next.executor, std::move(next.granted));
}

std::size_t RequestGate::in_flight() const {
  std::lock_guard lock(mutex_);
  return in_flight_;
}

// ---------------------------------------------------------------------------
// HttpExchange: one request on one connection, Beast client style.

class HttpExchange : public std::enable_shared_from_this<HttpExchange> {
 public:
  HttpExchange(net::any_io_executor strand, const HttpClientConfig& config,
               std::shared_ptr<std::vector<tcp::endpoint>> endpoints, HttpRequest request,
               ExchangeFault fault, HttpClient::Handler handler)
      : config_(config),
        endpoints_(std::move(endpoints)),
        resolver_(strand),
        stream_(strand),
        fault_(fault),
        handler_(std::move(handler)) {
    req_.method(request.method);
    req_.target(request.target);
    req_.version(11);
    // Header order as the captured terminals send it.
    req_.set(http::field::host, config_.host + ":" + std::to_string(config_.port));
    req_.set(http::field::user_agent, config_.user_agent);
    req_.set(http::field::connection, config_.connection);
    req_.set(http::field::accept, config_.accept);
    if (!request.content_type.empty()) {
      req_.set(http::field::content_type, request.content_type);
    }
    for (auto& [name, value] : request.headers) {
      req_.set(name, value);
    }
    req_.body() = std::move(request.body);
    if (request.method != http::verb::get || !req_.body().empty()) {
      req_.prepare_payload();
    }
  }

  void run() {
    started_ = std::chrono::steady_clock::now();
    deadline_ = started_ + config_.timeout;
    if (endpoints_->empty()) {
      do_resolve();
    } else {
      do_connect();
    }
  }

  void cancel() {
    cancelled_ = true;
    resolver_.cancel();
    error_code ignored;
    stream_.socket().close(ignored);
  }

 private:
  void do_resolve() {
    resolver_.async_resolve(
        config_.host, std::to_string(config_.port),
        beast::bind_front_handler(&HttpExchange::on_resolve, shared_from_this()));
  }

  void on_resolve(error_code ec, tcp::resolver::results_type results) {
    if (ec) {
      return finish(ec);
    }
    for (const auto& entry : results) {
      endpoints_->push_back(entry.endpoint());
    }
    do_connect();
  }

  void do_connect() {
    if (cancelled_) {
      return finish(net::error::operation_aborted);
    }
    stream_.expires_at(deadline_);
    stream_.async_connect(*endpoints_,
                          beast::bind_front_handler(&HttpExchange::on_connect, shared_from_this()));
  }

  void on_connect(error_code ec, const tcp::endpoint&) {
    // A range connect moves on to the next endpoint after our close(), so a
    // cancel is checked here as well as by the error.
    if (ec || cancelled_) {
      return finish(ec ? ec : error_code(net::error::operation_aborted));
    }
    do_write();
  }

  void do_write() {
    stream_.expires_at(deadline_);
    if (fault_ == ExchangeFault::DropMidRequest) {
      std::ostringstream os;
      os << req_;
      raw_ = os.str();
      const std::size_t header_end = raw_.find("\r\n\r\n");
      // Cut inside the body when there is one, else inside the header.
      const std::size_t cut = req_.body().empty() ? std::max<std::size_t>(1, header_end / 2)
                                                  : header_end + 4 + req_.body().size() / 2;
      net::async_write(stream_, net::buffer(raw_.data(), cut),
                       beast::bind_front_handler(&HttpExchange::on_write, shared_from_this()));
      return;
    }
    http::async_write(stream_, req_,
                      beast::bind_front_handler(&HttpExchange::on_write, shared_from_this()));
  }

  void on_write(error_code ec, std::size_t) {
    if (ec) {
      return finish(ec);
    }
    if (fault_ != ExchangeFault::None) {
      // The injected fault: the connection goes away before an answer is read.
      error_code ignored;
      stream_.socket().close(ignored);
      return finish(net::error::connection_aborted);
    }
    do_read();
  }

  void do_read() {
    parser_.emplace();
    parser_->body_limit(config_.body_limit);
    parser_->header_limit(config_.header_limit);
    stream_.expires_at(deadline_);
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&HttpExchange::on_read, shared_from_this()));
  }

  void on_read(error_code ec, std::size_t) {
    if (ec) {
      return finish(ec);
    }
    auto& res = parser_->get();
    result_.status = res.result_int();
    result_.date = std::string(res[http::field::date]);
    result_.body = std::move(res.body());
    error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.socket().close(ignored);
    finish({});
  }

  void finish(error_code ec) {
    if (!handler_) {
      return;
    }
    if (cancelled_ && !ec) {
      ec = net::error::operation_aborted;
    }
    result_.ec = ec;
    result_.elapsed = std::chrono::steady_clock::now() - started_;
    auto handler = std::move(handler_);
    handler_ = nullptr;
    handler(std::move(result_));
  }

  const HttpClientConfig config_;
  std::shared_ptr<std::vector<tcp::endpoint>> endpoints_;
  tcp::resolver resolver_;
  beast::tcp_stream stream_;
  http::request<http::string_body> req_;
  std::string raw_;
  beast::flat_buffer buffer_;
  std::optional<http::response_parser<http::string_body>> parser_;
  ExchangeFault fault_;
  HttpClient::Handler handler_;
  HttpResult result_;
  std::chrono::steady_clock::time_point started_;
  std::chrono::steady_clock::time_point deadline_;
  bool cancelled_ = false;
};

// ---------------------------------------------------------------------------
// HttpClient

HttpClient::HttpClient(net::any_io_executor strand, HttpClientConfig config)
    : strand_(std::move(strand)),
      config_(std::move(config)),
      endpoints_(std::make_shared<std::vector<tcp::endpoint>>()) {
  error_code ec;
  const auto address = net::ip::make_address(config_.host, ec);
  if (!ec) {
    endpoints_->emplace_back(address, config_.port);
  }
}

HttpClient::~HttpClient() {
  cancel();
}

void HttpClient::async_request(HttpRequest request, ExchangeFault fault, Handler handler) {
  assert(!busy_);
  busy_ = true;
  // `this` stays valid: the owning terminal outlives the exchange because
  // `handler` holds it.
  auto done = [this, handler = std::move(handler)](HttpResult result) {
    busy_ = false;
    current_.reset();
    handler(std::move(result));
  };
  auto exchange = std::make_shared<HttpExchange>(strand_, config_, endpoints_, std::move(request),
                                                 fault, std::move(done));
  current_ = exchange;
  exchange->run();
}

void HttpClient::cancel() {
  if (auto exchange = current_.lock()) {
    exchange->cancel();
  }
}

}  // namespace pushgate::sim
