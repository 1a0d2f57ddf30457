#pragma once

// Helpers shared by the zkpush fuzz targets: the invariants every parser of
// terminal bytes promises (see adapters/zkpush/zkpush_protocol.hpp) are
// checked on every input, so breaking a promise is a crash the fuzzer finds.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace pushgate::fuzz {

/** Aborts (a crash for libFuzzer and for the corpus replay) when `ok` is false. */
inline void require(bool ok) {
  if (!ok) {
    std::abort();
  }
}

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

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

/** True when `part` is a substring of `whole` (raw bytes are copies of input). */
inline bool contains(std::string_view whole, std::string_view part) {
  return whole.find(part) != std::string_view::npos;
}

}  // namespace pushgate::fuzz
