#pragma once

// Security PUSH remote identification (§10 of shared/seeds/003_*.txt): the
// terminal asks pushgate whether to let a person through; pushgate answers
// AUTH=SUCCESS/FAILED/TIMEOUT, optionally with the door command. Part of the
// pure protocol layer (see zkpush_security_protocol.hpp for the contract).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/zkpush/zkpush_protocol.hpp"
#include "adapters/zkpush/zkpush_security_control.hpp"
#include "adapters/zkpush/zkpush_security_rtlog.hpp"

namespace pushgate::adapters::zkpush::security {

// ---------------------------------------------------------------------------
// Remote identification (§10)
// ---------------------------------------------------------------------------

/** A §10 request: one event record plus `addrtype`. */
struct RemoteAuthRequest {
  RtlogRecord event;             ///< parsed like an rtlog line (addrtype taken out of extra)
  std::optional<int> addr_type;  ///< 1 device, 2 door, 3 reader, 4 aux input, 5 aux output
};

struct RemoteAuthResult {
  std::optional<RemoteAuthRequest> request;  ///< the first record line, if usable
  std::vector<ParseProblem> problems;        ///< its problems, and every further non-blank line
};

/** Parses the body of `POST /iclock/cdata?SN=..&AuthType=device` (§10). */
RemoteAuthResult parse_remote_auth(std::string_view body);

/** §10 AUTH values. */
enum class AuthVerdict { Success, Failed, Timeout };

std::string_view to_string(AuthVerdict verdict) noexcept;  ///< "SUCCESS", "FAILED", "TIMEOUT"

struct RemoteAuthAnswer {
  AuthVerdict verdict = AuthVerdict::Failed;
  std::string event;  ///< the requested record echoed (use RtlogRecord::raw); omitted when empty
  /** Sent only with Success: §10 calls it "the controller command after successful verification".
   */
  std::optional<ControlDevice> control;
  std::string tips;  ///< TIPS, UTF-8, optional: omitted when empty
};

/**
 * `AUTH=<verdict>` CRLF `<event>` CRLF `CONTROL DEVICE AABBCCDD` CRLF
 * `TIPS=<tips>`, absent parts left out, lines joined by CRLF with none after
 * the last (§10 writes ${CR}${LF} only between parts). CR, LF and NUL are
 * removed from event and tips.
 */
std::string render_remote_auth_answer(const RemoteAuthAnswer& answer);

/**
 * The §10 record `record` with its `event=` value replaced by `code` (the
 * answer's reason, Appendix 2); appended as a last field when the record has
 * none. Every other field is kept byte for byte.
 */
std::string with_event_code(std::string_view record, int code);

}  // namespace pushgate::adapters::zkpush::security
