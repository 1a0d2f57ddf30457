#pragma once

#include <string>
#include <vector>

#include <boost/system/error_code.hpp>

#include "gateway/doors.hpp"
#include "gateway/event_log.hpp"
#include "gateway/store/sqlite.hpp"

namespace pushgate::store {

/**
 * Upserts one door's row of door_state (the terminal's row is created on
 * first sight); empty members are stored as NULL (not reported).
 */
WriteOp upsert_door_state(std::string sn, int door, const DoorState& state);

/**
 * Every stored door, by terminal serial then door number. `updated_ms` is
 * when pushgate stored it. A value the table holds that the door model does
 * not know (written by hand) reads as not reported.
 */
std::vector<DoorRecord> read_door_states(Connection& db, boost::system::error_code& ec);

}  // namespace pushgate::store
