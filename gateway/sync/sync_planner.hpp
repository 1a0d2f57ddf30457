#pragma once

// What to send to which terminal when master data changes or a terminal
// uploads an enrolment. Pure functions over plain values (no store, no
// queue): gateway/sync/sync_service.cpp reads the inputs, filters the plan
// through the SentLedger and queues what is left. See README.md, "Sync".

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "gateway/command.hpp"
#include "gateway/terminals.hpp"
#include "rules/access/access_model.hpp"

namespace pushgate::sync {

namespace ra = pushgate::rules::access;

/** Which tables are synchronised (sync.kinds). */
struct Kinds {
  bool users = true;      ///< user rows and userauthorize
  bool timezones = true;  ///< timezone and holiday tables
  bool templates = true;  ///< templatev10 / biodata
  bool photos = true;     ///< biophoto / userpic
};

/** A terminal commands can be sent to, with what it supports. */
struct Target {
  std::string sn;
  /** MultiBioDataSupport / MultiBioPhotoSupport as reported at registration. */
  std::vector<bool> bio_data;
  std::vector<bool> bio_photo;
  /** What the sync may write to it (capabilities.sync_writes): nothing else is planned. */
  std::uint32_t writes = kAllSyncWrites;
  /** Its user rows are shared with other devices (capabilities.shared_users). */
  bool shared_users = false;
  bool takes(SyncWrite w) const noexcept { return (writes & sync_bit(w)) != 0; }
  bool supports_data(int type) const;
  bool supports_photo(int type) const;
};

/**
 * The terminals sync serves: accepted, and able to take users, templates
 * and rights from the gateway (`capabilities.user_sync`: today the Security
 * PUSH terminals), with what they reported at registration
 * (`info.multi_bio_*`) and what it takes (`capabilities.sync_writes`).
 * Attendance terminals are left out (see README).
 */
std::vector<Target> targets_of(const std::vector<TerminalRecord>& terminals);

/**
 * The items (as planned: "user/PIN", "template/PIN/type/no/index", ...) a
 * sync command carries, a batch's every record: what a failed or expired
 * command leaves a terminal without. Empty for a verb the sync never plans.
 */
std::vector<std::string> items_of(const std::string& verb, const nlohmann::json& params);

/** `0:1:0:...` → entry i true when "1" (spaces allowed). */
std::vector<bool> parse_support_list(std::string_view list);

/**
 * One thing a terminal should hold, with the commands that put it there.
 * `item` names it ("user/42", "template/42/1/6/0", "timezone/3", ...);
 * `digest` identifies its content ("" for a delete).
 */
struct Planned {
  std::string terminal_sn;
  std::string item;
  std::string digest;
  std::vector<CommandRequest> requests;
};

/** What one terminal uploaded for one PIN (its local copy in the store). */
struct Enrolment {
  std::string source_sn;
  std::string pin;
  std::optional<commands::User> user;
  std::vector<commands::Template> templates;
  struct Photo {
    std::string kind;  ///< userpic | biophoto
    int bio_type = 0;
    std::string data;  ///< base64
  };
  std::vector<Photo> photos;
};

/**
 * An enrolment for every other target: the user row, each template to the
 * targets that support its type, each comparison photo to those that
 * support its photo type, the user photo to all. Never to the source. Only
 * to targets that take Templates (the row) and Photos (the photos): one
 * that stores neither gets its users from the master data (plan_user).
 * `source_items` gets what the source itself holds (so it is never sent back).
 */
std::vector<Planned> plan_enrolment(const Enrolment& enrolment, const std::vector<Target>& targets,
                                    const Kinds& kinds, std::vector<Planned>* source_items);

/**
 * A master-data user on every target: the user row and one userauthorize per
 * time zone where a level gives the user doors of that terminal (none while
 * disabled or blacklisted). Deleted (absent from `data`): deletes only.
 * Only what a target takes: no row without SyncWrite::Users, the row without
 * its card or password when it takes no Cards / Passwords. Without
 * DoorRights no rights: the row is the right, sent where a level gives the
 * user a door of the target and deleted (where it was sent) when none does
 * any more or the user is disabled or blacklisted. On a target whose rows
 * are shared (shared_users: a BioStar 2 server) the row is kept while the
 * user is enabled and not blacklisted, whatever its doors: a delete there
 * would take the user off every device of that store.
 * `skip_user_row_sn`: the terminal the user was imported from (it has the row).
 */
std::vector<Planned> plan_user(const ra::MasterData& data, const std::string& pin,
                               const std::vector<Target>& targets, const Kinds& kinds,
                               const std::string& skip_user_row_sn = {});

/** Time zones and holidays go only to targets that take SyncWrite::TimeZones. */
std::vector<Planned> plan_timezone(const ra::MasterData& data, int id,
                                   const std::vector<Target>& targets, const Kinds& kinds);
std::vector<Planned> plan_holiday(const ra::MasterData& data, date::year_month_day day,
                                  const std::vector<Target>& targets, const Kinds& kinds);
/** Everything the master data puts on one terminal (a full sync). */
std::vector<Planned> plan_terminal(const ra::MasterData& data, const Target& target,
                                   const Kinds& kinds);

/**
 * A validity bound as a terminal uploaded it (`starttime`/`endtime`, §7.5)
 * in the form upsert_user takes: YYYYMMDD becomes "YYYY-MM-DD 00:00:00"
 * (start) or "YYYY-MM-DD 23:59:59" (end); "0", empty, Appendix 5 seconds and
 * anything unreadable become "" (no limit sent).
 */
std::string validity_from_upload(std::string_view value, bool end);

/** `upsert_timezone` with the 30 encoded periods (rendered as §9.1.1 "Time Rule"). */
CommandRequest timezone_request(const std::string& sn, const ra::TimeZone& tz);

/** A stable 64-bit FNV-1a digest as 16 hex digits (persisted: never change it). */
std::string digest_of(const std::vector<CommandRequest>& requests);

/**
 * What each terminal was last sent (or holds from its own upload), per item.
 * `filter` drops what a terminal already has and deletes of what it never
 * got; `record` notes what was queued. Not thread-safe.
 */
class SentLedger {
 public:
  std::vector<Planned> filter(std::vector<Planned> plan) const;
  void record(const std::string& sn, const std::string& item, const std::string& digest);
  /** Forgets an item (its command could not be queued): planned again next time. */
  void forget(const std::string& sn, const std::string& item);
  /** The digest last recorded, nullopt when never. "" means deleted. */
  std::optional<std::string> get(const std::string& sn, const std::string& item) const;
  std::size_t size() const noexcept { return sent_.size(); }
  /** Items of `sn` starting with `prefix` that are not deleted. */
  std::vector<std::string> items_with_prefix(const std::string& sn,
                                             const std::string& prefix) const;

 private:
  std::map<std::pair<std::string, std::string>, std::string> sent_;
};

}  // namespace pushgate::sync
