#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "gateway/event.hpp"

namespace pushgate {

/** "2020-09-23T18:01:24.000Z" for a UTC millisecond time. */
std::string format_utc_iso8601(std::int64_t utc_ms);

/**
 * The one JSON form of an event, used by the REST API and the MQTT payloads:
 * `time` is the terminal-local time in ISO-8601 with its UTC offset
 * ("2020-09-23T13:01:24-05:00"), `utc` the same instant in UTC; both are
 * null when the terminal's clock sent garbage (then `local_time` keeps what
 * it sent). Unset integer fields are null.
 */
nlohmann::json event_to_json(const Event& e);

}  // namespace pushgate

namespace pushgate {
/** Serialises JSON for the wire; invalid UTF-8 from devices is replaced, never thrown on. */
std::string dump_json(const nlohmann::json& j, int indent = -1);
}  // namespace pushgate
