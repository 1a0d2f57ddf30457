#pragma once

#include <string_view>
#include <utility>

#include "gateway/terminals.hpp"

namespace pushgate::adapters::zkpush {

/** The protocol names zkpush gives its terminals (TerminalRecord::protocol). */
inline constexpr std::string_view kProtocolAttendance = "zkpush-attendance";
inline constexpr std::string_view kProtocolSecurity = "zkpush-security";

/**
 * Fills the vendor-neutral description of a ZKTeco terminal (vendor, model,
 * protocol, capabilities) from what it announced and zkpush stored in the
 * record: the flavour, DeviceType, the registration (Security PUSH §4.4, in
 * info.registration), INFO (attendance getrequest) and the pushed options.
 *
 * - model: ~DeviceName (options, then registration), else DeviceType.
 * - doors / readers: LockCount / ReaderCount (registration, then options);
 *   an access terminal that never said has one door.
 * - biometrics: FingerFunOn, FaceFunOn, PvFunOn, FvFunOn = 1, the INFO
 *   fingerprint and face counts, MultiBioDataSupport bits (Appendix 18
 *   types); what was known before is kept (templates already stored).
 * - decision: "gateway" when AutoServerFunOn = 1 (remote identification, §10)
 *   on an access terminal, "local" when reported 0, else unchanged.
 * - commands: poll (PUSH terminals fetch them on getrequest).
 * - user_sync: the access flavour (the sync writes users, templates, rights);
 *   sync_writes: every SyncWrite for it, none for attendance terminals.
 */
void describe_terminal(TerminalRecord& t);

/** TerminalRegistry::update, then describe_terminal on the result. */
template <class Change>
TerminalRecord update_described(TerminalRegistry& registry, std::string_view sn, Change&& change) {
  return registry.update(sn, [&](TerminalRecord& t) {
    std::forward<Change>(change)(t);
    describe_terminal(t);
  });
}

}  // namespace pushgate::adapters::zkpush
