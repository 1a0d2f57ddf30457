#include "gateway/event_json.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>

#include <date/date.h>

#include "gateway/timezone.hpp"

namespace pushgate {

namespace {

void append_2(std::string& out, unsigned v) {
  out.push_back(static_cast<char>('0' + v / 10 % 10));
  out.push_back(static_cast<char>('0' + v % 10));
}

}  // namespace

std::string format_utc_iso8601(std::int64_t utc_ms) {
  auto tp = date::sys_time<std::chrono::milliseconds>{std::chrono::milliseconds{utc_ms}};
  auto day = date::floor<date::days>(tp);
  date::year_month_day ymd{day};
  int year = static_cast<int>(ymd.year());
  if (year < 0 || year > 9999) {
    return date::format("%FT%TZ", tp);  // outside ISO-8601's four digits: rare, slow is fine
  }
  auto ms = (tp - day).count();
  std::string out;
  out.reserve(24);
  append_2(out, static_cast<unsigned>(year / 100));
  append_2(out, static_cast<unsigned>(year % 100));
  out.push_back('-');
  append_2(out, static_cast<unsigned>(ymd.month()));
  out.push_back('-');
  append_2(out, static_cast<unsigned>(ymd.day()));
  out.push_back('T');
  append_2(out, static_cast<unsigned>(ms / 3'600'000));
  out.push_back(':');
  append_2(out, static_cast<unsigned>(ms / 60'000 % 60));
  out.push_back(':');
  append_2(out, static_cast<unsigned>(ms / 1000 % 60));
  out.push_back('.');
  out.push_back(static_cast<char>('0' + ms % 1000 / 100));
  append_2(out, static_cast<unsigned>(ms % 100));
  out.push_back('Z');
  return out;
}

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    unsigned char c = *p;
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
      const auto* run = p;
      while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\') {
        ++p;
      }
      out.append(reinterpret_cast<const char*>(run), static_cast<std::size_t>(p - run));
      continue;
    }
    if (c < 0x80) {
      out.push_back('\\');
      switch (c) {
        case '"':
          out.push_back('"');
          break;
        case '\\':
          out.push_back('\\');
          break;
        case '\b':
          out.push_back('b');
          break;
        case '\f':
          out.push_back('f');
          break;
        case '\n':
          out.push_back('n');
          break;
        case '\r':
          out.push_back('r');
          break;
        case '\t':
          out.push_back('t');
          break;
        default:
          out.append("u00");
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 0xF]);
      }
      ++p;
      continue;
    }
    // A multi-byte UTF-8 sequence: copied when well formed (no overlong
    // forms, no surrogates, nothing above U+10FFFF), else one U+FFFD for the
    // offending byte, as devices do send Latin-1 and garbage.
    std::size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      lo = c == 0xE0 ? 0xA0 : 0x80;
      hi = c == 0xED ? 0x9F : 0xBF;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      lo = c == 0xF0 ? 0x90 : 0x80;
      hi = c == 0xF4 ? 0x8F : 0xBF;
    }
    bool ok = len != 0 && static_cast<std::size_t>(end - p) >= len && p[1] >= lo && p[1] <= hi;
    for (std::size_t i = 2; ok && i < len; ++i) {
      ok = p[i] >= 0x80 && p[i] <= 0xBF;
    }
    if (ok) {
      out.append(reinterpret_cast<const char*>(p), len);
      p += len;
    } else {
      out.append("\xEF\xBF\xBD");
      ++p;
    }
  }
  out.push_back('"');
}

namespace {

// Starts the member `k` of the object being written (after its '{').
void key(std::string& out, std::string_view k) {
  if (out.back() != '{') {
    out.push_back(',');
  }
  out.push_back('"');
  out.append(k);
  out.append("\":");
}

void int_value(std::string& out, std::int64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, static_cast<std::size_t>(end - buf));
}

void opt_int(std::string& out, std::string_view k, int v) {
  key(out, k);
  if (v == kUnset) {
    out.append("null");
  } else {
    int_value(out, v);
  }
}

void opt_str(std::string& out, std::string_view k, const std::string& v) {
  key(out, k);
  if (v.empty()) {
    out.append("null");
  } else {
    append_json_string(out, v);
  }
}

// Local time with the offset implied by local time and UTC.
void local_iso(std::string& out, const Event& e) {
  key(out, "time");
  auto local = e.utc_ms ? parse_local_date_time(e.local_time) : std::nullopt;
  if (!local) {
    out.append("null");
    return;
  }
  auto as_utc = Zone::utc().to_utc_ms(*local);
  long offset_min = static_cast<long>((as_utc - (*e.utc_ms / 1000) * 1000) / 60000);
  char buf[48];
  long a = std::labs(offset_min);
  int n = std::snprintf(buf, sizeof buf, "\"%04d-%02d-%02dT%02d:%02d:%02d%c%02ld:%02ld\"",
                        local->year, local->month, local->day, local->hour, local->minute,
                        local->second, offset_min < 0 ? '-' : '+', a / 60, a % 60);
  out.append(buf, static_cast<std::size_t>(std::clamp(n, 0, static_cast<int>(sizeof buf) - 1)));
}

}  // namespace

void append_event_json(std::string& out, const Event& e, std::optional<bool> replay) {
  // Keys in sorted order, as the JSON library writes objects elsewhere.
  out.push_back('{');
  key(out, "command_id");
  if (e.command_id == 0) {
    out.append("null");
  } else {
    int_value(out, e.command_id);
  }
  opt_int(out, "door", e.door);
  opt_int(out, "event_code", e.event_code);
  key(out, "extra");
  if (e.extra_json.empty()) {
    out.append("{}");
  } else if (nlohmann::json::accept(e.extra_json)) {
    out.append(e.extra_json);  // ours, written by dump_json: valid JSON and UTF-8
  } else {
    append_json_string(out, e.extra_json);
  }
  key(out, "id");
  int_value(out, e.id);
  key(out, "kind");
  append_json_string(out, to_string(e.kind));
  opt_str(out, "local_time", e.local_time);
  opt_str(out, "pin", e.pin);
  key(out, "raw");
  append_json_string(out, e.raw);
  key(out, "received");
  append_json_string(out, format_utc_iso8601(e.received_ms));
  key(out, "record_key");
  append_json_string(out, e.record_key);
  if (replay) {
    key(out, "replay");
    out.append(*replay ? "true" : "false");
  }
  key(out, "seq");
  int_value(out, e.seq);
  opt_int(out, "status", e.status);
  key(out, "terminal");
  append_json_string(out, e.terminal_sn);
  local_iso(out, e);
  key(out, "utc");
  if (e.utc_ms) {
    append_json_string(out, format_utc_iso8601(*e.utc_ms));
  } else {
    out.append("null");
  }
  opt_int(out, "verify_mode", e.verify_mode);
  opt_str(out, "work_code", e.work_code);
  out.push_back('}');
}

nlohmann::json event_to_json(const Event& e) {
  std::string text;
  text.reserve(512);
  append_event_json(text, e, std::nullopt);
  return nlohmann::json::parse(text);
}

}  // namespace pushgate

namespace pushgate {

namespace {

std::string library_dump(const nlohmann::json& j, int indent) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

// Printable ASCII without '"' and '\\': what the library writes unchanged.
bool plain(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char ch) {
    const auto c = static_cast<unsigned char>(ch);
    return c >= 0x20 && c < 0x7F && c != '"' && c != '\\';
  });
}

void append_plain_or_library(std::string& out, std::string_view s, const nlohmann::json* value) {
  if (plain(s)) {
    out.push_back('"');
    out.append(s);
    out.push_back('"');
  } else if (value != nullptr) {
    out += library_dump(*value, -1);
  } else {
    out += library_dump(nlohmann::json(s), -1);
  }
}

// The library's compact form, byte for byte: a string that needs no escape
// is copied in one piece instead of going through the library's per-byte
// UTF-8 state machine (a sync command's 20 KB photo is dumped for its
// digest and again for the commands table: issue 19). Anything else (an
// escape, non-ASCII text, a number) is the library's own text.
void append_compact(std::string& out, const nlohmann::json& j) {
  using V = nlohmann::json::value_t;
  switch (j.type()) {
    case V::string:
      append_plain_or_library(out, j.get_ref<const std::string&>(), &j);
      return;
    case V::object: {
      out.push_back('{');
      bool first = true;
      for (const auto& [key, value] : j.items()) {
        if (!first) {
          out.push_back(',');
        }
        first = false;
        append_plain_or_library(out, key, nullptr);
        out.push_back(':');
        append_compact(out, value);
      }
      out.push_back('}');
      return;
    }
    case V::array: {
      out.push_back('[');
      bool first = true;
      for (const auto& value : j) {
        if (!first) {
          out.push_back(',');
        }
        first = false;
        append_compact(out, value);
      }
      out.push_back(']');
      return;
    }
    default:
      out += library_dump(j, -1);
      return;
  }
}

}  // namespace

std::string dump_json(const nlohmann::json& j, int indent) {
  if (indent >= 0) {
    return library_dump(j, indent);
  }
  std::string out;
  append_compact(out, j);
  return out;
}
}  // namespace pushgate
