#pragma once

// Security PUSH connection set-up (shared/seeds/003_*.txt): endpoint and
// upload classification, the handshake request and Appendix 13 version
// negotiation, registration (§4.4), the server configuration answers (§4.1,
// §4.5) and the session token (§4.5 note). Part of the pure protocol layer
// (see zkpush_security_protocol.hpp for the contract); compute_token() uses
// OpenSSL's EVP MD5, which the PUSH token is defined with.

#include <compare>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
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

}  // namespace pushgate::adapters::zkpush::security
