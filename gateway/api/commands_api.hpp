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
 *          set_option with "params": {"options": {"A": "1", "B": "2"}} queues one command
 *          per option -> 202 {"commands": [...]}; values with TAB/CR/LF are a 400
 *          naming the field
 *   GET    /api/v1/commands?terminal=&state=&after=&limit=
 *   GET    /api/v1/commands/{id}
 *   DELETE /api/v1/commands/{id}              cancel a queued command
 */
class CommandsApi {
 public:
  CommandsApi(Router& router, store::Store& store, CommandQueue& queue);

 private:
  void set_options(CommandRequest cr, http::Request&& req, http::Reply reply);

  store::Store& store_;
  CommandQueue& queue_;
};

}  // namespace pushgate::api
