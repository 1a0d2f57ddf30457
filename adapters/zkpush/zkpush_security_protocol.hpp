#pragma once

// The access-control flavour of ZKTeco PUSH ("Security PUSH Communication
// Protocol", PUSH protocol 3.1.2, doc 4.8, shared/seeds/003_*.txt; terminals
// that register with DeviceType=acc): pure parsers of what a terminal sends
// and serialisers of what pushgate answers. Section numbers below (§4.4,
// Appendix 13, ...) are that document's.
//
// The contract of zkpush_protocol.hpp holds here unchanged: every function is
// pure and re-entrant (callable from any strand or thread, never blocks);
// results own their strings; terminal bytes never make a function throw
// (only std::bad_alloc can escape) nor assert; whatever is not understood
// comes back as a ParseProblem with its raw bytes so the caller can
// quarantine it; keys are matched ignoring ASCII case; bodies are split on
// LF, and CRs and NULs at the end of a line are dropped (so LF, CRLF and
// NUL-terminated bodies parse alike); blank lines are neither records nor
// problems, and every other line is exactly one of the two. Size limits are
// the caller's: bound the body before calling.
//
// One exception to "no library beyond the standard one": compute_token()
// uses OpenSSL's EVP MD5, which the PUSH token is defined with.
//
// What this flavour shares with the attendance one (ParseProblem, KeyValues,
// DeviceTime, parse_query, parse_options, parse_devicecmd, the BIODATA /
// BIOPHOTO / ERRORLOG record types) is reused from zkpush_protocol.hpp.
//
// This header includes the parts, one concern each:
//   zkpush_security_registry.hpp  endpoints, handshake and version, §4.4
//                                 registration, §4.1/§4.5 answers, token
//   zkpush_security_rtlog.hpp     door state, rtlog, rtstate (§7.2, §7.3)
//   zkpush_security_tables.hpp    tabledata and querydata (§7.5-7.12, §9)
//   zkpush_security_control.hpp   command results, CONTROL DEVICE (§7.4, §9.4)
//   zkpush_security_ident.hpp     remote identification (§10)
//   zkpush_security_codes.hpp     return, event and verification code names
// Text helpers both flavours share are in zkpush_text.hpp.

#include "adapters/zkpush/zkpush_protocol.hpp"
#include "adapters/zkpush/zkpush_security_codes.hpp"
#include "adapters/zkpush/zkpush_security_control.hpp"
#include "adapters/zkpush/zkpush_security_ident.hpp"
#include "adapters/zkpush/zkpush_security_registry.hpp"
#include "adapters/zkpush/zkpush_security_rtlog.hpp"
#include "adapters/zkpush/zkpush_security_tables.hpp"
