#include "gateway/event.hpp"

#include <array>
#include <utility>

namespace pushgate {

namespace {
constexpr std::array<std::pair<EventKind, std::string_view>, 12> kKindNames{{
    {EventKind::Attendance, "attendance"},
    {EventKind::Access, "access"},
    {EventKind::Alarm, "alarm"},
    {EventKind::DoorState, "door_state"},
    {EventKind::Operation, "operation"},
    {EventKind::Enrollment, "enrollment"},
    {EventKind::ErrorLog, "error_log"},
    {EventKind::Timecard, "timecard"},
    {EventKind::Decision, "decision"},
    {EventKind::Photo, "photo"},
    {EventKind::Alert, "alert"},
    {EventKind::Audit, "audit"},
}};
}  // namespace

std::string_view to_string(EventKind kind) noexcept {
  for (const auto& [k, name] : kKindNames) {
    if (k == kind) {
      return name;
    }
  }
  return "unknown";
}

std::optional<EventKind> event_kind_from_string(std::string_view name) noexcept {
  for (const auto& [k, n] : kKindNames) {
    if (n == name) {
      return k;
    }
  }
  return std::nullopt;
}

}  // namespace pushgate
