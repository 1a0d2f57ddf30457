#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/beast/http/verb.hpp>
#include <nlohmann/json.hpp>

#include "gateway/auth/role.hpp"
#include "gateway/http/server.hpp"
#include "gateway/json/bounded_json.hpp"

namespace pushgate::api {

/** Values of `{name}` segments of a route pattern. */
using PathParams = std::map<std::string, std::string, std::less<>>;

using RouteHandler = std::function<void(http::Request&& request, const http::RequestInfo& info,
                                        const PathParams& params, http::Reply reply)>;

/** Runs the matched route's handler: what a Guard calls once the caller may. */
using Proceed = std::function<void(http::Request&& request, http::Reply reply)>;

/**
 * Decides whether the caller may call a matched route (gateway/auth): either
 * answers through `reply` (401, 403, 429…) or calls `proceed` (possibly
 * later, from another handler). `role` is the route's minimum role
 * (route_roles.hpp), `pattern` the route as registered.
 */
using Guard =
    std::function<void(http::Request&& request, const http::RequestInfo& info, auth::Role role,
                       std::string_view pattern, Proceed proceed, http::Reply reply)>;

/**
 * Maps method + path pattern ("/api/v1/terminals/{sn}/approve") to a handler.
 * Unknown paths get 404, known paths with another method 405 with `Allow`.
 * Components register their own routes (REST API, metrics, commands…).
 */
class Router {
 public:
  /** The route's minimum role is looked up in route_roles.hpp (admin when missing). */
  void add(boost::beast::http::verb method, std::string pattern, RouteHandler handler);
  /** Every matched route goes through `guard` first (set before serving). */
  void set_guard(Guard guard) { guard_ = std::move(guard); }
  /** The http::Handler to give the server. */
  void handle(http::Request&& request, const http::RequestInfo& info, http::Reply reply) const;

 private:
  struct Route {
    boost::beast::http::verb method;
    std::string pattern;
    std::vector<std::string> segments;
    auth::Role role;
    RouteHandler handler;
  };
  std::vector<Route> routes_;
  Guard guard_;
};

/** A JSON response. */
http::Response json_response(const http::Request& req, boost::beast::http::status status,
                             const std::string& body);
/** A JSON error `{"error": "...", "detail": "..."}`. */
http::Response json_error(const http::Request& req, boost::beast::http::status status,
                          std::string_view error, std::string_view detail = {});

/**
 * REST bodies: the API server's body limit, and a nesting depth far above
 * any document the API defines (the deepest, a rules document, needs 6).
 */
inline constexpr JsonLimits kBodyLimits{1024 * 1024, 64};

/**
 * The request body as JSON within `limits`, or nullopt with the answer
 * already sent: 413 over the size limit, 400 over the depth limit or when
 * it is not JSON; the `detail` names the limit. Nothing is parsed into a
 * tree before both limits are checked.
 */
std::optional<nlohmann::json> parse_json_body(const http::Request& req, http::Reply& reply,
                                              const JsonLimits& limits = kBodyLimits);

/**
 * `[{"field": …, "message": …}, …]` of a list of field errors (the rules'
 * FieldError and ConfigError: anything with `field` and `message`).
 */
template <class Errors>
nlohmann::json field_errors_json(const Errors& errors) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& e : errors) {
    list.push_back({{"field", e.field}, {"message", e.message}});
  }
  return list;
}

/**
 * A body refused field by field: `{"error": …, "detail": "<first field>:
 * <message>", "errors": field_errors_json(errors)}`. `errors` is not empty.
 */
http::Response field_errors_response(const http::Request& req, boost::beast::http::status status,
                                     std::string_view error, nlohmann::json errors);

}  // namespace pushgate::api
