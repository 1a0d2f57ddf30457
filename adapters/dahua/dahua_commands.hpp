#pragma once

// Gateway commands for Dahua access controllers over the HTTP (CGI) API:
// pure builders (verb + params → the HTTP requests) and answer readers (the
// device's answer → done / failed / retry later). Nothing here opens a
// socket: the adapter takes a command from the durable queue, plans it here,
// sends each request with its Digest client and feeds the answers back to a
// DahuaCommandRun, which says what to send next and, at the end, the result.
//
// Sources (adapters/dahua/README.md, "Commands", tags each row):
//   accessControl.cgi openDoor / closeDoor / getDoorStatus, global.cgi
//   setCurrentTime, magicBox.cgi reboot / getSystemInfo: research file §1.5,
//   §1.7 (Intelbras pages, bolkonskiy/dahua-acs-ha api.py, rroller/dahua).
//   AccessUser.cgi / AccessCard.cgi insertMulti, updateMulti, removeMulti,
//   startFind (JSON bodies) and the legacy recordUpdater.cgi: research file
//   §1.6 (zzhandoss/dahua-terminal-adapter, EthanFlower1/amcrest-sdk) [obs].
//
// Never throws on device bytes; every answer is read from at most
// kMaxAnswerBytes, and the reasons it yields are printable and bounded.
// Threads: the free functions are pure and re-entrant; a DahuaCommandRun is
// one command's state, used from one strand (the adapter's, per device). No
// call blocks. Counting and logging refusals is the adapter's (it has the
// metrics registry and the device's logger); the reasons here are meant for
// the command's `error` as they are.

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace pushgate::adapters::dahua {

/** One HTTP request to the device (Digest is the sender's business). */
struct DahuaRequest {
  std::string method = "GET";  ///< GET | POST
  std::string target;          ///< path and query, URL-encoded
  std::string content_type;    ///< "" without a body
  std::string body;
};

/** What came back: the status and the body (the sender's transport errors never get here). */
struct DahuaAnswer {
  unsigned status = 0;
  std::string body;
};

/** Which user/card API the firmware has. */
enum class FirmwareApi {
  Unknown,  ///< not probed yet, or the probe's answer said nothing
  Current,  ///< AccessUser.cgi / AccessCard.cgi with JSON bodies (Web 5.0 firmware)
  Legacy,   ///< only recordUpdater.cgi, table AccessControlCard
};

std::string_view to_string(FirmwareApi api) noexcept;

/** How the gateway's doors meet the device's URL channels. */
struct DahuaDoors {
  /**
   * Gateway door number (the `door` param, 1-based) → URL `channel`
   * (1-based; events and records say Door = channel - 1). Empty: channel =
   * door.
   */
  std::map<int, int> channel_of_door;
  /** Doors (channels) the device has; 0: not known, any channel is tried. */
  int door_count = 0;

  /** The channel of `door`, or nullopt when the device has no such door. */
  std::optional<int> channel(int door) const;
};

/** What the planner knows of one device. */
struct DahuaDeviceProfile {
  FirmwareApi api = FirmwareApi::Unknown;
  DahuaDoors doors;
  /**
   * The gateway's time zone id (authorize_user time_zone_id) → the device's
   * TimeSections value (an AccessTimeSchedule index, 255 = always). Zone 1,
   * the default of authorize_user and the all-day zone of ZKTeco panels, is
   * 255; an unmapped zone is refused, never widened to "always".
   */
  std::map<std::int64_t, int> time_section_of_zone{{1, 255}};
  /** Entries per insertMulti / updateMulti / removeMulti request (longer lists are chunked). */
  std::size_t max_entries_per_request = 10;
};

/**
 * The profile of a device from its configuration: `door_map` (event Door,
 * 0-based → gateway door) gives each mapped door its channel (Door + 1);
 * `schedules` (gateway time zone → TimeSections value) adds to or replaces
 * the default zone 1 → 255.
 */
DahuaDeviceProfile make_profile(FirmwareApi api, const std::map<int, int>& door_map,
                                const std::map<std::int64_t, int>& schedules);

/** Reads of the device answer bodies stop here (the rest is not looked at). */
inline constexpr std::size_t kMaxAnswerBytes = 64 * 1024;

// ---------------------------------------------------------------------------
// Single requests
// ---------------------------------------------------------------------------

/** GET /cgi-bin/accessControl.cgi?action=openDoor&channel=N&Type=Remote[&UserID=..]. */
DahuaRequest open_door_request(int channel, std::string_view user_id = {});
/** GET /cgi-bin/accessControl.cgi?action=closeDoor&channel=N. */
DahuaRequest close_door_request(int channel);
/** GET /cgi-bin/accessControl.cgi?action=getDoorStatus&channel=N (answer
 * Info.status=Open|Close|Break). */
DahuaRequest door_status_request(int channel);
/** GET /cgi-bin/global.cgi?action=setCurrentTime&time=YYYY-MM-DD%20HH:MM:SS; nullopt when
 * `local_time` is not that form. */
std::optional<DahuaRequest> set_time_request(std::string_view local_time);
/** GET /cgi-bin/global.cgi?action=getCurrentTime (answer result=YYYY-MM-DD HH:MM:SS). */
DahuaRequest get_time_request();

/** A user as AccessUser.cgi stores it (fields left empty are not sent). */
struct DahuaUser {
  std::string user_id;
  std::string name;
  std::optional<int> authority;  ///< 1 administrator, 2 ordinary user
  std::string password;
  std::optional<std::vector<int>> doors;          ///< 0-based Door numbers
  std::optional<std::vector<int>> time_sections;  ///< one per door; 255 = always
  std::string valid_from;                         ///< "YYYY-MM-DD HH:MM:SS" or ""
  std::string valid_to;
};

/** A card as AccessCard.cgi stores it. */
struct DahuaCard {
  std::string card_no;
  std::string user_id;
  int card_type = 0;    ///< 0 ordinary
  int card_status = 0;  ///< 0 normal
};

enum class ListAction { Insert, Update };

/**
 * POST /cgi-bin/AccessUser.cgi?action=insertMulti|updateMulti with
 * {"UserList":[...]}, one request per max_entries entries.
 */
std::vector<DahuaRequest> user_list_requests(ListAction action, const std::vector<DahuaUser>& users,
                                             std::size_t max_entries);
/** POST /cgi-bin/AccessCard.cgi?action=insertMulti|updateMulti with {"CardList":[...]}. */
std::vector<DahuaRequest> card_list_requests(ListAction action, const std::vector<DahuaCard>& cards,
                                             std::size_t max_entries);
/** GET /cgi-bin/AccessUser.cgi?action=removeMulti&UserIDList[0]=..&UserIDList[1]=.. */
std::vector<DahuaRequest> remove_users_requests(const std::vector<std::string>& user_ids,
                                                std::size_t max_entries);
/** GET /cgi-bin/AccessCard.cgi?action=removeMulti&CardNoList[0]=.. */
std::vector<DahuaRequest> remove_cards_requests(const std::vector<std::string>& card_nos,
                                                std::size_t max_entries);

// ---------------------------------------------------------------------------
// Firmware probe
// ---------------------------------------------------------------------------

/**
 * The probe: GET /cgi-bin/AccessUser.cgi?action=startFind. Current firmware
 * answers {"Token":..,"Total":..,"Caps":..}; firmware without the API answers
 * 404 or "Error\r\nBad Request!".
 */
DahuaRequest firmware_probe_request();

struct FirmwareProbe {
  FirmwareApi api = FirmwareApi::Unknown;  ///< Unknown: probe again later
  std::string reason;                      ///< why (for the log)
  std::optional<std::int64_t> token;       ///< the find to close (stop_find_request)
  std::optional<std::int64_t> caps;        ///< the device's Caps, when it says
};

/** Decides from the probe's answer. Pure; bounded. */
FirmwareProbe decide_firmware(const DahuaAnswer& answer);

/** GET /cgi-bin/AccessUser.cgi?action=stopFind&Token=N: closes the probe's find. */
DahuaRequest stop_find_request(std::int64_t token);

/** The cards of a user: GET /cgi-bin/AccessCard.cgi?action=startFind&Condition.UserID=.. */
DahuaRequest card_find_request(std::string_view user_id);
/** GET /cgi-bin/AccessCard.cgi?action=doFind&Token=N&Offset=0&Count=M (at most 100). */
DahuaRequest card_page_request(std::int64_t token, std::size_t count);
/** GET /cgi-bin/AccessCard.cgi?action=stopFind&Token=N. */
DahuaRequest card_stop_find_request(std::int64_t token);

// ---------------------------------------------------------------------------
// Answers
// ---------------------------------------------------------------------------

enum class Outcome {
  Done,         ///< the device did it
  Failed,       ///< the device refused it, for good: fail the command with `reason`
  RetryLater,   ///< not now (busy, 5xx, not authorised yet, firmware not probed): leave it sent
  Unsupported,  ///< Dahua cannot do this verb / parameter: fail the command with `reason`
};

std::string_view to_string(Outcome outcome) noexcept;

/** How a request's answer is read. */
enum class AnswerKind {
  Ok,          ///< "OK"
  DoorStatus,  ///< Info.status=Open|Close|Break → value
  KeyValues,   ///< key=value lines (getSystemInfo, getCurrentTime) → value: compact JSON object
  ListWrite,   ///< insertMulti / updateMulti / removeMulti: "OK", or JSON with per-entry failures
  RecNo,       ///< recordUpdater insert: RecNo=N → value
  Lookup,      ///< recordFinder find of AccessControlCard (legacy): the rows, read by the run
  FindStart,   ///< AccessCard.cgi startFind: {"Token","Total"} → value: the token
  FindPage,    ///< AccessCard.cgi doFind: {"Found","Info":[..]} → value: the CardNos, LF-joined
};

struct AnswerResult {
  Outcome outcome = Outcome::Failed;
  std::string reason;  ///< why not Done ("" when Done)
  std::string value;   ///< what a read gave (door status, RecNo, key/values as JSON)
  /** The device answered "Error" (or 400): the request was understood and refused. */
  bool device_refused = false;
};

/**
 * Reads one answer. HTTP 200 with the expected body is Done; "Error ..."
 * bodies and 400 are Failed with the device's words (device_refused);
 * 401/403 (the Digest layer gave up), 408, 429 and 5xx are RetryLater; 404
 * is Failed (the firmware has no such call); JSON per-entry failures of a
 * list write are Failed naming the entries, from `entry_ids` (the request's
 * ids, in order).
 */
AnswerResult read_answer(AnswerKind kind, const DahuaAnswer& answer,
                         const std::vector<std::string>& entry_ids = {});

// ---------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------

/** One step of a command: a request, how its answer is read, and a fallback. */
struct DahuaStep {
  DahuaRequest request;
  AnswerKind kind = AnswerKind::Ok;
  std::vector<std::string> entry_ids;  ///< ids in the request's list, in order
  /**
   * Sent instead when the device refuses `request` ("Error", 400): an
   * insertMulti of an id the device already holds is refused, the
   * updateMulti of it is the upsert.
   */
  std::optional<DahuaRequest> fallback;
  /** Lookup steps: the legacy card fields to write once the RecNos are known. */
  std::vector<std::pair<std::string, std::string>> legacy_fields;
  /** Lookup steps: what to do with the rows found. */
  enum class LegacyMode {
    Upsert,     ///< update the first row found, else insert
    UpdateAll,  ///< update every row found; none is a failure
    RemoveAll,  ///< remove every row found; none is done
  } legacy_mode = LegacyMode::Upsert;
  /**
   * Card sweep (FindStart / FindPage steps, current firmware): the cards
   * the device binds to the user are found and every one but this is
   * removed ("" removes them all): a deleted user's card, or the card a
   * user had before, must stop opening doors.
   */
  std::string keep_card;
  /** Card sweep: CardNos per removeMulti. */
  std::size_t max_entries = 10;
  /** The answer does not decide the command (stopFind): a failure is ignored. */
  bool best_effort = false;
};

struct DahuaCommandPlan {
  std::vector<DahuaStep> steps;
  /** Set: nothing is sent, the command ends with this outcome (Unsupported, RetryLater, Failed). */
  std::optional<Outcome> refused;
  std::string reason;              ///< why it is refused
  std::vector<std::string> notes;  ///< what the device does differently (e.g. seconds not honoured)
};

/**
 * Plans a command of the gateway's vocabulary (gateway/command_spec.hpp) for
 * one device: open_door, normal_open (on=false: closeDoor), close_door,
 * door_status, set_time, reboot, info, upsert_user, authorize_user,
 * deauthorize_user, delete_user. Other verbs, and parameters Dahua has no
 * equivalent for, are refused as Unsupported with a reason; user writes
 * before the firmware is probed are RetryLater. `params` comes validated from
 * the queue but is checked again (wrong types are Failed, never a throw).
 */
DahuaCommandPlan plan_command(std::string_view verb, const nlohmann::json& params,
                              const DahuaDeviceProfile& profile);

/** The command's end: what the adapter reports to the queue. */
struct CommandOutcome {
  Outcome outcome = Outcome::Done;
  std::string reason;  ///< Failed / RetryLater / Unsupported: why
  std::string result;  ///< Done: what the device answered (door status, RecNo, "OK")
};

/**
 * Runs a plan one answer at a time (the adapter sends, this decides):
 *   DahuaCommandRun run(plan_command(...));
 *   while (const DahuaRequest* r = run.next()) run.accept(send(*r));
 *   report(run.outcome());
 * A step whose request is refused is retried once as its fallback; the first
 * step that is not Done ends the run with its outcome; legacy lookups become
 * the update / insert / remove requests of the RecNos found.
 */
class DahuaCommandRun {
 public:
  explicit DahuaCommandRun(DahuaCommandPlan plan);

  /** The request to send now, or nullptr when the run is over. */
  const DahuaRequest* next() const noexcept;
  /** The answer to next(). */
  void accept(const DahuaAnswer& answer);
  /** The connection failed (refused, reset, timeout): RetryLater. */
  void transport_failed(std::string_view why);

  bool finished() const noexcept { return finished_; }
  const CommandOutcome& outcome() const noexcept { return outcome_; }
  /** Requests sent so far (fallbacks included). */
  std::size_t sent() const noexcept { return sent_; }

 private:
  void finish(Outcome outcome, std::string reason);
  void advance();

  std::vector<DahuaStep> steps_;
  std::size_t index_ = 0;
  bool on_fallback_ = false;
  std::string first_refusal_;  ///< why the step's request was refused before its fallback
  bool finished_ = false;
  std::size_t sent_ = 0;
  std::vector<std::string> values_;
  CommandOutcome outcome_;
};

}  // namespace pushgate::adapters::dahua
