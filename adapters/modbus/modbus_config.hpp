#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/config/config.hpp"

namespace pushgate::adapters::modbus {

/** Client addresses allowed to write: IPv4/IPv6 addresses or CIDR networks. */
class AllowList {
 public:
  /** Parses every entry; a bad one is named in `error` and the list is empty. */
  static AllowList parse(const std::vector<std::string>& entries, std::string& error);
  /** Whether `address` (text, as getpeername gives it; "::ffff:a.b.c.d" too) is inside. */
  bool allows(std::string_view address) const;
  bool empty() const noexcept { return networks_.empty(); }

 private:
  struct Network {
    std::array<unsigned char, 16> bytes{};
    bool v4 = true;
    int prefix = 0;
  };
  std::vector<Network> networks_;
};

/** The [modbus] keys, declared in modbus_config.cpp. */
struct ModbusConfig {
  bool enabled = false;
  std::string listen = "0.0.0.0";
  std::uint16_t port = 1502;
  std::size_t max_clients = 16;
  std::chrono::seconds idle_timeout{300};
  std::uint16_t slot_count = 16;
  std::vector<std::string> slots;  ///< serial per slot, in order ("" leaves a slot free)
  bool auto_assign = true;
  std::uint8_t flat_unit_id = 255;
  bool writes_enabled = false;
  std::vector<std::string> write_allow;
  bool coils_enabled = false;
  int coil_open_seconds = 5;
  std::chrono::seconds command_ttl{60};
  std::chrono::milliseconds refresh{1000};
  std::chrono::seconds offline_after{60};

  static void declare(config::Schema& schema);
  static ModbusConfig from(const config::Config& config);
  /** Checks what the schema cannot (unit ids, slot list); "" when fine. */
  std::string validate() const;
};

}  // namespace pushgate::adapters::modbus
