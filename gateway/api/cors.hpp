#pragma once

// CORS, closed by default (issue 18): the API answers browsers of its own
// origin only. A preflight (OPTIONS) or a state change (anything but GET and
// HEAD) carrying an Origin that is neither the API's own nor listed in
// api.cors_origins is refused 403 — a forged cross-site request is refused
// even where SameSite does not hold (an old browser, a sibling subdomain).
// A request without Origin (curl, scripts, terminals) is not concerned.

#include <functional>
#include <string>
#include <vector>

#include "gateway/http/server.hpp"
#include "gateway/log_rate_limiter.hpp"
#include "gateway/metrics/metrics.hpp"

namespace pushgate::api {

/** Why `origin` cannot be an api.cors_origins item ("" when it can). */
std::string check_cors_origin(const std::string& origin);

class Cors {
 public:
  using Next = std::function<void(http::Request&&, const http::RequestInfo&, http::Reply)>;

  Cors(std::vector<std::string> allowed_origins, metrics::Registry& metrics);

  /**
   * Refuses (403) or answers (a preflight of an allowed origin: 204) the
   * request, or passes it to `next` — with Access-Control-Allow-Origin added
   * to the answer when it comes from a listed origin.
   */
  void handle(http::Request&& req, const http::RequestInfo& info, http::Reply reply,
              const Next& next);

 private:
  void refuse(const http::Request& req, const http::RequestInfo& info, http::Reply& reply,
              const std::string& origin, const char* kind);

  std::vector<std::string> allowed_;  // lower case
  metrics::Counter& refused_preflight_;
  metrics::Counter& refused_change_;
  LogRateLimiter log_limiter_{10'000};
};

}  // namespace pushgate::api
