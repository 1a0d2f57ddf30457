#pragma once

#include <vector>

#include <boost/system/error_code.hpp>

#include "gateway/event_log.hpp"
#include "gateway/store/sqlite.hpp"
#include "gateway/terminals.hpp"

namespace pushgate::store {

/**
 * Every row of `terminals`. The capabilities column is JSON (see
 * DeviceCapabilities); a value that does not parse reads as the defaults.
 */
std::vector<TerminalRecord> read_terminals(Connection& db, boost::system::error_code& ec);

/**
 * Stores the record (upsert by serial). Empty text members do not overwrite
 * what is stored; first_seen only moves back, last_seen only forward.
 */
WriteOp upsert_terminal(TerminalRecord record);

}  // namespace pushgate::store
