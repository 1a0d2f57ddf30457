#pragma once

// Text helpers shared by the two zkpush protocol parsers (attendance and
// Security PUSH). Internal to adapters/zkpush: pure, no I/O, never throw on
// terminal bytes.

#include <algorithm>
#include <array>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "adapters/zkpush/zkpush_protocol.hpp"

namespace pushgate::adapters::zkpush::text {

inline char ascii_lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

inline bool is_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}

inline bool is_blank(std::string_view line) noexcept {
  return std::all_of(line.begin(), line.end(),
                     [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\0'; });
}

template <typename Int>
inline std::optional<Int> parse_integer(std::string_view text) noexcept {
  // from_chars accepts a leading '-' but no '+' and no spaces: exactly what
  // terminals send. The whole field must be consumed.
  Int value{};
  if (text.empty()) {
    return std::nullopt;
  }
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end) {
    return std::nullopt;
  }
  return value;
}

inline std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t pos = text.find(separator, start);
    if (pos == std::string_view::npos) {
      parts.push_back(text.substr(start));
      return parts;
    }
    parts.push_back(text.substr(start, pos - start));
    start = pos + 1;
  }
}

inline ParseProblem make_problem(std::size_t line, std::string reason, std::string_view raw) {
  return ParseProblem{line, std::move(reason), std::string(raw)};
}

inline std::string quoted(std::string_view text) {
  // Reasons quote short bits of device input; keep them short and printable
  // so a log line stays one line.
  constexpr std::size_t kMax = 40;
  std::string out = "'";
  for (char c : text.substr(0, kMax)) {
    const auto uc = static_cast<unsigned char>(c);
    out += (uc < 0x20 || uc == 0x7f) ? '?' : c;
  }
  if (text.size() > kMax) {
    out += "...";
  }
  out += "'";
  return out;
}

inline std::string sanitized(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c != '\r' && c != '\n' && c != '\0') {
      out += c;
    }
  }
  return out;
}

inline bool is_leap(int year) noexcept {
  return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

inline int days_in_month(int year, int month) noexcept {
  static constexpr std::array<int, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month == 2 && is_leap(year)) {
    return 29;
  }
  return kDays[static_cast<std::size_t>(month - 1)];
}

inline std::string_view strip_tilde(std::string_view key) noexcept {
  if (!key.empty() && key.front() == '~') {
    key.remove_prefix(1);
  }
  return key;
}

inline bool is_alnum(char c) noexcept {
  return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/** 0-15 for a hex digit of either case, -1 otherwise. */
inline int hex_value(char c) noexcept {
  if (is_digit(c)) {
    return c - '0';
  }
  const char l = ascii_lower(c);
  if (l >= 'a' && l <= 'f') {
    return l - 'a' + 10;
  }
  return -1;
}

/** Drops spaces and TABs at both ends. */
inline std::string_view trim_spaces(std::string_view text) noexcept {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
    text.remove_prefix(1);
  }
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) {
    text.remove_suffix(1);
  }
  return text;
}

/** Drops the CRs at the end of a line. */
inline std::string_view strip_cr(std::string_view line) noexcept {
  while (!line.empty() && line.back() == '\r') {
    line.remove_suffix(1);
  }
  return line;
}

/** Drops the CRs and NULs, in any mix, at the end of a line. */
inline std::string_view strip_cr_nul(std::string_view line) noexcept {
  while (!line.empty() && (line.back() == '\r' || line.back() == '\0')) {
    line.remove_suffix(1);
  }
  return line;
}

/** One physical line of a body: [begin, end) without terminator, next = start of next line. */
struct Line {
  std::size_t number = 0;
  std::size_t begin = 0;
  std::size_t end = 0;
  std::size_t next = 0;
  std::string_view text;  ///< without the LF and the line-end bytes the cursor drops
};

/**
 * What a LineCursor drops at the end of each line. The two flavours differ on
 * purpose: Security PUSH bodies end in CRLF and often a NUL (the spec's
 * examples are three bytes longer than their visible text), so its parsers
 * drop both; the attendance parsers drop CRs only and treat a line of NULs as
 * blank (zkpush_protocol.hpp), keeping a NUL inside a value visible.
 */
enum class LineEnd {
  Cr,     ///< trailing CRs (attendance PUSH)
  CrNul,  ///< trailing CRs and NULs (Security PUSH)
};

/** Iterates the LF-separated lines of a body; a final line without LF counts. */
class LineCursor {
 public:
  explicit LineCursor(std::string_view body, LineEnd line_end = LineEnd::Cr) noexcept
      : body_(body), line_end_(line_end) {}

  bool next(Line& line) noexcept {
    if (pos_ > body_.size() || (pos_ == body_.size() && (pos_ == 0 || ended_with_lf_))) {
      return false;
    }
    const std::size_t lf = body_.find('\n', pos_);
    const std::size_t end = lf == std::string_view::npos ? body_.size() : lf;
    const std::string_view raw = body_.substr(pos_, end - pos_);
    line.number = ++number_;
    line.begin = pos_;
    line.end = end;
    line.text = line_end_ == LineEnd::CrNul ? strip_cr_nul(raw) : strip_cr(raw);
    line.next = lf == std::string_view::npos ? body_.size() + 1 : lf + 1;
    ended_with_lf_ = lf != std::string_view::npos;
    pos_ = line.next;
    return true;
  }

 private:
  std::string_view body_;
  LineEnd line_end_;
  std::size_t pos_ = 0;
  std::size_t number_ = 0;
  bool ended_with_lf_ = false;
};

/** Lines joined by `separator`, none after the last. */
inline std::string joined(const std::vector<std::string>& lines, std::string_view separator) {
  std::string out;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (i > 0) {
      out += separator;
    }
    out += lines[i];
  }
  return out;
}

/** `key=value` with CR, LF and NUL removed: nothing a caller sends can add a line to an answer. */
inline std::string key_value_line(std::string_view key, std::string_view value) {
  return sanitized(key) + "=" + sanitized(value);
}

/**
 * Whether split_tab_pairs drops spaces before a key. Security PUSH terminals
 * separate the type word with one or more spaces ("user  uid=5"), and its
 * parser skips them; the attendance parser keeps them (a key " Name" is not
 * "Name" and lands in extra as sent).
 */
enum class KeySpaces { Keep, Skip };

/**
 * Splits "k=v\tk=v" into pairs. Empty fields (doubled or trailing TABs) carry
 * nothing. Returns false, with the offending field, on a field without '=' or
 * with an empty key.
 */
inline bool split_tab_pairs(std::string_view text, KeyValues& out, std::string_view& bad_field,
                            KeySpaces key_spaces = KeySpaces::Keep) {
  for (std::string_view field : split(text, '\t')) {
    if (key_spaces == KeySpaces::Skip) {
      while (!field.empty() && field.front() == ' ') {
        field.remove_prefix(1);
      }
    }
    if (field.empty()) {
      continue;
    }
    const std::size_t eq = field.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      bad_field = field;
      return false;
    }
    out.push_back(KeyValue{std::string(field.substr(0, eq)), std::string(field.substr(eq + 1))});
  }
  return true;
}

/**
 * Takes typed fields out of a line's pairs: each known key once (first
 * occurrence, any case, any alias); the rest, repeats included, stays in
 * rest() with the key as sent. The first bad number is the line's problem:
 * kept in error() (or in the caller's string, with the two-argument
 * take_number).
 */
class FieldTaker {
 public:
  explicit FieldTaker(KeyValues pairs) : pairs_(std::move(pairs)), taken_(pairs_.size(), false) {}

  /** The value of the first untaken pair named like any of `names`. */
  std::optional<std::string> take(std::initializer_list<std::string_view> names) {
    for (std::size_t i = 0; i < pairs_.size(); ++i) {
      if (taken_[i]) {
        continue;
      }
      for (std::string_view name : names) {
        if (iequals(pairs_[i].key, name)) {
          taken_[i] = true;
          return std::move(pairs_[i].value);
        }
      }
    }
    return std::nullopt;
  }

  std::string take_string(std::initializer_list<std::string_view> names) {
    return take(names).value_or(std::string());
  }

  /** Absent or empty -> nullopt; not an integer -> nullopt and the first problem in `error`. */
  template <typename Int>
  std::optional<Int> take_number(std::initializer_list<std::string_view> names,
                                 std::string& error) {
    std::optional<std::string> value = take(names);
    if (!value || value->empty()) {
      return std::nullopt;
    }
    std::optional<Int> number = parse_integer<Int>(*value);
    if (!number && error.empty()) {
      error = std::string(*names.begin()) + " is not a number: " + text::quoted(*value);
    }
    return number;
  }

  /** The same, the problem kept in error(). */
  template <typename Int>
  std::optional<Int> take_number(std::initializer_list<std::string_view> names) {
    return take_number<Int>(names, error_);
  }

  void fail(std::string reason) {
    if (error_.empty()) {
      error_ = std::move(reason);
    }
  }

  const std::string& error() const noexcept { return error_; }

  KeyValues rest() {
    KeyValues out;
    for (std::size_t i = 0; i < pairs_.size(); ++i) {
      if (!taken_[i]) {
        out.push_back(std::move(pairs_[i]));
      }
    }
    return out;
  }

 private:
  KeyValues pairs_;
  std::vector<bool> taken_;
  std::string error_;
};

/** Even-length hex pairs to bytes; false on anything else. */
inline bool decode_hex_bytes(std::string_view text, std::vector<std::uint8_t>& out) {
  if (text.size() % 2 != 0) {
    return false;
  }
  out.clear();
  out.reserve(text.size() / 2);
  for (std::size_t i = 0; i < text.size(); i += 2) {
    const int hi = hex_value(text[i]);
    const int lo = hex_value(text[i + 1]);
    if (hi < 0 || lo < 0) {
      return false;
    }
    out.push_back(static_cast<std::uint8_t>(hi * 16 + lo));
  }
  return true;
}

/** Two upper-case hex digits. */
inline void append_hex_byte(std::string& out, std::uint8_t byte) {
  static constexpr std::string_view kDigits = "0123456789ABCDEF";
  out += kDigits[byte >> 4];
  out += kDigits[byte & 0x0f];
}

}  // namespace pushgate::adapters::zkpush::text
