#pragma once
// The gateway's HTTP(S) client for one Dahua device (Boost.Beast, C++20
// coroutines on the device's strand): GET with HTTP Digest (DigestClient:
// nonce count, stale re-challenge, and the account-lock rule: credentials
// refused once are never sent again by this client), a bounded body, and the
// long-lived event stream read chunk by chunk with an idle limit.
//
// One connection per request (Connection: close): devices serve few
// connections and drop idle ones; the stream keeps its own.
//
// Callers keep the arguments alive until the co_await completes, and pass
// lvalues: GCC 12 mishandles temporaries with destructors inside co_await
// expressions, so no co_await in this adapter has one.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <utility>  // before Boost 1.74's awaitable.hpp, which uses std::exchange

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/system/error_code.hpp>

#include "adapters/dahua/dahua_config.hpp"
#include "adapters/dahua/dahua_digest.hpp"

namespace pushgate::adapters::dahua {

struct HttpResult {
  boost::system::error_code ec;  ///< transport or protocol failure (not set for a 4xx/5xx)
  bool auth_failed = false;      ///< the device refused the configured credentials
  unsigned status = 0;           ///< HTTP status of the last answer (0: none)
  std::string realm;             ///< realm of the last Digest challenge ("Login to <serial>")
  std::string content_type;
  std::string body;  ///< the body (get); empty for a stream
};

class DeviceClient {
 public:
  /** `tls`: null for http. */
  DeviceClient(boost::asio::any_io_executor executor, const DeviceConfig& device,
               std::chrono::seconds timeout, std::shared_ptr<boost::asio::ssl::context> tls);

  /** GET `target` (path and query), the whole body up to `body_limit` bytes. */
  boost::asio::awaitable<HttpResult> get(const std::string& target,
                                         std::size_t body_limit = 8u << 20);

  /**
   * One request of a command: GET, or POST with `body` (Digest over the
   * method), the whole answer up to `body_limit` bytes.
   */
  boost::asio::awaitable<HttpResult> send(const std::string& method, const std::string& target,
                                          const std::string& content_type, const std::string& body,
                                          std::size_t body_limit);

  using OnBytes = std::function<boost::asio::awaitable<void>(std::string_view content_type,
                                                             std::string_view bytes)>;
  /** Called once when a stream's 200 header arrived, before any bytes. */
  using OnOpen = std::function<void(const HttpResult&)>;
  /**
   * GET `target` and hand the body to `on_bytes` as it arrives, until the
   * device closes, an error, or nothing arrived for `idle`
   * (boost::beast::error::timeout).
   */
  boost::asio::awaitable<HttpResult> stream(const std::string& target,
                                            std::chrono::milliseconds idle, const OnOpen& on_open,
                                            const OnBytes& on_bytes);

  /** Closes every open connection (stop, or a stream to abandon). On the executor. */
  void cancel();
  /** Forgets the challenge: the next request starts without credentials (a later login attempt). */
  void reset_auth();

 private:
  struct Body {
    std::string method = "GET";
    std::string content_type;
    std::string body;
  };
  boost::asio::awaitable<HttpResult> run(const std::string& target, const Body& what,
                                         std::size_t body_limit,
                                         std::optional<std::chrono::milliseconds> idle,
                                         const OnOpen* on_open, const OnBytes* on_bytes);
  std::string cnonce();

  boost::asio::any_io_executor executor_;
  const DeviceConfig& device_;
  std::chrono::seconds timeout_;
  std::shared_ptr<boost::asio::ssl::context> tls_;
  DigestClient digest_;
  std::mt19937_64 rng_;
  std::set<boost::beast::tcp_stream*> open_;  // connections to close on cancel()
};

}  // namespace pushgate::adapters::dahua
