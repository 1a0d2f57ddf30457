#include "gateway/command.hpp"

#include <array>
#include <utility>

#include "gateway/event_json.hpp"

namespace pushgate {

namespace {
constexpr std::array<std::pair<CommandState, std::string_view>, 6> kStates{{
    {CommandState::Queued, "queued"},
    {CommandState::Sent, "sent"},
    {CommandState::Done, "done"},
    {CommandState::Failed, "failed"},
    {CommandState::Expired, "expired"},
    {CommandState::Cancelled, "cancelled"},
}};
}  // namespace

std::string_view to_string(CommandState s) noexcept {
  for (const auto& [k, n] : kStates) {
    if (k == s) {
      return n;
    }
  }
  return "queued";
}

std::optional<CommandState> command_state_from_string(std::string_view s) noexcept {
  for (const auto& [k, n] : kStates) {
    if (n == s) {
      return k;
    }
  }
  return std::nullopt;
}

nlohmann::json command_to_json(const CommandRecord& c) {
  nlohmann::json j;
  j["id"] = c.id;
  j["terminal"] = c.terminal_sn;
  j["origin"] = c.origin;
  j["client_ref"] = c.client_ref.empty() ? nlohmann::json(nullptr) : nlohmann::json(c.client_ref);
  j["verb"] = c.verb;
  j["params"] = c.params;
  j["state"] = std::string(to_string(c.state));
  j["attempts"] = c.attempts;
  j["max_attempts"] = c.max_attempts;
  j["created"] = format_utc_iso8601(c.created_ms);
  j["expires"] = format_utc_iso8601(c.expires_ms);
  j["sent"] = c.sent_ms ? nlohmann::json(format_utc_iso8601(c.sent_ms)) : nlohmann::json(nullptr);
  j["finished"] =
      c.finished_ms ? nlohmann::json(format_utc_iso8601(c.finished_ms)) : nlohmann::json(nullptr);
  j["wire"] = c.wire.empty() ? nlohmann::json(nullptr) : nlohmann::json(c.wire);
  j["return_code"] = c.return_code ? nlohmann::json(*c.return_code) : nlohmann::json(nullptr);
  j["return_name"] =
      c.return_name.empty() ? nlohmann::json(nullptr) : nlohmann::json(c.return_name);
  j["result"] = c.result.empty() ? nlohmann::json(nullptr) : nlohmann::json(c.result);
  j["error"] = c.error.empty() ? nlohmann::json(nullptr) : nlohmann::json(c.error);
  return j;
}

std::string command_request_from_json(const nlohmann::json& body, CommandRequest& out) {
  if (!body.is_object()) {
    return "the command must be a JSON object";
  }
  auto verb = body.find("verb");
  if (verb == body.end() || !verb->is_string() || verb->get_ref<const std::string&>().empty()) {
    return "\"verb\" must be a non-empty string";
  }
  out.verb = verb->get<std::string>();
  if (auto p = body.find("params"); p != body.end() && !p->is_null()) {
    if (!p->is_object()) {
      return "\"params\" must be a JSON object";
    }
    out.params = *p;
  }
  if (auto r = body.find("client_ref"); r != body.end() && !r->is_null()) {
    if (!r->is_string()) {
      return "\"client_ref\" must be a string";
    }
    out.client_ref = r->get<std::string>();
  }
  if (auto t = body.find("ttl_s"); t != body.end() && !t->is_null()) {
    if (!t->is_number_integer() || t->get<std::int64_t>() <= 0 ||
        t->get<std::int64_t>() > 366LL * 24 * 3600) {
      return "\"ttl_s\" must be a positive integer of seconds (at most a year)";
    }
    out.ttl_ms = t->get<std::int64_t>() * 1000;
  }
  if (auto m = body.find("max_attempts"); m != body.end() && !m->is_null()) {
    if (!m->is_number_integer() || m->get<std::int64_t>() < 1 || m->get<std::int64_t>() > 100) {
      return "\"max_attempts\" must be an integer from 1 to 100";
    }
    out.max_attempts = m->get<int>();
  }
  return {};
}

namespace commands {

namespace {
CommandRequest make(std::string sn, std::string verb, nlohmann::json params) {
  CommandRequest r;
  r.terminal_sn = std::move(sn);
  r.verb = std::move(verb);
  r.params = std::move(params);
  return r;
}
}  // namespace

CommandRequest open_door(std::string sn, int door, int seconds) {
  return make(std::move(sn), "open_door", {{"door", door}, {"seconds", seconds}});
}
CommandRequest cancel_alarm(std::string sn) {
  return make(std::move(sn), "cancel_alarm", nlohmann::json::object());
}
CommandRequest normal_open(std::string sn, int door, bool on) {
  return make(std::move(sn), "normal_open", {{"door", door}, {"on", on}});
}
CommandRequest lock_door(std::string sn, int door, bool locked) {
  return make(std::move(sn), "lock_door", {{"door", door}, {"locked", locked}});
}
CommandRequest reboot(std::string sn) {
  return make(std::move(sn), "reboot", nlohmann::json::object());
}
CommandRequest set_time(std::string sn, std::string local_time) {
  return make(std::move(sn), "set_time", {{"time", std::move(local_time)}});
}
CommandRequest upsert_user(std::string sn, const User& u) {
  return make(std::move(sn), "upsert_user",
              {{"pin", u.pin},
               {"name", u.name},
               {"privilege", u.privilege},
               {"password", u.password},
               {"card", u.card},
               {"group", u.group},
               {"time_zones", u.time_zones},
               {"valid_from", u.valid_from},
               {"valid_until", u.valid_until}});
}
CommandRequest authorize_user(std::string sn, std::string pin, std::vector<int> doors,
                              int time_zone_id) {
  return make(
      std::move(sn), "authorize_user",
      {{"pin", std::move(pin)}, {"doors", std::move(doors)}, {"time_zone_id", time_zone_id}});
}
CommandRequest deauthorize_user(std::string sn, std::string pin) {
  return make(std::move(sn), "deauthorize_user", {{"pin", std::move(pin)}});
}
CommandRequest delete_user(std::string sn, std::string pin) {
  return make(std::move(sn), "delete_user", {{"pin", std::move(pin)}});
}
CommandRequest upsert_template(std::string sn, const Template& t) {
  return make(std::move(sn), "upsert_template",
              {{"pin", t.pin},
               {"bio_type", t.bio_type},
               {"no", t.no},
               {"index", t.index},
               {"valid", t.valid},
               {"duress", t.duress},
               {"major_ver", t.major_ver},
               {"minor_ver", t.minor_ver},
               {"format", t.format},
               {"data", t.data}});
}
CommandRequest upsert_photo(std::string sn, std::string pin, std::string base64_jpeg) {
  return make(std::move(sn), "upsert_photo",
              {{"pin", std::move(pin)}, {"data", std::move(base64_jpeg)}});
}
CommandRequest query_users(std::string sn, std::string pin) {
  return make(std::move(sn), "query_users", {{"pin", std::move(pin)}});
}
CommandRequest query_records(std::string sn, std::string start_local, std::string end_local) {
  return make(std::move(sn), "query_records",
              {{"start", std::move(start_local)}, {"end", std::move(end_local)}});
}
CommandRequest get_options(std::string sn, std::vector<std::string> keys) {
  return make(std::move(sn), "get_options", {{"keys", std::move(keys)}});
}
CommandRequest set_option(std::string sn, std::string key, std::string value) {
  return make(std::move(sn), "set_option", {{"key", std::move(key)}, {"value", std::move(value)}});
}
CommandRequest info(std::string sn) {
  return make(std::move(sn), "info", nlohmann::json::object());
}
CommandRequest raw(std::string sn, std::string line) {
  return make(std::move(sn), "raw", {{"line", std::move(line)}});
}

}  // namespace commands

}  // namespace pushgate
