// Fuzz target: a command as REST and MQTT take it (gateway/command.hpp),
// through the bounded parser and the queue's validation
// (gateway/command_spec.hpp). Any bytes: never a crash or an exception; a
// refusal names a field ("verb", "params.<name>"); a command accepted has a
// verb of the spec and only the parameters the spec lists, of their types.
#include <cstddef>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "gateway/command.hpp"
#include "gateway/command_spec.hpp"
#include "gateway/json/bounded_json.hpp"
#include "tests/fuzz/zkpush_fuzz_support.hpp"

using pushgate::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto parsed =
      pushgate::parse_json_bounded(pushgate::fuzz::as_text(data, size), {1024 * 1024, 64});
  if (!parsed.ok()) {
    return 0;
  }
  pushgate::CommandRequest request;
  if (!pushgate::command_request_from_json(parsed.value, request).empty()) {
    return 0;
  }
  const auto problem = pushgate::validate_command(request.verb, request.params);
  if (problem) {
    require(problem->field == "verb" || problem->field == "params" ||
            problem->field.rfind("params.", 0) == 0);
    require(!problem->message.empty());
    return 0;
  }
  const auto* spec = pushgate::find_verb_spec(request.verb);
  require(spec != nullptr);
  require(request.params.is_object());
  for (const auto& [name, value] : request.params.items()) {
    bool listed = false;
    for (const auto& p : spec->params) {
      if (p.name == name) {
        listed = true;
        if (p.type == pushgate::ParamType::Integer) {
          require(value.is_number_integer());
        } else if (p.type == pushgate::ParamType::Boolean) {
          require(value.is_boolean());
        }
      }
    }
    require(listed);
  }
  // What is stored is the dump of the params: it cannot throw for accepted input.
  (void)request.params.dump();
  return 0;
}
