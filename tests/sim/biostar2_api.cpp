// The simulated BioStar 2 server's REST handlers: login/logout, events
// (search, start/stop of the feed), devices, doors, users, cards. Sources of
// every behaviour: tests/sim/README.md ("BioStar 2 server").

#include <algorithm>
#include <random>

#include "tests/sim/biostar2_impl.hpp"

namespace pushgate::sim::biostar2 {
namespace {

using json = nlohmann::json;
using Response = http::response<http::string_body>;

constexpr std::size_t kMaxJsonDepth = 64;

json response_block(const std::string& code, const std::string& message) {
  return {{"code", code},
          {"link", "https://support.supremainc.com/en/support/home"},
          {"message", message}};
}

Response json_response(http::status status, json body) {
  Response res{status, 11};
  res.set(http::field::content_type, "application/json;charset=UTF-8");
  res.set(http::field::server, "BioStar2-sim");
  res.body() = body.dump();
  res.prepare_payload();
  return res;
}

Response ok(json body = json::object()) {
  body["Response"] = response_block("0", "Success");
  return json_response(http::status::ok, std::move(body));
}

/// Nesting depth of a JSON text (strings skipped): the parser recurses, so
/// a body of a million '[' must be refused before it is parsed.
bool depth_ok(const std::string& text) {
  std::size_t depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth) {
        return false;
      }
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return true;
}

std::optional<json> parse_body(const std::string& body) {
  if (!depth_ok(body)) {
    return std::nullopt;
  }
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return std::nullopt;
  }
  return j;
}

/// A number sent as a JSON number or as a string of digits (the API's own
/// habit of numbers as strings; clients send both).
std::optional<std::uint64_t> as_number(const json& v) {
  if (v.is_number_unsigned()) {
    return v.get<std::uint64_t>();
  }
  if (v.is_number_integer()) {
    const auto n = v.get<std::int64_t>();
    return n < 0 ? std::nullopt : std::optional<std::uint64_t>(static_cast<std::uint64_t>(n));
  }
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    if (s.empty() || s.size() > 19) {
      return std::nullopt;
    }
    std::uint64_t n = 0;
    for (const char c : s) {
      if (c < '0' || c > '9') {
        return std::nullopt;
      }
      n = n * 10 + static_cast<std::uint64_t>(c - '0');
    }
    return n;
  }
  return std::nullopt;
}

std::optional<std::string> as_text(const json& v) {
  if (v.is_string()) {
    return v.get<std::string>();
  }
  if (v.is_number_integer()) {
    return v.dump();
  }
  return std::nullopt;
}

std::optional<bool> as_bool(const json& v) {
  if (v.is_boolean()) {
    return v.get<bool>();
  }
  if (v == "true") {
    return true;
  }
  if (v == "false") {
    return false;
  }
  return std::nullopt;
}

Response bad_request(const std::string& message) {
  return error_response(http::status::bad_request, "1", message);
}

std::string new_session_id() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char* kHex = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < 32; ++i) {
    s += kHex[rng() % 16];
  }
  return s;
}

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while (at < path.size()) {
    const auto slash = path.find('/', at);
    const auto end = slash == std::string_view::npos ? path.size() : slash;
    if (end > at) {
      out.emplace_back(path.substr(at, end - at));
    }
    at = end + 1;
  }
  return out;
}

std::string url_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

/// One search condition, checked against an event.
struct Condition {
  std::string column;
  int op = 0;
  std::vector<std::string> values;
  std::vector<std::int64_t> numbers;  // datetimes (ms) or ids, parsed
};

enum Op {
  kEqual = 0,
  kNotEqual = 1,
  kContains = 2,
  kBetween = 3,
  kLike = 4,
  kGreater = 5,
  kLess = 6
};

std::string column_text(const Event& e, const std::string& column) {
  if (column == "device_id.id") {
    return std::to_string(e.device_id);
  }
  if (column == "door_id.id") {
    return std::to_string(e.door_id);
  }
  if (column == "event_type_id.code") {
    return std::to_string(e.code);
  }
  return e.user_id;  // user_id.user_id
}

bool matches(const Event& e, const Condition& c) {
  if (c.column == "datetime" || c.column == "server_datetime" || c.column == "id") {
    const std::int64_t v = c.column == "datetime"          ? e.datetime_ms
                           : c.column == "server_datetime" ? e.server_ms
                                                           : static_cast<std::int64_t>(e.id);
    switch (c.op) {
      case kBetween:
        return v >= c.numbers[0] && v <= c.numbers[1];
      case kGreater:
        return v > c.numbers[0];
      case kLess:
        return v < c.numbers[0];
      case kNotEqual:
        return std::find(c.numbers.begin(), c.numbers.end(), v) == c.numbers.end();
      default:
        return std::find(c.numbers.begin(), c.numbers.end(), v) != c.numbers.end();
    }
  }
  const std::string v = column_text(e, c.column);
  switch (c.op) {
    case kNotEqual:
      return std::find(c.values.begin(), c.values.end(), v) == c.values.end();
    case kContains:
    case kLike:
      return std::any_of(c.values.begin(), c.values.end(),
                         [&](const std::string& s) { return v.find(s) != std::string::npos; });
    default:
      return std::find(c.values.begin(), c.values.end(), v) != c.values.end();
  }
}

}  // namespace

Response error_response(http::status status, const std::string& code, const std::string& message) {
  return json_response(status, json{{"Response", response_block(code, message)}});
}

Response BioStar2Server::Impl::handle(const http::request<http::string_body>& req) {
  const std::string_view target = req.target();
  const auto q = target.find('?');
  const std::string path(target.substr(0, q));
  const std::string query = q == std::string_view::npos ? "" : std::string(target.substr(q + 1));
  const auto method = req.method();
  const auto parts = split_path(path);
  std::lock_guard lock(mu);
  ++requests[std::string(req.method_string()) + " " + path];

  if (parts.empty() || parts[0] != "api") {
    return error_response(http::status::not_found, "404", "Not found.");
  }
  const auto body = [&]() -> std::optional<json> { return parse_body(req.body()); };

  // Login: the session id comes back in the bs-session-id header.
  if (path == "/api/login") {
    if (method != http::verb::post) {
      return error_response(http::status::method_not_allowed, "405", "Method not allowed.");
    }
    const auto j = body();
    if (!j || !j->contains("User") || !(*j)["User"].is_object() ||
        !(*j)["User"].contains("login_id") || !(*j)["User"]["login_id"].is_string() ||
        !(*j)["User"].contains("password") || !(*j)["User"]["password"].is_string()) {
      return bad_request("Invalid request body: User.login_id and User.password are required.");
    }
    if ((*j)["User"]["login_id"] != config.login_id ||
        (*j)["User"]["password"] != config.password) {
      ++failed_login_count;
      return error_response(http::status::unauthorized, "20", "Login failed.");
    }
    ++login_count;
    const std::string sid = new_session_id();
    sessions[sid] = Session{std::chrono::steady_clock::now(), false};
    auto res = ok({{"User",
                    {{"user_id", "1"},
                     {"name", "Administrator"},
                     {"login_id", config.login_id},
                     {"user_group_id", {{"id", "1"}, {"name", "All Users"}}},
                     {"start_datetime", "2001-01-01T00:00:00.00Z"},
                     {"expiry_datetime", "2030-12-31T23:59:00.00Z"},
                     {"password_exists", true}}}});
    res.set("bs-session-id", sid);
    return res;
  }

  // Everything else needs a live session.
  const std::string sid(req["bs-session-id"]);
  if (sid.empty() || !session_valid_locked(sid, true)) {
    return error_response(http::status::unauthorized, "10", "Login required.");
  }

  if (path == "/api/logout" && method == http::verb::post) {
    sessions.erase(sid);
    return ok();
  }

  // Events ------------------------------------------------------------------
  if (path == "/api/events/start" && method == http::verb::post) {
    sessions[sid].feed_started = true;
    return ok();
  }
  if (path == "/api/events/stop" && method == http::verb::post) {
    sessions[sid].feed_started = false;
    return ok();
  }
  if (path == "/api/events/search" && method == http::verb::post) {
    const auto j = body();
    if (!j || !j->contains("Query") || !(*j)["Query"].is_object()) {
      return bad_request("Invalid request body: Query is required.");
    }
    const json& qj = (*j)["Query"];
    std::uint64_t limit = config.page_cap;
    std::uint64_t offset = 0;
    if (qj.contains("limit")) {
      const auto n = as_number(qj["limit"]);
      if (!n || *n == 0) {
        return bad_request("Query.limit must be a positive number.");
      }
      limit = std::min<std::uint64_t>(*n, config.page_cap);
    }
    if (qj.contains("offset")) {
      const auto n = as_number(qj["offset"]);
      if (!n) {
        return bad_request("Query.offset must be a number.");
      }
      offset = *n;
    }
    std::vector<Condition> conditions;
    if (qj.contains("conditions")) {
      if (!qj["conditions"].is_array() || qj["conditions"].size() > 16) {
        return bad_request("Query.conditions must be an array (16 at most).");
      }
      static const std::set<std::string> kColumns = {
          "datetime",        "server_datetime", "id",
          "device_id.id",    "door_id.id",      "event_type_id.code",
          "user_id.user_id", "user_group_id.id"};
      for (const auto& cj : qj["conditions"]) {
        Condition c;
        if (!cj.is_object() || !cj.contains("column") || !cj["column"].is_string() ||
            !cj.contains("operator") || !cj.contains("values") || !cj["values"].is_array() ||
            cj["values"].empty() || cj["values"].size() > 1000) {
          return bad_request("A condition needs column, operator and values.");
        }
        c.column = cj["column"].get<std::string>();
        if (kColumns.count(c.column) == 0) {
          return bad_request("Unknown condition column '" + c.column + "'.");
        }
        const auto op = as_number(cj["operator"]);
        if (!op || *op > kLess) {
          return bad_request("Unknown condition operator.");
        }
        c.op = static_cast<int>(*op);
        for (const auto& v : cj["values"]) {
          const auto t = as_text(v);
          if (!t) {
            return bad_request("Condition values must be strings.");
          }
          c.values.push_back(*t);
        }
        const bool timed = c.column == "datetime" || c.column == "server_datetime";
        if (timed || c.column == "id") {
          for (const auto& v : c.values) {
            const auto n = timed ? parse_datetime(v) : [&]() -> std::optional<std::int64_t> {
              const auto u = as_number(json(v));
              return u ? std::optional<std::int64_t>(static_cast<std::int64_t>(*u)) : std::nullopt;
            }();
            if (!n) {
              return bad_request(timed ? "Datetime values must be ISO-8601 UTC, e.g. "
                                         "2015-06-10T02:14:05.268Z."
                                       : "Id values must be numbers.");
            }
            c.numbers.push_back(*n);
          }
          if (c.op == kBetween && (c.numbers.size() != 2 || c.numbers[1] <= c.numbers[0])) {
            return bad_request("BETWEEN needs two values, the end greater than the start.");
          }
          if (c.op == kContains || c.op == kLike) {
            return bad_request("CONTAINS/LIKE do not apply to this column.");
          }
        } else if (c.op == kBetween || c.op == kGreater || c.op == kLess) {
          return bad_request("BETWEEN/GREATER/LESS apply to datetime and id only.");
        }
        if (c.column == "user_group_id.id") {
          continue;  // the simulator has one user group: every event matches
        }
        conditions.push_back(std::move(c));
      }
    }
    std::string order_column = "id";
    bool descending = false;
    if (qj.contains("orders")) {
      if (!qj["orders"].is_array() || qj["orders"].size() > 1) {
        return bad_request("Query.orders must be an array of one order.");
      }
      for (const auto& oj : qj["orders"]) {
        if (!oj.is_object() || !oj.contains("column") || !oj["column"].is_string()) {
          return bad_request("An order needs a column.");
        }
        order_column = oj["column"].get<std::string>();
        if (order_column != "datetime" && order_column != "id") {
          return bad_request("Orders by datetime or id only.");
        }
        if (oj.contains("descending")) {
          const auto d = as_bool(oj["descending"]);
          if (!d) {
            return bad_request("descending must be true or false.");
          }
          descending = *d;
        }
      }
    }
    std::vector<const Event*> hits;
    for (const auto& e : log) {
      if (std::all_of(conditions.begin(), conditions.end(),
                      [&](const Condition& c) { return matches(e, c); })) {
        hits.push_back(&e);
      }
    }
    // Ties in datetime keep id order, so paging by offset is stable.
    const bool by_time = order_column == "datetime";
    std::stable_sort(hits.begin(), hits.end(), [&](const Event* a, const Event* b) {
      const auto ka =
          by_time ? std::make_pair(a->datetime_ms, a->id) : std::make_pair(std::int64_t{0}, a->id);
      const auto kb =
          by_time ? std::make_pair(b->datetime_ms, b->id) : std::make_pair(std::int64_t{0}, b->id);
      return descending ? kb < ka : ka < kb;
    });
    json rows = json::array();
    for (std::size_t i = offset; i < hits.size() && rows.size() < limit; ++i) {
      rows.push_back(event_json(*hits[i]));
    }
    return ok({{"EventCollection", {{"rows", std::move(rows)}}}});
  }

  // Devices -----------------------------------------------------------------------
  if (path == "/api/devices" && method == http::verb::get) {
    json rows = json::array();
    for (const auto id : device_ids) {
      rows.push_back({{"id", std::to_string(id)},
                      {"name", "BioStation 2 " + std::to_string(id)},
                      {"status", "1"}});
    }
    return ok({{"DeviceCollection", {{"total", std::to_string(rows.size())}, {"rows", rows}}}});
  }

  // Doors -------------------------------------------------------------------------
  if (parts.size() >= 2 && parts[1] == "doors") {
    if (parts.size() == 2 && method == http::verb::get) {
      json rows = json::array();
      for (const auto& [id, d] : doors) {
        rows.push_back({{"id", std::to_string(id)},
                        {"name", d.name},
                        {"entry_device_id", {{"id", std::to_string(d.device_id)}}}});
      }
      return ok({{"DoorCollection", {{"total", std::to_string(rows.size())}, {"rows", rows}}}});
    }
    if (parts.size() == 3 && parts[2] == "status" && method == http::verb::post) {
      json rows = json::array();
      for (const auto& [id, d] : doors) {
        const int status = d.unlocked ? 2 : 1;
        rows.push_back({{"door_id", {{"id", std::to_string(id)}, {"name", d.name}}},
                        {"opened", "false"},
                        {"unlocked", d.unlocked ? "true" : "false"},
                        {"alarm", "0"},
                        {"status", std::to_string(status)}});
      }
      return ok(
          {{"DoorStatusCollection", {{"total", std::to_string(rows.size())}, {"rows", rows}}}});
    }
    static const std::set<std::string> kActions = {"open", "lock", "unlock", "release"};
    if (parts.size() == 4 && kActions.count(parts[3]) != 0) {
      // The per-door form: observed to be refused (v2.9.8).
      return bad_request("Request is not supported.");
    }
    if (parts.size() == 3 && kActions.count(parts[2]) != 0 && method == http::verb::post) {
      const auto j = body();
      if (!j || !j->contains("DoorCollection") || !(*j)["DoorCollection"].is_object() ||
          !(*j)["DoorCollection"].contains("rows") || !(*j)["DoorCollection"]["rows"].is_array() ||
          (*j)["DoorCollection"]["rows"].empty()) {
        return bad_request("Invalid request body: DoorCollection.rows is required.");
      }
      std::vector<std::uint32_t> ids;
      for (const auto& r : (*j)["DoorCollection"]["rows"]) {
        const auto id = r.is_object() && r.contains("id") ? as_number(r["id"]) : std::nullopt;
        if (!id || doors.count(static_cast<std::uint32_t>(*id)) == 0) {
          return error_response(http::status::not_found, "404", "Door not found.");
        }
        ids.push_back(static_cast<std::uint32_t>(*id));
      }
      for (const auto id : ids) {
        auto& d = doors[id];
        if (parts[2] == "open") {
          ++d.opens;
        } else if (parts[2] == "lock") {
          d.locked = true;
          d.unlocked = false;
        } else if (parts[2] == "unlock") {
          d.unlocked = true;
          d.locked = false;
        } else {
          d.locked = false;
          d.unlocked = false;
          ++d.releases;
        }
      }
      return ok();
    }
    return error_response(http::status::not_found, "404", "Not found.");
  }

  // Users -------------------------------------------------------------------------
  if (parts.size() >= 2 && parts[1] == "users") {
    if (parts.size() == 2 && method == http::verb::get) {
      json rows = json::array();
      for (const auto& [id, u] : users) {
        rows.push_back(u);
      }
      return ok({{"UserCollection", {{"total", std::to_string(rows.size())}, {"rows", rows}}}});
    }
    if (parts.size() == 3 && method == http::verb::get) {
      const auto it = users.find(parts[2]);
      if (it == users.end()) {
        return error_response(http::status::not_found, "404", "User not found.");
      }
      return ok({{"User", it->second}});
    }
    const auto check_user = [&](json& u, std::string& error) {
      if (!u.is_object()) {
        error = "User must be an object.";
        return false;
      }
      for (const char* key : {"name", "start_datetime", "expiry_datetime"}) {
        if (u.contains(key) && !u[key].is_string()) {
          error = std::string(key) + " must be a string.";
          return false;
        }
      }
      for (const char* key : {"start_datetime", "expiry_datetime"}) {
        if (u.contains(key) && !parse_datetime(u[key].get<std::string>())) {
          error = std::string(key) + " must be ISO-8601 UTC.";
          return false;
        }
      }
      if (u.contains("cards")) {
        if (!u["cards"].is_array()) {
          error = "cards must be an array.";
          return false;
        }
        for (const auto& c : u["cards"]) {
          const auto id = c.is_object() && c.contains("id") ? as_text(c["id"]) : std::nullopt;
          if (!id || cards.count(*id) == 0) {
            error = "cards must name existing card ids.";
            return false;
          }
        }
      }
      return true;
    };
    if (parts.size() == 2 && method == http::verb::post) {
      const auto j = body();
      if (!j || !j->contains("User")) {
        return bad_request("Invalid request body: User is required.");
      }
      json u = (*j)["User"];
      std::string error;
      const auto id = u.is_object() && u.contains("user_id") ? as_text(u["user_id"]) : std::nullopt;
      if (!id || id->empty() || id->size() > 32) {
        return bad_request("User.user_id is required (1-32 characters).");
      }
      if (!check_user(u, error)) {
        return bad_request(error);
      }
      if (users.count(*id) != 0) {
        return bad_request("Duplicate user id.");
      }
      u["user_id"] = *id;
      users[*id] = u;
      return ok({{"UserCollection", {{"rows", json::array({{{"user_id", *id}}})}}}});
    }
    if (parts.size() == 3 && method == http::verb::put) {
      const auto it = users.find(parts[2]);
      if (it == users.end()) {
        return error_response(http::status::not_found, "404", "User not found.");
      }
      const auto j = body();
      if (!j || !j->contains("User")) {
        return bad_request("Invalid request body: User is required.");
      }
      json u = (*j)["User"];
      std::string error;
      if (!check_user(u, error)) {
        return bad_request(error);
      }
      for (auto& [key, value] : u.items()) {
        if (key != "user_id") {
          it->second[key] = value;
        }
      }
      return ok();
    }
    if (method == http::verb::delete_) {
      std::vector<std::string> ids;
      if (parts.size() == 3) {
        ids.push_back(parts[2]);
      } else {
        // DELETE /api/users?id=1+2+3 (also %2B and commas).
        std::string list;
        if (query.rfind("id=", 0) == 0) {
          list = query.substr(3);
        }
        std::string current;
        for (std::size_t i = 0; i <= list.size(); ++i) {
          if (i == list.size() || list[i] == '+' || list[i] == ',' || list[i] == '&') {
            if (!current.empty()) {
              ids.push_back(url_decode(current));
            }
            current.clear();
            if (i < list.size() && list[i] == '&') {
              break;
            }
          } else if (list.compare(i, 3, "%2B") == 0 || list.compare(i, 3, "%2b") == 0 ||
                     list.compare(i, 3, "%2C") == 0 || list.compare(i, 3, "%2c") == 0) {
            if (!current.empty()) {
              ids.push_back(url_decode(current));
            }
            current.clear();
            i += 2;
          } else {
            current += list[i];
          }
        }
        if (ids.empty()) {
          return bad_request("DELETE /api/users needs ?id=<id>[+<id>...].");
        }
      }
      for (const auto& id : ids) {
        if (users.count(id) == 0) {
          return error_response(http::status::not_found, "404", "User not found: " + id + ".");
        }
      }
      for (const auto& id : ids) {
        users.erase(id);
      }
      return ok();
    }
    return error_response(http::status::not_found, "404", "Not found.");
  }

  // Cards -------------------------------------------------------------------------
  if (parts.size() >= 2 && parts[1] == "cards") {
    if (parts.size() == 2 && method == http::verb::get) {
      json rows = json::array();
      for (const auto& [id, c] : cards) {
        rows.push_back(c);
      }
      return ok({{"CardCollection", {{"total", std::to_string(rows.size())}, {"rows", rows}}}});
    }
    if (parts.size() == 2 && method == http::verb::post) {
      const auto j = body();
      if (!j || !j->contains("CardCollection") || !(*j)["CardCollection"].is_object() ||
          !(*j)["CardCollection"].contains("rows") || !(*j)["CardCollection"]["rows"].is_array() ||
          (*j)["CardCollection"]["rows"].empty()) {
        return bad_request("Invalid request body: CardCollection.rows is required.");
      }
      std::vector<json> added;
      for (const auto& r : (*j)["CardCollection"]["rows"]) {
        const auto card_id =
            r.is_object() && r.contains("card_id") ? as_text(r["card_id"]) : std::nullopt;
        if (!card_id || card_id->empty() || card_id->size() > 64) {
          return bad_request("Every card needs a card_id.");
        }
        for (const auto& [id, c] : cards) {
          if (c["card_id"] == *card_id) {
            return bad_request("Duplicate card_id " + *card_id + ".");
          }
        }
        json c = r;
        c["card_id"] = *card_id;
        added.push_back(c);
      }
      json rows = json::array();
      for (auto& c : added) {
        const std::string id = std::to_string(next_card_id++);
        c["id"] = id;
        cards[id] = c;
        rows.push_back({{"id", id}, {"card_id", c["card_id"]}});
      }
      return ok({{"CardCollection", {{"rows", rows}}}});
    }
    if (parts.size() == 3 && method == http::verb::delete_) {
      if (cards.erase(parts[2]) == 0) {
        return error_response(http::status::not_found, "404", "Card not found.");
      }
      return ok();
    }
    return error_response(http::status::not_found, "404", "Not found.");
  }

  return error_response(http::status::not_found, "404", "Not found.");
}

}  // namespace pushgate::sim::biostar2
