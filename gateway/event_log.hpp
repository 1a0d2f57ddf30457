#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <boost/system/error_code.hpp>

#include "gateway/event.hpp"
#include "gateway/subscription.hpp"

namespace pushgate {

namespace store {
class WriteContext;
}

/** A line a device sent that we could not understand, kept byte for byte. */
struct QuarantineRecord {
  std::string terminal_sn;
  std::string endpoint;  ///< e.g. "cdata"
  std::string table;     ///< e.g. "ATTLOG"
  int line_no = 0;       ///< 1-based line within the body, 0 for the whole body
  std::string reason;
  std::string raw;
  std::int64_t received_ms = 0;
};

/**
 * A write applied inside the group-commit transaction (master data, terminal
 * state, command results). Runs on the writer thread; returns an error to
 * roll back this batch's part of the transaction.
 */
using WriteOp = std::function<boost::system::error_code(store::WriteContext&)>;

/**
 * Everything one device request wants committed. It is committed atomically:
 * all of it or none of it.
 */
struct WriteBatch {
  std::vector<Event> events;
  /** Binary content for events[index] (attendance photos). */
  std::vector<std::pair<std::size_t, std::string>> blobs;
  std::vector<QuarantineRecord> quarantine;
  std::vector<WriteOp> ops;

  bool empty() const noexcept { return events.empty() && quarantine.empty() && ops.empty(); }
};

/** What became of a WriteBatch. */
struct CommitResult {
  /** Set when nothing of the batch was committed. The device must not hear OK. */
  boost::system::error_code ec;
  std::size_t inserted = 0;    ///< events new to the log
  std::size_t duplicates = 0;  ///< events the log already had (re-uploads)
  std::size_t quarantined = 0;
  /** Parallel to WriteBatch::events: the assigned id, or 0 for a duplicate. */
  std::vector<std::int64_t> event_ids;
};

/**
 * The append side of the event log (gateway/store implements it).
 *
 * Contract: `append` never blocks and may be called from any thread. `done`
 * is called exactly once, on the writer thread, after the batch's
 * transaction committed (ec clear) or failed (ec set). It must not block:
 * post the result to your own strand.
 */
class EventLog {
 public:
  using Done = std::function<void(CommitResult)>;
  virtual ~EventLog() = default;
  virtual void append(WriteBatch batch, Done done) = 0;
};

/**
 * Notified after every commit with the events it added (ids assigned), on
 * the writer thread. Must not block. Sinks use it to wake up for live events.
 */
using CommitObserver = std::function<void(const std::vector<Event>& committed)>;

/** A commit observer's registration (CommitFeed::subscribe): see Subscription. */
using CommitSubscription = Subscription;

/**
 * Where committed events are announced (gateway/store implements it).
 * Observers run on the writer thread after each commit, in subscription
 * order, and see the commits that follow their subscription.
 */
class CommitFeed {
 public:
  virtual ~CommitFeed() = default;
  /** Registers `observer` until the returned subscription is reset or destroyed. */
  [[nodiscard]] virtual CommitSubscription subscribe(CommitObserver observer) = 0;
};

}  // namespace pushgate
