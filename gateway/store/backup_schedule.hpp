#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "gateway/clock.hpp"
#include "gateway/config/config.hpp"
#include "gateway/health.hpp"
#include "gateway/metrics/metrics.hpp"
#include "gateway/store/backup.hpp"

namespace pushgate::store {

/**
 * Scheduled backups inside the daemon (store.backup_dir, store.backup_keep,
 * store.backup_interval): every interval an online copy (backup_database)
 * of the database goes to `dir` as pushgate-YYYYMMDDTHHMMSSZ.db (UTC), on a
 * thread of its own with its own read-only connection, never the writer's.
 * After a success the newest `keep` copies are kept and older ones deleted;
 * other files in `dir` are never touched, and a .tmp a crash left of ours is
 * removed. A failure is logged, counted and shown in /readyz ("backup"), and
 * retried after min(interval, 1 h); it never stops the gateway.
 *
 * The first backup is due one interval after the newest copy already in
 * `dir` (at once when there is none), so restarts neither skip nor repeat.
 */
class BackupScheduler {
 public:
  struct Options {
    std::string database;
    std::filesystem::path dir;
    std::size_t keep = 7;
    std::chrono::milliseconds interval{std::chrono::hours(24)};
    int busy_timeout_ms = 5000;
  };

  BackupScheduler(Options options, const Clock& clock, metrics::Registry& metrics, Health& health);
  ~BackupScheduler();
  BackupScheduler(const BackupScheduler&) = delete;
  BackupScheduler& operator=(const BackupScheduler&) = delete;

  /** Starts the thread that runs run_due() when the clock says so. */
  void start();
  /** Cancels a copy in progress (its .tmp is removed) and joins the thread. Idempotent. */
  void stop();

  /**
   * Takes a backup now if one is due by the clock (then rotates), on the
   * caller's thread; nullopt when none was due. The thread calls this;
   * tests call it directly with a fake clock.
   */
  std::optional<BackupResult> run_due();

  /** UTC ms when the next backup is due. */
  std::int64_t next_due_ms() const;

  /** "pushgate-20261206T093000Z.db" for that UTC time. */
  static std::string file_name(std::int64_t utc_ms);
  /** The UTC ms a name of ours stands for; nullopt for any other name. */
  static std::optional<std::int64_t> time_of(const std::string& file_name);
  /** Our backups in `dir`, oldest first. */
  static std::vector<std::filesystem::path> list(const std::filesystem::path& dir);
  /**
   * Deletes all but the newest `keep` of our backups and every .tmp of ours
   * (a backup interrupted by a crash). Returns how many files went.
   */
  static std::size_t rotate(const std::filesystem::path& dir, std::size_t keep);

 private:
  void loop();
  void publish();

  Options options_;
  const Clock& clock_;
  Health& health_;
  metrics::Counter& successes_;
  metrics::Counter& failures_;
  metrics::Gauge& last_success_;
  metrics::Gauge& last_bytes_;
  metrics::Gauge& last_duration_;

  mutable std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::atomic<bool> cancel_{false};
  std::thread thread_;
  std::int64_t next_due_ms_ = 0;
  Health::Backup state_;
};

/** The keys' checks beyond the schema (store.backup_interval's syntax and floor). */
std::vector<config::ConfigError> validate_backup_config(const config::Config& config);

/**
 * The scheduler's options from the config; nullopt when store.backup_dir is
 * empty (off). A relative store.backup_dir is under `data_dir`.
 */
std::optional<BackupScheduler::Options> backup_options_from_config(
    const config::Config& config, const std::filesystem::path& data_dir,
    const std::string& database);

}  // namespace pushgate::store
