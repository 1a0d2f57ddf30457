#pragma once
// The gateway's HTTPS and WebSocket client for one BioStar 2 server
// (Boost.Beast over OpenSSL, C++20 coroutines on the server link's strand):
// one API request per connection (Connection: close) with a bounded answer,
// and the long-lived /wsapi feed with a bounded message size.
//
// Callers keep the arguments alive until the co_await completes and pass
// lvalues (GCC 12 mishandles temporaries with destructors in co_await
// expressions; see adapters/dahua/dahua_client.hpp).

#include <chrono>
#include <cstddef>
#include <memory>
#include <set>
#include <string>
#include <utility>  // before Boost 1.74's awaitable.hpp, which uses std::exchange

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/system/error_code.hpp>

#include "adapters/suprema/suprema_config.hpp"
#include "adapters/suprema/suprema_rest.hpp"

namespace pushgate::adapters::suprema {

struct HttpReply {
  boost::system::error_code ec;  ///< transport failure (not set for a 4xx/5xx)
  unsigned status = 0;
  std::string session;  ///< the bs-session-id header ("" when absent)
  std::string body;
};

/** How a feed read ended when it gave no message. */
enum class FeedEnd { None, Closed, Oversize, Failed };

class ServerClient {
 public:
  /** `tls`: null for plain HTTP. */
  ServerClient(boost::asio::any_io_executor executor, const ServerConfig& server,
               std::chrono::seconds timeout, std::size_t max_frame_bytes,
               std::shared_ptr<boost::asio::ssl::context> tls);
  ~ServerClient();

  /** One API request (`session` "" for none); the answer up to `body_limit` bytes. */
  boost::asio::awaitable<HttpReply> call(const ApiRequest& request, const std::string& session,
                                         std::size_t body_limit);

  /** Opens /wsapi and sends `first_message` (the session message). */
  boost::asio::awaitable<boost::system::error_code> feed_open(const std::string& first_message);
  /** The next text message into `text`; FeedEnd::None when one arrived. */
  boost::asio::awaitable<FeedEnd> feed_read(std::string& text, boost::system::error_code& ec);
  /** Drops the feed connection (no close handshake). */
  void feed_close();

  /** Closes every open connection (stop, or a session to abandon). On the executor. */
  void cancel();

 private:
  struct Feed;
  boost::asio::any_io_executor executor_;
  const ServerConfig& server_;
  std::chrono::seconds timeout_;
  std::size_t max_frame_bytes_;
  std::shared_ptr<boost::asio::ssl::context> tls_;
  std::unique_ptr<Feed> feed_;
  std::set<boost::beast::tcp_stream*> open_;  // API connections to close on cancel()
};

}  // namespace pushgate::adapters::suprema
