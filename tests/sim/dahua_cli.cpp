#include "tests/sim/dahua_cli.hpp"

#include <pthread.h>

#include <csignal>
#include <functional>
#include <iostream>
#include <limits>
#include <map>

#include "tests/sim/cli_flags.hpp"

namespace pushgate::sim::dahua {
namespace {

/// "host:port/path" -> PushConfig fields.
bool push_url(const std::string& v, PushConfig& p, std::string& error) {
  std::string rest = v;
  if (rest.rfind("http://", 0) == 0) {
    rest = rest.substr(7);
  }
  const auto slash = rest.find('/');
  const std::string hostport = rest.substr(0, slash);
  p.path = slash == std::string::npos ? "/" : rest.substr(slash);
  const auto colon = hostport.rfind(':');
  std::uint64_t port = 0;
  if (colon == std::string::npos ||
      !cli::parse_number("--push-url", hostport.substr(colon + 1), 1, 65535, port, error)) {
    error = "--push-url: expected http://HOST:PORT/PATH, got '" + v + "'";
    return false;
  }
  p.host = hostport.substr(0, colon);
  p.port = static_cast<std::uint16_t>(port);
  return true;
}

volatile std::sig_atomic_t g_stop = 0;
extern "C" void on_signal(int) {
  g_stop = 1;
}

}  // namespace

DahuaCliParse parse_dahua_command_line(const std::vector<std::string>& args) {
  DahuaCliParse out;
  auto& c = out.cli;
  auto& d = c.device;
  PushConfig push;
  bool push_set = false;
  using cli::Setter;
  const auto text = [](std::string& field) { return cli::text(field); };
  const auto num = [](auto& field, std::uint64_t lo, std::uint64_t hi) {
    return cli::number(field, lo, hi);
  };
  const auto millis = [](std::chrono::milliseconds& field, std::uint64_t lo) -> Setter {
    return [&field, lo](const std::string& f, const std::string& v, std::string& e) {
      std::uint64_t n = 0;
      if (!cli::parse_number(f, v, lo, 7ULL * 24 * 3600 * 1000, n, e)) {
        return false;
      }
      field = std::chrono::milliseconds(n);
      return true;
    };
  };
  std::uint64_t port = 0;
  std::string offset_text;
  std::string rate_text;
  std::string format = "json";
  std::string encoding = "none";
  const cli::Setters with_value = {
      {"--port", num(port, 0, 65535)},
      {"--user", text(d.user)},
      {"--password", text(d.password)},
      {"--serial", text(d.serial)},
      {"--device-type", text(d.device_type)},
      {"--realm", text(d.realm)},
      {"--doors", num(d.doors, 1, 64)},
      {"--clock-offset", text(offset_text)},
      {"--page-cap", num(d.page_cap, 1, 100000)},
      {"--lock-after", num(d.lock_after_failures, 0, 1000)},
      {"--lock-ms", millis(d.lock_duration, 0)},
      {"--nonce-ms", millis(d.nonce_lifetime, 0)},
      {"--nonce-uses", num(d.nonce_max_uses, 0, 1000000)},
      {"--ledger", text(d.ledger_path)},
      {"--events-per-second", text(rate_text)},
      {"--events", num(c.events, 0, 100'000'000)},
      {"--alarm-every", num(c.alarm_every, 0, 1'000'000)},
      {"--seed", num(c.seed, 0, std::numeric_limits<std::int64_t>::max())},
      {"--push-url",
       [&](const std::string&, const std::string& v, std::string& e) {
         push_set = true;
         return push_url(v, push, e);
       }},
      {"--push-format", text(format)},
      {"--push-encoding", text(encoding)},
      {"--push-user", text(push.user)},
      {"--push-password", text(push.password)},
      {"--push-retry-ms", millis(push.retry_interval, 1)},
      {"--push-keepalive-ms", millis(push.keepalive_interval, 0)},
  };
  switch (cli::parse_flags(args, with_value, {{"--old-firmware", [&d] { d.old_firmware = true; }}},
                           "dahua", out.error)) {
    case cli::Parsed::Help:
      out.help = true;
      out.ok = true;
      return out;
    case cli::Parsed::Error:
      return out;
    case cli::Parsed::Ok:
      break;
  }
  d.port = static_cast<std::uint16_t>(port);
  if (!offset_text.empty()) {
    try {
      std::size_t used = 0;
      const long long s = std::stoll(offset_text, &used);
      if (used != offset_text.size()) {
        throw std::invalid_argument("trailing");
      }
      d.clock_offset = std::chrono::seconds(s);
    } catch (const std::exception&) {
      out.error = "--clock-offset: expected signed seconds, got '" + offset_text + "'";
      return out;
    }
  }
  if (!rate_text.empty()) {
    try {
      std::size_t used = 0;
      c.events_per_second = std::stod(rate_text, &used);
      if (used != rate_text.size() || !(c.events_per_second > 0) || c.events_per_second > 100000) {
        throw std::invalid_argument("range");
      }
    } catch (const std::exception&) {
      out.error = "--events-per-second: expected a rate in (0, 100000], got '" + rate_text + "'";
      return out;
    }
  }
  if (format == "json") {
    push.format = PushConfig::Format::Json;
  } else if (format == "text") {
    push.format = PushConfig::Format::Text;
  } else {
    out.error = "--push-format: json or text, got '" + format + "'";
    return out;
  }
  static const std::map<std::string, PushConfig::Encoding> kEncodings = {
      {"none", PushConfig::Encoding::None},
      {"deflate", PushConfig::Encoding::Deflate},
      {"zlib", PushConfig::Encoding::Zlib},
      {"gzip", PushConfig::Encoding::Gzip}};
  const auto enc = kEncodings.find(encoding);
  if (enc == kEncodings.end()) {
    out.error = "--push-encoding: none, deflate, zlib or gzip, got '" + encoding + "'";
    return out;
  }
  push.encoding = enc->second;
  if (push_set) {
    d.push = push;
  }
  out.ok = true;
  return out;
}

std::string dahua_usage() {
  return R"(usage: pushgate-sim dahua [options]

Runs one simulated Dahua access controller (HTTP CGI API, Digest) on
127.0.0.1 until SIGINT/SIGTERM. Prints "listening 127.0.0.1:PORT serial=SN".
Written from the vendor documentation; see tests/sim/README.md.

device
  --port N                 listen port (default 0: any free port)
  --user U --password P    Digest account (default admin / admin123)
  --serial SN              serial number (default DHSIM0001)
  --device-type T          deviceType (default ASI3213A-W)
  --realm R                Digest realm (default "Login to <serial>")
  --doors N                doors, channel 1..N (default 2)
  --clock-offset S         device clock = real clock + S seconds (default 0)
  --page-cap N             recordFinder records per page at most (default 100)
  --old-firmware           AccessUser/AccessCard.cgi answer 404 (legacy firmware)

authentication
  --lock-after N           failed logins that lock the account (default 5, 0: never)
  --lock-ms MS             lock period (default 300000)
  --nonce-ms MS            nonce lifetime (default 300000, 0: no limit)
  --nonce-uses N           requests per nonce (default 0: no limit)

events
  --events-per-second R    generate access events at this rate
  --events N               stop after N events (default 0: unlimited)
  --alarm-every N          every Nth generated event is an alarm (default 0: none)
  --seed N                 generator seed (default 1)
  --ledger FILE            append every record (fsynced) to FILE

push (EventHttpUpload)
  --push-url http://H:P/PATH   post every event there, retry until HTTP 200
  --push-format json|text      body form (default json)
  --push-encoding none|deflate|zlib|gzip
  --push-user U --push-password P   Digest credentials for the server
  --push-retry-ms MS           retry interval (default 1000)
  --push-keepalive-ms MS       GET /EventHttpUpload/keepalive interval (default 20000, 0: off)
)";
}

int run_dahua(const DahuaCli& cli, std::ostream& out, std::ostream& err) {
  // SIGINT/SIGTERM are blocked before the device thread starts (it inherits
  // the mask), so only this thread takes them, with sigwait().
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::unique_ptr<DahuaDevice> device;
  try {
    device = std::make_unique<DahuaDevice>(cli.device);
  } catch (const std::exception& e) {
    err << "pushgate-sim dahua: " << e.what() << "\n";
    return 1;
  }
  out << "listening 127.0.0.1:" << device->port() << " serial=" << device->serial() << std::endl;
  if (cli.events_per_second > 0) {
    device->start_generator(cli.events_per_second,
                            cli.events == 0 ? std::numeric_limits<std::size_t>::max() : cli.events,
                            cli.seed, cli.alarm_every);
  }
  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  const auto access = device->records(Table::Access).size();
  const auto alarms = device->records(Table::Alarm).size();
  device.reset();
  out << "stopped: " << access << " access records, " << alarms << " alarm records" << std::endl;
  return 0;
}

}  // namespace pushgate::sim::dahua
