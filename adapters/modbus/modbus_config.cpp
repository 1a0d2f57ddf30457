#include "adapters/modbus/modbus_config.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <set>

#include "adapters/modbus/modbus_map.hpp"

namespace pushgate::adapters::modbus {

using config::KeySpec;
using config::ValueType;

void ModbusConfig::declare(config::Schema& s) {
  s.describe_section(
      "modbus",
      "[modbus] — Modbus TCP server for building-management systems and PLCs: door,\n"
      "relay and alarm state, terminal health and the last access event as registers,\n"
      "and a command mailbox. The register map is in adapters/modbus/README.md and\n"
      "register-map.csv. Reads need no authentication (Modbus has none): listen on the\n"
      "BMS network only. Writes are off unless writes_enabled and write_allow say so.");
  s.add({"modbus.enabled", ValueType::Bool, false, "Serve Modbus TCP.", {}, {}, {}, false});
  s.add({"modbus.listen",
         ValueType::String,
         std::string("0.0.0.0"),
         "Address to listen on (IPv4 or IPv6 literal).",
         {},
         {},
         {},
         false});
  s.add({"modbus.port",
         ValueType::Int,
         std::int64_t{1502},
         "TCP port. The Modbus standard port 502 is below 1024 and needs\n"
         "CAP_NET_BIND_SERVICE (systemd/privileged-port.conf); 1502 works without it.",
         std::int64_t{0},
         std::int64_t{65535},
         {},
         false});
  s.add({"modbus.max_clients",
         ValueType::Int,
         std::int64_t{16},
         "Most simultaneous client connections (one thread each); more are closed at once.",
         std::int64_t{1},
         std::int64_t{256},
         {},
         false});
  s.add({"modbus.idle_timeout_s",
         ValueType::Int,
         std::int64_t{300},
         "A client that sends nothing for this long is disconnected.",
         std::int64_t{1},
         std::int64_t{86400},
         {},
         false});
  s.add({"modbus.slot_count",
         ValueType::Int,
         std::int64_t{16},
         "Terminal slots served: unit ids 1..slot_count, and that many blocks in the\n"
         "flat layout. Changing it moves nothing: slot n is always at the same address.",
         std::int64_t{1},
         std::int64_t{kMaxSlots},
         {},
         false});
  s.add({"modbus.slots",
         ValueType::StringList,
         std::vector<std::string>{},
         "Terminal serial per slot, in order: the first is slot 1; \"\" leaves a slot to\n"
         "automatic assignment. A serial listed here takes its slot even if it was\n"
         "assigned another one before.",
         {},
         {},
         {},
         false});
  s.add({"modbus.auto_assign",
         ValueType::Bool,
         true,
         "Give a terminal not listed in modbus.slots the lowest free slot when it is first\n"
         "seen. The assignment is stored and kept across restarts.",
         {},
         {},
         {},
         false});
  s.add({"modbus.flat_unit_id",
         ValueType::Int,
         std::int64_t{255},
         "Unit id that serves the flat layout (every slot); unit id 0 does too. Must\n"
         "not be a slot's unit id (1..slot_count).",
         std::int64_t{0},
         std::int64_t{255},
         {},
         false});
  s.add({"modbus.writes_enabled",
         ValueType::Bool,
         false,
         "Accept writes (the command mailbox and coils). Off: every write is answered\n"
         "with exception 01 (illegal function), logged and counted.",
         {},
         {},
         {},
         true});
  s.add({"modbus.write_allow",
         ValueType::StringList,
         std::vector<std::string>{},
         "Client addresses or networks (\"10.0.5.20\", \"10.0.5.0/24\", \"fd00::/8\") that may\n"
         "write when writes_enabled. Empty: nobody.",
         {},
         {},
         {},
         true});
  s.add({"modbus.coils_enabled",
         ValueType::Bool,
         false,
         "Serve the self-clearing command coils (open door, cancel alarm) for BMS tools\n"
         "that can only write coils. Writes still need writes_enabled and write_allow.",
         {},
         {},
         {},
         false});
  s.add({"modbus.coil_open_seconds",
         ValueType::Int,
         std::int64_t{5},
         "How long an open-door coil opens the door.",
         std::int64_t{1},
         std::int64_t{254},
         {},
         true});
  s.add({"modbus.command_ttl_s",
         ValueType::Int,
         std::int64_t{60},
         "How long a command from the mailbox or a coil may wait for its terminal; past\n"
         "it the command expires undelivered (a door must not open an hour after the BMS\n"
         "asked, when an offline terminal comes back).",
         std::int64_t{5},
         std::int64_t{86400},
         {},
         true});
  s.add({"modbus.refresh_ms",
         ValueType::Int,
         std::int64_t{1000},
         "How often the registers are refreshed from the gateway's state (heartbeat).",
         std::int64_t{100},
         std::int64_t{60000},
         {},
         false});
  s.add({"modbus.offline_after_s",
         ValueType::Int,
         std::int64_t{60},
         "A terminal not heard from for this long reads as offline, and its doors as\n"
         "unknown. Keep it above twice the terminals' poll delay (zkpush.delay_s).\n"
         "Devices the gateway holds a link to (Dahua) follow their link state at once.",
         std::int64_t{5},
         std::int64_t{86400},
         {},
         false});
}

ModbusConfig ModbusConfig::from(const config::Config& c) {
  ModbusConfig m;
  m.enabled = c.get_bool("modbus.enabled");
  m.listen = c.get_string("modbus.listen");
  m.port = static_cast<std::uint16_t>(c.get_int("modbus.port"));
  m.max_clients = static_cast<std::size_t>(c.get_int("modbus.max_clients"));
  m.idle_timeout = std::chrono::seconds(c.get_int("modbus.idle_timeout_s"));
  m.slot_count = static_cast<std::uint16_t>(c.get_int("modbus.slot_count"));
  m.slots = c.get_list("modbus.slots");
  m.auto_assign = c.get_bool("modbus.auto_assign");
  m.flat_unit_id = static_cast<std::uint8_t>(c.get_int("modbus.flat_unit_id"));
  m.writes_enabled = c.get_bool("modbus.writes_enabled");
  m.write_allow = c.get_list("modbus.write_allow");
  m.coils_enabled = c.get_bool("modbus.coils_enabled");
  m.coil_open_seconds = static_cast<int>(c.get_int("modbus.coil_open_seconds"));
  m.command_ttl = std::chrono::seconds(c.get_int("modbus.command_ttl_s"));
  m.refresh = std::chrono::milliseconds(c.get_int("modbus.refresh_ms"));
  m.offline_after = std::chrono::seconds(c.get_int("modbus.offline_after_s"));
  return m;
}

std::string ModbusConfig::validate() const {
  if (flat_unit_id >= 1 && flat_unit_id <= slot_count) {
    return "modbus.flat_unit_id " + std::to_string(flat_unit_id) +
           " is the unit id of a slot (1.." + std::to_string(slot_count) + ")";
  }
  if (slots.size() > slot_count) {
    return "modbus.slots lists " + std::to_string(slots.size()) + " serials for " +
           std::to_string(slot_count) + " slots (modbus.slot_count)";
  }
  std::set<std::string> seen;
  for (const auto& sn : slots) {
    if (!sn.empty() && !seen.insert(sn).second) {
      return "modbus.slots lists " + sn + " twice";
    }
  }
  std::string error;
  AllowList::parse(write_allow, error);
  return error;
}

AllowList AllowList::parse(const std::vector<std::string>& entries, std::string& error) {
  AllowList list;
  for (const auto& entry : entries) {
    std::string addr = entry;
    int prefix = -1;
    if (auto slash = entry.find('/'); slash != std::string::npos) {
      addr = entry.substr(0, slash);
      auto bits = std::string_view(entry).substr(slash + 1);
      auto [p, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), prefix);
      if (ec != std::errc{} || p != bits.data() + bits.size() || prefix < 0) {
        error = "modbus.write_allow: bad prefix length in \"" + entry + "\"";
        return {};
      }
    }
    Network n;
    if (inet_pton(AF_INET, addr.c_str(), n.bytes.data()) == 1) {
      n.v4 = true;
      n.prefix = prefix < 0 ? 32 : prefix;
      if (n.prefix > 32) {
        error = "modbus.write_allow: prefix over 32 in \"" + entry + "\"";
        return {};
      }
    } else if (inet_pton(AF_INET6, addr.c_str(), n.bytes.data()) == 1) {
      n.v4 = false;
      n.prefix = prefix < 0 ? 128 : prefix;
      if (n.prefix > 128) {
        error = "modbus.write_allow: prefix over 128 in \"" + entry + "\"";
        return {};
      }
    } else {
      error = "modbus.write_allow: \"" + entry + "\" is not an IP address or CIDR network";
      return {};
    }
    list.networks_.push_back(n);
  }
  return list;
}

bool AllowList::allows(std::string_view address) const {
  std::string text(address);
  std::array<unsigned char, 16> bytes{};
  bool v4 = true;
  if (text.rfind("::ffff:", 0) == 0 && text.find('.') != std::string::npos) {
    text = text.substr(7);  // an IPv4 client on a dual-stack socket
  }
  if (inet_pton(AF_INET, text.c_str(), bytes.data()) != 1) {
    if (inet_pton(AF_INET6, text.c_str(), bytes.data()) != 1) {
      return false;
    }
    v4 = false;
  }
  for (const auto& n : networks_) {
    if (n.v4 != v4) {
      continue;
    }
    int full = n.prefix / 8;
    int rest = n.prefix % 8;
    bool match = true;
    for (int i = 0; i < full && match; ++i) {
      match = bytes[static_cast<std::size_t>(i)] == n.bytes[static_cast<std::size_t>(i)];
    }
    if (match && rest != 0) {
      auto mask = static_cast<unsigned char>(0xFF << (8 - rest));
      match = (bytes[static_cast<std::size_t>(full)] & mask) ==
              (n.bytes[static_cast<std::size_t>(full)] & mask);
    }
    if (match) {
      return true;
    }
  }
  return false;
}

}  // namespace pushgate::adapters::modbus
