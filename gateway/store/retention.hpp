#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "gateway/clock.hpp"
#include "gateway/config/config.hpp"
#include "gateway/health.hpp"
#include "gateway/metrics/metrics.hpp"
#include "gateway/sink_ports.hpp"
#include "gateway/store/sqlite.hpp"

namespace pushgate::store {

class Store;

/**
 * "4GB", "512MB", "1.5 GiB", "1048576": a size in bytes (K/M/G/T, with or
 * without "B" or "iB", powers of 1024). nullopt with `error` set otherwise.
 */
std::optional<std::int64_t> parse_size(std::string_view text, std::string& error);

/** The database as the budget counts it. */
struct DatabaseSize {
  std::int64_t page_size = 0;
  std::int64_t pages = 0;       ///< page_count: the main file
  std::int64_t free_pages = 0;  ///< freelist_count: free, reused before the file grows
  std::int64_t wal_bytes = 0;   ///< the -wal file
  /** What the database holds: (page_count - freelist_count) x page_size + WAL. */
  std::int64_t used_bytes() const noexcept { return (pages - free_pages) * page_size + wal_bytes; }
  std::int64_t file_bytes() const noexcept { return pages * page_size; }
};

/** Measures `db` (a connection to the database at `path`). */
DatabaseSize measure_database(Connection& db, const std::string& path,
                              boost::system::error_code& ec);

struct RetentionOptions {
  /** store.retain_days: events older than this (by receive time) go once delivered. 0: kept. */
  int retain_days = 365;
  /** store.max_db_size in bytes: past it the oldest events go, delivered or not. 0: no budget. */
  std::int64_t max_db_size = 0;
  /** A budget deletion stops once the database is under this fraction of max_db_size. */
  double low_water = 0.9;
  /**
   * attendance.retain_days when attendance is enabled, else 0: attendance
   * punches dated (or received) after today - attendance_days - 1 are kept by
   * the age rule (the attendance service reloads them), as is each terminal's
   * latest event (status boards start from it).
   */
  int attendance_days = 0;
  /** Events deleted per transaction (each one small enough not to stall ingest). */
  std::size_t batch = 500;
  /** How often a pass runs (steady time). */
  std::chrono::milliseconds interval{std::chrono::seconds(60)};
  /** The serial of the gateway's own events (gateway.id): the alert's source, no horizon. */
  std::string gateway_id = "pushgate";
  /** /readyz stays failed this long (clock time) after events were lost to the budget. */
  std::chrono::milliseconds degraded_for{std::chrono::hours(24)};
  /**
   * journal_size_limit set on the writer: after a checkpoint resets the WAL
   * it is cut back to this. Used: the smaller of this and max_db_size / 16
   * (wal_limit()); the writer's autocheckpoint runs at half of that
   * (wal_autocheckpoint_pages()).
   */
  std::int64_t wal_limit_bytes = 64LL << 20;
  /** Each pass ends with a TRUNCATE checkpoint waiting at most this for readers. */
  std::chrono::milliseconds checkpoint_wait{200};
};

/**
 * store.retain_days, store.max_db_size, store.retention_interval_s,
 * store.retention_batch, gateway.id and (when attendance is enabled)
 * attendance.retain_days. Throws std::invalid_argument "store.max_db_size: ..."
 * for a size it cannot read.
 */
RetentionOptions retention_options_from_config(const config::Config& config);

/** The WAL's size limit in bytes: the smaller of wal_limit_bytes and max_db_size / 16. */
std::int64_t wal_limit(const RetentionOptions& o);
/**
 * The writer's wal_autocheckpoint for a WAL limit and `page_size`: half the
 * limit, in pages, never fewer than SQLite's default of 1000.
 */
std::int64_t wal_autocheckpoint_pages(std::int64_t wal_limit_bytes, std::int64_t page_size);

/** What one pass did. */
struct RetentionPass {
  std::int64_t deleted_aged = 0;                    ///< old enough and delivered everywhere
  std::int64_t deleted_budget = 0;                  ///< removed to get under store.max_db_size
  std::map<std::string, std::int64_t> undelivered;  ///< per sink: of those, not yet delivered
  std::int64_t held = 0;    ///< old enough for the budget, left alone: a sink had them in hand
  std::int64_t alerts = 0;  ///< alert events stored
  std::int64_t batches = 0;
  DatabaseSize size_after;
  bool failed = false;  ///< a read or a commit failed (logged); the next pass tries again
};

/**
 * Retention with a disk budget (issue 19, README "Disk"). A thread of its
 * own runs a pass every `interval`:
 *
 *  1. Age: events received more than retain_days ago, at or below the
 *     durable cursor of every enabled sink, are deleted, oldest first,
 *     except attendance punches the attendance service still loads and each
 *     terminal's latest event.
 *  2. Budget: while the database (pages in use plus WAL) is at or over
 *     max_db_size, the oldest events are deleted whatever their state,
 *     until it is under low_water x max_db_size (retention's own alert
 *     events stay until every sink has them). Each one a sink had not
 *     acknowledged is counted for that sink: metric
 *     pushgate_events_dropped_undelivered_total{sink}, an `alert` event
 *     (source gateway.id) with the counts, a log line naming the sinks and
 *     the numbers, and /readyz failing check "retention" for degraded_for.
 *
 * Every deletion is a WriteOp through the store's single writer, `batch`
 * events per transaction, planned on a read connection beforehand; the
 * writer commits device uploads between two batches. Deleted events take
 * their blobs with them; freed pages go to SQLite's freelist and are reused
 * (auto_vacuum stays NONE: the file stops growing, it does not shrink).
 */
class Retention {
 public:
  /**
   * `enabled_sinks`: the names of the sinks running now (their cursors gate
   * deletion). `holds`: what those sinks have in hand (null: nothing is
   * asked, and an event a sink has read but not yet had answered is counted
   * lost if the budget deletes it, though the sink still sends it).
   */
  Retention(Store& store, const Clock& clock, metrics::Registry& metrics, Health& health,
            RetentionOptions options, std::function<std::vector<std::string>()> enabled_sinks,
            SinkHolds* holds = nullptr);
  ~Retention();
  Retention(const Retention&) = delete;
  Retention& operator=(const Retention&) = delete;

  /** Starts the thread (the store's writer must run). The first pass runs after `interval`. */
  void start();
  /** Stops the thread; a pass in progress ends after its current batch. Before Store::stop. */
  void stop();

  /** Runs one whole pass on the caller's thread (tests, benches; not with start()). */
  RetentionPass run_pass();

  const RetentionOptions& options() const noexcept { return options_; }

 private:
  struct Plan;
  bool plan(Plan& p, bool budget, std::int64_t from);
  bool commit(const Plan& p, bool budget);
  /** The budget's commit, with the sinks told (SinkHolds) and what they hold left alone. */
  bool commit_budget(Plan& p);
  static void finalize(Plan& p, const std::map<std::string, SinkHolder::Held>& held);
  bool report_losses(RetentionPass& pass);
  bool set_wal_limit();
  void checkpoint();
  void run();

  Store& store_;
  const Clock& clock_;
  metrics::Registry& metrics_;
  Health& health_;
  RetentionOptions options_;
  std::function<std::vector<std::string>()> enabled_sinks_;
  SinkHolds* holds_ = nullptr;

  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
  bool wal_limit_set_ = false;
  std::int64_t degraded_until_ms_ = 0;

  metrics::Counter& deleted_aged_;
  metrics::Counter& deleted_budget_;
  metrics::Counter& alerts_;
  metrics::Counter& failures_;
  metrics::Counter& checkpoints_busy_;
  metrics::Gauge& used_bytes_;
  metrics::Gauge& wal_bytes_;
  metrics::Gauge& free_bytes_;
};

}  // namespace pushgate::store
