#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include <boost/system/error_code.hpp>

#include "gateway/store/sqlite.hpp"

namespace pushgate::store {

/**
 * What a WriteOp sees inside the group-commit transaction: the writer's
 * connection, a cache of prepared statements and the terminal-id map.
 * Only the writer thread creates and uses it.
 */
class WriteContext {
 public:
  WriteContext(Connection& db, std::int64_t now_ms) : db_(db), now_ms_(now_ms) {}

  Connection& db() noexcept { return db_; }
  std::int64_t now_ms() const noexcept { return now_ms_; }

  /** A prepared statement for `sql`, prepared once per writer. Reset before use. */
  Statement& statement(std::string_view sql, boost::system::error_code& ec);

  /**
   * The id of the terminal with serial `sn`, inserting a row on first sight.
   * Cached; the cache is dropped when a transaction rolls back.
   */
  std::int64_t terminal_id(std::string_view sn, boost::system::error_code& ec);

  /** Assigns the next per-terminal sequence number (persisted on commit). */
  std::int64_t next_seq(std::int64_t terminal_id, boost::system::error_code& ec);
  /** Gives back the number just taken (the record turned out to be a duplicate). */
  void unuse_seq(std::int64_t terminal_id) noexcept;

  /** Writes the sequence counters touched in this transaction. */
  boost::system::error_code flush_sequences();
  /** Forgets everything cached about rows written in a rolled-back transaction. */
  void on_rollback() noexcept;

  /** The cached state, to restore when one batch's savepoint rolls back. */
  struct Snapshot {
    std::unordered_map<std::string, std::int64_t> terminal_ids;  // copied from terminal_ids_
    std::unordered_map<std::int64_t, std::pair<std::int64_t, bool>> sequences;
  };
  Snapshot snapshot() const;
  void restore(Snapshot snapshot);
  void set_now_ms(std::int64_t now_ms) noexcept { now_ms_ = now_ms; }

 private:
  // Heterogeneous lookup: find by string_view without building a string.
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  template <class V>
  using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

  struct TerminalSeq {
    std::int64_t last_seq = 0;
    bool dirty = false;
  };
  Connection& db_;
  std::int64_t now_ms_;
  StringMap<Statement> statements_;
  StringMap<std::int64_t> terminal_ids_;
  std::unordered_map<std::int64_t, TerminalSeq> sequences_;
};

}  // namespace pushgate::store
