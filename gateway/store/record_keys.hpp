#pragma once
// How events.record_key is stored, and the dedup of records stored before
// migration 0012 (issue 19, flat ingest cost).
//
// An ATTLOG record's key is "ATTLOG\t<PIN>\t<time>" (adapters/zkpush). The
// event log's UNIQUE(terminal_id, record_key) index ordered a terminal's
// punches by PIN first, so every upload of N punches by P different users
// dirtied about P index leaves spread over the terminal's whole history:
// once a terminal's history outgrows a leaf per user, each commit wrote a
// WAL page per record and the page cache (2 MB) missed, so the CPU per
// record grew with the history stored. Stored time first,
// "ATTLOG@<time>\t<PIN>", a terminal's punches go in at the right edge of its
// part of the index: a commit dirties a handful of leaves whatever the
// history. The key everybody sees (MQTT, REST, the event JSON) is unchanged:
// the store translates on the way in and out.
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include <boost/system/error_code.hpp>

#include "gateway/store/sqlite.hpp"

namespace pushgate::store {

class WriteContext;

/** The events.record_key column for the record key `key`. */
std::string stored_record_key(std::string_view key);

/** The record key of the events.record_key column `stored` (the inverse). */
std::string public_record_key(std::string_view stored);

/**
 * ATTLOG records stored before migration 0012 keep their key as sent
 * ("ATTLOG\t<PIN>\t<time>"). Migration 0012 noted, per terminal, the latest
 * punch time among them; a record at or before that time may be such a row
 * and is looked up under its old key too, so a terminal that resends it
 * after the upgrade still gets a duplicate, not a second punch. Records after
 * that time (everything a terminal punches after the upgrade) cost nothing.
 * Writer thread only.
 */
class LegacyAttlogKeys {
 public:
  /** Reads the horizons (attlog_legacy_keys). */
  boost::system::error_code load(Connection& db);

  /** True when terminal `terminal_id` already holds `key` under its pre-0012 form. */
  bool holds(WriteContext& ctx, std::int64_t terminal_id, std::string_view key,
             boost::system::error_code& ec);

 private:
  std::unordered_map<std::int64_t, std::string> horizon_;  // terminal id -> latest time
};

}  // namespace pushgate::store
