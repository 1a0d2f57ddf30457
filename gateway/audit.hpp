#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "gateway/event.hpp"

namespace pushgate {

// Who changed what, as an event in the event log (published on MQTT like any
// event): written by the API's guard, the account commands, and the
// adapters that take commands from elsewhere (the MQTT command topics).

/**
 * An `audit` event: `actor` did `action` from `from` at `now_ms`. `extra`
 * holds actor, from, action and `details` (an object); `pin` is the actor;
 * it belongs to the gateway itself (terminal `gateway_id`). Its record key
 * is random: two audit events are never taken for one re-upload.
 */
Event make_audit_event(const std::string& gateway_id, const std::string& actor,
                       const std::string& from, const std::string& action, nlohmann::json details,
                       std::int64_t now_ms);

}  // namespace pushgate
