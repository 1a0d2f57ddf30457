#pragma once

// The BioStar 2 Device SDK (libBS_SDK_V2.so) as the suprema_sdk adapter uses
// it: only the entry points, callback types and structures it calls,
// declared from Suprema's public function reference (kb.supremainc.com,
// "BioStar 2 Device SDK" → API Reference; the same declarations ship in the
// SDK's Include/BS_API.h, Include/BS_Errno.h and Include/BSCommon/data/
// BS2Event.h, supremainc/BioStar2_device_SDK on GitHub, 2.6.x). Nothing here
// is Suprema's code; the library is loaded at run time (sdk_loader.hpp) and
// never shipped.
//
// Every function returns an int result: BS_SDK_SUCCESS (1) or a negative
// BS_SDK_ERROR_* code (reference: "Error Code" page).

#include <cstddef>
#include <cstdint>

namespace pushgate::adapters::suprema::sdk {

// Scalar types (reference: "Types" / BS2Types.h).
using DeviceId = std::uint32_t;   ///< BS2_DEVICE_ID
using EventId = std::uint32_t;    ///< BS2_EVENT_ID: the device's log row id, ascending
using Timestamp = std::uint32_t;  ///< BS2_TIMESTAMP: seconds, the device's local wall clock
using Port = std::uint16_t;       ///< BS2_PORT
using DoorId = std::uint32_t;     ///< BS2_DOOR_ID
using DoorFlag = std::uint8_t;    ///< BS2_DOOR_FLAG

/** BS_SDK_SUCCESS ("Error Code" page). */
inline constexpr int kSuccess = 1;
/** BS2_USER_ID: a NUL-padded text of 32 bytes ("User Management API" → BS2User). */
inline constexpr std::size_t kUserIdSize = 32;
/** BS2_TCP_DEVICE_PORT_DEFAULT: a device listens on it for direct connections. */
inline constexpr Port kDefaultDevicePort = 51211;
/** BS2_TCP_SERVER_PORT_DEFAULT: devices in server mode dial it. */
inline constexpr Port kDefaultServerPort = 51212;

/** BS2_DOOR_FLAG ("Door Control API" → BS2_UnlockDoor): who asked for the door change. */
inline constexpr DoorFlag kDoorFlagNone = 0x00;
inline constexpr DoorFlag kDoorFlagSchedule = 0x01;
inline constexpr DoorFlag kDoorFlagEmergency = 0x02;
inline constexpr DoorFlag kDoorFlagOperator = 0x04;

#pragma pack(push, 1)
/**
 * BS2Event ("Log Management API" → BS2Event structure), 48 bytes:
 *
 * | offset | size | field |
 * |---|---|---|
 * | 0 | 4 | id (BS2_EVENT_ID) |
 * | 4 | 4 | dateTime (BS2_TIMESTAMP, device local) |
 * | 8 | 4 | deviceID |
 * | 12 | 32 | union: userID (text) / doorID / zoneID / ioDevice {deviceID, port, value} |
 * | 44 | 2 | code (low byte subCode, high byte mainCode) |
 * | 46 | 1 | param (T&A key, floor index, alarm flags) |
 * | 47 | 1 | bits since 2.6.0: image:1, isDST:1, half:1, hour:4, negative:1 |
 *
 * The union is kept as bytes: which member holds depends on the code
 * (sdk_event.hpp reads it).
 */
struct Event {
  EventId id;
  Timestamp date_time;
  DeviceId device_id;
  unsigned char payload[kUserIdSize];
  std::uint16_t code;
  std::uint8_t param;
  std::uint8_t flags;
};
#pragma pack(pop)

static_assert(sizeof(Event) == 48, "BS2Event is 48 bytes");
static_assert(offsetof(Event, id) == 0);
static_assert(offsetof(Event, date_time) == 4);
static_assert(offsetof(Event, device_id) == 8);
static_assert(offsetof(Event, payload) == 12);
static_assert(offsetof(Event, code) == 44);
static_assert(offsetof(Event, param) == 46);
static_assert(offsetof(Event, flags) == 47);

extern "C" {
// Callback types ("Communication API" → BS2_SetDeviceEventListener; "Log
// Management API" → BS2_StartMonitoringLog). They run on the SDK's threads.
using OnDeviceFound = void (*)(DeviceId device);
using OnDeviceAccepted = void (*)(DeviceId device);
using OnDeviceConnected = void (*)(DeviceId device);
using OnDeviceDisconnected = void (*)(DeviceId device);
using OnLogReceived = void (*)(DeviceId device, const Event* event);

// Entry points, one pointer type each.
/** BS2_Version: the SDK's version text ("SDK API"). */
using FnVersion = const char* (*)();
/** BS2_AllocateContext: a new context, nullptr on failure ("SDK API"). */
using FnAllocateContext = void* (*)();
/** BS2_ReleaseContext: ends the context and its threads ("SDK API"). */
using FnReleaseContext = void (*)(void* context);
/** BS2_Initialize: starts the context ("SDK API"). */
using FnInitialize = int (*)(void* context);
/** BS2_ReleaseObject: frees an array the SDK allocated (GetLog's logs) ("SDK API"). */
using FnReleaseObject = void (*)(void* object);
/** BS2_SetDeviceEventListener ("Communication API"). */
using FnSetDeviceEventListener = int (*)(void* context, OnDeviceFound found,
                                         OnDeviceAccepted accepted, OnDeviceConnected connected,
                                         OnDeviceDisconnected disconnected);
/** BS2_SetServerPort: the port server-mode devices dial ("Communication API"). */
using FnSetServerPort = int (*)(void* context, Port port);
/** BS2_ConnectDeviceViaIP: connects to a device by address and port, gives its id. */
using FnConnectDeviceViaIP = int (*)(void* context, const char* address, Port port,
                                     DeviceId* device);
/** BS2_DisconnectDevice ("Communication API"). */
using FnDisconnectDevice = int (*)(void* context, DeviceId device);
/** BS2_StartMonitoringLog: every new log row of the device, as it happens ("Log API"). */
using FnStartMonitoringLog = int (*)(void* context, DeviceId device, OnLogReceived received);
/** BS2_StopMonitoringLog ("Log Management API"). */
using FnStopMonitoringLog = int (*)(void* context, DeviceId device);
/**
 * BS2_GetLog: up to `amount` rows starting at event id `event_id` (0: from
 * the oldest); `*logs` is freed with BS2_ReleaseObject ("Log Management API").
 */
using FnGetLog = int (*)(void* context, DeviceId device, EventId event_id, std::uint32_t amount,
                         Event** logs, std::uint32_t* count);
/** BS2_UnlockDoor / BS2_LockDoor / BS2_ReleaseDoor ("Door Control API"). */
using FnDoorAction = int (*)(void* context, DeviceId device, DoorFlag flag, DoorId* doors,
                             std::uint32_t count);
}

}  // namespace pushgate::adapters::suprema::sdk
