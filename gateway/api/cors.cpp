#include "gateway/api/cors.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <memory>
#include <utility>

#include "gateway/api/router.hpp"
#include "gateway/http/query.hpp"
#include "gateway/logging.hpp"

namespace pushgate::api {

namespace bhttp = boost::beast::http;

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool changes_state(bhttp::verb v) {
  return v != bhttp::verb::get && v != bhttp::verb::head;
}

constexpr std::string_view kAllowMethods = "GET, HEAD, POST, PUT, PATCH, DELETE";
constexpr std::string_view kAllowHeaders = "Authorization, Content-Type, X-CSRF-Token";

}  // namespace

std::string check_cors_origin(const std::string& origin) {
  auto scheme_end = origin.find("://");
  if (scheme_end == std::string::npos) {
    return "\"" + origin + "\" is not an origin (scheme://host[:port], e.g. https://ops.example)";
  }
  auto scheme = lower(origin.substr(0, scheme_end));
  if (scheme != "http" && scheme != "https") {
    return "\"" + origin + "\": the scheme is http or https";
  }
  auto host = origin.substr(scheme_end + 3);
  if (host.empty() || host.find_first_of("/?#* ") != std::string::npos) {
    return "\"" + origin +
           "\" is not an origin: scheme://host[:port] without a path, a "
           "trailing slash or a wildcard";
  }
  return {};
}

Cors::Cors(std::vector<std::string> allowed_origins, metrics::Registry& metrics)
    : refused_preflight_(metrics.counter("pushgate_api_cors_refused_total",
                                         "Browser requests from an origin not allowed (CORS), "
                                         "refused 403, by kind",
                                         {{"kind", "preflight"}})),
      refused_change_(metrics.counter("pushgate_api_cors_refused_total",
                                      "Browser requests from an origin not allowed (CORS), "
                                      "refused 403, by kind",
                                      {{"kind", "change"}})) {
  for (auto& o : allowed_origins) {
    allowed_.push_back(lower(o));
  }
}

void Cors::handle(http::Request&& req, const http::RequestInfo& info, http::Reply reply,
                  const Next& next) {
  auto it = req.find(bhttp::field::origin);
  if (it == req.end()) {
    next(std::move(req), info, std::move(reply));
    return;
  }
  std::string origin(it->value());
  auto key = lower(origin);
  // The API's own origin: the scheme of this listener and the Host the
  // browser addressed (a browser sets both; a page cannot forge Origin).
  auto own = std::string(info.tls ? "https://" : "http://") + lower(req[bhttp::field::host]);
  if (key == own) {
    next(std::move(req), info, std::move(reply));
    return;
  }
  bool listed = std::find(allowed_.begin(), allowed_.end(), key) != allowed_.end();
  bool preflight = req.method() == bhttp::verb::options;
  if (!listed) {
    if (preflight) {
      refuse(req, info, reply, origin, "preflight");
      return;
    }
    if (changes_state(req.method())) {
      refuse(req, info, reply, origin, "change");
      return;
    }
    // A read from a page elsewhere: answered without Access-Control-Allow-
    // Origin, so the browser keeps the answer from that page.
    next(std::move(req), info, std::move(reply));
    return;
  }
  if (preflight) {
    auto res = http::make_response(req, bhttp::status::no_content, "");
    res.set(bhttp::field::access_control_allow_origin, origin);
    res.set(bhttp::field::access_control_allow_methods, kAllowMethods);
    res.set(bhttp::field::access_control_allow_headers, kAllowHeaders);
    res.set(bhttp::field::access_control_max_age, "600");
    res.set(bhttp::field::vary, "Origin");
    reply.send(std::move(res));
    return;
  }
  auto ex = reply.executor();
  http::Reply decorated(
      [inner = std::make_shared<http::Reply>(std::move(reply)), origin](http::Response&& res) {
        res.set(bhttp::field::access_control_allow_origin, origin);
        res.set(bhttp::field::vary, "Origin");
        inner->send(std::move(res));
      },
      ex);
  next(std::move(req), info, std::move(decorated));
}

void Cors::refuse(const http::Request& req, const http::RequestInfo& info, http::Reply& reply,
                  const std::string& origin, const char* kind) {
  (std::string_view(kind) == "preflight" ? refused_preflight_ : refused_change_).inc();
  auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::steady_clock::now().time_since_epoch())
                 .count();
  if (auto suppressed = log_limiter_.admit(kind, now)) {
    logger("api")->warn(
        "{} {} from {} refused 403: origin {} is not allowed (api.cors_origins){}",
        std::string(req.method_string()), std::string(http::target_path(req.target())),
        info.remote.address().to_string(), origin.substr(0, 200), suppressed_note(*suppressed));
  }
  reply.send(json_error(req, bhttp::status::forbidden, "origin not allowed",
                        "requests from " + origin.substr(0, 200) +
                            " are refused (CORS); the API answers its own origin and those "
                            "listed in api.cors_origins"));
}

}  // namespace pushgate::api
