// Fuzz target: the bounded JSON parser every JSON input goes through (REST
// bodies, MQTT commands and API requests, rules files). Any bytes: never a
// crash or an exception; a refusal names its reason; an accepted value nests
// no deeper than the limit, so dumping it (recursive) is safe and reads back
// equal. Seeds include 100,000 nested arrays and invalid UTF-8.
#include <cstddef>
#include <cstdint>

#include <nlohmann/json.hpp>

#include "gateway/json/bounded_json.hpp"
#include "tests/fuzz/zkpush_fuzz_support.hpp"

using pushgate::fuzz::require;

namespace {

std::size_t depth_of(const nlohmann::json& j, std::size_t limit) {
  if (!j.is_structured() || limit == 0) {
    return j.is_structured() ? 1 : 0;
  }
  std::size_t deepest = 0;
  for (const auto& child : j) {
    const auto d = depth_of(child, limit - 1);
    deepest = d > deepest ? d : deepest;
  }
  return deepest + 1;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = pushgate::fuzz::as_text(data, size);
  for (const pushgate::JsonLimits limits :
       {pushgate::JsonLimits{}, pushgate::JsonLimits{64, 4}, pushgate::JsonLimits{4096, 1}}) {
    const auto r = pushgate::parse_json_bounded(text, limits);
    if (!r.ok()) {
      require(!r.error.empty());
      require(r.value.is_discarded());
      require(r.refusal != pushgate::JsonRefusal::TooLarge || size > limits.max_bytes);
      continue;
    }
    require(size <= limits.max_bytes);
    require(depth_of(r.value, limits.max_depth + 1) <= limits.max_depth);
    // The parser accepted only valid UTF-8, so dump cannot throw.
    const std::string dumped = r.value.dump();
    const auto again = pushgate::parse_json_bounded(dumped, {dumped.size(), limits.max_depth});
    require(again.ok());
    require(again.value == r.value);
  }
  return 0;
}
