// The table of adapters compiled into pushgated: one line each, guarded by
// its CMake option (PUSHGATE_ADAPTER_<NAME>).
#include <array>

#include "gateway/adapter.hpp"
#include "gateway/config/core_config.hpp"

#ifdef PUSHGATE_ADAPTER_ZKPUSH
#include "adapters/zkpush/zkpush_adapter.hpp"
#endif
#ifdef PUSHGATE_ADAPTER_MQTT
#include "adapters/mqtt/mqtt_adapter.hpp"
#endif
#ifdef PUSHGATE_ADAPTER_MODBUS
#include "adapters/modbus/modbus_adapter.hpp"
#endif
#ifdef PUSHGATE_ADAPTER_DAHUA
#include "adapters/dahua/dahua_adapter.hpp"
#endif
#ifdef PUSHGATE_ADAPTER_SUPREMA_SDK
#include "adapters/suprema/sdk_adapter.hpp"
#endif
#ifdef PUSHGATE_ADAPTER_SUPREMA
#include "adapters/suprema/suprema_adapter.hpp"
#endif

namespace pushgate {

namespace {
const AdapterRegistration kAdapters[] = {
#ifdef PUSHGATE_ADAPTER_ZKPUSH
    {"zkpush", &adapters::zkpush::ZkpushAdapter::declare_config,
     &adapters::zkpush::ZkpushAdapter::create, &adapters::zkpush::ZkpushAdapter::validate_config},
#endif
#ifdef PUSHGATE_ADAPTER_MQTT
    {"mqtt", &adapters::mqtt::MqttAdapter::declare_config, &adapters::mqtt::MqttAdapter::create,
     &adapters::mqtt::MqttAdapter::validate_config},
#endif
#ifdef PUSHGATE_ADAPTER_MODBUS
    {"modbus", &adapters::modbus::ModbusAdapter::declare_config,
     &adapters::modbus::ModbusAdapter::create, &adapters::modbus::ModbusAdapter::validate_config},
#endif
#ifdef PUSHGATE_ADAPTER_DAHUA
    {"dahua", &adapters::dahua::DahuaAdapter::declare_config,
     &adapters::dahua::DahuaAdapter::create, &adapters::dahua::DahuaAdapter::validate_config},
#endif
#ifdef PUSHGATE_ADAPTER_SUPREMA_SDK
    {"suprema_sdk", &adapters::suprema::sdk::SdkAdapter::declare_config,
     &adapters::suprema::sdk::SdkAdapter::create,
     &adapters::suprema::sdk::SdkAdapter::validate_config},
#endif
#ifdef PUSHGATE_ADAPTER_SUPREMA
    {"suprema", &adapters::suprema::SupremaAdapter::declare_config,
     &adapters::suprema::SupremaAdapter::create,
     &adapters::suprema::SupremaAdapter::validate_config},
#endif
};
}  // namespace

std::span<const AdapterRegistration> registered_adapters() {
  return kAdapters;
}

config::Schema build_schema() {
  config::Schema schema;
  config::declare_core_config(schema);
  for (const auto& a : registered_adapters()) {
    a.declare_config(schema);
  }
  return schema;
}

}  // namespace pushgate
