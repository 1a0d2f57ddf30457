#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "gateway/api/router.hpp"
#include "gateway/clock.hpp"
#include "gateway/event.hpp"
#include "gateway/metrics/metrics.hpp"
#include "gateway/store/store.hpp"
#include "gateway/subscription.hpp"

namespace pushgate::api {

/**
 * `GET /api/v1/events/stream`: the event log as server-sent events, for the
 * web console's live tail (EventSource sends the session cookie).
 *
 * Query filters `terminal`, `kind`, `user` (PIN) and `door`; each event is
 * `id: <event id>` + `event: <kind>` + `data: <the JSON of GET
 * /api/v1/events>`. It starts after the `Last-Event-ID` header (or the
 * `last_event_id` parameter) with at most `backlog` stored events, else
 * from now. Live events come from the store's commit feed, the way sinks
 * learn of them. A comment line every `heartbeat` keeps proxies and the
 * browser from timing out; at each heartbeat, and at once after any audit
 * event (a logout, a revoked token), the caller's session or token is
 * checked again: a revoked or expired one ends the stream with
 * `event: end`. At most `max_streams` at once (503 beyond).
 */
class EventStreams {
 public:
  struct Options {
    std::size_t max_streams = 16;
    std::chrono::milliseconds heartbeat{std::chrono::seconds(15)};
    std::size_t backlog = 1000;               ///< most stored events sent after Last-Event-ID
    std::int64_t session_idle_ms = 1800'000;  ///< api.session_idle_s
    bool auth_required = false;
  };

  EventStreams(Router& router, store::Store& store, const Clock& clock, metrics::Registry& metrics,
               Options options);
  ~EventStreams();
  EventStreams(const EventStreams&) = delete;
  EventStreams& operator=(const EventStreams&) = delete;

  /** Ends every stream and leaves the commit feed (before the store stops). */
  void stop();
  std::size_t open_streams() const;

  struct Filter {
    std::string terminal;
    std::optional<EventKind> kind;
    std::string user;
    int door = -1;
    bool matches(const Event& e) const;
  };
  /** One event as server-sent-event text. */
  static std::string format(const Event& e);

  class Client;

 private:
  void open(http::Request&& req, http::Reply reply);
  void on_commit(const std::vector<Event>& committed);
  void remove(const Client* client);

  store::Store& store_;
  const Clock& clock_;
  Options options_;
  metrics::Gauge* open_gauge_ = nullptr;
  metrics::Counter* refused_busy_ = nullptr;
  metrics::Counter* ended_credential_ = nullptr;
  metrics::Counter* events_sent_ = nullptr;
  mutable std::mutex mutex_;
  std::vector<std::shared_ptr<Client>> clients_;
  bool stopped_ = false;
  Subscription commit_sub_;
};

}  // namespace pushgate::api
