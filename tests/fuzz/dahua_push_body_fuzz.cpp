// Fuzz target: push-mode bodies. The first byte picks Content-Type and
// Content-Encoding; caps are small so every limit is reached.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "adapters/dahua/dahua_push.hpp"
#include "tests/fuzz/zkpush_fuzz_support.hpp"

namespace dh = pushgate::adapters::dahua;
using pushgate::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) {
    return 0;
  }
  static constexpr std::array<std::string_view, 4> kTypes{
      "", "application/json", "text/plain", "multipart/form-data; boundary=pushgateboundary"};
  static constexpr std::array<std::string_view, 4> kEncodings{"", "deflate", "gzip", "identity"};
  const std::string_view type = kTypes[data[0] & 3];
  const std::string_view encoding = kEncodings[(data[0] >> 2) & 3];
  const std::string_view body = pushgate::fuzz::as_text(data + 1, size - 1);
  dh::PushLimits limits;
  limits.max_inflated_bytes = 256 * 1024;
  limits.max_events = 8;
  limits.max_images = 2;
  limits.max_image_bytes = 1024;
  limits.max_parts = 8;
  const dh::DecodedBody decoded =
      dh::decode_content_encoding(encoding, body, limits.max_inflated_bytes);
  require(decoded.bytes.size() <= limits.max_inflated_bytes);
  require(decoded.ok() || !decoded.error.empty());
  const dh::PushBody parsed = dh::parse_push_body(type, encoding, body, limits);
  require(parsed.events.size() <= limits.max_events);
  std::size_t kept = 0;
  for (const dh::PushImage& image : parsed.images) {
    if (image.kept) {
      ++kept;
      require(image.bytes.size() == image.size && image.size <= limits.max_image_bytes);
    } else {
      require(image.bytes.empty());
    }
  }
  require(kept <= limits.max_images);
  for (const dh::EventParse& event : parsed.events) {
    require(event.event.has_value() != !event.error.empty());
    if (event.event) {
      require(!event.event->code.empty());
    }
  }
  return 0;
}
