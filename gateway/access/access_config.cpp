#include "gateway/access/access_config.hpp"

#include <stdexcept>

#include "gateway/access/access_internal.hpp"
#include "gateway/config/config.hpp"

namespace pushgate::access {

ServiceOptions options_from_config(const config::Config& config) {
  ServiceOptions o;
  o.timezone = config.get_string("gateway.timezone");
  o.import_users = config.get_bool("access.import_users");
  for (const auto& id : config.get_list("access.import_levels")) {
    auto v = positive_int(id);
    if (!v) {
      throw std::runtime_error("access.import_levels: \"" + id +
                               "\" is not an access level id (a positive integer)");
    }
    o.import_levels.push_back(*v);
  }
  auto wait = config.get_string("access.wait_for_commit");
  o.wait = wait == "all"   ? WaitForCommit::All
           : wait == "apb" ? WaitForCommit::Apb
                           : WaitForCommit::None;
  return o;
}

}  // namespace pushgate::access
