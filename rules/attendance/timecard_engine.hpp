#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include <date/date.h>

#include "rules/attendance/attendance_model.hpp"
#include "rules/attendance/schedule.hpp"
#include "rules/attendance/timecard.hpp"

namespace pushgate::rules::attendance {

/** One user's attendance day: the key of a timecard. */
struct DayKey {
  std::string pin;
  date::local_days day{};

  friend bool operator==(const DayKey&, const DayKey&) = default;
  friend bool operator<(const DayKey& a, const DayKey& b) {
    return a.pin != b.pin ? a.pin < b.pin : a.day < b.day;
  }
};

/**
 * Incremental timecards.
 *
 * Feed punches in any order and any number of times (live uploads, a
 * terminal's backlog after an outage, re-uploads); add_punches() answers
 * which (user, day) timecards changed and must be recomputed and stored.
 * Each punch belongs to exactly one attendance day (Scheduler::owner_day()),
 * so a new punch changes one timecard. A punch is identified by
 * (terminal_sn, event_id): a re-upload changes nothing; two different
 * records under one identity keep the first in punch_before() order, so the
 * outcome never depends on arrival order.
 *
 * timecard() is compute_timecard() over the stored punches of that day, so
 * the incremental result always equals the pure function over all punches.
 *
 * Time passing also changes timecards (a missing punch turns into an
 * absence when its window closes); the owner asks finalized_between() on its
 * periodic tick. The engine itself never reads a clock.
 *
 * Not thread-safe: one owner (the attendance rules component, on its strand)
 * calls it. Memory grows with the punches fed; the owner drops old months by
 * building a new engine from the store.
 */
class TimecardEngine {
 public:
  /** `rules` must have passed validate(). */
  explicit TimecardEngine(std::shared_ptr<const Rules> rules);

  /** Stores new punches; returns the changed days, sorted and unique. */
  std::vector<DayKey> add_punches(std::span<const Punch> punches);

  /** Swaps the rules; punches move to their new days. Returns every day touched before or after. */
  std::vector<DayKey> replace_rules(std::shared_ptr<const Rules> rules);

  const Scheduler& scheduler() const { return *scheduler_; }

  /** The stored punches of one day, in punch_before() order (empty if none). */
  std::span<const Punch> punches(const DayKey& key) const;

  /** The timecard of one day (also for days without punches: absence). */
  Timecard timecard(const DayKey& key, const ComputeContext& context) const;

  /** Days of known users whose window ends in (after, until]: they just became final. */
  std::vector<DayKey> finalized_between(date::local_seconds after, date::local_seconds until) const;

  /** Configured users and pins seen in punches, sorted. */
  std::vector<std::string> pins() const;

  std::size_t punch_count() const { return identities_.size(); }

 private:
  struct Identity {
    std::string terminal_sn;
    std::int64_t event_id = 0;
    friend bool operator==(const Identity&, const Identity&) = default;
  };
  struct IdentityHash {
    std::size_t operator()(const Identity& id) const noexcept;
  };
  struct DayKeyHash {
    std::size_t operator()(const DayKey& key) const noexcept;
  };

  DayKey owner(const Punch& punch) const;
  /** Stores the punch in its day; returns that day. */
  DayKey insert(const Punch& punch);
  void erase(const Punch& punch);

  std::unique_ptr<Scheduler> scheduler_;
  // One flat map keyed by (pin, day): punches arrive time-ordered across all
  // users, so one hash probe per punch beats a per-user tree walk.
  std::unordered_map<DayKey, std::vector<Punch>, DayKeyHash> days_;
  std::unordered_map<Identity, Punch, IdentityHash> identities_;
};

}  // namespace pushgate::rules::attendance
