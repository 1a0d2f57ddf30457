#include "rules/linkage/linkage.hpp"

#include <algorithm>
#include <cctype>
#include <set>

#include "gateway/command_spec.hpp"

namespace pushgate::rules::linkage {

namespace {

using nlohmann::json;

class Reader {
 public:
  explicit Reader(std::vector<FieldError>& errors) : errors_(errors) {}

  void error(const std::string& field, std::string message) {
    errors_.push_back({field, std::move(message)});
  }

  /** Reports keys of `obj` not in `known`. */
  void only(const json& obj, const std::string& path, std::initializer_list<const char*> known) {
    for (const auto& [k, v] : obj.items()) {
      if (std::none_of(known.begin(), known.end(), [&k](const char* n) { return k == n; })) {
        error(path + "." + k, "unknown key");
      }
    }
  }

  std::string string(const json& obj, const std::string& path, const char* key, bool required,
                     std::string fallback = {}) {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) {
      if (required) {
        error(path + "." + key, "required");
      }
      return fallback;
    }
    if (!it->is_string()) {
      error(path + "." + key, "must be a string");
      return fallback;
    }
    return it->get<std::string>();
  }

  std::int64_t integer(const json& obj, const std::string& path, const char* key,
                       std::int64_t fallback, std::int64_t min, std::int64_t max) {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) {
      return fallback;
    }
    if (!it->is_number_integer() || it->get<std::int64_t>() < min ||
        it->get<std::int64_t>() > max) {
      error(path + "." + key,
            "must be an integer from " + std::to_string(min) + " to " + std::to_string(max));
      return fallback;
    }
    return it->get<std::int64_t>();
  }

  std::vector<int> ints(const json& obj, const std::string& path, const char* key, std::int64_t min,
                        std::int64_t max) {
    std::vector<int> out;
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) {
      return out;
    }
    if (!it->is_array()) {
      error(path + "." + key, "must be a list of integers");
      return out;
    }
    for (std::size_t i = 0; i < it->size(); ++i) {
      const json& v = (*it)[i];
      if (!v.is_number_integer() || v.get<std::int64_t>() < min || v.get<std::int64_t>() > max) {
        error(path + "." + key + "[" + std::to_string(i) + "]",
              "must be an integer from " + std::to_string(min) + " to " + std::to_string(max));
        continue;
      }
      out.push_back(v.get<int>());
    }
    return out;
  }

  std::vector<std::string> strings(const json& obj, const std::string& path, const char* key) {
    std::vector<std::string> out;
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) {
      return out;
    }
    if (!it->is_array()) {
      error(path + "." + key, "must be a list of strings");
      return out;
    }
    for (std::size_t i = 0; i < it->size(); ++i) {
      if (!(*it)[i].is_string() || (*it)[i].get<std::string>().empty()) {
        error(path + "." + key + "[" + std::to_string(i) + "]", "must be a non-empty string");
        continue;
      }
      out.push_back((*it)[i].get<std::string>());
    }
    return out;
  }

 private:
  std::vector<FieldError>& errors_;
};

const std::set<std::string>& known_kinds() {
  static const std::set<std::string> k = {"attendance", "access",     "alarm",     "door_state",
                                          "operation",  "enrollment", "error_log", "timecard",
                                          "decision",   "photo"};
  return k;
}

std::optional<int> parse_hhmm(const std::string& text) {
  if (text.size() != 5 || text[2] != ':' || !std::isdigit(static_cast<unsigned char>(text[0])) ||
      !std::isdigit(static_cast<unsigned char>(text[1])) ||
      !std::isdigit(static_cast<unsigned char>(text[3])) ||
      !std::isdigit(static_cast<unsigned char>(text[4]))) {
    return std::nullopt;
  }
  const int h = (text[0] - '0') * 10 + (text[1] - '0');
  const int m = (text[3] - '0') * 10 + (text[4] - '0');
  if (h > 23 || m > 59) {
    return std::nullopt;
  }
  return h * 60 + m;
}

std::string hhmm(int minute) {
  const int h = std::clamp(minute, 0, 1439) / 60;
  const int m = std::clamp(minute, 0, 1439) % 60;
  return {static_cast<char>('0' + h / 10), static_cast<char>('0' + h % 10), ':',
          static_cast<char>('0' + m / 10), static_cast<char>('0' + m % 10)};
}

const char* const kDays[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

Pattern read_pattern(Reader& r, const json& m, const std::string& path) {
  Pattern p;
  if (!m.is_object()) {
    r.error(path, "must be an object");
    return p;
  }
  r.only(m, path, {"terminals", "doors", "event_codes", "kinds", "user_groups", "time"});
  p.terminals = r.strings(m, path, "terminals");
  p.doors = r.ints(m, path, "doors", 0, 255);
  p.event_codes = r.ints(m, path, "event_codes", 0, 9999);
  p.kinds = r.strings(m, path, "kinds");
  for (std::size_t i = 0; i < p.kinds.size(); ++i) {
    if (known_kinds().count(p.kinds[i]) == 0) {
      r.error(path + ".kinds[" + std::to_string(i) + "]",
              "unknown event kind '" + p.kinds[i] + "'");
    }
  }
  p.user_groups = r.ints(m, path, "user_groups", 0, 99);
  if (auto t = m.find("time"); t != m.end() && !t->is_null()) {
    if (!t->is_array()) {
      r.error(path + ".time", "must be a list of windows");
      return p;
    }
    for (std::size_t i = 0; i < t->size(); ++i) {
      const std::string wp = path + ".time[" + std::to_string(i) + "]";
      const json& w = (*t)[i];
      if (!w.is_object()) {
        r.error(wp, "must be an object {days, start, end}");
        continue;
      }
      r.only(w, wp, {"days", "start", "end"});
      Window win;
      for (const auto& d : r.strings(w, wp, "days")) {
        const auto* it = std::find(std::begin(kDays), std::end(kDays), d);
        if (it == std::end(kDays)) {
          r.error(wp + ".days", "'" + d + "' is not one of sun mon tue wed thu fri sat");
        } else {
          win.weekdays.push_back(static_cast<int>(it - std::begin(kDays)));
        }
      }
      const auto s = parse_hhmm(r.string(w, wp, "start", true));
      const auto e = parse_hhmm(r.string(w, wp, "end", true));
      if (!s) {
        r.error(wp + ".start", "must be \"HH:MM\"");
      }
      if (!e) {
        r.error(wp + ".end", "must be \"HH:MM\"");
      }
      if (s && e) {
        if (*e < *s) {
          r.error(wp + ".end", "must not be before start (split a window over midnight in two)");
        }
        win.start = *s;
        win.end = *e;
      }
      p.time.push_back(std::move(win));
    }
  }
  return p;
}

Action read_action(Reader& r, const json& a, const std::string& path) {
  Action act;
  if (!a.is_object()) {
    r.error(path, "must be an object");
    return act;
  }
  const std::string type = r.string(a, path, "type", true);
  if (type == "command") {
    act.type = Action::Type::Command;
    r.only(a, path, {"type", "terminal", "verb", "params"});
    act.terminal = r.string(a, path, "terminal", true);
    act.verb = r.string(a, path, "verb", true);
    if (auto p = a.find("params"); p != a.end() && !p->is_null()) {
      if (!p->is_object()) {
        r.error(path + ".params", "must be an object");
      } else {
        act.params = *p;
      }
    }
    if (!act.verb.empty() && act.params.is_object()) {
      // The same check the command queue makes, now rather than when the
      // rule first fires: placeholders stand for a door number and a PIN.
      nlohmann::json sample = act.params;
      for (auto& value : sample) {
        if (value == "$door") {
          value = 1;
        } else if (value == "$pin") {
          value = "1";
        }
      }
      if (auto problem = validate_command(act.verb, sample)) {
        r.error(path + "." + problem->field, problem->message);
      }
    }
  } else if (type == "alert") {
    act.type = Action::Type::Alert;
    r.only(a, path, {"type", "severity", "message"});
    act.severity = r.string(a, path, "severity", false, "warning");
    if (act.severity != "info" && act.severity != "warning" && act.severity != "critical") {
      r.error(path + ".severity", "must be info, warning or critical");
    }
    act.message = r.string(a, path, "message", true);
  } else if (type == "output") {
    act.type = Action::Type::Output;
    r.only(a, path, {"type", "output", "mode", "duration_s"});
    act.output = r.string(a, path, "output", true);
    const std::string mode = r.string(a, path, "mode", false, "pulse");
    if (mode == "on") {
      act.mode = Action::OutputMode::On;
    } else if (mode == "off") {
      act.mode = Action::OutputMode::Off;
    } else if (mode == "pulse") {
      act.mode = Action::OutputMode::Pulse;
    } else {
      r.error(path + ".mode", "must be on, off or pulse");
    }
    act.duration_ms = r.integer(a, path, "duration_s", 5, 1, 86400) * 1000;
  } else if (!type.empty()) {
    r.error(path + ".type", "must be command, alert or output");
  }
  return act;
}

json pattern_json(const Pattern& p) {
  json m = json::object();
  if (!p.terminals.empty())
    m["terminals"] = p.terminals;
  if (!p.doors.empty())
    m["doors"] = p.doors;
  if (!p.event_codes.empty())
    m["event_codes"] = p.event_codes;
  if (!p.kinds.empty())
    m["kinds"] = p.kinds;
  if (!p.user_groups.empty())
    m["user_groups"] = p.user_groups;
  if (!p.time.empty()) {
    json t = json::array();
    for (const auto& w : p.time) {
      json days = json::array();
      for (int d : w.weekdays) {
        days.push_back(kDays[d]);
      }
      json jw = {{"start", hhmm(w.start)}, {"end", hhmm(w.end)}};
      if (!days.empty()) {
        jw["days"] = days;
      }
      t.push_back(jw);
    }
    m["time"] = t;
  }
  return m;
}

json action_json(const Action& a) {
  switch (a.type) {
    case Action::Type::Command:
      return {
          {"type", "command"}, {"terminal", a.terminal}, {"verb", a.verb}, {"params", a.params}};
    case Action::Type::Alert:
      return {{"type", "alert"}, {"severity", a.severity}, {"message", a.message}};
    case Action::Type::Output: {
      const char* mode = a.mode == Action::OutputMode::On    ? "on"
                         : a.mode == Action::OutputMode::Off ? "off"
                                                             : "pulse";
      json j = {{"type", "output"}, {"output", a.output}, {"mode", mode}};
      if (a.mode == Action::OutputMode::Pulse) {
        j["duration_s"] = a.duration_ms / 1000;
      }
      return j;
    }
  }
  return json::object();
}

template <class T>
bool listed(const std::vector<T>& list, const T& value) {
  return list.empty() || std::find(list.begin(), list.end(), value) != list.end();
}

json substitute(const json& params, const EventFacts& f) {
  json out = params;
  for (auto& [k, v] : out.items()) {
    if (v.is_string()) {
      const auto& s = v.get_ref<const std::string&>();
      if (s == "$door") {
        v = f.door;
      } else if (s == "$pin") {
        v = f.pin;
      } else if (s == "$source") {
        v = f.terminal_sn;
      }
    }
  }
  return out;
}

}  // namespace

Parsed parse_rules(const nlohmann::json& document) {
  Parsed out;
  Reader r(out.errors);
  if (!document.is_object()) {
    r.error("", "the rules document must be an object {\"rules\": [...]}");
    return out;
  }
  r.only(document, "", {"rules"});
  auto list = document.find("rules");
  if (list == document.end() || !list->is_array()) {
    r.error("rules", "required, a list of rules");
    return out;
  }
  std::set<std::string> ids;
  for (std::size_t i = 0; i < list->size(); ++i) {
    const std::string path = "rules[" + std::to_string(i) + "]";
    const json& j = (*list)[i];
    if (!j.is_object()) {
      r.error(path, "must be an object");
      continue;
    }
    r.only(j, path, {"id", "name", "enabled", "match", "actions", "debounce_s"});
    Rule rule;
    rule.id = r.string(j, path, "id", true);
    if (!rule.id.empty() && !ids.insert(rule.id).second) {
      r.error(path + ".id", "'" + rule.id + "' is used by an earlier rule");
    }
    rule.name = r.string(j, path, "name", false);
    if (auto e = j.find("enabled"); e != j.end() && !e->is_null()) {
      if (!e->is_boolean()) {
        r.error(path + ".enabled", "must be true or false");
      } else {
        rule.enabled = e->get<bool>();
      }
    }
    if (auto m = j.find("match"); m != j.end()) {
      rule.match = read_pattern(r, *m, path + ".match");
    }
    rule.debounce_ms = r.integer(j, path, "debounce_s", 0, 0, 86400) * 1000;
    auto acts = j.find("actions");
    if (acts == j.end() || !acts->is_array() || acts->empty()) {
      r.error(path + ".actions", "required, a non-empty list");
    } else {
      for (std::size_t k = 0; k < acts->size(); ++k) {
        rule.actions.push_back(
            read_action(r, (*acts)[k], path + ".actions[" + std::to_string(k) + "]"));
      }
    }
    out.rules.push_back(std::move(rule));
  }
  if (!out.ok()) {
    out.rules.clear();
  }
  return out;
}

nlohmann::json to_json(const std::vector<Rule>& rules) {
  json list = json::array();
  for (const auto& r : rules) {
    json acts = json::array();
    for (const auto& a : r.actions) {
      acts.push_back(action_json(a));
    }
    json j = {{"id", r.id},           {"name", r.name},
              {"enabled", r.enabled}, {"match", pattern_json(r.match)},
              {"actions", acts},      {"debounce_s", r.debounce_ms / 1000}};
    list.push_back(std::move(j));
  }
  return {{"rules", list}};
}

bool matches(const Pattern& p, const EventFacts& f) {
  if (!listed(p.terminals, f.terminal_sn) || !listed(p.kinds, f.kind)) {
    return false;
  }
  if (!p.doors.empty() && (f.door < 0 || !listed(p.doors, f.door))) {
    return false;
  }
  if (!p.event_codes.empty() && (f.event_code < 0 || !listed(p.event_codes, f.event_code))) {
    return false;
  }
  if (!p.user_groups.empty() && (!f.user_group || !listed(p.user_groups, *f.user_group))) {
    return false;
  }
  if (!p.time.empty()) {
    const bool inside = std::any_of(p.time.begin(), p.time.end(), [&f](const Window& w) {
      return listed(w.weekdays, f.weekday) && w.start <= f.minute_of_day &&
             f.minute_of_day <= w.end;
    });
    if (!inside) {
      return false;
    }
  }
  return true;
}

Engine::Engine(std::vector<Rule> rules) : rules_(std::move(rules)) {}

void Engine::set_rules(std::vector<Rule> rules) {
  rules_ = std::move(rules);
  std::set<std::string> ids;
  for (const auto& r : rules_) {
    ids.insert(r.id);
  }
  for (auto it = last_fired_.begin(); it != last_fired_.end();) {
    it = ids.count(std::get<0>(it->first)) != 0 ? std::next(it) : last_fired_.erase(it);
  }
}

Engine::Outcome Engine::on_event(const EventFacts& f) {
  Outcome out;
  for (const auto& rule : rules_) {
    if (!rule.enabled || !matches(rule.match, f)) {
      continue;
    }
    const auto key = std::make_tuple(rule.id, f.terminal_sn, f.door);
    if (rule.debounce_ms > 0) {
      auto it = last_fired_.find(key);
      if (it != last_fired_.end() && f.at_ms >= it->second &&
          f.at_ms - it->second < rule.debounce_ms) {
        out.debounced.push_back(rule.id);
        continue;
      }
      last_fired_[key] = f.at_ms;
    }
    Firing firing;
    firing.rule_id = rule.id;
    for (Action a : rule.actions) {
      if (a.type == Action::Type::Command) {
        if (a.terminal == "$source") {
          a.terminal = f.terminal_sn;
        }
        a.params = substitute(a.params, f);
      }
      firing.actions.push_back(std::move(a));
    }
    out.fired.push_back(std::move(firing));
  }
  return out;
}

}  // namespace pushgate::rules::linkage
