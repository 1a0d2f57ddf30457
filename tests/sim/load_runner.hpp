#pragma once

// Runs many simulated attendance terminals on one io_context and measures
// them: the body of `pushgate-sim`, usable in-process by tests too.
//
// Threading: run() blocks the calling thread, which only samples counters;
// the terminals run on `threads` io_context threads. request_stop() is
// thread-safe; SIGINT/SIGTERM call it during run().

#include <atomic>
#include <chrono>
#include <cstdint>
#include <ostream>
#include <string>

#include "tests/sim/sim_cli.hpp"

namespace pushgate::sim {

/// The figures of one run.
struct LoadSummary {
  std::size_t terminals = 0;
  std::uint64_t records_generated = 0;
  std::uint64_t records_acked = 0;
  std::uint64_t records_pending = 0;
  std::uint64_t records_cleared = 0;
  double elapsed_seconds = 0;     // start to end of run (or to the last ack)
  double records_per_second = 0;  // acknowledged records / elapsed
  std::uint64_t requests = 0;
  std::uint64_t failures_transport = 0;
  std::uint64_t failures_status = 0;
  std::uint64_t failures_body = 0;
  std::uint64_t injected_faults = 0;
  std::uint64_t handshakes = 0;
  std::uint64_t polls = 0;
  std::uint64_t commands = 0;
  std::uint64_t duplicate_batches = 0;
  std::uint64_t bad_lines = 0;
  std::uint64_t protocol_problems = 0;
  std::uint64_t uploads_acked = 0;  // latency samples
  double latency_p50_ms = 0;
  double latency_p90_ms = 0;
  double latency_p99_ms = 0;
  double latency_max_ms = 0;
  std::string ledger_path;
  std::uint64_t ledger_lines = 0;
  std::uint64_t ledger_syncs = 0;
  bool ledger_failed = false;
  bool all_acked = false;
  bool interrupted = false;
  std::string error;  // setup failure (ledger cannot be opened, ...)
  int exit_code = 0;
};

class LoadRunner {
 public:
  explicit LoadRunner(LoadConfig config);

  /// Runs the whole load; progress lines go to `progress` when not null.
  LoadSummary run(std::ostream* progress);

  /// Ends run() early (exit code 130). Thread-safe.
  void request_stop() { stop_requested_ = true; }

 private:
  LoadConfig config_;
  std::atomic<bool> stop_requested_{false};
};

/// Human-readable figures, one fact per line.
std::string format_summary(const LoadSummary& summary);

/// The same figures as one JSON object.
std::string summary_json(const LoadSummary& summary);

}  // namespace pushgate::sim
