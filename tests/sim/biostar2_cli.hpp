#pragma once

// `pushgate-sim biostar2 ...`: runs one simulated BioStar 2 server
// (biostar2_server.hpp) until SIGINT/SIGTERM. parse_biostar2_command_line is
// pure; run_biostar2 blocks.

#include <iosfwd>
#include <string>
#include <vector>

#include "tests/sim/biostar2_server.hpp"

namespace pushgate::sim::biostar2 {

struct BioStar2Cli {
  BioStar2Config server;
  double events_per_second = 0;  // 0: no generated events
  std::size_t events = 0;        // with a rate: how many (0: unlimited)
  std::uint64_t seed = 1;
  std::string cert_out;  // where the certificate PEM is written (empty: a temp file)
};

struct BioStar2CliParse {
  bool ok = false;
  bool help = false;
  std::string error;
  BioStar2Cli cli;
};

/// Parses the arguments after "biostar2". `--flag value` and `--flag=value`.
BioStar2CliParse parse_biostar2_command_line(const std::vector<std::string>& args);

std::string biostar2_usage();

/// Starts the server, prints "listening https://127.0.0.1:<port> cert=<file>"
/// (or "listening http://127.0.0.1:<port>") on `out`, runs until
/// SIGINT/SIGTERM, prints "stopped: <n> events"; returns the exit status.
int run_biostar2(const BioStar2Cli& cli, std::ostream& out, std::ostream& err);

}  // namespace pushgate::sim::biostar2
