#pragma once
// Helpers for tests that run real processes (pushgated, pushgate-sim,
// mosquitto) on loopback. Test support only; never linked into pushgated.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace pushgate::test {

/** A loopback TCP port nobody listens on right now. */
std::uint16_t free_port();

/** Starts `argv` (argv[0] a path) with stdout and stderr appended to `log`. -1 on failure. */
pid_t spawn_process(const std::vector<std::string>& argv, const std::string& log);

/**
 * The command line of `daemon` (pushgated) with `config`, its data in
 * `data_dir`, terminals on loopback `zkpush_port`, the API on `api_port`,
 * log level warn, then each of `sets` ("key=value") as --set.
 */
std::vector<std::string> pushgated_argv(const std::string& daemon, const std::string& config,
                                        const std::string& data_dir, std::uint16_t zkpush_port,
                                        std::uint16_t api_port,
                                        const std::vector<std::string>& sets = {});

/** Polls GET /readyz on the loopback `port` until it answers 200 or the limit passes. */
bool wait_http_ready(std::uint16_t port, std::chrono::seconds limit);

/**
 * For a pushgated process with api.auth = "required" whose API on the
 * loopback `api_port` answers: logs in as the first admin (the password in
 * data_dir/initial-admin-password), creates an admin API token with that
 * session and registers it for `api_port` (http_request sends it from then
 * on). Returns the token; throws std::runtime_error naming what failed.
 */
std::string admin_api_token(std::uint16_t api_port, const std::string& data_dir);

/** Polls `pred` every 10 ms until it holds or the limit passes; returns its last value. */
bool wait_for(const std::function<bool()>& pred, std::chrono::milliseconds limit);

}  // namespace pushgate::test
