#include "adapters/zkpush/zkpush_protocol.hpp"
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
using text::FieldTaker;
using text::is_blank;
using text::is_digit;
using text::is_leap;
using text::Line;
using text::LineCursor;
using text::make_problem;
using text::parse_integer;
using text::quoted;
using text::sanitized;
using text::split;
using text::split_tab_pairs;
using text::strip_cr;
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

// ---------------------------------------------------------------------------
// Key=value fields of OPERLOG-style lines
// ---------------------------------------------------------------------------

struct KindName {
  OperlogKind kind;
  std::string_view word;
};

constexpr std::array<KindName, 9> kKindNames = {{
    {OperlogKind::Oplog, "OPLOG"},
    {OperlogKind::User, "USER"},
    {OperlogKind::Fingerprint, "FP"},
    {OperlogKind::Face, "FACE"},
    {OperlogKind::FingerVein, "FVEIN"},
    {OperlogKind::BioData, "BIODATA"},
    {OperlogKind::BioPhoto, "BIOPHOTO"},
    {OperlogKind::UserPic, "USERPIC"},
    {OperlogKind::ErrorLog, "ERRORLOG"},
}};

std::optional<OperlogKind> kind_from_word(std::string_view word) noexcept {
  for (const KindName& entry : kKindNames) {
    if (iequals(entry.word, word)) {
      return entry.kind;
    }
  }
  return std::nullopt;
}

/** Outcome of parsing one typed line: an entry, or the reason it is a problem. */
struct LineOutcome {
  std::optional<OperlogEntry> entry;
  std::string reason;
};

LineOutcome parse_oplog_fields(std::string_view rest) {
  // "OPLOG 4\t0\t2020-09-22 15:23:31\t0\t0\t0\t0": OpType, OpWho, OpTime,
  // three operands and a reserved field. Operands are text ("DHCP" for a
  // network setting change, "100 Name=Jorge Leon" after an enrolment).
  std::vector<std::string_view> fields = split(rest, '\t');
  while (fields.size() > 7 && fields.back().empty()) {
    fields.pop_back();
  }
  if (fields.size() < 3) {
    return {std::nullopt, "OPLOG needs at least type, operator and time"};
  }
  std::optional<int> op_type = parse_integer<int>(fields[0]);
  if (!op_type) {
    return {std::nullopt, "OPLOG type is not a number: " + quoted(fields[0])};
  }
  std::optional<DeviceTime> time = parse_device_time(fields[2]);
  if (!time) {
    return {std::nullopt, "OPLOG time is not YYYY-MM-DD HH:MM:SS: " + quoted(fields[2])};
  }
  OplogRecord record;
  record.op_type = *op_type;
  record.op_who = std::string(fields[1]);
  record.time_text = std::string(fields[2]);
  record.time = *time;
  auto field = [&fields](std::size_t i) {
    return i < fields.size() ? std::string(fields[i]) : std::string();
  };
  record.value1 = field(3);
  record.value2 = field(4);
  record.value3 = field(5);
  record.reserved = field(6);
  for (std::size_t i = 7; i < fields.size(); ++i) {
    record.extra.emplace_back(fields[i]);
  }
  OperlogEntry entry;
  entry.kind = OperlogKind::Oplog;
  entry.record = std::move(record);
  return {std::move(entry), {}};
}

LineOutcome parse_keyed_fields(OperlogKind kind, std::string_view rest) {
  KeyValues pairs;
  std::string_view bad_field;
  if (!split_tab_pairs(rest, pairs, bad_field)) {
    return {std::nullopt, "field without key=value: " + quoted(bad_field)};
  }
  FieldTaker taker(std::move(pairs));
  std::string error;
  OperlogEntry entry;
  entry.kind = kind;

  switch (kind) {
    case OperlogKind::User: {
      UserRecord user;
      user.pin = taker.take_string({"PIN"});
      user.name = taker.take_string({"Name"});
      user.privilege = taker.take_number<int>({"Pri"}, error);
      user.password = taker.take_string({"Passwd"});
      user.card = taker.take_string({"Card"});
      user.group = taker.take_number<int>({"Grp"}, error);
      user.time_zones = taker.take_string({"TZ"});
      user.verify = taker.take_number<int>({"Verify"}, error);
      user.vice_card = taker.take_string({"ViceCard"});
      user.extra = taker.rest();
      if (user.pin.empty()) {
        return {std::nullopt, "USER without PIN"};
      }
      entry.record = std::move(user);
      break;
    }
    case OperlogKind::Fingerprint:
    case OperlogKind::Face:
    case OperlogKind::FingerVein:
    case OperlogKind::BioData: {
      TemplateRecord tmpl;
      tmpl.pin = taker.take_string({"PIN"});
      tmpl.number = taker.take_number<int>({"FID", "No"}, error);
      tmpl.index = taker.take_number<int>({"Index"}, error);
      tmpl.size = taker.take_number<int>({"Size"}, error);
      tmpl.valid = taker.take_number<int>({"Valid"}, error);
      tmpl.duress = taker.take_number<int>({"Duress"}, error);
      tmpl.type = taker.take_number<int>({"Type"}, error);
      tmpl.major_ver = taker.take_number<int>({"MajorVer"}, error);
      tmpl.minor_ver = taker.take_number<int>({"MinorVer"}, error);
      tmpl.format = taker.take_string({"Format"});
      tmpl.data = taker.take_string({"TMP"});
      tmpl.extra = taker.rest();
      if (tmpl.pin.empty()) {
        return {std::nullopt, std::string(to_string(kind)) + " without PIN"};
      }
      if (tmpl.data.empty()) {
        return {std::nullopt, std::string(to_string(kind)) + " without template data (TMP)"};
      }
      entry.record = std::move(tmpl);
      break;
    }
    case OperlogKind::BioPhoto:
    case OperlogKind::UserPic: {
      PhotoRecord photo;
      photo.pin = taker.take_string({"PIN"});
      photo.file_name = taker.take_string({"FileName"});
      photo.type = taker.take_number<int>({"Type"}, error);
      photo.number = taker.take_number<int>({"No"}, error);
      photo.index = taker.take_number<int>({"Index"}, error);
      photo.size = taker.take_number<std::int64_t>({"Size"}, error);
      photo.content = taker.take_string({"Content"});
      photo.extra = taker.rest();
      if (photo.pin.empty()) {
        return {std::nullopt, std::string(to_string(kind)) + " without PIN"};
      }
      entry.record = std::move(photo);
      break;
    }
    case OperlogKind::ErrorLog: {
      ErrorLogRecord log;
      log.err_code = taker.take_string({"ErrCode"});
      log.err_msg = taker.take_string({"ErrMsg"});
      log.data_origin = taker.take_string({"DataOrigin"});
      log.cmd_id = taker.take_string({"CmdId"});
      log.additional = taker.take_string({"Additional"});
      log.extra = taker.rest();
      if (log.err_code.empty()) {
        return {std::nullopt, "ERRORLOG without ErrCode"};
      }
      entry.record = std::move(log);
      break;
    }
    case OperlogKind::Oplog:
      // Handled by parse_oplog_fields; listed for -Wswitch completeness.
      return parse_oplog_fields(rest);
  }
  if (!error.empty()) {
    return {std::nullopt, std::string(to_string(kind)) + " " + error};
  }
  return {std::move(entry), {}};
}

/**
 * The shared body loop of OPERLOG, BIODATA and ERRORLOG. `only` names the one
 * record type a table may carry; nullopt means every type but ERRORLOG, which
 * has a table of its own.
 */
void typed_lines(std::string_view body, std::optional<OperlogKind> only, std::string_view table,
                 const std::function<void(OperlogEntry&&)>& on_entry,
                 const std::function<void(ParseProblem&&)>& on_problem) {
  LineCursor cursor(body);
  Line line;
  while (cursor.next(line)) {
    if (is_blank(line.text)) {
      continue;
    }
    // The type word ends at the first space; a TAB is tolerated in its place.
    const std::size_t sep = line.text.find_first_of(" \t");
    const std::string_view word = line.text.substr(0, sep);
    const std::string_view rest =
        sep == std::string_view::npos ? std::string_view() : line.text.substr(sep + 1);
    std::optional<OperlogKind> kind = kind_from_word(word);
    if (!kind) {
      on_problem(make_problem(line.number, "unknown record type " + quoted(word), line.text));
      continue;
    }
    const bool allowed = only ? *kind == *only : *kind != OperlogKind::ErrorLog;
    if (!allowed) {
      on_problem(make_problem(
          line.number,
          "record type " + quoted(word) + " not expected in table=" + std::string(table),
          line.text));
      continue;
    }
    LineOutcome outcome =
        *kind == OperlogKind::Oplog ? parse_oplog_fields(rest) : parse_keyed_fields(*kind, rest);
    if (!outcome.entry) {
      on_problem(make_problem(line.number, std::move(outcome.reason), line.text));
      continue;
    }
    outcome.entry->line = line.number;
    outcome.entry->raw = std::string(line.text);
    on_entry(std::move(*outcome.entry));
  }
}

OperlogResult parse_typed_lines(std::string_view body, std::optional<OperlogKind> only,
                                std::string_view table) {
  OperlogResult result;
  typed_lines(
      body, only, table, [&](OperlogEntry&& e) { result.entries.push_back(std::move(e)); },
      [&](ParseProblem&& p) { result.problems.push_back(std::move(p)); });
  return result;
}

// ---------------------------------------------------------------------------
// ATTLOG extra field naming
// ---------------------------------------------------------------------------

bool looks_like_id_number(std::string_view text) noexcept {
  if (text.size() < 15 || text.size() > 18) {
    return false;
  }
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const bool last_x = i + 1 == text.size() && (c == 'X' || c == 'x');
    if (!is_digit(c) && !last_x) {
      return false;
    }
  }
  return true;
}

AttlogLayout resolve_layout(AttlogLayout layout, const std::vector<std::string_view>& fields) {
  if (layout != AttlogLayout::Auto) {
    return layout;
  }
  if (fields.size() >= 9 && fields[8].find('.') != std::string_view::npos) {
    return AttlogLayout::MaskTemperature;
  }
  if (fields.size() >= 9 && looks_like_id_number(fields[7]) &&
      (fields[8] == "0" || fields[8] == "1")) {
    return AttlogLayout::IdCard;
  }
  return AttlogLayout::Positional;
}

std::string extra_field_name(AttlogLayout layout, std::size_t position) {
  if (layout == AttlogLayout::MaskTemperature) {
    if (position == 8) {
      return "mask_flag";
    }
    if (position == 9) {
      return "temperature";
    }
  }
  if (layout == AttlogLayout::IdCard) {
    if (position == 8) {
      return "id_number";
    }
    if (position == 9) {
      return "record_type";
    }
  }
  return "field" + std::to_string(position);
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
// devicecmd
// ---------------------------------------------------------------------------

/** The key of the first '&'-separated pair on a line. */
std::string_view first_key(std::string_view line) noexcept {
  const std::size_t end = line.find_first_of("=&");
  if (end == std::string_view::npos || line[end] != '=') {
    return {};
  }
  return line.substr(0, end);
}

struct PendingConfirmation {
  std::size_t line = 0;
  std::size_t begin = 0;  ///< body offset of its first line
  std::size_t end = 0;    ///< body offset just past its last line's text
  std::size_t last_line = 0;
  std::optional<std::string> id;
  std::optional<std::string> return_text;
  std::optional<std::string> cmd;
  KeyValues extra;
};

void set_confirmation_field(PendingConfirmation& pending, std::string_view key,
                            std::string_view value) {
  // The first ID/Return/CMD wins; repeats are kept in extra so nothing the
  // terminal said is lost.
  std::optional<std::string>* slot = nullptr;
  if (iequals(key, "ID")) {
    slot = &pending.id;
  } else if (iequals(key, "Return")) {
    slot = &pending.return_text;
  } else if (iequals(key, "CMD")) {
    slot = &pending.cmd;
  }
  if (slot != nullptr && !slot->has_value()) {
    *slot = std::string(value);
    return;
  }
  pending.extra.push_back(KeyValue{std::string(key), std::string(value)});
}

void finish_confirmation(PendingConfirmation&& pending, std::string_view body,
                         DeviceCmdResult& result) {
  const std::string_view raw = body.substr(pending.begin, pending.end - pending.begin);
  std::string reason;
  std::optional<std::int64_t> code;
  if (!pending.id || pending.id->empty()) {
    reason = "confirmation without ID";
  } else if (!pending.return_text) {
    reason = "confirmation of ID " + quoted(*pending.id) + " without Return";
  } else {
    code = parse_integer<std::int64_t>(*pending.return_text);
    if (!code) {
      reason = "Return is not a number: " + quoted(*pending.return_text);
    }
  }
  if (!reason.empty() || !code) {
    result.problems.push_back(make_problem(pending.line, std::move(reason), raw));
    return;
  }
  CommandConfirmation confirmation;
  confirmation.line = pending.line;
  confirmation.line_count = pending.last_line - pending.line + 1;
  confirmation.raw = std::string(raw);
  confirmation.id = std::move(*pending.id);
  confirmation.return_code = *code;
  confirmation.cmd = pending.cmd.value_or(std::string());
  confirmation.extra = std::move(pending.extra);
  result.confirmations.push_back(std::move(confirmation));
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
// ATTLOG
// ---------------------------------------------------------------------------

AttlogResult parse_attlog(std::string_view body, AttlogLayout layout) {
  AttlogResult result;
  for_each_attlog(
      body, layout, [&](AttlogRecord&& r) { result.records.push_back(std::move(r)); },
      [&](ParseProblem&& p) { result.problems.push_back(std::move(p)); });
  return result;
}

void for_each_attlog(std::string_view body, AttlogLayout layout,
                     const std::function<void(AttlogRecord&&)>& on_record,
                     const std::function<void(ParseProblem&&)>& on_problem) {
  LineCursor cursor(body);
  Line line;
  while (cursor.next(line)) {
    if (is_blank(line.text)) {
      continue;
    }
    std::vector<std::string_view> fields = split(line.text, '\t');
    // Trailing TABs produce empty fields past the seventh; they carry nothing
    // (the raw line keeps them).
    while (fields.size() > 7 && fields.back().empty()) {
      fields.pop_back();
    }
    auto problem = [&](std::string reason) {
      on_problem(make_problem(line.number, std::move(reason), line.text));
    };
    if (fields.size() < 4) {
      problem("ATTLOG line has " + std::to_string(fields.size()) +
              " fields, needs at least PIN, time, status and verify");
      continue;
    }
    if (fields[0].empty()) {
      problem("ATTLOG line without PIN");
      continue;
    }
    std::optional<DeviceTime> time = parse_device_time(fields[1]);
    if (!time) {
      problem("ATTLOG time is not YYYY-MM-DD HH:MM:SS: " + quoted(fields[1]));
      continue;
    }
    std::optional<int> status = parse_integer<int>(fields[2]);
    if (!status) {
      problem("ATTLOG status is not a number: " + quoted(fields[2]));
      continue;
    }
    std::optional<int> verify = parse_integer<int>(fields[3]);
    if (!verify) {
      problem("ATTLOG verify mode is not a number: " + quoted(fields[3]));
      continue;
    }
    AttlogRecord record;
    record.line = line.number;
    record.raw = std::string(line.text);
    record.pin = std::string(fields[0]);
    record.time_text = std::string(fields[1]);
    record.time = *time;
    record.status = *status;
    record.verify = *verify;
    auto field = [&fields](std::size_t i) {
      return i < fields.size() ? std::string(fields[i]) : std::string();
    };
    record.workcode = field(4);
    record.reserved1 = field(5);
    record.reserved2 = field(6);
    const AttlogLayout resolved = resolve_layout(layout, fields);
    for (std::size_t i = 7; i < fields.size(); ++i) {
      record.extra.push_back(
          AttlogField{i + 1, extra_field_name(resolved, i + 1), std::string(fields[i])});
    }
    on_record(std::move(record));
  }
}

// ---------------------------------------------------------------------------
// OPERLOG / BIODATA / ERRORLOG
// ---------------------------------------------------------------------------

std::string_view to_string(OperlogKind kind) noexcept {
  for (const KindName& entry : kKindNames) {
    if (entry.kind == kind) {
      return entry.word;
    }
  }
  return "UNKNOWN";
}

OperlogResult parse_operlog(std::string_view body) {
  return parse_typed_lines(body, std::nullopt, "OPERLOG");
}

OperlogResult parse_biodata(std::string_view body) {
  return parse_typed_lines(body, OperlogKind::BioData, "BIODATA");
}

OperlogResult parse_errorlog(std::string_view body) {
  return parse_typed_lines(body, OperlogKind::ErrorLog, "ERRORLOG");
}

void for_each_typed_line(std::string_view body, TypedTable table,
                         const std::function<void(OperlogEntry&&)>& on_entry,
                         const std::function<void(ParseProblem&&)>& on_problem) {
  switch (table) {
    case TypedTable::OperLog:
      typed_lines(body, std::nullopt, "OPERLOG", on_entry, on_problem);
      return;
    case TypedTable::BioData:
      typed_lines(body, OperlogKind::BioData, "BIODATA", on_entry, on_problem);
      return;
    case TypedTable::ErrorLog:
      typed_lines(body, OperlogKind::ErrorLog, "ERRORLOG", on_entry, on_problem);
      return;
  }
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
// devicecmd
// ---------------------------------------------------------------------------

DeviceCmdResult parse_devicecmd(std::string_view body) {
  DeviceCmdResult result;
  std::optional<PendingConfirmation> pending;
  LineCursor cursor(body);
  Line line;
  while (cursor.next(line)) {
    if (iequals(first_key(line.text), "ID")) {
      if (pending) {
        finish_confirmation(std::move(*pending), body, result);
      }
      pending.emplace();
      pending->line = line.number;
      pending->begin = line.begin;
      pending->end = line.begin + line.text.size();
      pending->last_line = line.number;
      for (std::string_view segment : split(line.text, '&')) {
        if (segment.empty()) {
          continue;
        }
        const std::size_t eq = segment.find('=');
        if (eq == std::string_view::npos) {
          // Not a pair but part of what the terminal answered: keep it.
          pending->extra.push_back(KeyValue{std::string(segment), std::string()});
          continue;
        }
        set_confirmation_field(*pending, segment.substr(0, eq), segment.substr(eq + 1));
      }
      continue;
    }
    if (is_blank(line.text)) {
      continue;
    }
    if (!pending) {
      result.problems.push_back(
          make_problem(line.number, "line outside a command confirmation", line.text));
      continue;
    }
    pending->end = line.begin + line.text.size();
    pending->last_line = line.number;
    const std::size_t eq = line.text.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      // Part of what the terminal answered to this command (its raw bytes
      // hold it too): keep it with the confirmation, like a bare segment on
      // the ID= line.
      pending->extra.push_back(KeyValue{std::string(line.text), std::string()});
      continue;
    }
    const std::string_view key = line.text.substr(0, eq);
    if (iequals(key, "Content")) {
      // GetFile and Shell answers end with Content=<bytes>, which may hold
      // LFs and NULs: it runs to the end of the body.
      const std::size_t value_begin = line.begin + eq + 1;
      pending->extra.push_back(KeyValue{std::string(key), std::string(body.substr(value_begin))});
      pending->end = body.size();
      std::size_t last = line.number;
      while (cursor.next(line)) {
        last = line.number;
      }
      pending->last_line = last;
      break;
    }
    set_confirmation_field(*pending, key, line.text.substr(eq + 1));
  }
  if (pending) {
    finish_confirmation(std::move(*pending), body, result);
  }
  return result;
}

// ---------------------------------------------------------------------------
// ATTPHOTO
// ---------------------------------------------------------------------------

AttPhotoResult parse_attphoto(std::string_view body) {
  // The text header is four short lines; looking further would only walk
  // through binary bytes of a body that has no header at all.
  constexpr std::size_t kMaxHeaderLines = 16;
  AttPhotoResult result;
  AttPhoto photo;
  std::optional<std::size_t> data_offset;
  std::size_t pos = 0;
  std::size_t line_number = 0;
  while (pos < body.size()) {
    if (++line_number > kMaxHeaderLines) {
      result.problems.push_back(
          make_problem(line_number, "photo header has no CMD= line",
                       body.substr(pos, std::min<std::size_t>(80, body.size() - pos))));
      break;
    }
    // A header line ends at LF, or at NUL for the CMD= line that precedes the
    // binary part.
    const std::size_t stop = body.find_first_of(std::string_view("\n\0", 2), pos);
    const std::size_t end = stop == std::string_view::npos ? body.size() : stop;
    const std::string_view text = strip_cr(body.substr(pos, end - pos));
    const std::size_t next = stop == std::string_view::npos ? body.size() : stop + 1;
    const bool at_nul = stop != std::string_view::npos && body[stop] == '\0';
    const std::size_t eq = text.find('=');
    if (!text.empty() && eq != std::string_view::npos && eq > 0) {
      const std::string_view key = text.substr(0, eq);
      const std::string_view value = text.substr(eq + 1);
      photo.header.push_back(KeyValue{std::string(key), std::string(value)});
      if (iequals(key, "CMD")) {
        photo.cmd = std::string(value);
        data_offset = next;
        break;
      }
    } else if (!is_blank(text)) {
      result.problems.push_back(
          make_problem(line_number, "photo header line without key=value", text.substr(0, 80)));
    }
    if (at_nul) {
      // No CMD= line: the first NUL still ends the text header.
      data_offset = next;
      break;
    }
    pos = next;
  }
  if (const std::string* pin = find_value(photo.header, "PIN")) {
    photo.file_name = *pin;
  }
  if (const std::string* sn = find_value(photo.header, "SN")) {
    photo.sn = *sn;
  }
  if (const std::string* size = find_value(photo.header, "size")) {
    photo.declared_size = parse_integer<std::int64_t>(*size);
    if (!photo.declared_size) {
      result.problems.push_back(make_problem(1, "photo size is not a number", *size));
    }
  }
  if (photo.file_name.empty()) {
    result.problems.push_back(
        make_problem(1, "photo without PIN= (file name)", body.substr(0, 80)));
    return result;
  }
  if (!data_offset || *data_offset >= body.size()) {
    result.problems.push_back(make_problem(1, "photo without binary part", body.substr(0, 80)));
    return result;
  }
  photo.data_offset = *data_offset;
  photo.data_size = body.size() - *data_offset;
  if (photo.declared_size && *photo.declared_size >= 0 &&
      static_cast<std::uint64_t>(*photo.declared_size) != photo.data_size) {
    // Keep the photo: a short or long upload is still the terminal's photo,
    // but say so, the bytes may be truncated.
    result.problems.push_back(make_problem(1,
                                           "photo size says " +
                                               std::to_string(*photo.declared_size) + " bytes, " +
                                               std::to_string(photo.data_size) + " follow",
                                           photo.file_name));
  }
  result.photo = std::move(photo);
  return result;
}

std::optional<AttPhotoName> parse_attphoto_name(std::string_view file_name) {
  std::string_view stem = file_name;
  constexpr std::string_view kExt = ".jpg";
  if (stem.size() >= kExt.size() && iequals(stem.substr(stem.size() - kExt.size()), kExt)) {
    stem.remove_suffix(kExt.size());
  }
  const std::vector<std::string_view> parts = split(stem, '-');
  if (parts.size() != 2 && parts.size() != 4) {
    return std::nullopt;
  }
  std::optional<DeviceTime> time = parse_compact_time(parts[0]);
  if (!time) {
    return std::nullopt;
  }
  AttPhotoName name;
  name.time = *time;
  if (parts.size() == 2) {
    name.pin = std::string(parts[1]);
    return name;
  }
  name.photo_type = parse_integer<int>(parts[1]);
  if (!name.photo_type) {
    return std::nullopt;
  }
  name.pin = std::string(parts[2]);
  name.id_number = std::string(parts[3]);
  return name;
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
