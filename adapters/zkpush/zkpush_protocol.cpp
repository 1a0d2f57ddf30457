// Attendance PUSH core: device time, request line/query, INFO, options, handshake rendering.
#include "adapters/zkpush/zkpush_protocol.hpp"
#include "adapters/zkpush/zkpush_protocol_detail.hpp"
#include "adapters/zkpush/zkpush_text.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <initializer_list>
#include <limits>
#include <system_error>
#include <utility>

namespace pushgate::adapters::zkpush {
namespace {

using text::ascii_lower;
using text::days_in_month;
using text::is_blank;
using text::is_digit;
using text::is_leap;
using text::Line;
using text::LineCursor;
using text::make_problem;
using text::parse_integer;
using text::sanitized;
using text::split;
using text::strip_tilde;

// ---------------------------------------------------------------------------
// Small text helpers. Everything here works on bytes: terminals send ASCII
// keys and whatever encoding their user names are in (UTF-8 or GB2312).
// ---------------------------------------------------------------------------

bool is_key_char(char c) noexcept {
  return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

// ---------------------------------------------------------------------------
// Time
// ---------------------------------------------------------------------------

std::optional<int> fixed_digits(std::string_view text) noexcept {
  int value = 0;
  for (char c : text) {
    if (!is_digit(c)) {
      return std::nullopt;
    }
    value = value * 10 + (c - '0');
  }
  return value;
}

bool valid_time(const DeviceTime& t) noexcept {
  return t.year >= 1 && t.month >= 1 && t.month <= 12 && t.day >= 1 &&
         t.day <= days_in_month(t.year, t.month) && t.hour >= 0 && t.hour <= 23 && t.minute >= 0 &&
         t.minute <= 59 && t.second >= 0 && t.second <= 59;
}

// ---------------------------------------------------------------------------
// Options splitting
// ---------------------------------------------------------------------------

/**
 * True when `text` starts with "[spaces][~]name=" (name: letters, digits,
 * '_'): what follows a comma that separates two options.
 */
bool starts_with_key(std::string_view text) noexcept {
  std::size_t i = 0;
  while (i < text.size() && text[i] == ' ') {
    ++i;
  }
  if (i < text.size() && text[i] == '~') {
    ++i;
  }
  const std::size_t name_start = i;
  while (i < text.size() && is_key_char(text[i])) {
    ++i;
  }
  return i > name_start && i < text.size() && text[i] == '=';
}

// ---------------------------------------------------------------------------
// Handshake rendering
// ---------------------------------------------------------------------------

void add_line(std::string& out, std::string_view key, std::string_view value) {
  out += sanitized(key);
  out += '=';
  out += sanitized(value);
  out += '\n';
}

void add_optional(std::string& out, std::string_view key, const std::optional<std::string>& value) {
  if (value) {
    add_line(out, key, *value);
  }
}

}  // namespace

namespace detail {

/** "YYYYMMDDHHMMSS" as used in ATTPHOTO file names. */
std::optional<DeviceTime> parse_compact_time(std::string_view text) noexcept {
  if (text.size() != 14) {
    return std::nullopt;
  }
  auto y = fixed_digits(text.substr(0, 4));
  auto mo = fixed_digits(text.substr(4, 2));
  auto d = fixed_digits(text.substr(6, 2));
  auto h = fixed_digits(text.substr(8, 2));
  auto mi = fixed_digits(text.substr(10, 2));
  auto s = fixed_digits(text.substr(12, 2));
  if (!y || !mo || !d || !h || !mi || !s) {
    return std::nullopt;
  }
  DeviceTime t{*y, *mo, *d, *h, *mi, *s};
  if (!valid_time(t)) {
    return std::nullopt;
  }
  return t;
}

}  // namespace detail

// ---------------------------------------------------------------------------
// Common
// ---------------------------------------------------------------------------

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) {
      return false;
    }
  }
  return true;
}

const std::string* find_value(const KeyValues& fields, std::string_view key) noexcept {
  for (const KeyValue& field : fields) {
    if (iequals(field.key, key)) {
      return &field.value;
    }
  }
  return nullptr;
}

// ---------------------------------------------------------------------------
// Time
// ---------------------------------------------------------------------------

std::optional<DeviceTime> parse_device_time(std::string_view text) noexcept {
  // Exactly "YYYY-MM-DD HH:MM:SS": this is what every terminal in the
  // captures and the spec sends; anything looser would let garbage through
  // as a plausible punch.
  if (text.size() != 19 || text[4] != '-' || text[7] != '-' || text[10] != ' ' || text[13] != ':' ||
      text[16] != ':') {
    return std::nullopt;
  }
  auto y = fixed_digits(text.substr(0, 4));
  auto mo = fixed_digits(text.substr(5, 2));
  auto d = fixed_digits(text.substr(8, 2));
  auto h = fixed_digits(text.substr(11, 2));
  auto mi = fixed_digits(text.substr(14, 2));
  auto s = fixed_digits(text.substr(17, 2));
  if (!y || !mo || !d || !h || !mi || !s) {
    return std::nullopt;
  }
  DeviceTime t{*y, *mo, *d, *h, *mi, *s};
  if (!valid_time(t)) {
    return std::nullopt;
  }
  return t;
}

std::string format_device_time(const DeviceTime& time) {
  std::array<char, 64> buffer{};
  const int n = std::snprintf(buffer.data(), buffer.size(), "%04d-%02d-%02d %02d:%02d:%02d",
                              time.year, time.month, time.day, time.hour, time.minute, time.second);
  return std::string(buffer.data(), n > 0 ? static_cast<std::size_t>(n) : 0);
}

// ---------------------------------------------------------------------------
// Request line
// ---------------------------------------------------------------------------

Endpoint classify_endpoint(std::string_view path) noexcept {
  if (path.size() > 1 && path.back() == '/') {
    path.remove_suffix(1);
  }
  constexpr std::string_view kPrefix = "/iclock/";
  if (path.size() <= kPrefix.size() || !iequals(path.substr(0, kPrefix.size()), kPrefix)) {
    return Endpoint::Unknown;
  }
  const std::string_view name = path.substr(kPrefix.size());
  static constexpr std::array<std::pair<std::string_view, Endpoint>, 7> kNames = {{
      {"cdata", Endpoint::Cdata},
      {"fdata", Endpoint::Fdata},
      {"getrequest", Endpoint::GetRequest},
      {"devicecmd", Endpoint::DeviceCmd},
      {"ping", Endpoint::Ping},
      {"exchange", Endpoint::Exchange},
      {"file", Endpoint::File},
  }};
  for (const auto& [text, endpoint] : kNames) {
    if (iequals(name, text)) {
      return endpoint;
    }
  }
  return Endpoint::Unknown;
}

RequestTarget split_target(std::string_view target) noexcept {
  const std::size_t q = target.find('?');
  if (q == std::string_view::npos) {
    return RequestTarget{target, {}};
  }
  return RequestTarget{target.substr(0, q), target.substr(q + 1)};
}

QueryResult parse_query(std::string_view query) {
  QueryResult result;
  if (!query.empty() && query.front() == '?') {
    query.remove_prefix(1);
  }
  auto hex_value = [](char c) -> int {
    if (is_digit(c)) {
      return c - '0';
    }
    const char l = ascii_lower(c);
    if (l >= 'a' && l <= 'f') {
      return l - 'a' + 10;
    }
    return -1;
  };
  auto decode = [&hex_value](std::string_view text, bool& bad) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '%') {
        const int hi = i + 1 < text.size() ? hex_value(text[i + 1]) : -1;
        const int lo = i + 2 < text.size() ? hex_value(text[i + 2]) : -1;
        if (hi >= 0 && lo >= 0) {
          out += static_cast<char>(hi * 16 + lo);
          i += 2;
          continue;
        }
        // Keep a stray '%' literally ("pushver=%s" from a hand-made
        // request): the value stays visible to whoever reads the problem.
        bad = true;
      }
      out += text[i];
    }
    return out;
  };
  for (std::string_view segment : split(query, '&')) {
    if (segment.empty()) {
      continue;
    }
    const std::size_t eq = segment.find('=');
    bool bad = false;
    KeyValue pair;
    pair.key = decode(segment.substr(0, eq), bad);
    if (eq != std::string_view::npos) {
      pair.value = decode(segment.substr(eq + 1), bad);
    }
    if (bad) {
      result.problems.push_back(make_problem(1, "malformed percent escape", segment));
    }
    result.params.push_back(std::move(pair));
  }
  return result;
}

UploadTable classify_table(std::string_view table) noexcept {
  static constexpr std::array<std::pair<std::string_view, UploadTable>, 7> kTables = {{
      {"ATTLOG", UploadTable::AttLog},
      {"OPERLOG", UploadTable::OperLog},
      {"ATTPHOTO", UploadTable::AttPhoto},
      {"BIODATA", UploadTable::BioData},
      {"options", UploadTable::Options},
      {"ERRORLOG", UploadTable::ErrorLog},
      {"IDCARD", UploadTable::IdCard},
  }};
  for (const auto& [name, value] : kTables) {
    if (iequals(table, name)) {
      return value;
    }
  }
  return UploadTable::Unknown;
}

std::optional<QueryAnswerPack> query_answer_pack(const QueryResult& query) {
  const std::string* count = query.find("Count");
  const std::string* pack_count = query.find("PackCnt");
  const std::string* pack_index = query.find("PackIdx");
  const std::string* cmd_id = query.find("CmdId");
  if (count == nullptr && pack_count == nullptr && pack_index == nullptr && cmd_id == nullptr) {
    return std::nullopt;
  }
  auto number = [](const std::string* text) -> std::optional<std::int64_t> {
    return text == nullptr ? std::nullopt : parse_integer<std::int64_t>(*text);
  };
  QueryAnswerPack pack;
  pack.count = number(count);
  pack.pack_count = number(pack_count);
  pack.pack_index = number(pack_index);
  pack.cmd_id = cmd_id == nullptr ? std::string() : *cmd_id;
  return pack;
}

// ---------------------------------------------------------------------------
// INFO
// ---------------------------------------------------------------------------

bool DeviceInfo::supports(DeviceFunction function) const noexcept {
  const auto index = static_cast<std::size_t>(function);
  return index < functions.size() && functions[index] == '1';
}

InfoResult parse_info(std::string_view info) {
  InfoResult result;
  if (is_blank(info)) {
    result.problems.push_back(make_problem(1, "empty INFO", info));
    return result;
  }
  const std::vector<std::string_view> values = split(info, ',');
  auto text = [&values](std::size_t i) {
    return i < values.size() ? std::string(values[i]) : std::string();
  };
  auto count = [&](std::size_t i, std::string_view name) -> std::optional<std::int64_t> {
    if (i >= values.size() || values[i].empty()) {
      return std::nullopt;
    }
    std::optional<std::int64_t> number = parse_integer<std::int64_t>(values[i]);
    if (!number) {
      result.problems.push_back(make_problem(
          1, "INFO value " + std::to_string(i + 1) + " (" + std::string(name) + ") is not a number",
          values[i]));
    }
    return number;
  };
  DeviceInfo& d = result.info;
  d.firmware = text(0);
  d.users = count(1, "users");
  d.fingerprints = count(2, "fingerprints");
  d.attlogs = count(3, "attendance records");
  d.ip = text(4);
  d.fingerprint_algorithm = text(5);
  d.face_algorithm = text(6);
  d.faces_required = count(7, "faces per enrolment");
  d.faces = count(8, "faces");
  d.functions = text(9);
  for (std::size_t i = 10; i < values.size(); ++i) {
    d.extra.emplace_back(values[i]);
  }
  return result;
}

// ---------------------------------------------------------------------------
// options
// ---------------------------------------------------------------------------

const std::string* OptionsResult::find(std::string_view key) const noexcept {
  const std::string_view wanted = strip_tilde(key);
  for (const KeyValue& option : options) {
    if (iequals(strip_tilde(option.key), wanted)) {
      return &option.value;
    }
  }
  return nullptr;
}

OptionsResult parse_options(std::string_view body) {
  OptionsResult result;
  LineCursor cursor(body);
  Line line;
  while (cursor.next(line)) {
    if (is_blank(line.text)) {
      continue;
    }
    // Split at commas that start a new key; a comma followed by anything
    // else (", Ltd.") belongs to the value.
    std::size_t start = 0;
    const std::string_view text = line.text;
    while (start <= text.size()) {
      std::size_t cut = start;
      while (true) {
        cut = text.find(',', cut);
        if (cut == std::string_view::npos || starts_with_key(text.substr(cut + 1)) ||
            is_blank(text.substr(cut + 1))) {
          break;
        }
        ++cut;
      }
      const std::size_t end = cut == std::string_view::npos ? text.size() : cut;
      std::string_view piece = text.substr(start, end - start);
      while (!piece.empty() && piece.front() == ' ') {
        piece.remove_prefix(1);
      }
      if (!is_blank(piece)) {
        const std::size_t eq = piece.find('=');
        if (eq == std::string_view::npos || eq == 0) {
          result.problems.push_back(make_problem(line.number, "option without key=value", piece));
        } else {
          result.options.push_back(
              KeyValue{std::string(piece.substr(0, eq)), std::string(piece.substr(eq + 1))});
        }
      }
      if (cut == std::string_view::npos) {
        break;
      }
      start = cut + 1;
    }
  }
  return result;
}

// ---------------------------------------------------------------------------
// Handshake
// ---------------------------------------------------------------------------

std::string render_handshake(const HandshakeOptions& o) {
  // Order and spelling follow spec section 5; each line ends with LF, as in
  // the spec and in the answers of ZKTeco's demo server.
  std::string out = "GET OPTION FROM: " + sanitized(o.serial_number) + "\n";
  if (o.legacy_stamp_keys) {
    add_optional(out, "Stamp", o.attlog_stamp);
    add_optional(out, "OpStamp", o.operlog_stamp);
    add_optional(out, "PhotoStamp", o.attphoto_stamp);
  }
  add_optional(out, "ATTLOGStamp", o.attlog_stamp);
  add_optional(out, "OPERLOGStamp", o.operlog_stamp);
  add_optional(out, "ATTPHOTOStamp", o.attphoto_stamp);
  add_optional(out, "BIODATAStamp", o.biodata_stamp);
  add_optional(out, "IDCARDStamp", o.idcard_stamp);
  add_optional(out, "ERRORLOGStamp", o.errorlog_stamp);
  add_line(out, "ErrorDelay", std::to_string(o.error_delay));
  add_line(out, "Delay", std::to_string(o.delay));
  add_line(out, "TransTimes", o.trans_times);
  add_line(out, "TransInterval", std::to_string(o.trans_interval));
  add_line(out, "TransFlag", o.trans_flag);
  add_optional(out, "TimeZone", o.time_zone);
  add_line(out, "Realtime", o.realtime ? "1" : "0");
  add_optional(out, "Encrypt", o.encrypt);
  add_line(out, "ServerVer", o.server_ver);
  add_line(out, "PushProtVer", o.push_prot_ver);
  add_line(out, "PushOptionsFlag", o.push_options_flag ? "1" : "0");
  if (!o.push_options.empty()) {
    std::string joined;
    for (const std::string& key : o.push_options) {
      if (!joined.empty()) {
        joined += ',';
      }
      joined += key;
    }
    add_line(out, "PushOptions", joined);
  }
  add_optional(out, "MultiBioDataSupport", o.multi_bio_data_support);
  add_optional(out, "MultiBioPhotoSupport", o.multi_bio_photo_support);
  add_optional(out, "ATTPHOTOBase64", o.attphoto_base64);
  for (const KeyValue& extra : o.extra) {
    add_line(out, extra.key, extra.value);
  }
  return out;
}

std::optional<std::string> render_timezone(int utc_offset_minutes) {
  // Spec section 5: -12 < TimeZone < 12 is hours; TimeZone > 60 or < -60 is
  // minutes. Values in between are ambiguous, so offsets that would need
  // them are refused rather than sent wrong.
  constexpr int kMin = -12 * 60;
  constexpr int kMax = 14 * 60;
  if (utc_offset_minutes < kMin || utc_offset_minutes > kMax) {
    return std::nullopt;
  }
  if (utc_offset_minutes % 60 == 0 && utc_offset_minutes / 60 > -12 &&
      utc_offset_minutes / 60 < 12) {
    return std::to_string(utc_offset_minutes / 60);
  }
  if (utc_offset_minutes > 60 || utc_offset_minutes < -60) {
    return std::to_string(utc_offset_minutes);
  }
  return std::nullopt;
}

std::string format_http_date(std::chrono::system_clock::time_point time) {
  using namespace std::chrono;
  static constexpr std::array<std::string_view, 7> kDays = {"Sun", "Mon", "Tue", "Wed",
                                                            "Thu", "Fri", "Sat"};
  static constexpr std::array<std::string_view, 12> kMonths = {
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const sys_days day = floor<days>(time);
  const year_month_day ymd(day);
  const weekday wd(day);
  const hh_mm_ss<seconds> hms(floor<seconds>(time) - day);
  std::array<char, 64> buffer{};
  const int n = std::snprintf(buffer.data(), buffer.size(), "%s, %02u %s %04d %02d:%02d:%02d GMT",
                              kDays[wd.c_encoding()].data(), static_cast<unsigned>(ymd.day()),
                              kMonths[static_cast<unsigned>(ymd.month()) - 1].data(),
                              static_cast<int>(ymd.year()), static_cast<int>(hms.hours().count()),
                              static_cast<int>(hms.minutes().count()),
                              static_cast<int>(hms.seconds().count()));
  return std::string(buffer.data(), n > 0 ? static_cast<std::size_t>(n) : 0);
}

}  // namespace pushgate::adapters::zkpush
