// Attendance PUSH log tables: ATTLOG records and the typed OPERLOG / BIODATA / ERRORLOG lines.
#include "adapters/zkpush/zkpush_protocol.hpp"
#include "adapters/zkpush/zkpush_text.hpp"

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace pushgate::adapters::zkpush {
namespace {

using text::FieldTaker;
using text::is_blank;
using text::is_digit;
using text::Line;
using text::LineCursor;
using text::make_problem;
using text::parse_integer;
using text::split;
using text::split_tab_pairs;

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
    return {std::nullopt, "OPLOG type is not a number: " + text::quoted(fields[0])};
  }
  std::optional<DeviceTime> time = parse_device_time(fields[2]);
  if (!time) {
    return {std::nullopt, "OPLOG time is not YYYY-MM-DD HH:MM:SS: " + text::quoted(fields[2])};
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
    return {std::nullopt, "field without key=value: " + text::quoted(bad_field)};
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
      on_problem(make_problem(line.number, "unknown record type " + text::quoted(word), line.text));
      continue;
    }
    const bool allowed = only ? *kind == *only : *kind != OperlogKind::ErrorLog;
    if (!allowed) {
      on_problem(make_problem(
          line.number,
          "record type " + text::quoted(word) + " not expected in table=" + std::string(table),
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

}  // namespace

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
      problem("ATTLOG time is not YYYY-MM-DD HH:MM:SS: " + text::quoted(fields[1]));
      continue;
    }
    std::optional<int> status = parse_integer<int>(fields[2]);
    if (!status) {
      problem("ATTLOG status is not a number: " + text::quoted(fields[2]));
      continue;
    }
    std::optional<int> verify = parse_integer<int>(fields[3]);
    if (!verify) {
      problem("ATTLOG verify mode is not a number: " + text::quoted(fields[3]));
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

}  // namespace pushgate::adapters::zkpush
