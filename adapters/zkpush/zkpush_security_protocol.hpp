#pragma once

// The access-control flavour of ZKTeco PUSH ("Security PUSH Communication
// Protocol", PUSH protocol 3.1.2, doc 4.8, shared/seeds/003_*.txt; terminals
// that register with DeviceType=acc): pure parsers of what a terminal sends
// and serialisers of what pushgate answers. Section numbers below (§4.4,
// Appendix 13, ...) are that document's.
//
// The contract of zkpush_protocol.hpp holds here unchanged: every function is
// pure and re-entrant (callable from any strand or thread, never blocks);
// results own their strings; terminal bytes never make a function throw
// (only std::bad_alloc can escape) nor assert; whatever is not understood
// comes back as a ParseProblem with its raw bytes so the caller can
// quarantine it; keys are matched ignoring ASCII case; bodies are split on
// LF, and CRs and NULs at the end of a line are dropped (so LF, CRLF and
// NUL-terminated bodies parse alike); blank lines are neither records nor
// problems, and every other line is exactly one of the two. Size limits are
// the caller's: bound the body before calling.
//
// One exception to "no library beyond the standard one": compute_token()
// uses OpenSSL's EVP MD5, which the PUSH token is defined with.
//
// What this flavour shares with the attendance one (ParseProblem, KeyValues,
// DeviceTime, parse_query, parse_options, parse_devicecmd, the BIODATA /
// BIOPHOTO / ERRORLOG record types) is reused from zkpush_protocol.hpp.

#include <compare>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "adapters/zkpush/zkpush_protocol.hpp"

namespace pushgate::adapters::zkpush::security {

// ---------------------------------------------------------------------------
// Endpoints and uploads
// ---------------------------------------------------------------------------

/** The /iclock endpoints of Security PUSH. */
enum class SecurityEndpoint {
  Cdata,       ///< /iclock/cdata: handshake (GET), uploads and remote identification (POST)
  Registry,    ///< /iclock/registry: registration body (§4.4)
  Push,        ///< /iclock/push: configuration download (§4.5)
  GetRequest,  ///< /iclock/getrequest: command poll (§8.1)
  DeviceCmd,   ///< /iclock/devicecmd: command results (§7.4)
  Ping,        ///< /iclock/ping: heartbeat during long uploads (§6), answered "OK"
  QueryData,   ///< /iclock/querydata: answers to DATA QUERY / DATA COUNT / GET OPTIONS (§9)
  Exchange,    ///< /iclock/exchange: key exchange of the encrypted dialect (not supported)
  Unknown,
};

/** Maps a request path (without query) to its endpoint; ASCII case and one trailing '/' ignored. */
SecurityEndpoint classify_security_endpoint(std::string_view path) noexcept;

/** What a POST /iclock/cdata carries, decided from its query parameters. */
enum class CdataUpload {
  RtLog,       ///< table=rtlog: access events (§7.2, §7.13) -> parse_rtlog
  RtState,     ///< table=rtstate: door sensor, relay and alarm state (§7.3) -> parse_rtstate
  TableData,   ///< table=tabledata&tablename=..: records (§7.5-7.12, §5) -> parse_tabledata
  Options,     ///< table=options: device parameters (§4.6) -> zkpush::parse_options
  IrState,     ///< table=irstate: channel-controller infrared counts (§7.14, not parsed here)
  TestData,    ///< table=testdata: Wiegand test result (§9.4 example 4, not parsed here)
  RemoteAuth,  ///< AuthType=device: remote identification (§10) -> parse_remote_auth
  Unknown,
};

/**
 * Classifies a cdata POST. AuthType=device wins over table= (the §10 request
 * has no table); table names are matched ignoring case.
 */
CdataUpload classify_cdata_upload(const QueryResult& query) noexcept;

/** The body pushgate answers to ping, options, rtlog, rtstate and devicecmd uploads. */
inline constexpr std::string_view kOkAnswer = "OK";

// ---------------------------------------------------------------------------
// Handshake request and protocol version (§4.1, Appendix 13)
// ---------------------------------------------------------------------------

/** The parameters of `GET /iclock/cdata?SN=..&pushver=..&options=all[&DeviceType=..]`. */
struct HandshakeRequest {
  std::string sn;            ///< SN; empty when missing (the request is unusable)
  std::string pushver;       ///< pushver as sent; empty when absent (Appendix 13: means 3.0.1)
  bool options_all = false;  ///< options=all, the only value the spec defines
  std::string device_type;   ///< DeviceType when the terminal adds it ("acc", "att")
};

HandshakeRequest handshake_request(const QueryResult& query);

/** A PUSH protocol version "major.minor.patch" (Appendix 13: 3.0.1, 3.1.1, 3.1.2). */
struct ProtocolVersion {
  int major = 0;
  int minor = 0;
  int patch = 0;
  friend auto operator<=>(const ProtocolVersion&, const ProtocolVersion&) = default;
};

/**
 * Parses "3.1.2" (1 to 3 dot-separated decimal parts, missing parts are 0, a
 * leading "Ver " or "V" is skipped). nullopt for anything else, including
 * "Ver 2.0.22-20161201" (a firmware build string, not a protocol version).
 */
std::optional<ProtocolVersion> parse_protocol_version(std::string_view text) noexcept;

/** "3.0.1". */
std::string format_protocol_version(const ProtocolVersion& version);

/**
 * Whether a request's own parameters say the terminal speaks Security PUSH
 * 3.x: `DeviceType=acc`, or, without a DeviceType, a `pushver` of 3 or above
 * (Appendix 13 lists 3.0.1, 3.1.1, 3.1.2). Face terminals of the current
 * line send `pushver=3.x` and no DeviceType; attendance firmware announces
 * `pushver=2.x` (or `DeviceType=att`) and keeps the 2.x dialect. nullopt
 * when the request says neither (no DeviceType, no readable pushver).
 */
std::optional<bool> announces_security_push(const QueryResult& query) noexcept;

/** The version a server that sends no PushProtVer is taken to speak (Appendix 13). */
inline constexpr ProtocolVersion kDefaultPushProtVer{3, 0, 1};
/** The first version whose terminals encrypt (Appendix 13 and 16): 3.1.1. */
inline constexpr ProtocolVersion kFirstEncryptedPushProtVer{3, 1, 1};
/** The highest released version below kFirstEncryptedPushProtVer: what pushgate announces. */
inline constexpr ProtocolVersion kPlainTextPushProtVer{3, 0, 1};
static_assert(kPlainTextPushProtVer < kFirstEncryptedPushProtVer,
              "pushgate must announce a version below the encryption scheme");

/** The outcome of choose_push_prot_ver(). */
struct VersionChoice {
  std::string announce;   ///< the PushProtVer value to send: always "3.0.1"
  std::string effective;  ///< the version both ends will use: min(terminal, announced)
  bool terminal_version_known = false;  ///< pushver parsed; false: absent or unparsable
};

/**
 * Appendix 13: each end compares its own version with the other's and both
 * use the lower one; 3.1.1 and above exchange keys and encrypt every body
 * (Appendix 16), which pushgate does not implement. The rule: always
 * announce kPlainTextPushProtVer (3.0.1), the newest released version below
 * 3.1.1. Whatever the terminal sends (3.1.2, nothing, garbage), min() then
 * lands at or below 3.0.1 and the terminal stays on plain text. `effective`
 * is min(terminal's pushver, 3.0.1), with an absent or unparsable pushver
 * read as 3.0.1 (Appendix 13's default). Cost: §7.12 error-log uploads need
 * PushProtVer >= 3.1.2, so terminals do not send them to pushgate.
 */
VersionChoice choose_push_prot_ver(std::string_view terminal_pushver);

// ---------------------------------------------------------------------------
// Registration (§4.4)
// ---------------------------------------------------------------------------

/** The multi-level role a terminal declares (Appendix 15). */
enum class ControllerRole {
  Standalone,  ///< not a multi-level device (the keys are absent, or both controls 0)
  Master,      ///< MultiStageControlFunOn=1, MasterControlOn=1: answers for sub-controllers
  Sub,         ///< MultiStageControlFunOn=1, SubControlOn=1
};

/**
 * The registry keys the gateway uses, typed. Keys are matched ignoring case
 * and a leading '~'; a numeric key whose value is not a decimal integer is
 * left empty and reported as a problem. Everything the terminal sent,
 * including keys not listed here (and the secret authKey, which is
 * deliberately not copied into a typed member), stays in RegistryResult::fields.
 */
struct DeviceRegistration {
  std::string device_type;   ///< DeviceType: "acc" (access control) or "att"
  std::string device_name;   ///< ~DeviceName
  std::string firmware;      ///< FirmVer, e.g. "Ver 8.0.1.3-20151229"
  std::string push_version;  ///< PushVersion: the firmware's PUSH SDK build string (not pushver)
  std::string mac;           ///< MAC
  std::string comm_type;     ///< CommType: "ethernet", "usb-4G-modem", "serial-wireless"
  std::string ip_address;    ///< IPAddress
  std::string net_mask;      ///< NetMask
  std::string gateway;       ///< GATEIPAddress
  std::optional<std::int64_t> max_package_size;  ///< MaxPackageSize, bytes
  std::optional<int> lock_count;                 ///< LockCount: doors
  std::optional<int> reader_count;               ///< ReaderCount
  std::optional<int> aux_in_count;               ///< AuxInCount
  std::optional<int> aux_out_count;              ///< AuxOutCount
  std::optional<int> max_lock_count;             ///< MaxLockCount
  std::optional<int> machine_type;               ///< MachineType (101: integrated machine)
  std::optional<std::int64_t> max_user_count;    ///< ~MaxUserCount
  std::optional<std::int64_t> max_attlog_count;  ///< ~MaxAttLogCount
  std::optional<int> cmd_format;  ///< CmdFormat (Appendix 14): 0 "C:id:..", 1 prefixed
  std::optional<int>
      date_fmt_fun_on;  ///< DateFmtFunOn: 1 user start/end times in Appendix 5 seconds
  ControllerRole role = ControllerRole::Standalone;  ///< from the Appendix 15 keys
  std::string multi_bio_data_support;           ///< MultiBioDataSupport, e.g. "0:1:0:0:0:0:0:0:1:0"
  std::string multi_bio_photo_support;          ///< MultiBioPhotoSupport
  std::string multi_bio_version;                ///< MultiBioVersion, e.g. "0:10.0:0:7.0:..."
  std::string max_multi_bio_data_count;         ///< MaxMultiBioDataCount
  std::string max_multi_bio_photo_count;        ///< MaxMultiBioPhotoCount
  std::string acc_support_fun_list;             ///< AccSupportFunList: '0'/'1' per feature position
  std::string verify_styles;                    ///< VerifyStyles: hex bitmap of Appendix 3 modes
  std::string event_types;                      ///< EventTypes: hex bitmap of Appendix 2 codes
  std::string new_vf_styles;                    ///< NewVFStyles: 16 '0'/'1', see verify_style_name
  std::optional<int> bio_photo_fun;             ///< BioPhotoFun
  std::optional<int> bio_data_fun;              ///< BioDataFun
  std::optional<int> ir_temp_detection_fun_on;  ///< IRTempDetectionFunOn
  std::optional<int> mask_detection_fun_on;     ///< MaskDetectionFunOn
  std::optional<int> dev_ns_level;              ///< DevNSLevel: must equal the server's SvrNSLevel

  bool is_access_control() const noexcept;  ///< DeviceType is "acc" (any case)
  /** True when position `position` (0-based, left to right) of AccSupportFunList is '1'. */
  bool acc_supports(std::size_t position) const noexcept;
};

struct RegistryResult {
  KeyValues fields;  ///< every pair, in order, keys as sent (with '~')
  DeviceRegistration device;
  std::vector<ParseProblem> problems;  ///< pieces without '=', non-numeric numeric keys

  /** First value whose key equals `key` ignoring case and a leading '~' on either side. */
  const std::string* find(std::string_view key) const noexcept;
};

/**
 * Parses the `POST /iclock/registry?SN=..` body: `DeviceType=acc,~DeviceName=..,
 * FirmVer=..` on one line or several (LF/CRLF). Pairs are split like
 * zkpush::parse_options: at LFs and at commas followed by `[~]name=`, so
 * commas inside values ("ZKTeco Co., Ltd.") survive.
 */
RegistryResult parse_registry(std::string_view body);

/**
 * The registration answer, exactly `RegistryCode=<code>` with no line end
 * (the §4.4 example's Content-Length is 23 for "RegistryCode=Uy47fxftP3").
 * CR, LF and NUL are removed from the code. A refused registration is an
 * HTTP 406 status (§4.4 "406 instead of the registration code"), the
 * session's business, not a body rendered here.
 */
std::string render_registry_answer(std::string_view registry_code);

/** §4.4: "a random number ... up to 32 bytes": 1-32 ASCII letters or digits. */
bool valid_registry_code(std::string_view code) noexcept;

// ---------------------------------------------------------------------------
// Server configuration answers (§4.1, §4.5)
// ---------------------------------------------------------------------------

/**
 * The parameters both the registered-handshake answer (§4.1) and the
 * configuration download (§4.5) carry. Defaults follow the §4.5 example
 * except RequestDelay (the example's 2 s poll is needlessly busy).
 */
struct ServerConfig {
  std::string server_version = "3.0.1";  ///< ServerVersion
  std::string server_name = "pushgate";  ///< ServerName
  /** PushProtVer (and, in §4.5, PushVersion): use choose_push_prot_ver().announce. */
  std::string push_prot_ver = "3.0.1";
  int error_delay = 60;                           ///< ErrorDelay, s (spec: 30-300)
  int request_delay = 10;                         ///< RequestDelay, s between getrequest polls
  std::string trans_times = "00:00;14:00";        ///< TransTimes, "HH:MM;HH:MM", up to 10
  int trans_interval = 1;                         ///< TransInterval, minutes
  std::string trans_tables = "User Transaction";  ///< TransTables
  bool realtime = true;                           ///< Realtime
  std::string session_id;                         ///< SessionID: input of the token (compute_token)
  int timeout_sec = 10;                           ///< TimeoutSec
};

/** The §4.1 answer to a terminal that is not registered: exactly "OK". */
std::string render_unregistered_handshake();

/** The §4.1 answer to a registered terminal. */
struct RegisteredHandshake {
  std::string registry_code;  ///< RegistryCode pushgate issued at registration
  ServerConfig config;
  KeyValues extra;  ///< further `Key=Value` lines, appended last
};

/**
 * Renders, in the §4.1 order, `registry=ok`, RegistryCode, ServerVersion,
 * ServerName, PushProtVer, ErrorDelay, RequestDelay, TransTimes,
 * TransInterval, TransTables, Realtime, SessionID, TimeoutSec, then `extra`;
 * lines joined by LF with no LF after the last (the convention the §4.5
 * example's Content-Length of 218 pins down). CR, LF and NUL are removed
 * from every key and value.
 */
std::string render_registered_handshake(const RegisteredHandshake& answer);

/** The §4.5 answer to `POST /iclock/push`. Optional members are omitted when empty. */
struct PushConfigAnswer {
  ServerConfig config;
  /**
   * §4.5's example announces the version as PushVersion (after ServerName);
   * Appendix 13 names it PushProtVer. Both are sent, with the same value,
   * unless this is false (then only PushVersion, as in the example).
   */
  bool also_push_prot_ver = true;
  std::optional<std::string> bio_photo_fun;            ///< BioPhotoFun
  std::optional<std::string> bio_data_fun;             ///< BioDataFun
  std::optional<std::string> multi_bio_data_support;   ///< MultiBioDataSupport
  std::optional<std::string> multi_bio_photo_support;  ///< MultiBioPhotoSupport
  /** NewVFStyles: echoing the terminal's value opts in to 16-bit verifytype strings. */
  std::optional<std::string> new_vf_styles;
  std::optional<std::string> ir_temp_unit_trans;  ///< IRTempUnitTrans: "0" Celsius, "1" Fahrenheit
  std::optional<std::string> qr_code_decrypt_type;  ///< QRCodeDecryptType
  std::optional<std::string> qr_code_decrypt_key;   ///< QRCodeDecryptKey
  std::optional<std::string> svr_ns_level;          ///< SvrNSLevel
  KeyValues extra;                                  ///< appended last
};

/**
 * Renders ServerVersion, ServerName, PushVersion, ErrorDelay, RequestDelay,
 * TransTimes, TransInterval, TransTables, Realtime, SessionID, TimeoutSec
 * (the §4.5 example's order), then PushProtVer, the set optional members in
 * the §4.5 template's order, then `extra`; joined by LF, no final LF.
 */
std::string render_push_config(const PushConfigAnswer& answer);

/**
 * The values of a colon-separated biometric list (MultiBioDataSupport,
 * MultiBioVersion, ...) with spaces trimmed: "0: 1:0" -> {"0","1","0"}.
 * Index = biometric type (Appendix 18).
 */
std::vector<std::string> split_bio_list(std::string_view list);

/** True when entry `type` of a 0/1 list such as MultiBioDataSupport is "1". */
bool bio_type_listed(std::string_view list, std::size_t type);

/**
 * §3.1: the types both ends support. "1" where both lists say "1", "0"
 * elsewhere, as long as the longer list; joined by ':'.
 */
std::string intersect_bio_support(std::string_view terminal, std::string_view server);

// ---------------------------------------------------------------------------
// Session token (§4.5 note)
// ---------------------------------------------------------------------------

/**
 * The token a terminal sends in `Cookie: token=..` after §4.5: the lower-case
 * hex MD5 of RegistryCode, SerialNumber and SessionID concatenated in that
 * order. nullopt only when the crypto library refuses MD5 (a FIPS-only
 * OpenSSL configuration).
 */
std::optional<std::string> compute_token(std::string_view registry_code, std::string_view sn,
                                         std::string_view session_id);

/** The values pushgate reads from a Cookie header. */
struct CookieValues {
  std::optional<std::string> token;      ///< token=..., or a bare 32-hex-digit value
  std::optional<std::string> timestamp;  ///< timestamp=... (§4.5 request template)
};

/**
 * Parses a Cookie header value. Pairs are separated by ';' (RFC 6265) or ','
 * (§4.5 writes "token=${XXX}, timestamp=${XXX}"); names ignore case and
 * surrounding spaces. A value that is only 32 hex digits with no name (the
 * §7.4 example "Cookie: 1637f0b0...") is taken as the token.
 */
CookieValues parse_cookie(std::string_view header_value);

/**
 * Compares a presented token with the expected one: hex case ignored, time
 * independent of where they differ. False when either is empty.
 */
bool token_matches(std::string_view expected, std::string_view presented) noexcept;

// ---------------------------------------------------------------------------
// Door state (§7.3 rtstate; also door rows inside rtlog)
// ---------------------------------------------------------------------------

/** Two sensor bits per door (§7.3). */
enum class DoorSensor {
  None,     ///< 0b00: no door sensor configured
  Closed,   ///< 0b01: door closed
  Open,     ///< 0b10: door open
  Unknown,  ///< 0b11: not defined by the spec
};

std::string_view to_string(DoorSensor sensor) noexcept;

/** One relay bit per door (§7.3: "0b0 ... connected, 0b1 ... disconnected"). */
enum class RelayState {
  Connected,     ///< bit 0
  Disconnected,  ///< bit 1
};

/** The eight alarm bits of a door's alarm byte, least significant first (§7.3). */
enum class DoorAlarm : std::uint8_t {
  AccidentalOpen = 0x01,       ///< first bit: door opened accidentally
  Tamper = 0x02,               ///< second bit
  DuressPassword = 0x04,       ///< third bit
  DuressFingerprint = 0x08,    ///< fourth bit
  DoorSensorTimeout = 0x10,    ///< fifth bit: door left open too long
  MainsPowerFailure = 0x20,    ///< sixth bit
  BatteryPowerFailure = 0x40,  ///< seventh bit
  ReaderDisassembled = 0x80,   ///< eighth bit
};

/** One door's decoded state; a member is empty when its field did not cover that door. */
struct DoorState {
  int door = 0;  ///< 1-based door number
  std::optional<DoorSensor> sensor;
  std::optional<RelayState> relay;
  std::optional<std::uint8_t> alarms;  ///< the door's alarm byte, see DoorAlarm

  bool has_alarm(DoorAlarm alarm) const noexcept {
    return alarms && (*alarms & static_cast<std::uint8_t>(alarm)) != 0;
  }
};

/** The most doors a state row may describe; longer fields are a problem. */
inline constexpr std::size_t kMaxDoors = 64;

/** decode_door_states() output: doors, or why the fields are unusable. */
struct DoorStatesResult {
  std::vector<DoorState> doors;
  std::string error;  ///< empty on success
};

/**
 * Decodes §7.3's fields, each a string of hex byte pairs (absent fields as
 * nullopt; an empty value counts as absent):
 * - sensor "AABB": 2 bits per door, byte 1 = doors 1-4, door 1 in its two
 *   least significant bits;
 * - relay "CC": 1 bit per door, byte 1 = doors 1-8, door 1 least significant;
 * - alarm "DDEE..": 1 byte per door, DD = door 1.
 * With door_count 0 as many doors are returned as the longest field covers
 * (a one-door terminal sending "sensor=00 relay=00 alarm=<16 hex>" yields 8);
 * pass LockCount to cut that down. Odd-length or non-hex fields, or fields
 * covering more than kMaxDoors doors, set `error`.
 */
DoorStatesResult decode_door_states(std::optional<std::string_view> sensor,
                                    std::optional<std::string_view> relay,
                                    std::optional<std::string_view> alarm,
                                    std::size_t door_count = 0);

// ---------------------------------------------------------------------------
// table=rtlog (§7.2, §7.13)
// ---------------------------------------------------------------------------

/**
 * One real-time event: TAB-separated key=value pairs, any order, any subset
 * (firmware differ). Empty values leave the typed member empty.
 */
struct RtlogRecord {
  std::size_t line = 0;
  std::string raw;        ///< the line as sent, without terminator
  std::string time_text;  ///< `time` exactly as sent
  /**
   * `time` as a wall-clock time; empty when it is not YYYY-MM-DD HH:MM:SS.
   * Terminals send such times before NTP has set their clock (e.g.
   * "1971--10--29 -23:-27:-54"): the record is kept, not quarantined.
   */
  std::optional<DeviceTime> time;
  std::string pin;      ///< `pin`; empty for door/device rows ("0" also means none, §10)
  std::string card_no;  ///< `cardno`
  std::optional<std::int64_t> site_code;  ///< `sitecode`
  std::optional<std::int64_t> link_id;    ///< `linkid`: linkage event id
  std::optional<int> event_addr;          ///< `eventaddr`: door id by default
  std::optional<int> event;               ///< `event`: see event_code_name()
  std::optional<int> in_out_status;       ///< `inoutstatus`: 0 in, 1 out (2 seen: none)
  std::string verify_type_text;           ///< `verifytype` as sent
  std::optional<int> verify_mode;         ///< verifytype as an Appendix 3 code
  /** verifytype as a 16-character '0'/'1' NewVFStyles string (§7.2), bit 0 = rightmost. */
  std::optional<std::uint16_t> verify_styles;
  std::optional<std::int64_t> index;  ///< `index`: record id in the terminal (can restart)
  std::optional<int> mask_flag;       ///< `maskflag`: 1 wearing a mask
  std::string temperature;            ///< `temperature`, e.g. "36.2"
  std::string conv_temperature;       ///< `convtemperature`, unit per IRTempUnitTrans
  std::optional<int> bit_count;       ///< `bitCount`: Wiegand bits
  std::optional<int> alarm_type;      ///< `Alarmtype` (§7.13 channel controllers: 200)
  /** Decoded `sensor`/`relay`/`alarm` when a door-state row carries them (their text stays in
   * extra). */
  std::vector<DoorState> doors;
  KeyValues extra;  ///< every other pair, keys as sent

  bool time_unparsed() const noexcept { return !time.has_value(); }
  /** A door/device state row: event 255 ("Door status", Appendix 2) or sensor fields. */
  bool is_door_state_row() const noexcept { return (event && *event == 255) || !doors.empty(); }
};

struct RtlogResult {
  std::vector<RtlogRecord> records;
  std::vector<ParseProblem> problems;
};

/**
 * Parses a table=rtlog body. A line is a problem when a TAB field is not
 * key=value (empty fields from doubled or trailing TABs are skipped), when it
 * has no `time` key, when a numeric key holds a non-integer, when verifytype
 * is neither a number nor a 16-bit style string, or when door-state fields
 * are not hex. A time that does not parse is not a problem.
 */
RtlogResult parse_rtlog(std::string_view body);

/**
 * A key that identifies an access event across re-uploads: serial number,
 * time as sent, index, eventaddr, event, pin, cardno, inoutstatus and
 * verifytype, each length-prefixed ("<len>:<bytes>|...") so no value can
 * imitate a separator. The time is part of it because index restarts after
 * a terminal's log is cleared.
 */
std::string rtlog_dedup_key(std::string_view sn, const RtlogRecord& record);

/** 16 characters of '0'/'1' (NewVFStyles, new-style verifytype) as bits; bit 0 = last one. */
std::optional<std::uint16_t> parse_verify_styles(std::string_view text) noexcept;

// ---------------------------------------------------------------------------
// table=rtstate (§7.3)
// ---------------------------------------------------------------------------

/** `time=..\tsensor=AABB\trelay=CC\talarm=DDEEFFGGHHIIJJKK`. */
struct RtStateRecord {
  std::size_t line = 0;
  std::string raw;
  std::string time_text;
  std::optional<DeviceTime> time;  ///< empty when not YYYY-MM-DD HH:MM:SS (kept, as in rtlog)
  std::string sensor;              ///< as sent, empty when absent
  std::string relay;
  std::string alarm;
  std::vector<DoorState> doors;  ///< see decode_door_states
  KeyValues extra;
};

struct RtStateResult {
  std::vector<RtStateRecord> records;
  std::vector<ParseProblem> problems;
};

/**
 * Parses a table=rtstate body. A line without any of sensor/relay/alarm, with
 * a field that is not key=value or with undecodable hex is a problem.
 * `door_count` as in decode_door_states.
 */
RtStateResult parse_rtstate(std::string_view body, std::size_t door_count = 0);

// ---------------------------------------------------------------------------
// table=tabledata (§7.5-7.12, §5) and /iclock/querydata (§9.1.3, §9.1.4)
// ---------------------------------------------------------------------------

/** The tablename= values pushgate types; anything else is parsed generically. */
enum class TableKind {
  User,             ///< "user" (§7.5)
  IdentityCard,     ///< "identitycard" (§7.6)
  TemplateV10,      ///< "templatev10": fingerprint templates (§7.7)
  BioPhoto,         ///< "biophoto": comparison photos (§7.8)
  AttPhoto,         ///< "ATTPHOTO": snapshots (§7.9)
  UserPic,          ///< "userpic" (§7.10)
  BioData,          ///< "biodata": unified templates (§7.11)
  ErrorLog,         ///< "errorlog" (§7.12)
  Transaction,      ///< "transaction": access records, querydata answers (§9.1.4)
  DeviceAuthorize,  ///< "DeviceAuthorize": sub-controller authorisation (§5), generic
  Other,            ///< any other name (APList, mulcarduser, ...): pairs only
};

TableKind classify_table_name(std::string_view table_name) noexcept;

/**
 * §7.5 `user uid=..\tcardno=..\tpin=..\tpassword=..\tgroup=..\tstarttime=..
 * \tendtime=..\tname=..\tprivilege=..\tdisable=..\tverify=..`.
 */
struct UserInfoRecord {
  std::string pin;  ///< non-empty
  std::optional<int> uid;
  std::string card_no;  ///< "123456789" or "[15CD5B07]", see parse_card_number
  std::string password;
  std::optional<int> group;
  /** starttime/endtime as sent: "0" none; YYYYMMDD, or Appendix 5 seconds when DateFmtFunOn=1. */
  std::string start_time;
  std::string end_time;
  std::string name;  ///< UTF-8, or GB2312 on Chinese-language terminals
  std::optional<int> privilege;
  std::optional<int> disable;  ///< 1: blacklisted
  std::optional<int> verify;
  KeyValues extra;
};

/**
 * §7.6 `identitycard pin=..\tSN_Num=..\tID_Num=..\t...`; the example drops
 * the underscores (IDNum, ValidInfo, ...): both spellings are accepted.
 */
struct IdentityCardRecord {
  std::string pin;     ///< non-empty
  std::string sn_num;  ///< SN_Num: physical card number
  std::string id_num;  ///< ID_Num: citizen ID number
  std::string dn_num;  ///< DN_Num: card management number
  std::string name;
  std::optional<int> gender;  ///< 1 male, 2 female
  std::optional<int> nation;  ///< §7.6 nation code table
  std::string birthday;       ///< yyyyMMdd
  std::string valid_info;     ///< Valid_Info: yyyyMMddyyyyMMdd
  std::string address;
  std::string additional_info;
  std::string issuer;
  std::string photo;      ///< base64, encrypted
  std::string photo_jpg;  ///< PhotoJPG: base64 JPEG
  std::string fp_template1;
  std::string fp_template2;
  std::string reserve;
  std::string notice;
  KeyValues extra;
};

/**
 * §7.7 `templatev10 size=..\tuid=..\tpin=..\tfingerid=..\tvalid=..
 * \ttemplate=..\tresverd=..\tendtag=..`.
 */
struct FingerprintTemplateRecord {
  std::string pin;  ///< non-empty
  std::optional<int> size;
  std::optional<int> uid;
  std::optional<int> finger_id;  ///< 0-9, +16 for a duress finger
  std::optional<int> valid;      ///< 0 invalid, 1 normal, 3 duress
  std::string template_data;     ///< `template`, base64, non-empty
  KeyValues extra;               ///< resverd, endtag, ...

  bool duress() const noexcept { return (finger_id && *finger_id >= 16) || (valid && *valid == 3); }
  /** The finger 0-9 with the duress offset removed. */
  std::optional<int> finger() const noexcept {
    if (!finger_id) {
      return std::nullopt;
    }
    return *finger_id >= 16 ? *finger_id - 16 : *finger_id;
  }
};

/** tablename=ATTPHOTO (§7.9): `pin=<file>.jpg\tsn=..\tsize=..\tphoto=<base64>`, no type word. */
struct SnapshotRecord {
  std::string file_name;  ///< `pin`: "20181003143617-22.jpg", see zkpush::parse_attphoto_name
  std::string sn;
  std::optional<std::int64_t> size;  ///< original JPEG size
  std::string photo;                 ///< base64 JPEG
  KeyValues extra;
};

/**
 * §9.1.4 `transaction cardno=..\tpin=..\tverified=..\tdoorid=..\teventtype=..
 * \tinoutstate=..\ttime_second=..\tindex=..\t...`.
 */
struct TransactionRecord {
  std::string card_no;
  std::string pin;
  std::optional<int> verified;  ///< Appendix 3 verify mode
  std::optional<int> door_id;
  std::optional<int> event_type;  ///< Appendix 2 event code
  std::optional<int> in_out_state;
  std::uint32_t time_second = 0;   ///< Appendix 5 seconds, present
  std::optional<DeviceTime> time;  ///< decode_old_time(time_second); empty if impossible
  std::optional<std::int64_t> index;
  std::optional<std::int64_t> site_code;
  std::optional<int> dev_id;
  std::optional<int> mask_flag;
  std::string temperature;
  std::string conv_temperature;
  KeyValues extra;  ///< e.g. sn
};

/** One understood line of a tabledata/querydata body. */
struct TableEntry {
  std::size_t line = 0;
  std::string raw;        ///< the line as sent, without terminator
  std::string type_word;  ///< "user", "templatev10"... as sent; empty when the line has none
  KeyValues fields;       ///< every pair, in order, keys as sent: the lossless view
  /** The typed view, by table: User -> UserInfoRecord; IdentityCard ->
   *  IdentityCardRecord; TemplateV10 -> FingerprintTemplateRecord; BioData ->
   *  zkpush::TemplateRecord; BioPhoto, UserPic -> zkpush::PhotoRecord;
   *  AttPhoto -> SnapshotRecord; ErrorLog -> zkpush::ErrorLogRecord;
   *  Transaction -> TransactionRecord; DeviceAuthorize, Other -> monostate. */
  std::variant<std::monostate, UserInfoRecord, IdentityCardRecord, FingerprintTemplateRecord,
               TemplateRecord, PhotoRecord, SnapshotRecord, ErrorLogRecord, TransactionRecord>
      record;
};

struct TableDataResult {
  TableKind kind = TableKind::Other;
  std::vector<TableEntry> entries;
  std::vector<ParseProblem> problems;
};

/**
 * Parses the body of a `table=tabledata&tablename=<table_name>` upload (or of
 * a querydata answer). A line is `[<type word> ]k=v\tk=v...`; the type word,
 * when present, must equal `table_name` ignoring case (any word is accepted
 * when `table_name` is empty). Problems: another type word, no pairs, a TAB
 * field without '=', a non-integer in a numeric key, a missing required key
 * (pin for user/identitycard/templatev10/biodata/biophoto/userpic/ATTPHOTO,
 * template/tmp data for templates, errcode for errorlog, time_second for
 * transaction). Keys are matched ignoring case; `FileName`, `file name` and
 * the underscore-less identity-card keys are accepted as aliases.
 */
TableDataResult parse_tabledata(std::string_view table_name, std::string_view body);

/** The tablename= and count= of a tabledata upload. */
struct TableDataParams {
  std::string table_name;             ///< tablename as sent; empty when missing
  std::optional<std::int64_t> count;  ///< count; empty when missing or not a number
};

TableDataParams tabledata_params(const QueryResult& query);

/**
 * The answer to a tabledata or querydata upload: `<table_name>=<count>`
 * (§7.5 "user=1", §7.7 "templatev10=2", §7.9 "ATTPHOTO=1"), no line end,
 * `table_name` as the terminal sent it with CR/LF/NUL removed. `count` is
 * the number of records pushgate took responsibility for (committed,
 * quarantined lines included).
 */
std::string render_table_count_answer(std::string_view table_name, std::size_t count);

/**
 * A card number as sent in cardno/Card: decimal ("123456789") or the
 * bracketed hex form "[15CD5B07]", whose bytes run least significant first
 * (§7.5: 123456789 <-> [15CD5B07]); 1-8 bytes. nullopt otherwise.
 */
std::optional<std::uint64_t> parse_card_number(std::string_view text) noexcept;

/**
 * Appendix 5 (OldEncodeTime): ((year-2000)*12*31 + (month-1)*31 + day-1) *
 * 86400 + (hour*60 + minute)*60 + second. nullopt before 2000 or past the
 * 32-bit range.
 */
std::optional<std::uint32_t> encode_old_time(const DeviceTime& time) noexcept;

/** Appendix 6 (OldDecodeTime); nullopt when the result is no real date (31 Feb). */
std::optional<DeviceTime> decode_old_time(std::uint32_t seconds) noexcept;

/** The query parameters of `POST /iclock/querydata?...` (§9.1.3, §9.1.4, §9.2.1, §9.5.2). */
struct QueryDataParams {
  std::string type;                        ///< "tabledata", "count", "options", "vmtable"
  std::string cmd_id;                      ///< cmdid: the command being answered
  std::string table_name;                  ///< tablename
  std::optional<std::int64_t> count;       ///< count: records in the whole answer
  std::optional<std::int64_t> pack_count;  ///< packcnt: packages in the answer
  std::optional<std::int64_t> pack_index;  ///< packidx: 1-based package number
  std::optional<std::int64_t> datafmt;     ///< datafmt (3: tgz archive, ACCOUNT)
  std::string stamp;                       ///< Stamp
  std::vector<ParseProblem> problems;      ///< non-numeric count/packcnt/packidx/datafmt (line 1)

  /** True when this package is the last one (packidx >= packcnt), or there is no paging. */
  bool last_pack() const noexcept;
};

QueryDataParams querydata_params(const QueryResult& query);

/** A parsed querydata upload. */
struct QueryDataResult {
  QueryDataParams params;
  TableKind kind = TableKind::Other;    ///< from tablename
  std::vector<TableEntry> entries;      ///< type=tabledata / vmtable records
  KeyValues options;                    ///< type=options pairs (parse_options)
  std::optional<std::int64_t> counted;  ///< type=count: N of the `<table>=N` body
  std::vector<ParseProblem> problems;   ///< body lines not understood
};

/**
 * Parses a querydata upload: type=tabledata and vmtable bodies with
 * parse_tabledata, type=count bodies (`user=5`) into `counted`, type=options
 * bodies with parse_options. Bodies of any other type, and datafmt=3
 * archives (§9.2.1 ACCOUNT: name/size header, NUL, base64 tgz), are not
 * parsed: the whole body becomes one problem for the quarantine.
 */
QueryDataResult parse_querydata(const QueryResult& query, std::string_view body);

// ---------------------------------------------------------------------------
// Command results (§7.4, Appendix 15)
// ---------------------------------------------------------------------------

// zkpush::parse_devicecmd parses this flavour's results as they are:
// `ID=..&Return=..&CMD=..[&SN=..]`, lower-case `return=` (§9.1), CMD values
// with spaces ("DATA QUERY", "CONTROL DEVICE") and bare segments such as the
// ACCOUNT answer's `&transaction&` (kept in extra with an empty value).

/** Return value of a master controller that queued a command for a sub-controller (§7.4). */
inline constexpr std::int64_t kReturnQueuedForSubController = -5000;

/** The sub-controller that executed the command (`SN=` in the result, Appendix 15), if any. */
std::optional<std::string> sub_controller_sn(const CommandConfirmation& confirmation);

/** Return is -5000: accepted by the master, not yet executed; a final result follows. */
bool queued_for_sub_controller(const CommandConfirmation& confirmation) noexcept;

// ---------------------------------------------------------------------------
// CONTROL DEVICE (§9.4) and remote identification (§10)
// ---------------------------------------------------------------------------

/** AA of `CONTROL DEVICE AABBCCDDEE` (§9.4); values are decimal, rendered %02X. */
enum class ControlOperation : std::uint8_t {
  Output =
      1,  ///< BB door (0 all), CC 1 lock / 2 aux output, DD 0 off, 255 normal open, else seconds
  CancelAlarm = 2,  ///< BB door (0 all)
  Restart = 3,      ///< BB 0 this device, else slave id
  NormalOpen = 4,   ///< BB door (0 all), CC 0 disable / 1 enable
  BatteryQuery = 5,
  LockDoor = 6,       ///< BB door (0 all), CC 0 unlock / 1 lock
  EmergencyDual = 7,  ///< BB 1 dual-on, 2 dual-off
  Zigbee = 8,
  WiegandTest = 9,  ///< BB 1 start, 2 stop
  Rs485Light = 10,
  NetworkSwitch = 11,  ///< BB 1 wired->4G, 2 wired->Wi-Fi, 3 4G->wired, 4 Wi-Fi->wired
  IdCardRegistration = 12,
  SubDeviceStatus = 13,
  SwitchedNetworkTest = 14,
  CancelElevatorEmergency = 15,
  ResetCounter = 16,  ///< BB 1 out, 2 in, 3 alarms, 4 all
};

/**
 * The bytes of `CONTROL DEVICE AABBCCDDEE`. Elevator operations 17 and 18
 * take a 32-byte floor mask instead and are not expressible here.
 */
struct ControlDevice {
  std::uint8_t operation = 0;  ///< AA, see ControlOperation
  std::uint8_t door = 0;       ///< BB: door (0 all) or the operation's first operand
  std::uint8_t target = 0;     ///< CC: 1 lock / 2 auxiliary output, or the second operand
  std::uint8_t duration = 0;   ///< DD: seconds, 0 off, 255 normal open
  /** EE: the operator. The §9.4 examples omit it (4 bytes) except the Wiegand test (5). */
  std::optional<std::uint8_t> operator_id;
};

/** Open the lock of `door` for `seconds` (255: normal open): `CONTROL DEVICE 01<door>01<s>`. */
ControlDevice open_door(std::uint8_t door, std::uint8_t seconds) noexcept;

/** `CONTROL DEVICE 01010105`: upper-case hex, one space after each word, no line end. */
std::string render_control_device(const ControlDevice& control);

/** The same from plain integers; nullopt when one is outside 0..255 (no wrong door opens). */
std::optional<std::string> render_control_device(int operation, int door, int target, int duration);

/** A §10 request: one event record plus `addrtype`. */
struct RemoteAuthRequest {
  RtlogRecord event;             ///< parsed like an rtlog line (addrtype taken out of extra)
  std::optional<int> addr_type;  ///< 1 device, 2 door, 3 reader, 4 aux input, 5 aux output
};

struct RemoteAuthResult {
  std::optional<RemoteAuthRequest> request;  ///< the first record line, if usable
  std::vector<ParseProblem> problems;        ///< its problems, and every further non-blank line
};

/** Parses the body of `POST /iclock/cdata?SN=..&AuthType=device` (§10). */
RemoteAuthResult parse_remote_auth(std::string_view body);

/** §10 AUTH values. */
enum class AuthVerdict { Success, Failed, Timeout };

std::string_view to_string(AuthVerdict verdict) noexcept;  ///< "SUCCESS", "FAILED", "TIMEOUT"

struct RemoteAuthAnswer {
  AuthVerdict verdict = AuthVerdict::Failed;
  std::string event;  ///< the requested record echoed (use RtlogRecord::raw); omitted when empty
  /** Sent only with Success: §10 calls it "the controller command after successful verification".
   */
  std::optional<ControlDevice> control;
  std::string tips;  ///< TIPS, UTF-8, optional: omitted when empty
};

/**
 * `AUTH=<verdict>` CRLF `<event>` CRLF `CONTROL DEVICE AABBCCDD` CRLF
 * `TIPS=<tips>`, absent parts left out, lines joined by CRLF with none after
 * the last (§10 writes ${CR}${LF} only between parts). CR, LF and NUL are
 * removed from event and tips.
 */
std::string render_remote_auth_answer(const RemoteAuthAnswer& answer);

/**
 * The §10 record `record` with its `event=` value replaced by `code` (the
 * answer's reason, Appendix 2); appended as a last field when the record has
 * none. Every other field is kept byte for byte.
 */
std::string with_event_code(std::string_view record, int code);

// ---------------------------------------------------------------------------
// Names (Appendix 1, 2, 3, 19; §4.4 NewVFStyles)
// ---------------------------------------------------------------------------

/** Which document's table a return code is read with where the two disagree (-1..-12). */
enum class PushFlavour { Security, Attendance };

/**
 * A command's Return value in words: >= 0 "success"; negative codes from
 * Appendix 1 (Security PUSH 3.1.2) and from the attendance spec's Appendix 1
 * (PUSH SDK 2.4.1: -1001..-1008 and its own -1..-12). `flavour` picks the
 * table consulted first; the other fills codes the first lacks. "unknown"
 * when neither has it.
 */
std::string_view return_code_name(std::int64_t code,
                                  PushFlavour flavour = PushFlavour::Security) noexcept;

/** Appendix 2 (0-255) and Appendix 19 (4000-6999) event codes; "unknown" otherwise. */
std::string_view event_code_name(int code) noexcept;

/** Appendix 2 / §7.2 event classes. */
enum class EventCategory {
  Normal,    ///< 0-19, 200-253, 4000-4999
  Error,     ///< 20-99, 5000-5999 (abnormal)
  Alarm,     ///< 100-199, 6000-6999 (warning)
  Extended,  ///< 254: the number continues in an extended field
  Status,    ///< 255: door status
  Unknown,
};

EventCategory event_category(int code) noexcept;

/** Appendix 3 verification modes (0-29, 200); "unknown" otherwise. */
std::string_view verify_mode_name(int mode) noexcept;

/** NewVFStyles bit positions (§4.4 VERIFY_STYLE_E: 1 face ... 12 QR code); else "unknown". */
std::string_view verify_style_name(int bit) noexcept;

}  // namespace pushgate::adapters::zkpush::security
