#pragma once

// Backfill of BioStar 2 events from a durable cursor: pages of
// `POST /api/events/search` over [cursor time, until], ascending by
// `datetime`, with the overlap kept and duplicates dropped, and the durable
// cursor moved only over events the adapter reports stored. Pure (see
// suprema_event.hpp).
//
// Why overlap: paging by time alone cannot tell "the same millisecond on the
// next page" from "already seen", and BETWEEN's inclusiveness is not
// documented, so every page starts AT the last time seen (not after it) and
// the keys already given at that time are skipped. When a full page holds
// nothing but that one time (more than `limit` events in one millisecond),
// the pager pages through that time with `offset` [obs] rather than
// stepping over events.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "adapters/suprema/suprema_rest.hpp"

namespace pushgate::adapters::suprema {

/**
 * What the adapter persists between runs: the time of the newest stored
 * event and the keys (event_key()) of the stored events at exactly that
 * time, so an event stored before a crash is never stored twice and one not
 * stored is never skipped.
 */
struct EventCursor {
  std::optional<std::int64_t> epoch_ms;  ///< none: never stored anything
  std::set<std::string> keys_at_time;

  /** Most keys kept at one time; beyond, one key is forgotten per new one (a duplicate may pass).
   */
  static constexpr std::size_t kMaxKeys = 4096;
};

class EventPager {
 public:
  /**
   * Backfills from `cursor` (or from `first_from_ms` when it has no time)
   * up to `until_ms` (the adapter's "now" when the backfill starts; live
   * events after it come over the WebSocket).
   */
  EventPager(EventCursor cursor, std::int64_t first_from_ms, std::int64_t until_ms,
             std::size_t limit = 100);

  /** The search for the next page; meaningless once done(). */
  EventSearch next_search() const;
  ApiRequest next_request() const { return build_event_search(next_search()); }

  struct Page {
    std::vector<SupremaEvent> fresh;    ///< events not given before, in server order
    std::size_t duplicates = 0;         ///< rows dropped as already given (this run) or stored
    std::size_t out_of_range = 0;       ///< rows before the page start (kept in `fresh` anyway)
    std::vector<std::string> problems;  ///< the reply's problems and the pager's warnings
  };

  /**
   * Takes the reply to next_request() and moves the page window. A reply
   * that is not ok is not consumed: the same page is asked again (the
   * caller decides about re-login and back-off).
   */
  Page accept(const EventSearchReply& reply);

  bool done() const noexcept { return done_; }

  /**
   * The adapter stored `event` (durably). Moves the durable cursor when the
   * event's time is at or after it; an event without a usable time does not
   * move it. Call in the order events were given.
   */
  void mark_stored(const SupremaEvent& event);

  /** The cursor to persist: only ever covers stored events. */
  const EventCursor& cursor() const noexcept { return cursor_; }

 private:
  EventCursor cursor_;
  std::int64_t from_ms_;
  std::int64_t until_ms_;
  std::size_t limit_;
  std::size_t offset_ = 0;
  /** Keys of every event given by this pager (bounded), so a row is given once per backfill. */
  static constexpr std::size_t kMaxGivenKeys = 1 << 16;

  std::set<std::string> given_at_from_;  ///< keys given (or stored) at from_ms_
  std::set<std::string> given_;          ///< keys given by this pager, at most kMaxGivenKeys
  bool given_full_reported_ = false;
  bool done_ = false;
};

}  // namespace pushgate::adapters::suprema
