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
#include "gateway/auth/accounts_cli.hpp"
#include "gateway/config/config.hpp"
#include "gateway/gateway.hpp"
#include "gateway/logging.hpp"
#include "gateway/memory.hpp"
#include "gateway/store/backup.hpp"
#include "gateway/terminals.hpp"
#include "gateway/version.hpp"

namespace {

namespace net = boost::asio;
using namespace pushgate;

constexpr const char* kUsage =
    "Usage: pushgated [--config FILE] [--set section.key=value]...\n"
    "       pushgated --check-config FILE [--set ...]\n"
    "       pushgated [--config FILE] [--set ...] --backup FILE [--force]\n"
    "       pushgated --print-default-config | --version | --help\n"
    "\n"
    "  --config FILE          run with this configuration (TOML)\n"
    "  --check-config FILE    validate FILE as a start does (rules files, certificates,\n"
    "                         free ports), name every bad key and why, exit 0 if good\n"
    "  --set section.key=v    override one key (repeatable)\n"
    "  --backup FILE          copy the database of that configuration to FILE, online\n"
    "                         (a running pushgated keeps serving), verified; exit 0 if\n"
    "                         written, 2 bad arguments or config, 3 no database, 4 FILE\n"
    "                         exists (--force replaces it), 5 disk full, 1 other failure\n"
    "  --add-user NAME --role viewer|operator|admin [--password-file F]\n"
    "                         create a local account; the password is read from the\n"
    "                         terminal without echo, or from the first line of F\n"
    "  --list-users           list the local accounts and their roles\n"
    "  --remove-user NAME     remove an account and end its sessions\n"
    "  --print-default-config print the commented default configuration\n"
    "  --version              print the version\n";

struct Args {
  std::optional<std::string> config;
  std::optional<std::string> check;
  std::vector<std::string> sets;
  std::optional<std::string> backup;
  std::optional<std::string> add_user;
  std::optional<std::string> role;
  std::optional<std::string> password_file;
  std::optional<std::string> remove_user;
  bool list_users = false;
  bool force = false;
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
    } else if (arg.rfind("--backup", 0) == 0 && (arg == "--backup" || arg[8] == '=')) {
      a.backup = value("--backup");
      if (!a.backup || a.backup->empty()) {
        a.error = "--backup needs a file";
      }
    } else if (arg.rfind("--add-user", 0) == 0 && (arg == "--add-user" || arg[10] == '=')) {
      a.add_user = value("--add-user");
      if (!a.add_user) {
        a.error = "--add-user needs a name";
      }
    } else if (arg.rfind("--role", 0) == 0 && (arg == "--role" || arg[6] == '=')) {
      a.role = value("--role");
      if (!a.role) {
        a.error = "--role needs viewer, operator or admin";
      }
    } else if (arg.rfind("--password-file", 0) == 0) {
      a.password_file = value("--password-file");
      if (!a.password_file) {
        a.error = "--password-file needs a file";
      }
    } else if (arg.rfind("--remove-user", 0) == 0) {
      a.remove_user = value("--remove-user");
      if (!a.remove_user) {
        a.error = "--remove-user needs a name";
      }
    } else if (arg == "--list-users") {
      a.list_users = true;
    } else if (arg == "--force") {
      a.force = true;
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

// --backup: the database the configuration names, copied online. Without
// gateway.data_dir and outside systemd ($STATE_DIRECTORY) the daemon would
// use ./var; the packaged service's /var/lib/pushgate is tried after it, so
// an operator's shell finds the database the service uses.
int backup(const config::Config& cfg, const Args& args) {
  auto file = cfg.get_string("store.file");
  std::vector<std::filesystem::path> candidates{Gateway::resolve_data_dir(cfg) / file};
  if (cfg.get_string("gateway.data_dir").empty() && std::getenv("STATE_DIRECTORY") == nullptr) {
    candidates.push_back(std::filesystem::path("/var/lib/pushgate") / file);
  }
  std::string source = candidates.front().string();
  for (const auto& c : candidates) {
    std::error_code ec;
    if (std::filesystem::is_regular_file(c, ec)) {
      source = c.string();
      break;
    }
  }
  store::BackupOptions o;
  o.force = args.force;
  o.busy_timeout_ms = static_cast<int>(cfg.get_int("store.busy_timeout_ms"));
  auto r = store::backup_database(source, *args.backup, o);
  if (r.ok()) {
    std::cout << "pushgated: backup of " << source << " written to " << *args.backup << " ("
              << r.bytes << " bytes, " << r.pages << " pages, integrity ok, " << r.duration.count()
              << " ms)\n";
    return 0;
  }
  std::cerr << "pushgated: backup failed: " << r.message;
  if (r.status == store::BackupResult::Status::SourceMissing && candidates.size() > 1) {
    std::cerr << " (nor at " << candidates.back().string()
              << "); give the daemon's --config, or --set gateway.data_dir=DIR";
  }
  std::cerr << "\n";
  switch (r.status) {
    case store::BackupResult::Status::SourceMissing:
      return 3;
    case store::BackupResult::Status::TargetExists:
      return 4;
    case store::BackupResult::Status::NoSpace:
      return 5;
    default:
      return 1;
  }
}

// --add-user, --list-users, --remove-user: on the database the daemon uses
// (found like --backup's); run them as the service's user.
int accounts(const config::Config& cfg, const Args& args) {
  configure_logging("warn", "", false);  // the answer only, not the store's opening lines
  auth::AccountCommand cmd;
  cmd.gateway_id = cfg.get_string("gateway.id");
  if (args.add_user) {
    if (!args.role) {
      std::cerr << "pushgated: --add-user needs --role viewer|operator|admin\n";
      return 2;
    }
    cmd.kind = auth::AccountCommand::Kind::Add;
    cmd.name = *args.add_user;
    cmd.role = *args.role;
    cmd.password_file = args.password_file.value_or("");
  } else if (args.remove_user) {
    cmd.kind = auth::AccountCommand::Kind::Remove;
    cmd.name = *args.remove_user;
  }
  auto file = cfg.get_string("store.file");
  auto path = Gateway::resolve_data_dir(cfg) / file;
  std::error_code ec;
  if (cfg.get_string("gateway.data_dir").empty() && std::getenv("STATE_DIRECTORY") == nullptr &&
      !std::filesystem::is_regular_file(path, ec) &&
      std::filesystem::is_regular_file(std::filesystem::path("/var/lib/pushgate") / file, ec)) {
    path = std::filesystem::path("/var/lib/pushgate") / file;
  }
  std::filesystem::create_directories(path.parent_path(), ec);
  return auth::run_account_command(cmd, path, std::cout, std::cerr);
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
  if (args.backup) {
    return backup(*loaded.config, args);
  }
  if (args.add_user || args.remove_user || args.list_users) {
    return accounts(*loaded.config, args);
  }
  if (args.role || args.password_file) {
    std::cerr << "pushgated: --role and --password-file go with --add-user\n\n" << kUsage;
    return 2;
  }
  if (args.force) {
    std::cerr << "pushgated: --force goes with --backup\n\n" << kUsage;
    return 2;
  }
  return run(schema, *loaded.config, args.config.value_or(""), args.sets);
}
