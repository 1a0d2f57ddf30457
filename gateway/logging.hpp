#pragma once

#include <array>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

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

/** The core's loggers; each adapter logs under its registered name. */
inline constexpr std::array<std::string_view, 7> kCoreLoggers{"main",     "store", "http",  "api",
                                                              "commands", "rules", "config"};

/**
 * What --check-config says of log.components: a malformed item, or a name
 * that is not in `known` (with the nearest name when it looks like a typo).
 * Empty when fine.
 */
std::string check_component_levels(std::string_view component_levels,
                                   const std::vector<std::string>& known);

/**
 * Sets up logging for the daemon: one line per message on stderr, in a form
 * journald keeps well (no colours, no timestamps when run under systemd —
 * the journal adds its own — and an `<N>` syslog priority prefix there).
 * `level` is the global level, `component_levels` per-component overrides
 * such as "zkpush=debug,store=warn": they apply to the loggers that exist
 * and to those created later (an adapter's logger may not exist yet); which
 * names exist is validate_config()'s check (check_component_levels).
 * Returns a message on a bad level or a malformed item, and then changes
 * nothing.
 */
std::string configure_logging(std::string_view level, std::string_view component_levels,
                              bool under_systemd);

}  // namespace pushgate
