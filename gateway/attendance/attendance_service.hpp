#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <date/date.h>
#include <date/tz.h>
#include <spdlog/logger.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>

#include "gateway/clock.hpp"
#include "gateway/event.hpp"
#include "gateway/event_log.hpp"
#include "gateway/metrics/metrics.hpp"
#include "gateway/timezone.hpp"
#include "rules/attendance/attendance_model.hpp"
#include "rules/attendance/report.hpp"
#include "rules/attendance/timecard.hpp"
#include "rules/attendance/timecard_engine.hpp"

namespace pushgate {
namespace config {
class Config;
}
namespace store {
class Store;
}
}  // namespace pushgate

namespace pushgate::attendance {

namespace ra = pushgate::rules::attendance;

/**
 * The punch an attendance event stands for: pin, the terminal's local time,
 * its attendance state (unless `use_state` is false), the terminal and the
 * event id (the punch identity). nullopt for any other kind (Timecard events
 * never feed the engine), for an event without a pin and for a time the
 * terminal's clock garbled.
 */
std::optional<ra::Punch> punch_from_event(const Event& event, bool use_state = true);

/** Where the rules in force came from. */
enum class RulesSource { None, File, Rest };
std::string_view to_string(RulesSource source) noexcept;

/** What the service is built from (the attendance.* keys and two gateway.* keys). */
struct ServiceOptions {
  /** attendance.rules_file: a JSON rules document (rules/attendance/README.md); "" = none. */
  std::string rules_file;
  /** attendance.terminal_states: pass the terminal's attendance state to the rules. */
  bool terminal_states = true;
  /** gateway.id: the terminal_sn of the Timecard events. */
  std::string gateway_id = "pushgate";
  /** gateway.timezone: the site's zone ("" = the system's). */
  std::string timezone;
  /** attendance.retain_days: days kept in memory and recomputed (see README "Memory"). */
  int retain_days = 93;
  /** attendance.tick_s: how often closed days are finalised. */
  std::chrono::milliseconds tick_interval{std::chrono::seconds(60)};
  /** Events per read when rebuilding from the store. */
  std::size_t page_size = 5000;
  /** Timecards per WriteBatch. */
  std::size_t max_batch_timecards = 500;
};

ServiceOptions options_from_config(const config::Config& config);

/**
 * Reads and parses attendance.rules_file as the service does at start; on
 * failure `error` is "attendance.rules_file: ..." with the path, the errno
 * text or the JSON error's line and column, or every rule error.
 */
std::optional<ra::Rules> read_rules_file(const std::string& path, std::string& error);

/**
 * Every check the constructor makes (gateway.timezone, retain_days, the
 * rules file), without a store: one "key: why" per problem, empty when good.
 */
std::vector<std::string> validate_options(const ServiceOptions& options);

/**
 * Attendance in the gateway: turns committed attendance punches from any
 * adapter into timecards (rules/attendance), stores each (user, day)
 * timecard in the `timecards` table and publishes every new or changed one
 * as a Timecard event into the event log, where the sinks find it.
 *
 * Threads and ownership:
 * - The service owns one worker thread (its own io_context). The engine,
 *   the rules and every other piece of state live on it; nothing else
 *   touches them.
 * - The commit observer runs on the store's writer thread: it only converts
 *   attendance events to punches and posts them to the worker. It never
 *   blocks the writer.
 * - Timecards go to the store through the writer (append with WriteOps);
 *   completions are posted back to the worker.
 * - The async query functions may be called from any thread; their `done`
 *   runs on the worker thread and must not block (post to your own strand).
 *
 * Lifecycle (main thread): construct after Store::open and before
 * Store::start (so the observer sees every commit), start() after
 * Store::start, stop() before Store::stop. The destructor stops.
 */
class AttendanceService {
 public:
  /**
   * Loads the rules: the version stored over REST, else attendance.rules_file.
   * Throws std::runtime_error naming the key, the file and each bad field
   * when the file cannot be read or is invalid. Registers the commit observer.
   */
  AttendanceService(store::Store& store, const Clock& clock, metrics::Registry& metrics,
                    ServiceOptions options);
  ~AttendanceService();
  AttendanceService(const AttendanceService&) = delete;
  AttendanceService& operator=(const AttendanceService&) = delete;

  /** Starts the worker: rebuild from the store, then live punches and the periodic tick. */
  void start();
  /** Stops the tick and the worker; work not done yet is dropped (rebuilt on the next start). */
  void stop();

  struct RulesInfo {
    RulesSource source = RulesSource::None;
    std::shared_ptr<const ra::Rules> rules;  ///< null when source == None
    std::string file;                        ///< attendance.rules_file
    std::int64_t updated_ms = 0;             ///< when REST set them; 0 otherwise
  };
  struct RulesUpdate {
    /** The store could not commit: nothing changed. */
    boost::system::error_code ec;
    /** The document is invalid: nothing changed. */
    std::vector<ra::ConfigError> errors;
    RulesInfo info;
    /** Timecards written by the recompute that followed. */
    std::size_t changed = 0;
  };
  struct TimecardAnswer {
    boost::system::error_code ec;
    bool has_rules = false;
    /** Unset when the pin is neither configured nor seen in a punch. */
    std::optional<ra::Timecard> card;
  };
  struct ReportAnswer {
    boost::system::error_code ec;
    bool has_rules = false;
    ra::PeriodReport report;
  };

  void rules_info(std::function<void(RulesInfo)> done);
  /**
   * Validates a JSON rules document; if valid, persists it (it then wins over
   * the file), swaps it in and recomputes every retained timecard.
   */
  void replace_rules(std::string document, std::function<void(RulesUpdate)> done);
  /** Forgets the REST version: back to the file's rules (or none), with a recompute. */
  void clear_rules(std::function<void(RulesUpdate)> done);
  /** One user's timecard, computed now (also for days before the retained window). */
  void timecard(std::string pin, date::local_days day, std::function<void(TimecardAnswer)> done);
  /** The period report over [from, to]; `pin` empty = every known user. */
  void report(date::local_days from, date::local_days to, std::string pin,
              std::function<void(ReportAnswer)> done);

  /** Runs the periodic tick now (the timer calls the same). */
  void tick();

  /** Attendance punches the worker has received from the observer (tests, metrics). */
  std::uint64_t punches_received() const noexcept { return punches_received_.value(); }
  /**
   * Waits until the worker has nothing queued and every batch it appended
   * has been committed and handled. Test-only.
   */
  bool wait_idle_for_test(std::chrono::milliseconds deadline);

 private:
  /** Shared with the store completions, which may outlive the service. */
  struct Inbox {
    std::mutex mutex;
    AttendanceService* service = nullptr;
  };
  struct Stored {
    std::string digest;
    std::int64_t revision = 0;
  };
  /** A timecard version handed to the writer, to undo in the cache if its commit fails. */
  struct Submitted {
    ra::DayKey key;
    std::optional<Stored> before;
    Stored after;
  };
  struct RulesLoad {
    std::shared_ptr<const ra::Rules> rules;
    std::int64_t updated_ms = 0;
  };

  /** Posts `job` to the worker if the service is still alive. */
  static void post(const std::shared_ptr<Inbox>& inbox,
                   std::function<void(AttendanceService&)> job);
  void on_commit(const std::vector<Event>& committed);  // writer thread

  // Worker thread only.
  void do_start();
  /** Stored state, then the engine and a recompute of every retained day; false on a read error. */
  bool rebuild();
  bool load_stored_state();
  void on_punches(const std::vector<ra::Punch>& punches);
  void do_tick();
  void schedule_tick();
  /** Swaps the rules in force (null = none) and recomputes; returns the timecards changed. */
  std::size_t apply_rules(std::shared_ptr<const ra::Rules> rules, RulesSource source);
  /** Builds engine_ from the stored punches of the retained window; false on a read error. */
  bool load_engine(std::vector<ra::DayKey>& days);
  /** An engine over the stored punches dated [first, last]; nullptr on a read error. */
  std::unique_ptr<ra::TimecardEngine> engine_from_store(std::shared_ptr<const ra::Rules> rules,
                                                        date::local_days first,
                                                        date::local_days last,
                                                        std::vector<ra::DayKey>* days);
  /**
   * The engine that answers for punches dated [first, last]: the live one when
   * `first` is inside the retained window, else a one-off engine from the
   * store kept alive in `older`. nullptr on a read error.
   */
  const ra::TimecardEngine* engine_for(date::local_days first, date::local_days last,
                                       std::unique_ptr<ra::TimecardEngine>& older);
  /** Recomputes `days` (and those pending a retry); writes and publishes those that changed. */
  std::size_t recompute(std::vector<ra::DayKey> days, bool persist_progress);
  void submit(WriteBatch batch, std::vector<Submitted> submitted);
  void on_written(const CommitResult& result, const std::vector<Submitted>& submitted);
  void set_horizon(date::local_days horizon);
  ra::ComputeContext context() const;
  date::local_seconds now_local() const;
  RulesInfo info() const;

  store::Store& store_;
  const Clock& clock_;
  ServiceOptions options_;
  Zone zone_;
  const date::time_zone* tz_ = nullptr;
  std::shared_ptr<spdlog::logger> log_;

  metrics::Counter& punches_received_;
  metrics::Counter& punches_too_old_;
  metrics::Counter& timecards_published_;
  metrics::Counter& write_failures_;
  metrics::Counter& read_failures_;
  metrics::Gauge& punches_held_;

  boost::asio::io_context worker_;
  std::unique_ptr<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  boost::asio::steady_timer tick_timer_;
  std::thread thread_;
  std::shared_ptr<Inbox> inbox_;
  /** Rules are in force: the observer forwards punches (set on the worker, read by the writer). */
  std::atomic<bool> accepting_{false};
  /** Batches appended and not yet handled by on_written. */
  std::atomic<std::size_t> in_flight_{0};
  bool stopped_ = false;

  // Worker state.
  RulesLoad file_rules_;
  RulesLoad rest_rules_;
  RulesSource source_ = RulesSource::None;
  std::shared_ptr<const ra::Rules> rules_;
  std::unique_ptr<ra::TimecardEngine> engine_;
  /** The engine could not be built (store read error): retried on each tick. */
  bool rebuild_pending_ = false;
  /** First day kept and recomputed: today - retain_days. */
  date::local_days horizon_{};
  /** Site wall time up to which closed days have been finalised. */
  date::local_seconds finalized_until_{};
  std::int64_t progress_persisted_ms_ = 0;
  /** Digest and revision of every stored timecard in the retained window. */
  std::map<ra::DayKey, Stored> stored_;
  /** Days whose write failed; recomputed on the next tick. */
  std::set<ra::DayKey> retry_;
  /** Last member: destroyed first, so no commit reaches a half-destroyed service. */
  CommitSubscription commit_sub_;
};

}  // namespace pushgate::attendance
