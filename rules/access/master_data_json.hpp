#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "rules/access/access_model.hpp"

namespace pushgate::rules::access {

/**
 * The JSON form of each master-data entity (README.md, "JSON forms"), as
 * the REST API takes and gives it and as the store keeps it.
 *
 * Reading never throws: the result holds the entity or every problem found,
 * each naming its field ("cards[1].number") and saying what is wrong.
 * Unknown keys are problems. References to other entities (a level's time
 * zone, a user's levels, a card another user holds) are checked separately
 * by check_references(), against the data the entity would join.
 *
 * Pure functions; safe to call from any thread.
 */
struct FieldError {
  std::string field;
  std::string message;
  friend bool operator==(const FieldError&, const FieldError&) = default;
};

template <class T>
struct Parsed {
  std::optional<T> value;  ///< set only when errors is empty
  std::vector<FieldError> errors;
  bool ok() const { return value.has_value(); }
};

Parsed<User> user_from_json(const nlohmann::json& json);
Parsed<TimeZone> timezone_from_json(const nlohmann::json& json);
Parsed<Holiday> holiday_from_json(const nlohmann::json& json);
Parsed<Level> level_from_json(const nlohmann::json& json);
Parsed<DoorSettings> door_from_json(const nlohmann::json& json);
Parsed<Area> area_from_json(const nlohmann::json& json);

nlohmann::json to_json(const User& user, bool with_password = false);
nlohmann::json to_json(const TimeZone& tz);
nlohmann::json to_json(const Holiday& holiday);
nlohmann::json to_json(const Level& level);
nlohmann::json to_json(const DoorSettings& door);
nlohmann::json to_json(const Area& area);

/** References the entity makes that `data` cannot satisfy (unknown ids, a card held by another). */
std::vector<FieldError> check_references(const MasterData& data, const User& user);
std::vector<FieldError> check_references(const MasterData& data, const Level& level);
std::vector<FieldError> check_references(const MasterData& data, const DoorSettings& door);

/** "SN/door" as in REST paths; nullopt when malformed. */
std::optional<DoorRef> parse_door_ref(std::string_view text);
/** "YYYY-MM-DD" (as 00:00:00 or, with end_of_day, 23:59:59) or "YYYY-MM-DD HH:MM[:SS]". */
std::optional<date::local_seconds> parse_local_time(std::string_view text, bool end_of_day);
std::string format_local_time(date::local_seconds time);
std::optional<date::year_month_day> parse_day(std::string_view text);
std::string format_day(date::year_month_day day);
/** "HH:MM-HH:MM"; nullopt when malformed or end < start. */
std::optional<Period> parse_period(std::string_view text);
std::string format_period(const Period& period);

}  // namespace pushgate::rules::access
