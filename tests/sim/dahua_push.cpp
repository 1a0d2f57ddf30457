// EventHttpUpload: the simulated device posts every event to a configured
// server and retries it until the answer is HTTP 200 (the Intelbras
// "Servidor de Envio de Eventos" delivery rule [doc]); it answers a Digest
// challenge (the upload table's "Type": "digest" [obs]); bodies are JSON or
// the stream's text form, optionally deflate/gzip (bolkonskiy/dahua-acs-ha
// webhook_payload.py [obs]); keep-alive GETs go to /EventHttpUpload/keepalive
// [obs]. Sources in tests/sim/README.md.

#include "tests/sim/dahua_device_impl.hpp"  // first: it includes <utility> before asio

#include <zlib.h>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

namespace pushgate::sim::dahua {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using boost::system::error_code;
constexpr auto kAwait = net::use_awaitable;

/// `data` compressed; window_bits -15 raw deflate, 15 zlib, 31 gzip.
std::string compress(const std::string& data, int window_bits) {
  z_stream z{};
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY) !=
      Z_OK) {
    return {};
  }
  std::string out(deflateBound(&z, static_cast<uLong>(data.size())) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

struct Exchange {
  unsigned status = 0;  // 0: no answer
  std::string www_authenticate;
};

}  // namespace

net::awaitable<void> DahuaDevice::Impl::run_push() {
  const PushConfig cfg = *config.push;
  std::string challenge;
  std::uint32_t nc = 0;
  std::uint64_t cnonce_seq = 0;
  net::steady_timer retry(ioc);

  const auto exchange = [&](http::verb method, const std::string& target, const std::string& body,
                            const std::string& content_type,
                            const std::string& encoding) -> net::awaitable<Exchange> {
    Exchange out;
    beast::tcp_stream stream(ioc);
    stream.expires_after(cfg.request_timeout);
    error_code ec;
    const tcp::endpoint ep(net::ip::make_address(cfg.host, ec), cfg.port);
    if (ec) {
      co_return out;
    }
    if (stopping) {
      co_return out;
    }
    push_socket = &stream.socket();
    struct Clear {
      tcp::socket*& slot;
      ~Clear() { slot = nullptr; }
    } clear{push_socket};
    co_await stream.async_connect(ep, net::redirect_error(kAwait, ec));
    if (ec) {
      co_return out;
    }
    http::request<http::string_body> req{method, target, 11};
    req.set(http::field::host, cfg.host + ":" + std::to_string(cfg.port));
    req.set(http::field::user_agent, "Dahua-EventHttpUpload-sim");
    if (!content_type.empty()) {
      req.set(http::field::content_type, content_type);
    }
    if (!encoding.empty()) {
      req.set(http::field::content_encoding, encoding);
    }
    if (!challenge.empty()) {
      const auto auth = digest_authorization(
          challenge, cfg.user, cfg.password, std::string(http::to_string(method)), target, ++nc,
          md5_hex(config.serial + std::to_string(++cnonce_seq)).substr(0, 16));
      if (auth) {
        req.set(http::field::authorization, *auth);
      }
    }
    req.keep_alive(false);
    req.body() = body;
    req.prepare_payload();
    co_await http::async_write(stream, req, net::redirect_error(kAwait, ec));
    if (ec) {
      co_return out;
    }
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    co_await http::async_read(stream, buffer, res, net::redirect_error(kAwait, ec));
    if (ec) {
      co_return out;
    }
    out.status = res.result_int();
    out.www_authenticate = std::string(res[http::field::www_authenticate]);
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    co_return out;
  };

  // One request, answering one Digest challenge (or a stale nonce) by itself.
  const auto send = [&](http::verb method, const std::string& target, const std::string& body,
                        const std::string& content_type,
                        const std::string& encoding) -> net::awaitable<unsigned> {
    for (int attempt = 0; attempt < 2; ++attempt) {
      const Exchange ex = co_await exchange(method, target, body, content_type, encoding);
      if (ex.status == 401 && !ex.www_authenticate.empty() && !cfg.user.empty() && attempt == 0) {
        challenge = ex.www_authenticate;
        nc = 0;
        continue;
      }
      co_return ex.status;
    }
    co_return 401u;
  };

  auto next_keepalive = std::chrono::steady_clock::now() + cfg.keepalive_interval;
  while (!stopping) {
    error_code ec;
    if (!owner.up_) {
      push_wake.expires_after(std::chrono::hours(24));
      co_await push_wake.async_wait(net::redirect_error(kAwait, ec));
      continue;
    }
    std::optional<Record> head;
    {
      std::lock_guard lock(mu);
      if (!push_queue.empty()) {
        head = push_queue.front();
      }
    }
    if (head) {
      std::string body = cfg.format == PushConfig::Format::Json ? event_json(*head)
                                                                : event_text(*head, StreamQuirks{});
      const std::string type =
          cfg.format == PushConfig::Format::Json ? "application/json" : "text/plain";
      std::string encoding;
      switch (cfg.encoding) {
        case PushConfig::Encoding::None:
          break;
        case PushConfig::Encoding::Deflate:
          body = compress(body, -15);
          encoding = "deflate";
          break;
        case PushConfig::Encoding::Zlib:
          body = compress(body, 15);
          encoding = "deflate";
          break;
        case PushConfig::Encoding::Gzip:
          body = compress(body, 31);
          encoding = "gzip";
          break;
      }
      const unsigned status = co_await send(http::verb::post, cfg.path, body, type, encoding);
      {
        std::lock_guard lock(mu);
        ++push.attempts;
        if (status == 200) {
          ++push.delivered;
          // Only this loop pops, so the head is still the record just sent.
          push_queue.pop_front();
        } else if (status == 0) {
          ++push.failed;
        } else {
          ++push.rejected;
        }
      }
      if (status != 200 && !stopping) {
        retry.expires_after(cfg.retry_interval);
        co_await retry.async_wait(net::redirect_error(kAwait, ec));
      }
      continue;
    }
    const auto now = std::chrono::steady_clock::now();
    if (cfg.keepalive_interval.count() > 0 && now >= next_keepalive) {
      next_keepalive = now + cfg.keepalive_interval;
      const unsigned status =
          co_await send(http::verb::get, "/EventHttpUpload/keepalive", {}, {}, {});
      if (status == 200) {
        std::lock_guard lock(mu);
        ++push.keepalives;
      }
      continue;
    }
    push_wake.expires_at(cfg.keepalive_interval.count() > 0 ? next_keepalive
                                                            : now + std::chrono::hours(24));
    co_await push_wake.async_wait(net::redirect_error(kAwait, ec));
  }
}

}  // namespace pushgate::sim::dahua
