#include "adapters/zkpush/zkpush_commands.hpp"

#include <algorithm>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "adapters/zkpush/zkpush_protocol.hpp"
#include "adapters/zkpush/zkpush_security_protocol.hpp"
#include "adapters/zkpush/zkpush_text.hpp"
#include "gateway/command_spec.hpp"

namespace pushgate::adapters::zkpush {

namespace {

using Rendered = CommandQueue::Rendered;

Rendered line(std::string s, bool ends = false) {
  return Rendered{std::move(s), {}, ends, {}};
}
Rendered fail(std::string why) {
  return Rendered{{}, std::move(why), false, {}};
}

std::string str(const nlohmann::json& p, const char* key) {
  if (!p.contains(key)) {
    return {};
  }
  const auto& v = p.at(key);
  if (v.is_string()) {
    return clean_value(v.get<std::string>());
  }
  if (v.is_number_integer()) {
    return std::to_string(v.get<long long>());
  }
  if (v.is_boolean()) {
    return v.get<bool>() ? "1" : "0";
  }
  return {};
}

long long num(const nlohmann::json& p, const char* key, long long fallback) {
  if (p.contains(key) && p.at(key).is_number_integer()) {
    return p.at(key).get<long long>();
  }
  return fallback;
}

// Compares dotted versions numerically ("2.2.14" < "2.4.1").
bool version_less(std::string_view a, std::string_view b) {
  while (!a.empty() || !b.empty()) {
    auto take = [](std::string_view& s) {
      long n = 0;
      std::size_t i = 0;
      while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
        n = n * 10 + (s[i] - '0');
        ++i;
      }
      s = i < s.size() ? s.substr(i + 1) : std::string_view{};
      return n;
    };
    long x = take(a);
    long y = take(b);
    if (x != y) {
      return x < y;
    }
  }
  return false;
}

Rendered render_attendance(const CommandRecord& c, bool legacy, std::string_view push_version) {
  if (c.verb == "batch") {
    return fail("batch: only access-control terminals take several records per command");
  }
  const auto& p = c.params;
  const auto& v = c.verb;
  if (v == "raw") {
    auto l = str(p, "line");
    return l.empty() ? fail("raw command without a line") : line(l);
  }
  if (v == "reboot") {
    return line("REBOOT", true);
  }
  if (v == "info" || v == "get_options") {
    return line("INFO");
  }
  if (v == "check") {
    return line("CHECK");
  }
  if (v == "clear_log") {
    return line("CLEAR LOG");
  }
  if (v == "open_door") {
    // Attendance terminals with a lock: the relay opens for the lock time
    // configured on the terminal; the protocol carries no duration.
    return line("AC_UNLOCK");
  }
  if (v == "cancel_alarm") {
    return line("AC_UNALARM");
  }
  if (v == "set_option") {
    auto k = str(p, "key");
    if (k.empty()) {
      return fail("set_option needs a key");
    }
    if (k.find_first_of("=, ") != std::string::npos) {
      // Several options in one SET OPTION are stored as one garbage value.
      return fail("set_option: one option per command");
    }
    return line("SET OPTION " + k + "=" + str(p, "value"));
  }
  if (v == "upsert_user") {
    auto pin = str(p, "pin");
    if (pin.empty()) {
      return fail("upsert_user needs a pin");
    }
    std::string rec = "PIN=" + pin + "\tName=" + str(p, "name") +
                      "\tPri=" + std::to_string(num(p, "privilege", 0)) +
                      "\tPasswd=" + str(p, "password") + "\tCard=" + str(p, "card") +
                      "\tGrp=" + std::to_string(num(p, "group", 1));
    auto tz = str(p, "time_zones");
    rec += "\tTZ=" + (tz.empty() ? std::string("0000000000000000") : tz);
    if (legacy) {
      return line("DATA USER " + rec);
    }
    return line("DATA UPDATE USERINFO " + rec + "\tVerify=-1\tViceCard=");
  }
  if (v == "delete_user") {
    auto pin = str(p, "pin");
    if (pin.empty()) {
      return fail("delete_user needs a pin");
    }
    return line(legacy ? "DATA DEL_USER PIN=" + pin : "DATA DELETE USERINFO PIN=" + pin);
  }
  if (v == "upsert_template") {
    auto pin = str(p, "pin");
    auto data = str(p, "data");
    if (pin.empty() || data.empty()) {
      return fail("upsert_template needs pin and data");
    }
    auto type = num(p, "bio_type", 1);
    bool fingertmp = type == 1 && (legacy || version_less(push_version, "2.2.14"));
    if (fingertmp) {
      // Before unified templates (2.2.14) fingerprints travel as FINGERTMP / FP.
      std::string rec = "PIN=" + pin + "\tFID=" + std::to_string(num(p, "no", 0)) +
                        "\tSize=" + std::to_string(data.size()) +
                        "\tValid=" + std::to_string(num(p, "valid", 1)) + "\tTMP=" + data;
      return line((legacy ? "DATA FP " : "DATA UPDATE FINGERTMP ") + rec);
    }
    return line("DATA UPDATE BIODATA Pin=" + pin + "\tNo=" + std::to_string(num(p, "no", 0)) +
                "\tIndex=" + std::to_string(num(p, "index", 0)) +
                "\tValid=" + std::to_string(num(p, "valid", 1)) + "\tDuress=" +
                std::to_string(num(p, "duress", 0)) + "\tType=" + std::to_string(type) +
                "\tMajorVer=" + str(p, "major_ver") + "\tMinorVer=" + str(p, "minor_ver") +
                "\tFormat=" + str(p, "format") + "\tTmp=" + data);
  }
  if (v == "upsert_photo") {
    auto pin = str(p, "pin");
    auto data = str(p, "data");
    if (pin.empty() || data.empty()) {
      return fail("upsert_photo needs pin and data");
    }
    return line("DATA UPDATE USERPIC PIN=" + pin + "\tSize=" + std::to_string(data.size()) +
                "\tContent=" + data);
  }
  if (v == "query_users") {
    auto pin = str(p, "pin");
    if (pin.empty()) {
      return fail("attendance terminals query users one PIN at a time");
    }
    return line("DATA QUERY USERINFO PIN=" + pin);
  }
  if (v == "query_records") {
    auto s = str(p, "start");
    auto e = str(p, "end");
    if (s.empty() || e.empty()) {
      return fail("query_records needs start and end");
    }
    return line("DATA QUERY ATTLOG StartTime=" + s + "\tEndTime=" + e);
  }
  if (v == "normal_open" || v == "lock_door" || v == "authorize_user" || v == "deauthorize_user") {
    return fail(v + " is an access-control command; attendance terminals cannot do it");
  }
  if (v == "set_time") {
    return fail(
        "attendance terminals set their clock from the Date header of every answer; "
        "there is no set_time command in this dialect");
  }
  if (v == "close_door" || v == "door_status") {
    // Verbs of the Dahua adapter: refused here with a reason, never rendered as something else.
    return fail(v + " is not a ZKTeco PUSH command (Dahua terminals only)");
  }
  return fail("unknown verb \"" + v + "\"");
}

// Security PUSH 3.x. CONTROL DEVICE AABBCCDDEE (spec §9.4): AA operation,
// BB door, CC target or operand, DD seconds/state; rendered by the spec-checked
// serialiser so every byte is upper-case hex and out-of-range values refuse.
Rendered control(int operation, int door, int target, int duration) {
  auto l = security::render_control_device(operation, door, target, duration);
  if (!l) {
    return fail("door, output or duration out of range 0..255");
  }
  return line(*l);
}

Rendered render_access(const CommandRecord& c, const TerminalFormat& format) {
  const auto& p = c.params;
  const auto& v = c.verb;
  using Op = security::ControlOperation;
  if (v == "batch") {
    // One DATA UPDATE of several records: the first line whole, then each
    // further record without "DATA UPDATE <table> ", ${LF} between them
    // (Security PUSH §9.1.1). The terminal answers one result for all.
    const auto it = p.find("commands");
    if (it == p.end() || !it->is_array() || it->empty()) {
      return fail("batch needs commands");
    }
    std::string out;
    std::string head;
    for (const auto& e : *it) {
      CommandRecord one;
      one.verb = e.value("verb", std::string());
      one.params = e.value("params", nlohmann::json::object());
      if (one.verb == "batch") {
        return fail("batch: a batch inside a batch");
      }
      const Rendered r = render_access(one, format);
      if (!r.error.empty()) {
        return fail("batch: " + r.error);
      }
      // "DATA UPDATE <table> ": up to the third space.
      std::size_t cut = 0;
      for (int spaces = 0; spaces < 3 && cut != std::string::npos;) {
        cut = r.line.find(' ', cut == 0 ? 0 : cut + 1);
        spaces += cut != std::string::npos ? 1 : 0;
      }
      if (cut == std::string::npos || r.line.rfind("DATA UPDATE ", 0) != 0) {
        return fail("batch: only DATA UPDATE records");
      }
      if (out.empty()) {
        head = r.line.substr(0, cut + 1);
        out = r.line;
      } else if (r.line.compare(0, head.size(), head) != 0) {
        return fail("batch: one table per command");
      } else {
        out += '\n';
        out.append(r.line, head.size(), std::string::npos);
      }
    }
    return line(out);
  }
  if (v == "raw") {
    auto l = str(p, "line");
    return l.empty() ? fail("raw command without a line") : line(l);
  }
  if (v == "reboot") {
    auto r = control(static_cast<int>(Op::Restart), 0, 0, 0);
    r.ends_batch = true;
    return r;
  }
  if (v == "open_door") {
    auto door = num(p, "door", 1);
    auto secs = num(p, "seconds", 5);
    if (door < 1 || secs < 1 || secs > 254) {
      return fail("open_door needs a door from 1 and seconds 1..254");
    }
    return control(static_cast<int>(Op::Output), static_cast<int>(door), 1, static_cast<int>(secs));
  }
  if (v == "cancel_alarm") {
    return control(static_cast<int>(Op::CancelAlarm), static_cast<int>(num(p, "door", 0)), 0, 0);
  }
  if (v == "normal_open") {
    bool on = p.value("on", true);
    // 01 door 01 FF opens and keeps open; 04 door 00 ends normal open.
    return on ? control(static_cast<int>(Op::Output), static_cast<int>(num(p, "door", 1)), 1, 255)
              : control(static_cast<int>(Op::NormalOpen), static_cast<int>(num(p, "door", 1)), 0,
                        0);
  }
  if (v == "lock_door") {
    bool locked = p.value("locked", true);
    return control(static_cast<int>(Op::LockDoor), static_cast<int>(num(p, "door", 1)),
                   locked ? 1 : 0, 0);
  }
  if (v == "info" || v == "get_options") {
    std::string keys;
    if (p.contains("keys") && p.at("keys").is_array()) {
      for (const auto& k : p.at("keys")) {
        if (k.is_string()) {
          keys += (keys.empty() ? "" : ",") + clean_value(k.get<std::string>());
        }
      }
    }
    return line("GET OPTIONS " + (keys.empty() ? std::string("~DeviceName,FirmVer") : keys));
  }
  if (v == "set_option") {
    auto k = str(p, "key");
    if (k.find_first_of("=, ") != std::string::npos) {
      // Several options in one SET OPTIONS are stored as one garbage value.
      return fail("set_option: one option per command");
    }
    return k.empty() ? fail("set_option needs a key")
                     : line("SET OPTIONS " + k + "=" + str(p, "value"));
  }
  if (v == "set_time") {
    auto t = str(p, "time");
    return t.empty() ? fail("set_time needs a time") : line("SET OPTIONS DateTime=" + t);
  }
  if (v == "upsert_user") {
    auto pin = str(p, "pin");
    if (pin.empty()) {
      return fail("upsert_user needs a pin");
    }
    // Validity: 0 = no limit; else YYYYMMDD, or Appendix 5 seconds when
    // the terminal reported DateFmtFunOn=1.
    auto validity = [&](const char* key) -> std::optional<std::string> {
      auto t = str(p, key);
      if (t.empty()) {
        return std::string("0");
      }
      if (format.date_fmt_seconds) {
        auto secs = zk_encode_time(t);
        if (!secs) {
          return std::nullopt;
        }
        return std::to_string(*secs);
      }
      if (t.size() < 10 || !zk_encode_time(t.substr(0, 10))) {
        return std::nullopt;
      }
      std::string out;
      for (char ch : t.substr(0, 10)) {
        if (ch != '-') {
          out += ch;
        }
      }
      return out;
    };
    auto from = validity("valid_from");
    auto until = validity("valid_until");
    if (!from || !until) {
      return fail("valid_from / valid_until must be \"YYYY-MM-DD[ HH:MM:SS]\" (2000..2135)");
    }
    // The door authorisation is its own table and command (authorize_user):
    // one command carries one table, as the terminal answers one result each.
    return line("DATA UPDATE user CardNo=" + str(p, "card") + "\tPin=" + pin + "\tPassword=" +
                str(p, "password") + "\tGroup=" + std::to_string(num(p, "group", 0)) +
                "\tStartTime=" + *from + "\tEndTime=" + *until + "\tName=" + str(p, "name") +
                "\tPrivilege=" + std::to_string(num(p, "privilege", 0)));
  }
  if (v == "authorize_user") {
    auto pin = str(p, "pin");
    if (pin.empty()) {
      return fail("authorize_user needs a pin");
    }
    long long mask = 0;
    if (p.contains("doors") && p.at("doors").is_array()) {
      for (const auto& d : p.at("doors")) {
        if (!d.is_number_integer() || d.get<long long>() < 1 || d.get<long long>() > 30) {
          return fail("authorize_user doors must be numbers 1..30");
        }
        mask |= 1LL << (d.get<long long>() - 1);
      }
    }
    if (mask == 0) {
      return fail("authorize_user needs at least one door (deauthorize_user removes them)");
    }
    return line("DATA UPDATE userauthorize Pin=" + pin +
                "\tAuthorizeTimezoneId=" + std::to_string(num(p, "time_zone_id", 1)) +
                "\tAuthorizeDoorId=" + std::to_string(mask) +
                "\tDevID=" + std::to_string(num(p, "dev_id", 1)));
  }
  if (v == "deauthorize_user") {
    auto pin = str(p, "pin");
    return pin.empty() ? fail("deauthorize_user needs a pin")
                       : line("DATA DELETE userauthorize Pin=" + pin);
  }
  if (v == "delete_user") {
    auto pin = str(p, "pin");
    return pin.empty() ? fail("delete_user needs a pin") : line("DATA DELETE user Pin=" + pin);
  }
  if (v == "upsert_template") {
    auto pin = str(p, "pin");
    auto data = str(p, "data");
    if (pin.empty() || data.empty()) {
      return fail("upsert_template needs pin and data");
    }
    return line("DATA UPDATE biodata Pin=" + pin + "\tNo=" + std::to_string(num(p, "no", 0)) +
                "\tIndex=" + std::to_string(num(p, "index", 0)) +
                "\tValid=" + std::to_string(num(p, "valid", 1)) +
                "\tDuress=" + std::to_string(num(p, "duress", 0)) +
                "\tType=" + std::to_string(num(p, "bio_type", 1)) +
                "\tMajorVer=" + str(p, "major_ver") + "\tMinorVer=" + str(p, "minor_ver") +
                "\tFormat=" + str(p, "format") + "\tTmp=" + data);
  }
  if (v == "upsert_photo") {
    auto pin = str(p, "pin");
    auto data = str(p, "data");
    if (pin.empty() || data.empty()) {
      return fail("upsert_photo needs pin and data");
    }
    return line("DATA UPDATE userpic Pin=" + pin + "\tSize=" + std::to_string(data.size()) +
                "\tContent=" + data);
  }
  if (v == "query_users") {
    auto pin = str(p, "pin");
    return line("DATA QUERY tablename=user,fielddesc=*,filter=" +
                (pin.empty() ? std::string("*") : "Pin=" + pin));
  }
  if (v == "query_records") {
    auto s = str(p, "start");
    auto e = str(p, "end");
    if (s.empty() || e.empty()) {
      return fail("query_records needs start and end");
    }
    return line("DATA QUERY tablename=transaction,fielddesc=*,filter=StartTime>=" + s +
                "\tEndTime<=" + e);
  }
  // The tables only access terminals have (terminal synchronisation, §9.1.1).
  if (v == "upsert_biophoto") {
    auto pin = str(p, "pin");
    auto data = str(p, "data");
    auto type = num(p, "bio_type", 0);
    if (pin.empty() || data.empty() || type < 1 || type > 31) {
      return fail("upsert_biophoto needs pin, data and bio_type 1..31");
    }
    return line("DATA UPDATE biophoto PIN=" + pin + "\tType=" + std::to_string(type) +
                "\tSize=" + std::to_string(data.size()) + "\tContent=" + data + "\tFormat=0");
  }
  if (v == "upsert_timezone") {
    // `periods`: the 30 encoded values (start HHMM << 16 | end HHMM) in the
    // spec's order, SunTime1..SatTime3 then Hol1Time1..Hol3Time3.
    static const char* const kNames[] = {"Sun", "Mon", "Tue",  "Wed",  "Thu",
                                         "Fri", "Sat", "Hol1", "Hol2", "Hol3"};
    auto id = num(p, "id", 0);
    const auto periods = p.find("periods");
    if (id < 1 || periods == p.end() || !periods->is_array() || periods->size() != 30) {
      return fail("upsert_timezone needs id >= 1 and 30 periods");
    }
    std::string out = "DATA UPDATE timezone TimezoneId=" + std::to_string(id);
    for (std::size_t i = 0; i < 30; ++i) {
      const auto& val = (*periods)[i];
      if (!val.is_number_unsigned() || val.get<unsigned long long>() > 0xFFFFFFFFULL) {
        return fail("upsert_timezone periods must be encoded periods (0..4294967295)");
      }
      out += std::string("\t") + kNames[i / 3] + "Time" + std::to_string(i % 3 + 1) + "=" +
             std::to_string(val.get<unsigned long long>());
    }
    return line(out);
  }
  if (v == "delete_timezone") {
    auto id = num(p, "id", 0);
    return id < 1 ? fail("delete_timezone needs id >= 1")
                  : line("DATA DELETE timezone TimezoneId=" + std::to_string(id));
  }
  if (v == "upsert_holiday" || v == "delete_holiday") {
    auto day = str(p, "day");
    const bool digits = day.size() == 8 && std::all_of(day.begin(), day.end(), [](char ch) {
                          return ch >= '0' && ch <= '9';
                        });
    if (!digits) {
      return fail(v + " needs day YYYYMMDD");
    }
    if (v == "delete_holiday") {
      return line("DATA DELETE holiday Holiday=" + day);
    }
    auto type = num(p, "type", 1);
    if (type < 1 || type > 3) {
      return fail("upsert_holiday type must be 1..3");
    }
    return line("DATA UPDATE holiday Holiday=" + day + "\tHolidayType=" + std::to_string(type) +
                "\tLoop=" + (p.value("yearly", false) ? "1" : "2"));
  }
  if (v == "close_door" || v == "door_status") {
    // Verbs of the Dahua adapter: refused here with a reason, never rendered as something else.
    return fail(v + " is not a ZKTeco PUSH command (Dahua terminals only)");
  }
  return fail("unknown verb \"" + v + "\"");
}

}  // namespace

std::string clean_value(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char ch : v) {
    if (ch != '\t' && ch != '\r' && ch != '\n' && ch != '\0') {
      out += ch;
    }
  }
  return out;
}

Dialect dialect_for(std::string_view flavour, std::string_view push_version) {
  if (flavour == "access") {
    return Dialect::Access;
  }
  // Firmware that sends no pushver predates PUSH 2.x and its verbs.
  return push_version.empty() ? Dialect::AttendanceLegacy : Dialect::Attendance;
}

CommandQueue::Rendered render_command(const CommandRecord& c, Dialect dialect,
                                      std::string_view push_version, const TerminalFormat& format) {
  // The verbs are those of the command spec (gateway/command_spec.hpp), the
  // queue's check; a command stored before a verb was withdrawn fails here.
  if (find_verb_spec(c.verb) == nullptr) {
    return fail("unknown verb \"" + c.verb + "\"");
  }
  switch (dialect) {
    case Dialect::AttendanceLegacy:
      return render_attendance(c, true, {});
    case Dialect::Attendance:
      return render_attendance(c, false, push_version);
    case Dialect::Access:
      return render_access(c, format);
  }
  return fail("unknown dialect");
}

TerminalFormat terminal_format_of(std::string_view options_json) {
  TerminalFormat f;
  auto j = nlohmann::json::parse(options_json.empty() ? std::string_view("{}") : options_json,
                                 nullptr, false);
  if (!j.is_object()) {
    return f;
  }
  auto is_one = [](const nlohmann::json& v) {
    if (!v.is_string()) {
      return v.is_number_integer() && v.get<long long>() == 1;
    }
    auto t = std::string_view(v.get_ref<const std::string&>());
    while (!t.empty() && t.front() == ' ') {
      t.remove_prefix(1);
    }
    while (!t.empty() && t.back() == ' ') {
      t.remove_suffix(1);
    }
    return t == "1";
  };
  for (const auto& [key, value] : j.items()) {
    auto k = text::strip_tilde(key);
    if (iequals(k, "CmdFormat")) {
      f.cmd_format = is_one(value) ? 1 : 0;
    } else if (iequals(k, "DateFmtFunOn")) {
      f.date_fmt_seconds = is_one(value);
    }
  }
  return f;
}

std::optional<std::uint32_t> zk_encode_time(std::string_view t) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  std::string buf(t);
  int n = std::sscanf(buf.c_str(), "%4d-%2d-%2d %2d:%2d:%2d", &y, &mo, &d, &h, &mi, &sec);
  if (n != 3 && n != 6) {
    return std::nullopt;
  }
  // The encoding counts from 2000 with 31-day months; it has room to 2136.
  if (y < 2000 || y > 2135 || mo < 1 || mo > 12 || d < 1 || d > text::days_in_month(y, mo) ||
      h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59) {
    return std::nullopt;
  }
  std::uint64_t tt = (static_cast<std::uint64_t>(y - 2000) * 12 * 31 +
                      static_cast<std::uint64_t>(mo - 1) * 31 + static_cast<std::uint64_t>(d - 1)) *
                         86400 +
                     static_cast<std::uint64_t>(h * 3600 + mi * 60 + sec);
  return static_cast<std::uint32_t>(tt);
}

std::string cmd_format1_prefix(std::string_view sn, std::int64_t command_id) {
  std::string out = "DataType=1, SN=";
  out += clean_value(sn);
  out += ", Priority=0, CmdID=";
  out += std::to_string(command_id);
  out += ", CmdDesc=";
  return out;
}

CommandQueue::Rendered render_for_terminal(const CommandRecord& command, Dialect dialect,
                                           std::string_view push_version,
                                           const TerminalFormat& format, std::string_view sn) {
  auto r = render_command(command, dialect, push_version, format);
  if (dialect == Dialect::Access && format.cmd_format == 1 && r.error.empty()) {
    r.prefix = cmd_format1_prefix(sn, command.id);
  }
  return r;
}

}  // namespace pushgate::adapters::zkpush
