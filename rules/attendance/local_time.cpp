#include "rules/attendance/local_time.hpp"

#include <cstdio>

namespace pushgate::rules::attendance {

namespace {

// Reads exactly `width` decimal digits at `pos`; -1 if any is not a digit.
int read_digits(std::string_view text, std::size_t pos, std::size_t width) {
  if (pos + width > text.size()) {
    return -1;
  }
  int value = 0;
  for (std::size_t i = pos; i < pos + width; ++i) {
    const char c = text[i];
    if (c < '0' || c > '9') {
      return -1;
    }
    value = value * 10 + (c - '0');
  }
  return value;
}

std::string two(int value) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%02d", value);
  return buf;
}

}  // namespace

std::optional<TimeOfDay> parse_time_of_day(std::string_view text) {
  if (text.size() != 5 || text[2] != ':') {
    return std::nullopt;
  }
  const int hours = read_digits(text, 0, 2);
  const int minutes = read_digits(text, 3, 2);
  if (hours < 0 || hours > 23 || minutes < 0 || minutes > 59) {
    return std::nullopt;
  }
  return TimeOfDay{hours * 60 + minutes};
}

std::string format_time_of_day(TimeOfDay time) {
  const auto total = static_cast<int>(time.count());
  return two(total / 60) + ":" + two(total % 60);
}

std::optional<date::local_days> parse_date(std::string_view text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') {
    return std::nullopt;
  }
  const int year = read_digits(text, 0, 4);
  const int month = read_digits(text, 5, 2);
  const int day = read_digits(text, 8, 2);
  if (year < 0 || month < 0 || day < 0) {
    return std::nullopt;
  }
  const date::year_month_day ymd{date::year{year}, date::month{static_cast<unsigned>(month)},
                                 date::day{static_cast<unsigned>(day)}};
  if (!ymd.ok()) {
    return std::nullopt;
  }
  return date::local_days{ymd};
}

std::string format_date(date::local_days day) {
  const date::year_month_day ymd{day};
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return buf;
}

std::optional<date::local_seconds> parse_local_time(std::string_view text) {
  if (text.size() != 19 || (text[10] != 'T' && text[10] != ' ') || text[13] != ':' ||
      text[16] != ':') {
    return std::nullopt;
  }
  const auto day = parse_date(text.substr(0, 10));
  const int hours = read_digits(text, 11, 2);
  const int minutes = read_digits(text, 14, 2);
  const int seconds = read_digits(text, 17, 2);
  if (!day || hours < 0 || hours > 23 || minutes < 0 || minutes > 59 || seconds < 0 ||
      seconds > 59) {
    return std::nullopt;
  }
  return date::local_seconds{*day} + std::chrono::hours{hours} + std::chrono::minutes{minutes} +
         std::chrono::seconds{seconds};
}

std::string format_local_time(date::local_seconds time) {
  const auto day = date::floor<date::days>(time);
  const auto in_day = (time - day).count();
  char buf[64];
  std::snprintf(buf, sizeof buf, "T%02lld:%02lld:%02lld", static_cast<long long>(in_day / 3600),
                static_cast<long long>(in_day / 60 % 60), static_cast<long long>(in_day % 60));
  return format_date(day) + buf;
}

std::chrono::sys_seconds to_sys(date::local_seconds time, const date::time_zone* zone) {
  if (zone == nullptr) {
    return std::chrono::sys_seconds{time.time_since_epoch()};
  }
  const date::local_info info = zone->get_info(time);
  if (info.result == date::local_info::nonexistent) {
    // Every wall time in the skipped hour is the transition instant, so the
    // mapping never runs backwards and durations never turn negative.
    return date::floor<std::chrono::seconds>(info.first.end);
  }
  // For `unique` first is the only offset; for `ambiguous` it is the offset
  // before the fall-back, giving the earlier of the two instants.
  return std::chrono::sys_seconds{time.time_since_epoch()} - info.first.offset;
}

std::chrono::seconds elapsed(date::local_seconds from, date::local_seconds to,
                             const date::time_zone* zone) {
  if (zone == nullptr) {
    return to - from;
  }
  return to_sys(to, zone) - to_sys(from, zone);
}

date::local_seconds to_local(std::chrono::sys_seconds time, const date::time_zone* zone) {
  if (zone == nullptr) {
    return date::local_seconds{time.time_since_epoch()};
  }
  return date::floor<std::chrono::seconds>(zone->to_local(time));
}

}  // namespace pushgate::rules::attendance
