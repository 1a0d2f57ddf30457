// Fuzz target: table=options bodies (comma-separated key=value with commas
// allowed inside values).
#include <cstddef>
#include <cstdint>

#include "adapters/zkpush/zkpush_protocol.hpp"
#include "tests/fuzz/zkpush_fuzz_support.hpp"

namespace zk = pushgate::adapters::zkpush;
using pushgate::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body = pushgate::fuzz::as_text(data, size);
  const zk::OptionsResult result = zk::parse_options(body);
  std::size_t bytes = 0;
  for (const zk::KeyValue& option : result.options) {
    require(!option.key.empty());
    require(option.key.find('\n') == std::string::npos);
    require(result.find(option.key) != nullptr);
    bytes += option.key.size() + 1 + option.value.size();
  }
  for (const zk::ParseProblem& problem : result.problems) {
    bytes += problem.raw.size();
  }
  // Options and problems are slices of the body: never more bytes than it has.
  require(bytes <= body.size());
  return 0;
}
