// ATTLOG keys stored time first (issue 19: flat ingest cost) and the dedup of
// rows stored before migration 0012 under their old key.
#include "gateway/store/record_keys.hpp"

#include "gateway/store/migrations.hpp"
#include "tests/unit/gateway/store/store_test_support.hpp"

namespace pushgate::store {
namespace {

TEST(RecordKeys, AttlogIsStoredTimeFirstAndReadBackAsSent) {
  const std::string key = "ATTLOG\t1042\t2026-03-01 08:00:05";
  EXPECT_EQ(stored_record_key(key), "ATTLOG@2026-03-01 08:00:05\t1042");
  EXPECT_EQ(public_record_key(stored_record_key(key)), key);
}

TEST(RecordKeys, OtherKeysAreStoredAsTheyAre) {
  for (std::string k :
       {"OPLOG\t4\t0\t2026-03-01 08:00:05\t0\t0\t0\t0", "USER\t5\tabc", "ATTLOG\tno-time",
        "ATTLOG\t1\t2\t3", "ATTLOG@x", "TIMECARD\t1\t2026-03-01"}) {
    EXPECT_EQ(stored_record_key(k), k);
    EXPECT_EQ(public_record_key(k), k);
  }
}

// What keeps the cost flat: a terminal's punches, by many users, sort in
// the order they happened, so new ones go in at the right edge of the index.
TEST(RecordKeys, StoredAttlogKeysOfManyUsersSortByTime) {
  std::vector<std::string> stored;
  for (int minute = 0; minute < 50; ++minute) {
    int pin = (minute * 37) % 23 + 1;  // users in no particular order
    char key[64];
    std::snprintf(key, sizeof key, "ATTLOG\t%d\t2026-03-01 08:%02d:00", pin, minute);
    stored.push_back(stored_record_key(key));
  }
  EXPECT_TRUE(std::is_sorted(stored.begin(), stored.end()));
}

Event attlog(const std::string& sn, const std::string& pin, const std::string& time) {
  Event e = test::make_event(sn, "ATTLOG\t" + pin + "\t" + time);
  e.local_time = time;
  e.pin = pin;
  return e;
}

class RecordKeysStoreTest : public StoreTest {
 protected:
  void SetUp() override {}
};

TEST_F(RecordKeysStoreTest, StoresTimeFirstAndReadsTheKeyAsSent) {
  open_store();
  WriteBatch b;
  b.events = {attlog("T1", "7", "2026-03-01 08:00:00"), attlog("T1", "3", "2026-03-01 08:01:00")};
  ASSERT_EQ(commit(std::move(b)).inserted, 2U);
  EXPECT_EQ(count("SELECT COUNT(*) FROM events WHERE record_key = 'ATTLOG@2026-03-01 08:01:00' ||"
                  " char(9) || '3'"),
            1);
  auto events = all_events();
  ASSERT_EQ(events.size(), 2U);
  EXPECT_EQ(events[0].record_key, "ATTLOG\t7\t2026-03-01 08:00:00");
  EXPECT_EQ(events[1].record_key, "ATTLOG\t3\t2026-03-01 08:01:00");

  WriteBatch again;
  again.events = {attlog("T1", "3", "2026-03-01 08:01:00")};
  auto r = commit(std::move(again));
  EXPECT_EQ(r.inserted, 0U);
  EXPECT_EQ(r.duplicates, 1U);
}

// A database from before migration 0012 holds ATTLOG rows under the key as
// sent. A terminal that resends one of them after the upgrade gets a
// duplicate, not a second punch; its later punches are stored as usual.
TEST_F(RecordKeysStoreTest, RecordStoredBeforeMigration0012IsStillADuplicate) {
  {
    boost::system::error_code ec;
    auto db = Connection::open(dir_.file("pushgate.db"), {}, ec);
    ASSERT_FALSE(ec);
    std::string error;
    ASSERT_FALSE(migrate(db, error, 11)) << error;
    ASSERT_FALSE(
        db.exec("INSERT INTO terminals(id, sn, last_seq) VALUES(1, 'T1', 2), (2, 'T2', 0);"
                "INSERT INTO events(terminal_id, seq, record_key, kind, raw, received_ms)"
                " VALUES(1, 1, 'ATTLOG' || char(9) || '9' || char(9) ||"
                " '2026-02-01 09:00:00', 1, 'x', 1),"
                " (1, 2, 'ATTLOG' || char(9) || '4' || char(9) ||"
                " '2026-02-01 10:00:00', 1, 'y', 1)"));
  }
  open_store();
  EXPECT_EQ(count("SELECT COUNT(*) FROM attlog_legacy_keys"), 1);

  WriteBatch b;
  b.events = {attlog("T1", "9", "2026-02-01 09:00:00"),   // stored before: duplicate
              attlog("T1", "9", "2026-02-01 09:30:00"),   // before the horizon, new
              attlog("T1", "4", "2026-02-02 07:00:00"),   // after it
              attlog("T2", "9", "2026-02-01 09:00:00")};  // another terminal
  auto r = commit(std::move(b));
  ASSERT_FALSE(r.ec);
  EXPECT_EQ(r.duplicates, 1U);
  EXPECT_EQ(r.inserted, 3U);
  EXPECT_EQ(r.event_ids[0], 0);
  EXPECT_EQ(count("SELECT COUNT(*) FROM events WHERE terminal_id = 1"), 4);
  EXPECT_EQ(metrics_->value("pushgate_events_duplicate_total"), 1.0);
  expect_sequences_gap_free();

  auto events = all_events();
  ASSERT_EQ(events.size(), 5U);
  EXPECT_EQ(events[0].record_key, "ATTLOG\t9\t2026-02-01 09:00:00");
  EXPECT_EQ(events[2].record_key, "ATTLOG\t9\t2026-02-01 09:30:00");

  // The legacy rows are found after a restart too.
  reopen_store();
  WriteBatch again;
  again.events = {attlog("T1", "4", "2026-02-01 10:00:00")};
  auto r2 = commit(std::move(again));
  EXPECT_EQ(r2.inserted, 0U);
  EXPECT_EQ(r2.duplicates, 1U);
}

}  // namespace
}  // namespace pushgate::store
