#pragma once

// A simulated ZKTeco access-control terminal (Security PUSH 3.x,
// DeviceType=acc) that talks real HTTP/1.1 to a PUSH server: handshake and
// registration (§4.1, §4.4), configuration download (§4.5), getrequest
// polling (§8.1), execution of the server's DATA / CONTROL DEVICE commands
// into in-memory tables with devicecmd results (§7.4, §9), uploads of rtlog,
// rtstate and tabledata (§7.2–§7.11), and remote identification (§10).
//
// A client written from shared/seeds/003_72460ab9b4578a15.txt, not from
// pushgate's server code. Same shape as AttendanceTerminal: created with
// create(), owned by shared_ptr, all protocol work on one strand; public
// methods are thread-safe; wait_until()/identify_sync() block the calling
// thread and must not run on the io_context.
//
// Remote identification uses a second connection of its own (a real terminal
// asks at once, it does not wait for a getrequest in flight); requests of one
// terminal go one after the other.

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "tests/sim/access_protocol.hpp"
#include "tests/sim/attendance_terminal.hpp"
#include "tests/sim/http_client.hpp"

namespace pushgate::sim {

struct AccessTerminalConfig {
  std::string serial_number = "ACC00001";
  HttpClientConfig http;
  AccessDeviceProfile profile;
  /// Fingerprints are uploaded as `templatev10` (§7.7) instead of `biodata`
  /// (§7.11, the default for a MultiBio device).
  bool fingerprint_as_templatev10 = false;
  /// Overrides the server's RequestDelay (getrequest interval), for tests.
  std::optional<std::chrono::milliseconds> poll_interval;
  /// Overrides the server's ErrorDelay, for tests.
  std::optional<std::chrono::milliseconds> error_delay;
  std::chrono::milliseconds default_error_delay{30000};
  std::chrono::milliseconds default_delay{30000};  // §4.1: RequestDelay default 30 s
  std::chrono::milliseconds start_delay{0};
  /// Send `Cookie: token=..` once registered (the spec); false tests servers.
  bool send_token = true;
  /// After a remote identification answered SUCCESS, record the passage in
  /// the terminal's own log and upload it as rtlog (event 222, Appendix 2),
  /// as devices do; off by default so counts in other tests stay exact.
  bool log_remote_auth_passages = false;
  /// Start with `getrequest?SN=..&INFO=..` instead of the handshake (some 3.x
  /// firmware never sends the handshake first): an HTTP 401 to it leads to
  /// registration (§4.4) and configuration (§4.5); an answer of 200 means
  /// the server took it as registered, and polling goes on.
  bool start_with_info_poll = false;
  /// Options this firmware answers SET OPTIONS for with Return=0 and then
  /// ignores (the old value stays), as some firmware does.
  std::vector<std::string> ignored_options;
  /// Keep content_digest() of template and photo data instead of the data
  /// (large syncs: 10,000 photos on each of 200 terminals do not fit in RAM).
  bool keep_digests = false;
  /// When set and true for a DATA UPDATE (table, the records' lines), the
  /// terminal answers it Return=-11 without applying any record of it (a
  /// full table, a record the firmware rejects): the server must send them
  /// again. Runs on the terminal's strand.
  std::function<bool(const std::string& table, const std::string& records)> refuse_update;
  /// Optional in-flight limit shared by many terminals (not used by
  /// remote identification, which must not queue behind uploads).
  RequestGate* gate = nullptr;
  std::function<void(std::string_view)> log;
};

struct AccessTerminalStats {
  std::uint64_t requests_sent = 0;
  std::uint64_t failures_transport = 0;
  std::uint64_t failures_status = 0;
  std::uint64_t failures_body = 0;
  std::uint64_t handshakes_ok = 0;
  std::uint64_t info_polls = 0;  // start_with_info_poll: first requests sent
  std::uint64_t registrations = 0;
  std::uint64_t configs_downloaded = 0;
  std::uint64_t polls = 0;
  std::uint64_t commands_executed = 0;
  std::uint64_t commands_failed = 0;  // answered Return < 0
  std::uint64_t command_results_acked = 0;
  std::uint64_t uploads_acked = 0;  // rtlog / rtstate / tabledata requests
  std::uint64_t uploads_pending = 0;
  std::uint64_t remote_auth_sent = 0;
  std::uint64_t remote_auth_answered = 0;  // HTTP 200 with AUTH=
  std::uint64_t door_actions = 0;          // CONTROL DEVICE executed (commands and §10)
  std::uint64_t protocol_problems = 0;
  bool online = false;
  std::uint64_t failures() const { return failures_transport + failures_status + failures_body; }
};

/// An access right (§9.1.1 userauthorize).
struct AccessAuthorization {
  std::string pin;
  std::string timezone_id;
  std::string door_bits;  // AuthorizeDoorId: bit i = door i+1
  std::string dev_id;
};

/// How much the terminal holds (cheap to read while a large sync runs).
struct AccessHeldCounts {
  std::size_t users = 0;
  std::size_t authorizations = 0;
  std::size_t templates = 0;
  std::size_t photos = 0;
};

/// What AccessTerminalConfig::keep_digests keeps of a template or photo.
std::string content_digest(std::string_view data);

/// One CONTROL DEVICE the terminal carried out.
struct DoorAction {
  std::string origin;  // "command" (getrequest) or "remote_auth" (§10 answer)
  std::string command_id;
  ControlDevice control;
};

/// What one remote identification produced.
struct RemoteAuthResult {
  boost::system::error_code ec;  // transport error: no answer
  unsigned status = 0;
  std::string body;
  RemoteAuthAnswer answer;  // parsed body (answer.ok false when not AUTH=)
  std::chrono::microseconds latency{};
};

class AccessTerminal final : public SimulatedTerminal,
                             public std::enable_shared_from_this<AccessTerminal> {
 public:
  static std::shared_ptr<AccessTerminal> create(boost::asio::io_context& ioc,
                                                AccessTerminalConfig config);
  ~AccessTerminal() override;

  // SimulatedTerminal
  void start() override;
  void stop() override;
  const std::string& serial_number() const override { return config_.serial_number; }
  /// The attendance-shaped counters a load run reads (requests, failures,
  /// polls, commands, online).
  TerminalStats stats() const override;
  AccessTerminalStats access_stats() const;

  /// An enrolment at the terminal: the user, templates and photos are stored
  /// and uploaded as tabledata (user, then biodata/templatev10, then
  /// biophoto/userpic), in that order.
  void enroll(AccessUser user, std::vector<AccessTemplate> templates = {},
              std::vector<AccessPhoto> photos = {});
  /// A real-time event (index assigned when 0, time = device clock when at
  /// epoch), uploaded as rtlog.
  void add_rtlog(RtLogEvent event);
  /// A door-state report (§7.3), uploaded as rtstate.
  void report_state(std::string sensor, std::string relay, std::string alarm);

  /// Asks the server (§10). `done` runs once, on the terminal's strand. A
  /// SUCCESS carrying CONTROL DEVICE is executed (a DoorAction).
  void identify(RemoteAuthRequest request, std::function<void(RemoteAuthResult)> done);
  /// identify() for test threads: blocks until the answer or `timeout`.
  RemoteAuthResult identify_sync(RemoteAuthRequest request, std::chrono::milliseconds timeout);

  // Observable state (copies).
  std::map<std::string, AccessUser> users() const;
  std::vector<AccessAuthorization> authorizations() const;
  std::map<std::string, Fields> timezones() const;  // by TimezoneId
  std::map<std::string, Fields> holidays() const;   // by Holiday date
  std::vector<AccessTemplate> templates() const;
  std::vector<AccessPhoto> photos() const;
  AccessHeldCounts held_counts() const;
  std::vector<ExecutedCommand> executed_commands() const;
  std::vector<DoorAction> door_actions() const;
  std::vector<std::string> problems() const;
  std::map<std::string, std::string> options() const;
  std::optional<AccessServerConfig> server_config() const;
  std::string registry_code() const;
  LocalSeconds device_now() const;

  bool wait_until(const std::function<bool(const AccessTerminalStats&)>& pred,
                  std::chrono::milliseconds timeout) const;

 private:
  /// problems() keeps this many; later ones are only counted.
  static constexpr std::size_t kMaxProblems = 1000;
  using Clock = std::chrono::steady_clock;
  using Strand = boost::asio::strand<boost::asio::io_context::executor_type>;
  enum class Failure { Transport, Status, Body };
  enum class Stage { InfoPoll, Handshake, Registry, Push, Online };

  struct Outbound {
    std::string target;
    std::string body;
    /// Accepted answer besides "OK...": "<tablename>=" for tabledata.
    std::string ok_prefix;
    std::vector<std::size_t> command_slots;
  };
  struct PendingAuth {
    RemoteAuthRequest request;
    std::function<void(RemoteAuthResult)> done;
  };

  AccessTerminal(boost::asio::io_context& ioc, AccessTerminalConfig config);

  void do_next();
  void arm_timer(Clock::time_point when);
  void wake();
  void send(HttpRequest request, std::function<void(HttpResult)> on_done);
  bool answered(const HttpResult& result, std::string_view what);
  void fail(Failure kind, std::string_view what);
  void done_step();

  void do_info_poll();
  void on_info_poll(HttpResult result);
  void do_handshake();
  void on_handshake(HttpResult result);
  void do_registry();
  void on_registry(HttpResult result);
  void do_push();
  void on_push(HttpResult result);
  void do_send_outbox();
  void on_outbox_sent(HttpResult result);
  void do_poll();
  void on_poll(HttpResult result);
  void next_auth();

  int execute(const std::string& id, const AccessCommand& command, std::string& reply_cmd);
  int update_data(const AccessCommand& command);
  int update_record(const AccessCommand& command);
  int delete_data(const AccessCommand& command);
  int control_device(const std::string& id, const AccessCommand& command);

  void queue_upload(std::string table, std::string body, bool tabledata, std::size_t count);
  void apply_config(const AccessServerConfig& config);
  void sync_clock(const std::string& date_header);
  void note_problem(std::string problem);
  std::string sn_query() const;
  void add_headers(HttpRequest& request) const;
  void notify();

  const AccessTerminalConfig config_;
  const std::vector<bool> data_support_;
  const std::vector<bool> photo_support_;
  Strand strand_;
  boost::asio::steady_timer timer_;
  HttpClient client_;
  HttpClient auth_client_;

  // Strand-only state.
  bool started_ = false;
  bool stopped_ = false;
  bool busy_ = false;
  bool waiting_ = false;
  bool auth_busy_ = false;
  Stage stage_ = Stage::Handshake;
  Clock::time_point backoff_until_{};
  Clock::time_point next_poll_{};
  std::optional<std::chrono::milliseconds> server_delay_;
  std::optional<std::chrono::milliseconds> server_error_delay_;
  std::deque<PendingAuth> auth_queue_;

  // Observable state, guarded by mutex_.
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  AccessTerminalStats stats_;
  std::deque<Outbound> outbox_;
  std::string registry_code_;
  std::string session_id_;
  std::optional<AccessServerConfig> server_config_;
  std::map<std::string, AccessUser> users_;
  std::map<std::pair<std::string, std::string>, AccessAuthorization> authorizations_;
  std::map<std::string, Fields> timezones_;
  std::map<std::string, Fields> holidays_;
  /// Keyed by (pin, type, no, index).
  std::map<std::tuple<std::string, int, int, int>, AccessTemplate> templates_;
  /// Keyed by (pin, table, type).
  std::map<std::tuple<std::string, std::string, int>, AccessPhoto> photos_;
  std::map<std::string, std::string> options_;
  /// Uploads a command produced (GET OPTIONS: querydata), sent before its result.
  std::vector<Outbound> command_uploads_;
  std::vector<ExecutedCommand> commands_;
  std::vector<DoorAction> door_actions_;
  std::vector<std::string> problems_;
  std::chrono::system_clock::duration clock_offset_{};
  std::uint64_t last_index_ = 0;
  int next_uid_ = 1;
};

}  // namespace pushgate::sim
