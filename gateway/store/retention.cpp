#include "gateway/store/retention.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <future>
#include <limits>
#include <memory>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "gateway/event.hpp"
#include "gateway/logging.hpp"
#include "gateway/store/store.hpp"
#include "gateway/store/write_context.hpp"

namespace pushgate::store {

namespace {

constexpr std::int64_t kDayMs = 24LL * 3600 * 1000;
constexpr std::string_view kHealthCheck = "retention";

std::string lower(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (std::isspace(static_cast<unsigned char>(c)) == 0) {
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
  }
  return out;
}

// Waits for a batch's commit; the store answers every batch, even on stop.
boost::system::error_code append_and_wait(Store& store, WriteBatch batch, CommitResult* out) {
  auto promise = std::make_shared<std::promise<CommitResult>>();
  auto future = promise->get_future();
  store.append(std::move(batch), [promise](CommitResult r) { promise->set_value(std::move(r)); });
  auto r = future.get();
  auto ec = r.ec;
  if (out != nullptr) {
    *out = std::move(r);
  }
  return ec;
}

std::string sink_list(const std::map<std::string, std::int64_t>& undelivered) {
  std::string s;
  for (const auto& [sink, n] : undelivered) {
    if (n == 0) {
      continue;
    }
    if (!s.empty()) {
      s += ", ";
    }
    s += std::to_string(n) + " not yet delivered to sink " + sink;
  }
  return s;
}

// The integer a one-value PRAGMA answers; 0 on an error (in `ec`).
std::int64_t pragma_int(Connection& db, std::string_view sql, boost::system::error_code& ec) {
  auto st = db.prepare(sql, ec);
  if (ec) {
    return 0;
  }
  return st.step(ec) ? st.column_int(0) : 0;
}

}  // namespace

std::optional<std::int64_t> parse_size(std::string_view text, std::string& error) {
  const std::string s = lower(text);
  std::size_t i = 0;
  while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) != 0 || s[i] == '.')) {
    ++i;
  }
  if (i == 0) {
    error =
        "\"" + std::string(text) + "\" is not a size (bytes, or a number with KB, MB, GB or TB)";
    return std::nullopt;
  }
  double number = 0;
  try {
    std::size_t used = 0;
    number = std::stod(s.substr(0, i), &used);
    if (used != i) {
      throw std::invalid_argument("trailing");
    }
  } catch (const std::exception&) {
    error =
        "\"" + std::string(text) + "\" is not a size (bytes, or a number with KB, MB, GB or TB)";
    return std::nullopt;
  }
  const std::string unit = s.substr(i);
  double scale = 0;
  if (unit.empty() || unit == "b") {
    scale = 1;
  } else if (unit == "k" || unit == "kb" || unit == "kib") {
    scale = 1024.0;
  } else if (unit == "m" || unit == "mb" || unit == "mib") {
    scale = 1024.0 * 1024;
  } else if (unit == "g" || unit == "gb" || unit == "gib") {
    scale = 1024.0 * 1024 * 1024;
  } else if (unit == "t" || unit == "tb" || unit == "tib") {
    scale = 1024.0 * 1024 * 1024 * 1024;
  } else {
    error = "\"" + std::string(text) + "\": unknown unit \"" + unit + "\" (use KB, MB, GB or TB)";
    return std::nullopt;
  }
  const double bytes = number * scale;
  if (!std::isfinite(bytes) || bytes >= 9.0e18) {
    error = "\"" + std::string(text) + "\" is too large";
    return std::nullopt;
  }
  return static_cast<std::int64_t>(std::llround(bytes));
}

std::int64_t wal_limit(const RetentionOptions& o) {
  std::int64_t limit = o.wal_limit_bytes;
  if (o.max_db_size > 0) {
    limit = std::min(limit, o.max_db_size / 16);
  }
  return limit;
}

std::int64_t wal_autocheckpoint_pages(std::int64_t wal_limit_bytes, std::int64_t page_size) {
  constexpr std::int64_t kSqliteDefault = 1000;
  return std::max(kSqliteDefault, wal_limit_bytes / 2 / std::max<std::int64_t>(page_size, 512));
}

RetentionOptions retention_options_from_config(const config::Config& config) {
  RetentionOptions o;
  o.retain_days = static_cast<int>(config.get_int("store.retain_days"));
  std::string error;
  auto size = parse_size(config.get_string("store.max_db_size"), error);
  if (!size) {
    throw std::invalid_argument("store.max_db_size: " + error);
  }
  o.max_db_size = *size;
  o.interval = std::chrono::seconds(config.get_int("store.retention_interval_s"));
  o.batch = static_cast<std::size_t>(config.get_int("store.retention_batch"));
  o.gateway_id = config.get_string("gateway.id");
  if (config.get_bool("attendance.enabled")) {
    o.attendance_days = static_cast<int>(config.get_int("attendance.retain_days"));
  }
  return o;
}

DatabaseSize measure_database(Connection& db, const std::string& path,
                              boost::system::error_code& ec) {
  DatabaseSize size;
  auto one = [&](std::string_view sql) { return ec ? 0 : pragma_int(db, sql, ec); };
  size.page_size = one("PRAGMA page_size");
  size.pages = one("PRAGMA page_count");
  size.free_pages = one("PRAGMA freelist_count");
  std::error_code fec;
  auto wal = std::filesystem::file_size(path + "-wal", fec);
  size.wal_bytes = fec ? 0 : static_cast<std::int64_t>(wal);
  return size;
}

struct Retention::Plan {
  /** An event the plan would delete. */
  struct Row {
    std::int64_t id = 0;
    std::int64_t terminal_id = 0;
    std::int64_t horizon_ms = 0;  ///< the time its deletion adds to its terminal's horizon
    bool own = false;             ///< the gateway's own event: no horizon
  };
  std::vector<Row> rows;
  /** The durable cursor of each running sink. */
  std::map<std::string, std::int64_t> cursors;
  /** From rows by finalize(): what is deleted, and what that does. */
  std::vector<std::int64_t> ids;
  std::int64_t held = 0;  ///< rows left alone: a sink holds them
  /** What one terminal's deleted events set: the range of their times, and how many. */
  struct Horizon {
    std::int64_t newest_ms = 0;
    std::int64_t oldest_ms = 0;
    std::int64_t deleted = 0;
  };
  /** Per device terminal id. */
  std::map<std::int64_t, Horizon> horizons;
  std::map<std::string, std::int64_t> undelivered;
  std::int64_t next_from = 0;
  bool more = false;
  DatabaseSize size;
};

Retention::Retention(Store& store, const Clock& clock, metrics::Registry& metrics, Health& health,
                     RetentionOptions options,
                     std::function<std::vector<std::string>()> enabled_sinks, SinkHolds* holds)
    : store_(store),
      clock_(clock),
      metrics_(metrics),
      health_(health),
      options_(std::move(options)),
      enabled_sinks_(std::move(enabled_sinks)),
      holds_(holds),
      deleted_aged_(metrics.counter("pushgate_events_deleted_total",
                                    "Events deleted by retention, by reason (age: older than "
                                    "store.retain_days and delivered; budget: store.max_db_size)",
                                    {{"reason", "age"}})),
      deleted_budget_(metrics.counter("pushgate_events_deleted_total",
                                      "Events deleted by retention, by reason (age: older than "
                                      "store.retain_days and delivered; budget: store.max_db_size)",
                                      {{"reason", "budget"}})),
      alerts_(metrics.counter("pushgate_retention_alerts_total",
                              "Alert events stored for events deleted before delivery")),
      failures_(metrics.counter("pushgate_retention_failures_total",
                                "Retention passes cut short by a failed read or commit")),
      checkpoints_busy_(metrics.counter(
          "pushgate_store_checkpoints_busy_total",
          "Retention's WAL checkpoints that readers kept from finishing (tried next pass)")),
      used_bytes_(metrics.gauge("pushgate_database_used_bytes",
                                "Database pages in use plus the WAL, as store.max_db_size counts")),
      wal_bytes_(metrics.gauge("pushgate_database_wal_bytes", "Size of the WAL file")),
      free_bytes_(metrics.gauge("pushgate_database_free_bytes",
                                "Free pages in the database file, reused before it grows")) {
  health_.set(Health::Kind::Ready, std::string(kHealthCheck), true);
}

Retention::~Retention() {
  stop();
}

void Retention::start() {
  std::lock_guard lock(mutex_);
  if (thread_.joinable()) {
    return;
  }
  stopping_ = false;
  thread_ = std::thread([this] { run(); });
}

void Retention::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
}

void Retention::run() {
  // The WAL settings hold from the start, not from the first pass.
  if (!set_wal_limit()) {
    failures_.inc();
  }
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      if (cv_.wait_for(lock, options_.interval, [this] { return stopping_; })) {
        return;
      }
    }
    run_pass();
  }
}

bool Retention::set_wal_limit() {
  if (wal_limit_set_) {
    return true;
  }
  const std::int64_t limit = wal_limit(options_);
  WriteBatch batch;
  batch.ops.push_back([limit](WriteContext& ctx) {
    // Connection settings of the writer. After a checkpoint resets the WAL,
    // SQLite truncates the file to journal_size_limit instead of keeping its
    // peak. Its autocheckpoint copies the WAL back at half that: a checkpoint
    // writes each page once however often the commits since the last one
    // rewrote it, so the fewer checkpoints, the fewer writes of the pages
    // every commit touches (index leaves, the table's last page).
    boost::system::error_code ec;
    const std::int64_t page_size = pragma_int(ctx.db(), "PRAGMA page_size", ec);
    if (ec) {
      return ec;
    }
    const std::int64_t pages = wal_autocheckpoint_pages(limit, page_size);
    return ctx.db().exec("PRAGMA journal_size_limit=" + std::to_string(limit) +
                         "; PRAGMA wal_autocheckpoint=" + std::to_string(pages) + ";");
  });
  wal_limit_set_ = !append_and_wait(store_, std::move(batch), nullptr);
  return wal_limit_set_;
}

// The WAL stays bounded under constant load: autocheckpoints copy it back
// but cannot restart it while readers overlap; this one waits (briefly) for
// them, then truncates the file.
void Retention::checkpoint() {
  auto promise = std::make_shared<std::promise<Store::CheckpointResult>>();
  auto future = promise->get_future();
  store_.checkpoint(options_.checkpoint_wait,
                    [promise](Store::CheckpointResult r) { promise->set_value(r); });
  auto r = future.get();
  if (r.ec) {
    checkpoints_busy_.inc();
    logger("store")->debug("retention: WAL checkpoint did not finish ({}); next pass",
                           r.ec.message());
  }
}

bool Retention::plan(Plan& p, bool budget, std::int64_t from) {
  struct Read {
    boost::system::error_code ec;
    std::string what;
  };
  const auto sinks = enabled_sinks_();
  const std::int64_t now = clock_.now_ms();
  const std::int64_t cutoff = now - static_cast<std::int64_t>(options_.retain_days) * kDayMs;
  const std::int64_t att_cutoff =
      options_.attendance_days > 0
          ? now - static_cast<std::int64_t>(options_.attendance_days + 1) * kDayMs
          : std::numeric_limits<std::int64_t>::max();
  const double target = static_cast<double>(options_.max_db_size) * options_.low_water;
  const std::string& gateway_id = options_.gateway_id;
  const std::size_t batch = std::max<std::size_t>(1, options_.batch);
  const std::string path = store_.path();

  auto r = store_.read([&](Connection& db) {
    Read out;
    auto& ec = out.ec;
    p.size = measure_database(db, path, ec);
    if (ec) {
      out.what = "measuring the database";
      return out;
    }
    std::map<std::string, std::int64_t> cursors;
    for (const auto& s : sinks) {
      cursors[s] = 0;  // a sink that never stored a cursor has acknowledged nothing
    }
    {
      auto st = db.prepare("SELECT name, position FROM cursors", ec);
      while (!ec && st.step(ec)) {
        auto name = st.column_text(0);
        if (auto it = cursors.find(name); it != cursors.end()) {
          it->second = st.column_int(1);
        }
      }
      if (ec) {
        out.what = "reading the sinks' cursors";
        return out;
      }
    }
    std::int64_t acked = std::numeric_limits<std::int64_t>::max();
    for (const auto& [name, pos] : cursors) {
      acked = std::min(acked, pos);
    }
    if (budget &&
        static_cast<double>((p.size.pages - p.size.free_pages) * p.size.page_size) < target) {
      return out;  // under the low-water mark: the episode is over
    }
    const std::size_t limit = budget ? batch : 4 * batch;
    // The newest event always stays: ids are rowids, and SQLite gives a new
    // row max(id) + 1, so deleting the newest would hand its id (at or below
    // a sink's cursor) to the next event, which that sink would never send.
    auto st = db.prepare(
        "SELECT e.id, e.terminal_id, e.kind, e.utc_ms, e.received_ms, e.seq, t.last_seq, t.sn"
        " FROM events e JOIN terminals t ON t.id = e.terminal_id"
        " WHERE e.id >= ?1 AND e.id < (SELECT MAX(id) FROM events) ORDER BY e.id LIMIT ?2",
        ec);
    if (ec) {
      out.what = "planning a deletion";
      return out;
    }
    st.bind(1, from).bind(2, static_cast<std::int64_t>(limit));
    std::size_t rows = 0;
    std::int64_t last = from - 1;
    bool reached_end = false;
    while (st.step(ec)) {
      ++rows;
      const std::int64_t id = st.column_int(0);
      const std::int64_t tid = st.column_int(1);
      const int kind = static_cast<int>(st.column_int(2));
      const bool has_utc = !st.column_is_null(3);
      const std::int64_t utc = has_utc ? st.column_int(3) : 0;
      const std::int64_t received = st.column_int(4);
      last = id;
      if (!budget) {
        // Ids follow commit order, so receive times only grow (up to clock
        // steps): the first event young enough, or past a sink's cursor, ends
        // what the age rule may delete.
        if (id > acked || received >= cutoff) {
          reached_end = true;
          break;
        }
        const bool latest = st.column_int(5) == st.column_int(6);
        const bool punch_needed = kind == static_cast<int>(EventKind::Attendance) &&
                                  (received >= att_cutoff || (has_utc && utc >= att_cutoff));
        if (latest || punch_needed) {
          continue;
        }
      } else if (kind == static_cast<int>(EventKind::Alert) && id > acked &&
                 st.column_text(7) == gateway_id) {
        continue;  // an alert not yet delivered: it reports losses, it must not be one
      }
      p.rows.push_back(
          {id, tid, has_utc ? std::min(utc, received) : received, st.column_text(7) == gateway_id});
      if (p.rows.size() >= batch) {
        break;
      }
    }
    if (ec) {
      out.what = "planning a deletion";
      return out;
    }
    p.next_from = last + 1;
    p.more = !reached_end && (rows == limit || p.rows.size() >= batch);
    p.cursors = std::move(cursors);
    return out;
  });
  if (r.ec) {
    failures_.inc();
    logger("store")->error("retention: {} failed: {}", r.what, r.ec.message());
    return false;
  }
  used_bytes_.set(static_cast<double>(p.size.used_bytes()));
  wal_bytes_.set(static_cast<double>(p.size.wal_bytes));
  free_bytes_.set(static_cast<double>(p.size.free_pages * p.size.page_size));
  finalize(p, {});
  return true;
}

void Retention::finalize(Plan& p, const std::map<std::string, SinkHolder::Held>& held) {
  p.ids.clear();
  p.horizons.clear();
  p.undelivered.clear();
  p.held = 0;
  for (const auto& row : p.rows) {
    if (std::any_of(held.begin(), held.end(),
                    [&row](const auto& h) { return h.second.holds(row.id); })) {
      ++p.held;  // in a sink's hands: it goes out, so it is not deleted under it
      continue;
    }
    p.ids.push_back(row.id);
    for (const auto& [name, pos] : p.cursors) {
      // Answered but not yet stored under the cursor is delivered too, and
      // so is what the sink sent ahead of its cursor and had answered.
      auto h = held.find(name);
      if (h == held.end() ? row.id > pos
                          : row.id > std::max(pos, h->second.delivered) &&
                                !std::binary_search(h->second.answered.begin(),
                                                    h->second.answered.end(), row.id)) {
        ++p.undelivered[name];
      }
    }
    if (!row.own) {
      auto [it, fresh] =
          p.horizons.try_emplace(row.terminal_id, Plan::Horizon{row.horizon_ms, row.horizon_ms, 0});
      it->second.newest_ms = std::max(it->second.newest_ms, row.horizon_ms);
      it->second.oldest_ms = std::min(it->second.oldest_ms, row.horizon_ms);
      ++it->second.deleted;
    }
  }
}

bool Retention::commit_budget(Plan& p) {
  if (holds_ == nullptr) {
    return commit(p, true);
  }
  // The sinks skip these from now on; retention leaves alone what one holds.
  finalize(p, holds_->reserve_deletion(p.ids));
  const bool ok = p.ids.empty() || commit(p, true);
  holds_->deletion_done(ok ? p.ids : std::vector<std::int64_t>{});
  return ok;
}

bool Retention::commit(const Plan& p, bool budget) {
  WriteBatch batch;
  batch.ops.push_back([&p, budget](WriteContext& ctx) -> boost::system::error_code {
    boost::system::error_code ec;
    for (auto id : p.ids) {
      auto& blob = ctx.statement("DELETE FROM event_blobs WHERE event_id = ?1", ec);
      if (ec) {
        return ec;
      }
      blob.bind(1, id);
      if ((ec = blob.run())) {
        return ec;
      }
      auto& del = ctx.statement("DELETE FROM events WHERE id = ?1", ec);
      if (ec) {
        return ec;
      }
      del.bind(1, id);
      if ((ec = del.run())) {
        return ec;
      }
    }
    for (const auto& [tid, h] : p.horizons) {
      auto& st = ctx.statement(
          "INSERT INTO retention_horizons(terminal_id, horizon_ms, floor_ms, deleted, updated_ms)"
          " VALUES(?1, ?2, ?5, ?3, ?4) ON CONFLICT(terminal_id) DO UPDATE SET"
          " horizon_ms = MAX(horizon_ms, excluded.horizon_ms),"
          " floor_ms = MIN(floor_ms, excluded.floor_ms),"
          " deleted = deleted + excluded.deleted, updated_ms = excluded.updated_ms",
          ec);
      if (ec) {
        return ec;
      }
      st.bind(1, tid).bind(2, h.newest_ms).bind(3, h.deleted).bind(4, ctx.now_ms());
      st.bind(5, h.oldest_ms);
      if ((ec = st.run())) {
        return ec;
      }
    }
    if (budget) {
      for (const auto& [sink, n] : p.undelivered) {
        auto& st = ctx.statement(
            "INSERT INTO retention_losses(sink, unreported, total, updated_ms)"
            " VALUES(?1, ?2, ?2, ?3) ON CONFLICT(sink) DO UPDATE SET"
            " unreported = unreported + excluded.unreported, total = total + excluded.total,"
            " updated_ms = excluded.updated_ms",
            ec);
        if (ec) {
          return ec;
        }
        st.bind(1, std::string_view(sink)).bind(2, n).bind(3, ctx.now_ms());
        if ((ec = st.run())) {
          return ec;
        }
      }
    }
    return {};
  });
  auto ec = append_and_wait(store_, std::move(batch), nullptr);
  if (ec) {
    failures_.inc();
    logger("store")->warn("retention: deleting {} event(s) failed: {}; tried again next pass",
                          p.ids.size(), ec.message());
    return false;
  }
  (budget ? deleted_budget_ : deleted_aged_).inc(static_cast<std::uint64_t>(p.ids.size()));
  if (budget) {
    for (const auto& [sink, n] : p.undelivered) {
      metrics_
          .counter("pushgate_events_dropped_undelivered_total",
                   "Events deleted to keep store.max_db_size before this sink acknowledged them",
                   {{"sink", sink}})
          .inc(static_cast<std::uint64_t>(n));
    }
  }
  return true;
}

// Losses committed with the deletions and not yet reported (this pass's, or a
// crashed run's) become one alert event; the same transaction clears them.
bool Retention::report_losses(RetentionPass& pass) {
  struct Read {
    boost::system::error_code ec;
    std::map<std::string, std::int64_t> unreported;
    std::int64_t totals = 0;  // grows with every loss: the alert's identity
  };
  auto r = store_.read([](Connection& db) {
    Read out;
    auto st = db.prepare("SELECT sink, unreported, total FROM retention_losses", out.ec);
    while (!out.ec && st.step(out.ec)) {
      if (st.column_int(1) > 0) {
        out.unreported[st.column_text(0)] = st.column_int(1);
      }
      out.totals += st.column_int(2);
    }
    return out;
  });
  if (r.ec) {
    failures_.inc();
    logger("store")->error("retention: reading the losses failed: {}", r.ec.message());
    return false;
  }
  if (r.unreported.empty()) {
    return true;
  }
  std::int64_t most = 0;
  nlohmann::json sinks = nlohmann::json::object();
  for (const auto& [sink, n] : r.unreported) {
    sinks[sink] = n;
    most = std::max(most, n);
  }
  const auto now = clock_.now_ms();
  const std::string message = "store.max_db_size (" + std::to_string(options_.max_db_size) +
                              " bytes) reached: deleted the oldest events, " +
                              sink_list(r.unreported);
  Event alert;
  alert.terminal_sn = options_.gateway_id;
  alert.record_key = "RETENTION\t" + std::to_string(r.totals);
  alert.kind = EventKind::Alert;
  alert.utc_ms = now;
  alert.received_ms = now;
  alert.raw = message;
  alert.extra_json =
      nlohmann::json{{"reason", "max_db_size"}, {"severity", "critical"},
                     {"message", message},      {"max_db_size", options_.max_db_size},
                     {"undelivered", sinks},    {"count", most}}
          .dump();
  WriteBatch batch;
  batch.events.push_back(std::move(alert));
  batch.ops.push_back([reported = r.unreported](WriteContext& ctx) -> boost::system::error_code {
    boost::system::error_code ec;
    for (const auto& [sink, n] : reported) {
      auto& st = ctx.statement(
          "UPDATE retention_losses SET unreported = unreported - ?2 WHERE sink = ?1", ec);
      if (ec) {
        return ec;
      }
      st.bind(1, std::string_view(sink)).bind(2, n);
      if ((ec = st.run())) {
        return ec;
      }
    }
    return {};
  });
  CommitResult result;
  if (auto ec = append_and_wait(store_, std::move(batch), &result)) {
    failures_.inc();
    logger("store")->error("retention: the alert for {} could not be stored: {}", message,
                           ec.message());
    return false;
  }
  alerts_.inc();
  ++pass.alerts;
  logger("store")->error("retention: {} (alert event {})", message,
                         result.event_ids.empty() ? 0 : result.event_ids[0]);
  degraded_until_ms_ = now + options_.degraded_for.count();
  health_.set(Health::Kind::Ready, std::string(kHealthCheck), false,
              "events deleted before delivery: " + sink_list(r.unreported));
  return true;
}

RetentionPass Retention::run_pass() {
  RetentionPass pass;
  auto stopping = [this] {
    std::lock_guard lock(mutex_);
    return stopping_ && thread_.joinable();
  };
  if (!set_wal_limit()) {
    failures_.inc();
  }
  // 1. Age.
  if (options_.retain_days > 0) {
    std::int64_t from = 0;
    for (;;) {
      Plan p;
      if (!plan(p, false, from)) {
        pass.failed = true;
        break;
      }
      if (!p.ids.empty()) {
        if (!commit(p, false)) {
          pass.failed = true;
          break;
        }
        pass.deleted_aged += static_cast<std::int64_t>(p.ids.size());
        ++pass.batches;
      }
      from = p.next_from;
      if (!p.more || stopping()) {
        break;
      }
    }
  }
  checkpoint();
  // 2. Budget: entered at max_db_size (pages in use + WAL), left under the
  //    low-water mark of the pages in use (deleting cannot shrink the WAL).
  if (options_.max_db_size > 0 && !pass.failed) {
    Plan first;
    if (!plan(first, true, 0)) {
      pass.failed = true;
    } else if (first.size.used_bytes() >= options_.max_db_size) {
      std::int64_t episode = 0;
      std::int64_t held = 0;
      std::int64_t from = 0;
      for (;;) {
        Plan p;
        if (!plan(p, true, from)) {
          pass.failed = true;
          break;
        }
        from = p.next_from;
        if (p.ids.empty()) {
          if (p.more) {
            continue;  // only undelivered alerts in this stretch
          }
          break;
        }
        if (!commit_budget(p)) {
          pass.failed = true;
          break;
        }
        held += p.held;
        pass.held += p.held;
        episode += static_cast<std::int64_t>(p.ids.size());
        pass.deleted_budget += static_cast<std::int64_t>(p.ids.size());
        for (const auto& [sink, n] : p.undelivered) {
          pass.undelivered[sink] += n;
        }
        ++pass.batches;
        if (stopping()) {
          break;
        }
      }
      if (episode > 0) {
        logger("store")->warn(
            "retention: the database reached store.max_db_size ({} bytes, {} in use): deleted "
            "the {} oldest event(s){}",
            options_.max_db_size, first.size.used_bytes(), episode,
            held > 0 ? "; kept " + std::to_string(held) + " a sink was sending" : std::string());
        checkpoint();
      }
    }
  }
  if (!report_losses(pass)) {
    pass.failed = true;
  }
  if (degraded_until_ms_ != 0 && clock_.now_ms() >= degraded_until_ms_) {
    degraded_until_ms_ = 0;
    health_.set(Health::Kind::Ready, std::string(kHealthCheck), true);
  }
  Plan last;
  if (plan(last, true, std::numeric_limits<std::int64_t>::max())) {
    pass.size_after = last.size;
  }
  if (pass.deleted_aged > 0) {
    logger("store")->info(
        "retention: deleted {} event(s) older than {} days that every sink had delivered",
        pass.deleted_aged, options_.retain_days);
  }
  return pass;
}

}  // namespace pushgate::store
