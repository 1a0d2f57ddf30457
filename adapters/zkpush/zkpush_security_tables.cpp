#include "adapters/zkpush/zkpush_security_tables.hpp"
#include "adapters/zkpush/zkpush_text.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <utility>
#include <variant>

namespace pushgate::adapters::zkpush::security {
namespace {

using text::days_in_month;
using text::FieldTaker;
using text::hex_value;
using text::is_blank;
using text::is_digit;
using text::KeySpaces;
using text::Line;
using text::LineCursor;
using text::LineEnd;
using text::make_problem;
using text::parse_integer;
using text::sanitized;
using text::split_tab_pairs;
using text::trim_spaces;

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
        t.fail("time_second is not a number: " + text::quoted(*seconds));
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
  return "record type " + text::quoted(word) +
         " not expected in tablename=" + sanitized(table_name.substr(0, 40));
}

}  // namespace

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
  LineCursor cursor(body, LineEnd::CrNul);
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
    if (!split_tab_pairs(rest, entry.fields, bad_field, KeySpaces::Skip)) {
      problem("field without key=value: " + text::quoted(bad_field));
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
    LineCursor cursor(body, LineEnd::CrNul);
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
                         "count answer for " + text::quoted(key) + " in tablename=" +
                             sanitized(std::string_view(result.params.table_name).substr(0, 40)),
                         line.text));
        continue;
      }
      result.counted = value;
    }
    return result;
  }
  result.problems.push_back(
      make_problem(1, "querydata type " + text::quoted(type) + " is not parsed", body));
  return result;
}

}  // namespace pushgate::adapters::zkpush::security
