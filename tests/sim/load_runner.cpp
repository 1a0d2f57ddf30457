#include "tests/sim/load_runner.hpp"

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <cinttypes>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "tests/sim/ledger.hpp"
#include "tests/sim/record_generator.hpp"

namespace pushgate::sim {

namespace net = boost::asio;

namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr std::chrono::seconds kDefaultUntilAckedLimit{600};
constexpr std::chrono::milliseconds kSamplePeriod{50};

// Distinct, stable MAC and IP per terminal, so servers keying on them see
// different devices.
DeviceProfile profile_for(const LoadConfig& config, std::size_t index) {
  DeviceProfile p;
  p.language = config.language;
  char mac[32];
  std::snprintf(mac, sizeof mac, "00:17:61:%02zx:%02zx:%02zx", (index >> 16) & 0xff,
                (index >> 8) & 0xff, index & 0xff);
  p.mac = mac;
  char ip[32];
  std::snprintf(ip, sizeof ip, "10.%zu.%zu.%zu", (index >> 16) & 0xff, (index >> 8) & 0xff,
                (index & 0xff) + 1);
  p.ip_address = ip;
  return p;
}

struct Totals {
  TerminalStats sum;
  std::size_t online = 0;
  bool ledger_failed = false;
};

Totals collect(const std::vector<std::shared_ptr<AttendanceTerminal>>& terminals) {
  Totals t;
  for (const auto& terminal : terminals) {
    const TerminalStats s = terminal->stats();
    t.sum.records_generated += s.records_generated;
    t.sum.records_acked += s.records_acked;
    t.sum.records_pending += s.records_pending;
    t.sum.records_cleared += s.records_cleared;
    t.sum.requests_sent += s.requests_sent;
    t.sum.failures_transport += s.failures_transport;
    t.sum.failures_status += s.failures_status;
    t.sum.failures_body += s.failures_body;
    t.sum.injected_faults += s.injected_faults;
    t.sum.handshakes_ok += s.handshakes_ok;
    t.sum.polls += s.polls;
    t.sum.commands_executed += s.commands_executed;
    t.sum.duplicate_batches_sent += s.duplicate_batches_sent;
    t.sum.bad_lines_sent += s.bad_lines_sent;
    t.sum.protocol_problems += s.protocol_problems;
    t.online += s.online ? 1 : 0;
    t.sum.last_ack = std::max(t.sum.last_ack, s.last_ack);
    t.ledger_failed = t.ledger_failed || s.ledger_failed;
  }
  return t;
}

double percentile_ms(const std::vector<std::chrono::microseconds>& sorted, double p) {
  if (sorted.empty()) {
    return 0;
  }
  const auto rank = static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1) + 0.5);
  return static_cast<double>(sorted[std::min(rank, sorted.size() - 1)].count()) / 1000.0;
}

}  // namespace

LoadRunner::LoadRunner(LoadConfig config) : config_(std::move(config)) {}

LoadSummary LoadRunner::run(std::ostream* progress) {
  LoadSummary summary;
  summary.terminals = config_.terminals;
  summary.ledger_path = config_.ledger_path;

  // Declared before the io_context so it is destroyed after it; every job is
  // complete by then (jobs hold tracked work, so run() waits for them).
  std::unique_ptr<Ledger> ledger;
  if (!config_.ledger_path.empty()) {
    ledger = Ledger::open(config_.ledger_path, summary.error);
    if (!ledger) {
      summary.exit_code = 1;
      return summary;
    }
  }
  std::unique_ptr<RequestGate> gate;
  if (config_.concurrency > 0) {
    gate = std::make_unique<RequestGate>(config_.concurrency);
  }

  net::io_context ioc(static_cast<int>(config_.threads));
  std::mutex log_mutex;
  std::vector<std::shared_ptr<AttendanceTerminal>> terminals;
  terminals.reserve(config_.terminals);
  // Punches end at about now on the site's clock unless --start fixed them.
  const LocalSeconds run_now = host_local_now();
  for (std::size_t i = 0; i < config_.terminals; ++i) {
    AttendanceTerminalConfig tc;
    tc.serial_number = terminal_serial(config_, i);
    tc.http.host = config_.host;
    tc.http.port = config_.port;
    tc.http.timeout = config_.request_timeout;
    tc.profile = profile_for(config_, i);
    tc.batch_size = config_.batch;
    tc.query_pack_size = config_.batch;
    tc.attlog_fields = config_.attlog_fields;
    tc.poll_interval = config_.poll;
    tc.error_delay = config_.error_delay;
    tc.start_delay = std::chrono::milliseconds{
        config_.terminals > 1 ? config_.ramp.count() * static_cast<std::int64_t>(i) /
                                    static_cast<std::int64_t>(config_.terminals)
                              : 0};
    tc.force_realtime = config_.force_realtime;
    tc.boot_operlog = config_.operlog;
    tc.keep_acked_lines = false;  // the ledger is the record of a load run
    tc.faults = config_.faults;
    tc.ledger = ledger.get();
    tc.gate = gate.get();
    if (config_.verbose) {
      tc.log = [&log_mutex](std::string_view line) {
        std::lock_guard lock(log_mutex);
        std::cerr << line << '\n';
      };
    }
    auto terminal = AttendanceTerminal::create(ioc, std::move(tc));
    const GeneratorConfig gc = generator_config(config_, run_now);
    terminal->add_records(RecordGenerator(config_.seed, i, gc).take(config_.records_per_terminal));
    terminals.push_back(std::move(terminal));
  }

  net::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([this](boost::system::error_code ec, int) {
    if (!ec) {
      request_stop();
    }
  });

  const auto started = SteadyClock::now();
  for (const auto& t : terminals) {
    t->start();
  }
  std::vector<std::thread> threads;
  for (unsigned i = 0; i < config_.threads; ++i) {
    threads.emplace_back([&ioc] { ioc.run(); });
  }

  const auto limit = config_.duration.value_or(kDefaultUntilAckedLimit);
  auto last_report = started;
  auto finished_at = started;
  std::uint64_t last_acked = 0;
  for (;;) {
    std::this_thread::sleep_for(kSamplePeriod);
    const auto now = SteadyClock::now();
    const Totals totals = collect(terminals);
    finished_at = now;
    if (config_.until_acked && totals.sum.records_pending == 0) {
      summary.all_acked = true;
      break;
    }
    if (totals.ledger_failed) {
      break;
    }
    if (stop_requested_) {
      summary.interrupted = true;
      break;
    }
    if (now - started >= limit) {
      break;
    }
    if (progress != nullptr && config_.report_interval.count() > 0 &&
        now - last_report >= config_.report_interval) {
      const double t = std::chrono::duration<double>(now - started).count();
      const double window = std::chrono::duration<double>(now - last_report).count();
      const auto& s = totals.sum;
      char line[256];
      std::snprintf(line, sizeof line,
                    "[%7.1fs] acked %" PRIu64 "/%" PRIu64
                    " (%.1f%%)  %.0f rec/s  online %zu/%zu  "
                    "failures %" PRIu64 "\n",
                    t, s.records_acked, s.records_generated,
                    s.records_generated ? 100.0 * static_cast<double>(s.records_acked) /
                                              static_cast<double>(s.records_generated)
                                        : 100.0,
                    static_cast<double>(s.records_acked - last_acked) / window, totals.online,
                    terminals.size(), s.failures());
      *progress << line << std::flush;
      last_report = now;
      last_acked = s.records_acked;
    }
  }

  for (const auto& t : terminals) {
    t->stop();
  }
  signals.cancel();
  for (auto& th : threads) {
    th.join();
  }

  const Totals totals = collect(terminals);
  const auto& s = totals.sum;
  summary.records_generated = s.records_generated;
  summary.records_acked = s.records_acked;
  summary.records_pending = s.records_pending;
  summary.records_cleared = s.records_cleared;
  summary.all_acked = s.records_pending == 0;
  // A run that ends on its last acknowledgement is measured to it, not to the
  // next sample of the counters.
  const auto end = summary.all_acked && s.last_ack > started ? s.last_ack : finished_at;
  summary.elapsed_seconds = std::chrono::duration<double>(end - started).count();
  summary.records_per_second = summary.elapsed_seconds > 0
                                   ? static_cast<double>(s.records_acked) / summary.elapsed_seconds
                                   : 0;
  summary.requests = s.requests_sent;
  summary.failures_transport = s.failures_transport;
  summary.failures_status = s.failures_status;
  summary.failures_body = s.failures_body;
  summary.injected_faults = s.injected_faults;
  summary.handshakes = s.handshakes_ok;
  summary.polls = s.polls;
  summary.commands = s.commands_executed;
  summary.duplicate_batches = s.duplicate_batches_sent;
  summary.bad_lines = s.bad_lines_sent;
  summary.protocol_problems = s.protocol_problems;
  summary.ledger_failed = totals.ledger_failed;

  std::vector<std::chrono::microseconds> latencies;
  for (const auto& t : terminals) {
    const auto l = t->upload_latencies();
    latencies.insert(latencies.end(), l.begin(), l.end());
  }
  std::sort(latencies.begin(), latencies.end());
  summary.uploads_acked = latencies.size();
  summary.latency_p50_ms = percentile_ms(latencies, 0.50);
  summary.latency_p90_ms = percentile_ms(latencies, 0.90);
  summary.latency_p99_ms = percentile_ms(latencies, 0.99);
  summary.latency_max_ms = percentile_ms(latencies, 1.0);

  terminals.clear();
  if (ledger) {
    summary.ledger_lines = ledger->lines_written();
    summary.ledger_syncs = ledger->syncs();
    summary.ledger_failed = summary.ledger_failed || ledger->failed();
  }

  if (summary.ledger_failed) {
    summary.exit_code = 3;
  } else if (summary.interrupted) {
    summary.exit_code = 130;
  } else if (config_.until_acked && !summary.all_acked) {
    summary.exit_code = 2;
  } else {
    summary.exit_code = 0;
  }
  return summary;
}

std::string format_summary(const LoadSummary& s) {
  char buf[2048];
  const double pct = s.records_generated ? 100.0 * static_cast<double>(s.records_acked) /
                                               static_cast<double>(s.records_generated)
                                         : 100.0;
  int n = std::snprintf(
      buf, sizeof buf,
      "terminals          %zu\n"
      "records            %" PRIu64 " generated, %" PRIu64 " acked (%.1f%%), %" PRIu64
      " pending, %" PRIu64
      " cleared by command\n"
      "elapsed            %.2f s\n"
      "throughput         %.0f records/s acknowledged\n"
      "requests           %" PRIu64 " sent, %" PRIu64 " handshakes, %" PRIu64 " polls, %" PRIu64
      " commands executed\n"
      "failures           %" PRIu64 " (transport %" PRIu64 ", http status %" PRIu64
      ", body not OK %" PRIu64 "), injected faults %" PRIu64
      "\n"
      "faults sent        %" PRIu64 " duplicate batches, %" PRIu64
      " bad lines\n"
      "protocol problems  %" PRIu64
      "\n"
      "upload latency     p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms (%" PRIu64
      " acked uploads)\n",
      s.terminals, s.records_generated, s.records_acked, pct, s.records_pending, s.records_cleared,
      s.elapsed_seconds, s.records_per_second, s.requests, s.handshakes, s.polls, s.commands,
      s.failures_transport + s.failures_status + s.failures_body, s.failures_transport,
      s.failures_status, s.failures_body, s.injected_faults, s.duplicate_batches, s.bad_lines,
      s.protocol_problems, s.latency_p50_ms, s.latency_p90_ms, s.latency_p99_ms, s.latency_max_ms,
      s.uploads_acked);
  std::string out(buf, static_cast<std::size_t>(std::max(n, 0)));
  if (!s.ledger_path.empty()) {
    n = std::snprintf(buf, sizeof buf,
                      "ledger             %s: %" PRIu64 " lines, %" PRIu64 " fsyncs%s\n",
                      s.ledger_path.c_str(), s.ledger_lines, s.ledger_syncs,
                      s.ledger_failed ? ", WRITE FAILED" : "");
    out.append(buf, static_cast<std::size_t>(std::max(n, 0)));
  }
  if (!s.error.empty()) {
    out += "error              " + s.error + "\n";
  }
  const char* result = s.exit_code == 0
                           ? (s.all_acked ? "all records acknowledged" : "duration elapsed")
                       : s.exit_code == 2   ? "NOT all records acknowledged before the limit"
                       : s.exit_code == 3   ? "ledger write failed"
                       : s.exit_code == 130 ? "interrupted"
                                            : "setup failed";
  out +=
      "result             " + std::string(result) + " (exit " + std::to_string(s.exit_code) + ")\n";
  return out;
}

std::string summary_json(const LoadSummary& s) {
  nlohmann::json j = {
      {"terminals", s.terminals},
      {"records_generated", s.records_generated},
      {"records_acked", s.records_acked},
      {"records_pending", s.records_pending},
      {"records_cleared", s.records_cleared},
      {"elapsed_seconds", s.elapsed_seconds},
      {"records_per_second", s.records_per_second},
      {"requests", s.requests},
      {"failures_transport", s.failures_transport},
      {"failures_status", s.failures_status},
      {"failures_body", s.failures_body},
      {"injected_faults", s.injected_faults},
      {"handshakes", s.handshakes},
      {"polls", s.polls},
      {"commands", s.commands},
      {"duplicate_batches", s.duplicate_batches},
      {"bad_lines", s.bad_lines},
      {"protocol_problems", s.protocol_problems},
      {"upload_latency_ms",
       {{"p50", s.latency_p50_ms},
        {"p90", s.latency_p90_ms},
        {"p99", s.latency_p99_ms},
        {"max", s.latency_max_ms},
        {"samples", s.uploads_acked}}},
      {"ledger",
       {{"path", s.ledger_path},
        {"lines", s.ledger_lines},
        {"syncs", s.ledger_syncs},
        {"failed", s.ledger_failed}}},
      {"all_acked", s.all_acked},
      {"interrupted", s.interrupted},
      {"error", s.error},
      {"exit_code", s.exit_code},
  };
  return j.dump(2) + "\n";
}

}  // namespace pushgate::sim
