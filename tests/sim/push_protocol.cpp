#include "tests/sim/push_protocol.hpp"

#include <array>
#include <cctype>
#include <charconv>
#include <cstdio>

namespace pushgate::sim {
namespace {

constexpr std::array<std::string_view, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
constexpr std::array<std::string_view, 7> kWeekdays = {"Sun", "Mon", "Tue", "Wed",
                                                       "Thu", "Fri", "Sat"};

// Reads exactly `digits` decimal digits at `pos`; nullopt otherwise.
std::optional<int> fixed_number(std::string_view text, std::size_t pos, std::size_t digits) {
  if (pos + digits > text.size()) {
    return std::nullopt;
  }
  int value = 0;
  for (std::size_t i = pos; i < pos + digits; ++i) {
    const char c = text[i];
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    value = value * 10 + (c - '0');
  }
  return value;
}

struct Civil {
  int year, month, day, hour, minute, second;
};

std::optional<std::chrono::seconds> civil_to_seconds(const Civil& c) {
  using namespace std::chrono;
  if (c.month < 1 || c.month > 12 || c.day < 1 || c.day > 31 || c.hour > 23 || c.minute > 59 ||
      c.second > 59 || c.hour < 0 || c.minute < 0 || c.second < 0) {
    return std::nullopt;
  }
  const year_month_day ymd{year{c.year}, month{static_cast<unsigned>(c.month)},
                           day{static_cast<unsigned>(c.day)}};
  if (!ymd.ok()) {
    return std::nullopt;
  }
  const auto days = sys_days{ymd}.time_since_epoch();
  return duration_cast<seconds>(days) + hours{c.hour} + minutes{c.minute} + seconds{c.second};
}

Civil seconds_to_civil(std::chrono::seconds since_epoch) {
  using namespace std::chrono;
  const auto days = floor<std::chrono::days>(since_epoch);
  const year_month_day ymd{sys_days{days}};
  const hh_mm_ss hms{since_epoch - days};
  return Civil{static_cast<int>(ymd.year()),
               static_cast<int>(static_cast<unsigned>(ymd.month())),
               static_cast<int>(static_cast<unsigned>(ymd.day())),
               static_cast<int>(hms.hours().count()),
               static_cast<int>(hms.minutes().count()),
               static_cast<int>(hms.seconds().count())};
}

bool is_unreserved(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~' || c == ',' || c == ':';
}

}  // namespace

std::string format_local_time(LocalSeconds t) {
  const Civil c = seconds_to_civil(t.time_since_epoch());
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d", c.year, c.month, c.day, c.hour,
                c.minute, c.second);
  return buf;
}

std::optional<LocalSeconds> parse_local_time(std::string_view text) {
  text = trim(text);
  // "YYYY-MM-DD HH:MM:SS" is exactly 19 characters.
  if (text.size() != 19 || text[4] != '-' || text[7] != '-' ||
      (text[10] != ' ' && text[10] != 'T') || text[13] != ':' || text[16] != ':') {
    return std::nullopt;
  }
  const auto y = fixed_number(text, 0, 4);
  const auto mo = fixed_number(text, 5, 2);
  const auto d = fixed_number(text, 8, 2);
  const auto h = fixed_number(text, 11, 2);
  const auto mi = fixed_number(text, 14, 2);
  const auto s = fixed_number(text, 17, 2);
  if (!y || !mo || !d || !h || !mi || !s) {
    return std::nullopt;
  }
  const auto secs = civil_to_seconds(Civil{*y, *mo, *d, *h, *mi, *s});
  if (!secs) {
    return std::nullopt;
  }
  return LocalSeconds{*secs};
}

std::optional<std::chrono::sys_seconds> parse_http_date(std::string_view text) {
  text = trim(text);
  // "Tue, 22 Sep 2020 20:24:13 GMT" is exactly 29 characters.
  if (text.size() != 29 || text[3] != ',' || text[4] != ' ' || text[7] != ' ' || text[11] != ' ' ||
      text[16] != ' ' || text[19] != ':' || text[22] != ':' || text.substr(25) != " GMT") {
    return std::nullopt;
  }
  int month = 0;
  for (std::size_t i = 0; i < kMonths.size(); ++i) {
    if (text.substr(8, 3) == kMonths[i]) {
      month = static_cast<int>(i) + 1;
    }
  }
  const auto d = fixed_number(text, 5, 2);
  const auto y = fixed_number(text, 12, 4);
  const auto h = fixed_number(text, 17, 2);
  const auto mi = fixed_number(text, 20, 2);
  const auto s = fixed_number(text, 23, 2);
  if (month == 0 || !d || !y || !h || !mi || !s) {
    return std::nullopt;
  }
  const auto secs = civil_to_seconds(Civil{*y, month, *d, *h, *mi, *s});
  if (!secs) {
    return std::nullopt;
  }
  return std::chrono::sys_seconds{*secs};
}

std::string format_http_date(std::chrono::sys_seconds t) {
  using namespace std::chrono;
  const Civil c = seconds_to_civil(t.time_since_epoch());
  const weekday wd{floor<days>(t)};
  char buf[40];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT",
                std::string(kWeekdays[wd.c_encoding()]).c_str(), c.day,
                std::string(kMonths[static_cast<std::size_t>(c.month - 1)]).c_str(), c.year, c.hour,
                c.minute, c.second);
  return buf;
}

std::string encode_query_value(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    if (is_unreserved(c)) {
      out.push_back(c);
    } else {
      const auto byte = static_cast<unsigned char>(c);
      out.push_back('%');
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 0x0f]);
    }
  }
  return out;
}

std::vector<std::string_view> split_lines(std::string_view body) {
  std::vector<std::string_view> lines;
  while (!body.empty()) {
    const auto lf = body.find('\n');
    std::string_view line = body.substr(0, lf);
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
    lines.push_back(line);
    if (lf == std::string_view::npos) {
      break;
    }
    body.remove_prefix(lf + 1);
  }
  return lines;
}

std::string join_lines(const std::vector<std::string>& lines) {
  std::size_t size = 0;
  for (const auto& l : lines) {
    size += l.size() + 1;
  }
  std::string body;
  body.reserve(size);
  for (const auto& l : lines) {
    body.append(l).push_back('\n');
  }
  return body;
}

bool is_ok_answer(unsigned status, std::string_view body) {
  return status == 200 && body.substr(0, 2) == "OK";
}

CommandListParse parse_command_list(std::string_view body) {
  CommandListParse out;
  const auto lines = split_lines(body);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string_view raw = lines[i];
    const std::string_view line = trim(raw);
    if (line.empty() || line == "OK") {
      continue;
    }
    if (line.size() < 2 || line[0] != 'C' || line[1] != ':') {
      if (!out.commands.empty() && out.commands.back().text.rfind("DATA UPDATE ", 0) == 0) {
        // A further record of the DATA UPDATE above (${LF} joins records).
        out.commands.back().text += '\n';
        out.commands.back().text += std::string(line);
        continue;
      }
      out.problems.push_back({i + 1, "not a C:<id>:<command> line", std::string(raw)});
      continue;
    }
    const std::string_view rest = line.substr(2);
    const auto colon = rest.find(':');
    if (colon == std::string_view::npos) {
      out.problems.push_back({i + 1, "command line without a second ':'", std::string(raw)});
      continue;
    }
    const std::string_view id = trim(rest.substr(0, colon));
    const std::string_view text = trim(rest.substr(colon + 1));
    if (id.empty()) {
      out.problems.push_back({i + 1, "empty command id", std::string(raw)});
      continue;
    }
    if (text.empty()) {
      out.problems.push_back({i + 1, "empty command", std::string(raw)});
      continue;
    }
    // Only a leading space is stripped from the command; TABs inside it are
    // field separators and must survive (trim() only touched the ends).
    out.commands.push_back({std::string(id), std::string(text)});
  }
  return out;
}

Fields parse_tab_fields(std::string_view text) {
  Fields fields;
  while (!text.empty()) {
    const auto tab = text.find('\t');
    const std::string_view token = text.substr(0, tab);
    if (!token.empty()) {
      const auto eq = token.find('=');
      if (eq == std::string_view::npos) {
        fields.emplace_back(std::string(token), std::string());
      } else {
        fields.emplace_back(std::string(token.substr(0, eq)), std::string(token.substr(eq + 1)));
      }
    }
    if (tab == std::string_view::npos) {
      break;
    }
    text.remove_prefix(tab + 1);
  }
  return fields;
}

std::optional<std::string> find_field(const Fields& fields, std::string_view key) {
  for (const auto& [k, v] : fields) {
    if (iequals(k, key)) {
      return v;
    }
  }
  return std::nullopt;
}

std::optional<std::int64_t> parse_int(std::string_view text) {
  text = trim(text);
  if (text.empty()) {
    return std::nullopt;
  }
  std::int64_t value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

std::string format_command_result(std::string_view id, int return_code, std::string_view cmd) {
  std::string out;
  out.reserve(id.size() + cmd.size() + 24);
  out.append("ID=").append(id).append("&Return=").append(std::to_string(return_code));
  out.append("&CMD=").append(cmd);
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

std::string_view trim(std::string_view text) {
  const auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!text.empty() && is_space(text.front())) {
    text.remove_prefix(1);
  }
  while (!text.empty() && is_space(text.back())) {
    text.remove_suffix(1);
  }
  return text;
}

}  // namespace pushgate::sim
