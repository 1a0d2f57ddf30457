#pragma once
// [suprema_sdk] and [suprema_sdk.devices."name"]: the device-SDK path's keys,
// read once into plain values, and the checks the schema cannot make.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "gateway/config/config.hpp"

namespace pushgate::adapters::suprema::sdk {

struct SdkDeviceConfig {
  std::string name;  ///< the table name in [suprema_sdk.devices."name"]
  std::string host;  ///< "" for a device that dials the gateway (server mode)
  std::uint16_t port = 51211;
  std::uint32_t device_id = 0;  ///< required in server mode; checked after a direct connect
  bool server_mode() const noexcept { return host.empty(); }
};

struct SdkConfig {
  bool enabled = false;
  std::string library;
  std::uint16_t server_port = 0;  ///< 0: no server mode
  std::uint32_t page_size = 500;
  std::size_t handoff_queue = 10000;
  std::chrono::milliseconds reconnect_min{1000};
  std::chrono::milliseconds reconnect_max{60000};
  std::vector<SdkDeviceConfig> devices;

  static void declare(config::Schema& schema);
  static SdkConfig from(const config::Config& config);
  /** What start() refuses, one error per key. */
  static std::vector<config::ConfigError> validate(const config::Config& config);
};

}  // namespace pushgate::adapters::suprema::sdk
