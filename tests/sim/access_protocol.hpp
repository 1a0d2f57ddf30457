#pragma once

// The access-control flavour ("Security PUSH" 3.x, DeviceType=acc) of the
// wire format, seen from the terminal: the handshake and registration
// (§4.1, §4.4), the configuration answers (§4.5), rtlog / rtstate lines (§7.2,
// §7.3), tabledata records (§7.5–§7.11), the server's DATA / CONTROL DEVICE
// commands (§9), and remote identification (§10).
//
// Written from shared/seeds/003_72460ab9b4578a15.txt (Security PUSH 3.1.2),
// independently of adapters/. Pure functions, no I/O, no exceptions on bad
// input.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tests/sim/push_protocol.hpp"

namespace pushgate::sim {

/// Appendix 18 / §9.1.1 biometric types.
namespace bio_type {
inline constexpr int kFingerprint = 1;
inline constexpr int kNirFace = 2;
inline constexpr int kPalm = 8;
inline constexpr int kVisibleFace = 9;
}  // namespace bio_type

/// What the access terminal reports at registration (§4.4). Defaults: a
/// one-door controller with a fingerprint and visible-light face reader.
struct AccessDeviceProfile {
  std::string device_name = "SpeedFace-V5L";
  std::string firmware = "ZAM180-NF-Ver1.0.0";
  std::string push_version = "Ver 2.0.22-20161201";
  std::string pushver = "3.1.2";  // the handshake's pushver (Appendix 13)
  std::string ip_address = "192.168.1.211";
  std::string mac = "00:17:61:12:fb:01";
  int lock_count = 1;
  int reader_count = 2;
  int aux_in_count = 1;
  int aux_out_count = 1;
  int machine_type = 101;
  /// `MultiBioDataSupport`: entry i is "1" when type i is supported (§3.1).
  std::string multi_bio_data_support = "0:1:0:0:0:0:0:0:0:1";
  /// `MultiBioPhotoSupport`.
  std::string multi_bio_photo_support = "0:0:0:0:0:0:0:0:0:1";
  std::string multi_bio_version = "0:10.0:0:0:0:0:0:0:0:39.0";
  int max_multi_bio_data_count = 10000;
  int max_multi_bio_photo_count = 10000;
  /// The handshake carries `DeviceType=acc` (§4.1 "pushed only when this
  /// parameter has been set"); face terminals of the current line send
  /// `pushver=3.x` and no DeviceType.
  bool handshake_device_type = true;
  /// Appended verbatim to the registration body (`key=value`), e.g. extra
  /// AccSupportFunList bits a test wants.
  std::vector<std::pair<std::string, std::string>> extra;
};

/// The comma-separated `key=value` body of `POST /iclock/registry` (§4.4),
/// `DeviceType=acc` first, as in the spec's example.
std::string format_registry_body(const AccessDeviceProfile& profile);

/// `GET /iclock/cdata?SN=..&options=all&pushver=..&DeviceType=acc` (§4.1),
/// without DeviceType when the profile says so.
std::string access_handshake_target(const AccessDeviceProfile& profile,
                                    std::string_view serial_number);

/// `GET /iclock/getrequest?SN=..&INFO=..&pushver=..`: the first request of
/// firmware that polls before any handshake (INFO as in the attendance
/// spec §9: firmware, users, fingerprints, records, IP, algorithms, faces,
/// function flags).
std::string access_info_poll_target(const AccessDeviceProfile& profile,
                                    std::string_view serial_number, std::size_t users);

/// Parsed `0:1:0:...` list (§3.1): entry i true when it is "1" (spaces
/// allowed around the colons, as in the spec's examples).
std::vector<bool> parse_bio_support(std::string_view list);
bool bio_supported(const std::vector<bool>& support, int type);

/// The server's key=value configuration (§4.1 registered answer, §4.5).
struct AccessServerConfig {
  /// The handshake said `registry=ok` (the device is registered).
  bool registered = false;
  std::map<std::string, std::string> values;
  std::string registry_code;
  std::string session_id;
  std::optional<std::chrono::seconds> error_delay;    // ErrorDelay
  std::optional<std::chrono::seconds> request_delay;  // RequestDelay
  std::string multi_bio_data_support;
  std::string multi_bio_photo_support;
};

struct AccessServerConfigParse {
  /// False when the body is neither "OK" (not registered) nor key=value
  /// lines; the terminal then retries after ErrorDelay.
  bool ok = false;
  std::string error;
  AccessServerConfig config;
  std::vector<LineProblem> problems;
};

/// Parses a handshake answer ("OK" alone: not registered) or a §4.5 push
/// answer (`key=value` per line).
AccessServerConfigParse parse_access_server_config(std::string_view body);

/// `RegistryCode=<code>` (§4.4); nullopt for anything else.
std::optional<std::string> parse_registry_answer(std::string_view body);

/// Lowercase hex MD5 of `RegistryCode + SN + SessionID`: the session token
/// sent as `Cookie: token=..` after registration.
std::string session_token(std::string_view registry_code, std::string_view serial_number,
                          std::string_view session_id);

/// One real-time event (§7.2).
struct RtLogEvent {
  LocalSeconds time{};
  std::string pin = "0";
  std::string cardno = "0";
  int eventaddr = 1;
  int event = 0;
  int inoutstatus = 0;
  int verifytype = 0;
  std::uint64_t index = 0;
};

/// `time=..\tpin=..\tcardno=..\tsitecode=0\tlinkid=0\teventaddr=..\tevent=..
/// \tinoutstatus=..\tverifytype=..\tindex=..`.
std::string format_rtlog_line(const RtLogEvent& event);

/// `time=..\tsensor=..\trelay=..\talarm=..` (§7.3). `sensor`/`relay` are the
/// hex bytes per door as the spec shows them ("00"), `alarm` 16 hex digits.
std::string format_rtstate_line(LocalSeconds time, std::string_view sensor, std::string_view relay,
                                std::string_view alarm);

/// A user as the access terminal stores it (§7.5 / §9.1.1 user).
struct AccessUser {
  std::string pin;
  std::string name;
  std::string card;
  std::string password;
  std::string group = "1";
  std::string privilege = "0";
  std::string start_time = "0";
  std::string end_time = "0";
  std::string disable = "0";
  std::string verify = "0";
};

/// A template (templatev10 stored as Type=1, or biodata).
struct AccessTemplate {
  std::string pin;
  int type = bio_type::kFingerprint;
  int no = 0;
  int index = 0;
  int valid = 1;
  int duress = 0;
  std::string major_ver = "10";
  std::string minor_ver = "0";
  std::string format = "0";
  std::string tmp;  // base64
};

/// A comparison photo (biophoto, with its biometric type) or a user photo
/// (userpic, type 0).
struct AccessPhoto {
  std::string pin;
  std::string table = "biophoto";  // biophoto | userpic
  int type = bio_type::kVisibleFace;
  std::string content;  // base64
};

/// `user uid=..\tcardno=..\tpin=..\tpassword=..\tgroup=..\tstarttime=..\t
/// endtime=..\tname=..\tprivilege=..\tdisable=..\tverify=..` (§7.5).
std::string format_user_record(const AccessUser& user, int uid);
/// `templatev10 size=..\tuid=..\tpin=..\tfingerid=..\tvalid=..\ttemplate=..
/// \tresverd=\tendtag=` (§7.7).
std::string format_templatev10_record(const AccessTemplate& tmpl, int uid);
/// `biodata pin=..\tno=..\tindex=..\tvalid=..\tduress=..\ttype=..\tmajorver=..
/// \tminorver=..\tformat=..\ttmp=..` (§7.11).
std::string format_biodata_record(const AccessTemplate& tmpl);
/// `biophoto pin=..\tfilename=..\ttype=..\tsize=..\tcontent=..` (§7.8) or
/// `userpic pin=..\tfilename=..\tsize=..\tcontent=..` (§7.10).
std::string format_photo_record(const AccessPhoto& photo);

/// The verbs the access terminal tells apart (§9).
enum class AccessVerb {
  DataUpdate,
  DataDelete,
  DataQuery,
  DataCount,
  ControlDevice,
  SetOptions,
  GetOptions,
  Other,
};

struct AccessCommand {
  AccessVerb verb = AccessVerb::Other;
  /// The table of a DATA command ("user", "templatev10", ...), as sent.
  std::string table;
  /// Everything after the table (DATA) or the verb (others).
  std::string argument;
  /// The CMD= value of the devicecmd reply ("DATA", "CONTROL DEVICE", ...).
  std::string reply_cmd;
};

/// Splits a command text into verb, table and argument. Words are separated
/// by single spaces, as in every example of §9.
AccessCommand parse_access_command(std::string_view text);

/// One decoded `CONTROL DEVICE AABBCCDD[EE]` (§9.4): hex pairs.
struct ControlDevice {
  int action = 0;   // AA: 1 output, 2 cancel alarm, 3 restart, 4 normal open, 6 lock
  int address = 0;  // BB: door (or aux output) id; 0 all
  int target = 0;   // CC: 1 lock, 2 aux output (action 1); enable/lock flag (4, 6)
  int value = 0;    // DD: seconds; 0xFF normal open; 0 off
};
std::optional<ControlDevice> parse_control_device(std::string_view argument);

/// What the terminal sends for remote identification (§10).
struct RemoteAuthRequest {
  LocalSeconds time{};  // the terminal's clock when left at epoch
  std::string pin = "0";
  std::string cardno = "0";
  int addrtype = 2;  // 2: door
  int eventaddr = 1;
  int event = 0;
  int inoutstatus = 0;  // 0 in, 1 out
  int verifytype = 1;
};

/// `time=..\tpin=..\tcardno=..\taddrtype=..\teventaddr=..\tevent=..
/// \tinoutstatus=..\tverifytype=..`.
std::string format_remote_auth_body(const RemoteAuthRequest& request);

/// The server's §10 answer: `AUTH=..` CRLF the event CRLF `CONTROL DEVICE ..`
/// CRLF `TIPS=..` (LF accepted too; the last two optional).
struct RemoteAuthAnswer {
  bool ok = false;  // an AUTH= first line was found
  std::string error;
  std::string auth;  // SUCCESS | FAILED | TIMEOUT | what was sent
  Fields event;
  /// The argument of the CONTROL DEVICE line, empty when none was sent.
  std::string control_device;
  std::string tips;
  std::vector<LineProblem> problems;
};
RemoteAuthAnswer parse_remote_auth_answer(std::string_view body);

/// Access-terminal return codes (Appendix 1) the simulator answers.
namespace access_return {
inline constexpr int kOk = 0;
inline constexpr int kIncorrectParameter = -11;
inline constexpr int kNoSuchCommand = -13;
inline constexpr int kLengthMismatch = -20;
inline constexpr int kNoSuchUser = -27;
}  // namespace access_return

}  // namespace pushgate::sim
