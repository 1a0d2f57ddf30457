#pragma once

// One BS2Event of the device SDK (sdk_api.hpp) → one pushgate Event, through
// the one Suprema code table (suprema_codes.hpp). Pure: no I/O, any thread.

#include <cstdint>
#include <string>

#include "adapters/suprema/sdk_api.hpp"
#include "gateway/event.hpp"
#include "gateway/timezone.hpp"

namespace pushgate::adapters::suprema::sdk {

/** The event key: the device's log id ("log:0000000042"), so live and backfill rows meet. */
std::string record_key(EventId id);

/** What the mapping needs besides the row. */
struct MapContext {
  std::string sn;            ///< the terminal (the device id in decimal)
  const Zone* zone;          ///< the device's configured zone: dateTime is its wall clock
  std::int64_t received_ms;  ///< now
  const char* source;        ///< "live" or "backfill" (kept in extra_json)
};

/**
 * The event: kind, grant/refusal, method and reason from the code table
 * (unknown codes stay events of kind operation with "unknown_code"); user id
 * or door id from the row's union by the code's family; the T&A key as the
 * punch state; local time read in the configured zone; the 48 bytes kept
 * as hex in `raw`.
 */
pushgate::Event map_event(const Event& row, const MapContext& ctx);

}  // namespace pushgate::adapters::suprema::sdk
