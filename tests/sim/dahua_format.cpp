// Pure text forms of the simulated Dahua device (tests/sim/dahua_device.hpp).
// Sources: the eventManager sample and field names of the Intelbras/Dahua
// pages quoted in shared/research/vendor-adapters.md 1.3 [doc]; the
// EventHttpUpload JSON shape observed by open projects (1.3 B) [obs].

#include <ctime>
#include <sstream>

#include "tests/sim/dahua_device.hpp"

namespace pushgate::sim::dahua {
namespace {

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
          out += buf;
        } else {
          out.push_back(c);
        }
    }
  }
  out += "\"";
  return out;
}

std::string json_value(const Value& v) {
  if (const auto* n = std::get_if<std::int64_t>(&v)) {
    return std::to_string(*n);
  }
  return json_string(std::get<std::string>(v));
}

}  // namespace

const char* table_name(Table table) {
  return table == Table::Access ? "AccessControlCardRec" : "AccessControlAlarmRecord";
}

std::string fields_json(const Record& record, bool pretty) {
  std::string out = "{";
  bool first = true;
  for (const auto& [name, value] : record.fields) {
    if (!first) {
      out += ",";
    }
    first = false;
    if (pretty) {
      out += "\n   " + json_string(name) + " : " + json_value(value);
    } else {
      out += json_string(name) + ":" + json_value(value);
    }
  }
  out += pretty ? "\n}" : "}";
  return out;
}

std::string event_text(const Record& record, const StreamQuirks& quirks) {
  Record shown = record;
  if (quirks.equals_in_values && shown.table == Table::Access) {
    shown.fields["CardName"] = std::string("Name=Jo;Door=1");
  }
  const char* code = quirks.mixed_key_case ? "code=" : "Code=";
  const char* action = quirks.mixed_key_case ? ";Action=" : ";action=";
  const char* index = quirks.mixed_key_case ? ";INDEX=" : ";index=";
  const char* data = quirks.mixed_key_case ? ";Data=" : ";data=";
  return std::string(code) + record.code + action + record.action + index +
         std::to_string(record.index) + data + fields_json(shown, quirks.pretty_json);
}

std::string event_json(const Record& record) {
  return "{\"Code\":" + json_string(record.code) + ",\"Action\":" + json_string(record.action) +
         ",\"Index\":" + std::to_string(record.index) + ",\"Data\":" + fields_json(record, false) +
         "}";
}

std::string format_time(std::int64_t epoch) {
  const std::time_t t = static_cast<std::time_t>(epoch);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

std::optional<std::int64_t> parse_time(std::string_view text) {
  std::tm tm{};
  int y = 0;
  int mo = 0;
  int d = 0;
  int h = 0;
  int mi = 0;
  int s = 0;
  char tail = 0;
  const std::string copy(text);
  if (std::sscanf(copy.c_str(), "%4d-%2d-%2d %2d:%2d:%2d%c", &y, &mo, &d, &h, &mi, &s, &tail) !=
      6) {
    return std::nullopt;
  }
  if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59 || h < 0 ||
      mi < 0 || s < 0) {
    return std::nullopt;
  }
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  return static_cast<std::int64_t>(timegm(&tm));
}

}  // namespace pushgate::sim::dahua
