// Command execution of the attendance terminal: what each `C:<id>:<command>`
// does to the terminal's store and which answers it queues. Split from
// attendance_terminal.cpp (scheduling and transport); same class, same strand.

#include "tests/sim/attendance_terminal.hpp"

#include <algorithm>
#include <cctype>

namespace pushgate::sim {
namespace {

// Tables the SpeedFace accepts and the simulator only stores (no semantics).
bool is_stored_only_table(std::string_view table) {
  static constexpr std::string_view kTables[] = {
      "USERPIC",     "BIOPHOTO", "WORKCODE",    "SMS",        "USER_SMS",      "ADPIC",
      "SHORTCUTKEY", "ACCGROUP", "ACCTIMEZONE", "ACCHOLIDAY", "ACCUNLOCKCOMB", "IDCARD"};
  return std::find(std::begin(kTables), std::end(kTables), table) != std::end(kTables);
}

// Face/vein tables of older firmware. The captured SpeedFace (unified BIODATA
// templates) answered `DATA QUERY FACETMP` with -1004, "data and equipment
// configuration are inconsistent".
bool is_legacy_bio_table(std::string_view table) {
  return table == "FACE" || table == "FACETMP" || table == "FVEIN";
}

// PINs on ZKTeco terminals are short alphanumeric strings. A PIN with a space
// is the symptom of a server separating fields with SP instead of HT.
bool is_valid_pin(std::string_view pin) {
  if (pin.empty() || pin.size() > 24) {
    return false;
  }
  return std::all_of(pin.begin(), pin.end(), [](unsigned char c) { return std::isalnum(c) != 0; });
}

std::optional<int> int_field(const Fields& fields, std::string_view key) {
  const auto value = find_field(fields, key);
  if (!value) {
    return std::nullopt;
  }
  const auto n = parse_int(*value);
  if (!n || *n < -1'000'000 || *n > 1'000'000) {
    return std::nullopt;
  }
  return static_cast<int>(*n);
}

}  // namespace

AttendanceTerminal::CommandOutcome AttendanceTerminal::execute(const CommandLine& command,
                                                               const ParsedCommand& parsed) {
  namespace rc = return_code;
  CommandOutcome out;
  switch (parsed.verb) {
    case CommandVerb::DataUpdate:
      out.return_code = update_data(parsed);
      info_due_ = info_due_ || out.return_code == rc::kOk;
      break;
    case CommandVerb::DataDelete:
      out.return_code = delete_data(parsed);
      info_due_ = info_due_ || out.return_code == rc::kOk;
      break;
    case CommandVerb::DataQuery:
      out.return_code = query_data(command.id, parsed, out);
      break;
    case CommandVerb::ClearLog:
    case CommandVerb::ClearData: {
      std::lock_guard lock(mutex_);
      stats_.records_cleared += records_.size() - next_unacked_;
      records_.clear();
      next_unacked_ = 0;
      ++records_generation_;
      if (parsed.verb == CommandVerb::ClearData) {
        users_.clear();
        templates_.clear();
        other_tables_.clear();
      }
      info_due_ = true;
      out.return_code = rc::kOk;
      break;
    }
    case CommandVerb::ClearBiodata: {
      std::lock_guard lock(mutex_);
      templates_.clear();
      info_due_ = true;
      out.return_code = rc::kOk;
      break;
    }
    case CommandVerb::ClearPhoto:
    case CommandVerb::Reboot:
      // No photos are kept; REBOOT happens after its result is delivered.
      out.return_code = rc::kOk;
      break;
    case CommandVerb::Check:
    case CommandVerb::ReloadOptions:
      // Both make the terminal read the server configuration again.
      rehandshake_pending_ = true;
      out.return_code = rc::kOk;
      break;
    case CommandVerb::Log:
      force_upload_ = true;
      out.return_code = rc::kOk;
      break;
    case CommandVerb::Info: {
      std::lock_guard lock(mutex_);
      out.info_body = format_info_reply(config_.profile, counts_locked(), config_.serial_number,
                                        device_options_);
      out.return_code = rc::kOk;
      break;
    }
    case CommandVerb::SetOption: {
      const auto eq = parsed.argument.find('=');
      if (eq == std::string::npos || eq == 0) {
        out.return_code = rc::kBadParameter;
        break;
      }
      std::lock_guard lock(mutex_);
      device_options_[parsed.argument.substr(0, eq)] = parsed.argument.substr(eq + 1);
      out.return_code = rc::kOk;
      break;
    }
    case CommandVerb::AcUnlock:
    case CommandVerb::AcUnalarm:
    case CommandVerb::ControlDevice: {
      std::lock_guard lock(mutex_);
      if (parsed.verb != CommandVerb::AcUnalarm) {
        ++stats_.door_unlocks;
      }
      out.return_code = rc::kOk;
      break;
    }
    case CommandVerb::VerifySum: {
      if (parsed.table != "ATTLOG") {
        out.return_code = rc::kNotSupported;
        break;
      }
      const Fields f = parse_tab_fields(parsed.argument);
      const std::string start = find_field(f, "StartTime").value_or("");
      const std::string end = find_field(f, "EndTime").value_or("");
      std::size_t sum = 0;
      {
        std::lock_guard lock(mutex_);
        sum = records_in_range_locked(parse_local_time(start), parse_local_time(end)).size();
      }
      out.reply_suffix =
          "&StartTime=" + start + "&EndTime=" + end + "&AttlogSum=" + std::to_string(sum);
      out.return_code = rc::kOk;
      break;
    }
    case CommandVerb::GetFile:
      // What the captured firmware answered to `GetFile attlog.dat`.
      out.return_code = rc::kFileNotFound;
      break;
    case CommandVerb::Shell:
    case CommandVerb::Enroll:
    case CommandVerb::Unknown:
      // Needs a human at the device, or not a command this device knows.
      out.return_code = rc::kNotSupported;
      note_problem("unsupported command " + command.id + ": '" + command.text + "'");
      break;
  }
  return out;
}

int AttendanceTerminal::update_data(const ParsedCommand& parsed) {
  namespace rc = return_code;
  const Fields f = parse_tab_fields(parsed.argument);
  if (parsed.table == "USERINFO") {
    const auto pin = find_field(f, "PIN");
    if (!pin || !is_valid_pin(*pin)) {
      note_problem("DATA UPDATE USERINFO with unusable PIN '" + pin.value_or("") + "'");
      return rc::kBadParameter;
    }
    std::lock_guard lock(mutex_);
    UserInfo& u = users_[*pin];
    u.pin = *pin;
    for (const auto& [key, value] : f) {
      if (iequals(key, "Name")) {
        u.name = value;
      } else if (iequals(key, "Pri")) {
        u.pri = value;
      } else if (iequals(key, "Passwd")) {
        u.passwd = value;
      } else if (iequals(key, "Card")) {
        u.card = value;
      } else if (iequals(key, "Grp")) {
        u.grp = value;
      } else if (iequals(key, "TZ")) {
        u.tz = value;
      } else if (iequals(key, "Verify")) {
        u.verify = value;
      } else if (iequals(key, "ViceCard")) {
        u.vice_card = value;
      } else if (iequals(key, "StartDatetime")) {
        u.start_datetime = value;
      } else if (iequals(key, "EndDatetime")) {
        u.end_datetime = value;
      }
    }
    return rc::kOk;
  }
  if (parsed.table == "FINGERTMP" || parsed.table == "BIODATA") {
    const bool fp = parsed.table == "FINGERTMP";
    BioTemplate t;
    const auto pin = find_field(f, "PIN");
    const auto tmp = find_field(f, fp ? "TMP" : "Tmp");
    const auto no = int_field(f, fp ? "FID" : "No");
    const auto type = fp ? std::optional<int>(1) : int_field(f, "Type");
    if (!pin || !tmp || !type || (fp && (!no || *no < 0 || *no > 9))) {
      note_problem("DATA UPDATE " + parsed.table + " missing or bad PIN/Type/FID/TMP");
      return rc::kBadParameter;
    }
    if (const auto size = find_field(f, "Size"); fp && size) {
      // Size is the length of the base64 text; a mismatch is -9 (Appendix 1).
      if (parse_int(*size) != static_cast<std::int64_t>(tmp->size())) {
        return rc::kTemplateSizeMismatch;
      }
    }
    t.pin = *pin;
    t.type = *type;
    t.no = no.value_or(0);
    t.index = fp ? 0 : int_field(f, "Index").value_or(0);
    if (fp) {
      // FINGERTMP Valid: 0 invalid, 1 normal, 3 duress.
      const int valid = int_field(f, "Valid").value_or(1);
      t.valid = valid == 0 ? 0 : 1;
      t.duress = valid == 3 ? 1 : 0;
      t.major_ver = std::to_string(config_.profile.fp_version);
    } else {
      t.valid = int_field(f, "Valid").value_or(1);
      t.duress = int_field(f, "Duress").value_or(0);
      t.major_ver = find_field(f, "MajorVer").value_or("0");
      t.minor_ver = find_field(f, "MinorVer").value_or("");
      t.format = find_field(f, "Format").value_or("ZK");
    }
    t.tmp = *tmp;
    std::lock_guard lock(mutex_);
    if (users_.count(t.pin) == 0) {
      return rc::kNoSuchUser;
    }
    templates_[{t.pin, t.type, t.no, t.index}] = std::move(t);
    return rc::kOk;
  }
  if (is_legacy_bio_table(parsed.table)) {
    return rc::kInconsistentConfig;
  }
  if (is_stored_only_table(parsed.table)) {
    std::lock_guard lock(mutex_);
    other_tables_[parsed.table].push_back(parsed.argument);
    return rc::kOk;
  }
  note_problem("DATA UPDATE of unknown table " + parsed.table);
  return rc::kNotSupported;
}

int AttendanceTerminal::delete_data(const ParsedCommand& parsed) {
  namespace rc = return_code;
  const Fields f = parse_tab_fields(parsed.argument);
  const auto pin = find_field(f, "PIN");
  if (parsed.table == "USERINFO" || parsed.table == "FINGERTMP" || parsed.table == "BIODATA") {
    if (!pin) {
      return rc::kBadParameter;
    }
    std::optional<int> type;
    std::optional<int> no;
    if (parsed.table == "USERINFO") {
      std::lock_guard lock(mutex_);
      // Deleting a user deletes its templates too (spec 12.1.2.1).
      users_.erase(*pin);
    } else if (parsed.table == "FINGERTMP") {
      type = 1;
      no = int_field(f, "FID");
    } else {
      type = int_field(f, "Type");
      no = int_field(f, "No");
    }
    std::lock_guard lock(mutex_);
    for (auto it = templates_.begin(); it != templates_.end();) {
      const BioTemplate& t = it->second;
      const bool match = t.pin == *pin && (!type || t.type == *type) && (!no || t.no == *no);
      it = match ? templates_.erase(it) : std::next(it);
    }
    return rc::kOk;
  }
  if (is_legacy_bio_table(parsed.table)) {
    return rc::kInconsistentConfig;
  }
  if (is_stored_only_table(parsed.table)) {
    return rc::kOk;
  }
  note_problem("DATA DELETE of unknown table " + parsed.table);
  return rc::kNotSupported;
}

int AttendanceTerminal::query_data(const std::string& id, const ParsedCommand& parsed,
                                   CommandOutcome& outcome) {
  namespace rc = return_code;
  const Fields f = parse_tab_fields(parsed.argument);
  if (parsed.table == "ATTLOG") {
    std::optional<LocalSeconds> from;
    std::optional<LocalSeconds> to;
    if (!config_.attlog_query_ignores_range) {
      const auto start = find_field(f, "StartTime");
      const auto end = find_field(f, "EndTime");
      from = start ? parse_local_time(*start) : std::nullopt;
      to = end ? parse_local_time(*end) : std::nullopt;
      // An unreadable bound is left open, which is what the captured
      // firmware did with the demo's space-separated range.
      if ((start && !from) || (end && !to) || !start || !end) {
        note_problem("DATA QUERY ATTLOG " + id + " with an unreadable range '" + parsed.argument +
                     "', bound left open");
      }
    }
    std::vector<std::string> lines;
    {
      std::lock_guard lock(mutex_);
      for (const auto& r : records_in_range_locked(from, to)) {
        lines.push_back(format_attlog_line(r, config_.attlog_fields));
      }
    }
    queue_packs("ATTLOG", lines, id, true, outcome);
    return rc::kOk;
  }
  if (parsed.table == "USERINFO" || parsed.table == "FINGERTMP" || parsed.table == "BIODATA") {
    const auto pin = find_field(f, "PIN");
    std::vector<std::string> user_lines;
    std::vector<std::string> bio_lines;
    std::vector<std::string> fp_lines;
    {
      std::lock_guard lock(mutex_);
      if (parsed.table != "BIODATA" && pin && users_.count(*pin) == 0) {
        return rc::kNoSuchUser;
      }
      if (parsed.table == "USERINFO") {
        for (const auto& [p, u] : users_) {
          if (!pin || p == *pin) {
            user_lines.push_back(format_user_line(u));
          }
        }
      }
      const std::optional<int> type =
          parsed.table == "FINGERTMP" ? std::optional<int>(1) : int_field(f, "Type");
      const auto no = int_field(f, parsed.table == "FINGERTMP" ? "FingerID" : "No");
      for (const auto& [key, t] : templates_) {
        if ((pin && t.pin != *pin) || (parsed.table != "USERINFO" && type && t.type != *type) ||
            (no && t.no != *no)) {
          continue;
        }
        if (parsed.table == "FINGERTMP") {
          fp_lines.push_back(format_fp_line(t));
        } else {
          bio_lines.push_back(format_biodata_line(t));
        }
      }
    }
    // As captured: the USER line goes as OPERLOG, the user's templates
    // follow as BIODATA, then the command result.
    queue_packs("OPERLOG", user_lines, id, false, outcome);
    queue_packs("OPERLOG", fp_lines, id, false, outcome);
    queue_packs("BIODATA", bio_lines, id, false, outcome);
    return rc::kOk;
  }
  if (parsed.table == "ATTPHOTO") {
    return rc::kOk;  // no photos are kept
  }
  if (is_legacy_bio_table(parsed.table)) {
    return rc::kInconsistentConfig;
  }
  note_problem("DATA QUERY of unknown table " + parsed.table);
  return rc::kNotSupported;
}

void AttendanceTerminal::queue_packs(std::string_view table, const std::vector<std::string>& lines,
                                     const std::string& command_id, bool with_pack_params,
                                     CommandOutcome& outcome) {
  if (lines.empty()) {
    return;
  }
  const std::size_t pack = std::max<std::size_t>(1, config_.query_pack_size);
  const std::size_t pack_count = (lines.size() + pack - 1) / pack;
  for (std::size_t i = 0; i < pack_count; ++i) {
    Outbound out;
    out.kind = Outbound::Kind::QueryUpload;
    out.target = "/iclock/cdata?" + sn_query() + "&table=" + std::string(table) + "&Stamp=9999";
    if (with_pack_params) {
      out.target += "&Count=" + std::to_string(lines.size()) +
                    "&PackCnt=" + std::to_string(pack_count) + "&PackIdx=" + std::to_string(i + 1) +
                    "&CmdId=" + encode_query_value(command_id);
    }
    const auto first = lines.begin() + static_cast<std::ptrdiff_t>(i * pack);
    const auto last =
        lines.begin() + static_cast<std::ptrdiff_t>(std::min(lines.size(), (i + 1) * pack));
    out.body = join_lines(std::vector<std::string>(first, last));
    out.content_type = "text/plain";
    outcome.uploads.push_back(std::move(out));
  }
}

std::vector<AttendanceRecord> AttendanceTerminal::records_in_range_locked(
    std::optional<LocalSeconds> from, std::optional<LocalSeconds> to) const {
  std::vector<AttendanceRecord> out;
  for (const auto& r : records_) {
    if ((!from || r.time >= *from) && (!to || r.time <= *to)) {
      out.push_back(r);
    }
  }
  return out;
}

DeviceCounts AttendanceTerminal::counts_locked() const {
  DeviceCounts c;
  c.users = users_.size();
  c.attlogs = records_.size();
  for (const auto& [key, t] : templates_) {
    if (t.type == 1) {
      ++c.fingerprints;
    } else if (t.type == 2 || t.type == 9) {
      ++c.faces;
    } else if (t.type == 8) {
      ++c.palms;
    }
  }
  return c;
}

}  // namespace pushgate::sim
