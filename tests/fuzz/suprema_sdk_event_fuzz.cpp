// Fuzz target: BS2Event rows from the Suprema device SDK (adapters/suprema/
// sdk_event.hpp). The input is cut into 48-byte rows, each mapped in a zone
// with a DST change; the mapping must never throw or read past the row, and
// its JSON must always parse back.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include <nlohmann/json.hpp>

#include "adapters/suprema/sdk_event.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace pushgate::adapters::suprema::sdk;
  static const pushgate::Zone zone = [] {
    std::string error;
    return pushgate::Zone::parse("Europe/Berlin", error).value_or(pushgate::Zone::utc());
  }();
  for (std::size_t off = 0; off + sizeof(Event) <= size; off += sizeof(Event)) {
    Event row;
    std::memcpy(&row, data + off, sizeof row);
    const auto e = map_event(row, {"540001234", &zone, 0, "live"});
    auto extra = nlohmann::json::parse(e.extra_json, nullptr, false);
    if (!extra.is_object() || e.raw.size() != 2 * sizeof(Event)) {
      __builtin_trap();
    }
  }
  return 0;
}
