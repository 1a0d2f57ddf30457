// Online backups (issue 19): backup_database on a real store while its
// writer commits, and the scheduler's timing and rotation on a fake clock.
#include "gateway/store/backup.hpp"

#include <sys/stat.h>

#include <fstream>

#include "gateway/config/core_config.hpp"
#include "gateway/store/backup_schedule.hpp"
#include "tests/unit/gateway/store/store_test_support.hpp"

namespace pushgate::store {
namespace {

namespace fs = std::filesystem;

WriteBatch events(const std::string& sn, int from, int count) {
  WriteBatch b;
  for (int i = from; i < from + count; ++i) {
    b.events.push_back(make_event(sn, "ATTLOG\t" + std::to_string(i) + "\t2026-01-05 08:00:00"));
  }
  return b;
}

std::int64_t count_events(const std::string& db_path) {
  boost::system::error_code ec;
  Connection::Options o;
  o.read_only = true;
  auto db = Connection::open(db_path, o, ec);
  EXPECT_FALSE(ec) << ec.message();
  auto st = db.prepare("SELECT COUNT(*) FROM events", ec);
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_TRUE(st.step(ec));
  return st.column_int(0);
}

std::string integrity(const std::string& db_path) {
  boost::system::error_code ec;
  Connection::Options o;
  o.read_only = true;
  auto db = Connection::open(db_path, o, ec);
  auto st = db.prepare("PRAGMA integrity_check", ec);
  EXPECT_TRUE(st.step(ec));
  return st.column_text(0);
}

void touch(const fs::path& p, const std::string& text = "x") {
  std::ofstream(p) << text;
}

class BackupTest : public StoreTest {
 protected:
  std::string source() { return dir_.file("pushgate.db"); }
  test::TempDir out_;
};

TEST_F(BackupTest, CopiesEveryCommittedEventVerifiedAndPrivate) {
  ASSERT_FALSE(commit(events("SN1", 0, 300)).ec);
  const auto target = out_.file("copy.db");
  auto r = backup_database(source(), target);
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_GT(r.bytes, 0u);
  EXPECT_EQ(count_events(target), 300);
  EXPECT_EQ(integrity(target), "ok");
  struct stat st {};
  ASSERT_EQ(::stat(target.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u) << "the database holds personal data";
  EXPECT_FALSE(fs::exists(target + ".tmp"));
  EXPECT_FALSE(fs::exists(target + "-wal"));
}

// The writer commits between every two steps of the copy: the copy still
// finishes (it never restarts) and holds exactly the snapshot it began with.
TEST_F(BackupTest, CopiesOneSnapshotWhileTheWriterCommitsBetweenSteps) {
  ASSERT_FALSE(commit(events("SN1", 0, 3000)).ec);
  std::atomic<bool> cancel{false};
  int steps = 0;
  int commits = 0;
  int first_total = 0;
  BackupOptions o;
  o.pages_per_step = 2;
  o.cancel = &cancel;
  o.progress = [&](int, int total) {
    first_total = first_total == 0 ? total : first_total;
    if (++steps > 4 * first_total) {
      cancel = true;  // restarting for ever: fail below rather than hang
      return;
    }
    if (!commit(events("SN2", steps * 20, 20)).ec) {
      ++commits;
    }
  };
  auto r = backup_database(source(), out_.file("copy.db"), o);
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_GT(commits, 20) << "the writer should have committed all along the copy";
  EXPECT_EQ(integrity(out_.file("copy.db")), "ok");
  EXPECT_EQ(count_events(out_.file("copy.db")), 3000) << "not the snapshot the copy began with";
  EXPECT_EQ(count_events(source()), 3000 + 20 * commits);
}

// With the daemon stopped (no -wal, no -shm): the backup leaves none behind,
// where the next start (maybe as another user) would have to use them.
TEST_F(BackupTest, LeavesNoWalOrShmBesideAStoppedDatabase) {
  ASSERT_FALSE(commit(events("SN1", 0, 10)).ec);
  store_.reset();
  ASSERT_FALSE(fs::exists(source() + "-wal"));
  auto r = backup_database(source(), out_.file("copy.db"));
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_FALSE(fs::exists(source() + "-wal"));
  EXPECT_FALSE(fs::exists(source() + "-shm"));
  EXPECT_EQ(count_events(out_.file("copy.db")), 10);
}

TEST_F(BackupTest, RefusesAnExistingTargetUnlessForced) {
  ASSERT_FALSE(commit(events("SN1", 0, 10)).ec);
  const auto target = out_.file("copy.db");
  touch(target, "precious");
  auto r = backup_database(source(), target);
  EXPECT_EQ(r.status, BackupResult::Status::TargetExists);
  EXPECT_NE(r.message.find("--force"), std::string::npos) << r.message;
  std::ifstream in(target);
  std::string text;
  in >> text;
  EXPECT_EQ(text, "precious");

  BackupOptions force;
  force.force = true;
  r = backup_database(source(), target, force);
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(count_events(target), 10);
}

TEST_F(BackupTest, NeverOverwritesTheDatabaseItself) {
  ASSERT_FALSE(commit(events("SN1", 0, 10)).ec);
  BackupOptions force;
  force.force = true;
  auto r = backup_database(source(), source(), force);
  EXPECT_EQ(r.status, BackupResult::Status::TargetExists);
  EXPECT_EQ(count_events(source()), 10);
}

TEST_F(BackupTest, MissingSourceOrDirectoryIsSaidAndLeavesNothing) {
  auto r = backup_database(dir_.file("nothing.db"), out_.file("copy.db"));
  EXPECT_EQ(r.status, BackupResult::Status::SourceMissing);
  EXPECT_FALSE(fs::exists(out_.file("nothing.db")));
  EXPECT_FALSE(fs::exists(out_.file("copy.db")));
  EXPECT_FALSE(fs::exists(out_.file("copy.db.tmp")));

  r = backup_database(source(), out_.file("no/such/dir/copy.db"));
  EXPECT_EQ(r.status, BackupResult::Status::Failed);
  EXPECT_NE(r.message.find("no/such/dir"), std::string::npos) << r.message;
}

TEST_F(BackupTest, NotADatabaseFailsAndLeavesNoTmp) {
  touch(out_.file("text.db"), std::string(8192, 'x'));
  auto r = backup_database(out_.file("text.db"), out_.file("copy.db"));
  EXPECT_EQ(r.status, BackupResult::Status::Failed);
  EXPECT_FALSE(fs::exists(out_.file("copy.db")));
  EXPECT_FALSE(fs::exists(out_.file("copy.db.tmp")));
}

TEST_F(BackupTest, CancelledCopyLeavesNoTmp) {
  ASSERT_FALSE(commit(events("SN1", 0, 100)).ec);
  std::atomic<bool> cancel{true};
  BackupOptions o;
  o.cancel = &cancel;
  auto r = backup_database(source(), out_.file("copy.db"), o);
  EXPECT_EQ(r.status, BackupResult::Status::Cancelled);
  EXPECT_FALSE(fs::exists(out_.file("copy.db")));
  EXPECT_FALSE(fs::exists(out_.file("copy.db.tmp")));
}

TEST_F(BackupTest, AStaleTmpOfAnInterruptedRunIsReplaced) {
  ASSERT_FALSE(commit(events("SN1", 0, 10)).ec);
  touch(out_.file("copy.db.tmp"), "half a copy");
  auto r = backup_database(source(), out_.file("copy.db"));
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(count_events(out_.file("copy.db")), 10);
  EXPECT_FALSE(fs::exists(out_.file("copy.db.tmp")));
}

TEST(BackupDurationTest, ParsesUnitsAndRefusesTheRest) {
  EXPECT_EQ(parse_duration("24h"), std::chrono::hours(24));
  EXPECT_EQ(parse_duration("1d12h"), std::chrono::hours(36));
  EXPECT_EQ(parse_duration("30m"), std::chrono::minutes(30));
  EXPECT_EQ(parse_duration("90s"), std::chrono::seconds(90));
  for (const char* bad : {"", "24", "h", "24x", "-1h", "1.5h", "24 h", "1h30"}) {
    EXPECT_FALSE(parse_duration(bad)) << bad;
  }
}

// --- the scheduler, on the fake clock ------------------------------------

class BackupSchedulerTest : public BackupTest {
 protected:
  BackupScheduler::Options options(std::size_t keep = 3) {
    BackupScheduler::Options o;
    o.database = source();
    o.dir = out_.path() / "backups";
    o.keep = keep;
    o.interval = std::chrono::hours(24);
    return o;
  }
  std::vector<std::string> names(const fs::path& dir) {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir)) {
      out.push_back(e.path().filename().string());
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  static constexpr std::int64_t kDay = 86'400'000;
  metrics::Registry registry_;
  Health health_;
};

TEST_F(BackupSchedulerTest, FirstAtOnceThenEveryInterval) {
  ASSERT_FALSE(commit(events("SN1", 0, 10)).ec);
  clock_.set_ms(1'765'000'000'000);  // 2025-12-06T05:46:40Z
  BackupScheduler s(options(), clock_, registry_, health_);
  auto r = s.run_due();
  ASSERT_TRUE(r && r->ok()) << (r ? r->message : "not due");
  EXPECT_THAT(names(out_.path() / "backups"), ElementsAre("pushgate-20251206T054640Z.db"));
  EXPECT_EQ(registry_.value("pushgate_backups_total"), 1);
  EXPECT_EQ(registry_.value("pushgate_backup_last_success_timestamp_seconds"), 1'765'000'000);

  EXPECT_FALSE(s.run_due());
  clock_.advance_ms(kDay - 1);
  EXPECT_FALSE(s.run_due());
  clock_.advance_ms(1);
  r = s.run_due();
  ASSERT_TRUE(r && r->ok());
  EXPECT_EQ(names(out_.path() / "backups").size(), 2u);
  EXPECT_EQ(count_events((out_.path() / "backups" / "pushgate-20251207T054640Z.db").string()), 10);
  auto b = health_.backup();
  ASSERT_TRUE(b);
  EXPECT_EQ(b->failures, 0u);
  EXPECT_EQ(b->last_success_ms, clock_.now_ms());
  EXPECT_EQ(b->next_ms, clock_.now_ms() + kDay);
}

TEST_F(BackupSchedulerTest, KeepsTheNewestNAndNeverTouchesOtherFiles) {
  const auto dir = out_.path() / "backups";
  fs::create_directories(dir);
  for (const char* foreign :
       {"notes.txt", "pushgate.db", "pushgate-manual.db", "pushgate-20200101T000000Z.db.bak",
        "xpushgate-20200101T000000Z.db"}) {
    touch(dir / foreign);
  }
  clock_.set_ms(1'765'000'000'000);
  BackupScheduler s(options(3), clock_, registry_, health_);
  for (int i = 0; i < 5; ++i) {
    auto r = s.run_due();
    ASSERT_TRUE(r && r->ok()) << i;
    clock_.advance_ms(kDay);
  }
  EXPECT_THAT(
      names(dir),
      ElementsAre("notes.txt", "pushgate-20200101T000000Z.db.bak", "pushgate-20251208T054640Z.db",
                  "pushgate-20251209T054640Z.db", "pushgate-20251210T054640Z.db",
                  "pushgate-manual.db", "pushgate.db", "xpushgate-20200101T000000Z.db"));
  EXPECT_EQ(registry_.value("pushgate_backups_total"), 5);
}

TEST_F(BackupSchedulerTest, RemovesTheTmpACrashLeft) {
  const auto dir = out_.path() / "backups";
  fs::create_directories(dir);
  touch(dir / "pushgate-20251201T000000Z.db.tmp");
  touch(dir / "pushgate-20251201T000000Z.db.tmp-journal");
  touch(dir / "other.db.tmp");
  clock_.set_ms(1'765'000'000'000);
  BackupScheduler s(options(), clock_, registry_, health_);
  ASSERT_TRUE(s.run_due());
  EXPECT_THAT(names(dir), ElementsAre("other.db.tmp", "pushgate-20251206T054640Z.db"));
}

// A restart neither repeats nor skips: the next one is due an interval
// after the newest copy already there.
TEST_F(BackupSchedulerTest, DueOneIntervalAfterTheNewestCopyThere) {
  const auto dir = out_.path() / "backups";
  fs::create_directories(dir);
  touch(dir / "pushgate-20251206T000000Z.db");
  clock_.set_ms(1'765'000'000'000);  // 05:46:40 the same day
  BackupScheduler s(options(), clock_, registry_, health_);
  EXPECT_EQ(s.next_due_ms(), 1'764'979'200'000 + kDay);
  EXPECT_FALSE(s.run_due());
  clock_.set_ms(1'764'979'200'000 + kDay);
  EXPECT_TRUE(s.run_due());
}

TEST_F(BackupSchedulerTest, AFailureIsCountedShownAndRetriedWithinTheHour) {
  auto o = options();
  o.dir = out_.path() / "a-file";
  touch(o.dir);  // the backup directory cannot be made
  clock_.set_ms(1'765'000'000'000);
  BackupScheduler s(o, clock_, registry_, health_);
  auto r = s.run_due();
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->ok());
  EXPECT_EQ(registry_.value("pushgate_backup_failures_total"), 1);
  EXPECT_EQ(registry_.value("pushgate_backups_total"), 0);
  auto b = health_.backup();
  ASSERT_TRUE(b);
  EXPECT_EQ(b->failures, 1u);
  EXPECT_FALSE(b->last_error.empty());
  EXPECT_EQ(s.next_due_ms(), clock_.now_ms() + 3'600'000);

  // Fixed meanwhile: the retry succeeds and clears the failure.
  fs::remove(o.dir);
  clock_.advance_ms(3'600'000);
  r = s.run_due();
  ASSERT_TRUE(r && r->ok()) << r->message;
  b = health_.backup();
  EXPECT_EQ(b->failures, 0u);
  EXPECT_TRUE(b->last_error.empty());
  EXPECT_EQ(registry_.value("pushgate_backup_failures_total"), 1);
  EXPECT_EQ(registry_.value("pushgate_backups_total"), 1);
}

TEST_F(BackupSchedulerTest, AMissingDatabaseIsAFailureNotACrash) {
  auto o = options();
  o.database = dir_.file("gone.db");
  BackupScheduler s(o, clock_, registry_, health_);
  auto r = s.run_due();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, BackupResult::Status::SourceMissing);
  EXPECT_EQ(registry_.value("pushgate_backup_failures_total"), 1);
  EXPECT_TRUE(BackupScheduler::list(o.dir).empty());
}

TEST(BackupNameTest, RoundTripsAndRefusesOthers) {
  EXPECT_EQ(BackupScheduler::file_name(1'765'000'000'000), "pushgate-20251206T054640Z.db");
  EXPECT_EQ(BackupScheduler::time_of("pushgate-20251206T054640Z.db"), 1'765'000'000'000);
  for (const char* other : {"pushgate.db", "pushgate-20251206T054640Z.db.tmp",
                            "pushgate-2025120xT054640Z.db", "pushgate-20251206-054640Z.db"}) {
    EXPECT_FALSE(BackupScheduler::time_of(other)) << other;
  }
}

}  // namespace
}  // namespace pushgate::store

namespace pushgate::store {
namespace {

config::Config load(const std::vector<std::string>& sets) {
  config::Schema schema;
  config::declare_core_config(schema);
  auto r = config::Config::load_string(schema, "", sets);
  EXPECT_TRUE(r.ok()) << config::format_errors(r.errors);
  return *r.config;
}

TEST(BackupConfigTest, OffByDefaultRelativeToTheDataDirAndIntervalChecked) {
  EXPECT_FALSE(backup_options_from_config(load({}), "/var/lib/pushgate", "/db"));
  EXPECT_TRUE(validate_backup_config(load({})).empty());

  auto o = backup_options_from_config(
      load({"store.backup_dir=backups", "store.backup_keep=3", "store.backup_interval=1d12h"}),
      "/var/lib/pushgate", "/var/lib/pushgate/pushgate.db");
  ASSERT_TRUE(o);
  EXPECT_EQ(o->dir, "/var/lib/pushgate/backups");
  EXPECT_EQ(o->keep, 3u);
  EXPECT_EQ(o->interval, std::chrono::hours(36));
  EXPECT_EQ(o->database, "/var/lib/pushgate/pushgate.db");
  o = backup_options_from_config(load({"store.backup_dir=/mnt/usb/pushgate"}), "/var/lib/pushgate",
                                 "/db");
  EXPECT_EQ(o->dir, "/mnt/usb/pushgate");
  EXPECT_EQ(o->interval, std::chrono::hours(24));

  for (const char* bad : {"store.backup_interval=daily", "store.backup_interval=30s"}) {
    auto errors = validate_backup_config(load({bad}));
    ASSERT_EQ(errors.size(), 1u) << bad;
    EXPECT_EQ(errors[0].key, "store.backup_interval");
  }
}

}  // namespace
}  // namespace pushgate::store
