#include "gateway/status.hpp"

#include <sys/statvfs.h>

#include <utility>

namespace pushgate {

StatusFigures::StatusFigures(std::filesystem::path database_dir, const Health& health)
    : dir_(std::move(database_dir)), health_(health) {}

std::optional<std::uint64_t> StatusFigures::disk_free_bytes() const {
  struct statvfs s {};
  if (statvfs(dir_.empty() ? "." : dir_.c_str(), &s) != 0) {
    return std::nullopt;
  }
  return static_cast<std::uint64_t>(s.f_bavail) * static_cast<std::uint64_t>(s.f_frsize);
}

std::optional<Health::Sink> StatusFigures::sink(const std::string& name) const {
  auto sinks = health_.sinks();
  auto it = sinks.find(name);
  if (it == sinks.end()) {
    return std::nullopt;
  }
  return it->second;
}

}  // namespace pushgate
