// User management over the API (issue 18): admins list, create, change and
// remove console users; every user changes their own password. Each change
// is an audit event of its own (the generic api_change one would carry the
// password in its body, so these routes are left out of it).

#include <cctype>
#include <memory>
#include <optional>
#include <utility>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>

#include "gateway/auth/auth_detail.hpp"
#include "gateway/auth/auth_service.hpp"
#include "gateway/auth/crypto.hpp"
#include "gateway/event_json.hpp"
#include "gateway/logging.hpp"
#include "gateway/store/auth_queries.hpp"

namespace pushgate::auth {

namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using json = nlohmann::json;

namespace {

constexpr std::size_t kMaxName = 64;
constexpr std::size_t kMinPassword = 10;
constexpr std::size_t kMaxPassword = 1024;

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

/** What a name may be: 1 to 64 bytes of letters, digits, '.', '-', '_' and '@'. */
bool valid_user_name(const std::string& name) {
  if (name.empty() || name.size() > kMaxName || name == "me") {
    return false;
  }
  for (unsigned char c : name) {
    if (std::isalnum(c) == 0 && c != '.' && c != '-' && c != '_' && c != '@') {
      return false;
    }
  }
  return true;
}

json user_json(const store::AuthUserRow& u) {
  return {{"name", u.name},
          {"role", u.role},
          {"created", format_utc_iso8601(u.created_ms)},
          {"disabled", u.disabled}};
}

/** Field errors answer 400 in the shape every route uses. */
http::Response invalid(const http::Request& req, std::string_view error, const char* field,
                       const std::string& message) {
  return api::field_errors_response(req, bhttp::status::bad_request, error,
                                    json::array({{{"field", field}, {"message", message}}}));
}

http::Response store_unavailable(const http::Request& req, const boost::system::error_code& ec) {
  return api::json_error(req, bhttp::status::service_unavailable, "store unavailable",
                         ec.message());
}

/** The outcome of a change the writer checks against the last admin. */
enum class Outcome { Done, NotFound, LastAdmin };

}  // namespace

std::string password_problem(const std::string& name, const std::string& password) {
  if (password.size() < kMinPassword) {
    return "at least " + std::to_string(kMinPassword) + " characters";
  }
  if (password.size() > kMaxPassword) {
    return "at most " + std::to_string(kMaxPassword) + " bytes";
  }
  if (lower(password) == lower(name)) {
    return "must not be the user name";
  }
  return {};
}

void AuthService::add_user_routes(api::Router& router) {
  router.add(bhttp::verb::get, "/api/v1/users",
             [this](http::Request&& req, const http::RequestInfo&, const api::PathParams&,
                    http::Reply reply) { list_users(std::move(req), std::move(reply)); });
  router.add(bhttp::verb::post, "/api/v1/users",
             [this](http::Request&& req, const http::RequestInfo& info, const api::PathParams&,
                    http::Reply reply) { create_user(std::move(req), info, std::move(reply)); });
  router.add(
      bhttp::verb::post, "/api/v1/users/me/password",
      [this](http::Request&& req, const http::RequestInfo& info, const api::PathParams&,
             http::Reply reply) { change_password(std::move(req), info, std::move(reply)); });
  // After me/password: the first route that matches serves ("me" is no user name).
  router.add(bhttp::verb::post, "/api/v1/users/{name}/password",
             [this](http::Request&& req, const http::RequestInfo& info, const api::PathParams& p,
                    http::Reply reply) {
               reset_password(std::move(req), info, p.at("name"), std::move(reply));
             });
  router.add(bhttp::verb::patch, "/api/v1/users/{name}",
             [this](http::Request&& req, const http::RequestInfo& info, const api::PathParams& p,
                    http::Reply reply) {
               update_user(std::move(req), info, p.at("name"), std::move(reply));
             });
  router.add(bhttp::verb::delete_, "/api/v1/users/{name}",
             [this](http::Request&& req, const http::RequestInfo& info, const api::PathParams& p,
                    http::Reply reply) {
               remove_user(std::move(req), info, p.at("name"), std::move(reply));
             });
}

void AuthService::list_users(http::Request&& req, http::Reply reply) {
  auto ex = reply.executor();
  store_.async_read(
      [](store::Connection& db) {
        boost::system::error_code ec;
        auto rows = store::list_auth_users(db, ec);
        return std::make_pair(ec, std::move(rows));
      },
      net::bind_executor(
          ex, [req = std::move(req), reply = std::move(reply)](
                  std::pair<boost::system::error_code, std::vector<store::AuthUserRow>> r) mutable {
            if (r.first) {
              reply.send(store_unavailable(req, r.first));
              return;
            }
            json list = json::array();
            for (const auto& u : r.second) {
              list.push_back(user_json(u));
            }
            reply.send(api::json_response(req, bhttp::status::ok,
                                          dump_json(json{{"users", list}}) + "\n"));
          }));
}

void AuthService::create_user(http::Request&& req, const http::RequestInfo& info,
                              http::Reply reply) {
  auto body = api::parse_json_body(req, reply);
  if (!body) {
    return;
  }
  auto text = [&](const char* key) {
    return body->is_object() && body->contains(key) && (*body)[key].is_string()
               ? (*body)[key].get<std::string>()
               : std::string();
  };
  auto name = text("name");
  auto role = text("role");
  auto password = text("password");
  if (!valid_user_name(name)) {
    reply.send(invalid(req, "invalid user", "name",
                       "1 to 64 letters, digits, '.', '-', '_' or '@' (not \"me\")"));
    return;
  }
  if (!role_from_string(role)) {
    reply.send(invalid(req, "invalid user", "role", "one of viewer, operator, admin"));
    return;
  }
  if (auto why = password_problem(name, password); !why.empty()) {
    reply.send(invalid(req, "invalid user", "password", why));
    return;
  }
  auto actor = std::string(req[kActorNameHeader]);
  auto ex = reply.executor();
  // scrypt takes a while: off the I/O threads.
  net::post(kdf_pool_,
            [this, req = std::move(req), reply = std::move(reply), name, role,
             password = std::move(password), actor, ex, from = detail::address_of(info)]() mutable {
              store::AuthUserRow row;
              row.name = name;
              row.role = role;
              row.password_hash = hash_password(password);
              row.created_ms = clock_.now_ms();
              auto exists = std::make_shared<bool>(false);
              detail::write(
                  store_,
                  [row, exists](store::Connection& db) {
                    boost::system::error_code ec;
                    if (store::find_auth_user(db, row.name, ec) || ec) {
                      *exists = !ec;
                      return ec;
                    }
                    return store::insert_auth_user(db, row);
                  },
                  ex,
                  [this, req = std::move(req), reply = std::move(reply), row, exists, actor,
                   from](boost::system::error_code ec) mutable {
                    if (ec) {
                      reply.send(store_unavailable(req, ec));
                      return;
                    }
                    if (*exists) {
                      reply.send(api::json_error(req, bhttp::status::conflict, "user exists",
                                                 "a user named " + row.name + " exists"));
                      return;
                    }
                    logger("auth")->info("user {} ({}) created by {} from {}", row.name, row.role,
                                         actor, from);
                    audit(actor, from, "user_created", {{"user", row.name}, {"role", row.role}});
                    reply.send(api::json_response(req, bhttp::status::created,
                                                  dump_json(user_json(row)) + "\n"));
                  });
            });
}

void AuthService::update_user(http::Request&& req, const http::RequestInfo& info,
                              const std::string& name, http::Reply reply) {
  auto body = api::parse_json_body(req, reply);
  if (!body) {
    return;
  }
  if (!body->is_object()) {
    reply.send(
        invalid(req, "invalid change", "", "the body is {\"role\": ..., \"disabled\": ...}"));
    return;
  }
  std::optional<std::string> role;
  std::optional<bool> disabled;
  for (const auto& [key, value] : body->items()) {
    if (key == "role" && value.is_string() && role_from_string(value.get<std::string>())) {
      role = value.get<std::string>();
    } else if (key == "disabled" && value.is_boolean()) {
      disabled = value.get<bool>();
    } else if (key == "role") {
      reply.send(invalid(req, "invalid change", "role", "one of viewer, operator, admin"));
      return;
    } else if (key == "disabled") {
      reply.send(invalid(req, "invalid change", "disabled", "true or false"));
      return;
    } else {
      reply.send(invalid(req, "invalid change", key.c_str(),
                         "unknown field (role and disabled can be changed; a password with "
                         "POST /api/v1/users/me/password, by its user)"));
      return;
    }
  }
  if (!role && !disabled) {
    reply.send(invalid(req, "invalid change", "", "nothing to change: give role and/or disabled"));
    return;
  }
  auto outcome = std::make_shared<Outcome>(Outcome::Done);
  auto now = clock_.now_ms();
  auto ex = reply.executor();
  detail::write(
      store_,
      [name, role, disabled, outcome, now](store::Connection& db) {
        boost::system::error_code ec;
        auto user = store::find_auth_user(db, name, ec);
        if (ec || !user) {
          *outcome = Outcome::NotFound;
          return ec;
        }
        bool was_admin = user->role == "admin" && !user->disabled;
        bool stays_admin =
            role.value_or(user->role) == "admin" && !disabled.value_or(user->disabled);
        // Checked in the writer's transaction: two admins demoting each
        // other at once cannot both pass.
        if (was_admin && !stays_admin && store::count_active_admins(db, ec) <= 1) {
          *outcome = ec ? Outcome::Done : Outcome::LastAdmin;
          return ec;
        }
        store::update_auth_user(db, name, role, disabled, ec);
        if (!ec && disabled.value_or(false)) {
          ec = store::revoke_user_sessions(db, user->id, "", now);
        }
        return ec;
      },
      ex,
      [this, req = std::move(req), reply = std::move(reply), name, role, disabled, outcome,
       from = detail::address_of(info)](boost::system::error_code ec) mutable {
        if (ec) {
          reply.send(store_unavailable(req, ec));
          return;
        }
        if (*outcome == Outcome::NotFound) {
          reply.send(api::json_error(req, bhttp::status::not_found, "no such user", name));
          return;
        }
        if (*outcome == Outcome::LastAdmin) {
          reply.send(api::json_error(req, bhttp::status::conflict, "last admin",
                                     name + " is the last enabled admin: make another admin "
                                            "first"));
          return;
        }
        json details = {{"user", name}};
        if (role) {
          details["role"] = *role;
        }
        if (disabled) {
          details["disabled"] = *disabled;
        }
        auto actor = std::string(req[kActorNameHeader]);
        logger("auth")->info("user {} changed by {} from {}: {}", name, actor, from,
                             dump_json(details));
        audit(actor, from, "user_changed", details);
        reply.send(api::json_response(req, bhttp::status::ok, dump_json(details) + "\n"));
      });
}

void AuthService::remove_user(http::Request&& req, const http::RequestInfo& info,
                              const std::string& name, http::Reply reply) {
  auto outcome = std::make_shared<Outcome>(Outcome::Done);
  auto now = clock_.now_ms();
  auto ex = reply.executor();
  detail::write(
      store_,
      [name, outcome, now](store::Connection& db) {
        boost::system::error_code ec;
        auto user = store::find_auth_user(db, name, ec);
        if (ec || !user) {
          *outcome = Outcome::NotFound;
          return ec;
        }
        if (user->role == "admin" && !user->disabled && store::count_active_admins(db, ec) <= 1) {
          *outcome = ec ? Outcome::Done : Outcome::LastAdmin;
          return ec;
        }
        // Its sessions end with it (revoked, then deleted by ON DELETE
        // CASCADE): the next call is 401.
        ec = store::revoke_user_sessions(db, user->id, "", now);
        if (!ec) {
          store::delete_auth_user(db, name, ec);
        }
        return ec;
      },
      ex,
      [this, req = std::move(req), reply = std::move(reply), name, outcome,
       from = detail::address_of(info)](boost::system::error_code ec) mutable {
        if (ec) {
          reply.send(store_unavailable(req, ec));
          return;
        }
        if (*outcome == Outcome::NotFound) {
          reply.send(api::json_error(req, bhttp::status::not_found, "no such user", name));
          return;
        }
        if (*outcome == Outcome::LastAdmin) {
          reply.send(api::json_error(req, bhttp::status::conflict, "last admin",
                                     name + " is the last enabled admin: make another admin "
                                            "first"));
          return;
        }
        auto actor = std::string(req[kActorNameHeader]);
        logger("auth")->info("user {} removed by {} from {}", name, actor, from);
        audit(actor, from, "user_removed", {{"user", name}});
        reply.send(api::json_response(req, bhttp::status::ok,
                                      dump_json(json{{"name", name}, {"removed", true}}) + "\n"));
      });
}

void AuthService::reset_password(http::Request&& req, const http::RequestInfo& info,
                                 const std::string& name, http::Reply reply) {
  auto body = api::parse_json_body(req, reply);
  if (!body) {
    return;
  }
  std::string password;
  if (body->is_object() && body->contains("password") && (*body)["password"].is_string()) {
    password = (*body)["password"].get<std::string>();
  }
  if (body->is_object()) {
    for (const auto& item : body->items()) {
      if (item.key() != "password") {
        reply.send(invalid(req, "invalid password reset", item.key().c_str(),
                           "unknown field (the body is {\"password\": ...})"));
        return;
      }
    }
  }
  if (auto why = password_problem(name, password); !why.empty()) {
    reply.send(invalid(req, "invalid password reset", "password", why));
    return;
  }
  auto actor = std::string(req[kActorNameHeader]);
  auto ex = reply.executor();
  // scrypt takes a while: off the I/O threads.
  net::post(kdf_pool_, [this, req = std::move(req), reply = std::move(reply), name,
                        password = std::move(password), actor, ex,
                        from = detail::address_of(info)]() mutable {
    auto hash = hash_password(password);
    auto found = std::make_shared<bool>(false);
    auto now = clock_.now_ms();
    detail::write(
        store_,
        [name, hash, found, now](store::Connection& db) {
          boost::system::error_code ec;
          auto user = store::find_auth_user(db, name, ec);
          if (ec || !user) {
            return ec;
          }
          *found = true;
          store::set_auth_user_password(db, name, hash, ec);
          if (!ec) {
            // Whoever used the old password is logged out everywhere.
            ec = store::revoke_user_sessions(db, user->id, "", now);
          }
          return ec;
        },
        ex,
        [this, req = std::move(req), reply = std::move(reply), name, found, actor,
         from](boost::system::error_code ec) mutable {
          if (ec) {
            reply.send(store_unavailable(req, ec));
            return;
          }
          if (!*found) {
            reply.send(api::json_error(req, bhttp::status::not_found, "no such user", name));
            return;
          }
          logger("auth")->info("password of {} reset by {} from {}", name, actor, from);
          audit(actor, from, "password_reset", {{"user", name}});
          reply.send(api::json_response(
              req, bhttp::status::ok,
              dump_json(json{{"name", name}, {"reset", true}, {"sessions_revoked", true}}) + "\n"));
        });
  });
}

void AuthService::change_password(http::Request&& req, const http::RequestInfo& info,
                                  http::Reply reply) {
  if (req[kActorKindHeader] != "session") {
    reply.send(api::json_error(req, bhttp::status::bad_request, "no session",
                               "a password is changed from its user's console session; an API "
                               "token has none"));
    return;
  }
  auto body = api::parse_json_body(req, reply);
  if (!body) {
    return;
  }
  auto text = [&](const char* key) -> std::optional<std::string> {
    if (body->is_object() && body->contains(key) && (*body)[key].is_string()) {
      return (*body)[key].get<std::string>();
    }
    return std::nullopt;
  };
  auto current = text("current");
  auto fresh = text("new");
  if (!current || current->size() > kMaxPassword) {
    reply.send(invalid(req, "invalid password change", "current", "the password in use"));
    return;
  }
  auto name = std::string(req[kActorNameHeader]);
  if (!fresh) {
    reply.send(invalid(req, "invalid password change", "new", "the new password"));
    return;
  }
  if (auto why = password_problem(name, *fresh); !why.empty()) {
    reply.send(invalid(req, "invalid password change", "new", why));
    return;
  }
  if (*fresh == *current) {
    reply.send(invalid(req, "invalid password change", "new", "the same as the current one"));
    return;
  }
  auto keep = sha256_hex(detail::cookie_value(req, kSessionCookie));
  auto from = detail::address_of(info);
  auto ex = reply.executor();
  store_.async_read(
      [name](store::Connection& db) {
        boost::system::error_code ec;
        auto u = store::find_auth_user(db, name, ec);
        return std::make_pair(ec, std::move(u));
      },
      net::bind_executor(
          ex,
          [this, req = std::move(req), reply = std::move(reply), name, current, fresh, keep, from,
           ex](std::pair<boost::system::error_code, std::optional<store::AuthUserRow>> r) mutable {
            if (r.first) {
              reply.send(store_unavailable(req, r.first));
              return;
            }
            if (!r.second) {
              reply.send(api::json_error(req, bhttp::status::not_found, "no such user", name));
              return;
            }
            net::post(
                kdf_pool_, [this, req = std::move(req), reply = std::move(reply), name, current,
                            fresh, keep, from, ex, user = std::move(*r.second)]() mutable {
                  if (!verify_password(*current, user.password_hash)) {
                    net::post(ex, [this, req = std::move(req), reply = std::move(reply), name,
                                   from]() mutable {
                      logger("auth")->warn(
                          "password change of {} from {} refused: wrong current "
                          "password",
                          name, from);
                      audit(name, from, "password_change_failed", {{"reason", "wrong password"}});
                      reply.send(api::json_error(req, bhttp::status::forbidden, "wrong password",
                                                 "the current password is not right"));
                    });
                    return;
                  }
                  auto hash = hash_password(*fresh);
                  auto now = clock_.now_ms();
                  detail::write(
                      store_,
                      [name, hash, id = user.id, keep, now](store::Connection& db) {
                        boost::system::error_code ec;
                        store::set_auth_user_password(db, name, hash, ec);
                        if (!ec) {
                          ec = store::revoke_user_sessions(db, id, keep, now);
                        }
                        return ec;
                      },
                      ex,
                      [this, req = std::move(req), reply = std::move(reply), name,
                       from](boost::system::error_code ec) mutable {
                        if (ec) {
                          reply.send(store_unavailable(req, ec));
                          return;
                        }
                        logger("auth")->info("user {} changed their password from {}", name, from);
                        audit(name, from, "password_changed");
                        reply.send(api::json_response(
                            req, bhttp::status::ok,
                            "{\"changed\":true,\"other_sessions_revoked\":true}\n"));
                      });
                });
          }));
}

}  // namespace pushgate::auth
