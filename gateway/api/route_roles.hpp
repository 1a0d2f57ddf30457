#pragma once

// The minimum role of every route of the local API (issue 18): GET routes
// need a viewer; doors, commands, approving terminals and anti-passback
// resets an operator; users, rules, master data, captures and settings an
// admin. /healthz and /readyz are open; /metrics has its own rule
// (gateway/auth). A route registered without an entry here needs an admin
// (and the router logs it), so a new route is never open by mistake.

#include <span>
#include <string_view>

#include <boost/beast/http/verb.hpp>

#include "gateway/auth/role.hpp"

namespace pushgate::api {

struct RouteRole {
  boost::beast::http::verb method;
  std::string_view pattern;  ///< exactly as given to Router::add
  auth::Role role;
};

/** Every route pushgate registers and its minimum role. */
std::span<const RouteRole> declared_route_roles() noexcept;

/** The role `method pattern` needs; nullptr in `declared` when it has no entry. */
auth::Role route_role(boost::beast::http::verb method, std::string_view pattern,
                      bool* declared = nullptr) noexcept;

}  // namespace pushgate::api
