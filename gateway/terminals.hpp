#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "gateway/adapter_state.hpp"
#include "gateway/event_log.hpp"
#include "gateway/timezone.hpp"

namespace pushgate {

namespace config {
class Config;
}
namespace store {
class Store;
}

/** A biometric a device stores templates of (vendor-neutral names). */
enum class Biometric : std::uint8_t {
  Fingerprint,
  Face,
  Palm,
  FingerVein,
  Iris,
};
inline constexpr std::array<Biometric, 5> kBiometrics = {Biometric::Fingerprint, Biometric::Face,
                                                         Biometric::Palm, Biometric::FingerVein,
                                                         Biometric::Iris};
/** "fingerprint", "face", "palm", "finger_vein", "iris". */
std::string_view to_string(Biometric b) noexcept;
std::optional<Biometric> parse_biometric(std::string_view name) noexcept;

/** Who takes an access decision at the door. */
enum class DecisionMode : std::uint8_t {
  Local,    ///< the device decides from what it holds
  Gateway,  ///< the device asks the gateway (e.g. Security PUSH remote identification)
};
std::string_view to_string(DecisionMode m) noexcept;

/** How queued commands reach the device. */
enum class CommandDelivery : std::uint8_t {
  Poll,  ///< the device fetches them when it polls
  Push,  ///< the adapter sends them as soon as they are queued
};
std::string_view to_string(CommandDelivery d) noexcept;

/**
 * What the master-data sync may write to a device (vendor-neutral). An
 * adapter declares the ones its command code executes for the device; the
 * sync plans nothing else for it (so nothing it cannot store is sent, fails
 * and is sent again).
 */
enum class SyncWrite : std::uint8_t {
  Users,       ///< user rows: pin, name, privilege, validity (upsert_user, delete_user)
  Cards,       ///< the user's card number, on its row
  Passwords,   ///< the user's PIN / password, on its row
  DoorRights,  ///< doors by time zone (authorize_user, deauthorize_user)
  TimeZones,   ///< time zone and holiday tables (upsert_/delete_timezone, _holiday)
  Templates,   ///< biometric templates of the types it reports (upsert_template)
  Photos,      ///< user and comparison photos (upsert_photo, upsert_biophoto)
  Batch,       ///< several records of one verb in one `batch` command
};
inline constexpr std::array<SyncWrite, 8> kSyncWrites = {
    SyncWrite::Users,     SyncWrite::Cards,     SyncWrite::Passwords, SyncWrite::DoorRights,
    SyncWrite::TimeZones, SyncWrite::Templates, SyncWrite::Photos,    SyncWrite::Batch};
/** Every SyncWrite: what a ZKTeco access terminal (and a row stored before them) takes. */
inline constexpr std::uint32_t kAllSyncWrites = (1u << kSyncWrites.size()) - 1;
/** "users", "cards", "passwords", "door_rights", "time_zones", "templates", "photos", "batch". */
std::string_view to_string(SyncWrite w) noexcept;
std::optional<SyncWrite> parse_sync_write(std::string_view name) noexcept;
constexpr std::uint32_t sync_bit(SyncWrite w) noexcept {
  return 1u << static_cast<unsigned>(w);
}

/**
 * What a device can do, in vendor-neutral terms. Filled by the adapter that
 * speaks to it (from what the device announces); read by the core (sync,
 * access, linkage, REST) and by the northbound adapters instead of any
 * vendor's protocol detail.
 */
struct DeviceCapabilities {
  int doors = 0;                 ///< doors (locks) it drives
  int readers = 0;               ///< readers attached
  std::uint32_t biometrics = 0;  ///< bit (1 << Biometric) per type it stores templates of
  DecisionMode decision = DecisionMode::Local;
  CommandDelivery commands = CommandDelivery::Poll;
  /**
   * It keeps users, credentials, templates, time zones and door rights that
   * the gateway may write to it (the sync serves it).
   */
  bool user_sync = false;
  /** What the sync may write to it: bit sync_bit(w) per SyncWrite (read when user_sync). */
  std::uint32_t sync_writes = 0;
  /**
   * Its user rows are one store shared with other devices (a BioStar 2
   * server's users serve all its readers). Without DoorRights the sync then
   * keeps a row there while the user is enabled, and removes it only when the
   * user is deleted, disabled or blacklisted: never because this device lost
   * its doors, which would take the user off every other device too.
   */
  bool shared_users = false;

  bool takes(SyncWrite w) const noexcept { return (sync_writes & sync_bit(w)) != 0; }
  bool has(Biometric b) const noexcept {
    return (biometrics & (1u << static_cast<unsigned>(b))) != 0;
  }
  void add(Biometric b) noexcept { biometrics |= 1u << static_cast<unsigned>(b); }
  bool operator==(const DeviceCapabilities&) const = default;
};

/**
 * `{"doors": n, "readers": n, "biometrics": ["fingerprint", ...], "decision":
 * "local"|"gateway", "commands": "poll"|"push", "user_sync": bool,
 * "sync_writes": ["users", ...], "shared_users": bool}`. Reading ignores unknown members and names;
 * what is absent keeps its default, except a row with user_sync and no
 * sync_writes (stored before they existed: a ZKTeco access terminal), which
 * reads as taking every SyncWrite.
 */
void to_json(nlohmann::json& j, const DeviceCapabilities& c);
void from_json(const nlohmann::json& j, DeviceCapabilities& c);

/** What pushgate knows about one terminal. */
struct TerminalRecord {
  std::string sn;
  std::string state = "accepted";  ///< accepted | pending | refused
  // The vendor-neutral description (filled by the adapter that speaks to it).
  std::string vendor;    ///< "zkteco", ...; empty until the device described itself
  std::string model;     ///< the device's model name, as it reports it
  std::string protocol;  ///< "zkpush-attendance", "zkpush-security", ...
  std::string firmware;
  DeviceCapabilities capabilities;
  // Protocol detail, interpreted only by the adapter of `protocol`.
  std::string flavour = "attendance";  ///< zkpush: attendance | access
  std::string push_version;
  std::string device_type;  ///< zkpush: DeviceType as sent (att, acc, ...)
  std::string ip;
  std::string info_json;     ///< the INFO= fields, as JSON
  std::string options_json;  ///< the pushed options, as JSON
  std::int64_t first_seen_ms = 0;
  std::int64_t last_seen_ms = 0;
};

/**
 * The live table of terminals: loaded from the store at start, updated as
 * terminals talk, persisted through the writer (WriteOps) so it never
 * blocks. Also answers the per-terminal settings from the config (name,
 * time zone). Thread-safe; every call is short.
 */
class TerminalRegistry {
 public:
  /** `unknown_policy`: "accept" or "pending" for serials never seen. */
  TerminalRegistry(const config::Config& config);

  /** SIGHUP: applies the reloadable settings (the policy for unknown serials). */
  void reload(const config::Config& config);

  /** Startup: reads the terminals table. */
  void load(store::Store& store);

  /** Why a serial never seen before was answered without being added to the table. */
  enum class NotAdmitted {
    No,           ///< known, or added (accept / pending policy)
    Refused,      ///< gateway.unknown_terminals = "refuse": counted, never stored
    PendingFull,  ///< gateway.max_pending_terminals reached: refused, not stored
  };

  /**
   * Records that `sn` talked to us from `ip` now. Creates the terminal on
   * first sight with the configured policy. Returns a copy of the record and
   * whether it must be persisted (new, changed, or not persisted for a
   * minute). A serial never seen that the policy does not admit (`refuse`,
   * or `pending` with gateway.max_pending_terminals pending already) is not
   * added: the copy says "refused", `persist` is false and `not_admitted`
   * says why, so a flood of invented serials costs no memory and no rows.
   */
  TerminalRecord seen(std::string_view sn, std::string_view ip, std::int64_t now_ms, bool& persist,
                      NotAdmitted* not_admitted = nullptr);

  std::optional<TerminalRecord> find(std::string_view sn) const;
  /** When `sn` was last heard from (0: never, or unknown), without copying its record. */
  std::int64_t last_seen_ms(std::string_view sn) const;
  /** Every real terminal seen (never an internal source, see is_terminal). */
  std::vector<TerminalRecord> all() const;
  /**
   * The serials of the real terminals seen (as all()) for which `pick`
   * holds, without copying their records: for periodic scans over
   * thousands of terminals. `pick` runs under the registry's lock.
   */
  std::vector<std::string> serials_if(const std::function<bool(const TerminalRecord&)>& pick) const;

  /**
   * Whether `sn` is a real terminal: false for the gateway's own sources
   * (timecards, access decisions, linkage: whatever writes events under
   * gateway.id). Those have rows in the store for their events but never get
   * a status, a Home Assistant device, a door or a Modbus slot.
   */
  bool is_terminal(std::string_view sn) const { return !sn.empty() && sn != gateway_id_; }

  /**
   * Whether commands may be queued for `sn`: "" when it is known (seen,
   * approved or configured) and not refused, else why not.
   */
  std::string command_refusal(std::string_view sn) const;

  /** Applies `change` to the record (creating it if absent) and returns the new copy. */
  TerminalRecord update(std::string_view sn, const std::function<void(TerminalRecord&)>& change);

  /** The zone a terminal's local times are in (its own setting, else the site's). */
  const Zone& zone_for(std::string_view sn) const;
  /**
   * Whether `address` may speak for `sn`: true when the terminal has no
   * configured networks, else when the address is inside one of them.
   */
  bool source_allowed(std::string_view sn, const std::string& address) const;

  /** The configured text encoding, canonical ("" when none: the adapter's default). */
  std::string encoding_for(std::string_view sn) const;

  /** The display name: the one set over the API, else the configured one ("" when none). */
  std::string name_for(std::string_view sn) const;

  /**
   * What an operator set for a terminal over the API (PATCH
   * /api/v1/terminals/{sn}): a display name and a time zone that win over
   * the config file's terminals.<sn>.name / .timezone. Absent: not set.
   */
  struct Settings {
    std::optional<std::string> name;
    std::optional<std::string> timezone;  ///< a spec Zone::parse accepted
  };
  /** The settings set over the API for `sn` (both absent when none). */
  Settings settings_for(std::string_view sn) const;
  /**
   * Replaces the settings of `sn`; "" when applied, else why not (a time
   * zone Zone::parse refuses). Times of that terminal read from then on are
   * placed in the new zone.
   */
  std::string set_settings(std::string_view sn, const Settings& settings);
  /** The durable form of settings (JSON text) and back; nullopt for unreadable text. */
  static std::string settings_json(const Settings& settings);
  static std::optional<Settings> parse_settings_json(std::string_view text);
  /** The adapter_state name the settings are stored under, key = serial. */
  static constexpr std::string_view kSettingsStateName = "core.terminal_settings";
  /** Start-up: applies the stored settings; returns the serials whose settings were unreadable. */
  std::vector<std::string> load_settings(const AdapterState::Entries& entries);

  /** A write that stores the record's current state (upsert by serial). */
  static WriteOp persist_op(const TerminalRecord& record);

  /**
   * The last_seen times not yet stored, as one batch of narrow updates
   * (last_seen_ms only): those persisted more than a minute ago, or every
   * one when `all` (a clean stop). Accepted terminals' polls never wait for
   * a write of their last_seen: the gateway flushes this once a second and
   * at stop, so thousands of idle terminals cost one small transaction now
   * and then instead of one commit per terminal per minute. Empty when
   * nothing is due.
   */
  WriteBatch last_seen_batch(std::int64_t now_ms, bool all);

  /** Terminals seen within `window_ms` of `now_ms`. */
  std::size_t online_count(std::int64_t now_ms, std::int64_t window_ms) const;

 private:
  struct Entry {
    TerminalRecord record;
    std::int64_t persisted_ms = 0;
  };
  mutable std::mutex mutex_;
  std::map<std::string, Entry, std::less<>> terminals_;
  std::map<std::string, std::string, std::less<>> names_;
  std::map<std::string, Zone, std::less<>> zones_;
  // Set over the API. Zones are interned by name and never freed, so the
  // references zone_for hands out stay valid when a terminal's zone changes.
  std::map<std::string, std::string, std::less<>> name_overrides_;
  std::map<std::string, const Zone*, std::less<>> zone_overrides_;
  std::map<std::string, std::unique_ptr<Zone>, std::less<>> interned_zones_;
  std::map<std::string, std::string, std::less<>> encodings_;
  struct Network {
    std::array<unsigned char, 16> bytes{};
    bool v4 = true;
    int prefix = 0;
  };
  std::map<std::string, std::vector<Network>, std::less<>> networks_;
  Zone site_zone_;
  std::string unknown_state_;
  std::size_t max_pending_ = 100;
  const std::string gateway_id_;  // the serial the gateway's own events are written under
};

}  // namespace pushgate
