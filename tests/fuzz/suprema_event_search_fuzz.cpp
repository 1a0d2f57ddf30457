// Fuzz target: an events/search answer, fed to the reader and then to the
// backfill pager. The first byte picks the HTTP status and the row cap.
// Invariants: rows read never exceed the cap; a not-ok answer says why and
// gives no events; the pager never gives one event key twice and its cursor
// only covers events marked stored.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>

#include "adapters/suprema/suprema_pager.hpp"
#include "tests/fuzz/zkpush_fuzz_support.hpp"

namespace sp = pushgate::adapters::suprema;
using pushgate::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) {
    return 0;
  }
  static constexpr int kStatus[] = {200, 200, 401, 500};
  const int status = kStatus[data[0] & 3];
  sp::SearchLimits limits;
  limits.max_rows = (data[0] & 4) != 0 ? 4 : 10000;
  const std::string_view body = pushgate::fuzz::as_text(data + 1, size - 1);
  const sp::EventSearchReply reply = sp::read_event_search(status, body, limits);
  require(reply.events.size() <= limits.max_rows);
  if (!reply.result.ok) {
    require(!reply.result.error.empty() && reply.events.empty());
  }
  require(reply.events.size() + reply.problems.size() <= reply.rows + 1);

  constexpr std::int64_t kFrom = 1709630000000;
  sp::EventPager pager({}, kFrom, kFrom + 86400000, 4);
  std::set<std::string> given;
  for (int round = 0; round < 3 && !pager.done(); ++round) {
    const sp::EventPager::Page page = pager.accept(reply);
    for (const sp::SupremaEvent& e : page.fresh) {
      require(given.insert(sp::event_key(e)).second);
      pager.mark_stored(e);
    }
    if (!reply.result.ok) {
      require(page.fresh.empty() && !pager.done());
    }
  }
  if (pager.cursor().epoch_ms) {
    require(pager.cursor().keys_at_time.size() >= 1);
    require(pager.cursor().keys_at_time.size() <= sp::EventCursor::kMaxKeys);
  }
  return 0;
}
