#pragma once

#include <functional>
#include <utility>

namespace pushgate {

/**
 * A registration of a callback with a service (a commit observer, a command
 * pusher). Move-only.
 *
 * Contract: once reset() returns (or the subscription is destroyed), the
 * callback is never called again and no call of it is in progress on
 * another thread, so the subscriber may free what the callback captures.
 * Resetting from inside the callback itself (on the service's thread) does
 * not wait for the call in progress, which is the caller's own. Never reset
 * while holding a lock the callback takes: that call could never finish.
 */
class Subscription {
 public:
  Subscription() = default;
  /** `cancel` unregisters the callback with the guarantee above; called once. */
  explicit Subscription(std::function<void()> cancel) : cancel_(std::move(cancel)) {}
  Subscription(Subscription&& other) noexcept : cancel_(std::exchange(other.cancel_, nullptr)) {}
  Subscription& operator=(Subscription&& other) noexcept {
    if (this != &other) {
      reset();
      cancel_ = std::exchange(other.cancel_, nullptr);
    }
    return *this;
  }
  Subscription(const Subscription&) = delete;
  Subscription& operator=(const Subscription&) = delete;
  ~Subscription() { reset(); }

  /** Unsubscribes now; a no-op when already reset, moved from or empty. */
  void reset() {
    if (auto cancel = std::exchange(cancel_, nullptr)) {
      cancel();
    }
  }
  bool active() const noexcept { return static_cast<bool>(cancel_); }
  explicit operator bool() const noexcept { return active(); }

 private:
  std::function<void()> cancel_;
};

}  // namespace pushgate
