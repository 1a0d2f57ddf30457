// Power-cut tests of the model itself (the shim's images) and of the single writer connection.

#include <gtest/gtest.h>

#include "tests/powercut/powercut_harness.hpp"

namespace pushgate::powercut {
namespace {

// The model itself, on a bare SQLite connection: a cut sees synced bytes
// only, and a new WAL's directory entry is durable only after its first sync.
TEST(PowerCut, ShimImagesSyncedBytesAndDurableEntriesOnly) {
  Harness::Options ho;
  ho.image_cuts = false;
  Harness h(ho);
  struct Seen {
    std::optional<std::size_t> wal_synced;   // image A: the WAL's size, if present
    std::optional<std::size_t> wal_pending;  // image K
  };
  std::vector<Seen> wal_cuts;
  set_cut_hook([&](std::uint64_t) {
    if (!syncing_file().ends_with("-wal")) {
      return;
    }
    std::mt19937_64 rng(1);
    Seen seen;
    for (const auto& f : build_image(Pending::Dropped, false, rng)) {
      if (f.name.ends_with("-wal")) {
        seen.wal_synced = f.bytes.size();
      }
    }
    for (const auto& f : build_image(Pending::Applied, true, rng)) {
      if (f.name.ends_with("-wal")) {
        seen.wal_pending = f.bytes.size();
      }
    }
    wal_cuts.push_back(seen);
  });
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(h.db_path().c_str(), &db), SQLITE_OK);
  std::unique_ptr<sqlite3, int (*)(sqlite3*)> guard(db, sqlite3_close_v2);
  ASSERT_EQ(sqlite3_exec(db,
                         "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                         " CREATE TABLE t(x); INSERT INTO t VALUES(1); INSERT INTO t VALUES(2);",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  // A new WAL's header is synced on its own, then one sync per commit.
  ASSERT_GE(wal_cuts.size(), 3U);
  // First sync of the new WAL: its entry is not durable yet, its bytes pending.
  EXPECT_FALSE(wal_cuts[0].wal_synced);
  ASSERT_TRUE(wal_cuts[0].wal_pending);
  EXPECT_GE(*wal_cuts[0].wal_pending, 32U);
  // Later syncs: the synced WAL is what the previous sync covered, no more.
  for (std::size_t i = 1; i < wal_cuts.size(); ++i) {
    ASSERT_TRUE(wal_cuts[i].wal_synced && wal_cuts[i].wal_pending) << i;
    EXPECT_EQ(*wal_cuts[i].wal_synced, *wal_cuts[i - 1].wal_pending) << i;
    EXPECT_GT(*wal_cuts[i].wal_pending, *wal_cuts[i].wal_synced) << i;
  }
  set_cut_hook(nullptr);
}

// Issue 20 part 5: SQLite before 3.51.3 can lose committed transactions when
// two connections write or checkpoint one WAL database with tight timing
// (the WAL-reset race). Only the writer connection may write or checkpoint.
TEST(PowerCut, OnlyTheWriterConnectionWrites) {
  Harness::Options ho;
  ho.image_cuts = false;
  Harness h(ho);
  FixedClock clock;
  metrics::Registry registry;
  store::Store::Options so;
  so.path = h.db_path();
  so.read_threads = 2;
  std::string error;
  auto st = store::Store::open(so, clock, registry, error);
  ASSERT_TRUE(st) << error;
  st->start();
  store::StoreSinkPorts ports(*st);
  boost::system::error_code ec;
  auto reader = ports.open_reader(ec);
  ASSERT_FALSE(ec) << ec.message();
  for (int i = 0; i < 10; ++i) {
    WriteBatch b;
    Event e;
    e.terminal_sn = "ONE";
    e.record_key = "one-" + std::to_string(i);
    e.kind = EventKind::Attendance;
    e.local_time = "2023-11-14 22:13:20";
    e.raw = "one";
    e.received_ms = 1'700'000'000'000;
    b.events.push_back(std::move(e));
    auto p = std::make_shared<std::promise<CommitResult>>();
    auto f = p->get_future();
    st->append(std::move(b), [p](CommitResult r) { p->set_value(std::move(r)); });
    ASSERT_EQ(f.wait_for(kDeadline), std::future_status::ready);
    ASSERT_FALSE(f.get().ec);
    auto events = reader->read_after(0, 100, ec);
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(events.size(), static_cast<std::size_t>(i + 1));
    EXPECT_EQ(ports.load("none", ec), 0);
    ASSERT_FALSE(ec) << ec.message();
  }
  // The store's read connections refuse writes and checkpoints.
  auto write = st->read([](store::Connection& db) {
    return db.exec("INSERT INTO cursors(name, position) VALUES('reader', 1)");
  });
  EXPECT_EQ(write.value() & 0xff, SQLITE_READONLY) << write.message();
  EXPECT_EQ(stats().db_writes_ro, 0U) << "a read-only handle wrote in normal operation";
  // A checkpoint asked of a reader fails instead of writing the database.
  auto checkpoint =
      st->read([](store::Connection& db) { return db.exec("PRAGMA wal_checkpoint(TRUNCATE)"); });
  EXPECT_TRUE(checkpoint) << "a reader checkpointed";
  auto attempted = stats().db_writes_ro;
  reader.reset();
  st->stop();
  st.reset();
  auto s = stats();
  EXPECT_EQ(s.max_db_rw_open, 1U) << "more than one read-write connection was open at once";
  EXPECT_GE(s.db_opens_ro, 2U) << "a store reader and a sink reader, both read-only";
  EXPECT_EQ(s.db_writes_ro, attempted) << "closing a reader wrote";
  EXPECT_GE(s.wal_syncs, 10U);
}

}  // namespace
}  // namespace pushgate::powercut
