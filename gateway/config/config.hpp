#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace pushgate::config {

/** A configuration value: what a key may hold. */
using Value = std::variant<bool, std::int64_t, double, std::string, std::vector<std::string>>;

enum class ValueType { Bool, Int, Double, String, StringList };

std::string_view to_string(ValueType type) noexcept;

/**
 * The declaration of one configuration key: declared once per component
 * (its `*_config.cpp`), from which validation, `--set`, the shipped default
 * file and the documentation are all derived.
 *
 * `path` is `section.key`; a `*` segment matches any table name, as in
 * `terminals.*.timezone` for per-terminal settings keyed by serial.
 */
struct KeySpec {
  std::string path;
  ValueType type = ValueType::String;
  Value default_value;
  std::string description;
  std::optional<std::int64_t> min;   ///< Int only
  std::optional<std::int64_t> max;   ///< Int only
  std::vector<std::string> choices;  ///< String only: the allowed values
  bool reloadable = false;           ///< applied on SIGHUP without a restart
};

/** A bad key: which one and why, in words an operator can act on. */
struct ConfigError {
  std::string key;
  std::string reason;
};

std::string format_errors(const std::vector<ConfigError>& errors);

/**
 * All declared keys, in declaration order (the order of the shipped file).
 * Sections get a heading paragraph with `describe_section`.
 */
class Schema {
 public:
  void add(KeySpec spec);
  void describe_section(std::string section, std::string text);

  /** The spec for a concrete path (`terminals.ABC.timezone` finds `terminals.*.timezone`). */
  const KeySpec* find(std::string_view path) const;
  const std::vector<KeySpec>& keys() const noexcept { return keys_; }

  /** The commented default configuration file: every key commented out at its default. */
  std::string render_default_file() const;

 private:
  std::vector<KeySpec> keys_;
  std::vector<std::pair<std::string, std::string>> sections_;
};

/**
 * A validated configuration snapshot. Immutable once built; shared between
 * threads as `shared_ptr<const Config>`.
 */
class Config {
 public:
  struct LoadResult;

  /** Parses a TOML file, applies `--set` overrides (`section.key=value`), validates. */
  static LoadResult load_file(const Schema& schema, const std::string& path,
                              const std::vector<std::string>& overrides = {});
  /** Same, from TOML text (tests, defaults). `source` names it in errors. */
  static LoadResult load_string(const Schema& schema, std::string_view toml_text,
                                const std::vector<std::string>& overrides = {},
                                std::string_view source = "<string>");

  bool get_bool(std::string_view path) const;
  std::int64_t get_int(std::string_view path) const;
  double get_double(std::string_view path) const;
  const std::string& get_string(std::string_view path) const;
  const std::vector<std::string>& get_list(std::string_view path) const;

  /** True when the key was set in the file or by `--set` (not defaulted). */
  bool is_set(std::string_view path) const;

  /** Names of the sub-tables of a wildcard section (e.g. serials under `terminals`). */
  std::vector<std::string> table_names(std::string_view section) const;

  /** Every effective value (defaults included), for `--print-config` and diffing on reload. */
  const std::map<std::string, Value, std::less<>>& values() const noexcept { return values_; }

 private:
  const Value& lookup(std::string_view path) const;

  const Schema* schema_ = nullptr;
  std::map<std::string, Value, std::less<>> values_;
  std::map<std::string, bool, std::less<>> explicit_;
};

struct Config::LoadResult {
  std::optional<Config> config;
  std::vector<ConfigError> errors;
  /**
   * With errors (but readable TOML): the keys that were good, defaults for
   * the bad ones, so the checks that need a whole config (validate_config)
   * still run and every error is reported at once.
   */
  std::optional<Config> partial;
  bool ok() const noexcept { return config.has_value() && errors.empty(); }
};

/**
 * SIGHUP: the keys not marked (reload) whose value differs between the
 * running config and a newly loaded one, each as "zkpush.port changed from
 * 8081 to 8082: takes effect after a restart", in key order.
 */
std::vector<std::string> restart_only_changes(const Schema& schema, const Config& running,
                                              const Config& loaded);

/** Levenshtein distance between two words, for "did you mean". */
std::size_t edit_distance(std::string_view a, std::string_view b);

/**
 * For "did you mean": the candidate nearest to `word` (edit distance, case
 * ignored) when it is a slip of the keyboard and not another word: at most
 * one edit in four characters of `measured` (the part the person typed:
 * `word` itself, or a key path's last part), at least one, plus `slack`.
 * "" when none is that close, or the nearest is `word` itself.
 */
std::string nearest_word(std::string_view word, const std::vector<std::string>& candidates,
                         std::string_view measured, std::size_t slack = 1);
inline std::string nearest_word(std::string_view word, const std::vector<std::string>& candidates) {
  return nearest_word(word, candidates, word);
}

}  // namespace pushgate::config
