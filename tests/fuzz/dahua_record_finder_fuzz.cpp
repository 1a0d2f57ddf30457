// Fuzz target: recordFinder replies (key=value lines) and the pager that walks them.
#include <cstddef>
#include <cstdint>
#include <string>

#include "adapters/dahua/dahua_record_finder.hpp"
#include "tests/fuzz/zkpush_fuzz_support.hpp"

namespace dh = pushgate::adapters::dahua;
using pushgate::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body = pushgate::fuzz::as_text(data, size);
  dh::RecordFinderLimits limits;
  limits.max_records = 64;
  const dh::RecordFinderReply reply = dh::parse_record_finder_reply(body, limits);
  require(reply.records.size() <= limits.max_records);
  std::size_t previous = 0;
  for (std::size_t i = 0; i < reply.records.size(); ++i) {
    const dh::FoundRecord& row = reply.records[i];
    require(i == 0 || row.index > previous);
    previous = row.index;
    require(!row.fields.empty());
    for (const dh::KeyValue& field : row.fields) {
      require(pushgate::fuzz::contains(body, field.value));
    }
    (void)dh::record_key("AccessControlCardRec", row.access);
  }
  for (const dh::ReplyProblem& problem : reply.problems) {
    require(!problem.reason.empty());
  }
  dh::FindRequest request;
  request.start_time = "0";
  request.end_time = "4000000000";
  request.count = 4;
  dh::RecordPager pager(request);
  for (int page = 0; page < 3 && !pager.done(); ++page) {
    const dh::RecordPager::Page got = pager.accept(reply);
    require(got.fresh.size() <= reply.records.size());
    require(pager.next_target().rfind("/cgi-bin/recordFinder.cgi?action=find&name=", 0) == 0);
  }
  return 0;
}
