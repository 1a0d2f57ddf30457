#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace pushgate {

/**
 * What /healthz and /readyz report. Components set named checks; healthz is
 * "the process works" (a failing check means restart me), readyz is "ready
 * to take traffic" (adapters listening, store open). Thread-safe.
 */
class Health {
 public:
  enum class Kind { Live, Ready };
  void set(Kind kind, const std::string& check, bool ok, std::string reason = {});
  /** ok, and the failing checks with reasons. */
  std::pair<bool, std::vector<std::pair<std::string, std::string>>> status(Kind kind) const;

  /** An uplink (sink) as /readyz shows it; its own Ready check says whether that is fine. */
  struct Sink {
    bool connected = false;
    std::int64_t since_ms = 0;  ///< UTC ms of the last change of `connected` (0: never)
    std::int64_t backlog_events = 0;
    double backlog_oldest_age_s = 0;  ///< of the oldest undelivered event (0: none)
  };
  void set_sink(const std::string& name, const Sink& sink);
  std::map<std::string, Sink> sinks() const;

  /** Scheduled backups as /readyz shows them: informational, never fails readiness. */
  struct Backup {
    std::int64_t last_success_ms = 0;  ///< UTC ms (0: none yet)
    std::int64_t last_attempt_ms = 0;
    std::int64_t next_ms = 0;
    std::uint64_t failures = 0;  ///< failed attempts since the last success
    std::string last_error;
    std::string last_file;
  };
  void set_backup(const Backup& backup);
  /** nullopt while scheduled backups are off. */
  std::optional<Backup> backup() const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, Sink> sinks_;
  std::optional<Backup> backup_;
  std::map<std::string, std::pair<bool, std::string>> live_;
  std::map<std::string, std::pair<bool, std::string>> ready_;
};

}  // namespace pushgate
