#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <boost/system/error_code.hpp>

#include "gateway/clock.hpp"
#include "gateway/command.hpp"
#include "gateway/event_log.hpp"
#include "gateway/metrics/metrics.hpp"
#include "gateway/subscription.hpp"

namespace pushgate {

namespace store {
class Store;
class Connection;
}  // namespace store

/**
 * The durable command queue, one per terminal.
 *
 * Every state change is a row update committed by the store's writer; the
 * open commands (queued, sent) are also kept in memory so a terminal's poll
 * is answered without reading the database.
 *
 *   queued --deliver--> sent --result Return>=0--> done
 *                         |  --result Return<0---> failed
 *                         |  --no result in ack_timeout--> re-delivered (attempts+1)
 *                         |  --attempts exhausted--> failed
 *   queued/sent --expires--> expired        queued --cancel--> cancelled
 *
 * Threads: every method is thread-safe and short (a mutex around the
 * in-memory index); none reads SQLite. Observers are called after the
 * change is committed, on the store's writer thread: post, don't block.
 */
class CommandQueue {
 public:
  struct Options {
    std::int64_t default_ttl_ms = 24 * 3600 * 1000;
    /** Door actions (VerbSpec::door_action) without a caller's ttl: a door opens now or never. */
    std::int64_t door_ttl_ms = 60 * 1000;
    std::int64_t ack_timeout_ms = 60 * 1000;
    int max_attempts = 3;
    std::size_t max_per_poll = 16;
    std::size_t max_bytes_per_poll = 64 * 1024;
  };

  /** The wire line for one command, or why it cannot be expressed. */
  struct Rendered {
    std::string line;         ///< without "C:<id>:"
    std::string error;        ///< set: the command fails with this reason
    bool ends_batch = false;  ///< nothing may follow it in one answer (REBOOT)
    std::string prefix;       ///< written before "C:<id>:" (Security PUSH CmdFormat=1)
  };
  using Renderer = std::function<Rendered(const CommandRecord&)>;

  /** A terminal's answer to one command. */
  struct Result {
    std::int64_t id = 0;
    std::int64_t return_code = 0;
    std::string return_name;
    std::string raw;
  };

  CommandQueue(store::Store& store, const Clock& clock, metrics::Registry& metrics,
               Options options);

  /**
   * Whether `sn` may be sent commands: "" when it may, else why not (never
   * seen, refused). Called by enqueue on the caller's thread; must be
   * thread-safe and short. Set once at startup, before the first enqueue.
   * Without one, any serial is taken.
   */
  using TerminalCheck = std::function<std::string(const std::string& sn)>;
  void set_terminal_check(TerminalCheck check);

  /** Startup: loads the open commands and the next id. */
  void load();

  using EnqueueDone = std::function<void(boost::system::error_code ec, std::string error,
                                         CommandRecord record, bool duplicate)>;
  /**
   * Validates and queues a command durably. The same (origin, client_ref)
   * again answers the existing command with `duplicate` set. `done` runs
   * after commit on the writer thread (or at once on a validation error,
   * with `error` set to "<field>: <why>", e.g. "params.seconds: must be an
   * integer 1..254"). Validation, for every source: the verb and its params
   * against the command spec (gateway/command_spec.hpp), the terminal
   * against the TerminalCheck. Nothing refused is queued.
   */
  void enqueue(CommandRequest request, EnqueueDone done);
  /**
   * An adapter's check run by enqueue() before anything is stored: "" or why
   * the command is refused (the caller's 400). Added at construction, before
   * the io_context runs; called on the enqueuing thread.
   */
  void add_check(std::function<std::string(const CommandRequest&)> check);
  /** The adapters' checks alone (what enqueue() would refuse), nothing stored. */
  std::string check(const CommandRequest& request) const;

  /**
   * For a terminal's poll: picks the commands to deliver now (queued, or
   * sent without a result for ack_timeout), renders them, marks them sent
   * and adds the row updates to `batch`. Returns "C:<id>:<line>" lines,
   * capped by count and bytes, none after a command that ends a batch.
   * Commands the renderer cannot express fail (also added to `batch`).
   * Call `committed(batch_records)` after the batch commits.
   */
  std::vector<std::string> deliver(const std::string& sn, const Renderer& render, WriteBatch& batch,
                                   std::vector<CommandRecord>& changed);

  /**
   * A push-style adapter (one that reaches its devices itself: Dahua's HTTP
   * API, Suprema's SDK) delivers commands as soon as they can go instead of
   * waiting for a poll. It registers which terminals it serves and is told
   * when one has commands to take:
   *   - after a command for it is queued (committed),
   *   - when a sent command had no result within ack_timeout and attempts
   *     remain (re-delivery; found by sweep()),
   *   - at registration, for what was already open (a restart).
   * The adapter then calls take(), commits the batch, executes the commands
   * and reports with complete() (the device's answer) or fail() (the device
   * refused it for good). A command it could not get to the device stays
   * sent: it is offered again after ack_timeout, up to max_attempts, then
   * fails; expiry applies as on the poll path, and results reach the
   * observers (MQTT, REST) the same way. A device back online after an
   * outage is the adapter's cue to call take() itself.
   */
  struct Pusher {
    /** Whether this adapter delivers the commands of `sn`. Thread-safe and short. */
    std::function<bool(std::string_view sn)> owns;
    /**
     * `sn` has commands to take. Called on the store's writer thread or the
     * sweeping thread: post to your own strand, don't block, don't take().
     */
    std::function<void(const std::string& sn)> ready;
  };
  /** Registers `pusher` until the subscription is reset (see Subscription). */
  [[nodiscard]] Subscription add_pusher(Pusher pusher);

  /**
   * For a push-style adapter: the commands of `sn` to deliver now (queued,
   * or due for re-delivery), at most `max` (0: Options::max_per_poll),
   * oldest first. Marks them sent and adds the row updates to `batch`; the
   * adapter renders them itself. Call `committed(changed)` after the batch
   * commits, and only then execute them.
   */
  std::vector<CommandRecord> take(const std::string& sn, WriteBatch& batch,
                                  std::vector<CommandRecord>& changed, std::size_t max = 0);

  /**
   * For a push-style adapter: the device refused command `id` for good (a
   * verb it does not have, a parameter it rejects), with `reason` for the
   * operator. Fails it whether queued or sent; false when `id` is not an
   * open command of `sn`.
   */
  bool fail(const std::string& sn, std::int64_t id, std::string reason, WriteBatch& batch,
            std::vector<CommandRecord>& changed);

  /** A result that did not count, and why. */
  struct Refusal {
    std::int64_t id = 0;
    std::string reason;  ///< "other_terminal" (queued for another serial) | "not_sent"
  };

  /**
   * For a terminal's results: marks the commands done/failed and adds the
   * row updates to `batch`. A result counts only from the terminal the
   * command was queued for, once it was sent to it; other results for open
   * commands change nothing and are listed in `refused` (when given). Ids
   * not open (already finished, or never ours) are ignored and counted in
   * the return value.
   */
  std::size_t complete(const std::string& sn, const std::vector<Result>& results, WriteBatch& batch,
                       std::vector<CommandRecord>& changed,
                       std::vector<Refusal>* refused = nullptr);

  /** After the batch carrying those changes committed: notify and forget finished ones. */
  void committed(const std::vector<CommandRecord>& changed);

  /** Cancels a queued command. False when it is not queued (sent or finished). */
  bool cancel(std::int64_t id, WriteBatch& batch, std::vector<CommandRecord>& changed);

  /** Expires and fails what timed out; returns the changes to commit. */
  void sweep(WriteBatch& batch, std::vector<CommandRecord>& changed);

  /** Whether `sn` has anything to deliver now (cheap; for poll fast paths). */
  bool has_deliverable(const std::string& sn) const;
  std::size_t open_count() const;

  /** Called after every committed state change (writer thread). */
  void add_observer(std::function<void(const CommandRecord&)> observer);

  /** Reads for the API (any thread with its own read connection). */
  static std::vector<CommandRecord> read(store::Connection& db, const std::string& terminal,
                                         std::optional<CommandState> state, std::int64_t after,
                                         std::size_t limit, boost::system::error_code& ec);
  static std::optional<CommandRecord> read_one(store::Connection& db, std::int64_t id,
                                               boost::system::error_code& ec);

  const Options& options() const noexcept { return options_; }

 private:
  static WriteOp update_op(const CommandRecord& c);
  void refused(const CommandRequest& request, const std::string& why);
  bool deliverable(const CommandRecord& c, std::int64_t now) const;
  void index_locked(const CommandRecord& c);
  void forget_locked(std::map<std::int64_t, CommandRecord>::iterator it);

  store::Store& store_;
  const Clock& clock_;
  metrics::Registry& metrics_;
  Options options_;

  mutable std::mutex mutex_;
  std::int64_t next_id_ = 1;
  std::vector<std::function<std::string(const CommandRequest&)>> checks_;
  std::map<std::int64_t, CommandRecord> open_;                        // by id
  std::map<std::string, std::set<std::int64_t>, std::less<>> by_sn_;  // open ids per terminal
  std::map<std::string, std::int64_t, std::less<>> refs_;             // origin\tclient_ref -> id
  std::vector<std::function<void(const CommandRecord&)>> observers_;
  TerminalCheck terminal_check_;

  struct PusherEntry {
    Pusher pusher;
    bool active = true;
  };
  void announce(const std::vector<std::string>& serials);
  // Held while a pusher is called, so a reset from another thread waits for
  // the call; recursive so a reset from inside the call does not deadlock.
  std::recursive_mutex pushers_mutex_;
  std::vector<std::shared_ptr<PusherEntry>> pushers_;
  // Per open command sent to a pusher: the attempt whose re-delivery was
  // announced, so each re-delivery is announced once.
  std::map<std::int64_t, int> announced_;
};

}  // namespace pushgate
