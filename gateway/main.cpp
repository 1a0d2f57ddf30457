// pushgated: the daemon. A thin main: parse the command line, load the
// config, open the store, start the API and the adapters, run the
// io_context, and stop gracefully on SIGTERM. Everything else lives in the
// libraries so tests can run it in-process.
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <future>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include "gateway/adapter.hpp"
#include "gateway/config/config.hpp"
#include "gateway/gateway.hpp"
#include "gateway/logging.hpp"
#include "gateway/memory.hpp"
#include "gateway/terminals.hpp"
#include "gateway/version.hpp"

namespace {

namespace net = boost::asio;
using namespace pushgate;

constexpr const char* kUsage =
    "Usage: pushgated [--config FILE] [--set section.key=value]...\n"
    "       pushgated --check-config FILE [--set ...]\n"
    "       pushgated --print-default-config | --version | --help\n"
    "\n"
    "  --config FILE          run with this configuration (TOML)\n"
    "  --check-config FILE    validate FILE as a start does (rules files, certificates,\n"
    "                         free ports), name every bad key and why, exit 0 if good\n"
    "  --set section.key=v    override one key (repeatable)\n"
    "  --print-default-config print the commented default configuration\n"
    "  --version              print the version\n";

struct Args {
  std::optional<std::string> config;
  std::optional<std::string> check;
  std::vector<std::string> sets;
  bool print_default = false;
  bool version = false;
  bool help = false;
  std::string error;
};

Args parse_args(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&](std::string_view flag) -> std::optional<std::string> {
      auto eq = arg.find('=');
      if (eq != std::string::npos && arg.compare(0, eq, flag) == 0) {
        return arg.substr(eq + 1);
      }
      if (arg == flag && i + 1 < argc) {
        return std::string(argv[++i]);
      }
      return std::nullopt;
    };
    if (arg == "--version") {
      a.version = true;
    } else if (arg == "--help" || arg == "-h") {
      a.help = true;
    } else if (arg == "--print-default-config") {
      a.print_default = true;
    } else if (arg.rfind("--config", 0) == 0 && arg.rfind("--config", 0) == 0 &&
               (arg == "--config" || arg[8] == '=')) {
      a.config = value("--config");
      if (!a.config) {
        a.error = "--config needs a file";
      }
    } else if (arg.rfind("--check-config", 0) == 0) {
      a.check = value("--check-config");
      if (!a.check) {
        a.error = "--check-config needs a file";
      }
    } else if (arg.rfind("--set", 0) == 0) {
      auto v = value("--set");
      if (!v) {
        a.error = "--set needs section.key=value";
      } else {
        a.sets.push_back(*v);
      }
    } else {
      a.error = "unknown argument " + arg;
    }
  }
  return a;
}

// The schema's errors and then validate_config's (the start's own checks)
// on what was readable, so one run names every problem. A key the schema
// already refused is not judged again at its default.
std::vector<config::ConfigError> all_errors(const config::Config::LoadResult& r) {
  auto errors = r.errors;
  const auto* cfg = r.config ? &*r.config : r.partial ? &*r.partial : nullptr;
  if (cfg == nullptr) {
    return errors;
  }
  for (auto& e : validate_config(*cfg)) {
    bool seen = std::any_of(errors.begin(), errors.end(),
                            [&](const config::ConfigError& have) { return have.key == e.key; });
    if (!seen || e.key.empty()) {
      errors.push_back(std::move(e));
    }
  }
  return errors;
}

bool under_systemd() {
  return std::getenv("JOURNAL_STREAM") != nullptr || std::getenv("INVOCATION_ID") != nullptr;
}

int run(const config::Schema& schema, const config::Config& cfg, const std::string& config_path,
        const std::vector<std::string>& sets) {
  auto log = logger("main");
  if (auto err = configure_logging(cfg.get_string("log.level"), cfg.get_string("log.components"),
                                   under_systemd());
      !err.empty()) {
    log->error("log.components: {}", err);
    return 2;
  }
  SystemClock clock;
  // Hands the heap freed after a burst of uploads back (README, "Memory").
  HeapTrimmer heap_trimmer;
  Gateway gateway(cfg, clock);
  if (auto err = gateway.start(); !err.empty()) {
    log->error("{}", err);
    return 1;
  }
  auto& ioc = gateway.io_context();

  // Signals: TERM/INT stop gracefully, HUP reloads the (reload) keys.
  net::signal_set signals(ioc, SIGTERM, SIGINT, SIGHUP);
  std::promise<int> stop_signal;
  std::function<void()> wait_signal;
  wait_signal = [&] {
    signals.async_wait([&](boost::system::error_code ec, int sig) {
      if (ec) {
        return;
      }
      if (sig != SIGHUP) {
        log->info("signal {}: stopping", sig);
        stop_signal.set_value(sig);
        return;
      }
      sd_notify(0, "RELOADING=1");
      auto reloaded = config_path.empty() ? config::Config::load_string(schema, "", sets)
                                          : config::Config::load_file(schema, config_path, sets);
      if (!reloaded.ok()) {
        log->warn("SIGHUP: config not reloaded, it has errors:\n{}",
                  config::format_errors(reloaded.errors));
      } else {
        const auto& live = *reloaded.config;
        if (auto err = configure_logging(live.get_string("log.level"),
                                         live.get_string("log.components"), under_systemd());
            !err.empty()) {
          log->warn("SIGHUP: {}", err);
        }
        gateway.reload(live);
        // Keys without (reload) keep their running value: say so for each that changed.
        auto pending = config::restart_only_changes(schema, cfg, live);
        for (const auto& change : pending) {
          log->warn("SIGHUP: {}", change);
        }
        log->info("SIGHUP: configuration reloaded (log level {}){}", live.get_string("log.level"),
                  pending.empty()
                      ? std::string()
                      : "; " + std::to_string(pending.size()) + " changed key(s) need a restart");
      }
      sd_notify(0, "READY=1");
      wait_signal();
    });
  };
  wait_signal();

  // The systemd watchdog is fed from a timer on the io_context, so a stuck
  // io_context stops the feeding and systemd restarts us.
  std::uint64_t watchdog_usec = 0;
  net::steady_timer watchdog(ioc);
  std::function<void()> feed;
  if (sd_watchdog_enabled(0, &watchdog_usec) > 0 && watchdog_usec > 0) {
    auto interval = std::chrono::microseconds(watchdog_usec / 2);
    feed = [&, interval] {
      watchdog.expires_after(interval);
      watchdog.async_wait([&](boost::system::error_code ec) {
        if (ec) {
          return;
        }
        // Fed only while the writer makes progress too: a stuck writer thread
        // (or a hung disk) gets the service restarted, and ack-after-commit
        // makes the restart safe.
        if (!gateway.store().stalled(
                std::chrono::duration_cast<std::chrono::milliseconds>(interval * 2))) {
          sd_notify(0, "WATCHDOG=1");
        } else {
          log->error("the store writer made no progress; not feeding the watchdog");
        }
        feed();
      });
    };
    feed();
  }

  sd_notify(0, "READY=1");
  log->info("pushgated {} ready (data in {})", kVersion, gateway.data_dir().string());
  stop_signal.get_future().wait();

  // Graceful stop, bounded: a guard thread exits the process if it overruns.
  sd_notify(0, "STOPPING=1");
  auto deadline = std::chrono::milliseconds(cfg.get_int("gateway.shutdown_timeout_ms"));
  std::thread guard([deadline] {
    std::this_thread::sleep_for(deadline);
    logger("main")->error("graceful stop took longer than {} ms; exiting", deadline.count());
    std::_Exit(1);
  });
  guard.detach();
  net::post(ioc, [&] {
    boost::system::error_code ignored;
    signals.cancel(ignored);
    watchdog.cancel();
  });
  gateway.stop(deadline);
  log->info("pushgated stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  pushgate::tune_allocator();
  auto args = parse_args(argc, argv);
  if (!args.error.empty()) {
    std::cerr << "pushgated: " << args.error << "\n\n" << kUsage;
    return 2;
  }
  if (args.help) {
    std::cout << kUsage;
    return 0;
  }
  if (args.version) {
    std::cout << "pushgated " << pushgate::kVersion << "\n";
    return 0;
  }
  auto schema = pushgate::build_schema();
  if (args.print_default) {
    std::cout << schema.render_default_file();
    return 0;
  }
  if (args.check) {
    auto r = pushgate::config::Config::load_file(schema, *args.check, args.sets);
    auto errors = all_errors(r);
    std::vector<std::string> notes;
    if (r.config || r.partial) {
      for (auto& e : pushgate::check_listeners(r.config ? *r.config : *r.partial, notes)) {
        errors.push_back(std::move(e));
      }
    }
    for (const auto& note : notes) {
      std::cerr << *args.check << ": note: " << note << "\n";
    }
    if (!errors.empty()) {
      std::cerr << *args.check << ": invalid configuration\n"
                << pushgate::config::format_errors(errors);
      return 1;
    }
    std::cout << *args.check << ": configuration OK\n";
    return 0;
  }
  auto loaded = args.config ? pushgate::config::Config::load_file(schema, *args.config, args.sets)
                            : pushgate::config::Config::load_string(schema, "", args.sets);
  if (!loaded.ok()) {
    std::cerr << (args.config ? *args.config : std::string("--set")) << ": invalid configuration\n"
              << pushgate::config::format_errors(all_errors(loaded));
    return 2;
  }
  return run(schema, *loaded.config, args.config.value_or(""), args.sets);
}
