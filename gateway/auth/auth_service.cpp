#include "gateway/auth/auth_service.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <future>
#include <utility>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>

#include "gateway/audit.hpp"
#include "gateway/auth/auth_detail.hpp"
#include "gateway/auth/crypto.hpp"
#include "gateway/event_json.hpp"
#include "gateway/http/query.hpp"
#include "gateway/logging.hpp"
#include "gateway/store/auth_queries.hpp"

namespace pushgate::auth {

namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using json = nlohmann::json;

namespace {

using detail::address_of;
using detail::cookie_value;
using detail::write;

constexpr std::size_t kMaxName = 64;
constexpr std::size_t kMaxPassword = 1024;
constexpr std::string_view kTokenPrefix = "pgt_";

bool is_state_change(bhttp::verb v) {
  return v != bhttp::verb::get && v != bhttp::verb::head && v != bhttp::verb::options;
}

std::string bearer_token(const http::Request& req) {
  auto it = req.find(bhttp::field::authorization);
  if (it == req.end()) {
    return {};
  }
  std::string_view v = it->value();
  constexpr std::string_view kBearer = "Bearer ";
  if (v.size() <= kBearer.size() || v.substr(0, kBearer.size()) != kBearer) {
    return {};
  }
  return std::string(v.substr(kBearer.size()));
}

bool is_loopback(const http::RequestInfo& info) {
  const auto& a = info.remote.address();
  if (a.is_v4()) {
    return a.to_v4().is_loopback();
  }
  if (a.is_v6()) {
    const auto v6 = a.to_v6();
    return v6.is_loopback() ||
           (v6.is_v4_mapped() && net::ip::make_address_v4(net::ip::v4_mapped, v6).is_loopback());
  }
  return false;
}

json token_json(const store::AuthTokenRow& t) {
  auto at = [](const std::optional<std::int64_t>& ms) {
    return ms ? json(format_utc_iso8601(*ms)) : json(nullptr);
  };
  return {{"id", t.id},
          {"name", t.name},
          {"role", t.role},
          {"created", format_utc_iso8601(t.created_ms)},
          {"created_by", t.created_by},
          {"last_used", at(t.last_used_ms)},
          {"revoked", at(t.revoked_ms)}};
}

}  // namespace

AuthOptions auth_options_from_config(const config::Config& c) {
  AuthOptions o;
  o.required = c.get_string("api.auth") == "required";
  o.session_idle_ms = c.get_int("api.session_idle_s") * 1000;
  o.session_max_ms = c.get_int("api.session_max_s") * 1000;
  o.max_failures_per_user = static_cast<int>(c.get_int("api.login_max_failures"));
  o.max_failures_per_address = static_cast<int>(c.get_int("api.login_max_failures_per_address"));
  o.lockout_ms = c.get_int("api.login_lockout_s") * 1000;
  o.metrics_token = c.get_string("api.metrics_token");
  o.gateway_id = c.get_string("gateway.id");
  return o;
}

AuthService::AuthService(api::Router& router, store::Store& store, const Clock& clock,
                         metrics::Registry& metrics, AuthOptions options)
    : store_(store),
      clock_(clock),
      metrics_(metrics),
      options_(std::move(options)),
      user_limiter_(LoginLimiter::Options{options_.max_failures_per_user, options_.lockout_ms,
                                          options_.lockout_ms, 10'000}),
      address_limiter_(LoginLimiter::Options{options_.max_failures_per_address, options_.lockout_ms,
                                             options_.lockout_ms, 10'000}),
      // A hash of 32 random bytes nobody kept: verified against for unknown
      // users, so their answer takes as long as a wrong password's.
      dummy_hash_(
          "scrypt$32768$8$1$nsN953rydd/Pvfc6NS+hEQ==$XJWdjCkBfJqgivRyUsRt4b+DDzsbVn8rPe8DuW6/"
          "RfA=") {
  router.set_guard([this](http::Request&& req, const http::RequestInfo& info, Role role,
                          std::string_view pattern, api::Proceed proceed, http::Reply reply) {
    guard(std::move(req), info, role, pattern, std::move(proceed), std::move(reply));
  });
  router.add(bhttp::verb::post, "/api/v1/login",
             [this](http::Request&& req, const http::RequestInfo& info, const api::PathParams&,
                    http::Reply reply) { login(std::move(req), info, std::move(reply)); });
  router.add(bhttp::verb::post, "/api/v1/logout",
             [this](http::Request&& req, const http::RequestInfo& info, const api::PathParams&,
                    http::Reply reply) { logout(std::move(req), info, std::move(reply)); });
  router.add(bhttp::verb::get, "/api/v1/session",
             [this](http::Request&& req, const http::RequestInfo&, const api::PathParams&,
                    http::Reply reply) { session(std::move(req), std::move(reply)); });
  router.add(bhttp::verb::get, "/api/v1/tokens",
             [this](http::Request&& req, const http::RequestInfo&, const api::PathParams&,
                    http::Reply reply) { list_tokens(std::move(req), std::move(reply)); });
  router.add(bhttp::verb::post, "/api/v1/tokens",
             [this](http::Request&& req, const http::RequestInfo& info, const api::PathParams&,
                    http::Reply reply) { create_token(std::move(req), info, std::move(reply)); });
  router.add(bhttp::verb::delete_, "/api/v1/tokens/{id}",
             [this](http::Request&& req, const http::RequestInfo& info, const api::PathParams& p,
                    http::Reply reply) {
               revoke_token(std::move(req), info, p.at("id"), std::move(reply));
             });
  add_user_routes(router);
  if (!options_.required) {
    logger("auth")->warn(
        "api.auth = off: every local process can open every door (set api.auth = \"required\")");
  }
}

AuthService::~AuthService() {
  kdf_pool_.join();
}

std::string AuthService::ensure_first_admin(const std::filesystem::path& data_dir) {
  // Housekeeping: sessions that ended over a day ago are of no use to anyone.
  WriteBatch purge;
  purge.ops.push_back([before = clock_.now_ms() - 86'400'000](store::WriteContext& ctx) {
    return store::purge_auth_sessions(ctx.db(), before);
  });
  store_.append(std::move(purge), [](CommitResult r) {
    if (r.ec) {
      logger("auth")->warn("old sessions not purged: {}", r.ec.message());
    }
  });
  if (!options_.required) {
    return {};  // nothing asks for a password yet; created at the first start that does
  }
  boost::system::error_code ec;
  auto users = store_.read([&](store::Connection& db) { return store::count_auth_users(db, ec); });
  if (ec) {
    return "accounts: cannot read the users: " + ec.message();
  }
  if (users > 0) {
    return {};
  }
  auto password = random_secret();
  store::AuthUserRow admin;
  admin.name = "admin";
  admin.role = "admin";
  admin.password_hash = hash_password(password);
  admin.created_ms = clock_.now_ms();
  auto file = data_dir / std::string(kInitialPasswordFile);
  // Written first (0600, owner only), so a password that is in the database
  // can always be read back by the one who installed the box.
  int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, S_IRUSR | S_IWUSR);
  if (fd < 0) {
    return "accounts: cannot write " + file.string() + ": " + std::strerror(errno);
  }
  ::fchmod(fd, S_IRUSR | S_IWUSR);
  std::string line = "admin " + password + "\n";
  bool written = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) &&
                 ::fsync(fd) == 0;
  ::close(fd);
  if (!written) {
    return "accounts: cannot write " + file.string();
  }
  std::promise<boost::system::error_code> done;
  WriteBatch batch;
  batch.ops.push_back(
      [admin](store::WriteContext& ctx) { return store::insert_auth_user(ctx.db(), admin); });
  store_.append(std::move(batch), [&done](CommitResult r) { done.set_value(r.ec); });
  if (auto wec = done.get_future().get()) {
    return "accounts: cannot create the first admin: " + wec.message();
  }
  logger("auth")->warn(
      "no account yet: created user \"admin\" with password {} (shown once; also in {}, "
      "readable by this service's user only). Log in and change it.",
      password, file.string());
  audit("pushgated", "internal", "user_created", {{"user", "admin"}, {"role", "admin"}});
  return {};
}

void AuthService::audit(const std::string& actor, const std::string& from,
                        const std::string& action, json details) {
  auto e = make_audit_event(options_.gateway_id, actor, from, action, std::move(details),
                            clock_.now_ms());
  logger("auth")->info("audit: {}", e.extra_json);
  metrics_
      .counter("pushgate_audit_events_total", "Audit events appended, by action.",
               {{"action", action}})
      .inc();
  WriteBatch batch;
  batch.events.push_back(std::move(e));
  store_.append(std::move(batch), [action](CommitResult r) {
    if (r.ec) {
      logger("auth")->error("audit event {} not stored: {}", action, r.ec.message());
    }
  });
}

void AuthService::refuse(const http::Request& req, const http::RequestInfo& info,
                         http::Reply& reply, bhttp::status status, std::string_view reason,
                         std::string_view detail) {
  metrics_
      .counter("pushgate_api_auth_refused_total",
               "API requests refused by the credential check, by reason.",
               {{"reason", std::string(reason)}})
      .inc();
  logger("auth")->info("{} {} from {}: {} ({})", std::string(req.method_string()),
                       std::string(http::target_path(req.target())), address_of(info),
                       static_cast<int>(status), detail);
  auto res = api::json_error(
      req, status, status == bhttp::status::unauthorized ? "unauthorized" : "forbidden", detail);
  if (status == bhttp::status::unauthorized) {
    res.set(bhttp::field::www_authenticate, "Bearer realm=\"pushgate\"");
  }
  reply.send(std::move(res));
}

void AuthService::guard(http::Request&& req, const http::RequestInfo& info, Role role,
                        std::string_view pattern, api::Proceed proceed, http::Reply reply) {
  // The MQTT tunnel (trusted: built in-process, no header from its client)
  // names its caller for the audit ("mqtt:<request topic>").
  std::string tunnel_actor = info.trusted ? std::string(req[kActorNameHeader]) : std::string();
  // Who calls is said by the guard only.
  for (auto h : {kActorNameHeader, kActorRoleHeader, kActorKindHeader}) {
    req.erase(h);
  }
  if (pattern == "/metrics" && options_.required) {
    if (!options_.metrics_token.empty()) {
      if (constant_time_equal(bearer_token(req), options_.metrics_token)) {
        proceed(std::move(req), std::move(reply));
        return;
      }
      authenticate(std::move(req), info, Role::Viewer, std::move(proceed), std::move(reply));
      return;
    }
    if (!is_loopback(info) && !info.trusted) {
      refuse(req, info, reply, bhttp::status::forbidden, "metrics_remote",
             "/metrics is served to loopback clients only; set api.metrics_token");
      return;
    }
    proceed(std::move(req), std::move(reply));
    return;
  }
  if (role == Role::Open) {
    proceed(std::move(req), std::move(reply));
    return;
  }
  if (info.trusted) {
    // The MQTT API tunnel: the broker authenticated and authorised its client
    // (its ACL on the request topic is the credential); audited by topic.
    admit(std::move(req), info,
          Principal{"internal", tunnel_actor.empty() ? std::string("internal") : tunnel_actor,
                    Role::Admin},
          std::move(proceed), std::move(reply));
    return;
  }
  bool has_credential = !bearer_token(req).empty() || !cookie_value(req, kSessionCookie).empty();
  if (!options_.required && !has_credential) {
    admit(std::move(req), info, Principal{"anonymous", "anonymous", Role::Admin},
          std::move(proceed), std::move(reply));
    return;
  }
  authenticate(std::move(req), info, role, std::move(proceed), std::move(reply));
}

// The one shape of every credential check: look the credential up (503
// when the store cannot say), 401 when it is unknown, then `judge` it
// (revoked, expired, disabled: a refusal; else who it is), 403 when its
// role is too small, then `finish` (the last checks and the touch that
// keeps last-use times), and admit.
template <class Row, class Find, class Judge, class Finish>
void AuthService::admit_credential(http::Request&& req, const http::RequestInfo& info, Role role,
                                   api::Proceed proceed, http::Reply reply, Find find,
                                   std::string_view unknown, Judge judge, Finish finish) {
  auto ex = reply.executor();
  store_.async_read(
      [find = std::move(find)](store::Connection& db) {
        boost::system::error_code ec;
        auto row = find(db, ec);
        return std::make_pair(ec, std::move(row));
      },
      net::bind_executor(
          ex, [this, req = std::move(req), info, role, proceed = std::move(proceed),
               reply = std::move(reply), unknown = std::string(unknown), judge = std::move(judge),
               finish = std::move(finish)](
                  std::pair<boost::system::error_code, std::optional<Row>> r) mutable {
            if (r.first) {
              reply.send(api::json_error(req, bhttp::status::service_unavailable,
                                         "store unavailable", r.first.message()));
              return;
            }
            if (!r.second) {
              refuse(req, info, reply, bhttp::status::unauthorized, "invalid", unknown);
              return;
            }
            const Row& row = *r.second;
            Judged judged = judge(row);
            if (judged.refusal) {
              refuse(req, info, reply, bhttp::status::unauthorized, judged.refusal->first,
                     judged.refusal->second);
              return;
            }
            if (judged.who.role < role) {
              refuse(req, info, reply, bhttp::status::forbidden, "role",
                     "this needs the role " + std::string(to_string(role)) + "; " + judged.label +
                         " is " + std::string(to_string(judged.who.role)));
              return;
            }
            if (!finish(row, req, info, reply)) {
              return;
            }
            admit(std::move(req), info, judged.who, std::move(proceed), std::move(reply));
          }));
}

void AuthService::authenticate(http::Request&& req, const http::RequestInfo& info, Role role,
                               api::Proceed proceed, http::Reply reply) {
  if (auto token = bearer_token(req); !token.empty()) {
    admit_credential<store::AuthTokenRow>(
        std::move(req), info, role, std::move(proceed), std::move(reply),
        [hash = sha256_hex(token)](store::Connection& db, boost::system::error_code& ec) {
          return store::find_auth_token(db, hash, ec);
        },
        "unknown token",
        [](const store::AuthTokenRow& t) {
          Judged j;
          if (t.revoked_ms) {
            j.refusal = {"revoked", "token revoked"};
          }
          j.who = Principal{"token", t.name, role_from_string(t.role).value_or(Role::Open)};
          j.label = "token \"" + t.name + "\"";
          return j;
        },
        [this](const store::AuthTokenRow& t, http::Request&, const http::RequestInfo&,
               http::Reply& rep) {
          auto now = clock_.now_ms();
          if (!t.last_used_ms || now - *t.last_used_ms >= 60'000) {
            write(
                store_,
                [id = t.id, now](store::Connection& db) {
                  return store::touch_auth_token(db, id, now);
                },
                rep.executor(), [](boost::system::error_code) {});
          }
          return true;
        });
    return;
  }
  auto sid = cookie_value(req, kSessionCookie);
  if (sid.empty()) {
    refuse(req, info, reply, bhttp::status::unauthorized, "no_credential",
           "log in (POST /api/v1/login) or send Authorization: Bearer <API token>");
    return;
  }
  admit_credential<store::AuthSessionRow>(
      std::move(req), info, role, std::move(proceed), std::move(reply),
      [hash = sha256_hex(sid)](store::Connection& db, boost::system::error_code& ec) {
        return store::find_auth_session(db, hash, ec);
      },
      "unknown session",
      [this](const store::AuthSessionRow& s) {
        Judged j;
        auto state = session_state({s.last_seen_ms, s.expires_ms, s.revoked_ms.has_value()},
                                   clock_.now_ms(), options_.session_idle_ms);
        if (state == SessionState::Revoked) {
          j.refusal = {"revoked", "session ended; log in again"};
        } else if (state != SessionState::Valid) {
          j.refusal = {"expired", state == SessionState::IdleExpired
                                      ? "session expired (idle); log in again"
                                      : "session expired; log in again"};
        } else if (s.user_disabled) {
          j.refusal = {"disabled", "user disabled"};
        }
        j.who = Principal{"session", s.user_name, role_from_string(s.role).value_or(Role::Open)};
        j.label = s.user_name;
        return j;
      },
      [this](const store::AuthSessionRow& s, http::Request& rq, const http::RequestInfo& in,
             http::Reply& rep) {
        if (is_state_change(rq.method())) {
          auto it = rq.find(kCsrfHeader);
          if (it == rq.end() || !constant_time_equal(it->value(), s.csrf_token)) {
            refuse(rq, in, rep, bhttp::status::forbidden, "csrf",
                   "a change made with a session needs the X-CSRF-Token header the login "
                   "answered");
            return false;
          }
        }
        // Idle expiry needs last_seen; written at most every tenth of it.
        auto now = clock_.now_ms();
        if (now - s.last_seen_ms >= std::min<std::int64_t>(60'000, options_.session_idle_ms / 10)) {
          write(
              store_,
              [id = s.id_hash, now](store::Connection& db) {
                return store::touch_auth_session(db, id, now);
              },
              rep.executor(), [](boost::system::error_code) {});
        }
        rq.set(std::string("X-Pushgate-Session-Csrf"), s.csrf_token);
        return true;
      });
}

void AuthService::admit(http::Request&& req, const http::RequestInfo& info, const Principal& who,
                        api::Proceed proceed, http::Reply reply) {
  req.set(kActorNameHeader, who.name);
  req.set(kActorRoleHeader, std::string(to_string(who.role)));
  req.set(kActorKindHeader, who.kind);
  auto path = std::string(http::target_path(req.target()));
  // Logins, token and user changes write their own audit events (a user's
  // body holds a password: never in the event log).
  if (!is_state_change(req.method()) || path == "/api/v1/login" || path == "/api/v1/logout" ||
      path.rfind("/api/v1/tokens", 0) == 0 || path.rfind("/api/v1/users", 0) == 0) {
    proceed(std::move(req), std::move(reply));
    return;
  }
  json details = {{"method", std::string(req.method_string())},
                  {"target", path},
                  {"actor_kind", who.kind},
                  {"role", std::string(to_string(who.role))}};
  if (!req.body().empty() && req.body().size() <= 2048 && json::accept(req.body())) {
    details["body"] = json::parse(req.body());
  }
  auto ex = reply.executor();
  http::Reply audited(
      [this, inner = std::make_shared<http::Reply>(std::move(reply)), details = std::move(details),
       actor = who.name, from = address_of(info)](http::Response&& res) mutable {
        details["status"] = res.result_int();
        inner->send(std::move(res));
        audit(actor, from, "api_change", std::move(details));
      },
      ex);
  proceed(std::move(req), std::move(audited));
}

void AuthService::login(http::Request&& req, const http::RequestInfo& info, http::Reply reply) {
  auto body = api::parse_json_body(req, reply);
  if (!body) {
    return;
  }
  auto logins = [this](const char* result) -> metrics::Counter& {
    return metrics_.counter("pushgate_api_logins_total", "Login attempts, by result.",
                            {{"result", result}});
  };
  if (!body->is_object() || !body->contains("name") || !(*body)["name"].is_string() ||
      !body->contains("password") || !(*body)["password"].is_string()) {
    reply.send(api::json_error(req, bhttp::status::bad_request, "invalid login",
                               "the body is {\"name\": \"...\", \"password\": \"...\"}"));
    return;
  }
  auto name = (*body)["name"].get<std::string>();
  auto password = (*body)["password"].get<std::string>();
  if (name.empty() || name.size() > kMaxName || password.size() > kMaxPassword) {
    reply.send(api::json_error(req, bhttp::status::bad_request, "invalid login",
                               "name: 1 to 64 bytes; password: at most 1024 bytes"));
    return;
  }
  auto from = address_of(info);
  auto now = clock_.now_ms();
  auto user_key = "user:" + name;
  auto locked = std::max(user_limiter_.locked_for(user_key, now),
                         address_limiter_.locked_for("addr:" + from, now));
  if (locked > 0) {
    logins("locked").inc();
    logger("auth")->warn("login of {} from {} refused: locked out for {} s more", name, from,
                         (locked + 999) / 1000);
    audit(name, from, "login_refused", {{"reason", "locked out"}});
    auto res = api::json_error(req, bhttp::status::too_many_requests, "locked out",
                               "too many failed logins; try again later");
    res.set(bhttp::field::retry_after, std::to_string((locked + 999) / 1000));
    reply.send(std::move(res));
    return;
  }
  auto ex = reply.executor();
  store_.async_read(
      [name](store::Connection& db) {
        boost::system::error_code ec;
        auto u = store::find_auth_user(db, name, ec);
        return std::make_pair(ec, std::move(u));
      },
      net::bind_executor(
          ex,
          [this, req = std::move(req), reply = std::move(reply), name,
           password = std::move(password), from, user_key, logins, info](
              std::pair<boost::system::error_code, std::optional<store::AuthUserRow>> r) mutable {
            if (r.first) {
              reply.send(api::json_error(req, bhttp::status::service_unavailable,
                                         "store unavailable", r.first.message()));
              return;
            }
            auto user = std::move(r.second);
            std::string stored = user && !user->disabled ? user->password_hash : dummy_hash_;
            auto ex2 = reply.executor();
            net::post(kdf_pool_, [this, req = std::move(req), reply = std::move(reply), name,
                                  password = std::move(password), from, user_key, logins, user,
                                  stored, ex2, info]() mutable {
              bool ok = verify_password(password, stored) && user && !user->disabled;
              net::post(ex2, [this, req = std::move(req), reply = std::move(reply), name, from,
                              user_key, logins, user, ok, info]() mutable {
                auto at = clock_.now_ms();
                if (!ok) {
                  logins("failed").inc();
                  bool user_locked = user_limiter_.failed(user_key, at);
                  bool addr_locked = address_limiter_.failed("addr:" + from, at);
                  for (auto [now_locked, scope] :
                       {std::pair{user_locked, "user"}, std::pair{addr_locked, "address"}}) {
                    if (now_locked) {
                      metrics_
                          .counter("pushgate_api_login_lockouts_total",
                                   "Lockouts after too many failed logins, by what was locked.",
                                   {{"scope", scope}})
                          .inc();
                      logger("auth")->warn("too many failed logins: {} {} locked for {} s", scope,
                                           std::string_view(scope) == "user" ? name : from,
                                           options_.lockout_ms / 1000);
                    }
                  }
                  logger("auth")->warn("failed login of {} from {}", name, from);
                  audit(name, from, "login_failed",
                        {{"reason", user ? "wrong password or disabled" : "unknown user"}});
                  reply.send(api::json_error(req, bhttp::status::unauthorized, "login failed",
                                             "wrong name or password"));
                  return;
                }
                user_limiter_.succeeded(user_key);
                store::AuthSessionRow s;
                auto sid = random_secret();
                s.id_hash = sha256_hex(sid);
                s.user_id = user->id;
                s.created_ms = at;
                s.last_seen_ms = at;
                s.expires_ms = at + options_.session_max_ms;
                s.csrf_token = random_secret();
                auto ex3 = reply.executor();
                write(
                    store_,
                    [s](store::Connection& db) { return store::insert_auth_session(db, s); }, ex3,
                    [this, req = std::move(req), reply = std::move(reply), s, sid, user, from,
                     logins, info](boost::system::error_code ec) mutable {
                      if (ec) {
                        reply.send(api::json_error(req, bhttp::status::service_unavailable,
                                                   "store unavailable", ec.message()));
                        return;
                      }
                      logins("ok").inc();
                      audit(user->name, from, "login", {{"role", user->role}});
                      json j = {{"name", user->name},
                                {"role", user->role},
                                {"csrf_token", s.csrf_token},
                                {"expires", format_utc_iso8601(s.expires_ms)},
                                {"idle_timeout_s", options_.session_idle_ms / 1000}};
                      auto res = api::json_response(req, bhttp::status::ok, dump_json(j) + "\n");
                      std::string cookie = std::string(kSessionCookie) + "=" + sid +
                                           "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" +
                                           std::to_string(options_.session_max_ms / 1000);
                      if (info.tls) {
                        cookie += "; Secure";
                      }
                      res.set(bhttp::field::set_cookie, cookie);
                      res.set(bhttp::field::cache_control, "no-store");
                      reply.send(std::move(res));
                    });
              });
            });
          }));
}

void AuthService::logout(http::Request&& req, const http::RequestInfo& info, http::Reply reply) {
  auto sid = cookie_value(req, kSessionCookie);
  if (sid.empty() || req[kActorKindHeader] != "session") {
    reply.send(api::json_error(
        req, bhttp::status::bad_request, "no session",
        "logout ends a console session; API tokens are revoked with DELETE /api/v1/tokens/{id}"));
    return;
  }
  auto now = clock_.now_ms();
  auto actor = std::string(req[kActorNameHeader]);
  auto ex = reply.executor();  // before the handler takes the reply
  write(
      store_,
      [hash = sha256_hex(sid), now](store::Connection& db) {
        return store::revoke_auth_session(db, hash, now);
      },
      ex,
      [this, req = std::move(req), reply = std::move(reply), actor, from = address_of(info),
       tls = info.tls](boost::system::error_code ec) mutable {
        if (ec) {
          reply.send(api::json_error(req, bhttp::status::service_unavailable, "store unavailable",
                                     ec.message()));
          return;
        }
        audit(actor, from, "logout");
        auto res = api::json_response(req, bhttp::status::ok, "{\"logged_out\":true}\n");
        res.set(bhttp::field::set_cookie, std::string(kSessionCookie) +
                                              "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0" +
                                              (tls ? "; Secure" : ""));
        reply.send(std::move(res));
      });
}

void AuthService::session(http::Request&& req, http::Reply reply) {
  json j = {{"name", std::string(req[kActorNameHeader])},
            {"role", std::string(req[kActorRoleHeader])},
            {"kind", std::string(req[kActorKindHeader])}};
  if (auto it = req.find("X-Pushgate-Session-Csrf"); it != req.end()) {
    j["csrf_token"] = std::string(it->value());
  }
  reply.send(api::json_response(req, bhttp::status::ok, dump_json(j) + "\n"));
}

void AuthService::create_token(http::Request&& req, const http::RequestInfo& info,
                               http::Reply reply) {
  auto body = api::parse_json_body(req, reply);
  if (!body) {
    return;
  }
  std::string name = body->is_object() && body->contains("name") && (*body)["name"].is_string()
                         ? (*body)["name"].get<std::string>()
                         : std::string();
  std::string role_name = body->is_object() && body->contains("role") && (*body)["role"].is_string()
                              ? (*body)["role"].get<std::string>()
                              : std::string();
  if (name.empty() || name.size() > kMaxName) {
    reply.send(api::field_errors_response(
        req, bhttp::status::bad_request, "invalid token",
        json::array({{{"field", "name"}, {"message", "a name of 1 to 64 bytes is required"}}})));
    return;
  }
  if (!role_from_string(role_name)) {
    reply.send(api::field_errors_response(
        req, bhttp::status::bad_request, "invalid token",
        json::array({{{"field", "role"}, {"message", "one of viewer, operator, admin"}}})));
    return;
  }
  auto token = std::string(kTokenPrefix) + random_secret();
  store::AuthTokenRow row;
  row.name = name;
  row.role = role_name;
  row.created_ms = clock_.now_ms();
  row.created_by = std::string(req[kActorNameHeader]);
  auto id = std::make_shared<std::int64_t>(0);
  auto ex = reply.executor();  // before the handler takes the reply
  write(
      store_,
      [row, hash = sha256_hex(token), id](store::Connection& db) {
        auto ec = store::insert_auth_token(db, row, hash);
        *id = db.last_insert_rowid();
        return ec;
      },
      ex,
      [this, req = std::move(req), reply = std::move(reply), row, token, id,
       from = address_of(info)](boost::system::error_code ec) mutable {
        if (ec) {
          reply.send(api::json_error(req, bhttp::status::service_unavailable, "store unavailable",
                                     ec.message()));
          return;
        }
        row.id = *id;
        audit(row.created_by, from, "token_created",
              {{"token_id", row.id}, {"token_name", row.name}, {"role", row.role}});
        auto j = token_json(row);
        j["token"] = token;
        j["note"] = "the token is shown once; only its hash is kept";
        auto res = api::json_response(req, bhttp::status::created, dump_json(j) + "\n");
        res.set(bhttp::field::cache_control, "no-store");
        reply.send(std::move(res));
      });
}

void AuthService::list_tokens(http::Request&& req, http::Reply reply) {
  auto ex = reply.executor();
  store_.async_read(
      [](store::Connection& db) {
        boost::system::error_code ec;
        auto rows = store::list_auth_tokens(db, ec);
        return std::make_pair(ec, std::move(rows));
      },
      net::bind_executor(
          ex,
          [req = std::move(req), reply = std::move(reply)](
              std::pair<boost::system::error_code, std::vector<store::AuthTokenRow>> r) mutable {
            if (r.first) {
              reply.send(api::json_error(req, bhttp::status::service_unavailable,
                                         "store unavailable", r.first.message()));
              return;
            }
            json list = json::array();
            for (const auto& t : r.second) {
              list.push_back(token_json(t));
            }
            reply.send(api::json_response(req, bhttp::status::ok,
                                          dump_json(json{{"tokens", list}}) + "\n"));
          }));
}

void AuthService::revoke_token(http::Request&& req, const http::RequestInfo& info,
                               const std::string& id_text, http::Reply reply) {
  std::int64_t id = 0;
  try {
    std::size_t used = 0;
    id = std::stoll(id_text, &used);
    if (used != id_text.size() || id <= 0) {
      throw std::invalid_argument(id_text);
    }
  } catch (const std::exception&) {
    reply.send(api::json_error(req, bhttp::status::bad_request, "invalid token id",
                               "a token id is a positive integer"));
    return;
  }
  auto now = clock_.now_ms();
  auto found = std::make_shared<bool>(false);
  auto ex = reply.executor();  // before the handler takes the reply
  write(
      store_,
      [id, now, found](store::Connection& db) {
        boost::system::error_code ec;
        *found = store::revoke_auth_token(db, id, now, ec);
        return ec;
      },
      ex,
      [this, req = std::move(req), reply = std::move(reply), id, found,
       from = address_of(info)](boost::system::error_code ec) mutable {
        if (ec) {
          reply.send(api::json_error(req, bhttp::status::service_unavailable, "store unavailable",
                                     ec.message()));
          return;
        }
        if (!*found) {
          reply.send(api::json_error(req, bhttp::status::not_found, "no such token",
                                     "no unrevoked token " + std::to_string(id)));
          return;
        }
        audit(std::string(req[kActorNameHeader]), from, "token_revoked", {{"token_id", id}});
        reply.send(api::json_response(req, bhttp::status::ok,
                                      dump_json(json{{"id", id}, {"revoked", true}}) + "\n"));
      });
}

}  // namespace pushgate::auth
