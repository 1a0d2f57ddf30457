#include "gateway/access/access_service.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <map>
#include <set>
#include <stdexcept>
#include <thread>

#include "gateway/config/config.hpp"
#include "gateway/device_text.hpp"
#include "gateway/event_json.hpp"
#include "gateway/logging.hpp"
#include "gateway/store/store.hpp"
#include "gateway/store/write_context.hpp"

namespace pushgate::access {

using nlohmann::json;
using Entity = MasterDataChange::Entity;

namespace {

std::optional<int> positive_int(std::string_view s) {
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < 1) {
    return std::nullopt;
  }
  return v;
}

WriteOp sql_op(std::string sql, std::function<void(store::Statement&)> bind) {
  return [sql = std::move(sql), bind = std::move(bind)](store::WriteContext& ctx) {
    boost::system::error_code ec;
    auto& st = ctx.statement(sql, ec);
    if (ec) {
      return ec;
    }
    bind(st);
    return st.run();
  };
}

WriteOp put_doc_op(std::string_view table, std::int64_t id, std::string doc, std::int64_t now) {
  return sql_op("INSERT INTO " + std::string(table) +
                    "(id, json, updated_ms) VALUES(?1,?2,?3) ON CONFLICT(id) DO UPDATE SET"
                    " json=excluded.json, updated_ms=excluded.updated_ms",
                [id, doc = std::move(doc), now](store::Statement& st) {
                  st.bind(1, id).bind(2, std::string_view(doc)).bind(3, now);
                });
}

WriteOp delete_doc_op(std::string_view table, std::int64_t id) {
  return sql_op("DELETE FROM " + std::string(table) + " WHERE id = ?1",
                [id](store::Statement& st) { st.bind(1, id); });
}

WriteOp put_user_op(const ra::User& u, std::int64_t now) {
  std::vector<WriteOp> ops;
  std::string doc = dump_json(ra::to_json(u, true));
  return [pin = u.pin, source = u.source, cards = u.cards, doc = std::move(doc),
          now](store::WriteContext& ctx) -> boost::system::error_code {
    boost::system::error_code ec;
    auto& up = ctx.statement(
        "INSERT INTO access_users(pin, json, source, updated_ms) VALUES(?1,?2,?3,?4)"
        " ON CONFLICT(pin) DO UPDATE SET json=excluded.json, source=excluded.source,"
        " updated_ms=excluded.updated_ms",
        ec);
    if (ec) {
      return ec;
    }
    up.bind(1, std::string_view(pin)).bind(2, std::string_view(doc));
    up.bind(3, std::string_view(source)).bind(4, now);
    if ((ec = up.run())) {
      return ec;
    }
    auto& del = ctx.statement("DELETE FROM access_cards WHERE pin = ?1", ec);
    if (ec) {
      return ec;
    }
    del.bind(1, std::string_view(pin));
    if ((ec = del.run())) {
      return ec;
    }
    for (const auto& c : cards) {
      auto& ins = ctx.statement("INSERT INTO access_cards(card, pin, lost) VALUES(?1,?2,?3)", ec);
      if (ec) {
        return ec;
      }
      ins.bind(1, std::string_view(c.number))
          .bind(2, std::string_view(pin))
          .bind(3, c.lost ? 1 : 0);
      if ((ec = ins.run())) {
        return ec;
      }
    }
    return {};
  };
}

WriteOp delete_user_op(std::string pin) {
  return [pin = std::move(pin)](store::WriteContext& ctx) -> boost::system::error_code {
    boost::system::error_code ec;
    for (const char* sql :
         {"DELETE FROM access_cards WHERE pin = ?1", "DELETE FROM access_users WHERE pin = ?1",
          "DELETE FROM access_apb WHERE pin = ?1"}) {
      auto& st = ctx.statement(sql, ec);
      if (ec) {
        return ec;
      }
      st.bind(1, std::string_view(pin));
      if ((ec = st.run())) {
        return ec;
      }
    }
    return {};
  };
}

WriteOp put_position_op(std::string pin, ra::Position pos) {
  return sql_op(
      // Never older over newer: a decision and a terminal's record of a
      // passage commit in separate batches, in either order.
      "INSERT INTO access_apb(pin, area, since_ms) VALUES(?1,?2,?3) ON CONFLICT(pin) DO UPDATE"
      " SET area=excluded.area, since_ms=excluded.since_ms"
      " WHERE excluded.since_ms >= access_apb.since_ms",
      [pin = std::move(pin), pos](store::Statement& st) {
        st.bind(1, std::string_view(pin)).bind(2, pos.area).bind(3, pos.since_ms);
      });
}

/** `inoutstatus` of a §10 request or an rtlog record: 0 in, 1 out, else unknown. */
ra::Direction direction_of(int in_out) {
  return in_out == 0   ? ra::Direction::In
         : in_out == 1 ? ra::Direction::Out
                       : ra::Direction::Unknown;
}

/** Key of a door in the store and in REST paths. */
std::string door_key(const ra::DoorRef& d) {
  return ra::to_string(d);
}

/** "[15CD5B07]" (bytes, least significant first) -> "123456789"; other forms as sent. */
std::string normalise_card(std::string card) {
  if (card.size() == 10 && card.front() == '[' && card.back() == ']') {
    std::uint32_t value = 0;
    for (int i = 3; i >= 0; --i) {
      unsigned byte = 0;
      auto hex = std::string_view(card).substr(1 + static_cast<std::size_t>(i) * 2, 2);
      auto [p, ec] = std::from_chars(hex.data(), hex.data() + 2, byte, 16);
      if (ec != std::errc() || p != hex.data() + 2) {
        return card;
      }
      value = (value << 8) | byte;
    }
    return std::to_string(value);
  }
  return card;
}

/**
 * A terminal's StartTime/EndTime: "0"/"" none, YYYYMMDD (DateFmtFunOn=0), or
 * seconds by the Appendix 5 algorithm (DateFmtFunOn=1).
 */
std::optional<date::local_seconds> terminal_validity(const std::string& text, bool end) {
  if (text.empty() || text == "0" ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  if (text.size() == 8) {
    return ra::parse_local_time(
        text.substr(0, 4) + "-" + text.substr(4, 2) + "-" + text.substr(6, 2), end);
  }
  std::uint64_t tt = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), tt);
  if (ec != std::errc() || tt > 0xFFFFFFFFull) {
    return std::nullopt;
  }
  int sec = static_cast<int>(tt % 60);
  tt /= 60;
  int min = static_cast<int>(tt % 60);
  tt /= 60;
  int hour = static_cast<int>(tt % 24);
  tt /= 24;
  unsigned day = static_cast<unsigned>(tt % 31 + 1);
  tt /= 31;
  unsigned mon = static_cast<unsigned>(tt % 12 + 1);
  tt /= 12;
  date::year_month_day ymd{date::year{static_cast<int>(tt) + 2000}, date::month{mon},
                           date::day{day}};
  if (!ymd.ok()) {
    return std::nullopt;
  }
  return date::local_seconds(date::local_days(ymd)) + std::chrono::hours(hour) +
         std::chrono::minutes(min) + std::chrono::seconds(sec);
}

std::string field_text(const json& fields, const char* key) {
  auto it = fields.find(key);
  if (it == fields.end()) {
    return {};
  }
  if (it->is_string()) {
    return it->get<std::string>();
  }
  if (it->is_number_integer()) {
    return std::to_string(it->get<std::int64_t>());
  }
  return {};
}

std::optional<int> field_int(const json& fields, const char* key) {
  auto it = fields.find(key);
  if (it == fields.end()) {
    return std::nullopt;
  }
  if (it->is_number_integer()) {
    return static_cast<int>(it->get<std::int64_t>());
  }
  if (it->is_string()) {
    int v = 0;
    const auto& s = it->get_ref<const std::string&>();
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec == std::errc() && p == s.data() + s.size()) {
      return v;
    }
  }
  return std::nullopt;
}

/** Prefixes each error's field with "[i]." for a bulk change. */
void prefix_errors(std::vector<ra::FieldError>& errors, std::size_t i,
                   std::vector<ra::FieldError>& out) {
  for (auto& e : errors) {
    e.field = "[" + std::to_string(i) + "]" + (e.field.empty() ? "" : "." + e.field);
    out.push_back(std::move(e));
  }
}

}  // namespace

std::string_view to_string(EntityKind kind) noexcept {
  switch (kind) {
    case EntityKind::User:
      return "users";
    case EntityKind::TimeZone:
      return "timezones";
    case EntityKind::Holiday:
      return "holidays";
    case EntityKind::Level:
      return "levels";
    case EntityKind::Door:
      return "doors";
    case EntityKind::Area:
      return "areas";
  }
  return "users";
}

ServiceOptions options_from_config(const config::Config& config) {
  ServiceOptions o;
  o.timezone = config.get_string("gateway.timezone");
  o.import_users = config.get_bool("access.import_users");
  for (const auto& id : config.get_list("access.import_levels")) {
    auto v = positive_int(id);
    if (!v) {
      throw std::runtime_error("access.import_levels: \"" + id +
                               "\" is not an access level id (a positive integer)");
    }
    o.import_levels.push_back(*v);
  }
  auto wait = config.get_string("access.wait_for_commit");
  o.wait = wait == "all"   ? WaitForCommit::All
           : wait == "apb" ? WaitForCommit::Apb
                           : WaitForCommit::None;
  return o;
}

// ---------------------------------------------------------------------------

struct AccessService::Plan {
  Update result;
  std::vector<WriteOp> ops;
  /** Applied under the lock once the ops committed. */
  std::function<void(ra::MasterData&, ra::Decider&)> apply;
  std::vector<MasterDataChange> changes;

  bool refused() const {
    return !result.errors.empty() || !result.conflict.empty() || result.not_found;
  }
};

AccessService::AccessService(store::Store& store, const Clock& clock, metrics::Registry& metrics,
                             ServiceOptions options)
    : store_(store),
      clock_(clock),
      options_(std::move(options)),
      zone_(Zone::utc()),
      log_(logger("rules")),
      inbox_(std::make_shared<Inbox>()),
      granted_(metrics.counter("pushgate_access_decisions_total", "Remote identification decisions",
                               {{"result", "granted"}})),
      refused_(metrics.counter("pushgate_access_decisions_total", "Remote identification decisions",
                               {{"result", "refused"}})),
      apb_violations_(metrics.counter("pushgate_access_apb_violations_total",
                                      "Soft anti-passback violations let through")),
      apb_moves_from_terminals_(
          metrics.counter("pushgate_access_apb_moves_from_terminals_total",
                          "Anti-passback positions moved by a passage a terminal recorded itself")),
      decision_write_failures_(
          metrics.counter("pushgate_access_decision_write_failures_total",
                          "Decisions whose Decision event or position could not be committed")),
      imported_(metrics.counter("pushgate_access_imported_users_total",
                                "Users imported or updated from terminal uploads")),
      import_skipped_(
          metrics.counter("pushgate_access_import_skipped_total",
                          "Terminal uploads of users not imported (managed over REST, bad data)")),
      bad_rows_(metrics.counter("pushgate_access_bad_rows_total",
                                "Stored master-data rows that could not be read at start")),
      decision_seconds_(metrics.histogram(
          "pushgate_access_decision_seconds",
          "Time from request to answer of a remote identification, commit wait included",
          {0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.05, 0.25, 1})) {
  std::string error;
  auto zone = Zone::parse(options_.timezone, error);
  if (!zone) {
    throw std::runtime_error("gateway.timezone: " + error);
  }
  zone_ = *zone;
  by_reason_.assign(256, nullptr);
  for (int code : {0, 1, 2, 3, 20, 21, 23, 24, 25, 26, 27, 29, 38, 39, 40, 41, 62, 63, 101}) {
    by_reason_[static_cast<std::size_t>(code)] = &metrics.counter(
        "pushgate_access_decision_reasons_total", "Remote identification decisions by event code",
        {{"event", std::to_string(code)}});
  }
  inbox_->service = this;
  commit_sub_ = store_.subscribe([this](const std::vector<Event>& committed) {
    std::lock_guard lock(inbox_->mutex);  // serialised with the store callbacks, as they were
    on_commit(committed);
  });
}

AccessService::~AccessService() {
  commit_sub_.reset();  // first, and without the inbox lock the observer takes
  std::lock_guard lock(inbox_->mutex);
  inbox_->service = nullptr;
}

void AccessService::add_change_observer(MasterDataObserver observer) {
  observers_.push_back(std::move(observer));
}

std::string AccessService::load() {
  struct Loaded {
    boost::system::error_code ec;
    std::vector<std::pair<EntityKind, std::string>> docs;
    std::vector<std::pair<std::string, std::string>> user_sources;
    std::unordered_map<std::string, ra::Position> positions;
    std::vector<std::tuple<std::string, int, std::string>> doors;  // sn, door, sensor
  };
  auto loaded = store_.read([](store::Connection& db) {
    Loaded out;
    const std::pair<EntityKind, const char*> tables[] = {
        {EntityKind::TimeZone, "SELECT json FROM access_timezones ORDER BY id"},
        {EntityKind::Holiday, "SELECT json FROM access_holidays ORDER BY day"},
        {EntityKind::Area, "SELECT json FROM access_areas ORDER BY id"},
        {EntityKind::Level, "SELECT json FROM access_levels ORDER BY id"},
        {EntityKind::Door, "SELECT json FROM access_doors ORDER BY terminal_sn, door"},
        {EntityKind::User, "SELECT json FROM access_users ORDER BY pin"},
    };
    for (const auto& [kind, sql] : tables) {
      auto st = db.prepare(sql, out.ec);
      if (out.ec) {
        return out;
      }
      while (st.step(out.ec)) {
        out.docs.emplace_back(kind, st.column_text(0));
      }
      if (out.ec) {
        return out;
      }
    }
    auto apb = db.prepare("SELECT pin, area, since_ms FROM access_apb", out.ec);
    if (out.ec) {
      return out;
    }
    while (apb.step(out.ec)) {
      out.positions[apb.column_text(0)] =
          ra::Position{static_cast<int>(apb.column_int(1)), apb.column_int(2)};
    }
    if (out.ec) {
      return out;
    }
    auto ds = db.prepare(
        "SELECT t.sn, d.door, COALESCE(d.sensor, '') FROM door_state d"
        " JOIN terminals t ON t.id = d.terminal_id",
        out.ec);
    if (out.ec) {
      return out;
    }
    while (ds.step(out.ec)) {
      out.doors.emplace_back(ds.column_text(0), static_cast<int>(ds.column_int(1)),
                             ds.column_text(2));
    }
    return out;
  });
  if (loaded.ec) {
    return "access: cannot read the master data: " + loaded.ec.message();
  }
  std::lock_guard lock(mutex_);
  data_ = ra::MasterData{};
  std::size_t bad = 0;
  for (const auto& [kind, text] : loaded.docs) {
    auto j = json::parse(text, nullptr, false);
    // A row that no longer reads (edited by hand, an older form) is skipped
    // and counted: the rest of the site keeps working.
    auto skip = [&](const std::vector<ra::FieldError>& errors) {
      ++bad;
      log_->error(
          "access: stored {} row unreadable ({}): skipped", to_string(kind),
          errors.empty() ? "not JSON" : errors.front().field + ": " + errors.front().message);
    };
    switch (kind) {
      case EntityKind::User: {
        auto p = ra::user_from_json(j);
        p.ok() ? data_.set_user(std::move(*p.value)) : skip(p.errors);
        break;
      }
      case EntityKind::TimeZone: {
        auto p = ra::timezone_from_json(j);
        if (p.ok()) {
          data_.timezones[p.value->id] = std::move(*p.value);
        } else {
          skip(p.errors);
        }
        break;
      }
      case EntityKind::Holiday: {
        auto p = ra::holiday_from_json(j);
        if (p.ok()) {
          data_.holidays[p.value->day] = std::move(*p.value);
        } else {
          skip(p.errors);
        }
        break;
      }
      case EntityKind::Level: {
        auto p = ra::level_from_json(j);
        if (p.ok()) {
          data_.levels[p.value->id] = std::move(*p.value);
        } else {
          skip(p.errors);
        }
        break;
      }
      case EntityKind::Door: {
        auto p = ra::door_from_json(j);
        if (p.ok()) {
          data_.doors[p.value->ref] = std::move(*p.value);
        } else {
          skip(p.errors);
        }
        break;
      }
      case EntityKind::Area: {
        auto p = ra::area_from_json(j);
        if (p.ok()) {
          data_.areas[p.value->id] = std::move(*p.value);
        } else {
          skip(p.errors);
        }
        break;
      }
    }
  }
  bad_rows_.inc(bad);
  decider_.load_positions(std::move(loaded.positions));
  for (const auto& [sn, door, sensor] : loaded.doors) {
    decider_.set_door_state(ra::DoorRef{sn, door}, sensor == "open", std::nullopt);
  }
  log_->info(
      "access: {} users, {} cards, {} time zones, {} holidays, {} levels, {} doors, {} areas, "
      "{} anti-passback positions",
      data_.users.size(), data_.card_index.size(), data_.timezones.size(), data_.holidays.size(),
      data_.levels.size(), data_.doors.size(), data_.areas.size(), decider_.position_count());
  return {};
}

date::local_seconds AccessService::site_time(std::chrono::system_clock::time_point t) const {
  auto l = zone_.to_local(t);
  date::year_month_day ymd{date::year{l.year}, date::month{static_cast<unsigned>(l.month)},
                           date::day{static_cast<unsigned>(l.day)}};
  return date::local_seconds(date::local_days(ymd)) + std::chrono::hours(l.hour) +
         std::chrono::minutes(l.minute) + std::chrono::seconds(l.second);
}

// ---------------------------------------------------------------------------
// Decisions

void AccessService::decide(RemoteAuthRequest q, std::function<void(RemoteAuthAnswer)> done) {
  auto started = std::chrono::steady_clock::now();
  auto now = clock_.now();
  ra::Request r;
  // §10: "currently, the door is the only option" for eventaddr.
  r.door = ra::DoorRef{q.terminal_sn, q.event_addr > 0 ? q.event_addr : 1};
  r.pin = q.pin;
  r.card = normalise_card(q.card);
  r.direction = direction_of(q.in_out);
  r.verify_mode = q.verify_type;
  r.terminal_event = q.event;
  // The gateway's clock, not the terminal's: a terminal with a wrong clock
  // must not be able to move a user into or out of a time zone.
  r.local_time = site_time(now);
  r.now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();

  ra::Decision d;
  {
    std::lock_guard lock(mutex_);
    d = decider_.decide(data_, r);
  }

  RemoteAuthAnswer answer;
  answer.granted = d.granted;
  answer.event_code = ra::event_code(d.reason);
  answer.door = r.door.door;
  answer.open_s = d.open_s;
  answer.tips = std::string(ra::describe(d.reason));
  (d.granted ? granted_ : refused_).inc();
  if (d.apb_violation) {
    apb_violations_.inc();
  }
  if (auto* c = by_reason_[static_cast<std::size_t>(answer.event_code) & 0xFF]) {
    c->inc();
  }

  Event e;
  e.terminal_sn = q.terminal_sn;
  e.record_key = "AUTH\t" + std::to_string(r.now_ms) + "\t" + std::to_string(++decision_seq_);
  e.kind = EventKind::Decision;
  e.local_time = q.time_text;
  e.utc_ms = r.now_ms;
  e.pin = d.pin.empty() ? q.pin : d.pin;
  e.verify_mode = q.verify_type;
  e.status = q.in_out;
  e.door = r.door.door;
  e.event_code = answer.event_code;
  e.raw = q.raw;
  json extra = {{"request", "remote_auth"},
                {"granted", d.granted},
                {"reason", answer.tips},
                {"open_s", d.open_s},
                {"card", r.card},
                {"terminal_event", q.event},
                {"apb_violation", d.apb_violation}};
  e.extra_json = dump_json(extra);
  e.received_ms = q.received_ms != 0 ? q.received_ms : r.now_ms;

  WriteBatch batch;
  batch.events.push_back(std::move(e));
  for (const auto& [pin, pos] : d.positions) {
    batch.ops.push_back(put_position_op(pin, pos));
  }
  const bool wait = (options_.wait == WaitForCommit::Apb && d.granted && !d.positions.empty()) ||
                    options_.wait == WaitForCommit::All;
  if (!wait) {
    // Nothing the terminal is told depends on this commit: answer now, and
    // count (never hide) a Decision event the store could not keep.
    done(std::move(answer));
    decision_seconds_.observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    store_.append(std::move(batch), [inbox = inbox_, sn = q.terminal_sn](CommitResult res) {
      if (!res.ec) {
        return;
      }
      std::lock_guard lock(inbox->mutex);
      if (inbox->service != nullptr) {
        inbox->service->decision_write_failures_.inc();
        inbox->service->log_->warn("[sn={}] access decision answered but not stored: {}", sn,
                                   res.ec.message());
      }
    });
    return;
  }
  // A grant that moves a user for anti-passback is answered only once the
  // new position is on disk: a SUCCESS forgotten in a crash would let the
  // card be passed back after the restart.
  store_.append(std::move(batch), [inbox = inbox_, sn = q.terminal_sn, d = std::move(d),
                                   answer = std::move(answer), done = std::move(done),
                                   started](CommitResult res) mutable {
    std::lock_guard lock(inbox->mutex);
    AccessService* self = inbox->service;
    if (res.ec) {
      if (self != nullptr) {
        self->decision_write_failures_.inc();
        self->log_->warn("[sn={}] access decision for pin {} not stored ({}): answered FAILED", sn,
                         text::log_escape(d.pin), res.ec.message());
        std::lock_guard data_lock(self->mutex_);
        for (std::size_t i = 0; i < d.positions.size(); ++i) {
          // Undo only a position nobody moved since (README, durability).
          if (self->decider_.position(d.positions[i].first) == d.positions[i].second) {
            self->decider_.restore_position(d.positions[i].first, d.previous[i]);
          }
        }
      }
      answer.ec = res.ec;
      answer.granted = false;
      answer.open_s = 0;
    }
    if (self != nullptr) {
      self->decision_seconds_.observe(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    }
    done(std::move(answer));
  });
}

namespace {

// Appendix 2 codes of a door opened for an identified user: verified opens
// (also in normal-open periods, first card, multi-card, fingerprint, card
// plus fingerprint, password, ID card), duress opens, and 222, the
// terminal's own record of a remote identification that succeeded.
bool is_passage(int code) {
  static constexpr std::array kPassages = {0,  1,   2,   3,   14,  15,  16,  17,  18,
                                           19, 101, 103, 203, 215, 216, 218, 219, 222};
  return std::find(kPassages.begin(), kPassages.end(), code) != kPassages.end();
}

}  // namespace

void AccessService::note_pass(const Event& e, WriteBatch& batch) {
  if (e.kind != EventKind::Access || !is_passage(e.event_code) || e.door <= 0 || !e.utc_ms ||
      e.pin.empty()) {
    return;
  }
  std::optional<ra::Position> moved;
  {
    std::lock_guard lock(mutex_);
    moved = decider_.note_pass(data_, ra::DoorRef{e.terminal_sn, e.door}, e.pin,
                               direction_of(e.status), *e.utc_ms);
  }
  if (moved) {
    apb_moves_from_terminals_.inc();
    batch.ops.push_back(put_position_op(e.pin, *moved));
  }
}

ra::DoorLive AccessService::door_state(const ra::DoorRef& door) const {
  std::lock_guard lock(mutex_);
  return decider_.door_state(door);
}

// ---------------------------------------------------------------------------
// Observer: door states and users uploaded by terminals

void AccessService::on_commit(const std::vector<Event>& committed) {
  std::map<std::string, std::vector<json>> uploads;
  for (const auto& e : committed) {
    if (e.kind == EventKind::DoorState && e.door > 0) {
      auto extra = json::parse(e.extra_json, nullptr, false);
      if (!extra.is_object()) {
        continue;
      }
      auto it = extra.find("sensor");
      if (it != extra.end() && it->is_string()) {
        // Only the door sensor says whether a door stands open: the relay
        // bit's polarity is not settled by §7.3 (README, interlock).
        std::lock_guard lock(mutex_);
        decider_.set_door_state(ra::DoorRef{e.terminal_sn, e.door},
                                it->get<std::string>() == "open", std::nullopt);
      }
    } else if (e.kind == EventKind::Enrollment && options_.import_users && !e.pin.empty()) {
      auto extra = json::parse(e.extra_json, nullptr, false);
      if (extra.is_object() && extra.value("record", "") == "user" && extra.contains("fields") &&
          extra["fields"].is_object()) {
        auto fields = extra["fields"];
        fields["pin"] = e.pin;
        uploads[e.terminal_sn].push_back(std::move(fields));
      }
    }
  }
  for (auto& [sn, users] : uploads) {
    import_users(sn, std::move(users));
  }
}

void AccessService::import_users(std::string sn, std::vector<json> uploads) {
  auto source = "terminal:" + sn;
  enqueue(
      [this, sn, source, uploads = std::move(uploads)]() {
        Plan plan;
        std::vector<ra::User> users;
        std::map<std::string, std::string> batch_cards;
        std::lock_guard lock(mutex_);
        for (const auto& f : uploads) {
          std::string pin = f.value("pin", "");
          const ra::User* existing = data_.find_user(pin);
          // The import rule: a user managed over REST is never overwritten by
          // what a terminal holds; a user first seen on a terminal follows
          // that terminal's later uploads (levels stay as given over REST).
          if (existing != nullptr && existing->source == "rest") {
            import_skipped_.inc();
            continue;
          }
          ra::User u = existing != nullptr ? *existing : ra::User{};
          u.pin = pin;
          u.source = source;
          if (existing == nullptr) {
            u.levels = options_.import_levels;
          }
          u.name = field_text(f, "name");
          if (auto v = field_int(f, "privilege")) {
            u.privilege = std::clamp(*v, 0, 15);
          }
          if (auto v = field_int(f, "group")) {
            u.group = std::clamp(*v, 0, 99);
          }
          u.valid_from = terminal_validity(field_text(f, "starttime"), false);
          u.valid_until = terminal_validity(field_text(f, "endtime"), true);
          u.disabled = field_text(f, "disable") == "1";
          std::string card = normalise_card(field_text(f, "card"));
          std::vector<ra::Card> cards;
          if (!card.empty() && card != "0") {
            auto held = data_.card_index.find(card);
            auto in_batch = batch_cards.find(card);
            if ((held != data_.card_index.end() && held->second != pin) ||
                (in_batch != batch_cards.end() && in_batch->second != pin)) {
              // The card belongs to someone else here: keep the user, not the card.
              log_->debug("access: [sn={}] user {} card {} held by another user: not imported", sn,
                          text::log_escape(pin), text::log_escape(card));
              import_skipped_.inc();
            } else {
              cards.push_back(ra::Card{card, false});
              batch_cards[card] = pin;
            }
          }
          u.cards = std::move(cards);
          auto parsed = ra::user_from_json(ra::to_json(u, true));
          if (!parsed.ok()) {
            log_->debug("access: [sn={}] user {} not imported: {}: {}", sn, text::log_escape(pin),
                        parsed.errors.front().field,
                        text::log_escape(parsed.errors.front().message));
            import_skipped_.inc();
            continue;
          }
          parsed.value->password = u.password;
          users.push_back(std::move(*parsed.value));
        }
        auto now = clock_.now_ms();
        for (const auto& u : users) {
          plan.ops.push_back(put_user_op(u, now));
          plan.changes.push_back({Entity::User, MasterDataChange::Op::Upsert, u.pin, source, 0});
        }
        imported_.inc(users.size());
        plan.apply = [users = std::move(users)](ra::MasterData& data, ra::Decider&) {
          for (auto u : users) {
            data.set_user(std::move(u));
          }
        };
        return plan;
      },
      nullptr);
}

// ---------------------------------------------------------------------------
// Changes, one at a time

void AccessService::enqueue(std::function<Plan()> plan, UpdateDone done) {
  {
    std::lock_guard lock(queue_mutex_);
    queue_.emplace_back(std::move(plan), std::move(done));
    if (running_) {
      return;
    }
    running_ = true;
  }
  run_next();
}

void AccessService::run_next() {
  while (true) {
    std::pair<std::function<Plan()>, UpdateDone> next;
    {
      std::lock_guard lock(queue_mutex_);
      if (queue_.empty()) {
        running_ = false;
        return;
      }
      next = std::move(queue_.front());
      queue_.pop_front();
    }
    auto plan = std::make_shared<Plan>(next.first());
    auto done = std::move(next.second);
    if (plan->refused() || plan->ops.empty()) {
      if (done) {
        done(std::move(plan->result));
      }
      continue;
    }
    WriteBatch batch;
    batch.ops = std::move(plan->ops);
    store_.append(std::move(batch),
                  [inbox = inbox_, plan, done = std::move(done)](CommitResult res) mutable {
                    std::lock_guard lock(inbox->mutex);
                    if (inbox->service == nullptr) {
                      return;
                    }
                    inbox->service->finish(*plan, res);
                    if (done) {
                      done(std::move(plan->result));
                    }
                    inbox->service->run_next();
                  });
    return;
  }
}

void AccessService::finish(Plan& plan, const CommitResult& result) {
  if (result.ec) {
    plan.result.ec = result.ec;
    log_->warn("access: master data change not stored: {}", result.ec.message());
    return;
  }
  {
    std::lock_guard lock(mutex_);
    if (plan.apply) {
      plan.apply(data_, decider_);
    }
  }
  auto now = clock_.now_ms();
  for (auto& c : plan.changes) {
    c.committed_ms = now;
    for (const auto& o : observers_) {
      o(c);
    }
  }
}

bool AccessService::wait_idle_for_test(std::chrono::milliseconds deadline) {
  auto until = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < until) {
    {
      std::lock_guard lock(queue_mutex_);
      if (!running_ && queue_.empty()) {
        return true;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return false;
}

void AccessService::put(EntityKind kind, json body, std::optional<std::string> path_key,
                        UpdateDone done) {
  enqueue([this, kind, body = std::move(body),
           path_key = std::move(path_key)]() { return plan_put(kind, body, path_key, "rest"); },
          std::move(done));
}

void AccessService::remove(EntityKind kind, std::string key, UpdateDone done) {
  enqueue([this, kind, key = std::move(key)]() { return plan_remove(kind, key); }, std::move(done));
}

namespace {

/** What one entity kind needs for put and delete. */
template <class T>
struct Kind;

template <>
struct Kind<ra::User> {
  static constexpr Entity entity = Entity::User;
  static ra::Parsed<ra::User> parse(const json& j) { return ra::user_from_json(j); }
  static std::string key(const ra::User& u) { return u.pin; }
  static bool exists(const ra::MasterData& d, const std::string& k) {
    return d.users.count(k) != 0;
  }
};
template <>
struct Kind<ra::TimeZone> {
  static constexpr Entity entity = Entity::TimeZone;
  static ra::Parsed<ra::TimeZone> parse(const json& j) { return ra::timezone_from_json(j); }
  static std::string key(const ra::TimeZone& t) { return std::to_string(t.id); }
};
template <>
struct Kind<ra::Holiday> {
  static constexpr Entity entity = Entity::Holiday;
  static ra::Parsed<ra::Holiday> parse(const json& j) { return ra::holiday_from_json(j); }
  static std::string key(const ra::Holiday& h) { return ra::format_day(h.day); }
};
template <>
struct Kind<ra::Level> {
  static constexpr Entity entity = Entity::Level;
  static ra::Parsed<ra::Level> parse(const json& j) { return ra::level_from_json(j); }
  static std::string key(const ra::Level& l) { return std::to_string(l.id); }
};
template <>
struct Kind<ra::DoorSettings> {
  static constexpr Entity entity = Entity::Door;
  static ra::Parsed<ra::DoorSettings> parse(const json& j) { return ra::door_from_json(j); }
  static std::string key(const ra::DoorSettings& d) { return door_key(d.ref); }
};
template <>
struct Kind<ra::Area> {
  static constexpr Entity entity = Entity::Area;
  static ra::Parsed<ra::Area> parse(const json& j) { return ra::area_from_json(j); }
  static std::string key(const ra::Area& a) { return std::to_string(a.id); }
};

std::vector<ra::FieldError> refs(const ra::MasterData& d, const ra::User& u) {
  return ra::check_references(d, u);
}
std::vector<ra::FieldError> refs(const ra::MasterData& d, const ra::Level& l) {
  return ra::check_references(d, l);
}
std::vector<ra::FieldError> refs(const ra::MasterData& d, const ra::DoorSettings& s) {
  return ra::check_references(d, s);
}
template <class T>
std::vector<ra::FieldError> refs(const ra::MasterData&, const T&) {
  return {};
}

WriteOp put_op(const ra::User& u, std::int64_t now) {
  return put_user_op(u, now);
}
WriteOp put_op(const ra::TimeZone& t, std::int64_t now) {
  return put_doc_op("access_timezones", t.id, dump_json(ra::to_json(t)), now);
}
WriteOp put_op(const ra::Level& l, std::int64_t now) {
  return put_doc_op("access_levels", l.id, dump_json(ra::to_json(l)), now);
}
WriteOp put_op(const ra::Area& a, std::int64_t now) {
  return put_doc_op("access_areas", a.id, dump_json(ra::to_json(a)), now);
}
WriteOp put_op(const ra::Holiday& h, std::int64_t now) {
  return sql_op(
      "INSERT INTO access_holidays(day, json, updated_ms) VALUES(?1,?2,?3) ON CONFLICT(day)"
      " DO UPDATE SET json=excluded.json, updated_ms=excluded.updated_ms",
      [day = ra::format_day(h.day), doc = dump_json(ra::to_json(h)), now](store::Statement& st) {
        st.bind(1, std::string_view(day)).bind(2, std::string_view(doc)).bind(3, now);
      });
}
WriteOp put_op(const ra::DoorSettings& d, std::int64_t now) {
  return sql_op(
      "INSERT INTO access_doors(terminal_sn, door, json, updated_ms) VALUES(?1,?2,?3,?4)"
      " ON CONFLICT(terminal_sn, door) DO UPDATE SET json=excluded.json,"
      " updated_ms=excluded.updated_ms",
      [sn = d.ref.sn, door = d.ref.door, doc = dump_json(ra::to_json(d)),
       now](store::Statement& st) {
        st.bind(1, std::string_view(sn)).bind(2, door).bind(3, std::string_view(doc)).bind(4, now);
      });
}

void set(ra::MasterData& d, ra::User u) {
  d.set_user(std::move(u));
}
void set(ra::MasterData& d, ra::TimeZone t) {
  d.timezones[t.id] = std::move(t);
}
void set(ra::MasterData& d, ra::Holiday h) {
  d.holidays[h.day] = std::move(h);
}
void set(ra::MasterData& d, ra::Level l) {
  d.levels[l.id] = std::move(l);
}
void set(ra::MasterData& d, ra::DoorSettings s) {
  d.doors[s.ref] = std::move(s);
}
void set(ra::MasterData& d, ra::Area a) {
  d.areas[a.id] = std::move(a);
}

json as_json(const ra::User& u) {
  return ra::to_json(u);
}
template <class T>
json as_json(const T& v) {
  return ra::to_json(v);
}

/**
 * Validates `body` (an object or an array of objects) as T against `data`
 * plus the earlier entries of the same body, and fills the plan.
 */
template <class T>
void plan_put_kind(const ra::MasterData& data, const json& body,
                   const std::optional<std::string>& path_key, const std::string& source,
                   std::int64_t now, std::vector<ra::FieldError>& errors, std::vector<WriteOp>& ops,
                   std::vector<T>& values, std::vector<MasterDataChange>& changes) {
  const bool bulk = body.is_array();
  if (bulk && path_key) {
    errors.push_back({"", "a list is taken only without a key in the path"});
    return;
  }
  if (bulk && body.empty()) {
    errors.push_back({"", "the list is empty"});
    return;
  }
  if (bulk && body.size() > 50000) {
    errors.push_back({"", "at most 50000 entries per request"});
    return;
  }
  // Later entries of a bulk body see the earlier ones (a user may name a
  // level created in the same body only if levels come first: one kind per
  // body, so references are always to what is already stored).
  std::map<std::string, std::string> batch_cards;
  std::set<std::string> keys;
  std::size_t n = bulk ? body.size() : 1;
  for (std::size_t i = 0; i < n; ++i) {
    const json& item = bulk ? body[i] : body;
    std::vector<ra::FieldError> item_errors;
    json doc = item;
    if constexpr (std::is_same_v<T, ra::User>) {
      // The source is the gateway's to record; a GET -> PUT round trip may carry it.
      if (doc.is_object()) {
        doc.erase("source");
        doc.erase("has_password");
        if (!doc.contains("password") && doc.contains("pin") && doc["pin"].is_string()) {
          // Keep the stored password when the body does not mention one.
          if (const auto* u = data.find_user(doc["pin"].get<std::string>())) {
            doc["password"] = u->password;
          }
        }
      }
    }
    auto parsed = Kind<T>::parse(doc);
    if (!parsed.ok()) {
      item_errors = std::move(parsed.errors);
    } else {
      T& v = *parsed.value;
      std::string key = Kind<T>::key(v);
      if (path_key && *path_key != key) {
        item_errors.push_back({"", "the body is for " + key + ", the path for " + *path_key});
      }
      if (!keys.insert(key).second) {
        item_errors.push_back({"", key + " appears twice"});
      }
      auto ref_errors = refs(data, v);
      item_errors.insert(item_errors.end(), ref_errors.begin(), ref_errors.end());
      if constexpr (std::is_same_v<T, ra::User>) {
        v.source = source;
        for (std::size_t c = 0; c < v.cards.size(); ++c) {
          auto [it, fresh] = batch_cards.emplace(v.cards[c].number, v.pin);
          if (!fresh && it->second != v.pin) {
            item_errors.push_back(
                {"cards[" + std::to_string(c) + "]", "also given to user " + it->second});
          }
        }
      }
      if (item_errors.empty()) {
        ops.push_back(put_op(v, now));
        changes.push_back({Kind<T>::entity, MasterDataChange::Op::Upsert, key, source, 0});
        values.push_back(std::move(v));
      }
    }
    if (bulk) {
      prefix_errors(item_errors, i, errors);
    } else {
      errors.insert(errors.end(), item_errors.begin(), item_errors.end());
    }
  }
}

}  // namespace

AccessService::Plan AccessService::plan_put(EntityKind kind, const json& body,
                                            const std::optional<std::string>& path_key,
                                            const std::string& source) {
  Plan plan;
  if (!body.is_object() && !body.is_array()) {
    plan.result.errors.push_back({"", "the body must be a JSON object or a list of objects"});
    return plan;
  }
  auto now = clock_.now_ms();
  auto run = [&](auto tag) {
    using T = decltype(tag);
    std::vector<T> values;
    {
      std::lock_guard lock(mutex_);
      plan_put_kind<T>(data_, body, path_key, source, now, plan.result.errors, plan.ops, values,
                       plan.changes);
    }
    if (!plan.result.errors.empty()) {
      plan.ops.clear();
      plan.changes.clear();
      return;
    }
    if (body.is_array()) {
      plan.result.value = json::array();
      for (const auto& v : values) {
        plan.result.value.push_back(as_json(v));
      }
    } else {
      plan.result.value = as_json(values.front());
    }
    plan.apply = [values = std::move(values)](ra::MasterData& data, ra::Decider&) mutable {
      for (auto& v : values) {
        set(data, std::move(v));
      }
    };
  };
  switch (kind) {
    case EntityKind::User:
      run(ra::User{});
      break;
    case EntityKind::TimeZone:
      run(ra::TimeZone{});
      break;
    case EntityKind::Holiday:
      run(ra::Holiday{});
      break;
    case EntityKind::Level:
      run(ra::Level{});
      break;
    case EntityKind::Door:
      run(ra::DoorSettings{});
      break;
    case EntityKind::Area:
      run(ra::Area{});
      break;
  }
  return plan;
}

AccessService::Plan AccessService::plan_remove(EntityKind kind, const std::string& key) {
  Plan plan;
  std::lock_guard lock(mutex_);
  auto change = [&](Entity e) {
    plan.changes.push_back({e, MasterDataChange::Op::Delete, key, "rest", 0});
  };
  switch (kind) {
    case EntityKind::User: {
      if (data_.users.count(key) == 0) {
        plan.result.not_found = true;
        return plan;
      }
      plan.ops.push_back(delete_user_op(key));
      plan.apply = [key](ra::MasterData& d, ra::Decider& decider) {
        d.erase_user(key);
        decider.forget_position(key);
      };
      change(Entity::User);
      return plan;
    }
    case EntityKind::TimeZone: {
      auto id = positive_int(key);
      if (!id || data_.timezones.count(*id) == 0) {
        plan.result.not_found = true;
        return plan;
      }
      for (const auto& [lid, l] : data_.levels) {
        if (l.timezone == *id) {
          plan.result.conflict = "used by access level " + std::to_string(lid);
          return plan;
        }
      }
      for (const auto& [ref, d] : data_.doors) {
        bool used = d.valid_tz == *id || d.keep_open_tz == *id ||
                    std::any_of(d.first_card_users.begin(), d.first_card_users.end(),
                                [&](const auto& f) { return f.timezone == *id; });
        if (used) {
          plan.result.conflict = "used by door " + door_key(ref);
          return plan;
        }
      }
      plan.ops.push_back(delete_doc_op("access_timezones", *id));
      plan.apply = [id = *id](ra::MasterData& d, ra::Decider&) { d.timezones.erase(id); };
      change(Entity::TimeZone);
      return plan;
    }
    case EntityKind::Holiday: {
      auto day = ra::parse_day(key);
      if (!day || data_.holidays.count(*day) == 0) {
        plan.result.not_found = true;
        return plan;
      }
      plan.ops.push_back(
          sql_op("DELETE FROM access_holidays WHERE day = ?1",
                 [key](store::Statement& st) { st.bind(1, std::string_view(key)); }));
      plan.apply = [day = *day](ra::MasterData& d, ra::Decider&) { d.holidays.erase(day); };
      change(Entity::Holiday);
      return plan;
    }
    case EntityKind::Level: {
      auto id = positive_int(key);
      if (!id || data_.levels.count(*id) == 0) {
        plan.result.not_found = true;
        return plan;
      }
      for (const auto& [pin, u] : data_.users) {
        if (std::find(u.levels.begin(), u.levels.end(), *id) != u.levels.end()) {
          plan.result.conflict = "given to user " + pin;
          return plan;
        }
      }
      plan.ops.push_back(delete_doc_op("access_levels", *id));
      plan.apply = [id = *id](ra::MasterData& d, ra::Decider&) { d.levels.erase(id); };
      change(Entity::Level);
      return plan;
    }
    case EntityKind::Door: {
      auto ref = ra::parse_door_ref(key);
      if (!ref || data_.doors.count(*ref) == 0) {
        plan.result.not_found = true;
        return plan;
      }
      plan.ops.push_back(sql_op("DELETE FROM access_doors WHERE terminal_sn = ?1 AND door = ?2",
                                [ref = *ref](store::Statement& st) {
                                  st.bind(1, std::string_view(ref.sn)).bind(2, ref.door);
                                }));
      plan.apply = [ref = *ref](ra::MasterData& d, ra::Decider&) { d.doors.erase(ref); };
      change(Entity::Door);
      return plan;
    }
    case EntityKind::Area: {
      auto id = positive_int(key);
      if (!id || data_.areas.count(*id) == 0) {
        plan.result.not_found = true;
        return plan;
      }
      for (const auto& [ref, d] : data_.doors) {
        if (d.area_in == *id || d.area_out == *id) {
          plan.result.conflict = "used by door " + door_key(ref);
          return plan;
        }
      }
      plan.ops.push_back(delete_doc_op("access_areas", *id));
      plan.apply = [id = *id](ra::MasterData& d, ra::Decider&) { d.areas.erase(id); };
      change(Entity::Area);
      return plan;
    }
  }
  return plan;
}

json AccessService::list(EntityKind kind, const std::string& after, std::size_t limit) const {
  json out = json::array();
  std::lock_guard lock(mutex_);
  auto page = [&](const auto& map, auto key_of) {
    for (const auto& [k, v] : map) {
      if (out.size() >= limit) {
        break;
      }
      if (!after.empty() && !(key_of(k) > after)) {
        continue;
      }
      out.push_back(as_json(v));
    }
  };
  switch (kind) {
    case EntityKind::User:
      page(data_.users, [](const std::string& k) { return k; });
      break;
    case EntityKind::TimeZone:
      // Numeric keys page numerically: "after" is compared as a number.
      for (const auto& [id, v] : data_.timezones) {
        if (out.size() < limit && (after.empty() || id > positive_int(after).value_or(0))) {
          out.push_back(as_json(v));
        }
      }
      break;
    case EntityKind::Holiday:
      page(data_.holidays, [](const date::year_month_day& k) { return ra::format_day(k); });
      break;
    case EntityKind::Level:
      for (const auto& [id, v] : data_.levels) {
        if (out.size() < limit && (after.empty() || id > positive_int(after).value_or(0))) {
          out.push_back(as_json(v));
        }
      }
      break;
    case EntityKind::Door:
      page(data_.doors, [](const ra::DoorRef& k) { return door_key(k); });
      break;
    case EntityKind::Area:
      for (const auto& [id, v] : data_.areas) {
        if (out.size() < limit && (after.empty() || id > positive_int(after).value_or(0))) {
          out.push_back(as_json(v));
        }
      }
      break;
  }
  return out;
}

std::optional<json> AccessService::get(EntityKind kind, const std::string& key) const {
  std::lock_guard lock(mutex_);
  auto find = [](const auto& map, const auto& k) -> std::optional<json> {
    auto it = map.find(k);
    if (it == map.end()) {
      return std::nullopt;
    }
    return as_json(it->second);
  };
  switch (kind) {
    case EntityKind::User:
      return find(data_.users, key);
    case EntityKind::TimeZone:
      if (auto id = positive_int(key)) {
        return find(data_.timezones, *id);
      }
      return std::nullopt;
    case EntityKind::Holiday:
      if (auto day = ra::parse_day(key)) {
        return find(data_.holidays, *day);
      }
      return std::nullopt;
    case EntityKind::Level:
      if (auto id = positive_int(key)) {
        return find(data_.levels, *id);
      }
      return std::nullopt;
    case EntityKind::Door:
      if (auto ref = ra::parse_door_ref(key)) {
        auto j = find(data_.doors, *ref);
        if (j) {
          auto live = decider_.door_state(*ref);
          (*j)["state"] = {{"sensor_open", live.sensor_open},
                           {"opened_until", live.granted_until_ms != 0
                                                ? json(format_utc_iso8601(live.granted_until_ms))
                                                : json()}};
        }
        return j;
      }
      return std::nullopt;
    case EntityKind::Area:
      if (auto id = positive_int(key)) {
        return find(data_.areas, *id);
      }
      return std::nullopt;
  }
  return std::nullopt;
}

json AccessService::positions() const {
  json out = json::object();
  std::lock_guard lock(mutex_);
  for (const auto& [pin, u] : data_.users) {
    if (auto p = decider_.position(pin)) {
      out[pin] = {{"area", p->area}, {"since", format_utc_iso8601(p->since_ms)}};
    }
  }
  return out;
}

void AccessService::reset_positions(std::string pin, UpdateDone done) {
  enqueue(
      [this, pin = std::move(pin)]() {
        Plan plan;
        if (pin.empty()) {
          plan.ops.push_back(sql_op("DELETE FROM access_apb", [](store::Statement&) {}));
          plan.apply = [](ra::MasterData&, ra::Decider& d) { d.forget_all_positions(); };
        } else {
          std::lock_guard lock(mutex_);
          if (!decider_.position(pin)) {
            plan.result.not_found = true;
            return plan;
          }
          plan.ops.push_back(
              sql_op("DELETE FROM access_apb WHERE pin = ?1",
                     [pin](store::Statement& st) { st.bind(1, std::string_view(pin)); }));
          plan.apply = [pin](ra::MasterData&, ra::Decider& d) { d.forget_position(pin); };
        }
        plan.result.value = {{"reset", pin.empty() ? json("all") : json(pin)}};
        return plan;
      },
      std::move(done));
}

ra::MasterData AccessService::snapshot() const {
  std::lock_guard lock(mutex_);
  return data_;
}

}  // namespace pushgate::access
