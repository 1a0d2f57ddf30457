#pragma once

// The access.* configuration keys (and gateway.timezone) as the access
// service takes them; the keys and their defaults are described in the
// config schema.

#include <string>
#include <vector>

namespace pushgate::config {
class Config;
}  // namespace pushgate::config

namespace pushgate::access {

/** When a decision's answer waits for its commit (access.wait_for_commit). */
enum class WaitForCommit {
  None,  ///< every answer at once; the terminal's own record restores a lost move (the default)
  Apb,   ///< grants that move a user for anti-passback wait (one fsync each; README, durability)
  All,   ///< every decision: its Decision event is on disk before the terminal hears it
};

struct ServiceOptions {
  std::string timezone;  ///< gateway.timezone: the site's wall time for time zones ("" = system)
  bool import_users = true;        ///< access.import_users
  std::vector<int> import_levels;  ///< access.import_levels
  WaitForCommit wait = WaitForCommit::None;
};

/** Reads the access.* keys and gateway.timezone; throws std::runtime_error naming a bad key. */
ServiceOptions options_from_config(const config::Config& config);

}  // namespace pushgate::access
