#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <spdlog/logger.h>

namespace pushgate {

/**
 * The named logger of a component ("zkpush", "store", …), created on first
 * use with the level log.components gives that name, else log.level. The
 * same name always gives the same logger; a new adapter simply picks a new
 * name (lowercase letters, digits, '_' and '-', as log.components accepts).
 * Fetch once and keep the pointer. Lines about a device start with
 * `[sn=…]`; lines about a command with `[cmd=…]`.
 */
std::shared_ptr<spdlog::logger> logger(std::string_view name);

/**
 * Sets up logging for the daemon: one line per message on stderr, in a form
 * journald keeps well (no colours, no timestamps when run under systemd —
 * the journal adds its own — and an `<N>` syslog priority prefix there).
 * `level` is the global level, `component_levels` per-component overrides
 * such as "zkpush=debug,store=warn": they apply to the loggers that exist
 * and to those created later, so any well-formed name is accepted (an
 * adapter's logger may not exist yet). Returns a message on a bad level or
 * a malformed item, and then changes nothing.
 */
std::string configure_logging(std::string_view level, std::string_view component_levels,
                              bool under_systemd);

}  // namespace pushgate
