#include "gateway/store/event_queries.hpp"

#include <map>

#include "gateway/store/record_keys.hpp"

namespace pushgate::store {

namespace {
int opt_int(const Statement& st, int col) {
  return st.column_is_null(col) ? kUnset : static_cast<int>(st.column_int(col));
}

// Field names, numbers and punctuation of one row in an answer, roughly.
constexpr std::size_t kRowOverhead = 256;

// Adds a row's bytes to a page's total; false (row left out, `cut` set)
// when the page would pass `max_bytes` and already has rows.
bool fits(std::size_t& total, std::size_t row, std::size_t max_bytes, bool has_rows, bool* cut) {
  if (max_bytes != 0 && has_rows && total + row > max_bytes) {
    if (cut != nullptr) {
      *cut = true;
    }
    return false;
  }
  total += row;
  return true;
}
}  // namespace

std::size_t page_bytes(const Event& e) noexcept {
  return kRowOverhead + e.terminal_sn.size() + e.record_key.size() + e.local_time.size() +
         e.pin.size() + e.work_code.size() + e.raw.size() + e.extra_json.size();
}

namespace {

constexpr const char* kEventColumns =
    "e.id, t.sn, e.seq, e.record_key, e.kind, e.local_time, e.utc_ms, e.pin,"
    " e.verify_mode, e.status, e.work_code, e.door, e.event_code, e.raw, e.extra,"
    " e.received_ms, e.command_id";

// One row of kEventColumns.
Event row_to_event(const Statement& st) {
  Event e;
  e.id = st.column_int(0);
  e.terminal_sn = st.column_text(1);
  e.seq = st.column_int(2);
  e.record_key = public_record_key(st.column_text(3));
  e.kind = static_cast<EventKind>(st.column_int(4));
  e.local_time = st.column_text(5);
  if (!st.column_is_null(6)) {
    e.utc_ms = st.column_int(6);
  }
  e.pin = st.column_text(7);
  e.verify_mode = opt_int(st, 8);
  e.status = opt_int(st, 9);
  e.work_code = st.column_text(10);
  e.door = opt_int(st, 11);
  e.event_code = opt_int(st, 12);
  e.raw = st.column_text(13);
  e.extra_json = st.column_text(14);
  e.received_ms = st.column_int(15);
  e.command_id = st.column_is_null(16) ? 0 : st.column_int(16);
  return e;
}

}  // namespace

std::vector<Event> read_events(Connection& db, const EventQuery& q, boost::system::error_code& ec,
                               bool* cut) {
  if (cut != nullptr) {
    *cut = false;
  }
  std::size_t total = 0;
  std::string sql = std::string("SELECT ") + kEventColumns +
                    " FROM events e JOIN terminals t ON t.id = e.terminal_id WHERE e.id > ?1";
  if (!q.terminal.empty()) {
    sql += " AND t.sn = ?3";
  }
  if (q.kind) {
    sql += " AND e.kind = ?4";
  }
  if (q.newest_first && q.before > 0) {
    sql += " AND e.id < ?5";
  }
  sql += q.newest_first ? " ORDER BY e.id DESC LIMIT ?2" : " ORDER BY e.id LIMIT ?2";
  auto st = db.prepare(sql, ec);
  std::vector<Event> out;
  if (ec) {
    return out;
  }
  st.bind(1, q.after).bind(2, static_cast<std::int64_t>(q.limit));
  if (!q.terminal.empty()) {
    st.bind(3, std::string_view(q.terminal));
  }
  if (q.kind) {
    st.bind(4, static_cast<int>(*q.kind));
  }
  if (q.newest_first && q.before > 0) {
    st.bind(5, q.before);
  }
  while (st.step(ec)) {
    Event e = row_to_event(st);
    if (!fits(total, page_bytes(e), q.max_bytes, !out.empty(), cut)) {
      break;
    }
    out.push_back(std::move(e));
  }
  return out;
}

std::vector<Event> latest_event_per_terminal(Connection& db, std::span<const EventKind> kinds,
                                             boost::system::error_code& ec) {
  std::vector<Event> out;
  if (kinds.empty()) {
    return out;
  }
  std::string in;
  for (auto k : kinds) {
    in += (in.empty() ? "" : ", ") + std::to_string(static_cast<int>(k));
  }
  auto st = db.prepare(std::string("SELECT ") + kEventColumns +
                           " FROM events e JOIN terminals t ON t.id = e.terminal_id WHERE e.id IN"
                           " (SELECT MAX(id) FROM events WHERE kind IN (" +
                           in + ") GROUP BY terminal_id) ORDER BY e.id",
                       ec);
  while (!ec && st.step(ec)) {
    out.push_back(row_to_event(st));
  }
  if (ec) {
    out.clear();
  }
  return out;
}

std::int64_t max_event_id(Connection& db, boost::system::error_code& ec) {
  auto st = db.prepare("SELECT COALESCE(MAX(id), 0) FROM events", ec);
  if (ec) {
    return 0;
  }
  return st.step(ec) ? st.column_int(0) : 0;
}

std::vector<QuarantineRow> read_quarantine(Connection& db, std::int64_t after, std::size_t limit,
                                           const std::string& terminal,
                                           boost::system::error_code& ec, std::size_t max_bytes,
                                           bool* cut) {
  if (cut != nullptr) {
    *cut = false;
  }
  std::size_t total = 0;
  std::string sql =
      "SELECT id, terminal_sn, received_ms, endpoint, table_name, line_no, reason, raw"
      " FROM quarantine WHERE id > ?1";
  if (!terminal.empty()) {
    sql += " AND terminal_sn = ?3";
  }
  sql += " ORDER BY id LIMIT ?2";
  auto st = db.prepare(sql, ec);
  std::vector<QuarantineRow> out;
  if (ec) {
    return out;
  }
  st.bind(1, after).bind(2, static_cast<std::int64_t>(limit));
  if (!terminal.empty()) {
    st.bind(3, std::string_view(terminal));
  }
  while (st.step(ec)) {
    QuarantineRow r;
    r.id = st.column_int(0);
    r.record.terminal_sn = st.column_text(1);
    r.record.received_ms = st.column_int(2);
    r.record.endpoint = st.column_text(3);
    r.record.table = st.column_text(4);
    r.record.line_no = static_cast<int>(st.column_int(5));
    r.record.reason = st.column_text(6);
    r.record.raw = st.column_blob(7);
    std::size_t row = kRowOverhead + r.record.terminal_sn.size() + r.record.endpoint.size() +
                      r.record.table.size() + r.record.reason.size() + r.record.raw.size();
    if (!fits(total, row, max_bytes, !out.empty(), cut)) {
      break;
    }
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<TerminalCounts> read_terminal_counts(Connection& db, boost::system::error_code& ec) {
  std::map<std::string, TerminalCounts> by_sn;
  auto st = db.prepare(
      "SELECT t.sn, e.kind, COUNT(*) FROM events e JOIN terminals t ON t.id = e.terminal_id"
      " GROUP BY t.sn, e.kind",
      ec);
  if (ec) {
    return {};
  }
  while (st.step(ec)) {
    auto& c = by_sn[st.column_text(0)];
    auto n = st.column_int(2);
    c.events += n;
    c.by_kind.emplace_back(std::string(to_string(static_cast<EventKind>(st.column_int(1)))), n);
  }
  struct Count {
    const char* sql;
    std::int64_t TerminalCounts::*field;
  };
  const Count counts[] = {
      {"SELECT t.sn, COUNT(*) FROM terminal_users u JOIN terminals t ON t.id = u.terminal_id GROUP "
       "BY t.sn",
       &TerminalCounts::users},
      {"SELECT t.sn, COUNT(*) FROM terminal_templates u JOIN terminals t ON t.id = u.terminal_id "
       "GROUP BY t.sn",
       &TerminalCounts::templates},
      {"SELECT t.sn, COUNT(*) FROM terminal_photos u JOIN terminals t ON t.id = u.terminal_id "
       "GROUP BY t.sn",
       &TerminalCounts::photos},
      {"SELECT terminal_sn, COUNT(*) FROM quarantine WHERE terminal_sn IS NOT NULL GROUP BY "
       "terminal_sn",
       &TerminalCounts::quarantined},
  };
  for (const auto& c : counts) {
    auto q = db.prepare(c.sql, ec);
    if (ec) {
      return {};
    }
    while (q.step(ec)) {
      by_sn[q.column_text(0)].*(c.field) = q.column_int(1);
    }
  }
  std::vector<TerminalCounts> out;
  for (auto& [sn, c] : by_sn) {
    c.sn = sn;
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace pushgate::store
