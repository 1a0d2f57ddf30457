#include "rules/attendance/attendance_config.hpp"

#include <initializer_list>
#include <limits>
#include <string>

#include "gateway/json/bounded_json.hpp"

namespace pushgate::rules::attendance {

namespace {

using nlohmann::json;

std::string join(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

std::string at(const std::string& path, std::size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

std::string type_name(const json& j) {
  return j.type_name();
}

// Collects problems while walking the document; never throws. Each getter
// reports a missing required key, a wrong type or a malformed value and
// returns nullopt so the walk can continue and report everything at once.
class Reader {
 public:
  std::vector<ConfigError> errors;

  void error(std::string field, std::string message) {
    errors.push_back({std::move(field), std::move(message)});
  }

  bool object(const json& j, const std::string& path,
              std::initializer_list<std::string_view> allowed) {
    if (!j.is_object()) {
      error(path, "must be an object, got " + type_name(j));
      return false;
    }
    for (const auto& item : j.items()) {
      bool known = false;
      for (std::string_view key : allowed) {
        known = known || item.key() == key;
      }
      if (!known) {
        error(join(path, item.key()), "unknown key");
      }
    }
    return true;
  }

  const json* find(const json& obj, std::string_view key, const std::string& path, bool required) {
    const auto it = obj.find(std::string(key));
    if (it == obj.end()) {
      if (required) {
        error(join(path, key), "is required");
      }
      return nullptr;
    }
    return &*it;
  }

  std::optional<int> as_int(const json& j, const std::string& field) {
    if (!j.is_number_integer()) {
      error(field, "must be an integer, got " + type_name(j));
      return std::nullopt;
    }
    if (j.is_number_unsigned()) {
      const auto value = j.get<std::uint64_t>();
      if (value > static_cast<std::uint64_t>(std::numeric_limits<int>::max())) {
        error(field, "is out of range");
        return std::nullopt;
      }
      return static_cast<int>(value);
    }
    const auto value = j.get<std::int64_t>();
    if (value < std::numeric_limits<int>::min() || value > std::numeric_limits<int>::max()) {
      error(field, "is out of range");
      return std::nullopt;
    }
    return static_cast<int>(value);
  }

  std::optional<int> get_int(const json& obj, std::string_view key, const std::string& path,
                             bool required) {
    const json* j = find(obj, key, path, required);
    return j == nullptr ? std::nullopt : as_int(*j, join(path, key));
  }

  std::optional<bool> get_bool(const json& obj, std::string_view key, const std::string& path) {
    const json* j = find(obj, key, path, false);
    if (j == nullptr) {
      return std::nullopt;
    }
    if (!j->is_boolean()) {
      error(join(path, key), "must be true or false, got " + type_name(*j));
      return std::nullopt;
    }
    return j->get<bool>();
  }

  std::optional<std::string> get_string(const json& obj, std::string_view key,
                                        const std::string& path, bool required) {
    const json* j = find(obj, key, path, required);
    if (j == nullptr) {
      return std::nullopt;
    }
    if (!j->is_string()) {
      error(join(path, key), "must be a string, got " + type_name(*j));
      return std::nullopt;
    }
    return j->get<std::string>();
  }

  std::optional<TimeOfDay> get_time(const json& obj, std::string_view key, const std::string& path,
                                    bool required) {
    const auto text = get_string(obj, key, path, required);
    if (!text) {
      return std::nullopt;
    }
    const auto time = parse_time_of_day(*text);
    if (!time) {
      error(join(path, key), "must be a time \"HH:MM\" (00:00-23:59), got \"" + *text + "\"");
    }
    return time;
  }

  std::optional<date::local_days> get_date(const json& obj, std::string_view key,
                                           const std::string& path, bool required) {
    const auto text = get_string(obj, key, path, required);
    if (!text) {
      return std::nullopt;
    }
    const auto day = parse_date(*text);
    if (!day) {
      error(join(path, key), "must be a date \"YYYY-MM-DD\", got \"" + *text + "\"");
    }
    return day;
  }

  std::optional<ClockWindow> get_window(const json& obj, std::string_view key,
                                        const std::string& path) {
    const json* j = find(obj, key, path, false);
    if (j == nullptr) {
      return std::nullopt;
    }
    const std::string field = join(path, key);
    if (!object(*j, field, {"from", "to"})) {
      return std::nullopt;
    }
    const auto from = get_time(*j, "from", field, true);
    const auto to = get_time(*j, "to", field, true);
    if (!from || !to) {
      return std::nullopt;
    }
    return ClockWindow{*from, *to};
  }

  const json* get_array(const json& obj, std::string_view key, const std::string& path) {
    const json* j = find(obj, key, path, false);
    if (j != nullptr && !j->is_array()) {
      error(join(path, key), "must be an array, got " + type_name(*j));
      return nullptr;
    }
    return j;
  }
};

template <typename T>
void assign(T& target, const std::optional<T>& value) {
  if (value) {
    target = *value;
  }
}

RestPeriod read_rest(Reader& r, const json& j, const std::string& path) {
  RestPeriod rest;
  if (!r.object(j, path,
                {"name", "start", "end", "validity", "minutes", "auto_deduct", "must_check",
                 "transfer_unused"})) {
    return rest;
  }
  assign(rest.name, r.get_string(j, "name", path, true));
  assign(rest.start, r.get_time(j, "start", path, true));
  assign(rest.end, r.get_time(j, "end", path, true));
  rest.validity = r.get_window(j, "validity", path);
  rest.minutes = r.get_int(j, "minutes", path, false);
  assign(rest.auto_deduct, r.get_bool(j, "auto_deduct", path));
  assign(rest.must_check, r.get_bool(j, "must_check", path));
  assign(rest.transfer_unused, r.get_bool(j, "transfer_unused", path));
  return rest;
}

Period read_period(Reader& r, const json& j, const std::string& path) {
  Period p;
  if (!j.is_object()) {
    r.error(path, "must be an object, got " + type_name(j));
    return p;
  }
  const auto type = r.get_string(j, "type", path, false).value_or("fixed");
  if (type == "flexible") {
    p.type = PeriodType::Flexible;
    r.object(j, path,
             {"id", "name", "type", "required_min", "day_start", "first_last_only",
              "overtime_beyond_required"});
    assign(p.id, r.get_string(j, "id", path, true));
    assign(p.name, r.get_string(j, "name", path, false));
    assign(p.required_min, r.get_int(j, "required_min", path, true));
    assign(p.day_start, r.get_time(j, "day_start", path, false));
    assign(p.first_last_only, r.get_bool(j, "first_last_only", path));
    assign(p.overtime_beyond_required, r.get_bool(j, "overtime_beyond_required", path));
    return p;
  }
  if (type != "fixed") {
    r.error(join(path, "type"), "must be \"fixed\" or \"flexible\", got \"" + type + "\"");
    return p;
  }
  r.object(j, path,
           {"id", "name", "type", "start", "end", "valid_check_in", "valid_check_out",
            "late_allowance_min", "early_allowance_min", "late_absence_after_min", "record_as_min",
            "rests", "first_last_only"});
  assign(p.id, r.get_string(j, "id", path, true));
  assign(p.name, r.get_string(j, "name", path, false));
  assign(p.start, r.get_time(j, "start", path, true));
  assign(p.end, r.get_time(j, "end", path, true));
  p.valid_check_in = r.get_window(j, "valid_check_in", path);
  p.valid_check_out = r.get_window(j, "valid_check_out", path);
  p.late_allowance_min = r.get_int(j, "late_allowance_min", path, false);
  p.early_allowance_min = r.get_int(j, "early_allowance_min", path, false);
  p.late_absence_after_min = r.get_int(j, "late_absence_after_min", path, false);
  p.record_as_min = r.get_int(j, "record_as_min", path, false);
  assign(p.first_last_only, r.get_bool(j, "first_last_only", path));
  if (const json* rests = r.get_array(j, "rests", path)) {
    for (std::size_t i = 0; i < rests->size(); ++i) {
      p.rests.push_back(read_rest(r, (*rests)[i], at(join(path, "rests"), i)));
    }
  }
  return p;
}

Shift read_shift(Reader& r, const json& j, const std::string& path) {
  Shift s;
  if (!r.object(
          j, path,
          {"id", "name", "periods", "overtime", "late_allowance_min", "early_allowance_min"})) {
    return s;
  }
  assign(s.id, r.get_int(j, "id", path, true));
  assign(s.name, r.get_string(j, "name", path, false));
  const json* periods = r.get_array(j, "periods", path);
  if (periods == nullptr && j.find("periods") == j.end()) {
    r.error(join(path, "periods"), "is required");
  }
  if (periods != nullptr) {
    for (std::size_t i = 0; i < periods->size(); ++i) {
      const json& id = (*periods)[i];
      if (!id.is_string()) {
        r.error(at(join(path, "periods"), i), "must be a period id string, got " + type_name(id));
        continue;
      }
      s.periods.push_back(id.get<std::string>());
    }
  }
  if (const json* ot = r.find(j, "overtime", path, false)) {
    const std::string field = join(path, "overtime");
    if (r.object(*ot, field, {"start", "end"})) {
      const auto start = r.get_time(*ot, "start", field, true);
      const auto end = r.get_time(*ot, "end", field, true);
      if (start && end) {
        s.overtime = OvertimeSession{*start, *end};
      }
    }
  }
  s.late_allowance_min = r.get_int(j, "late_allowance_min", path, false);
  s.early_allowance_min = r.get_int(j, "early_allowance_min", path, false);
  return s;
}

Cycle read_cycle(Reader& r, const json& j, const std::string& path) {
  Cycle c;
  if (!r.object(j, path, {"id", "name", "start_date", "mode", "length", "days"})) {
    return c;
  }
  assign(c.id, r.get_string(j, "id", path, true));
  assign(c.name, r.get_string(j, "name", path, false));
  assign(c.start_date, r.get_date(j, "start_date", path, true));
  const auto mode = r.get_string(j, "mode", path, true);
  if (mode == "day") {
    c.mode = CycleMode::Day;
  } else if (mode == "week") {
    c.mode = CycleMode::Week;
  } else if (mode) {
    r.error(join(path, "mode"), "must be \"day\" or \"week\", got \"" + *mode + "\"");
  }
  assign(c.length, r.get_int(j, "length", path, true));
  const json* days = r.get_array(j, "days", path);
  if (days == nullptr && j.find("days") == j.end()) {
    r.error(join(path, "days"), "is required");
  }
  if (days != nullptr) {
    for (std::size_t i = 0; i < days->size(); ++i) {
      if (const auto code = r.as_int((*days)[i], at(join(path, "days"), i))) {
        c.days.push_back(*code);
      }
    }
  }
  return c;
}

Department read_department(Reader& r, const json& j, const std::string& path) {
  Department d;
  if (!r.object(j, path, {"id", "name"})) {
    return d;
  }
  assign(d.id, r.get_int(j, "id", path, true));
  assign(d.name, r.get_string(j, "name", path, true));
  return d;
}

User read_user(Reader& r, const json& j, const std::string& path) {
  User u;
  if (!r.object(j, path, {"pin", "name", "department", "schedule_mode"})) {
    return u;
  }
  assign(u.pin, r.get_string(j, "pin", path, true));
  assign(u.name, r.get_string(j, "name", path, false));
  u.department = r.get_int(j, "department", path, false);
  const auto mode = r.get_string(j, "schedule_mode", path, false);
  if (mode == "personal") {
    u.schedule_mode = ScheduleMode::Personal;
  } else if (mode && *mode != "department") {
    r.error(join(path, "schedule_mode"),
            "must be \"department\" or \"personal\", got \"" + *mode + "\"");
  }
  return u;
}

Schedule read_schedule(Reader& r, const json& j, const std::string& path) {
  Schedule s;
  if (!r.object(j, path, {"user", "department", "days", "cycle"})) {
    return s;
  }
  s.user = r.get_string(j, "user", path, false);
  s.department = r.get_int(j, "department", path, false);
  s.cycle = r.get_string(j, "cycle", path, false);
  if (const json* days = r.find(j, "days", path, false)) {
    const std::string field = join(path, "days");
    if (!days->is_object()) {
      r.error(field, "must be an object of \"YYYY-MM-DD\": day code, got " + type_name(*days));
    } else {
      for (const auto& item : days->items()) {
        const auto day = parse_date(item.key());
        const auto code = r.as_int(item.value(), join(field, item.key()));
        if (!day) {
          r.error(join(field, item.key()), "key must be a date \"YYYY-MM-DD\"");
        } else if (code) {
          s.days[*day] = *code;
        }
      }
    }
  }
  return s;
}

Holiday read_holiday(Reader& r, const json& j, const std::string& path) {
  Holiday h;
  if (!r.object(j, path, {"name", "from", "to"})) {
    return h;
  }
  assign(h.name, r.get_string(j, "name", path, true));
  assign(h.from, r.get_date(j, "from", path, true));
  h.to = h.from;
  assign(h.to, r.get_date(j, "to", path, false));
  return h;
}

StateSwitch read_state_switch(Reader& r, const json& j, const std::string& path) {
  StateSwitch table;
  if (!r.object(j, path, {"infer_missing_states", "entries"})) {
    return table;
  }
  assign(table.infer_missing_states, r.get_bool(j, "infer_missing_states", path));
  if (const json* entries = r.get_array(j, "entries", path)) {
    for (std::size_t i = 0; i < entries->size(); ++i) {
      const json& e = (*entries)[i];
      const std::string field = at(join(path, "entries"), i);
      if (!r.object(e, field, {"time", "state"})) {
        continue;
      }
      const auto time = r.get_time(e, "time", field, true);
      const auto state = r.get_int(e, "state", field, true);
      if (time && state) {
        table.entries.push_back({*time, *state});
      }
    }
  }
  return table;
}

template <typename T, typename ReadOne>
void read_list(Reader& r, const json& root, std::string_view key, std::vector<T>& out,
               ReadOne read_one) {
  if (const json* list = r.get_array(root, key, "")) {
    for (std::size_t i = 0; i < list->size(); ++i) {
      out.push_back(read_one(r, (*list)[i], at(std::string(key), i)));
    }
  }
}

json window_json(const ClockWindow& w) {
  return {{"from", format_time_of_day(w.from)}, {"to", format_time_of_day(w.to)}};
}

json period_json(const Period& p) {
  json j;
  j["id"] = p.id;
  if (!p.name.empty()) {
    j["name"] = p.name;
  }
  if (p.type == PeriodType::Flexible) {
    j["type"] = "flexible";
    j["required_min"] = p.required_min;
    j["day_start"] = format_time_of_day(p.day_start);
    j["first_last_only"] = p.first_last_only;
    j["overtime_beyond_required"] = p.overtime_beyond_required;
    return j;
  }
  j["type"] = "fixed";
  j["start"] = format_time_of_day(p.start);
  j["end"] = format_time_of_day(p.end);
  if (p.valid_check_in) {
    j["valid_check_in"] = window_json(*p.valid_check_in);
  }
  if (p.valid_check_out) {
    j["valid_check_out"] = window_json(*p.valid_check_out);
  }
  if (p.late_allowance_min) {
    j["late_allowance_min"] = *p.late_allowance_min;
  }
  if (p.early_allowance_min) {
    j["early_allowance_min"] = *p.early_allowance_min;
  }
  if (p.late_absence_after_min) {
    j["late_absence_after_min"] = *p.late_absence_after_min;
  }
  if (p.record_as_min) {
    j["record_as_min"] = *p.record_as_min;
  }
  j["first_last_only"] = p.first_last_only;
  json rests = json::array();
  for (const RestPeriod& rest : p.rests) {
    json jr{{"name", rest.name},
            {"start", format_time_of_day(rest.start)},
            {"end", format_time_of_day(rest.end)},
            {"auto_deduct", rest.auto_deduct},
            {"must_check", rest.must_check},
            {"transfer_unused", rest.transfer_unused}};
    if (rest.validity) {
      jr["validity"] = window_json(*rest.validity);
    }
    if (rest.minutes) {
      jr["minutes"] = *rest.minutes;
    }
    rests.push_back(std::move(jr));
  }
  j["rests"] = std::move(rests);
  return j;
}

json shift_json(const Shift& s) {
  json j{{"id", s.id}, {"periods", s.periods}};
  if (!s.name.empty()) {
    j["name"] = s.name;
  }
  if (s.overtime) {
    j["overtime"] = {{"start", format_time_of_day(s.overtime->start)},
                     {"end", format_time_of_day(s.overtime->end)}};
  }
  if (s.late_allowance_min) {
    j["late_allowance_min"] = *s.late_allowance_min;
  }
  if (s.early_allowance_min) {
    j["early_allowance_min"] = *s.early_allowance_min;
  }
  return j;
}

RulesResult read_rules(const nlohmann::json& root);

}  // namespace

RulesResult rules_from_json(const nlohmann::json& root) {
  // Every access above is type-checked first; this catch is the backstop
  // that keeps "never throws" true should a check be missed.
  try {
    return read_rules(root);
  } catch (const nlohmann::json::exception& e) {
    return {std::nullopt, {{"", std::string("unreadable configuration: ") + e.what()}}};
  }
}

RulesResult parse_rules(std::string_view text) {
  // Bounded before it becomes a tree (a rules file is ours to read, but a
  // document 100,000 levels deep would still overflow the stack when walked);
  // the non-throwing parse reports a syntax error as a refusal.
  auto parsed = parse_json_bounded(text, kRulesJsonLimits);
  if (!parsed.ok()) {
    return {std::nullopt, {{"", parsed.error}}};
  }
  return rules_from_json(parsed.value);
}

namespace {

RulesResult read_rules(const nlohmann::json& root) {
  Reader r;
  Rules rules;
  if (!r.object(
          root, "",
          {"recheck_interval_min", "late_allowance_min", "early_allowance_min", "state_switch",
           "periods", "shifts", "cycles", "departments", "users", "schedules", "holidays"})) {
    return {std::nullopt, std::move(r.errors)};
  }
  assign(rules.recheck_interval_min, r.get_int(root, "recheck_interval_min", "", false));
  assign(rules.late_allowance_min, r.get_int(root, "late_allowance_min", "", false));
  assign(rules.early_allowance_min, r.get_int(root, "early_allowance_min", "", false));
  if (const json* table = r.find(root, "state_switch", "", false)) {
    rules.state_switch = read_state_switch(r, *table, "state_switch");
  }
  read_list(r, root, "periods", rules.periods, read_period);
  read_list(r, root, "shifts", rules.shifts, read_shift);
  read_list(r, root, "cycles", rules.cycles, read_cycle);
  read_list(r, root, "departments", rules.departments, read_department);
  read_list(r, root, "users", rules.users, read_user);
  read_list(r, root, "schedules", rules.schedules, read_schedule);
  read_list(r, root, "holidays", rules.holidays, read_holiday);
  if (!r.errors.empty()) {
    // Semantic checks on a half-read document would only add noise.
    return {std::nullopt, std::move(r.errors)};
  }
  std::vector<ConfigError> problems = validate(rules);
  if (!problems.empty()) {
    return {std::nullopt, std::move(problems)};
  }
  return {std::move(rules), {}};
}

}  // namespace

nlohmann::json rules_to_json(const Rules& rules) {
  json j;
  j["recheck_interval_min"] = rules.recheck_interval_min;
  j["late_allowance_min"] = rules.late_allowance_min;
  j["early_allowance_min"] = rules.early_allowance_min;
  json entries = json::array();
  for (const StateSwitchEntry& e : rules.state_switch.entries) {
    entries.push_back({{"time", format_time_of_day(e.time)}, {"state", e.state}});
  }
  j["state_switch"] = {{"infer_missing_states", rules.state_switch.infer_missing_states},
                       {"entries", std::move(entries)}};
  j["periods"] = json::array();
  for (const Period& p : rules.periods) {
    j["periods"].push_back(period_json(p));
  }
  j["shifts"] = json::array();
  for (const Shift& s : rules.shifts) {
    j["shifts"].push_back(shift_json(s));
  }
  j["cycles"] = json::array();
  for (const Cycle& c : rules.cycles) {
    json jc{{"id", c.id},
            {"start_date", format_date(c.start_date)},
            {"mode", c.mode == CycleMode::Week ? "week" : "day"},
            {"length", c.length},
            {"days", c.days}};
    if (!c.name.empty()) {
      jc["name"] = c.name;
    }
    j["cycles"].push_back(std::move(jc));
  }
  j["departments"] = json::array();
  for (const Department& d : rules.departments) {
    j["departments"].push_back({{"id", d.id}, {"name", d.name}});
  }
  j["users"] = json::array();
  for (const User& u : rules.users) {
    json ju{
        {"pin", u.pin},
        {"schedule_mode", u.schedule_mode == ScheduleMode::Personal ? "personal" : "department"}};
    if (!u.name.empty()) {
      ju["name"] = u.name;
    }
    if (u.department) {
      ju["department"] = *u.department;
    }
    j["users"].push_back(std::move(ju));
  }
  j["schedules"] = json::array();
  for (const Schedule& s : rules.schedules) {
    json js;
    if (s.user) {
      js["user"] = *s.user;
    }
    if (s.department) {
      js["department"] = *s.department;
    }
    json days = json::object();
    for (const auto& [day, code] : s.days) {
      days[format_date(day)] = code;
    }
    js["days"] = std::move(days);
    if (s.cycle) {
      js["cycle"] = *s.cycle;
    }
    j["schedules"].push_back(std::move(js));
  }
  j["holidays"] = json::array();
  for (const Holiday& h : rules.holidays) {
    j["holidays"].push_back(
        {{"name", h.name}, {"from", format_date(h.from)}, {"to", format_date(h.to)}});
  }
  return j;
}

void to_json(nlohmann::json& out, const Rules& rules) {
  out = rules_to_json(rules);
}

}  // namespace pushgate::rules::attendance
