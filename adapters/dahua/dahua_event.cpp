#include "adapters/dahua/dahua_event.hpp"

#include <array>
#include <charconv>
#include <cstdio>

#include "gateway/json/bounded_json.hpp"

namespace pushgate::adapters::dahua {

namespace {

char lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool is_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\0';
}

bool all_digits(std::string_view text) noexcept {
  if (text.empty()) {
    return false;
  }
  for (char c : text) {
    if (c < '0' || c > '9') {
      return false;
    }
  }
  return true;
}

std::optional<int> to_int(std::optional<std::int64_t> value) noexcept {
  if (!value || *value < INT32_MIN || *value > INT32_MAX) {
    return std::nullopt;
  }
  return static_cast<int>(*value);
}

/** A JSON scalar as text (strings as they are, numbers in decimal); nullopt for null. */
std::optional<std::string> scalar_text(const nlohmann::json& value) {
  if (value.is_null()) {
    return std::nullopt;
  }
  if (value.is_string()) {
    return value.get<std::string>();
  }
  if (value.is_boolean()) {
    return std::string(value.get<bool>() ? "true" : "false");
  }
  if (value.is_number_integer() || value.is_number_unsigned()) {
    return value.dump();
  }
  if (value.is_number_float()) {
    const double d = value.get<double>();
    // Range first: converting an out-of-range double to an integer is undefined.
    if (d > -9.0e18 && d < 9.0e18 && d == static_cast<double>(static_cast<std::int64_t>(d))) {
      return std::to_string(static_cast<std::int64_t>(d));
    }
    return value.dump();
  }
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string compact(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// FNV-1a, 64 bit: a stable key, not a security boundary.
std::uint64_t fnv1a(std::string_view text, std::uint64_t hash) noexcept {
  for (char c : text) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ULL;
  }
  return hash;
}

}  // namespace

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) {
      return false;
    }
  }
  return true;
}

std::string_view trim(std::string_view text) noexcept {
  while (!text.empty() && is_space(text.front())) {
    text.remove_prefix(1);
  }
  while (!text.empty() && is_space(text.back())) {
    text.remove_suffix(1);
  }
  return text;
}

std::optional<std::int64_t> parse_int(std::string_view text) noexcept {
  text = trim(text);
  if (!text.empty() && text.front() == '+') {
    text.remove_prefix(1);
  }
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

std::string_view to_string(EventAction action) noexcept {
  switch (action) {
    case EventAction::None:
      return "none";
    case EventAction::Start:
      return "start";
    case EventAction::Stop:
      return "stop";
    case EventAction::Pulse:
      return "pulse";
    case EventAction::Other:
      return "other";
  }
  return "other";
}

std::string_view to_string(Direction direction) noexcept {
  switch (direction) {
    case Direction::Entry:
      return "entry";
    case Direction::Exit:
      return "exit";
    case Direction::Unknown:
      return "unknown";
  }
  return "unknown";
}

DeviceTime parse_device_time(std::string_view text) {
  DeviceTime time;
  text = trim(text);
  time.text = std::string(text);
  if (auto epoch = parse_int(text)) {
    time.epoch = epoch;
    return time;
  }
  // YYYY-MM-DD HH:MM:SS (19 characters), 'T' accepted as the separator.
  if (text.size() != 19 || text[4] != '-' || text[7] != '-' ||
      (text[10] != ' ' && text[10] != 'T') || text[13] != ':' || text[16] != ':') {
    return time;
  }
  const auto num = [&](std::size_t pos, std::size_t len) -> int {
    const std::string_view part = text.substr(pos, len);
    return all_digits(part) ? static_cast<int>(*parse_int(part)) : -1;
  };
  const int year = num(0, 4);
  const int month = num(5, 2);
  const int day = num(8, 2);
  const int hour = num(11, 2);
  const int minute = num(14, 2);
  const int second = num(17, 2);
  time.device_local = year >= 1970 && month >= 1 && month <= 12 && day >= 1 && day <= 31 &&
                      hour >= 0 && hour <= 23 && minute >= 0 && minute <= 59 && second >= 0 &&
                      second <= 60;
  return time;
}

std::optional<std::int64_t> AccessFields::best_epoch() const noexcept {
  if (real_utc) {
    return real_utc;
  }
  if (utc) {
    return utc;
  }
  if (create_time && create_time->epoch) {
    return create_time->epoch;
  }
  return std::nullopt;
}

void apply_field(AccessFields& f, std::string_view key, std::string_view raw_value) {
  const std::string_view value = trim(raw_value);
  const auto set_int = [&](std::optional<int>& slot) {
    if (auto v = to_int(parse_int(value))) {
      slot = v;
    } else if (!value.empty()) {
      f.bad.push_back({std::string(key), std::string(raw_value)});
    }
  };
  const auto set_int64 = [&](std::optional<std::int64_t>& slot) {
    if (auto v = parse_int(value)) {
      slot = v;
    } else if (!value.empty()) {
      f.bad.push_back({std::string(key), std::string(raw_value)});
    }
  };
  if (iequals(key, "UserID")) {
    f.user_id = std::string(value);
  } else if (iequals(key, "CardNo")) {
    f.card_no = std::string(value);
  } else if (iequals(key, "CardName")) {
    f.card_name = std::string(value);
  } else if (iequals(key, "UserName")) {
    f.user_name = std::string(value);
  } else if (iequals(key, "CardType")) {
    set_int(f.card_type);
  } else if (iequals(key, "UserType")) {
    set_int(f.user_type);
  } else if (iequals(key, "Door")) {
    set_int(f.door);
  } else if (iequals(key, "ReaderID")) {
    f.reader_id = std::string(value);
  } else if (iequals(key, "Method")) {
    set_int(f.method);
  } else if (iequals(key, "Status")) {
    if (auto v = to_int(parse_int(value))) {
      f.status = v;
    } else if (iequals(value, "true")) {
      f.status = 1;
    } else if (iequals(value, "false")) {
      f.status = 0;
    } else {
      f.status_text = std::string(value);
    }
  } else if (iequals(key, "ErrorCode")) {
    set_int(f.error_code);
  } else if (iequals(key, "Type")) {
    f.type_text = std::string(value);
    f.direction = iequals(value, "Entry")  ? Direction::Entry
                  : iequals(value, "Exit") ? Direction::Exit
                                           : Direction::Unknown;
  } else if (iequals(key, "AttendanceState")) {
    set_int(f.attendance_state);
  } else if (iequals(key, "RecNo")) {
    set_int64(f.rec_no);
  } else if (iequals(key, "UTC")) {
    set_int64(f.utc);
  } else if (iequals(key, "RealUTC")) {
    set_int64(f.real_utc);
  } else if (iequals(key, "CreateTime")) {
    DeviceTime time = parse_device_time(value);
    if (!time.usable() && !value.empty()) {
      f.bad.push_back({std::string(key), std::string(raw_value)});
    }
    f.create_time = std::move(time);
  } else if (iequals(key, "LocaleTime")) {
    f.locale_time = std::string(value);
  } else if (iequals(key, "URL")) {
    f.url = std::string(value);
  } else if (iequals(key, "Name")) {
    f.name = std::string(value);
  } else {
    f.other.push_back({std::string(key), std::string(raw_value)});
  }
}

std::optional<nlohmann::json> parse_event_json(std::string_view text, std::string& error) {
  JsonParseResult parsed =
      parse_json_bounded(text, JsonLimits{kMaxEventJsonBytes, kMaxEventJsonDepth});
  if (!parsed.ok()) {
    error = parsed.error.empty() ? std::string("data is not valid JSON") : parsed.error;
    return std::nullopt;
  }
  return std::move(parsed.value);
}

namespace {

void decode_data_object(DahuaEvent& event, const nlohmann::json& data) {
  event.has_data = true;
  event.data_json = compact(data);
  for (const auto& [key, value] : data.items()) {
    if (value.is_object() || value.is_array()) {
      event.data.other.push_back({key, compact(value)});
    } else if (auto text = scalar_text(value)) {
      apply_field(event.data, key, *text);
    }
  }
}

void set_action(DahuaEvent& event, std::string_view value) {
  value = trim(value);
  event.action_text = std::string(value);
  event.action = iequals(value, "Start")   ? EventAction::Start
                 : iequals(value, "Stop")  ? EventAction::Stop
                 : iequals(value, "Pulse") ? EventAction::Pulse
                 : value.empty()           ? EventAction::None
                                           : EventAction::Other;
}

void set_index(DahuaEvent& event, std::string_view value) {
  if (auto index = to_int(parse_int(value))) {
    event.index = index;
  } else {
    event.problems.push_back("index is not an integer: " + std::string(trim(value)));
  }
}

}  // namespace

EventParse parse_event_text(std::string_view text) {
  EventParse result;
  result.raw = std::string(text);
  DahuaEvent event;
  event.raw = result.raw;
  bool has_code = false;
  std::string_view rest = trim(text);
  while (!rest.empty()) {
    const std::size_t eq = rest.find('=');
    const std::size_t semi = rest.find(';');
    if (eq == std::string_view::npos || (semi != std::string_view::npos && semi < eq)) {
      // A fragment without '=': kept as a problem, the rest still parsed.
      const std::string_view fragment = trim(rest.substr(0, semi));
      if (!fragment.empty()) {
        event.problems.push_back("fragment without '=': " + std::string(fragment.substr(0, 64)));
      }
      if (semi == std::string_view::npos) {
        break;
      }
      rest = trim(rest.substr(semi + 1));
      continue;
    }
    const std::string_view key = trim(rest.substr(0, eq));
    if (iequals(key, "data")) {
      const std::string_view value = trim(rest.substr(eq + 1));
      event.data_raw = std::string(value);
      if (!value.empty() && value.front() == '{') {
        std::string error;
        if (auto json = parse_event_json(value, error); json && json->is_object()) {
          decode_data_object(event, *json);
        } else {
          event.problems.push_back(json ? "data is not a JSON object" : "data: " + error);
        }
      } else if (!value.empty()) {
        event.problems.push_back("data is not a JSON object");
      }
      break;
    }
    const std::size_t end = rest.find(';', eq);
    const std::string_view value =
        rest.substr(eq + 1, end == std::string_view::npos ? std::string_view::npos : end - eq - 1);
    if (iequals(key, "Code")) {
      event.code = std::string(trim(value));
      has_code = true;
    } else if (iequals(key, "action")) {
      set_action(event, value);
    } else if (iequals(key, "index")) {
      set_index(event, value);
    } else {
      event.other_keys.push_back({std::string(key), std::string(trim(value))});
    }
    if (end == std::string_view::npos) {
      break;
    }
    rest = trim(rest.substr(end + 1));
  }
  if (!has_code || event.code.empty()) {
    result.error = "no Code= in the event text";
    return result;
  }
  result.event = std::move(event);
  return result;
}

EventParse decode_event_object(const nlohmann::json& object, std::string raw) {
  EventParse result;
  result.raw = raw;
  if (!object.is_object()) {
    result.error = "event is not a JSON object";
    return result;
  }
  DahuaEvent event;
  event.raw = std::move(raw);
  bool has_code = false;
  for (const auto& [key, value] : object.items()) {
    if (iequals(key, "Code")) {
      if (value.is_string()) {
        event.code = value.get<std::string>();
        has_code = true;
      }
    } else if (iequals(key, "Action")) {
      set_action(event, scalar_text(value).value_or(""));
    } else if (iequals(key, "Index")) {
      if (!value.is_null()) {
        set_index(event, scalar_text(value).value_or(""));
      }
    } else if (iequals(key, "Data")) {
      event.data_raw = compact(value);
      if (value.is_object()) {
        decode_data_object(event, value);
      } else if (!value.is_null()) {
        event.problems.push_back("Data is not a JSON object");
      }
    } else {
      event.other_keys.push_back(
          {key, value.is_string() ? value.get<std::string>() : compact(value)});
    }
  }
  if (!has_code || event.code.empty()) {
    result.error = "no \"Code\" string in the event object";
    return result;
  }
  result.event = std::move(event);
  return result;
}

std::string record_key(std::string_view code, const AccessFields& f) {
  if (f.rec_no) {
    return "recno:" + std::to_string(*f.rec_no);
  }
  std::uint64_t hash = 14695981039346656037ULL;
  const auto add = [&](std::string_view part) {
    hash = fnv1a(part, hash);
    hash = fnv1a(std::string_view("\x1f", 1), hash);
  };
  const auto best = f.best_epoch();
  add(best ? std::to_string(*best) : std::string());
  add(f.create_time ? f.create_time->text : std::string());
  add(f.user_id.value_or(""));
  add(f.card_no.value_or(""));
  add(f.door ? std::to_string(*f.door) : std::string());
  add(f.method ? std::to_string(*f.method) : std::string());
  add(code);
  std::array<char, 17> hex{};
  std::snprintf(hex.data(), hex.size(), "%016llx", static_cast<unsigned long long>(hash));
  return "h:" + std::string(hex.data(), 16);
}

}  // namespace pushgate::adapters::dahua
