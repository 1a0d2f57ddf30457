#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "rules/attendance/attendance_model.hpp"

namespace pushgate::rules::attendance {

/**
 * The JSON form of the attendance configuration (schema and example in
 * README.md). The gateway maps its TOML config and the REST API onto this
 * form.
 *
 * Reading never throws: the result carries either validated rules or every
 * problem found, each naming the field ("shifts[0].overtime.start") and
 * saying what is wrong. Unknown keys are problems too, so a misspelt key is
 * not silently ignored.
 *
 * Pure functions; safe to call from any thread.
 */
struct RulesResult {
  /** Set only when errors is empty. */
  std::optional<Rules> rules;
  std::vector<ConfigError> errors;

  bool ok() const { return rules.has_value(); }
};

/** Reads and validates (validate()) the JSON form. */
RulesResult rules_from_json(const nlohmann::json& json);

/**
 * Parses JSON text within kRulesJsonLimits (8 MiB, 64 levels; checked before
 * anything is built), then rules_from_json(); a syntax error or a limit is
 * reported as field "".
 */
RulesResult parse_rules(std::string_view text);

/** The JSON form; rules_from_json(rules_to_json(r)) gives r back for valid r. */
nlohmann::json rules_to_json(const Rules& rules);

/** nlohmann hook so `nlohmann::json j = rules;` works. */
void to_json(nlohmann::json& out, const Rules& rules);

}  // namespace pushgate::rules::attendance
