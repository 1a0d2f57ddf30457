#pragma once

// Text helpers shared by the two zkpush protocol parsers (attendance and
// Security PUSH). Internal to adapters/zkpush: pure, no I/O, never throw on
// terminal bytes.

#include <algorithm>
#include <array>
#include <charconv>
#include <optional>
#include <string>
#include <string_view>
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

}  // namespace pushgate::adapters::zkpush::text
