// Fuzz target: the Dahua eventManager multipart stream parser. The first
// input byte picks the part cap and a split point; the same bytes fed whole
// and in two chunks must give the same items, and memory stays bounded.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "adapters/dahua/dahua_multipart.hpp"
#include "tests/fuzz/zkpush_fuzz_support.hpp"

namespace dh = pushgate::adapters::dahua;
using pushgate::fuzz::require;

namespace {

std::vector<std::string> run(std::string_view bytes, std::size_t cap, std::size_t cut) {
  dh::EventStreamParser::Limits limits;
  limits.max_part_bytes = cap;
  dh::EventStreamParser parser("myboundary", limits);
  std::vector<std::string> out;
  const auto take = [&](std::vector<dh::StreamItem> items) {
    for (const dh::StreamItem& item : items) {
      switch (item.type) {
        case dh::StreamItem::Type::Event:
          require(item.event.has_value() && !item.event->code.empty());
          require(item.event->raw.size() <= bytes.size());
          out.push_back("E" + item.event->code + "|" + item.event->data_json + "|" +
                        dh::record_key(item.event->code, item.event->data));
          break;
        case dh::StreamItem::Type::Heartbeat:
          out.push_back("H");
          break;
        case dh::StreamItem::Type::Error:
          require(!item.error.empty() && item.raw.size() <= 256 + bytes.size());
          out.push_back("X" + item.error);
          break;
      }
    }
  };
  take(parser.feed(bytes.substr(0, cut)));
  require(parser.buffered() <= cap + 64);
  take(parser.feed(bytes.substr(cut)));
  require(parser.buffered() <= cap + 64);
  take(parser.finish());
  require(parser.buffered() == 0);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) {
    return 0;
  }
  const std::size_t cap = 128 + static_cast<std::size_t>(data[0]) * 16;
  const std::string_view bytes = pushgate::fuzz::as_text(data + 1, size - 1);
  const std::size_t cut =
      bytes.empty() ? 0 : (static_cast<std::size_t>(data[0]) * 7) % bytes.size();
  require(run(bytes, cap, 0) == run(bytes, cap, cut));
  return 0;
}
