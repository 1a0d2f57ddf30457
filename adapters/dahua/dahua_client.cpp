#include "adapters/dahua/dahua_client.hpp"

#include <array>
#include <cstdio>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

namespace pushgate::adapters::dahua {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using boost::system::error_code;
using tcp = net::ip::tcp;

namespace {

/** What one request on one connection gave. */
struct Attempt {
  error_code ec;
  unsigned status = 0;
  std::string www_authenticate;
  std::string content_type;
  std::string body;
};

bool is_ip_literal(const std::string& host) {
  error_code ec;
  net::ip::make_address(host, ec);
  return !ec;
}

/** Sends `req` on `s` and reads the answer: whole (get) or as a stream. */
template <class Stream>
net::awaitable<void> transact(Stream& s, beast::tcp_stream& low,
                              const bhttp::request<bhttp::string_body>& req,
                              std::chrono::seconds timeout, std::size_t body_limit,
                              std::optional<std::chrono::milliseconds> idle,
                              const DeviceClient::OnOpen* on_open,
                              const DeviceClient::OnBytes* on_bytes, Attempt& a) {
  auto use = net::redirect_error(net::use_awaitable, a.ec);
  low.expires_after(timeout);
  co_await bhttp::async_write(s, req, use);
  if (a.ec) {
    co_return;
  }
  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::buffer_body> parser;
  parser.header_limit(16 * 1024);
  if (idle) {
    parser.body_limit(boost::none);  // a stream has no end; memory is bounded by the chunk
  } else {
    parser.body_limit(body_limit);
  }
  co_await bhttp::async_read_header(s, buffer, parser, use);
  if (a.ec) {
    co_return;
  }
  const auto& head = parser.get();
  a.status = head.result_int();
  a.www_authenticate = std::string(head[bhttp::field::www_authenticate]);
  a.content_type = std::string(head[bhttp::field::content_type]);
  const bool streaming = idle && a.status == 200;
  if (streaming && on_open != nullptr) {
    HttpResult opened;
    opened.status = a.status;
    opened.content_type = a.content_type;
    (*on_open)(opened);
  }
  std::array<char, 16 * 1024> chunk{};
  std::size_t limit = streaming ? std::size_t(-1) : (a.status == 200 ? body_limit : 64 * 1024);
  while (!parser.is_done()) {
    parser.get().body().data = chunk.data();
    parser.get().body().size = chunk.size();
    if (streaming) {
      low.expires_after(*idle);  // the watchdog: nothing for `idle` ends the stream
    }
    co_await bhttp::async_read_some(s, buffer, parser, use);
    if (a.ec == bhttp::error::need_buffer) {
      a.ec = {};
    }
    const std::size_t n = chunk.size() - parser.get().body().size;
    if (n > 0) {
      if (streaming && on_bytes != nullptr) {
        const std::string_view bytes(chunk.data(), n);
        co_await (*on_bytes)(a.content_type, bytes);
      } else if (a.body.size() + n <= limit) {
        a.body.append(chunk.data(), n);
      } else {
        a.ec = bhttp::error::body_limit;
      }
    }
    if (a.ec) {
      co_return;
    }
  }
}

}  // namespace

DeviceClient::DeviceClient(net::any_io_executor executor, const DeviceConfig& device,
                           std::chrono::seconds timeout, std::shared_ptr<net::ssl::context> tls)
    : executor_(std::move(executor)),
      device_(device),
      timeout_(timeout),
      tls_(std::move(tls)),
      digest_(device.user, device.password),
      rng_(std::random_device{}()) {}

std::string DeviceClient::cnonce() {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(rng_()));
  return buf;
}

void DeviceClient::cancel() {
  for (auto* s : open_) {
    error_code ignored;
    s->socket().shutdown(tcp::socket::shutdown_both, ignored);
    s->cancel();
  }
}

void DeviceClient::reset_auth() {
  digest_ = DigestClient(device_.user, device_.password);
}

net::awaitable<HttpResult> DeviceClient::get(const std::string& target, std::size_t body_limit) {
  const std::optional<std::chrono::milliseconds> whole;
  const Body none;
  HttpResult r = co_await run(target, none, body_limit, whole, nullptr, nullptr);
  co_return r;
}

net::awaitable<HttpResult> DeviceClient::send(const std::string& method, const std::string& target,
                                              const std::string& content_type,
                                              const std::string& body, std::size_t body_limit) {
  const std::optional<std::chrono::milliseconds> whole;
  const Body what{method, content_type, body};
  HttpResult r = co_await run(target, what, body_limit, whole, nullptr, nullptr);
  co_return r;
}

net::awaitable<HttpResult> DeviceClient::stream(const std::string& target,
                                                std::chrono::milliseconds idle,
                                                const OnOpen& on_open, const OnBytes& on_bytes) {
  const std::optional<std::chrono::milliseconds> limit = idle;
  const Body none;
  HttpResult r = co_await run(target, none, 0, limit, &on_open, &on_bytes);
  co_return r;
}

net::awaitable<HttpResult> DeviceClient::run(const std::string& target, const Body& what,
                                             std::size_t body_limit,
                                             std::optional<std::chrono::milliseconds> idle,
                                             const OnOpen* on_open, const OnBytes* on_bytes) {
  HttpResult r;
  // At most: one request to get a challenge, one with credentials, one more
  // after a stale nonce. Never a second try of refused credentials.
  for (int round = 0; round < 3; ++round) {
    Attempt a;
    auto use = net::redirect_error(net::use_awaitable, a.ec);
    tcp::resolver resolver(executor_);
    const std::string port = std::to_string(device_.port);
    auto endpoints = co_await resolver.async_resolve(device_.host, port, use);
    if (a.ec) {
      r.ec = a.ec;
      co_return r;
    }
    beast::tcp_stream tcp_stream(executor_);
    tcp_stream.expires_after(timeout_);
    co_await tcp_stream.async_connect(endpoints, use);
    if (a.ec) {
      r.ec = a.ec;
      co_return r;
    }
    const bool post = what.method == "POST";
    bhttp::request<bhttp::string_body> req{post ? bhttp::verb::post : bhttp::verb::get, target, 11};
    req.set(bhttp::field::host, device_.host);
    req.set(bhttp::field::user_agent, "pushgate");
    req.keep_alive(false);
    if (post) {
      if (!what.content_type.empty()) {
        req.set(bhttp::field::content_type, what.content_type);
      }
      req.body() = what.body;
      req.prepare_payload();
    }
    const bool sent_credentials = digest_.has_challenge();
    if (sent_credentials) {
      const std::string nonce = cnonce();
      req.set(bhttp::field::authorization, digest_.authorize(post ? "POST" : "GET", target, nonce));
    }
    if (tls_) {
      beast::ssl_stream<beast::tcp_stream> s(std::move(tcp_stream), *tls_);
      auto& low = beast::get_lowest_layer(s);
      open_.insert(&low);
      if (!is_ip_literal(device_.host)) {
        SSL_set_tlsext_host_name(s.native_handle(), device_.host.c_str());
      }
      s.set_verify_mode(net::ssl::verify_peer);
      s.set_verify_callback(net::ssl::host_name_verification(device_.host));
      low.expires_after(timeout_);
      co_await s.async_handshake(net::ssl::stream_base::client, use);
      if (!a.ec) {
        co_await transact(s, low, req, timeout_, body_limit, idle, on_open, on_bytes, a);
      }
      open_.erase(&low);
      error_code ignored;
      low.socket().shutdown(tcp::socket::shutdown_both, ignored);
      low.close();
    } else {
      open_.insert(&tcp_stream);
      co_await transact(tcp_stream, tcp_stream, req, timeout_, body_limit, idle, on_open, on_bytes,
                        a);
      open_.erase(&tcp_stream);
      error_code ignored;
      tcp_stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
      tcp_stream.close();
    }
    r.status = a.status;
    r.content_type = a.content_type;
    if (a.status == 401) {
      auto parsed = parse_digest_challenge(a.www_authenticate);
      if (!parsed.challenge) {
        r.ec = boost::system::errc::make_error_code(boost::system::errc::protocol_error);
        r.body = "401 without a usable Digest challenge: " + parsed.error;
        co_return r;
      }
      r.realm = parsed.challenge->realm;
      if (digest_.on_challenge(std::move(*parsed.challenge)) == DigestClient::Verdict::AuthFailed) {
        r.auth_failed = true;  // the account-lock rule: stop here
        co_return r;
      }
      continue;  // a first challenge or a stale nonce: once more, with the new nonce
    }
    if (sent_credentials && a.status != 0) {
      digest_.on_authorized();
    }
    r.ec = a.ec;
    r.body = std::move(a.body);
    if (r.ec == bhttp::error::end_of_stream || r.ec == net::error::eof) {
      // The device closed a stream, or a body ended by closing: what was read stands.
      r.ec = idle ? r.ec : error_code{};
    }
    co_return r;
  }
  r.ec = boost::system::errc::make_error_code(boost::system::errc::permission_denied);
  co_return r;
}

}  // namespace pushgate::adapters::dahua
