#pragma once

// The Suprema BioStar 2 event codes, in one place: `event_type_id.code` →
// neutral event kind, grant/refusal and reason; the sub code (low byte) →
// verify method or refusal reason; the T&A key → punch state. The tables in
// adapters/suprema/README.md are generated from these
// (render_code_tables_markdown(); suprema_codes_test fails when they drift).
// Pure (see suprema_event.hpp).
//
// Kinds are the names of pushgate::EventKind (gateway/event.hpp), as text so
// this library does not depend on the gateway.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace pushgate::adapters::suprema {

/** Where a table row comes from. */
enum class Evidence {
  Doc,  ///< Suprema's own documentation (G-SDK Event API page, Suprema KB articles)
  Obs,  ///< open clients that ran against servers, or pushgate's own choice
};

std::string_view to_string(Evidence evidence) noexcept;

/** What an access event says about the passage. */
enum class Outcome { None, Granted, Refused };

std::string_view to_string(Outcome outcome) noexcept;

/** How the low byte (sub code) of an event code is read. */
enum class SubCodeTable { None, Verify, Identify, Credential, DualAuth, AuthFail, AccessDenied };

struct EventCodeInfo {
  std::uint32_t code;        ///< the full code (0x1000) or, with `family`, its high byte
  bool family;               ///< true: matches every code with this high byte (0x10xx)
  std::string_view name;     ///< Suprema's constant (BS2_EVENT_…)
  std::string_view kind;     ///< pushgate EventKind name
  Outcome outcome;           ///< granted / refused / not an access decision
  std::string_view reason;   ///< refusal reason (or "duress") when the sub code has none
  SubCodeTable sub;          ///< how to read the low byte
  std::string_view meaning;  ///< one line, for the README and logs
  Evidence evidence;
};

/** Every event code pushgate knows, in README order. */
std::span<const EventCodeInfo> event_codes() noexcept;

/** The row of `code` (exact rows first, then families), or nullptr: stored as unknown, never
 * dropped. */
const EventCodeInfo* find_event_code(std::uint32_t code) noexcept;

struct SubCodeInfo {
  SubCodeTable table;
  std::uint8_t sub;
  std::string_view slug;  ///< method ("card+finger") or reason ("anti_passback")
  std::string_view meaning;
  Evidence evidence;
};

/** Every sub code pushgate knows, in README order. */
std::span<const SubCodeInfo> sub_codes() noexcept;

/** The sub code row, or nullptr. */
const SubCodeInfo* find_sub_code(SubCodeTable table, std::uint8_t sub) noexcept;

/** One event code read through the tables. */
struct Classification {
  bool known = false;  ///< the code is in the table
  std::string_view name = "unknown";
  std::string_view kind = "operation";  ///< "operation" for unknown codes
  Outcome outcome = Outcome::None;
  std::string method;    ///< verify method slug, "" when not an authentication
  std::string reason;    ///< refusal reason slug, "duress", or ""
  std::uint8_t sub = 0;  ///< the low byte
};

/**
 * Reads `code`: kind, outcome, method and reason. An unknown code stays an
 * event of kind "operation" with name "unknown"; an unknown sub code gives
 * the row's default reason or method "unknown", never an error.
 */
Classification classify(std::uint32_t code);

struct TnaKeyInfo {
  int key;                   ///< tna_key as sent (0 = no key pressed)
  std::optional<int> punch;  ///< pushgate punch state (ZKTeco numbering), none for key 0
  std::string_view meaning;
  Evidence evidence;
};

/** The default T&A key → punch state table (a site can relabel keys on its devices). */
std::span<const TnaKeyInfo> tna_keys() noexcept;

/** The punch state of `tna_key` by the default table; nullopt for 0 or keys not in it. */
std::optional<int> punch_state_for_tna_key(int tna_key) noexcept;

/** The tables as Markdown, exactly as they stand in adapters/suprema/README.md. */
std::string render_code_tables_markdown();

}  // namespace pushgate::adapters::suprema
