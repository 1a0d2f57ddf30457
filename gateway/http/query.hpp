#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pushgate::http {

/**
 * Decodes %XX escapes, and '+' as a space when `plus_is_space` (query
 * strings); malformed escapes are kept as they are. Paths keep '+'.
 */
std::string percent_decode(std::string_view s, bool plus_is_space = true);

/**
 * The parameters of a request target's query, in order, decoded. Lookup is
 * case-insensitive: terminals send `SN=` and REST tools `sn=`.
 */
class Query {
 public:
  Query() = default;
  /** Parses the part after the first '?' of `target`; no '?' means no parameters. */
  static Query parse_target(std::string_view target);
  static Query parse(std::string_view query);

  std::optional<std::string> get(std::string_view key) const;
  std::string get_or(std::string_view key, std::string_view fallback) const;
  bool has(std::string_view key) const { return get(key).has_value(); }
  const std::vector<std::pair<std::string, std::string>>& items() const noexcept { return items_; }

 private:
  std::vector<std::pair<std::string, std::string>> items_;
};

/** The path of a target without its query. */
std::string_view target_path(std::string_view target);

}  // namespace pushgate::http
