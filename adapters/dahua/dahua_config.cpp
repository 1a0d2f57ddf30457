#include "adapters/dahua/dahua_config.hpp"

#include <charconv>
#include <set>
#include <sstream>
#include <utility>

#include "gateway/config/device_credentials.hpp"

namespace pushgate::adapters::dahua {

using config::KeySpec;
using config::ValueType;

namespace {

constexpr std::string_view kDevices = "dahua.devices";

std::string key(const std::string& device, std::string_view field) {
  return std::string(kDevices) + "." + device + "." + std::string(field);
}

std::optional<int> to_int(std::string_view text) {
  int v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size()) {
    return std::nullopt;
  }
  return v;
}

/** One "A=B" list entry, A within [a_min, a_max] and B within [b_min, b_max]. */
struct Range {
  int min;
  int max;
};
std::optional<std::pair<int, int>> parse_pair(std::string_view entry, Range a, Range b) {
  auto eq = entry.find('=');
  if (eq == std::string_view::npos) {
    return std::nullopt;
  }
  auto x = to_int(entry.substr(0, eq));
  auto y = to_int(entry.substr(eq + 1));
  if (!x || !y || *x < a.min || *x > a.max || *y < b.min || *y > b.max) {
    return std::nullopt;
  }
  return std::pair{*x, *y};
}

/** "D=N": event Door D (0-based) is gateway door N (1..255). */
std::optional<std::pair<int, int>> parse_door_entry(std::string_view entry) {
  return parse_pair(entry, {0, 254}, {1, 255});
}

/** "Z=S": gateway time zone Z (1..65535) is the device's schedule S (0..255, 255 = always). */
std::optional<std::pair<int, int>> parse_schedule_entry(std::string_view entry) {
  return parse_pair(entry, {1, 65535}, {0, 255});
}

}  // namespace

int DeviceConfig::gateway_door(int event_door) const {
  if (auto it = door_map.find(event_door); it != door_map.end()) {
    return it->second;
  }
  return event_door + 1;
}

void DahuaConfig::declare(config::Schema& s) {
  s.describe_section(
      "dahua",
      "[dahua] — Dahua access controllers and face terminals (and their OEM rebrands,\n"
      "e.g. Intelbras) over the device's HTTP API (adapters/dahua/README.md). Pull mode:\n"
      "the gateway logs in to each device (HTTP Digest), reads its identity, backfills\n"
      "its record tables from a durable cursor and listens to its event stream, so no\n"
      "event is lost while the link, the device or the gateway was down. One table\n"
      "[dahua.devices.\"name\"] per device; its serial becomes the terminal's identity.");
  s.add({"dahua.enabled",
         ValueType::Bool,
         false,
         "Talk to the configured Dahua devices.",
         {},
         {},
         {},
         false});
  s.add({"dahua.heartbeat_s",
         ValueType::Int,
         std::int64_t{5},
         "Heartbeat the event stream asks the device for. A stream that brings nothing\n"
         "(no event, no heartbeat) for three heartbeats is closed and opened again.",
         std::int64_t{1},
         std::int64_t{60},
         {},
         false});
  s.add({"dahua.page_size",
         ValueType::Int,
         std::int64_t{100},
         "Records asked for per recordFinder page during a backfill; each page is\n"
         "committed with the device's cursor in one transaction.",
         std::int64_t{1},
         std::int64_t{1000},
         {},
         false});
  s.add({"dahua.auth_attempts_per_hour",
         ValueType::Int,
         std::int64_t{2},
         "After a device refused the configured credentials (state auth_failed), how\n"
         "many logins per hour the gateway still tries. Dahua firmware locks the account\n"
         "after a few failures: keep this small.",
         std::int64_t{1},
         std::int64_t{12},
         {},
         false});
  s.add({"dahua.reconnect_min_ms",
         ValueType::Int,
         std::int64_t{1000},
         "First delay before reconnecting to a device that went away; it doubles up to\n"
         "reconnect_max_s, with +-25% jitter so devices behind one switch do not\n"
         "reconnect together.",
         std::int64_t{100},
         std::int64_t{60000},
         {},
         false});
  s.add({"dahua.reconnect_max_s",
         ValueType::Int,
         std::int64_t{60},
         "Longest delay between reconnection attempts.",
         std::int64_t{1},
         std::int64_t{3600},
         {},
         false});
  s.add({"dahua.push_address",
         ValueType::String,
         std::string("0.0.0.0"),
         "Address the push listener binds (devices with mode push or both upload their\n"
         "events to it: EventHttpUpload / PictureHttpUpload, paths /EventHttpUpload and\n"
         "/PictureHttpUpload, Digest with the device's user and password). The listener\n"
         "runs only when a device uses push.",
         {},
         {},
         {},
         false});
  s.add({"dahua.push_port",
         ValueType::Int,
         std::int64_t{8091},
         "Port of the push listener (the device's UploadServerList[0].Port).",
         std::int64_t{1},
         std::int64_t{65535},
         {},
         false});
  s.add({"dahua.request_timeout_s",
         ValueType::Int,
         std::int64_t{10},
         "Time limit of one request to a device (connect, send, whole answer).",
         std::int64_t{1},
         std::int64_t{300},
         {},
         false});
  s.add({"dahua.backfill_max_age_h",
         ValueType::Int,
         std::int64_t{0},
         "On the first connection to a device (no stored cursor yet): how many hours of\n"
         "its stored records to read. 0: every record it holds. Later connections always\n"
         "continue from the stored cursor.",
         std::int64_t{0},
         std::int64_t{87600},
         {},
         false});
  s.add({"dahua.devices.*.host",
         ValueType::String,
         std::string(),
         "The device's address (IP literal or host name). Required. The table name\n"
         "(in place of \"SERIAL\" above) is the device's name in logs and metrics.",
         {},
         {},
         {},
         false});
  s.add({"dahua.devices.*.port",
         ValueType::Int,
         std::int64_t{0},
         "The device's HTTP(S) port; 0: 80, or 443 with https.",
         std::int64_t{0},
         std::int64_t{65535},
         {},
         false});
  s.add({"dahua.devices.*.https",
         ValueType::Bool,
         false,
         "Speak HTTPS to the device (the certificate is verified).",
         {},
         {},
         {},
         false});
  s.add({"dahua.devices.*.ca_file",
         ValueType::String,
         std::string(),
         "With https: PEM file of the CA (or the device's own certificate) to verify it\n"
         "against. Empty: the system's trust store.",
         {},
         {},
         {},
         false});
  s.add({"dahua.devices.*.user",
         ValueType::String,
         std::string("admin"),
         "The device account the gateway logs in with.",
         {},
         {},
         {},
         false});
  s.add({"dahua.devices.*.password",
         ValueType::String,
         std::string(),
         "Its password. Prefer password_file: one of the two is required.",
         {},
         {},
         {},
         false});
  s.add({"dahua.devices.*.password_file",
         ValueType::String,
         std::string(),
         "A file holding the password (first line). Refused when group or others may read\n"
         "or write it (chmod 600, owned by the service's user).",
         {},
         {},
         {},
         false});
  s.add({"dahua.devices.*.door_map",
         ValueType::StringList,
         std::vector<std::string>{},
         "Door numbering, as \"D=N\" entries: the device's event Door D (0-based) is the\n"
         "gateway's door N (1-based, also the URL channel of door commands). Doors not\n"
         "listed: N = D + 1.",
         {},
         {},
         {},
         false});
  s.add({"dahua.devices.*.schedules",
         ValueType::StringList,
         std::vector<std::string>{},
         "Door-right schedules, as \"Z=S\" entries: the gateway's time zone Z (an access\n"
         "level's zone) is the device's AccessTimeSchedule S (0..254, set up on the device;\n"
         "255 = always). Zone 1 is 255 unless listed. A level whose zone is not listed\n"
         "is not written to the device (its authorize_user fails as unsupported): a zone\n"
         "is never widened to \"always\".",
         {},
         {},
         {},
         false});
  s.add({"dahua.devices.*.time_policy",
         ValueType::String,
         std::string("utc"),
         "utc: the device's epoch times (RealUTC, UTC, CreateTime) are UTC, as documented.\n"
         "local: firmware that writes its wall time into them; they are read in the\n"
         "terminal's zone (terminals.<serial>.timezone, else gateway.timezone). Text\n"
         "CreateTime values are always the device's wall time.",
         {},
         {},
         {"utc", "local"},
         false});
  s.add({"dahua.devices.*.mode",
         ValueType::String,
         std::string("pull"),
         "pull: the gateway connects (backfill and event stream). push: the device uploads\n"
         "to the gateway's listener (dahua.push_port); the gateway logs in only to read its\n"
         "serial and to send commands. both: pull, and accept its uploads (stored once).",
         {},
         {},
         {"pull", "push", "both"},
         false});
  s.add({"dahua.devices.*.attendance",
         ValueType::Bool,
         false,
         "A time-and-attendance terminal: each granted passage (AccessControl) is also an\n"
         "attendance punch for the attendance rules, with its AttendanceState as the\n"
         "punch state. Off: passages are access events only.",
         {},
         {},
         {},
         false});
}

DahuaConfig DahuaConfig::from(const config::Config& c) {
  DahuaConfig d;
  d.enabled = c.get_bool("dahua.enabled");
  d.heartbeat_s = static_cast<int>(c.get_int("dahua.heartbeat_s"));
  d.page_size = static_cast<std::size_t>(c.get_int("dahua.page_size"));
  d.auth_attempts_per_hour = static_cast<int>(c.get_int("dahua.auth_attempts_per_hour"));
  d.reconnect_min = std::chrono::milliseconds(c.get_int("dahua.reconnect_min_ms"));
  d.reconnect_max = std::chrono::seconds(c.get_int("dahua.reconnect_max_s"));
  if (d.reconnect_max < d.reconnect_min) {
    d.reconnect_max = d.reconnect_min;
  }
  d.request_timeout = std::chrono::seconds(c.get_int("dahua.request_timeout_s"));
  d.push_address = c.get_string("dahua.push_address");
  d.push_port = static_cast<std::uint16_t>(c.get_int("dahua.push_port"));
  d.backfill_max_age_h = c.get_int("dahua.backfill_max_age_h");
  for (const auto& name : c.table_names(kDevices)) {
    DeviceConfig dev;
    dev.name = name;
    dev.host = c.get_string(key(name, "host"));
    dev.https = c.get_bool(key(name, "https"));
    auto port = c.get_int(key(name, "port"));
    dev.port = static_cast<std::uint16_t>(port != 0 ? port : (dev.https ? 443 : 80));
    dev.ca_file = c.get_string(key(name, "ca_file"));
    dev.user = c.get_string(key(name, "user"));
    dev.password = c.get_string(key(name, "password"));
    dev.password_file = c.get_string(key(name, "password_file"));
    for (const auto& entry : c.get_list(key(name, "door_map"))) {
      if (auto entry_door = parse_door_entry(entry)) {
        dev.door_map[entry_door->first] = entry_door->second;
      }
    }
    for (const auto& entry : c.get_list(key(name, "schedules"))) {
      if (auto z = parse_schedule_entry(entry)) {
        dev.schedules[z->first] = z->second;
      }
    }
    dev.time_policy =
        c.get_string(key(name, "time_policy")) == "local" ? TimePolicy::Local : TimePolicy::Utc;
    const auto& mode = c.get_string(key(name, "mode"));
    dev.mode = mode == "push" ? Mode::Push : mode == "both" ? Mode::Both : Mode::Pull;
    dev.attendance = c.get_bool(key(name, "attendance"));
    d.devices.push_back(std::move(dev));
  }
  return d;
}

std::string load_password(DeviceConfig& device) {
  if (device.password_file.empty()) {
    return {};
  }
  auto problem = config::read_secret_file(device.password_file, device.password);
  return problem.empty() ? problem : key(device.name, "password_file") + ": " + problem;
}

std::vector<config::ConfigError> DahuaConfig::validate(const config::Config& c) {
  std::vector<config::ConfigError> errors;
  auto d = from(c);
  if (!d.enabled) {
    return errors;
  }
  if (d.devices.empty()) {
    errors.push_back({"dahua.devices",
                      "dahua is enabled but no device is configured ([dahua.devices.\"name\"])"});
  }
  for (auto& dev : d.devices) {
    if (dev.host.empty()) {
      errors.push_back({key(dev.name, "host"), "is required"});
    }
    if (dev.user.empty()) {
      errors.push_back({key(dev.name, "user"), "is required"});
    }
    config::DeviceAccess access{dev.password, dev.password_file, dev.https, dev.ca_file};
    config::check_device_access(std::string(kDevices) + "." + dev.name, access, errors);
    std::set<int> doors;
    for (const auto& entry : c.get_list(key(dev.name, "door_map"))) {
      const auto mapped = parse_door_entry(entry);
      if (!mapped) {
        errors.push_back({key(dev.name, "door_map"),
                          "\"" + entry + "\" is not D=N (event Door 0..254 = door 1..255)"});
      } else if (!doors.insert(mapped->second).second) {
        errors.push_back({key(dev.name, "door_map"),
                          "door " + std::to_string(mapped->second) + " is mapped twice"});
      }
    }
    std::set<int> zones;
    for (const auto& entry : c.get_list(key(dev.name, "schedules"))) {
      const auto z = parse_schedule_entry(entry);
      if (!z) {
        errors.push_back({key(dev.name, "schedules"),
                          "\"" + entry + "\" is not Z=S (time zone 1..65535 = schedule 0..255)"});
      } else if (!zones.insert(z->first).second) {
        errors.push_back({key(dev.name, "schedules"),
                          "time zone " + std::to_string(z->first) + " is listed twice"});
      }
    }
  }
  return errors;
}

}  // namespace pushgate::adapters::dahua
