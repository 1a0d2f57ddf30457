#pragma once
// [dahua] and [dahua.devices."name"]: the Dahua adapter's keys, read once
// into plain values, and the checks the schema cannot make (a host, a
// password or a password file only the service can read, the door map).

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "gateway/config/config.hpp"

namespace pushgate::adapters::dahua {

/** How a device's times are read (dahua.devices.*.time_policy). */
enum class TimePolicy {
  Utc,    ///< RealUTC / UTC / epoch CreateTime are true UTC (the documented meaning)
  Local,  ///< the epoch fields hold the device's wall time: read them in the terminal's zone
};

/** How the gateway gets a device's events (dahua.devices.*.mode). */
enum class Mode { Pull, Push, Both };

struct DeviceConfig {
  std::string name;  ///< the table name in [dahua.devices."name"]
  std::string host;
  std::uint16_t port = 80;  ///< the key, else 80 / 443
  bool https = false;
  std::string ca_file;
  std::string user;
  std::string password;       ///< the key, or read from password_file by load_passwords()
  std::string password_file;  ///< "" when the password is inline
  /** Event `Door` (0-based) → gateway door (1-based, the URL channel); empty: Door + 1. */
  std::map<int, int> door_map;
  /**
   * The gateway's time zone id → the device's `TimeSections` value (an
   * AccessTimeSchedule index, 255 = always), from `schedules` "Z=S" entries.
   * Zone 1 is 255 unless listed; an unlisted zone has no schedule.
   */
  std::map<std::int64_t, int> schedules;
  TimePolicy time_policy = TimePolicy::Utc;
  Mode mode = Mode::Pull;
  /** A T&A terminal: its granted passages are also attendance punches. */
  bool attendance = false;

  /** The gateway door of an event's 0-based `Door`. */
  int gateway_door(int event_door) const;
  bool pulls() const noexcept { return mode != Mode::Push; }
  bool pushes() const noexcept { return mode != Mode::Pull; }
};

struct DahuaConfig {
  bool enabled = false;
  int heartbeat_s = 5;
  std::size_t page_size = 100;
  int auth_attempts_per_hour = 2;
  std::chrono::milliseconds reconnect_min{1000};
  std::chrono::milliseconds reconnect_max{60000};
  std::chrono::seconds request_timeout{10};
  std::int64_t backfill_max_age_h = 0;
  std::string push_address = "0.0.0.0";  ///< the push listener (devices with mode push / both)
  std::uint16_t push_port = 8091;
  std::vector<DeviceConfig> devices;

  static void declare(config::Schema& schema);
  /** The values; a door map entry that does not parse is left out (validate() names it). */
  static DahuaConfig from(const config::Config& config);
  /** What start() refuses, one error per key; reads the password files. */
  static std::vector<config::ConfigError> validate(const config::Config& config);
};

/**
 * Reads `device.password_file` into `device.password` when set. Refuses a
 * file that is missing, empty, not a regular file, or readable or writable
 * by group or others (it holds a device's admin password). "" when fine,
 * else one sentence naming the key.
 */
std::string load_password(DeviceConfig& device);

}  // namespace pushgate::adapters::dahua
