#include "gateway/store/auth_queries.hpp"

namespace pushgate::store {

namespace {

std::optional<std::int64_t> optional_int(const Statement& st, int col) {
  if (st.column_is_null(col)) {
    return std::nullopt;
  }
  return st.column_int(col);
}

AuthUserRow read_user(const Statement& st) {
  AuthUserRow u;
  u.id = st.column_int(0);
  u.name = st.column_text(1);
  u.role = st.column_text(2);
  u.password_hash = st.column_text(3);
  u.created_ms = st.column_int(4);
  u.disabled = st.column_int(5) != 0;
  return u;
}

AuthTokenRow read_token(const Statement& st) {
  AuthTokenRow t;
  t.id = st.column_int(0);
  t.name = st.column_text(1);
  t.role = st.column_text(2);
  t.created_ms = st.column_int(3);
  t.created_by = st.column_text(4);
  t.last_used_ms = optional_int(st, 5);
  t.revoked_ms = optional_int(st, 6);
  return t;
}

constexpr const char* kUserColumns =
    "SELECT id, name, role, password_hash, created_ms, disabled FROM auth_users";
constexpr const char* kTokenColumns =
    "SELECT id, name, role, created_ms, created_by, last_used_ms, revoked_ms FROM auth_tokens";

}  // namespace

boost::system::error_code insert_auth_user(Connection& db, const AuthUserRow& user) {
  boost::system::error_code ec;
  auto st = db.prepare(
      "INSERT INTO auth_users(name, role, password_hash, created_ms, disabled)"
      " VALUES(?1,?2,?3,?4,?5)",
      ec);
  if (ec) {
    return ec;
  }
  st.bind(1, std::string_view(user.name))
      .bind(2, std::string_view(user.role))
      .bind(3, std::string_view(user.password_hash))
      .bind(4, user.created_ms)
      .bind(5, user.disabled ? 1 : 0);
  return st.run();
}

std::optional<AuthUserRow> find_auth_user(Connection& db, const std::string& name,
                                          boost::system::error_code& ec) {
  auto st = db.prepare(std::string(kUserColumns) + " WHERE name = ?1", ec);
  if (ec) {
    return std::nullopt;
  }
  st.bind(1, std::string_view(name));
  if (st.step(ec)) {
    return read_user(st);
  }
  return std::nullopt;
}

std::vector<AuthUserRow> list_auth_users(Connection& db, boost::system::error_code& ec) {
  std::vector<AuthUserRow> out;
  auto st = db.prepare(std::string(kUserColumns) + " ORDER BY name", ec);
  while (!ec && st.step(ec)) {
    out.push_back(read_user(st));
  }
  return out;
}

bool delete_auth_user(Connection& db, const std::string& name, boost::system::error_code& ec) {
  auto st = db.prepare("DELETE FROM auth_users WHERE name = ?1", ec);
  if (ec) {
    return false;
  }
  st.bind(1, std::string_view(name));
  ec = st.run();
  return !ec && db.changes() > 0;
}

std::int64_t count_auth_users(Connection& db, boost::system::error_code& ec) {
  auto st = db.prepare("SELECT count(*) FROM auth_users", ec);
  if (!ec && st.step(ec)) {
    return st.column_int(0);
  }
  return 0;
}

std::int64_t count_active_admins(Connection& db, boost::system::error_code& ec) {
  auto st = db.prepare("SELECT count(*) FROM auth_users WHERE role = 'admin' AND disabled = 0", ec);
  if (!ec && st.step(ec)) {
    return st.column_int(0);
  }
  return 0;
}

bool update_auth_user(Connection& db, const std::string& name,
                      const std::optional<std::string>& role, std::optional<bool> disabled,
                      boost::system::error_code& ec) {
  auto st = db.prepare(
      "UPDATE auth_users SET role = coalesce(?2, role), disabled = coalesce(?3, disabled)"
      " WHERE name = ?1",
      ec);
  if (ec) {
    return false;
  }
  st.bind(1, std::string_view(name));
  if (role) {
    st.bind(2, std::string_view(*role));
  }
  if (disabled) {
    st.bind(3, static_cast<std::int64_t>(*disabled ? 1 : 0));
  }
  ec = st.run();
  return !ec && db.changes() > 0;
}

bool set_auth_user_password(Connection& db, const std::string& name,
                            const std::string& password_hash, boost::system::error_code& ec) {
  auto st = db.prepare("UPDATE auth_users SET password_hash = ?2 WHERE name = ?1", ec);
  if (ec) {
    return false;
  }
  st.bind(1, std::string_view(name)).bind(2, std::string_view(password_hash));
  ec = st.run();
  return !ec && db.changes() > 0;
}

boost::system::error_code revoke_user_sessions(Connection& db, std::int64_t user_id,
                                               const std::string& keep_hash, std::int64_t now_ms) {
  boost::system::error_code ec;
  auto st = db.prepare(
      "UPDATE auth_sessions SET revoked_ms = ?3"
      " WHERE user_id = ?1 AND id_hash <> ?2 AND revoked_ms IS NULL",
      ec);
  if (ec) {
    return ec;
  }
  st.bind(1, user_id).bind(2, std::string_view(keep_hash)).bind(3, now_ms);
  return st.run();
}

boost::system::error_code insert_auth_token(Connection& db, const AuthTokenRow& token,
                                            const std::string& token_hash) {
  boost::system::error_code ec;
  auto st = db.prepare(
      "INSERT INTO auth_tokens(name, role, token_hash, created_ms, created_by)"
      " VALUES(?1,?2,?3,?4,?5)",
      ec);
  if (ec) {
    return ec;
  }
  st.bind(1, std::string_view(token.name))
      .bind(2, std::string_view(token.role))
      .bind(3, std::string_view(token_hash))
      .bind(4, token.created_ms)
      .bind(5, std::string_view(token.created_by));
  return st.run();
}

std::optional<AuthTokenRow> find_auth_token(Connection& db, const std::string& token_hash,
                                            boost::system::error_code& ec) {
  auto st = db.prepare(std::string(kTokenColumns) + " WHERE token_hash = ?1", ec);
  if (ec) {
    return std::nullopt;
  }
  st.bind(1, std::string_view(token_hash));
  if (st.step(ec)) {
    return read_token(st);
  }
  return std::nullopt;
}

std::vector<AuthTokenRow> list_auth_tokens(Connection& db, boost::system::error_code& ec) {
  std::vector<AuthTokenRow> out;
  auto st = db.prepare(std::string(kTokenColumns) + " ORDER BY id", ec);
  while (!ec && st.step(ec)) {
    out.push_back(read_token(st));
  }
  return out;
}

bool revoke_auth_token(Connection& db, std::int64_t id, std::int64_t now_ms,
                       boost::system::error_code& ec) {
  auto st =
      db.prepare("UPDATE auth_tokens SET revoked_ms = ?2 WHERE id = ?1 AND revoked_ms IS NULL", ec);
  if (ec) {
    return false;
  }
  st.bind(1, id).bind(2, now_ms);
  ec = st.run();
  return !ec && db.changes() > 0;
}

boost::system::error_code touch_auth_token(Connection& db, std::int64_t id, std::int64_t now_ms) {
  boost::system::error_code ec;
  auto st = db.prepare("UPDATE auth_tokens SET last_used_ms = ?2 WHERE id = ?1", ec);
  if (ec) {
    return ec;
  }
  st.bind(1, id).bind(2, now_ms);
  return st.run();
}

boost::system::error_code insert_auth_session(Connection& db, const AuthSessionRow& s) {
  boost::system::error_code ec;
  auto st = db.prepare(
      "INSERT INTO auth_sessions(id_hash, user_id, created_ms, last_seen_ms, expires_ms,"
      " csrf_token) VALUES(?1,?2,?3,?4,?5,?6)",
      ec);
  if (ec) {
    return ec;
  }
  st.bind(1, std::string_view(s.id_hash))
      .bind(2, s.user_id)
      .bind(3, s.created_ms)
      .bind(4, s.last_seen_ms)
      .bind(5, s.expires_ms)
      .bind(6, std::string_view(s.csrf_token));
  return st.run();
}

std::optional<AuthSessionRow> find_auth_session(Connection& db, const std::string& id_hash,
                                                boost::system::error_code& ec) {
  auto st = db.prepare(
      "SELECT s.id_hash, s.user_id, u.name, u.role, u.disabled, s.created_ms, s.last_seen_ms,"
      " s.expires_ms, s.revoked_ms, s.csrf_token FROM auth_sessions s"
      " JOIN auth_users u ON u.id = s.user_id WHERE s.id_hash = ?1",
      ec);
  if (ec) {
    return std::nullopt;
  }
  st.bind(1, std::string_view(id_hash));
  if (!st.step(ec)) {
    return std::nullopt;
  }
  AuthSessionRow s;
  s.id_hash = st.column_text(0);
  s.user_id = st.column_int(1);
  s.user_name = st.column_text(2);
  s.role = st.column_text(3);
  s.user_disabled = st.column_int(4) != 0;
  s.created_ms = st.column_int(5);
  s.last_seen_ms = st.column_int(6);
  s.expires_ms = st.column_int(7);
  s.revoked_ms = optional_int(st, 8);
  s.csrf_token = st.column_text(9);
  return s;
}

boost::system::error_code touch_auth_session(Connection& db, const std::string& id_hash,
                                             std::int64_t now_ms) {
  boost::system::error_code ec;
  auto st = db.prepare("UPDATE auth_sessions SET last_seen_ms = ?2 WHERE id_hash = ?1", ec);
  if (ec) {
    return ec;
  }
  st.bind(1, std::string_view(id_hash)).bind(2, now_ms);
  return st.run();
}

boost::system::error_code revoke_auth_session(Connection& db, const std::string& id_hash,
                                              std::int64_t now_ms) {
  boost::system::error_code ec;
  auto st = db.prepare(
      "UPDATE auth_sessions SET revoked_ms = ?2 WHERE id_hash = ?1 AND revoked_ms IS NULL", ec);
  if (ec) {
    return ec;
  }
  st.bind(1, std::string_view(id_hash)).bind(2, now_ms);
  return st.run();
}

boost::system::error_code purge_auth_sessions(Connection& db, std::int64_t before_ms) {
  boost::system::error_code ec;
  auto st = db.prepare("DELETE FROM auth_sessions WHERE expires_ms < ?1 OR revoked_ms < ?1", ec);
  if (ec) {
    return ec;
  }
  st.bind(1, before_ms);
  return st.run();
}

}  // namespace pushgate::store
