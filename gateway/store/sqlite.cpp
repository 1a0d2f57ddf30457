#include "gateway/store/sqlite.hpp"

#include <sqlite3.h>

#include <mutex>
#include <utility>

namespace pushgate::store {

namespace {

// Statement journals never go to a temporary file (SQLite: a negative spill).
constexpr int kStatementJournalInMemory = -1;

/**
 * Process-wide SQLite settings, before the first connection opens:
 * - Statement journals (a SAVEPOINT's copies of the pages it changes; the
 *   store puts each request's batch under one) stay in memory. SQLite's
 *   default spills them to a temporary file past 64 KiB, which one
 *   100-record batch exceeds: the writer then wrote ~14 journal pages per WAL
 *   frame, every one a pwrite (issue 19's ingest profile). No threshold in
 *   between: with SQLite 3.40 (Debian 12) a spill threshold of 256 KiB or
 *   more makes the statement that crosses it fail with SQLITE_FULL, on any
 *   disk (a full sync's batches did: StoreTest.ABatchRewritingMoreThan
 *   FourMegabytesCommits). In memory, a journal holds the original pages
 *   one batch rewrites (new pages are not journaled), bounded by the batch,
 *   and is freed when the batch's savepoint is released.
 * - No memory statistics: they take a global mutex on every allocation, and
 *   nothing here reads them.
 * If SQLite was initialised before (a test's VFS shim), these fail with
 * SQLITE_MISUSE and the defaults stay: slower, not different.
 */
void configure_library() noexcept {
  static std::once_flag once;
  std::call_once(once, [] {
    sqlite3_config(SQLITE_CONFIG_STMTJRNL_SPILL, kStatementJournalInMemory);
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  });
}

// boost::system::error_category (1.74) has a protected non-virtual destructor.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnon-virtual-dtor"
class SqliteCategory final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "sqlite"; }
  std::string message(int ev) const override { return sqlite3_errstr(ev); }
};
#pragma GCC diagnostic pop

}  // namespace

const boost::system::error_category& sqlite_category() noexcept {
  static const SqliteCategory category;
  return category;
}

boost::system::error_code make_sqlite_error(int code) noexcept {
  return {code, sqlite_category()};
}

bool is_environment_error(const boost::system::error_code& ec) noexcept {
  if (ec.category() != sqlite_category()) {
    return false;
  }
  switch (ec.value() & 0xff) {
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_NOMEM:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PROTOCOL:
      return true;
    default:
      return false;
  }
}

Connection::~Connection() {
  if (db_ != nullptr) {
    sqlite3_close_v2(db_);
  }
}

Connection::Connection(Connection&& other) noexcept : db_(std::exchange(other.db_, nullptr)) {}

Connection& Connection::operator=(Connection&& other) noexcept {
  if (this != &other) {
    if (db_ != nullptr) {
      sqlite3_close_v2(db_);
    }
    db_ = std::exchange(other.db_, nullptr);
  }
  return *this;
}

Connection Connection::open(const std::string& path, const Options& options,
                            boost::system::error_code& ec) {
  configure_library();
  sqlite3* db = nullptr;
  int flags =
      options.read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  flags |= SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  Connection conn(db);
  if (rc != SQLITE_OK) {
    ec = make_sqlite_error(rc);
    return Connection{};
  }
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, options.busy_timeout_ms);
  std::string pragmas = "PRAGMA foreign_keys=ON; PRAGMA synchronous=" + options.synchronous + ";";
  if (!options.read_only) {
    // WAL is a property of the database file; setting it from the writer is
    // enough, and readers find it on open.
    pragmas = "PRAGMA journal_mode=WAL; " + pragmas;
  }
  if (auto e = conn.exec(pragmas)) {
    ec = e;
    return Connection{};
  }
  ec = {};
  return conn;
}

boost::system::error_code Connection::exec(std::string_view sql) {
  std::string copy(sql);
  int rc = sqlite3_exec(db_, copy.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) {
    return make_sqlite_error(sqlite3_extended_errcode(db_));
  }
  return {};
}

Statement Connection::prepare(std::string_view sql, boost::system::error_code& ec) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    ec = make_sqlite_error(rc);
    return Statement{};
  }
  ec = {};
  return Statement(stmt);
}

std::int64_t Connection::last_insert_rowid() const noexcept {
  return sqlite3_last_insert_rowid(db_);
}
int Connection::changes() const noexcept {
  return sqlite3_changes(db_);
}
std::string Connection::last_error_message() const {
  return db_ != nullptr ? sqlite3_errmsg(db_) : "not open";
}

Statement::~Statement() {
  if (stmt_ != nullptr) {
    sqlite3_finalize(stmt_);
  }
}

Statement::Statement(Statement&& other) noexcept : stmt_(std::exchange(other.stmt_, nullptr)) {}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    if (stmt_ != nullptr) {
      sqlite3_finalize(stmt_);
    }
    stmt_ = std::exchange(other.stmt_, nullptr);
  }
  return *this;
}

Statement& Statement::bind(int index, std::int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}
Statement& Statement::bind(int index, double value) {
  sqlite3_bind_double(stmt_, index, value);
  return *this;
}
Statement& Statement::bind(int index, std::string_view text) {
  sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  return *this;
}
Statement& Statement::bind_static(int index, std::string_view text) {
  sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_STATIC, SQLITE_UTF8);
  return *this;
}
Statement& Statement::bind_blob(int index, std::string_view bytes) {
  sqlite3_bind_blob64(stmt_, index, bytes.data(), bytes.size(), SQLITE_TRANSIENT);
  return *this;
}
Statement& Statement::bind_null(int index) {
  sqlite3_bind_null(stmt_, index);
  return *this;
}
Statement& Statement::bind(int index, const std::optional<std::int64_t>& value) {
  return value ? bind(index, *value) : bind_null(index);
}

bool Statement::step(boost::system::error_code& ec) {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) {
    ec = {};
    return true;
  }
  if (rc == SQLITE_DONE) {
    ec = {};
    return false;
  }
  ec = make_sqlite_error(sqlite3_extended_errcode(sqlite3_db_handle(stmt_)));
  return false;
}

boost::system::error_code Statement::run() {
  boost::system::error_code ec;
  while (step(ec)) {
  }
  sqlite3_reset(stmt_);
  return ec;
}

void Statement::reset() noexcept {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

std::int64_t Statement::column_int(int index) const {
  return sqlite3_column_int64(stmt_, index);
}
double Statement::column_double(int index) const {
  return sqlite3_column_double(stmt_, index);
}
std::string Statement::column_text(int index) const {
  const auto* p = sqlite3_column_text(stmt_, index);
  int n = sqlite3_column_bytes(stmt_, index);
  return p != nullptr ? std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n))
                      : std::string();
}
std::string Statement::column_blob(int index) const {
  const void* p = sqlite3_column_blob(stmt_, index);
  int n = sqlite3_column_bytes(stmt_, index);
  return p != nullptr ? std::string(static_cast<const char*>(p), static_cast<std::size_t>(n))
                      : std::string();
}
bool Statement::column_is_null(int index) const {
  return sqlite3_column_type(stmt_, index) == SQLITE_NULL;
}

}  // namespace pushgate::store
