#pragma once

#include "gateway/config/config.hpp"

namespace pushgate::config {

/** Declares the keys of the core: [gateway], [log], [store], [api], [terminals."SN"]. */
void declare_core_config(Schema& schema);

}  // namespace pushgate::config
