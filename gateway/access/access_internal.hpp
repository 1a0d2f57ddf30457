#pragma once

// Internal to gateway/access: what the files of AccessService share
// (access_service.cpp the runtime, access_master_data.cpp the changes,
// access_reads.cpp the REST reads, access_config.cpp the options).

#include <charconv>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <nlohmann/json.hpp>

#include "gateway/access/access_service.hpp"
#include "gateway/event_log.hpp"
#include "rules/access/access_model.hpp"
#include "rules/access/decider.hpp"
#include "rules/access/master_data_json.hpp"

namespace pushgate::access {

/** A decimal integer >= 1 (an id in config and REST paths); nullopt otherwise. */
inline std::optional<int> positive_int(std::string_view s) {
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < 1) {
    return std::nullopt;
  }
  return v;
}

/** Key of a door in the store and in REST paths. */
inline std::string door_key(const ra::DoorRef& d) {
  return ra::to_string(d);
}

/** "[15CD5B07]" (bytes, least significant first) -> "123456789"; other forms as sent. */
inline std::string normalise_card(std::string card) {
  if (card.size() == 10 && card.front() == '[' && card.back() == ']') {
    std::uint32_t value = 0;
    for (int i = 3; i >= 0; --i) {
      unsigned byte = 0;
      auto hex = std::string_view(card).substr(1 + static_cast<std::size_t>(i) * 2, 2);
      auto [p, ec] = std::from_chars(hex.data(), hex.data() + 2, byte, 16);
      if (ec != std::errc() || p != hex.data() + 2) {
        return card;
      }
      value = (value << 8) | byte;
    }
    return std::to_string(value);
  }
  return card;
}

/** The JSON form of an entity, as REST answers carry it. */
inline nlohmann::json as_json(const ra::User& u) {
  return ra::to_json(u);
}
template <class T>
nlohmann::json as_json(const T& v) {
  return ra::to_json(v);
}

/** A change planned against the data in force, committed by run_next(), applied by finish(). */
struct AccessService::Plan {
  Update result;
  std::vector<WriteOp> ops;
  /** Applied under the lock once the ops committed. */
  std::function<void(ra::MasterData&, ra::Decider&)> apply;
  std::vector<MasterDataChange> changes;

  bool refused() const {
    return !result.errors.empty() || !result.conflict.empty() || result.not_found;
  }
};

}  // namespace pushgate::access
