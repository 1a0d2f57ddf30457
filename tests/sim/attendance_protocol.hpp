#pragma once

// The attendance flavour (PUSH SDK 2.4.1, pushver=2.4.1) of the wire format,
// seen from the terminal: the `GET OPTION FROM:` handshake answer, the ATTLOG /
// OPLOG / USER / BIODATA / FP record lines, the `table=options` line, the
// getrequest `INFO=` value, the `CMD=INFO` reply body and the command verbs.
//
// Pure functions, no I/O. Byte shapes follow the SpeedFace-V5L[TD] captures in
// shared/fixtures/zk-pushdemo/ where the spec and the captures differ.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tests/sim/push_protocol.hpp"

namespace pushgate::sim {

/// The server configuration from the handshake answer.
struct ServerOptions {
  /// The serial number after "GET OPTION FROM:".
  std::string serial_number;
  /// Every key=value line as sent, including the ones interpreted below.
  std::map<std::string, std::string> values;
  std::optional<std::chrono::seconds> error_delay;     // ErrorDelay
  std::optional<std::chrono::seconds> delay;           // Delay: the getrequest interval
  std::optional<std::chrono::minutes> trans_interval;  // TransInterval (0: no interval upload)
  std::vector<std::chrono::minutes> trans_times;       // TransTimes, minutes after midnight
  std::optional<std::chrono::minutes> time_zone;       // TimeZone, normalised to minutes
  /// Realtime=1 (the firmware default when absent): upload new records at once.
  bool realtime = true;
  bool push_options_flag = false;         // PushOptionsFlag=1: server wants table=options
  std::vector<std::string> push_options;  // PushOptions=key1,key2
  std::string push_prot_ver;              // PushProtVer
  std::string trans_flag;                 // TransFlag, unparsed
};

/// Result of parsing a handshake answer.
struct ServerOptionsParse {
  /// False when the body does not start with "GET OPTION FROM" (the spec: "the
  /// first line must be this"); the terminal then retries after ErrorDelay.
  bool ok = false;
  std::string error;
  ServerOptions options;
  /// Lines or values that were not understood; the rest is still used.
  std::vector<LineProblem> problems;
};

ServerOptionsParse parse_server_options(std::string_view body);

/// TimeZone: -12 < tz < 12 is whole hours, |tz| > 60 is minutes (the spec).
/// nullopt for anything else.
std::optional<std::chrono::minutes> parse_time_zone(std::string_view text);

/// TransTimes "HH:MM;HH:MM" (up to 10). Malformed entries are skipped.
std::vector<std::chrono::minutes> parse_trans_times(std::string_view text);

/// One attendance punch held by the terminal.
struct AttendanceRecord {
  std::string pin;
  LocalSeconds time{};
  int status = 0;   // check-in/out state (0..5)
  int verify = 15;  // verification mode, Appendix 7 (15: face, 1: fingerprint)
  std::string workcode;
  int mask = 0;                  // field 8 on SpeedFace: mask detected
  int temperature_tenths = 365;  // field 9 on SpeedFace: 36.5
  std::uint64_t index = 0;       // field 10 on SpeedFace: the device's log index
};

/// 7 fields is the spec's ATTLOG line, 10 what the SpeedFace-V5L[TD] sends:
/// `PIN\tTIME\tSTATUS\tVERIFY\tWORKCODE\t0\t0\tMASK\tTEMP\tINDEX`.
inline constexpr int kSpecAttlogFields = 7;
inline constexpr int kSpeedFaceAttlogFields = 10;
inline constexpr int kMinAttlogFields = 2;

/// Formats one ATTLOG line without its LF, keeping the first `field_count`
/// fields (clamped to 2..10).
std::string format_attlog_line(const AttendanceRecord& record, int field_count);

/// One operation-log entry (`OPLOG <type>\t<who>\t<time>\t<v1>\t<v2>\t<v3>\t<res>`).
struct OperationRecord {
  int op_type = 0;  // Appendix 3: 0 startup, 4 access menu, 5 change settings, ...
  std::string op_who = "0";
  LocalSeconds time{};
  std::string value1 = "0";
  std::string value2 = "0";
  std::string value3 = "0";
  std::string reserved = "0";
};

std::string format_oplog_line(const OperationRecord& record);

/// A user as the terminal stores it.
struct UserInfo {
  std::string pin;
  std::string name;
  std::string pri = "0";
  std::string passwd;
  std::string card;
  std::string grp = "1";
  std::string tz = "0000000100000000";
  std::string verify = "-1";
  std::string vice_card;
  std::string start_datetime = "0";
  std::string end_datetime = "0";
};

/// `USER PIN=..\tName=..\tPri=..\tPasswd=..\tCard=..\tGrp=..\tTZ=..\tVerify=..
/// \tViceCard=..\tStartDatetime=..\tEndDatetime=..`, as captured.
std::string format_user_line(const UserInfo& user);

/// A biometric template (BIODATA, or FINGERTMP stored as Type=1).
struct BioTemplate {
  std::string pin;
  int type = 1;  // 1 fingerprint, 2 face, 9 visible light face (Appendix 10)
  int no = 0;    // finger number / body part
  int index = 0;
  int valid = 1;
  int duress = 0;
  std::string major_ver = "0";
  std::string minor_ver;
  std::string format = "ZK";
  std::string tmp;  // base64 template
};

/// `BIODATA Pin=..\tNo=..\tIndex=..\tValid=..\tDuress=..\tType=..\tMajorVer=..
/// \tMinorVer=..\tFormat=..\tTmp=..`, as captured.
std::string format_biodata_line(const BioTemplate& tmpl);

/// `FP PIN=..\tFID=..\tSize=..\tValid=..\tTMP=..` (the spec's fingerprint line).
std::string format_fp_line(const BioTemplate& tmpl);

/// Static facts about the simulated device. Defaults: the SpeedFace-V5L[TD]
/// with firmware ZAM170-NF-Ver1.3.5 from the captures.
struct DeviceProfile {
  std::string device_name = "SpeedFace-V5L[TD]";
  std::string mac = "00:17:61:12:fa:f0";
  std::string firmware = "ZAM170-NF-Ver1.3.5";
  std::string push_version = "Ver 2.0.32S-20200513";
  std::string platform = "ZAM170_TFT";
  std::string oem_vendor = "ZKTeco Co., Ltd.";
  std::string ip_address = "192.168.1.201";
  std::string pushver = "2.4.1";
  std::string device_type = "att";  // the `DeviceType=att` handshake parameter
  int language = 69;                // Appendix 2: 69 English
  int fp_version = 10;
  int face_version = 58;
  int pv_version = 12;
  int faces_required = 12;               // INFO value 8
  std::string function_flags = "11110";  // INFO value 10
};

/// Live counts the terminal reports in options, INFO= and CMD=INFO.
struct DeviceCounts {
  std::size_t users = 0;
  std::size_t fingerprints = 0;
  std::size_t faces = 0;
  std::size_t palms = 0;
  std::size_t attlogs = 0;
};

/// `GET /iclock/cdata?SN=..&options=all&language=..&pushver=..&DeviceType=att
/// &PushOptionsFlag=1` target, parameter order as captured (firmware 1.3.5).
std::string handshake_target(const DeviceProfile& profile, std::string_view serial_number);

/// The `table=options` body line (`~DeviceName=...,MAC=...,~OEMVendor=...`).
std::string format_options_line(const DeviceProfile& profile, const DeviceCounts& counts);

/// The getrequest `INFO=` value: firmware, users, fingerprints, attlogs, ip,
/// fp version, face version, faces required, faces enrolled, function flags.
std::string format_info_value(const DeviceProfile& profile, const DeviceCounts& counts);

/// The lines after `ID=..&Return=0&CMD=INFO` in a devicecmd body, each with
/// its LF, key list as captured. `extra` (SET OPTION values) is appended.
std::string format_info_reply(const DeviceProfile& profile, const DeviceCounts& counts,
                              std::string_view serial_number,
                              const std::map<std::string, std::string>& extra);

/// The verbs the attendance terminal tells apart.
enum class CommandVerb {
  DataUpdate,
  DataDelete,
  DataQuery,
  ClearLog,
  ClearData,
  ClearPhoto,
  ClearBiodata,
  Check,
  Log,
  Info,
  SetOption,
  ReloadOptions,
  Reboot,
  AcUnlock,
  AcUnalarm,
  ControlDevice,
  VerifySum,
  GetFile,
  Shell,
  Enroll,
  Unknown,
};

/// A command text split into verb, table and record.
struct ParsedCommand {
  CommandVerb verb = CommandVerb::Unknown;
  /// The CMD= value of the devicecmd reply ("DATA", "CLEAR_LOG", "SET OPTION").
  std::string reply_cmd;
  /// DATA and VERIFY SUM: the table (USERINFO, ATTLOG, ...).
  std::string table;
  /// Everything after the verb (and table), e.g. the TAB-separated record.
  std::string argument;
};

ParsedCommand parse_attendance_command(std::string_view text);

/// Return codes from the spec's Appendix 1 that the simulator answers.
namespace return_code {
inline constexpr int kOk = 0;
inline constexpr int kBadParameter = -1;
inline constexpr int kFileNotFound = -2;  // what the captured firmware answered to GetFile
inline constexpr int kTemplateSizeMismatch = -9;
inline constexpr int kNoSuchUser = -10;
inline constexpr int kNotSupported = -1002;
inline constexpr int kInconsistentConfig = -1004;
}  // namespace return_code

}  // namespace pushgate::sim
