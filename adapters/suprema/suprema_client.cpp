#include "adapters/suprema/suprema_client.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

namespace pushgate::adapters::suprema {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace websocket = beast::websocket;
using boost::system::error_code;
using tcp = net::ip::tcp;

namespace {

bool is_ip_literal(const std::string& host) {
  error_code ec;
  net::ip::make_address(host, ec);
  return !ec;
}

bhttp::verb verb_of(const std::string& method) {
  if (method == "GET") {
    return bhttp::verb::get;
  }
  if (method == "PUT") {
    return bhttp::verb::put;
  }
  if (method == "DELETE") {
    return bhttp::verb::delete_;
  }
  return bhttp::verb::post;
}

template <class Stream>
net::awaitable<void> transact(Stream& s, beast::tcp_stream& low,
                              const bhttp::request<bhttp::string_body>& req,
                              std::chrono::seconds timeout, std::size_t body_limit, HttpReply& r) {
  auto use = net::redirect_error(net::use_awaitable, r.ec);
  low.expires_after(timeout);
  co_await bhttp::async_write(s, req, use);
  if (r.ec) {
    co_return;
  }
  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.header_limit(16 * 1024);
  parser.body_limit(body_limit);
  co_await bhttp::async_read(s, buffer, parser, use);
  if (r.ec == bhttp::error::end_of_stream && parser.is_header_done()) {
    r.ec = {};
  }
  if (parser.is_header_done()) {
    const auto& res = parser.get();
    r.status = res.result_int();
    r.session = std::string(res["bs-session-id"]);
    r.body = res.body();
  }
}

template <class Ws>
void configure(Ws& ws, std::chrono::seconds timeout, std::size_t max_frame) {
  websocket::stream_base::timeout t{};
  t.handshake_timeout = timeout;
  t.idle_timeout = std::chrono::seconds(30);
  t.keep_alive_pings = true;  // a dead link ends the feed within a minute
  ws.set_option(t);
  ws.read_message_max(max_frame + 64 * 1024);  // feed_read() stops at max_frame itself
  ws.set_option(websocket::stream_base::decorator(
      [](websocket::request_type& req) { req.set(bhttp::field::user_agent, "pushgate"); }));
}

}  // namespace

struct ServerClient::Feed {
  std::unique_ptr<websocket::stream<beast::ssl_stream<beast::tcp_stream>>> wss;
  std::unique_ptr<websocket::stream<beast::tcp_stream>> ws;
  beast::flat_buffer buffer;

  beast::tcp_stream& lowest() {
    return wss ? beast::get_lowest_layer(*wss) : beast::get_lowest_layer(*ws);
  }
};

ServerClient::ServerClient(net::any_io_executor executor, const ServerConfig& server,
                           std::chrono::seconds timeout, std::size_t max_frame_bytes,
                           std::shared_ptr<net::ssl::context> tls)
    : executor_(std::move(executor)),
      server_(server),
      timeout_(timeout),
      max_frame_bytes_(max_frame_bytes),
      tls_(std::move(tls)) {}

ServerClient::~ServerClient() = default;

void ServerClient::cancel() {
  for (auto* s : open_) {
    error_code ignored;
    s->socket().shutdown(tcp::socket::shutdown_both, ignored);
    s->cancel();
  }
  feed_close();
}

void ServerClient::feed_close() {
  if (feed_) {
    auto& low = feed_->lowest();
    error_code ignored;
    low.socket().shutdown(tcp::socket::shutdown_both, ignored);
    low.cancel();
    low.socket().close(ignored);
  }
}

net::awaitable<HttpReply> ServerClient::call(const ApiRequest& request, const std::string& session,
                                             std::size_t body_limit) {
  HttpReply r;
  auto use = net::redirect_error(net::use_awaitable, r.ec);
  tcp::resolver resolver(executor_);
  const std::string port = std::to_string(server_.port);
  auto endpoints = co_await resolver.async_resolve(server_.host, port, use);
  if (r.ec) {
    co_return r;
  }
  beast::tcp_stream tcp_stream(executor_);
  tcp_stream.expires_after(timeout_);
  co_await tcp_stream.async_connect(endpoints, use);
  if (r.ec) {
    co_return r;
  }
  bhttp::request<bhttp::string_body> req{verb_of(request.method), request.target, 11};
  req.set(bhttp::field::host, server_.host);
  req.set(bhttp::field::user_agent, "pushgate");
  req.set(bhttp::field::content_type, "application/json");
  if (!session.empty()) {
    req.set(kSessionHeader, session);
  }
  req.keep_alive(false);
  req.body() = request.body;
  req.prepare_payload();
  if (tls_) {
    beast::ssl_stream<beast::tcp_stream> s(std::move(tcp_stream), *tls_);
    auto& low = beast::get_lowest_layer(s);
    open_.insert(&low);
    if (!is_ip_literal(server_.host)) {
      SSL_set_tlsext_host_name(s.native_handle(), server_.host.c_str());
    }
    if (!server_.insecure_skip_verify) {
      s.set_verify_callback(net::ssl::host_name_verification(server_.host));
    }
    low.expires_after(timeout_);
    co_await s.async_handshake(net::ssl::stream_base::client, use);
    if (!r.ec) {
      co_await transact(s, low, req, timeout_, body_limit, r);
    }
    open_.erase(&low);
    error_code ignored;
    low.socket().shutdown(tcp::socket::shutdown_both, ignored);
    low.close();
  } else {
    open_.insert(&tcp_stream);
    co_await transact(tcp_stream, tcp_stream, req, timeout_, body_limit, r);
    open_.erase(&tcp_stream);
    error_code ignored;
    tcp_stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    tcp_stream.close();
  }
  co_return r;
}

net::awaitable<error_code> ServerClient::feed_open(const std::string& first_message) {
  error_code ec;
  auto use = net::redirect_error(net::use_awaitable, ec);
  feed_.reset();
  tcp::resolver resolver(executor_);
  const std::string port = std::to_string(server_.port);
  auto endpoints = co_await resolver.async_resolve(server_.host, port, use);
  if (ec) {
    co_return ec;
  }
  auto feed = std::make_unique<Feed>();
  beast::tcp_stream tcp_stream(executor_);
  tcp_stream.expires_after(timeout_);
  co_await tcp_stream.async_connect(endpoints, use);
  if (ec) {
    co_return ec;
  }
  const std::string host_header = server_.host + ":" + std::to_string(server_.port);
  if (tls_) {
    feed->wss = std::make_unique<websocket::stream<beast::ssl_stream<beast::tcp_stream>>>(
        std::move(tcp_stream), *tls_);
    auto& tls_stream = feed->wss->next_layer();
    if (!is_ip_literal(server_.host)) {
      SSL_set_tlsext_host_name(tls_stream.native_handle(), server_.host.c_str());
    }
    if (!server_.insecure_skip_verify) {
      tls_stream.set_verify_callback(net::ssl::host_name_verification(server_.host));
    }
    feed_ = std::move(feed);
    beast::get_lowest_layer(*feed_->wss).expires_after(timeout_);
    co_await feed_->wss->next_layer().async_handshake(net::ssl::stream_base::client, use);
    if (ec) {
      co_return ec;
    }
    beast::get_lowest_layer(*feed_->wss).expires_never();  // the websocket's own timeouts now
    configure(*feed_->wss, timeout_, max_frame_bytes_);
    co_await feed_->wss->async_handshake(host_header, "/wsapi", use);
    if (ec) {
      co_return ec;
    }
    feed_->wss->text(true);
    co_await feed_->wss->async_write(net::buffer(first_message), use);
  } else {
    feed->ws = std::make_unique<websocket::stream<beast::tcp_stream>>(std::move(tcp_stream));
    feed_ = std::move(feed);
    beast::get_lowest_layer(*feed_->ws).expires_never();
    configure(*feed_->ws, timeout_, max_frame_bytes_);
    co_await feed_->ws->async_handshake(host_header, "/wsapi", use);
    if (ec) {
      co_return ec;
    }
    feed_->ws->text(true);
    co_await feed_->ws->async_write(net::buffer(first_message), use);
  }
  co_return ec;
}

net::awaitable<FeedEnd> ServerClient::feed_read(std::string& text, error_code& ec) {
  ec = {};
  if (!feed_) {
    co_return FeedEnd::Closed;
  }
  auto use = net::redirect_error(net::use_awaitable, ec);
  feed_->buffer.clear();
  // Read piece by piece and bound the message here: Beast's own limit ends
  // in a close handshake whose error hides the cause.
  constexpr std::size_t kPiece = 16 * 1024;
  bool done = false;
  while (!done) {
    if (feed_->wss) {
      co_await feed_->wss->async_read_some(feed_->buffer, kPiece, use);
      done = feed_->wss->is_message_done();
    } else {
      co_await feed_->ws->async_read_some(feed_->buffer, kPiece, use);
      done = feed_->ws->is_message_done();
    }
    if (!ec && feed_->buffer.size() > max_frame_bytes_) {
      feed_close();
      co_return FeedEnd::Oversize;
    }
    if (ec) {
      break;
    }
  }
  if (ec == websocket::error::closed) {
    co_return FeedEnd::Closed;
  }
  if (ec) {
    co_return FeedEnd::Failed;
  }
  text = beast::buffers_to_string(feed_->buffer.data());
  co_return FeedEnd::None;
}

}  // namespace pushgate::adapters::suprema
