#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace pushgate::store {

/**
 * An online copy of the database with SQLite's backup API, safe while the
 * daemon keeps committing (issue 19).
 *
 * Consistency under constant load: the source is opened read-only on its
 * own connection and ONE read transaction is held on it for the whole copy,
 * so every `sqlite3_backup_step` copies pages of the same WAL snapshot. The
 * backup never restarts (a restart happens only when the source changes
 * under the backup's own snapshot), so it always finishes however fast the
 * writer commits, and it is stepped in chunks so a stop request is seen
 * between chunks. The price: while it runs, checkpoints cannot reset the WAL
 * past the snapshot, so the WAL grows by what is committed meanwhile; it is
 * checkpointed back once the copy ends.
 *
 * The copy is written to `target + ".tmp"` (mode 0600: the database holds
 * personal data) and written back to disk after each step (a bounded amount
 * of dirty pages, never a burst the daemon's fsyncs would wait behind),
 * checked with `PRAGMA integrity_check`, fsynced, renamed over `target`, and
 * the directory fsynced. Any failure removes the .tmp.
 */
struct BackupOptions {
  /** Replace an existing target (otherwise refused with TargetExists). */
  bool force = false;
  /** Pages copied per step; a stop request is checked between steps. */
  int pages_per_step = 1024;
  int busy_timeout_ms = 5000;
  /** Set from another thread to abandon the copy (daemon stopping). */
  const std::atomic<bool>* cancel = nullptr;
  /** Called after each step with the pages still to copy and the total. */
  std::function<void(int remaining, int total)> progress;
};

struct BackupResult {
  enum class Status {
    Ok,
    SourceMissing,  ///< no database at the source path
    TargetExists,   ///< target exists and force was not given
    NoSpace,        ///< the target's file system is full
    Corrupt,        ///< the copy failed PRAGMA integrity_check
    Cancelled,      ///< a stop request came in
    Failed,         ///< any other error (I/O, permissions, not a database)
  };
  Status status = Status::Failed;
  std::string message;  ///< what went wrong, in words an operator can act on
  std::uint64_t bytes = 0;
  int pages = 0;
  std::chrono::milliseconds duration{0};

  bool ok() const noexcept { return status == Status::Ok; }
};

std::string_view to_string(BackupResult::Status status) noexcept;

/** Copies the database at `source` to `target` as described above. */
BackupResult backup_database(const std::string& source, const std::string& target,
                             const BackupOptions& options = {});

/**
 * Parses a duration such as "24h", "30m", "1d12h", "90s" (units d, h, m, s;
 * at least one part, no sign). nullopt when it is not one.
 */
std::optional<std::chrono::seconds> parse_duration(std::string_view text);

}  // namespace pushgate::store
