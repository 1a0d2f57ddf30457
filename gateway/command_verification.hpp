#pragma once

#include <cstdint>
#include <string>

#include "gateway/event_log.hpp"

namespace pushgate {

/**
 * Records what reading a setting back showed on the command that set it
 * (already finished: it is no longer in the queue's memory, only in its
 * row): `result` becomes `outcome`; when the setting was not applied, the
 * command becomes failed with `outcome` as its error. Added to the batch of
 * the request that carried the read-back, so both commit together.
 * (zkpush: SET OPTION verified by the options the terminal pushes next.)
 */
WriteOp record_command_verification(std::int64_t id, bool applied, std::string outcome);

}  // namespace pushgate
