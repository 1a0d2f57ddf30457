#include "adapters/suprema/suprema_rest.hpp"

#include <algorithm>

#include "gateway/json/bounded_json.hpp"

namespace pushgate::adapters::suprema {

namespace {

using json = nlohmann::json;

// ASCII only: <cctype> depends on the process locale.
bool ascii_alnum(char c) noexcept {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

char lower(char c) noexcept {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

// ASCII case-insensitive substring test; `needle` is lower case.
bool icontains(std::string_view haystack, std::string_view needle) noexcept {
  if (needle.size() > haystack.size()) {
    return false;
  }
  for (std::size_t i = 0; i + needle.size() <= haystack.size(); ++i) {
    std::size_t j = 0;
    while (j < needle.size() && lower(haystack[i + j]) == needle[j]) {
      ++j;
    }
    if (j == needle.size()) {
      return true;
    }
  }
  return false;
}

ApiStatus read_status(const json& body) {
  ApiStatus out;
  if (!body.is_object()) {
    return out;
  }
  const auto it = body.find("Response");
  if (it == body.end() || !it->is_object()) {
    return out;
  }
  out.present = true;
  if (const auto code = it->find("code"); code != it->end()) {
    if (auto text = json_text(*code); text && text->size() <= kMaxFieldBytes) {
      out.code = std::move(*text);
    }
  }
  if (const auto message = it->find("message"); message != it->end()) {
    if (auto text = json_text(*message); text) {
      out.message = text->substr(0, kMaxFieldBytes);
    }
  }
  return out;
}

// Reads the body as bounded JSON into `parsed`; fills `result` either way.
ApiResult read_common(int http_status, std::string_view body, const JsonBounds& bounds,
                      json& parsed) {
  ApiResult out;
  out.http_status = http_status;
  bool body_ok = true;
  if (!body.empty()) {
    JsonParseResult r = parse_json_bounded(body, {bounds.max_bytes, bounds.max_depth});
    if (r.ok()) {
      parsed = std::move(r.value);
      out.status = read_status(parsed);
    } else {
      body_ok = false;
      out.error = "the answer is not usable JSON: " + r.error;
    }
  }
  const bool http_ok = http_status >= 200 && http_status < 300;
  const bool code_ok = !out.status.code || *out.status.code == "0";
  out.ok = http_ok && body_ok && code_ok;
  // A success that merely mentions a login is not an expired session.
  out.session_expired = !out.ok && is_session_expired(http_status, out.status);
  if (!out.ok && out.error.empty()) {
    out.error = "HTTP " + std::to_string(http_status);
    if (out.status.code) {
      out.error += ", Response.code " + *out.status.code;
    }
    if (!out.status.message.empty()) {
      out.error += ": " + out.status.message;
    }
  }
  return out;
}

// The `rows` array under any top-level object ("EventCollection", "DoorCollection"…).
const json* find_rows(const json& body, std::string_view preferred) {
  if (!body.is_object()) {
    return nullptr;
  }
  if (const auto it = body.find(preferred); it != body.end() && it->is_object()) {
    const auto rows = it->find("rows");
    return rows == it->end() ? nullptr : &*rows;
  }
  for (const auto& [key, value] : body.items()) {
    if (key != "Response" && value.is_object()) {
      if (const auto rows = value.find("rows"); rows != value.end()) {
        return &*rows;
      }
    }
  }
  return nullptr;
}

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

bool valid_user_id(std::string_view id) {
  if (id.empty() || id.size() > 64) {
    return false;
  }
  return std::all_of(id.begin(), id.end(),
                     [](char c) { return ascii_alnum(c) || c == '_' || c == '-'; });
}

json user_body(const NeutralUser& user) {
  json u = json::object();
  u["user_id"] = user.user_id;
  u["name"] = user.name;
  u["user_group_id"] = {{"id", std::to_string(user.user_group_id)}};
  // BioStar wants both ends; the defaults are BioStar's own defaults [doc: login answer example].
  u["start_datetime"] =
      user.valid_from_ms ? format_iso8601_utc(*user.valid_from_ms) : "2001-01-01T00:00:00.000Z";
  u["expiry_datetime"] =
      user.valid_until_ms ? format_iso8601_utc(*user.valid_until_ms) : "2030-12-31T23:59:00.000Z";
  json groups = json::array();
  for (std::int64_t id : user.access_group_ids) {
    groups.push_back({{"id", std::to_string(id)}});
  }
  u["access_groups"] = std::move(groups);
  json cards = json::array();
  for (std::int64_t id : user.card_ids) {
    cards.push_back({{"id", std::to_string(id)}});
  }
  u["cards"] = std::move(cards);
  return json{{"User", std::move(u)}};
}

}  // namespace

bool is_session_expired(int http_status, const ApiStatus& status) noexcept {
  if (http_status == 401) {
    return true;
  }
  if (status.code && *status.code == "10") {
    return true;
  }
  return icontains(status.message, "login required") || icontains(status.message, "login_required");
}

ApiResult read_api_result(int http_status, std::string_view body, const JsonBounds& bounds) {
  json parsed;
  return read_common(http_status, body, bounds, parsed);
}

ApiRequest build_login(std::string_view login_id, std::string_view password) {
  const json body{
      {"User", {{"login_id", std::string(login_id)}, {"password", std::string(password)}}}};
  return {"POST", "/api/login", dump(body)};
}

LoginResult read_login(int http_status, std::string_view session_header, std::string_view body) {
  LoginResult out;
  out.result = read_api_result(http_status, body, {256 * 1024, 16});
  if (!out.result.ok) {
    out.error = "login refused: " + out.result.error;
    return out;
  }
  std::string_view id = session_header;
  while (!id.empty() && (id.front() == ' ' || id.front() == '\t')) {
    id.remove_prefix(1);
  }
  while (!id.empty() && (id.back() == ' ' || id.back() == '\t')) {
    id.remove_suffix(1);
  }
  if (id.empty()) {
    out.error = "login answered without a bs-session-id header";
    return out;
  }
  if (!is_valid_session_id(id)) {
    out.error = "login answered with an unusable bs-session-id header (" +
                std::to_string(id.size()) + " bytes)";
    return out;
  }
  out.ok = true;
  out.session_id = std::string(id);
  return out;
}

ApiRequest build_event_search(const EventSearch& search) {
  json query = json::object();
  query["limit"] = search.limit;
  if (search.offset > 0) {
    query["offset"] = search.offset;
  }
  json conditions = json::array();
  conditions.push_back({{"column", "datetime"},
                        {"operator", static_cast<int>(SearchOperator::Between)},
                        {"values", json::array({format_iso8601_utc(search.from_ms),
                                                format_iso8601_utc(search.until_ms)})}});
  if (search.device_id) {
    conditions.push_back({{"column", "device_id.id"},
                          {"operator", static_cast<int>(SearchOperator::Equal)},
                          {"values", json::array({std::to_string(*search.device_id)})}});
  }
  query["conditions"] = std::move(conditions);
  query["orders"] = json::array({json{{"column", "datetime"}, {"descending", false}}});
  return {"POST", "/api/events/search", dump(json{{"Query", std::move(query)}})};
}

EventSearchReply read_event_search(int http_status, std::string_view body,
                                   const SearchLimits& limits) {
  EventSearchReply out;
  json parsed;
  out.result = read_common(http_status, body, limits.json, parsed);
  if (out.result.ok && !parsed.is_object()) {
    // An empty or non-object answer must not read as "no more events".
    out.result.ok = false;
    out.result.error = "the search answer is not a JSON object";
  }
  if (!out.result.ok) {
    return out;
  }
  if (parsed.is_object()) {
    if (const auto it = parsed.find("EventCollection"); it != parsed.end() && it->is_object()) {
      if (const auto total = it->find("total"); total != it->end()) {
        out.total = json_integer(*total);
      }
    }
  }
  const json* rows = find_rows(parsed, "EventCollection");
  if (rows == nullptr || rows->is_null()) {
    return out;
  }
  if (!rows->is_array()) {
    out.result.ok = false;
    out.result.error = "EventCollection.rows is not an array";
    return out;
  }
  out.rows = rows->size();
  std::size_t index = 0;
  for (const json& row : *rows) {
    if (index >= limits.max_rows) {
      out.problems.push_back({index, "more than " + std::to_string(limits.max_rows) +
                                         " rows in one page; the rest was not read"});
      break;
    }
    EventParse parsed_row = decode_event(row);
    if (parsed_row.event) {
      out.events.push_back(std::move(*parsed_row.event));
    } else {
      out.problems.push_back({index, parsed_row.error});
    }
    ++index;
  }
  return out;
}

ApiRequest build_events_start() {
  return {"POST", "/api/events/start", dump(json{{"Query", json::object()}})};
}

std::string_view to_string(DoorAction action) noexcept {
  switch (action) {
    case DoorAction::Open:
      return "open";
    case DoorAction::Lock:
      return "lock";
    case DoorAction::Unlock:
      return "unlock";
    case DoorAction::Release:
      return "release";
  }
  return "open";
}

ApiRequest build_door_command(DoorAction action, std::span<const std::int64_t> door_ids) {
  if (door_ids.empty()) {
    return {};
  }
  json rows = json::array();
  for (std::int64_t id : door_ids) {
    rows.push_back({{"id", std::to_string(id)}});
  }
  return {"POST", "/api/doors/" + std::string(to_string(action)),
          dump(json{{"DoorCollection", {{"rows", std::move(rows)}}}})};
}

ApiRequest build_door_status() {
  return {"POST", "/api/doors/status", dump(json{{"monitoring_permission", true}})};
}

DoorStatusReply read_door_status(int http_status, std::string_view body,
                                 const SearchLimits& limits) {
  DoorStatusReply out;
  json parsed;
  out.result = read_common(http_status, body, limits.json, parsed);
  if (!out.result.ok) {
    return out;
  }
  const json* rows = find_rows(parsed, "DoorStatusCollection");
  if (rows == nullptr || rows->is_null()) {
    return out;
  }
  if (!rows->is_array()) {
    out.result.ok = false;
    out.result.error = "the door status rows are not an array";
    return out;
  }
  std::size_t index = 0;
  for (const json& row : *rows) {
    if (index >= limits.max_rows) {
      out.problems.push_back({index, "too many rows; the rest was not read"});
      break;
    }
    if (!row.is_object()) {
      out.problems.push_back({index, "a door status row must be an object"});
      ++index;
      continue;
    }
    DoorStatus door;
    if (const auto id = row.find("door_id"); id != row.end()) {
      door.door_id =
          id->is_object() && id->contains("id") ? json_integer((*id)["id"]) : json_integer(*id);
    }
    if (!door.door_id) {
      out.problems.push_back({index, "door_id.id is missing or not an integer"});
      ++index;
      continue;
    }
    const auto get = [&row](const char* key) -> const json* {
      const auto it = row.find(key);
      return it == row.end() ? nullptr : &*it;
    };
    if (const json* v = get("opened")) {
      door.opened = json_bool(*v);
    }
    if (const json* v = get("unlocked")) {
      door.unlocked = json_bool(*v);
    }
    if (const json* v = get("alarm")) {
      door.alarm = json_integer(*v);
    }
    if (const json* v = get("status")) {
      door.status = json_integer(*v);
    }
    if (const json* v = get("last_open_time")) {
      door.last_open_time = json_integer(*v);
    }
    out.doors.push_back(door);
    ++index;
  }
  return out;
}

std::vector<std::string_view> door_status_names(std::int64_t status) {
  static constexpr std::string_view kNames[] = {
      "locked",           "unlocked",           "forced_open_alarm", "held_open_alarm",
      "apb_failed",       "disconnected",       "schedule_locked",   "schedule_unlocked",
      "emergency_locked", "emergency_unlocked", "operator_locked",   "operator_unlocked"};
  std::vector<std::string_view> out;
  if (status < 0) {
    out.push_back("invalid");
    return out;
  }
  for (std::size_t bit = 0; bit < std::size(kNames); ++bit) {
    if ((status & (std::int64_t{1} << bit)) != 0) {
      out.push_back(kNames[bit]);
    }
  }
  if (out.empty() && status == 0) {
    out.push_back("normal");
  }
  return out;
}

std::string validate_user(const NeutralUser& user) {
  if (!valid_user_id(user.user_id)) {
    return "user_id must be 1..64 letters, digits, '_' or '-'";
  }
  if (user.name.size() > 48) {
    return "name is longer than 48 bytes";
  }
  if (user.valid_from_ms && user.valid_until_ms && *user.valid_until_ms < *user.valid_from_ms) {
    return "validity ends before it starts";
  }
  if (user.user_group_id <= 0) {
    return "user_group_id must be positive";
  }
  return {};
}

ApiRequest build_user_create(const NeutralUser& user) {
  if (!validate_user(user).empty()) {
    return {};
  }
  return {"POST", "/api/users", dump(user_body(user))};
}

ApiRequest build_user_update(const NeutralUser& user) {
  if (!validate_user(user).empty()) {
    return {};
  }
  return {"PUT", "/api/users/" + url_encode(user.user_id), dump(user_body(user))};
}

ApiRequest build_user_delete(std::span<const std::string> user_ids) {
  if (user_ids.empty()) {
    return {};
  }
  std::string target = "/api/users?id=";
  bool first = true;
  for (const std::string& id : user_ids) {
    if (!valid_user_id(id)) {
      return {};
    }
    if (!first) {
      target += '+';
    }
    target += url_encode(id);
    first = false;
  }
  return {"DELETE", std::move(target), ""};
}

ApiRequest build_card_create(std::span<const std::string> card_numbers, CardType type) {
  if (card_numbers.empty()) {
    return {};
  }
  json rows = json::array();
  for (const std::string& number : card_numbers) {
    if (number.empty() || number.size() > 32 ||
        !std::all_of(number.begin(), number.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return {};
    }
    rows.push_back(
        {{"card_id", number}, {"card_type", {{"id", std::to_string(static_cast<int>(type))}}}});
  }
  return {"POST", "/api/cards", dump(json{{"CardCollection", {{"rows", std::move(rows)}}}})};
}

CardCreateReply read_card_create(int http_status, std::string_view body) {
  CardCreateReply out;
  json parsed;
  out.result = read_common(http_status, body, {1024 * 1024, 16}, parsed);
  if (!out.result.ok) {
    return out;
  }
  const json* rows = find_rows(parsed, "CardCollection");
  if (rows == nullptr || !rows->is_array()) {
    out.result.ok = false;
    out.result.error = "the answer has no CardCollection.rows";
    return out;
  }
  std::size_t index = 0;
  for (const json& row : *rows) {
    std::optional<std::int64_t> id;
    if (row.is_object()) {
      if (const auto it = row.find("id"); it != row.end()) {
        id = json_integer(*it);
      }
    }
    if (id) {
      out.card_ids.push_back(*id);
    } else {
      out.problems.push_back({index, "a card row without an integer id"});
    }
    ++index;
  }
  return out;
}

std::string url_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (ascii_alnum(ch) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace pushgate::adapters::suprema
