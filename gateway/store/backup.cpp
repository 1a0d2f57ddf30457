#include "gateway/store/backup.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

namespace pushgate::store {

namespace {

namespace fs = std::filesystem;
using Status = BackupResult::Status;

// Closes a connection on every path out.
struct Db {
  sqlite3* db = nullptr;
  Db() = default;
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;
  ~Db() { close(); }
  void close() {
    if (db != nullptr) {
      sqlite3_close_v2(db);
      db = nullptr;
    }
  }
  std::string error() const { return db != nullptr ? sqlite3_errmsg(db) : "out of memory"; }
};

Status status_for(int rc) {
  switch (rc & 0xff) {
    case SQLITE_FULL:
      return Status::NoSpace;
    default:
      return Status::Failed;
  }
}

Status status_for_errno(int err) {
  return err == ENOSPC || err == EDQUOT ? Status::NoSpace : Status::Failed;
}

void remove_with_sidecars(const std::string& path) {
  for (const char* suffix : {"", "-journal", "-wal", "-shm"}) {
    ::unlink((path + suffix).c_str());
  }
}

// fsync of a file or a directory; errno on failure, 0 when done.
int sync_path(const std::string& path, bool directory) {
  int fd = ::open(path.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) {
    return errno;
  }
  int err = ::fsync(fd) == 0 ? 0 : errno;
  ::close(fd);
  return err;
}

std::string dir_of(const std::string& path) {
  auto dir = fs::path(path).parent_path();
  return dir.empty() ? std::string(".") : dir.string();
}

int exec(sqlite3* db, const char* sql) {
  return sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
}

// "ok", or the first problems PRAGMA integrity_check names.
std::string integrity(sqlite3* db, int& rc) {
  sqlite3_stmt* stmt = nullptr;
  rc = sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    return {};
  }
  std::string out;
  int rows = 0;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    if (rows++ < 5) {
      const auto* text = sqlite3_column_text(stmt, 0);
      out += (out.empty() ? "" : "; ") +
             std::string(text != nullptr ? reinterpret_cast<const char*>(text) : "");
    }
  }
  sqlite3_finalize(stmt);
  if (rc == SQLITE_DONE) {
    rc = SQLITE_OK;
  }
  return out;
}

}  // namespace

std::string_view to_string(BackupResult::Status status) noexcept {
  switch (status) {
    case Status::Ok:
      return "ok";
    case Status::SourceMissing:
      return "source_missing";
    case Status::TargetExists:
      return "target_exists";
    case Status::NoSpace:
      return "no_space";
    case Status::Corrupt:
      return "corrupt";
    case Status::Cancelled:
      return "cancelled";
    case Status::Failed:
      return "failed";
  }
  return "failed";
}

BackupResult backup_database(const std::string& source, const std::string& target,
                             const BackupOptions& options) {
  const auto started = std::chrono::steady_clock::now();
  BackupResult r;
  const std::string tmp = target + ".tmp";
  bool tmp_created = false;
  auto fail = [&](Status status, std::string message) {
    if (tmp_created) {
      remove_with_sidecars(tmp);
    }
    r.status = status;
    r.message = std::move(message);
    r.duration = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started);
    return r;
  };

  std::error_code ec;
  if (!fs::is_regular_file(source, ec)) {
    return fail(Status::SourceMissing, "no database at " + source);
  }
  if (fs::exists(target, ec)) {
    if (fs::equivalent(source, target, ec)) {
      return fail(Status::TargetExists, target + " is the database itself");
    }
    if (!options.force) {
      return fail(Status::TargetExists, target + " exists; give --force to replace it");
    }
  }
  fs::path dir = fs::path(target).parent_path();
  if (dir.empty()) {
    dir = ".";
  }
  if (!fs::is_directory(dir, ec)) {
    return fail(Status::Failed, "no directory " + dir.string() + " for " + target);
  }

  // A .tmp left by an interrupted backup is ours to replace. The new one is
  // created 0600 (the database holds personal data) before SQLite opens it.
  remove_with_sidecars(tmp);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    int err = errno;
    return fail(status_for_errno(err), "cannot create " + tmp + ": " + std::strerror(err));
  }
  ::close(fd);
  tmp_created = true;

  // The source: its own connection, one read transaction (one WAL snapshot)
  // held across every step so the copy never restarts. It only reads. It is
  // opened read-write when it may be, for one reason: with the daemon
  // stopped, the -wal and -shm a WAL reader must create are removed again
  // when this, the last connection, closes (a read-only one leaves them).
  Db src;
  const int src_mode =
      ::access(source.c_str(), R_OK | W_OK) == 0 && ::access(dir_of(source).c_str(), W_OK) == 0
          ? SQLITE_OPEN_READWRITE
          : SQLITE_OPEN_READONLY;
  int rc = sqlite3_open_v2(source.c_str(), &src.db, src_mode | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    return fail(Status::Failed, "cannot open " + source + ": " + src.error());
  }
  sqlite3_busy_timeout(src.db, options.busy_timeout_ms);
  if (rc = exec(src.db, "BEGIN; SELECT COUNT(*) FROM sqlite_schema;"); rc != SQLITE_OK) {
    return fail(Status::Failed, "cannot read " + source + ": " + src.error());
  }

  Db dst;
  rc = sqlite3_open_v2(tmp.c_str(), &dst.db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    return fail(status_for(rc), "cannot open " + tmp + ": " + dst.error());
  }
  // The .tmp is nobody's database until it is verified and renamed: no
  // journal, no SQLite syncs. Instead it is written back (fdatasync) after
  // every step, so at most one step (4 MB) of dirty pages is pending: left
  // to pile up, hundreds of MB in the page cache would be flushed by the
  // daemon's own WAL fsyncs (ext4 data=ordered) and delay its OKs, and take
  // memory a small box needs.
  if (rc = exec(dst.db, "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"); rc != SQLITE_OK) {
    return fail(status_for(rc), "cannot write " + tmp + ": " + dst.error());
  }
  struct Fd {
    int fd;
    ~Fd() {
      if (fd >= 0) {
        ::close(fd);
      }
    }
  } sync_fd{::open(tmp.c_str(), O_RDONLY | O_CLOEXEC)};
  if (sync_fd.fd < 0) {
    int err = errno;
    return fail(Status::Failed, "cannot open " + tmp + ": " + std::strerror(err));
  }
  int sync_err = 0;
  sqlite3_backup* b = sqlite3_backup_init(dst.db, "main", src.db, "main");
  if (b == nullptr) {
    return fail(Status::Failed, "cannot start the backup: " + dst.error());
  }
  const auto busy_until =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(options.busy_timeout_ms);
  bool cancelled = false;
  for (;;) {
    if (options.cancel != nullptr && options.cancel->load()) {
      cancelled = true;
      break;
    }
    rc = sqlite3_backup_step(b, options.pages_per_step > 0 ? options.pages_per_step : -1);
    if (rc == SQLITE_OK) {
      if (::fdatasync(sync_fd.fd) != 0) {
        sync_err = errno;
        break;
      }
      if (options.progress) {
        options.progress(sqlite3_backup_remaining(b), sqlite3_backup_pagecount(b));
      }
      continue;
    }
    if ((rc == SQLITE_BUSY || rc == SQLITE_LOCKED) &&
        std::chrono::steady_clock::now() < busy_until) {
      sqlite3_sleep(20);
      continue;
    }
    break;
  }
  r.pages = sqlite3_backup_pagecount(b);
  int finish_rc = sqlite3_backup_finish(b);
  if (cancelled) {
    return fail(Status::Cancelled, "backup of " + source + " cancelled (stopping)");
  }
  if (sync_err != 0) {
    return fail(status_for_errno(sync_err), "writing " + tmp + ": " + std::strerror(sync_err));
  }
  if (rc != SQLITE_DONE) {
    return fail(status_for(rc), "copying " + source + " to " + tmp + ": " + sqlite3_errstr(rc));
  }
  if (finish_rc != SQLITE_OK) {
    return fail(status_for(finish_rc), "copying " + source + " to " + tmp + ": " + dst.error());
  }
  exec(src.db, "COMMIT");
  src.close();  // the snapshot is released: checkpoints may reset the WAL again

  // The copy as a standalone file: rollback journal (no -wal to carry along;
  // pushgated switches it back to WAL when it opens it), then checked.
  if (rc = exec(dst.db, "PRAGMA journal_mode=DELETE;"); rc != SQLITE_OK) {
    return fail(status_for(rc), "cannot write " + tmp + ": " + dst.error());
  }
  dst.close();
  // Checked as it is on disk, through a fresh connection.
  Db check;
  rc = sqlite3_open_v2(tmp.c_str(), &check.db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
  auto verdict = rc == SQLITE_OK ? integrity(check.db, rc) : std::string();
  if (rc != SQLITE_OK) {
    return fail(status_for(rc), "cannot check " + tmp + ": " + check.error());
  }
  if (verdict != "ok") {
    return fail(Status::Corrupt, "the copy failed PRAGMA integrity_check: " + verdict);
  }
  check.close();

  if (int err = sync_path(tmp, false); err != 0) {
    return fail(status_for_errno(err), "cannot fsync " + tmp + ": " + std::strerror(err));
  }
  if (::rename(tmp.c_str(), target.c_str()) != 0) {
    int err = errno;
    return fail(status_for_errno(err),
                "cannot rename " + tmp + " to " + target + ": " + std::strerror(err));
  }
  tmp_created = false;
  if (int err = sync_path(dir.string(), true); err != 0) {
    return fail(status_for_errno(err), "cannot fsync " + dir.string() + ": " + std::strerror(err));
  }
  r.bytes = static_cast<std::uint64_t>(fs::file_size(target, ec));
  r.status = Status::Ok;
  r.duration = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  return r;
}

std::optional<std::chrono::seconds> parse_duration(std::string_view text) {
  if (text.empty()) {
    return std::nullopt;
  }
  std::int64_t total = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    std::int64_t n = 0;
    std::size_t digits = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      n = n * 10 + (text[i] - '0');
      if (n > 100'000'000) {
        return std::nullopt;
      }
      ++i;
      ++digits;
    }
    if (digits == 0 || i == text.size()) {
      return std::nullopt;
    }
    switch (text[i++]) {
      case 'd':
        total += n * 86400;
        break;
      case 'h':
        total += n * 3600;
        break;
      case 'm':
        total += n * 60;
        break;
      case 's':
        total += n;
        break;
      default:
        return std::nullopt;
    }
  }
  return std::chrono::seconds(total);
}

}  // namespace pushgate::store
