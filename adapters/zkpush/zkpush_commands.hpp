#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "gateway/command.hpp"
#include "gateway/command_queue.hpp"

namespace pushgate::adapters::zkpush {

/** How a terminal wants its commands written. */
enum class Dialect {
  AttendanceLegacy,  ///< attendance firmware without pushver (pre-2.x verbs: DATA USER …)
  Attendance,        ///< attendance PUSH 2.x (DATA UPDATE USERINFO …)
  Access,            ///< Security PUSH 3.x (DATA UPDATE user …, CONTROL DEVICE …)
};

/** The dialect of a terminal from what is stored for it (flavour and push version). */
Dialect dialect_for(std::string_view flavour, std::string_view push_version);

/**
 * What a Security PUSH terminal said about how it reads commands, from its
 * stored options (keys matched ignoring case and a leading '~').
 */
struct TerminalFormat {
  /** CmdFormat (Appendix 14): 1 wants every command prefixed
   * `DataType=1, SN=…, Priority=0, CmdID=…, CmdDesc=`; else 0, the plain
   * `C:<id>:…` every captured terminal uses. */
  int cmd_format = 0;
  /** DateFmtFunOn=1: user validity times are Appendix 5 seconds, else YYYYMMDD. */
  bool date_fmt_seconds = false;
};
TerminalFormat terminal_format_of(std::string_view options_json);

/**
 * Renders a command's wire line (the part after "C:<id>:") for a dialect.
 * Fields inside a record are separated by TAB only: a space ends up inside
 * the PIN on a real terminal. TAB, CR and LF inside values are removed so no
 * value can add a field or a command. Verbs a dialect cannot express give
 * `error` (the command then fails with that reason).
 */
CommandQueue::Rendered render_command(const CommandRecord& command, Dialect dialect,
                                      std::string_view push_version = {},
                                      const TerminalFormat& format = {});

/** ZKTeco's Appendix 5 encoding of a local time "YYYY-MM-DD[ HH:MM:SS]"; nullopt if unreadable. */
std::optional<std::uint32_t> zk_encode_time(std::string_view local_time);

/** The Appendix 14 CmdFormat=1 prefix for one command of terminal `sn`. */
std::string cmd_format1_prefix(std::string_view sn, std::int64_t command_id);

/**
 * Renders for one terminal: the dialect's line, validity times in the form
 * the terminal reads, and the CmdFormat=1 prefix when it asked for it.
 */
CommandQueue::Rendered render_for_terminal(const CommandRecord& command, Dialect dialect,
                                           std::string_view push_version,
                                           const TerminalFormat& format, std::string_view sn);

/** Removes TAB, CR, LF and NUL: a value must not split a record or a command. */
std::string clean_value(std::string_view v);

}  // namespace pushgate::adapters::zkpush
