#include "adapters/suprema/sdk_config.hpp"

#include <set>

namespace pushgate::adapters::suprema::sdk {

using config::KeySpec;
using config::ValueType;

namespace {

constexpr std::string_view kDevices = "suprema_sdk.devices";

std::string key(const std::string& device, std::string_view field) {
  return std::string(kDevices) + "." + device + "." + std::string(field);
}

}  // namespace

void SdkConfig::declare(config::Schema& s) {
  s.describe_section(
      "suprema_sdk",
      "[suprema_sdk] — Suprema readers without a BioStar 2 server, through Suprema's\n"
      "BioStar 2 Device SDK (adapters/suprema/README.md, \"Device SDK path\"). The site\n"
      "installs libBS_SDK_V2.so from Suprema; pushgate loads it from `library` at start\n"
      "and never ships it. Devices are reached by address (TCP 51211) or dial the gateway\n"
      "(server mode, `server_port`); each one's log is backfilled from the last stored\n"
      "event id after every (re)connect, then monitored live. One table\n"
      "[suprema_sdk.devices.\"name\"] per device; its device id becomes the terminal's\n"
      "serial. Without the library the path is disabled (logged, /readyz says why).");
  s.add({"suprema_sdk.enabled",
         ValueType::Bool,
         false,
         "Run the Suprema device-SDK path.",
         {},
         {},
         {},
         false});
  s.add({"suprema_sdk.library",
         ValueType::String,
         std::string(),
         "Path of Suprema's device SDK library (libBS_SDK_V2.so, from the BioStar 2\n"
         "Device SDK for Linux). Loaded with dlopen; a missing file or entry point\n"
         "disables this path with a message naming it.",
         {},
         {},
         {},
         false});
  s.add({"suprema_sdk.server_port",
         ValueType::Int,
         std::int64_t{0},
         "Port devices in server mode dial (Suprema's default is 51212); 0: no server\n"
         "mode. Devices that dial in are accepted when a device table names their\n"
         "device_id; others follow gateway.unknown_terminals (pending: not served until\n"
         "approved).",
         std::int64_t{0},
         std::int64_t{65535},
         {},
         false});
  s.add({"suprema_sdk.page_size",
         ValueType::Int,
         std::int64_t{500},
         "Log rows asked for per BS2_GetLog call during a backfill; each page is\n"
         "committed with the device's cursor in one transaction.",
         std::int64_t{1},
         std::int64_t{10000},
         {},
         false});
  s.add({"suprema_sdk.handoff_queue",
         ValueType::Int,
         std::int64_t{10000},
         "Live log rows held between the SDK's threads and the gateway. When full, rows\n"
         "are not queued (counted in pushgate_suprema_sdk_handoff_overflow_total) and the\n"
         "device is backfilled from its cursor instead: nothing is lost.",
         std::int64_t{16},
         std::int64_t{1000000},
         {},
         false});
  s.add({"suprema_sdk.reconnect_min_ms",
         ValueType::Int,
         std::int64_t{1000},
         "First delay before connecting again to a device that went away; doubles up\n"
         "to reconnect_max_s.",
         std::int64_t{50},
         std::int64_t{60000},
         {},
         false});
  s.add({"suprema_sdk.reconnect_max_s",
         ValueType::Int,
         std::int64_t{60},
         "Longest delay between connection attempts.",
         std::int64_t{1},
         std::int64_t{3600},
         {},
         false});
  s.add({"suprema_sdk.devices.*.host",
         ValueType::String,
         std::string(),
         "Address of a device the gateway connects to (BS2_ConnectDeviceViaIP). Empty:\n"
         "the device dials the gateway (server mode; set device_id and server_port).",
         {},
         {},
         {},
         false});
  s.add({"suprema_sdk.devices.*.port",
         ValueType::Int,
         std::int64_t{51211},
         "The device's TCP port for direct connections.",
         std::int64_t{1},
         std::int64_t{65535},
         {},
         false});
  s.add({"suprema_sdk.devices.*.device_id",
         ValueType::Int,
         std::int64_t{0},
         "The device's id (its serial, printed on the device). Required in server mode;\n"
         "with a host, a connected device with another id is refused (0: not checked).\n"
         "The terminal's time zone is terminals.\"<device_id>\".timezone (device log\n"
         "times are its wall clock).",
         std::int64_t{0},
         std::int64_t{4294967295},
         {},
         false});
}

SdkConfig SdkConfig::from(const config::Config& c) {
  SdkConfig d;
  d.enabled = c.get_bool("suprema_sdk.enabled");
  d.library = c.get_string("suprema_sdk.library");
  d.server_port = static_cast<std::uint16_t>(c.get_int("suprema_sdk.server_port"));
  d.page_size = static_cast<std::uint32_t>(c.get_int("suprema_sdk.page_size"));
  d.handoff_queue = static_cast<std::size_t>(c.get_int("suprema_sdk.handoff_queue"));
  d.reconnect_min = std::chrono::milliseconds(c.get_int("suprema_sdk.reconnect_min_ms"));
  d.reconnect_max = std::chrono::seconds(c.get_int("suprema_sdk.reconnect_max_s"));
  if (d.reconnect_max < d.reconnect_min) {
    d.reconnect_max = d.reconnect_min;
  }
  for (const auto& name : c.table_names(kDevices)) {
    SdkDeviceConfig dev;
    dev.name = name;
    dev.host = c.get_string(key(name, "host"));
    dev.port = static_cast<std::uint16_t>(c.get_int(key(name, "port")));
    dev.device_id = static_cast<std::uint32_t>(c.get_int(key(name, "device_id")));
    d.devices.push_back(std::move(dev));
  }
  return d;
}

std::vector<config::ConfigError> SdkConfig::validate(const config::Config& c) {
  std::vector<config::ConfigError> errors;
  if (!c.get_bool("suprema_sdk.enabled")) {
    return errors;
  }
  const auto d = from(c);
  if (d.library.empty()) {
    errors.push_back({"suprema_sdk.library",
                      "set it to the path of Suprema's libBS_SDK_V2.so (not shipped with "
                      "pushgate)"});
  }
  std::set<std::uint32_t> ids;
  for (const auto& dev : d.devices) {
    if (dev.server_mode()) {
      if (dev.device_id == 0) {
        errors.push_back({key(dev.name, "device_id"),
                          "a device without host dials the gateway: its device_id is required"});
      }
      if (d.server_port == 0) {
        errors.push_back(
            {key(dev.name, "host"), "empty (server mode) but suprema_sdk.server_port is 0"});
      }
    }
    if (dev.device_id != 0 && !ids.insert(dev.device_id).second) {
      errors.push_back({key(dev.name, "device_id"),
                        std::to_string(dev.device_id) + " is named by another device"});
    }
  }
  return errors;
}

}  // namespace pushgate::adapters::suprema::sdk
