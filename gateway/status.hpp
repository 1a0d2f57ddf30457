#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "gateway/health.hpp"

namespace pushgate {

/**
 * Figures about the gateway itself that adapters show (MQTT health payload,
 * Modbus gateway block): free disk space where the database lives and each
 * sink's backlog as the sink last reported it to Health. Thread-safe.
 */
class StatusFigures {
 public:
  /** `database_dir`: the directory holding the database (gateway.data_dir as a rule). */
  StatusFigures(std::filesystem::path database_dir, const Health& health);

  /** Bytes an unprivileged writer can still use there; nullopt when it cannot be measured. */
  std::optional<std::uint64_t> disk_free_bytes() const;

  /** The figures sink `name` last reported; nullopt when no such sink has reported. */
  std::optional<Health::Sink> sink(const std::string& name) const;

 private:
  std::filesystem::path dir_;
  const Health& health_;
};

}  // namespace pushgate
