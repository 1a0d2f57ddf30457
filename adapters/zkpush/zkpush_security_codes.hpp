#pragma once

// Security PUSH code tables (shared/seeds/003_*.txt, Appendix 1, 2, 3, 19;
// §4.4 NewVFStyles): command return values, event codes and their classes,
// verification modes and styles, in words. Part of the pure protocol layer
// (see zkpush_security_protocol.hpp for the contract).

#include <cstdint>
#include <string_view>

namespace pushgate::adapters::zkpush::security {

// ---------------------------------------------------------------------------
// Names (Appendix 1, 2, 3, 19; §4.4 NewVFStyles)
// ---------------------------------------------------------------------------

/** Which document's table a return code is read with where the two disagree (-1..-12). */
enum class PushFlavour { Security, Attendance };

/**
 * A command's Return value in words: >= 0 "success"; negative codes from
 * Appendix 1 (Security PUSH 3.1.2) and from the attendance spec's Appendix 1
 * (PUSH SDK 2.4.1: -1001..-1008 and its own -1..-12). `flavour` picks the
 * table consulted first; the other fills codes the first lacks. "unknown"
 * when neither has it.
 */
std::string_view return_code_name(std::int64_t code,
                                  PushFlavour flavour = PushFlavour::Security) noexcept;

/** Appendix 2 (0-255) and Appendix 19 (4000-6999) event codes; "unknown" otherwise. */
std::string_view event_code_name(int code) noexcept;

/** Appendix 2 / §7.2 event classes. */
enum class EventCategory {
  Normal,    ///< 0-19, 200-253, 4000-4999
  Error,     ///< 20-99, 5000-5999 (abnormal)
  Alarm,     ///< 100-199, 6000-6999 (warning)
  Extended,  ///< 254: the number continues in an extended field
  Status,    ///< 255: door status
  Unknown,
};

EventCategory event_category(int code) noexcept;

/** Appendix 3 verification modes (0-29, 200); "unknown" otherwise. */
std::string_view verify_mode_name(int mode) noexcept;

/** NewVFStyles bit positions (§4.4 VERIFY_STYLE_E: 1 face ... 12 QR code); else "unknown". */
std::string_view verify_style_name(int bit) noexcept;

}  // namespace pushgate::adapters::zkpush::security
