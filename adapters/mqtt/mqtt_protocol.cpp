#include "adapters/mqtt/mqtt_protocol.hpp"

#include <algorithm>

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <charconv>
#include <cstdio>
#include <cstdlib>

#include "gateway/event_json.hpp"

namespace pushgate::adapters::mqtt {

using nlohmann::json;

std::string topic_level(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    out.push_back(c == '/' || c == '+' || c == '#' || u < 0x20 || u == 0x7f ? '_' : c);
  }
  if (out.empty()) {
    out = "_";
  }
  return out;
}

std::string iso_local(const Zone& zone, std::int64_t utc_ms) {
  auto tp = std::chrono::system_clock::time_point(std::chrono::milliseconds(utc_ms));
  auto local = zone.to_local(tp);
  int offset = zone.offset_minutes_at(tp);
  int a = std::abs(offset);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d", local.year,
                local.month, local.day, local.hour, local.minute, local.second,
                offset < 0 ? '-' : '+', a / 60, a % 60);
  return buf;
}

namespace {

// "time" (local with offset) and "utc" for a gateway-side instant.
void add_times(json& j, const char* local_key, const char* utc_key, std::int64_t ms,
               const Zone& zone) {
  if (ms <= 0) {
    j[local_key] = nullptr;
    j[utc_key] = nullptr;
    return;
  }
  j[local_key] = iso_local(zone, ms);
  j[utc_key] = format_utc_iso8601(ms);
}

json opt_str(const std::string& s) {
  return s.empty() ? json(nullptr) : json(s);
}

// "YYYY-MM-DDTHH:MM:SS[.fff](Z|+HH:MM|-HH:MM)" to UTC ms.
std::optional<std::int64_t> parse_iso8601(std::string_view s) {
  if (s.size() < 20) {
    return std::nullopt;
  }
  auto local = parse_local_date_time(s.substr(0, 19));
  if (!local) {
    return std::nullopt;
  }
  auto rest = s.substr(19);
  if (!rest.empty() && rest.front() == '.') {
    std::size_t i = 1;
    while (i < rest.size() && rest[i] >= '0' && rest[i] <= '9') {
      ++i;
    }
    rest.remove_prefix(i);
  }
  std::int64_t offset_min = 0;
  if (rest == "Z" || rest == "z") {
    offset_min = 0;
  } else if (rest.size() == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':') {
    int h = 0;
    int m = 0;
    auto r1 = std::from_chars(rest.data() + 1, rest.data() + 3, h);
    auto r2 = std::from_chars(rest.data() + 4, rest.data() + 6, m);
    if (r1.ec != std::errc{} || r2.ec != std::errc{} || h > 23 || m > 59) {
      return std::nullopt;
    }
    offset_min = (rest[0] == '-' ? -1 : 1) * (h * 60 + m);
  } else {
    return std::nullopt;
  }
  return Zone::utc().to_utc_ms(*local) - offset_min * 60000;
}

}  // namespace

std::string Topics::terminal_status(std::string_view sn) const {
  return root_ + "/terminal/" + topic_level(sn) + "/status";
}

std::string Topics::door_state(std::string_view sn, int door) const {
  return root_ + "/terminal/" + topic_level(sn) + "/door/" + std::to_string(door) + "/state";
}

std::string Topics::door_set(std::string_view sn, int door) const {
  return root_ + "/terminal/" + topic_level(sn) + "/door/" + std::to_string(door) + "/set";
}

std::string Topics::event(std::string_view sn, EventKind kind) const {
  return root_ + "/terminal/" + topic_level(sn) + "/event/" + std::string(to_string(kind));
}

std::string Topics::output(std::string_view name) const {
  return root_ + "/output/" + topic_level(name);
}

std::string Topics::command_result(std::string_view id) const {
  return root_ + "/command/result/" + topic_level(id);
}

std::string Topics::api_response(std::string_view id) const {
  return root_ + "/api/response/" + topic_level(id);
}

std::optional<std::pair<std::string, int>> Topics::parse_door_set(std::string_view topic) const {
  std::string_view prefix = root_;
  if (topic.size() <= prefix.size() || topic.substr(0, prefix.size()) != prefix) {
    return std::nullopt;
  }
  topic.remove_prefix(prefix.size());
  constexpr std::string_view kTerminal = "/terminal/";
  if (topic.substr(0, kTerminal.size()) != kTerminal) {
    return std::nullopt;
  }
  topic.remove_prefix(kTerminal.size());
  auto slash = topic.find('/');
  if (slash == std::string_view::npos || slash == 0) {
    return std::nullopt;
  }
  std::string sn(topic.substr(0, slash));
  topic.remove_prefix(slash);
  constexpr std::string_view kDoor = "/door/";
  if (topic.substr(0, kDoor.size()) != kDoor) {
    return std::nullopt;
  }
  topic.remove_prefix(kDoor.size());
  auto end = topic.find('/');
  if (end == std::string_view::npos || topic.substr(end) != "/set") {
    return std::nullopt;
  }
  int door = 0;
  auto [p, ec] = std::from_chars(topic.data(), topic.data() + end, door);
  if (ec != std::errc{} || p != topic.data() + end || door < 1 || door > 255) {
    return std::nullopt;
  }
  return std::make_pair(std::move(sn), door);
}

std::string event_payload(const Event& e, bool replay) {
  std::string out;
  out.reserve(384 + e.raw.size() + e.extra_json.size());
  append_event_json(out, e, replay);
  return out;
}

std::string terminal_status_payload(const TerminalStatus& t, const Zone& zone) {
  json j;
  j["terminal"] = t.sn;
  j["name"] = opt_str(t.name);
  j["online"] = t.online;
  j["state"] = t.state;
  j["flavour"] = t.flavour;
  j["firmware"] = opt_str(t.firmware);
  j["device_type"] = opt_str(t.device_type);
  j["ip"] = opt_str(t.ip);
  add_times(j, "last_seen", "last_seen_utc", t.last_seen_ms, zone);
  if (!t.link.empty()) {
    j["link"] = t.link;
    j["link_reason"] = opt_str(t.link_reason);
  }
  return dump_json(j);
}

std::string door_state_payload(const DoorState& d, const Zone& zone) {
  json j;
  j["terminal"] = d.sn;
  j["door"] = d.door;
  j["sensor"] = opt_str(d.sensor);
  j["relay"] = opt_str(d.relay);
  j["alarm"] = d.alarm == kUnset ? json(nullptr) : json(d.alarm);
  add_times(j, "time", "utc", d.updated_ms, zone);
  return dump_json(j);
}

std::string output_payload(std::string_view name, bool on, std::int64_t changed_ms,
                           std::int64_t until_ms, const Zone& zone) {
  json j;
  j["output"] = std::string(name);
  j["on"] = on;
  add_times(j, "time", "utc", changed_ms, zone);
  add_times(j, "until", "until_utc", until_ms, zone);
  return dump_json(j);
}

std::string health_payload(const HealthFigures& h, const Zone& zone) {
  json j;
  j["backlog_events"] = h.backlog_events;
  j["backlog_oldest_age_s"] = h.backlog_oldest_age_s;
  j["disk_free_bytes"] = h.disk_free_bytes < 0 ? json(nullptr) : json(h.disk_free_bytes);
  j["draining"] = h.draining;
  j["cursor"] = h.cursor;
  j["head"] = h.head;
  j["published"] = h.published;
  j["acked"] = h.acked;
  j["failed"] = h.failed;
  j["terminals_online"] = h.terminals_online;
  add_times(j, "time", "utc", h.now_ms, zone);
  return dump_json(j);
}

namespace {

// The "id" of a command or API request: a non-empty string of at most 128
// characters, or an integer; "" when missing or unusable.
std::string message_id(const json& body) {
  auto id = body.find("id");
  if (id == body.end()) {
    return {};
  }
  if (id->is_string() && !id->get_ref<const std::string&>().empty() &&
      id->get_ref<const std::string&>().size() <= 128) {
    return id->get<std::string>();
  }
  if (id->is_number_integer()) {
    return std::to_string(id->get<std::int64_t>());
  }
  return {};
}

}  // namespace

ParsedCommand parse_command(std::string_view payload, std::int64_t now_ms) {
  ParsedCommand out;
  // Bounded before it becomes a tree: 100,000 nested arrays in params crashed the daemon.
  auto parsed = parse_json_bounded(payload, kMessageJsonLimits);
  if (!parsed.ok() && parsed.refusal != JsonRefusal::Invalid) {
    out.error = parsed.error;
    return out;
  }
  const json& body = parsed.value;
  if (!parsed.ok() || !body.is_object()) {
    out.error = "the command must be a JSON object";
    return out;
  }
  out.id = message_id(body);
  if (out.id.empty()) {
    out.error = "\"id\" must be a non-empty string (at most 128 characters) or an integer";
    return out;
  }
  auto terminal = body.find("terminal");
  if (terminal == body.end() || !terminal->is_string() ||
      terminal->get_ref<const std::string&>().empty()) {
    out.error = "\"terminal\" must be the terminal's serial number";
    return out;
  }
  out.request.terminal_sn = terminal->get<std::string>();
  out.request.origin = "mqtt";
  if (body.contains("client_ref")) {
    out.error = "\"client_ref\" is not used over MQTT; \"id\" is the command's reference";
    return out;
  }
  // The same form REST takes (gateway/command.hpp) for verb, params, ttl_s, max_attempts.
  if (auto why = command_request_from_json(body, out.request); !why.empty()) {
    out.error = why;
    return out;
  }
  out.request.client_ref = out.id;
  if (auto ex = body.find("expires"); ex != body.end() && !ex->is_null()) {
    if (body.contains("ttl_s") && !body["ttl_s"].is_null()) {
      out.error = "give either \"ttl_s\" or \"expires\", not both";
      return out;
    }
    std::optional<std::int64_t> at;
    if (ex->is_string()) {
      at = parse_iso8601(ex->get_ref<const std::string&>());
    }
    if (!at) {
      out.error = "\"expires\" must be an ISO-8601 time with Z or an offset";
      return out;
    }
    // Already past: a 1 ms life, so the queue reports it expired like any other.
    out.request.ttl_ms = std::max<std::int64_t>(*at - now_ms, 1);
  }
  return out;
}

std::string command_result_payload(const CommandRecord& c, std::string_view id, bool duplicate,
                                   const Zone& zone, std::int64_t now_ms) {
  auto j = command_to_json(c);
  j["command_id"] = c.id;
  j["id"] = std::string(id);
  j["final"] = is_final(c.state);
  j["duplicate"] = duplicate;
  add_times(j, "time", "utc", now_ms, zone);
  return dump_json(j);
}

std::string command_rejected_payload(std::string_view id, std::string_view error, const Zone& zone,
                                     std::int64_t now_ms) {
  json j;
  j["id"] = id.empty() ? json(nullptr) : json(std::string(id));
  j["command_id"] = nullptr;
  j["state"] = "rejected";
  j["final"] = true;
  j["error"] = std::string(error);
  add_times(j, "time", "utc", now_ms, zone);
  return dump_json(j);
}

ApiRequest parse_api_request(std::string_view payload) {
  ApiRequest out;
  auto parsed = parse_json_bounded(payload, kMessageJsonLimits);
  if (!parsed.ok() && parsed.refusal != JsonRefusal::Invalid) {
    out.error = parsed.error;
    return out;
  }
  const json& j = parsed.value;
  if (!parsed.ok() || !j.is_object()) {
    out.error = "the request must be a JSON object";
    return out;
  }
  out.id = message_id(j);
  if (out.id.empty()) {
    out.error = "\"id\" must be a non-empty string (at most 128 characters) or an integer";
    return out;
  }
  out.method = j.value("method", std::string("GET"));
  if (out.method != "GET" && out.method != "POST" && out.method != "PUT" &&
      out.method != "DELETE" && out.method != "PATCH") {
    out.error = "\"method\" must be GET, POST, PUT, DELETE or PATCH";
    return out;
  }
  auto path = j.find("path");
  if (path == j.end() || !path->is_string() ||
      path->get_ref<const std::string&>().rfind("/api/", 0) != 0) {
    out.error = "\"path\" must be a REST API path starting with /api/";
    return out;
  }
  out.path = path->get<std::string>();
  if (auto b = j.find("body"); b != j.end() && !b->is_null()) {
    out.body = b->is_string() ? b->get<std::string>() : dump_json(*b);
  }
  return out;
}

std::string api_response_payload(std::string_view id, int status, std::string_view body) {
  json j;
  j["id"] = std::string(id);
  j["status"] = status;
  auto parsed = json::parse(body.begin(), body.end(), nullptr, false);
  j["body"] = parsed.is_discarded() ? json(std::string(body)) : parsed;
  return dump_json(j);
}

std::optional<CommandRequest> parse_door_set(std::string_view sn, int door,
                                             std::string_view payload, int seconds) {
  if (payload == "UNLOCK" || payload == "OPEN") {
    auto r = commands::open_door(std::string(sn), door, seconds);
    r.origin = "mqtt";
    return r;
  }
  return std::nullopt;
}

std::string entity_slug(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c >= 'A' && c <= 'Z') {
      out.push_back(static_cast<char>(c - 'A' + 'a'));
    } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
      out.push_back(c);
    } else if (out.empty() || out.back() != '_') {
      out.push_back('_');  // runs of anything else: one '_', as Home Assistant's slugify
    }
  }
  while (!out.empty() && out.back() == '_') {
    out.pop_back();
  }
  while (!out.empty() && out.front() == '_') {
    out.erase(out.begin());
  }
  return out.empty() ? std::string("unnamed") : out;
}

bool has_doors(const TerminalStatus& t) {
  return t.doors > 0;
}

std::vector<std::pair<std::string, std::string>> ha_discovery(const Topics& topics,
                                                              const DiscoveryInput& in) {
  std::vector<std::pair<std::string, std::string>> out;
  const auto& t = in.terminal;
  const auto node = topic_level(in.gateway_id);
  const auto base_id = "pushgate_" + node + "_" + topic_level(t.sn);
  json device = {
      {"identifiers", json::array({base_id})},
      {"name", t.name.empty() ? "Terminal " + t.sn : t.name},
      {"manufacturer", t.vendor.empty() || t.vendor == "zkteco" ? std::string("ZKTeco") : t.vendor},
      {"model", !t.model.empty()        ? json(t.model)
                : t.device_type.empty() ? json(t.flavour)
                                        : json(t.device_type)},
      {"serial_number", t.sn},
  };
  if (!t.firmware.empty()) {
    device["sw_version"] = t.firmware;
  }
  json origin = {{"name", "pushgate"}};
  if (!in.sw_version.empty()) {
    origin["sw_version"] = in.sw_version;
  }
  // The gateway's last will says offline for all; a terminal that stopped
  // polling makes its own entities unavailable (not its connectivity sensor,
  // which says so itself).
  const json gateway_online = {{"topic", topics.status()},
                               {"payload_available", "online"},
                               {"payload_not_available", "offline"}};
  const json terminal_online = {
      {"topic", topics.terminal_status(t.sn)},
      {"value_template", "{{ 'online' if value_json.online else 'offline' }}"},
      {"payload_available", "online"},
      {"payload_not_available", "offline"}};
  auto add = [&](const std::string& component, const std::string& suffix, json config,
                 bool follows_terminal) {
    const auto object_id = base_id + suffix;
    config["unique_id"] = object_id;
    // object_id is no longer honoured (Home Assistant 2026.4): the entity id itself.
    config["default_entity_id"] = component + "." + entity_slug(object_id);
    config["device"] = device;
    config["origin"] = origin;
    if (follows_terminal) {
      config["availability"] = json::array({gateway_online, terminal_online});
      config["availability_mode"] = "all";
    } else {
      config["availability"] = json::array({gateway_online});
    }
    out.emplace_back(in.prefix + "/" + component + "/" + node + "/" + object_id + "/config",
                     dump_json(config));
  };
  // An empty retained config removes an entity Home Assistant already has.
  auto remove = [&](const std::string& component, const std::string& suffix) {
    out.emplace_back(in.prefix + "/" + component + "/" + node + "/" + base_id + suffix + "/config",
                     std::string());
  };
  std::vector<int> doors = in.doors;
  if (has_doors(t) && std::find(doors.begin(), doors.end(), 1) == doors.end()) {
    doors.insert(doors.begin(), 1);  // an access terminal drives at least one lock relay
  }
  if (!has_doors(t) && doors.empty()) {
    // Attendance PUSH has no doors: no lock (older versions announced one).
    remove("lock", "_door1");
    remove("binary_sensor", "_door1_contact");
  }
  for (int door : doors) {
    const auto d = std::to_string(door);
    // Until the terminal reports the door, its state is unknown ("None"),
    // never a guessed locked/closed.
    add("lock", "_door" + d,
        {{"name", "Door " + d},
         {"command_topic", topics.door_set(t.sn, door)},
         {"payload_unlock", "UNLOCK"},
         {"payload_lock", "LOCK"},
         {"payload_open", "OPEN"},
         {"state_topic", topics.door_state(t.sn, door)},
         {"value_template",
          "{% if value_json.relay == 'connected' %}UNLOCKED{% elif value_json.relay == "
          "'disconnected' %}LOCKED{% else %}None{% endif %}"},
         {"state_locked", "LOCKED"},
         {"state_unlocked", "UNLOCKED"},
         {"optimistic", false}},
        true);
    add("binary_sensor", "_door" + d + "_contact",
        {{"name", "Door " + d + " contact"},
         {"device_class", "door"},
         {"state_topic", topics.door_state(t.sn, door)},
         {"value_template",
          "{% if value_json.sensor == 'open' %}ON{% elif value_json.sensor == 'closed' "
          "%}OFF{% else %}None{% endif %}"}},
        true);
  }
  add("binary_sensor", "_connectivity",
      {{"name", "Connectivity"},
       {"device_class", "connectivity"},
       {"entity_category", "diagnostic"},
       {"state_topic", topics.terminal_status(t.sn)},
       {"value_template", "{{ 'ON' if value_json.online else 'OFF' }}"}},
      false);
  for (auto kind : {EventKind::Attendance, EventKind::Access}) {
    const std::string k(to_string(kind));
    add("event", "_" + k,
        {{"name", kind == EventKind::Attendance ? "Punch" : "Access"},
         {"state_topic", topics.event(t.sn, kind)},
         {"event_types", json::array({k})},
         {"value_template",
          "{ \"event_type\": \"{{ value_json.kind }}\", \"pin\": \"{{ value_json.pin }}\", "
          "\"door\": \"{{ value_json.door }}\", \"id\": {{ value_json.id }} }"}},
        true);
  }
  return out;
}

std::string describe_connect_refusal(int return_code, int reason_code) {
  // MQTT 5 CONNACK reason codes (paho reports 255 when there is none).
  switch (reason_code) {
    case 0x84:
      return "the broker refused: unsupported protocol version (mqtt.protocol_version)";
    case 0x85:
      return "the broker refused: client identifier not valid (mqtt.client_id)";
    case 0x86:
      return "the broker refused: bad user name or password (mqtt.username, mqtt.password)";
    case 0x87:
      return "the broker refused: not authorized (mqtt.username, the broker's ACL)";
    case 0x88:
      return "the broker refused: server unavailable";
    case 0x89:
      return "the broker refused: server busy";
    case 0x8A:
      return "the broker refused: this client is banned";
    case 0x8C:
      return "the broker refused: bad authentication method";
    default:
      break;
  }
  // MQTT 3.1.1 CONNACK return codes.
  switch (return_code) {
    case 1:
      return "the broker refused: unacceptable protocol version (mqtt.protocol_version)";
    case 2:
      return "the broker refused: identifier rejected (mqtt.client_id)";
    case 3:
      return "the broker refused: server unavailable";
    case 4:
      return "the broker refused: bad user name or password (mqtt.username, mqtt.password)";
    case 5:
      return "the broker refused: not authorized (mqtt.username, the broker's ACL)";
    case -3:
      return "the connection was closed before the broker answered";
    case -14:
      return "unknown scheme in mqtt.server_uri (use tcp:// or ssl://)";
    case -16:
      return "the broker does not speak this MQTT version (mqtt.protocol_version)";
    default:
      break;
  }
  if (reason_code >= 0x80 && reason_code < 255) {
    return "the broker refused (MQTT reason code " + std::to_string(reason_code) + ")";
  }
  if (return_code > 0) {
    return "the broker refused (CONNACK return code " + std::to_string(return_code) + ")";
  }
  return {};
}

std::string diagnose_connect(std::string_view server_uri, int timeout_ms) {
  auto scheme_end = server_uri.find("://");
  std::string_view scheme = scheme_end == std::string_view::npos ? std::string_view("tcp")
                                                                 : server_uri.substr(0, scheme_end);
  std::string_view rest =
      scheme_end == std::string_view::npos ? server_uri : server_uri.substr(scheme_end + 3);
  rest = rest.substr(0, rest.find('/'));
  bool tls = scheme == "ssl" || scheme == "mqtts";
  std::string host;
  std::string port = tls ? "8883" : "1883";
  if (!rest.empty() && rest.front() == '[') {  // [v6]:port
    auto close = rest.find(']');
    host = std::string(rest.substr(1, close == std::string_view::npos ? rest.npos : close - 1));
    if (close != std::string_view::npos && close + 1 < rest.size() && rest[close + 1] == ':') {
      port = std::string(rest.substr(close + 2));
    }
  } else if (auto colon = rest.rfind(':'); colon != std::string_view::npos) {
    host = std::string(rest.substr(0, colon));
    port = std::string(rest.substr(colon + 1));
  } else {
    host = std::string(rest);
  }
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    return "cannot resolve " + host + ": " + ::gai_strerror(rc) + " (DNS)";
  }
  std::string why = "no address for " + host;
  bool connected = false;
  for (addrinfo* a = found; a != nullptr && !connected; a = a->ai_next) {
    int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      why = std::string("socket: ") + std::strerror(errno);
      continue;
    }
    int err = 0;
    if (::connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
      err = errno;
      if (err == EINPROGRESS) {
        pollfd p{fd, POLLOUT, 0};
        int n = ::poll(&p, 1, timeout_ms);
        if (n == 0) {
          err = ETIMEDOUT;
        } else {
          socklen_t len = sizeof err;
          ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        }
      }
    }
    ::close(fd);
    if (err == 0) {
      connected = true;
    } else if (err == ECONNREFUSED) {
      why = "connection refused by " + host + ":" + port + " (no broker listening there?)";
    } else if (err == ETIMEDOUT) {
      why = host + ":" + port + " did not answer within " + std::to_string(timeout_ms) +
            " ms (host down or a firewall)";
    } else {
      why = host + ":" + port + " unreachable: " + std::strerror(err);
    }
  }
  ::freeaddrinfo(found);
  if (!connected) {
    return why;
  }
  return tls ? "TCP to " + host + ":" + port +
                   " works; the TLS handshake failed (mqtt.tls_ca_file, mqtt.tls_verify, the "
                   "broker's certificate)"
             : "TCP to " + host + ":" + port +
                   " works; the broker closed the MQTT session (mqtt.protocol_version, or ssl:// "
                   "needed?)";
}

}  // namespace pushgate::adapters::mqtt
