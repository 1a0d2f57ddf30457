#pragma once

// Command line of `pushgate-sim`, the load generator: a pure parser from
// arguments to a LoadConfig, and the usage text. No I/O.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tests/sim/attendance_terminal.hpp"
#include "tests/sim/record_generator.hpp"

namespace pushgate::sim {

/// Everything a load run needs; defaults are the CLI defaults.
struct LoadConfig {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;  // required
  std::size_t terminals = 1;
  std::size_t records_per_terminal = 100;
  std::size_t batch = 500;
  std::string sn_prefix = "SIM";
  std::size_t users = 50;  // PIN pool per terminal
  /// --start: date the punches from this local time (fixed, reproducible
  /// dates); unset, they end at about the time of the run (the host's clock).
  std::optional<LocalSeconds> start;
  std::uint64_t seed = 1;
  int attlog_fields = kSpeedFaceAttlogFields;
  int language = 69;
  bool operlog = false;  // boot OPLOG line per terminal
  bool force_realtime = false;
  std::optional<std::chrono::milliseconds> poll;         // overrides Delay
  std::optional<std::chrono::milliseconds> error_delay;  // overrides ErrorDelay
  std::chrono::milliseconds request_timeout{30000};
  std::chrono::milliseconds ramp{0};  // spread terminal boots over this time
  std::size_t concurrency = 0;        // max requests in flight overall, 0: unlimited
  unsigned threads = 1;               // io_context threads
  /// Stop as soon as every generated record is acknowledged.
  bool until_acked = false;
  /// Hard limit of the run; with --until-acked the default is 600 s and
  /// reaching it is a failure (exit 2).
  std::optional<std::chrono::seconds> duration;
  std::string ledger_path;
  FaultPlan faults;
  std::chrono::milliseconds report_interval{1000};  // progress lines, 0: none
  bool json = false;
  bool verbose = false;
};

struct CliParse {
  bool ok = false;
  bool help = false;
  std::string error;
  LoadConfig config;
};

/// Parses the arguments after argv[0]. Accepts `--flag value` and
/// `--flag=value`. Unknown flags, missing values and out-of-range numbers are
/// errors (the run never starts on a guess).
CliParse parse_command_line(const std::vector<std::string>& args);

/// The --help text.
std::string usage();

/// How the punches of a run are generated: from `config.start` when given,
/// else ending at about `now` (the host's clock, host_local_now()).
GeneratorConfig generator_config(const LoadConfig& config, LocalSeconds now);

/// The serial number of terminal `index` (0-based): prefix + 5+ digits.
std::string terminal_serial(const LoadConfig& config, std::size_t index);

}  // namespace pushgate::sim
