#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pushgate {

/**
 * Named on/off outputs that rules drive and sinks expose: a linkage rule's
 * "sound the siren" action sets `siren`; the Modbus server shows it as a
 * discrete input, MQTT publishes it. The names are declared once from the
 * config (`outputs.names`) so their positions (Modbus addresses) are stable.
 *
 * Thread-safe: rules run on the writer/io threads, sinks read from theirs.
 * Observers run on the caller's thread after the lock is released.
 */
class Outputs {
 public:
  /** The most outputs a site can declare (the Modbus block is this long). */
  static constexpr std::size_t kMax = 32;

  struct State {
    bool on = false;
    std::int64_t changed_ms = 0;  ///< when it last changed (0: never)
    std::int64_t until_ms = 0;    ///< a pulse turns off at this time (0: no pulse)
    std::uint64_t changes = 0;    ///< how many times it changed
  };
  using Observer = std::function<void(std::size_t index, const std::string& name, const State&)>;

  Outputs() = default;
  /** Declares the outputs in order; names past kMax or repeated are ignored. */
  explicit Outputs(const std::vector<std::string>& names);

  /** Position of `name`, or nullopt when it was not declared. */
  std::optional<std::size_t> index(std::string_view name) const;
  std::size_t size() const noexcept { return names_.size(); }
  const std::vector<std::string>& names() const noexcept { return names_; }

  /** Sets an output on or off (a pending pulse is cancelled). False when undeclared. */
  bool set(std::string_view name, bool on, std::int64_t now_ms);
  /** On now, off at `now_ms + duration_ms` (applied by tick). False when undeclared. */
  bool pulse(std::string_view name, std::int64_t duration_ms, std::int64_t now_ms);
  /** Ends pulses that are due. Call about once a second. */
  void tick(std::int64_t now_ms);

  std::optional<State> get(std::string_view name) const;
  State at(std::size_t index) const;
  void add_observer(Observer observer);

 private:
  struct Change {
    std::size_t index;
    State state;
  };
  void notify(const std::vector<Change>& changes);

  std::vector<std::string> names_;
  mutable std::mutex mutex_;
  std::vector<State> states_;
  std::vector<Observer> observers_;
};

}  // namespace pushgate
