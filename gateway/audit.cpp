#include "gateway/audit.hpp"

#include <openssl/rand.h>

#include <array>
#include <atomic>
#include <cstdio>

#include "gateway/event_json.hpp"

namespace pushgate {

namespace {

/** 24 hex digits: random, or (should the RNG fail) the time and a counter, still unique here. */
std::string audit_key(std::int64_t now_ms) {
  std::array<unsigned char, 12> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    static std::atomic<std::uint32_t> counter{0};
    const auto n = counter.fetch_add(1);
    const auto t = static_cast<std::uint64_t>(now_ms);
    for (std::size_t i = 0; i < 8; ++i) {
      bytes[i] = static_cast<unsigned char>(t >> (8 * i));
    }
    for (std::size_t i = 0; i < 4; ++i) {
      bytes[8 + i] = static_cast<unsigned char>(n >> (8 * i));
    }
  }
  std::string hex(bytes.size() * 2, '0');
  static constexpr char kDigits[] = "0123456789abcdef";
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    hex[2 * i] = kDigits[bytes[i] >> 4];
    hex[2 * i + 1] = kDigits[bytes[i] & 0x0f];
  }
  return hex;
}

}  // namespace

Event make_audit_event(const std::string& gateway_id, const std::string& actor,
                       const std::string& from, const std::string& action, nlohmann::json details,
                       std::int64_t now_ms) {
  Event e;
  e.terminal_sn = gateway_id;
  e.kind = EventKind::Audit;
  e.record_key = "audit:" + audit_key(now_ms);
  e.local_time = format_utc_iso8601(now_ms);
  e.utc_ms = now_ms;
  e.received_ms = now_ms;
  e.pin = actor;
  nlohmann::json extra = details.is_object() ? std::move(details) : nlohmann::json::object();
  extra["actor"] = actor;
  extra["from"] = from;
  extra["action"] = action;
  e.extra_json = dump_json(extra);
  e.raw = action + " by " + actor + " from " + from;
  return e;
}

}  // namespace pushgate
