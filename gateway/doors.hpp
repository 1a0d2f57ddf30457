#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/clock.hpp"
#include "gateway/event_log.hpp"
#include "gateway/log_rate_limiter.hpp"
#include "gateway/metrics/metrics.hpp"

namespace pushgate {

namespace store {
class Store;
}
namespace api {
class Router;
}
class TerminalRegistry;

/** What a door's contact (door sensor) says. */
enum class DoorSensor {
  None,     ///< no door sensor configured on the device
  Closed,   ///< door closed
  Open,     ///< door open
  Unknown,  ///< the device reported a value it does not define
};

/** The lock relay as the device reports it. */
enum class DoorRelay {
  Connected,     ///< relay contact made (the device's idle state for most locks)
  Disconnected,  ///< relay contact open
};

/** Alarm bits of a door, least significant first; several may be set. */
enum class DoorAlarm : std::uint8_t {
  AccidentalOpen = 0x01,  ///< opened without a passage (forced)
  Tamper = 0x02,
  DuressPassword = 0x04,
  DuressFingerprint = 0x08,
  SensorTimeout = 0x10,  ///< left open too long
  MainsPowerFailure = 0x20,
  BatteryPowerFailure = 0x40,
  ReaderRemoved = 0x80,
};

/** "none", "closed", "open", "unknown": the stored and REST spelling. */
std::string_view to_string(DoorSensor sensor) noexcept;
/** "connected", "disconnected". */
std::string_view to_string(DoorRelay relay) noexcept;
std::optional<DoorSensor> parse_door_sensor(std::string_view text) noexcept;
std::optional<DoorRelay> parse_door_relay(std::string_view text) noexcept;

/** One door's state; a member is empty until a report covered it. */
struct DoorState {
  std::optional<DoorSensor> sensor;
  std::optional<DoorRelay> relay;
  std::optional<std::uint8_t> alarms;  ///< DoorAlarm bits

  bool has_alarm(DoorAlarm alarm) const noexcept {
    return alarms && (*alarms & static_cast<std::uint8_t>(alarm)) != 0;
  }
  bool operator==(const DoorState&) const = default;
};

/** A door of a device: terminal serial and 1-based door number. */
struct DoorRecord {
  std::string terminal;
  int door = 0;
  DoorState state;
  std::int64_t updated_ms = 0;  ///< when the last report covering it was received
};

/**
 * The doors of every device, whatever adapter speaks to it: keyed by
 * (terminal serial, door number), kept in memory and in the door_state
 * table. Adapters report what their devices say (`report`); Modbus, MQTT
 * and the REST route (`GET /api/v1/doors`, registered by `add_routes`)
 * read it.
 *
 * A report goes into the adapter's WriteBatch, so the door's row commits
 * atomically with the request that carried it (the device hears OK only
 * after that). The board in memory is updated when the report is made, so
 * the next report in the same request or the next one sees it and change
 * detection works before the commit lands; a failed commit is healed by the
 * device's next report (the row always gets the latest state).
 *
 * Thread-safe.
 */
class DoorService {
 public:
  DoorService(const TerminalRegistry& terminals, const Clock& clock, metrics::Registry& metrics);

  /** Loads the stored door states. Startup, before adapters; an error in one line. */
  std::string load(store::Store& store);

  /** What a report made of the door. */
  struct Reported {
    DoorState state;       ///< the door's state now (the report merged onto what was known)
    bool changed = false;  ///< differs from what was known, or the first report of it
  };
  /**
   * A device reported door `door` of terminal `sn`: the members of `update`
   * that are set replace the known ones. Adds the door's row to `batch`.
   * Nullopt (counted, logged, nothing added) for an empty serial or a door
   * number outside 1..255.
   */
  std::optional<Reported> report(std::string_view sn, int door, const DoorState& update,
                                 std::int64_t received_ms, WriteBatch& batch);

  /** Every door, by terminal serial then door number. */
  std::vector<DoorRecord> all() const;
  std::optional<DoorRecord> get(std::string_view sn, int door) const;

  /**
   * How long after its last request a terminal counts as offline in
   * GET /api/v1/doors (the adapter knows its devices' poll interval).
   * Default 30 s.
   */
  void set_offline_after(std::chrono::milliseconds window);

  /** GET /api/v1/doors. */
  void add_routes(api::Router& router);

  static constexpr int kMaxDoor = 255;

 private:
  /** Shared with the route (the router outlives the service). */
  struct Board {
    mutable std::mutex mutex;
    std::map<std::string, std::map<int, std::pair<DoorState, std::int64_t>>, std::less<>> doors;
    std::int64_t offline_after_ms = 30'000;
  };

  const TerminalRegistry& terminals_;
  const Clock& clock_;
  metrics::Counter& refused_;
  LogRateLimiter refused_log_;
  std::shared_ptr<Board> board_ = std::make_shared<Board>();
};

}  // namespace pushgate
