#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include <spdlog/logger.h>

namespace pushgate {

/** The components that log, each with its own named logger and level. */
enum class Component { Main, Store, Http, Zkpush, Api, Commands, Mqtt, Modbus, Rules, Config };

std::string_view to_string(Component c) noexcept;

/**
 * The named logger of a component ("zkpush", "store", …), created on first
 * use. Fetch once and keep the pointer. Lines about a device start with
 * `[sn=…]`; lines about a command with `[cmd=…]`.
 */
std::shared_ptr<spdlog::logger> logger(Component c);

/**
 * Sets up logging for the daemon: one line per message on stderr, in a form
 * journald keeps well (no colours, no timestamps when run under systemd —
 * the journal adds its own — and an `<N>` syslog priority prefix there).
 * `levels` is the global level plus per-component overrides such as
 * "info" and "zkpush=debug,store=warn". Returns a message on a bad level.
 */
std::string configure_logging(std::string_view level, std::string_view component_levels,
                              bool under_systemd);

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
