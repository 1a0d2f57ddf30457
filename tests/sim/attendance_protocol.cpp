#include "tests/sim/attendance_protocol.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace pushgate::sim {
namespace {

std::string to_s(std::size_t value) {
  return std::to_string(value);
}

// The words of a command up to the first SP; the rest after it.
std::pair<std::string_view, std::string_view> split_word(std::string_view text) {
  const auto sp = text.find(' ');
  if (sp == std::string_view::npos) {
    return {text, std::string_view()};
  }
  std::string_view rest = text.substr(sp + 1);
  while (!rest.empty() && rest.front() == ' ') {
    rest.remove_prefix(1);
  }
  return {text.substr(0, sp), rest};
}

std::string upper(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) {
    return static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
  });
  return out;
}

}  // namespace

std::optional<std::chrono::minutes> parse_time_zone(std::string_view text) {
  const auto value = parse_int(text);
  if (!value) {
    return std::nullopt;
  }
  // Spec: "-12 < TimeZone < 12 is a whole time zone in hours; TimeZone > 60 or
  // < -60 is in minutes" (TimeZone=330 is +05:30). 12..60 is undefined.
  if (*value > -12 && *value < 12) {
    return std::chrono::hours{*value};
  }
  if ((*value > 60 || *value < -60) && *value <= 14 * 60 && *value >= -12 * 60) {
    return std::chrono::minutes{*value};
  }
  return std::nullopt;
}

std::vector<std::chrono::minutes> parse_trans_times(std::string_view text) {
  std::vector<std::chrono::minutes> out;
  while (!text.empty() && out.size() < 10) {
    const auto semi = text.find(';');
    const std::string_view item = trim(text.substr(0, semi));
    const auto colon = item.find(':');
    if (colon != std::string_view::npos) {
      const auto h = parse_int(item.substr(0, colon));
      const auto m = parse_int(item.substr(colon + 1));
      if (h && m && *h >= 0 && *h < 24 && *m >= 0 && *m < 60) {
        out.push_back(std::chrono::hours{*h} + std::chrono::minutes{*m});
      }
    }
    if (semi == std::string_view::npos) {
      break;
    }
    text.remove_prefix(semi + 1);
  }
  std::sort(out.begin(), out.end());
  return out;
}

ServerOptionsParse parse_server_options(std::string_view body) {
  ServerOptionsParse out;
  const auto lines = split_lines(body);
  if (lines.empty()) {
    out.error = "empty handshake answer";
    return out;
  }
  // The spec writes "GET OPTION FROM: ${SerialNumber}", the demo server sends
  // no space after the colon; accept both.
  constexpr std::string_view kHead = "GET OPTION FROM";
  std::string_view head = trim(lines.front());
  if (head.substr(0, kHead.size()) != kHead) {
    out.error = "answer does not start with GET OPTION FROM";
    return out;
  }
  head.remove_prefix(kHead.size());
  if (!head.empty() && head.front() == ':') {
    head.remove_prefix(1);
  }
  out.options.serial_number = std::string(trim(head));

  ServerOptions& o = out.options;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const std::string_view line = trim(lines[i]);
    if (line.empty()) {
      continue;
    }
    const auto eq = line.find('=');
    if (eq == std::string_view::npos) {
      out.problems.push_back({i + 1, "option line without '='", std::string(lines[i])});
      continue;
    }
    const std::string key(trim(line.substr(0, eq)));
    const std::string_view value = trim(line.substr(eq + 1));
    o.values[key] = std::string(value);

    const auto bad_value = [&] {
      out.problems.push_back({i + 1, "unusable value for " + key, std::string(lines[i])});
    };
    if (key == "ErrorDelay" || key == "Delay") {
      const auto v = parse_int(value);
      if (!v || *v < 0) {
        bad_value();
        continue;
      }
      (key == "Delay" ? o.delay : o.error_delay) = std::chrono::seconds{*v};
    } else if (key == "TransInterval") {
      const auto v = parse_int(value);
      if (!v || *v < 0) {
        bad_value();
        continue;
      }
      o.trans_interval = std::chrono::minutes{*v};
    } else if (key == "TransTimes") {
      o.trans_times = parse_trans_times(value);
    } else if (key == "TimeZone") {
      o.time_zone = parse_time_zone(value);
      if (!o.time_zone) {
        bad_value();
      }
    } else if (key == "Realtime") {
      const auto v = parse_int(value);
      if (!v) {
        bad_value();
        continue;
      }
      o.realtime = *v != 0;
    } else if (key == "PushOptionsFlag") {
      o.push_options_flag = parse_int(value).value_or(0) == 1;
    } else if (key == "PushOptions") {
      std::string_view rest = value;
      while (!rest.empty()) {
        const auto comma = rest.find(',');
        const auto item = trim(rest.substr(0, comma));
        if (!item.empty()) {
          o.push_options.emplace_back(item);
        }
        if (comma == std::string_view::npos) {
          break;
        }
        rest.remove_prefix(comma + 1);
      }
    } else if (key == "PushProtVer") {
      o.push_prot_ver = std::string(value);
    } else if (key == "TransFlag") {
      o.trans_flag = std::string(value);
    }
  }
  out.ok = true;
  return out;
}

std::string format_attlog_line(const AttendanceRecord& record, int field_count) {
  field_count = std::clamp(field_count, kMinAttlogFields, kSpeedFaceAttlogFields);
  char temp[16];
  std::snprintf(temp, sizeof temp, "%d.%d", record.temperature_tenths / 10,
                std::abs(record.temperature_tenths % 10));
  const std::string fields[kSpeedFaceAttlogFields] = {
      record.pin,
      format_local_time(record.time),
      std::to_string(record.status),
      std::to_string(record.verify),
      record.workcode,
      "0",
      "0",
      std::to_string(record.mask),
      temp,
      std::to_string(record.index),
  };
  std::string line;
  line.reserve(64);
  for (int i = 0; i < field_count; ++i) {
    if (i > 0) {
      line.push_back('\t');
    }
    line.append(fields[i]);
  }
  return line;
}

std::string format_oplog_line(const OperationRecord& r) {
  std::string line = "OPLOG ";
  line.append(std::to_string(r.op_type)).append("\t").append(r.op_who).append("\t");
  line.append(format_local_time(r.time)).append("\t").append(r.value1).append("\t");
  line.append(r.value2).append("\t").append(r.value3).append("\t").append(r.reserved);
  return line;
}

std::string format_user_line(const UserInfo& u) {
  std::string line = "USER PIN=";
  line.append(u.pin).append("\tName=").append(u.name).append("\tPri=").append(u.pri);
  line.append("\tPasswd=").append(u.passwd).append("\tCard=").append(u.card);
  line.append("\tGrp=").append(u.grp).append("\tTZ=").append(u.tz);
  line.append("\tVerify=").append(u.verify).append("\tViceCard=").append(u.vice_card);
  line.append("\tStartDatetime=").append(u.start_datetime);
  line.append("\tEndDatetime=").append(u.end_datetime);
  return line;
}

std::string format_biodata_line(const BioTemplate& t) {
  std::string line = "BIODATA Pin=";
  line.append(t.pin).append("\tNo=").append(std::to_string(t.no));
  line.append("\tIndex=").append(std::to_string(t.index));
  line.append("\tValid=").append(std::to_string(t.valid));
  line.append("\tDuress=").append(std::to_string(t.duress));
  line.append("\tType=").append(std::to_string(t.type));
  line.append("\tMajorVer=").append(t.major_ver).append("\tMinorVer=").append(t.minor_ver);
  line.append("\tFormat=").append(t.format).append("\tTmp=").append(t.tmp);
  return line;
}

std::string format_fp_line(const BioTemplate& t) {
  std::string line = "FP PIN=";
  line.append(t.pin).append("\tFID=").append(std::to_string(t.no));
  line.append("\tSize=").append(to_s(t.tmp.size()));
  line.append("\tValid=").append(std::to_string(t.duress != 0 ? 3 : t.valid));
  line.append("\tTMP=").append(t.tmp);
  return line;
}

std::string handshake_target(const DeviceProfile& p, std::string_view serial_number) {
  std::string target = "/iclock/cdata?SN=";
  target.append(encode_query_value(serial_number));
  target.append("&options=all&language=").append(std::to_string(p.language));
  target.append("&pushver=").append(encode_query_value(p.pushver));
  if (!p.device_type.empty()) {
    target.append("&DeviceType=").append(encode_query_value(p.device_type));
  }
  target.append("&PushOptionsFlag=1");
  return target;
}

std::string format_options_line(const DeviceProfile& p, const DeviceCounts& c) {
  const std::string bio_counts =
      "0:" + to_s(c.fingerprints) + ":0:0:0:0:0:0:" + to_s(c.palms) + ":" + to_s(c.faces);
  std::string line;
  line.reserve(1024);
  line.append("~DeviceName=").append(p.device_name);
  line.append(",MAC=").append(p.mac);
  line.append(",TransactionCount=").append(to_s(c.attlogs));
  line.append(",~MaxAttLogCount=20,UserCount=").append(to_s(c.users));
  line.append(",~MaxUserCount=100,PhotoFunOn=1,~MaxUserPhotoCount=2500,FingerFunOn=1");
  line.append(",FPVersion=").append(std::to_string(p.fp_version));
  line.append(",~MaxFingerCount=60,FPCount=").append(to_s(c.fingerprints));
  line.append(",FaceFunOn=1,FaceVersion=").append(std::to_string(p.face_version));
  line.append(",~MaxFaceCount=6000,FaceCount=").append(to_s(c.faces));
  line.append(",FvFunOn=0,FvVersion=3,~MaxFvCount=10,FvCount=0,PvFunOn=1");
  line.append(",PvVersion=").append(std::to_string(p.pv_version));
  line.append(",~MaxPvCount=3000,PvCount=").append(to_s(c.palms));
  line.append(",Language=").append(std::to_string(p.language));
  line.append(",IPAddress=").append(p.ip_address);
  line.append(",~Platform=").append(p.platform);
  line.append(",~OEMVendor=").append(p.oem_vendor);
  line.append(",FWVersion=").append(p.firmware);
  line.append(",PushVersion=").append(p.push_version);
  line.append(",RegDeviceType=,VisilightFun=1");
  line.append(",MultiBioDataSupport=0:1:0:0:0:0:0:0:1:1");
  line.append(",MultiBioPhotoSupport=0:0:0:0:0:0:0:0:0:1");
  line.append(",IRTempDetectionFunOn=1,MaskDetectionFunOn=1,UserPicURLFunOn=");
  line.append(",MultiBioVersion=0:10.0:0:0:0:0:0:0:12.0:58.10");
  line.append(",MaxMultiBioDataCount=0:6000:0:0:0:0:0:0:3000:6000");
  line.append(",MaxMultiBioPhotoCount=0:0:0:0:0:0:0:0:0:6000");
  line.append(",MultiBioDataCount=").append(bio_counts);
  line.append(",MultiBioPhotoCount=0:0:0:0:0:0:0:0:0:0");
  return line;
}

std::string format_info_value(const DeviceProfile& p, const DeviceCounts& c) {
  std::string v = p.firmware;
  v.append(",").append(to_s(c.users)).append(",").append(to_s(c.fingerprints));
  v.append(",").append(to_s(c.attlogs)).append(",").append(p.ip_address);
  v.append(",").append(std::to_string(p.fp_version)).append(",");
  v.append(std::to_string(p.face_version)).append(",").append(std::to_string(p.faces_required));
  v.append(",").append(to_s(c.faces)).append(",").append(p.function_flags);
  return v;
}

std::string format_info_reply(const DeviceProfile& p, const DeviceCounts& c,
                              std::string_view serial_number,
                              const std::map<std::string, std::string>& extra) {
  std::string body;
  body.reserve(1400);
  const auto kv = [&body](std::string_view k, std::string_view v) {
    body.append(k).append("=").append(v).append("\n");
  };
  kv("~DeviceName", p.device_name);
  kv("MAC", p.mac);
  kv("TransactionCount", to_s(c.attlogs));
  kv("~MaxAttLogCount", "20");
  kv("UserCount", to_s(c.users));
  kv("~MaxUserCount", "100");
  kv("PhotoFunOn", "1");
  kv("~MaxUserPhotoCount", "2500");
  kv("FingerFunOn", "1");
  kv("~AlgVer", std::to_string(p.fp_version));
  kv("FPVersion", std::to_string(p.fp_version));
  kv("~MaxFingerCount", "60");
  kv("FPCount", to_s(c.fingerprints));
  kv("FaceFunOn", "1");
  kv("FaceVersion", std::to_string(p.face_version));
  kv("~MaxFaceCount", "6000");
  kv("FaceCount", to_s(c.faces));
  kv("FvFunOn", "0");
  kv("FvVersion", "3");
  kv("~MaxFvCount", "10");
  kv("FvCount", "0");
  kv("PvFunOn", "1");
  kv("PvVersion", std::to_string(p.pv_version));
  kv("~MaxPvCount", "3000");
  kv("PvCount", to_s(c.palms));
  kv("MainTime", "1970-01-01 00:00:00");
  kv("FlashSize", "5545568");
  kv("FreeFlashSize", "5229512");
  kv("Language", std::to_string(p.language));
  kv("VOLUME", "10");
  kv("DtFmt", "9");
  kv("IPAddress", p.ip_address);
  kv("IsTFT", "1");
  kv("~Platform", p.platform);
  kv("Brightness", "0");
  kv("BackupDev", "0");
  kv("~OEMVendor", p.oem_vendor);
  kv("FWVersion", p.firmware);
  kv("PushVersion", p.push_version);
  kv("CardProtFormat", "1");
  kv("~ZKFPVersion", std::to_string(p.fp_version));
  kv("~SerialNumber", serial_number);
  kv("IsSupportNFC", "0");
  kv("AccSupportFunList",
     "0010010010101000000000000000000000100011101000000000000000000000000000000000000000000000000"
     "00000");
  kv("~DSTF", "1");
  kv("Reader1IOState", "0");
  kv("MultiCardInterTimeFunOn", "1");
  kv("MachineTZFunOn", "1");
  kv("MaxMCUCardBits", "");
  kv("authKey", "");
  kv("BioPhotoFun", "1");
  kv("BioDataFun", "");
  kv("VisilightFun", "1");
  kv("~MaxBioPhotoCount", "6000");
  kv("RegDeviceType", "");
  kv("AutoServerFunOn", "1");
  kv("MultiBioDataSupport", "0:1:0:0:0:0:0:0:1:1");
  kv("MultiBioPhotoSupport", "0:0:0:0:0:0:0:0:0:1");
  kv("MultiBioVersion", "0:10.0:0:0:0:0:0:0:12.0:58.10");
  kv("MaxMultiBioPhotoCount", "0:0:0:0:0:0:0:0:0:6000");
  kv("MaxMultiBioDataCount", "0:6000:0:0:0:0:0:0:3000:6000");
  kv("IRTempDetectionFunOn", "1");
  kv("MaskDetectionFunOn", "1");
  kv("UserPicURLFunOn", "");
  for (const auto& [k, v] : extra) {
    kv(k, v);
  }
  return body;
}

ParsedCommand parse_attendance_command(std::string_view text) {
  ParsedCommand out;
  const auto [word, rest] = split_word(text);
  const std::string verb = upper(word);

  if (verb == "DATA") {
    out.reply_cmd = "DATA";
    const auto [sub, after_sub] = split_word(rest);
    const auto [table, record] = split_word(after_sub);
    out.table = upper(table);
    out.argument = std::string(record);
    const std::string s = upper(sub);
    if (s == "UPDATE") {
      out.verb = CommandVerb::DataUpdate;
    } else if (s == "DELETE") {
      out.verb = CommandVerb::DataDelete;
    } else if (s == "QUERY") {
      out.verb = CommandVerb::DataQuery;
    } else {
      out.verb = CommandVerb::Unknown;
    }
    return out;
  }
  if (verb == "CLEAR") {
    const auto [what, ignored] = split_word(rest);
    const std::string w = upper(what);
    out.reply_cmd = "CLEAR_" + w;
    if (w == "LOG") {
      out.verb = CommandVerb::ClearLog;
    } else if (w == "DATA") {
      out.verb = CommandVerb::ClearData;
    } else if (w == "PHOTO") {
      out.verb = CommandVerb::ClearPhoto;
    } else if (w == "BIODATA") {
      out.verb = CommandVerb::ClearBiodata;
    } else {
      out.verb = CommandVerb::Unknown;
      out.reply_cmd = "CLEAR";
    }
    return out;
  }
  if (verb == "SET") {
    const auto [what, kv] = split_word(rest);
    out.reply_cmd = "SET OPTION";
    out.verb = upper(what) == "OPTION" ? CommandVerb::SetOption : CommandVerb::Unknown;
    out.argument = std::string(kv);
    return out;
  }
  if (verb == "RELOAD") {
    out.reply_cmd = "RELOAD OPTIONS";
    out.verb = CommandVerb::ReloadOptions;
    return out;
  }
  if (verb == "VERIFY") {
    const auto [sum, after_sum] = split_word(rest);
    const auto [table, record] = split_word(after_sum);
    out.reply_cmd = "VERIFY SUM";
    out.verb = upper(sum) == "SUM" ? CommandVerb::VerifySum : CommandVerb::Unknown;
    out.table = upper(table);
    out.argument = std::string(record);
    return out;
  }
  if (verb == "CONTROL") {
    const auto [device, arg] = split_word(rest);
    out.reply_cmd = "CONTROL DEVICE";
    out.verb = upper(device) == "DEVICE" ? CommandVerb::ControlDevice : CommandVerb::Unknown;
    out.argument = std::string(arg);
    return out;
  }
  out.argument = std::string(rest);
  out.reply_cmd = std::string(word);
  if (verb == "CHECK") {
    out.verb = CommandVerb::Check;
  } else if (verb == "LOG") {
    out.verb = CommandVerb::Log;
  } else if (verb == "INFO") {
    out.verb = CommandVerb::Info;
  } else if (verb == "REBOOT") {
    out.verb = CommandVerb::Reboot;
  } else if (verb == "AC_UNLOCK") {
    out.verb = CommandVerb::AcUnlock;
  } else if (verb == "AC_UNALARM") {
    out.verb = CommandVerb::AcUnalarm;
  } else if (verb == "GETFILE") {
    out.verb = CommandVerb::GetFile;
  } else if (verb == "SHELL") {
    out.verb = CommandVerb::Shell;
    out.reply_cmd = "Shell";
  } else if (verb == "ENROLL_FP" || verb == "ENROLL_BIO" || verb == "ENROLL_MF") {
    out.verb = CommandVerb::Enroll;
  } else {
    out.verb = CommandVerb::Unknown;
  }
  return out;
}

}  // namespace pushgate::sim
