#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include "gateway/clock.hpp"
#include "gateway/event_log.hpp"
#include "gateway/metrics/metrics.hpp"
#include "gateway/store/record_keys.hpp"
#include "gateway/store/sqlite.hpp"
#include "gateway/store/write_context.hpp"

namespace pushgate::store {

/**
 * The durable store: one SQLite database in WAL mode with synchronous=FULL,
 * one writer thread doing group commit, and a small pool of read threads
 * with their own connections.
 *
 * Group commit: `append` queues a batch; the writer takes every batch queued
 * since its last commit (up to `max_group_records` events) into ONE
 * transaction, each batch inside its own savepoint, commits, and only then
 * calls each batch's `done`. A failed commit (disk full, I/O error) fails
 * every batch in the group: none of their devices may hear OK.
 *
 * Threads: `append` and `async_read` may be called from any thread and never
 * block on SQLite. `done`, commit observers and read jobs run on the store's
 * own threads.
 */
class Store final : public EventLog, public CommitFeed {
 public:
  struct Options {
    std::string path;
    int read_threads = 2;
    std::size_t max_group_records = 20000;
    int busy_timeout_ms = 5000;
    std::string synchronous = "FULL";
  };

  /** Opens (creating if needed) and migrates the database. Startup only. */
  static std::unique_ptr<Store> open(const Options& options, const Clock& clock,
                                     metrics::Registry& metrics, std::string& error);
  ~Store() override;
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  /** Starts the writer thread and the read pool. */
  void start();
  /**
   * Stops accepting batches, commits everything already queued, joins the
   * threads. Bounded by the commits in flight.
   */
  void stop();

  // EventLog
  void append(WriteBatch batch, Done done) override;

  // CommitFeed
  /**
   * Calls `observer` after each commit on the writer thread until the
   * subscription ends (see CommitSubscription for the guarantee). May be
   * called before or after start() (adapters start after the writer), from
   * any thread, an observer included; an observer sees the commits that
   * follow its subscription. A subscription may outlive the store.
   */
  [[nodiscard]] CommitSubscription subscribe(CommitObserver observer) override;

  /**
   * Runs `job(Connection&)` on a read thread (short read transaction) and
   * posts its result to the handler's associated executor.
   */
  template <class Job, class Handler>
  void async_read(Job job, Handler handler) {
    auto ex = boost::asio::get_associated_executor(handler);
    boost::asio::post(read_pool_, [this, job = std::move(job), handler = std::move(handler),
                                   ex]() mutable {
      auto result = with_read_connection(job);
      boost::asio::post(ex, [handler = std::move(handler), result = std::move(result)]() mutable {
        handler(std::move(result));
      });
    });
  }

  /** Runs a read job synchronously on the caller's thread (startup, tools, tests). */
  template <class Job>
  auto read(Job job) {
    return with_read_connection(job);
  }

  /** What a checkpoint did (sqlite3_wal_checkpoint_v2). */
  struct CheckpointResult {
    boost::system::error_code ec;  ///< SQLITE_BUSY: a reader held on past `max_wait`
    int wal_frames = -1;           ///< frames in the WAL before it was truncated
    int checkpointed = -1;
  };
  /**
   * A TRUNCATE checkpoint on the writer's connection, between two groups and
   * outside any transaction (retention; readers cannot checkpoint). It waits
   * at most `max_wait` for readers to leave the WAL, so uploads queue behind
   * it no longer than that. `done` runs on the writer thread (or on the
   * caller's of stop() when the writer has gone).
   */
  void checkpoint(std::chrono::milliseconds max_wait, std::function<void(CheckpointResult)> done);

  /** Batches waiting for the writer. */
  std::size_t queue_depth() const;
  /**
   * True when work has waited longer than `limit` without the writer
   * finishing a group (a stuck writer thread or a hung disk).
   */
  bool stalled(std::chrono::milliseconds limit) const;
  const std::string& path() const noexcept { return options_.path; }

  /**
   * Fault injection for tests: called at each write step ("begin", "event",
   * "quarantine", "op", "commit"); a returned error acts as SQLite's.
   */
  void set_fault_injector_for_test(std::function<boost::system::error_code(std::string_view)> f);

 private:
  struct Pending {
    WriteBatch batch;
    Done done;
  };

  Store(const Options& options, const Clock& clock, metrics::Registry& metrics);

  template <class Job>
  auto with_read_connection(Job& job) {
    Connection conn = acquire_reader();
    auto result = job(conn);
    release_reader(std::move(conn));
    return result;
  }
  Connection acquire_reader();
  void release_reader(Connection conn);

  void run_writer();
  void commit_group(std::vector<Pending>& group);
  boost::system::error_code apply(Pending& p, CommitResult& r, std::vector<Event>& committed);
  boost::system::error_code fault(std::string_view step);
  void notify(const std::vector<Event>& committed);

  Options options_;
  const Clock& clock_;
  metrics::Registry& metrics_;

  Connection writer_db_;
  std::unique_ptr<WriteContext> ctx_;
  LegacyAttlogKeys legacy_attlog_;  // pre-0012 ATTLOG keys (record_keys.hpp)

  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;
  std::deque<std::pair<std::chrono::milliseconds, std::function<void(CheckpointResult)>>>
      checkpoints_;  // run between groups
  void run_checkpoint(std::chrono::milliseconds max_wait,
                      const std::function<void(CheckpointResult)>& done);
  std::size_t queued_events_ = 0;
  std::chrono::steady_clock::time_point oldest_wait_{};  // when the queue last went non-empty
  std::atomic<std::int64_t> last_progress_ns_{0};
  bool stopping_ = false;
  bool started_ = false;
  std::thread writer_;

  std::mutex readers_mutex_;
  std::vector<Connection> readers_;
  boost::asio::thread_pool read_pool_;

  struct Observers;
  /** Shared with the subscriptions, which may outlive the store. */
  std::shared_ptr<Observers> observers_;
  std::function<boost::system::error_code(std::string_view)> fault_;

  metrics::Counter& commits_;
  metrics::Counter& commit_failures_;
  metrics::Counter& duplicates_;
  metrics::Counter& quarantined_;
  metrics::Histogram& commit_seconds_;
  metrics::Histogram& group_size_;
};

}  // namespace pushgate::store
