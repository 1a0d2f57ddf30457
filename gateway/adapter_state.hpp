#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/system/error_code.hpp>

#include "gateway/event_log.hpp"

namespace pushgate {

/**
 * Small durable records an adapter keeps for itself, by adapter name and
 * key: the Modbus slot each terminal shows in, a vendor's backfill position
 * per device. Values are the adapter's own text (JSON by convention). An
 * adapter needs no table, no migration and no SQL of its own: the core
 * keeps one table for all of them (gateway/store implements this port).
 *
 * Writes are WriteOps for the caller's WriteBatch, so a record changes
 * atomically with what the same request commits (an event and the cursor
 * that follows it). Keys and values are bounded by the caller: they are
 * meant for a few hundred bytes, not for device data.
 */
class AdapterState {
 public:
  using Entries = std::vector<std::pair<std::string, std::string>>;
  virtual ~AdapterState() = default;
  /** Every key of `adapter` with its value, ordered by key. Blocks on a read (start-up). */
  virtual Entries load(std::string_view adapter, boost::system::error_code& ec) = 0;
  /** Sets `key` of `adapter` to `value` (created or replaced) when the batch commits. */
  virtual WriteOp put(std::string adapter, std::string key, std::string value) = 0;
  /** Removes `key` of `adapter` when the batch commits; nothing when it is absent. */
  virtual WriteOp erase(std::string adapter, std::string key) = 0;
};

}  // namespace pushgate
