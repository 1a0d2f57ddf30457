#pragma once

#include <map>
#include <mutex>
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

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::pair<bool, std::string>> live_;
  std::map<std::string, std::pair<bool, std::string>> ready_;
};

}  // namespace pushgate
