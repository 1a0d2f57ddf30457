#include "adapters/suprema/suprema_event.hpp"

#include <charconv>
#include <cstdio>

#include "gateway/json/bounded_json.hpp"

namespace pushgate::adapters::suprema {

namespace {

using json = nlohmann::json;

std::string_view trim(std::string_view text) noexcept {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
    text.remove_prefix(1);
  }
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) {
    text.remove_suffix(1);
  }
  return text;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
    if (lower(a[i]) != lower(b[i])) {
      return false;
    }
  }
  return true;
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) noexcept {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

bool digits(std::string_view text, std::size_t pos, std::size_t count, int& out) noexcept {
  if (pos + count > text.size()) {
    return false;
  }
  int value = 0;
  for (std::size_t i = pos; i < pos + count; ++i) {
    if (text[i] < '0' || text[i] > '9') {
      return false;
    }
    value = value * 10 + (text[i] - '0');
  }
  out = value;
  return true;
}

// A member of `object` by exact key, or nullptr.
const json* member(const json& object, std::string_view key) {
  const auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

// `{"id":..,"name":..}`, an array of such (the first is used), or a bare scalar id.
const json* first_reference(const json& value) {
  if (value.is_array()) {
    return value.empty() ? nullptr : &value.front();
  }
  return &value;
}

void read_ref(const json& event, std::string_view key, std::string_view id_key,
              std::optional<std::int64_t>& id, std::string& name,
              std::vector<std::string>& problems) {
  const json* value = member(event, key);
  if (value == nullptr || value->is_null()) {
    return;
  }
  const json* ref = first_reference(*value);
  if (ref == nullptr) {
    return;
  }
  if (ref->is_object()) {
    if (const json* n = member(*ref, "name"); n != nullptr) {
      if (auto text = json_text(*n); text && text->size() <= kMaxFieldBytes) {
        name = *text;
      }
    }
    ref = member(*ref, id_key);
    if (ref == nullptr || ref->is_null()) {
      return;
    }
  }
  id = json_integer(*ref);
  if (!id) {
    problems.push_back(std::string(key) + "." + std::string(id_key) + " is not an integer");
  }
}

}  // namespace

std::optional<std::int64_t> json_integer(const json& value) noexcept {
  if (value.is_number_integer()) {
    return value.get<std::int64_t>();
  }
  if (value.is_number_unsigned()) {
    const auto u = value.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(INT64_MAX)) {
      return std::nullopt;
    }
    return static_cast<std::int64_t>(u);
  }
  if (!value.is_string()) {
    return std::nullopt;
  }
  const std::string_view text = trim(value.get_ref<const std::string&>());
  if (text.empty() || text.size() > 20) {
    return std::nullopt;
  }
  std::int64_t out = 0;
  const char* begin = text.data();
  if (*begin == '+') {
    ++begin;
  }
  const auto [end, ec] = std::from_chars(begin, text.data() + text.size(), out);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return out;
}

std::optional<std::string> json_text(const json& value) {
  if (value.is_string()) {
    return value.get<std::string>();
  }
  if (value.is_number_integer()) {
    return std::to_string(value.get<std::int64_t>());
  }
  if (value.is_number_unsigned()) {
    return std::to_string(value.get<std::uint64_t>());
  }
  if (value.is_number_float() || value.is_boolean()) {
    return value.dump();
  }
  return std::nullopt;
}

std::optional<bool> json_bool(const json& value) noexcept {
  if (value.is_boolean()) {
    return value.get<bool>();
  }
  if (value.is_number_integer() || value.is_number_unsigned()) {
    const auto v = value.get<std::int64_t>();
    return v == 0 || v == 1 ? std::optional<bool>(v == 1) : std::nullopt;
  }
  if (!value.is_string()) {
    return std::nullopt;
  }
  const std::string_view text = trim(value.get_ref<const std::string&>());
  if (iequals(text, "true") || text == "1") {
    return true;
  }
  if (iequals(text, "false") || text == "0") {
    return false;
  }
  return std::nullopt;
}

std::optional<ParsedTime> parse_iso8601(std::string_view text) noexcept {
  text = trim(text);
  int year = 0;
  int month = 0;
  int day = 0;
  int hour = 0;
  int minute = 0;
  int second = 0;
  if (text.size() < 19 || !digits(text, 0, 4, year) || text[4] != '-' ||
      !digits(text, 5, 2, month) || text[7] != '-' || !digits(text, 8, 2, day) ||
      (text[10] != 'T' && text[10] != 't' && text[10] != ' ') || !digits(text, 11, 2, hour) ||
      text[13] != ':' || !digits(text, 14, 2, minute) || text[16] != ':' ||
      !digits(text, 17, 2, second)) {
    return std::nullopt;
  }
  static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (month < 1 || month > 12 || day < 1 || day > kDays[month - 1] ||
      (month == 2 && day == 29 && !leap) || hour > 23 || minute > 59 || second > 60) {
    return std::nullopt;
  }
  std::size_t pos = 19;
  int millis = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    std::size_t n = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (n < 3) {
        millis = millis * 10 + (text[pos] - '0');
      }
      ++n;
      ++pos;
    }
    if (n == 0 || n > 9) {
      return std::nullopt;
    }
    for (; n < 3; ++n) {
      millis *= 10;
    }
  }
  ParsedTime out;
  if (pos < text.size()) {
    const char z = text[pos];
    if ((z == 'Z' || z == 'z') && pos + 1 == text.size()) {
      out.zone_given = true;
    } else if (z == '+' || z == '-') {
      int oh = 0;
      int om = 0;
      const std::string_view rest = text.substr(pos + 1);
      if (rest.size() == 5 && digits(rest, 0, 2, oh) && rest[2] == ':' && digits(rest, 3, 2, om)) {
      } else if (rest.size() == 4 && digits(rest, 0, 2, oh) && digits(rest, 2, 2, om)) {
      } else if (rest.size() == 2 && digits(rest, 0, 2, oh)) {
      } else {
        return std::nullopt;
      }
      if (oh > 23 || om > 59) {
        return std::nullopt;
      }
      out.zone_given = true;
      out.offset_minutes = (z == '-' ? -1 : 1) * (oh * 60 + om);
    } else {
      return std::nullopt;
    }
  }
  const std::int64_t days =
      days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  const std::int64_t seconds = days * 86400 + hour * 3600 + minute * 60 + second -
                               static_cast<std::int64_t>(out.offset_minutes) * 60;
  out.epoch_ms = seconds * 1000 + millis;
  return out;
}

std::string format_iso8601_utc(std::int64_t epoch_ms) {
  std::int64_t seconds = epoch_ms / 1000;
  std::int64_t millis = epoch_ms % 1000;
  if (millis < 0) {
    millis += 1000;
    seconds -= 1;
  }
  std::int64_t days = seconds / 86400;
  std::int64_t rem = seconds % 86400;
  if (rem < 0) {
    rem += 86400;
    days -= 1;
  }
  // civil_from_days (H. Hinnant).
  const std::int64_t z = days + 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2 ? 1 : 0);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%03lldZ",
                static_cast<long long>(y), m, d, static_cast<long long>(rem / 3600),
                static_cast<long long>(rem % 3600 / 60), static_cast<long long>(rem % 60),
                static_cast<long long>(millis));
  return buf;
}

EventParse decode_event(const json& object) {
  EventParse out;
  if (!object.is_object()) {
    out.error = "an event must be a JSON object";
    return out;
  }
  SupremaEvent e;
  std::vector<std::string>& problems = e.problems;
  const auto text_field = [&](std::string_view key, std::string& target) {
    const json* value = member(object, key);
    if (value == nullptr || value->is_null()) {
      return;
    }
    auto text = json_text(*value);
    if (!text) {
      problems.push_back(std::string(key) + " is not a string or number");
    } else if (text->size() > kMaxFieldBytes) {
      problems.push_back(std::string(key) + " is longer than " + std::to_string(kMaxFieldBytes) +
                         " bytes");
    } else {
      target = std::move(*text);
    }
  };
  const auto int_field = [&](std::string_view key, auto& target) {
    const json* value = member(object, key);
    if (value == nullptr || value->is_null() ||
        (value->is_string() && value->get_ref<const std::string&>().empty())) {
      return;
    }
    const auto number = json_integer(*value);
    if (!number) {
      problems.push_back(std::string(key) + " is not an integer");
    } else {
      target = static_cast<typename std::remove_reference_t<decltype(target)>::value_type>(*number);
    }
  };

  text_field("id", e.id);
  if (const json* type = member(object, "event_type_id"); type != nullptr && !type->is_null()) {
    const json* code = type->is_object() ? member(*type, "code") : type;
    if (code != nullptr && !code->is_null()) {
      e.code = json_integer(*code);
      if (!e.code || *e.code < 0 || *e.code > 0xFFFFFFFFLL) {
        e.code.reset();
        problems.push_back("event_type_id.code is not an integer");
      }
    }
    if (type->is_object()) {
      if (const json* name = member(*type, "name"); name != nullptr) {
        if (auto text = json_text(*name); text && text->size() <= kMaxFieldBytes) {
          e.code_name = *text;
        }
      }
    }
  }
  if (e.code) {
    e.classification = classify(static_cast<std::uint32_t>(*e.code));
  }
  text_field("datetime", e.datetime);
  if (!e.datetime.empty()) {
    if (auto t = parse_iso8601(e.datetime)) {
      e.epoch_ms = t->epoch_ms;
    } else {
      problems.push_back("datetime is not an ISO-8601 time");
    }
  }
  text_field("server_datetime", e.server_datetime);
  read_ref(object, "device_id", "id", e.device_id, e.device_name, problems);
  read_ref(object, "door_id", "id", e.door_id, e.door_name, problems);
  if (const json* user = member(object, "user_id"); user != nullptr && !user->is_null()) {
    const json* id = user;
    if (user->is_object()) {
      id = member(*user, "user_id");
      if (const json* name = member(*user, "name"); name != nullptr) {
        if (auto text = json_text(*name); text && text->size() <= kMaxFieldBytes) {
          e.user_name = *text;
        }
      }
    }
    if (id != nullptr && !id->is_null()) {
      auto text = json_text(*id);
      if (!text || text->size() > kMaxFieldBytes) {
        problems.push_back("user_id.user_id is not a short string or number");
      } else {
        e.user_id = std::move(*text);
      }
    }
  }
  int_field("tna_key", e.tna_key);
  if (e.tna_key) {
    e.punch_state = punch_state_for_tna_key(*e.tna_key);
  }
  int_field("index", e.index);
  int_field("parameter", e.parameter);
  if (const json* tz = member(object, "timezone"); tz != nullptr && !tz->is_null()) {
    const json* hour = tz->is_object() ? member(*tz, "hour") : nullptr;
    const auto h = hour != nullptr ? json_integer(*hour) : std::nullopt;
    if (!h || *h < 0 || *h > 14) {
      problems.push_back("timezone.hour is missing or out of range");
    } else {
      const json* half = member(*tz, "half");
      const json* negative = member(*tz, "negative");
      const bool is_half = half != nullptr && json_bool(*half).value_or(false);
      const bool is_negative = negative != nullptr && json_bool(*negative).value_or(false);
      const int minutes = static_cast<int>(*h) * 60 + (is_half ? 30 : 0);
      e.device_utc_offset_minutes = is_negative ? -minutes : minutes;
    }
  }
  e.raw = object.dump(-1, ' ', false, json::error_handler_t::replace);
  out.event = std::move(e);
  return out;
}

std::optional<std::int64_t> device_local_ms(const SupremaEvent& event) noexcept {
  if (!event.epoch_ms || !event.device_utc_offset_minutes) {
    return std::nullopt;
  }
  return *event.epoch_ms + static_cast<std::int64_t>(*event.device_utc_offset_minutes) * 60000;
}

std::string event_key(const SupremaEvent& event) {
  std::string key = "bs2:";
  key += event.device_id ? std::to_string(*event.device_id) : std::string("-");
  key += ':';
  key += event.id;
  key += ':';
  key += event.epoch_ms ? std::to_string(*event.epoch_ms) : event.datetime;
  return key;
}

WsMessage parse_ws_message(std::string_view text, const JsonBounds& bounds) {
  WsMessage out;
  out.raw = std::string(text.substr(0, bounds.max_bytes));
  const JsonParseResult parsed = parse_json_bounded(text, {bounds.max_bytes, bounds.max_depth});
  if (!parsed.ok()) {
    out.error = parsed.error;
    return out;
  }
  if (!parsed.value.is_object() || parsed.value.empty()) {
    out.error = "a /wsapi message must be a non-empty JSON object";
    return out;
  }
  out.top_key = parsed.value.begin().key();
  const json* event = member(parsed.value, "Event");
  if (event == nullptr) {
    out.kind = WsMessageKind::Other;
    return out;
  }
  out.top_key = "Event";
  EventParse decoded = decode_event(*event);
  if (!decoded.event) {
    out.error = "Event: " + decoded.error;
    return out;
  }
  out.kind = WsMessageKind::Event;
  out.event = std::move(decoded.event);
  return out;
}

bool is_valid_session_id(std::string_view session_id) noexcept {
  if (session_id.empty() || session_id.size() > 256) {
    return false;
  }
  for (char c : session_id) {
    if (c <= ' ' || c > '~' || c == ';' || c == ',' || c == '=' || c == '"' || c == '\\') {
      return false;
    }
  }
  return true;
}

std::string build_ws_session_message(std::string_view session_id) {
  if (!is_valid_session_id(session_id)) {
    return {};
  }
  return "bs-session-id=" + std::string(session_id);
}

}  // namespace pushgate::adapters::suprema
