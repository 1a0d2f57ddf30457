#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <boost/system/error_code.hpp>

#include "gateway/event.hpp"
#include "gateway/event_log.hpp"
#include "gateway/store/sqlite.hpp"

namespace pushgate::store {

/** A page of the event log: ids strictly after `after`, ascending. */
struct EventQuery {
  std::int64_t after = 0;
  /**
   * Newest first (paging back in history): rows with id < before (0: from
   * the newest row), highest id first. `after` still bounds from below.
   */
  bool newest_first = false;
  std::int64_t before = 0;
  std::size_t limit = 100;
  std::string terminal;           ///< serial; empty = all
  std::optional<EventKind> kind;  ///< empty = all
  /**
   * Bytes of text a page may carry (0: no bound): a row that would take the
   * page past it is left for the next page, unless it is the first row.
   */
  std::size_t max_bytes = 0;
};

/** `cut` (when given) is set when rows were left out for max_bytes: there are more. */
std::vector<Event> read_events(Connection& db, const EventQuery& q, boost::system::error_code& ec,
                               bool* cut = nullptr);
/** The bytes an event brings to a page (its text fields plus a fixed overhead). */
std::size_t page_bytes(const Event& e) noexcept;

/** Per terminal, its latest event of one of `kinds`, by id. */
std::vector<Event> latest_event_per_terminal(Connection& db, std::span<const EventKind> kinds,
                                             boost::system::error_code& ec);

/** Highest event id committed (0 for an empty log). */
std::int64_t max_event_id(Connection& db, boost::system::error_code& ec);

struct QuarantineRow {
  std::int64_t id = 0;
  QuarantineRecord record;
};
/** As read_events: at most `limit` rows and, past the first, `max_bytes` (0: no bound). */
std::vector<QuarantineRow> read_quarantine(Connection& db, std::int64_t after, std::size_t limit,
                                           const std::string& terminal,
                                           boost::system::error_code& ec, std::size_t max_bytes = 0,
                                           bool* cut = nullptr);

/** Per terminal: events stored, by kind name. */
struct TerminalCounts {
  std::string sn;
  std::int64_t events = 0;
  std::vector<std::pair<std::string, std::int64_t>> by_kind;
  std::int64_t users = 0;
  std::int64_t templates = 0;
  std::int64_t photos = 0;
  std::int64_t quarantined = 0;
};
std::vector<TerminalCounts> read_terminal_counts(Connection& db, boost::system::error_code& ec);

}  // namespace pushgate::store
