#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace pushgate {

enum class CommandState { Queued, Sent, Done, Failed, Expired, Cancelled };

std::string_view to_string(CommandState s) noexcept;
std::optional<CommandState> command_state_from_string(std::string_view s) noexcept;
inline bool is_final(CommandState s) noexcept {
  return s != CommandState::Queued && s != CommandState::Sent;
}

/**
 * A command for a terminal, dialect-neutral: a verb and JSON parameters.
 * The adapter that delivers it renders the wire line for the terminal's
 * dialect (attendance or access control).
 */
struct CommandRequest {
  std::string terminal_sn;
  std::string origin = "rest";  ///< rest | mqtt | modbus | rule | sync | gateway
  std::string client_ref;       ///< caller's id; the same (origin, ref) twice queues once
  std::string verb;
  nlohmann::json params = nlohmann::json::object();
  std::int64_t ttl_ms = 0;  ///< 0: the queue's default
  int max_attempts = 0;     ///< 0: the queue's default
};

struct CommandRecord {
  std::int64_t id = 0;
  std::string terminal_sn;
  std::string origin;
  std::string client_ref;
  std::string verb;
  nlohmann::json params = nlohmann::json::object();
  CommandState state = CommandState::Queued;
  int attempts = 0;
  int max_attempts = 3;
  std::int64_t created_ms = 0;
  std::int64_t expires_ms = 0;
  std::int64_t sent_ms = 0;
  std::int64_t finished_ms = 0;
  std::string wire;
  std::optional<std::int64_t> return_code;
  std::string return_name;
  std::string result;
  std::string error;
};

nlohmann::json command_to_json(const CommandRecord& c);

/**
 * Reads the JSON form of a command shared by REST and MQTT:
 * {"verb": "open_door", "params": {...}, "client_ref": "...", "ttl_s": 600,
 * "max_attempts": 3} into `out` (terminal and origin are the caller's).
 * Returns "" or why the body is unusable. The verb and params are checked
 * later by CommandQueue::enqueue.
 */
std::string command_request_from_json(const nlohmann::json& body, CommandRequest& out);

/**
 * The typed API for the commands users need. Each returns a request whose
 * verb and params every dialect renderer understands; the catalogue with
 * the wire form per dialect is in adapters/zkpush/README.md.
 */
namespace commands {

/** Pulses the door's lock relay for `seconds` (1..254). */
CommandRequest open_door(std::string sn, int door, int seconds);
CommandRequest cancel_alarm(std::string sn);
/** Keeps the door unlocked (normal open) or ends it. */
CommandRequest normal_open(std::string sn, int door, bool on);
/** Locks the door (no card opens it) or returns it to normal. */
CommandRequest lock_door(std::string sn, int door, bool locked);
CommandRequest reboot(std::string sn);
/** Sets the terminal clock to a local wall time "YYYY-MM-DD HH:MM:SS". */
CommandRequest set_time(std::string sn, std::string local_time);

struct User {
  std::string pin;
  std::string name;
  int privilege = 0;
  std::string password;
  std::string card;
  int group = 1;
  std::string time_zones;  ///< attendance TZ field; "" = group's
  std::string valid_from;  ///< "YYYY-MM-DD HH:MM:SS" or ""
  std::string valid_until;
};
CommandRequest upsert_user(std::string sn, const User& user);
/**
 * Access control: the doors a user may open and the time zone (the
 * terminal's timezone table id) they may open them in — the spec's
 * userauthorize table, sent after upsert_user. Attendance terminals refuse it.
 */
CommandRequest authorize_user(std::string sn, std::string pin, std::vector<int> doors,
                              int time_zone_id = 1);
/** Access control: removes every door authorisation of a user. */
CommandRequest deauthorize_user(std::string sn, std::string pin);
CommandRequest delete_user(std::string sn, std::string pin);

struct Template {
  std::string pin;
  int bio_type = 1;  ///< BIODATA Type: 1 fingerprint, 2 NIR face, 8 palm, 9 visible face
  int no = 0;
  int index = 0;
  int valid = 1;
  int duress = 0;
  std::string major_ver;
  std::string minor_ver;
  std::string format = "0";
  std::string data;  ///< base64
};
CommandRequest upsert_template(std::string sn, const Template& t);
CommandRequest upsert_photo(std::string sn, std::string pin, std::string base64_jpeg);

CommandRequest query_users(std::string sn, std::string pin = {});
/** Asks for the records between two local times (catch-up after silence). */
CommandRequest query_records(std::string sn, std::string start_local, std::string end_local);
CommandRequest get_options(std::string sn, std::vector<std::string> keys);
CommandRequest set_option(std::string sn, std::string key, std::string value);
CommandRequest info(std::string sn);
/** A line sent as it is, for what the typed API does not cover. */
CommandRequest raw(std::string sn, std::string line);

}  // namespace commands

}  // namespace pushgate
