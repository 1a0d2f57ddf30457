#pragma once

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
 * Renders a command's wire line (the part after "C:<id>:") for a dialect.
 * Fields inside a record are separated by TAB only: a space ends up inside
 * the PIN on a real terminal. TAB, CR and LF inside values are removed so no
 * value can add a field or a command. Verbs a dialect cannot express give
 * `error` (the command then fails with that reason).
 */
CommandQueue::Rendered render_command(const CommandRecord& command, Dialect dialect,
                                      std::string_view push_version = {});

/** Removes TAB, CR, LF and NUL: a value must not split a record or a command. */
std::string clean_value(std::string_view v);

}  // namespace pushgate::adapters::zkpush
