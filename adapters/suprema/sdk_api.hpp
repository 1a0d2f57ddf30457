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

/** BS2User ("User Management API" → BS2User), 48 bytes. */
struct User {
  char user_id[kUserIdSize];
  std::uint8_t format_version;
  std::uint8_t flag;
  std::uint16_t version;
  std::uint8_t num_cards;
  std::uint8_t num_fingers;
  std::uint8_t num_faces;
  std::uint8_t reserved2;
  std::uint32_t auth_group_id;
  std::uint32_t face_checksum;
};

/** BS2UserSetting: validity (BS2_DATETIME, seconds) and per-credential auth modes, 12 bytes. */
struct UserSetting {
  std::uint32_t start_time;
  std::uint32_t end_time;
  std::uint8_t finger_auth_mode;
  std::uint8_t card_auth_mode;
  std::uint8_t id_auth_mode;
  std::uint8_t security_level;
};

inline constexpr std::size_t kUserNameSize = 48 * 4;      ///< BS2_USER_NAME_SIZE (UTF-8)
inline constexpr std::size_t kUserPhotoSize = 16 * 1024;  ///< BS2_USER_PHOTO_SIZE
inline constexpr std::size_t kUserPinSize = 32;           ///< BS2_USER_PIN_SIZE (a SHA-256 hash)
inline constexpr std::size_t kMaxAccessGroupsPerUser =
    16;  ///< BS2_MAX_NUM_OF_ACCESS_GROUP_PER_USER
/** BS2_AUTH_MODE_NONE: the user has no mode of its own (the device's default applies). */
inline constexpr std::uint8_t kAuthModeNone = 255;

/**
 * BS2UserBlob (BS_API.h, packed to 1; BS2_EnrolUser's argument, SDK 2.6):
 * user, setting, name, photo {size, data}, pin, the card / finger / face
 * arrays as pointers, access group ids.
 */
struct UserBlob {
  User user;
  UserSetting setting;
  std::uint8_t user_name[kUserNameSize];
  std::uint32_t photo_size;
  std::uint8_t photo_data[kUserPhotoSize];
  std::uint8_t pin[kUserPinSize];
  void* card_objs;
  void* finger_objs;
  void* face_objs;
  std::uint32_t access_group_id[kMaxAccessGroupsPerUser];
};

/** BS2_CARD_DATA_SIZE: the bytes of a card's data. */
inline constexpr std::size_t kCardDataSize = 32;
/** BS2_CARD_TYPE_CSN: a card known by its serial number ("Card" → BS2_CARD_TYPE). */
inline constexpr std::uint8_t kCardTypeCsn = 0x01;
/** The longest PIN the adapter hands BS2_MakePinCode (the devices' PINs are up to 16 digits). */
inline constexpr std::size_t kMaxPinLength = 16;
/**
 * BS2CSNCard ("User Management API" → BS2CSNCard; BS2CSNCard.h), 34 bytes:
 * type, size (the bytes of data used: BS2_CARD_DATA_SIZE), data. A card
 * number is written big-endian at the end of data (the SDK examples).
 */
struct CsnCard {
  std::uint8_t type;
  std::uint8_t size;
  std::uint8_t data[kCardDataSize];
};

/** BS2DoorStatus ("Door Control API" → BS2_GetDoorStatus), 16 bytes. */
struct DoorStatus {
  DoorId id;
  std::uint8_t opened;
  std::uint8_t unlocked;
  std::uint8_t held_opened;
  DoorFlag unlock_flags;
  DoorFlag lock_flags;
  std::uint8_t alarm_flags;  ///< BS2_DOOR_ALARM_FLAG: 0x01 forced open, 0x02 held open, 0x04 APB
  std::uint8_t reserved[2];
  Timestamp last_open_time;
};
#pragma pack(pop)

static_assert(sizeof(DoorStatus) == 16, "BS2DoorStatus is 16 bytes");
static_assert(offsetof(DoorStatus, alarm_flags) == 9);
static_assert(offsetof(DoorStatus, last_open_time) == 12);
static_assert(sizeof(CsnCard) == 34, "BS2CSNCard is 34 bytes");
static_assert(offsetof(CsnCard, data) == 2);
static_assert(sizeof(User) == 48, "BS2User is 48 bytes");
static_assert(offsetof(User, num_cards) == 36);
static_assert(offsetof(User, auth_group_id) == 40);
static_assert(sizeof(UserSetting) == 12, "BS2UserSetting is 12 bytes");
static_assert(offsetof(UserBlob, setting) == 48);
static_assert(offsetof(UserBlob, user_name) == 60);
static_assert(offsetof(UserBlob, photo_size) == 252);
static_assert(offsetof(UserBlob, pin) == 16640);
static_assert(offsetof(UserBlob, card_objs) == 16672);
static_assert(offsetof(UserBlob, access_group_id) == 16672 + 3 * sizeof(void*));

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
/** BS2_GetDoorStatus: `*statuses` is freed with BS2_ReleaseObject ("Door Control API"). */
using FnGetDoorStatus = int (*)(void* context, DeviceId device, DoorId* doors, std::uint32_t count,
                                DoorStatus** statuses, std::uint32_t* got);
/** BS2_EnrolUser: adds or (overwrite = 1) replaces users ("User Management API"). */
using FnEnrolUser = int (*)(void* context, DeviceId device, UserBlob* users, std::uint32_t count,
                            std::uint8_t overwrite);
/**
 * BS2_MakePinCode: the 32-byte form of a PIN (`plaintext`, NUL-terminated
 * digits) that BS2UserBlob.pin holds ("User Management API"; BS_API.h).
 */
using FnMakePinCode = int (*)(void* context, char* plaintext, unsigned char* ciphertext);
/** BS2_RemoveUser: removes users by id, `count` BS2_USER_IDs of 32 bytes each. */
using FnRemoveUser = int (*)(void* context, DeviceId device, char* user_ids, std::uint32_t count);
}

}  // namespace pushgate::adapters::suprema::sdk
