#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/system/error_code.hpp>

#include "gateway/event.hpp"

namespace pushgate {

/**
 * What a sink reads of the event log, on its own read connection (gateway/
 * store implements it). One reader belongs to one thread at a time; each
 * call is one short read transaction. Errors come back in `ec`, with an
 * empty result.
 */
class EventReader {
 public:
  virtual ~EventReader() = default;
  /** Highest event id committed (0 for an empty log). */
  virtual std::int64_t max_event_id(boost::system::error_code& ec) = 0;
  /** Up to `limit` events with ids strictly after `after`, ascending. */
  virtual std::vector<Event> read_after(std::int64_t after, std::size_t limit,
                                        boost::system::error_code& ec) = 0;
  /** Per terminal serial: the highest id among its events after `after`. */
  virtual std::map<std::string, std::int64_t> last_id_per_terminal_after(
      std::int64_t after, boost::system::error_code& ec) = 0;
  /** received_ms of the first event after `after`; 0 when there is none. */
  virtual std::int64_t first_received_ms_after(std::int64_t after,
                                               boost::system::error_code& ec) = 0;
  /** Per terminal, its latest event of one of `kinds` (a status board's start), by id. */
  virtual std::vector<Event> latest_per_terminal(std::span<const EventKind> kinds,
                                                 boost::system::error_code& ec) = 0;
};

/** Opens EventReaders; the core owns the database and its connections. */
class EventReaders {
 public:
  virtual ~EventReaders() = default;
  /** A reader with a connection of its own; null with `ec` set when it cannot be opened. */
  virtual std::unique_ptr<EventReader> open_reader(boost::system::error_code& ec) = 0;
};

/**
 * What a running sink has read of the event log and may still hand over
 * without reading it again (its read-ahead and its in-flight window), for
 * retention (gateway/store/retention.hpp). An event deleted to keep the disk
 * budget must be one the sink never hands over, so that the loss count is
 * exact: retention deletes nothing a sink holds, and tells the sinks what it
 * is about to delete, so none reads those events in the meantime.
 * The SinkRunner implements it.
 */
class SinkHolder {
 public:
  struct Held {
    std::int64_t delivered = 0;  ///< every event up to it was answered (maybe not yet stored)
    std::int64_t read_to = 0;    ///< events in (delivered, read_to] may be in the sink's hands
    std::vector<std::int64_t> in_hand;  ///< handed over above read_to (the live lane), ascending
    /** Answered above read_to (sent ahead by the live lane): not held, not lost either. */
    std::vector<std::int64_t> answered;
    bool holds(std::int64_t id) const {
      return (id > delivered && id <= read_to) ||
             std::binary_search(in_hand.begin(), in_hand.end(), id);
    }
  };
  virtual ~SinkHolder() = default;
  /**
   * Retention is about to delete `ids` (ascending): until deletion_done()
   * the sink skips them in whatever it reads. Returns what it holds now
   * (retention then leaves those ids alone). Thread-safe; waits for the
   * sink's thread (at most a few seconds, then it answers that it may hold
   * anything).
   */
  virtual Held reserve_deletion(std::vector<std::int64_t> ids) = 0;
  /**
   * The deletion is over: `deleted` (ascending) are gone, every other
   * reserved id is still there (retention kept what some sink held, or the
   * commit failed). A sink that skipped one of those reads again from its
   * cursor, so nothing it skipped stays undelivered.
   */
  virtual void deletion_done(const std::vector<std::int64_t>& deleted) = 0;
};

/**
 * Retention's side of SinkHolder, over every sink running now (gateway/store
 * implements it).
 */
class SinkHolds {
 public:
  virtual ~SinkHolds() = default;
  /** SinkHolder::reserve_deletion on every running sink, by sink name. */
  virtual std::map<std::string, SinkHolder::Held> reserve_deletion(
      const std::vector<std::int64_t>& ids) = 0;
  /** SinkHolder::deletion_done on every running sink. */
  virtual void deletion_done(const std::vector<std::int64_t>& deleted) = 0;
};

/**
 * The durable positions of the sinks (how far each has delivered the event
 * log), by sink name ("mqtt", …). gateway/store implements it.
 */
class SinkCursors {
 public:
  using Done = std::function<void(boost::system::error_code)>;
  virtual ~SinkCursors() = default;
  /** The stored position of `name`, 0 when it never stored one. Blocks on a read. */
  virtual std::int64_t load(std::string_view name, boost::system::error_code& ec) = 0;
  /**
   * Stores `position` for `name` in a transaction of the store's writer.
   * Never blocks. `done` runs exactly once, on the writer thread, after the
   * commit (ec clear) or its failure (ec set: the stored position is
   * unchanged); it must not block.
   */
  virtual void store(std::string name, std::int64_t position, Done done) = 0;
  /**
   * A running sink registers what it holds under its name (nullptr when it
   * stops), so retention can ask it before deleting (see SinkHolds).
   * Returns once no call into the previous holder runs.
   */
  virtual void attach(std::string_view name, SinkHolder* holder) {
    (void)name;
    (void)holder;
  }
};

}  // namespace pushgate
