#pragma once

// Runs a whole pushgate Gateway in-process for integration tests: a fresh
// data directory, every port on 0 (free loopback ports), extra config
// overrides per test. Plus a minimal blocking HTTP client for loopback.
//
// Credentials (issue 18, api.auth = "required" by default): the harness
// creates an admin API token at start and registers it for its API port;
// http_request then sends "Authorization: Bearer <token>" to that port by
// default. http_request_as sends exactly the credential given (or none), for
// tests of roles and refusals; api_token(role) makes tokens of other roles.
// On a new database the harness makes its own account ("harness") before
// the gateway starts, so the first start creates no `admin`, no password
// file and no audit event: a test's events are its terminals' only. Tests of
// the first start ask for Accounts::FirstStart.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gateway/auth/role.hpp"
#include "gateway/clock.hpp"
#include "gateway/config/config.hpp"
#include "gateway/gateway.hpp"

namespace pushgate::test {

/** A temporary directory removed on destruction. */
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::filesystem::path path_;
};

class GatewayHarness {
 public:
  enum class Accounts {
    Harness,     ///< a new database gets the harness's account before the start
    FirstStart,  ///< none: the gateway's first start creates `admin` as in production
  };

  /** Starts a gateway; `overrides` are `section.key=value` like --set. Throws on failure. */
  explicit GatewayHarness(std::vector<std::string> overrides = {},
                          std::filesystem::path data_dir = {},
                          Accounts accounts = Accounts::Harness);
  ~GatewayHarness();

  Gateway& gateway() noexcept { return *gateway_; }
  std::uint16_t zkpush_port() const;
  std::uint16_t api_port() const { return gateway_->api_port(); }
  const std::filesystem::path& data_dir() const noexcept { return data_dir_; }
  /** Stops the gateway (graceful) before destruction. */
  void stop();

  /** Runs a SELECT returning one integer, on a read connection. */
  std::int64_t query_int(const std::string& sql, const std::vector<std::string>& params = {});

  /**
   * An API token of `role` (created in the store on first use, then the
   * same one). The admin token is the one http_request sends by default.
   */
  std::string api_token(auth::Role role = auth::Role::Admin);

 private:
  std::unique_ptr<TempDir> temp_;
  std::filesystem::path data_dir_;
  config::Schema schema_;
  std::unique_ptr<config::Config> config_;
  SystemClock clock_;
  std::unique_ptr<Gateway> gateway_;
  std::vector<std::pair<auth::Role, std::string>> tokens_;
  std::uint16_t registered_port_ = 0;
};

/** The answer to one HTTP request. */
struct HttpAnswer {
  int status = 0;
  std::string body;
  std::string date_header;
  std::string set_cookie;  ///< the Set-Cookie header, if any
};

/**
 * Sends raw request bytes to 127.0.0.1:port over a new connection and reads
 * one response. Throws on a connection error.
 */
HttpAnswer send_raw(std::uint16_t port, const std::string& request_bytes);

/**
 * A GET or POST (body) with Connection: close; with the bearer token
 * registered for `port` (register_api_token) when there is one.
 */
HttpAnswer http_request(std::uint16_t port, const std::string& method, const std::string& target,
                        const std::string& body = {});

/**
 * Like http_request, with "Authorization: Bearer <token>" when `token` is
 * not empty and no credential at all when it is; `headers` are extra
 * "Name: value" lines (a Cookie, an X-CSRF-Token).
 */
HttpAnswer http_request_as(const std::string& token, std::uint16_t port, const std::string& method,
                           const std::string& target, const std::string& body = {},
                           const std::vector<std::string>& headers = {});

/** From now on http_request sends this token to 127.0.0.1:port ("" forgets it). */
void register_api_token(std::uint16_t port, const std::string& token);

/** The token registered for `port`, or "". */
std::string registered_api_token(std::uint16_t port);

/**
 * The value of one series ("name{labels}", exactly as exposed) on the
 * /metrics of the API at 127.0.0.1:api_port; nullopt when it is not there.
 */
std::optional<double> metric_value(std::uint16_t api_port, const std::string& series);

}  // namespace pushgate::test
