#include "gateway/json/bounded_json.hpp"

#include <array>
#include <atomic>

namespace pushgate {

namespace {
// Process-wide: every entry point (REST, MQTT, rules files) counts here, and
// the gateway shows the counts on /metrics without each caller holding a registry.
std::array<std::atomic<std::uint64_t>, 4> g_refused{};

JsonParseResult& refuse(JsonParseResult& r, JsonRefusal why, std::string error) {
  r.refusal = why;
  r.error = std::move(error);
  g_refused[static_cast<std::size_t>(why)].fetch_add(1, std::memory_order_relaxed);
  return r;
}
}  // namespace

std::uint64_t json_refused_count(JsonRefusal why) noexcept {
  return g_refused[static_cast<std::size_t>(why)].load(std::memory_order_relaxed);
}

std::size_t json_nesting_depth(std::string_view text, std::size_t stop_above) {
  std::size_t depth = 0;
  std::size_t deepest = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char ch = text[i];
    if (in_string) {
      if (ch == '\\') {
        ++i;  // the escaped character cannot end the string
      } else if (ch == '"') {
        in_string = false;
      }
      continue;
    }
    switch (ch) {
      case '"':
        in_string = true;
        break;
      case '[':
      case '{':
        if (++depth > deepest) {
          deepest = depth;
          if (deepest > stop_above) {
            return deepest;
          }
        }
        break;
      case ']':
      case '}':
        // Unbalanced closers are the parser's to report; the depth only counts openers.
        if (depth > 0) {
          --depth;
        }
        break;
      default:
        break;
    }
  }
  return deepest;
}

JsonParseResult parse_json_bounded(std::string_view text, const JsonLimits& limits) {
  JsonParseResult r;
  r.value = nlohmann::json(nlohmann::json::value_t::discarded);
  if (text.size() > limits.max_bytes) {
    return refuse(r, JsonRefusal::TooLarge,
                  "JSON of " + std::to_string(text.size()) + " bytes is over the limit of " +
                      std::to_string(limits.max_bytes) + " bytes");
  }
  if (json_nesting_depth(text, limits.max_depth) > limits.max_depth) {
    return refuse(
        r, JsonRefusal::TooDeep,
        "JSON nests deeper than the limit of " + std::to_string(limits.max_depth) + " levels");
  }
  // Invalid UTF-8 and syntax errors are reported, not thrown (allow_exceptions=false).
  r.value = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
  if (r.value.is_discarded()) {
    refuse(r, JsonRefusal::Invalid, "not valid JSON");
  }
  return r;
}

}  // namespace pushgate
