#pragma once

// The attendance-flavour ZKTeco PUSH protocol ("PUSH SDK 2.4.1", HTTP
// /iclock/*): pure parsers of what a terminal sends and serialisers of what
// pushgate answers. No I/O, no logging, no global state.
//
// Contract shared by every function in this header:
// - Pure and re-entrant: safe to call from any thread or strand at the same
//   time; nothing blocks. Inputs are borrowed for the duration of the call
//   only; every result owns its strings (no views into the input), so a
//   result may outlive the request buffer and be moved to the store's thread.
// - Terminal bytes are untrusted. Parsers never throw on them (the only
//   exception that can escape is std::bad_alloc) and never assert on them.
//   They return what they understood plus a list of ParseProblem, one per
//   line (or field) they could not use, carrying the raw bytes so the caller
//   can quarantine them. Size limits are the caller's job: bound the body
//   before calling.
// - Keys sent by terminals are matched case-insensitively (`SN`/`sn`,
//   `PIN`/`Pin`, `TMP`/`Tmp`, `SIZE`/`Size`); the key as sent is kept where a
//   field is passed through unchanged.
// - Bodies are split into lines on LF; a CR before the LF is dropped, so LF
//   and CRLF bodies parse alike. Line numbers are 1-based physical lines of
//   the body. A line made only of spaces, TABs, CRs or NULs is blank: it is
//   neither a record nor a problem. Every other line ends up either in a
//   record or in a problem, never silently dropped.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace pushgate::adapters::zkpush {

// ---------------------------------------------------------------------------
// Common types
// ---------------------------------------------------------------------------

/** One line (or field) of terminal input that was not understood. */
struct ParseProblem {
  std::size_t line = 0;  ///< 1-based line of the body (1 for single-line inputs)
  std::string reason;    ///< short English reason, for logs and the quarantine row
  std::string raw;       ///< the offending bytes, without the line terminator
};

/** A key=value pair exactly as the terminal sent it (key case preserved). */
struct KeyValue {
  std::string key;
  std::string value;
};

/** Ordered key=value pairs; order and duplicates are preserved. */
using KeyValues = std::vector<KeyValue>;

/** ASCII case-insensitive equality (terminal keys are ASCII). */
bool iequals(std::string_view a, std::string_view b) noexcept;

/**
 * The value of the first pair whose key equals `key` ignoring ASCII case, or
 * nullptr. The pointer refers into `fields` and is valid while it is.
 */
const std::string* find_value(const KeyValues& fields, std::string_view key) noexcept;

// ---------------------------------------------------------------------------
// Time
// ---------------------------------------------------------------------------

/**
 * A terminal-local wall-clock time, as broken down from "YYYY-MM-DD
 * HH:MM:SS". No time zone is attached: converting to UTC needs the
 * terminal's zone and is done by the caller.
 */
struct DeviceTime {
  int year = 0;    ///< 1..9999
  int month = 0;   ///< 1..12
  int day = 0;     ///< 1..days in that month (leap years honoured)
  int hour = 0;    ///< 0..23
  int minute = 0;  ///< 0..59
  int second = 0;  ///< 0..59
  friend bool operator==(const DeviceTime&, const DeviceTime&) = default;
};

/**
 * Parses exactly "YYYY-MM-DD HH:MM:SS" (19 bytes, ASCII digits, one space).
 * Returns nullopt for anything else, including impossible dates such as
 * 2021-02-29 or 24:00:00.
 */
std::optional<DeviceTime> parse_device_time(std::string_view text) noexcept;

/** Formats as "YYYY-MM-DD HH:MM:SS", the form terminals send and accept. */
std::string format_device_time(const DeviceTime& time);

// ---------------------------------------------------------------------------
// Request line: endpoint, query string, upload table
// ---------------------------------------------------------------------------

/** The /iclock endpoints of the attendance PUSH protocol. */
enum class Endpoint {
  Cdata,       ///< /iclock/cdata: handshake (GET) and uploads (POST)
  Fdata,       ///< /iclock/fdata: alternative upload URI for ATTPHOTO
  GetRequest,  ///< /iclock/getrequest: command poll, may carry INFO=
  DeviceCmd,   ///< /iclock/devicecmd: command confirmations
  Ping,        ///< /iclock/ping: heartbeat during long uploads
  Exchange,    ///< /iclock/exchange: encryption key exchange (not supported)
  File,        ///< /iclock/file: firmware download
  Unknown,     ///< anything else (favicon.ico, typos, scanners)
};

/**
 * Maps a request path (without query) to its endpoint. Matching ignores
 * ASCII case and one trailing '/'.
 */
Endpoint classify_endpoint(std::string_view path) noexcept;

/** A request target split at the first '?'. Views into the argument. */
struct RequestTarget {
  std::string_view path;
  std::string_view query;  ///< without the '?'; empty when there is none
};

/** Splits "/iclock/cdata?SN=1&table=ATTLOG" into path and query. */
RequestTarget split_target(std::string_view target) noexcept;

/** The decoded parameters of a query string. */
struct QueryResult {
  KeyValues params;                    ///< decoded, in order, duplicates kept
  std::vector<ParseProblem> problems;  ///< malformed percent escapes (line 1)

  /** First value whose key equals `key` ignoring case (`SN` finds `sn`). */
  const std::string* find(std::string_view key) const noexcept { return find_value(params, key); }
};

/**
 * Parses "a=1&b=x%20y" (a leading '?' is skipped). Keys and values are
 * percent-decoded; '+' is kept as '+' (RFC 3986, terminals do not send form
 * encoding). A '%' not followed by two hex digits (a literal "pushver=%s"
 * from a hand-made request) is kept as is and reported as a problem; the
 * parameter is still returned. A segment without '=' is a key with an empty
 * value; empty segments are skipped.
 */
QueryResult parse_query(std::string_view query);

/** The `table=` values a terminal uploads to /iclock/cdata or /iclock/fdata. */
enum class UploadTable {
  AttLog,    ///< attendance records -> parse_attlog
  OperLog,   ///< operation log, users, templates, photos -> parse_operlog
  AttPhoto,  ///< attendance photo, binary -> parse_attphoto
  BioData,   ///< unified templates -> parse_biodata
  Options,   ///< pushed configuration -> parse_options
  ErrorLog,  ///< error log -> parse_errorlog
  IdCard,    ///< identity-card records (not supported; quarantine the body)
  Unknown,
};

/** Maps a `table=` value (any case: "options", "ATTLOG") to UploadTable. */
UploadTable classify_table(std::string_view table) noexcept;

/**
 * Paging parameters a terminal adds to an ATTLOG/ATTPHOTO upload that answers
 * a `DATA QUERY` command:
 * `table=ATTLOG&Stamp=9999&Count=18&PackCnt=1&PackIdx=1&CmdId=1630`.
 */
struct QueryAnswerPack {
  std::optional<std::int64_t> count;       ///< Count: records matching the query
  std::optional<std::int64_t> pack_count;  ///< PackCnt: packets in the answer
  std::optional<std::int64_t> pack_index;  ///< PackIdx: 1-based packet number
  std::string cmd_id;                      ///< CmdId: the command being answered
};

/**
 * Extracts Count/PackCnt/PackIdx/CmdId. Returns nullopt when none of the four
 * keys is present (an ordinary real-time upload). A numeric key whose value is
 * not a decimal integer is left empty.
 */
std::optional<QueryAnswerPack> query_answer_pack(const QueryResult& query);

// ---------------------------------------------------------------------------
// getrequest INFO=
// ---------------------------------------------------------------------------

/** Positions in the function flags of INFO (value 10), spec section 9. */
enum class DeviceFunction {
  Fingerprint = 0,
  Face = 1,
  UserPhoto = 2,
  BioPhoto = 3,          ///< comparison photo
  VisibleLightFace = 4,  ///< only pushed when the terminal has VisilightFun=1
};

/**
 * The ten comma-separated values of `INFO=` on /iclock/getrequest, e.g.
 * "ZAM170-NF-Ver1.3.5,3,2,13,192.168.1.201,10,58,12,2,11110".
 */
struct DeviceInfo {
  std::string firmware;                        ///< 1: firmware version
  std::optional<std::int64_t> users;           ///< 2: enrolled users
  std::optional<std::int64_t> fingerprints;    ///< 3: enrolled fingerprints
  std::optional<std::int64_t> attlogs;         ///< 4: attendance records stored
  std::string ip;                              ///< 5: terminal IP address
  std::string fingerprint_algorithm;           ///< 6: e.g. "10"
  std::string face_algorithm;                  ///< 7: e.g. "58"
  std::optional<std::int64_t> faces_required;  ///< 8: face images per enrolment
  std::optional<std::int64_t> faces;           ///< 9: enrolled faces
  std::string functions;                       ///< 10: flags such as "11110"
  std::vector<std::string> extra;              ///< values after the tenth, in order

  /** True when flag `function` of `functions` is '1'. */
  bool supports(DeviceFunction function) const noexcept;
};

struct InfoResult {
  DeviceInfo info;                     ///< missing values stay empty
  std::vector<ParseProblem> problems;  ///< non-numeric counts (line 1, raw = the value)
};

/** Parses the already percent-decoded INFO value. */
InfoResult parse_info(std::string_view info);

// ---------------------------------------------------------------------------
// table=ATTLOG
// ---------------------------------------------------------------------------

/**
 * How to name ATTLOG fields after the seventh. Firmware disagree: the spec
 * (11.7) puts IDNum and Type there on identity-card terminals, while
 * SpeedFace-V5L[TD] thermal firmware sends MaskFlag and Temperature (and a
 * tenth value that counts the terminal's records; it has no documented name).
 */
enum class AttlogLayout {
  Auto,             ///< per line: MaskTemperature if field 9 has a '.', IdCard if
                    ///< field 8 is a 15-18 digit ID (last may be 'X') and field 9
                    ///< is 0/1, else Positional
  Positional,       ///< every extra field is named "field<N>"
  MaskTemperature,  ///< 8: "mask_flag", 9: "temperature"
  IdCard,           ///< 8: "id_number", 9: "record_type" (0 attendance, 1 verification)
};

/** An ATTLOG field beyond the seven standard ones. */
struct AttlogField {
  std::size_t position = 0;  ///< 1-based field position in the line (8, 9, ...)
  std::string name;          ///< layout name, or "field<position>" when unnamed
  std::string value;         ///< as sent
};

/** One punch: `PIN\tTime\tStatus\tVerify\tWorkcode\tReserved1\tReserved2[\t...]`. */
struct AttlogRecord {
  std::size_t line = 0;
  std::string raw;        ///< the whole line as sent, without terminator
  std::string pin;        ///< field 1, non-empty
  std::string time_text;  ///< field 2 exactly as sent
  DeviceTime time;        ///< field 2, terminal-local
  int status = 0;         ///< field 3: attendance state (0 check-in ... 255 undefined)
  int verify = 0;         ///< field 4: verification mode (spec appendix 7)
  std::string workcode;   ///< field 5, may be empty
  std::string reserved1;  ///< field 6, empty when absent
  std::string reserved2;  ///< field 7, empty when absent
  /** Fields 8 and up, in order; trailing empty fields (trailing TABs) dropped. */
  std::vector<AttlogField> extra;
};

struct AttlogResult {
  std::vector<AttlogRecord> records;
  std::vector<ParseProblem> problems;
};

/**
 * Parses an ATTLOG upload body. A line needs at least four fields (PIN,
 * time, status, verify: older firmware omit the rest), a non-empty PIN, a
 * time that parse_device_time accepts and decimal status/verify values; any
 * other non-blank line becomes a problem and the rest of the body is still
 * parsed.
 */
AttlogResult parse_attlog(std::string_view body, AttlogLayout layout = AttlogLayout::Auto);

/**
 * parse_attlog one line at a time, collecting nothing: each record and each
 * problem is handed over in body order as soon as it is parsed, so a large
 * upload never exists as a vector of records next to its body.
 */
void for_each_attlog(std::string_view body, AttlogLayout layout,
                     const std::function<void(AttlogRecord&&)>& on_record,
                     const std::function<void(ParseProblem&&)>& on_problem);

// ---------------------------------------------------------------------------
// table=OPERLOG, table=BIODATA, table=ERRORLOG
// ---------------------------------------------------------------------------

/** The record type word that starts each line of these tables. */
enum class OperlogKind {
  Oplog,        ///< "OPLOG": operation log entry
  User,         ///< "USER": user information
  Fingerprint,  ///< "FP": fingerprint template
  Face,         ///< "FACE": face template
  FingerVein,   ///< "FVEIN": finger-vein template
  BioData,      ///< "BIODATA": unified template (also table=BIODATA)
  BioPhoto,     ///< "BIOPHOTO": comparison photo
  UserPic,      ///< "USERPIC": user photo
  ErrorLog,     ///< "ERRORLOG": error log entry (table=ERRORLOG)
};

/** The record type word, e.g. "OPLOG", "BIODATA". */
std::string_view to_string(OperlogKind kind) noexcept;

/** `OPLOG OpType\tOpWho\tOpTime\tValue1\tValue2\tValue3\tReserved`. */
struct OplogRecord {
  int op_type = 0;        ///< operation code (spec appendix 3; firmware add 100+)
  std::string op_who;     ///< operator PIN, "0" for the terminal itself
  std::string time_text;  ///< as sent
  DeviceTime time;
  std::string value1;  ///< operands, as sent (may be text such as "DHCP")
  std::string value2;
  std::string value3;
  std::string reserved;
  std::vector<std::string> extra;  ///< fields after Reserved, in order
};

/** `USER PIN=..\tName=..\tPri=..\tPasswd=..\tCard=..\tGrp=..\tTZ=..\tVerify=..\tViceCard=..`. */
struct UserRecord {
  std::string pin;  ///< everything after "PIN=" up to the TAB, spaces included
  std::string name;
  std::optional<int> privilege;  ///< Pri: 0 user, 2 registrar, 6 admin, 14 super admin
  std::string password;          ///< Passwd
  std::string card;              ///< Card: "123456789" or "[15CD5B07]"
  std::optional<int> group;      ///< Grp
  std::string time_zones;        ///< TZ, e.g. "0001000100000000"
  std::optional<int> verify;     ///< Verify: -1 = group's mode
  std::string vice_card;         ///< ViceCard
  KeyValues extra;               ///< other keys (StartDatetime, EndDatetime, ...)
};

/**
 * A biometric template: FP (`PIN FID Size Valid TMP`), FACE (`PIN FID SIZE
 * VALID TMP`), FVEIN (`Pin FID Index Size Valid Tmp`) or BIODATA (`Pin No
 * Index Valid Duress Type MajorVer MinorVer Format Tmp`). Keys are matched
 * case-insensitively; a numeric key sent empty (`MinorVer=`) stays empty.
 */
struct TemplateRecord {
  std::string pin;
  std::optional<int> number;     ///< FID or No: finger 0-9, face 0, hand/eye 0-1
  std::optional<int> index;      ///< Index: template number for that finger/face
  std::optional<int> size;       ///< Size/SIZE: declared length of the base64 data
  std::optional<int> valid;      ///< Valid: 0 invalid, 1 normal, 3 duress (FP)
  std::optional<int> duress;     ///< Duress (BIODATA)
  std::optional<int> type;       ///< Type (BIODATA): 1 fingerprint, 2 NIR face, 8 palm, 9 face
  std::optional<int> major_ver;  ///< MajorVer (BIODATA)
  std::optional<int> minor_ver;  ///< MinorVer (BIODATA)
  std::string format;            ///< Format (BIODATA): "0"/"ZK", "1" ISO, "2" ANSI
  std::string data;              ///< TMP/Tmp: base64 template, non-empty
  KeyValues extra;               ///< any other key
};

/**
 * A photo carried as base64 text: BIOPHOTO (`PIN [No Index] FileName Type
 * Size Content`) or USERPIC (`PIN FileName Size Content`).
 */
struct PhotoRecord {
  std::string pin;
  std::string file_name;
  std::optional<int> type;           ///< BIOPHOTO biometric type (9 visible-light face)
  std::optional<int> number;         ///< No (newer BIOPHOTO)
  std::optional<int> index;          ///< Index (newer BIOPHOTO)
  std::optional<std::int64_t> size;  ///< declared base64 length
  std::string content;               ///< base64 JPEG
  KeyValues extra;
};

/** `ERRORLOG ErrCode=..\tErrMsg=..\tDataOrigin=..\tCmdId=..\tAdditional=..` (spec 11.16). */
struct ErrorLogRecord {
  std::string err_code;  ///< e.g. "D01E0001" (spec appendix 9)
  std::string err_msg;
  std::string data_origin;  ///< "dev" or "cmd"
  std::string cmd_id;       ///< command that failed, when data_origin is "cmd"
  std::string additional;   ///< base64 JSON
  KeyValues extra;
};

/** One understood line of an OPERLOG, BIODATA or ERRORLOG body. */
struct OperlogEntry {
  OperlogKind kind = OperlogKind::Oplog;
  std::size_t line = 0;
  std::string raw;  ///< the whole line as sent, without terminator
  /** Oplog -> OplogRecord; User -> UserRecord; Fingerprint, Face, FingerVein,
   *  BioData -> TemplateRecord; BioPhoto, UserPic -> PhotoRecord; ErrorLog ->
   *  ErrorLogRecord. */
  std::variant<OplogRecord, UserRecord, TemplateRecord, PhotoRecord, ErrorLogRecord> record;
};

struct OperlogResult {
  std::vector<OperlogEntry> entries;
  std::vector<ParseProblem> problems;
};

/**
 * Parses a table=OPERLOG body: OPLOG, USER, FP, FACE, FVEIN, BIODATA,
 * BIOPHOTO and USERPIC lines in any mix (the type word is matched ignoring
 * case and may be followed by a space or a TAB). Unknown type words,
 * key=value fields without '=', a missing PIN, missing template data, bad
 * numbers and bad OPLOG times are problems.
 */
OperlogResult parse_operlog(std::string_view body);

struct OperlogEntry;
/** Which of the typed-line tables a body is (what parse_operlog/biodata/errorlog parse). */
enum class TypedTable { OperLog, BioData, ErrorLog };
/** parse_operlog / parse_biodata / parse_errorlog one line at a time (see for_each_attlog). */
void for_each_typed_line(std::string_view body, TypedTable table,
                         const std::function<void(OperlogEntry&&)>& on_entry,
                         const std::function<void(ParseProblem&&)>& on_problem);

/** Parses a table=BIODATA body; any line other than BIODATA is a problem. */
OperlogResult parse_biodata(std::string_view body);

/** Parses a table=ERRORLOG body; any line other than ERRORLOG is a problem. */
OperlogResult parse_errorlog(std::string_view body);

// ---------------------------------------------------------------------------
// table=options
// ---------------------------------------------------------------------------

struct OptionsResult {
  KeyValues options;  ///< keys as sent, including a leading '~' (read-only keys)
  std::vector<ParseProblem> problems;

  /**
   * First value whose key equals `key` ignoring case and a leading '~' on
   * either side: find("DeviceName") finds "~DeviceName".
   */
  const std::string* find(std::string_view key) const noexcept;
};

/**
 * Parses `~DeviceName=SpeedFace-V5L[TD],MAC=00:17:61:12:fa:f0,...`. Pairs are
 * separated by LF/CRLF and by a comma that is followed by something that looks
 * like a key (`[~]name=` with name made of letters, digits and '_'), so values
 * such as `~OEMVendor=ZKTeco Co., Ltd.` keep their commas. A piece without
 * '=' or with an empty key is a problem.
 */
OptionsResult parse_options(std::string_view body);

// ---------------------------------------------------------------------------
// POST /iclock/devicecmd
// ---------------------------------------------------------------------------

/**
 * One command result. Most are one line `ID=..&Return=..&CMD=..`; some span
 * several lines: `CMD=INFO` is followed by key=value lines, PutFile/GetFile/
 * Shell answers put ID, Return, CMD, SN, FILENAME... on lines of their own and
 * end with `Content=` whose value runs to the end of the body.
 */
struct CommandConfirmation {
  std::size_t line = 0;        ///< line of the ID= that starts it
  std::size_t line_count = 0;  ///< body lines it spans (blank lines inside included)
  std::string raw;             ///< its bytes as sent, all lines, without the last terminator
  std::string id;              ///< ID: the command id pushgate issued, non-empty
  std::int64_t return_code =
      0;            ///< Return: 0 ok, <0 error (spec appendix 1), file size for GetFile
  std::string cmd;  ///< CMD: "DATA", "INFO", "CLEAR_LOG", ... may be empty (`CMD=`)
  KeyValues extra;  ///< every other pair: INFO lines, StartTime/AttlogSum, SN, Content ...
};

struct DeviceCmdResult {
  std::vector<CommandConfirmation> confirmations;
  std::vector<ParseProblem> problems;
};

/**
 * Parses one or more confirmations separated by LF/CRLF. A line whose first
 * key is `ID` starts a confirmation; following lines until the next such line
 * belong to it (a line or '&' segment that is not key=value is kept in extra
 * as a key with an empty value). A confirmation without ID or without a
 * decimal Return is a problem (raw = all its lines); so is a non-blank line
 * before the first ID.
 */
DeviceCmdResult parse_devicecmd(std::string_view body);

// ---------------------------------------------------------------------------
// table=ATTPHOTO (on /iclock/cdata or /iclock/fdata)
// ---------------------------------------------------------------------------

/**
 * An attendance photo upload: text header lines
 * `PIN=<file>.jpg\nSN=<serial>\nsize=<n>\nCMD=uploadphoto` then a NUL and the
 * binary JPEG. The binary part is located, not copied: it is
 * `body.substr(data_offset, data_size)` of the body that was parsed.
 */
struct AttPhoto {
  KeyValues header;       ///< every header pair, in order
  std::string file_name;  ///< PIN: the photo's file name, see parse_attphoto_name
  std::string sn;         ///< SN
  std::optional<std::int64_t> declared_size;  ///< size: original JPEG size
  std::string cmd;                            ///< CMD, normally "uploadphoto"
  std::size_t data_offset = 0;                ///< first byte of the binary part in the body
  std::size_t data_size = 0;                  ///< bytes from data_offset to the end of the body
};

struct AttPhotoResult {
  std::optional<AttPhoto> photo;       ///< empty when no header or no binary part was found
  std::vector<ParseProblem> problems;  ///< also a size mismatch (photo still returned)
};

/**
 * Parses an ATTPHOTO body. The header ends at the `CMD=` line, whose value
 * ends at the first NUL or LF; the binary part starts right after that byte.
 * Without a CMD= line the binary part starts after the first NUL. A photo
 * with no PIN= or no binary part is not returned.
 */
AttPhotoResult parse_attphoto(std::string_view body);

/**
 * The parts of an ATTPHOTO file name: `YYYYMMDDHHMMSS-<PIN>.jpg` or, on
 * identity-card firmware, `YYYYMMDDHHMMSS-<type>-<PIN>-<IDNum>.jpg`.
 */
struct AttPhotoName {
  DeviceTime time;                ///< terminal-local time the photo was taken
  std::string pin;                ///< may be empty (photo of an unknown face)
  std::optional<int> photo_type;  ///< identity-card form: 0 ok ... 4 failed
  std::string id_number;          ///< identity-card form only
};

/** Parses an ATTPHOTO file name; nullopt when it has neither form. */
std::optional<AttPhotoName> parse_attphoto_name(std::string_view file_name);

// ---------------------------------------------------------------------------
// Handshake answer (GET /iclock/cdata?SN=..&options=all)
// ---------------------------------------------------------------------------

/** TransFlag format II asking for every data type (spec section 5). */
inline constexpr std::string_view kTransFlagAll =
    "TransData AttLog\tOpLog\tAttPhoto\tEnrollUser\tChgUser\tEnrollFP\tChgFP\tFPImag\tFACE\t"
    "UserPic\tWORKCODE\tBioPhoto";

/**
 * What pushgate tells a terminal in the handshake answer. Optional members
 * are left out of the body when empty. Stamps are opaque strings the terminal
 * sent on its last upload of that table ("0" asks it to upload everything
 * again).
 */
struct HandshakeOptions {
  std::string serial_number;  ///< echoed on the first line

  std::optional<std::string> attlog_stamp;    ///< ATTLOGStamp
  std::optional<std::string> operlog_stamp;   ///< OPERLOGStamp
  std::optional<std::string> attphoto_stamp;  ///< ATTPHOTOStamp
  std::optional<std::string> biodata_stamp;   ///< BIODATAStamp
  std::optional<std::string> idcard_stamp;    ///< IDCARDStamp
  std::optional<std::string> errorlog_stamp;  ///< ERRORLOGStamp
  /** Also send the pre-2.2.14 names Stamp/OpStamp/PhotoStamp for the first
   *  three stamps (ZKTeco's own demo server sends both). */
  bool legacy_stamp_keys = true;

  int error_delay = 30;                     ///< ErrorDelay: seconds before retrying after a failure
  int delay = 10;                           ///< Delay: seconds between getrequest polls
  std::string trans_times = "00:00;14:05";  ///< TransTimes: "HH:MM;HH:MM", up to 10
  int trans_interval = 1;                   ///< TransInterval: minutes, 0 = off
  std::string trans_flag = std::string(kTransFlagAll);  ///< TransFlag, format II
  /** TimeZone, already rendered with render_timezone(); omitted when empty. */
  std::optional<std::string> time_zone;
  bool realtime = true;  ///< Realtime: upload each record as it happens
  /** Encrypt; omitted by default as the demo does (pushgate does not encrypt). */
  std::optional<std::string> encrypt;
  std::string server_ver = "2.4.1";                   ///< ServerVer
  std::string push_prot_ver = "2.4.1";                ///< PushProtVer
  bool push_options_flag = true;                      ///< PushOptionsFlag: ask for table=options
  std::vector<std::string> push_options;              ///< PushOptions=k1,k2,...; omitted when empty
  std::optional<std::string> multi_bio_data_support;  ///< MultiBioDataSupport, "0:1:1:0:..."
  std::optional<std::string> multi_bio_photo_support;  ///< MultiBioPhotoSupport
  std::optional<std::string> attphoto_base64;          ///< ATTPHOTOBase64
  KeyValues extra;  ///< further lines, e.g. {"SyncTime","0"}, appended last
};

/**
 * Renders the answer body: "GET OPTION FROM: <SN>\n" then one "Key=Value\n"
 * line per option, in the spec's order. CR, LF and NUL bytes are removed
 * from every key and value (the serial number comes from the terminal), so
 * no input can add lines to the answer.
 */
std::string render_handshake(const HandshakeOptions& options);

/**
 * The TimeZone value for a UTC offset in minutes. Whole hours strictly
 * between -12 and 12 are sent in hours ("-5", "8"); other offsets in minutes
 * ("330" for +05:30, "-570" for -09:30, "720" for +12:00, "780" for +13:00),
 * which the terminal reads as minutes because they lie outside -60..60.
 * nullopt when the terminal cannot be told: an offset between -60 and 60 that
 * is not 0, or one outside -12:00..+14:00.
 */
std::optional<std::string> render_timezone(int utc_offset_minutes);

/**
 * An HTTP Date header value (RFC 7231 IMF-fixdate, always GMT), e.g.
 * "Tue, 22 Sep 2020 20:28:15 GMT"; terminals set their clock from it.
 * Sub-second parts are truncated.
 */
std::string format_http_date(std::chrono::system_clock::time_point time);

}  // namespace pushgate::adapters::zkpush
