#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace pushgate::auth {

/**
 * Failed logins per key (a user name, a source address): `max_failures`
 * failures within `window_ms` lock the key for `lockout_ms`. Memory is
 * bounded: past `max_keys` the oldest entries are forgotten. Thread-safe.
 */
class LoginLimiter {
 public:
  struct Options {
    int max_failures = 5;
    std::int64_t window_ms = 300'000;
    std::int64_t lockout_ms = 300'000;
    std::size_t max_keys = 10'000;
  };
  explicit LoginLimiter(Options options) : options_(options) {}

  /** When the key is locked at `now_ms`: the ms left; otherwise 0. */
  std::int64_t locked_for(const std::string& key, std::int64_t now_ms) const;
  /** Counts a failure; true when this one locked the key. */
  bool failed(const std::string& key, std::int64_t now_ms);
  /** A success: the key's failures are forgotten. */
  void succeeded(const std::string& key);

 private:
  struct Entry {
    int failures = 0;
    std::int64_t first_ms = 0;
    std::int64_t locked_until_ms = 0;
  };
  Options options_;
  mutable std::mutex mutex_;
  std::map<std::string, Entry> entries_;
};

/** What a stored session is worth at a given time. */
enum class SessionState { Valid, Revoked, IdleExpired, Expired };

struct SessionTimes {
  std::int64_t last_seen_ms = 0;
  std::int64_t expires_ms = 0;  ///< absolute expiry
  bool revoked = false;
};

/** Revoked, past its absolute expiry, idle for `idle_ms` or more, or valid. */
SessionState session_state(const SessionTimes& s, std::int64_t now_ms, std::int64_t idle_ms);

}  // namespace pushgate::auth
