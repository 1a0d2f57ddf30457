// Fuzz target: Security PUSH table=rtlog bodies (TAB-separated key=value
// access events, any key order, garbage times kept) and their dedup keys.
#include <cstddef>
#include <cstdint>
#include <string>

#include "adapters/zkpush/zkpush_security_protocol.hpp"
#include "tests/fuzz/zkpush_fuzz_support.hpp"

namespace zk = pushgate::adapters::zkpush;
namespace sec = pushgate::adapters::zkpush::security;
using pushgate::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body = pushgate::fuzz::as_text(data, size);
  const sec::RtlogResult result = sec::parse_rtlog(body);
  // Every non-blank line is a record or a problem, never both, never lost.
  require(result.records.size() + result.problems.size() == pushgate::fuzz::non_blank_lines(body));
  std::size_t previous_line = 0;
  for (const sec::RtlogRecord& record : result.records) {
    require(record.line > previous_line);
    previous_line = record.line;
    require(pushgate::fuzz::contains(body, record.raw));
    require(pushgate::fuzz::contains(record.raw, record.time_text));
    // A parsed time was accepted exactly as sent; an unparsed one is kept.
    if (record.time) {
      require(zk::format_device_time(*record.time) == record.time_text);
    }
    require(record.time_unparsed() == !record.time.has_value());
    if (record.verify_styles) {
      require(record.verify_type_text.size() == 16 && !record.verify_mode);
    }
    require(record.doors.size() <= sec::kMaxDoors);
    for (std::size_t i = 0; i < record.doors.size(); ++i) {
      require(record.doors[i].door == static_cast<int>(i + 1));
    }
    const std::string key = sec::rtlog_dedup_key("SN", record);
    require(key.size() >= record.time_text.size());
    (void)sec::event_code_name(record.event.value_or(-1));
    (void)sec::event_category(record.event.value_or(-1));
    (void)sec::verify_mode_name(record.verify_mode.value_or(-1));
  }
  for (const zk::ParseProblem& problem : result.problems) {
    require(problem.line >= 1 && !problem.reason.empty());
    require(pushgate::fuzz::contains(body, problem.raw));
  }
  return 0;
}
