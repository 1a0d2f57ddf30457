#include "adapters/dahua/dahua_codes.hpp"

#include <array>

#include "adapters/dahua/dahua_event.hpp"

namespace pushgate::adapters::dahua {

namespace {

using E = Evidence;

// Codes: the attach `codes` list of issue 16 and the Intelbras eventManager
// page (https://intelbras-caco-api-ct3000.intelbras.com.br/obtendo_eventos/eventManager).
constexpr std::array kEventCodes{
    EventCodeInfo{"AccessControl", "access",
                  "a passage or a refusal: Status 1 granted, 0 refused (ErrorCode says why)",
                  E::Doc},
    EventCodeInfo{"DoorStatus", "door_state", "door sensor state: Status Open / Close / Break",
                  E::Obs},
    EventCodeInfo{"BreakIn", "alarm", "door forced open", E::Doc},
    EventCodeInfo{"DoorNotClosed", "alarm", "door held open too long (Start / Stop)", E::Doc},
    EventCodeInfo{"Duress", "alarm", "duress credential used", E::Doc},
    EventCodeInfo{"AlarmLocal", "alarm", "local alarm input (Start / Stop)", E::Doc},
    EventCodeInfo{"ChassisIntruded", "alarm", "device tamper: chassis opened (Start / Stop)",
                  E::Doc},
    EventCodeInfo{"ButtonExit", "door_state", "exit button pressed, door released", E::Doc},
    EventCodeInfo{"Reboot", "operation", "the device restarted", E::Doc},
    EventCodeInfo{"Upgrade", "operation", "firmware upgrade", E::Doc},
};

// Method [doc]: Intelbras "Parâmetros Retornados"
// (https://intelbras-caco-api.intelbras.com.br/parametros_retornados); 10 and 16 reserved.
constexpr std::array kMethods{
    MethodInfo{0, "password", "password", E::Doc},
    MethodInfo{1, "card", "access card", E::Doc},
    MethodInfo{2, "card_then_password", "card, then password", E::Doc},
    MethodInfo{3, "password_then_card", "password, then card", E::Doc},
    MethodInfo{4, "remote", "remote unlocking (openDoor, platform)", E::Doc},
    MethodInfo{5, "exit_button", "exit button", E::Doc},
    MethodInfo{6, "fingerprint", "fingerprint", E::Doc},
    MethodInfo{7, "password+card+fingerprint", "password, card and fingerprint together", E::Doc},
    MethodInfo{8, "password+fingerprint", "password and fingerprint together", E::Doc},
    MethodInfo{9, "card+fingerprint", "card and fingerprint together", E::Doc},
    MethodInfo{11, "multi_user", "several users together", E::Doc},
    MethodInfo{12, "key", "mechanical key", E::Doc},
    MethodInfo{13, "duress_password", "duress password", E::Doc},
    MethodInfo{14, "qr_local", "QR code, checked locally", E::Doc},
    MethodInfo{15, "face", "face recognition, local", E::Doc},
    MethodInfo{17, "id_card", "ID card", E::Doc},
    MethodInfo{18, "face+id_card", "face and ID card", E::Doc},
    MethodInfo{19, "bluetooth", "Bluetooth", E::Doc},
    MethodInfo{20, "custom_password", "custom password", E::Doc},
    MethodInfo{21, "user_id+password", "UserID and password", E::Doc},
    MethodInfo{22, "face+password", "face and password", E::Doc},
    MethodInfo{23, "fingerprint+password", "fingerprint and password", E::Doc},
    MethodInfo{24, "fingerprint+face", "fingerprint and face", E::Doc},
    MethodInfo{25, "card+face", "card and face", E::Doc},
    MethodInfo{26, "face|password", "face or password", E::Doc},
    MethodInfo{27, "fingerprint|password", "fingerprint or password", E::Doc},
    MethodInfo{28, "fingerprint|face", "fingerprint or face", E::Doc},
    MethodInfo{29, "card|face", "card or face", E::Doc},
    MethodInfo{30, "card|fingerprint", "card or fingerprint", E::Doc},
    MethodInfo{31, "fingerprint+face+password", "fingerprint, face and password", E::Doc},
    MethodInfo{32, "card+face+password", "card, face and password", E::Doc},
    MethodInfo{33, "card+fingerprint+password", "card, fingerprint and password", E::Doc},
    MethodInfo{34, "card+fingerprint+face", "card, fingerprint and face", E::Doc},
    MethodInfo{35, "fingerprint|face|password", "fingerprint or face or password", E::Doc},
    MethodInfo{36, "card|face|password", "card or face or password", E::Doc},
    MethodInfo{37, "card|fingerprint|face", "card or fingerprint or face", E::Doc},
    MethodInfo{38, "card+fingerprint+face+password", "card, fingerprint, face and password",
               E::Doc},
    MethodInfo{39, "card|fingerprint|face|password", "card or fingerprint or face or password",
               E::Doc},
    MethodInfo{40, "id_card+face|card|face", "ID card and face, or card, or face", E::Doc},
    MethodInfo{41, "id_card|qr|face", "ID card or QR code or face", E::Doc},
    MethodInfo{42, "dtmf", "DTMF (SIP INFO, RFC 2833, in-band)", E::Doc},
    MethodInfo{43, "qr_remote", "QR code, checked remotely", E::Doc},
    MethodInfo{44, "face_remote", "face recognition, remote", E::Doc},
    MethodInfo{45, "id_card+fingerprint", "ID card matched with its fingerprint", E::Doc},
    MethodInfo{46, "temporary_password", "temporary password", E::Doc},
    MethodInfo{47, "health_code", "health code", E::Doc},
};

// ErrorCode: 0-33 and 64-67 [doc] on the Intelbras page above; the others
// [obs] from the NetSDK's "reason of unlock failure" list (same numbers in hex,
// 0x10 = 16 unauthorized…), as published in SDK headers and
// etcutpal/dahua-asi-sdk ACCESS_CONTROL_EVENTS_MODULE.md.
constexpr std::array kErrorCodes{
    ErrorCodeInfo{0, "none", "no error", E::Doc},
    ErrorCodeInfo{16, "unauthorized", "unauthorized (unknown card, user or face)", E::Doc},
    ErrorCodeInfo{17, "card_lost", "card lost or cancelled", E::Doc},
    ErrorCodeInfo{18, "no_door_permission", "no permission for this door", E::Doc},
    ErrorCodeInfo{19, "wrong_open_mode", "wrong open mode for this door", E::Doc},
    ErrorCodeInfo{20, "validity_period", "outside the user's validity period", E::Doc},
    ErrorCodeInfo{21, "anti_passback", "anti-passback", E::Doc},
    ErrorCodeInfo{22, "duress_not_open", "duress alarm, door not opened", E::Doc},
    ErrorCodeInfo{23, "door_normally_closed", "door held normally closed", E::Doc},
    ErrorCodeInfo{24, "interlock", "AB interlock", E::Doc},
    ErrorCodeInfo{25, "patrol_card", "patrol card", E::Doc},
    ErrorCodeInfo{26, "intrusion_alarm", "device in intrusion alarm state", E::Obs},
    ErrorCodeInfo{32, "time_period", "outside the door's time period", E::Doc},
    ErrorCodeInfo{33, "holiday_period", "holiday time period", E::Doc},
    ErrorCodeInfo{48, "first_card_required", "first-card authorisation required", E::Obs},
    ErrorCodeInfo{64, "password_wrong", "card right, password wrong", E::Doc},
    ErrorCodeInfo{65, "password_timeout", "card right, password timed out", E::Doc},
    ErrorCodeInfo{66, "fingerprint_wrong", "card right, fingerprint wrong", E::Doc},
    ErrorCodeInfo{67, "fingerprint_timeout", "card right, fingerprint timed out", E::Doc},
    ErrorCodeInfo{68, "password_wrong", "fingerprint right, password wrong", E::Obs},
    ErrorCodeInfo{69, "password_timeout", "fingerprint right, password timed out", E::Obs},
    ErrorCodeInfo{80, "multi_user_sequence", "multi-user unlock: wrong order", E::Obs},
    ErrorCodeInfo{81, "multi_user_pending", "multi-user unlock: more users needed", E::Obs},
    ErrorCodeInfo{96, "remote_refused", "verified, but the platform refused", E::Obs},
    ErrorCodeInfo{97, "face_wrong", "card right, face wrong", E::Obs},
    ErrorCodeInfo{98, "face_timeout", "card right, face timed out", E::Obs},
    ErrorCodeInfo{99, "repeat_entry", "repeated entry", E::Obs},
    ErrorCodeInfo{100, "platform_check_required", "platform verification required", E::Obs},
    ErrorCodeInfo{101, "high_temperature", "body temperature too high", E::Obs},
    ErrorCodeInfo{102, "no_mask", "no mask", E::Obs},
    ErrorCodeInfo{103, "health_code_failed", "health code could not be read", E::Obs},
};

// AttendanceState [obs]: the NetSDK's NET_ATTENDANCESTATE enum (published SDK
// headers); the HTTP API documents the field on AccessControlCardRec rows but
// not its values. Mapped onto the attendance rules' punch states.
constexpr std::array kAttendanceStates{
    AttendanceStateInfo{0, "none", -1, "no state key pressed: the rules judge by time", E::Obs},
    AttendanceStateInfo{1, "check_in", 0, "sign in (start of work)", E::Obs},
    AttendanceStateInfo{2, "break_out", 2, "going out", E::Obs},
    AttendanceStateInfo{3, "break_in", 3, "back from going out", E::Obs},
    AttendanceStateInfo{4, "check_out", 1, "sign out (end of work)", E::Obs},
    AttendanceStateInfo{5, "overtime_in", 4, "overtime sign in", E::Obs},
    AttendanceStateInfo{6, "overtime_out", 5, "overtime sign out", E::Obs},
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

}  // namespace

std::string_view to_string(Evidence evidence) noexcept {
  return evidence == Evidence::Doc ? "doc" : "obs";
}

std::span<const EventCodeInfo> event_codes() noexcept {
  return kEventCodes;
}
std::span<const MethodInfo> verify_methods() noexcept {
  return kMethods;
}
std::span<const ErrorCodeInfo> error_codes() noexcept {
  return kErrorCodes;
}

std::span<const AttendanceStateInfo> attendance_states() noexcept {
  return kAttendanceStates;
}

int punch_state_of(int attendance_state) noexcept {
  for (const AttendanceStateInfo& info : kAttendanceStates) {
    if (info.code == attendance_state) {
      return info.punch_state;
    }
  }
  return -1;
}

const EventCodeInfo* find_event_code(std::string_view code) noexcept {
  for (const EventCodeInfo& info : kEventCodes) {
    if (iequals(info.code, code)) {
      return &info;
    }
  }
  return nullptr;
}

std::string_view event_kind_for(std::string_view code) noexcept {
  const EventCodeInfo* info = find_event_code(code);
  return info != nullptr ? info->kind : std::string_view("operation");
}

std::string_view verify_method_name(int method) noexcept {
  for (const MethodInfo& info : kMethods) {
    if (info.code == method) {
      return info.name;
    }
  }
  return "unknown";
}

std::string_view refusal_reason(int error_code) noexcept {
  for (const ErrorCodeInfo& info : kErrorCodes) {
    if (info.code == error_code) {
      return info.reason;
    }
  }
  return "unknown";
}

std::string render_code_tables_markdown() {
  std::string out;
  out += "### Event codes → kinds\n\n";
  out += "Codes not listed are stored as kind `operation` with their code, never dropped.\n\n";
  out += row({"Code", "kind", "meaning", "source"});
  out += "|---|---|---|---|\n";
  for (const EventCodeInfo& info : kEventCodes) {
    out += row(
        {"`" + std::string(info.code) + "`", info.kind, info.meaning, to_string(info.evidence)});
  }
  out += "\n### `Method` (HTTP API) → verify method\n\n";
  out += "Not the NetSDK enum (there face is 16). Values not listed read `unknown`.\n\n";
  out += row({"Method", "name", "meaning", "source"});
  out += "|---|---|---|---|\n";
  for (const MethodInfo& info : kMethods) {
    out += row({std::to_string(info.code), "`" + std::string(info.name) + "`", info.meaning,
                to_string(info.evidence)});
  }
  out += "\n### `ErrorCode` → refusal reason\n\n";
  out += "Values not listed read `unknown`; the number is always kept.\n\n";
  out += row({"ErrorCode", "reason", "meaning", "source"});
  out += "|---|---|---|---|\n";
  for (const ErrorCodeInfo& info : kErrorCodes) {
    out += row({std::to_string(info.code), "`" + std::string(info.reason) + "`", info.meaning,
                to_string(info.evidence)});
  }
  out += "\n### `AttendanceState` → punch state\n\n";
  out += "Only for devices with `attendance = true`. Values not listed: no state.\n\n";
  out += row({"AttendanceState", "name", "punch state", "meaning", "source"});
  out += "|---|---|---|---|---|\n";
  for (const AttendanceStateInfo& info : kAttendanceStates) {
    out += row({std::to_string(info.code), "`" + std::string(info.name) + "`",
                info.punch_state < 0 ? std::string("none") : std::to_string(info.punch_state),
                info.meaning, to_string(info.evidence)});
  }
  return out;
}

}  // namespace pushgate::adapters::dahua
