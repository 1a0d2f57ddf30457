#include "gateway/health.hpp"

namespace pushgate {

void Health::set(Kind kind, const std::string& check, bool ok, std::string reason) {
  std::lock_guard lock(mutex_);
  (kind == Kind::Live ? live_ : ready_)[check] = {ok, std::move(reason)};
}

std::pair<bool, std::vector<std::pair<std::string, std::string>>> Health::status(Kind kind) const {
  std::lock_guard lock(mutex_);
  const auto& m = kind == Kind::Live ? live_ : ready_;
  std::vector<std::pair<std::string, std::string>> failing;
  for (const auto& [name, v] : m) {
    if (!v.first) {
      failing.emplace_back(name, v.second);
    }
  }
  // Ready needs every live check too.
  if (kind == Kind::Ready) {
    for (const auto& [name, v] : live_) {
      if (!v.first) {
        failing.emplace_back(name, v.second);
      }
    }
  }
  return {failing.empty(), std::move(failing)};
}

void Health::set_sink(const std::string& name, const Sink& sink) {
  std::lock_guard lock(mutex_);
  sinks_[name] = sink;
}

std::map<std::string, Health::Sink> Health::sinks() const {
  std::lock_guard lock(mutex_);
  return sinks_;
}

void Health::set_backup(const Backup& backup) {
  std::lock_guard lock(mutex_);
  backup_ = backup;
}

std::optional<Health::Backup> Health::backup() const {
  std::lock_guard lock(mutex_);
  return backup_;
}

}  // namespace pushgate
