#pragma once

// Deterministic attendance punches for one simulated terminal.
//
// The same (seed, terminal index) always yields the same sequence, on every
// machine (a fixed splitmix64, not std:: distributions whose output is
// implementation-defined). Times strictly increase, so (PIN, time) is unique
// within a terminal: a server that stores a punch twice, or loses one, shows
// up as a mismatch against the ledger.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "tests/sim/attendance_protocol.hpp"

namespace pushgate::sim {

struct GeneratorConfig {
  /// PINs are drawn from "1".."users".
  std::size_t users = 50;
  /// The first punch is at this local time plus up to one day of the seed.
  /// A fixed date keeps the records identical from run to run (unit tests);
  /// pushgate-sim dates its punches from the clock instead
  /// (generator_start_for_now()).
  LocalSeconds start =
      LocalSeconds{std::chrono::sys_days{std::chrono::year{2024} / std::chrono::January / 8}
                       .time_since_epoch()} +
      std::chrono::hours{7};
  /// Gap between two punches: 1..max_gap seconds.
  std::chrono::seconds max_gap{240};
};

/// The local wall clock of this host (the site's time, as a terminal on the
/// site shows it), to the second.
LocalSeconds host_local_now();

/// A `start` for `count` punches that end no later than `now`: the first
/// lands within the day before the last ones, the last at about `now` at the
/// latest. Punches dated like this fall in the attendance window, as a real
/// terminal's do.
LocalSeconds generator_start_for_now(LocalSeconds now, std::size_t count,
                                     const GeneratorConfig& config);

class RecordGenerator {
 public:
  RecordGenerator(std::uint64_t seed, std::uint64_t terminal_index, GeneratorConfig config = {});

  /// The next punch. `index` counts from 1 like the SpeedFace log index.
  AttendanceRecord next();

  /// `count` punches in a row.
  std::vector<AttendanceRecord> take(std::size_t count);

 private:
  std::uint64_t next_u64();
  std::uint64_t below(std::uint64_t bound);

  GeneratorConfig config_;
  std::uint64_t state_;
  LocalSeconds time_;
  std::uint64_t index_ = 0;
};

}  // namespace pushgate::sim
