#include "adapters/suprema/suprema_codes.hpp"

#include <array>
#include <cstdio>
#include <initializer_list>

namespace pushgate::adapters::suprema {

namespace {

using E = Evidence;
using O = Outcome;
using S = SubCodeTable;

// Event codes: Suprema G-SDK "Event API" page, EventLog.eventCode table
// (supremainc/g-sdk docs/_apis/event.md), the same 16-bit codes BioStar 2
// sends as `event_type_id.code` (4102 = 0x1006 = verify success by card, as
// commented in terryjohndado/WebSocketTest Program.cs). Kinds and reasons are
// pushgate's reading of Suprema's one-line descriptions.
constexpr std::array kEventCodes{
    // Authentication (the high byte is the result, the low byte the method or reason).
    EventCodeInfo{0x1000, true, "BS2_EVENT_VERIFY_SUCCESS", "access", O::Granted, "", S::Verify,
                  "1:1 authentication success", E::Doc},
    EventCodeInfo{0x1100, true, "BS2_EVENT_VERIFY_FAIL", "access", O::Refused, "verify_failed",
                  S::Credential, "1:1 authentication failure", E::Doc},
    EventCodeInfo{0x1200, true, "BS2_EVENT_VERIFY_DURESS", "access", O::Granted, "duress",
                  S::Verify, "1:1 authentication success under duress", E::Doc},
    EventCodeInfo{0x1300, true, "BS2_EVENT_IDENTIFY_SUCCESS", "access", O::Granted, "", S::Identify,
                  "1:N authentication success", E::Doc},
    EventCodeInfo{0x1400, true, "BS2_EVENT_IDENTIFY_FAIL", "access", O::Refused, "identify_failed",
                  S::Credential, "1:N authentication failure", E::Doc},
    EventCodeInfo{0x1500, true, "BS2_EVENT_IDENTIFY_DURESS", "access", O::Granted, "duress",
                  S::Identify, "1:N authentication success under duress", E::Doc},
    EventCodeInfo{0x1600, true, "BS2_EVENT_DUAL_AUTH_SUCCESS", "access", O::Granted, "", S::None,
                  "dual authentication success", E::Doc},
    EventCodeInfo{0x1700, true, "BS2_EVENT_DUAL_AUTH_FAIL", "access", O::Refused,
                  "dual_auth_failed", S::DualAuth, "dual authentication failure", E::Doc},
    EventCodeInfo{0x1800, true, "BS2_EVENT_AUTH_FAILED", "access", O::Refused,
                  "unregistered_credential", S::AuthFail, "unregistered credential", E::Doc},
    EventCodeInfo{0x1900, true, "BS2_EVENT_ACCESS_DENIED", "access", O::Refused, "access_denied",
                  S::AccessDenied, "no access privilege or a zone rule refused", E::Doc},
    EventCodeInfo{0x1A00, true, "BS2_EVENT_FAKE_FINGER_DETECTED", "access", O::Refused,
                  "fake_finger", S::None, "fake finger detected", E::Doc},
    // Users (enrolled, changed or deleted at the device or by the server).
    EventCodeInfo{0x2000, true, "BS2_EVENT_USER_ENROLL_SUCCESS", "operation", O::None, "", S::None,
                  "user enrollment success", E::Doc},
    EventCodeInfo{0x2100, true, "BS2_EVENT_USER_ENROLL_FAIL", "operation", O::None, "", S::None,
                  "user enrollment failure", E::Doc},
    EventCodeInfo{0x2200, true, "BS2_EVENT_USER_UPDATE_SUCCESS", "operation", O::None, "", S::None,
                  "user update success", E::Doc},
    EventCodeInfo{0x2300, true, "BS2_EVENT_USER_UPDATE_FAIL", "operation", O::None, "", S::None,
                  "user update failure", E::Doc},
    EventCodeInfo{0x2400, true, "BS2_EVENT_USER_DELETE_SUCCESS", "operation", O::None, "", S::None,
                  "user delete success", E::Doc},
    EventCodeInfo{0x2500, true, "BS2_EVENT_USER_DELETE_FAIL", "operation", O::None, "", S::None,
                  "user delete failure", E::Doc},
    EventCodeInfo{0x2600, true, "BS2_EVENT_USER_DELETE_ALL_SUCCESS", "operation", O::None, "",
                  S::None, "all users deleted", E::Doc},
    EventCodeInfo{0x2700, true, "BS2_EVENT_USER_ISSUE_AOC_SUCCESS", "operation", O::None, "",
                  S::None, "AOC card issued", E::Doc},
    EventCodeInfo{0x2800, true, "BS2_EVENT_USER_DUPLICATE_CREDENTIAL", "operation", O::None, "",
                  S::None, "duplicate credential", E::Doc},
    // Device.
    EventCodeInfo{0x3000, false, "BS2_EVENT_DEVICE_SYSTEM_RESET", "operation", O::None, "", S::None,
                  "system reset", E::Doc},
    EventCodeInfo{0x3100, false, "BS2_EVENT_DEVICE_SYSTEM_STARTED", "operation", O::None, "",
                  S::None, "system started", E::Doc},
    EventCodeInfo{0x3200, false, "BS2_EVENT_DEVICE_TIME_SET", "operation", O::None, "", S::None,
                  "system time set", E::Doc},
    EventCodeInfo{0x3201, false, "BS2_EVENT_DEVICE_TIMEZONE_SET", "operation", O::None, "", S::None,
                  "time zone changed", E::Doc},
    EventCodeInfo{0x3202, false, "BS2_EVENT_DEVICE_DST_SET", "operation", O::None, "", S::None,
                  "DST changed", E::Doc},
    EventCodeInfo{0x3300, false, "BS2_EVENT_DEVICE_LINK_CONNECTED", "operation", O::None, "",
                  S::None, "LAN cable connected", E::Doc},
    EventCodeInfo{0x3400, false, "BS2_EVENT_DEVICE_LINK_DISCONNECTED", "operation", O::None, "",
                  S::None, "LAN cable disconnected", E::Doc},
    EventCodeInfo{0x3500, false, "BS2_EVENT_DEVICE_DHCP_SUCCESS", "operation", O::None, "", S::None,
                  "IP address acquired by DHCP", E::Doc},
    EventCodeInfo{0x3600, false, "BS2_EVENT_DEVICE_ADMIN_MENU", "operation", O::None, "", S::None,
                  "administrator menu entered", E::Doc},
    EventCodeInfo{0x3700, false, "BS2_EVENT_DEVICE_UI_LOCKED", "operation", O::None, "", S::None,
                  "device UI locked", E::Doc},
    EventCodeInfo{0x3800, false, "BS2_EVENT_DEVICE_UI_UNLOCKED", "operation", O::None, "", S::None,
                  "device UI unlocked", E::Doc},
    EventCodeInfo{0x3B00, false, "BS2_EVENT_DEVICE_TCP_CONNECTED", "operation", O::None, "",
                  S::None, "TCP connected", E::Doc},
    EventCodeInfo{0x3C00, false, "BS2_EVENT_DEVICE_TCP_DISCONNECTED", "operation", O::None, "",
                  S::None, "TCP disconnected", E::Doc},
    EventCodeInfo{0x3D00, false, "BS2_EVENT_DEVICE_RS485_CONNECTED", "operation", O::None, "",
                  S::None, "RS485 connected", E::Doc},
    EventCodeInfo{0x3E00, false, "BS2_EVENT_DEVICE_RS485_DISCONNECTED", "operation", O::None, "",
                  S::None, "RS485 disconnected", E::Doc},
    EventCodeInfo{0x3F00, false, "BS2_EVENT_DEVICE_INPUT_DETECTED", "alarm", O::None, "", S::None,
                  "input signal detected", E::Doc},
    EventCodeInfo{0x4000, false, "BS2_EVENT_DEVICE_TAMPER_ON", "alarm", O::None, "", S::None,
                  "tamper switch on", E::Doc},
    EventCodeInfo{0x4100, false, "BS2_EVENT_DEVICE_TAMPER_OFF", "alarm", O::None, "", S::None,
                  "tamper switch off", E::Doc},
    EventCodeInfo{0x4200, false, "BS2_EVENT_DEVICE_EVENT_LOG_CLEARED", "operation", O::None, "",
                  S::None, "log records cleared", E::Doc},
    EventCodeInfo{0x4300, false, "BS2_EVENT_DEVICE_FIRMWARE_UPGRADED", "operation", O::None, "",
                  S::None, "firmware upgraded", E::Doc},
    EventCodeInfo{0x4400, false, "BS2_EVENT_DEVICE_RESOURCE_UPGRADED", "operation", O::None, "",
                  S::None, "resource upgraded", E::Doc},
    EventCodeInfo{0x4500, false, "BS2_EVENT_DEVICE_CONFIG_RESET", "operation", O::None, "", S::None,
                  "configuration reset (network included)", E::Doc},
    EventCodeInfo{0x4501, false, "BS2_EVENT_DEVICE_DATABASE_RESET", "operation", O::None, "",
                  S::None, "database reset", E::Doc},
    EventCodeInfo{0x4502, false, "BS2_EVENT_DEVICE_FACTORY_RESET", "operation", O::None, "",
                  S::None, "factory reset", E::Doc},
    EventCodeInfo{0x4503, false, "BS2_EVENT_DEVICE_CONFIG_RESET_EX", "operation", O::None, "",
                  S::None, "configuration reset (network kept)", E::Doc},
    EventCodeInfo{0x4600, false, "BS2_EVENT_SUPERVISED_INPUT_SHORT", "alarm", O::None, "", S::None,
                  "supervised input short-circuited", E::Doc},
    EventCodeInfo{0x4700, false, "BS2_EVENT_SUPERVISED_INPUT_OPEN", "alarm", O::None, "", S::None,
                  "supervised input disconnected", E::Doc},
    // Doors.
    EventCodeInfo{0x5000, false, "BS2_EVENT_DOOR_UNLOCKED", "door_state", O::None, "", S::None,
                  "door unlocked", E::Doc},
    EventCodeInfo{0x5100, false, "BS2_EVENT_DOOR_LOCKED", "door_state", O::None, "", S::None,
                  "door locked", E::Doc},
    EventCodeInfo{0x5200, false, "BS2_EVENT_DOOR_OPENED", "door_state", O::None, "", S::None,
                  "door opened (sensor)", E::Doc},
    EventCodeInfo{0x5300, false, "BS2_EVENT_DOOR_CLOSED", "door_state", O::None, "", S::None,
                  "door closed (sensor)", E::Doc},
    EventCodeInfo{0x5400, false, "BS2_EVENT_DOOR_FORCED_OPEN", "alarm", O::None, "", S::None,
                  "door forced open", E::Doc},
    EventCodeInfo{0x5500, false, "BS2_EVENT_DOOR_HELD_OPEN", "alarm", O::None, "", S::None,
                  "door held open too long", E::Doc},
    EventCodeInfo{0x5600, false, "BS2_EVENT_DOOR_FORCED_OPEN_ALARM", "alarm", O::None, "", S::None,
                  "forced-open alarm", E::Doc},
    EventCodeInfo{0x5700, false, "BS2_EVENT_DOOR_FORCED_OPEN_ALARM_CLEAR", "alarm", O::None, "",
                  S::None, "forced-open alarm cleared", E::Doc},
    EventCodeInfo{0x5800, false, "BS2_EVENT_DOOR_HELD_OPEN_ALARM", "alarm", O::None, "", S::None,
                  "held-open alarm", E::Doc},
    EventCodeInfo{0x5900, false, "BS2_EVENT_DOOR_HELD_OPEN_ALARM_CLEAR", "alarm", O::None, "",
                  S::None, "held-open alarm cleared", E::Doc},
    EventCodeInfo{0x5A00, false, "BS2_EVENT_DOOR_APB_ALARM", "alarm", O::None, "", S::None,
                  "anti-passback alarm on a door", E::Doc},
    EventCodeInfo{0x5B00, false, "BS2_EVENT_DOOR_APB_ALARM_CLEAR", "alarm", O::None, "", S::None,
                  "anti-passback alarm on a door cleared", E::Doc},
    EventCodeInfo{0x5C00, false, "BS2_EVENT_DOOR_RELEASE", "door_state", O::None, "", S::None,
                  "door released (status reset)", E::Doc},
    EventCodeInfo{0x5D00, false, "BS2_EVENT_DOOR_LOCK", "door_state", O::None, "", S::None,
                  "door lock command", E::Doc},
    EventCodeInfo{0x5E00, false, "BS2_EVENT_DOOR_UNLOCK", "door_state", O::None, "", S::None,
                  "door unlock command", E::Doc},
    // Zones: anti-passback, fire, scheduled lock.
    EventCodeInfo{0x6000, false, "BS2_EVENT_ZONE_APB_VIOLATION", "alarm", O::None, "", S::None,
                  "anti-passback zone violated", E::Doc},
    EventCodeInfo{0x6100, false, "BS2_EVENT_ZONE_APB_ALARM", "alarm", O::None, "", S::None,
                  "anti-passback zone alarm", E::Doc},
    EventCodeInfo{0x6200, false, "BS2_EVENT_ZONE_APB_ALARM_CLEAR", "alarm", O::None, "", S::None,
                  "anti-passback zone alarm cleared", E::Doc},
    EventCodeInfo{0x6300, false, "BS2_EVENT_ZONE_TIMED_APB_VIOLATION", "alarm", O::None, "",
                  S::None, "timed anti-passback zone violated", E::Doc},
    EventCodeInfo{0x6400, false, "BS2_EVENT_ZONE_TIMED_APB_ALARM", "alarm", O::None, "", S::None,
                  "timed anti-passback zone alarm", E::Doc},
    EventCodeInfo{0x6500, false, "BS2_EVENT_ZONE_TIMED_APB_ALARM_CLEAR", "alarm", O::None, "",
                  S::None, "timed anti-passback zone alarm cleared", E::Doc},
    EventCodeInfo{0x6600, false, "BS2_EVENT_ZONE_FIRE_ALARM_INPUT", "alarm", O::None, "", S::None,
                  "fire alarm input detected", E::Doc},
    EventCodeInfo{0x6700, false, "BS2_EVENT_ZONE_FIRE_ALARM", "alarm", O::None, "", S::None,
                  "fire alarm", E::Doc},
    EventCodeInfo{0x6800, false, "BS2_EVENT_ZONE_FIRE_ALARM_CLEAR", "alarm", O::None, "", S::None,
                  "fire alarm cleared", E::Doc},
    EventCodeInfo{0x6900, false, "BS2_EVENT_ZONE_SCHEDULED_LOCK_VIOLATION", "alarm", O::None, "",
                  S::None, "scheduled lock zone violated", E::Doc},
    EventCodeInfo{0x6A00, false, "BS2_EVENT_ZONE_SCHEDULED_LOCK_START", "door_state", O::None, "",
                  S::None, "lock schedule started", E::Doc},
    EventCodeInfo{0x6B00, false, "BS2_EVENT_ZONE_SCHEDULED_LOCK_END", "door_state", O::None, "",
                  S::None, "lock schedule ended", E::Doc},
    EventCodeInfo{0x6C00, false, "BS2_EVENT_ZONE_SCHEDULED_UNLOCK_START", "door_state", O::None, "",
                  S::None, "unlock schedule started", E::Doc},
    EventCodeInfo{0x6D00, false, "BS2_EVENT_ZONE_SCHEDULED_UNLOCK_END", "door_state", O::None, "",
                  S::None, "unlock schedule ended", E::Doc},
    EventCodeInfo{0x6E00, false, "BS2_EVENT_ZONE_SCHEDULED_LOCK_ALARM", "alarm", O::None, "",
                  S::None, "scheduled lock zone alarm", E::Doc},
    EventCodeInfo{0x6F00, false, "BS2_EVENT_ZONE_SCHEDULED_LOCK_ALARM_CLEAR", "alarm", O::None, "",
                  S::None, "scheduled lock zone alarm cleared", E::Doc},
    // Lifts.
    EventCodeInfo{0x7000, false, "BS2_EVENT_FLOOR_ACTIVATED", "door_state", O::None, "", S::None,
                  "floor activated", E::Doc},
    EventCodeInfo{0x7100, false, "BS2_EVENT_FLOOR_DEACTIVATED", "door_state", O::None, "", S::None,
                  "floor deactivated", E::Doc},
    EventCodeInfo{0x7200, false, "BS2_EVENT_FLOOR_RELEASE", "door_state", O::None, "", S::None,
                  "floor released (status reset)", E::Doc},
    EventCodeInfo{0x7300, false, "BS2_EVENT_FLOOR_ACTIVATE", "door_state", O::None, "", S::None,
                  "floor activate command", E::Doc},
    EventCodeInfo{0x7400, false, "BS2_EVENT_FLOOR_DEACTIVATE", "door_state", O::None, "", S::None,
                  "floor deactivate command", E::Doc},
    EventCodeInfo{0x7500, false, "BS2_EVENT_LIFT_ALARM_INPUT", "alarm", O::None, "", S::None,
                  "lift alarm input detected", E::Doc},
    EventCodeInfo{0x7600, false, "BS2_EVENT_LIFT_ALARM", "alarm", O::None, "", S::None,
                  "lift alarm", E::Doc},
    EventCodeInfo{0x7700, false, "BS2_EVENT_LIFT_ALARM_CLEAR", "alarm", O::None, "", S::None,
                  "lift alarm cleared", E::Doc},
    EventCodeInfo{0x7800, false, "BS2_EVENT_ALL_FLOOR_ACTIVATED", "door_state", O::None, "",
                  S::None, "all floors activated", E::Doc},
    EventCodeInfo{0x7900, false, "BS2_EVENT_ALL_FLOOR_DEACTIVATED", "door_state", O::None, "",
                  S::None, "all floors deactivated", E::Doc},
    // Intrusion alarm zones.
    EventCodeInfo{0x9000, false, "BS2_EVENT_ZONE_INTRUSION_ALARM_VIOLATION", "alarm", O::None, "",
                  S::None, "intrusion zone violated", E::Doc},
    EventCodeInfo{0x9100, false, "BS2_EVENT_ZONE_INTRUSION_ALARM_ARM_GRANTED", "operation", O::None,
                  "", S::None, "intrusion zone arming", E::Doc},
    EventCodeInfo{0x9200, false, "BS2_EVENT_ZONE_INTRUSION_ALARM_ARM_SUCCESS", "operation", O::None,
                  "", S::None, "intrusion zone armed", E::Doc},
    EventCodeInfo{0x9300, false, "BS2_EVENT_ZONE_INTRUSION_ALARM_ARM_FAIL", "alarm", O::None, "",
                  S::None, "intrusion zone arming failed", E::Doc},
    EventCodeInfo{0x9400, false, "BS2_EVENT_ZONE_INTRUSION_ALARM_DISARM_GRANTED", "operation",
                  O::None, "", S::None, "intrusion zone disarming", E::Doc},
    EventCodeInfo{0x9500, false, "BS2_EVENT_ZONE_INTRUSION_ALARM_DISARM_SUCCESS", "operation",
                  O::None, "", S::None, "intrusion zone disarmed", E::Doc},
    EventCodeInfo{0x9600, false, "BS2_EVENT_ZONE_INTRUSION_ALARM_DISARM_FAIL", "alarm", O::None, "",
                  S::None, "intrusion zone disarming failed", E::Doc},
    EventCodeInfo{0x9800, false, "BS2_EVENT_ZONE_INTRUSION_ALARM", "alarm", O::None, "", S::None,
                  "intrusion alarm", E::Doc},
    EventCodeInfo{0x9900, false, "BS2_EVENT_ZONE_INTRUSION_ALARM_CLEAR", "alarm", O::None, "",
                  S::None, "intrusion alarm cleared", E::Doc},
    EventCodeInfo{0x9A00, false, "BS2_EVENT_ZONE_INTRUSION_ALARM_ARM_DENIED", "alarm", O::None, "",
                  S::None, "intrusion zone arming denied", E::Doc},
    EventCodeInfo{0x9B00, false, "BS2_EVENT_ZONE_INTRUSION_ALARM_DISARM_DENIED", "alarm", O::None,
                  "", S::None, "intrusion zone disarming denied", E::Doc},
};

// Sub codes: the same G-SDK page, SubCode table.
constexpr std::array kSubCodes{
    SubCodeInfo{S::Verify, 0x01, "id+pin", "ID + PIN", E::Doc},
    SubCodeInfo{S::Verify, 0x02, "id+finger", "ID + fingerprint", E::Doc},
    SubCodeInfo{S::Verify, 0x03, "id+finger+pin", "ID + fingerprint + PIN", E::Doc},
    SubCodeInfo{S::Verify, 0x04, "id+face", "ID + face", E::Doc},
    SubCodeInfo{S::Verify, 0x05, "id+face+pin", "ID + face + PIN", E::Doc},
    SubCodeInfo{S::Verify, 0x06, "card", "card only", E::Doc},
    SubCodeInfo{S::Verify, 0x07, "card+pin", "card + PIN", E::Doc},
    SubCodeInfo{S::Verify, 0x08, "card+finger", "card + fingerprint", E::Doc},
    SubCodeInfo{S::Verify, 0x09, "card+finger+pin", "card + fingerprint + PIN", E::Doc},
    SubCodeInfo{S::Verify, 0x0A, "card+face", "card + face", E::Doc},
    SubCodeInfo{S::Verify, 0x0B, "card+face+pin", "card + face + PIN", E::Doc},
    SubCodeInfo{S::Verify, 0x0C, "aoc", "AOC card", E::Doc},
    SubCodeInfo{S::Verify, 0x0D, "aoc+pin", "AOC card + PIN", E::Doc},
    SubCodeInfo{S::Verify, 0x0E, "aoc+finger", "AOC card + fingerprint", E::Doc},
    SubCodeInfo{S::Verify, 0x0F, "aoc+finger+pin", "AOC card + fingerprint + PIN", E::Doc},
    SubCodeInfo{S::Verify, 0x10, "card+face+finger", "card + face + fingerprint", E::Doc},
    SubCodeInfo{S::Verify, 0x11, "card+finger+face", "card + fingerprint + face", E::Doc},
    SubCodeInfo{S::Verify, 0x12, "id+face+finger", "ID + face + fingerprint", E::Doc},
    SubCodeInfo{S::Verify, 0x13, "id+finger+face", "ID + fingerprint + face", E::Doc},
    SubCodeInfo{S::Identify, 0x01, "finger", "fingerprint only", E::Doc},
    SubCodeInfo{S::Identify, 0x02, "finger+pin", "fingerprint + PIN", E::Doc},
    SubCodeInfo{S::Identify, 0x03, "face", "face only", E::Doc},
    SubCodeInfo{S::Identify, 0x04, "face+pin", "face + PIN", E::Doc},
    SubCodeInfo{S::Identify, 0x05, "face+finger", "face + fingerprint", E::Doc},
    SubCodeInfo{S::Identify, 0x06, "face+finger+pin", "face + fingerprint + PIN", E::Doc},
    SubCodeInfo{S::Identify, 0x07, "finger+face", "fingerprint + face", E::Doc},
    SubCodeInfo{S::Identify, 0x08, "finger+face+pin", "fingerprint + face + PIN", E::Doc},
    SubCodeInfo{S::Credential, 0x01, "invalid_user_id", "invalid user ID", E::Doc},
    SubCodeInfo{S::Credential, 0x02, "invalid_card", "invalid card", E::Doc},
    SubCodeInfo{S::Credential, 0x03, "invalid_pin", "invalid PIN", E::Doc},
    SubCodeInfo{S::Credential, 0x04, "invalid_finger", "invalid fingerprint", E::Doc},
    SubCodeInfo{S::Credential, 0x05, "invalid_face", "invalid face", E::Doc},
    SubCodeInfo{S::Credential, 0x06, "invalid_aoc_pin", "invalid AOC PIN", E::Doc},
    SubCodeInfo{S::Credential, 0x07, "invalid_aoc_finger", "invalid AOC fingerprint", E::Doc},
    SubCodeInfo{S::DualAuth, 0x01, "dual_auth_timeout", "dual authentication timed out", E::Doc},
    SubCodeInfo{S::DualAuth, 0x02, "dual_auth_access_group",
                "invalid access group for dual authentication", E::Doc},
    SubCodeInfo{S::AuthFail, 0x01, "invalid_auth_mode", "invalid authentication mode", E::Doc},
    SubCodeInfo{S::AuthFail, 0x02, "invalid_credential", "invalid credential", E::Doc},
    SubCodeInfo{S::AuthFail, 0x03, "auth_timeout", "authentication timed out", E::Doc},
    SubCodeInfo{S::AccessDenied, 0x01, "no_door_permission", "invalid access group", E::Doc},
    SubCodeInfo{S::AccessDenied, 0x02, "user_disabled", "disabled user", E::Doc},
    SubCodeInfo{S::AccessDenied, 0x03, "validity_period", "expired user", E::Doc},
    SubCodeInfo{S::AccessDenied, 0x04, "blacklisted", "blacklisted user", E::Doc},
    SubCodeInfo{S::AccessDenied, 0x05, "anti_passback", "denied by anti-passback rule", E::Doc},
    SubCodeInfo{S::AccessDenied, 0x06, "timed_anti_passback", "denied by timed anti-passback rule",
                E::Doc},
    SubCodeInfo{S::AccessDenied, 0x07, "scheduled_lock", "denied by scheduled lock zone", E::Doc},
    SubCodeInfo{S::AccessDenied, 0x0A, "face_not_detected", "face not detected", E::Doc},
    SubCodeInfo{S::AccessDenied, 0x0C, "fake_finger", "fake finger detected", E::Doc},
    SubCodeInfo{S::AccessDenied, 0x0E, "intrusion_alarm", "denied by intrusion alarm zone", E::Doc},
    SubCodeInfo{S::AccessDenied, 0x0F, "interlock", "denied by interlock zone", E::Doc},
    SubCodeInfo{S::AccessDenied, 0x13, "high_temperature", "temperature too high", E::Doc},
    SubCodeInfo{S::AccessDenied, 0x15, "no_mask", "no mask", E::Doc},
};

// T&A keys: G-SDK tna.Key numbers the keys (0 = none pressed); what a key
// means is the site's choice on the device (labels are configurable), so
// this is pushgate's default, in ZKTeco punch numbering (gateway/event.hpp).
constexpr std::array kTnaKeys{
    TnaKeyInfo{0, std::nullopt, "no T&A key: no punch state", E::Obs},
    TnaKeyInfo{1, 0, "key 1 → check-in (0)", E::Obs},
    TnaKeyInfo{2, 1, "key 2 → check-out (1)", E::Obs},
    TnaKeyInfo{3, 2, "key 3 → break-out (2)", E::Obs},
    TnaKeyInfo{4, 3, "key 4 → break-in (3)", E::Obs},
    TnaKeyInfo{5, 4, "key 5 → overtime-in (4)", E::Obs},
    TnaKeyInfo{6, 5, "key 6 → overtime-out (5)", E::Obs},
};

std::string row(std::initializer_list<std::string_view> cells) {
  std::string out = "|";
  for (std::string_view cell : cells) {
    out += ' ';
    for (char c : cell) {
      if (c == '|') {
        out += '\\';
      }
      out += c;
    }
    out += " |";
  }
  out += '\n';
  return out;
}

std::string hex_code(std::uint32_t code, bool family) {
  char buf[16];
  if (family) {
    std::snprintf(buf, sizeof buf, "0x%02Xxx", static_cast<unsigned>(code >> 8));
  } else {
    std::snprintf(buf, sizeof buf, "0x%04X", static_cast<unsigned>(code));
  }
  return buf;
}

std::string hex_byte(std::uint8_t sub) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02X", static_cast<unsigned>(sub));
  return buf;
}

std::string_view to_string(SubCodeTable table) noexcept {
  switch (table) {
    case S::None:
      return "";
    case S::Verify:
      return "verify method";
    case S::Identify:
      return "identify method";
    case S::Credential:
      return "invalid credential";
    case S::DualAuth:
      return "dual auth failure";
    case S::AuthFail:
      return "auth failure";
    case S::AccessDenied:
      return "access denied";
  }
  return "";
}

}  // namespace

std::string_view to_string(Evidence evidence) noexcept {
  return evidence == Evidence::Doc ? "doc" : "obs";
}

std::string_view to_string(Outcome outcome) noexcept {
  switch (outcome) {
    case Outcome::Granted:
      return "granted";
    case Outcome::Refused:
      return "refused";
    case Outcome::None:
      break;
  }
  return "";
}

std::span<const EventCodeInfo> event_codes() noexcept {
  return kEventCodes;
}

std::span<const SubCodeInfo> sub_codes() noexcept {
  return kSubCodes;
}

std::span<const TnaKeyInfo> tna_keys() noexcept {
  return kTnaKeys;
}

const EventCodeInfo* find_event_code(std::uint32_t code) noexcept {
  for (const EventCodeInfo& info : kEventCodes) {
    if (!info.family && info.code == code) {
      return &info;
    }
  }
  for (const EventCodeInfo& info : kEventCodes) {
    if (info.family && info.code == (code & 0xFF00U) && code <= 0xFFFFU) {
      return &info;
    }
  }
  return nullptr;
}

const SubCodeInfo* find_sub_code(SubCodeTable table, std::uint8_t sub) noexcept {
  for (const SubCodeInfo& info : kSubCodes) {
    if (info.table == table && info.sub == sub) {
      return &info;
    }
  }
  return nullptr;
}

Classification classify(std::uint32_t code) {
  Classification out;
  out.sub = static_cast<std::uint8_t>(code & 0xFFU);
  const EventCodeInfo* info = find_event_code(code);
  if (info == nullptr) {
    return out;
  }
  out.known = true;
  out.name = info->name;
  out.kind = info->kind;
  out.outcome = info->outcome;
  out.reason = std::string(info->reason);
  if (!info->family || info->sub == S::None) {
    return out;
  }
  const SubCodeInfo* sub = find_sub_code(info->sub, out.sub);
  if (info->sub == S::Verify || info->sub == S::Identify) {
    out.method = sub != nullptr ? std::string(sub->slug) : std::string("unknown");
  } else if (sub != nullptr) {
    out.reason = std::string(sub->slug);  // the sub code says why more precisely
  }
  return out;
}

std::optional<int> punch_state_for_tna_key(int tna_key) noexcept {
  for (const TnaKeyInfo& info : kTnaKeys) {
    if (info.key == tna_key) {
      return info.punch;
    }
  }
  return std::nullopt;
}

std::string render_code_tables_markdown() {
  std::string out;
  out += "### Event codes → kinds\n\n";
  out +=
      "`event_type_id.code` is 16 bits: for the `0xNNxx` rows the high byte is the event and "
      "the low byte its sub code (method or reason, tables below). Codes not listed are "
      "stored as kind `operation` named `unknown`, with their number, never dropped.\n\n";
  out += row({"code", "Suprema name", "kind", "result", "reason", "sub code", "meaning", "source"});
  out += "|---|---|---|---|---|---|---|---|\n";
  for (const EventCodeInfo& info : kEventCodes) {
    out += row({"`" + hex_code(info.code, info.family) + "`", info.name, info.kind,
                to_string(info.outcome),
                info.reason.empty() ? std::string() : "`" + std::string(info.reason) + "`",
                to_string(info.sub), info.meaning, to_string(info.evidence)});
  }
  out += "\n### Sub codes → verify method or refusal reason\n\n";
  out += "An unknown method reads `unknown`; an unknown reason keeps the event row's reason.\n\n";
  out += row({"table", "sub", "slug", "meaning", "source"});
  out += "|---|---|---|---|---|\n";
  for (const SubCodeInfo& info : kSubCodes) {
    out += row({to_string(info.table), hex_byte(info.sub), "`" + std::string(info.slug) + "`",
                info.meaning, to_string(info.evidence)});
  }
  out += "\n### T&A key → punch state (default)\n\n";
  out +=
      "What a key means is set on each device (key labels are configurable), so this is "
      "pushgate's default, not a vendor fact (hence `obs`); keys not listed give no punch "
      "state, and the key number is always kept.\n\n";
  out += row({"tna_key", "punch state", "meaning", "source"});
  out += "|---|---|---|---|\n";
  for (const TnaKeyInfo& info : kTnaKeys) {
    out += row({std::to_string(info.key), info.punch ? std::to_string(*info.punch) : "—",
                info.meaning, to_string(info.evidence)});
  }
  return out;
}

}  // namespace pushgate::adapters::suprema
