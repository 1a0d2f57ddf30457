#include "gateway/store/migrations.hpp"

#include <chrono>
#include <string>

#include "gateway/store/migrations_generated.hpp"

namespace pushgate::store {

int latest_schema_version() noexcept {
  return generated::kMigrations.empty() ? 0 : generated::kMigrations.back().version;
}

boost::system::error_code migrate(Connection& db, std::string& error_message, int up_to) {
  if (auto ec = db.exec("CREATE TABLE IF NOT EXISTS schema_migrations ("
                        " version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
                        " applied_ms INTEGER NOT NULL, dirty INTEGER NOT NULL DEFAULT 0)")) {
    error_message = "cannot create schema_migrations: " + db.last_error_message();
    return ec;
  }
  boost::system::error_code ec;
  auto q = db.prepare(
      "SELECT COALESCE(MAX(version),0), COALESCE(MAX(dirty),0) FROM schema_migrations", ec);
  if (ec) {
    error_message = db.last_error_message();
    return ec;
  }
  int current = 0;
  bool dirty = false;
  if (q.step(ec)) {
    current = static_cast<int>(q.column_int(0));
    dirty = q.column_int(1) != 0;
  }
  q = Statement{};
  if (dirty) {
    error_message =
        "a schema migration was interrupted (schema_migrations.dirty=1); restore a backup";
    return make_sqlite_error(11 /* SQLITE_CORRUPT */);
  }
  if (current > latest_schema_version()) {
    error_message = "database schema version " + std::to_string(current) +
                    " is newer than this pushgated knows (" +
                    std::to_string(latest_schema_version()) + "); refusing to run";
    return make_sqlite_error(1 /* SQLITE_ERROR */);
  }
  for (const auto& m : generated::kMigrations) {
    if (m.version <= current) {
      continue;
    }
    if (up_to > 0 && m.version > up_to) {
      break;
    }
    auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
    std::string sql = "BEGIN IMMEDIATE;\n";
    sql += "INSERT INTO schema_migrations(version,name,applied_ms,dirty) VALUES(" +
           std::to_string(m.version) + ",'" + std::string(m.name) + "'," + std::to_string(now) +
           ",1);\n";
    sql += m.sql;
    sql += "\nUPDATE schema_migrations SET dirty=0 WHERE version=" + std::to_string(m.version) +
           ";\nCOMMIT;";
    if (auto e = db.exec(sql)) {
      error_message = "migration " + std::to_string(m.version) + "_" + std::string(m.name) +
                      " failed: " + db.last_error_message();
      db.exec("ROLLBACK");
      return e;
    }
  }
  return {};
}

}  // namespace pushgate::store
