#pragma once

#include <string>

#include "gateway/command.hpp"

namespace pushgate::adapters::zkpush {

/**
 * Checks a command before it is queued, for what a terminal would silently
 * get wrong while still answering Return=0:
 * - a TAB, CR or LF (or NUL) in any parameter value: on the wire it starts
 *   another field or another command (a `raw` line may hold TABs, the
 *   field separator of its records, but no CR or LF);
 * - a `set_option` key holding more than one option (`A=1,B=2`, a space):
 *   firmware stores the lot as one garbage value.
 *
 * Returns "" or the reason, naming the field ("params.value: ..."). Pure; any
 * thread.
 */
std::string check_command_values(const CommandRequest& request);

}  // namespace pushgate::adapters::zkpush
