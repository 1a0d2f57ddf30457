#include "gateway/api/router.hpp"

#include <nlohmann/json.hpp>

#include "gateway/api/route_roles.hpp"
#include "gateway/event_json.hpp"
#include "gateway/http/query.hpp"
#include "gateway/logging.hpp"

namespace pushgate::api {

namespace bhttp = boost::beast::http;

namespace {
std::vector<std::string> split(std::string_view path) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < path.size()) {
    if (path[start] == '/') {
      ++start;
      continue;
    }
    auto slash = path.find('/', start);
    out.emplace_back(
        path.substr(start, slash == std::string_view::npos ? path.size() - start : slash - start));
    if (slash == std::string_view::npos) {
      break;
    }
    start = slash + 1;
  }
  return out;
}
}  // namespace

void Router::add(bhttp::verb method, std::string pattern, RouteHandler handler) {
  bool declared = false;
  auto role = route_role(method, pattern, &declared);
  if (!declared) {
    logger("api")->warn(
        "route {} {} has no declared role (gateway/api/route_roles.cpp): admin only",
        std::string(bhttp::to_string(method)), pattern);
  }
  auto segments = split(pattern);
  routes_.push_back(
      Route{method, std::move(pattern), std::move(segments), role, std::move(handler)});
}

void Router::handle(http::Request&& request, const http::RequestInfo& info,
                    http::Reply reply) const {
  auto segments = split(http::target_path(request.target()));
  std::string allow;
  for (const auto& r : routes_) {
    if (r.segments.size() != segments.size()) {
      continue;
    }
    PathParams params;
    bool match = true;
    for (std::size_t i = 0; i < segments.size() && match; ++i) {
      const auto& p = r.segments[i];
      if (p.size() > 2 && p.front() == '{' && p.back() == '}') {
        params[p.substr(1, p.size() - 2)] = http::percent_decode(segments[i], false);
      } else if (p != segments[i]) {
        match = false;
      }
    }
    if (!match) {
      continue;
    }
    if (r.method != request.method()) {
      allow += (allow.empty() ? "" : ", ") + std::string(bhttp::to_string(r.method));
      continue;
    }
    if (!guard_) {
      r.handler(std::move(request), info, params, std::move(reply));
      return;
    }
    guard_(
        std::move(request), info, r.role, r.pattern,
        [handler = r.handler, info, params = std::move(params)](http::Request&& req,
                                                                http::Reply rep) {
          handler(std::move(req), info, params, std::move(rep));
        },
        std::move(reply));
    return;
  }
  if (!allow.empty()) {
    auto res = json_error(request, bhttp::status::method_not_allowed, "method not allowed");
    res.set(bhttp::field::allow, allow);
    reply.send(std::move(res));
    return;
  }
  reply.send(json_error(request, bhttp::status::not_found, "not found",
                        std::string(http::target_path(request.target()))));
}

http::Response json_response(const http::Request& req, bhttp::status status,
                             const std::string& body) {
  return http::make_response(req, status, body, "application/json");
}

http::Response json_error(const http::Request& req, bhttp::status status, std::string_view error,
                          std::string_view detail) {
  nlohmann::json j;
  j["error"] = error;
  if (!detail.empty()) {
    j["detail"] = detail;
  }
  return json_response(req, status, dump_json(j) + "\n");
}

http::Response field_errors_response(const http::Request& req, bhttp::status status,
                                     std::string_view error, nlohmann::json errors) {
  nlohmann::json j;
  j["error"] = error;
  const auto& first = errors.at(0);
  const std::string field = first.value("field", "");
  const std::string message = first.value("message", "");
  j["detail"] = field.empty() ? message : field + ": " + message;
  j["errors"] = std::move(errors);
  return json_response(req, status, dump_json(j) + "\n");
}

std::optional<nlohmann::json> parse_json_body(const http::Request& req, http::Reply& reply,
                                              const JsonLimits& limits) {
  auto parsed = parse_json_bounded(req.body(), limits);
  switch (parsed.refusal) {
    case JsonRefusal::None:
      return std::move(parsed.value);
    case JsonRefusal::TooLarge:
      reply.send(json_error(req, bhttp::status::payload_too_large, "body too large", parsed.error));
      break;
    case JsonRefusal::TooDeep:
      reply.send(
          json_error(req, bhttp::status::bad_request, "body too deeply nested", parsed.error));
      break;
    case JsonRefusal::Invalid:
      reply.send(json_error(req, bhttp::status::bad_request, "invalid JSON",
                            "the body is not valid JSON"));
      break;
  }
  logger("api")->debug("{} {}: body refused: {}", std::string(req.method_string()),
                       std::string(req.target()), parsed.error);
  return std::nullopt;
}

}  // namespace pushgate::api
