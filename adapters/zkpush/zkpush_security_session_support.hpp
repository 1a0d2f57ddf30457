// Small helpers shared by the zkpush_security_session*.cpp files (SecurityService).
#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "adapters/zkpush/zkpush_normalize.hpp"

namespace pushgate::adapters::zkpush::security_session_detail {

inline std::optional<std::int64_t> to_int64(std::string_view text) {
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || p != text.data() + text.size()) {
    return std::nullopt;
  }
  return v;
}

inline nlohmann::json kv_object(const KeyValues& kvs) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& kv : kvs) {
    j[kv.key] = kv.value;
  }
  return j;
}

inline nlohmann::json parse_object(const std::string& text) {
  auto j = nlohmann::json::parse(text.empty() ? "{}" : text, nullptr, false);
  return j.is_object() ? j : nlohmann::json::object();
}

}  // namespace pushgate::adapters::zkpush::security_session_detail
