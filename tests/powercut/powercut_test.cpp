// Power-cut tests (issue 20): nothing a terminal was told OK for is lost
// when the power goes, at any sync point, and one connection writes.
//
// The real store (store::Store, its writer thread, group commit, savepoints,
// migrations, checkpoints) runs on SQLite through the power-cut VFS
// (tests/powercut/powercut_vfs.hpp, which states the model and its limits).
// Every xSync of the database, its WAL or its journal is a cut. At each cut
// the disk images a power cut would leave are written to a fresh directory
// and checked with the stock "unix" VFS:
//   A   synced data only, directory entries as last synced;
//   B1..Bn  pending writes kept, dropped or torn (seeded, as src/test6.c);
//   C   synced data only, pending creates/unlinks reached the disk (when any);
//   K   every pending write and directory change reached the disk.
// Each image must pass integrity_check and foreign_key_check, hold every
// record acknowledged before the cut (commit returned, done ran) exactly
// once with its payload, every acknowledged command and the acknowledged
// cursor, nothing never submitted, and let Store::open open it and append.
//
// A failure prints the cut, seed, variant and files and keeps the image.
// Rerun one cut alone: PUSHGATE_POWERCUT_CUT=<cut> PUSHGATE_POWERCUT_SEED=<seed>
// (the workload is deterministic: each round's groups are fixed by parking the
// writer, so cut numbers repeat from run to run).

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "gateway/command.hpp"
#include "gateway/command_queue.hpp"
#include "gateway/logging.hpp"
#include "gateway/metrics/metrics.hpp"
#include "gateway/store/sink_ports_impl.hpp"
#include "gateway/store/sqlite.hpp"
#include "gateway/store/store.hpp"
#include "gateway/store/write_context.hpp"
#include "tests/powercut/powercut_vfs.hpp"

namespace pushgate::powercut {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr auto kDeadline = 30s;

/**
 * Workload size. Under ASan+UBSan (a Debug build) the same phases run with
 * fewer rounds: about 90 commits and 150 cuts instead of 320 and 540.
 */
struct Scale {
  int first_rounds;   ///< rounds before the clean close
  int second_rounds;  ///< rounds after the reopen
  int seeded;         ///< seeded torn images per cut
};
#ifdef PUSHGATE_POWERCUT_SMALL
constexpr Scale kScale{30, 15, 3};
#else
constexpr Scale kScale{110, 50, 3};
#endif
constexpr int kTerminals = 12;
constexpr int kAutocheckpointPages = 24;

class FixedClock final : public Clock {
 public:
  std::chrono::system_clock::time_point now() const override {
    return std::chrono::system_clock::time_point(std::chrono::milliseconds(1'700'000'000'000));
  }
  std::chrono::steady_clock::time_point monotonic() const override {
    return std::chrono::steady_clock::time_point(std::chrono::milliseconds(1'000));
  }
};

/** $TMPDIR, else /tmp. */
std::string temp_root() {
  const char* tmp = std::getenv("TMPDIR");
  return tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
}

/**
 * Where images are written and checked: /dev/shm when there is one (an
 * image lives for milliseconds; tmpfs spares the disk thousands of file
 * creations), else $TMPDIR. Failed images are copied to $TMPDIR to stay.
 */
std::string scratch_root() {
  std::error_code ec;
  if (std::getenv("TMPDIR") == nullptr && fs::is_directory("/dev/shm", ec) &&
      ::access("/dev/shm", W_OK) == 0) {
    return "/dev/shm";
  }
  return temp_root();
}

class TempDir {
 public:
  explicit TempDir(const char* prefix, std::string root = temp_root()) {
    std::string tmpl = root + "/" + prefix + "-XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) {
      throw std::runtime_error("mkdtemp failed");
    }
    path_ = fs::canonical(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::optional<std::uint64_t> env_number(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') {
    return std::nullopt;
  }
  return std::strtoull(v, nullptr, 10);
}

/** What was submitted and what was acknowledged: the oracle. */
struct Oracle {
  std::map<std::string, std::string> submitted;  ///< record_key -> raw
  std::set<std::string> acked;
  std::set<std::string> commands_submitted;  ///< client_ref
  std::set<std::string> commands_acked;
  std::int64_t cursor_acked = -1;
  std::int64_t cursor_max = -1;
};

constexpr const char* kCursorName = "powercut";

struct Failure {
  std::uint64_t cut = 0;
  std::uint64_t seed = 0;
  std::string variant;
  std::string what;
  std::string files;
  std::string image_dir;
  std::string test;  ///< Suite.Name of the test that saw it
};

// ---- image checks -------------------------------------------------------------

/** Runs `sql` and returns its rows, columns joined by '|'. */
std::vector<std::string> rows(sqlite3* db, const std::string& sql, std::string& error) {
  std::vector<std::string> out;
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
    error = sql + ": " + sqlite3_errmsg(db);
    return out;
  }
  int rc = 0;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    std::string row;
    for (int i = 0; i < sqlite3_column_count(st); ++i) {
      if (i != 0) {
        row += '|';
      }
      auto* t = sqlite3_column_text(st, i);
      row += t != nullptr ? reinterpret_cast<const char*>(t) : "NULL";
    }
    out.push_back(std::move(row));
  }
  if (rc != SQLITE_DONE) {
    error = sql + ": " + sqlite3_errmsg(db);
  }
  sqlite3_finalize(st);
  return out;
}

bool has_table(sqlite3* db, const std::string& name, std::string& error) {
  auto r = rows(db, "SELECT count(*) FROM sqlite_master WHERE type='table' AND name='" + name + "'",
                error);
  return !r.empty() && r[0] == "1";
}

/** The content checks with the stock VFS. Returns why the image is wrong, or "". */
std::string check_content(const std::string& db_path, const Oracle& o) {
  sqlite3* db = nullptr;
  int rc =
      sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, "unix");
  std::unique_ptr<sqlite3, int (*)(sqlite3*)> guard(db, sqlite3_close_v2);
  if (rc != SQLITE_OK) {
    return std::string("open with the stock VFS failed: ") + sqlite3_errstr(rc);
  }
  std::string error;
  // The check's own close checkpoints the image: no fsync needed for that.
  rows(db, "PRAGMA synchronous=OFF", error);
  auto ic = rows(db, "PRAGMA integrity_check", error);
  if (!error.empty()) {
    return error;
  }
  if (ic.size() != 1 || ic[0] != "ok") {
    return "integrity_check: " + (ic.empty() ? std::string("no answer") : ic[0]);
  }
  auto fk = rows(db, "PRAGMA foreign_key_check", error);
  if (!error.empty()) {
    return error;
  }
  if (!fk.empty()) {
    return "foreign_key_check: " + fk[0];
  }
  // Events.
  std::map<std::string, std::pair<int, std::string>> seen;  // key -> (count, raw)
  if (has_table(db, "events", error)) {
    for (const auto& r : rows(db, "SELECT record_key, raw FROM events", error)) {
      auto bar = r.find('|');
      auto& e = seen[r.substr(0, bar)];
      ++e.first;
      e.second = r.substr(bar + 1);
    }
  }
  if (!error.empty()) {
    return error;
  }
  for (const auto& [key, e] : seen) {
    auto it = o.submitted.find(key);
    if (it == o.submitted.end()) {
      return "event " + key + " was never submitted";
    }
    if (e.first != 1) {
      return "event " + key + " is present " + std::to_string(e.first) + " times";
    }
    if (e.second != it->second) {
      return "event " + key + " has another payload than the one submitted";
    }
  }
  std::size_t lost = 0;
  std::string first_lost;
  for (const auto& key : o.acked) {
    if (!seen.contains(key)) {
      if (lost++ == 0) {
        first_lost = key;
      }
    }
  }
  if (lost != 0) {
    return std::to_string(lost) + " acknowledged event(s) lost, e.g. " + first_lost;
  }
  // Commands.
  std::map<std::string, int> cmds;
  if (has_table(db, "commands", error)) {
    for (const auto& r : rows(db, "SELECT client_ref FROM commands", error)) {
      ++cmds[r];
    }
  }
  if (!error.empty()) {
    return error;
  }
  for (const auto& [ref, n] : cmds) {
    if (!o.commands_submitted.contains(ref)) {
      return "command " + ref + " was never submitted";
    }
    if (n != 1) {
      return "command " + ref + " is present " + std::to_string(n) + " times";
    }
  }
  for (const auto& ref : o.commands_acked) {
    if (!cmds.contains(ref)) {
      return "acknowledged command " + ref + " lost";
    }
  }
  // The sink cursor: at least what was acknowledged, never beyond what was asked.
  std::int64_t cursor = -1;
  if (has_table(db, "cursors", error)) {
    auto r = rows(db, std::string("SELECT position FROM cursors WHERE name='") + kCursorName + "'",
                  error);
    if (!r.empty()) {
      cursor = std::stoll(r[0]);
    }
  }
  if (!error.empty()) {
    return error;
  }
  if (cursor < o.cursor_acked) {
    return "acknowledged cursor " + std::to_string(o.cursor_acked) + " lost (image has " +
           std::to_string(cursor) + ")";
  }
  if (cursor > o.cursor_max) {
    return "cursor " + std::to_string(cursor) + " was never submitted";
  }
  return {};
}

/** The store opens the image (migrating it when it lacks the schema) and commits a batch. */
std::string check_store_appends(const std::string& db_path) {
  // Thousands of image stores would each log their start line.
  auto log = logger("store");
  auto level = log->level();
  log->set_level(spdlog::level::warn);
  struct Restore {
    std::shared_ptr<spdlog::logger> log;
    spdlog::level::level_enum level;
    ~Restore() { log->set_level(level); }
  } restore{log, level};
  FixedClock clock;
  metrics::Registry registry;
  store::Store::Options so;
  so.path = db_path;
  so.read_threads = 1;
  so.synchronous = "OFF";  // openability, not durability: spares an fsync per image
  std::string error;
  auto st = store::Store::open(so, clock, registry, error);
  if (!st) {
    return "Store::open on the image failed: " + error;
  }
  st->start();
  WriteBatch b;
  Event e;
  e.terminal_sn = "IMAGECHECK";
  e.record_key = "image-check";
  e.kind = EventKind::Attendance;
  e.local_time = "2023-11-14 22:13:20";
  e.raw = "image check";
  e.received_ms = 1'700'000'000'000;
  b.events.push_back(std::move(e));
  auto p = std::make_shared<std::promise<CommitResult>>();
  auto f = p->get_future();
  st->append(std::move(b), [p](CommitResult r) { p->set_value(std::move(r)); });
  if (f.wait_for(kDeadline) != std::future_status::ready) {
    return "append on the image never completed";
  }
  auto r = f.get();
  st->stop();
  if (r.ec) {
    return "append on the image failed: " + r.ec.message();
  }
  return {};
}

// ---- the harness ----------------------------------------------------------------

/**
 * Installs the shim over a workload directory, images every cut, checks
 * each image against the oracle and collects the failures.
 */
class Harness {
 public:
  struct Options {
    bool shim_default = true;             ///< false: the store bypasses the shim (teeth)
    std::size_t stop_after_failures = 0;  ///< 0: never stop imaging
    bool image_cuts = true;               ///< false: only count (Stats)
  };

  explicit Harness(Options options)
      : options_(options),
        work_("pushgate-powercut"),
        images_("pushgate-powercut-images", scratch_root()) {
    base_seed_ = env_number("PUSHGATE_POWERCUT_SEED").value_or(20261206);
    only_cut_ = env_number("PUSHGATE_POWERCUT_CUT");
    install(work_.path().string(), options_.shim_default);
    set_cut_hook([this](std::uint64_t cut) { on_cut(cut); });
  }
  ~Harness() { uninstall(); }
  Harness(const Harness&) = delete;
  Harness& operator=(const Harness&) = delete;

  std::string db_path() const { return (work_.path() / "pushgate.db").string(); }

  // The oracle, written by the workload.
  void submitted(const std::string& key, const std::string& raw) {
    std::lock_guard lock(mutex_);
    oracle_.submitted[key] = raw;
  }
  void acked(const std::string& key) {
    std::lock_guard lock(mutex_);
    oracle_.acked.insert(key);
  }
  void command_submitted(const std::string& ref) {
    std::lock_guard lock(mutex_);
    oracle_.commands_submitted.insert(ref);
  }
  void command_acked(const std::string& ref) {
    std::lock_guard lock(mutex_);
    oracle_.commands_acked.insert(ref);
  }
  void cursor_submitted(std::int64_t pos) {
    std::lock_guard lock(mutex_);
    oracle_.cursor_max = std::max(oracle_.cursor_max, pos);
  }
  void cursor_acked(std::int64_t pos) {
    std::lock_guard lock(mutex_);
    oracle_.cursor_acked = std::max(oracle_.cursor_acked, pos);
  }
  std::size_t acked_count() {
    std::lock_guard lock(mutex_);
    return oracle_.acked.size();
  }

  std::vector<Failure> failures() {
    std::lock_guard lock(mutex_);
    return failures_;
  }
  std::uint64_t images_checked() const { return images_checked_; }

  /** Why the shim cannot have been in the store's path, or "". */
  std::string in_path_problem(std::uint64_t commits) const {
    auto s = stats();
    if (s.wal_syncs < commits) {
      return "the shim saw " + std::to_string(s.wal_syncs) + " WAL syncs for " +
             std::to_string(commits) + " commits: the store does not write through it";
    }
    return {};
  }

  static std::string report(const std::vector<Failure>& failures) {
    std::ostringstream os;
    for (const auto& f : failures) {
      os << "cut " << f.cut << " variant " << f.variant << " seed " << f.seed << ": " << f.what
         << "\n  files: " << f.files << "\n  image kept in " << f.image_dir
         << "\n  rerun alone: PUSHGATE_POWERCUT_CUT=" << f.cut
         << " PUSHGATE_POWERCUT_SEED=" << f.seed << " powercut_test --gtest_filter=" << f.test
         << "\n";
    }
    return os.str();
  }

 private:
  // On the syncing thread, with the shim's mutex held.
  void on_cut(std::uint64_t cut) {
    if (!options_.image_cuts || (only_cut_ && *only_cut_ != cut)) {
      return;
    }
    Oracle o;
    {
      std::lock_guard lock(mutex_);
      if (options_.stop_after_failures != 0 && failures_.size() >= options_.stop_after_failures) {
        return;
      }
      o = oracle_;
    }
    // The seed printed is the base seed: with the cut number it gives the
    // same variants again.
    std::mt19937_64 rng(base_seed_ ^ (cut * 0x9E3779B97F4A7C15ULL));
    check(cut, "A", build_image(Pending::Dropped, false, rng), o);
    for (int i = 1; i <= kScale.seeded; ++i) {
      bool dir_kept = directory_pending() && (rng() & 1) != 0;
      check(cut, "B" + std::to_string(i), build_image(Pending::Seeded, dir_kept, rng), o);
    }
    if (directory_pending()) {
      check(cut, "C", build_image(Pending::Dropped, true, rng), o);
    }
    check(cut, "K", build_image(Pending::Applied, true, rng), o);
  }

  void check(std::uint64_t cut, const std::string& variant, const std::vector<ImageFile>& files,
             const Oracle& o) {
    ++images_checked_;
    auto dir = images_.path() / ("cut-" + std::to_string(cut) + "-" + variant);
    fs::create_directories(dir);
    for (const auto& f : files) {
      std::ofstream out(dir / f.name, std::ios::binary);
      out.write(f.bytes.data(), static_cast<std::streamsize>(f.bytes.size()));
    }
    std::string db = (dir / "pushgate.db").string();
    std::string what = check_content(db, o);
    if (what.empty()) {
      what = check_store_appends(db);
    }
    if (what.empty()) {
      std::error_code ec;
      fs::remove_all(dir, ec);
      return;
    }
    std::string kept = dir.string();
    if (options_.stop_after_failures == 0) {
      // Kept for the developer: copied out of the scratch directory.
      auto to = fs::path(temp_root()) / ("pushgate-powercut-failed-" + std::to_string(::getpid())) /
                dir.filename();
      std::error_code ec;
      fs::create_directories(to, ec);
      fs::copy(dir, to, fs::copy_options::overwrite_existing, ec);
      kept = ec ? dir.string() + " (copy to " + to.string() + " failed: " + ec.message() + ")"
                : to.string();
    }
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    Failure f{cut,
              base_seed_,
              variant,
              what,
              describe_files(),
              kept,
              info != nullptr ? std::string(info->test_suite_name()) + "." + info->name() : ""};
    std::lock_guard lock(mutex_);
    failures_.push_back(std::move(f));
  }

  Options options_;
  TempDir work_;
  TempDir images_;
  std::uint64_t base_seed_ = 0;
  std::optional<std::uint64_t> only_cut_;
  std::uint64_t images_checked_ = 0;  // the writer thread's, read after the workload

  std::mutex mutex_;
  Oracle oracle_;
  std::vector<Failure> failures_;
};

// ---- the workload -------------------------------------------------------------------

/**
 * Parks the writer at a group's "begin" while closed: the test queues the
 * rest of a round meanwhile, so each round's groups are always the same.
 */
class WriterGate {
 public:
  boost::system::error_code on_step(std::string_view step) {
    if (step != "begin") {
      return {};
    }
    std::unique_lock lock(mutex_);
    if (closed_) {
      parked_ = true;
      cv_.notify_all();
      cv_.wait(lock, [this] { return !closed_; });
      parked_ = false;
    }
    return {};
  }
  void close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
  }
  bool wait_parked() {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, kDeadline, [this] { return parked_; });
  }
  void open() {
    std::lock_guard lock(mutex_);
    closed_ = false;
    cv_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool closed_ = false;
  bool parked_ = false;
};

/** How the workload hands event batches to the store. */
class Appender {
 public:
  virtual ~Appender() = default;
  /** `ack`: what a terminal would be told; `settled`: the store is done with the batch. */
  virtual void append(store::Store& st, WriteBatch batch, std::function<void(CommitResult)> ack,
                      std::function<void()> settled) = 0;
};

/** The gateway's way: OK only after the commit. */
class CommitThenAck final : public Appender {
 public:
  void append(store::Store& st, WriteBatch batch, std::function<void(CommitResult)> ack,
              std::function<void()> settled) override {
    st.append(std::move(batch),
              [ack = std::move(ack), settled = std::move(settled)](CommitResult r) {
                ack(std::move(r));
                settled();
              });
  }
};

/** A broken double (teeth): tells OK before the commit. */
class AckBeforeCommit final : public Appender {
 public:
  void append(store::Store& st, WriteBatch batch, std::function<void(CommitResult)> ack,
              std::function<void()> settled) override {
    ack(CommitResult{});
    st.append(std::move(batch), [settled = std::move(settled)](CommitResult) { settled(); });
  }
};

struct WorkloadOptions {
  std::string synchronous = "FULL";
  Appender* appender = nullptr;
  int first_rounds = kScale.first_rounds;
  int second_rounds = kScale.second_rounds;
};

struct WorkloadResult {
  std::uint64_t commits = 0;
  std::size_t acked_events = 0;
};

/** Counts settled batches; the round waits for all of its own. */
class Settled {
 public:
  std::function<void()> one() {
    {
      std::lock_guard lock(mutex_);
      ++expected_;
    }
    return [this] {
      std::lock_guard lock(mutex_);
      ++done_;
      cv_.notify_all();
    };
  }
  bool wait_all() {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, kDeadline, [this] { return done_ == expected_; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::uint64_t expected_ = 0;
  std::uint64_t done_ = 0;
};

class Workload {
 public:
  Workload(Harness& h, WorkloadOptions options) : h_(h), options_(std::move(options)) {
    if (options_.appender == nullptr) {
      options_.appender = &default_appender_;
    }
  }

  /** First start, rounds, clean close, reopen, rounds, clean close. */
  WorkloadResult run() {
    WorkloadResult result;
    for (int phase = 0; phase < 2; ++phase) {
      metrics::Registry registry;
      store::Store::Options so;
      so.path = h_.db_path();
      so.read_threads = 1;
      so.synchronous = options_.synchronous;
      std::string error;
      auto st = store::Store::open(so, clock_, registry, error);
      if (!st) {
        ADD_FAILURE() << "Store::open: " << error;
        return result;
      }
      WriterGate gate;
      st->set_fault_injector_for_test(
          [&gate](std::string_view step) { return gate.on_step(step); });
      st->start();
      CommandQueue commands(*st, clock_, registry, CommandQueue::Options{});
      commands.load();
      store::StoreSinkPorts ports(*st);
      Settled settled;

      // Small automatic checkpoints, set on the writer's own connection.
      WriteBatch setup;
      setup.ops.push_back([](store::WriteContext& ctx) -> boost::system::error_code {
        sqlite3_wal_autocheckpoint(ctx.db().handle(), kAutocheckpointPages);
        return {};
      });
      st->append(std::move(setup), [done = settled.one()](CommitResult) { done(); });
      EXPECT_TRUE(settled.wait_all());

      int rounds = phase == 0 ? options_.first_rounds : options_.second_rounds;
      for (int r = 0; r < rounds; ++r) {
        gate.close();
        // The first batch is a group of its own; the rest of the round the next group.
        append_events(*st, settled, 1);
        if (!gate.wait_parked()) {
          gate.open();
          ADD_FAILURE() << "the writer never reached the gate";
          return result;
        }
        append_events(*st, settled, 2 + (round_ % 5));
        if (round_ % 3 == 0) {
          store_cursor(ports, settled);
        }
        if (round_ % 7 == 0) {
          enqueue_command(commands, settled);
        }
        gate.open();
        if (!settled.wait_all()) {
          ADD_FAILURE() << "round " << round_ << " never settled";
          return result;
        }
        ++round_;
      }
      st->stop();
      result.commits +=
          registry.counter("pushgate_store_commits_total", "Transactions committed by the writer")
              .value();
      // Destroying the store closes the writer last: a clean close (checkpoint, WAL unlinked).
    }
    result.acked_events = h_.acked_count();
    return result;
  }

 private:
  void append_events(store::Store& st, Settled& settled, int batches) {
    for (int b = 0; b < batches; ++b) {
      std::string sn = "PC" + std::to_string(next_terminal_++ % kTerminals);
      WriteBatch batch;
      std::vector<std::string> keys;
      int n = 1 + static_cast<int>(rng_() % 4);
      for (int i = 0; i < n; ++i) {
        Event e;
        e.terminal_sn = sn;
        e.record_key = sn + "-" + std::to_string(next_record_++);
        e.kind = EventKind::Attendance;
        e.local_time = "2023-11-14 22:13:20";
        e.pin = std::to_string(rng_() % 1000);
        e.utc_ms = 1'700'000'000'000 + next_record_;
        // Payloads of varied size fill pages unevenly.
        e.raw = e.record_key + "\t" +
                std::string(40 + rng_() % 400, static_cast<char>('a' + rng_() % 26));
        e.received_ms = 1'700'000'000'000;
        h_.submitted(e.record_key, e.raw);
        keys.push_back(e.record_key);
        batch.events.push_back(std::move(e));
      }
      options_.appender->append(
          st, std::move(batch),
          [this, keys = std::move(keys)](CommitResult r) {
            if (!r.ec) {
              for (const auto& k : keys) {
                h_.acked(k);
              }
            }
          },
          settled.one());
    }
  }

  void store_cursor(store::StoreSinkPorts& ports, Settled& settled) {
    std::int64_t pos = ++cursor_;
    h_.cursor_submitted(pos);
    ports.store(kCursorName, pos, [this, pos, done = settled.one()](boost::system::error_code ec) {
      if (!ec) {
        h_.cursor_acked(pos);
      }
      done();
    });
  }

  void enqueue_command(CommandQueue& commands, Settled& settled) {
    auto req = commands::open_door("PC" + std::to_string(round_ % kTerminals), 1, 5);
    req.client_ref = "pc-" + std::to_string(round_);
    std::string ref = req.client_ref;
    h_.command_submitted(ref);
    commands.enqueue(std::move(req),
                     [this, ref, done = settled.one()](boost::system::error_code ec,
                                                       std::string error, CommandRecord, bool) {
                       if (!ec && error.empty()) {
                         h_.command_acked(ref);
                       }
                       done();
                     });
  }

  Harness& h_;
  WorkloadOptions options_;
  CommitThenAck default_appender_;
  FixedClock clock_;
  std::mt19937_64 rng_{42};
  int round_ = 0;
  int next_terminal_ = 0;
  std::int64_t next_record_ = 0;
  std::int64_t cursor_ = 0;
};

// ---- the tests -----------------------------------------------------------------------

TEST(PowerCut, NothingAcknowledgedIsLostAtAnySync) {
  auto started = std::chrono::steady_clock::now();
  Harness h(Harness::Options{});
  auto result = Workload(h, WorkloadOptions{}).run();
  auto s = stats();
  auto failures = h.failures();
  EXPECT_TRUE(failures.empty()) << failures.size() << " image(s) failed:\n"
                                << Harness::report(failures);
  if (env_number("PUSHGATE_POWERCUT_CUT")) {
    return;  // a rerun of one cut: the figures below are the whole run's
  }
  // The workload really covered what it claims.
  EXPECT_EQ(h.in_path_problem(result.commits), "");
  EXPECT_GE(result.commits,
            static_cast<std::uint64_t>(2 * (kScale.first_rounds + kScale.second_rounds)));
  EXPECT_GE(s.journal_syncs, 1U) << "first start goes through a rollback journal";
  EXPECT_GE(s.db_syncs, 4U) << "at least 2 automatic checkpoints and the clean closes";
  EXPECT_GE(s.wal_restarts, 1U) << "the WAL never restarted after a checkpoint";
  EXPECT_GE(s.dir_syncs, 2U) << "a new WAL at first start and again after the reopen";
  // Every sync is a cut: A, the seeded Bs and K at each, C where the directory changed.
  EXPECT_GE(h.images_checked(), s.syncs * (static_cast<std::uint64_t>(kScale.seeded) + 2));
  auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf(
      "power cut: %llu commits, %zu acknowledged events, %llu cuts (%llu WAL, %llu db, %llu "
      "journal syncs, %llu dir syncs, %llu WAL restarts), %llu images checked in %.1f s\n",
      static_cast<unsigned long long>(result.commits), result.acked_events,
      static_cast<unsigned long long>(s.syncs), static_cast<unsigned long long>(s.wal_syncs),
      static_cast<unsigned long long>(s.db_syncs), static_cast<unsigned long long>(s.journal_syncs),
      static_cast<unsigned long long>(s.dir_syncs), static_cast<unsigned long long>(s.wal_restarts),
      static_cast<unsigned long long>(h.images_checked()), secs);
}

// Teeth: the harness must catch what it exists to catch.

TEST(PowerCut, HarnessCatchesSynchronousNormal) {
  Harness h(Harness::Options{true, 1});
  WorkloadOptions wo;
  wo.synchronous = "NORMAL";
  wo.first_rounds = 30;
  wo.second_rounds = 0;
  Workload(h, wo).run();
  auto failures = h.failures();
  ASSERT_FALSE(failures.empty()) << "synchronous=NORMAL acknowledges commits no sync covers";
  std::printf("caught at cut %llu (%s): %s\n", static_cast<unsigned long long>(failures[0].cut),
              failures[0].variant.c_str(), failures[0].what.c_str());
  EXPECT_NE(failures[0].what.find("acknowledged"), std::string::npos) << Harness::report(failures);
}

TEST(PowerCut, HarnessCatchesAnAcknowledgementBeforeTheCommit) {
  Harness h(Harness::Options{true, 1});
  AckBeforeCommit early;
  WorkloadOptions wo;
  wo.appender = &early;
  wo.first_rounds = 10;
  wo.second_rounds = 0;
  Workload(h, wo).run();
  auto failures = h.failures();
  ASSERT_FALSE(failures.empty()) << "an OK before the commit must be caught";
  std::printf("caught at cut %llu (%s): %s\n", static_cast<unsigned long long>(failures[0].cut),
              failures[0].variant.c_str(), failures[0].what.c_str());
  EXPECT_NE(failures[0].what.find("acknowledged"), std::string::npos) << Harness::report(failures);
}

TEST(PowerCut, HarnessFailsWhenTheStoreBypassesTheShim) {
  // The shim registered but not the default: the store writes around it.
  Harness h(Harness::Options{false, 0});
  WorkloadOptions wo;
  wo.first_rounds = 5;
  wo.second_rounds = 0;
  auto result = Workload(h, wo).run();
  ASSERT_GT(result.commits, 0U);
  EXPECT_NE(h.in_path_problem(result.commits), "");
  EXPECT_EQ(stats().syncs, 0U);
}

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
