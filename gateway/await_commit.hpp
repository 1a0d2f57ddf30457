#pragma once

// Waiting for a group commit from a coroutine. The event log's writer thread
// calls an append's completion; a vendor link (Dahua, Suprema) that reads a
// page from a device and must not move its cursor before the page is on disk
// waits here, and resumes on its own executor (its strand), never on the
// writer thread.

#include <utility>  // before Boost 1.74's awaitable.hpp, which uses std::exchange

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "gateway/event_log.hpp"

namespace pushgate {

/**
 * Appends `batch` to `log` and resumes on `ex` once the commit finished (or
 * failed: the result's `ec`). With no log (`nullptr`) the result is
 * `not_supported` and nothing is written. The batch is taken whole: on
 * failure nothing of it was committed and the caller reads it again.
 */
boost::asio::awaitable<CommitResult> await_commit(EventLog* log, WriteBatch batch,
                                                  boost::asio::any_io_executor ex);

}  // namespace pushgate
