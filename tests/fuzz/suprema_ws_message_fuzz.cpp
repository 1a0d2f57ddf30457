// Fuzz target: one /wsapi text message of the BioStar 2 event feed. Any
// bytes: never a crash or an exception; Invalid always says why; an Event
// always carries an event whose fields respect the field bound and whose
// raw JSON reads back; the raw text is bounded.
#include <cstddef>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "adapters/suprema/suprema_event.hpp"
#include "tests/fuzz/zkpush_fuzz_support.hpp"

namespace sp = pushgate::adapters::suprema;
using pushgate::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = pushgate::fuzz::as_text(data, size);
  for (const sp::JsonBounds bounds : {sp::kEventMessageBounds, sp::JsonBounds{512, 4}}) {
    const sp::WsMessage m = sp::parse_ws_message(text, bounds);
    require(m.raw.size() <= bounds.max_bytes);
    switch (m.kind) {
      case sp::WsMessageKind::Invalid:
        require(!m.error.empty() && !m.event);
        break;
      case sp::WsMessageKind::Other:
        require(m.error.empty() && !m.event && !m.top_key.empty());
        break;
      case sp::WsMessageKind::Event: {
        require(m.event.has_value() && m.top_key == "Event");
        const sp::SupremaEvent& e = *m.event;
        require(e.id.size() <= sp::kMaxFieldBytes && e.user_id.size() <= sp::kMaxFieldBytes);
        require(e.datetime.size() <= sp::kMaxFieldBytes);
        require(!e.raw.empty());
        require(!nlohmann::json::parse(e.raw, nullptr, false).is_discarded());
        require(!e.classification.kind.empty());
        require(!sp::event_key(e).empty());
        if (e.epoch_ms) {
          // Years 0000 and 9999 with an offset leave the 4-digit range; the rest reads back.
          const auto again = sp::parse_iso8601(sp::format_iso8601_utc(*e.epoch_ms));
          require(!again || again->epoch_ms == *e.epoch_ms);
        }
        break;
      }
    }
  }
  const std::string session = sp::build_ws_session_message(text.substr(0, 300));
  require(session.empty() == !sp::is_valid_session_id(text.substr(0, 300)));
  return 0;
}
