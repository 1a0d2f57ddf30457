#pragma once

// A simulated Suprema BioStar 2 server speaking its "New Local API" on
// loopback: POST /api/login (bs-session-id header), sessions with an idle
// timeout, logout, event search with paging, the /wsapi WebSocket live feed
// (after POST /api/events/start), doors (open/lock/unlock/release/status),
// users and cards. HTTPS with a self-signed certificate generated at start
// (as BioStar 2 ships), or plain HTTP.
//
// Written from Suprema's published API documentation and from facts observed
// by open clients (tests/sim/README.md, "BioStar 2 server", names the source
// of each behaviour), never from adapters/suprema/: nothing here includes or
// links it, so a misreading in the adapter cannot be mirrored here.
//
// Threading: the server owns one io_context thread; every socket lives on
// it. Public methods are thread-safe: shared state (events, sessions, doors,
// users, cards) is guarded by one mutex; feed deliveries are posted to the
// server thread.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace pushgate::sim::biostar2 {

/// Event type codes (event_type_id.code), from Suprema's event code table
/// (G-SDK docs/_apis/event.md: main code in the high byte, sub code low).
namespace code {
inline constexpr int kVerifySuccessCard = 0x1006;    // 4102 VERIFY_SUCCESS + card only
inline constexpr int kIdentifySuccessFace = 0x1303;  // IDENTIFY_SUCCESS + face only
inline constexpr int kVerifyFailCard = 0x1102;       // VERIFY_FAIL + invalid card (refused)
inline constexpr int kAccessDeniedGroup = 0x1901;    // ACCESS_DENIED + access group
inline constexpr int kDoorForcedOpen = 0x5400;       // DOOR_FORCED_OPEN
inline constexpr int kDoorHeldOpen = 0x5500;         // DOOR_HELD_OPEN
inline constexpr int kTamperOn = 0x4000;             // DEVICE_TAMPER_ON
inline constexpr int kIntrusionAlarm = 0x9800;       // ZONE_INTRUSION_ALARM
}  // namespace code

/// One event of the server's log (also what the feed pushes).
struct Event {
  std::uint64_t id = 0;          // increasing, server-wide
  std::int64_t datetime_ms = 0;  // device event time, UTC, epoch milliseconds
  std::int64_t server_ms = 0;    // when the server stored it
  int code = code::kVerifySuccessCard;
  std::uint32_t device_id = 0;
  std::uint32_t door_id = 0;  // 0: none
  std::string user_id;        // empty: none
  std::string user_name;
  int tna_key = 0;
  std::uint32_t index = 0;  // per-device log index
};

/// An event to inject. Unset fields take defaults (first device, now).
struct EventSpec {
  int code = code::kVerifySuccessCard;
  std::optional<std::uint32_t> device_id;  // unset: the first device
  std::optional<std::uint32_t> door_id;    // unset: the device's first door
  std::string user_id = "1";
  int tna_key = 0;
  std::optional<std::int64_t> datetime_ms;  // unset: now
};

/// Door state as the door status endpoint reports it.
struct DoorState {
  std::uint32_t id = 0;
  std::string name;
  std::uint32_t device_id = 0;
  bool unlocked = false;    // held unlocked by an operator
  bool locked = false;      // held locked by an operator
  std::uint64_t opens = 0;  // momentary opens (POST /api/doors/open)
  std::uint64_t releases = 0;
};

struct BioStar2Config {
  std::string login_id = "admin";
  std::string password = "Admin1234!";
  bool tls = true;         // false: plain HTTP
  std::uint16_t port = 0;  // 0: any free loopback port
  int devices = 1;
  int doors_per_device = 1;
  std::uint32_t first_device_id = 540000001;
  /// A session unused this long is gone (next call: 401 login required).
  std::chrono::milliseconds session_idle_timeout{std::chrono::minutes(30)};
  /// events/search returns at most this many rows per call.
  std::size_t page_cap = 200;
  std::size_t body_limit = 1 << 20;         // request bodies larger: 413
  std::size_t ws_message_limit = 64 << 10;  // client frames larger: closed
};

class BioStar2Server {
 public:
  /// Generates the certificate (tls) and listens on 127.0.0.1:config.port.
  /// Throws on setup failure (startup only).
  explicit BioStar2Server(BioStar2Config config);
  ~BioStar2Server();
  BioStar2Server(const BioStar2Server&) = delete;
  BioStar2Server& operator=(const BioStar2Server&) = delete;

  std::uint16_t port() const;
  bool tls() const { return config_.tls; }
  /// The self-signed certificate (PEM) the server presents; empty without TLS.
  std::string certificate_pem() const;

  // Events -------------------------------------------------------------------
  Event inject(const EventSpec& spec);
  /// Generates `count` events at `per_second` from `seed` on the server thread
  /// (a mix of granted, refused, forced, held, tamper, alarm).
  void start_generator(double per_second, std::size_t count, std::uint64_t seed);
  void stop_generator();
  std::size_t generator_remaining() const;
  std::vector<Event> events() const;  // the whole log, in id order

  // Sessions ---------------------------------------------------------------------
  std::size_t session_count() const;
  /// Every session becomes invalid now; open feeds of them are closed.
  void expire_sessions();
  std::uint64_t logins() const;
  std::uint64_t failed_logins() const;

  // Feed faults ---------------------------------------------------------------------
  /// Open /wsapi sockets that have sent a valid session id.
  std::size_t feed_count() const;
  /// Silent cut: sockets stay open, events are no longer pushed (lost to
  /// the live feed, still in the log) until restore_feed().
  void cut_feed();
  void restore_feed();
  /// Closes every /wsapi socket at once (TCP close, no close frame).
  void close_feeds();
  /// Server down: every connection and the listener close; connections are
  /// refused until start() (or `down_for` has passed). The event log,
  /// doors, users and cards survive; sessions do not (as on a restart).
  void stop(std::optional<std::chrono::milliseconds> down_for = std::nullopt);
  void start();
  bool is_up() const { return up_.load(); }

  // Doors, users, cards -----------------------------------------------------------
  std::vector<DoorState> doors() const;
  std::map<std::string, std::string> users() const;  // user_id -> User JSON
  std::map<std::string, std::string> cards() const;  // id -> Card JSON
  /// Requests seen by "<METHOD> <path>" (e.g. "POST /api/doors/open").
  std::uint64_t requests_seen(const std::string& key) const;

  struct Impl;

 private:
  BioStar2Config config_;
  std::atomic<bool> up_{false};
  std::unique_ptr<Impl> impl_;
};

/// "YYYY-MM-DDTHH:MM:SS.mmmZ" of epoch milliseconds (UTC).
std::string format_datetime(std::int64_t epoch_ms);
/// ISO-8601 UTC ("...Z", optional fraction of any length); nullopt when malformed.
std::optional<std::int64_t> parse_datetime(const std::string& text);

}  // namespace pushgate::sim::biostar2
