#pragma once

// sync_items (what each terminal was sent by the sync, or holds from its own
// upload, per item; migration 0007): read a few items at a time as the sync
// plans them, so the gateway keeps no copy of the table in memory (issue 19).

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <boost/system/error_code.hpp>

#include "gateway/event_log.hpp"
#include "gateway/store/sqlite.hpp"

namespace pushgate::store {

/**
 * The rows (item, digest) of terminal `sn` whose item is one of `exact`, or
 * starts with one of `prefixes` ("template/42/"), in item order per name.
 */
std::vector<std::pair<std::string, std::string>> read_sync_items(
    Connection& db, const std::string& sn, const std::vector<std::string>& exact,
    const std::vector<std::string>& prefixes, boost::system::error_code& ec);

/** The terminals that have at least one row (what the sync served before). */
std::vector<std::string> read_sync_terminals(Connection& db, boost::system::error_code& ec);

/** `sn` holds `item` as `digest` ("" means deleted). */
WriteOp upsert_sync_item(std::string sn, std::string item, std::string digest,
                         std::int64_t updated_ms);

/** `sn` does not hold `item` (its command was not done): planned again. */
WriteOp delete_sync_item(std::string sn, std::string item);

}  // namespace pushgate::store
