#include "adapters/zkpush/zkpush_commands.hpp"

#include <cstdio>

#include "adapters/zkpush/zkpush_security_protocol.hpp"

namespace pushgate::adapters::zkpush {

namespace {

using Rendered = CommandQueue::Rendered;

Rendered line(std::string s, bool ends = false) {
  return Rendered{std::move(s), {}, ends};
}
Rendered fail(std::string why) {
  return Rendered{{}, std::move(why), false};
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
  if (v == "normal_open" || v == "lock_door") {
    return fail(v + " is an access-control command; attendance terminals cannot do it");
  }
  if (v == "set_time") {
    return fail(
        "attendance terminals set their clock from the Date header of every answer; "
        "there is no set_time command in this dialect");
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

Rendered render_access(const CommandRecord& c) {
  const auto& p = c.params;
  const auto& v = c.verb;
  using Op = security::ControlOperation;
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
    auto compact = [](std::string t) {
      // "YYYY-MM-DD HH:MM:SS" -> YYYYMMDD as the user table stores it.
      std::string out;
      for (char ch : t.substr(0, 10)) {
        if (ch != '-') {
          out += ch;
        }
      }
      return out;
    };
    std::string rec =
        "DATA UPDATE user CardNo=" + str(p, "card") + "\tPin=" + pin +
        "\tPassword=" + str(p, "password") + "\tGroup=" + std::to_string(num(p, "group", 0)) +
        "\tStartTime=" + (str(p, "valid_from").empty() ? "0" : compact(str(p, "valid_from"))) +
        "\tEndTime=" + (str(p, "valid_until").empty() ? "0" : compact(str(p, "valid_until"))) +
        "\tName=" + str(p, "name") + "\tPrivilege=" + std::to_string(num(p, "privilege", 0));
    std::string out = rec;
    if (p.contains("doors") && p.at("doors").is_array() && !p.at("doors").empty()) {
      long long mask = 0;
      for (const auto& d : p.at("doors")) {
        if (d.is_number_integer() && d.get<int>() >= 1 && d.get<int>() <= 30) {
          mask |= 1LL << (d.get<int>() - 1);
        }
      }
      out += "\r\nDATA UPDATE userauthorize Pin=" + pin +
             "\tAuthorizeTimezoneId=" + std::to_string(num(p, "time_zone_id", 1)) +
             "\tAuthorizeDoorId=" + std::to_string(mask);
    }
    return line(out);
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
                                      std::string_view push_version) {
  switch (dialect) {
    case Dialect::AttendanceLegacy:
      return render_attendance(c, true, {});
    case Dialect::Attendance:
      return render_attendance(c, false, push_version);
    case Dialect::Access:
      return render_access(c);
  }
  return fail("unknown dialect");
}

}  // namespace pushgate::adapters::zkpush
