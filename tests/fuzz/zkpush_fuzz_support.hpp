#pragma once

// Helpers shared by the zkpush fuzz targets: the invariants every parser of
// terminal bytes promises (see adapters/zkpush/zkpush_protocol.hpp) are
// checked on every input, so breaking a promise is a crash the fuzzer finds.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "tests/support/device_lines.hpp"

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

using test::non_blank_lines;

/** True when `part` is a substring of `whole` (raw bytes are copies of input). */
inline bool contains(std::string_view whole, std::string_view part) {
  return whole.find(part) != std::string_view::npos;
}

}  // namespace pushgate::fuzz
