#pragma once

#include <array>
#include <chrono>
#include <compare>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <date/date.h>

namespace pushgate::rules::access {

/**
 * The access master data: who may pass which door when. The shapes follow
 * the Security PUSH 3.1.2 tables (user, userauthorize, timezone, holiday,
 * firstcard, multimcard) and Appendix 10 (door parameters), so they can be
 * imported from and synchronised to terminals without loss.
 *
 * All times are the site's local wall time (the time printed on the
 * terminals). Plain values; no I/O, no clock.
 */

/** One time period of a day, in minutes after midnight, both ends included (to the minute). */
struct Period {
  int start = 0;  ///< 0..1439
  int end = 0;    ///< 0..1439, >= start
  /** 00:00-00:00 is the spec's "no period" (the encoded value 0). */
  bool empty() const noexcept { return start == 0 && end == 0; }
  bool contains(int minute) const noexcept { return !empty() && start <= minute && minute <= end; }
  friend bool operator==(const Period&, const Period&) = default;
};

using DayPeriods = std::array<Period, 3>;

/**
 * The spec's `timezone` table: three periods for each weekday and for each
 * of the three holiday types. Weekday index 0 is Sunday (SunTime1..3).
 */
struct TimeZone {
  int id = 0;
  std::string name;
  std::array<DayPeriods, 7> days{};
  std::array<DayPeriods, 3> holidays{};  ///< Hol1Time1..Hol3Time3
};

/** The spec's `holiday` table. */
struct Holiday {
  date::year_month_day day{};
  int type = 1;         ///< 1..3: which HolNTime periods apply that day
  bool yearly = false;  ///< Loop=1: the same month and day every year
  std::string name;
};

/** A door of one terminal, site-wide: the terminal's serial number and its 1-based door number. */
struct DoorRef {
  std::string sn;
  int door = 0;
  friend auto operator<=>(const DoorRef&, const DoorRef&) = default;
};

/** "SN/door", the key used in the REST paths and change notices. */
std::string to_string(const DoorRef& ref);

struct Card {
  std::string number;
  bool lost = false;  ///< reported lost: refused with event 38
};

struct User {
  std::string pin;
  std::string name;
  std::string password;
  int privilege = 0;  ///< 0 user, 2 registrar, 6 admin, 10 user-defined, 14 super admin
  int group = 1;      ///< multi-card opening group (spec `Group`, 1 by default)
  std::vector<Card> cards;
  std::optional<date::local_seconds> valid_from;   ///< inclusive; none: no limit
  std::optional<date::local_seconds> valid_until;  ///< inclusive; none: no limit
  bool disabled = false;
  bool blacklisted = false;
  std::vector<int> levels;  ///< access level ids
  /** "rest", or "terminal:<sn>" for a user imported from an upload (see README, import). */
  std::string source = "rest";
};

/** Doors × one time zone (the spec's userauthorize: AuthorizeTimezoneId × AuthorizeDoorId). */
struct Level {
  int id = 0;
  std::string name;
  int timezone = 0;
  std::vector<DoorRef> doors;
};

enum class ApbMode {
  None,
  Soft,  ///< a passback opens the door but is recorded as a violation
  Hard,  ///< a passback is refused (event 24)
};
std::string_view to_string(ApbMode mode) noexcept;
std::optional<ApbMode> apb_mode_from_string(std::string_view text) noexcept;

/**
 * An anti-passback area. Global anti-passback is one area every entrance
 * leads into; per-area anti-passback is several.
 */
struct Area {
  int id = 0;  ///< >= 1; 0 is "outside / no area"
  std::string name;
  ApbMode apb = ApbMode::Hard;
  /** Timed reset: a position older than this is forgotten (0: kept until the next passage). */
  int reset_s = 0;
};

struct FirstCardUser {
  std::string pin;
  int timezone = 0;  ///< when this user's verification starts normal open
};

/** Per-door settings (Appendix 10 and the firstcard / multimcard tables). */
struct DoorSettings {
  DoorRef ref;
  std::string name;
  int open_s = 5;  ///< DoorDrivertime: lock open time, 1..254 s
  /** DoorVerifyType (Appendix 3): the only mode accepted; 0 = any (automatic). */
  int verify_mode = 0;
  int valid_tz = 0;      ///< DoorValidTZ: the door works only in this time zone (0: always)
  int keep_open_tz = 0;  ///< DoorKeepOpenTimeZone: normal-open time zone (0: none)
  /** DoorFirstCardOpenDoor: normal open starts only after a first-card user verified. */
  bool first_card = false;
  std::vector<FirstCardUser> first_card_users;
  /** DoorMultiCardOpenDoor: the door opens when the people waiting make up one combination. */
  bool multi_card = false;
  /** multimcard: each combination lists up to five group ids, one person per entry. */
  std::vector<std::vector<int>> multi_card_groups;
  int multi_card_interval_s = 10;  ///< DoorMultiCardInterTime
  int intertime_s = 0;             ///< DoorIntertime: minimal interval between two passes of a user
  /** Anti-passback: the area an IN passage enters, and the area an OUT passage enters (0 outside).
   */
  int area_in = 0;
  int area_out = 0;
  /** Interlock group across terminals (0: none): only one door of a group open at a time. */
  int interlock = 0;
  std::string duress_password;  ///< DoorForcePassWord (terminal-side; synchronised, not checked)
  bool disabled = false;        ///< DoorDisable=0 / DoorMaskFlag=1: refused with event 63
};

/**
 * The whole master data. Cards are indexed (card_index) for the lookup of a
 * card-only verification; keep it in step with users through set_user /
 * erase_user.
 */
struct MasterData {
  std::map<std::string, User> users;
  std::unordered_map<std::string, std::string> card_index;  ///< card number -> pin
  std::map<int, TimeZone> timezones;
  std::map<date::year_month_day, Holiday> holidays;
  std::map<int, Level> levels;
  std::map<DoorRef, DoorSettings> doors;
  std::map<int, Area> areas;

  /** Inserts or replaces a user and re-indexes its cards. */
  void set_user(User user);
  void erase_user(const std::string& pin);
  const User* find_user(const std::string& pin) const;
  /** The user holding `card`, and the card itself. */
  const User* find_by_card(const std::string& card, const Card** which = nullptr) const;
  const DoorSettings* find_door(const DoorRef& ref) const;
};

/** Day of the week, 0 = Sunday, of a local date. */
int weekday_index(date::local_days day) noexcept;

/** The holiday type (1..3) of `day`, or 0 when it is no holiday (yearly ones match month and day).
 */
int holiday_type(const MasterData& data, date::year_month_day day) noexcept;

/**
 * Whether time zone `id` is active at `time`: the periods of the day's
 * holiday type on a holiday, else the weekday's. Both period ends are
 * included to the minute (08:00-12:00 admits 12:00:59, refuses 12:01:00).
 * An unknown id is never active.
 */
bool timezone_active(const MasterData& data, int id, date::local_seconds time) noexcept;

/** Spec encoding of a period: start HHMM << 16 | end HHMM (830 << 16 | 1200 for 08:30-12:00). */
std::uint32_t encode_period(const Period& period) noexcept;
/** The inverse; nullopt for hours > 23, minutes > 59 or end < start. */
std::optional<Period> decode_period(std::uint32_t value) noexcept;

}  // namespace pushgate::rules::access
