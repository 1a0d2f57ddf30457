#include "adapters/suprema/suprema_pager.hpp"

#include <utility>

namespace pushgate::adapters::suprema {

EventPager::EventPager(EventCursor cursor, std::int64_t first_from_ms, std::int64_t until_ms,
                       std::size_t limit)
    : cursor_(std::move(cursor)),
      from_ms_(cursor_.epoch_ms.value_or(first_from_ms)),
      until_ms_(until_ms),
      limit_(limit == 0 ? 1 : limit) {
  if (cursor_.epoch_ms) {
    given_at_from_ = cursor_.keys_at_time;
  }
  done_ = from_ms_ > until_ms_;
}

EventSearch EventPager::next_search() const {
  EventSearch search;
  search.from_ms = from_ms_;
  search.until_ms = until_ms_;
  search.limit = limit_;
  search.offset = offset_;
  return search;
}

EventPager::Page EventPager::accept(const EventSearchReply& reply) {
  Page page;
  if (done_) {
    return page;
  }
  if (!reply.result.ok) {
    page.problems.push_back("search page not read, asked again: " + reply.result.error);
    return page;
  }
  for (const RowProblem& problem : reply.problems) {
    page.problems.push_back("row " + std::to_string(problem.row) + ": " + problem.reason);
  }
  std::int64_t max_ms = from_ms_;
  std::set<std::string> keys_at_max;
  for (const SupremaEvent& event : reply.events) {
    std::string key = event_key(event);
    if (given_.count(key) != 0 ||
        (event.epoch_ms && *event.epoch_ms == from_ms_ && given_at_from_.count(key) != 0)) {
      ++page.duplicates;
      continue;
    }
    if (given_.size() < kMaxGivenKeys) {
      given_.insert(key);
    } else if (!given_full_reported_) {
      given_full_reported_ = true;
      page.problems.push_back("more than " + std::to_string(kMaxGivenKeys) +
                              " events in one backfill; older repeats are no longer recognised");
    }
    if (event.epoch_ms && *event.epoch_ms < from_ms_) {
      // Outside the range asked for: kept (never dropped), counted; the
      // store's unique event key catches it if it was stored before.
      ++page.out_of_range;
    }
    if (event.epoch_ms && *event.epoch_ms >= max_ms) {
      if (*event.epoch_ms > max_ms) {
        max_ms = *event.epoch_ms;
        keys_at_max.clear();
      }
      keys_at_max.insert(key);
    }
    page.fresh.push_back(event);
  }
  if (page.out_of_range > 0) {
    page.problems.push_back(std::to_string(page.out_of_range) +
                            " rows older than the page start (" + format_iso8601_utc(from_ms_) +
                            ") were returned");
  }
  if (reply.rows < limit_) {
    done_ = true;
    return page;
  }
  if (max_ms > from_ms_) {
    from_ms_ = max_ms;
    given_at_from_ = std::move(keys_at_max);
    offset_ = 0;
  } else {
    // A full page, all at the page start: page through that time by offset.
    given_at_from_.insert(keys_at_max.begin(), keys_at_max.end());
    offset_ += limit_;
    page.problems.push_back("more than " + std::to_string(limit_) + " events at " +
                            format_iso8601_utc(from_ms_) + "; paging by offset " +
                            std::to_string(offset_));
  }
  done_ = from_ms_ > until_ms_;
  return page;
}

void EventPager::mark_stored(const SupremaEvent& event) {
  if (!event.epoch_ms) {
    return;
  }
  const std::int64_t t = *event.epoch_ms;
  if (!cursor_.epoch_ms || t > *cursor_.epoch_ms) {
    cursor_.epoch_ms = t;
    cursor_.keys_at_time.clear();
    cursor_.keys_at_time.insert(event_key(event));
  } else if (t == *cursor_.epoch_ms) {
    if (cursor_.keys_at_time.size() >= EventCursor::kMaxKeys) {
      cursor_.keys_at_time.erase(cursor_.keys_at_time.begin());
    }
    cursor_.keys_at_time.insert(event_key(event));
  }
}

}  // namespace pushgate::adapters::suprema
