#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace pushgate {

/**
 * The bounds every JSON input is held to before it becomes a tree. The
 * depth bound keeps the recursive code that walks a tree (dump, copies,
 * comparisons) far from the end of the stack: 100,000 nested arrays in
 * 200 KB used to crash the daemon.
 */
struct JsonLimits {
  std::size_t max_bytes = 1024 * 1024;
  std::size_t max_depth = 64;
};

/** Rules documents (attendance and linkage, from a file, the store or REST). */
inline constexpr JsonLimits kRulesJsonLimits{8 * 1024 * 1024, 64};

/** Why a text was refused. */
enum class JsonRefusal { None, TooLarge, TooDeep, Invalid };

struct JsonParseResult {
  nlohmann::json value;  ///< discarded unless `ok()`
  JsonRefusal refusal = JsonRefusal::None;
  /** One sentence naming the limit or the syntax error; empty when ok. */
  std::string error;
  bool ok() const noexcept { return refusal == JsonRefusal::None; }
};

/**
 * Parses `text` as JSON only if it is at most `limits.max_bytes` long and
 * nests arrays and objects at most `limits.max_depth` deep. Both bounds are
 * checked by a linear scan before any value is built, so a refused text
 * allocates nothing. Never throws. Thread-safe (refusals are counted atomically).
 */
JsonParseResult parse_json_bounded(std::string_view text, const JsonLimits& limits = {});

/** How many texts parse_bounded refused for `why`, since the process started (any thread). */
std::uint64_t json_refused_count(JsonRefusal why) noexcept;

/** The nesting depth of the deepest array or object in `text` (0 for a scalar), scanning at most
 * until `stop_above` is exceeded. Strings are skipped, escapes included. */
std::size_t json_nesting_depth(std::string_view text, std::size_t stop_above);

}  // namespace pushgate
