#include "gateway/event_json.hpp"

#include <cstdio>
#include <cstdlib>

#include <date/date.h>

#include "gateway/timezone.hpp"

namespace pushgate {

std::string format_utc_iso8601(std::int64_t utc_ms) {
  auto tp = date::sys_time<std::chrono::milliseconds>{std::chrono::milliseconds{utc_ms}};
  return date::format("%FT%TZ", tp);
}

namespace {

nlohmann::json opt_int(int v) {
  return v == kUnset ? nlohmann::json(nullptr) : nlohmann::json(v);
}
nlohmann::json opt_str(const std::string& v) {
  return v.empty() ? nlohmann::json(nullptr) : nlohmann::json(v);
}

// Local time with the offset implied by local time and UTC.
nlohmann::json local_iso(const Event& e) {
  if (!e.utc_ms) {
    return nullptr;
  }
  auto local = parse_local_date_time(e.local_time);
  if (!local) {
    return nullptr;
  }
  auto as_utc = Zone::utc().to_utc_ms(*local);
  long offset_min = static_cast<long>((as_utc - (*e.utc_ms / 1000) * 1000) / 60000);
  char buf[48];
  long a = std::labs(offset_min);
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d%c%02ld:%02ld", local->year,
                local->month, local->day, local->hour, local->minute, local->second,
                offset_min < 0 ? '-' : '+', a / 60, a % 60);
  return std::string(buf);
}

}  // namespace

nlohmann::json event_to_json(const Event& e) {
  nlohmann::json j;
  j["id"] = e.id;
  j["terminal"] = e.terminal_sn;
  j["seq"] = e.seq;
  j["kind"] = std::string(to_string(e.kind));
  j["time"] = local_iso(e);
  j["utc"] = e.utc_ms ? nlohmann::json(format_utc_iso8601(*e.utc_ms)) : nlohmann::json(nullptr);
  j["local_time"] = opt_str(e.local_time);
  j["pin"] = opt_str(e.pin);
  j["verify_mode"] = opt_int(e.verify_mode);
  j["status"] = opt_int(e.status);
  j["work_code"] = opt_str(e.work_code);
  j["door"] = opt_int(e.door);
  j["event_code"] = opt_int(e.event_code);
  j["record_key"] = e.record_key;
  j["received"] = format_utc_iso8601(e.received_ms);
  j["command_id"] = e.command_id == 0 ? nlohmann::json(nullptr) : nlohmann::json(e.command_id);
  if (!e.extra_json.empty()) {
    auto extra = nlohmann::json::parse(e.extra_json, nullptr, false);
    j["extra"] = extra.is_discarded() ? nlohmann::json(e.extra_json) : extra;
  } else {
    j["extra"] = nlohmann::json::object();
  }
  j["raw"] = e.raw;
  return j;
}

}  // namespace pushgate

namespace pushgate {
std::string dump_json(const nlohmann::json& j, int indent) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}
}  // namespace pushgate
