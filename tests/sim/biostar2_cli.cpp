#include "tests/sim/biostar2_cli.hpp"

#include <pthread.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <functional>
#include <iostream>
#include <limits>
#include <map>

#include "tests/sim/cli_flags.hpp"

namespace pushgate::sim::biostar2 {

BioStar2CliParse parse_biostar2_command_line(const std::vector<std::string>& args) {
  BioStar2CliParse out;
  auto& c = out.cli;
  auto& s = c.server;
  const auto text = [](std::string& field) { return cli::text(field); };
  const auto num = [](auto& field, std::uint64_t lo, std::uint64_t hi) {
    return cli::number(field, lo, hi);
  };
  std::uint64_t port = 0;
  std::uint64_t timeout_ms = static_cast<std::uint64_t>(s.session_idle_timeout.count());
  std::string rate_text;
  const cli::Setters with_value = {
      {"--port", num(port, 0, 65535)},
      {"--user", text(s.login_id)},
      {"--password", text(s.password)},
      {"--devices", num(s.devices, 1, 10000)},
      {"--doors", num(s.doors_per_device, 1, 64)},
      {"--first-device-id", num(s.first_device_id, 1, 0xFFFF0000ULL)},
      {"--session-timeout-ms", num(timeout_ms, 1, 7ULL * 24 * 3600 * 1000)},
      {"--page-cap", num(s.page_cap, 1, 100000)},
      {"--events-per-second", text(rate_text)},
      {"--events", num(c.events, 0, 100'000'000)},
      {"--seed", num(c.seed, 0, std::numeric_limits<std::int64_t>::max())},
      {"--cert-out", text(c.cert_out)},
  };
  switch (cli::parse_flags(args, with_value, {{"--plain", [&s] { s.tls = false; }}}, "biostar2",
                           out.error)) {
    case cli::Parsed::Help:
      out.help = true;
      out.ok = true;
      return out;
    case cli::Parsed::Error:
      return out;
    case cli::Parsed::Ok:
      break;
  }
  s.port = static_cast<std::uint16_t>(port);
  s.session_idle_timeout = std::chrono::milliseconds(timeout_ms);
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
  out.ok = true;
  return out;
}

std::string biostar2_usage() {
  return R"(usage: pushgate-sim biostar2 [options]

Runs one simulated Suprema BioStar 2 server (New Local API: /api/login,
/api/events/search, /wsapi feed, doors, users, cards) on 127.0.0.1 until
SIGINT/SIGTERM. HTTPS with a self-signed certificate generated at start.
Prints "listening https://127.0.0.1:PORT cert=FILE". Written from the vendor
documentation; see tests/sim/README.md.

  --port N                 listen port (default 0: any free port)
  --plain                  plain HTTP instead of HTTPS
  --cert-out FILE          write the certificate PEM there (default: a temp file)
  --user U --password P    operator account (default admin / Admin1234!)
  --devices N              devices (default 1), ids from --first-device-id (540000001)
  --doors N                doors per device (default 1)
  --session-timeout-ms MS  idle session timeout (default 1800000)
  --page-cap N             events/search rows per call at most (default 200)
  --events-per-second R    generate events at this rate
  --events N               stop after N events (default 0: unlimited)
  --seed N                 generator seed (default 1)
)";
}

int run_biostar2(const BioStar2Cli& cli, std::ostream& out, std::ostream& err) {
  // SIGINT/SIGTERM are blocked before the server thread starts (it inherits
  // the mask), so only this thread takes them, with sigwait().
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::unique_ptr<BioStar2Server> server;
  try {
    server = std::make_unique<BioStar2Server>(cli.server);
  } catch (const std::exception& e) {
    err << "pushgate-sim biostar2: " << e.what() << "\n";
    return 1;
  }
  std::string cert_path;
  if (server->tls()) {
    cert_path = cli.cert_out.empty()
                    ? "/tmp/pushgate-sim-biostar2-" + std::to_string(::getpid()) + ".pem"
                    : cli.cert_out;
    std::ofstream file(cert_path, std::ios::trunc);
    file << server->certificate_pem();
    if (!file.flush()) {
      err << "pushgate-sim biostar2: cannot write the certificate to " << cert_path << "\n";
      return 1;
    }
    out << "listening https://127.0.0.1:" << server->port() << " cert=" << cert_path << std::endl;
  } else {
    out << "listening http://127.0.0.1:" << server->port() << std::endl;
  }
  if (cli.events_per_second > 0) {
    server->start_generator(cli.events_per_second,
                            cli.events == 0 ? std::numeric_limits<std::size_t>::max() : cli.events,
                            cli.seed);
  }
  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  const auto events = server->events().size();
  server.reset();
  if (cli.cert_out.empty() && !cert_path.empty()) {
    ::unlink(cert_path.c_str());
  }
  out << "stopped: " << events << " events" << std::endl;
  return 0;
}

}  // namespace pushgate::sim::biostar2
