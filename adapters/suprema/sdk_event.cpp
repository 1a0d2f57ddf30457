#include "adapters/suprema/sdk_event.hpp"

#include <chrono>
#include <cstdio>
#include <cstring>

#include <nlohmann/json.hpp>

#include "adapters/suprema/suprema_codes.hpp"
#include "gateway/event_json.hpp"

namespace pushgate::adapters::suprema::sdk {

namespace {

std::string hex(const void* data, std::size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  const auto* p = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(kDigits[p[i] >> 4]);
    out.push_back(kDigits[p[i] & 0x0f]);
  }
  return out;
}

/** The NUL-padded user id, printable ASCII only (anything else is replaced by '?'). */
std::string user_id_of(const Event& row) {
  std::string out;
  for (unsigned char c : row.payload) {
    if (c == 0) {
      break;
    }
    out.push_back(c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '?');
  }
  return out;
}

std::uint32_t u32_at(const Event& row, std::size_t offset) {
  std::uint32_t v = 0;
  std::memcpy(&v, row.payload + offset, sizeof v);  // the SDK's own byte order (x86/ARM: little)
  return v;
}

std::string code_hex(std::uint16_t code) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%04X", static_cast<unsigned>(code));
  return buf;
}

}  // namespace

std::string record_key(EventId id) {
  // Zero-padded so a device's keys grow at the right edge of the event log's index.
  char buf[16];
  std::snprintf(buf, sizeof buf, "log:%010u", static_cast<unsigned>(id));
  return buf;
}

pushgate::Event map_event(const Event& row, const MapContext& ctx) {
  pushgate::Event e;
  e.terminal_sn = ctx.sn;
  e.record_key = record_key(row.id);
  e.received_ms = ctx.received_ms;
  e.event_code = row.code;
  e.raw = hex(&row, sizeof row);

  const auto cls = classify(row.code);
  e.kind = event_kind_from_string(cls.kind).value_or(EventKind::Operation);
  nlohmann::json extra = {{"source", std::string("sdk_") + ctx.source},
                          {"event_id", row.id},
                          {"code", code_hex(row.code)},
                          {"name", std::string(cls.name)}};
  if (!cls.known) {
    extra["unknown_code"] = true;
  }
  if (cls.outcome != Outcome::None) {
    extra["result"] = std::string(to_string(cls.outcome));
  }
  if (!cls.method.empty()) {
    extra["method"] = cls.method;
  }
  if (!cls.reason.empty()) {
    extra["reason"] = cls.reason;
  }
  const unsigned main = row.code >> 8;
  if (main >= 0x10 && main <= 0x2f) {  // authentication and user families: the union is userID
    e.pin = user_id_of(row);
  } else if (main >= 0x50 && main <= 0x5f) {  // door family: doorID
    const auto door = u32_at(row, 0);
    extra["door_id"] = door;
    if (door >= 1 && door <= 255) {
      e.door = static_cast<int>(door);
    }
  } else if (main >= 0x60 && main <= 0x6f) {  // zone family: zoneID
    extra["zone_id"] = u32_at(row, 0);
  }
  if (row.param != 0) {
    extra["tna_key"] = row.param;
    if (e.kind == EventKind::Access && cls.outcome == Outcome::Granted) {
      if (auto punch = punch_state_for_tna_key(row.param)) {
        e.status = *punch;
      }
    }
  }
  // dateTime is the device's wall clock in seconds: read it in the configured zone.
  const auto days = std::chrono::floor<std::chrono::days>(
      std::chrono::sys_seconds(std::chrono::seconds(row.date_time)));
  const std::chrono::year_month_day ymd(days);
  const std::chrono::hh_mm_ss hms(std::chrono::sys_seconds(std::chrono::seconds(row.date_time)) -
                                  days);
  LocalDateTime local{static_cast<int>(ymd.year()),
                      static_cast<int>(static_cast<unsigned>(ymd.month())),
                      static_cast<int>(static_cast<unsigned>(ymd.day())),
                      static_cast<int>(hms.hours().count()),
                      static_cast<int>(hms.minutes().count()),
                      static_cast<int>(hms.seconds().count())};
  e.local_time = format_local_date_time(local);
  if (row.date_time != 0 && ctx.zone != nullptr) {
    e.utc_ms = ctx.zone->to_utc_ms(local);
  } else {
    extra["time_unset"] = true;
  }
  e.extra_json = dump_json(extra);
  return e;
}

}  // namespace pushgate::adapters::suprema::sdk
