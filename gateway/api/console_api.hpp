#pragma once

#include <string_view>

#include "gateway/api/router.hpp"
#include "gateway/clock.hpp"
#include "gateway/config/config.hpp"
#include "gateway/status.hpp"

namespace pushgate::api {

/**
 * Routes the web console needs beside the REST API:
 *
 *   GET /api/v1/status   (viewer) disk free where the database lives, the
 *                        gateway's id and version, its start time
 *   GET /api/v1/config   (admin) the configuration in effect, every key with
 *                        its value (secrets masked) and whether it was set
 *                        or is the default
 */
void add_console_routes(Router& router, const config::Config& config, const StatusFigures& status,
                        const Clock& clock);

/** Whether a configuration key holds a secret (its value is never shown). */
bool is_secret_key(std::string_view path);

}  // namespace pushgate::api
