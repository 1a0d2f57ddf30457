#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <date/date.h>

#include "rules/access/access_model.hpp"

namespace pushgate::rules::access {

/**
 * Why a decision came out as it did. The value is the Security PUSH event
 * code (Appendix 2) a terminal would record for it; where the spec merges
 * several codes (27/30/34, 21/35/49, …) the lowest is used.
 */
enum class Reason : int {
  Granted = 0,            ///< door opens after verification
  NormalOpen = 1,         ///< verified during the door's normal-open period
  FirstCard = 2,          ///< first-card user: the door goes normal open
  MultiCard = 3,          ///< the people waiting made up a combination
  TooSoon = 20,           ///< DoorIntertime not elapsed since this user's last pass
  OutsideTimeZone = 21,   ///< the user's level or the door is not valid now
  NoAccess = 23,          ///< no level of the user covers this door
  AntiPassback = 24,      ///< hard anti-passback
  Interlock = 25,         ///< another door of the interlock group is open
  MultiCardWaiting = 26,  ///< multi-card: waiting for the others
  NotRegistered = 27,     ///< unknown PIN or card
  Expired = 29,           ///< outside the user's validity period
  CardLost = 38,          ///< the card was reported lost
  Blacklisted = 39,       ///< blacklist
  MultiCardFailed = 40,   ///< multi-card: the user's group is in no combination
  WrongVerifyMode = 41,   ///< the door requires another verification mode
  Disabled = 62,          ///< prohibited (disabled) user
  DoorLocked = 63,        ///< the door is disabled or locked
  Duress = 101,           ///< verified under duress: opens, and is an alarm
};

int event_code(Reason reason) noexcept;
/** A short English description, also sent as TIPS. */
std::string_view describe(Reason reason) noexcept;
bool is_grant(Reason reason) noexcept;

/** In/out of a §10 request (`inoutstatus`: 0 in, 1 out, anything else unknown). */
enum class Direction { In, Out, Unknown };

/** Who, where, when: one remote identification (§10). */
struct Request {
  DoorRef door;
  std::string pin;   ///< "" or "0" when the terminal identified a card only
  std::string card;  ///< "" or "0" when none
  Direction direction = Direction::Unknown;
  int verify_mode = -1;  ///< Appendix 3; -1 unknown
  /** The terminal's event code for the verification (101/103: duress). -1 unknown. */
  int terminal_event = -1;
  date::local_seconds local_time{};  ///< site wall time, for time zones and validity
  std::int64_t now_ms = 0;           ///< UTC ms, for windows and resets
};

/** Where anti-passback believes a user is. */
struct Position {
  int area = 0;  ///< 0: outside
  std::int64_t since_ms = 0;
  friend bool operator==(const Position&, const Position&) = default;
};

struct Decision {
  Reason reason = Reason::NotRegistered;
  bool granted = false;
  /** The user decided about (from the card when no PIN came); "" when unknown. */
  std::string pin;
  /** Seconds to open the lock for (CONTROL DEVICE DD); 255 = normal open; 0 when refused. */
  int open_s = 0;
  /** Soft anti-passback: the door opens, but the passage was a passback. */
  bool apb_violation = false;
  /**
   * Anti-passback positions this decision sets (the user, or every member of
   * a multi-card group). A grant that sets positions must be made durable
   * before the terminal hears SUCCESS (see README, durability).
   */
  std::vector<std::pair<std::string, Position>> positions;
  /** Parallel to positions: what each user's position was before (to undo a failed commit). */
  std::vector<std::optional<Position>> previous;
};

/** The live state of a door, from rtstate / rtlog. */
struct DoorLive {
  bool sensor_open = false;
  bool relay_on = false;
  std::int64_t granted_until_ms = 0;  ///< we opened it: counts as open until then
};

/**
 * The decision procedure (README.md, "Decision procedure") and the state it
 * keeps between decisions: anti-passback positions, door states, multi-card
 * groups waiting, first-card normal open, each user's last pass per door.
 *
 * Pure: fed master data, requests and times; no I/O, no clock. Not
 * thread-safe: the caller serialises (the gateway holds one mutex).
 */
class Decider {
 public:
  /** Decides, and on a grant updates the state (positions, door opened, group cleared). */
  Decision decide(const MasterData& data, const Request& request);

  /**
   * A passage the terminal itself recorded (its rtlog: a door opened for
   * `pin` at `at_ms`, whoever decided it). Moves the user's anti-passback
   * position as a grant at that door would, unless a later decision already
   * placed the user or the user is already there. Returns the new position
   * to store, or nothing when nothing changed.
   */
  std::optional<Position> note_pass(const MasterData& data, const DoorRef& door,
                                    const std::string& pin, Direction direction,
                                    std::int64_t at_ms);

  /** Replaces the anti-passback positions (loaded from the store at start). */
  void load_positions(std::unordered_map<std::string, Position> positions);
  /** Undoes positions of a grant whose commit failed (back to `before`, or unknown). */
  void restore_position(const std::string& pin, std::optional<Position> before);
  std::optional<Position> position(const std::string& pin) const;
  /** Forgets a user's position (REST reset, user deleted). */
  void forget_position(const std::string& pin);
  void forget_all_positions();
  std::size_t position_count() const noexcept { return positions_.size(); }

  /** A door's reported state; unset fields keep their value. */
  void set_door_state(const DoorRef& door, std::optional<bool> sensor_open,
                      std::optional<bool> relay_on);
  DoorLive door_state(const DoorRef& door) const;

 private:
  struct Waiting {
    std::vector<std::pair<std::string, int>> people;  ///< pin, group
    std::int64_t last_ms = 0;
  };
  struct FirstCardState {
    date::local_days day{};
    bool active = false;
  };

  bool door_open(const DoorRef& door, std::int64_t now_ms) const;
  /** The effective position: unknown when the area's timed reset has passed. */
  std::optional<Position> current_position(const MasterData& data, const std::string& pin,
                                           std::int64_t now_ms) const;
  Decision grant(Decision d, Reason reason, int open_s, const DoorSettings* door,
                 const Request& request);

  std::unordered_map<std::string, Position> positions_;
  std::map<DoorRef, DoorLive> doors_;
  std::map<DoorRef, Waiting> waiting_;
  std::map<DoorRef, FirstCardState> first_card_;
  std::map<std::pair<std::string, DoorRef>, std::int64_t> last_pass_ms_;
};

}  // namespace pushgate::rules::access
