#include "gateway/access/access_service.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <thread>
#include <type_traits>

#include "gateway/access/access_internal.hpp"
#include "gateway/device_text.hpp"
#include "gateway/event_json.hpp"
#include "gateway/logging.hpp"
#include "gateway/store/access_queries.hpp"
#include "gateway/store/store.hpp"
#include "gateway/store/write_context.hpp"

// The master-data pipeline of AccessService: changes over REST and imports of
// users uploaded by terminals, validated against the data in force, committed
// one at a time, applied in memory after their commit.

namespace pushgate::access {

using nlohmann::json;
using Entity = MasterDataChange::Entity;

namespace {

WriteOp put_doc_op(store::AccessDocTable table, std::int64_t id, std::string doc,
                   std::int64_t now) {
  return [table, id, doc = std::move(doc), now](store::WriteContext& ctx) {
    return store::put_access_doc(ctx, table, id, doc, now);
  };
}

WriteOp delete_doc_op(store::AccessDocTable table, std::int64_t id) {
  return [table, id](store::WriteContext& ctx) { return store::delete_access_doc(ctx, table, id); };
}

WriteOp put_user_op(const ra::User& u, std::int64_t now) {
  std::vector<store::AccessCardRow> cards;
  for (const auto& c : u.cards) {
    cards.push_back(store::AccessCardRow{c.number, c.lost});
  }
  return [pin = u.pin, source = u.source, cards = std::move(cards),
          doc = dump_json(ra::to_json(u, true)), now](store::WriteContext& ctx) {
    return store::put_access_user(ctx, pin, doc, source, cards, now);
  };
}

WriteOp delete_user_op(std::string pin) {
  return [pin = std::move(pin)](store::WriteContext& ctx) {
    return store::delete_access_user(ctx, pin);
  };
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
  return put_doc_op(store::AccessDocTable::TimeZones, t.id, dump_json(ra::to_json(t)), now);
}
WriteOp put_op(const ra::Level& l, std::int64_t now) {
  return put_doc_op(store::AccessDocTable::Levels, l.id, dump_json(ra::to_json(l)), now);
}
WriteOp put_op(const ra::Area& a, std::int64_t now) {
  return put_doc_op(store::AccessDocTable::Areas, a.id, dump_json(ra::to_json(a)), now);
}
WriteOp put_op(const ra::Holiday& h, std::int64_t now) {
  return [day = ra::format_day(h.day), doc = dump_json(ra::to_json(h)),
          now](store::WriteContext& ctx) { return store::put_access_holiday(ctx, day, doc, now); };
}
WriteOp put_op(const ra::DoorSettings& d, std::int64_t now) {
  return [sn = d.ref.sn, door = d.ref.door, doc = dump_json(ra::to_json(d)), now](
             store::WriteContext& ctx) { return store::put_access_door(ctx, sn, door, doc, now); };
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
      plan.ops.push_back(delete_doc_op(store::AccessDocTable::TimeZones, *id));
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
          [key](store::WriteContext& ctx) { return store::delete_access_holiday(ctx, key); });
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
      plan.ops.push_back(delete_doc_op(store::AccessDocTable::Levels, *id));
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
      plan.ops.push_back([ref = *ref](store::WriteContext& ctx) {
        return store::delete_access_door(ctx, ref.sn, ref.door);
      });
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
      plan.ops.push_back(delete_doc_op(store::AccessDocTable::Areas, *id));
      plan.apply = [id = *id](ra::MasterData& d, ra::Decider&) { d.areas.erase(id); };
      change(Entity::Area);
      return plan;
    }
  }
  return plan;
}

void AccessService::reset_positions(std::string pin, UpdateDone done) {
  enqueue(
      [this, pin = std::move(pin)]() {
        Plan plan;
        if (pin.empty()) {
          plan.ops.push_back(
              [](store::WriteContext& ctx) { return store::delete_access_positions(ctx); });
          plan.apply = [](ra::MasterData&, ra::Decider& d) { d.forget_all_positions(); };
        } else {
          std::lock_guard lock(mutex_);
          if (!decider_.position(pin)) {
            plan.result.not_found = true;
            return plan;
          }
          plan.ops.push_back(
              [pin](store::WriteContext& ctx) { return store::delete_access_position(ctx, pin); });
          plan.apply = [pin](ra::MasterData&, ra::Decider& d) { d.forget_position(pin); };
        }
        plan.result.value = {{"reset", pin.empty() ? json("all") : json(pin)}};
        return plan;
      },
      std::move(done));
}

}  // namespace pushgate::access
