#pragma once

// A simulated Dahua access controller (ASI-style, and its Intelbras OEM
// rebrands) speaking the device's HTTP CGI API on loopback: Digest server,
// magicBox/global, the eventManager multipart stream with injectable quirks,
// recordFinder, accessControl, AccessUser/AccessCard, legacy recordUpdater,
// reboot, and the EventHttpUpload push client.
//
// Written from the vendor documentation and from facts observed by open
// projects (tests/sim/README.md, "Dahua device", names the source of each
// behaviour), never from adapters/dahua/: nothing here includes or links it.
//
// Threading: the device owns one io_context thread; every socket, the stream
// subscribers and the push client live on it. The public methods are
// thread-safe (tests call them from the test thread): the shared state
// (records, users, doors, auth, clock) is guarded by one mutex, and stream
// deliveries are posted to the device's thread.

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "tests/sim/dahua_digest.hpp"

namespace pushgate::sim {
class Ledger;
}

namespace pushgate::sim::dahua {

/// A field value as the device writes it: a number or a string.
using Value = std::variant<std::int64_t, std::string>;

enum class Table { Access, Alarm };

/// The name of `table` in recordFinder.cgi (AccessControlCardRec,
/// AccessControlAlarmRecord).
const char* table_name(Table table);

/// One record of the device's own record table, also the event it produced.
struct Record {
  Table table = Table::Access;
  std::uint64_t rec_no = 0;
  std::int64_t create_time = 0;  // device clock, epoch seconds
  std::string code;              // event code: AccessControl, BreakIn, ...
  std::string action;            // Pulse, Start, Stop
  int index = 0;                 // door, 0-based
  /// The record's fields in name order (RecNo and CreateTime included).
  std::map<std::string, Value> fields;
};

/// An access attempt to generate (AccessControl, action=Pulse).
struct AccessSpec {
  bool granted = true;
  int error_code = 0;  // ErrorCode, the reason of a refusal (16 unauthorized, ...)
  int method = 1;      // Method, HTTP-API enum (1 card, 4 remote, 15 face, ...)
  int door = 0;        // Door, 0-based
  std::string reader_id = "1";
  std::string user_id = "1";
  std::string card_no = "12EA3004";
  std::string card_name;
  std::string type = "Entry";  // Entry | Exit
  int attendance_state = 0;
  /// Epoch seconds of the device clock; unset: the device clock now.
  std::optional<std::int64_t> create_time;
};

/// An alarm to generate (an AccessControlAlarmRecord row and a stream event).
struct AlarmSpec {
  std::string code = "BreakIn";  // BreakIn, DoorNotClosed, Duress, ChassisIntruded, AlarmLocal
  std::string action = "Start";  // Start | Stop | Pulse
  int door = 0;
  std::string user_id;
  std::optional<std::int64_t> create_time;
};

/// How the next parts of the eventManager stream are malformed, on purpose.
struct StreamQuirks {
  bool pretty_json = true;          // as in the documented sample; false: one line
  bool two_codes_per_part = false;  // pack two events into one part
  enum class Length { Correct, Missing, Wrong } content_length = Length::Correct;
  bool equals_in_values = false;  // CardName "a=b;c=d" (rroller/dahua #477)
  bool mixed_key_case = false;    // "code=...;Action=...;INDEX=...;Data="
  /// Write every part in chunks of this many bytes (0: one write); 1 puts
  /// a write boundary inside "--myboundary" for sure.
  std::size_t split_chunk = 0;
  /// Nonzero: chunks of random length 1..split_chunk from this seed.
  std::uint64_t split_seed = 0;
  /// Silent stall: the connection stays open, nothing more is written;
  /// events happening meanwhile never reach the stream (only the records).
  bool stall = false;
  /// A hiccup: nothing is written (heartbeats neither) but events queue up
  /// and are written together when it is lifted (with two_codes_per_part
  /// they then share parts).
  bool hold = false;
};

/// How recordFinder replies look (observed firmware differences).
struct FinderQuirks {
  bool capital_records = false;   // Records[n] instead of records[n]
  bool omit_empty = false;        // empty fields left out
  bool date_string_time = false;  // CreateTime as "YYYY-MM-DD HH:MM:SS"
  bool total_count = false;       // add totalCount=<all matches>
};

/// What an old firmware answers to AccessUser.cgi/AccessCard.cgi.
enum class OldFirmwareAnswer { NotFound404, BadRequest400 };

/// EventHttpUpload: the device posts every event to a server.
struct PushConfig {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::string path = "/dahua/event";
  enum class Format { Json, Text } format = Format::Json;
  enum class Encoding { None, Deflate, Zlib, Gzip } encoding = Encoding::None;
  /// Credentials the device answers a Digest challenge with.
  std::string user;
  std::string password;
  std::chrono::milliseconds retry_interval{1000};
  std::chrono::milliseconds keepalive_interval{20000};  // 0: no keep-alives
  std::chrono::milliseconds request_timeout{10000};
};

struct DahuaDeviceConfig {
  std::string serial = "DHSIM0001";
  std::string device_type = "ASI3213A-W";
  std::string user = "admin";
  std::string password = "admin123";
  /// Empty: "Login to <serial>".
  std::string realm;
  std::chrono::milliseconds nonce_lifetime{std::chrono::minutes(5)};
  std::uint32_t nonce_max_uses = 0;
  std::uint32_t lock_after_failures = 5;
  std::chrono::milliseconds lock_duration{std::chrono::minutes(5)};
  std::uint16_t port = 0;  // 0: any free loopback port
  /// Both set: HTTPS on `port` with this certificate chain and key (PEM
  /// files), as devices with HTTPS enabled; plain HTTP otherwise.
  std::string tls_cert_file;
  std::string tls_key_file;
  int doors = 2;
  /// Device clock = real clock + this.
  std::chrono::seconds clock_offset{0};
  /// recordFinder returns at most this many records per page.
  std::size_t page_cap = 100;
  /// Length of one "second" of the stream's heartbeat=N (tests shorten it).
  std::chrono::milliseconds heartbeat_unit{1000};
  bool old_firmware = false;
  OldFirmwareAnswer old_firmware_answer = OldFirmwareAnswer::NotFound404;
  /// Non-empty: every generated record is appended (fsynced) to this file
  /// as "<serial>\t<table>\t<RecNo>\t<CreateTime>\t<Code>\t<UserID>".
  std::string ledger_path;
  std::optional<PushConfig> push;
};

struct PushStats {
  std::uint64_t attempts = 0;    // event POSTs sent
  std::uint64_t delivered = 0;   // events answered 200
  std::uint64_t rejected = 0;    // answers other than 200 (401 included)
  std::uint64_t failed = 0;      // connect/read errors
  std::uint64_t keepalives = 0;  // keep-alive GETs answered 200
  std::size_t queued = 0;        // events not yet delivered
};

class DahuaDevice {
 public:
  /// Starts listening on 127.0.0.1:config.port. Throws on setup failure
  /// (bind, ledger open): startup only.
  explicit DahuaDevice(DahuaDeviceConfig config);
  ~DahuaDevice();
  DahuaDevice(const DahuaDevice&) = delete;
  DahuaDevice& operator=(const DahuaDevice&) = delete;

  std::uint16_t port() const { return port_; }
  const std::string& serial() const { return config_.serial; }
  std::string realm() const;

  // Event source ------------------------------------------------------------
  Record generate_access(const AccessSpec& spec);
  Record generate_alarm(const AlarmSpec& spec);
  /// Generates `count` access events (every `alarm_every`th an alarm, 0:
  /// none) at `per_second`, on the device thread, from `seed`.
  void start_generator(double per_second, std::size_t count, std::uint64_t seed,
                       std::size_t alarm_every = 0);
  void stop_generator();
  std::size_t generator_remaining() const;
  /// Every record so far, in RecNo order.
  std::vector<Record> records(Table table) const;

  // Clock ---------------------------------------------------------------------
  std::int64_t device_now() const;  // epoch seconds of the device clock
  void set_clock_offset(std::chrono::seconds offset);
  std::chrono::seconds clock_offset() const;

  // Quirks and faults ----------------------------------------------------------
  /// The quirks apply to events generated after the call (each event keeps
  /// the quirks in force when it happened); stall/hold act at once.
  void set_stream_quirks(const StreamQuirks& quirks);
  void set_finder_quirks(const FinderQuirks& quirks);
  void set_old_firmware(bool old);
  /// Closes every open event stream (the device dropping the connection).
  void drop_streams();
  /// Open event streams.
  std::size_t stream_count() const { return streams_open_.load(); }
  /// Heartbeat parts written so far, over all streams.
  std::uint64_t heartbeats_sent() const { return heartbeats_.load(); }
  /// Socket writes of stream parts so far (a split part takes several).
  std::uint64_t stream_writes() const { return stream_writes_.load(); }
  /// Reboot: closes every connection and the listener; connections are
  /// refused until power_on() (or, with `down_for`, until it has passed).
  /// Records, users and the clock survive; nonces do not.
  void reboot(std::optional<std::chrono::milliseconds> down_for = std::nullopt);
  void power_on();
  bool is_up() const { return up_.load(); }
  std::uint64_t boots() const { return boots_.load(); }

  // Authentication ---------------------------------------------------------------
  AuthStats auth_stats() const;
  void expire_nonces();
  void unlock_account();
  void set_password(const std::string& password);

  // Doors, users, cards ----------------------------------------------------------
  /// "Open", "Close" or "Break" for 0-based `door`.
  std::string door_status(int door) const;
  void set_door_status(int door, const std::string& status);
  /// The users/cards of the new API (JSON objects as the device stores them).
  std::map<std::string, std::string> users() const;  // UserID -> JSON
  std::map<std::string, std::string> cards() const;  // CardNo -> JSON
  /// The legacy AccessControlCard table: RecNo -> "CardNo=..&UserID=.." fields.
  std::map<std::uint64_t, std::map<std::string, std::string>> legacy_cards() const;
  /// Requests seen, by "<path>?action=<action>" (e.g.
  /// "/cgi-bin/accessControl.cgi?action=openDoor").
  std::uint64_t requests_seen(const std::string& key) const;

  // Push mode ---------------------------------------------------------------------
  PushStats push_stats() const;

  // HTTPS (tls_cert_file) ---------------------------------------------------------
  /// TLS handshakes begun, and those that failed (a client refusing the
  /// certificate, or not speaking TLS).
  std::uint64_t tls_handshakes() const { return tls_handshakes_.load(); }
  std::uint64_t tls_failures() const { return tls_failures_.load(); }

  struct Impl;

 private:
  DahuaDeviceConfig config_;
  std::uint16_t port_ = 0;
  std::atomic<std::size_t> streams_open_{0};
  std::atomic<std::uint64_t> heartbeats_{0};
  std::atomic<std::uint64_t> stream_writes_{0};
  std::atomic<bool> up_{false};
  std::atomic<std::uint64_t> boots_{0};
  std::atomic<std::uint64_t> tls_handshakes_{0};
  std::atomic<std::uint64_t> tls_failures_{0};
  std::unique_ptr<Impl> impl_;
};

// Pure formatting, shared by the device and its tests ---------------------------

/// "Code=<code>;action=<action>;index=<index>;data=<json>" for `record`
/// (the documented text form), with the quirks that change the text.
std::string event_text(const Record& record, const StreamQuirks& quirks);
/// {"Code":...,"Action":...,"Index":...,"Data":{...}} (EventHttpUpload JSON).
std::string event_json(const Record& record);
/// The record's fields as a JSON object; pretty: one field a line,
/// `"Key" : value` with a 3-space indent, as in the documented sample.
std::string fields_json(const Record& record, bool pretty);
/// "YYYY-MM-DD HH:MM:SS" of epoch seconds (the device's zone is UTC).
std::string format_time(std::int64_t epoch);
/// Inverse of format_time; nullopt when malformed.
std::optional<std::int64_t> parse_time(std::string_view text);

}  // namespace pushgate::sim::dahua
