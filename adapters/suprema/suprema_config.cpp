#include "adapters/suprema/suprema_config.hpp"

#include <charconv>
#include <set>

#include "gateway/config/device_credentials.hpp"

namespace pushgate::adapters::suprema {

using config::ValueType;

namespace {

constexpr std::string_view kServers = "suprema.servers";

std::string key(const std::string& server, std::string_view field) {
  return std::string(kServers) + "." + server + "." + std::string(field);
}

template <class T>
std::optional<T> to_number(std::string_view text) {
  T v{};
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size()) {
    return std::nullopt;
  }
  return v;
}

/** "ID=N": BioStar door ID (1..) is gateway door N (1..255) of the event's device. */
bool parse_door_entry(std::string_view entry, std::int64_t& biostar_door, int& door) {
  auto eq = entry.find('=');
  if (eq == std::string_view::npos) {
    return false;
  }
  auto d = to_number<std::int64_t>(entry.substr(0, eq));
  auto n = to_number<int>(entry.substr(eq + 1));
  if (!d || !n || *d < 1 || *n < 1 || *n > 255) {
    return false;
  }
  biostar_door = *d;
  door = *n;
  return true;
}

}  // namespace

std::optional<int> ServerConfig::gateway_door(std::int64_t biostar_door) const {
  if (auto it = door_map.find(biostar_door); it != door_map.end()) {
    return it->second;
  }
  if (biostar_door >= 1 && biostar_door <= 255) {
    return static_cast<int>(biostar_door);
  }
  return std::nullopt;
}

std::optional<std::int64_t> ServerConfig::biostar_door(int gateway_door) const {
  for (const auto& [id, door] : door_map) {
    if (door == gateway_door) {
      return id;
    }
  }
  if (gateway_door >= 1 && gateway_door <= 255 && !door_map.contains(gateway_door)) {
    return gateway_door;
  }
  return std::nullopt;
}

void SupremaConfig::declare(config::Schema& s) {
  s.describe_section(
      "suprema",
      "[suprema] — Suprema readers through a BioStar 2 server (adapters/suprema/README.md):\n"
      "the gateway logs in to the server's API (POST /api/login, HTTPS), listens to its\n"
      "/wsapi event feed and backfills with /api/events/search from a durable cursor\n"
      "after every (re)connect, so nothing is lost or stored twice across outages. Each\n"
      "BioStar device becomes a terminal whose serial is its BioStar device id. One\n"
      "table [suprema.servers.\"name\"] per server.");
  s.add({"suprema.enabled",
         ValueType::Bool,
         false,
         "Talk to the configured BioStar 2 servers.",
         {},
         {},
         {},
         false});
  s.add({"suprema.page_size",
         ValueType::Int,
         std::int64_t{100},
         "Events asked for per /api/events/search page during a backfill; each page is\n"
         "committed with the server's cursor in one transaction.",
         std::int64_t{1},
         std::int64_t{1000},
         {},
         false});
  s.add({"suprema.auth_retry_s",
         ValueType::Int,
         std::int64_t{300},
         "After a server refused the configured credentials (state auth_failed), the\n"
         "delay before the next login attempt (BioStar 2 can lock an account after\n"
         "repeated failures: keep it long).",
         std::int64_t{1},
         std::int64_t{86400},
         {},
         false});
  s.add({"suprema.reconnect_min_ms",
         ValueType::Int,
         std::int64_t{1000},
         "First delay before reconnecting to a server that went away; it doubles up to\n"
         "reconnect_max_s, with +-25% jitter.",
         std::int64_t{100},
         std::int64_t{60000},
         {},
         false});
  s.add({"suprema.reconnect_max_s",
         ValueType::Int,
         std::int64_t{60},
         "Longest delay between reconnection attempts.",
         std::int64_t{1},
         std::int64_t{3600},
         {},
         false});
  s.add({"suprema.request_timeout_s",
         ValueType::Int,
         std::int64_t{10},
         "Time limit of one API request (connect, TLS, send, whole answer) and of the\n"
         "/wsapi handshake.",
         std::int64_t{1},
         std::int64_t{300},
         {},
         false});
  s.add({"suprema.max_frame_kb",
         ValueType::Int,
         std::int64_t{256},
         "Largest /wsapi message accepted. A larger one closes the feed (counted in\n"
         "pushgate_suprema_oversize_frames_total); the reconnect backfills what it held.",
         std::int64_t{4},
         std::int64_t{8192},
         {},
         false});
  s.add({"suprema.resync_s",
         ValueType::Int,
         std::int64_t{60},
         "While the feed is up, how often an event search from the cursor checks that\n"
         "the feed missed nothing (a gap in event ids starts one at once). 0: only on\n"
         "gaps and reconnects.",
         std::int64_t{0},
         std::int64_t{86400},
         {},
         false});
  s.add({"suprema.backfill_max_age_h",
         ValueType::Int,
         std::int64_t{0},
         "On the first connection to a server (no stored cursor yet): how many hours of\n"
         "its event log to read. 0: the whole log. Later connections always continue\n"
         "from the stored cursor.",
         std::int64_t{0},
         std::int64_t{87600},
         {},
         false});
  s.add({"suprema.servers.*.host",
         ValueType::String,
         std::string(),
         "The BioStar 2 server's address (IP literal or host name). Required. The table\n"
         "name is the server's name in logs, metrics and /readyz.",
         {},
         {},
         {},
         false});
  s.add({"suprema.servers.*.port",
         ValueType::Int,
         std::int64_t{0},
         "The server's API port; 0: 443, or 80 without https.",
         std::int64_t{0},
         std::int64_t{65535},
         {},
         false});
  s.add({"suprema.servers.*.https",
         ValueType::Bool,
         true,
         "Speak HTTPS (and WSS) to the server. BioStar 2 serves HTTPS by default.",
         {},
         {},
         {},
         false});
  s.add({"suprema.servers.*.ca_file",
         ValueType::String,
         std::string(),
         "PEM file to verify the server's certificate against: its CA, or the server's\n"
         "own self-signed certificate (pinning). Empty: the system's trust store, which\n"
         "refuses BioStar 2's shipped self-signed certificate.",
         {},
         {},
         {},
         false});
  s.add({"suprema.servers.*.insecure_skip_verify",
         ValueType::Bool,
         false,
         "Accept any certificate (no verification at all; logged as a warning at every\n"
         "start). Only for a first test: prefer ca_file.",
         {},
         {},
         {},
         false});
  s.add({"suprema.servers.*.user",
         ValueType::String,
         std::string("admin"),
         "The BioStar 2 operator account (login_id) the gateway logs in with.",
         {},
         {},
         {},
         false});
  s.add({"suprema.servers.*.password",
         ValueType::String,
         std::string(),
         "Its password. Prefer password_file: one of the two is required.",
         {},
         {},
         {},
         false});
  s.add({"suprema.servers.*.password_file",
         ValueType::String,
         std::string(),
         "A file holding the password (first line). Refused when group or others may read\n"
         "or write it (chmod 600, owned by the service's user).",
         {},
         {},
         {},
         false});
  s.add({"suprema.servers.*.door_map",
         ValueType::StringList,
         std::vector<std::string>{},
         "Door numbering, as \"ID=N\" entries: BioStar door ID is the gateway's door N\n"
         "(1..255) of the event's device, also the door that door commands name. Doors\n"
         "not listed: N = ID when ID is 1..255, else the event has no gateway door.",
         {},
         {},
         {},
         false});
  s.add({"suprema.servers.*.local_time",
         ValueType::String,
         std::string("device"),
         "device: an event's local time is its UTC datetime plus the device's own offset\n"
         "(the event's timezone field), the terminal's zone when it has none. terminal:\n"
         "always the terminal's zone (terminals.<serial>.timezone, else gateway.timezone).",
         {},
         {},
         {"device", "terminal"},
         false});
}

SupremaConfig SupremaConfig::from(const config::Config& c) {
  SupremaConfig d;
  d.enabled = c.get_bool("suprema.enabled");
  d.page_size = static_cast<std::size_t>(c.get_int("suprema.page_size"));
  d.auth_retry = std::chrono::seconds(c.get_int("suprema.auth_retry_s"));
  d.reconnect_min = std::chrono::milliseconds(c.get_int("suprema.reconnect_min_ms"));
  d.reconnect_max = std::chrono::seconds(c.get_int("suprema.reconnect_max_s"));
  if (d.reconnect_max < d.reconnect_min) {
    d.reconnect_max = d.reconnect_min;
  }
  d.request_timeout = std::chrono::seconds(c.get_int("suprema.request_timeout_s"));
  d.max_frame_bytes = static_cast<std::size_t>(c.get_int("suprema.max_frame_kb")) * 1024;
  d.resync = std::chrono::seconds(c.get_int("suprema.resync_s"));
  d.backfill_max_age_h = c.get_int("suprema.backfill_max_age_h");
  for (const auto& name : c.table_names(kServers)) {
    ServerConfig s;
    s.name = name;
    s.host = c.get_string(key(name, "host"));
    s.https = c.get_bool(key(name, "https"));
    auto port = c.get_int(key(name, "port"));
    s.port = static_cast<std::uint16_t>(port != 0 ? port : (s.https ? 443 : 80));
    s.ca_file = c.get_string(key(name, "ca_file"));
    s.insecure_skip_verify = c.get_bool(key(name, "insecure_skip_verify"));
    s.user = c.get_string(key(name, "user"));
    s.password = c.get_string(key(name, "password"));
    s.password_file = c.get_string(key(name, "password_file"));
    for (const auto& entry : c.get_list(key(name, "door_map"))) {
      std::int64_t id = 0;
      int door = 0;
      if (parse_door_entry(entry, id, door)) {
        s.door_map[id] = door;
      }
    }
    s.local_time = c.get_string(key(name, "local_time")) == "terminal" ? LocalTimeFrom::Terminal
                                                                       : LocalTimeFrom::Device;
    d.servers.push_back(std::move(s));
  }
  return d;
}

std::string load_password(ServerConfig& server) {
  if (server.password_file.empty()) {
    return {};
  }
  auto problem = config::read_secret_file(server.password_file, server.password);
  return problem.empty() ? problem : key(server.name, "password_file") + ": " + problem;
}

std::vector<config::ConfigError> SupremaConfig::validate(const config::Config& c) {
  std::vector<config::ConfigError> errors;
  auto d = from(c);
  if (!d.enabled) {
    return errors;
  }
  if (d.servers.empty()) {
    errors.push_back(
        {"suprema.servers",
         "suprema is enabled but no server is configured ([suprema.servers.\"name\"])"});
  }
  for (auto& s : d.servers) {
    if (s.host.empty()) {
      errors.push_back({key(s.name, "host"), "is required"});
    }
    if (s.user.empty()) {
      errors.push_back({key(s.name, "user"), "is required"});
    }
    config::DeviceAccess access{s.password, s.password_file, s.https, s.ca_file};
    config::check_device_access(std::string(kServers) + "." + s.name, access, errors);
    if (!s.ca_file.empty() && s.https && s.insecure_skip_verify) {
      errors.push_back(
          {key(s.name, "insecure_skip_verify"), "is set together with ca_file: choose one"});
    }
    std::set<int> doors;
    for (const auto& entry : c.get_list(key(s.name, "door_map"))) {
      std::int64_t id = 0;
      int door = 0;
      if (!parse_door_entry(entry, id, door)) {
        errors.push_back({key(s.name, "door_map"),
                          "\"" + entry + "\" is not ID=N (BioStar door id = door 1..255)"});
      } else if (!doors.insert(door).second) {
        errors.push_back(
            {key(s.name, "door_map"), "door " + std::to_string(door) + " is mapped twice"});
      }
    }
  }
  return errors;
}

}  // namespace pushgate::adapters::suprema
