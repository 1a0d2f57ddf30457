#include "adapters/suprema/sdk_loader.hpp"

#include <dlfcn.h>

namespace pushgate::adapters::suprema::sdk {

namespace {

template <typename Fn>
bool resolve(void* handle, const char* symbol, Fn& out, SdkLoad& load, const std::string& path) {
  ::dlerror();
  void* p = ::dlsym(handle, symbol);
  if (p == nullptr) {
    load.missing_symbol = symbol;
    load.error = "Suprema device SDK " + path + " has no symbol " + symbol +
                 " (not the BioStar 2 Device SDK, or a version without it)";
    return false;
  }
  out = reinterpret_cast<Fn>(p);
  return true;
}

}  // namespace

SdkLoad load_sdk(const std::string& path) {
  SdkLoad load;
  if (path.empty()) {
    load.error = "suprema_sdk.library is not set (the path of libBS_SDK_V2.so)";
    return load;
  }
  ::dlerror();
  void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = ::dlerror();
    load.error = "cannot load the Suprema device SDK " + path + ": " +
                 (why != nullptr ? why : "dlopen failed");
    return load;
  }
  auto api = std::make_shared<SdkApi>();
  const bool ok =
      resolve(handle, "BS2_Version", api->version, load, path) &&
      resolve(handle, "BS2_AllocateContext", api->allocate_context, load, path) &&
      resolve(handle, "BS2_ReleaseContext", api->release_context, load, path) &&
      resolve(handle, "BS2_Initialize", api->initialize, load, path) &&
      resolve(handle, "BS2_ReleaseObject", api->release_object, load, path) &&
      resolve(handle, "BS2_SetDeviceEventListener", api->set_device_event_listener, load, path) &&
      resolve(handle, "BS2_SetServerPort", api->set_server_port, load, path) &&
      resolve(handle, "BS2_ConnectDeviceViaIP", api->connect_device_via_ip, load, path) &&
      resolve(handle, "BS2_DisconnectDevice", api->disconnect_device, load, path) &&
      resolve(handle, "BS2_StartMonitoringLog", api->start_monitoring_log, load, path) &&
      resolve(handle, "BS2_StopMonitoringLog", api->stop_monitoring_log, load, path) &&
      resolve(handle, "BS2_GetLog", api->get_log, load, path) &&
      resolve(handle, "BS2_UnlockDoor", api->unlock_door, load, path) &&
      resolve(handle, "BS2_LockDoor", api->lock_door, load, path) &&
      resolve(handle, "BS2_ReleaseDoor", api->release_door, load, path) &&
      resolve(handle, "BS2_GetDoorStatus", api->get_door_status, load, path) &&
      resolve(handle, "BS2_EnrolUser", api->enrol_user, load, path) &&
      resolve(handle, "BS2_RemoveUser", api->remove_user, load, path) &&
      resolve(handle, "BS2_MakePinCode", api->make_pin_code, load, path);
  if (!ok) {
    ::dlclose(handle);
    return load;
  }
  load.api = std::move(api);  // the handle stays open for the life of the process
  return load;
}

}  // namespace pushgate::adapters::suprema::sdk
