#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace pushgate::access {

/**
 * One change to the access master data, told after it was committed. The
 * terminal synchronisation (issue 7 part B) turns these into the DATA
 * UPDATE/DELETE commands each terminal needs; it reads the current value
 * through AccessService::snapshot() (a deleted entity is simply absent).
 */
struct MasterDataChange {
  enum class Entity {
    User,      ///< `key`: the PIN (cards, password, validity, levels are part of the user)
    TimeZone,  ///< `key`: the time zone id, decimal
    Holiday,   ///< `key`: the date, YYYY-MM-DD
    Level,     ///< `key`: the access level id, decimal (its doors or time zone changed)
    Door,      ///< `key`: "<terminal sn>/<door>" (Appendix 10 settings)
    Area,      ///< `key`: the area id, decimal
  };
  enum class Op {
    Upsert,  ///< created or changed
    Delete,
  };
  Entity entity = Entity::User;
  Op op = Op::Upsert;
  std::string key;
  /** Where it came from: "rest", or "terminal:<sn>" for an import from an upload. */
  std::string source;
  std::int64_t committed_ms = 0;
};

/**
 * Called once per change, after the commit, on the store's writer thread (or
 * the thread that committed). Must not block and must not call back into the
 * AccessService's mutating functions synchronously: post to your own strand.
 */
using MasterDataObserver = std::function<void(const MasterDataChange&)>;

}  // namespace pushgate::access
