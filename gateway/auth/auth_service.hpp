#pragma once

// Accounts and API credentials (issue 18): the guard every /api/v1 route
// goes through, login and logout with a session cookie and a CSRF token,
// API tokens for machines, login rate limits and lockouts, and an `audit`
// event for every login, logout, credential change and state change made
// through the API.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include <boost/asio/thread_pool.hpp>
#include <nlohmann/json.hpp>

#include "gateway/api/router.hpp"
#include "gateway/auth/limiter.hpp"
#include "gateway/auth/role.hpp"
#include "gateway/clock.hpp"
#include "gateway/config/config.hpp"
#include "gateway/metrics/metrics.hpp"
#include "gateway/store/store.hpp"

namespace pushgate::auth {

/** The cookie that carries a console session id. */
inline constexpr std::string_view kSessionCookie = "pushgate_session";
/** The header a session's state changes carry their CSRF token in. */
inline constexpr std::string_view kCsrfHeader = "X-CSRF-Token";
/**
 * Headers the guard sets on a request it lets through (and strips from what
 * a client sent): who is calling, for handlers that record an actor.
 */
inline constexpr std::string_view kActorNameHeader = "X-Pushgate-Actor";
inline constexpr std::string_view kActorRoleHeader = "X-Pushgate-Actor-Role";
inline constexpr std::string_view kActorKindHeader = "X-Pushgate-Actor-Kind";
/** The file under data_dir the first admin's password is written to. */
inline constexpr std::string_view kInitialPasswordFile = "initial-admin-password";

struct AuthOptions {
  bool required = false;  ///< api.auth = "required"
  std::int64_t session_idle_ms = 1800'000;
  std::int64_t session_max_ms = 43'200'000;
  int max_failures_per_user = 5;
  int max_failures_per_address = 20;
  std::int64_t lockout_ms = 300'000;
  std::string metrics_token;
  std::string gateway_id = "pushgate";  ///< the terminal_sn of audit events
};

AuthOptions auth_options_from_config(const config::Config& config);

/**
 * Why `password` cannot be the password of user `name` (at least 10
 * characters, at most 1024 bytes, not the name in any case); empty when it
 * can.
 */
std::string password_problem(const std::string& name, const std::string& password);

class AuthService {
 public:
  /** Registers the auth routes and sets the router's guard. */
  AuthService(api::Router& router, store::Store& store, const Clock& clock,
              metrics::Registry& metrics, AuthOptions options);
  ~AuthService();
  AuthService(const AuthService&) = delete;
  AuthService& operator=(const AuthService&) = delete;

  /**
   * At start, with the store running: forgets sessions that ended over a
   * day ago; with api.auth = "required" and no user at all, creates
   * `admin` with a random password, logs it once and writes it to
   * data_dir/initial-admin-password (mode 0600). Returns an error message.
   */
  std::string ensure_first_admin(const std::filesystem::path& data_dir);

  /**
   * Appends an `audit` event: `actor` did `action` from `from`; `details`
   * (an object) is merged into its `extra`.
   */
  void audit(const std::string& actor, const std::string& from, const std::string& action,
             nlohmann::json details = nlohmann::json::object());

 private:
  struct Principal {
    std::string kind;  // "session", "token", "internal", "anonymous"
    std::string name;
    Role role = Role::Open;
  };

  void guard(http::Request&& req, const http::RequestInfo& info, Role role,
             std::string_view pattern, api::Proceed proceed, http::Reply reply);
  /** What a credential found in the store amounts to, before its role is checked. */
  struct Judged {
    Principal who;
    std::string label;  ///< how a refusal names it: `token "x"`, or the user name
    /** (reason, detail) of a 401: revoked, expired, disabled. */
    std::optional<std::pair<std::string, std::string>> refusal;
  };

  void authenticate(http::Request&& req, const http::RequestInfo& info, Role role,
                    api::Proceed proceed, http::Reply reply);
  template <class Row, class Find, class Judge, class Finish>
  void admit_credential(http::Request&& req, const http::RequestInfo& info, Role role,
                        api::Proceed proceed, http::Reply reply, Find find,
                        std::string_view unknown, Judge judge, Finish finish);
  void admit(http::Request&& req, const http::RequestInfo& info, const Principal& who,
             api::Proceed proceed, http::Reply reply);
  void refuse(const http::Request& req, const http::RequestInfo& info, http::Reply& reply,
              boost::beast::http::status status, std::string_view reason, std::string_view detail);

  void login(http::Request&& req, const http::RequestInfo& info, http::Reply reply);
  void logout(http::Request&& req, const http::RequestInfo& info, http::Reply reply);
  void session(http::Request&& req, http::Reply reply);
  void create_token(http::Request&& req, const http::RequestInfo& info, http::Reply reply);
  void list_tokens(http::Request&& req, http::Reply reply);
  void revoke_token(http::Request&& req, const http::RequestInfo& info, const std::string& id,
                    http::Reply reply);
  // User management (user_routes.cpp).
  void add_user_routes(api::Router& router);
  void list_users(http::Request&& req, http::Reply reply);
  void create_user(http::Request&& req, const http::RequestInfo& info, http::Reply reply);
  void update_user(http::Request&& req, const http::RequestInfo& info, const std::string& name,
                   http::Reply reply);
  void remove_user(http::Request&& req, const http::RequestInfo& info, const std::string& name,
                   http::Reply reply);
  void change_password(http::Request&& req, const http::RequestInfo& info, http::Reply reply);
  /** An admin sets another user's password (forgotten): their sessions end. */
  void reset_password(http::Request&& req, const http::RequestInfo& info, const std::string& name,
                      http::Reply reply);

  store::Store& store_;
  const Clock& clock_;
  metrics::Registry& metrics_;
  AuthOptions options_;
  LoginLimiter user_limiter_;
  LoginLimiter address_limiter_;
  /** The scrypt work of logins, off the I/O threads. */
  boost::asio::thread_pool kdf_pool_{1};
  /** Verified against when the user does not exist, so timing does not tell. */
  std::string dummy_hash_;
};

}  // namespace pushgate::auth
