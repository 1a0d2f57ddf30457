#pragma once

// Linkage rules: "when this happens here, do that". Pure logic, no I/O and
// no clock: the gateway feeds each committed event as EventFacts (with the
// site's wall time and a millisecond timestamp) and carries out the actions
// the engine returns. See rules/linkage/README.md.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

namespace pushgate::rules::linkage {

/** One bad field of a rules document: its JSON path and why. */
struct FieldError {
  std::string field;
  std::string message;
  friend bool operator==(const FieldError&, const FieldError&) = default;
};

/** What the engine knows of one event. */
struct EventFacts {
  std::int64_t event_id = 0;  ///< the event log id (idempotency of actions)
  std::string terminal_sn;
  std::string kind;               ///< EventKind name: "access", "alarm", "door_state", ...
  int door = -1;                  ///< -1: none
  int event_code = -1;            ///< -1: none
  std::string pin;                ///< "" when none
  std::optional<int> user_group;  ///< the user's group, when the master data knows the PIN
  int weekday = 0;                ///< site wall time: 0 Sunday .. 6 Saturday
  int minute_of_day = 0;          ///< site wall time: 0..1439
  std::int64_t at_ms = 0;         ///< when it happened (debounce clock)
};

/** A time window on some weekdays, inclusive to the minute ("08:00"-"18:00"). */
struct Window {
  std::vector<int> weekdays;  ///< 0 Sunday .. 6 Saturday; empty: every day
  int start = 0;              ///< minute of day
  int end = 1439;             ///< minute of day, >= start
  friend bool operator==(const Window&, const Window&) = default;
};

/** Every listed field must match; an empty list matches anything. */
struct Pattern {
  std::vector<std::string> terminals;
  std::vector<int> doors;
  std::vector<int> event_codes;
  std::vector<std::string> kinds;
  std::vector<int> user_groups;  ///< matches only events whose user is in one of them
  std::vector<Window> time;      ///< the event's wall time inside one of them
  friend bool operator==(const Pattern&, const Pattern&) = default;
};

struct Action {
  enum class Type { Command, Alert, Output };
  Type type = Type::Command;
  // Command: a verb of the command catalogue for `terminal` ("$source": the
  // terminal of the event). Params are copied; a string "$door" becomes the
  // event's door, "$pin" its PIN.
  std::string terminal;
  std::string verb;
  nlohmann::json params = nlohmann::json::object();
  // Alert: an event of kind alert in the event log (published like any event).
  std::string severity = "warning";  ///< info | warning | critical
  std::string message;
  // Output: a named output (outputs.names).
  std::string output;
  enum class OutputMode { On, Off, Pulse };
  OutputMode mode = OutputMode::Pulse;
  std::int64_t duration_ms = 5000;  ///< Pulse only
  friend bool operator==(const Action&, const Action&) = default;
};

struct Rule {
  std::string id;
  std::string name;
  bool enabled = true;
  Pattern match;
  std::vector<Action> actions;
  /** After firing, the same rule for the same terminal and door waits this long. */
  std::int64_t debounce_ms = 0;
  friend bool operator==(const Rule&, const Rule&) = default;
};

struct Parsed {
  std::vector<Rule> rules;
  std::vector<FieldError> errors;  ///< non-empty: the document is refused as a whole
  bool ok() const { return errors.empty(); }
};

/**
 * Reads a rules document: {"rules": [{"id", "name", "enabled", "match":
 * {...}, "actions": [...], "debounce_s"}]}. Every problem is reported with
 * its path ("rules[2].match.time[0].start"); unknown keys are errors.
 */
Parsed parse_rules(const nlohmann::json& document);
nlohmann::json to_json(const std::vector<Rule>& rules);

bool matches(const Pattern& pattern, const EventFacts& facts);

/** What one event set off. */
struct Firing {
  std::string rule_id;
  std::vector<Action> actions;  ///< with $door / $pin / $source substituted
};

/**
 * The rules in force plus their debounce memory. Not thread-safe: the
 * gateway feeds it from one strand.
 */
class Engine {
 public:
  Engine() = default;
  explicit Engine(std::vector<Rule> rules);

  /** Replaces the rules; debounce memory of rules that still exist is kept. */
  void set_rules(std::vector<Rule> rules);
  const std::vector<Rule>& rules() const noexcept { return rules_; }

  struct Outcome {
    std::vector<Firing> fired;
    std::vector<std::string> debounced;  ///< rule ids that matched but were held back
  };
  Outcome on_event(const EventFacts& facts);

 private:
  std::vector<Rule> rules_;
  /** (rule id, terminal, door) -> when it last fired. */
  std::map<std::tuple<std::string, std::string, int>, std::int64_t> last_fired_;
};

}  // namespace pushgate::rules::linkage
