#pragma once

// `pushgate-sim dahua ...`: runs one simulated Dahua access controller
// (dahua_device.hpp) until SIGINT/SIGTERM. parse_dahua_command_line is pure;
// run_dahua blocks.

#include <iosfwd>
#include <string>
#include <vector>

#include "tests/sim/dahua_device.hpp"

namespace pushgate::sim::dahua {

struct DahuaCli {
  DahuaDeviceConfig device;
  double events_per_second = 0;  // 0: no generated events
  std::size_t events = 0;        // with a rate: how many (0: unlimited)
  std::size_t alarm_every = 0;
  std::uint64_t seed = 1;
};

struct DahuaCliParse {
  bool ok = false;
  bool help = false;
  std::string error;
  DahuaCli cli;
};

/// Parses the arguments after "dahua". `--flag value` and `--flag=value`.
DahuaCliParse parse_dahua_command_line(const std::vector<std::string>& args);

std::string dahua_usage();

/// Starts the device, prints "listening 127.0.0.1:<port> serial=<serial>" on
/// `out`, runs until SIGINT/SIGTERM; returns the exit status.
int run_dahua(const DahuaCli& cli, std::ostream& out, std::ostream& err);

}  // namespace pushgate::sim::dahua
