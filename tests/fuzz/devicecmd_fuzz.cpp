// Fuzz target: POST /iclock/devicecmd bodies (batched, multi-line and
// CMD=INFO command confirmations).
#include <cstddef>
#include <cstdint>

#include "adapters/zkpush/zkpush_protocol.hpp"
#include "tests/fuzz/zkpush_fuzz_support.hpp"

namespace zk = pushgate::adapters::zkpush;
using pushgate::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body = pushgate::fuzz::as_text(data, size);
  const zk::DeviceCmdResult result = zk::parse_devicecmd(body);
  std::size_t previous_line = 0;
  for (const zk::CommandConfirmation& c : result.confirmations) {
    require(!c.id.empty());
    require(c.line > previous_line && c.line_count >= 1);
    require(pushgate::fuzz::contains(body, c.raw));
    previous_line = c.line + c.line_count - 1;
  }
  for (const zk::ParseProblem& problem : result.problems) {
    require(problem.line >= 1 && !problem.reason.empty());
  }
  return 0;
}
