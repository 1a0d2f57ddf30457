#include "rules/access/master_data_json.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <initializer_list>
#include <limits>
#include <set>

namespace pushgate::rules::access {

namespace {

using nlohmann::json;

constexpr std::array<std::string_view, 7> kDayNames = {"sun", "mon", "tue", "wed",
                                                       "thu", "fri", "sat"};
constexpr std::array<std::string_view, 3> kHolidayNames = {"hol1", "hol2", "hol3"};

std::optional<int> to_int(std::string_view text) {
  int value = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || p != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

// Walks one object, collecting problems; never throws. Each getter leaves
// the target unchanged when the key is absent (the default stays).
class Fields {
 public:
  Fields(const json& j, std::vector<FieldError>& errors, std::string prefix = "")
      : j_(j), errors_(errors), prefix_(std::move(prefix)) {
    if (!j_.is_object()) {
      error("", std::string("must be an object, got ") + j_.type_name());
    }
  }

  bool is_object() const { return j_.is_object(); }

  void error(std::string_view key, std::string message) {
    std::string field = prefix_;
    if (!key.empty()) {
      field = field.empty() ? std::string(key) : field + "." + std::string(key);
    }
    errors_.push_back({std::move(field), std::move(message)});
  }

  std::string field(std::string_view key) const {
    return prefix_.empty() ? std::string(key) : prefix_ + "." + std::string(key);
  }

  const json* get(std::string_view key, bool required = false) {
    used_.insert(std::string(key));
    if (!j_.is_object()) {
      return nullptr;
    }
    auto it = j_.find(std::string(key));
    if (it == j_.end() || (it->is_null() && !required)) {
      if (required) {
        error(key, "is required");
      }
      return nullptr;
    }
    return &*it;
  }

  void text(std::string_view key, std::string& out, bool required = false,
            std::size_t max_len = 128) {
    if (const json* v = get(key, required)) {
      if (!v->is_string()) {
        error(key, std::string("must be a string, got ") + v->type_name());
        return;
      }
      auto s = v->get<std::string>();
      if (s.size() > max_len) {
        error(key, "is longer than " + std::to_string(max_len) + " characters");
        return;
      }
      if (s.find_first_of(std::string_view("\t\r\n\0", 4)) != std::string::npos) {
        error(key, "must not contain tabs, line ends or NUL (they end a record on the wire)");
        return;
      }
      out = std::move(s);
    }
  }

  void integer(std::string_view key, int& out, int min, int max, bool required = false) {
    if (const json* v = get(key, required)) {
      if (!v->is_number_integer()) {
        error(key, std::string("must be an integer, got ") + v->type_name());
        return;
      }
      auto value = v->get<std::int64_t>();
      if (v->is_number_unsigned() &&
          v->get<std::uint64_t>() >
              static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        value = std::numeric_limits<std::int64_t>::max();
      }
      if (value < min || value > max) {
        error(key, "must be between " + std::to_string(min) + " and " + std::to_string(max));
        return;
      }
      out = static_cast<int>(value);
    }
  }

  void boolean(std::string_view key, bool& out) {
    if (const json* v = get(key)) {
      if (!v->is_boolean()) {
        error(key, std::string("must be true or false, got ") + v->type_name());
        return;
      }
      out = v->get<bool>();
    }
  }

  /** Reports keys no getter asked for. */
  void finish() {
    if (!j_.is_object()) {
      return;
    }
    for (const auto& item : j_.items()) {
      if (used_.count(item.key()) == 0) {
        error(item.key(), "unknown key");
      }
    }
  }

 private:
  const json& j_;
  std::vector<FieldError>& errors_;
  std::string prefix_;
  std::set<std::string> used_;
};

template <class T>
Parsed<T> done(T value, std::vector<FieldError> errors) {
  Parsed<T> r;
  if (errors.empty()) {
    r.value = std::move(value);
  }
  r.errors = std::move(errors);
  return r;
}

bool valid_pin(const std::string& pin) {
  // Terminals store the PIN as digits (PIN2 up to 24 characters on newer firmware).
  return !pin.empty() && pin.size() <= 24 &&
         std::all_of(pin.begin(), pin.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool valid_card(const std::string& card) {
  return !card.empty() && card.size() <= 32 && card != "0" &&
         std::all_of(card.begin(), card.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f') ||
                  c == '[' || c == ']';
         });
}

void read_periods(Fields& f, std::string_view key, DayPeriods& out) {
  const json* v = f.get(key);
  if (v == nullptr) {
    return;
  }
  if (!v->is_array() || v->size() > 3) {
    f.error(key, "must be a list of up to three \"HH:MM-HH:MM\" periods");
    return;
  }
  for (std::size_t i = 0; i < v->size(); ++i) {
    const json& p = (*v)[i];
    std::string where = std::string(key) + "[" + std::to_string(i) + "]";
    if (!p.is_string()) {
      f.error(where, "must be a string \"HH:MM-HH:MM\"");
      continue;
    }
    auto period = parse_period(p.get<std::string>());
    if (!period) {
      f.error(where, "must be \"HH:MM-HH:MM\" with the end not before the start");
      continue;
    }
    out[i] = *period;
  }
}

json periods_json(const DayPeriods& periods) {
  json out = json::array();
  for (const auto& p : periods) {
    if (!p.empty()) {
      out.push_back(format_period(p));
    }
  }
  return out;
}

}  // namespace

std::optional<DoorRef> parse_door_ref(std::string_view text) {
  auto slash = text.rfind('/');
  if (slash == std::string_view::npos || slash == 0) {
    return std::nullopt;
  }
  auto door = to_int(text.substr(slash + 1));
  if (!door || *door < 1 || *door > 255) {
    return std::nullopt;
  }
  return DoorRef{std::string(text.substr(0, slash)), *door};
}

std::optional<date::year_month_day> parse_day(std::string_view text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') {
    return std::nullopt;
  }
  auto y = to_int(text.substr(0, 4));
  auto m = to_int(text.substr(5, 2));
  auto d = to_int(text.substr(8, 2));
  if (!y || !m || !d || *m < 1 || *m > 12 || *d < 1 || *d > 31) {
    return std::nullopt;
  }
  date::year_month_day ymd{date::year{*y}, date::month{static_cast<unsigned>(*m)},
                           date::day{static_cast<unsigned>(*d)}};
  if (!ymd.ok()) {
    return std::nullopt;
  }
  return ymd;
}

std::string format_day(date::year_month_day day) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(day.year()),
                static_cast<unsigned>(day.month()), static_cast<unsigned>(day.day()));
  return buf;
}

std::optional<date::local_seconds> parse_local_time(std::string_view text, bool end_of_day) {
  auto day = parse_day(text.substr(0, std::min<std::size_t>(10, text.size())));
  if (!day) {
    return std::nullopt;
  }
  auto base = date::local_seconds(date::local_days(*day));
  if (text.size() == 10) {
    return end_of_day ? base + std::chrono::seconds(86399) : base;
  }
  if ((text.size() != 16 && text.size() != 19) || (text[10] != ' ' && text[10] != 'T') ||
      text[13] != ':' || (text.size() == 19 && text[16] != ':')) {
    return std::nullopt;
  }
  auto h = to_int(text.substr(11, 2));
  auto m = to_int(text.substr(14, 2));
  std::optional<int> s = 0;
  if (text.size() == 19) {
    s = to_int(text.substr(17, 2));
  }
  if (!h || !m || !s || *h > 23 || *m > 59 || *s > 59 || *h < 0 || *m < 0 || *s < 0) {
    return std::nullopt;
  }
  return base + std::chrono::hours(*h) + std::chrono::minutes(*m) + std::chrono::seconds(*s);
}

std::string format_local_time(date::local_seconds time) {
  auto day = date::floor<date::days>(time);
  auto tod = date::hh_mm_ss<std::chrono::seconds>(time - date::local_seconds(day));
  char buf[48];
  std::snprintf(buf, sizeof buf, " %02d:%02d:%02d", static_cast<int>(tod.hours().count()),
                static_cast<int>(tod.minutes().count()), static_cast<int>(tod.seconds().count()));
  return format_day(date::year_month_day(day)) + buf;
}

std::optional<Period> parse_period(std::string_view text) {
  if (text.size() != 11 || text[2] != ':' || text[5] != '-' || text[8] != ':') {
    return std::nullopt;
  }
  auto h1 = to_int(text.substr(0, 2));
  auto m1 = to_int(text.substr(3, 2));
  auto h2 = to_int(text.substr(6, 2));
  auto m2 = to_int(text.substr(9, 2));
  if (!h1 || !m1 || !h2 || !m2 || *h1 < 0 || *h1 > 23 || *h2 < 0 || *h2 > 23 || *m1 < 0 ||
      *m1 > 59 || *m2 < 0 || *m2 > 59) {
    return std::nullopt;
  }
  Period p{*h1 * 60 + *m1, *h2 * 60 + *m2};
  if (p.end < p.start) {
    return std::nullopt;
  }
  return p;
}

std::string format_period(const Period& period) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%02d:%02d-%02d:%02d", period.start / 60, period.start % 60,
                period.end / 60, period.end % 60);
  return buf;
}

Parsed<User> user_from_json(const json& j) {
  std::vector<FieldError> errors;
  User u;
  Fields f(j, errors);
  f.text("pin", u.pin, true, 24);
  if (!u.pin.empty() && !valid_pin(u.pin)) {
    f.error("pin", "must be 1 to 24 digits");
  }
  f.text("name", u.name, false, 64);
  f.text("password", u.password, false, 16);
  f.integer("privilege", u.privilege, 0, 15);
  f.integer("group", u.group, 0, 99);
  f.boolean("disabled", u.disabled);
  f.boolean("blacklisted", u.blacklisted);
  std::string from;
  std::string until;
  f.text("valid_from", from, false, 19);
  f.text("valid_until", until, false, 19);
  if (!from.empty()) {
    u.valid_from = parse_local_time(from, false);
    if (!u.valid_from) {
      f.error("valid_from", "must be \"YYYY-MM-DD\" or \"YYYY-MM-DD HH:MM:SS\"");
    }
  }
  if (!until.empty()) {
    u.valid_until = parse_local_time(until, true);
    if (!u.valid_until) {
      f.error("valid_until", "must be \"YYYY-MM-DD\" or \"YYYY-MM-DD HH:MM:SS\"");
    }
  }
  if (u.valid_from && u.valid_until && *u.valid_until < *u.valid_from) {
    f.error("valid_until", "is before valid_from");
  }
  if (const json* cards = f.get("cards")) {
    if (!cards->is_array() || cards->size() > 16) {
      f.error("cards", "must be a list of up to 16 cards");
    } else {
      std::set<std::string> seen;
      for (std::size_t i = 0; i < cards->size(); ++i) {
        const json& c = (*cards)[i];
        std::string where = f.field("cards[" + std::to_string(i) + "]");
        Card card;
        if (c.is_string()) {
          card.number = c.get<std::string>();
        } else {
          Fields cf(c, errors, where);
          cf.text("number", card.number, true, 32);
          cf.boolean("lost", card.lost);
          cf.finish();
        }
        if (!valid_card(card.number)) {
          errors.push_back({where, "card number must be 1 to 32 decimal or hex digits, not 0"});
        } else if (!seen.insert(card.number).second) {
          errors.push_back({where, "card listed twice"});
        }
        u.cards.push_back(std::move(card));
      }
    }
  }
  if (const json* levels = f.get("levels")) {
    if (!levels->is_array()) {
      f.error("levels", "must be a list of level ids");
    } else {
      for (std::size_t i = 0; i < levels->size(); ++i) {
        const json& l = (*levels)[i];
        if (!l.is_number_integer() || l.get<std::int64_t>() < 1 ||
            l.get<std::int64_t>() > 1000000) {
          f.error("levels[" + std::to_string(i) + "]", "must be a level id (a positive integer)");
          continue;
        }
        int id = static_cast<int>(l.get<std::int64_t>());
        if (std::find(u.levels.begin(), u.levels.end(), id) == u.levels.end()) {
          u.levels.push_back(id);
        }
      }
    }
  }
  f.text("source", u.source, false, 64);
  f.finish();
  return done(std::move(u), std::move(errors));
}

json to_json(const User& u, bool with_password) {
  json cards = json::array();
  for (const auto& c : u.cards) {
    cards.push_back({{"number", c.number}, {"lost", c.lost}});
  }
  json j = {{"pin", u.pin},
            {"name", u.name},
            {"privilege", u.privilege},
            {"group", u.group},
            {"cards", std::move(cards)},
            {"valid_from", u.valid_from ? json(format_local_time(*u.valid_from)) : json()},
            {"valid_until", u.valid_until ? json(format_local_time(*u.valid_until)) : json()},
            {"disabled", u.disabled},
            {"blacklisted", u.blacklisted},
            {"levels", u.levels},
            {"source", u.source}};
  if (with_password) {
    j["password"] = u.password;
  } else {
    j["has_password"] = !u.password.empty();
  }
  return j;
}

Parsed<TimeZone> timezone_from_json(const json& j) {
  std::vector<FieldError> errors;
  TimeZone tz;
  Fields f(j, errors);
  f.integer("id", tz.id, 1, 1000000, true);
  f.text("name", tz.name, false, 64);
  for (std::size_t d = 0; d < kDayNames.size(); ++d) {
    read_periods(f, kDayNames[d], tz.days[d]);
  }
  for (std::size_t h = 0; h < kHolidayNames.size(); ++h) {
    read_periods(f, kHolidayNames[h], tz.holidays[h]);
  }
  f.finish();
  return done(std::move(tz), std::move(errors));
}

json to_json(const TimeZone& tz) {
  json j = {{"id", tz.id}, {"name", tz.name}};
  for (std::size_t d = 0; d < kDayNames.size(); ++d) {
    j[std::string(kDayNames[d])] = periods_json(tz.days[d]);
  }
  for (std::size_t h = 0; h < kHolidayNames.size(); ++h) {
    j[std::string(kHolidayNames[h])] = periods_json(tz.holidays[h]);
  }
  return j;
}

Parsed<Holiday> holiday_from_json(const json& j) {
  std::vector<FieldError> errors;
  Holiday h;
  Fields f(j, errors);
  std::string day;
  f.text("date", day, true, 10);
  if (!day.empty()) {
    if (auto d = parse_day(day)) {
      h.day = *d;
    } else {
      f.error("date", "must be a calendar date \"YYYY-MM-DD\"");
    }
  }
  f.integer("type", h.type, 1, 3);
  f.boolean("yearly", h.yearly);
  f.text("name", h.name, false, 64);
  f.finish();
  return done(std::move(h), std::move(errors));
}

json to_json(const Holiday& h) {
  return {{"date", format_day(h.day)}, {"type", h.type}, {"yearly", h.yearly}, {"name", h.name}};
}

Parsed<Level> level_from_json(const json& j) {
  std::vector<FieldError> errors;
  Level l;
  Fields f(j, errors);
  f.integer("id", l.id, 1, 1000000, true);
  f.text("name", l.name, false, 64);
  f.integer("timezone", l.timezone, 1, 1000000, true);
  if (const json* doors = f.get("doors")) {
    if (!doors->is_array()) {
      f.error("doors", "must be a list of \"SN/door\"");
    } else {
      for (std::size_t i = 0; i < doors->size(); ++i) {
        const json& d = (*doors)[i];
        auto ref = d.is_string() ? parse_door_ref(d.get<std::string>()) : std::nullopt;
        if (!ref) {
          f.error("doors[" + std::to_string(i) + "]", "must be \"SN/door\" with door 1..255");
          continue;
        }
        if (std::find(l.doors.begin(), l.doors.end(), *ref) == l.doors.end()) {
          l.doors.push_back(std::move(*ref));
        }
      }
    }
  }
  f.finish();
  return done(std::move(l), std::move(errors));
}

json to_json(const Level& l) {
  json doors = json::array();
  for (const auto& d : l.doors) {
    doors.push_back(to_string(d));
  }
  return {{"id", l.id}, {"name", l.name}, {"timezone", l.timezone}, {"doors", std::move(doors)}};
}

Parsed<DoorSettings> door_from_json(const json& j) {
  std::vector<FieldError> errors;
  DoorSettings d;
  Fields f(j, errors);
  f.text("terminal", d.ref.sn, true, 64);
  if (!d.ref.sn.empty() && d.ref.sn.find('/') != std::string::npos) {
    f.error("terminal", "must not contain '/'");
  }
  f.integer("door", d.ref.door, 1, 255, true);
  f.text("name", d.name, false, 64);
  f.integer("open_s", d.open_s, 1, 254);
  f.integer("verify_mode", d.verify_mode, 0, 255);
  f.integer("valid_tz", d.valid_tz, 0, 1000000);
  f.integer("keep_open_tz", d.keep_open_tz, 0, 1000000);
  f.boolean("first_card", d.first_card);
  if (const json* fc = f.get("first_card_users")) {
    if (!fc->is_array()) {
      f.error("first_card_users", "must be a list of {\"pin\", \"timezone\"}");
    } else {
      for (std::size_t i = 0; i < fc->size(); ++i) {
        FirstCardUser u;
        Fields uf((*fc)[i], errors, f.field("first_card_users[" + std::to_string(i) + "]"));
        uf.text("pin", u.pin, true, 24);
        uf.integer("timezone", u.timezone, 1, 1000000, true);
        uf.finish();
        d.first_card_users.push_back(std::move(u));
      }
    }
  }
  f.boolean("multi_card", d.multi_card);
  if (const json* mc = f.get("multi_card_groups")) {
    bool ok = mc->is_array() && mc->size() <= 100;
    for (std::size_t i = 0; ok && i < mc->size(); ++i) {
      const json& combo = (*mc)[i];
      std::vector<int> groups;
      bool combo_ok = combo.is_array() && !combo.empty() && combo.size() <= 5;
      for (std::size_t k = 0; combo_ok && k < combo.size(); ++k) {
        combo_ok = combo[k].is_number_integer() && combo[k].get<std::int64_t>() >= 1 &&
                   combo[k].get<std::int64_t>() <= 99;
        if (combo_ok) {
          groups.push_back(static_cast<int>(combo[k].get<std::int64_t>()));
        }
      }
      if (!combo_ok) {
        f.error("multi_card_groups[" + std::to_string(i) + "]",
                "must list 1 to 5 group ids (1..99), one per person");
        continue;
      }
      d.multi_card_groups.push_back(std::move(groups));
    }
    if (!ok) {
      f.error("multi_card_groups", "must be a list of combinations");
    }
  }
  if (d.multi_card && d.multi_card_groups.empty()) {
    f.error("multi_card_groups", "multi_card needs at least one combination");
  }
  f.integer("multi_card_interval_s", d.multi_card_interval_s, 1, 3600);
  f.integer("intertime_s", d.intertime_s, 0, 3600);
  f.integer("area_in", d.area_in, 0, 1000000);
  f.integer("area_out", d.area_out, 0, 1000000);
  f.integer("interlock", d.interlock, 0, 1000000);
  f.text("duress_password", d.duress_password, false, 6);
  f.boolean("disabled", d.disabled);
  f.finish();
  return done(std::move(d), std::move(errors));
}

json to_json(const DoorSettings& d) {
  json fc = json::array();
  for (const auto& u : d.first_card_users) {
    fc.push_back({{"pin", u.pin}, {"timezone", u.timezone}});
  }
  return {{"terminal", d.ref.sn},
          {"door", d.ref.door},
          {"name", d.name},
          {"open_s", d.open_s},
          {"verify_mode", d.verify_mode},
          {"valid_tz", d.valid_tz},
          {"keep_open_tz", d.keep_open_tz},
          {"first_card", d.first_card},
          {"first_card_users", std::move(fc)},
          {"multi_card", d.multi_card},
          {"multi_card_groups", d.multi_card_groups},
          {"multi_card_interval_s", d.multi_card_interval_s},
          {"intertime_s", d.intertime_s},
          {"area_in", d.area_in},
          {"area_out", d.area_out},
          {"interlock", d.interlock},
          {"duress_password", d.duress_password},
          {"disabled", d.disabled}};
}

Parsed<Area> area_from_json(const json& j) {
  std::vector<FieldError> errors;
  Area a;
  Fields f(j, errors);
  f.integer("id", a.id, 1, 1000000, true);
  f.text("name", a.name, false, 64);
  std::string mode = std::string(to_string(a.apb));
  f.text("apb", mode, false, 8);
  if (auto m = apb_mode_from_string(mode)) {
    a.apb = *m;
  } else {
    f.error("apb", "must be \"none\", \"soft\" or \"hard\"");
  }
  f.integer("reset_s", a.reset_s, 0, 31 * 86400);
  f.finish();
  return done(std::move(a), std::move(errors));
}

json to_json(const Area& a) {
  return {{"id", a.id}, {"name", a.name}, {"apb", to_string(a.apb)}, {"reset_s", a.reset_s}};
}

std::vector<FieldError> check_references(const MasterData& data, const User& user) {
  std::vector<FieldError> errors;
  for (std::size_t i = 0; i < user.levels.size(); ++i) {
    if (data.levels.count(user.levels[i]) == 0) {
      errors.push_back({"levels[" + std::to_string(i) + "]",
                        "no access level " + std::to_string(user.levels[i])});
    }
  }
  for (std::size_t i = 0; i < user.cards.size(); ++i) {
    auto it = data.card_index.find(user.cards[i].number);
    if (it != data.card_index.end() && it->second != user.pin) {
      errors.push_back({"cards[" + std::to_string(i) + "]", "held by user " + it->second});
    }
  }
  return errors;
}

std::vector<FieldError> check_references(const MasterData& data, const Level& level) {
  std::vector<FieldError> errors;
  if (data.timezones.count(level.timezone) == 0) {
    errors.push_back({"timezone", "no time zone " + std::to_string(level.timezone)});
  }
  return errors;
}

std::vector<FieldError> check_references(const MasterData& data, const DoorSettings& door) {
  std::vector<FieldError> errors;
  auto tz = [&](int id, const std::string& field) {
    if (id != 0 && data.timezones.count(id) == 0) {
      errors.push_back({field, "no time zone " + std::to_string(id)});
    }
  };
  tz(door.valid_tz, "valid_tz");
  tz(door.keep_open_tz, "keep_open_tz");
  for (std::size_t i = 0; i < door.first_card_users.size(); ++i) {
    tz(door.first_card_users[i].timezone, "first_card_users[" + std::to_string(i) + "].timezone");
  }
  auto area = [&](int id, const std::string& field) {
    if (id != 0 && data.areas.count(id) == 0) {
      errors.push_back({field, "no area " + std::to_string(id)});
    }
  };
  area(door.area_in, "area_in");
  area(door.area_out, "area_out");
  return errors;
}

}  // namespace pushgate::rules::access
