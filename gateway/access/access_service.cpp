#include "gateway/access/access_service.hpp"

#include <algorithm>
#include <array>
#include <map>
#include <stdexcept>
#include <unordered_map>

#include "gateway/access/access_internal.hpp"
#include "gateway/device_text.hpp"
#include "gateway/event_json.hpp"
#include "gateway/logging.hpp"
#include "gateway/store/access_queries.hpp"
#include "gateway/store/store.hpp"
#include "gateway/store/write_context.hpp"

// The runtime of local access control: loading, §10 decisions, passages
// terminals recorded, and the commit observer. Master-data changes are in
// access_master_data.cpp, REST reads in access_reads.cpp, options in
// access_config.cpp, the SQL in gateway/store/access_queries.cpp.

namespace pushgate::access {

using nlohmann::json;

namespace {

WriteOp put_position_op(std::string pin, ra::Position pos) {
  return [pin = std::move(pin), pos](store::WriteContext& ctx) {
    return store::put_access_position(ctx, pin, pos.area, pos.since_ms);
  };
}

/** `inoutstatus` of a §10 request or an rtlog record: 0 in, 1 out, else unknown. */
ra::Direction direction_of(int in_out) {
  return in_out == 0   ? ra::Direction::In
         : in_out == 1 ? ra::Direction::Out
                       : ra::Direction::Unknown;
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

// ---------------------------------------------------------------------------

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
    store::AccessRows rows;
  };
  auto loaded = store_.read([](store::Connection& db) {
    Loaded out;
    out.rows = store::read_access_rows(db, out.ec);
    return out;
  });
  if (loaded.ec) {
    return "access: cannot read the master data: " + loaded.ec.message();
  }
  std::lock_guard lock(mutex_);
  data_ = ra::MasterData{};
  std::size_t bad = 0;
  // Referenced kinds first, in the order the rows were always read.
  const std::pair<EntityKind, const std::vector<std::string>*> docs[] = {
      {EntityKind::TimeZone, &loaded.rows.timezones}, {EntityKind::Holiday, &loaded.rows.holidays},
      {EntityKind::Area, &loaded.rows.areas},         {EntityKind::Level, &loaded.rows.levels},
      {EntityKind::Door, &loaded.rows.doors},         {EntityKind::User, &loaded.rows.users},
  };
  for (const auto& [kind, texts] : docs) {
    for (const auto& text : *texts) {
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
  }
  bad_rows_.inc(bad);
  std::unordered_map<std::string, ra::Position> positions;
  for (const auto& p : loaded.rows.positions) {
    positions[p.pin] = ra::Position{p.area, p.since_ms};
  }
  decider_.load_positions(std::move(positions));
  for (const auto& d : loaded.rows.door_sensors) {
    decider_.set_door_state(ra::DoorRef{d.sn, d.door}, d.sensor == "open", std::nullopt);
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

}  // namespace pushgate::access
