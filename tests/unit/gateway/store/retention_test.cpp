// Retention with a disk budget (gateway/store/retention.hpp) on a real store:
// what the age rule may delete (sinks' cursors, attendance, each terminal's
// latest event), what a re-upload of a deleted record does, the budget's
// alert, metric, health and log, space reuse, and ingest while it deletes.
#include "gateway/store/retention.hpp"

#include <nlohmann/json.hpp>

#include "gateway/config/core_config.hpp"
#include "gateway/health.hpp"
#include "tests/unit/gateway/store/store_test_support.hpp"

namespace pushgate::store {
namespace {

constexpr std::int64_t kDay = 24LL * 3600 * 1000;
constexpr std::int64_t kT0 = 1'600'000'000'000;

class RetentionTest : public StoreTest {
 protected:
  /** `n` events of terminal `sn`, received (and dated) at `at`, keys "<prefix><i>". */
  std::vector<std::int64_t> add(const std::string& sn, int n, std::int64_t at,
                                EventKind kind = EventKind::Attendance,
                                const std::string& prefix = "k", std::size_t raw_bytes = 0) {
    WriteBatch b;
    for (int i = 0; i < n; ++i) {
      auto e = test::make_event(sn, prefix + std::to_string(i), kind);
      e.received_ms = at;
      e.utc_ms = at;
      e.pin = "7";
      if (raw_bytes > 0) {
        e.raw = std::string(raw_bytes, 'x') + std::to_string(i);
      }
      b.events.push_back(std::move(e));
    }
    auto r = commit(std::move(b));
    EXPECT_FALSE(r.ec) << r.ec.message();
    return r.event_ids;
  }

  void set_cursor(const std::string& name, std::int64_t position) {
    WriteBatch b;
    b.ops.push_back([name, position](WriteContext& ctx) {
      boost::system::error_code ec;
      auto& st = ctx.statement(
          "INSERT INTO cursors(name, position, updated_ms) VALUES(?1, ?2, 0)"
          " ON CONFLICT(name) DO UPDATE SET position = excluded.position",
          ec);
      if (ec) {
        return ec;
      }
      st.bind(1, std::string_view(name)).bind(2, position);
      return st.run();
    });
    ASSERT_FALSE(commit(std::move(b)).ec);
  }

  std::unique_ptr<Retention> retention(RetentionOptions o, std::vector<std::string> sinks) {
    return std::make_unique<Retention>(*store_, clock_, *metrics_, health_, std::move(o),
                                       [sinks] { return sinks; });
  }

  std::set<std::int64_t> ids() {
    std::set<std::int64_t> out;
    for (const auto& e : all_events()) {
      out.insert(e.id);
    }
    return out;
  }

  Health health_;
};

TEST(ParseSize, BytesAndUnits) {
  std::string error;
  EXPECT_EQ(parse_size("1048576", error), 1048576);
  EXPECT_EQ(parse_size("4GB", error), 4LL << 30);
  EXPECT_EQ(parse_size("512 MiB", error), 512LL << 20);
  EXPECT_EQ(parse_size("1.5g", error), 3LL << 29);
  EXPECT_EQ(parse_size("0", error), 0);
  EXPECT_FALSE(parse_size("lots", error).has_value());
  EXPECT_THAT(error, HasSubstr("not a size"));
  EXPECT_FALSE(parse_size("4 PB", error).has_value());
  EXPECT_THAT(error, HasSubstr("unknown unit"));
}

TEST(RetentionOptions, ComeFromTheStoreKeys) {
  config::Schema schema;
  config::declare_core_config(schema);
  auto loaded = config::Config::load_string(
      schema, "",
      {"store.retain_days=30", "store.max_db_size=2 GB", "store.retention_interval_s=5",
       "store.retention_batch=100", "gateway.id=site-7", "attendance.retain_days=40"});
  ASSERT_TRUE(loaded.ok()) << config::format_errors(loaded.errors);
  auto o = retention_options_from_config(*loaded.config);
  EXPECT_EQ(o.retain_days, 30);
  EXPECT_EQ(o.max_db_size, 2LL << 30);
  EXPECT_EQ(o.interval, std::chrono::seconds(5));
  EXPECT_EQ(o.batch, 100U);
  EXPECT_EQ(o.gateway_id, "site-7");
  EXPECT_EQ(o.attendance_days, loaded.config->get_bool("attendance.enabled") ? 40 : 0);

  auto bad = config::Config::load_string(schema, "", {"store.max_db_size=lots"});
  ASSERT_TRUE(bad.ok());
  try {
    (void)retention_options_from_config(*bad.config);
    ADD_FAILURE() << "a size it cannot read was taken";
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr("store.max_db_size: \"lots\" is not a size"));
  }
}

// The WAL's limit follows the budget; the writer's autocheckpoint runs at
// half of it, never more often than SQLite's default of 1000 pages.
TEST(RetentionOptions, WalLimitAndAutocheckpointFollowTheBudget) {
  RetentionOptions o;
  o.max_db_size = 4LL << 30;
  EXPECT_EQ(wal_limit(o), 64LL << 20);
  EXPECT_EQ(wal_autocheckpoint_pages(wal_limit(o), 4096), 8192);
  EXPECT_EQ(wal_autocheckpoint_pages(wal_limit(o), 65536), 1000);
  o.max_db_size = 256LL << 20;
  EXPECT_EQ(wal_limit(o), 16LL << 20);
  EXPECT_EQ(wal_autocheckpoint_pages(wal_limit(o), 4096), 2048);
  o.max_db_size = 10LL << 20;
  EXPECT_EQ(wal_limit(o), 640LL << 10);
  EXPECT_EQ(wal_autocheckpoint_pages(wal_limit(o), 4096), 1000);
  o.max_db_size = 0;  // no budget
  EXPECT_EQ(wal_limit(o), 64LL << 20);
}

// The writer has the WAL settings from the start, long before the first
// pass (an hour away here).
TEST_F(RetentionTest, TheWriterHasTheWalSettingsFromTheStart) {
  RetentionOptions o;
  o.max_db_size = 4LL << 30;
  o.interval = std::chrono::hours(1);
  auto ret = retention(o, {});
  auto setting = [&](const std::string& pragma) {
    std::int64_t value = -1;
    WriteBatch b;
    b.ops.push_back([&](WriteContext& ctx) {
      boost::system::error_code ec;
      auto st = ctx.db().prepare("PRAGMA " + pragma, ec);
      if (!ec && st.step(ec)) {
        value = st.column_int(0);
      }
      return ec;
    });
    EXPECT_FALSE(commit(std::move(b)).ec);
    return value;
  };
  EXPECT_EQ(setting("wal_autocheckpoint"), 1000);  // SQLite's default until then
  ret->start();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (setting("wal_autocheckpoint") != 8192 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(setting("wal_autocheckpoint"), 8192);
  EXPECT_EQ(setting("journal_size_limit"), 64LL << 20);
  ret->stop();
}

// Old events go only up to the lowest cursor of the sinks that run now; a
// cursor left by a sink no longer enabled does not hold them back.
TEST_F(RetentionTest, AgeDeletesOnlyWhatEveryEnabledSinkAcknowledged) {
  auto old_ids = add("A", 10, kT0);
  add("A", 2, kT0 + 40 * kDay, EventKind::Attendance, "new");
  set_cursor("mqtt", old_ids[5]);
  set_cursor("webhook", old_ids[2]);
  set_cursor("retired", 0);
  clock_.set_ms(kT0 + 40 * kDay);

  RetentionOptions o;
  o.retain_days = 30;
  auto r = retention(o, {"mqtt", "webhook"})->run_pass();
  EXPECT_FALSE(r.failed);
  EXPECT_EQ(r.deleted_aged, 3);  // ids[0..2]: webhook has no more
  auto left = ids();
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(left.count(old_ids[i]), i <= 2 ? 0U : 1U) << i;
  }

  r = retention(o, {"mqtt"})->run_pass();
  EXPECT_EQ(r.deleted_aged, 3);  // up to mqtt's cursor
  EXPECT_EQ(ids().count(old_ids[5]), 0U);
  EXPECT_EQ(ids().count(old_ids[6]), 1U);
  EXPECT_EQ(metrics_->counter("pushgate_events_deleted_total", "", {{"reason", "age"}}).value(),
            6U);

  // No sink at all: age alone decides.
  r = retention(o, {})->run_pass();
  EXPECT_EQ(r.deleted_aged, 4);
  EXPECT_EQ(count("SELECT COUNT(*) FROM events"), 2);
}

TEST_F(RetentionTest, YoungEventsStay) {
  add("A", 5, kT0);
  clock_.set_ms(kT0 + 29 * kDay);
  RetentionOptions o;
  o.retain_days = 30;
  auto r = retention(o, {})->run_pass();
  EXPECT_EQ(r.deleted_aged, 0);
  EXPECT_EQ(count("SELECT COUNT(*) FROM events"), 5);
}

// Punches the attendance service still loads (attendance.retain_days) stay;
// other kinds of the same age go. Each terminal keeps its latest event.
TEST_F(RetentionTest, AttendancePunchesAndEachTerminalsLatestEventStay) {
  auto punches = add("A", 5, kT0, EventKind::Attendance, "p");
  auto ops = add("A", 5, kT0, EventKind::Operation, "o");
  auto lone = add("B", 1, kT0, EventKind::Operation, "b");
  clock_.set_ms(kT0 + 40 * kDay);
  RetentionOptions o;
  o.retain_days = 30;
  o.attendance_days = 93;
  auto r = retention(o, {})->run_pass();
  EXPECT_EQ(r.deleted_aged, 4);  // A's operations but its latest
  auto left = ids();
  for (auto id : punches) {
    EXPECT_EQ(left.count(id), 1U);
  }
  EXPECT_EQ(left.count(ops[4]), 1U);
  EXPECT_EQ(left.count(lone[0]), 1U);

  // Once the attendance window has passed them, the punches go too.
  clock_.set_ms(kT0 + 95 * kDay);
  r = retention(o, {})->run_pass();
  EXPECT_EQ(r.deleted_aged, 5);
  EXPECT_EQ(count("SELECT COUNT(*) FROM events WHERE terminal_id ="
                  " (SELECT id FROM terminals WHERE sn = 'A')"),
            1);
}

// Deleting rows leaves the sequence and dedup intact: new events continue
// A's seq without a gap or a reuse, blobs go with their events, and a
// re-upload of a deleted record is a duplicate, not a new event.
TEST_F(RetentionTest, SequencesBlobsAndReuploadsAfterDeletion) {
  WriteBatch b;
  for (int i = 0; i < 4; ++i) {
    auto e = test::make_event("A", "k" + std::to_string(i));
    e.received_ms = kT0;
    e.utc_ms = kT0 - 1000;
    b.events.push_back(std::move(e));
  }
  b.blobs.emplace_back(0, "photo");
  ASSERT_FALSE(commit(std::move(b)).ec);
  clock_.set_ms(kT0 + 40 * kDay);
  RetentionOptions o;
  o.retain_days = 30;
  EXPECT_EQ(retention(o, {})->run_pass().deleted_aged, 3);
  EXPECT_EQ(count("SELECT COUNT(*) FROM event_blobs"), 0);
  EXPECT_EQ(count("SELECT last_seq FROM terminals WHERE sn = 'A'"), 4);

  WriteBatch again;
  auto old = test::make_event("A", "k0");
  old.received_ms = clock_.now_ms();
  old.utc_ms = kT0 - 1000;
  again.events.push_back(old);
  auto fresh = test::make_event("A", "k9");
  fresh.received_ms = clock_.now_ms();
  fresh.utc_ms = clock_.now_ms();
  again.events.push_back(fresh);
  auto r = commit(std::move(again));
  ASSERT_FALSE(r.ec);
  EXPECT_EQ(r.duplicates, 1U);
  EXPECT_EQ(r.inserted, 1U);
  EXPECT_EQ(r.event_ids[0], 0);
  auto events = all_events();
  ASSERT_EQ(events.size(), 2U);
  EXPECT_EQ(events[1].record_key, "k9");
  EXPECT_EQ(events[1].seq, 5);
  EXPECT_EQ(count("SELECT last_seq FROM terminals WHERE sn = 'A'"), 5);
}

// Only a record dated inside the range retention deleted can be one it
// deleted. A terminal whose clock fell back to its epoch (dead RTC battery)
// uploads new punches dated years back: they are stored, not dropped.
TEST_F(RetentionTest, RecordsDatedBeforeEverythingDeletedAreNew) {
  add("A", 3, kT0);
  add("A", 1, kT0 + kDay, EventKind::Attendance, "late");
  clock_.set_ms(kT0 + 40 * kDay);
  RetentionOptions o;
  o.retain_days = 30;
  ASSERT_EQ(retention(o, {})->run_pass().deleted_aged, 3);

  WriteBatch again;
  auto reupload = test::make_event("A", "k1");
  reupload.received_ms = clock_.now_ms();
  reupload.utc_ms = kT0;
  again.events.push_back(reupload);
  auto reset_clock = test::make_event("A", "epoch-1");
  reset_clock.received_ms = clock_.now_ms();
  reset_clock.utc_ms = 946684800000;  // 2000-01-01, the clock of a terminal that lost its time
  again.events.push_back(reset_clock);
  auto r = commit(std::move(again));
  ASSERT_FALSE(r.ec);
  EXPECT_EQ(r.duplicates, 1U);
  EXPECT_EQ(r.inserted, 1U);
  EXPECT_EQ(r.event_ids[0], 0);
  EXPECT_NE(r.event_ids[1], 0);
}

// Over the budget the oldest go whatever their state, and the loss is never
// silent: metric per sink, one alert event with the counts, /readyz failing.
TEST_F(RetentionTest, BudgetDeletesOldestUndeliveredWithAlertMetricAndHealth) {
  auto first = add("A", 300, kT0, EventKind::Attendance, "a", 2000);
  set_cursor("mqtt", first[99]);  // the broker had the first 100
  RetentionOptions o;
  o.retain_days = 0;
  o.batch = 50;
  boost::system::error_code ec;
  auto size =
      store_->read([&](Connection& db) { return measure_database(db, store_->path(), ec); });
  ASSERT_FALSE(ec);
  // Half the pages in use: the WAL counts on the way in, not on the way out.
  o.max_db_size = (size.pages - size.free_pages) * size.page_size / 2;
  auto r = retention(o, {"mqtt"})->run_pass();
  EXPECT_FALSE(r.failed);
  ASSERT_GT(r.deleted_budget, 100);
  const auto lost = r.deleted_budget - 100;
  EXPECT_EQ(r.undelivered["mqtt"], lost);
  EXPECT_EQ(r.alerts, 1);
  EXPECT_EQ(metrics_->counter("pushgate_events_dropped_undelivered_total", "", {{"sink", "mqtt"}})
                .value(),
            static_cast<std::uint64_t>(lost));
  // Oldest first: what is left is the newest.
  auto left = ids();
  EXPECT_EQ(left.count(first[0]), 0U);
  EXPECT_EQ(left.count(first[299]), 1U);

  auto alerts = store_->read([](Connection& db) {
    boost::system::error_code e;
    EventQuery q;
    q.kind = EventKind::Alert;
    return read_events(db, q, e);
  });
  ASSERT_EQ(alerts.size(), 1U);
  auto extra = nlohmann::json::parse(alerts[0].extra_json);
  EXPECT_EQ(extra["undelivered"]["mqtt"], lost);
  EXPECT_EQ(extra["reason"], "max_db_size");
  EXPECT_THAT(alerts[0].raw, HasSubstr("not yet delivered to sink mqtt"));
  EXPECT_EQ(count("SELECT unreported FROM retention_losses WHERE sink = 'mqtt'"), 0);
  EXPECT_EQ(count("SELECT total FROM retention_losses WHERE sink = 'mqtt'"), lost);

  auto [ready, failing] = health_.status(Health::Kind::Ready);
  EXPECT_FALSE(ready);
  ASSERT_EQ(failing.size(), 1U);
  EXPECT_EQ(failing[0].first, "retention");
  EXPECT_THAT(failing[0].second, HasSubstr("mqtt"));
}

// The budget never deletes an alert of its own a sink has not delivered:
// a second episode deletes around the first one's alert.
TEST_F(RetentionTest, BudgetKeepsItsUndeliveredAlerts) {
  add("A", 200, kT0, EventKind::Attendance, "a", 2000);
  RetentionOptions o;
  o.retain_days = 0;
  o.batch = 20;
  boost::system::error_code ec;
  auto size =
      store_->read([&](Connection& db) { return measure_database(db, store_->path(), ec); });
  o.max_db_size = (size.pages - size.free_pages) * size.page_size / 2;
  auto ret = retention(o, {"mqtt"});
  ASSERT_EQ(ret->run_pass().alerts, 1);
  add("A", 200, kT0 + 1000, EventKind::Attendance, "b", 2000);  // after the horizon
  auto r = ret->run_pass();
  EXPECT_GT(r.deleted_budget, 0);
  EXPECT_EQ(r.alerts, 1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM events WHERE kind = 11"), 2);
}

// A crash between the deletion's commit and the alert's: the losses are in
// the database, and the next pass reports them.
TEST_F(RetentionTest, UnreportedLossesOfAnEarlierRunAreReported) {
  WriteBatch b;
  b.ops.push_back([](WriteContext& ctx) {
    return ctx.db().exec(
        "INSERT INTO retention_losses(sink, unreported, total, updated_ms) VALUES('mqtt', 7, 7, "
        "0)");
  });
  ASSERT_FALSE(commit(std::move(b)).ec);
  RetentionOptions o;
  o.retain_days = 0;
  auto r = retention(o, {"mqtt"})->run_pass();
  EXPECT_EQ(r.alerts, 1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM events WHERE kind = 11"), 1);
  EXPECT_EQ(count("SELECT unreported FROM retention_losses"), 0);
  EXPECT_EQ(retention(o, {"mqtt"})->run_pass().alerts, 0);
}

// Freed pages are reused: filling and deleting the same amount again and
// again, the file stops growing after the first cycle.
TEST_F(RetentionTest, SpaceIsReusedAcrossFillAndDeleteCycles) {
  RetentionOptions o;
  o.retain_days = 1;
  o.batch = 100;
  std::vector<std::int64_t> file_pages;
  for (int cycle = 0; cycle < 6; ++cycle) {
    add("A", 400, clock_.now_ms(), EventKind::Operation, "c" + std::to_string(cycle) + "-", 1000);
    clock_.advance_ms(2 * kDay);
    auto r = retention(o, {})->run_pass();
    EXPECT_EQ(r.deleted_aged, cycle == 0 ? 399 : 400) << cycle;
    file_pages.push_back(r.size_after.pages);
    EXPECT_GT(r.size_after.free_pages, 0) << cycle;
  }
  // Cycle 1 may still grow a little (the kept latest event, index pages);
  // from then on the file does not.
  for (std::size_t i = 2; i < file_pages.size(); ++i) {
    EXPECT_LE(file_pages[i], file_pages[1] + 2) << i;
  }
}

// The WAL is bounded: each pass ends with a TRUNCATE checkpoint. A reader
// that holds its snapshot keeps it from finishing (counted, tried again next
// pass, the writer waits no longer than checkpoint_wait); once it is gone the
// next pass truncates the WAL.
TEST_F(RetentionTest, PassTruncatesTheWalUnlessAReaderHoldsIt) {
  add("A", 500, clock_.now_ms(), EventKind::Operation, "w", 500);
  RetentionOptions o;
  o.retain_days = 0;
  o.checkpoint_wait = std::chrono::milliseconds(50);
  auto ret = retention(o, {});

  boost::system::error_code ec;
  Connection::Options ro;
  ro.read_only = true;
  auto reader = Connection::open(store_->path(), ro, ec);
  ASSERT_FALSE(ec);
  ASSERT_FALSE(reader.exec("BEGIN"));
  auto st = reader.prepare("SELECT COUNT(*) FROM events", ec);
  ASSERT_TRUE(st.step(ec));  // the read transaction holds its snapshot
  add("A", 10, clock_.now_ms(), EventKind::Operation, "x");
  auto held = ret->run_pass();
  EXPECT_GT(held.size_after.wal_bytes, 0);
  auto& busy = metrics_->counter("pushgate_store_checkpoints_busy_total", "");
  EXPECT_EQ(busy.value(), 1U);

  st.reset();
  ASSERT_FALSE(reader.exec("COMMIT"));
  auto freed = ret->run_pass();
  EXPECT_EQ(freed.size_after.wal_bytes, 0);
  EXPECT_EQ(busy.value(), 1U);
  // Uploads after it restart the WAL from the beginning.
  add("A", 10, clock_.now_ms(), EventKind::Operation, "y");
  EXPECT_EQ(count("SELECT COUNT(*) FROM events"), 520);
}

// Deletion goes through the writer in small transactions: uploads committed
// while a pass runs all succeed, and all are kept.
TEST_F(RetentionTest, IngestKeepsWorkingWhileDeletionRuns) {
  add("A", 3000, kT0, EventKind::Operation, "old", 200);
  clock_.set_ms(kT0 + 40 * kDay);
  RetentionOptions o;
  o.retain_days = 30;
  o.batch = 50;
  auto ret = retention(o, {});
  std::atomic<bool> done{false};
  std::atomic<int> committed{0};
  std::atomic<int> failed{0};
  std::thread uploader([&] {
    int i = 0;
    while (!done.load() || i < 20) {
      WriteBatch b;
      auto e = test::make_event("B", "live" + std::to_string(i++));
      e.received_ms = clock_.now_ms();
      e.utc_ms = clock_.now_ms();
      b.events.push_back(std::move(e));
      auto p = std::make_shared<std::promise<CommitResult>>();
      auto f = p->get_future();
      store_->append(std::move(b), [p](CommitResult r) { p->set_value(std::move(r)); });
      auto r = wait_result(f);
      (r && !r->ec && r->inserted == 1 ? committed : failed)++;
    }
  });
  auto r = ret->run_pass();
  done = true;
  uploader.join();
  EXPECT_EQ(r.deleted_aged, 2999);
  EXPECT_GT(r.batches, 50);
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(count("SELECT COUNT(*) FROM events WHERE terminal_id ="
                  " (SELECT id FROM terminals WHERE sn = 'B')"),
            committed.load());
}

}  // namespace
}  // namespace pushgate::store
