#include "gateway/timezone.hpp"

#include <charconv>

#include <date/date.h>
#include <date/tz.h>

namespace pushgate {

namespace {

bool parse_int(std::string_view s, int& out) {
  if (s.empty()) {
    return false;
  }
  for (char c : s) {
    if (c < '0' || c > '9') {
      return false;
    }
  }
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && p == s.data() + s.size();
}

}  // namespace

std::optional<LocalDateTime> parse_local_date_time(std::string_view text) noexcept {
  // Exactly YYYY-MM-DD HH:MM:SS; digits only in each field.
  if (text.size() != 19 || text[4] != '-' || text[7] != '-' ||
      (text[10] != ' ' && text[10] != 'T') || text[13] != ':' || text[16] != ':') {
    return std::nullopt;
  }
  LocalDateTime t;
  if (!parse_int(text.substr(0, 4), t.year) || !parse_int(text.substr(5, 2), t.month) ||
      !parse_int(text.substr(8, 2), t.day) || !parse_int(text.substr(11, 2), t.hour) ||
      !parse_int(text.substr(14, 2), t.minute) || !parse_int(text.substr(17, 2), t.second)) {
    return std::nullopt;
  }
  auto ymd = date::year{t.year} / date::month{static_cast<unsigned>(t.month)} /
             date::day{static_cast<unsigned>(t.day)};
  if (!ymd.ok() || t.hour > 23 || t.minute > 59 || t.second > 60) {
    return std::nullopt;
  }
  return t;
}

std::string format_local_date_time(const LocalDateTime& t) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d", t.year, t.month, t.day, t.hour,
                t.minute, t.second);
  return buf;
}

std::optional<Zone> Zone::parse(std::string_view spec, std::string& error) {
  Zone z;
  if (spec.empty()) {
    try {
      z.tz_ = date::current_zone();
      z.name_ = std::string(z.tz_->name());
      return z;
    } catch (const std::exception& e) {
      // A system without /etc/localtime: UTC is the honest default.
      return utc();
    }
  }
  if (spec == "UTC" || spec == "Z") {
    return utc();
  }
  if (spec[0] == '+' || spec[0] == '-') {
    int h = 0;
    int m = 0;
    auto body = spec.substr(1);
    auto colon = body.find(':');
    bool ok = colon == std::string_view::npos
                  ? parse_int(body, h)
                  : parse_int(body.substr(0, colon), h) && parse_int(body.substr(colon + 1), m);
    if (!ok || h > 14 || m > 59) {
      error = "bad UTC offset \"" + std::string(spec) + "\" (expected +HH:MM)";
      return std::nullopt;
    }
    z.fixed_offset_minutes_ = (spec[0] == '-' ? -1 : 1) * (h * 60 + m);
    z.name_ = std::string(spec);
    return z;
  }
  try {
    z.tz_ = date::locate_zone(std::string(spec));
    z.name_ = std::string(spec);
    return z;
  } catch (const std::exception&) {
    error = "unknown time zone \"" + std::string(spec) + "\" (not in the system's tzdata)";
    return std::nullopt;
  }
}

Zone Zone::utc() {
  Zone z;
  z.name_ = "UTC";
  return z;
}

std::int64_t Zone::to_utc_ms(const LocalDateTime& l) const {
  using namespace std::chrono;
  auto days = date::local_days{date::year{l.year} / date::month{static_cast<unsigned>(l.month)} /
                               date::day{static_cast<unsigned>(l.day)}};
  auto local = days + hours{l.hour} + minutes{l.minute} + seconds{l.second};
  if (tz_ == nullptr) {
    auto sys = date::sys_seconds{local.time_since_epoch()} - minutes{fixed_offset_minutes_};
    return duration_cast<milliseconds>(sys.time_since_epoch()).count();
  }
  auto sys = tz_->to_sys(local, date::choose::earliest);
  return duration_cast<milliseconds>(sys.time_since_epoch()).count();
}

int Zone::offset_minutes_at(std::chrono::system_clock::time_point t) const {
  if (tz_ == nullptr) {
    return fixed_offset_minutes_;
  }
  auto info = tz_->get_info(date::floor<std::chrono::seconds>(t));
  return static_cast<int>(std::chrono::duration_cast<std::chrono::minutes>(info.offset).count());
}

LocalDateTime Zone::to_local(std::chrono::system_clock::time_point t) const {
  auto secs = date::floor<std::chrono::seconds>(t) + std::chrono::minutes(offset_minutes_at(t));
  auto dp = date::floor<date::days>(secs);
  date::year_month_day ymd{dp};
  date::hh_mm_ss<std::chrono::seconds> hms{secs - dp};
  LocalDateTime l;
  l.year = static_cast<int>(ymd.year());
  l.month = static_cast<int>(static_cast<unsigned>(ymd.month()));
  l.day = static_cast<int>(static_cast<unsigned>(ymd.day()));
  l.hour = static_cast<int>(hms.hours().count());
  l.minute = static_cast<int>(hms.minutes().count());
  l.second = static_cast<int>(hms.seconds().count());
  return l;
}

}  // namespace pushgate
