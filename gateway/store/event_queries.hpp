#pragma once

#include <cstdint>
#include <optional>
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
  std::size_t limit = 100;
  std::string terminal;           ///< serial; empty = all
  std::optional<EventKind> kind;  ///< empty = all
};

std::vector<Event> read_events(Connection& db, const EventQuery& q, boost::system::error_code& ec);

/** Highest event id committed (0 for an empty log). */
std::int64_t max_event_id(Connection& db, boost::system::error_code& ec);

struct QuarantineRow {
  std::int64_t id = 0;
  QuarantineRecord record;
};
std::vector<QuarantineRow> read_quarantine(Connection& db, std::int64_t after, std::size_t limit,
                                           const std::string& terminal,
                                           boost::system::error_code& ec);

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
