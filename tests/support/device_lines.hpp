// Counting what a device body holds, for tests and fuzz targets that check a
// parser accounted for every line (parsed or quarantined, none lost).
#pragma once

#include <cstddef>
#include <string_view>

namespace pushgate::test {

/** Lines the parsers must account for: LF-separated, not only SP/TAB/CR/NUL. */
inline std::size_t non_blank_lines(std::string_view body) {
  std::size_t count = 0;
  std::size_t pos = 0;
  while (pos < body.size()) {
    std::size_t eol = body.find('\n', pos);
    if (eol == std::string_view::npos) {
      eol = body.size();
    }
    const std::string_view line = body.substr(pos, eol - pos);
    if (line.find_first_not_of(std::string_view(" \t\r\0", 4)) != std::string_view::npos) {
      ++count;
    }
    pos = eol + 1;
  }
  return count;
}

}  // namespace pushgate::test
