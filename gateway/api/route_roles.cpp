#include "gateway/api/route_roles.hpp"

namespace pushgate::api {

namespace bhttp = boost::beast::http;

namespace {
// clang-format off
constexpr RouteRole kRoutes[] = {
    {bhttp::verb::get, "/healthz", auth::Role::Open},
    {bhttp::verb::get, "/readyz", auth::Role::Open},
    // Open on loopback unless api.metrics_token is set (gateway/auth).
    {bhttp::verb::get, "/metrics", auth::Role::Open},
    {bhttp::verb::get, "/api/v1/terminals", auth::Role::Viewer},
    {bhttp::verb::post, "/api/v1/terminals/{sn}/approve", auth::Role::Operator},
    {bhttp::verb::post, "/api/v1/terminals/{sn}/refuse", auth::Role::Operator},
    // A terminal's name and time zone: settings (its times, hence timecards).
    {bhttp::verb::patch, "/api/v1/terminals/{sn}", auth::Role::Admin},
    {bhttp::verb::get, "/api/v1/events", auth::Role::Viewer},
    {bhttp::verb::get, "/api/v1/events/stream", auth::Role::Viewer},
    {bhttp::verb::get, "/api/v1/status", auth::Role::Viewer},
    {bhttp::verb::get, "/api/v1/config", auth::Role::Admin},
    {bhttp::verb::get, "/api/v1/quarantine", auth::Role::Viewer},
    {bhttp::verb::post, "/api/v1/terminals/{sn}/commands", auth::Role::Operator},
    {bhttp::verb::get, "/api/v1/commands", auth::Role::Viewer},
    {bhttp::verb::get, "/api/v1/commands/{id}", auth::Role::Viewer},
    {bhttp::verb::delete_, "/api/v1/commands/{id}", auth::Role::Operator},
    {bhttp::verb::get, "/api/v1/doors", auth::Role::Viewer},
    {bhttp::verb::get, "/api/v1/sync", auth::Role::Viewer},
    {bhttp::verb::post, "/api/v1/sync/terminals/{sn}", auth::Role::Operator},
    {bhttp::verb::get, "/api/v1/access/apb", auth::Role::Viewer},
    {bhttp::verb::delete_, "/api/v1/access/apb", auth::Role::Operator},
    {bhttp::verb::delete_, "/api/v1/access/apb/{pin}", auth::Role::Operator},
    {bhttp::verb::get, "/api/v1/access/users", auth::Role::Viewer},
    {bhttp::verb::post, "/api/v1/access/users", auth::Role::Admin},
    {bhttp::verb::get, "/api/v1/access/users/{key}", auth::Role::Viewer},
    {bhttp::verb::put, "/api/v1/access/users/{key}", auth::Role::Admin},
    {bhttp::verb::delete_, "/api/v1/access/users/{key}", auth::Role::Admin},
    {bhttp::verb::get, "/api/v1/access/timezones", auth::Role::Viewer},
    {bhttp::verb::post, "/api/v1/access/timezones", auth::Role::Admin},
    {bhttp::verb::get, "/api/v1/access/timezones/{key}", auth::Role::Viewer},
    {bhttp::verb::put, "/api/v1/access/timezones/{key}", auth::Role::Admin},
    {bhttp::verb::delete_, "/api/v1/access/timezones/{key}", auth::Role::Admin},
    {bhttp::verb::get, "/api/v1/access/holidays", auth::Role::Viewer},
    {bhttp::verb::post, "/api/v1/access/holidays", auth::Role::Admin},
    {bhttp::verb::get, "/api/v1/access/holidays/{key}", auth::Role::Viewer},
    {bhttp::verb::put, "/api/v1/access/holidays/{key}", auth::Role::Admin},
    {bhttp::verb::delete_, "/api/v1/access/holidays/{key}", auth::Role::Admin},
    {bhttp::verb::get, "/api/v1/access/levels", auth::Role::Viewer},
    {bhttp::verb::post, "/api/v1/access/levels", auth::Role::Admin},
    {bhttp::verb::get, "/api/v1/access/levels/{key}", auth::Role::Viewer},
    {bhttp::verb::put, "/api/v1/access/levels/{key}", auth::Role::Admin},
    {bhttp::verb::delete_, "/api/v1/access/levels/{key}", auth::Role::Admin},
    {bhttp::verb::get, "/api/v1/access/doors", auth::Role::Viewer},
    {bhttp::verb::post, "/api/v1/access/doors", auth::Role::Admin},
    {bhttp::verb::get, "/api/v1/access/doors/{sn}/{door}", auth::Role::Viewer},
    {bhttp::verb::put, "/api/v1/access/doors/{sn}/{door}", auth::Role::Admin},
    {bhttp::verb::delete_, "/api/v1/access/doors/{sn}/{door}", auth::Role::Admin},
    {bhttp::verb::get, "/api/v1/access/areas", auth::Role::Viewer},
    {bhttp::verb::post, "/api/v1/access/areas", auth::Role::Admin},
    {bhttp::verb::get, "/api/v1/access/areas/{key}", auth::Role::Viewer},
    {bhttp::verb::put, "/api/v1/access/areas/{key}", auth::Role::Admin},
    {bhttp::verb::delete_, "/api/v1/access/areas/{key}", auth::Role::Admin},
    {bhttp::verb::get, "/api/v1/linkage/rules", auth::Role::Viewer},
    {bhttp::verb::put, "/api/v1/linkage/rules", auth::Role::Admin},
    {bhttp::verb::delete_, "/api/v1/linkage/rules", auth::Role::Admin},
    {bhttp::verb::get, "/api/v1/attendance/rules", auth::Role::Viewer},
    {bhttp::verb::put, "/api/v1/attendance/rules", auth::Role::Admin},
    {bhttp::verb::delete_, "/api/v1/attendance/rules", auth::Role::Admin},
    {bhttp::verb::get, "/api/v1/attendance/timecards", auth::Role::Viewer},
    {bhttp::verb::get, "/api/v1/attendance/timecards/{pin}/{day}", auth::Role::Viewer},
    {bhttp::verb::post, "/api/v1/terminals/{sn}/capture", auth::Role::Admin},
    {bhttp::verb::get, "/api/v1/terminals/{sn}/capture", auth::Role::Admin},
    {bhttp::verb::post, "/api/v1/terminals/{sn}/reset-registration", auth::Role::Admin},
    {bhttp::verb::post, "/api/v1/login", auth::Role::Open},
    {bhttp::verb::post, "/api/v1/logout", auth::Role::Viewer},
    {bhttp::verb::get, "/api/v1/session", auth::Role::Viewer},
    {bhttp::verb::get, "/api/v1/tokens", auth::Role::Admin},
    {bhttp::verb::post, "/api/v1/tokens", auth::Role::Admin},
    {bhttp::verb::delete_, "/api/v1/tokens/{id}", auth::Role::Admin},
    {bhttp::verb::get, "/api/v1/users", auth::Role::Admin},
    {bhttp::verb::post, "/api/v1/users", auth::Role::Admin},
    {bhttp::verb::post, "/api/v1/users/me/password", auth::Role::Viewer},
    {bhttp::verb::post, "/api/v1/users/{name}/password", auth::Role::Admin},
    {bhttp::verb::patch, "/api/v1/users/{name}", auth::Role::Admin},
    {bhttp::verb::delete_, "/api/v1/users/{name}", auth::Role::Admin},
};
// clang-format on
}  // namespace

std::span<const RouteRole> declared_route_roles() noexcept {
  return std::span<const RouteRole>(kRoutes);
}

auth::Role route_role(bhttp::verb method, std::string_view pattern, bool* declared) noexcept {
  for (const auto& r : kRoutes) {
    if (r.method == method && r.pattern == pattern) {
      if (declared != nullptr) {
        *declared = true;
      }
      return r.role;
    }
  }
  if (declared != nullptr) {
    *declared = false;
  }
  return auth::Role::Admin;
}

}  // namespace pushgate::api
