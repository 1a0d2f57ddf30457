#pragma once

// Security PUSH command results (§7.4, Appendix 15) and the CONTROL DEVICE
// command (§9.4) of shared/seeds/003_*.txt. Part of the pure protocol layer
// (see zkpush_security_protocol.hpp for the contract).

#include <cstdint>
#include <optional>
#include <string>

#include "adapters/zkpush/zkpush_protocol.hpp"

namespace pushgate::adapters::zkpush::security {

// ---------------------------------------------------------------------------
// Command results (§7.4, Appendix 15)
// ---------------------------------------------------------------------------

// zkpush::parse_devicecmd parses this flavour's results as they are:
// `ID=..&Return=..&CMD=..[&SN=..]`, lower-case `return=` (§9.1), CMD values
// with spaces ("DATA QUERY", "CONTROL DEVICE") and bare segments such as the
// ACCOUNT answer's `&transaction&` (kept in extra with an empty value).

/** Return value of a master controller that queued a command for a sub-controller (§7.4). */
inline constexpr std::int64_t kReturnQueuedForSubController = -5000;

/** The sub-controller that executed the command (`SN=` in the result, Appendix 15), if any. */
std::optional<std::string> sub_controller_sn(const CommandConfirmation& confirmation);

/** Return is -5000: accepted by the master, not yet executed; a final result follows. */
bool queued_for_sub_controller(const CommandConfirmation& confirmation) noexcept;

// ---------------------------------------------------------------------------
// CONTROL DEVICE (§9.4) and remote identification (§10)
// ---------------------------------------------------------------------------

/** AA of `CONTROL DEVICE AABBCCDDEE` (§9.4); values are decimal, rendered %02X. */
enum class ControlOperation : std::uint8_t {
  Output =
      1,  ///< BB door (0 all), CC 1 lock / 2 aux output, DD 0 off, 255 normal open, else seconds
  CancelAlarm = 2,  ///< BB door (0 all)
  Restart = 3,      ///< BB 0 this device, else slave id
  NormalOpen = 4,   ///< BB door (0 all), CC 0 disable / 1 enable
  BatteryQuery = 5,
  LockDoor = 6,       ///< BB door (0 all), CC 0 unlock / 1 lock
  EmergencyDual = 7,  ///< BB 1 dual-on, 2 dual-off
  Zigbee = 8,
  WiegandTest = 9,  ///< BB 1 start, 2 stop
  Rs485Light = 10,
  NetworkSwitch = 11,  ///< BB 1 wired->4G, 2 wired->Wi-Fi, 3 4G->wired, 4 Wi-Fi->wired
  IdCardRegistration = 12,
  SubDeviceStatus = 13,
  SwitchedNetworkTest = 14,
  CancelElevatorEmergency = 15,
  ResetCounter = 16,  ///< BB 1 out, 2 in, 3 alarms, 4 all
};

/**
 * The bytes of `CONTROL DEVICE AABBCCDDEE`. Elevator operations 17 and 18
 * take a 32-byte floor mask instead and are not expressible here.
 */
struct ControlDevice {
  std::uint8_t operation = 0;  ///< AA, see ControlOperation
  std::uint8_t door = 0;       ///< BB: door (0 all) or the operation's first operand
  std::uint8_t target = 0;     ///< CC: 1 lock / 2 auxiliary output, or the second operand
  std::uint8_t duration = 0;   ///< DD: seconds, 0 off, 255 normal open
  /** EE: the operator. The §9.4 examples omit it (4 bytes) except the Wiegand test (5). */
  std::optional<std::uint8_t> operator_id;
};

/** Open the lock of `door` for `seconds` (255: normal open): `CONTROL DEVICE 01<door>01<s>`. */
ControlDevice open_door(std::uint8_t door, std::uint8_t seconds) noexcept;

/** `CONTROL DEVICE 01010105`: upper-case hex, one space after each word, no line end. */
std::string render_control_device(const ControlDevice& control);

/** The same from plain integers; nullopt when one is outside 0..255 (no wrong door opens). */
std::optional<std::string> render_control_device(int operation, int door, int target, int duration);

}  // namespace pushgate::adapters::zkpush::security
