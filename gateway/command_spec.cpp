#include "gateway/command_spec.hpp"

#include <algorithm>
#include <array>

namespace pushgate {

namespace {

using T = ParamType;

constexpr std::int64_t kNoLimit = 0;
constexpr std::int64_t kU32 = 4294967295LL;
constexpr std::int64_t kInt64Max = 9223372036854775807LL;
// Base64 of a photo or template: far below the REST body limit.
constexpr std::int64_t kDataMax = 1024 * 1024;

// Parameter lists; each verb below points at one. A field name here is what
// the renderer reads from `params` (adapters/zkpush/zkpush_commands.cpp).
constexpr std::array<ParamSpec, 0> kNone{};
constexpr std::array kRaw{ParamSpec{"line", T::Text, true, 1, 4096}};
constexpr std::array kKeys{ParamSpec{"keys", T::TextList, false, 0, 128}};
constexpr std::array kOpenDoor{ParamSpec{"door", T::Integer, false, 1, 255},
                               ParamSpec{"seconds", T::Integer, false, 1, 254}};
// close_door, door_status: Dahua (adapters/dahua/dahua_commands.hpp); ZKTeco renderers refuse them.
constexpr std::array kDoor{ParamSpec{"door", T::Integer, false, 1, 255}};
constexpr std::array kCancelAlarm{ParamSpec{"door", T::Integer, false, 0, 255}};
constexpr std::array kNormalOpen{ParamSpec{"door", T::Integer, false, 1, 255},
                                 ParamSpec{"on", T::Boolean}};
constexpr std::array kLockDoor{ParamSpec{"door", T::Integer, false, 1, 255},
                               ParamSpec{"locked", T::Boolean}};
// verify: read the option back after Return=0 (a get_options queued by the
// gateway, which carries verify_of and expect: the command it checks and the
// value it should find).
constexpr std::array kSetOption{ParamSpec{"key", T::Text, true, 1, 128},
                                ParamSpec{"value", T::Text, false, 0, 1024},
                                ParamSpec{"verify", T::Boolean}};
constexpr std::array kGetOptions{ParamSpec{"keys", T::TextList, false, 0, 128},
                                 ParamSpec{"verify_of", T::Integer, false, 1, kInt64Max},
                                 ParamSpec{"expect", T::Text, false, 0, 1024}};
constexpr std::array kSetTime{ParamSpec{"time", T::Text, true, 10, 19}};
constexpr std::array kUpsertUser{ParamSpec{"pin", T::Text, true, 1, 64},
                                 ParamSpec{"name", T::Text, false, 0, 128},
                                 ParamSpec{"privilege", T::Integer, false, 0, 15},
                                 ParamSpec{"password", T::Text, false, 0, 64},
                                 ParamSpec{"card", T::Text, false, 0, 64},
                                 ParamSpec{"group", T::Integer, false, 0, 255},
                                 ParamSpec{"time_zones", T::Text, false, 0, 64},
                                 ParamSpec{"valid_from", T::Text, false, 0, 19},
                                 ParamSpec{"valid_until", T::Text, false, 0, 19}};
constexpr std::array kAuthorizeUser{ParamSpec{"pin", T::Text, true, 1, 64},
                                    ParamSpec{"doors", T::IntegerList, false, 1, 30},
                                    ParamSpec{"time_zone_id", T::Integer, false, 0, kU32},
                                    ParamSpec{"dev_id", T::Integer, false, 0, kU32}};
constexpr std::array kPin{ParamSpec{"pin", T::Text, true, 1, 64}};
constexpr std::array kQueryUsers{ParamSpec{"pin", T::Text, false, 0, 64}};
constexpr std::array kUpsertTemplate{
    ParamSpec{"pin", T::Text, true, 1, 64},          ParamSpec{"data", T::Text, true, 1, kDataMax},
    ParamSpec{"bio_type", T::Integer, false, 0, 31}, ParamSpec{"no", T::Integer, false, 0, 65535},
    ParamSpec{"index", T::Integer, false, 0, 65535}, ParamSpec{"valid", T::Integer, false, 0, 1},
    ParamSpec{"duress", T::Integer, false, 0, 1},    ParamSpec{"major_ver", T::Text, false, 0, 16},
    ParamSpec{"minor_ver", T::Text, false, 0, 16},   ParamSpec{"format", T::Text, false, 0, 16}};
constexpr std::array kUpsertPhoto{ParamSpec{"pin", T::Text, true, 1, 64},
                                  ParamSpec{"data", T::Text, true, 1, kDataMax}};
constexpr std::array kQueryRecords{ParamSpec{"start", T::Text, true, 10, 19},
                                   ParamSpec{"end", T::Text, true, 10, 19}};
constexpr std::array kUpsertBiophoto{ParamSpec{"pin", T::Text, true, 1, 64},
                                     ParamSpec{"data", T::Text, true, 1, kDataMax},
                                     ParamSpec{"bio_type", T::Integer, true, 1, 31}};
constexpr std::array kUpsertTimezone{ParamSpec{"id", T::Integer, true, 1, kU32},
                                     ParamSpec{"periods", T::IntegerList, true, 0, kU32}};
constexpr std::array kTimezoneId{ParamSpec{"id", T::Integer, true, 1, kU32}};
constexpr std::array kUpsertHoliday{ParamSpec{"day", T::Text, true, 8, 8},
                                    ParamSpec{"type", T::Integer, false, 1, 3},
                                    ParamSpec{"yearly", T::Boolean}};
constexpr std::array kDay{ParamSpec{"day", T::Text, true, 8, 8}};
// Several records of one DATA UPDATE table in one command (the spec's
// ${LF}-joined records, Security PUSH §9.1.1): `commands` is
// [{"verb": "upsert_user", "params": {...}}, ...], one verb, each record
// checked as that verb. The sync sends users, rights, templates and photos
// this way. Checked by validate_batch below.
constexpr std::int64_t kBatchMax = 100;
constexpr std::array kBatch{ParamSpec{"commands", T::TextList, true, 1, kBatchMax}};
constexpr std::array<std::string_view, 5> kBatchable{
    "upsert_user", "authorize_user", "upsert_template", "upsert_biophoto", "upsert_photo"};

constexpr std::array kVerbs{
    VerbSpec{"raw", false, kRaw},
    VerbSpec{"reboot", false, kNone},
    VerbSpec{"info", false, kKeys},
    VerbSpec{"get_options", false, kGetOptions},
    VerbSpec{"check", false, kNone},
    VerbSpec{"clear_log", false, kNone},
    VerbSpec{"open_door", true, kOpenDoor},
    VerbSpec{"cancel_alarm", true, kCancelAlarm},
    VerbSpec{"normal_open", true, kNormalOpen},
    VerbSpec{"lock_door", true, kLockDoor},
    VerbSpec{"close_door", true, kDoor},
    VerbSpec{"door_status", false, kDoor},
    VerbSpec{"set_option", false, kSetOption},
    VerbSpec{"set_time", false, kSetTime},
    VerbSpec{"upsert_user", false, kUpsertUser},
    VerbSpec{"authorize_user", false, kAuthorizeUser},
    VerbSpec{"deauthorize_user", false, kPin},
    VerbSpec{"delete_user", false, kPin},
    VerbSpec{"upsert_template", false, kUpsertTemplate},
    VerbSpec{"upsert_photo", false, kUpsertPhoto},
    VerbSpec{"query_users", false, kQueryUsers},
    VerbSpec{"query_records", false, kQueryRecords},
    VerbSpec{"upsert_biophoto", false, kUpsertBiophoto},
    VerbSpec{"upsert_timezone", false, kUpsertTimezone},
    VerbSpec{"delete_timezone", false, kTimezoneId},
    VerbSpec{"upsert_holiday", false, kUpsertHoliday},
    VerbSpec{"delete_holiday", false, kDay},
    VerbSpec{"batch", false, kBatch},
};

std::string range(const ParamSpec& p) {
  return std::to_string(p.min) + ".." + std::to_string(p.max);
}

std::optional<std::string> check_integer(const nlohmann::json& v, const ParamSpec& p) {
  // "five" or 5.5 is not a number of seconds: refused, never read as the default.
  if (!v.is_number_integer()) {
    return "must be an integer " + range(p);
  }
  // JSON parses non-negative numbers as unsigned: compare before narrowing.
  if (v.is_number_unsigned() && v.get<std::uint64_t>() > static_cast<std::uint64_t>(p.max)) {
    return "must be an integer " + range(p);
  }
  const auto n = v.get<std::int64_t>();
  if (n < p.min || n > p.max) {
    return "must be an integer " + range(p);
  }
  return std::nullopt;
}

std::optional<std::string> check_value(const nlohmann::json& v, const ParamSpec& p) {
  switch (p.type) {
    case T::Text: {
      std::size_t size = 0;
      if (v.is_string()) {
        size = v.get_ref<const std::string&>().size();
      } else if (v.is_number_integer()) {
        size = v.dump().size();
      } else {
        return std::string("must be a string");
      }
      if (static_cast<std::int64_t>(size) < p.min ||
          (p.max != kNoLimit && static_cast<std::int64_t>(size) > p.max)) {
        return p.min > 0 && size == 0 ? std::string("must not be empty")
                                      : "must be " + range(p) + " characters long";
      }
      return std::nullopt;
    }
    case T::Integer:
      return check_integer(v, p);
    case T::Boolean:
      if (!v.is_boolean()) {
        return std::string("must be true or false");
      }
      return std::nullopt;
    case T::IntegerList:
      if (!v.is_array()) {
        return "must be an array of integers " + range(p);
      }
      for (const auto& e : v) {
        if (check_integer(e, p)) {
          return "must be an array of integers " + range(p);
        }
      }
      return std::nullopt;
    case T::TextList:
      if (!v.is_array() || (p.max != kNoLimit && static_cast<std::int64_t>(v.size()) > p.max)) {
        return "must be an array of at most " + std::to_string(p.max) + " strings";
      }
      for (const auto& e : v) {
        if (!e.is_string()) {
          return "must be an array of at most " + std::to_string(p.max) + " strings";
        }
      }
      return std::nullopt;
  }
  return std::string("has an unknown type");
}

std::optional<CommandProblem> validate_batch(const nlohmann::json& params) {
  for (const auto& [name, value] : params.items()) {
    if (name != "commands") {
      return CommandProblem{"params." + name.substr(0, 64), "is not a parameter of batch"};
    }
  }
  const auto it = params.find("commands");
  if (it == params.end() || !it->is_array() || it->empty() ||
      static_cast<std::int64_t>(it->size()) > kBatchMax) {
    return CommandProblem{"params.commands", "must be an array of 1.." + std::to_string(kBatchMax) +
                                                 " {\"verb\", \"params\"} records"};
  }
  std::string verb;
  for (std::size_t i = 0; i < it->size(); ++i) {
    const auto& e = (*it)[i];
    const std::string field = "params.commands[" + std::to_string(i) + "]";
    if (!e.is_object() || !e.contains("verb") || !e.at("verb").is_string() ||
        !e.contains("params")) {
      return CommandProblem{field, "must be {\"verb\", \"params\"}"};
    }
    const auto& v = e.at("verb").get_ref<const std::string&>();
    if (std::find(kBatchable.begin(), kBatchable.end(), v) == kBatchable.end()) {
      return CommandProblem{field + ".verb",
                            "must be one of upsert_user, authorize_user, upsert_template, "
                            "upsert_biophoto, upsert_photo"};
    }
    if (verb.empty()) {
      verb = v;
    } else if (v != verb) {
      return CommandProblem{field + ".verb", "must be " + verb + " (one table per batch)"};
    }
    if (auto problem = validate_command(v, e.at("params"))) {
      return CommandProblem{field + "." + problem->field, problem->message};
    }
  }
  return std::nullopt;
}

}  // namespace

std::span<const VerbSpec> verb_specs() noexcept {
  return kVerbs;
}

const VerbSpec* find_verb_spec(std::string_view verb) noexcept {
  for (const auto& v : kVerbs) {
    if (v.verb == verb) {
      return &v;
    }
  }
  return nullptr;
}

std::optional<CommandProblem> validate_command(std::string_view verb,
                                               const nlohmann::json& params) {
  const VerbSpec* spec = find_verb_spec(verb);
  if (spec == nullptr) {
    return CommandProblem{"verb", "unknown verb \"" + std::string(verb.substr(0, 64)) + "\""};
  }
  if (!params.is_object()) {
    return CommandProblem{"params", "must be a JSON object"};
  }
  if (verb == "batch") {
    return validate_batch(params);
  }
  for (const auto& [name, value] : params.items()) {
    const ParamSpec* p = nullptr;
    for (const auto& candidate : spec->params) {
      if (candidate.name == name) {
        p = &candidate;
      }
    }
    const std::string field = "params." + name.substr(0, 64);
    if (p == nullptr) {
      // A misspelt parameter would otherwise be ignored and the default used.
      return CommandProblem{field, "is not a parameter of " + std::string(verb)};
    }
    if (auto why = check_value(value, *p)) {
      return CommandProblem{field, *why};
    }
  }
  for (const auto& p : spec->params) {
    if (!p.required) {
      continue;
    }
    auto it = params.find(std::string(p.name));
    if (it == params.end() || it->is_null()) {
      return CommandProblem{"params." + std::string(p.name), "is required by " + std::string(verb)};
    }
  }
  return std::nullopt;
}

}  // namespace pushgate
