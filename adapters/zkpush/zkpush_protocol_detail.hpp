#pragma once

// Internal to the attendance PUSH protocol sources: helpers shared between its .cpp files.

#include "adapters/zkpush/zkpush_protocol.hpp"

#include <optional>
#include <string_view>

namespace pushgate::adapters::zkpush::detail {

/** "YYYYMMDDHHMMSS" as used in ATTPHOTO file names. */
std::optional<DeviceTime> parse_compact_time(std::string_view text) noexcept;

}  // namespace pushgate::adapters::zkpush::detail
