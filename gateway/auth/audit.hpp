#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "gateway/event.hpp"

namespace pushgate::auth {

/**
 * An `audit` event: `actor` did `action` from `from` at `now_ms`. `extra`
 * holds actor, from, action and `details` (an object); `pin` is the actor;
 * it belongs to the gateway itself (terminal `gateway_id`).
 */
Event make_audit_event(const std::string& gateway_id, const std::string& actor,
                       const std::string& from, const std::string& action, nlohmann::json details,
                       std::int64_t now_ms);

}  // namespace pushgate::auth
