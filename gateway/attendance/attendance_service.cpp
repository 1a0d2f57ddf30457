#include "gateway/attendance/attendance_service.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <future>
#include <sstream>
#include <stdexcept>
#include <utility>

#include <boost/asio/post.hpp>

#include "gateway/config/config.hpp"
#include "gateway/event_json.hpp"
#include "gateway/json_error.hpp"
#include "gateway/logging.hpp"
#include "gateway/store/event_queries.hpp"
#include "gateway/store/store.hpp"
#include "gateway/store/write_context.hpp"
#include "rules/attendance/attendance_config.hpp"
#include "rules/attendance/local_time.hpp"

namespace pushgate::attendance {

namespace net = boost::asio;

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

// The zone durations are measured in (DST-aware), or nullptr where wall-clock
// arithmetic is exact: UTC and fixed offsets.
const date::time_zone* duration_zone(const std::string& spec) {
  try {
    if (spec.empty()) {
      return date::current_zone();
    }
    if (spec == "UTC" || spec == "Z" || spec.front() == '+' || spec.front() == '-') {
      return nullptr;
    }
    return date::locate_zone(spec);
  } catch (const std::exception&) {
    return nullptr;  // Zone::parse has already judged the spec
  }
}

std::string errors_text(const std::vector<ra::ConfigError>& errors) {
  std::string out;
  for (const auto& e : errors) {
    out += "\n  ";
    if (!e.field.empty()) {
      out += e.field + ": ";
    }
    out += e.message;
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

std::optional<ra::Punch> punch_from_event(const Event& event, bool use_state) {
  if (event.kind != EventKind::Attendance || event.pin.empty()) {
    return std::nullopt;
  }
  auto local = ra::parse_local_time(event.local_time);
  if (!local) {
    return std::nullopt;
  }
  ra::Punch p;
  p.pin = event.pin;
  p.local = *local;
  // The rules read 0-5 and treat anything else (255, unset) as "no state".
  if (use_state && event.status != kUnset) {
    p.state = event.status;
  }
  p.terminal_sn = event.terminal_sn;
  p.event_id = event.id;
  return p;
}

std::string_view to_string(RulesSource source) noexcept {
  switch (source) {
    case RulesSource::File:
      return "file";
    case RulesSource::Rest:
      return "rest";
    case RulesSource::None:
      break;
  }
  return "none";
}

std::optional<ra::Rules> read_rules_file(const std::string& path, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = "attendance.rules_file: cannot read \"" + path + "\": " + std::strerror(errno);
    return std::nullopt;
  }
  std::stringstream text;
  text << in.rdbuf();
  auto parsed = ra::parse_rules(text.str());
  if (!parsed.ok()) {
    error = "attendance.rules_file: \"" + path + "\" is invalid:";
    if (auto where = json_syntax_error(text.str()); !where.empty()) {
      error += " " + path + ":" + where;
    } else {
      error += errors_text(parsed.errors);
    }
    return std::nullopt;
  }
  return std::move(*parsed.rules);
}

std::vector<std::string> validate_options(const ServiceOptions& options) {
  std::vector<std::string> problems;
  std::string error;
  if (!Zone::parse(options.timezone, error)) {
    problems.push_back("gateway.timezone: " + error);
  }
  if (options.retain_days < 1) {
    problems.push_back("attendance.retain_days: must be at least 1, got " +
                       std::to_string(options.retain_days));
  }
  if (!options.rules_file.empty() && !read_rules_file(options.rules_file, error)) {
    problems.push_back(error);
  }
  return problems;
}

ServiceOptions options_from_config(const config::Config& config) {
  ServiceOptions o;
  o.rules_file = config.get_string("attendance.rules_file");
  o.terminal_states = config.get_bool("attendance.terminal_states");
  o.gateway_id = config.get_string("gateway.id");
  o.timezone = config.get_string("gateway.timezone");
  o.retain_days = static_cast<int>(config.get_int("attendance.retain_days"));
  o.tick_interval = std::chrono::seconds(config.get_int("attendance.tick_s"));
  return o;
}

AttendanceService::AttendanceService(store::Store& store, const Clock& clock,
                                     metrics::Registry& metrics, ServiceOptions options)
    : store_(store),
      clock_(clock),
      options_(std::move(options)),
      zone_(Zone::utc()),
      log_(logger("rules")),
      punches_received_(metrics.counter("pushgate_attendance_punches_total",
                                        "Attendance punches handed to the timecard engine")),
      punches_too_old_(
          metrics.counter("pushgate_attendance_punches_too_old_total",
                          "Punches dated before the retained window (attendance.retain_days); "
                          "kept in the log, not recomputed")),
      timecards_published_(metrics.counter("pushgate_attendance_timecards_published_total",
                                           "New or changed timecards published as events")),
      write_failures_(metrics.counter("pushgate_attendance_write_failures_total",
                                      "Timecard batches the store could not commit (retried)")),
      read_failures_(metrics.counter("pushgate_attendance_read_failures_total",
                                     "Rebuilds from the store that failed on a read (retried)")),
      punches_held_(metrics.gauge("pushgate_attendance_punches_held",
                                  "Punches in the timecard engine's memory")),
      tick_timer_(worker_),
      inbox_(std::make_shared<Inbox>()) {
  std::string error;
  auto zone = Zone::parse(options_.timezone, error);
  if (!zone) {
    throw std::runtime_error("gateway.timezone: " + error);
  }
  zone_ = *zone;
  tz_ = duration_zone(options_.timezone);
  if (options_.retain_days < 1) {
    throw std::runtime_error("attendance.retain_days: must be at least 1");
  }

  // The file is checked even when a REST version wins: a broken config file
  // is reported at startup, not the day the REST version is deleted.
  if (!options_.rules_file.empty()) {
    auto rules = read_rules_file(options_.rules_file, error);
    if (!rules) {
      throw std::runtime_error(error);
    }
    file_rules_.rules = std::make_shared<const ra::Rules>(std::move(*rules));
  }

  struct StoredRules {
    boost::system::error_code ec;
    std::optional<std::string> json;
    std::int64_t updated_ms = 0;
  };
  auto stored = store_.read([](store::Connection& db) {
    StoredRules out;
    auto st = db.prepare("SELECT json, updated_ms FROM attendance_rules WHERE id = 1", out.ec);
    if (!out.ec && st.step(out.ec)) {
      out.json = st.column_text(0);
      out.updated_ms = st.column_int(1);
    }
    return out;
  });
  if (stored.ec) {
    throw std::runtime_error("attendance: cannot read the stored rules: " + stored.ec.message());
  }
  if (stored.json) {
    auto parsed = ra::parse_rules(*stored.json);
    if (parsed.ok()) {
      rest_rules_.rules = std::make_shared<const ra::Rules>(std::move(*parsed.rules));
      rest_rules_.updated_ms = stored.updated_ms;
    } else {
      // Only a newer, stricter rules version can get here; the file still works.
      log_->error("the attendance rules stored over REST are no longer valid, using {}:{}",
                  file_rules_.rules ? "attendance.rules_file" : "no rules",
                  errors_text(parsed.errors));
    }
  }
  if (rest_rules_.rules) {
    source_ = RulesSource::Rest;
    rules_ = rest_rules_.rules;
  } else if (file_rules_.rules) {
    source_ = RulesSource::File;
    rules_ = file_rules_.rules;
  }
  accepting_ = rules_ != nullptr;
  log_->info("attendance rules: {}{}", to_string(source_),
             source_ == RulesSource::File ? " " + options_.rules_file : std::string());

  inbox_->service = this;
  // The first job, ahead of any punch the observer posts: the engine must
  // exist before live punches arrive.
  post(inbox_, [](AttendanceService& s) { s.do_start(); });
  commit_sub_ =
      store_.subscribe([this](const std::vector<Event>& committed) { on_commit(committed); });
}

AttendanceService::~AttendanceService() {
  stop();
}

void AttendanceService::start() {
  if (thread_.joinable() || stopped_) {
    return;
  }
  work_ = std::make_unique<net::executor_work_guard<net::io_context::executor_type>>(
      worker_.get_executor());
  thread_ = std::thread([this] {
    for (;;) {
      try {
        worker_.run();
        return;
      } catch (const std::exception& e) {
        // Nothing on the worker is meant to throw; one bad job must not
        // take attendance down for good.
        log_->error("attendance worker: {}", e.what());
      }
    }
  });
}

void AttendanceService::stop() {
  if (stopped_) {
    return;
  }
  stopped_ = true;
  commit_sub_.reset();  // returns once no commit observer call is running
  {
    std::lock_guard lock(inbox_->mutex);
    inbox_->service = nullptr;  // completions post nothing more
  }
  work_.reset();
  worker_.stop();
  if (thread_.joinable()) {
    thread_.join();
  }
}

void AttendanceService::post(const std::shared_ptr<Inbox>& inbox,
                             std::function<void(AttendanceService&)> job) {
  std::lock_guard lock(inbox->mutex);
  if (inbox->service == nullptr) {
    return;
  }
  AttendanceService* s = inbox->service;
  net::post(s->worker_, [s, job = std::move(job)] { job(*s); });
}

void AttendanceService::on_commit(const std::vector<Event>& committed) {
  // Writer thread: convert and hand over, nothing more. Timecard events (and
  // every other kind) are dropped here, so they never feed back.
  if (!accepting_.load()) {
    return;  // no rules: a later rules change reads the punches from the store
  }
  std::vector<ra::Punch> punches;
  for (const auto& e : committed) {
    if (auto p = punch_from_event(e, options_.terminal_states)) {
      punches.push_back(std::move(*p));
    }
  }
  if (punches.empty()) {
    return;
  }
  net::post(worker_, [this, punches = std::move(punches)] { on_punches(punches); });
}

// ---------------------------------------------------------------------------
// Worker thread.
// ---------------------------------------------------------------------------

date::local_seconds AttendanceService::now_local() const {
  const LocalDateTime l = zone_.to_local(clock_.now());
  const date::local_days d{date::year{l.year} / date::month{static_cast<unsigned>(l.month)} /
                           date::day{static_cast<unsigned>(l.day)}};
  return d + std::chrono::hours{l.hour} + std::chrono::minutes{l.minute} +
         std::chrono::seconds{l.second};
}

ra::ComputeContext AttendanceService::context() const {
  return {tz_, now_local()};
}

AttendanceService::RulesInfo AttendanceService::info() const {
  RulesInfo i;
  i.source = source_;
  i.rules = rules_;
  i.file = options_.rules_file;
  i.updated_ms = source_ == RulesSource::Rest ? rest_rules_.updated_ms : 0;
  return i;
}

void AttendanceService::do_start() {
  const auto now = now_local();
  horizon_ = date::floor<date::days>(now) - date::days{options_.retain_days};
  finalized_until_ = now;
  rebuild_pending_ = !rebuild();
  schedule_tick();
}

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

void AttendanceService::schedule_tick() {
  tick_timer_.expires_after(options_.tick_interval);
  tick_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) {
      return;
    }
    do_tick();
    schedule_tick();
  });
}

void AttendanceService::tick() {
  post(inbox_, [](AttendanceService& s) { s.do_tick(); });
}

void AttendanceService::set_horizon(date::local_days horizon) {
  horizon_ = horizon;
  std::erase_if(stored_, [horizon](const auto& entry) { return entry.first.day < horizon; });
  std::erase_if(retry_, [horizon](const ra::DayKey& key) { return key.day < horizon; });
  if (engine_) {
    // The engine cannot forget punches: a new one from the store drops the
    // day that left the window. Nothing changes for the retained days.
    std::vector<ra::DayKey> ignored;
    if (!load_engine(ignored)) {
      rebuild_pending_ = true;
    }
  }
}

void AttendanceService::do_tick() {
  const auto now = now_local();
  const auto horizon = date::floor<date::days>(now) - date::days{options_.retain_days};
  if (horizon > horizon_) {
    set_horizon(horizon);
  }
  if (rebuild_pending_) {
    rebuild_pending_ = !rebuild();
  }
  if (!engine_) {
    finalized_until_ = now;
    return;
  }
  // Days whose window closed since the last tick (or while we were down):
  // a missing punch is now an absence, and the timecard is final.
  const auto from = std::max(finalized_until_, date::local_seconds{horizon_});
  auto days = engine_->finalized_between(from, now);
  finalized_until_ = std::max(finalized_until_, now);
  const bool persist =
      !days.empty() || !retry_.empty() || clock_.now_ms() - progress_persisted_ms_ >= 3600 * 1000;
  recompute(std::move(days), persist);
}

std::size_t AttendanceService::apply_rules(std::shared_ptr<const ra::Rules> rules,
                                           RulesSource source) {
  rules_ = std::move(rules);
  source_ = rules_ ? source : RulesSource::None;
  if (!rules_) {
    accepting_ = false;
    engine_.reset();
    punches_held_.set(0);
    return 0;
  }
  std::vector<ra::DayKey> days;
  if (engine_) {
    days = engine_->replace_rules(rules_);
  } else {
    // Forward live punches from now on, then read what is stored: a punch
    // committed in between arrives twice and counts once.
    accepting_ = true;
    if (!load_engine(days)) {
      rebuild_pending_ = true;
      return 0;
    }
  }
  // Stored days without punches (absences) change with the rules too.
  for (const auto& [key, stored] : stored_) {
    days.push_back(key);
  }
  return recompute(std::move(days), false);
}

// ---------------------------------------------------------------------------
// Queries and rules changes: posted to the worker.
// ---------------------------------------------------------------------------

void AttendanceService::rules_info(std::function<void(RulesInfo)> done) {
  post(inbox_, [done = std::move(done)](AttendanceService& s) { done(s.info()); });
}

void AttendanceService::replace_rules(std::string document, std::function<void(RulesUpdate)> done) {
  post(inbox_, [document = std::move(document), done = std::move(done)](AttendanceService& s) {
    auto parsed = ra::parse_rules(document);
    if (!parsed.ok()) {
      RulesUpdate u;
      u.errors = std::move(parsed.errors);
      u.info = s.info();
      done(std::move(u));
      return;
    }
    auto rules = std::make_shared<const ra::Rules>(std::move(*parsed.rules));
    // The normalised form: rules_from_json(rules_to_json(r)) gives r back.
    std::string json = dump_json(ra::rules_to_json(*rules));
    const auto now_ms = s.clock_.now_ms();
    WriteBatch batch;
    batch.ops.push_back([json, now_ms](store::WriteContext& ctx) -> boost::system::error_code {
      boost::system::error_code ec;
      auto& st = ctx.statement(
          "INSERT INTO attendance_rules(id, json, updated_ms) VALUES(1, ?1, ?2)"
          " ON CONFLICT(id) DO UPDATE SET json=excluded.json, updated_ms=excluded.updated_ms",
          ec);
      if (ec) {
        return ec;
      }
      st.bind(1, std::string_view(json)).bind(2, now_ms);
      return st.run();
    });
    s.in_flight_.fetch_add(1);
    // Applied only once stored, so a restart never runs other rules than
    // the ones GET showed.
    s.store_.append(std::move(batch), [inbox = s.inbox_, rules, now_ms, done](CommitResult r) {
      post(inbox, [ec = r.ec, rules, now_ms, done](AttendanceService& self) {
        self.in_flight_.fetch_sub(1);
        RulesUpdate u;
        if (ec) {
          u.ec = ec;
          u.info = self.info();
          done(std::move(u));
          return;
        }
        self.rest_rules_ = RulesLoad{rules, now_ms};
        u.changed = self.apply_rules(rules, RulesSource::Rest);
        u.info = self.info();
        self.log_->info("attendance rules replaced over REST; {} timecards changed", u.changed);
        done(std::move(u));
      });
    });
  });
}

void AttendanceService::clear_rules(std::function<void(RulesUpdate)> done) {
  post(inbox_, [done = std::move(done)](AttendanceService& s) {
    WriteBatch batch;
    batch.ops.push_back([](store::WriteContext& ctx) -> boost::system::error_code {
      boost::system::error_code ec;
      auto& st = ctx.statement("DELETE FROM attendance_rules", ec);
      return ec ? ec : st.run();
    });
    s.in_flight_.fetch_add(1);
    s.store_.append(std::move(batch), [inbox = s.inbox_, done](CommitResult r) {
      post(inbox, [ec = r.ec, done](AttendanceService& self) {
        self.in_flight_.fetch_sub(1);
        RulesUpdate u;
        if (ec) {
          u.ec = ec;
          u.info = self.info();
          done(std::move(u));
          return;
        }
        self.rest_rules_ = RulesLoad{};
        u.changed = self.apply_rules(self.file_rules_.rules, RulesSource::File);
        u.info = self.info();
        self.log_->info("attendance rules over REST removed, now {}; {} timecards changed",
                        to_string(self.source_), u.changed);
        done(std::move(u));
      });
    });
  });
}

void AttendanceService::timecard(std::string pin, date::local_days day,
                                 std::function<void(TimecardAnswer)> done) {
  post(inbox_, [pin = std::move(pin), day, done = std::move(done)](AttendanceService& s) {
    TimecardAnswer a;
    a.has_rules = s.rules_ != nullptr;
    if (!a.has_rules) {
      done(std::move(a));
      return;
    }
    const ra::TimecardEngine* engine = s.engine_.get();
    std::unique_ptr<ra::TimecardEngine> older;
    if (engine == nullptr || day < s.horizon_) {
      // Outside the retained window: a one-off engine over that day's punches.
      older = s.engine_from_store(s.rules_, day, day + date::days{1}, nullptr);
      if (!older) {
        a.ec = boost::system::errc::make_error_code(boost::system::errc::io_error);
        done(std::move(a));
        return;
      }
      engine = older.get();
    }
    const auto pins = engine->pins();
    if (std::binary_search(pins.begin(), pins.end(), pin)) {
      a.card = engine->timecard(ra::DayKey{pin, day}, s.context());
    }
    done(std::move(a));
  });
}

void AttendanceService::report(date::local_days from, date::local_days to, std::string pin,
                               std::function<void(ReportAnswer)> done) {
  post(inbox_, [from, to, pin = std::move(pin), done = std::move(done)](AttendanceService& s) {
    ReportAnswer a;
    a.has_rules = s.rules_ != nullptr;
    a.report.from = from;
    a.report.to = to;
    if (!a.has_rules) {
      done(std::move(a));
      return;
    }
    const ra::TimecardEngine* engine = s.engine_.get();
    std::unique_ptr<ra::TimecardEngine> older;
    if (engine == nullptr || from < s.horizon_) {
      // Day D's punches are dated D or D+1.
      older = s.engine_from_store(s.rules_, from, to + date::days{1}, nullptr);
      if (!older) {
        a.ec = boost::system::errc::make_error_code(boost::system::errc::io_error);
        done(std::move(a));
        return;
      }
      engine = older.get();
    }
    const auto ctx = s.context();
    if (pin.empty()) {
      a.report = ra::build_period_report(*engine, from, to, ctx);
    } else {
      std::vector<ra::Timecard> cards;
      const auto pins = engine->pins();
      if (std::binary_search(pins.begin(), pins.end(), pin)) {
        for (auto d = from; d <= to; d += date::days{1}) {
          cards.push_back(engine->timecard(ra::DayKey{pin, d}, ctx));
        }
      }
      a.report = ra::build_period_report(engine->scheduler(), from, to, cards);
    }
    done(std::move(a));
  });
}

bool AttendanceService::wait_idle_for_test(std::chrono::milliseconds deadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  for (;;) {
    auto done = std::make_shared<std::promise<std::size_t>>();
    auto f = done->get_future();
    post(inbox_, [done](AttendanceService& s) { done->set_value(s.in_flight_.load()); });
    if (f.wait_until(until) != std::future_status::ready) {
      return false;
    }
    if (f.get() == 0) {
      return true;
    }
    if (std::chrono::steady_clock::now() >= until) {
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

}  // namespace pushgate::attendance
