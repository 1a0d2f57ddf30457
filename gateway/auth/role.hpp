#pragma once

#include <optional>
#include <string_view>

namespace pushgate::auth {

/**
 * What a caller may do, in increasing order: each role includes the ones
 * before it. `Open` is no credential at all (/healthz, /readyz).
 */
enum class Role { Open = 0, Viewer = 1, Operator = 2, Admin = 3 };

constexpr std::string_view to_string(Role role) noexcept {
  switch (role) {
    case Role::Open:
      return "open";
    case Role::Viewer:
      return "viewer";
    case Role::Operator:
      return "operator";
    case Role::Admin:
      return "admin";
  }
  return "open";
}

/** viewer / operator / admin; nullopt for anything else ("open" included). */
constexpr std::optional<Role> role_from_string(std::string_view name) noexcept {
  if (name == "viewer") {
    return Role::Viewer;
  }
  if (name == "operator") {
    return Role::Operator;
  }
  if (name == "admin") {
    return Role::Admin;
  }
  return std::nullopt;
}

}  // namespace pushgate::auth
