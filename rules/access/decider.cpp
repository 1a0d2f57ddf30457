#include "rules/access/decider.hpp"

#include <algorithm>

namespace pushgate::rules::access {

int event_code(Reason reason) noexcept {
  return static_cast<int>(reason);
}

std::string_view describe(Reason reason) noexcept {
  switch (reason) {
    case Reason::Granted:
      return "access granted";
    case Reason::NormalOpen:
      return "normal-open period";
    case Reason::FirstCard:
      return "first card: door normal open";
    case Reason::MultiCard:
      return "multi-card opening";
    case Reason::TooSoon:
      return "too soon after the last pass";
    case Reason::OutsideTimeZone:
      return "outside the valid time zone";
    case Reason::NoAccess:
      return "no access to this door";
    case Reason::AntiPassback:
      return "anti-passback";
    case Reason::Interlock:
      return "interlock: another door is open";
    case Reason::MultiCardWaiting:
      return "multi-card: waiting for others";
    case Reason::NotRegistered:
      return "not registered";
    case Reason::Expired:
      return "outside the validity period";
    case Reason::CardLost:
      return "card reported lost";
    case Reason::Blacklisted:
      return "blacklisted";
    case Reason::MultiCardFailed:
      return "multi-card: group not allowed";
    case Reason::WrongVerifyMode:
      return "wrong verification mode";
    case Reason::Disabled:
      return "user disabled";
    case Reason::DoorLocked:
      return "door locked";
    case Reason::Duress:
      return "duress";
  }
  return "unknown";
}

bool is_grant(Reason reason) noexcept {
  switch (reason) {
    case Reason::Granted:
    case Reason::NormalOpen:
    case Reason::FirstCard:
    case Reason::MultiCard:
    case Reason::Duress:
      return true;
    default:
      return false;
  }
}

namespace {

bool given(const std::string& id) {
  return !id.empty() && id != "0";
}

Decision refuse(Decision d, Reason reason) {
  d.reason = reason;
  d.granted = false;
  d.open_s = 0;
  d.positions.clear();
  return d;
}

// The area a passage through `door` enters, and the one it leaves. An
// unknown direction counts as entering, as a reader without a direction
// is an entry reader.
std::pair<int, int> passage_areas(const DoorSettings& door, Direction direction) {
  bool out = direction == Direction::Out;
  return {out ? door.area_out : door.area_in, out ? door.area_in : door.area_out};
}

ApbMode apb_of(const MasterData& data, int area) {
  if (area == 0) {
    return ApbMode::None;
  }
  auto it = data.areas.find(area);
  return it == data.areas.end() ? ApbMode::None : it->second.apb;
}

int reset_of(const MasterData& data, int area) {
  auto it = data.areas.find(area);
  return it == data.areas.end() ? 0 : it->second.reset_s;
}

/** Every combination's groups covered by the people waiting (one person per entry). */
bool combination_met(const std::vector<int>& combination,
                     const std::vector<std::pair<std::string, int>>& people) {
  if (combination.empty()) {
    return false;
  }
  std::map<int, int> have;
  for (const auto& p : people) {
    ++have[p.second];
  }
  std::map<int, int> need;
  for (int g : combination) {
    ++need[g];
  }
  return std::all_of(need.begin(), need.end(),
                     [&](const auto& n) { return have[n.first] >= n.second; });
}

}  // namespace

std::optional<Position> Decider::current_position(const MasterData& data, const std::string& pin,
                                                  std::int64_t now_ms) const {
  auto it = positions_.find(pin);
  if (it == positions_.end()) {
    return std::nullopt;
  }
  // Timed reset: the area the user is in says how long a position lasts.
  // Outside (area 0) positions last as long as the shortest reset of any
  // area, so an out-passback is forgiven no later than an in-passback.
  int reset_s = 0;
  if (it->second.area != 0) {
    reset_s = reset_of(data, it->second.area);
  } else {
    for (const auto& [id, a] : data.areas) {
      if (a.reset_s > 0 && (reset_s == 0 || a.reset_s < reset_s)) {
        reset_s = a.reset_s;
      }
    }
  }
  if (reset_s > 0 && now_ms - it->second.since_ms >= static_cast<std::int64_t>(reset_s) * 1000) {
    return std::nullopt;
  }
  return it->second;
}

bool Decider::door_open(const DoorRef& door, std::int64_t now_ms) const {
  auto it = doors_.find(door);
  if (it == doors_.end()) {
    return false;
  }
  return it->second.sensor_open || it->second.relay_on || now_ms < it->second.granted_until_ms;
}

Decision Decider::grant(Decision d, Reason reason, int open_s, const DoorSettings* door,
                        const Request& request) {
  d.reason = reason;
  d.granted = true;
  d.open_s = open_s;
  last_pass_ms_[{d.pin, request.door}] = request.now_ms;
  int seconds = door != nullptr ? door->open_s : 5;
  doors_[request.door].granted_until_ms =
      request.now_ms + static_cast<std::int64_t>(seconds) * 1000;
  d.previous.clear();
  for (const auto& [pin, pos] : d.positions) {
    d.previous.push_back(position(pin));
    positions_[pin] = pos;
  }
  return d;
}

Decision Decider::decide(const MasterData& data, const Request& request) {
  Decision d;
  const DoorSettings* door = data.find_door(request.door);
  // An unconfigured door has the defaults: no anti-passback, no interlock,
  // 5 s; still, only a level naming it admits anyone.
  const int open_s = door != nullptr ? door->open_s : 5;
  d.pin = given(request.pin) ? request.pin : "";
  if (door != nullptr && door->disabled) {
    return refuse(std::move(d), Reason::DoorLocked);
  }

  // Who.
  const User* user = nullptr;
  const Card* card = nullptr;
  if (given(request.pin)) {
    user = data.find_user(request.pin);
    if (user != nullptr && given(request.card)) {
      for (const auto& c : user->cards) {
        if (c.number == request.card) {
          card = &c;
        }
      }
    }
  } else if (given(request.card)) {
    user = data.find_by_card(request.card, &card);
  }
  if (user == nullptr) {
    return refuse(std::move(d), Reason::NotRegistered);
  }
  d.pin = user->pin;
  if (card != nullptr && card->lost) {
    return refuse(std::move(d), Reason::CardLost);
  }
  if (user->blacklisted) {
    return refuse(std::move(d), Reason::Blacklisted);
  }
  if (user->disabled) {
    return refuse(std::move(d), Reason::Disabled);
  }
  if ((user->valid_from && request.local_time < *user->valid_from) ||
      (user->valid_until && request.local_time > *user->valid_until)) {
    return refuse(std::move(d), Reason::Expired);
  }
  if (door != nullptr && door->verify_mode != 0 && request.verify_mode >= 0 &&
      request.verify_mode != door->verify_mode) {
    return refuse(std::move(d), Reason::WrongVerifyMode);
  }

  // When and where.
  if (door != nullptr && door->valid_tz != 0 &&
      !timezone_active(data, door->valid_tz, request.local_time)) {
    return refuse(std::move(d), Reason::OutsideTimeZone);
  }
  bool covers = false;
  bool in_time = false;
  for (int id : user->levels) {
    auto lit = data.levels.find(id);
    if (lit == data.levels.end()) {
      continue;
    }
    const Level& level = lit->second;
    if (std::find(level.doors.begin(), level.doors.end(), request.door) == level.doors.end()) {
      continue;
    }
    covers = true;
    if (timezone_active(data, level.timezone, request.local_time)) {
      in_time = true;
      break;
    }
  }
  if (!covers) {
    return refuse(std::move(d), Reason::NoAccess);
  }
  if (!in_time) {
    return refuse(std::move(d), Reason::OutsideTimeZone);
  }
  if (door != nullptr && door->intertime_s > 0) {
    auto it = last_pass_ms_.find({user->pin, request.door});
    if (it != last_pass_ms_.end() &&
        request.now_ms - it->second < static_cast<std::int64_t>(door->intertime_s) * 1000) {
      return refuse(std::move(d), Reason::TooSoon);
    }
  }

  // Normal-open period: the door is (or, with first card, becomes) unlocked;
  // anti-passback and interlock cannot hold a door that stands open.
  if (door != nullptr && door->keep_open_tz != 0 &&
      timezone_active(data, door->keep_open_tz, request.local_time)) {
    auto today = date::floor<date::days>(request.local_time);
    if (!door->first_card) {
      return grant(std::move(d), Reason::NormalOpen, open_s, door, request);
    }
    auto& fc = first_card_[request.door];
    if (fc.active && fc.day == today) {
      return grant(std::move(d), Reason::NormalOpen, open_s, door, request);
    }
    for (const auto& f : door->first_card_users) {
      if (f.pin == user->pin && timezone_active(data, f.timezone, request.local_time)) {
        fc.day = today;
        fc.active = true;
        return grant(std::move(d), Reason::FirstCard, 255, door, request);
      }
    }
    // Not yet opened by a first-card user: an ordinary verification below.
  }

  // Interlock: any other door of the group open (on any terminal) refuses.
  if (door != nullptr && door->interlock != 0) {
    for (const auto& [ref, other] : data.doors) {
      if (other.interlock == door->interlock && !(ref == request.door) &&
          door_open(ref, request.now_ms)) {
        return refuse(std::move(d), Reason::Interlock);
      }
    }
  }

  // Anti-passback across every reader of the site.
  if (door != nullptr) {
    auto [target, leaving] = passage_areas(*door, request.direction);
    ApbMode entering_mode = apb_of(data, target);
    ApbMode leaving_mode = apb_of(data, leaving);
    if (entering_mode != ApbMode::None || leaving_mode != ApbMode::None) {
      bool violation = false;
      bool hard = false;
      if (auto pos = current_position(data, user->pin, request.now_ms)) {
        if (entering_mode != ApbMode::None && pos->area == target) {
          violation = true;  // already inside: the card was passed back
          hard = hard || entering_mode == ApbMode::Hard;
        }
        if (leaving_mode != ApbMode::None && pos->area != leaving) {
          violation = true;  // leaving an area never entered
          hard = hard || leaving_mode == ApbMode::Hard;
        }
      }
      if (hard) {
        return refuse(std::move(d), Reason::AntiPassback);
      }
      d.apb_violation = violation;
      d.positions.push_back({user->pin, Position{target, request.now_ms}});
    }
  }

  // Multi-card: the door opens for a group, each verifying in turn.
  if (door != nullptr && door->multi_card) {
    auto& w = waiting_[request.door];
    if (request.now_ms - w.last_ms >
        static_cast<std::int64_t>(door->multi_card_interval_s) * 1000) {
      w.people.clear();
    }
    bool known_group = std::any_of(
        door->multi_card_groups.begin(), door->multi_card_groups.end(), [&](const auto& combo) {
          return std::find(combo.begin(), combo.end(), user->group) != combo.end();
        });
    if (!known_group) {
      return refuse(std::move(d), Reason::MultiCardFailed);
    }
    w.last_ms = request.now_ms;
    bool already = std::any_of(w.people.begin(), w.people.end(),
                               [&](const auto& p) { return p.first == user->pin; });
    if (!already) {
      w.people.push_back({user->pin, user->group});
    }
    for (const auto& combo : door->multi_card_groups) {
      if (combination_met(combo, w.people)) {
        auto positions = std::move(d.positions);
        d.positions.clear();
        if (!positions.empty()) {
          for (const auto& p : w.people) {
            d.positions.push_back(
                {p.first, Position{positions.front().second.area, request.now_ms}});
          }
        }
        w.people.clear();
        return grant(std::move(d), Reason::MultiCard, open_s, door, request);
      }
    }
    bool violation = d.apb_violation;
    d = refuse(std::move(d), Reason::MultiCardWaiting);
    d.apb_violation = violation;
    return d;
  }

  bool duress = request.terminal_event == 101 || request.terminal_event == 103;
  return grant(std::move(d), duress ? Reason::Duress : Reason::Granted, open_s, door, request);
}

std::optional<Position> Decider::note_pass(const MasterData& data, const DoorRef& door_ref,
                                           const std::string& pin, Direction direction,
                                           std::int64_t at_ms) {
  const DoorSettings* door = data.find_door(door_ref);
  if (door == nullptr || !given(pin)) {
    return std::nullopt;
  }
  auto [target, leaving] = passage_areas(*door, direction);
  if (apb_of(data, target) == ApbMode::None && apb_of(data, leaving) == ApbMode::None) {
    return std::nullopt;  // this door moves nobody for anti-passback
  }
  auto it = positions_.find(pin);
  if (it != positions_.end() && (it->second.since_ms >= at_ms || it->second.area == target)) {
    // A later decision stands (a late upload must not undo it), or the
    // terminal is confirming the passage pushgate itself granted.
    return std::nullopt;
  }
  Position pos{target, at_ms};
  positions_[pin] = pos;
  return pos;
}

void Decider::load_positions(std::unordered_map<std::string, Position> positions) {
  positions_ = std::move(positions);
}

void Decider::restore_position(const std::string& pin, std::optional<Position> before) {
  if (before) {
    positions_[pin] = *before;
  } else {
    positions_.erase(pin);
  }
}

std::optional<Position> Decider::position(const std::string& pin) const {
  auto it = positions_.find(pin);
  if (it == positions_.end()) {
    return std::nullopt;
  }
  return it->second;
}

void Decider::forget_position(const std::string& pin) {
  positions_.erase(pin);
}

void Decider::forget_all_positions() {
  positions_.clear();
}

void Decider::set_door_state(const DoorRef& door, std::optional<bool> sensor_open,
                             std::optional<bool> relay_on) {
  auto& live = doors_[door];
  if (sensor_open) {
    live.sensor_open = *sensor_open;
  }
  if (relay_on) {
    live.relay_on = *relay_on;
  }
}

DoorLive Decider::door_state(const DoorRef& door) const {
  auto it = doors_.find(door);
  return it == doors_.end() ? DoorLive{} : it->second;
}

}  // namespace pushgate::rules::access
