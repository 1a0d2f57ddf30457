#pragma once

// HTTP Digest (RFC 2617 / RFC 7616, MD5, qop=auth) as the simulated Dahua
// device speaks it: the server side (challenges, stale nonces, nonce-count
// replay checks, the account lock after repeated failures) and the client
// side the device uses when it pushes events to a server that challenges it.
//
// Written from the RFCs and the vendor documentation only (tests/sim/README.md,
// "Dahua device"), never from adapters/dahua/, so that a misreading in the
// adapter cannot be mirrored here.
//
// Threading: DigestServer is not thread-safe; its owner serialises calls.
// The free functions are pure.

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace pushgate::sim::dahua {

/// Lower-case hex MD5 of `data`.
std::string md5_hex(std::string_view data);

/// The parameters of a `Digest` Authorization or WWW-Authenticate header
/// (names lower-cased, quotes removed). nullopt when the scheme is not Digest
/// or the list is malformed.
std::optional<std::map<std::string, std::string>> parse_digest_params(std::string_view header);

/// The Authorization header value a client sends for `challenge` (a
/// WWW-Authenticate value), qop=auth when offered; nullopt when the
/// challenge is not a usable Digest MD5 one.
std::optional<std::string> digest_authorization(std::string_view challenge, std::string_view user,
                                                std::string_view password, std::string_view method,
                                                std::string_view uri, std::uint32_t nc,
                                                std::string_view cnonce);

struct DigestPolicy {
  std::string realm;
  std::string user;
  std::string password;
  /// A nonce goes stale after this long (0: never) ...
  std::chrono::milliseconds nonce_lifetime{std::chrono::minutes(5)};
  /// ... or after this many accepted requests (0: unlimited).
  std::uint32_t nonce_max_uses = 0;
  /// Consecutive failed logins that lock the account (0: never locks).
  std::uint32_t lock_after_failures = 5;
  std::chrono::milliseconds lock_duration{std::chrono::minutes(5)};
};

/// Counters a test reads (DahuaDevice::auth_stats()).
struct AuthStats {
  std::uint64_t challenges = 0;  // requests without credentials, answered 401
  std::uint64_t successes = 0;
  std::uint64_t failures = 0;           // wrong user/password/realm/response
  std::uint64_t stale = 0;              // right password, expired/unknown nonce
  std::uint64_t replays = 0;            // nonce count not above the last one seen
  std::uint64_t locked_rejections = 0;  // requests refused while locked
  /// Requests carrying credentials (anything but `challenges`) in the last
  /// hour, and failures (wrong credentials, including while locked) in the
  /// last hour: what "the device sees at most N attempts per hour" measures.
  std::uint64_t attempts_last_hour = 0;
  std::uint64_t failures_last_hour = 0;
  std::uint32_t consecutive_failures = 0;
  bool locked = false;
};

enum class AuthVerdict {
  Ok,
  Challenge,  // no/other credentials: 401 with a fresh nonce
  Stale,      // 401 with stale=true
  Failed,     // 401, counted as a failed login
  Replay,     // 401, nonce count reused
  Locked,     // 401, account locked
};

struct AuthDecision {
  AuthVerdict verdict = AuthVerdict::Challenge;
  /// The WWW-Authenticate value to send with a 401 (empty for Ok).
  std::string challenge;
};

class DigestServer {
 public:
  using Clock = std::chrono::steady_clock;

  explicit DigestServer(DigestPolicy policy) : policy_(std::move(policy)) {}

  /// Checks one request. `authorization` is the header value (empty when
  /// absent), `uri` the request target, `method` e.g. "GET".
  AuthDecision check(std::string_view method, std::string_view uri, std::string_view authorization,
                     Clock::time_point now);

  AuthStats stats(Clock::time_point now) const;

  /// Forgets every nonce (a reboot).
  void forget_nonces() { nonces_.clear(); }
  /// Lifts a lock and clears the failure run (an operator unlocking).
  void unlock() {
    locked_until_.reset();
    consecutive_failures_ = 0;
  }
  /// Marks every nonce issued so far as stale.
  void expire_nonces() {
    for (auto& [_, n] : nonces_) {
      n.expired = true;
    }
  }
  const DigestPolicy& policy() const { return policy_; }
  void set_policy(DigestPolicy policy) { policy_ = std::move(policy); }

 private:
  struct Nonce {
    Clock::time_point issued;
    std::uint32_t uses = 0;
    std::uint32_t last_nc = 0;
    bool expired = false;
  };
  std::string issue(Clock::time_point now, bool stale);
  void note_failure(Clock::time_point now);
  void prune(Clock::time_point now) const;

  DigestPolicy policy_;
  std::map<std::string, Nonce> nonces_;
  std::uint64_t next_nonce_ = 1;
  std::string opaque_ = md5_hex("pushgate-sim-dahua-opaque");
  std::uint32_t consecutive_failures_ = 0;
  std::optional<Clock::time_point> locked_until_;
  AuthStats counters_;
  mutable std::deque<Clock::time_point> attempts_;
  mutable std::deque<Clock::time_point> failures_;
};

}  // namespace pushgate::sim::dahua
