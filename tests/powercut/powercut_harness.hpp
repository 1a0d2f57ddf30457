#pragma once

// Power-cut harness (images and checks every cut) and the deterministic store workload.

#include "tests/powercut/powercut_test_support.hpp"

namespace pushgate::powercut {

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

}  // namespace pushgate::powercut
