#include "adapters/zkpush/zkpush_command_check.hpp"

#include <string_view>

namespace pushgate::adapters::zkpush {

namespace {

// "" or what is wrong with one string value.
std::string_view bad_characters(std::string_view text, bool tab_allowed) {
  for (char c : text) {
    if (c == '\t' && !tab_allowed) {
      return "contains a TAB, which the terminal reads as the start of another field";
    }
    if (c == '\r' || c == '\n') {
      return "contains a CR or LF, which the terminal reads as the start of another command";
    }
    if (c == '\0') {
      return "contains a NUL character";
    }
  }
  return {};
}

std::string check_json(const nlohmann::json& value, const std::string& path, bool tab_allowed) {
  if (value.is_string()) {
    auto why = bad_characters(value.get_ref<const std::string&>(), tab_allowed);
    return why.empty() ? std::string() : path + ": " + std::string(why);
  }
  if (value.is_object()) {
    for (const auto& [key, item] : value.items()) {
      auto why = bad_characters(key, false);
      if (!why.empty()) {
        return path + ": a key " + std::string(why);
      }
      auto nested = check_json(item, path + "." + key, tab_allowed);
      if (!nested.empty()) {
        return nested;
      }
    }
  } else if (value.is_array()) {
    for (std::size_t i = 0; i < value.size(); ++i) {
      auto nested = check_json(value[i], path + "[" + std::to_string(i) + "]", tab_allowed);
      if (!nested.empty()) {
        return nested;
      }
    }
  }
  return {};
}

}  // namespace

std::string check_command_values(const CommandRequest& request) {
  // A raw line is written as given: TABs separate its fields on purpose.
  auto why = check_json(request.params, "params", request.verb == "raw");
  if (!why.empty()) {
    return why;
  }
  if (request.verb == "set_option" && request.params.contains("key") &&
      request.params.at("key").is_string()) {
    const auto& key = request.params.at("key").get_ref<const std::string&>();
    if (key.find_first_of("=, ") != std::string::npos) {
      // SET OPTION A=1,B=2 is answered Return=0 and stored as one value.
      return "params.key: one option per set_option (\"" + key +
             "\" holds several); send params.options with one entry per option";
    }
  }
  return {};
}

}  // namespace pushgate::adapters::zkpush
