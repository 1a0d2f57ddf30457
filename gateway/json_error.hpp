#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace pushgate {

/**
 * Where and why `text` is not valid JSON, for an operator editing a file:
 * "line 3, column 8: syntax error while parsing value - invalid literal".
 * "" when it parses. Call it on the error path of a non-throwing parse.
 */
inline std::string json_syntax_error(std::string_view text) {
  try {
    [[maybe_unused]] auto doc = nlohmann::json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::parse_error& e) {
    std::size_t line = 1;
    std::size_t column = 0;
    for (std::size_t i = 0; i < text.size() && i < e.byte; ++i) {
      if (text[i] == '\n') {
        ++line;
        column = 0;
      } else {
        ++column;
      }
    }
    std::string what = e.what();
    // nlohmann says "[json.exception.parse_error.101] parse error at line 3,
    // column 8: syntax error ..."; keep the part after the position.
    auto colon = what.find(": ", what.find("parse error"));
    std::string why = colon == std::string::npos ? what : what.substr(colon + 2);
    return "line " + std::to_string(line) + ", column " + std::to_string(column) + ": " + why;
  } catch (const nlohmann::json::exception& e) {
    return e.what();
  }
  return {};
}

}  // namespace pushgate
