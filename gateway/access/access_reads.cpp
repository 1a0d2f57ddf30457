#include "gateway/access/access_service.hpp"

#include "gateway/access/access_internal.hpp"
#include "gateway/event_json.hpp"

// The reads of AccessService behind the REST API (access_api.cpp): master
// data pages and entities, anti-passback positions, snapshots.

namespace pushgate::access {

using nlohmann::json;

json AccessService::list(EntityKind kind, const std::string& after, std::size_t limit) const {
  json out = json::array();
  std::lock_guard lock(mutex_);
  auto page = [&](const auto& map, auto key_of) {
    for (const auto& [k, v] : map) {
      if (out.size() >= limit) {
        break;
      }
      if (!after.empty() && !(key_of(k) > after)) {
        continue;
      }
      out.push_back(as_json(v));
    }
  };
  switch (kind) {
    case EntityKind::User:
      page(data_.users, [](const std::string& k) { return k; });
      break;
    case EntityKind::TimeZone:
      // Numeric keys page numerically: "after" is compared as a number.
      for (const auto& [id, v] : data_.timezones) {
        if (out.size() < limit && (after.empty() || id > positive_int(after).value_or(0))) {
          out.push_back(as_json(v));
        }
      }
      break;
    case EntityKind::Holiday:
      page(data_.holidays, [](const date::year_month_day& k) { return ra::format_day(k); });
      break;
    case EntityKind::Level:
      for (const auto& [id, v] : data_.levels) {
        if (out.size() < limit && (after.empty() || id > positive_int(after).value_or(0))) {
          out.push_back(as_json(v));
        }
      }
      break;
    case EntityKind::Door:
      page(data_.doors, [](const ra::DoorRef& k) { return door_key(k); });
      break;
    case EntityKind::Area:
      for (const auto& [id, v] : data_.areas) {
        if (out.size() < limit && (after.empty() || id > positive_int(after).value_or(0))) {
          out.push_back(as_json(v));
        }
      }
      break;
  }
  return out;
}

std::optional<json> AccessService::get(EntityKind kind, const std::string& key) const {
  std::lock_guard lock(mutex_);
  auto find = [](const auto& map, const auto& k) -> std::optional<json> {
    auto it = map.find(k);
    if (it == map.end()) {
      return std::nullopt;
    }
    return as_json(it->second);
  };
  switch (kind) {
    case EntityKind::User:
      return find(data_.users, key);
    case EntityKind::TimeZone:
      if (auto id = positive_int(key)) {
        return find(data_.timezones, *id);
      }
      return std::nullopt;
    case EntityKind::Holiday:
      if (auto day = ra::parse_day(key)) {
        return find(data_.holidays, *day);
      }
      return std::nullopt;
    case EntityKind::Level:
      if (auto id = positive_int(key)) {
        return find(data_.levels, *id);
      }
      return std::nullopt;
    case EntityKind::Door:
      if (auto ref = ra::parse_door_ref(key)) {
        auto j = find(data_.doors, *ref);
        if (j) {
          auto live = decider_.door_state(*ref);
          (*j)["state"] = {{"sensor_open", live.sensor_open},
                           {"opened_until", live.granted_until_ms != 0
                                                ? json(format_utc_iso8601(live.granted_until_ms))
                                                : json()}};
        }
        return j;
      }
      return std::nullopt;
    case EntityKind::Area:
      if (auto id = positive_int(key)) {
        return find(data_.areas, *id);
      }
      return std::nullopt;
  }
  return std::nullopt;
}

json AccessService::positions() const {
  json out = json::object();
  std::lock_guard lock(mutex_);
  for (const auto& [pin, u] : data_.users) {
    if (auto p = decider_.position(pin)) {
      out[pin] = {{"area", p->area}, {"since", format_utc_iso8601(p->since_ms)}};
    }
  }
  return out;
}

ra::MasterData AccessService::snapshot() const {
  std::lock_guard lock(mutex_);
  return data_;
}

}  // namespace pushgate::access
