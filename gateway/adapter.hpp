#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/system/error_code.hpp>

#include "gateway/clock.hpp"
#include "gateway/config/config.hpp"
#include "gateway/health.hpp"
#include "gateway/metrics/metrics.hpp"

namespace pushgate {

namespace api {
class Router;
}
class TerminalRegistry;
class CommandQueue;
class CommitFeed;
class EventReaders;
class SinkCursors;
class Outputs;
class DoorService;
class StatusFigures;
class EventLog;
class AdapterState;
namespace access {
class Decider;
}

/** What an adapter is built from: shared services, owned by the daemon, outliving the adapter. */
struct AdapterContext {
  boost::asio::io_context& ioc;
  const config::Config& config;
  TerminalRegistry& terminals;
  metrics::Registry& metrics;
  Health& health;
  const Clock& clock;
  api::Router& router;  ///< for adapters that add REST routes
  CommandQueue& commands;
  Outputs& outputs;  ///< named outputs rules drive and sinks show
  /** Local access decisions for §10 remote identification; nullptr when access is disabled. */
  access::Decider* access = nullptr;
  /** gateway.data_dir as resolved at start (captures go under it). */
  std::filesystem::path data_dir;
  /** Every device's doors: adapters report door state here, sinks and the REST route read it. */
  DoorService& doors;
  /** Gateway figures (disk free, sink backlogs) for status payloads and registers. */
  const StatusFigures& status;
  /** Sinks' ports on the event log, set by the daemon: commits as they happen, */
  CommitFeed* commits = nullptr;
  /** read connections of their own, */
  EventReaders* event_readers = nullptr;
  /** and durable cursors written through the store's writer. */
  SinkCursors* cursors = nullptr;
  /**
   * Devices' records: a request's batch (events, quarantined lines, device
   * records, door states) committed together, `done` after the commit (the
   * device hears OK only then). Set by the daemon.
   */
  EventLog* events = nullptr;
  /** An adapter's own small durable records (no table of its own), set by the daemon. */
  AdapterState* adapter_state = nullptr;
  /**
   * Where a listener for many terminals puts their connections
   * (http::ServerOptions::connection_contexts): one io_context per I/O
   * thread, `ioc` first. Set by the daemon; empty: everything on `ioc`.
   */
  std::vector<boost::asio::io_context*> connection_contexts{};
};

/**
 * One adapter: built from its validated config, started once, stopped once.
 *
 * Contract: `start` runs on the main thread before the io_context runs and
 * returns an error when it cannot work (port taken, bad certificate), with
 * `start_error` saying why in one line; `stop` is graceful and returns
 * within `deadline` (stop accepting, let in-flight work answer, flush
 * cursors). `stop` is also called after a failed `start`, and must then
 * release whatever the start got before it failed.
 */
class Adapter {
 public:
  virtual ~Adapter() = default;
  virtual std::string_view name() const noexcept = 0;
  virtual boost::system::error_code start() = 0;
  virtual void stop(std::chrono::milliseconds deadline) = 0;
  /**
   * After a failed `start`: one line for the operator naming the key and the
   * value at fault, as in "zkpush.port: cannot listen on 0.0.0.0:8081:
   * Address already in use". Empty: the error code's message is used.
   */
  virtual std::string start_error() const { return {}; }
  /**
   * SIGHUP: apply the keys of `config` marked (reload). Called on the main
   * thread while the io_context runs; an adapter with no reloadable keys
   * keeps the default, which changes nothing.
   */
  virtual void reload(const config::Config& config) { (void)config; }
};

/** One line of adapters/registry.cpp. */
struct AdapterRegistration {
  std::string_view name;
  void (*declare_config)(config::Schema&);
  /** Null when the adapter is disabled in the config. */
  std::unique_ptr<Adapter> (*create)(AdapterContext&);
  /**
   * What the schema cannot check (key combinations, certificates, address
   * lists): the same checks its start relies on, run by validate_config()
   * for `--check-config` and before every start. Empty when the adapter is
   * disabled.
   */
  std::vector<config::ConfigError> (*validate)(const config::Config&) = nullptr;
};

/** Every adapter compiled in (adapters/registry.cpp). */
std::span<const AdapterRegistration> registered_adapters();

/** The whole schema: core keys plus every compiled-in adapter's. */
config::Schema build_schema();

}  // namespace pushgate
