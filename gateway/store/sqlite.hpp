#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <boost/system/error_code.hpp>

struct sqlite3;
struct sqlite3_stmt;

namespace pushgate::store {

/** SQLite result codes as boost::system errors (value = extended result code). */
const boost::system::error_category& sqlite_category() noexcept;
boost::system::error_code make_sqlite_error(int code) noexcept;

/** True for errors of the environment (disk full, I/O) after which a retry may succeed. */
bool is_environment_error(const boost::system::error_code& ec) noexcept;

class Statement;

/**
 * One SQLite connection, opened the same way every time (rule 8): WAL,
 * synchronous=FULL, foreign keys on, a busy timeout. Not thread-safe: one
 * owner thread at a time.
 */
class Connection {
 public:
  struct Options {
    bool read_only = false;
    int busy_timeout_ms = 5000;
    std::string synchronous = "FULL";
  };

  Connection() = default;
  ~Connection();
  Connection(Connection&& other) noexcept;
  Connection& operator=(Connection&& other) noexcept;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  static Connection open(const std::string& path, const Options& options,
                         boost::system::error_code& ec);

  /** Runs one or more statements without results. */
  boost::system::error_code exec(std::string_view sql);
  Statement prepare(std::string_view sql, boost::system::error_code& ec);

  std::int64_t last_insert_rowid() const noexcept;
  int changes() const noexcept;
  std::string last_error_message() const;
  bool is_open() const noexcept { return db_ != nullptr; }
  sqlite3* handle() const noexcept { return db_; }

 private:
  explicit Connection(sqlite3* db) : db_(db) {}
  sqlite3* db_ = nullptr;
};

/** A prepared statement. Bind indexes are 1-based as in SQLite. */
class Statement {
 public:
  Statement() = default;
  ~Statement();
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int index, std::int64_t value);
  Statement& bind(int index, int value) { return bind(index, static_cast<std::int64_t>(value)); }
  Statement& bind(int index, double value);
  Statement& bind(int index, std::string_view text);
  /** Binds without copying: `text` must stay alive until the statement is reset. */
  Statement& bind_static(int index, std::string_view text);
  Statement& bind_blob(int index, std::string_view bytes);
  Statement& bind_null(int index);
  /** Binds NULL when the value is empty. */
  Statement& bind(int index, const std::optional<std::int64_t>& value);

  /** Steps once: true when a row is available, false when done; `ec` on error. */
  bool step(boost::system::error_code& ec);
  /** Steps to completion (for statements without rows). */
  boost::system::error_code run();
  void reset() noexcept;

  std::int64_t column_int(int index) const;
  double column_double(int index) const;
  std::string column_text(int index) const;
  std::string column_blob(int index) const;
  bool column_is_null(int index) const;

  bool valid() const noexcept { return stmt_ != nullptr; }

 private:
  friend class Connection;
  explicit Statement(sqlite3_stmt* stmt) : stmt_(stmt) {}
  sqlite3_stmt* stmt_ = nullptr;
};

}  // namespace pushgate::store
