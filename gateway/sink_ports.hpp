#pragma once

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
};

}  // namespace pushgate
