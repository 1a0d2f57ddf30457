#include "rules/attendance/timecard_engine.hpp"

#include <algorithm>
#include <functional>
#include <set>

namespace pushgate::rules::attendance {

std::size_t TimecardEngine::IdentityHash::operator()(const Identity& id) const noexcept {
  const std::size_t a = std::hash<std::string>{}(id.terminal_sn);
  const std::size_t b = std::hash<std::int64_t>{}(id.event_id);
  return a ^ (b + 0x9e3779b97f4a7c15ULL + (a << 6) + (a >> 2));
}

std::size_t TimecardEngine::DayKeyHash::operator()(const DayKey& key) const noexcept {
  const std::size_t a = std::hash<std::string>{}(key.pin);
  const std::size_t b = std::hash<long>{}(key.day.time_since_epoch().count());
  return a ^ (b + 0x9e3779b97f4a7c15ULL + (a << 6) + (a >> 2));
}

TimecardEngine::TimecardEngine(std::shared_ptr<const Rules> rules)
    : scheduler_(std::make_unique<Scheduler>(std::move(rules))) {}

DayKey TimecardEngine::owner(const Punch& punch) const {
  return {punch.pin, scheduler_->owner_day(punch.pin, punch.local)};
}

DayKey TimecardEngine::insert(const Punch& punch) {
  DayKey key = owner(punch);
  std::vector<Punch>& day = days_[key];
  day.insert(std::upper_bound(day.begin(), day.end(), punch, punch_before), punch);
  return key;
}

void TimecardEngine::erase(const Punch& punch) {
  const auto day = days_.find(owner(punch));
  if (day == days_.end()) {
    return;
  }
  auto& list = day->second;
  list.erase(std::remove(list.begin(), list.end(), punch), list.end());
  if (list.empty()) {
    days_.erase(day);
  }
}

std::vector<DayKey> TimecardEngine::add_punches(std::span<const Punch> punches) {
  std::set<DayKey> changed;
  for (const Punch& punch : punches) {
    Identity id{punch.terminal_sn, punch.event_id};
    auto it = identities_.find(id);
    if (it != identities_.end()) {
      // Same record again (a re-upload), or a different record under the same
      // identity: keep the canonical first so arrival order never matters.
      if (!punch_before(punch, it->second)) {
        continue;
      }
      changed.insert(owner(it->second));
      erase(it->second);
      it->second = punch;
    } else {
      identities_.emplace(std::move(id), punch);
    }
    changed.insert(insert(punch));
  }
  return {changed.begin(), changed.end()};
}

std::vector<DayKey> TimecardEngine::replace_rules(std::shared_ptr<const Rules> rules) {
  std::set<DayKey> changed;
  for (const auto& [key, list] : days_) {
    changed.insert(key);
  }
  scheduler_ = std::make_unique<Scheduler>(std::move(rules));
  days_.clear();
  for (const auto& [id, punch] : identities_) {
    changed.insert(insert(punch));
  }
  return {changed.begin(), changed.end()};
}

std::span<const Punch> TimecardEngine::punches(const DayKey& key) const {
  const auto day = days_.find(key);
  if (day == days_.end()) {
    return {};
  }
  return day->second;
}

Timecard TimecardEngine::timecard(const DayKey& key, const ComputeContext& context) const {
  return compute_timecard(scheduler_->rules(), scheduler_->plan_day(key.pin, key.day), punches(key),
                          context);
}

std::vector<std::string> TimecardEngine::pins() const {
  std::set<std::string> all;
  for (const User& u : scheduler_->rules().users) {
    all.insert(u.pin);
  }
  for (const auto& [key, list] : days_) {
    all.insert(key.pin);
  }
  return {all.begin(), all.end()};
}

std::vector<DayKey> TimecardEngine::finalized_between(date::local_seconds after,
                                                      date::local_seconds until) const {
  std::vector<DayKey> result;
  if (until <= after) {
    return result;
  }
  // A day's window ends at most two calendar days after it starts.
  const date::local_days first = date::floor<date::days>(after) - date::days{2};
  const date::local_days last = date::floor<date::days>(until);
  for (const std::string& pin : pins()) {
    for (date::local_days day = first; day <= last; day += date::days{1}) {
      const DayPlan plan = scheduler_->plan_day(pin, day);
      if (after < plan.window_end && plan.window_end <= until) {
        result.push_back({pin, day});
      }
    }
  }
  return result;
}

}  // namespace pushgate::rules::attendance
