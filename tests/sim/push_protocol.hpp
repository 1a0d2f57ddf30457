#pragma once

// Flavour-neutral pieces of the ZKTeco PUSH wire format, as a terminal (the
// client) sees them. Shared by the attendance terminal and by a later
// access-control ("Security PUSH" 3.x) sibling: time formats, the HTTP Date
// header, `C:<id>:<command>` lines, TAB-separated key=value records and the
// devicecmd reply line.
//
// Pure functions, no I/O, no exceptions on bad input: parsers return what they
// understood plus per-line problems. Written from the spec and the captures,
// independently of the server's parser in adapters/ on purpose.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pushgate::sim {

/// The terminal's wall clock: a local time without zone, as printed in records.
using LocalSeconds = std::chrono::local_seconds;

/// One line a parser could not use, kept with its 1-based number and raw text.
struct LineProblem {
  std::size_t line = 0;
  std::string reason;
  std::string raw;
};

/// "YYYY-MM-DD HH:MM:SS", the record time format of every PUSH table.
std::string format_local_time(LocalSeconds t);

/// Parses "YYYY-MM-DD HH:MM:SS" and the "YYYY-MM-DDTHH:MM:SS" form servers use
/// in `DATA QUERY ATTLOG` (see the captures). nullopt when malformed or out of
/// range.
std::optional<LocalSeconds> parse_local_time(std::string_view text);

/// Parses an IMF-fixdate HTTP Date header ("Tue, 22 Sep 2020 20:24:13 GMT").
std::optional<std::chrono::sys_seconds> parse_http_date(std::string_view text);

/// Formats an IMF-fixdate; used by tests and the demo server.
std::string format_http_date(std::chrono::sys_seconds t);

/// Percent-encodes a query value the way the terminals do: letters, digits and
/// `-._~,:` stay as they are (the captured `INFO=ZAM170-NF-Ver1.3.5,3,2,...`),
/// everything else (a space in "Ver 2.0.12") becomes %XX.
std::string encode_query_value(std::string_view value);

/// Splits a body into lines on LF, dropping a CR before the LF. A trailing LF
/// does not produce an empty last line.
std::vector<std::string_view> split_lines(std::string_view body);

/// Joins lines into a body, each line (the last too) ended by LF, as the
/// terminals send every table.
std::string join_lines(const std::vector<std::string>& lines);

/// True when the server acknowledged: status 200 and a body starting with
/// "OK" ("OK", "OK: 9"). Anything else means the terminal keeps the data and
/// sends it again later.
bool is_ok_answer(unsigned status, std::string_view body);

/// One `C:<CmdID>:<CmdDesc>` line of a getrequest answer.
struct CommandLine {
  std::string id;
  std::string text;
};

/// What a getrequest answer contained.
struct CommandListParse {
  std::vector<CommandLine> commands;
  /// Lines that are neither "OK" nor a command line (kept, not executed).
  std::vector<LineProblem> problems;
};

/// Parses a getrequest answer: "OK" (nothing to do) or LF-separated
/// `C:<id>:<command>` lines. The spec allows spaces around the colons
/// ("C: ${CmdID}: ..."), the demo server sends none; both are accepted.
CommandListParse parse_command_list(std::string_view body);

/// key=value pairs in the order they were sent.
using Fields = std::vector<std::pair<std::string, std::string>>;

/// Splits `k=v${HT}k=v` on TAB only, like the real firmware: a server that
/// separates with spaces gets a value containing the rest of the line (the
/// captured `PIN=100 Name=Jorge Leon` created a user with a strange PIN on a
/// real SpeedFace). Tokens without '=' become a key with an empty value.
Fields parse_tab_fields(std::string_view text);

/// Case-insensitive lookup (BIODATA uses "Pin", USERINFO "PIN").
std::optional<std::string> find_field(const Fields& fields, std::string_view key);

/// Parses a decimal integer; nullopt on anything else (no leading '+').
std::optional<std::int64_t> parse_int(std::string_view text);

/// `ID=<id>&Return=<code>&CMD=<cmd>`, one devicecmd reply record (no LF).
std::string format_command_result(std::string_view id, int return_code, std::string_view cmd);

/// True when `a` equals `b` ignoring ASCII case.
bool iequals(std::string_view a, std::string_view b);

/// Removes leading and trailing spaces, tabs, CR and LF.
std::string_view trim(std::string_view text);

}  // namespace pushgate::sim
