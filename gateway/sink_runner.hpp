#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>

#include "gateway/event.hpp"
#include "gateway/event_log.hpp"
#include "gateway/health.hpp"
#include "gateway/log_rate_limiter.hpp"
#include "gateway/sink_drain.hpp"
#include "gateway/sink_ports.hpp"

namespace pushgate {

class Clock;
namespace metrics {
class Counter;
class Gauge;
class Registry;
}  // namespace metrics

/** A sink's answer for one event (Fluent Bit's FLB_OK / FLB_RETRY / FLB_ERROR). */
enum class SinkResult {
  Delivered,  ///< the far side has it: the cursor may pass it
  Retry,      ///< not now (temporary): delivered again after a backoff, the cursor waits
  Reject,     ///< never (the far side refuses this event): counted, logged, the cursor passes it
};

/**
 * What an adapter implements to be a sink; SinkRunner does the rest
 * (reading after the durable cursor, waking on commits, the in-flight
 * window, retries, the cursor, backlog figures). A sink has no SQL and no
 * cursor code.
 */
class Sink {
 public:
  /**
   * Answers one event of a deliver() call, exactly once, from any thread
   * (MQTT: paho's, on PUBACK). `reason` is logged for a Retry or Reject.
   * Calls after the runner stopped, or for a delivery the runner gave up on
   * (set_connected(false)), are ignored.
   */
  using Answer = std::function<void(std::int64_t event_id, SinkResult result, std::string reason)>;
  virtual ~Sink() = default;
  /**
   * Hands over `events` (ids ascending, all after the durable cursor) on the
   * runner's io_context. `replay`: they come from the backlog (or are a
   * retry), not live. Must not block: start the delivery and answer each
   * event later through `answer`. An event may be handed over again (a
   * retry, a reconnect, a restart): consumers drop duplicates by id.
   */
  virtual void deliver(const std::vector<Event>& events, bool replay, const Answer& answer) = 0;
};

/** How a SinkRunner paces one sink. */
struct SinkRunnerOptions {
  std::string name;               ///< the cursor's name, the metrics' `sink` label, the logger
  std::size_t window = 100;       ///< events handed over and not yet answered, at most
  std::size_t batch = 1000;       ///< events per deliver() call, at most
  std::size_t read_ahead = 4000;  ///< backlog events read per query
  int backlog_max_per_s = 0;      ///< the backlog lane's pace; 0: as fast as answers come
  std::chrono::milliseconds tick{1000};               ///< figures, due retries, cursor write
  std::chrono::milliseconds retry_min{200};           ///< first backoff of a Retry
  std::chrono::milliseconds retry_max{30'000};        ///< backoff cap (doubling)
  std::chrono::milliseconds cursor_write_every{200};  ///< cursor writes, at most this often
  std::chrono::milliseconds stop_cursor_wait{2'000};  ///< the last cursor write on stop
  std::int64_t max_backlog_age_s = 0;                 ///< Ready fails past it; 0: never
  bool connected_at_start = true;  ///< false: deliver nothing until set_connected(true)
};

/** The runner's figures (thread-safe snapshot). */
struct SinkFigures {
  std::int64_t cursor = 0;     ///< every event up to it was delivered or rejected
  std::int64_t persisted = 0;  ///< the cursor as last committed to the store
  std::int64_t head = 0;       ///< highest committed event id seen
  std::int64_t in_flight = 0;  ///< handed over or waiting for a retry, not answered
  bool draining = false;       ///< the backlog lane still has events to hand over
  std::int64_t backlog_events = 0;
  double backlog_oldest_age_s = 0;
  std::uint64_t delivered = 0;
  std::uint64_t retried = 0;
  std::uint64_t rejected = 0;
};

/**
 * The sink contract, run by the core for one sink: events after the sink's
 * durable cursor are handed to it, at most `window` unanswered at a time;
 * the cursor advances, through SinkCursors, over the contiguous prefix of
 * events answered Delivered or Reject, so after a restart the sink resumes
 * where it was and nothing is lost (an event answered but not yet under a
 * stored cursor is handed over again). A Retry is handed over again after a
 * doubling backoff and holds the cursor below it. Rejects are counted
 * (`pushgate_sink_rejected_total{sink=}`) and logged (rate-limited).
 * Backlog depth and age go to metrics (`pushgate_sink_backlog_events`,
 * `pushgate_sink_backlog_oldest_age_seconds`) and Health::set_sink (so
 * StatusFigures, /readyz and every adapter see them).
 *
 * Order (DrainState): after a start or a reconnect the backlog is handed
 * over in id order; an event committed since goes ahead of the backlog
 * unless its terminal still has backlog, so each terminal's events go out
 * in sequence.
 *
 * Threads: runs on the io_context it is given (one thread, or a strand's
 * worth of discipline: the sink's deliver() is called there). The commit
 * observer and the answers only post onto it. start() and stop() are called
 * from another thread while that io_context runs (stop waits for it).
 */
class SinkRunner final : public SinkHolder {
 public:
  struct Ports {
    boost::asio::io_context& ioc;
    CommitFeed& commits;
    EventReaders& readers;
    SinkCursors& cursors;
    metrics::Registry& metrics;
    Health& health;
    const Clock& clock;
  };

  SinkRunner(Ports ports, Sink& sink, SinkRunnerOptions options);
  ~SinkRunner();
  SinkRunner(const SinkRunner&) = delete;
  SinkRunner& operator=(const SinkRunner&) = delete;

  /** Loads the cursor, opens the reader and subscribes to commits. */
  boost::system::error_code start();
  /**
   * Hands over nothing more, stores the cursor (waiting for that commit at
   * most `stop_cursor_wait` and the deadline). Answers
   * still outstanding are dropped: those events are after the cursor and
   * handed over again after the next start.
   */
  void stop(std::chrono::milliseconds deadline);

  /**
   * The sink's link (MQTT: connected to the broker). While down nothing is
   * handed over; going down forgets every unanswered event (late answers
   * are ignored) and going up hands them over again from the cursor.
   * `window` (when not 0) replaces the options' window while up (MQTT 5:
   * the broker's receive maximum). Thread-safe.
   */
  void set_connected(bool connected, std::size_t window = 0);

  /** Wakes the runner now (e.g. the sink has room again). Thread-safe. */
  void wake();

  SinkFigures figures() const;

  // SinkHolder (retention): registered under the sink's name while started.
  Held reserve_deletion(std::vector<std::int64_t> ids) override;
  void deletion_done(const std::vector<std::int64_t>& deleted) override;

 private:
  enum class State { InFlight, Waiting };
  // Not the event itself: a retry reads it again (rare), the common path copies nothing.
  struct Pending {
    std::string terminal_sn;  // for the log line of a reject
    EventKind kind = EventKind::Attendance;
    State state = State::InFlight;
    int attempts = 0;
    std::chrono::steady_clock::time_point due{};
  };

  struct AnswerRecord {
    std::uint64_t epoch;
    std::int64_t id;
    SinkResult result;
    std::string reason;
  };
  struct Alive;  // lets answers and commits that come late find the runner gone

  void pump();
  void request_pump();
  void hand_over(const std::vector<Event>& events, bool replay);
  /** The answer function for the current epoch (made once per epoch). */
  const Sink::Answer& answer_fn();
  void take_answers();
  void on_answer(AnswerRecord a);
  void on_connected(bool connected, std::size_t window);
  void begin_session();
  bool take_token();
  void schedule_tick();
  void on_tick();
  void arm_retry_timer();
  std::int64_t current_cursor() const;
  /** Whether retention is deleting `id` now (the lanes skip it). */
  bool doomed(std::int64_t id) const;
  /** A doomed event the lanes passed: the cursor waits below it until the deletion is over. */
  void skip(std::int64_t id);
  /** What the runner holds now (reserve_deletion). */
  Held hold() const;
  /** Moves what is handed over and unanswered into in_doubt_ (a session ends). */
  void note_in_doubt();
  void persist_cursor(bool force);
  void update_figures();

  Ports ports_;
  Sink& sink_;
  SinkRunnerOptions opt_;
  LogRateLimiter log_limiter_;

  boost::asio::io_context& ioc_;
  boost::asio::steady_timer tick_timer_;
  boost::asio::steady_timer retry_timer_;
  boost::asio::steady_timer pace_timer_;
  std::unique_ptr<EventReader> reader_;

  // The runner's io_context only.
  bool started_ = false;
  bool connected_ = true;
  bool stopping_ = false;
  std::size_t window_ = 1;
  std::uint64_t epoch_ = 1;  // answers of an older epoch are ignored
  DrainState drain_;
  std::deque<Event> backlog_;                // read ahead by the backlog lane
  std::int64_t backlog_read_pos_ = 0;        // backlog_ holds ids up to this
  std::deque<std::int64_t> backlog_doomed_;  // ids in backlog_ that were doomed when read
  std::int64_t cursor_ = 0;                  // answered prefix, kept across reconnects
  double tokens_ = 0;                        // backlog_max_per_s
  std::chrono::steady_clock::time_point refill_{};
  bool pace_timer_armed_ = false;
  Sink::Answer answer_fn_;
  std::uint64_t answer_fn_epoch_ = 0;
  std::map<std::int64_t, Pending> pending_;
  std::size_t waiting_ =
      0;  // entries of pending_ waiting for a retry  // handed over or waiting for a retry
  std::int64_t persisted_ = 0;
  bool cursor_write_in_flight_ = false;
  std::chrono::steady_clock::time_point last_cursor_write_{};
  std::chrono::steady_clock::time_point retry_timer_due_{};
  bool retry_timer_armed_ = false;
  std::int64_t since_ms_ = 0;
  bool backlog_too_old_ = false;

  // Retention's deletions (SinkHolder), on the io_context like the reads:
  // an event read while it is doomed is skipped but stays outstanding in
  // drain_ (the cursor waits below it) until the deletion is over; if it was
  // not deleted after all, the runner reads again from its cursor.
  std::vector<std::int64_t> doomed_;   // ascending: being deleted now
  std::vector<std::int64_t> skipped_;  // doomed ids the lanes passed, not yet settled
  // Handed over in a session that ended before they were answered (ascending):
  // the far side may have them (an MQTT broker that forwarded a PUBLISH whose
  // PUBACK the link lost). Held until the cursor passes them, so retention
  // never counts lost an event that may have been delivered.
  std::vector<std::int64_t> in_doubt_;

  // Any thread.
  std::atomic<std::int64_t> head_{0};
  std::atomic<bool> pump_posted_{false};
  std::shared_ptr<Alive> alive_;
  std::mutex answers_mutex_;  // any thread adds, the runner's io_context takes
  std::vector<AnswerRecord> answers_;
  mutable std::mutex figures_mutex_;
  SinkFigures figures_;

  metrics::Counter& delivered_;
  metrics::Counter& retried_;
  metrics::Counter& rejected_;
  metrics::Gauge& backlog_events_;
  metrics::Gauge& backlog_age_;
  metrics::Counter& backlog_alarms_;
  /** Last member: destroyed first, so no commit reaches a half-destroyed runner. */
  CommitSubscription commit_sub_;
};

}  // namespace pushgate
