// Fuzz target: ATTLOG upload bodies (POST /iclock/cdata?table=ATTLOG).
#include <cstddef>
#include <cstdint>

#include "adapters/zkpush/zkpush_protocol.hpp"
#include "tests/fuzz/zkpush_fuzz_support.hpp"

namespace zk = pushgate::adapters::zkpush;
using pushgate::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body = pushgate::fuzz::as_text(data, size);
  const std::size_t lines = pushgate::fuzz::non_blank_lines(body);
  for (zk::AttlogLayout layout : {zk::AttlogLayout::Auto, zk::AttlogLayout::Positional,
                                  zk::AttlogLayout::MaskTemperature, zk::AttlogLayout::IdCard}) {
    const zk::AttlogResult result = zk::parse_attlog(body, layout);
    // Every non-blank line is a record or a problem, never both, never lost.
    require(result.records.size() + result.problems.size() == lines);
    for (const zk::AttlogRecord& record : result.records) {
      require(!record.pin.empty());
      require(pushgate::fuzz::contains(body, record.raw));
      // The time was accepted exactly as sent: it formats back to itself.
      require(zk::format_device_time(record.time) == record.time_text);
      for (const zk::AttlogField& field : record.extra) {
        require(field.position >= 8 && !field.name.empty());
      }
    }
    for (const zk::ParseProblem& problem : result.problems) {
      require(problem.line >= 1 && !problem.reason.empty());
    }
  }
  // The time parser on its own, on every 19-byte window of the input.
  for (std::size_t i = 0; i + 19 <= size && i < 64; ++i) {
    if (auto time = zk::parse_device_time(body.substr(i, 19))) {
      require(zk::format_device_time(*time) == body.substr(i, 19));
    }
  }
  return 0;
}
