#include "gateway/outputs.hpp"

#include <algorithm>

namespace pushgate {

Outputs::Outputs(const std::vector<std::string>& names) {
  for (const auto& n : names) {
    if (names_.size() >= kMax || n.empty() ||
        std::find(names_.begin(), names_.end(), n) != names_.end()) {
      continue;
    }
    names_.push_back(n);
  }
  states_.resize(names_.size());
}

std::optional<std::size_t> Outputs::index(std::string_view name) const {
  for (std::size_t i = 0; i < names_.size(); ++i) {
    if (names_[i] == name) {
      return i;
    }
  }
  return std::nullopt;
}

bool Outputs::set(std::string_view name, bool on, std::int64_t now_ms) {
  auto i = index(name);
  if (!i) {
    return false;
  }
  std::vector<Change> changes;
  {
    std::lock_guard lock(mutex_);
    auto& s = states_[*i];
    s.until_ms = 0;
    if (s.on != on) {
      s.on = on;
      s.changed_ms = now_ms;
      ++s.changes;
      changes.push_back({*i, s});
    }
  }
  notify(changes);
  return true;
}

bool Outputs::pulse(std::string_view name, std::int64_t duration_ms, std::int64_t now_ms) {
  auto i = index(name);
  if (!i) {
    return false;
  }
  std::vector<Change> changes;
  {
    std::lock_guard lock(mutex_);
    auto& s = states_[*i];
    s.until_ms = now_ms + std::max<std::int64_t>(duration_ms, 0);
    if (!s.on) {
      s.on = true;
      s.changed_ms = now_ms;
      ++s.changes;
      changes.push_back({*i, s});
    }
  }
  notify(changes);
  return true;
}

void Outputs::tick(std::int64_t now_ms) {
  std::vector<Change> changes;
  {
    std::lock_guard lock(mutex_);
    for (std::size_t i = 0; i < states_.size(); ++i) {
      auto& s = states_[i];
      if (s.on && s.until_ms != 0 && now_ms >= s.until_ms) {
        s.on = false;
        s.until_ms = 0;
        s.changed_ms = now_ms;
        ++s.changes;
        changes.push_back({i, s});
      }
    }
  }
  notify(changes);
}

std::optional<Outputs::State> Outputs::get(std::string_view name) const {
  auto i = index(name);
  if (!i) {
    return std::nullopt;
  }
  return at(*i);
}

Outputs::State Outputs::at(std::size_t index) const {
  std::lock_guard lock(mutex_);
  return index < states_.size() ? states_[index] : State{};
}

void Outputs::add_observer(Observer observer) {
  std::lock_guard lock(mutex_);
  observers_.push_back(std::move(observer));
}

void Outputs::notify(const std::vector<Change>& changes) {
  if (changes.empty()) {
    return;
  }
  std::vector<Observer> observers;
  {
    std::lock_guard lock(mutex_);
    observers = observers_;
  }
  for (const auto& c : changes) {
    for (const auto& o : observers) {
      o(c.index, names_[c.index], c.state);
    }
  }
}

}  // namespace pushgate
