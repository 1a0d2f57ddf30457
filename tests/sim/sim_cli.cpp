#include "tests/sim/sim_cli.hpp"

#include <cstdio>
#include <functional>
#include <limits>
#include <map>
#include <string_view>

#include "tests/sim/push_protocol.hpp"

namespace pushgate::sim {
namespace {

// Reads an unsigned integer in [lo, hi]; false with `error` set otherwise.
bool read_number(std::string_view flag, std::string_view text, std::uint64_t lo, std::uint64_t hi,
                 std::uint64_t& out, std::string& error) {
  const auto value = parse_int(text);
  if (!value || *value < 0 || static_cast<std::uint64_t>(*value) < lo ||
      static_cast<std::uint64_t>(*value) > hi) {
    error = std::string(flag) + ": expected a number in " + std::to_string(lo) + ".." +
            std::to_string(hi) + ", got '" + std::string(text) + "'";
    return false;
  }
  out = static_cast<std::uint64_t>(*value);
  return true;
}

}  // namespace

CliParse parse_command_line(const std::vector<std::string>& args) {
  CliParse out;
  LoadConfig& c = out.config;
  constexpr std::uint64_t kMax32 = std::numeric_limits<std::uint32_t>::max();
  constexpr std::uint64_t kMax64 = std::numeric_limits<std::int64_t>::max();

  // Flags that take a value; each setter validates and stores it.
  using Setter = std::function<bool(std::string_view, std::string_view, std::string&)>;
  const auto number = [](auto& field, std::uint64_t lo, std::uint64_t hi) -> Setter {
    return [&field, lo, hi](std::string_view flag, std::string_view v, std::string& e) {
      std::uint64_t n = 0;
      if (!read_number(flag, v, lo, hi, n, e)) {
        return false;
      }
      field = static_cast<std::remove_reference_t<decltype(field)>>(n);
      return true;
    };
  };
  const auto millis = [](auto& field, std::uint64_t lo) -> Setter {
    return [&field, lo](std::string_view flag, std::string_view v, std::string& e) {
      std::uint64_t n = 0;
      if (!read_number(flag, v, lo, 7 * 24 * 3600 * 1000ULL, n, e)) {
        return false;
      }
      field = std::chrono::milliseconds{n};
      return true;
    };
  };
  const auto text = [](std::string& field) -> Setter {
    return [&field](std::string_view flag, std::string_view v, std::string& e) {
      if (v.empty()) {
        e = std::string(flag) + ": empty value";
        return false;
      }
      field = std::string(v);
      return true;
    };
  };

  std::uint64_t port = 0;
  std::uint64_t duration_s = 0;
  bool duration_set = false;
  const std::map<std::string, Setter, std::less<>> with_value = {
      {"--host", text(c.host)},
      {"--port", number(port, 1, 65535)},
      {"--terminals", number(c.terminals, 1, 100000)},
      {"--records-per-terminal", number(c.records_per_terminal, 0, 100'000'000)},
      {"--batch", number(c.batch, 1, 100000)},
      {"--sn-prefix", text(c.sn_prefix)},
      {"--users", number(c.users, 1, 1'000'000)},
      {"--seed", number(c.seed, 0, kMax64)},
      {"--attlog-fields", number(c.attlog_fields, kMinAttlogFields, kSpeedFaceAttlogFields)},
      {"--language", number(c.language, 0, 1000)},
      {"--poll-ms", millis(c.poll, 1)},
      {"--error-delay-ms", millis(c.error_delay, 1)},
      {"--request-timeout-ms", millis(c.request_timeout, 1)},
      {"--ramp-ms", millis(c.ramp, 0)},
      {"--concurrency", number(c.concurrency, 0, 1'000'000)},
      {"--threads", number(c.threads, 1, 64)},
      {"--duration",
       [&](std::string_view f, std::string_view v, std::string& e) {
         duration_set = true;
         return read_number(f, v, 1, 365ULL * 24 * 3600, duration_s, e);
       }},
      // --timeout is the limit of an --until-acked run, so it implies it.
      {"--timeout",
       [&](std::string_view f, std::string_view v, std::string& e) {
         duration_set = true;
         c.until_acked = true;
         return read_number(f, v, 1, 365ULL * 24 * 3600, duration_s, e);
       }},
      {"--start",
       [&c](std::string_view f, std::string_view v, std::string& e) {
         c.start = parse_local_time(v);
         if (!c.start) {
           e = std::string(f) + ": expected a local time 'YYYY-MM-DD HH:MM:SS', got '" +
               std::string(v) + "'";
           return false;
         }
         return true;
       }},
      {"--ledger", text(c.ledger_path)},
      {"--report-ms", millis(c.report_interval, 0)},
      {"--fault-drop-every", number(c.faults.drop_mid_request_every, 0, kMax32)},
      {"--fault-lose-ack-every", number(c.faults.lose_response_every, 0, kMax32)},
      {"--fault-duplicate-every", number(c.faults.duplicate_batch_every, 0, kMax32)},
      {"--fault-bad-line-every", number(c.faults.bad_line_every, 0, kMax32)},
  };
  const std::map<std::string, bool*, std::less<>> switches = {
      {"--until-acked", &c.until_acked},
      {"--operlog", &c.operlog},
      {"--force-realtime", &c.force_realtime},
      {"--json", &c.json},
      {"--verbose", &c.verbose},
  };

  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    if (arg == "--help" || arg == "-h") {
      out.help = true;
      out.ok = true;
      return out;
    }
    std::string_view value;
    bool inline_value = false;
    if (const auto eq = arg.find('='); eq != std::string_view::npos && arg.substr(0, 2) == "--") {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      inline_value = true;
    }
    if (const auto sw = switches.find(arg); sw != switches.end()) {
      if (inline_value) {
        out.error = std::string(arg) + " takes no value";
        return out;
      }
      *sw->second = true;
      continue;
    }
    const auto setter = with_value.find(arg);
    if (setter == with_value.end()) {
      out.error = "unknown argument '" + std::string(args[i]) + "' (see --help)";
      return out;
    }
    if (!inline_value) {
      if (i + 1 >= args.size()) {
        out.error = std::string(arg) + ": missing value";
        return out;
      }
      value = args[++i];
    }
    if (!setter->second(arg, value, out.error)) {
      return out;
    }
  }
  if (port == 0) {
    out.error = "--port is required";
    return out;
  }
  c.port = static_cast<std::uint16_t>(port);
  if (duration_set) {
    c.duration = std::chrono::seconds{duration_s};
  }
  if (!c.until_acked && !c.duration) {
    // Without a bound the run would never end: default to the useful one.
    c.until_acked = true;
  }
  out.ok = true;
  return out;
}

GeneratorConfig generator_config(const LoadConfig& config, LocalSeconds now) {
  GeneratorConfig gc;
  gc.users = config.users;
  gc.start =
      config.start ? *config.start : generator_start_for_now(now, config.records_per_terminal, gc);
  return gc;
}

std::string terminal_serial(const LoadConfig& config, std::size_t index) {
  char digits[24];
  std::snprintf(digits, sizeof digits, "%05zu", index + 1);
  return config.sn_prefix + digits;
}

std::string usage() {
  return R"(usage: pushgate-sim --port N [options]

Simulates many ZKTeco attendance terminals (PUSH 2.4.1, SpeedFace-V5L shape)
against a PUSH server and reports what was acknowledged.
(pushgate-sim dahua --help: one simulated Dahua access controller instead.)

server
  --host H                  server address (default 127.0.0.1)
  --port N                  server port (required)
  --request-timeout-ms MS   connect+write+read limit per request (default 30000)

terminals and records
  --terminals N             terminals to run (default 1)
  --records-per-terminal N  punches generated per terminal (default 100)
  --batch N                 ATTLOG lines per upload (default 500)
  --sn-prefix P             serial numbers are P00001, P00002, ... (default SIM)
  --users N                 PIN pool per terminal, PINs 1..N (default 50)
  --seed N                  record generation seed (default 1); same seed, same records
                            (with --start: same dates too)
  --start "Y-M-D H:M:S"     date the first punches from this local time (within a
                            day after it); default: punches spread over the day
                            before now (this host's clock), so they show in the
                            gateway's attendance window
  --attlog-fields N         fields per ATTLOG line, 2..10 (default 10, as captured)
  --language N              handshake language= (default 69, English)
  --operlog                 upload the startup OPLOG line after each boot
  --force-realtime          upload at once even if the server says Realtime=0

timing
  --poll-ms MS              getrequest interval, overrides the server's Delay
  --error-delay-ms MS       retry delay after a failure, overrides ErrorDelay
  --ramp-ms MS              spread terminal boots over MS (default 0)
  --concurrency N           max requests in flight over all terminals (0: no limit)
  --threads N               io_context threads (default 1)

run length (without either flag: --until-acked)
  --until-acked             stop once every record is acknowledged (exit 0)
  --timeout S               limit of an --until-acked run (default 600); reaching
                            it exits 2. Implies --until-acked
  --duration S              run S seconds, then report (exit 0); with
                            --until-acked it is the same as --timeout

crash testing
  --ledger FILE             append "<sn>\t<line>" per acknowledged ATTLOG line and
                            fsync it before counting the record acknowledged
  --fault-drop-every N      cut every Nth request of a terminal mid-request
  --fault-lose-ack-every N  send every Nth request whole but never read the answer
  --fault-duplicate-every N resend every Nth acknowledged batch once more
  --fault-bad-line-every N  put one unparsable line in every Nth batch

output
  --report-ms MS            progress line interval on stderr (default 1000, 0: off)
  --json                    print the final figures as JSON
  --verbose                 log every retry and protocol problem to stderr

exit status: 0 done (all acknowledged, or --duration elapsed), 1 usage or setup
error, 2 not all acknowledged before the limit, 3 ledger write failed,
130 interrupted (SIGINT/SIGTERM).
)";
}

}  // namespace pushgate::sim
