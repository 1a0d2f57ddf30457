#pragma once

// SQL of the local accounts, API tokens and sessions (migration 0014,
// gateway/auth). Only hashes are passed in and out: the clear password,
// token or session id never reaches this layer.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <boost/system/error_code.hpp>

#include "gateway/store/sqlite.hpp"

namespace pushgate::store {

struct AuthUserRow {
  std::int64_t id = 0;
  std::string name;
  std::string role;
  std::string password_hash;
  std::int64_t created_ms = 0;
  bool disabled = false;
};

struct AuthTokenRow {
  std::int64_t id = 0;
  std::string name;
  std::string role;
  std::int64_t created_ms = 0;
  std::string created_by;
  std::optional<std::int64_t> last_used_ms;
  std::optional<std::int64_t> revoked_ms;
};

/** A session with its user, as one lookup by id hash finds it. */
struct AuthSessionRow {
  std::string id_hash;
  std::int64_t user_id = 0;
  std::string user_name;
  std::string role;
  bool user_disabled = false;
  std::int64_t created_ms = 0;
  std::int64_t last_seen_ms = 0;
  std::int64_t expires_ms = 0;
  std::optional<std::int64_t> revoked_ms;
  std::string csrf_token;
};

// Users. insert_auth_user fails with SQLITE_CONSTRAINT when the name exists.
boost::system::error_code insert_auth_user(Connection& db, const AuthUserRow& user);
std::optional<AuthUserRow> find_auth_user(Connection& db, const std::string& name,
                                          boost::system::error_code& ec);
std::vector<AuthUserRow> list_auth_users(Connection& db, boost::system::error_code& ec);
/** Deletes the user and its sessions; false when there was none. */
bool delete_auth_user(Connection& db, const std::string& name, boost::system::error_code& ec);
std::int64_t count_auth_users(Connection& db, boost::system::error_code& ec);
/** Users with the role admin that are not disabled (the last one is kept). */
std::int64_t count_active_admins(Connection& db, boost::system::error_code& ec);
/** Sets the role and/or the disabled flag; false when there is no such user. */
bool update_auth_user(Connection& db, const std::string& name,
                      const std::optional<std::string>& role, std::optional<bool> disabled,
                      boost::system::error_code& ec);
/** Replaces the password hash; false when there is no such user. */
bool set_auth_user_password(Connection& db, const std::string& name,
                            const std::string& password_hash, boost::system::error_code& ec);
/**
 * Revokes the unrevoked sessions of the user, except the one whose id hash
 * is `keep_hash` ("" keeps none).
 */
boost::system::error_code revoke_user_sessions(Connection& db, std::int64_t user_id,
                                               const std::string& keep_hash, std::int64_t now_ms);

// Tokens.
boost::system::error_code insert_auth_token(Connection& db, const AuthTokenRow& token,
                                            const std::string& token_hash);
/** The token with this hash (revoked ones too: the caller tells 401 apart). */
std::optional<AuthTokenRow> find_auth_token(Connection& db, const std::string& token_hash,
                                            boost::system::error_code& ec);
std::vector<AuthTokenRow> list_auth_tokens(Connection& db, boost::system::error_code& ec);
/** Marks the token revoked; false when there is no such token or it already was. */
bool revoke_auth_token(Connection& db, std::int64_t id, std::int64_t now_ms,
                       boost::system::error_code& ec);
boost::system::error_code touch_auth_token(Connection& db, std::int64_t id, std::int64_t now_ms);

// Sessions.
boost::system::error_code insert_auth_session(Connection& db, const AuthSessionRow& session);
std::optional<AuthSessionRow> find_auth_session(Connection& db, const std::string& id_hash,
                                                boost::system::error_code& ec);
boost::system::error_code touch_auth_session(Connection& db, const std::string& id_hash,
                                             std::int64_t now_ms);
boost::system::error_code revoke_auth_session(Connection& db, const std::string& id_hash,
                                              std::int64_t now_ms);
/** Deletes sessions expired or revoked before `before_ms` (housekeeping). */
boost::system::error_code purge_auth_sessions(Connection& db, std::int64_t before_ms);

}  // namespace pushgate::store
