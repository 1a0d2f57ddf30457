#pragma once

#include <boost/system/error_code.hpp>

#include "gateway/store/sqlite.hpp"

namespace pushgate::store {

/**
 * Applies every numbered migration in gateway/store/migrations/ that the
 * database has not recorded yet, each in its own transaction, recording it in
 * `schema_migrations` (with a `dirty` flag set while it runs, so a migration
 * interrupted outside a transaction is noticed). Refuses a database whose
 * schema is newer than this binary knows. `up_to` > 0 stops after that
 * version (a database as an older release left it, for upgrade tests).
 */
boost::system::error_code migrate(Connection& db, std::string& error_message, int up_to = 0);

/** The schema version this binary brings. */
int latest_schema_version() noexcept;

}  // namespace pushgate::store
