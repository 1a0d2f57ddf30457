#pragma once

// Push mode (issue 16 item 5): the listener a Dahua device's EventHttpUpload /
// PictureHttpUpload table points at. It serves the uploads on the core HTTP
// server (gateway/http/server.hpp: bounded headers and bodies, 413, timeouts,
// connection limits, optional TLS), checks HTTP Digest per device (fresh
// nonces, stale=true for expired ones, nonce-count replay refused), decodes
// the body with the protocol library (dahua_push.hpp) and hands the events to
// the owner. The device gets its 200 only when the owner calls done(true),
// i.e. after the events are committed; done(false), a commit that never
// answers (commit_timeout) or a stop answer 503 and the device sends the
// events again (the Intelbras delivery rule, research §1.3 B).
//
// Owner: the Dahua adapter. Wiring is: fill PushServerOptions from config
// (credentials lookup over the configured devices), give on_events that
// commits through the adapter's store port and calls done, start(), stop().
// Nothing here includes gateway/store or another adapter.
//
// Threading: requests are handled on their connection's strand; on_events and
// on_keepalive run there and must not block. PushDone may be called from any
// thread, once (later calls are ignored). Counters are thread-safe.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/system/error_code.hpp>

#include "adapters/dahua/dahua_push.hpp"

namespace pushgate::metrics {
class Registry;
}
namespace pushgate::http {
class Server;
class BodyBudget;
}  // namespace pushgate::http

namespace pushgate::adapters::dahua {

/** A configured device as the credentials lookup returns it. */
struct PushCredential {
  std::string device;    ///< configured device name ([dahua.devices."name"])
  std::string user;      ///< the user name the device sends
  std::string password;  ///< what it must have hashed
};

/** Who sent an upload. */
struct PushPeer {
  std::string device;  ///< configured device name
  std::string user;    ///< Digest user name ("" when unauthenticated)
  boost::asio::ip::tcp::endpoint remote;
};

/** One accepted upload: its events decoded, and what it was as received. */
struct PushUpload {
  PushPeer peer;
  std::string target;            ///< request target as sent
  std::string content_type;      ///< as sent
  std::string content_encoding;  ///< as sent
  std::string raw;               ///< the body as received (before Content-Encoding)
  PushBody body;                 ///< decoded events (errors included), images, problems
};

/**
 * The answer to one upload, owned by whoever commits it: done(true) answers
 * 200, done(false) 503 (the device re-sends). Copyable; the first call wins.
 * When the last copy is dropped uncalled, the device is answered 503.
 */
class PushDone {
 public:
  struct State;
  PushDone() = default;
  explicit PushDone(std::shared_ptr<State> state) : state_(std::move(state)) {}
  void operator()(bool ok) const;
  /** Whether the answer was already given (by a call, the commit timeout or a stop). */
  bool answered() const;

 private:
  std::shared_ptr<State> state_;
};

struct PushServerOptions {
  std::string name = "dahua-push";  ///< logs and the core server's metric label
  std::string address = "0.0.0.0";
  std::uint16_t port = 0;  ///< 0 picks a free port (tests)
  /** Upload paths answered (query ignored, exact match); anything else is 404. */
  std::vector<std::string> paths{"/EventHttpUpload", "/PictureHttpUpload"};
  std::size_t body_limit = 4 * 1024 * 1024;  ///< bytes as received; more is 413
  std::size_t header_limit = 16 * 1024;
  PushLimits limits;  ///< inflated size, events, images per upload
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(60)};
  std::chrono::milliseconds request_timeout{std::chrono::seconds(30)};
  std::chrono::milliseconds first_request_timeout{std::chrono::seconds(10)};
  /**
   * How long on_events may take to call done before the device is answered
   * 503; keep it below request_timeout (the connection's whole budget).
   */
  std::chrono::milliseconds commit_timeout{std::chrono::seconds(20)};
  std::size_t max_connections = 256;
  std::size_t max_connections_per_address = 16;
  /** Digest realm sent in challenges. */
  std::string realm = "pushgate";
  /** How long a nonce is current; after it, a right answer is challenged with stale=true. */
  std::chrono::milliseconds nonce_lifetime{std::chrono::minutes(5)};
  /** Nonces remembered at most (oldest forgotten first: their users get stale=true). */
  std::size_t max_nonces = 4096;
  /**
   * An upload where nothing decodes is 400 by default. Set: it is handed to
   * on_events all the same (no events, `body.problems` say why) so the owner
   * can quarantine the raw body and answer 200 -- a device re-sends anything
   * but a 200, and a body that never decodes would come back forever.
   */
  bool hand_undecodable = false;
  /** When set, the listener speaks TLS only. */
  std::shared_ptr<boost::asio::ssl::context> tls;
  /** When set, bodies are admitted through this budget (shared with the other listeners). */
  std::shared_ptr<http::BodyBudget> body_budget;

  /**
   * The configured devices a Digest user name may belong to (several devices
   * may share "admin": the one whose password matches is the sender). Called
   * on a connection's strand; must be thread-safe and not block.
   */
  std::function<std::vector<PushCredential>(std::string_view user)> credentials;
  /**
   * Optional: devices whose upload table has authentication off, known by
   * their address. A request without Authorization from an address this
   * names ("" = none) is accepted as that device; others are challenged.
   */
  std::function<std::string(const boost::asio::ip::address&)> unauthenticated_device;
};

/** Counters of what the listener answered (also exported as metrics). */
struct PushServerStats {
  std::uint64_t uploads_ok = 0;       ///< answered 200 after done(true)
  std::uint64_t events = 0;           ///< events handed to on_events
  std::uint64_t event_errors = 0;     ///< event texts/objects that did not decode
  std::uint64_t events_refused = 0;   ///< events beyond limits.max_events
  std::uint64_t keepalives = 0;       ///< keep-alive GETs answered 200
  std::uint64_t challenges = 0;       ///< 401 to a request without credentials
  std::uint64_t auth_refused = 0;     ///< 401: unknown user, wrong password, foreign nonce
  std::uint64_t auth_stale = 0;       ///< 401 stale=true: expired nonce or replayed nc
  std::uint64_t auth_malformed = 0;   ///< 401: unusable Authorization header
  std::uint64_t bad_bodies = 0;       ///< 400: body not decodable
  std::uint64_t not_found = 0;        ///< 404/405: not an upload path or method
  std::uint64_t commit_failed = 0;    ///< 503 after done(false) or a dropped done
  std::uint64_t commit_timeouts = 0;  ///< 503 after commit_timeout
  std::uint64_t stopped_pending = 0;  ///< 503 at stop (grace passed, or read after stop)
  std::uint64_t handler_errors = 0;   ///< 503: on_events threw
};

class PushServer {
 public:
  using EventsHandler = std::function<void(PushUpload upload, PushDone done)>;
  using KeepaliveHandler = std::function<void(const PushPeer& peer)>;

  /** `metrics` must outlive the server. `on_keepalive` may be empty. */
  PushServer(boost::asio::io_context& ioc, PushServerOptions options, EventsHandler on_events,
             metrics::Registry& metrics, KeepaliveHandler on_keepalive = {});
  ~PushServer();
  PushServer(const PushServer&) = delete;
  PushServer& operator=(const PushServer&) = delete;

  /** Binds and listens; an error (address in use…) leaves it stopped. */
  boost::system::error_code start();
  /** The bound port (after start). */
  std::uint16_t port() const noexcept;
  /**
   * Stops accepting at once and returns. Uploads still waiting for done get
   * until `grace` to be committed; the rest are then answered 503 (the
   * devices re-send) and their connections close. Thread-safe; idempotent.
   */
  void stop(std::chrono::milliseconds grace = std::chrono::seconds(2));
  /** Uploads handed to on_events and not yet answered. */
  std::size_t pending() const;
  PushServerStats stats() const;

  struct Shared;

 private:
  boost::asio::io_context& ioc_;
  std::shared_ptr<Shared> shared_;
  std::unique_ptr<http::Server> server_;
};

}  // namespace pushgate::adapters::dahua
