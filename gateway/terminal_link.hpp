#pragma once
// The state of the connection an adapter holds to a device it connects to
// itself (Dahua; not terminals that call in, like ZKTeco PUSH), vendor-
// neutral: the adapter writes it into the terminal's info (TerminalRecord::
// info_json) as "link" (online | backfilling | offline | auth_failed) and
// "link_reason"; the sinks (MQTT terminal status, Modbus slots) read it here,
// knowing nothing of the vendor. Terminals without it are judged by last_seen.

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "gateway/terminals.hpp"

namespace pushgate {

struct TerminalLink {
  std::string state;   ///< online | backfilling | offline | auth_failed
  std::string reason;  ///< why, for offline / auth_failed ("" otherwise)
  /** Connected: "online" and "backfilling" (events flow, commands go). */
  bool online() const noexcept { return state == "online" || state == "backfilling"; }
};

/** The terminal's link state, nullopt when its adapter keeps none. */
inline std::optional<TerminalLink> terminal_link(const TerminalRecord& r) {
  if (r.info_json.find("\"link\"") == std::string::npos) {
    return std::nullopt;  // the common case (called-in terminals), without parsing
  }
  const auto j = nlohmann::json::parse(r.info_json, nullptr, false);
  if (!j.is_object()) {
    return std::nullopt;
  }
  const auto state = j.find("link");
  if (state == j.end() || !state->is_string() || state->get_ref<const std::string&>().empty()) {
    return std::nullopt;
  }
  TerminalLink link;
  link.state = state->get<std::string>();
  if (auto reason = j.find("link_reason"); reason != j.end() && reason->is_string()) {
    link.reason = reason->get<std::string>();
  }
  return link;
}

}  // namespace pushgate
