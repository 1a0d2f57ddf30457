#pragma once
// [suprema] and [suprema.servers."name"]: the BioStar 2 bridge's keys, read
// once into plain values, and the checks the schema cannot make (a host, a
// password or a password file only the service can read, the TLS choice, the
// door map).

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "gateway/config/config.hpp"

namespace pushgate::adapters::suprema {

/** Where an event's local (wall) time comes from (suprema.servers.*.local_time). */
enum class LocalTimeFrom {
  Device,    ///< the event's `timezone` offset, else the terminal's zone
  Terminal,  ///< always the terminal's zone (terminals.<serial>.timezone / gateway.timezone)
};

struct ServerConfig {
  std::string name;  ///< the table name in [suprema.servers."name"]
  std::string host;
  std::uint16_t port = 443;
  bool https = true;
  std::string ca_file;                ///< PEM to verify the server against ("" : system store)
  bool insecure_skip_verify = false;  ///< no certificate check at all (logged at every start)
  std::string user;
  std::string password;       ///< the key, or read from password_file by load_password()
  std::string password_file;  ///< "" when the password is inline
  /** BioStar door id → gateway door (1..255) on the event's device; unmapped: the id if 1..255. */
  std::map<std::int64_t, int> door_map;
  LocalTimeFrom local_time = LocalTimeFrom::Device;

  /** The gateway door of a BioStar door id; nullopt when it has none. */
  std::optional<int> gateway_door(std::int64_t biostar_door) const;
  /** The BioStar door id of a gateway door (inverse of gateway_door()). */
  std::optional<std::int64_t> biostar_door(int gateway_door) const;
};

struct SupremaConfig {
  bool enabled = false;
  std::size_t page_size = 100;
  std::chrono::seconds auth_retry{300};
  std::chrono::milliseconds reconnect_min{1000};
  std::chrono::milliseconds reconnect_max{60000};
  std::chrono::seconds request_timeout{10};
  std::size_t max_frame_bytes = 256 * 1024;
  std::chrono::seconds resync{60};
  std::int64_t backfill_max_age_h = 0;
  std::vector<ServerConfig> servers;

  static void declare(config::Schema& schema);
  /** The values; a door map entry that does not parse is left out (validate() names it). */
  static SupremaConfig from(const config::Config& config);
  /** What start() refuses, one error per key; reads the password files. */
  static std::vector<config::ConfigError> validate(const config::Config& config);
};

/**
 * Reads `server.password_file` into `server.password` when set. Refuses a
 * file that is missing, empty, not a regular file, or readable or writable
 * by group or others. "" when fine, else one sentence naming the key.
 */
std::string load_password(ServerConfig& server);

}  // namespace pushgate::adapters::suprema
