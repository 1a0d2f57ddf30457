#pragma once

#include "gateway/api/router.hpp"
#include "gateway/command_queue.hpp"
#include "gateway/store/store.hpp"

namespace pushgate::api {

/**
 * Commands over REST:
 *
 *   POST   /api/v1/terminals/{sn}/commands   {"verb": "open_door", "params": {"door": 1,
 *          "seconds": 5}, "client_ref": "...", "ttl_s": 600, "max_attempts": 3}
 *          -> 202 with the command (200 with "duplicate": true for a known client_ref)
 *   GET    /api/v1/commands?terminal=&state=&after=&limit=
 *   GET    /api/v1/commands/{id}
 *   DELETE /api/v1/commands/{id}              cancel a queued command
 */
class CommandsApi {
 public:
  CommandsApi(Router& router, store::Store& store, CommandQueue& queue);

 private:
  store::Store& store_;
  CommandQueue& queue_;
};

}  // namespace pushgate::api
