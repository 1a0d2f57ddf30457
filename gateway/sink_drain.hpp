#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <string>

namespace pushgate {

/**
 * Which event goes out next, and how far the durable cursor may move: the
 * pure bookkeeping of a sink's drain, run by SinkRunner (no I/O, one thread).
 *
 * Two lanes read the event log in id order. The backlog lane replays
 * (cursor, head-at-connect]; the live lane takes everything committed
 * after. A live event goes out at once — ahead of the backlog — unless its
 * terminal still has events waiting in the backlog: then it stays in the
 * log and the backlog lane sends it in its turn, so each terminal's events
 * go out in sequence order. The backlog lane skips the ids the live lane
 * already sent.
 *
 * The cursor is the highest id such that every event up to it was
 * answered delivered or rejected (MQTT: PUBACK): it never passes an event
 * that was not.
 */
class DrainState {
 public:
  /**
   * A new connection: resume after `cursor`; `head` is the highest id in
   * the log now; `backlog_last` the highest id of each terminal in
   * (cursor, head]. Forgets everything in flight (it is sent again).
   */
  void begin(std::int64_t cursor, std::int64_t head,
             std::map<std::string, std::int64_t> backlog_last);

  /** True while the backlog lane has events to replay. */
  bool draining() const noexcept { return backlog_pos_ < live_pos_; }
  /** Ids up to this were consumed by the backlog lane (sent or skipped). */
  std::int64_t backlog_pos() const noexcept { return backlog_pos_; }
  /** Ids up to this were seen by the live lane. */
  std::int64_t live_pos() const noexcept { return live_pos_; }

  /**
   * The live lane read event `id` of terminal `sn` (ids ascending, each
   * above live_pos()). True: send it now as live. False: its terminal still
   * has backlog; the backlog lane will send it.
   */
  bool admit_live(const std::string& sn, std::int64_t id);
  /**
   * The backlog lane reached event `id` of `sn` (ids ascending, above
   * backlog_pos(), at most live_pos()). True: send it as replay. False: the
   * live lane already sent it.
   */
  bool admit_backlog(const std::string& sn, std::int64_t id);

  /** A message for event `id` was handed to the client. */
  void published(std::int64_t id) { outstanding_.emplace(id, 0); }
  /** The far side answered event `id` for good. False for an id not in flight (a stale answer). */
  bool acked(std::int64_t id) { return outstanding_.erase(id) != 0; }
  /**
   * Publishing event `id` failed: it stays unacknowledged, so the cursor
   * stops below it until begin() (the caller reconnects and sends it again).
   */
  void failed(std::int64_t id) { outstanding_[id] = 1; }
  std::size_t in_flight() const noexcept { return outstanding_.size(); }
  /** Whether event `id` was published and is not yet acknowledged. */
  bool outstanding(std::int64_t id) const { return outstanding_.count(id) != 0; }
  /** Ids the live lane sent above backlog_pos(), ascending (answered or not). */
  const std::deque<std::int64_t>& sent_ahead() const noexcept { return sent_ahead_; }

  /** Every event up to this id is acknowledged. */
  std::int64_t cursor() const;

 private:
  std::int64_t base_ = 0;  // the cursor at begin(): nothing at or below it is sent again
  std::int64_t backlog_pos_ = 0;
  std::int64_t live_pos_ = 0;
  std::map<std::string, std::int64_t> backlog_last_;  // terminals still waiting in the backlog
  std::deque<std::int64_t> sent_ahead_;      // ids the live lane sent above backlog_pos_, ascending
  std::map<std::int64_t, int> outstanding_;  // published, not acknowledged
};

}  // namespace pushgate
