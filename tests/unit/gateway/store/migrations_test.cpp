// Included first: proves the header is self-contained.
#include "gateway/store/migrations.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "gateway/store/migrations_generated.hpp"
#include "gateway/store/store.hpp"
#include "tests/unit/gateway/support/gateway_test_support.hpp"

namespace pushgate::store {
namespace {

using ::testing::HasSubstr;
using ::testing::IsSupersetOf;

// How many migrations the daemon carries. Not latest_schema_version():
// numbers are reserved per change (issue 19), so one may land before a lower
// one and the versions have a gap until the other merges.
std::int64_t migration_count() {
  return static_cast<std::int64_t>(generated::kMigrations.size());
}

class MigrationsTest : public ::testing::Test {
 protected:
  Connection open_db() {
    boost::system::error_code ec;
    auto db = Connection::open(path_, Connection::Options{}, ec);
    EXPECT_FALSE(ec) << ec.message();
    return db;
  }

  std::int64_t scalar(Connection& db, const std::string& sql) {
    boost::system::error_code ec;
    auto st = db.prepare(sql, ec);
    EXPECT_FALSE(ec) << sql << ": " << db.last_error_message();
    if (ec || !st.step(ec)) {
      return -1;
    }
    return st.column_int(0);
  }

  std::vector<std::string> tables(Connection& db) {
    boost::system::error_code ec;
    auto st = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name", ec);
    std::vector<std::string> out;
    while (!ec && st.step(ec)) {
      out.push_back(st.column_text(0));
    }
    return out;
  }

  std::unique_ptr<Store> open_store(std::string& error) {
    Store::Options options;
    options.path = path_;
    return Store::open(options, clock_, metrics_, error);
  }

  test::TempDir dir_;
  std::string path_ = dir_.file("pushgate.db");
  test::FakeClock clock_;
  metrics::Registry metrics_;
};

TEST_F(MigrationsTest, FreshDatabaseGetsEveryMigrationRecordedOnce) {
  auto db = open_db();
  std::string error;
  ASSERT_FALSE(migrate(db, error)) << error;
  ASSERT_GE(latest_schema_version(), 1);
  EXPECT_EQ(scalar(db, "SELECT COUNT(*) FROM schema_migrations"), migration_count());
  EXPECT_EQ(scalar(db, "SELECT MAX(version) FROM schema_migrations"), latest_schema_version());
  EXPECT_EQ(scalar(db, "SELECT MAX(dirty) FROM schema_migrations"), 0);
  EXPECT_THAT(tables(db), IsSupersetOf({"schema_migrations", "terminals", "events", "event_blobs",
                                        "quarantine", "cursors"}));
}

TEST_F(MigrationsTest, SecondRunIsANoOp) {
  auto db = open_db();
  std::string error;
  ASSERT_FALSE(migrate(db, error)) << error;
  auto applied = scalar(db, "SELECT applied_ms FROM schema_migrations WHERE version = 1");
  ASSERT_FALSE(db.exec("INSERT INTO terminals(sn) VALUES('kept')"));
  ASSERT_FALSE(migrate(db, error)) << error;
  EXPECT_EQ(scalar(db, "SELECT COUNT(*) FROM schema_migrations"), migration_count());
  EXPECT_EQ(scalar(db, "SELECT applied_ms FROM schema_migrations WHERE version = 1"), applied);
  EXPECT_EQ(scalar(db, "SELECT COUNT(*) FROM terminals"), 1);
}

TEST_F(MigrationsTest, ReopeningTheStoreDoesNotMigrateAgain) {
  std::string error;
  {
    auto store = open_store(error);
    ASSERT_NE(store, nullptr) << error;
  }
  auto db = open_db();
  auto applied = scalar(db, "SELECT applied_ms FROM schema_migrations WHERE version = 1");
  {
    auto store = open_store(error);
    ASSERT_NE(store, nullptr) << error;
  }
  EXPECT_EQ(scalar(db, "SELECT COUNT(*) FROM schema_migrations"), migration_count());
  EXPECT_EQ(scalar(db, "SELECT applied_ms FROM schema_migrations WHERE version = 1"), applied);
}

TEST_F(MigrationsTest, DatabaseFromNewerVersionIsRefused) {
  auto db = open_db();
  std::string error;
  ASSERT_FALSE(migrate(db, error)) << error;
  auto future = std::to_string(latest_schema_version() + 1);
  ASSERT_FALSE(db.exec("INSERT INTO schema_migrations(version, name, applied_ms, dirty) VALUES(" +
                       future + ", 'from_the_future', 0, 0)"));
  error.clear();
  EXPECT_TRUE(migrate(db, error));
  EXPECT_THAT(error, HasSubstr("newer"));
  EXPECT_THAT(error, HasSubstr(future));

  auto store = open_store(error);
  EXPECT_EQ(store, nullptr);
  EXPECT_THAT(error, HasSubstr("newer"));
}

TEST_F(MigrationsTest, DirtyMigrationIsRefused) {
  auto db = open_db();
  std::string error;
  ASSERT_FALSE(migrate(db, error)) << error;
  ASSERT_FALSE(db.exec("UPDATE schema_migrations SET dirty = 1 WHERE version = 1"));
  error.clear();
  EXPECT_TRUE(migrate(db, error));
  EXPECT_THAT(error, HasSubstr("dirty"));

  auto store = open_store(error);
  EXPECT_EQ(store, nullptr);
  EXPECT_THAT(error, HasSubstr("interrupted"));
}

TEST_F(MigrationsTest, FailedMigrationLeavesNoRecordAndNoPartialSchema) {
  auto db = open_db();
  // A table in the way makes migration 1 fail half-way through its script.
  ASSERT_FALSE(db.exec("CREATE TABLE events(x INTEGER)"));
  std::string error;
  EXPECT_TRUE(migrate(db, error));
  EXPECT_THAT(error, HasSubstr("migration 1"));
  EXPECT_EQ(scalar(db, "SELECT COUNT(*) FROM schema_migrations"), 0);
  EXPECT_EQ(scalar(db, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'terminals'"), 0);
  // Once the obstacle is gone the migration applies.
  ASSERT_FALSE(db.exec("DROP TABLE events"));
  error.clear();
  EXPECT_FALSE(migrate(db, error)) << error;
  EXPECT_EQ(scalar(db, "SELECT COUNT(*) FROM schema_migrations"), migration_count());
}

// Version 10 moved the Modbus slot assignments into the adapters' own
// records: a database of release 8 keeps every slot where it was.
TEST_F(MigrationsTest, ModbusSlotsOfVersion8BecomeTheAdaptersOwnRecords) {
  auto db = open_db();
  std::string error;
  ASSERT_FALSE(migrate(db, error, 8)) << error;
  ASSERT_EQ(scalar(db, "SELECT MAX(version) FROM schema_migrations"), 8);
  ASSERT_FALSE(
      db.exec("INSERT INTO modbus_slots(slot, sn, assigned_ms, origin) VALUES"
              " (1, 'T1', 1000, 'auto'), (3, 'T3', 2000, 'config'),"
              " (12, 'T12', 3000, 'auto')"));
  ASSERT_FALSE(migrate(db, error)) << error;
  EXPECT_EQ(scalar(db, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'modbus_slots'"), 0);
  boost::system::error_code ec;
  auto st = db.prepare(
      "SELECT key, value ->> 'sn', value ->> 'origin', value ->> 'assigned_ms', updated_ms"
      " FROM adapter_state WHERE adapter = 'modbus' ORDER BY key",
      ec);
  ASSERT_FALSE(ec) << db.last_error_message();
  std::vector<std::string> rows;
  while (st.step(ec)) {
    rows.push_back(st.column_text(0) + " " + st.column_text(1) + " " + st.column_text(2) + " " +
                   std::to_string(st.column_int(3)) + " " + std::to_string(st.column_int(4)));
  }
  EXPECT_EQ(rows, (std::vector<std::string>{"slot/00001 T1 auto 1000 1000",
                                            "slot/00003 T3 config 2000 2000",
                                            "slot/00012 T12 auto 3000 3000"}))
      << "keys sort in slot order";
}

}  // namespace
}  // namespace pushgate::store
