#include "gateway/store/store.hpp"

#include <openssl/evp.h>
#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <array>
#include <chrono>
#include <thread>

#include "gateway/logging.hpp"
#include "gateway/store/migrations.hpp"

namespace pushgate::store {

namespace {

constexpr std::string_view kInsertEvent =
    "INSERT INTO events(terminal_id, seq, record_key, kind, local_time, utc_ms, pin, verify_mode,"
    " status, work_code, door, event_code, raw, extra, received_ms, command_id)"
    " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16)"
    " ON CONFLICT(terminal_id, record_key) DO NOTHING";

constexpr std::string_view kInsertBlob =
    "INSERT OR IGNORE INTO event_blobs(event_id, content) VALUES(?1, ?2)";

// Idempotent per terminal and raw line (raw_key, migration 0008): a resent
// batch does not quarantine its lines twice.
constexpr std::string_view kInsertQuarantine =
    "INSERT INTO quarantine(terminal_sn, received_ms, endpoint, table_name, line_no, reason, raw,"
    " raw_key) VALUES(?1,?2,?3,?4,?5,?6,?7,?8) ON CONFLICT(terminal_sn, raw_key) DO NOTHING";

// Hex SHA-256 of a quarantined line: its identity for raw_key.
std::string raw_key_of(std::string_view raw) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(raw.data(), raw.size(), md, &len, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * len);
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 0xf];
  }
  return out;
}

void bind_optional_int(Statement& st, int index, int v) {
  if (v == kUnset) {
    st.bind_null(index);
  } else {
    st.bind(index, v);
  }
}

// Event strings outlive the statement's use (reset after each row): no copy.
void bind_optional_text(Statement& st, int index, const std::string& v) {
  if (v.empty()) {
    st.bind_null(index);
  } else {
    st.bind_static(index, v);
  }
}

}  // namespace

Store::Store(const Options& options, const Clock& clock, metrics::Registry& metrics)
    : options_(options),
      clock_(clock),
      metrics_(metrics),
      read_pool_(static_cast<std::size_t>(std::max(1, options.read_threads))),
      observers_(std::make_shared<Observers>()),
      commits_(
          metrics.counter("pushgate_store_commits_total", "Transactions committed by the writer")),
      commit_failures_(
          metrics.counter("pushgate_store_commit_failures_total",
                          "Group commits that failed; their devices were not told OK")),
      duplicates_(metrics.counter("pushgate_events_duplicate_total",
                                  "Records uploaded again that the event log already had")),
      quarantined_(metrics.counter("pushgate_quarantined_lines_total",
                                   "Lines kept raw in the quarantine table")),
      commit_seconds_(metrics.histogram(
          "pushgate_store_commit_seconds", "Time to apply and commit one group",
          {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5})),
      group_size_(metrics.histogram("pushgate_store_group_batches",
                                    "Device requests committed together in one transaction",
                                    {1, 2, 4, 8, 16, 32, 64, 128, 256})) {}

std::unique_ptr<Store> Store::open(const Options& options, const Clock& clock,
                                   metrics::Registry& metrics, std::string& error) {
  std::unique_ptr<Store> store(new Store(options, clock, metrics));
  boost::system::error_code ec;
  Connection::Options copts;
  copts.busy_timeout_ms = options.busy_timeout_ms;
  copts.synchronous = options.synchronous;
  store->writer_db_ = Connection::open(options.path, copts, ec);
  if (ec) {
    error = "cannot open database " + options.path + ": " + ec.message();
    return nullptr;
  }
  if (auto e = migrate(store->writer_db_, error)) {
    return nullptr;
  }
  logger("store")->info("SQLite {} at {}: one writer connection, readers read-only",
                        sqlite3_libversion(), options.path);
  store->ctx_ = std::make_unique<WriteContext>(store->writer_db_, clock.now_ms());
  if (auto e = store->legacy_attlog_.load(store->writer_db_)) {
    error = "cannot read attlog_legacy_keys: " + e.message();
    return nullptr;
  }

  metrics.callback_gauge("pushgate_store_queue_batches", "Device requests waiting for the writer",
                         [s = store.get()] { return static_cast<double>(s->queue_depth()); });
  return store;
}

Store::~Store() {
  stop();
}

void Store::start() {
  std::lock_guard lock(mutex_);
  if (started_) {
    return;
  }
  started_ = true;
  writer_ = std::thread([this] { run_writer(); });
}

void Store::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (writer_.joinable()) {
    writer_.join();
  }
  read_pool_.join();
  // Anything appended without a running writer is answered, never dropped.
  std::deque<Pending> left;
  decltype(checkpoints_) checkpoints;
  {
    std::lock_guard lock(mutex_);
    left.swap(queue_);
    checkpoints.swap(checkpoints_);
  }
  for (auto& [wait, done] : checkpoints) {
    CheckpointResult r;
    r.ec = boost::asio::error::operation_aborted;
    done(r);
  }
  for (auto& p : left) {
    CommitResult r;
    r.ec = boost::asio::error::operation_aborted;
    p.done(std::move(r));
  }
}

void Store::append(WriteBatch batch, Done done) {
  {
    std::lock_guard lock(mutex_);
    if (!stopping_) {
      if (queue_.empty()) {
        oldest_wait_ = std::chrono::steady_clock::now();
      }
      queued_events_ += batch.events.size();
      queue_.push_back(Pending{std::move(batch), std::move(done)});
      cv_.notify_one();
      return;
    }
  }
  CommitResult r;
  r.ec = boost::asio::error::shut_down;
  done(std::move(r));
}

/**
 * The commit observers. The writer holds `mutex` while it calls them, so an
 * unsubscription that takes it has waited for any call in progress. The
 * writer's own thread (an observer subscribing or unsubscribing) already
 * holds it: `notifying` tells, and such changes are made without it.
 */
struct Store::Observers {
  struct Entry {
    std::uint64_t id = 0;
    std::shared_ptr<const CommitObserver> fn;  ///< null: unsubscribed during a notify
  };
  std::mutex mutex;
  std::vector<Entry> list;
  std::uint64_t next_id = 1;
  std::atomic<std::thread::id> notifying{};
  std::atomic<bool> any{false};

  bool on_notifying_thread() const {
    return notifying.load(std::memory_order_acquire) == std::this_thread::get_id();
  }
  void add(std::uint64_t id, std::shared_ptr<const CommitObserver> fn) {
    list.push_back(Entry{id, std::move(fn)});
    any.store(true, std::memory_order_release);
  }
  void remove(std::uint64_t id, bool notifying_now) {
    for (auto it = list.begin(); it != list.end(); ++it) {
      if (it->id == id) {
        if (notifying_now) {
          it->fn = nullptr;  // the notify loop erases it
        } else {
          list.erase(it);
        }
        break;
      }
    }
    any.store(!list.empty(), std::memory_order_release);
  }
};

CommitSubscription Store::subscribe(CommitObserver observer) {
  auto fn = std::make_shared<const CommitObserver>(std::move(observer));
  auto& obs = *observers_;
  std::uint64_t id = 0;
  if (obs.on_notifying_thread()) {
    id = obs.next_id++;
    obs.add(id, std::move(fn));
  } else {
    // Adapters start after the writer, so a subscription may race a commit.
    std::lock_guard lock(obs.mutex);
    id = obs.next_id++;
    obs.add(id, std::move(fn));
  }
  return CommitSubscription([weak = std::weak_ptr<Observers>(observers_), id] {
    auto live = weak.lock();
    if (!live) {
      return;  // the store is gone, and its writer with it
    }
    if (live->on_notifying_thread()) {
      live->remove(id, true);
      return;
    }
    std::lock_guard lock(live->mutex);  // waits for a call in progress
    live->remove(id, false);
  });
}

void Store::notify(const std::vector<Event>& committed) {
  auto& obs = *observers_;
  std::lock_guard lock(obs.mutex);
  obs.notifying.store(std::this_thread::get_id(), std::memory_order_release);
  // Observers subscribed during this loop see the next commit, not this one.
  const std::size_t n = obs.list.size();
  for (std::size_t i = 0; i < n; ++i) {
    // A copy: the list may grow (and move) while the observer runs.
    auto fn = obs.list[i].fn;
    if (!fn) {
      continue;
    }
    try {
      (*fn)(committed);
    } catch (const std::exception& e) {
      // The events are committed; one failing observer must not stop the
      // writer or keep the others from hearing about them.
      logger("store")->error("commit observer threw: {}", e.what());
    }
  }
  obs.notifying.store(std::thread::id{}, std::memory_order_release);
  std::erase_if(obs.list, [](const Observers::Entry& e) { return !e.fn; });
  obs.any.store(!obs.list.empty(), std::memory_order_release);
}

bool Store::stalled(std::chrono::milliseconds limit) const {
  std::lock_guard lock(mutex_);
  if (queue_.empty()) {
    return false;
  }
  auto now = std::chrono::steady_clock::now();
  auto progress = std::chrono::steady_clock::time_point(
      std::chrono::nanoseconds(last_progress_ns_.load(std::memory_order_relaxed)));
  auto since = std::max(progress, oldest_wait_);
  return now - since > limit;
}

std::size_t Store::queue_depth() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

void Store::set_fault_injector_for_test(
    std::function<boost::system::error_code(std::string_view)> f) {
  std::lock_guard lock(mutex_);
  fault_ = std::move(f);
}

boost::system::error_code Store::fault(std::string_view step) {
  return fault_ ? fault_(step) : boost::system::error_code{};
}

Connection Store::acquire_reader() {
  {
    std::lock_guard lock(readers_mutex_);
    if (!readers_.empty()) {
      Connection c = std::move(readers_.back());
      readers_.pop_back();
      return c;
    }
  }
  boost::system::error_code ec;
  Connection::Options copts;
  copts.busy_timeout_ms = options_.busy_timeout_ms;
  copts.synchronous = options_.synchronous;
  // Read-only: the writer is the one connection that writes or checkpoints
  // (SQLite before 3.51.3 has a WAL-reset race between two writing or
  // checkpointing connections). The writer is open for the store's whole
  // life, so WAL recovery never waits for a reader.
  copts.read_only = true;
  return Connection::open(options_.path, copts, ec);
}

void Store::release_reader(Connection conn) {
  if (!conn.is_open()) {
    return;
  }
  std::lock_guard lock(readers_mutex_);
  readers_.push_back(std::move(conn));
}

void Store::run_writer() {
  for (;;) {
    std::vector<Pending> group;
    {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty() || !checkpoints_.empty(); });
      if (!checkpoints_.empty()) {
        auto [wait, done] = std::move(checkpoints_.front());
        checkpoints_.pop_front();
        lock.unlock();
        run_checkpoint(wait, done);
        continue;
      }
      if (queue_.empty()) {
        return;  // stopping and drained
      }
      std::size_t events = 0;
      while (!queue_.empty() && (group.empty() || events + queue_.front().batch.events.size() <=
                                                      options_.max_group_records)) {
        events += queue_.front().batch.events.size();
        group.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      queued_events_ -= events;
    }
    commit_group(group);
    last_progress_ns_.store(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                std::chrono::steady_clock::now().time_since_epoch())
                                .count(),
                            std::memory_order_relaxed);
  }
}

void Store::checkpoint(std::chrono::milliseconds max_wait,
                       std::function<void(CheckpointResult)> done) {
  {
    std::lock_guard lock(mutex_);
    if (!stopping_) {
      checkpoints_.emplace_back(max_wait, std::move(done));
      cv_.notify_one();
      return;
    }
  }
  CheckpointResult r;
  r.ec = boost::asio::error::shut_down;
  done(r);
}

void Store::run_checkpoint(std::chrono::milliseconds max_wait,
                           const std::function<void(CheckpointResult)>& done) {
  CheckpointResult r;
  sqlite3* db = writer_db_.handle();
  sqlite3_busy_timeout(db, static_cast<int>(max_wait.count()));
  int rc = sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_TRUNCATE, &r.wal_frames,
                                     &r.checkpointed);
  sqlite3_busy_timeout(db, options_.busy_timeout_ms);
  if (rc != SQLITE_OK) {
    r.ec = make_sqlite_error(rc);
  }
  done(r);
}

boost::system::error_code Store::apply(Pending& p, CommitResult& r, std::vector<Event>& committed) {
  boost::system::error_code ec;
  auto& ctx = *ctx_;
  r.event_ids.assign(p.batch.events.size(), 0);
  Statement* insert = nullptr;
  if (!p.batch.events.empty()) {
    insert = &ctx.statement(kInsertEvent, ec);
    if (ec) {
      return ec;
    }
  }
  // Events of one request come from one terminal: look its id up once.
  const std::string* last_sn = nullptr;
  std::int64_t tid = 0;
  for (std::size_t i = 0; i < p.batch.events.size(); ++i) {
    auto& e = p.batch.events[i];
    if (fault_ && (ec = fault("event"))) {
      return ec;
    }
    if (last_sn == nullptr || *last_sn != e.terminal_sn) {
      tid = ctx.terminal_id(e.terminal_sn, ec);
      if (ec) {
        return ec;
      }
      last_sn = &e.terminal_sn;
    }
    std::int64_t seq = ctx.next_seq(tid, ec);
    if (ec) {
      return ec;
    }
    // Time first for ATTLOG (record_keys.hpp); a record stored before that
    // under its old key is a duplicate too.
    std::string key = stored_record_key(e.record_key);
    bool legacy = key != e.record_key && legacy_attlog_.holds(ctx, tid, e.record_key, ec);
    if (ec) {
      return ec;
    }
    if (legacy) {
      ctx.unuse_seq(tid);
      ++r.duplicates;
      continue;
    }
    auto& st = *insert;
    st.bind(1, tid).bind(2, seq).bind_static(3, key);
    st.bind(4, static_cast<int>(e.kind));
    bind_optional_text(st, 5, e.local_time);
    st.bind(6, e.utc_ms);
    bind_optional_text(st, 7, e.pin);
    bind_optional_int(st, 8, e.verify_mode);
    bind_optional_int(st, 9, e.status);
    bind_optional_text(st, 10, e.work_code);
    bind_optional_int(st, 11, e.door);
    bind_optional_int(st, 12, e.event_code);
    st.bind_static(13, e.raw);
    bind_optional_text(st, 14, e.extra_json);
    st.bind(15, e.received_ms);
    if (e.command_id != 0) {
      st.bind(16, e.command_id);
    } else {
      st.bind_null(16);
    }
    if ((ec = st.run())) {
      return ec;
    }
    if (ctx.db().changes() == 1) {
      e.id = ctx.db().last_insert_rowid();
      e.seq = seq;
      r.event_ids[i] = e.id;
      ++r.inserted;
    } else {
      ctx.unuse_seq(tid);
      ++r.duplicates;
    }
  }
  for (auto& [index, content] : p.batch.blobs) {
    if (index >= r.event_ids.size() || r.event_ids[index] == 0) {
      continue;  // a duplicate upload: the first copy's blob is kept
    }
    auto& st = ctx.statement(kInsertBlob, ec);
    if (ec) {
      return ec;
    }
    st.bind(1, r.event_ids[index]).bind_blob(2, content);
    if ((ec = st.run())) {
      return ec;
    }
  }
  for (const auto& q : p.batch.quarantine) {
    if ((ec = fault("quarantine"))) {
      return ec;
    }
    auto& st = ctx.statement(kInsertQuarantine, ec);
    if (ec) {
      return ec;
    }
    bind_optional_text(st, 1, q.terminal_sn);
    st.bind(2, q.received_ms);
    bind_optional_text(st, 3, q.endpoint);
    bind_optional_text(st, 4, q.table);
    st.bind(5, q.line_no);
    st.bind(6, std::string_view(q.reason));
    st.bind_blob(7, q.raw);
    auto key = raw_key_of(q.raw);
    st.bind(8, std::string_view(key));
    if ((ec = st.run())) {
      return ec;
    }
    if (ctx.db().changes() == 1) {
      ++r.quarantined;
    }
  }
  for (auto& op : p.batch.ops) {
    if ((ec = fault("op"))) {
      return ec;
    }
    if ((ec = op(ctx))) {
      return ec;
    }
  }
  if (observers_->any.load(std::memory_order_acquire)) {
    // The batch is not needed after this point: hand its new events over.
    for (std::size_t i = 0; i < p.batch.events.size(); ++i) {
      if (r.event_ids[i] != 0) {
        committed.push_back(std::move(p.batch.events[i]));
      }
    }
  }
  return {};
}

void Store::commit_group(std::vector<Pending>& group) {
  auto started = std::chrono::steady_clock::now();
  std::vector<CommitResult> results(group.size());
  std::vector<Event> committed;
  if (observers_->any.load(std::memory_order_acquire)) {
    // One allocation for the group: grown by doubling, a big group's
    // vector went through fresh mmap'd blocks (zeroed by the kernel) and
    // moved every event again at each step, on the writer's thread.
    std::size_t events = 0;
    for (const auto& p : group) {
      events += p.batch.events.size();
    }
    committed.reserve(events);
  }
  ctx_->set_now_ms(clock_.now_ms());
  auto log = logger("store");

  auto fail_all = [&](boost::system::error_code ec, std::string_view where) {
    std::string detail = writer_db_.last_error_message();
    writer_db_.exec("ROLLBACK");  // a no-op when SQLite already rolled back
    ctx_->on_rollback();
    commit_failures_.inc();
    log->warn("group commit of {} request(s) failed at {}: {} ({}); devices will resend",
              group.size(), where, ec.message(), detail);
    for (std::size_t i = 0; i < group.size(); ++i) {
      CommitResult r;
      r.ec = ec;
      group[i].done(std::move(r));
    }
  };

  boost::system::error_code ec = fault("begin");
  if (!ec) {
    ec = writer_db_.exec("BEGIN IMMEDIATE");
  }
  if (ec) {
    fail_all(ec, "begin");
    return;
  }
  for (std::size_t i = 0; i < group.size(); ++i) {
    if ((ec = writer_db_.exec("SAVEPOINT batch"))) {
      fail_all(ec, "savepoint");
      return;
    }
    std::size_t committed_before = committed.size();
    auto snapshot = ctx_->snapshot();
    boost::system::error_code bec;
    try {
      bec = apply(group[i], results[i], committed);
    } catch (const std::exception& e) {
      // A write that throws (a bug reached by device data) fails its own
      // request, never the writer: the device hears non-OK and resends.
      log->error("request rejected by the store: a write threw: {}", e.what());
      bec = make_error_code(boost::system::errc::invalid_argument);
    }
    if (bec) {
      if (is_environment_error(bec)) {
        // The disk or the database is unusable: nothing in this group can be
        // trusted to commit. Every device keeps its records and resends.
        fail_all(bec, "apply");
        return;
      }
      // A batch that violates a constraint (a bug, never device input that
      // parsed) fails alone; the others in the group still commit.
      writer_db_.exec("ROLLBACK TO batch");
      writer_db_.exec("RELEASE batch");
      committed.resize(committed_before);
      ctx_->restore(std::move(snapshot));
      results[i] = CommitResult{};
      results[i].ec = bec;
      log->error("request rejected by the store: {} ({})", bec.message(),
                 writer_db_.last_error_message());
      continue;
    }
    if ((ec = writer_db_.exec("RELEASE batch"))) {
      fail_all(ec, "release");
      return;
    }
  }
  if ((ec = ctx_->flush_sequences())) {
    fail_all(ec, "sequences");
    return;
  }
  ec = fault("commit");
  if (!ec) {
    ec = writer_db_.exec("COMMIT");
  }
  if (ec) {
    fail_all(ec, "commit");
    return;
  }
  commits_.inc();
  group_size_.observe(static_cast<double>(group.size()));
  commit_seconds_.observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  std::size_t dup = 0;
  std::size_t quar = 0;
  for (const auto& r : results) {
    dup += r.duplicates;
    quar += r.quarantined;
  }
  duplicates_.inc(dup);
  quarantined_.inc(quar);
  std::array<std::uint64_t, 32> per_kind{};
  for (std::size_t i = 0; i < group.size(); ++i) {
    if (results[i].ec) {
      continue;
    }
    // Moved-from events keep their kind; ids mark the ones inserted.
    for (std::size_t j = 0; j < group[i].batch.events.size(); ++j) {
      if (results[i].event_ids[j] != 0) {
        ++per_kind[static_cast<std::size_t>(group[i].batch.events[j].kind) % per_kind.size()];
      }
    }
  }
  for (std::size_t k = 0; k < per_kind.size(); ++k) {
    if (per_kind[k] != 0) {
      metrics_
          .counter("pushgate_records_ingested_total", "Records committed to the event log, by kind",
                   {{"kind", std::string(to_string(static_cast<EventKind>(k)))}})
          .inc(per_kind[k]);
    }
  }
  for (std::size_t i = 0; i < group.size(); ++i) {
    group[i].done(std::move(results[i]));
  }
  if (!committed.empty()) {
    notify(committed);
  }
}

}  // namespace pushgate::store
