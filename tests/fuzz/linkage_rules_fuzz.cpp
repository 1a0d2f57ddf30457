// Fuzz target: linkage rules documents (PUT /api/v1/linkage/rules,
// linkage.rules_file). Any bytes: never a crash or an exception; a document
// accepted is accepted again, unchanged, in the form GET shows; a refused one
// names at least one field and yields no rules. Then the engine runs the
// rules on a few events.
#include <cstddef>
#include <cstdint>

#include <nlohmann/json.hpp>

#include "rules/linkage/linkage.hpp"
#include "tests/fuzz/zkpush_fuzz_support.hpp"

namespace rl = pushgate::rules::linkage;
using pushgate::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = pushgate::fuzz::as_text(data, size);
  const auto doc = nlohmann::json::parse(text, nullptr, false);
  if (doc.is_discarded()) {
    return 0;
  }
  const rl::Parsed parsed = rl::parse_rules(doc);
  if (!parsed.ok()) {
    require(parsed.rules.empty());
    return 0;
  }
  const rl::Parsed again = rl::parse_rules(rl::to_json(parsed.rules));
  require(again.ok());
  require(again.rules == parsed.rules);
  rl::Engine engine(parsed.rules);
  for (int i = 0; i < 4; ++i) {
    rl::EventFacts f;
    f.event_id = i;
    f.terminal_sn = i % 2 == 0 ? "A" : "B";
    f.kind = "access";
    f.door = i;
    f.event_code = i == 3 ? -1 : 28;
    f.user_group = i;
    f.weekday = i;
    f.minute_of_day = i * 400;
    f.at_ms = 1000L * i;
    const auto out = engine.on_event(f);
    require(out.fired.size() + out.debounced.size() <= parsed.rules.size());
  }
  return 0;
}
