#pragma once

#include <chrono>
#include <cstdint>

namespace pushgate {

/**
 * The source of time for everything that decides by time (rules, command
 * expiry, timeouts recorded in the store). Production uses SystemClock;
 * tests use a FakeClock so no test reads the wall clock.
 *
 * Thread-safety: implementations must be safe to call from any thread.
 */
class Clock {
 public:
  virtual ~Clock() = default;
  /** Wall-clock time (UTC). */
  virtual std::chrono::system_clock::time_point now() const = 0;
  /** Monotonic time, for durations and deadlines. */
  virtual std::chrono::steady_clock::time_point monotonic() const = 0;

  /** Milliseconds since the Unix epoch, the unit every stored time uses. */
  std::int64_t now_ms() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(now().time_since_epoch()).count();
  }
};

class SystemClock final : public Clock {
 public:
  std::chrono::system_clock::time_point now() const override {
    return std::chrono::system_clock::now();
  }
  std::chrono::steady_clock::time_point monotonic() const override {
    return std::chrono::steady_clock::now();
  }
};

}  // namespace pushgate
