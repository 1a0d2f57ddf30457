#include "rules/access/access_model.hpp"

namespace pushgate::rules::access {

std::string to_string(const DoorRef& ref) {
  return ref.sn + "/" + std::to_string(ref.door);
}

std::string_view to_string(ApbMode mode) noexcept {
  switch (mode) {
    case ApbMode::None:
      return "none";
    case ApbMode::Soft:
      return "soft";
    case ApbMode::Hard:
      return "hard";
  }
  return "none";
}

std::optional<ApbMode> apb_mode_from_string(std::string_view text) noexcept {
  if (text == "none") {
    return ApbMode::None;
  }
  if (text == "soft") {
    return ApbMode::Soft;
  }
  if (text == "hard") {
    return ApbMode::Hard;
  }
  return std::nullopt;
}

void MasterData::set_user(User user) {
  erase_user(user.pin);
  for (const auto& c : user.cards) {
    card_index[c.number] = user.pin;
  }
  std::string pin = user.pin;
  users.emplace(std::move(pin), std::move(user));
}

void MasterData::erase_user(const std::string& pin) {
  auto it = users.find(pin);
  if (it == users.end()) {
    return;
  }
  for (const auto& c : it->second.cards) {
    auto ci = card_index.find(c.number);
    if (ci != card_index.end() && ci->second == pin) {
      card_index.erase(ci);
    }
  }
  users.erase(it);
}

const User* MasterData::find_user(const std::string& pin) const {
  auto it = users.find(pin);
  return it == users.end() ? nullptr : &it->second;
}

const User* MasterData::find_by_card(const std::string& card, const Card** which) const {
  auto ci = card_index.find(card);
  if (ci == card_index.end()) {
    return nullptr;
  }
  const User* user = find_user(ci->second);
  if (user != nullptr && which != nullptr) {
    for (const auto& c : user->cards) {
      if (c.number == card) {
        *which = &c;
      }
    }
  }
  return user;
}

const DoorSettings* MasterData::find_door(const DoorRef& ref) const {
  auto it = doors.find(ref);
  return it == doors.end() ? nullptr : &it->second;
}

int weekday_index(date::local_days day) noexcept {
  return static_cast<int>(date::weekday(day).c_encoding());
}

int holiday_type(const MasterData& data, date::year_month_day day) noexcept {
  if (auto it = data.holidays.find(day); it != data.holidays.end()) {
    return it->second.type;
  }
  // Yearly holidays match on month and day whatever year they were entered for.
  for (const auto& [key, h] : data.holidays) {
    if (h.yearly && key.month() == day.month() && key.day() == day.day()) {
      return h.type;
    }
  }
  return 0;
}

bool timezone_active(const MasterData& data, int id, date::local_seconds time) noexcept {
  auto it = data.timezones.find(id);
  if (it == data.timezones.end()) {
    return false;
  }
  const TimeZone& tz = it->second;
  auto day = date::floor<date::days>(time);
  int minute = static_cast<int>(
      std::chrono::duration_cast<std::chrono::minutes>(time - date::local_seconds(day)).count());
  int htype = holiday_type(data, date::year_month_day(day));
  const DayPeriods& periods = htype >= 1 && htype <= 3
                                  ? tz.holidays[static_cast<std::size_t>(htype - 1)]
                                  : tz.days[static_cast<std::size_t>(weekday_index(day))];
  for (const auto& p : periods) {
    if (p.contains(minute)) {
      return true;
    }
  }
  return false;
}

std::uint32_t encode_period(const Period& period) noexcept {
  auto hhmm = [](int minutes) {
    return static_cast<std::uint32_t>((minutes / 60) * 100 + minutes % 60);
  };
  return (hhmm(period.start) << 16) | hhmm(period.end);
}

std::optional<Period> decode_period(std::uint32_t value) noexcept {
  auto minutes = [](std::uint32_t hhmm) -> std::optional<int> {
    std::uint32_t h = hhmm / 100;
    std::uint32_t m = hhmm % 100;
    if (h > 23 || m > 59) {
      return std::nullopt;
    }
    return static_cast<int>(h * 60 + m);
  };
  auto start = minutes(value >> 16);
  auto end = minutes(value & 0xFFFFu);
  if (!start || !end || *end < *start) {
    return std::nullopt;
  }
  return Period{*start, *end};
}

}  // namespace pushgate::rules::access
