#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "gateway/adapter.hpp"
#include "gateway/api/commands_api.hpp"
#include "gateway/api/console_files.hpp"
#include "gateway/api/cors.hpp"
#include "gateway/api/event_stream.hpp"
#include "gateway/api/rest_api.hpp"
#include "gateway/api/router.hpp"
#include "gateway/auth/auth_service.hpp"
#include "gateway/clock.hpp"
#include "gateway/command_queue.hpp"
#include "gateway/config/config.hpp"
#include "gateway/doors.hpp"
#include "gateway/health.hpp"
#include "gateway/http/server.hpp"
#include "gateway/metrics/metrics.hpp"
#include "gateway/outputs.hpp"
#include "gateway/status.hpp"
#include "gateway/store/adapter_state_impl.hpp"
#include "gateway/store/sink_ports_impl.hpp"
#include "gateway/store/store.hpp"
#include "gateway/terminals.hpp"

namespace pushgate {

namespace attendance {
class AttendanceService;
class AttendanceApi;
}  // namespace attendance
namespace access {
class AccessService;
class AccessApi;
}  // namespace access
namespace sync {
class SyncService;
}
namespace linkage {
class LinkageService;
}
namespace store {
class BackupScheduler;
class Retention;
}  // namespace store

/**
 * Every check of a config beyond its schema that a start makes before it
 * opens anything: gateway.id, time zones and terminal networks, the
 * attendance and linkage rules files, access and sync options, and each
 * adapter's own checks. `--check-config` runs exactly this, and
 * Gateway::start refuses a config it finds fault with, so the two agree.
 * Every problem is reported, not only the first.
 */
std::vector<config::ConfigError> validate_config(const config::Config& config);

/**
 * `--check-config` only: binds (and closes at once) every listener the
 * config enables (api.port, zkpush.port, zkpush.tls_port, modbus.port; 0
 * is skipped), so a port another process holds is named before a start
 * fails on it, with the line the start would log. A port held by a
 * pushgated (this gateway, running: the config is checked before a reload)
 * or by a process /proc does not show this user is a note, not an error.
 */
/** A line the start logs about how exposed the API listener is. */
struct ExposureWarning {
  bool error = false;  ///< logged at error level (else warn)
  std::string text;
};

/**
 * What the start says of the API's listener: one on a non-loopback address
 * without TLS (passwords and session cookies in clear on the LAN) is a
 * warning; one on a non-loopback address with api.auth = "off" (anyone on
 * the LAN can open every door) is an error-level line. Empty on loopback.
 */
std::vector<ExposureWarning> api_exposure_warnings(const config::Config& config);

std::vector<config::ConfigError> check_listeners(const config::Config& config,
                                                 std::vector<std::string>& notes);

/**
 * The whole gateway wired together: store, terminal registry, REST API and
 * every enabled adapter on one io_context run by a small thread pool. The
 * daemon is a thin main around it; integration tests run it in-process.
 *
 * Lifecycle (main thread): construct, start(), (run), stop(). Not copyable.
 */
class Gateway {
 public:
  Gateway(const config::Config& config, const Clock& clock);
  ~Gateway();
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  /** Opens the store, starts the API, the adapters and the I/O threads. Message on failure. */
  std::string start();
  /**
   * Graceful stop within `deadline`: stop accepting, commit what is queued,
   * let the answers go out, stop the threads. Idempotent.
   */
  void stop(std::chrono::milliseconds deadline);
  /** SIGHUP: apply the reloadable keys of a new config. */
  void reload(const config::Config& config);

  boost::asio::io_context& io_context() noexcept { return ioc_; }
  store::Store& store() noexcept { return *store_; }
  /** What the running sinks hold of the event log, for a Retention of a test's own. */
  SinkHolds& sink_holds() noexcept { return *sink_ports_; }
  TerminalRegistry& terminals() noexcept { return *terminals_; }
  CommandQueue& commands() noexcept { return *commands_; }
  metrics::Registry& metrics() noexcept { return metrics_; }
  Health& health() noexcept { return health_; }
  api::Router& router() noexcept { return router_; }
  /** Accounts and API credentials; nullptr when api.enabled is false. */
  auth::AuthService* auth() noexcept { return auth_.get(); }
  Outputs& outputs() noexcept { return *outputs_; }
  DoorService& doors() noexcept { return *doors_; }
  /** Access master data and decisions; nullptr when access.enabled is false. */
  access::AccessService* access() noexcept { return access_.get(); }
  /** Synchronisation down to terminals; nullptr when sync.enabled is false. */
  sync::SyncService* sync() noexcept { return sync_.get(); }
  /** Linkage rules; nullptr when linkage.enabled is false. */
  linkage::LinkageService* linkage() noexcept { return linkage_.get(); }
  const std::filesystem::path& data_dir() const noexcept { return data_dir_; }
  std::uint16_t api_port() const noexcept;
  /** The adapter named `name`, or nullptr. */
  Adapter* adapter(std::string_view name) noexcept;

  /** gateway.data_dir, else $STATE_DIRECTORY (systemd), else ./var. */
  static std::filesystem::path resolve_data_dir(const config::Config& config);

 private:
  config::Config config_;
  const Clock& clock_;
  metrics::Registry metrics_;
  Health health_;
  std::filesystem::path data_dir_;
  boost::asio::io_context ioc_;
  std::unique_ptr<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  /**
   * gateway.io_threads - 1 more io_contexts, one thread each, for terminals'
   * connections (AdapterContext::connection_contexts); ioc_ has one thread.
   * Declared after ioc_: destroyed before it, after the adapters.
   */
  std::vector<std::unique_ptr<boost::asio::io_context>> connection_contexts_;
  std::vector<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>>
      connection_work_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<store::StoreSinkPorts> sink_ports_;        // adapters' event readers and cursors
  std::unique_ptr<store::StoreAdapterState> adapter_state_;  // adapters' own records
  std::unique_ptr<TerminalRegistry> terminals_;
  std::unique_ptr<CommandQueue> commands_;
  std::unique_ptr<Outputs> outputs_;
  std::unique_ptr<DoorService> doors_;
  std::unique_ptr<StatusFigures> status_;
  api::Router router_;
  std::unique_ptr<api::RestApi> rest_;
  std::unique_ptr<api::CommandsApi> commands_api_;
  std::unique_ptr<auth::AuthService> auth_;  // the API's guard (issue 18)
  // GET /api/v1/events/stream, and the web console's files under /console/.
  std::unique_ptr<api::EventStreams> event_streams_;
  std::unique_ptr<api::ConsoleFiles> console_;
  std::unique_ptr<attendance::AttendanceService> attendance_;
  std::unique_ptr<attendance::AttendanceApi> attendance_api_;
  std::unique_ptr<access::AccessService> access_;
  std::unique_ptr<access::AccessApi> access_api_;
  std::unique_ptr<sync::SyncService> sync_;
  std::unique_ptr<linkage::LinkageService> linkage_;
  std::unique_ptr<store::BackupScheduler> backups_;  // store.backup_dir; nullptr when off
  std::unique_ptr<boost::asio::steady_timer> sweep_timer_;
  std::unique_ptr<store::Retention> retention_;  // store.retain_days, store.max_db_size
  void schedule_sweep();
  void run_io(boost::asio::io_context& ioc);
  /** One thread for ioc_, one for each of connection_contexts_. */
  void start_io_threads();
  std::unique_ptr<api::Cors> cors_;  // before api_server_, which calls it
  std::unique_ptr<http::Server> api_server_;
  std::unique_ptr<AdapterContext> adapter_ctx_;
  std::vector<std::unique_ptr<Adapter>> adapters_;
  std::vector<std::thread> threads_;
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace pushgate
