#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <boost/beast/http/verb.hpp>

#include "gateway/http/server.hpp"

namespace pushgate::api {

/** Values of `{name}` segments of a route pattern. */
using PathParams = std::map<std::string, std::string, std::less<>>;

using RouteHandler = std::function<void(http::Request&& request, const http::RequestInfo& info,
                                        const PathParams& params, http::Reply reply)>;

/**
 * Maps method + path pattern ("/api/v1/terminals/{sn}/approve") to a handler.
 * Unknown paths get 404, known paths with another method 405 with `Allow`.
 * Components register their own routes (REST API, metrics, commands…).
 */
class Router {
 public:
  void add(boost::beast::http::verb method, std::string pattern, RouteHandler handler);
  /** The http::Handler to give the server. */
  void handle(http::Request&& request, const http::RequestInfo& info, http::Reply reply) const;

 private:
  struct Route {
    boost::beast::http::verb method;
    std::vector<std::string> segments;
    RouteHandler handler;
  };
  std::vector<Route> routes_;
};

/** A JSON response. */
http::Response json_response(const http::Request& req, boost::beast::http::status status,
                             const std::string& body);
/** A JSON error `{"error": "...", "detail": "..."}`. */
http::Response json_error(const http::Request& req, boost::beast::http::status status,
                          std::string_view error, std::string_view detail = {});

}  // namespace pushgate::api
