#pragma once

// Loads Suprema's device SDK library from the configured path at run time
// (dlopen, then dlsym of every entry point sdk_api.hpp declares). The package
// never ships or downloads the library: without it the suprema_sdk path is
// disabled and says why, naming the file and the symbol.

#include <memory>
#include <string>

#include "adapters/suprema/sdk_api.hpp"

namespace pushgate::adapters::suprema::sdk {

/** The entry points of one loaded library; all set when load_sdk() succeeded. */
struct SdkApi {
  FnVersion version = nullptr;
  FnAllocateContext allocate_context = nullptr;
  FnReleaseContext release_context = nullptr;
  FnInitialize initialize = nullptr;
  FnReleaseObject release_object = nullptr;
  FnSetDeviceEventListener set_device_event_listener = nullptr;
  FnSetServerPort set_server_port = nullptr;
  FnConnectDeviceViaIP connect_device_via_ip = nullptr;
  FnDisconnectDevice disconnect_device = nullptr;
  FnStartMonitoringLog start_monitoring_log = nullptr;
  FnStopMonitoringLog stop_monitoring_log = nullptr;
  FnGetLog get_log = nullptr;
  FnDoorAction unlock_door = nullptr;
  FnDoorAction lock_door = nullptr;
  FnDoorAction release_door = nullptr;
  FnGetDoorStatus get_door_status = nullptr;
  FnEnrolUser enrol_user = nullptr;
  FnRemoveUser remove_user = nullptr;
  FnMakePinCode make_pin_code = nullptr;
};

/** What load_sdk() gave. */
struct SdkLoad {
  std::shared_ptr<const SdkApi> api;  ///< null when the library cannot be used
  std::string error;                  ///< one sentence naming the file (and the symbol)
  std::string missing_symbol;         ///< the first entry point not found, "" otherwise
};

/**
 * dlopen(`path`) and resolve every entry point. The library stays loaded for
 * the life of the process once it was used (an SDK's threads may outlive a
 * context). A file that cannot be loaded or lacks a symbol is closed again.
 */
SdkLoad load_sdk(const std::string& path);

}  // namespace pushgate::adapters::suprema::sdk
