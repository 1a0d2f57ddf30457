#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

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

/**
 * The same JSON as event_to_json(), written straight into `out` (the MQTT
 * drain writes one per message, tens of thousands a second): with `replay`
 * it carries that flag too. Keys come in sorted order; text from devices is
 * escaped with invalid UTF-8 replaced by U+FFFD.
 */
void append_event_json(std::string& out, const Event& e, std::optional<bool> replay);

/** Appends `s` as a JSON string: escaped, invalid UTF-8 replaced by U+FFFD. */
void append_json_string(std::string& out, std::string_view s);

}  // namespace pushgate

namespace pushgate {
/** Serialises JSON for the wire; invalid UTF-8 from devices is replaced, never thrown on. */
std::string dump_json(const nlohmann::json& j, int indent = -1);
}  // namespace pushgate
