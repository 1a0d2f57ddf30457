#pragma once

// The account and TLS keys every vendor link shares (a Dahua device, a
// BioStar 2 server, ...): `password` or `password_file`, `https`, `ca_file`.
// One set of rules, so a site's secrets are checked the same way whatever
// vendor they belong to.

#include <string>
#include <vector>

#include "gateway/config/config.hpp"

namespace pushgate::config {

/**
 * Reads a secret from the first line of `path` (trailing CR and spaces cut)
 * into `out`. The file must be a regular file that neither group nor others
 * may read or write: it holds an admin password of a door controller.
 * Returns "" or the problem, naming the file ("... may be read or written by
 * group or others (chmod 600 it)", "... is empty", "cannot read ...").
 * `out` is left alone on a problem.
 */
std::string read_secret_file(const std::string& path, std::string& out);

/** A vendor link's account and TLS keys as configured. */
struct DeviceAccess {
  std::string password;       ///< inline, or read from password_file by check_device_access()
  std::string password_file;  ///< a file readable only by the service
  bool https = false;
  std::string ca_file;  ///< with https: the CA to verify the peer against
};

/**
 * The checks of a link's keys, each error named `<prefix>.<key>`: exactly
 * one of password and password_file; the file readable only by its owner
 * (read into `access.password`); ca_file only with https, and readable.
 */
void check_device_access(const std::string& prefix, DeviceAccess& access,
                         std::vector<ConfigError>& errors);

}  // namespace pushgate::config
