#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <spdlog/logger.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "gateway/access/master_data_change.hpp"
#include "gateway/api/router.hpp"
#include "gateway/clock.hpp"
#include "gateway/command_queue.hpp"
#include "gateway/event.hpp"
#include "gateway/event_log.hpp"
#include "gateway/metrics/metrics.hpp"
#include "gateway/sync/sync_planner.hpp"
#include "gateway/terminals.hpp"

namespace pushgate {
namespace config {
class Config;
}
namespace store {
class Store;
}
namespace access {
class AccessService;
}
}  // namespace pushgate

namespace pushgate::sync {

struct Options {
  bool enabled = true;    ///< sync.enabled
  bool enrolment = true;  ///< sync.enrolment: push uploads of one terminal to the others
  Kinds kinds;            ///< sync.kinds
  /**
   * sync.window: records (user rows, rights, templates, photos...) in sync
   * commands queued or sent per terminal at most; the rest is planned later.
   */
  std::int64_t window = 32;
  /**
   * sync.max_open_bytes: parameters (templates, photos...) of the sync
   * commands queued or sent, summed over every terminal, past which no lane
   * plans more until some are done; 0: no limit. The queue keeps open
   * commands in memory, so this is what bounds the sync's share of the
   * resident size when 200 terminals each have a window of photos open.
   */
  std::int64_t max_open_bytes = 4 * 1024 * 1024;
};

/** Reads the sync.* keys; throws std::runtime_error naming a bad value. */
Options options_from_config(const config::Config& config);

/**
 * Synchronisation down to terminals (issue 7 item 5): master-data changes
 * and enrolments uploaded by one terminal become the DATA UPDATE/DELETE
 * commands every other access terminal needs, queued in the durable
 * CommandQueue (origin "sync"; rendered in each terminal's dialect when it
 * polls). What each terminal was sent is remembered per item (sync_items),
 * so nothing is sent twice and nothing goes back where it came from.
 *
 * At the size of a site (issue 19 item 6: 10,000 users to 200 terminals)
 * the commands are planned lazily, per terminal ("lane"): a change or an
 * enrolment is one key in a journal shared by the lanes, a terminal that
 * joins (or every terminal after a restart) walks a snapshot of every key,
 * and a lane turns keys into commands only while it has fewer than
 * `sync.window` sync commands queued or sent. So the queue holds what is
 * outstanding, not users x terminals x items; what is not planned yet is
 * derived again from the master data, the enrolments and sync_items after a
 * restart. A sync command that is done is deleted from `commands` (its
 * blobs with it) and counted in sync_progress.
 *
 * Threads: observers (writer thread) only post to the service's strand;
 * planning and queueing run there, reads go to the store's read pool.
 * Lifecycle (main thread): construct, start() after Store::start and after
 * the AccessService loaded, before adapters start; stop() before the store.
 */
class SyncService {
 public:
  SyncService(boost::asio::io_context& ioc, store::Store& store, const Clock& clock,
              metrics::Registry& metrics, CommandQueue& commands, TerminalRegistry& terminals,
              access::AccessService* access, Options options);
  ~SyncService();
  SyncService(const SyncService&) = delete;
  SyncService& operator=(const SyncService&) = delete;

  /** Loads what was sent and subscribes to commits and master-data changes. "" or why not. */
  std::string start();
  void stop();

  /** GET /api/v1/sync, POST /api/v1/sync/terminals/{sn}. */
  void add_routes(api::Router& router);

  /** Waits until nothing is planned or being queued. Test-only. */
  bool wait_idle_for_test(std::chrono::milliseconds deadline);

 private:
  struct Shared;
  /** One thing to bring to the terminals: planned per terminal when its window has room. */
  struct Key {
    enum class Kind : std::uint8_t { TimeZone, Holiday, User, Enrolment };
    Kind kind = Kind::User;
    std::string a;     ///< time zone id, holiday YYYY-MM-DD, PIN, or the enrolment's source
    std::string b;     ///< the enrolment's PIN
    std::string skip;  ///< User: the terminal that holds the row (it uploaded it)
  };
  /** One terminal's progress through the keys. Strand only. */
  struct Lane {
    std::int64_t open = 0;                         ///< its sync commands queued or sent
    std::shared_ptr<const std::vector<Key>> walk;  ///< a full sync in progress
    std::size_t walk_pos = 0;
    std::uint64_t next = 0;  ///< the next journal entry to plan
    bool waiting = false;    ///< a read (enrolment, walk snapshot) in flight
    /**
     * The next keys (taken from the walk or the journal), planned before
     * any other, and what the terminal holds of them (its sync_items rows
     * for their PINs, read when they were taken, with what was noted
     * since): all the sync keeps in memory of what a terminal holds.
     */
    std::deque<Key> ready;
    SentLedger held;
    bool loading = false;     ///< the rows of the next keys being read
    std::int64_t done = 0;    ///< sync commands done since start
    std::int64_t failed = 0;  ///< ... failed, expired or cancelled since start
  };
  using Enrolments = std::vector<std::pair<std::string, std::string>>;

  void on_commit(const std::vector<Event>& committed);                              // writer thread
  void on_change(const access::MasterDataChange& change);                           // writer thread
  void apply(std::vector<Planned> plan, const std::vector<Planned>& source_items);  // strand
  /** Every few seconds: a new accepted access terminal gets the master data. */
  void scan_terminals();  // strand
  /** The terminals served now; a new one (or one the journal left behind) starts a walk. */
  void refresh_targets(bool all);  // strand; all: every record read again
  /**
   * POST /api/v1/sync/terminals/{sn}: walks the master data again; `done`
   * gets the commands it lacks (counted against its sync_items rows).
   */
  void full_sync(const std::string& sn, std::function<void(std::size_t)> done);  // strand
  // Strand: the lanes.
  void push_key(Key key);
  /** Keys of everything the master data holds (time zones, holidays, users). */
  std::vector<Key> master_keys();
  /** Starts a full walk for `serials`: master data and (with_enrolments) every enrolment. */
  void start_walk(std::vector<std::string> serials, bool with_enrolments);
  void pump(const std::string& sn);
  /** The lanes sync.max_open_bytes held back, in turn, while it has room. */
  void pump_held_back();
  /** Plans one key for one terminal; false when it waits for a read (pump resumes). */
  bool plan_key(const std::string& sn, const Target& target, const Key& key);
  void plan_enrolment_for(const std::string& sn, const Target& target, const Enrolment& e);
  void read_enrolment(std::string sn, std::string pin,
                      std::function<void(std::shared_ptr<const Enrolment>)> done);
  void finished(const std::string& sn, std::int64_t id, bool done, std::int64_t records);
  /** A command not done: its records are forgotten and planned again. */
  void replan(const std::string& sn, std::vector<std::string> items, CommandState state);
  /** Queues what apply() staged, batching records of one table. */
  void flush_staged();
  void flush_done();
  void update_gauges();
  std::int64_t pending_of(const Lane& lane) const;
  /** Takes the next keys of `sn` and reads what it holds of them; false when none. */
  bool load_next(const std::string& sn, Lane& lane);
  /** A row of sync_items noted on the strand, until its commit is seen. */
  struct Unsaved {
    std::optional<std::string> digest;  ///< nullopt: the row is deleted
    std::uint64_t seq = 0;
    bool saved = false;
  };
  struct Token {
    std::string sn;
    std::string item;
    std::uint64_t seq = 0;
  };
  /** `sn` holds `item` as `digest` (nullopt: not): in its lane now, in sync_items via `batch`. */
  void note(const std::string& sn, const std::string& item, std::optional<std::string> digest,
            WriteBatch& batch, std::vector<Token>& tokens);
  /** Appends noted rows; once committed, they are read from the store again. */
  void append_notes(WriteBatch batch, std::vector<Token> tokens, std::string what);
  void saved(const std::vector<Token>& tokens);  // strand
  void drop_saved(const std::string& sn);        // strand
  SentLedger& held_of(const std::string& sn);    // strand
  std::size_t tracked_items() const;             // strand

  boost::asio::io_context& ioc_;
  store::Store& store_;
  const Clock& clock_;
  CommandQueue& commands_;
  TerminalRegistry& terminals_;
  access::AccessService* access_;
  Options options_;
  std::shared_ptr<spdlog::logger> log_;
  std::shared_ptr<Shared> shared_;
  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  std::set<std::string> known_targets_;  // strand only
  /**
   * Rows of sync_items noted but not yet seen committed, per terminal: laid
   * over what a read returns (a read begun before the commit may not see
   * them). Dropped once committed and no read of that terminal is running.
   */
  std::map<std::string, std::map<std::string, Unsaved>> unsaved_;
  std::uint64_t note_seq_ = 0;
  boost::asio::steady_timer scan_timer_;
  // Strand only: the lanes and the journal of keys they plan from.
  std::map<std::string, Target> targets_;
  /** Per terminal and item, how often a command carrying it was not done. */
  std::map<std::pair<std::string, std::string>, int> replans_;
  /** Per target, a hash of the info its capabilities were read from. */
  std::map<std::string, std::size_t> info_hash_;
  std::map<std::string, Lane> lanes_;
  std::deque<Key> journal_;
  std::uint64_t journal_base_ = 0;  ///< position of journal_.front()
  std::map<std::string, std::int64_t> open_at_start_;
  /**
   * Parameter bytes (params_weight) of the sync commands queued since the
   * start and not finished; the commands open at a restart are not in it
   * (they finish within the first ack timeouts).
   */
  std::int64_t open_bytes_ = 0;
  std::unordered_map<std::int64_t, std::int64_t> open_weights_;  ///< by command id
  /** Lanes with room in their window that sync.max_open_bytes held back, oldest first. */
  std::deque<std::string> held_back_lanes_;
  std::set<std::string> held_back_set_;
  /** Enrolments read recently (several lanes plan the same one), oldest first. */
  std::map<std::pair<std::string, std::string>, std::shared_ptr<const Enrolment>> enrol_cache_;
  std::deque<std::pair<std::string, std::string>> enrol_order_;
  std::size_t enrol_cache_bytes_ = 0;
  /** Per enrolment, item -> digest: a lane that has them all skips it without a read. */
  std::map<std::pair<std::string, std::string>, std::vector<std::pair<std::string, std::string>>>
      summaries_;
  /** Bumped when an enrolment changes: a read begun before is not cached. */
  std::map<std::pair<std::string, std::string>, std::uint64_t> enrol_gen_;
  /** Reads in flight (by enrolment and generation): what runs when each is read. */
  std::map<std::pair<std::string, std::string>,
           std::vector<std::function<void(std::shared_ptr<const Enrolment>)>>>
      read_callbacks_;
  /** Done sync commands to delete, by terminal; one flush at a time. */
  struct DoneCommand {
    std::string sn;
    std::int64_t id = 0;
    std::int64_t records = 1;
  };
  std::vector<DoneCommand> done_ids_;
  /** Planned by apply(), queued by flush_staged() (at the end of a lane's turn). */
  struct Staged {
    std::string sn;
    std::string item;
    CommandRequest request;
    std::int64_t weight = 0;  ///< params_weight(request.params), weighed once
  };
  std::vector<Staged> staged_;
  std::set<std::string> staged_pins_;
  std::int64_t staged_weight_ = 0;  ///< params_weight of staged_, not yet in open_bytes_
  WriteBatch staged_ledger_;
  std::vector<Token> staged_tokens_;
  bool flushing_ = false;

  metrics::Counter& queued_;
  metrics::Counter& skipped_;
  metrics::Counter& enqueue_failures_;
  metrics::Counter& finished_done_;
  metrics::Counter& finished_failed_;
  metrics::Counter& enrolments_;
  metrics::Counter& deleted_done_;
  metrics::Counter& replanned_;
  metrics::Counter& held_back_;
  /** Last member: destroyed first, so no commit reaches a half-destroyed service. */
  CommitSubscription commit_sub_;
};

}  // namespace pushgate::sync
