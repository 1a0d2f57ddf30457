#pragma once

// The simulator's ledger (tests/sim/ledger.hpp: every record a terminal was
// told OK for, fsynced before it counts) against a database file.

#include <cstddef>
#include <set>
#include <string>
#include <utility>

#include "gateway/store/sqlite.hpp"

namespace pushgate::test {

/** A terminal's serial and the record key the gateway publishes. */
using AckedRecord = std::pair<std::string, std::string>;

/**
 * The complete lines of the ledger at `path` (a line still being written is
 * left out) as ATTLOG record keys, "ATTLOG\t<PIN>\t<time>".
 */
std::set<AckedRecord> read_attlog_ledger(const std::string& path);

/**
 * How many of `records` the database does not hold exactly once; a read
 * error counts the record as missing.
 */
std::size_t not_stored_once(store::Connection& db, const std::set<AckedRecord>& records);

}  // namespace pushgate::test
