#include "gateway/auth/limiter.hpp"

#include <algorithm>

namespace pushgate::auth {

std::int64_t LoginLimiter::locked_for(const std::string& key, std::int64_t now_ms) const {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(key);
  if (it == entries_.end() || it->second.locked_until_ms <= now_ms) {
    return 0;
  }
  return it->second.locked_until_ms - now_ms;
}

bool LoginLimiter::failed(const std::string& key, std::int64_t now_ms) {
  std::lock_guard lock(mutex_);
  if (entries_.size() >= options_.max_keys && entries_.find(key) == entries_.end()) {
    // Forget the entry whose failures are oldest (and not locked, when one is).
    auto victim = std::min_element(entries_.begin(), entries_.end(), [&](auto& a, auto& b) {
      bool la = a.second.locked_until_ms > now_ms;
      bool lb = b.second.locked_until_ms > now_ms;
      return la != lb ? !la : a.second.first_ms < b.second.first_ms;
    });
    entries_.erase(victim);
  }
  auto& e = entries_[key];
  if (e.failures == 0 || now_ms - e.first_ms > options_.window_ms ||
      (e.locked_until_ms != 0 && e.locked_until_ms <= now_ms)) {
    e = Entry{0, now_ms, 0};
  }
  ++e.failures;
  if (e.failures >= options_.max_failures && e.locked_until_ms <= now_ms) {
    e.locked_until_ms = now_ms + options_.lockout_ms;
    return true;
  }
  return false;
}

void LoginLimiter::succeeded(const std::string& key) {
  std::lock_guard lock(mutex_);
  entries_.erase(key);
}

SessionState session_state(const SessionTimes& s, std::int64_t now_ms, std::int64_t idle_ms) {
  if (s.revoked) {
    return SessionState::Revoked;
  }
  if (now_ms >= s.expires_ms) {
    return SessionState::Expired;
  }
  if (now_ms - s.last_seen_ms >= idle_ms) {
    return SessionState::IdleExpired;
  }
  return SessionState::Valid;
}

}  // namespace pushgate::auth
