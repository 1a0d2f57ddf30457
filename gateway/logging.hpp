#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <spdlog/logger.h>

namespace pushgate {

/** The components that log, each with its own named logger and level. */
enum class Component { Main, Store, Http, Zkpush, Api, Commands, Mqtt, Modbus, Rules, Config };

std::string_view to_string(Component c) noexcept;

/**
 * The named logger of a component ("zkpush", "store", …), created on first
 * use. Fetch once and keep the pointer. Lines about a device start with
 * `[sn=…]`; lines about a command with `[cmd=…]`.
 */
std::shared_ptr<spdlog::logger> logger(Component c);

/**
 * Sets up logging for the daemon: one line per message on stderr, in a form
 * journald keeps well (no colours, no timestamps when run under systemd —
 * the journal adds its own — and an `<N>` syslog priority prefix there).
 * `levels` is the global level plus per-component overrides such as
 * "info" and "zkpush=debug,store=warn". Returns a message on a bad level.
 */
std::string configure_logging(std::string_view level, std::string_view component_levels,
                              bool under_systemd);

}  // namespace pushgate
