#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <spdlog/logger.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "gateway/access/master_data_change.hpp"
#include "gateway/api/router.hpp"
#include "gateway/clock.hpp"
#include "gateway/command_queue.hpp"
#include "gateway/event.hpp"
#include "gateway/event_log.hpp"
#include "gateway/metrics/metrics.hpp"
#include "gateway/sync/sync_planner.hpp"
#include "gateway/terminals.hpp"

namespace pushgate {
namespace config {
class Config;
}
namespace store {
class Store;
}
namespace access {
class AccessService;
}
}  // namespace pushgate

namespace pushgate::sync {

struct Options {
  bool enabled = true;    ///< sync.enabled
  bool enrolment = true;  ///< sync.enrolment: push uploads of one terminal to the others
  Kinds kinds;            ///< sync.kinds
};

/** Reads the sync.* keys; throws std::runtime_error naming a bad value. */
Options options_from_config(const config::Config& config);

/**
 * Synchronisation down to terminals (issue 7 item 5): master-data changes
 * and enrolments uploaded by one terminal become the DATA UPDATE/DELETE
 * commands every other access terminal needs, queued in the durable
 * CommandQueue (origin "sync"; rendered in each terminal's dialect when it
 * polls). What each terminal was sent is remembered per item (sync_items),
 * so nothing is sent twice and nothing goes back where it came from.
 *
 * Threads: observers (writer thread) only post to the service's strand;
 * planning and queueing run there, reads go to the store's read pool.
 * Lifecycle (main thread): construct, start() after Store::start and after
 * the AccessService loaded, before adapters start; stop() before the store.
 */
class SyncService {
 public:
  SyncService(boost::asio::io_context& ioc, store::Store& store, const Clock& clock,
              metrics::Registry& metrics, CommandQueue& commands, TerminalRegistry& terminals,
              access::AccessService* access, Options options);
  ~SyncService();
  SyncService(const SyncService&) = delete;
  SyncService& operator=(const SyncService&) = delete;

  /** Loads what was sent and subscribes to commits and master-data changes. "" or why not. */
  std::string start();
  void stop();

  /** GET /api/v1/sync, POST /api/v1/sync/terminals/{sn}. */
  void add_routes(api::Router& router);

  /** Waits until nothing is planned or being queued. Test-only. */
  bool wait_idle_for_test(std::chrono::milliseconds deadline);

 private:
  struct Shared;

  void on_commit(const std::vector<Event>& committed);                              // writer thread
  void on_change(const access::MasterDataChange& change);                           // writer thread
  void sync_enrolment(std::string sn, std::string pin);                             // strand
  void apply(std::vector<Planned> plan, const std::vector<Planned>& source_items);  // strand
  void full_sync(const std::string& sn);                                            // strand
  /** Every few seconds: a new accepted access terminal gets the master data. */
  void scan_terminals();  // strand

  boost::asio::io_context& ioc_;
  store::Store& store_;
  const Clock& clock_;
  CommandQueue& commands_;
  TerminalRegistry& terminals_;
  access::AccessService* access_;
  Options options_;
  std::shared_ptr<spdlog::logger> log_;
  std::shared_ptr<Shared> shared_;
  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  SentLedger ledger_;                    // strand only
  std::set<std::string> known_targets_;  // strand only
  boost::asio::steady_timer scan_timer_;

  metrics::Counter& queued_;
  metrics::Counter& skipped_;
  metrics::Counter& enqueue_failures_;
  metrics::Counter& finished_done_;
  metrics::Counter& finished_failed_;
  metrics::Counter& enrolments_;
  /** Last member: destroyed first, so no commit reaches a half-destroyed service. */
  CommitSubscription commit_sub_;
};

}  // namespace pushgate::sync
