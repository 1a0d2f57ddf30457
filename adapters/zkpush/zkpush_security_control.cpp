#include "adapters/zkpush/zkpush_security_control.hpp"
#include "adapters/zkpush/zkpush_text.hpp"

namespace pushgate::adapters::zkpush::security {
namespace {

using text::append_hex_byte;

}  // namespace

// ---------------------------------------------------------------------------
// Command results
// ---------------------------------------------------------------------------

std::optional<std::string> sub_controller_sn(const CommandConfirmation& confirmation) {
  if (const std::string* sn = find_value(confirmation.extra, "SN"); sn != nullptr && !sn->empty()) {
    return *sn;
  }
  return std::nullopt;
}

bool queued_for_sub_controller(const CommandConfirmation& confirmation) noexcept {
  return confirmation.return_code == kReturnQueuedForSubController;
}

// ---------------------------------------------------------------------------
// CONTROL DEVICE
// ---------------------------------------------------------------------------

ControlDevice open_door(std::uint8_t door, std::uint8_t seconds) noexcept {
  ControlDevice control;
  control.operation = static_cast<std::uint8_t>(ControlOperation::Output);
  control.door = door;
  control.target = 1;  // the lock, not the auxiliary output
  control.duration = seconds;
  return control;
}

std::string render_control_device(const ControlDevice& control) {
  std::string out = "CONTROL DEVICE ";
  append_hex_byte(out, control.operation);
  append_hex_byte(out, control.door);
  append_hex_byte(out, control.target);
  append_hex_byte(out, control.duration);
  if (control.operator_id) {
    append_hex_byte(out, *control.operator_id);
  }
  return out;
}

std::optional<std::string> render_control_device(int operation, int door, int target,
                                                 int duration) {
  for (int value : {operation, door, target, duration}) {
    if (value < 0 || value > 255) {
      return std::nullopt;
    }
  }
  ControlDevice control;
  control.operation = static_cast<std::uint8_t>(operation);
  control.door = static_cast<std::uint8_t>(door);
  control.target = static_cast<std::uint8_t>(target);
  control.duration = static_cast<std::uint8_t>(duration);
  return render_control_device(control);
}

}  // namespace pushgate::adapters::zkpush::security
