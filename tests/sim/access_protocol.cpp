#include "tests/sim/access_protocol.hpp"

#include <openssl/evp.h>

#include <array>
#include <cstdio>

namespace pushgate::sim {

namespace {

void add(std::string& out, std::string_view key, std::string_view value, char sep) {
  if (!out.empty()) {
    out.push_back(sep);
  }
  out.append(key);
  out.push_back('=');
  out.append(value);
}

std::optional<int> parse_hex_byte(std::string_view two) {
  int v = 0;
  for (const char c : two) {
    v <<= 4;
    if (c >= '0' && c <= '9') {
      v |= c - '0';
    } else if (c >= 'a' && c <= 'f') {
      v |= c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      v |= c - 'A' + 10;
    } else {
      return std::nullopt;
    }
  }
  return v;
}

}  // namespace

std::string format_registry_body(const AccessDeviceProfile& p) {
  std::string out;
  add(out, "DeviceType", "acc", ',');
  add(out, "~DeviceName", p.device_name, ',');
  add(out, "FirmVer", p.firmware, ',');
  add(out, "PushVersion", p.push_version, ',');
  add(out, "CommType", "ethernet", ',');
  add(out, "MaxPackageSize", "2048000", ',');
  add(out, "LockCount", std::to_string(p.lock_count), ',');
  add(out, "ReaderCount", std::to_string(p.reader_count), ',');
  add(out, "AuxInCount", std::to_string(p.aux_in_count), ',');
  add(out, "AuxOutCount", std::to_string(p.aux_out_count), ',');
  add(out, "MachineType", std::to_string(p.machine_type), ',');
  add(out, "IPAddress", p.ip_address, ',');
  add(out, "MAC", p.mac, ',');
  add(out, "MultiBioDataSupport", p.multi_bio_data_support, ',');
  add(out, "MultiBioPhotoSupport", p.multi_bio_photo_support, ',');
  add(out, "MultiBioVersion", p.multi_bio_version, ',');
  add(out, "MaxMultiBioDataCount", std::to_string(p.max_multi_bio_data_count), ',');
  add(out, "MaxMultiBioPhotoCount", std::to_string(p.max_multi_bio_photo_count), ',');
  for (const auto& [k, v] : p.extra) {
    add(out, k, v, ',');
  }
  return out;
}

std::string access_handshake_target(const AccessDeviceProfile& profile,
                                    std::string_view serial_number) {
  return "/iclock/cdata?SN=" + encode_query_value(serial_number) +
         "&options=all&pushver=" + encode_query_value(profile.pushver) +
         (profile.handshake_device_type ? "&DeviceType=acc" : "");
}

std::string access_info_poll_target(const AccessDeviceProfile& profile,
                                    std::string_view serial_number, std::size_t users) {
  const std::string info = profile.firmware + "," + std::to_string(users) + ",0,0," +
                           profile.ip_address + ",10,58,12,0,11110";
  return "/iclock/getrequest?SN=" + encode_query_value(serial_number) +
         "&INFO=" + encode_query_value(info) + "&pushver=" + encode_query_value(profile.pushver);
}

std::vector<bool> parse_bio_support(std::string_view list) {
  std::vector<bool> out;
  if (trim(list).empty()) {
    return out;
  }
  std::size_t start = 0;
  while (true) {
    const std::size_t colon = list.find(':', start);
    const std::string_view item =
        trim(list.substr(start, colon == std::string_view::npos ? list.npos : colon - start));
    out.push_back(item == "1");
    if (colon == std::string_view::npos) {
      break;
    }
    start = colon + 1;
  }
  return out;
}

bool bio_supported(const std::vector<bool>& support, int type) {
  return type >= 0 && static_cast<std::size_t>(type) < support.size() &&
         support[static_cast<std::size_t>(type)];
}

AccessServerConfigParse parse_access_server_config(std::string_view body) {
  AccessServerConfigParse out;
  const auto lines = split_lines(body);
  if (lines.empty()) {
    out.error = "empty answer";
    return out;
  }
  if (lines.size() == 1 && trim(lines[0]) == "OK") {
    out.ok = true;  // §4.1: not registered
    return out;
  }
  std::size_t n = 0;
  for (const std::string_view raw : lines) {
    ++n;
    const std::string_view line = trim(raw);
    if (line.empty()) {
      continue;
    }
    const std::size_t eq = line.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      out.problems.push_back({n, "not key=value", std::string(line)});
      continue;
    }
    out.config.values[std::string(trim(line.substr(0, eq)))] =
        std::string(trim(line.substr(eq + 1)));
  }
  if (out.config.values.empty()) {
    out.error = "no key=value line";
    return out;
  }
  out.ok = true;
  AccessServerConfig& c = out.config;
  for (const auto& [k, v] : c.values) {
    if (iequals(k, "registry")) {
      c.registered = iequals(v, "ok");
    } else if (k == "RegistryCode") {
      c.registry_code = v;
    } else if (k == "SessionID") {
      c.session_id = v;
    } else if (k == "ErrorDelay" || k == "RequestDelay") {
      const auto s = parse_int(v);
      if (!s || *s < 0) {
        out.problems.push_back({0, k + " is not a number of seconds", v});
      } else if (k == "ErrorDelay") {
        c.error_delay = std::chrono::seconds{*s};
      } else {
        c.request_delay = std::chrono::seconds{*s};
      }
    } else if (k == "MultiBioDataSupport") {
      c.multi_bio_data_support = v;
    } else if (k == "MultiBioPhotoSupport") {
      c.multi_bio_photo_support = v;
    }
  }
  return out;
}

std::optional<std::string> parse_registry_answer(std::string_view body) {
  const std::string_view line = trim(body);
  constexpr std::string_view kKey = "RegistryCode=";
  if (line.substr(0, kKey.size()) != kKey || line.size() == kKey.size() ||
      line.find('\n') != std::string_view::npos) {
    return std::nullopt;
  }
  return std::string(line.substr(kKey.size()));
}

std::string session_token(std::string_view registry_code, std::string_view serial_number,
                          std::string_view session_id) {
  const std::string input =
      std::string(registry_code) + std::string(serial_number) + std::string(session_id);
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int len = 0;
  if (EVP_Digest(input.data(), input.size(), digest.data(), &len, EVP_md5(), nullptr) != 1) {
    return {};
  }
  std::string hex;
  hex.reserve(len * 2);
  static constexpr char kDigits[] = "0123456789abcdef";
  for (unsigned int i = 0; i < len; ++i) {
    hex.push_back(kDigits[digest[i] >> 4]);
    hex.push_back(kDigits[digest[i] & 0xF]);
  }
  return hex;
}

std::string format_rtlog_line(const RtLogEvent& e) {
  std::string out;
  add(out, "time", format_local_time(e.time), '\t');
  add(out, "pin", e.pin, '\t');
  add(out, "cardno", e.cardno, '\t');
  add(out, "sitecode", "0", '\t');
  add(out, "linkid", "0", '\t');
  add(out, "eventaddr", std::to_string(e.eventaddr), '\t');
  add(out, "event", std::to_string(e.event), '\t');
  add(out, "inoutstatus", std::to_string(e.inoutstatus), '\t');
  add(out, "verifytype", std::to_string(e.verifytype), '\t');
  add(out, "index", std::to_string(e.index), '\t');
  return out;
}

std::string format_rtstate_line(LocalSeconds time, std::string_view sensor, std::string_view relay,
                                std::string_view alarm) {
  std::string out;
  add(out, "time", format_local_time(time), '\t');
  add(out, "sensor", sensor, '\t');
  add(out, "relay", relay, '\t');
  add(out, "alarm", alarm, '\t');
  return out;
}

std::string format_user_record(const AccessUser& u, int uid) {
  std::string fields;
  add(fields, "uid", std::to_string(uid), '\t');
  add(fields, "cardno", u.card, '\t');
  add(fields, "pin", u.pin, '\t');
  add(fields, "password", u.password, '\t');
  add(fields, "group", u.group, '\t');
  add(fields, "starttime", u.start_time, '\t');
  add(fields, "endtime", u.end_time, '\t');
  add(fields, "name", u.name, '\t');
  add(fields, "privilege", u.privilege, '\t');
  add(fields, "disable", u.disable, '\t');
  add(fields, "verify", u.verify, '\t');
  return "user " + fields;
}

std::string format_templatev10_record(const AccessTemplate& t, int uid) {
  std::string fields;
  add(fields, "size", std::to_string(t.tmp.size()), '\t');
  add(fields, "uid", std::to_string(uid), '\t');
  add(fields, "pin", t.pin, '\t');
  // §7.7: a duress finger is uploaded as fingerid + 16 with valid=1.
  add(fields, "fingerid", std::to_string(t.duress != 0 ? t.no + 16 : t.no), '\t');
  add(fields, "valid", std::to_string(t.valid), '\t');
  add(fields, "template", t.tmp, '\t');
  add(fields, "resverd", "", '\t');
  add(fields, "endtag", "", '\t');
  return "templatev10 " + fields;
}

std::string format_biodata_record(const AccessTemplate& t) {
  std::string fields;
  add(fields, "pin", t.pin, '\t');
  add(fields, "no", std::to_string(t.no), '\t');
  add(fields, "index", std::to_string(t.index), '\t');
  add(fields, "valid", std::to_string(t.valid), '\t');
  add(fields, "duress", std::to_string(t.duress), '\t');
  add(fields, "type", std::to_string(t.type), '\t');
  add(fields, "majorver", t.major_ver, '\t');
  add(fields, "minorver", t.minor_ver, '\t');
  add(fields, "format", t.format, '\t');
  add(fields, "tmp", t.tmp, '\t');
  return "biodata " + fields;
}

std::string format_photo_record(const AccessPhoto& p) {
  std::string fields;
  add(fields, "pin", p.pin, '\t');
  add(fields, "filename", p.pin + ".jpg", '\t');
  if (p.table == "biophoto") {
    add(fields, "type", std::to_string(p.type), '\t');
  }
  add(fields, "size", std::to_string(p.content.size()), '\t');
  add(fields, "content", p.content, '\t');
  return p.table + " " + fields;
}

AccessCommand parse_access_command(std::string_view text) {
  AccessCommand out;
  const auto word = [&text](std::size_t from) {
    const std::size_t sp = text.find(' ', from);
    return std::pair{text.substr(from, sp == text.npos ? text.npos : sp - from),
                     sp == text.npos ? text.size() : sp + 1};
  };
  const auto [first, after_first] = word(0);
  if (first == "DATA") {
    const auto [op, after_op] = word(after_first);
    const auto [table, after_table] = word(after_op);
    out.table = std::string(table);
    out.argument = std::string(text.substr(after_table));
    out.reply_cmd = "DATA";
    if (op == "UPDATE") {
      out.verb = AccessVerb::DataUpdate;
    } else if (op == "DELETE") {
      out.verb = AccessVerb::DataDelete;
    } else if (op == "QUERY") {
      out.verb = AccessVerb::DataQuery;
    } else if (op == "COUNT") {
      out.verb = AccessVerb::DataCount;
    }
    return out;
  }
  const auto [second, after_second] = word(after_first);
  if (first == "CONTROL" && second == "DEVICE") {
    out.verb = AccessVerb::ControlDevice;
    out.reply_cmd = "CONTROL DEVICE";
    out.argument = std::string(text.substr(after_second));
  } else if (first == "SET" && second == "OPTIONS") {
    out.verb = AccessVerb::SetOptions;
    out.reply_cmd = "SET OPTIONS";
    out.argument = std::string(text.substr(after_second));
  } else if (first == "GET" && second == "OPTIONS") {
    out.verb = AccessVerb::GetOptions;
    out.reply_cmd = "GET OPTIONS";
    out.argument = std::string(text.substr(after_second));
  } else {
    out.reply_cmd = std::string(first);
    out.argument = std::string(text.substr(after_first));
  }
  return out;
}

std::optional<ControlDevice> parse_control_device(std::string_view argument) {
  argument = trim(argument);
  if (argument.size() < 8 || argument.size() % 2 != 0) {
    return std::nullopt;
  }
  std::array<int, 4> v{};
  for (std::size_t i = 0; i < 4; ++i) {
    const auto b = parse_hex_byte(argument.substr(i * 2, 2));
    if (!b) {
      return std::nullopt;
    }
    v[i] = *b;
  }
  for (std::size_t i = 8; i < argument.size(); i += 2) {
    if (!parse_hex_byte(argument.substr(i, 2))) {
      return std::nullopt;
    }
  }
  return ControlDevice{v[0], v[1], v[2], v[3]};
}

std::string format_remote_auth_body(const RemoteAuthRequest& r) {
  std::string out;
  add(out, "time", format_local_time(r.time), '\t');
  add(out, "pin", r.pin, '\t');
  add(out, "cardno", r.cardno, '\t');
  add(out, "addrtype", std::to_string(r.addrtype), '\t');
  add(out, "eventaddr", std::to_string(r.eventaddr), '\t');
  add(out, "event", std::to_string(r.event), '\t');
  add(out, "inoutstatus", std::to_string(r.inoutstatus), '\t');
  add(out, "verifytype", std::to_string(r.verifytype), '\t');
  return out;
}

RemoteAuthAnswer parse_remote_auth_answer(std::string_view body) {
  RemoteAuthAnswer out;
  const auto lines = split_lines(body);
  if (lines.empty() || trim(lines[0]).substr(0, 5) != "AUTH=") {
    out.error = "answer does not start with AUTH=";
    return out;
  }
  out.ok = true;
  out.auth = std::string(trim(lines[0]).substr(5));
  constexpr std::string_view kControl = "CONTROL DEVICE ";
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const std::string_view line = trim(lines[i]);
    if (line.empty()) {
      continue;
    }
    if (line.substr(0, kControl.size()) == kControl) {
      out.control_device = std::string(line.substr(kControl.size()));
    } else if (line.substr(0, 5) == "TIPS=") {
      out.tips = std::string(line.substr(5));
    } else if (line.substr(0, 5) == "time=" && out.event.empty()) {
      out.event = parse_tab_fields(line);
    } else {
      out.problems.push_back({i + 1, "unexpected line", std::string(line)});
    }
  }
  return out;
}

}  // namespace pushgate::sim
