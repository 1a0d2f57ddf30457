// pushgated: the daemon. A thin main: parse the command line, load the
// config, open the store, start the API and the adapters, run the
// io_context, and stop gracefully on SIGTERM. Everything else lives in the
// libraries so tests can run it in-process.
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
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
#include "gateway/api/rest_api.hpp"
#include "gateway/api/router.hpp"
#include "gateway/config/config.hpp"
#include "gateway/health.hpp"
#include "gateway/http/server.hpp"
#include "gateway/logging.hpp"
#include "gateway/metrics/metrics.hpp"
#include "gateway/store/store.hpp"
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
    "  --check-config FILE    validate FILE, name every bad key and why, exit 0 if good\n"
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

std::filesystem::path data_dir(const config::Config& cfg) {
  const auto& configured = cfg.get_string("gateway.data_dir");
  if (!configured.empty()) {
    return configured;
  }
  if (const char* state = std::getenv("STATE_DIRECTORY"); state != nullptr && *state != '\0') {
    std::string s(state);
    return s.substr(0, s.find(':'));  // systemd may list several
  }
  return std::filesystem::current_path() / "var";
}

bool under_systemd() {
  return std::getenv("JOURNAL_STREAM") != nullptr || std::getenv("INVOCATION_ID") != nullptr;
}

double disk_free_bytes(const std::filesystem::path& dir) {
  struct statvfs s {};
  if (statvfs(dir.c_str(), &s) != 0) {
    return -1;
  }
  return static_cast<double>(s.f_bavail) * static_cast<double>(s.f_frsize);
}

double database_bytes(const std::filesystem::path& p) {
  std::error_code ec;
  double total = 0;
  for (const char* suffix : {"", "-wal", "-shm"}) {
    auto n = std::filesystem::file_size(p.string() + suffix, ec);
    if (!ec) {
      total += static_cast<double>(n);
    }
  }
  return total;
}

int run(const config::Schema& schema, config::Config cfg, const std::string& config_path,
        const std::vector<std::string>& sets) {
  auto log = logger(Component::Main);
  if (auto err = configure_logging(cfg.get_string("log.level"), cfg.get_string("log.components"),
                                   under_systemd());
      !err.empty()) {
    log->error("log.components: {}", err);
    return 2;
  }
  SystemClock clock;
  metrics::Registry metrics;
  Health health;

  auto dir = data_dir(cfg);
  std::error_code fec;
  std::filesystem::create_directories(dir, fec);
  if (fec) {
    log->error("cannot create data directory {}: {}", dir.string(), fec.message());
    return 1;
  }
  store::Store::Options so;
  so.path = (dir / cfg.get_string("store.file")).string();
  so.read_threads = static_cast<int>(cfg.get_int("store.read_threads"));
  so.max_group_records = static_cast<std::size_t>(cfg.get_int("store.max_group_records"));
  so.busy_timeout_ms = static_cast<int>(cfg.get_int("store.busy_timeout_ms"));
  std::string error;
  auto store = store::Store::open(so, clock, metrics, error);
  if (!store) {
    log->error("{}", error);
    return 1;
  }
  store->start();
  metrics.callback_gauge("pushgate_disk_free_bytes", "Free space where the database lives",
                         [dir] { return disk_free_bytes(dir); });
  metrics.callback_gauge("pushgate_database_bytes", "Size of the database with its WAL",
                         [p = std::filesystem::path(so.path)] { return database_bytes(p); });
  metrics.gauge("pushgate_build_info", "Version of pushgated", {{"version", kVersion}}).set(1);

  std::unique_ptr<TerminalRegistry> terminals;
  try {
    terminals = std::make_unique<TerminalRegistry>(cfg);
  } catch (const std::exception& e) {
    log->error("{}", e.what());
    return 2;
  }
  terminals->load(*store);
  metrics.callback_gauge("pushgate_terminals_online",
                         "Terminals heard from in the last 5 minutes",
                         [&terminals, &clock] {
                           return static_cast<double>(
                               terminals->online_count(clock.now_ms(), 5 * 60 * 1000));
                         });
  health.set(Health::Kind::Live, "store", true);

  net::io_context ioc;
  api::Router router;
  AdapterContext actx{ioc, cfg, *store, *terminals, metrics, health, clock, router};

  api::RestApi::Options api_opts;
  api_opts.max_page = static_cast<std::size_t>(cfg.get_int("api.max_page"));
  api::RestApi rest(router, *store, *terminals, metrics, health, clock, api_opts);
  std::unique_ptr<http::Server> api_server;
  if (cfg.get_bool("api.enabled")) {
    http::ServerOptions ho;
    ho.name = "api";
    ho.address = cfg.get_string("api.listen");
    ho.port = static_cast<std::uint16_t>(cfg.get_int("api.port"));
    api_server = std::make_unique<http::Server>(
        ioc, ho,
        [&router](http::Request&& req, const http::RequestInfo& info, http::Reply reply) {
          router.handle(std::move(req), info, std::move(reply));
        },
        metrics);
    if (auto ec = api_server->start()) {
      log->error("REST API cannot listen on {}:{}: {}", ho.address, ho.port, ec.message());
      return 1;
    }
    log->info("REST API on http://{}:{}/api/v1/", ho.address, api_server->port());
  }

  std::vector<std::unique_ptr<Adapter>> adapters;
  for (const auto& reg : registered_adapters()) {
    auto a = reg.create(actx);
    if (!a) {
      log->info("adapter {} disabled", reg.name);
      continue;
    }
    if (auto ec = a->start()) {
      log->error("adapter {} failed to start: {}", reg.name, ec.message());
      return 1;
    }
    adapters.push_back(std::move(a));
  }

  // Signals: TERM/INT stop gracefully, HUP reloads the (reload) keys.
  net::signal_set signals(ioc, SIGTERM, SIGINT, SIGHUP);
  std::atomic<bool> stopping{false};
  std::function<void()> wait_signal;
  config::Config live = cfg;
  wait_signal = [&] {
    signals.async_wait([&](boost::system::error_code ec, int sig) {
      if (ec) {
        return;
      }
      if (sig == SIGHUP) {
        sd_notify(0, "RELOADING=1");
        auto reloaded = config_path.empty() ? config::Config::load_string(schema, "", sets)
                                            : config::Config::load_file(schema, config_path, sets);
        if (!reloaded.ok()) {
          log->warn("SIGHUP: config not reloaded, it has errors:\n{}",
                    config::format_errors(reloaded.errors));
        } else {
          live = *reloaded.config;
          if (auto err = configure_logging(live.get_string("log.level"),
                                           live.get_string("log.components"), under_systemd());
              !err.empty()) {
            log->warn("SIGHUP: {}", err);
          }
          for (auto& a : adapters) {
            a->reload(live);
          }
          log->info("SIGHUP: configuration reloaded (log level {})", live.get_string("log.level"));
        }
        sd_notify(0, "READY=1");
        wait_signal();
        return;
      }
      log->info("signal {}: stopping", sig);
      stopping = true;
      ioc.stop();
    });
  };
  wait_signal();

  // The systemd watchdog is fed from a timer on the io_context, so a stuck
  // io_context (or a stuck writer: no commit while work waits) stops the
  // feeding and systemd restarts us.
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
        sd_notify(0, "WATCHDOG=1");
        feed();
      });
    };
    feed();
  }

  auto threads_n = static_cast<std::size_t>(cfg.get_int("gateway.io_threads"));
  std::vector<std::thread> threads;
  auto work = net::make_work_guard(ioc);
  for (std::size_t i = 0; i < threads_n; ++i) {
    threads.emplace_back([&ioc] { ioc.run(); });
  }
  sd_notify(0, "READY=1");
  log->info("pushgated {} ready (data in {})", kVersion, dir.string());
  health.set(Health::Kind::Ready, "startup", true);

  for (auto& t : threads) {
    t.join();
  }
  threads.clear();

  // Graceful stop, bounded: a guard thread exits the process if the steps
  // below overrun.
  sd_notify(0, "STOPPING=1");
  auto deadline = std::chrono::milliseconds(cfg.get_int("gateway.shutdown_timeout_ms"));
  std::thread guard([deadline] {
    std::this_thread::sleep_for(deadline);
    logger(Component::Main)->error("graceful stop took longer than {} ms; exiting", deadline.count());
    std::_Exit(1);
  });
  guard.detach();
  ioc.restart();
  // Answers to requests in flight still need the io_context.
  for (std::size_t i = 0; i < threads_n; ++i) {
    threads.emplace_back([&ioc] { ioc.run(); });
  }
  for (auto& a : adapters) {
    a->stop(deadline);
  }
  if (api_server) {
    api_server->stop();
  }
  // Commits everything queued; each waiting terminal gets its answer posted.
  store->stop();
  watchdog.cancel();
  signals.cancel();
  work.reset();
  // Let the last answers go out, then drop what remains.
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
  while (std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ioc.stop();
  for (auto& t : threads) {
    t.join();
  }
  adapters.clear();
  log->info("pushgated stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
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
    if (!r.ok()) {
      std::cerr << *args.check << ": invalid configuration\n"
                << pushgate::config::format_errors(r.errors);
      return 1;
    }
    // Values the schema cannot check alone (time zones).
    try {
      pushgate::TerminalRegistry check(*r.config);
    } catch (const std::exception& e) {
      std::cerr << *args.check << ": invalid configuration\n" << e.what() << "\n";
      return 1;
    }
    std::cout << *args.check << ": configuration OK\n";
    return 0;
  }
  auto loaded = args.config ? pushgate::config::Config::load_file(schema, *args.config, args.sets)
                            : pushgate::config::Config::load_string(schema, "", args.sets);
  if (!loaded.ok()) {
    std::cerr << (args.config ? *args.config : std::string("--set")) << ": invalid configuration\n"
              << pushgate::config::format_errors(loaded.errors);
    return 2;
  }
  return run(schema, *loaded.config, args.config.value_or(""), args.sets);
}
