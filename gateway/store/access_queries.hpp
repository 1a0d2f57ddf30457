#pragma once

// The SQL of local access control (gateway/access): master-data rows, each
// the JSON form of rules/access, and anti-passback positions (tables of
// migrations/0006_access.sql), plus the door sensors the service starts
// with. The store knows the rows, not their meaning: documents are text, so
// pushgate_core stays free of the access rules. Like event_queries.hpp: the
// writes run inside the store's writer (WriteOps), the read on a reader
// connection (Store::read); all block on SQLite and keep nothing.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <boost/system/error_code.hpp>

#include "gateway/store/sqlite.hpp"
#include "gateway/store/write_context.hpp"

namespace pushgate::store {

/** The master-data tables keyed by an integer id. */
enum class AccessDocTable { TimeZones, Levels, Areas };

/** One card of a user: access_cards(card, pin, lost). */
struct AccessCardRow {
  std::string number;
  bool lost = false;
};

/** An anti-passback position: access_apb(pin, area, since_ms). */
struct AccessPositionRow {
  std::string pin;
  int area = 0;
  std::int64_t since_ms = 0;
};

/** A door's last reported sensor: door_state joined with terminals. */
struct DoorSensorRow {
  std::string sn;
  int door = 0;
  std::string sensor;  ///< "" when none was reported
};

/** Everything the access service loads at start, each list in key order. */
struct AccessRows {
  std::vector<std::string> timezones;  ///< JSON documents, by id
  std::vector<std::string> holidays;   ///< by day
  std::vector<std::string> areas;      ///< by id
  std::vector<std::string> levels;     ///< by id
  std::vector<std::string> doors;      ///< by terminal serial, door
  std::vector<std::string> users;      ///< by pin
  std::vector<AccessPositionRow> positions;
  std::vector<DoorSensorRow> door_sensors;
};

/** Reads every access table; on `ec` the rows read so far are returned. */
AccessRows read_access_rows(Connection& db, boost::system::error_code& ec);

/** Inserts or replaces a user and replaces its cards. */
boost::system::error_code put_access_user(WriteContext& ctx, std::string_view pin,
                                          std::string_view doc, std::string_view source,
                                          const std::vector<AccessCardRow>& cards,
                                          std::int64_t now_ms);
/** Deletes a user with its cards and its anti-passback position. */
boost::system::error_code delete_access_user(WriteContext& ctx, std::string_view pin);

boost::system::error_code put_access_doc(WriteContext& ctx, AccessDocTable table, std::int64_t id,
                                         std::string_view doc, std::int64_t now_ms);
boost::system::error_code delete_access_doc(WriteContext& ctx, AccessDocTable table,
                                            std::int64_t id);

/** `day` is YYYY-MM-DD. */
boost::system::error_code put_access_holiday(WriteContext& ctx, std::string_view day,
                                             std::string_view doc, std::int64_t now_ms);
boost::system::error_code delete_access_holiday(WriteContext& ctx, std::string_view day);

boost::system::error_code put_access_door(WriteContext& ctx, std::string_view sn, int door,
                                          std::string_view doc, std::int64_t now_ms);
boost::system::error_code delete_access_door(WriteContext& ctx, std::string_view sn, int door);

/**
 * Moves a user's position, never an older one over a newer: a decision and a
 * terminal's record of a passage commit in separate batches, in either order.
 */
boost::system::error_code put_access_position(WriteContext& ctx, std::string_view pin, int area,
                                              std::int64_t since_ms);
/** Forgets one user's position. */
boost::system::error_code delete_access_position(WriteContext& ctx, std::string_view pin);
/** Forgets every position. */
boost::system::error_code delete_access_positions(WriteContext& ctx);

}  // namespace pushgate::store
