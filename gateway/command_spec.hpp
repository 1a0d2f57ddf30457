#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace pushgate {

/**
 * The command vocabulary: every verb a terminal command may have, with the
 * parameters it takes. It is the one list of verbs: CommandQueue::enqueue
 * refuses what it does not allow (whatever the source: REST, MQTT, rules,
 * Modbus, sync), and the zkpush renderer (adapters/zkpush/zkpush_commands.cpp)
 * refuses to render a verb absent from it. The wire form per dialect is in
 * adapters/zkpush/README.md.
 */
enum class ParamType {
  Text,     ///< a string, or an integer (written in decimal): PINs, card numbers
  Integer,  ///< an integer within [min, max]
  Boolean,
  IntegerList,  ///< an array of integers, each within [min, max]
  TextList,     ///< an array of strings
};

struct ParamSpec {
  std::string_view name;
  ParamType type = ParamType::Text;
  bool required = false;
  std::int64_t min = 0;  ///< Integer / IntegerList: the range; Text: the length range
  std::int64_t max = 0;
};

struct VerbSpec {
  std::string_view verb;
  /**
   * Acts on a door (open, keep open, lock, cancel the alarm): queued with
   * commands.door_ttl_s unless the caller gives a time to live, so a terminal
   * that comes back hours later does not open the door then.
   */
  bool door_action = false;
  std::span<const ParamSpec> params;
};

/** Every verb, in the order of the README's catalogue. */
std::span<const VerbSpec> verb_specs() noexcept;

/** The spec of `verb`, or nullptr for a verb no terminal knows. */
const VerbSpec* find_verb_spec(std::string_view verb) noexcept;

/** Why a command was refused: the field ("verb", "params.seconds") and what is wrong with it. */
struct CommandProblem {
  std::string field;
  std::string message;
  std::string text() const { return field + ": " + message; }
};

/**
 * Checks a verb and its params against the spec: the verb is known, the
 * params are an object, required params are present, every param is known
 * and of its type and range. nullopt when the command is well-formed.
 * Pure; never throws.
 */
std::optional<CommandProblem> validate_command(std::string_view verb, const nlohmann::json& params);

}  // namespace pushgate
