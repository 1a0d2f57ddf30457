// The fake BioStar 2 Device SDK (see fake_bs_sdk.h). Declarations here are
// this file's own, written from Suprema's function reference: BS2Event is 48
// bytes (id, dateTime, deviceID, a 32-byte union led by userID, code, param,
// one byte of flags); every function returns BS_SDK_SUCCESS (1) or a
// negative BS_SDK_ERROR_*; callbacks run on the SDK's own threads.
#include "tests/sim/fake_bs_sdk/fake_bs_sdk.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#define FAKESDK_EXPORT extern "C" __attribute__((visibility("default")))

namespace {

constexpr int kSuccess = 1;                 // BS_SDK_SUCCESS
constexpr int kCannotConnectSocket = -102;  // BS_SDK_ERROR_CANNOT_CONNECT_SOCKET
constexpr int kSocketNotConnected = -107;   // BS_SDK_ERROR_SOCKET_IS_NOT_CONNECTED
constexpr int kInvalidParam = -200;         // BS_SDK_ERROR_INVALID_PARAM
constexpr int kUninitialized = -10001;      // BS_SDK_ERROR_UNINITIALIZED
// The start of this fake's BS2_MakePinCode form (the real one is a hash).
constexpr const char* kPinTag = "fakepin:";

#pragma pack(push, 1)
struct BS2Event {
  uint32_t id;
  uint32_t dateTime;
  uint32_t deviceID;
  char userID[32];
  uint16_t code;
  uint8_t param;
  uint8_t bits;
};
#pragma pack(pop)
static_assert(sizeof(BS2Event) == 48, "the reference's BS2Event size");

// BS2UserBlob as BS_API.h declares it (packed to 1): BS2User (48 bytes),
// BS2UserSetting (12), BS2_USER_NAME (48 * 4), BS2UserPhoto {size, 16 KiB},
// BS2_USER_PIN (32), three credential array pointers, 16 access group ids.
#pragma pack(push, 1)
struct BS2User {
  char userID[32];
  uint8_t formatVersion;
  uint8_t flag;
  uint16_t version;
  uint8_t numCards;
  uint8_t numFingers;
  uint8_t numFaces;
  uint8_t reserved2[1];
  uint32_t authGroupID;
  uint32_t faceChecksum;
};
struct BS2UserSetting {
  uint32_t startTime;
  uint32_t endTime;
  uint8_t fingerAuthMode;
  uint8_t cardAuthMode;
  uint8_t idAuthMode;
  uint8_t securityLevel;
};
// BS2CSNCard (BS2CSNCard.h): type (BS2_CARD_TYPE_CSN = 0x01), size, data[32].
struct BS2CSNCard {
  uint8_t type;
  uint8_t size;
  uint8_t data[32];
};
struct BS2UserBlob {
  BS2User user;
  BS2UserSetting setting;
  uint8_t user_name[48 * 4];
  struct {
    uint32_t size;
    uint8_t data[16 * 1024];
  } user_photo;
  uint8_t pin[32];
  void* cardObjs;
  void* fingerObjs;
  void* faceObjs;
  uint32_t accessGroupId[16];
};
#pragma pack(pop)
static_assert(sizeof(BS2User) == 48 && sizeof(BS2UserSetting) == 12, "the reference's sizes");
static_assert(sizeof(BS2CSNCard) == 34, "the reference's BS2CSNCard size");

using OnDevice = void (*)(uint32_t);
using OnLogReceived = void (*)(uint32_t, const BS2Event*);

std::string path(const std::string& dir, const char* what, uint32_t n) {
  return dir + "/" + what + "-" + std::to_string(n);
}

bool exists(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0;
}

/** Rows [from, end) of a log file (whole rows only). */
std::vector<BS2Event> read_rows(const std::string& file, uint64_t from) {
  std::vector<BS2Event> rows;
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return rows;
  }
  struct stat st {};
  if (::fstat(fd, &st) == 0) {
    const uint64_t total = static_cast<uint64_t>(st.st_size) / sizeof(BS2Event);
    if (total > from) {
      rows.resize(total - from);
      const auto bytes = static_cast<ssize_t>(rows.size() * sizeof(BS2Event));
      if (::pread(fd, rows.data(), static_cast<size_t>(bytes),
                  static_cast<off_t>(from * sizeof(BS2Event))) != bytes) {
        rows.clear();
      }
    }
  }
  ::close(fd);
  return rows;
}

uint64_t row_count(const std::string& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) {
    return 0;
  }
  return static_cast<uint64_t>(st.st_size) / sizeof(BS2Event);
}

struct Link {
  bool connected = false;
  OnLogReceived monitor = nullptr;
  uint64_t delivered = 0;  // rows handed to the monitor
};

struct Context {
  std::string dir;
  std::mutex mu;
  bool initialized = false;
  std::atomic<bool> stop{false};
  std::thread poller;
  OnDevice accepted = nullptr;
  OnDevice connected = nullptr;
  OnDevice disconnected = nullptr;
  uint16_t server_port = 0;
  std::map<uint32_t, Link> links;

  /** The SDK's own thread: link cuts, dial-ins and monitored rows become callbacks. */
  void poll() {
    while (!stop.load()) {
      std::vector<std::function<void()>> fire;
      {
        std::lock_guard lock(mu);
        for (auto& [id, link] : links) {
          if (!link.connected) {
            continue;
          }
          if (exists(path(dir, "down", id))) {
            link.connected = false;
            link.monitor = nullptr;
            if (disconnected != nullptr) {
              fire.push_back([cb = disconnected, id = id] { cb(id); });
            }
            continue;
          }
          if (link.monitor != nullptr) {
            auto rows = read_rows(path(dir, "log", id), link.delivered);
            link.delivered += rows.size();
            for (const auto& r : rows) {
              fire.push_back([cb = link.monitor, id = id, r] { cb(id, &r); });
            }
          }
        }
        if (server_port != 0) {
          if (DIR* d = ::opendir(dir.c_str())) {
            while (dirent* e = ::readdir(d)) {
              if (std::strncmp(e->d_name, "dial-", 5) != 0) {
                continue;
              }
              const auto id = static_cast<uint32_t>(std::strtoul(e->d_name + 5, nullptr, 10));
              auto& link = links[id];
              if (id == 0 || link.connected || exists(path(dir, "down", id))) {
                continue;
              }
              link = Link{};
              link.connected = true;
              if (accepted != nullptr) {
                fire.push_back([cb = accepted, id] { cb(id); });
              }
            }
            ::closedir(d);
          }
        }
      }
      for (auto& f : fire) {
        f();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

  bool is_connected(uint32_t id) {
    auto it = links.find(id);
    return it != links.end() && it->second.connected && !exists(path(dir, "down", id));
  }
};

#pragma pack(push, 1)
struct BS2DoorStatus {  // the reference's 16 bytes
  uint32_t id;
  uint8_t opened;
  uint8_t unlocked;
  uint8_t heldOpened;
  uint8_t unlockFlags;
  uint8_t lockFlags;
  uint8_t alarmFlags;
  uint8_t reserved[2];
  uint32_t lastOpenTime;
};
#pragma pack(pop)
static_assert(sizeof(BS2DoorStatus) == 16, "the reference's BS2DoorStatus size");

/** Whether the last door command for `door` left it unlocked (the doors-<id> file). */
bool door_unlocked(const std::string& file, uint32_t door) {
  std::ifstream in(file);
  std::string line;
  bool unlocked = false;
  const std::string suffix = " door=" + std::to_string(door);
  while (std::getline(in, line)) {
    if (line.size() >= suffix.size() &&
        line.compare(line.size() - suffix.size(), suffix.size(), suffix) == 0) {
      unlocked = line.rfind("unlock ", 0) == 0;
    }
  }
  return unlocked;
}

int door_action(void* context, uint32_t device, uint8_t flag, uint32_t* doors, uint32_t count,
                const char* op) {
  auto* c = static_cast<Context*>(context);
  if (c == nullptr || doors == nullptr || count == 0) {
    return kInvalidParam;
  }
  std::lock_guard lock(c->mu);
  if (!c->is_connected(device)) {
    return kSocketNotConnected;
  }
  std::ofstream out(path(c->dir, "doors", device), std::ios::app);
  for (uint32_t i = 0; i < count; ++i) {
    out << op << " flag=" << static_cast<int>(flag) << " door=" << doors[i] << "\n";
  }
  return kSuccess;
}

}  // namespace

FAKESDK_EXPORT const char* BS2_Version() {
  return "fake-2.6.3";
}

FAKESDK_EXPORT void* BS2_AllocateContext() {
  auto* c = new Context;
  if (const char* d = std::getenv("FAKE_BS_SDK_DIR")) {
    c->dir = d;
  }
  return c;
}

FAKESDK_EXPORT int BS2_Initialize(void* context) {
  auto* c = static_cast<Context*>(context);
  if (c == nullptr || c->dir.empty()) {
    return kUninitialized;
  }
  c->initialized = true;
  c->poller = std::thread([c] { c->poll(); });
  return kSuccess;
}

FAKESDK_EXPORT void BS2_ReleaseContext(void* context) {
  auto* c = static_cast<Context*>(context);
  if (c == nullptr) {
    return;
  }
  c->stop = true;
  if (c->poller.joinable()) {
    c->poller.join();
  }
  delete c;
}

FAKESDK_EXPORT void BS2_ReleaseObject(void* object) {
  std::free(object);
}

FAKESDK_EXPORT int BS2_SetDeviceEventListener(void* context, OnDevice found, OnDevice accepted,
                                              OnDevice connected, OnDevice disconnected) {
  (void)found;
  auto* c = static_cast<Context*>(context);
  if (c == nullptr) {
    return kInvalidParam;
  }
  std::lock_guard lock(c->mu);
  c->accepted = accepted;
  c->connected = connected;
  c->disconnected = disconnected;
  return kSuccess;
}

FAKESDK_EXPORT int BS2_SetServerPort(void* context, uint16_t port) {
  auto* c = static_cast<Context*>(context);
  if (c == nullptr) {
    return kInvalidParam;
  }
  std::lock_guard lock(c->mu);
  c->server_port = port;
  return kSuccess;
}

FAKESDK_EXPORT int BS2_ConnectDeviceViaIP(void* context, const char* address, uint16_t port,
                                          uint32_t* device) {
  auto* c = static_cast<Context*>(context);
  if (c == nullptr || !c->initialized || address == nullptr || device == nullptr) {
    return kInvalidParam;
  }
  std::ifstream in(path(c->dir, "addr", port));
  uint32_t id = 0;
  if (!(in >> id) || id == 0 || exists(path(c->dir, "down", id))) {
    return kCannotConnectSocket;
  }
  OnDevice cb = nullptr;
  {
    std::lock_guard lock(c->mu);
    auto& link = c->links[id];
    link = Link{};
    link.connected = true;
    cb = c->connected;
  }
  *device = id;
  if (cb != nullptr) {
    cb(id);
  }
  return kSuccess;
}

FAKESDK_EXPORT int BS2_DisconnectDevice(void* context, uint32_t device) {
  auto* c = static_cast<Context*>(context);
  if (c == nullptr) {
    return kInvalidParam;
  }
  std::lock_guard lock(c->mu);
  auto it = c->links.find(device);
  if (it == c->links.end() || !it->second.connected) {
    return kSocketNotConnected;
  }
  it->second = Link{};
  return kSuccess;
}

FAKESDK_EXPORT int BS2_StartMonitoringLog(void* context, uint32_t device, OnLogReceived received) {
  auto* c = static_cast<Context*>(context);
  if (c == nullptr) {
    return kInvalidParam;
  }
  std::lock_guard lock(c->mu);
  if (!c->is_connected(device)) {
    return kSocketNotConnected;
  }
  auto& link = c->links[device];
  link.monitor = received;
  link.delivered = row_count(path(c->dir, "log", device));  // real time: new rows only
  return kSuccess;
}

FAKESDK_EXPORT int BS2_StopMonitoringLog(void* context, uint32_t device) {
  auto* c = static_cast<Context*>(context);
  if (c == nullptr) {
    return kInvalidParam;
  }
  std::lock_guard lock(c->mu);
  auto it = c->links.find(device);
  if (it != c->links.end()) {
    it->second.monitor = nullptr;
  }
  return kSuccess;
}

#ifndef FAKESDK_WITHOUT_GETLOG
FAKESDK_EXPORT int BS2_GetLog(void* context, uint32_t device, uint32_t eventId, uint32_t amount,
                              BS2Event** logsObj, uint32_t* numLog) {
  auto* c = static_cast<Context*>(context);
  if (c == nullptr || logsObj == nullptr || numLog == nullptr) {
    return kInvalidParam;
  }
  if (const char* d = std::getenv("FAKE_BS_SDK_GETLOG_DELAY_MS")) {
    std::this_thread::sleep_for(std::chrono::milliseconds(std::atoi(d)));
  }
  std::string file;
  {
    std::lock_guard lock(c->mu);
    if (!c->is_connected(device)) {
      return kSocketNotConnected;
    }
    file = path(c->dir, "log", device);
  }
  // Ids are 1, 2, ... in file order: id N is row N - 1. eventId 0: from the oldest.
  const uint64_t from = eventId == 0 ? 0 : eventId - 1;
  auto rows = read_rows(file, from);
  if (amount != 0 && rows.size() > amount) {
    rows.resize(amount);
  }
  *numLog = static_cast<uint32_t>(rows.size());
  *logsObj = nullptr;
  if (!rows.empty()) {
    *logsObj = static_cast<BS2Event*>(std::malloc(rows.size() * sizeof(BS2Event)));
    std::memcpy(*logsObj, rows.data(), rows.size() * sizeof(BS2Event));
  }
  return kSuccess;
}
#endif

FAKESDK_EXPORT int BS2_GetDoorStatus(void* context, uint32_t device, uint32_t* doorIds,
                                     uint32_t doorIdCount, BS2DoorStatus** doorStatusObj,
                                     uint32_t* numDoorStatus) {
  auto* c = static_cast<Context*>(context);
  if (c == nullptr || doorIds == nullptr || doorStatusObj == nullptr || numDoorStatus == nullptr) {
    return kInvalidParam;
  }
  std::lock_guard lock(c->mu);
  if (!c->is_connected(device)) {
    return kSocketNotConnected;
  }
  auto* out = static_cast<BS2DoorStatus*>(std::calloc(doorIdCount, sizeof(BS2DoorStatus)));
  for (uint32_t i = 0; i < doorIdCount; ++i) {
    out[i].id = doorIds[i];
    out[i].unlocked = door_unlocked(path(c->dir, "doors", device), doorIds[i]) ? 1 : 0;
    out[i].opened = out[i].unlocked;  // the simulated door swings open while unlocked
  }
  *doorStatusObj = out;
  *numDoorStatus = doorIdCount;
  return kSuccess;
}

FAKESDK_EXPORT int BS2_UnlockDoor(void* context, uint32_t device, uint8_t flag, uint32_t* doors,
                                  uint32_t count) {
  return door_action(context, device, flag, doors, count, "unlock");
}

FAKESDK_EXPORT int BS2_LockDoor(void* context, uint32_t device, uint8_t flag, uint32_t* doors,
                                uint32_t count) {
  return door_action(context, device, flag, doors, count, "lock");
}

FAKESDK_EXPORT int BS2_ReleaseDoor(void* context, uint32_t device, uint8_t flag, uint32_t* doors,
                                   uint32_t count) {
  return door_action(context, device, flag, doors, count, "release");
}

namespace {

/** The device's users, "<id>\t<name>" per line, sorted by id. */
std::map<std::string, std::string> read_users(const std::string& file) {
  std::map<std::string, std::string> users;
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    const auto tab = line.find('\t');
    users[line.substr(0, tab)] = tab == std::string::npos ? "" : line.substr(tab + 1);
  }
  return users;
}

void write_users(const std::string& file, const std::map<std::string, std::string>& users) {
  std::ofstream out(file, std::ios::trunc);
  for (const auto& [id, name] : users) {
    out << id << "\t" << name << "\n";
  }
}

std::string text_of(const void* p, size_t cap) {
  const auto* c = static_cast<const char*>(p);
  return std::string(c, strnlen(c, cap));
}

}  // namespace

FAKESDK_EXPORT int BS2_EnrolUser(void* context, uint32_t device, BS2UserBlob* userBlob,
                                 uint32_t userCount, uint8_t overwrite) {
  auto* c = static_cast<Context*>(context);
  if (c == nullptr || userBlob == nullptr) {
    return kInvalidParam;
  }
  std::lock_guard lock(c->mu);
  if (!c->is_connected(device)) {
    return kSocketNotConnected;
  }
  const auto file = path(c->dir, "users", device);
  auto users = read_users(file);
  for (uint32_t i = 0; i < userCount; ++i) {
    const auto id = text_of(userBlob[i].user.userID, sizeof userBlob[i].user.userID);
    if (id.empty()) {
      return kInvalidParam;
    }
    if (users.count(id) != 0 && overwrite == 0) {
      return -705;  // BS_SDK_ERROR_DUPLICATE_ID
    }
    std::string line = text_of(userBlob[i].user_name, sizeof userBlob[i].user_name);
    // Its cards (numOfCard BS2CSNCard at cardObjs): a CSN card's number is
    // its data read big-endian (the SDK examples write it at the end).
    const auto* cards = static_cast<const BS2CSNCard*>(userBlob[i].cardObjs);
    if (userBlob[i].user.numCards > 0 && cards == nullptr) {
      return kInvalidParam;
    }
    for (uint8_t k = 0; k < userBlob[i].user.numCards; ++k) {
      if (cards[k].type != 0x01 || cards[k].size == 0 || cards[k].size > 32) {
        return kInvalidParam;
      }
      unsigned long long number = 0;
      for (size_t b = 0; b < 32; ++b) {
        if (b < 24 && cards[k].data[b] != 0) {
          return kInvalidParam;  // wider than 64 bits: more than this fake reads
        }
        if (b >= 24) {
          number = (number << 8) | cards[k].data[b];
        }
      }
      line += "\tcard=" + std::to_string(number);
    }
    // Its PIN, as BS2_MakePinCode of this fake made it.
    const std::string pin = text_of(userBlob[i].pin, sizeof userBlob[i].pin);
    if (pin.rfind(kPinTag, 0) == 0) {
      line += "\tpin=" + pin.substr(std::strlen(kPinTag));
    } else if (!pin.empty()) {
      return kInvalidParam;  // not made by BS2_MakePinCode
    }
    users[id] = line;
  }
  write_users(file, users);
  return kSuccess;
}

FAKESDK_EXPORT int BS2_MakePinCode(void* context, char* plaintext, unsigned char* ciphertext) {
  if (context == nullptr || plaintext == nullptr || ciphertext == nullptr) {
    return kInvalidParam;
  }
  const std::string digits(plaintext, strnlen(plaintext, 33));
  if (digits.empty() || digits.size() > 16 ||
      digits.find_first_not_of("0123456789") != std::string::npos) {
    return kInvalidParam;
  }
  // The SDK's form is a one-way hash of 32 bytes; this fake's is readable
  // (kPinTag, the digits, NULs) so its device can show what it was given.
  std::memset(ciphertext, 0, 32);
  const std::string text = kPinTag + digits;
  std::memcpy(ciphertext, text.data(), text.size());
  return kSuccess;
}

FAKESDK_EXPORT int BS2_RemoveUser(void* context, uint32_t device, char* uids, uint32_t uidCount) {
  auto* c = static_cast<Context*>(context);
  if (c == nullptr || uids == nullptr) {
    return kInvalidParam;
  }
  std::lock_guard lock(c->mu);
  if (!c->is_connected(device)) {
    return kSocketNotConnected;
  }
  const auto file = path(c->dir, "users", device);
  auto users = read_users(file);
  for (uint32_t i = 0; i < uidCount; ++i) {
    if (users.erase(text_of(uids + 32 * i, 32)) == 0) {
      return -714;  // BS_SDK_ERROR_CANNOT_FIND_USER
    }
  }
  write_users(file, users);
  return kSuccess;
}

// --- the tests' control API -------------------------------------------------

FAKESDK_EXPORT int fakesdk_add_device(const char* dir, uint16_t port, uint32_t device_id) {
  std::ofstream out(path(dir, "addr", port), std::ios::trunc);
  out << device_id << "\n";
  return out ? 1 : 0;
}

FAKESDK_EXPORT uint32_t fakesdk_append_events(const char* dir, uint32_t device_id, uint32_t count,
                                              uint16_t code, uint32_t local_time,
                                              const char* user_id, uint8_t tna_key) {
  const auto file = path(dir, "log", device_id);
  const auto first = static_cast<uint32_t>(row_count(file)) + 1;
  std::vector<BS2Event> rows(count);
  for (uint32_t i = 0; i < count; ++i) {
    BS2Event& e = rows[i];
    std::memset(&e, 0, sizeof e);
    e.id = first + i;
    e.dateTime = local_time;
    e.deviceID = device_id;
    if (user_id != nullptr) {
      std::strncpy(e.userID, user_id, sizeof e.userID);
    }
    e.code = code;
    e.param = tna_key;
  }
  int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    return 0;
  }
  const auto bytes = static_cast<ssize_t>(rows.size() * sizeof(BS2Event));
  const bool ok = ::write(fd, rows.data(), static_cast<size_t>(bytes)) == bytes;
  ::close(fd);
  return ok ? first + count - 1 : 0;
}

FAKESDK_EXPORT uint32_t fakesdk_event_count(const char* dir, uint32_t device_id) {
  return static_cast<uint32_t>(row_count(path(dir, "log", device_id)));
}

FAKESDK_EXPORT int fakesdk_set_link(const char* dir, uint32_t device_id, int up) {
  const auto p = path(dir, "down", device_id);
  if (up != 0) {
    return ::unlink(p.c_str()) == 0 || !exists(p) ? 1 : 0;
  }
  std::ofstream out(p);
  return out ? 1 : 0;
}

FAKESDK_EXPORT int fakesdk_set_dial(const char* dir, uint32_t device_id, int on) {
  const auto p = path(dir, "dial", device_id);
  if (on == 0) {
    return ::unlink(p.c_str()) == 0 || !exists(p) ? 1 : 0;
  }
  std::ofstream out(p);
  return out ? 1 : 0;
}

FAKESDK_EXPORT size_t fakesdk_door_commands(const char* dir, uint32_t device_id, char* buf,
                                            size_t cap) {
  std::ifstream in(path(dir, "doors", device_id));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (buf != nullptr && cap > 0) {
    const size_t n = std::min(cap - 1, text.size());
    std::memcpy(buf, text.data(), n);
    buf[n] = '\0';
  }
  return text.size();
}

FAKESDK_EXPORT size_t fakesdk_users(const char* dir, uint32_t device_id, char* buf, size_t cap) {
  std::ifstream in(path(dir, "users", device_id));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (buf != nullptr && cap > 0) {
    const size_t n = std::min(cap - 1, text.size());
    std::memcpy(buf, text.data(), n);
    buf[n] = '\0';
  }
  return text.size();
}
