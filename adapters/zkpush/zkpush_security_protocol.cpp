#include "adapters/zkpush/zkpush_security_protocol.hpp"
#include "adapters/zkpush/zkpush_text.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <initializer_list>
#include <limits>
#include <system_error>
#include <utility>

namespace pushgate::adapters::zkpush::security {
namespace {

using text::ascii_lower;
using text::days_in_month;
using text::is_blank;
using text::is_digit;
using text::is_leap;
using text::make_problem;
using text::parse_integer;
using text::quoted;
using text::sanitized;
using text::split;
using text::strip_tilde;

// ---------------------------------------------------------------------------
// Small text helpers. They mirror the private ones of zkpush_protocol.cpp
// (which keeps them in an anonymous namespace); bytes in, bytes out.
// ---------------------------------------------------------------------------

bool is_alnum(char c) noexcept {
  return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

int hex_value(char c) noexcept {
  if (is_digit(c)) {
    return c - '0';
  }
  const char l = ascii_lower(c);
  if (l >= 'a' && l <= 'f') {
    return l - 'a' + 10;
  }
  return -1;
}

std::string_view trim_spaces(std::string_view text) noexcept {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
    text.remove_prefix(1);
  }
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) {
    text.remove_suffix(1);
  }
  return text;
}

struct Line {
  std::size_t number = 0;
  std::string_view text;  ///< without the LF and trailing CRs / NULs
};

/**
 * Iterates the LF-separated lines of a body; a final line without LF counts.
 * CRs and NULs at the end of a line are dropped: the spec's examples are all
 * three bytes longer than their visible text, and terminals in the field end
 * bodies with CRLF and sometimes a NUL.
 */
class LineCursor {
 public:
  explicit LineCursor(std::string_view body) noexcept : body_(body) {}

  bool next(Line& line) noexcept {
    if (pos_ >= body_.size()) {
      return false;
    }
    const std::size_t lf = body_.find('\n', pos_);
    const std::size_t end = lf == std::string_view::npos ? body_.size() : lf;
    std::string_view text = body_.substr(pos_, end - pos_);
    while (!text.empty() && (text.back() == '\r' || text.back() == '\0')) {
      text.remove_suffix(1);
    }
    line.number = ++number_;
    line.text = text;
    pos_ = lf == std::string_view::npos ? body_.size() : lf + 1;
    return true;
  }

 private:
  std::string_view body_;
  std::size_t pos_ = 0;
  std::size_t number_ = 0;
};

/** Removes CR, LF and NUL: nothing a terminal or a caller sends can add a line to an answer. */
std::string joined(const std::vector<std::string>& lines, std::string_view separator) {
  std::string out;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (i > 0) {
      out += separator;
    }
    out += lines[i];
  }
  return out;
}

std::string key_value_line(std::string_view key, std::string_view value) {
  return sanitized(key) + "=" + sanitized(value);
}

/**
 * Splits "k=v\tk=v" into pairs. Empty fields (doubled or trailing TABs) carry
 * nothing; spaces before a key are dropped ("user  uid=5"). Returns false, with
 * the offending field, on a field without '=' or with an empty key.
 */
bool split_tab_pairs(std::string_view text, KeyValues& out, std::string_view& bad_field) {
  for (std::string_view field : split(text, '\t')) {
    while (!field.empty() && field.front() == ' ') {
      field.remove_prefix(1);
    }
    if (field.empty()) {
      continue;
    }
    const std::size_t eq = field.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      bad_field = field;
      return false;
    }
    out.push_back(KeyValue{std::string(field.substr(0, eq)), std::string(field.substr(eq + 1))});
  }
  return true;
}

/**
 * Takes typed fields out of a line's pairs: each known key once (first
 * occurrence, any case, any alias); the rest, repeats included, stays in
 * rest() with the key as sent. The first bad number is remembered as the
 * line's problem.
 */
class FieldTaker {
 public:
  explicit FieldTaker(KeyValues pairs) : pairs_(std::move(pairs)), taken_(pairs_.size(), false) {}

  std::optional<std::string> take(std::initializer_list<std::string_view> names) {
    for (std::size_t i = 0; i < pairs_.size(); ++i) {
      if (taken_[i]) {
        continue;
      }
      for (std::string_view name : names) {
        if (iequals(pairs_[i].key, name)) {
          taken_[i] = true;
          return std::move(pairs_[i].value);
        }
      }
    }
    return std::nullopt;
  }

  std::string take_string(std::initializer_list<std::string_view> names) {
    return take(names).value_or(std::string());
  }

  /** Absent or empty -> nullopt; not an integer -> nullopt and the line's problem. */
  template <typename Int>
  std::optional<Int> take_number(std::initializer_list<std::string_view> names) {
    std::optional<std::string> value = take(names);
    if (!value || value->empty()) {
      return std::nullopt;
    }
    std::optional<Int> number = parse_integer<Int>(*value);
    if (!number) {
      fail(std::string(*names.begin()) + " is not a number: " + quoted(*value));
    }
    return number;
  }

  void fail(std::string reason) {
    if (error_.empty()) {
      error_ = std::move(reason);
    }
  }

  const std::string& error() const noexcept { return error_; }

  KeyValues rest() {
    KeyValues out;
    for (std::size_t i = 0; i < pairs_.size(); ++i) {
      if (!taken_[i]) {
        out.push_back(std::move(pairs_[i]));
      }
    }
    return out;
  }

 private:
  KeyValues pairs_;
  std::vector<bool> taken_;
  std::string error_;
};

/** Even-length hex pairs to bytes; false on anything else. */
bool decode_hex_bytes(std::string_view text, std::vector<std::uint8_t>& out) {
  if (text.size() % 2 != 0) {
    return false;
  }
  out.clear();
  out.reserve(text.size() / 2);
  for (std::size_t i = 0; i < text.size(); i += 2) {
    const int hi = hex_value(text[i]);
    const int lo = hex_value(text[i + 1]);
    if (hi < 0 || lo < 0) {
      return false;
    }
    out.push_back(static_cast<std::uint8_t>(hi * 16 + lo));
  }
  return true;
}

void append_hex_byte(std::string& out, std::uint8_t byte) {
  static constexpr std::string_view kDigits = "0123456789ABCDEF";
  out += kDigits[byte >> 4];
  out += kDigits[byte & 0x0f];
}

// ---------------------------------------------------------------------------
// Event lines (rtlog, remote identification)
// ---------------------------------------------------------------------------

struct EventOutcome {
  std::optional<RtlogRecord> record;
  std::optional<int> addr_type;
  std::string reason;  ///< why the line is a problem, when record is empty
};

/** A field's value as decode_door_states wants it: empty counts as absent. */
std::optional<std::string_view> door_field(const std::string* value) noexcept {
  if (value == nullptr || value->empty()) {
    return std::nullopt;
  }
  return std::string_view(*value);
}

EventOutcome parse_event_line(std::string_view text, bool remote_auth) {
  KeyValues pairs;
  std::string_view bad_field;
  if (!split_tab_pairs(text, pairs, bad_field)) {
    return {std::nullopt, std::nullopt, "field without key=value: " + quoted(bad_field)};
  }
  FieldTaker taker(std::move(pairs));
  std::optional<std::string> time = taker.take({"time"});
  if (!time) {
    return {std::nullopt, std::nullopt,
            remote_auth ? "event record without time" : "rtlog row without time"};
  }
  RtlogRecord r;
  r.time_text = std::move(*time);
  // A time that does not parse is kept, not quarantined: terminals stamp
  // events with garbage ("1971--10--29 -23:-27:-54") until NTP sets their
  // clock, and the event itself (a door forced open) still matters.
  r.time = parse_device_time(r.time_text);
  r.pin = taker.take_string({"pin"});
  r.card_no = taker.take_string({"cardno"});
  r.site_code = taker.take_number<std::int64_t>({"sitecode"});
  r.link_id = taker.take_number<std::int64_t>({"linkid"});
  r.event_addr = taker.take_number<int>({"eventaddr"});
  r.event = taker.take_number<int>({"event"});
  r.in_out_status = taker.take_number<int>({"inoutstatus"});
  r.verify_type_text = taker.take_string({"verifytype"});
  if (!r.verify_type_text.empty()) {
    // Two encodings (§7.2): an Appendix 3 number, or a 16-character bit
    // string once both ends agreed on NewVFStyles. A 16-digit 0/1 string is
    // never a plausible Appendix 3 number, so the length decides.
    r.verify_styles = parse_verify_styles(r.verify_type_text);
    if (!r.verify_styles) {
      r.verify_mode = parse_integer<int>(r.verify_type_text);
      if (!r.verify_mode) {
        taker.fail("verifytype is neither a mode number nor a 16-bit style string: " +
                   quoted(r.verify_type_text));
      }
    }
  }
  r.index = taker.take_number<std::int64_t>({"index"});
  r.mask_flag = taker.take_number<int>({"maskflag"});
  r.temperature = taker.take_string({"temperature"});
  r.conv_temperature = taker.take_string({"convtemperature"});
  r.bit_count = taker.take_number<int>({"bitcount"});
  r.alarm_type = taker.take_number<int>({"alarmtype"});
  std::optional<int> addr_type;
  if (remote_auth) {
    addr_type = taker.take_number<int>({"addrtype"});
  }
  if (!taker.error().empty()) {
    return {std::nullopt, std::nullopt, taker.error()};
  }
  r.extra = taker.rest();
  // Door-state rows inside rtlog may carry §7.3's sensor/relay/alarm fields;
  // they are decoded but stay in extra, in the order sent.
  const std::optional<std::string_view> sensor = door_field(find_value(r.extra, "sensor"));
  const std::optional<std::string_view> relay = door_field(find_value(r.extra, "relay"));
  const std::optional<std::string_view> alarm = door_field(find_value(r.extra, "alarm"));
  if (sensor || relay || alarm) {
    DoorStatesResult decoded = decode_door_states(sensor, relay, alarm);
    if (!decoded.error.empty()) {
      return {std::nullopt, std::nullopt, std::move(decoded.error)};
    }
    r.doors = std::move(decoded.doors);
  }
  return {std::move(r), addr_type, {}};
}

// ---------------------------------------------------------------------------
// tabledata lines
// ---------------------------------------------------------------------------

struct TableName {
  std::string_view name;
  TableKind kind;
};

constexpr std::array<TableName, 10> kTableNames = {{
    {"user", TableKind::User},
    {"identitycard", TableKind::IdentityCard},
    {"templatev10", TableKind::TemplateV10},
    {"biophoto", TableKind::BioPhoto},
    {"ATTPHOTO", TableKind::AttPhoto},
    {"userpic", TableKind::UserPic},
    {"biodata", TableKind::BioData},
    {"errorlog", TableKind::ErrorLog},
    {"transaction", TableKind::Transaction},
    {"DeviceAuthorize", TableKind::DeviceAuthorize},
}};

using TypedRecord = decltype(TableEntry::record);

/** The typed view of one line's pairs; sets taker's error when a required key is missing. */
TypedRecord typed_record(TableKind kind, FieldTaker& t) {
  switch (kind) {
    case TableKind::User: {
      UserInfoRecord u;
      u.pin = t.take_string({"pin"});
      u.uid = t.take_number<int>({"uid"});
      u.card_no = t.take_string({"cardno"});
      u.password = t.take_string({"password"});
      u.group = t.take_number<int>({"group"});
      u.start_time = t.take_string({"starttime"});
      u.end_time = t.take_string({"endtime"});
      u.name = t.take_string({"name"});
      u.privilege = t.take_number<int>({"privilege"});
      u.disable = t.take_number<int>({"disable"});
      u.verify = t.take_number<int>({"verify"});
      u.extra = t.rest();
      if (u.pin.empty()) {
        t.fail("user without pin");
      }
      return u;
    }
    case TableKind::IdentityCard: {
      // §7.6's format names SN_Num, ID_Num, ...; its example sends IDNum,
      // DNNum, ValidInfo, ... Both spellings are read.
      IdentityCardRecord c;
      c.pin = t.take_string({"pin"});
      c.sn_num = t.take_string({"SN_Num", "SNNum"});
      c.id_num = t.take_string({"ID_Num", "IDNum"});
      c.dn_num = t.take_string({"DN_Num", "DNNum"});
      c.name = t.take_string({"Name"});
      c.gender = t.take_number<int>({"Gender"});
      c.nation = t.take_number<int>({"Nation"});
      c.birthday = t.take_string({"Birthday"});
      c.valid_info = t.take_string({"Valid_Info", "ValidInfo"});
      c.address = t.take_string({"Address"});
      c.additional_info = t.take_string({"Additional_Info", "AdditionalInfo", "Address_Info"});
      c.issuer = t.take_string({"Issuer"});
      c.photo = t.take_string({"Photo"});
      c.photo_jpg = t.take_string({"PhotoJPG"});
      c.fp_template1 = t.take_string({"FP_Template1", "FPTemplate1"});
      c.fp_template2 = t.take_string({"FP_Template2", "FPTemplate2"});
      c.reserve = t.take_string({"Reserve"});
      c.notice = t.take_string({"Notice"});
      c.extra = t.rest();
      if (c.pin.empty()) {
        t.fail("identitycard without pin");
      }
      return c;
    }
    case TableKind::TemplateV10: {
      FingerprintTemplateRecord f;
      f.pin = t.take_string({"pin"});
      f.size = t.take_number<int>({"size"});
      f.uid = t.take_number<int>({"uid"});
      f.finger_id = t.take_number<int>({"fingerid"});
      f.valid = t.take_number<int>({"valid"});
      f.template_data = t.take_string({"template"});
      f.extra = t.rest();
      if (f.pin.empty()) {
        t.fail("templatev10 without pin");
      } else if (f.template_data.empty()) {
        t.fail("templatev10 without template data");
      }
      return f;
    }
    case TableKind::BioData: {
      TemplateRecord b;
      b.pin = t.take_string({"pin"});
      b.number = t.take_number<int>({"no"});
      b.index = t.take_number<int>({"index"});
      b.size = t.take_number<int>({"size"});
      b.valid = t.take_number<int>({"valid"});
      b.duress = t.take_number<int>({"duress"});
      b.type = t.take_number<int>({"type"});
      b.major_ver = t.take_number<int>({"majorver"});
      b.minor_ver = t.take_number<int>({"minorver"});
      b.format = t.take_string({"format"});
      b.data = t.take_string({"tmp"});
      b.extra = t.rest();
      if (b.pin.empty()) {
        t.fail("biodata without pin");
      } else if (b.data.empty()) {
        t.fail("biodata without template data (tmp)");
      }
      return b;
    }
    case TableKind::BioPhoto:
    case TableKind::UserPic: {
      PhotoRecord p;
      p.pin = t.take_string({"pin"});
      // §7.8's format writes "file name=", its example and §7.10 "filename=".
      p.file_name = t.take_string({"filename", "file name", "file_name"});
      p.type = t.take_number<int>({"type"});
      p.number = t.take_number<int>({"no"});
      p.index = t.take_number<int>({"index"});
      p.size = t.take_number<std::int64_t>({"size"});
      p.content = t.take_string({"content"});
      p.extra = t.rest();
      if (p.pin.empty()) {
        t.fail(kind == TableKind::BioPhoto ? "biophoto without pin" : "userpic without pin");
      }
      return p;
    }
    case TableKind::AttPhoto: {
      SnapshotRecord s;
      s.file_name = t.take_string({"pin"});
      s.sn = t.take_string({"sn"});
      s.size = t.take_number<std::int64_t>({"size"});
      s.photo = t.take_string({"photo"});
      s.extra = t.rest();
      if (s.file_name.empty()) {
        t.fail("ATTPHOTO without pin (file name)");
      }
      return s;
    }
    case TableKind::ErrorLog: {
      ErrorLogRecord e;
      e.err_code = t.take_string({"errcode"});
      e.err_msg = t.take_string({"errmsg"});
      e.data_origin = t.take_string({"dataorigin"});
      e.cmd_id = t.take_string({"cmdid"});
      e.additional = t.take_string({"additional"});
      e.extra = t.rest();
      if (e.err_code.empty()) {
        t.fail("errorlog without errcode");
      }
      return e;
    }
    case TableKind::Transaction: {
      TransactionRecord x;
      x.card_no = t.take_string({"cardno"});
      x.pin = t.take_string({"pin"});
      x.verified = t.take_number<int>({"verified"});
      x.door_id = t.take_number<int>({"doorid"});
      x.event_type = t.take_number<int>({"eventtype"});
      x.in_out_state = t.take_number<int>({"inoutstate"});
      const std::optional<std::string> seconds = t.take({"time_second"});
      x.index = t.take_number<std::int64_t>({"index"});
      x.site_code = t.take_number<std::int64_t>({"sitecode"});
      x.dev_id = t.take_number<int>({"devid"});
      x.mask_flag = t.take_number<int>({"maskflag"});
      x.temperature = t.take_string({"temperature"});
      x.conv_temperature = t.take_string({"convtemperature"});
      x.extra = t.rest();
      if (!seconds || seconds->empty()) {
        t.fail("transaction without time_second");
      } else if (std::optional<std::uint32_t> value = parse_integer<std::uint32_t>(*seconds)) {
        x.time_second = *value;
        // An impossible decoded date (31 Feb) is kept like rtlog's garbage
        // times: time_second is still the terminal's own stamp.
        x.time = decode_old_time(*value);
      } else {
        t.fail("time_second is not a number: " + quoted(*seconds));
      }
      return x;
    }
    case TableKind::DeviceAuthorize:
    case TableKind::Other:
      break;
  }
  return std::monostate{};
}

/** Joins one table name and its problem reason: "record type 'x' not expected in tablename=y". */
std::string unexpected_type(std::string_view word, std::string_view table_name) {
  return "record type " + quoted(word) +
         " not expected in tablename=" + sanitized(table_name.substr(0, 40));
}

// ---------------------------------------------------------------------------
// Name tables
// ---------------------------------------------------------------------------

struct CodeName {
  std::int64_t code;
  std::string_view name;
};

template <std::size_t N>
constexpr std::string_view find_name(const std::array<CodeName, N>& table,
                                     std::int64_t code) noexcept {
  for (const CodeName& entry : table) {
    if (entry.code == code) {
      return entry.name;
    }
  }
  return {};
}

// Appendix 1 of Security PUSH 3.1.2, and §7.4's -5000.
constexpr auto kSecurityReturnCodes = std::to_array<CodeName>({
    {-1, "Failed to send the command"},
    {-2, "No response to the command"},
    {-3, "Insufficient cache"},
    {-4, "Failed to decompress"},
    {-5, "Incorrect length of read data"},
    {-6, "The length after decompression does not meet the required one"},
    {-7, "Repeated command"},
    {-8, "Unauthorized connection"},
    {-9, "Incorrect data. CRC failed"},
    {-10, "Incorrect data. Failed to resolve data API"},
    {-11, "Incorrect data parameter"},
    {-12, "Command execution error"},
    {-13, "Incorrect command. The command does not exist"},
    {-14, "Incorrect communication password"},
    {-15, "Failed to write the file"},
    {-16, "Failed to read the file"},
    {-17, "The file does not exist"},
    {-18, "The device has insufficient space"},
    {-19, "Checksum error"},
    {-20, "The length of the received data is inconsistent with the specified data length"},
    {-21, "No platform parameter is set on the device"},
    {-22, "The received firmware platform for upgrade is not same to the local platform"},
    {-23, "The firmware version for upgrade is earlier than that in the device"},
    {-24, "Incorrect flag of the upgrade file"},
    {-25, "The name of the received file for firmware upgrade is not emfw.cfg"},
    {-26, "The length of the received fingerprint template is 0"},
    {-27, "The PIN of the received fingerprint template is incorrect. Failed to find the user"},
    {-28, "Door opening command is executed during the open time period"},
    {-30, "The integrated template algorithm's version is inconsistent"},
    {-100, "The table structure does not exist"},
    {-101, "The conditional field in the table structure does not exist"},
    {-102, "The total field count is inconsistent"},
    {-103, "The field sequence is inconsistent"},
    {-104, "Incorrect real-time event data"},
    {-105, "Incorrect data for resolution"},
    {-106, "The size of the delivered data exceeds 4 MB"},
    {-107, "Failed to get the table structure"},
    {-108, "Invalid OPTIONS"},
    {-201, "LoadLibrary failed"},
    {-202, "Failed to call the interface"},
    {-203, "Communication initialization failed"},
    {-206, "Failed to start the serial port agent program"},
    {-301, "Failed to get the TCP/IP version"},
    {-601, "Reserved. For firmware internal use only"},
    {-603, "Internal error: invalid handle"},
    {-604, "Insufficient memory"},
    {-609, "Internal error: invalid handle"},
    {-612, "The device failed to save the parameter"},
    {-614, "Failed to remotely cancel the alarm"},
    {-615, "Remote restart failed"},
    {-616, "Remotely enabling or canceling normal open failed"},
    {-618, "Incorrect URL format"},
    {-619, "Firmware internal error: blank input parameter"},
    {-620, "The format of the data delivered by the server is incorrect"},
    {-621, "The table structure does not support this field"},
    {-628, "Main failed to load the fingerprint to the memory"},
    {-629, "Incorrect table name"},
    {-630, "Failed to execute the shell command"},
    {-631, "Incorrect base64 length"},
    {-632, "Incorrect file name"},
    {-701, "Reserved. For firmware internal use only"},
    {-702, "Reserved. For firmware internal use only"},
    {-703, "Reserved. For firmware internal use only"},
    {-704, "Reserved. For firmware internal use only"},
    {-705, "Reserved. For firmware internal use only"},
    {-706, "Reserved. For firmware internal use only"},
    {-707, "Reserved. For firmware internal use only"},
    {-708, "The firmware does not support this command"},
    {-709, "Failed to upload options"},
    {-720, "Failed to upgrade the firmware"},
    {-721, "The device downloads the file"},
    {-722, "Failed to upload the data to the software"},
    {-723, "Reserved. For firmware internal use only"},
    {-724, "Reserved. For firmware internal use only"},
    {-725, "It times out when the device waits for the result"},
    {-726, "The server returns an HTTP error"},
    {-727, "Reserved. For firmware internal use only"},
    {-728, "Failed to upload the number of table data entries"},
    {-729, "Reserved. For firmware internal use only"},
    {-730, "No response from the server"},
    {-731, "An error occurs when the server receives the data"},
    {-732, "Reserved. For firmware internal use only"},
    {-801, "Incorrect command format. The correct format is cmd:SN:command"},
    {-5000, "Received by the master controller, waiting for the sub-controller"},
});

// Appendix 1 of the attendance PUSH SDK 2.4.1 (shared/specs/).
constexpr auto kAttendanceReturnCodes = std::to_array<CodeName>({
    {-1, "The parameter is incorrect"},
    {-2, "The transmitted user photo data does not match the given size"},
    {-3, "Reading or writing is incorrect"},
    {-9, "The transmitted template data does not match the given size"},
    {-10, "The user specified by PIN does not exist in the equipment"},
    {-11, "The fingerprint template format is illegal"},
    {-12, "The fingerprint template is illegal"},
    {-1001, "Limited capacity"},
    {-1002, "Not supported by the equipment"},
    {-1003, "Command execution timeout"},
    {-1004, "The data and equipment configuration are inconsistent"},
    {-1005, "The equipment is busy"},
    {-1006, "The data is too long"},
    {-1007, "Memory error"},
    {-1008, "Failed to get server data"},
});

// Appendix 2 (the generic "Event Type" wording of its second column) and
// Appendix 19. Codes the appendices skip (46, 81-99, 122-131, ...) are unknown.
constexpr auto kEventNames = std::to_array<CodeName>({
    {0, "The door opens normally after verification"},
    {1, "Verify in the normal open time period"},
    {2, "The first user opens the door"},
    {3, "Multiple users open the door"},
    {4, "Open the door by using the emergency password"},
    {5, "Open the door in the normal open time period"},
    {6, "Trigger linkage"},
    {7, "Cancel the alarm"},
    {8, "Open the door remotely"},
    {9, "Close the door remotely"},
    {10, "Disable the normal open time period of the day"},
    {11, "Enable the normal open time period of the day"},
    {12, "Enable auxiliary output remotely"},
    {13, "Disable auxiliary output remotely"},
    {14, "The door is normally opened after verification"},
    {15, "Multiple users open the door"},
    {16, "Perform verification in the normal open time period"},
    {17, "Open the door by verification"},
    {18, "The first user opens the door"},
    {19, "The first user opens the door"},
    {20, "The operation interval is too short"},
    {21, "Open the door by verification during the non-valid time period"},
    {22, "Invalid time period"},
    {23, "Unauthorized access"},
    {24, "APB"},
    {25, "Interlock"},
    {26, "Multiple users wait for verification"},
    {27, "The user is not registered"},
    {28, "Door opening times out"},
    {29, "The user privilege expires"},
    {30, "The user is not registered"},
    {31, "The operation interval is too short"},
    {32, "Multiple users wait for verification"},
    {33, "The user privilege expires"},
    {34, "The user is not registered"},
    {35, "Open the door by verification during the non-valid time period"},
    {36, "Press the exit button during the non-valid time period"},
    {37, "The door cannot be closed during the normal open time period"},
    {38, "The card has been reported as lost"},
    {39, "Blacklist"},
    {40, "Multi-user verification failed"},
    {41, "Incorrect verification mode"},
    {42, "Incorrect Wiegand format"},
    {43, "The user is focused"},
    {44, "Remote identification failed"},
    {45, "Remote identification times out"},
    {47, "Failed to send the command"},
    {48, "Multi-user verification failed"},
    {49, "Open the door by verification during the non-valid time period"},
    {50, "The operation interval is too short"},
    {51, "Multiple users wait for verification"},
    {52, "Multi-user verification failed"},
    {53, "The user privilege expires"},
    {54, "Battery voltage is too low"},
    {55, "Replace the battery immediately"},
    {56, "Unauthorized operation"},
    {57, "Backup power supply"},
    {58, "Normal open alarm"},
    {59, "Unauthorized admin"},
    {60, "The door is locked inside"},
    {61, "Repeat verification"},
    {62, "Prohibited user"},
    {63, "Door locked"},
    {64, "The exit button is not operated within the time period"},
    {65, "Auxiliary input is not operated within the time period"},
    {66, "Reader upgrade failed"},
    {67, "Remote comparison is successful (device is not authorized)"},
    {68, "High body temperature - access denied"},
    {69, "Without mask - access denied"},
    {70, "The face comparison server communication is abnormal"},
    {71, "Face server responds abnormally"},
    {72, "Call unanswered"},
    {73, "Invalid QR code"},
    {74, "QR code has expired"},
    {75, "Combined verification timeout"},
    {76, "Cannot get fingerprints in TITAN mode"},
    {77, "Internet cable not plugged in"},
    {78, "Device hotspot disconnected abnormally"},
    {79, "Mobile network disconnected abnormally"},
    {80, "The elevator control floor selection button is triggered without any permission"},
    {100, "Tamper alarm"},
    {101, "Alarm for opening the door with the duress password"},
    {102, "The door is opened accidentally"},
    {103, "Alarm for opening the door with the duress fingerprint"},
    {104, "Alarm for punch with an invalid card"},
    {105, "Failed to connect to the server"},
    {106, "Battery power failure"},
    {107, "Mains power failure"},
    {108, "Failed to connect to the main controller"},
    {109, "Reader disassembly alarm"},
    {110, "Reader offline alarm"},
    {111, "POE power down"},
    {112, "Extension board offline alarm"},
    {113, "Illegal security level"},
    {114, "Line detection, fire alarm input disconnected"},
    {115, "Line detection, fire alarm input short circuit"},
    {116, "Line detection, auxiliary input disconnect"},
    {117, "Line detection, auxiliary input short circuit"},
    {118, "Line detection, the exit button is off"},
    {119, "Line detection, short circuit of exit button"},
    {120, "Line detection, door sensor disconnected"},
    {121, "Line detection, door sensor short circuit"},
    {132, "Cancel the emergency state of the elevator control"},
    {133, "It is not possible to cancel the elevator control emergency state"},
    {134, "The elevator control is in a restricted state"},
    {150, "The elevator control manual button is short-circuited"},
    {151, "The elevator control manual button is disconnected"},
    {152, "The elevator control emergency button is short-circuited"},
    {153, "The elevator control emergency button is disconnected"},
    {154, "The elevator control fire button is short-circuited"},
    {155, "The elevator control fire button is disconnected"},
    {200, "The door is open"},
    {201, "The door is closed"},
    {202, "Open the door by pressing the exit button"},
    {203, "Multiple users open the door"},
    {204, "The door normal open time period ends"},
    {205, "Remotely enable normal open for the door"},
    {206, "Start the device"},
    {207, "Open the door by password"},
    {208, "The super user opens the door"},
    {209, "Press the exit button (locked)"},
    {210, "Start firefighting door opening"},
    {211, "The super user closes the door"},
    {212, "Enable the elevator control function"},
    {213, "Disable the elevator control function"},
    {214, "Successfully connected to the server"},
    {215, "The first card opens the door by password"},
    {216, "Open the door by password during the normal open time period"},
    {217, "Successfully connected to the main controller"},
    {218, "Pass by identity card"},
    {219, "Verification within the time period when the exit button is normally open"},
    {220, "Disconnected from the auxiliary input point"},
    {221, "The auxiliary input point is short-circuited"},
    {222, "Remote identification is successful"},
    {223, "Remote identification"},
    {224, "Ring the doorbell"},
    {225, "The auxiliary input point is normal"},
    {226, "Trigger the auxiliary input point"},
    {227, "The door is in dual-on mode"},
    {228, "The door is in dual-off mode"},
    {229, "Regularly enable normal open for auxiliary output"},
    {230, "Regularly disable normal open for auxiliary output"},
    {231, "IPC firmware linkage event"},
    {232, "Passed the verification"},
    {233, "Remote lock"},
    {234, "Remote unlock"},
    {235, "Reader upgrade successfully"},
    {236, "Reader disassembly alarm release"},
    {237, "Reader online"},
    {239, "Device call"},
    {240, "Call ended"},
    {241, "Linked capture event"},
    {242, "Linked recording event"},
    {243, "Fire alarm input disconnected"},
    {244, "Fire alarm input short circuit"},
    {245, "Connect to hotspot"},
    {246, "Mobile network connection is successful"},
    {247, "Expansion board online"},
    {248, "Plug in the internet cable"},
    {249, "The elevator control direct button triggers"},
    {250, "The elevator control floor selection button is triggered with the permissions"},
    {251, "The elevator control cancels the button via voice"},
    {252, "The elevator control triggers the button via voice"},
    {254, "Definition of the extended event number"},
    {255, "Door status"},
    {4000, "Fire control normally open ends"},
    {4001, "Normal communication of the personnel"},
    {4002, "Configured successfully (elevator control)"},
    {4003, "Successful loss report (elevator control)"},
    {4004, "Successfully cancel the loss report (elevator control)"},
    {4005, "Voice light on the door closing button (elevator control)"},
    {4006, "Voice light on the door open button (elevator control)"},
    {4007, "Green Code (health code)"},
    {4008, "Mains power recovery"},
    {4009, "Video intercom call"},
    {4010, "Video intercom answering"},
    {4011, "Video intercom call timeout"},
    {4012, "Video intercom rejection"},
    {4013, "Video intercom hangs up normally"},
    {5000, "The clutch is abnormal"},
    {5001, "The fire control board is abnormal"},
    {5002, "The fire control board is losing electricity"},
    {5003, "The power supply is abnormal"},
    {5004, "The signal synchronization is abnormal"},
    {5005, "The motor current is too large"},
    {5006, "The mainboard current is too large"},
    {5007, "The mainboard current is overloaded"},
    {5008, "Receives continuous opening signal"},
    {5009, "The voice loading is abnormal"},
    {5010, "The slave machine is offline"},
    {5011, "The slave machine communication interface is disconnected"},
    {5012, "The belt is broken"},
    {5013, "The turnstile-opening solenoid is abnormal"},
    {5014, "The drop-arm solenoid is abnormal"},
    {5015, "The turnstile arm cannot be lifted"},
    {5016, "The turnstile arm cannot be dropped"},
    {5017, "Configuration failed (elevator control)"},
    {5018, "Failed to report loss (elevator control)"},
    {5019, "Failed to cancel the loss report (elevator control)"},
    {5020, "Card data exception (elevator control)"},
    {5021, "QR code is invalid"},
    {5022, "The acquisition of the health code of Chongqing is abnormal"},
    {6000, "The fire control start is normally opened"},
    {6001, "Yellow Code (health code)"},
    {6002, "Red Code (health code)"},
    {6003, "Unknown health status"},
    {6004, "Abnormal status of health code of Chongqing"},
    {6005, "The device record capacity reaches 90%"},
    {6006, "Short circuit of reader (RS485)"},
    {6007, "Short circuit of reader (Wiegand)"},
    {6008, "Using emergency power supply, switch from AC power supply to DC power supply"},
    {6009, "Using emergency power supply, switch from DC power supply to AC power supply"},
    {6010, "Using emergency DC power supply, the power battery enters a low voltage state"},
});

// Appendix 3.
constexpr auto kVerifyModes = std::to_array<CodeName>({
    {0, "Vein, face, fingerprint, card, or password (automatically identified)"},
    {1, "Fingerprint only"},
    {2, "User ID"},
    {3, "Password only"},
    {4, "Card only"},
    {5, "Fingerprint or password"},
    {6, "Fingerprint or card"},
    {7, "Card or password"},
    {8, "User ID and fingerprint"},
    {9, "Fingerprint and password"},
    {10, "Card and fingerprint"},
    {11, "Card and password"},
    {12, "Fingerprint, password, and card"},
    {13, "User ID, fingerprint, and password"},
    {14, "User ID and fingerprint, or card and fingerprint"},
    {15, "Face"},
    {16, "Face and fingerprint"},
    {17, "Face and password"},
    {18, "Face and card"},
    {19, "Face, fingerprint, and card"},
    {20, "Face, fingerprint, and password"},
    {21, "Finger vein"},
    {22, "Finger vein and password"},
    {23, "Finger vein and card"},
    {24, "Finger vein, password, and card"},
    {25, "Palm"},
    {26, "Palm and card"},
    {27, "Palm and face"},
    {28, "Palm and fingerprint"},
    {29, "Palm, fingerprint and face"},
    {200, "Other: a door or system event (no user verified)"},
});

// §4.4 NewVFStyles, VERIFY_STYLE_E.
constexpr auto kVerifyStyles = std::to_array<CodeName>({
    {0, "Invalid bit"},
    {1, "Face"},
    {2, "Palm print"},
    {3, "Palm vein"},
    {4, "Fingerprint"},
    {5, "Finger vein"},
    {6, "Voice print"},
    {7, "Iris"},
    {8, "Retina"},
    {9, "Password"},
    {10, "User ID"},
    {11, "Card"},
    {12, "QR code / health code"},
});

}  // namespace

// ---------------------------------------------------------------------------
// Endpoints and uploads
// ---------------------------------------------------------------------------

SecurityEndpoint classify_security_endpoint(std::string_view path) noexcept {
  if (path.size() > 1 && path.back() == '/') {
    path.remove_suffix(1);
  }
  constexpr std::string_view kPrefix = "/iclock/";
  if (path.size() <= kPrefix.size() || !iequals(path.substr(0, kPrefix.size()), kPrefix)) {
    return SecurityEndpoint::Unknown;
  }
  const std::string_view name = path.substr(kPrefix.size());
  static constexpr std::array<std::pair<std::string_view, SecurityEndpoint>, 8> kNames = {{
      {"cdata", SecurityEndpoint::Cdata},
      {"registry", SecurityEndpoint::Registry},
      {"push", SecurityEndpoint::Push},
      {"getrequest", SecurityEndpoint::GetRequest},
      {"devicecmd", SecurityEndpoint::DeviceCmd},
      {"ping", SecurityEndpoint::Ping},
      {"querydata", SecurityEndpoint::QueryData},
      {"exchange", SecurityEndpoint::Exchange},
  }};
  for (const auto& [text, endpoint] : kNames) {
    if (iequals(name, text)) {
      return endpoint;
    }
  }
  return SecurityEndpoint::Unknown;
}

CdataUpload classify_cdata_upload(const QueryResult& query) noexcept {
  // §10's request carries AuthType=device and no table: it must be answered
  // with a verdict, never with "OK", so it is recognised first.
  if (const std::string* auth = query.find("AuthType");
      auth != nullptr && iequals(*auth, "device")) {
    return CdataUpload::RemoteAuth;
  }
  const std::string* table = query.find("table");
  if (table == nullptr) {
    return CdataUpload::Unknown;
  }
  static constexpr std::array<std::pair<std::string_view, CdataUpload>, 6> kTables = {{
      {"rtlog", CdataUpload::RtLog},
      {"rtstate", CdataUpload::RtState},
      {"tabledata", CdataUpload::TableData},
      {"options", CdataUpload::Options},
      {"irstate", CdataUpload::IrState},
      {"testdata", CdataUpload::TestData},
  }};
  for (const auto& [name, upload] : kTables) {
    if (iequals(*table, name)) {
      return upload;
    }
  }
  return CdataUpload::Unknown;
}

// ---------------------------------------------------------------------------
// Handshake request and version
// ---------------------------------------------------------------------------

HandshakeRequest handshake_request(const QueryResult& query) {
  HandshakeRequest request;
  auto text = [&query](std::string_view key) {
    const std::string* value = query.find(key);
    return value == nullptr ? std::string() : *value;
  };
  request.sn = text("SN");
  request.pushver = text("pushver");
  request.options_all = iequals(text("options"), "all");
  request.device_type = text("DeviceType");
  return request;
}

std::optional<ProtocolVersion> parse_protocol_version(std::string_view text) noexcept {
  text = trim_spaces(text);
  if (text.size() >= 3 && iequals(text.substr(0, 3), "Ver")) {
    text.remove_prefix(3);
  } else if (!text.empty() && (text.front() == 'V' || text.front() == 'v')) {
    text.remove_prefix(1);
  }
  text = trim_spaces(text);
  std::array<int, 3> parts{0, 0, 0};
  std::size_t count = 0;
  std::size_t start = 0;
  while (true) {
    if (count == parts.size()) {
      return std::nullopt;
    }
    const std::size_t dot = text.find('.', start);
    const std::string_view part =
        text.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    // Each part is plain decimal digits: no sign, no spaces, no suffix.
    if (part.empty() || part.size() > 6 ||
        !std::all_of(part.begin(), part.end(), [](char c) { return is_digit(c); })) {
      return std::nullopt;
    }
    parts[count++] = *parse_integer<int>(part);
    if (dot == std::string_view::npos) {
      break;
    }
    start = dot + 1;
  }
  return ProtocolVersion{parts[0], parts[1], parts[2]};
}

std::string format_protocol_version(const ProtocolVersion& version) {
  return std::to_string(version.major) + "." + std::to_string(version.minor) + "." +
         std::to_string(version.patch);
}

std::optional<bool> announces_security_push(const QueryResult& query) noexcept {
  if (const std::string* type = query.find("DeviceType"); type != nullptr && !type->empty()) {
    // A terminal that names its type is believed: "acc" is access control,
    // anything else ("att") the attendance dialect.
    return iequals(*type, "acc");
  }
  if (const std::string* pushver = query.find("pushver"); pushver != nullptr) {
    if (auto v = parse_protocol_version(*pushver)) {
      return v->major >= 3;
    }
  }
  return std::nullopt;
}

VersionChoice choose_push_prot_ver(std::string_view terminal_pushver) {
  VersionChoice choice;
  // Appendix 13: a terminal that sends no pushver is taken to speak 3.0.1.
  ProtocolVersion terminal = kDefaultPushProtVer;
  if (std::optional<ProtocolVersion> parsed = parse_protocol_version(terminal_pushver)) {
    terminal = *parsed;
    choice.terminal_version_known = true;
  }
  // Always announce the plain-text ceiling: both ends settle on the lower
  // version, so whatever the terminal claims the result is below 3.1.1 and
  // no key exchange or encryption is ever started.
  choice.announce = format_protocol_version(kPlainTextPushProtVer);
  choice.effective = format_protocol_version(std::min(terminal, kPlainTextPushProtVer));
  return choice;
}

// ---------------------------------------------------------------------------
// Registration
// ---------------------------------------------------------------------------

bool DeviceRegistration::is_access_control() const noexcept {
  return iequals(device_type, "acc");
}

bool DeviceRegistration::acc_supports(std::size_t position) const noexcept {
  return position < acc_support_fun_list.size() && acc_support_fun_list[position] == '1';
}

const std::string* RegistryResult::find(std::string_view key) const noexcept {
  const std::string_view wanted = strip_tilde(key);
  for (const KeyValue& field : fields) {
    if (iequals(strip_tilde(field.key), wanted)) {
      return &field.value;
    }
  }
  return nullptr;
}

RegistryResult parse_registry(std::string_view body) {
  RegistryResult result;
  std::vector<std::size_t> field_lines;  // body line of each field, for problems
  LineCursor cursor(body);
  Line line;
  while (cursor.next(line)) {
    if (is_blank(line.text)) {
      continue;
    }
    // zkpush::parse_options already splits the option format (commas that
    // start a key, commas inside values kept); it sees one line at a time so
    // problems get this body's line numbers.
    OptionsResult options = parse_options(line.text);
    for (KeyValue& kv : options.options) {
      result.fields.push_back(std::move(kv));
      field_lines.push_back(line.number);
    }
    for (ParseProblem& problem : options.problems) {
      problem.line = line.number;
      problem.reason = "registry " + problem.reason;
      result.problems.push_back(std::move(problem));
    }
  }

  auto index_of = [&result](std::string_view key) -> std::optional<std::size_t> {
    for (std::size_t i = 0; i < result.fields.size(); ++i) {
      if (iequals(strip_tilde(result.fields[i].key), key)) {
        return i;
      }
    }
    return std::nullopt;
  };
  auto text = [&](std::string_view key) {
    const std::optional<std::size_t> i = index_of(key);
    return i ? result.fields[*i].value : std::string();
  };
  auto number = [&](std::string_view key, auto type_tag) {
    using Int = decltype(type_tag);
    const std::optional<std::size_t> i = index_of(key);
    if (!i || result.fields[*i].value.empty()) {
      return std::optional<Int>();
    }
    const KeyValue& kv = result.fields[*i];
    std::optional<Int> value = parse_integer<Int>(kv.value);
    if (!value) {
      // Keep the registration usable: the pair stays in `fields`, only the
      // typed member is left empty.
      result.problems.push_back(make_problem(field_lines[*i],
                                             "registry " + std::string(key) + " is not a number",
                                             kv.key + "=" + kv.value));
    }
    return value;
  };
  const int kInt = 0;
  const std::int64_t kInt64 = 0;

  DeviceRegistration& d = result.device;
  d.device_type = text("DeviceType");
  d.device_name = text("DeviceName");
  d.firmware = text("FirmVer");
  d.push_version = text("PushVersion");
  d.mac = text("MAC");
  d.comm_type = text("CommType");
  d.ip_address = text("IPAddress");
  d.net_mask = text("NetMask");
  d.gateway = text("GATEIPAddress");
  d.max_package_size = number("MaxPackageSize", kInt64);
  d.lock_count = number("LockCount", kInt);
  d.reader_count = number("ReaderCount", kInt);
  d.aux_in_count = number("AuxInCount", kInt);
  d.aux_out_count = number("AuxOutCount", kInt);
  d.max_lock_count = number("MaxLockCount", kInt);
  d.machine_type = number("MachineType", kInt);
  d.max_user_count = number("MaxUserCount", kInt64);
  d.max_attlog_count = number("MaxAttLogCount", kInt64);
  d.cmd_format = number("CmdFormat", kInt);
  d.date_fmt_fun_on = number("DateFmtFunOn", kInt);
  d.multi_bio_data_support = text("MultiBioDataSupport");
  d.multi_bio_photo_support = text("MultiBioPhotoSupport");
  d.multi_bio_version = text("MultiBioVersion");
  d.max_multi_bio_data_count = text("MaxMultiBioDataCount");
  d.max_multi_bio_photo_count = text("MaxMultiBioPhotoCount");
  d.acc_support_fun_list = text("AccSupportFunList");
  d.verify_styles = text("VerifyStyles");
  d.event_types = text("EventTypes");
  d.new_vf_styles = text("NewVFStyles");
  d.bio_photo_fun = number("BioPhotoFun", kInt);
  d.bio_data_fun = number("BioDataFun", kInt);
  d.ir_temp_detection_fun_on = number("IRTempDetectionFunOn", kInt);
  d.mask_detection_fun_on = number("MaskDetectionFunOn", kInt);
  d.dev_ns_level = number("DevNSLevel", kInt);
  // Appendix 15. A terminal claiming both roles is treated as the master:
  // its results then carry sub-controller SNs, which is the safer reading.
  const std::optional<int> multi_stage = number("MultiStageControlFunOn", kInt);
  const std::optional<int> master = number("MasterControlOn", kInt);
  const std::optional<int> sub = number("SubControlOn", kInt);
  if (multi_stage == 1 && master == 1) {
    d.role = ControllerRole::Master;
  } else if (multi_stage == 1 && sub == 1) {
    d.role = ControllerRole::Sub;
  }
  return result;
}

std::string render_registry_answer(std::string_view registry_code) {
  return "RegistryCode=" + sanitized(registry_code);
}

bool valid_registry_code(std::string_view code) noexcept {
  return !code.empty() && code.size() <= 32 && std::all_of(code.begin(), code.end(), is_alnum);
}

// ---------------------------------------------------------------------------
// Server configuration answers
// ---------------------------------------------------------------------------

std::string render_unregistered_handshake() {
  // §4.1: a terminal that is not registered hears "OK" and goes on to
  // POST /iclock/registry.
  return std::string(kOkAnswer);
}

std::string render_registered_handshake(const RegisteredHandshake& answer) {
  const ServerConfig& c = answer.config;
  std::vector<std::string> lines = {
      "registry=ok",
      key_value_line("RegistryCode", answer.registry_code),
      key_value_line("ServerVersion", c.server_version),
      key_value_line("ServerName", c.server_name),
      key_value_line("PushProtVer", c.push_prot_ver),
      key_value_line("ErrorDelay", std::to_string(c.error_delay)),
      key_value_line("RequestDelay", std::to_string(c.request_delay)),
      key_value_line("TransTimes", c.trans_times),
      key_value_line("TransInterval", std::to_string(c.trans_interval)),
      key_value_line("TransTables", c.trans_tables),
      key_value_line("Realtime", c.realtime ? "1" : "0"),
      key_value_line("SessionID", c.session_id),
      key_value_line("TimeoutSec", std::to_string(c.timeout_sec)),
  };
  for (const KeyValue& kv : answer.extra) {
    lines.push_back(key_value_line(kv.key, kv.value));
  }
  return joined(lines, "\n");
}

std::string render_push_config(const PushConfigAnswer& answer) {
  const ServerConfig& c = answer.config;
  // The §4.5 example's order, which puts the version (as PushVersion) right
  // after ServerName; its 218-byte Content-Length is these lines joined by LF
  // with none after the last.
  std::vector<std::string> lines = {
      key_value_line("ServerVersion", c.server_version),
      key_value_line("ServerName", c.server_name),
      key_value_line("PushVersion", c.push_prot_ver),
      key_value_line("ErrorDelay", std::to_string(c.error_delay)),
      key_value_line("RequestDelay", std::to_string(c.request_delay)),
      key_value_line("TransTimes", c.trans_times),
      key_value_line("TransInterval", std::to_string(c.trans_interval)),
      key_value_line("TransTables", c.trans_tables),
      key_value_line("Realtime", c.realtime ? "1" : "0"),
      key_value_line("SessionID", c.session_id),
      key_value_line("TimeoutSec", std::to_string(c.timeout_sec)),
  };
  // A terminal that registered in this session never saw §4.1's answer, so
  // this is where it learns the version: send the Appendix 13 name too.
  if (answer.also_push_prot_ver) {
    lines.push_back(key_value_line("PushProtVer", c.push_prot_ver));
  }
  auto optional = [&lines](std::string_view key, const std::optional<std::string>& value) {
    if (value) {
      lines.push_back(key_value_line(key, *value));
    }
  };
  optional("BioPhotoFun", answer.bio_photo_fun);
  optional("BioDataFun", answer.bio_data_fun);
  optional("MultiBioDataSupport", answer.multi_bio_data_support);
  optional("MultiBioPhotoSupport", answer.multi_bio_photo_support);
  optional("NewVFStyles", answer.new_vf_styles);
  optional("IRTempUnitTrans", answer.ir_temp_unit_trans);
  optional("QRCodeDecryptType", answer.qr_code_decrypt_type);
  optional("QRCodeDecryptKey", answer.qr_code_decrypt_key);
  optional("SvrNSLevel", answer.svr_ns_level);
  for (const KeyValue& kv : answer.extra) {
    lines.push_back(key_value_line(kv.key, kv.value));
  }
  return joined(lines, "\n");
}

std::vector<std::string> split_bio_list(std::string_view list) {
  std::vector<std::string> values;
  if (is_blank(list)) {
    return values;
  }
  for (std::string_view part : split(list, ':')) {
    values.emplace_back(trim_spaces(part));
  }
  return values;
}

bool bio_type_listed(std::string_view list, std::size_t type) {
  const std::vector<std::string> values = split_bio_list(list);
  return type < values.size() && values[type] == "1";
}

std::string intersect_bio_support(std::string_view terminal, std::string_view server) {
  const std::vector<std::string> a = split_bio_list(terminal);
  const std::vector<std::string> b = split_bio_list(server);
  std::vector<std::string> out(std::max(a.size(), b.size()), "0");
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (i < a.size() && i < b.size() && a[i] == "1" && b[i] == "1") {
      out[i] = "1";
    }
  }
  return joined(out, ":");
}

// ---------------------------------------------------------------------------
// Token
// ---------------------------------------------------------------------------

std::optional<std::string> compute_token(std::string_view registry_code, std::string_view sn,
                                         std::string_view session_id) {
  std::string input;
  input.reserve(registry_code.size() + sn.size() + session_id.size());
  input.append(registry_code).append(sn).append(session_id);
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  // EVP_Digest fails only when the library will not do MD5 at all (FIPS
  // providers): the caller then cannot check tokens and says so at startup.
  if (EVP_Digest(input.data(), input.size(), digest.data(), &length, EVP_md5(), nullptr) != 1 ||
      length != 16) {
    return std::nullopt;
  }
  static constexpr std::string_view kDigits = "0123456789abcdef";
  std::string hex;
  hex.reserve(32);
  for (unsigned int i = 0; i < length; ++i) {
    hex += kDigits[digest[i] >> 4];
    hex += kDigits[digest[i] & 0x0f];
  }
  return hex;
}

CookieValues parse_cookie(std::string_view header_value) {
  CookieValues values;
  std::size_t start = 0;
  while (start <= header_value.size()) {
    const std::size_t end = header_value.find_first_of(";,", start);
    std::string_view piece = trim_spaces(header_value.substr(
        start, end == std::string_view::npos ? std::string_view::npos : end - start));
    const std::size_t eq = piece.find('=');
    if (eq == std::string_view::npos) {
      // §7.4's example sends the bare token as the whole cookie.
      const bool hex32 = piece.size() == 32 && std::all_of(piece.begin(), piece.end(), [](char c) {
                           return hex_value(c) >= 0;
                         });
      if (hex32 && !values.token) {
        values.token = std::string(piece);
      }
    } else {
      const std::string_view name = trim_spaces(piece.substr(0, eq));
      std::string_view value = trim_spaces(piece.substr(eq + 1));
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
        value = value.substr(1, value.size() - 2);
      }
      if (iequals(name, "token") && !values.token) {
        values.token = std::string(value);
      } else if (iequals(name, "timestamp") && !values.timestamp) {
        values.timestamp = std::string(value);
      }
    }
    if (end == std::string_view::npos) {
      break;
    }
    start = end + 1;
  }
  return values;
}

bool token_matches(std::string_view expected, std::string_view presented) noexcept {
  if (expected.empty() || expected.size() != presented.size()) {
    return false;
  }
  // Accumulate every difference instead of returning at the first, so the
  // time taken does not tell a guesser how many leading digits were right.
  unsigned int difference = 0;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    difference |= static_cast<unsigned char>(ascii_lower(expected[i])) ^
                  static_cast<unsigned char>(ascii_lower(presented[i]));
  }
  return difference == 0;
}

// ---------------------------------------------------------------------------
// Door state
// ---------------------------------------------------------------------------

std::string_view to_string(DoorSensor sensor) noexcept {
  switch (sensor) {
    case DoorSensor::None:
      return "none";
    case DoorSensor::Closed:
      return "closed";
    case DoorSensor::Open:
      return "open";
    case DoorSensor::Unknown:
      break;
  }
  return "unknown";
}

DoorStatesResult decode_door_states(std::optional<std::string_view> sensor,
                                    std::optional<std::string_view> relay,
                                    std::optional<std::string_view> alarm, std::size_t door_count) {
  DoorStatesResult result;
  std::vector<std::uint8_t> sensor_bytes;
  std::vector<std::uint8_t> relay_bytes;
  std::vector<std::uint8_t> alarm_bytes;
  auto decode = [&result](std::optional<std::string_view> text, std::vector<std::uint8_t>& out,
                          std::string_view name) {
    if (!text || text->empty()) {
      return true;
    }
    if (!decode_hex_bytes(*text, out)) {
      result.error = std::string(name) + " is not hex byte pairs: " + quoted(*text);
      return false;
    }
    return true;
  };
  if (!decode(sensor, sensor_bytes, "sensor") || !decode(relay, relay_bytes, "relay") ||
      !decode(alarm, alarm_bytes, "alarm")) {
    return result;
  }
  const std::size_t covered =
      std::max({sensor_bytes.size() * 4, relay_bytes.size() * 8, alarm_bytes.size()});
  if (covered > kMaxDoors) {
    result.error = "door state fields describe " + std::to_string(covered) + " doors, more than " +
                   std::to_string(kMaxDoors);
    return result;
  }
  const std::size_t doors = door_count > 0 ? std::min(door_count, covered) : covered;
  for (std::size_t d = 0; d < doors; ++d) {
    DoorState state;
    state.door = static_cast<int>(d + 1);
    if (d / 4 < sensor_bytes.size()) {
      // Door 1 is the two least significant bits of the first byte (§7.3).
      const unsigned bits = (sensor_bytes[d / 4] >> ((d % 4) * 2)) & 0x3U;
      static constexpr std::array<DoorSensor, 4> kSensor = {DoorSensor::None, DoorSensor::Closed,
                                                            DoorSensor::Open, DoorSensor::Unknown};
      state.sensor = kSensor[bits];
    }
    if (d / 8 < relay_bytes.size()) {
      const unsigned bit = (relay_bytes[d / 8] >> (d % 8)) & 0x1U;
      state.relay = bit == 0 ? RelayState::Connected : RelayState::Disconnected;
    }
    if (d < alarm_bytes.size()) {
      state.alarms = alarm_bytes[d];
    }
    result.doors.push_back(state);
  }
  return result;
}

// ---------------------------------------------------------------------------
// rtlog
// ---------------------------------------------------------------------------

RtlogResult parse_rtlog(std::string_view body) {
  RtlogResult result;
  LineCursor cursor(body);
  Line line;
  while (cursor.next(line)) {
    if (is_blank(line.text)) {
      continue;
    }
    EventOutcome outcome = parse_event_line(line.text, false);
    if (!outcome.record) {
      result.problems.push_back(make_problem(line.number, std::move(outcome.reason), line.text));
      continue;
    }
    outcome.record->line = line.number;
    outcome.record->raw = std::string(line.text);
    result.records.push_back(std::move(*outcome.record));
  }
  return result;
}

std::string rtlog_dedup_key(std::string_view sn, const RtlogRecord& record) {
  std::string key;
  auto add = [&key](std::string_view part) {
    key += std::to_string(part.size());
    key += ':';
    key += part;
    key += '|';
  };
  auto add_number = [&add](const auto& value) {
    add(value ? std::to_string(*value) : std::string());
  };
  add(sn);
  add(record.time_text);
  add_number(record.index);
  add_number(record.event_addr);
  add_number(record.event);
  add(record.pin);
  add(record.card_no);
  add_number(record.in_out_status);
  add(record.verify_type_text);
  return key;
}

std::optional<std::uint16_t> parse_verify_styles(std::string_view text) noexcept {
  if (text.size() != 16) {
    return std::nullopt;
  }
  std::uint16_t bits = 0;
  for (char c : text) {
    if (c != '0' && c != '1') {
      return std::nullopt;
    }
    bits = static_cast<std::uint16_t>((bits << 1) | (c == '1' ? 1U : 0U));
  }
  return bits;
}

// ---------------------------------------------------------------------------
// rtstate
// ---------------------------------------------------------------------------

RtStateResult parse_rtstate(std::string_view body, std::size_t door_count) {
  RtStateResult result;
  LineCursor cursor(body);
  Line line;
  while (cursor.next(line)) {
    if (is_blank(line.text)) {
      continue;
    }
    auto problem = [&](std::string reason) {
      result.problems.push_back(make_problem(line.number, std::move(reason), line.text));
    };
    KeyValues pairs;
    std::string_view bad_field;
    if (!split_tab_pairs(line.text, pairs, bad_field)) {
      problem("field without key=value: " + quoted(bad_field));
      continue;
    }
    FieldTaker taker(std::move(pairs));
    std::optional<std::string> time = taker.take({"time"});
    if (!time) {
      problem("rtstate row without time");
      continue;
    }
    RtStateRecord record;
    record.line = line.number;
    record.raw = std::string(line.text);
    record.time_text = std::move(*time);
    // As in rtlog: a clock not yet set does not make the state less true.
    record.time = parse_device_time(record.time_text);
    record.sensor = taker.take_string({"sensor"});
    record.relay = taker.take_string({"relay"});
    record.alarm = taker.take_string({"alarm"});
    if (record.sensor.empty() && record.relay.empty() && record.alarm.empty()) {
      problem("rtstate row without sensor, relay or alarm");
      continue;
    }
    DoorStatesResult decoded =
        decode_door_states(door_field(&record.sensor), door_field(&record.relay),
                           door_field(&record.alarm), door_count);
    if (!decoded.error.empty()) {
      problem(std::move(decoded.error));
      continue;
    }
    record.doors = std::move(decoded.doors);
    record.extra = taker.rest();
    result.records.push_back(std::move(record));
  }
  return result;
}

// ---------------------------------------------------------------------------
// tabledata
// ---------------------------------------------------------------------------

TableKind classify_table_name(std::string_view table_name) noexcept {
  for (const TableName& entry : kTableNames) {
    if (iequals(entry.name, table_name)) {
      return entry.kind;
    }
  }
  return TableKind::Other;
}

TableDataResult parse_tabledata(std::string_view table_name, std::string_view body) {
  TableDataResult result;
  result.kind = classify_table_name(table_name);
  LineCursor cursor(body);
  Line line;
  while (cursor.next(line)) {
    if (is_blank(line.text)) {
      continue;
    }
    auto problem = [&](std::string reason) {
      result.problems.push_back(make_problem(line.number, std::move(reason), line.text));
    };
    // "user uid=5\t..." has a type word; "pin=x.jpg\tsn=..." (ATTPHOTO) and
    // §7.12's format ("errcode=...") do not. The first token decides: a word
    // has no '='.
    const std::string_view text = line.text;
    const std::size_t sep = text.find_first_of(" \t");
    const std::string_view first = text.substr(0, sep);
    std::string_view word;
    std::string_view rest = text;
    if (first.find('=') == std::string_view::npos) {
      word = first;
      rest = sep == std::string_view::npos ? std::string_view() : text.substr(sep + 1);
    }
    if (!word.empty() && !table_name.empty() && !iequals(word, table_name)) {
      problem(unexpected_type(word, table_name));
      continue;
    }
    TableEntry entry;
    std::string_view bad_field;
    if (!split_tab_pairs(rest, entry.fields, bad_field)) {
      problem("field without key=value: " + quoted(bad_field));
      continue;
    }
    if (entry.fields.empty()) {
      problem("record without key=value fields");
      continue;
    }
    FieldTaker taker(entry.fields);
    entry.record = typed_record(result.kind, taker);
    if (!taker.error().empty()) {
      problem(taker.error());
      continue;
    }
    entry.line = line.number;
    entry.raw = std::string(text);
    entry.type_word = std::string(word);
    result.entries.push_back(std::move(entry));
  }
  return result;
}

TableDataParams tabledata_params(const QueryResult& query) {
  TableDataParams params;
  if (const std::string* table = query.find("tablename")) {
    params.table_name = *table;
  }
  if (const std::string* count = query.find("count")) {
    params.count = parse_integer<std::int64_t>(*count);
  }
  return params;
}

std::string render_table_count_answer(std::string_view table_name, std::size_t count) {
  return sanitized(table_name) + "=" + std::to_string(count);
}

std::optional<std::uint64_t> parse_card_number(std::string_view text) noexcept {
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
    // "[15CD5B07]": the first byte written is the least significant (§7.5).
    const std::string_view hex = text.substr(1, text.size() - 2);
    if (hex.empty() || hex.size() > 16 || hex.size() % 2 != 0) {
      return std::nullopt;
    }
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < hex.size(); i += 2) {
      const int hi = hex_value(hex[i]);
      const int lo = hex_value(hex[i + 1]);
      if (hi < 0 || lo < 0) {
        return std::nullopt;
      }
      value |= static_cast<std::uint64_t>(hi * 16 + lo) << (4 * i);
    }
    return value;
  }
  if (text.empty() || !std::all_of(text.begin(), text.end(), is_digit)) {
    return std::nullopt;
  }
  return parse_integer<std::uint64_t>(text);
}

std::optional<std::uint32_t> encode_old_time(const DeviceTime& t) noexcept {
  if (t.year < 2000 || t.month < 1 || t.month > 12 || t.day < 1 || t.day > 31 || t.hour < 0 ||
      t.hour > 23 || t.minute < 0 || t.minute > 59 || t.second < 0 || t.second > 59) {
    return std::nullopt;
  }
  const std::int64_t days =
      (static_cast<std::int64_t>(t.year) - 2000) * 12 * 31 + (t.month - 1) * 31 + t.day - 1;
  const std::int64_t seconds = days * 86400 + (t.hour * 60 + t.minute) * 60 + t.second;
  if (seconds > std::numeric_limits<std::uint32_t>::max()) {
    return std::nullopt;
  }
  return static_cast<std::uint32_t>(seconds);
}

std::optional<DeviceTime> decode_old_time(std::uint32_t seconds) noexcept {
  std::uint32_t tt = seconds;
  DeviceTime t;
  t.second = static_cast<int>(tt % 60);
  tt /= 60;
  t.minute = static_cast<int>(tt % 60);
  tt /= 60;
  t.hour = static_cast<int>(tt % 24);
  tt /= 24;
  t.day = static_cast<int>(tt % 31) + 1;
  tt /= 31;
  t.month = static_cast<int>(tt % 12) + 1;
  tt /= 12;
  t.year = static_cast<int>(tt) + 2000;
  // Every month has 31 days in this encoding; 30 Feb is not a date.
  if (t.day > days_in_month(t.year, t.month)) {
    return std::nullopt;
  }
  return t;
}

// ---------------------------------------------------------------------------
// querydata
// ---------------------------------------------------------------------------

bool QueryDataParams::last_pack() const noexcept {
  if (!pack_count || !pack_index) {
    return true;
  }
  return *pack_index >= *pack_count;
}

QueryDataParams querydata_params(const QueryResult& query) {
  QueryDataParams p;
  auto text = [&query](std::string_view key) {
    const std::string* value = query.find(key);
    return value == nullptr ? std::string() : *value;
  };
  auto number = [&query, &p](std::string_view key) -> std::optional<std::int64_t> {
    const std::string* value = query.find(key);
    if (value == nullptr || value->empty()) {
      return std::nullopt;
    }
    std::optional<std::int64_t> parsed = parse_integer<std::int64_t>(*value);
    if (!parsed) {
      p.problems.push_back(make_problem(1, "querydata " + std::string(key) + " is not a number",
                                        std::string(key) + "=" + *value));
    }
    return parsed;
  };
  p.type = text("type");
  p.cmd_id = text("cmdid");
  p.table_name = text("tablename");
  p.count = number("count");
  p.pack_count = number("packcnt");
  p.pack_index = number("packidx");
  p.datafmt = number("datafmt");
  p.stamp = text("Stamp");
  return p;
}

QueryDataResult parse_querydata(const QueryResult& query, std::string_view body) {
  QueryDataResult result;
  result.params = querydata_params(query);
  result.kind = classify_table_name(result.params.table_name);
  if (is_blank(body)) {
    return result;
  }
  const std::string& type = result.params.type;
  // The ACCOUNT archive (§9.2.1) is a tgz inside base64 behind a text
  // header: nothing here unpacks it, so it is kept whole for the quarantine.
  if (result.params.datafmt == 3) {
    result.problems.push_back(make_problem(1, "querydata archive (datafmt=3) is not parsed", body));
    return result;
  }
  if (iequals(type, "tabledata") || iequals(type, "vmtable")) {
    TableDataResult table = parse_tabledata(result.params.table_name, body);
    result.entries = std::move(table.entries);
    result.problems = std::move(table.problems);
    return result;
  }
  if (iequals(type, "options")) {
    OptionsResult options = parse_options(body);
    result.options = std::move(options.options);
    result.problems = std::move(options.problems);
    return result;
  }
  if (iequals(type, "count")) {
    // §9.1.3: one line "<tablename>=<n>".
    LineCursor cursor(body);
    Line line;
    while (cursor.next(line)) {
      if (is_blank(line.text)) {
        continue;
      }
      if (result.counted) {
        result.problems.push_back(
            make_problem(line.number, "more than one count in a type=count answer", line.text));
        continue;
      }
      const std::size_t eq = line.text.find('=');
      const std::string_view key =
          trim_spaces(line.text.substr(0, eq == std::string_view::npos ? 0 : eq));
      const std::optional<std::int64_t> value =
          eq == std::string_view::npos
              ? std::nullopt
              : parse_integer<std::int64_t>(trim_spaces(line.text.substr(eq + 1)));
      if (eq == std::string_view::npos || !value) {
        result.problems.push_back(
            make_problem(line.number, "count answer is not <table>=<number>", line.text));
        continue;
      }
      if (!result.params.table_name.empty() && !iequals(key, result.params.table_name)) {
        result.problems.push_back(
            make_problem(line.number,
                         "count answer for " + quoted(key) + " in tablename=" +
                             sanitized(std::string_view(result.params.table_name).substr(0, 40)),
                         line.text));
        continue;
      }
      result.counted = value;
    }
    return result;
  }
  result.problems.push_back(
      make_problem(1, "querydata type " + quoted(type) + " is not parsed", body));
  return result;
}

// ---------------------------------------------------------------------------
// Command results
// ---------------------------------------------------------------------------

std::optional<std::string> sub_controller_sn(const CommandConfirmation& confirmation) {
  if (const std::string* sn = find_value(confirmation.extra, "SN"); sn != nullptr && !sn->empty()) {
    return *sn;
  }
  return std::nullopt;
}

bool queued_for_sub_controller(const CommandConfirmation& confirmation) noexcept {
  return confirmation.return_code == kReturnQueuedForSubController;
}

// ---------------------------------------------------------------------------
// CONTROL DEVICE and remote identification
// ---------------------------------------------------------------------------

ControlDevice open_door(std::uint8_t door, std::uint8_t seconds) noexcept {
  ControlDevice control;
  control.operation = static_cast<std::uint8_t>(ControlOperation::Output);
  control.door = door;
  control.target = 1;  // the lock, not the auxiliary output
  control.duration = seconds;
  return control;
}

std::string render_control_device(const ControlDevice& control) {
  std::string out = "CONTROL DEVICE ";
  append_hex_byte(out, control.operation);
  append_hex_byte(out, control.door);
  append_hex_byte(out, control.target);
  append_hex_byte(out, control.duration);
  if (control.operator_id) {
    append_hex_byte(out, *control.operator_id);
  }
  return out;
}

std::optional<std::string> render_control_device(int operation, int door, int target,
                                                 int duration) {
  for (int value : {operation, door, target, duration}) {
    if (value < 0 || value > 255) {
      return std::nullopt;
    }
  }
  ControlDevice control;
  control.operation = static_cast<std::uint8_t>(operation);
  control.door = static_cast<std::uint8_t>(door);
  control.target = static_cast<std::uint8_t>(target);
  control.duration = static_cast<std::uint8_t>(duration);
  return render_control_device(control);
}

RemoteAuthResult parse_remote_auth(std::string_view body) {
  RemoteAuthResult result;
  bool seen_record_line = false;
  LineCursor cursor(body);
  Line line;
  while (cursor.next(line)) {
    if (is_blank(line.text)) {
      continue;
    }
    if (seen_record_line) {
      // §10 asks about one event; the answer echoes one. A second line is
      // kept for the quarantine rather than silently answered for.
      result.problems.push_back(make_problem(
          line.number, "more than one record in a remote identification request", line.text));
      continue;
    }
    seen_record_line = true;
    EventOutcome outcome = parse_event_line(line.text, true);
    if (!outcome.record) {
      result.problems.push_back(make_problem(line.number, std::move(outcome.reason), line.text));
      continue;
    }
    outcome.record->line = line.number;
    outcome.record->raw = std::string(line.text);
    result.request = RemoteAuthRequest{std::move(*outcome.record), outcome.addr_type};
  }
  return result;
}

std::string_view to_string(AuthVerdict verdict) noexcept {
  switch (verdict) {
    case AuthVerdict::Success:
      return "SUCCESS";
    case AuthVerdict::Timeout:
      return "TIMEOUT";
    case AuthVerdict::Failed:
      break;
  }
  return "FAILED";
}

std::string with_event_code(std::string_view record, int code) {
  std::string out;
  bool replaced = false;
  std::size_t start = 0;
  while (true) {
    auto tab = record.find('\t', start);
    auto field = record.substr(start, tab == std::string_view::npos ? record.npos : tab - start);
    if (start != 0) {
      out += '\t';
    }
    if (!replaced && field.substr(0, 6) == "event=") {
      out += "event=" + std::to_string(code);
      replaced = true;
    } else {
      out += field;
    }
    if (tab == std::string_view::npos) {
      break;
    }
    start = tab + 1;
  }
  if (!replaced) {
    out += (out.empty() ? "event=" : "\tevent=") + std::to_string(code);
  }
  return out;
}

std::string render_remote_auth_answer(const RemoteAuthAnswer& answer) {
  std::vector<std::string> lines;
  lines.push_back("AUTH=" + std::string(to_string(answer.verdict)));
  if (!answer.event.empty()) {
    lines.push_back(sanitized(answer.event));
  }
  // The door command rides only on a success (§10: "the controller command
  // after successful verification"): a FAILED or TIMEOUT answer that opened
  // a door would be the worst possible bug, so a stray `control` is dropped.
  if (answer.verdict == AuthVerdict::Success && answer.control) {
    lines.push_back(render_control_device(*answer.control));
  }
  if (!answer.tips.empty()) {
    lines.push_back("TIPS=" + sanitized(answer.tips));
  }
  return joined(lines, "\r\n");
}

// ---------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------

std::string_view return_code_name(std::int64_t code, PushFlavour flavour) noexcept {
  if (code >= 0) {
    // Appendix 1: any value >= 0 is success (GetFile-style commands return a size).
    return "success";
  }
  // What these two mean in the field: the command was written in the other
  // flavour's form (access firmware refuses DATA QUERY USERINFO with -629,
  // attendance firmware refuses the table form with -1004). Said first, so a
  // result names the cause rather than the spec's wording alone.
  if (flavour == PushFlavour::Security && code == -629) {
    return "command not supported by this firmware (Incorrect table name)";
  }
  if (flavour == PushFlavour::Attendance && code == -1004) {
    return "command not supported by this firmware (The data and equipment configuration are "
           "inconsistent)";
  }
  const std::string_view security = find_name(kSecurityReturnCodes, code);
  const std::string_view attendance = find_name(kAttendanceReturnCodes, code);
  const std::string_view first = flavour == PushFlavour::Security ? security : attendance;
  const std::string_view second = flavour == PushFlavour::Security ? attendance : security;
  if (!first.empty()) {
    return first;
  }
  if (!second.empty()) {
    return second;
  }
  return "unknown";
}

std::string_view event_code_name(int code) noexcept {
  const std::string_view name = find_name(kEventNames, code);
  return name.empty() ? std::string_view("unknown") : name;
}

EventCategory event_category(int code) noexcept {
  if ((code >= 0 && code <= 19) || (code >= 200 && code <= 253) || (code >= 4000 && code <= 4999)) {
    return EventCategory::Normal;
  }
  if ((code >= 20 && code <= 99) || (code >= 5000 && code <= 5999)) {
    return EventCategory::Error;
  }
  if ((code >= 100 && code <= 199) || (code >= 6000 && code <= 6999)) {
    return EventCategory::Alarm;
  }
  if (code == 254) {
    return EventCategory::Extended;
  }
  if (code == 255) {
    return EventCategory::Status;
  }
  return EventCategory::Unknown;
}

std::string_view verify_mode_name(int mode) noexcept {
  const std::string_view name = find_name(kVerifyModes, mode);
  return name.empty() ? std::string_view("unknown") : name;
}

std::string_view verify_style_name(int bit) noexcept {
  const std::string_view name = find_name(kVerifyStyles, bit);
  return name.empty() ? std::string_view("unknown") : name;
}

}  // namespace pushgate::adapters::zkpush::security
