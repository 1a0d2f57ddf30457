// AttendanceService: the recompute pipeline (stored state, engine, timecard rows written).
#include "gateway/attendance/attendance_service.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <utility>

#include "gateway/event_json.hpp"
#include "gateway/logging.hpp"
#include "gateway/store/event_queries.hpp"
#include "gateway/store/store.hpp"
#include "gateway/store/write_context.hpp"
#include "rules/attendance/local_time.hpp"

namespace pushgate::attendance {

namespace {

constexpr std::string_view kUpsertTimecard =
    "INSERT INTO timecards(pin, day, kind, status, final, json, digest, revision, computed_ms)"
    " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9)"
    " ON CONFLICT(pin, day) DO UPDATE SET kind=excluded.kind, status=excluded.status,"
    " final=excluded.final, json=excluded.json, digest=excluded.digest,"
    " revision=excluded.revision, computed_ms=excluded.computed_ms";

constexpr std::string_view kUpsertState =
    "INSERT INTO attendance_state(name, value, updated_ms) VALUES(?1,?2,?3)"
    " ON CONFLICT(name) DO UPDATE SET value=excluded.value, updated_ms=excluded.updated_ms";

constexpr std::string_view kFinalizedUntil = "finalized_until";

// Where punches may come from at the earliest: no terminal clock is set
// before this, and a far-future bound keeps date arithmetic in range.
const date::local_days kLastDay = date::local_days{date::year{9999} / 12 / 31};

/** One timecards row, written by the upsert op. */
struct Row {
  std::string pin;
  std::string day;
  std::string kind;
  std::string status;
  bool final = false;
  std::string json;
  std::string digest;
  std::int64_t revision = 0;
  std::int64_t computed_ms = 0;
};

// 24 hex digits of SHA-256: enough to tell versions of one day apart.
std::string content_digest(std::string_view bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < 12 && i < len; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 0xf];
  }
  return out;
}

std::string format_local(date::local_seconds t) {
  // Terminals' form, "YYYY-MM-DD HH:MM:SS", as every other event carries.
  std::string s = ra::format_local_time(t);
  if (s.size() > 10 && s[10] == 'T') {
    s[10] = ' ';
  }
  return s;
}

WriteOp upsert_rows_op(std::vector<Row> rows) {
  return [rows = std::move(rows)](store::WriteContext& ctx) -> boost::system::error_code {
    boost::system::error_code ec;
    for (const auto& r : rows) {
      auto& st = ctx.statement(kUpsertTimecard, ec);
      if (ec) {
        return ec;
      }
      st.bind(1, std::string_view(r.pin))
          .bind(2, std::string_view(r.day))
          .bind(3, std::string_view(r.kind))
          .bind(4, std::string_view(r.status))
          .bind(5, r.final ? 1 : 0)
          .bind(6, std::string_view(r.json))
          .bind(7, std::string_view(r.digest))
          .bind(8, r.revision)
          .bind(9, r.computed_ms);
      if ((ec = st.run())) {
        return ec;
      }
    }
    return ec;
  };
}

WriteOp upsert_state_op(std::string name, std::string value) {
  return [name = std::move(name),
          value = std::move(value)](store::WriteContext& ctx) -> boost::system::error_code {
    boost::system::error_code ec;
    auto& st = ctx.statement(kUpsertState, ec);
    if (ec) {
      return ec;
    }
    st.bind(1, std::string_view(name)).bind(2, std::string_view(value)).bind(3, ctx.now_ms());
    return st.run();
  };
}

}  // namespace

bool AttendanceService::rebuild() {
  if (!load_stored_state()) {
    return false;
  }
  if (!rules_) {
    return true;
  }
  std::vector<ra::DayKey> days;
  if (!load_engine(days)) {
    return false;
  }
  // Every retained day with punches, and every stored one: the rules or the
  // punches may have changed while we were down (a new rules file, a crash
  // between a punch's commit and its timecard's).
  for (const auto& [key, stored] : stored_) {
    days.push_back(key);
  }
  auto changed = recompute(std::move(days), false);
  log_->info("attendance rebuilt: {} punches from {} on, {} timecards changed",
             engine_->punch_count(), ra::format_date(horizon_), changed);
  return true;
}

bool AttendanceService::load_stored_state() {
  struct State {
    boost::system::error_code ec;
    std::map<ra::DayKey, Stored> stored;
    std::optional<date::local_seconds> finalized_until;
  };
  auto state = store_.read([horizon = ra::format_date(horizon_)](store::Connection& db) {
    State out;
    auto st =
        db.prepare("SELECT pin, day, digest, revision FROM timecards WHERE day >= ?1", out.ec);
    if (out.ec) {
      return out;
    }
    st.bind(1, std::string_view(horizon));
    while (st.step(out.ec)) {
      if (auto day = ra::parse_date(st.column_text(1))) {
        out.stored[ra::DayKey{st.column_text(0), *day}] =
            Stored{st.column_text(2), st.column_int(3)};
      }
    }
    if (out.ec) {
      return out;
    }
    auto fs = db.prepare("SELECT value FROM attendance_state WHERE name = ?1", out.ec);
    if (out.ec) {
      return out;
    }
    fs.bind(1, kFinalizedUntil);
    if (fs.step(out.ec)) {
      out.finalized_until = ra::parse_local_time(fs.column_text(0));
    }
    return out;
  });
  if (state.ec) {
    read_failures_.inc();
    log_->warn("attendance: cannot read stored timecards ({}); retrying on the next tick",
               state.ec.message());
    return false;
  }
  stored_ = std::move(state.stored);
  if (state.finalized_until) {
    finalized_until_ = *state.finalized_until;
  }
  return true;
}

std::unique_ptr<ra::TimecardEngine> AttendanceService::engine_from_store(
    std::shared_ptr<const ra::Rules> rules, date::local_days first, date::local_days last,
    std::vector<ra::DayKey>* days) {
  auto engine = std::make_unique<ra::TimecardEngine>(std::move(rules));
  store::EventQuery q;
  q.limit = options_.page_size;
  q.kind = EventKind::Attendance;
  std::vector<ra::Punch> punches;
  for (;;) {
    boost::system::error_code ec;
    auto page =
        store_.read([&q, &ec](store::Connection& db) { return store::read_events(db, q, ec); });
    if (ec) {
      read_failures_.inc();
      log_->warn("attendance: reading punches from the store failed: {}", ec.message());
      return nullptr;
    }
    punches.clear();
    for (const auto& e : page) {
      auto p = punch_from_event(e, options_.terminal_states);
      if (!p) {
        continue;
      }
      const auto day = date::floor<date::days>(p->local);
      if (day >= first && day <= last) {
        punches.push_back(std::move(*p));
      }
    }
    auto changed = engine->add_punches(punches);
    if (days != nullptr) {
      days->insert(days->end(), changed.begin(), changed.end());
    }
    if (page.size() < q.limit) {
      break;
    }
    q.after = page.back().id;
  }
  return engine;
}

bool AttendanceService::load_engine(std::vector<ra::DayKey>& days) {
  engine_.reset();
  punches_held_.set(0);
  // A punch dated on the horizon day may belong to the day before, which is
  // no longer recomputed; every retained day has all its punches.
  engine_ = engine_from_store(rules_, horizon_, kLastDay, &days);
  if (engine_) {
    punches_held_.set(static_cast<double>(engine_->punch_count()));
  }
  return engine_ != nullptr;
}

void AttendanceService::on_punches(const std::vector<ra::Punch>& punches) {
  punches_received_.inc(punches.size());
  if (!engine_) {
    return;  // rules just removed, or a rebuild pending: the store has them
  }
  std::vector<ra::Punch> keep;
  keep.reserve(punches.size());
  for (const auto& p : punches) {
    if (date::floor<date::days>(p.local) < horizon_) {
      // A backlog older than the retained window: it stays in the event log,
      // its (old) timecard is not recomputed.
      punches_too_old_.inc();
      continue;
    }
    keep.push_back(p);
  }
  auto days = engine_->add_punches(keep);
  punches_held_.set(static_cast<double>(engine_->punch_count()));
  recompute(std::move(days), false);
}

std::size_t AttendanceService::recompute(std::vector<ra::DayKey> days, bool persist_progress) {
  if (!engine_) {
    return 0;
  }
  days.insert(days.end(), retry_.begin(), retry_.end());
  retry_.clear();
  std::sort(days.begin(), days.end());
  days.erase(std::unique(days.begin(), days.end()), days.end());

  const auto ctx = context();
  const auto now_ms = clock_.now_ms();
  const std::string local = format_local(ctx.now);
  std::size_t changed = 0;
  WriteBatch batch;
  std::vector<Row> rows;
  std::vector<Submitted> submitted;
  auto flush = [&](bool last) {
    const bool progress = last && persist_progress;
    if (rows.empty() && !progress) {
      return;
    }
    if (!rows.empty()) {
      batch.ops.push_back(upsert_rows_op(std::move(rows)));
    }
    if (progress) {
      batch.ops.push_back(
          upsert_state_op(std::string(kFinalizedUntil), ra::format_local_time(finalized_until_)));
      progress_persisted_ms_ = now_ms;
    }
    submit(std::move(batch), std::move(submitted));
    batch = WriteBatch{};
    rows.clear();
    submitted.clear();
  };

  for (const auto& key : days) {
    if (key.day < horizon_) {
      continue;
    }
    ra::Timecard card = engine_->timecard(key, ctx);
    auto it = stored_.find(key);
    if (it == stored_.end() && card.kind == ra::DayKind::Unscheduled && card.punches.empty()) {
      continue;  // nothing to say about a day nobody planned or punched
    }
    std::string json = dump_json(ra::timecard_to_json(card));
    std::string digest = content_digest(json);
    if (it != stored_.end() && it->second.digest == digest) {
      continue;  // unchanged: not stored again, not published again
    }
    Submitted s;
    s.key = key;
    if (it != stored_.end()) {
      s.before = it->second;
    }
    s.after = Stored{digest, (s.before ? s.before->revision : 0) + 1};
    stored_[key] = s.after;

    const std::string day = ra::format_date(key.day);
    Event e;
    e.terminal_sn = options_.gateway_id;
    // The revision keeps a change back to an earlier content (rules replaced,
    // then restored) a new record; an unchanged recomputation never gets here.
    e.record_key = "TIMECARD\t" + key.pin + "\t" + day + "\t" + std::to_string(s.after.revision) +
                   "\t" + digest;
    e.kind = EventKind::Timecard;
    e.local_time = local;
    e.utc_ms = now_ms;
    e.pin = key.pin;
    e.extra_json = json;
    e.received_ms = now_ms;
    batch.events.push_back(std::move(e));

    Row r;
    r.pin = key.pin;
    r.day = day;
    r.kind = std::string(ra::to_string(card.kind));
    r.status = ra::timecard_status(card);
    r.final = card.final;
    r.json = std::move(json);
    r.digest = std::move(digest);
    r.revision = s.after.revision;
    r.computed_ms = now_ms;
    rows.push_back(std::move(r));
    submitted.push_back(std::move(s));
    ++changed;
    if (rows.size() >= options_.max_batch_timecards) {
      flush(false);
    }
  }
  flush(true);
  return changed;
}

void AttendanceService::submit(WriteBatch batch, std::vector<Submitted> submitted) {
  in_flight_.fetch_add(1);
  store_.append(
      std::move(batch), [inbox = inbox_, submitted = std::move(submitted)](CommitResult r) {
        // Writer thread: hand the outcome to the worker.
        post(inbox,
             [r = std::move(r), submitted](AttendanceService& s) { s.on_written(r, submitted); });
      });
}

void AttendanceService::on_written(const CommitResult& result,
                                   const std::vector<Submitted>& submitted) {
  in_flight_.fetch_sub(1);
  if (!result.ec) {
    timecards_published_.inc(
        static_cast<std::uint64_t>(std::count_if(result.event_ids.begin(), result.event_ids.end(),
                                                 [](std::int64_t id) { return id != 0; })));
    return;
  }
  // Nothing of the batch is stored: forget what we hoped was, and try again.
  write_failures_.inc();
  log_->warn("attendance: storing {} timecard(s) failed: {}; retrying on the next tick",
             submitted.size(), result.ec.message());
  for (const auto& s : submitted) {
    auto it = stored_.find(s.key);
    if (it != stored_.end() && it->second.revision == s.after.revision &&
        it->second.digest == s.after.digest) {
      if (s.before) {
        it->second = *s.before;
      } else {
        stored_.erase(it);
      }
    }
    retry_.insert(s.key);
  }
}

}  // namespace pushgate::attendance
