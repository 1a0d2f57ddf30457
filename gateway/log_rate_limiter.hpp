#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace pushgate {

/**
 * At most one log line per reason per interval, for lines anyone on the LAN
 * can trigger at will (unknown serials, forged command results): the first
 * line of a reason is logged, the next ones within `interval_ms` are only
 * counted, and the next line logged says how many were suppressed.
 *
 *   if (auto k = limiter.admit("unknown_serial", now_ms)) {
 *     log->info("[sn={}] refused: unknown serial{}", sn, suppressed_note(*k));
 *   }
 *
 * Reasons are chosen by the caller from a small fixed set (never terminal
 * input), so memory stays bounded. Thread-safe.
 */
class LogRateLimiter {
 public:
  explicit LogRateLimiter(std::int64_t interval_ms = 60'000) : interval_ms_(interval_ms) {}

  /**
   * Whether to log a line of `reason` now: the number of lines of that
   * reason suppressed since the last logged one, or nullopt (suppress).
   */
  std::optional<std::size_t> admit(std::string_view reason, std::int64_t now_ms);

 private:
  struct Slot {
    std::int64_t logged_ms = 0;
    std::size_t suppressed = 0;
    bool ever = false;
  };
  std::int64_t interval_ms_;
  std::mutex mutex_;
  std::map<std::string, Slot, std::less<>> slots_;
};

/** "" for 0, else " (K similar lines suppressed)": the tail of a rate-limited line. */
std::string suppressed_note(std::size_t suppressed);

}  // namespace pushgate
