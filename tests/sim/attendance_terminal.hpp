#pragma once

// A simulated ZKTeco attendance terminal (PUSH 2.4.1, SpeedFace-V5L[TD] shape)
// that talks real HTTP/1.1 to a PUSH server: handshake, options push, ATTLOG /
// OPERLOG uploads in batches, getrequest polling, command execution and
// devicecmd results. It is a client written from the spec and the captures,
// not from pushgate's server code, so the two cannot share a parser bug.
//
// Threading and ownership:
// - Created with create() and owned by shared_ptr; every pending handler holds
//   it (Beast client style). All protocol work runs on one strand of the given
//   io_context, one request at a time, each on a new connection.
// - The public methods are thread-safe: commands from other threads are posted
//   to the strand, observable state is copied out under a mutex.
// - wait_until() blocks the calling thread: never call it on the io_context.
//
// Delivery rule (what the crash tests rely on): a batch counts as acknowledged
// only after an HTTP 200 answer whose body starts with "OK", and, with a
// ledger, only after its lines are fsync'ed there. Anything else keeps the
// records and sends them again after ErrorDelay.

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <chrono>
#include <condition_variable>
#include <cstddef>
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

#include "tests/sim/attendance_protocol.hpp"
#include "tests/sim/http_client.hpp"

namespace pushgate::sim {

class Ledger;

/// Deterministic faults: every Nth occurrence, per terminal (0: never).
struct FaultPlan {
  /// The Nth HTTP request is cut mid-request (ExchangeFault::DropMidRequest).
  std::uint32_t drop_mid_request_every = 0;
  /// The Nth HTTP request is sent whole, its answer never read.
  std::uint32_t lose_response_every = 0;
  /// After the Nth acknowledged ATTLOG batch, the same batch is sent once more.
  std::uint32_t duplicate_batch_every = 0;
  /// The Nth ATTLOG batch carries one malformed line in its middle.
  std::uint32_t bad_line_every = 0;
};

/// When the terminal POSTs `table=options` after a handshake.
enum class OptionsPush {
  WhenAsked,  // the server sent PushOptionsFlag=1 (the spec)
  Always,
  Never,
};

struct AttendanceTerminalConfig {
  std::string serial_number = "SIM00001";
  /// Server address, timeouts, User-Agent.
  HttpClientConfig http;
  DeviceProfile profile;
  /// ATTLOG / OPERLOG lines per upload.
  std::size_t batch_size = 500;
  /// Lines per `DATA QUERY` answer pack (PackCnt/PackIdx).
  std::size_t query_pack_size = 500;
  /// ATTLOG fields per line: 7 (spec) to 10 (SpeedFace captures).
  int attlog_fields = kSpeedFaceAttlogFields;
  /// Overrides the server's Delay (getrequest interval), for tests.
  std::optional<std::chrono::milliseconds> poll_interval;
  /// Overrides the server's ErrorDelay (retry after a failure), for tests.
  std::optional<std::chrono::milliseconds> error_delay;
  /// Retry delay before any server told one (the captured terminals retried
  /// a refused handshake every ~15 s).
  std::chrono::milliseconds default_error_delay{15000};
  /// Poll interval when the server sends no Delay.
  std::chrono::milliseconds default_delay{10000};
  /// Delay before the first handshake (ramp-up of a load run).
  std::chrono::milliseconds start_delay{0};
  /// Time a REBOOT command keeps the terminal offline.
  std::chrono::milliseconds reboot_delay{0};
  /// Upload new records at once even when the server says Realtime=0.
  bool force_realtime = false;
  /// After each boot, upload the startup OPLOG line (as the captures show).
  bool boot_operlog = false;
  OptionsPush options_push = OptionsPush::WhenAsked;
  /// After a transport error (refused, reset, timeout) handshake again before
  /// anything else; a non-OK HTTP answer only delays the retry.
  bool rehandshake_on_transport_error = true;
  /// `DATA QUERY ATTLOG` returns every record whatever the range, like the
  /// captured firmware did for the demo's space-separated range.
  bool attlog_query_ignores_range = false;
  /// Punches made while the terminal is offline (server unreachable) are
  /// never uploaded, only kept in its log for DATA QUERY ATTLOG: some 2.x
  /// firmware does this (issue 15, gap backfill).
  bool drop_records_while_offline = false;
  /// Keep every acknowledged line in memory (tests); load runs use a ledger.
  bool keep_acked_lines = true;
  FaultPlan faults;
  /// Optional; must outlive the terminal.
  Ledger* ledger = nullptr;
  /// Optional in-flight limit shared by many terminals; must outlive them.
  RequestGate* gate = nullptr;
  /// Optional diagnostics sink (called on the strand).
  std::function<void(std::string_view)> log;
};

/// Counters of one terminal; a copy, consistent at the time of the call.
struct TerminalStats {
  std::uint64_t records_generated = 0;  // records added (generated, punched, injected)
  std::uint64_t records_acked = 0;      // acknowledged (OK + ledger) ATTLOG records
  std::uint64_t records_pending = 0;    // held, not yet acknowledged
  std::uint64_t records_cleared = 0;    // dropped unacknowledged by CLEAR LOG / CLEAR DATA
  std::uint64_t records_dropped = 0;    // drop_records_while_offline: never uploaded
  std::uint64_t attlog_batches_acked = 0;
  std::uint64_t attlog_uploads_sent = 0;
  std::uint64_t operlog_lines_acked = 0;
  std::uint64_t query_uploads_acked = 0;

  std::uint64_t requests_sent = 0;
  std::uint64_t failures_transport = 0;  // connect/reset/timeout/injected drop
  std::uint64_t failures_status = 0;     // HTTP status other than 200
  std::uint64_t failures_body = 0;       // 200 without the expected body
  std::uint64_t injected_faults = 0;

  std::uint64_t handshakes_ok = 0;
  std::uint64_t options_pushed = 0;
  std::uint64_t polls = 0;
  std::uint64_t commands_executed = 0;
  std::uint64_t command_results_acked = 0;
  std::uint64_t duplicate_batches_sent = 0;
  std::uint64_t bad_lines_sent = 0;
  std::uint64_t reboots = 0;
  std::uint64_t door_unlocks = 0;
  std::uint64_t protocol_problems = 0;

  bool online = false;
  bool ledger_failed = false;
  /// When the last ATTLOG batch was counted acknowledged.
  std::chrono::steady_clock::time_point last_ack{};

  std::uint64_t failures() const { return failures_transport + failures_status + failures_body; }
};

/// One command the terminal received and answered.
struct ExecutedCommand {
  std::string id;
  std::string text;       // as received, after "C:<id>:"
  std::string reply_cmd;  // the CMD= value sent back
  int return_code = 0;
  bool result_acked = false;  // the devicecmd POST carrying it got OK
};

/// What every simulated terminal flavour offers a load run. The attendance
/// terminal implements it; an access-control ("Security PUSH" 3.x) terminal
/// would be a sibling class on the same HttpClient / RequestGate / Ledger.
class SimulatedTerminal {
 public:
  virtual ~SimulatedTerminal() = default;
  /// Boots the terminal (after start_delay). Thread-safe, idempotent.
  virtual void start() = 0;
  /// Stops all activity: cancels timers and the request in flight. An answer
  /// that already arrived still completes its ledger write. Thread-safe.
  virtual void stop() = 0;
  virtual const std::string& serial_number() const = 0;
  virtual TerminalStats stats() const = 0;
};

class AttendanceTerminal final : public SimulatedTerminal,
                                 public std::enable_shared_from_this<AttendanceTerminal> {
 public:
  static std::shared_ptr<AttendanceTerminal> create(boost::asio::io_context& ioc,
                                                    AttendanceTerminalConfig config);

  // SimulatedTerminal
  void start() override;
  void stop() override;
  const std::string& serial_number() const override { return config_.serial_number; }
  TerminalStats stats() const override;

  /// Adds punches to the record store (index assigned when 0) and wakes the
  /// uploader. Thread-safe.
  void add_records(std::vector<AttendanceRecord> records);
  /// A punch at the terminal's clock (synchronised from the server's Date).
  void punch(std::string pin, int status = 0, int verify = 15);
  /// An enrolment on the keypad: stored, and uploaded as a USER line (OPERLOG).
  void enroll_user(UserInfo user);

  /// One-shot faults for the next requests / batch. Thread-safe.
  void inject_exchange_faults(std::uint32_t count, ExchangeFault fault);
  void duplicate_next_batch();
  void corrupt_next_batch();

  // Observable state, copied under the lock.
  std::vector<std::string> acked_lines() const;          // ATTLOG, in ack order
  std::vector<std::string> acked_operlog_lines() const;  // OPLOG / USER lines
  std::vector<AttendanceRecord> records() const;         // everything still stored
  std::map<std::string, UserInfo> users() const;
  std::vector<BioTemplate> templates() const;
  std::vector<ExecutedCommand> executed_commands() const;
  std::vector<std::string> problems() const;
  std::optional<ServerOptions> server_options() const;
  std::map<std::string, std::string> device_options() const;  // SET OPTION values
  /// Round-trip times of acknowledged ATTLOG uploads.
  std::vector<std::chrono::microseconds> upload_latencies() const;
  /// The terminal's clock (server Date + TimeZone once synchronised).
  LocalSeconds device_now() const;

  /// Blocks the calling thread until `pred(stats())` holds or `timeout`
  /// passes; returns the last value of `pred`. Not on the io_context. `pred`
  /// runs under the terminal's lock: it must not call the terminal.
  bool wait_until(const std::function<bool(const TerminalStats&)>& pred,
                  std::chrono::milliseconds timeout) const;

  ~AttendanceTerminal() override;

 private:
  using Clock = std::chrono::steady_clock;
  using Strand = boost::asio::strand<boost::asio::io_context::executor_type>;

  enum class Failure { Transport, Status, Body };

  /// A queued request that must be answered OK before the next one (query
  /// answers, devicecmd results) or is sent once whatever the answer
  /// (an injected duplicate).
  struct Outbound {
    enum class Kind { QueryUpload, CommandResults, Duplicate };
    Kind kind = Kind::QueryUpload;
    std::string target;
    std::string body;
    std::string content_type;
    std::vector<std::size_t> command_slots;  // into commands_, marked result_acked
  };

  struct InflightBatch {
    std::size_t begin = 0;
    std::size_t end = 0;
    std::uint64_t generation = 0;
    std::vector<std::string> lines;  // the record lines, without the bad one
    std::string body;
  };

  struct CommandOutcome {
    int return_code = 0;
    std::string reply_suffix;       // appended after CMD=... (VERIFY SUM)
    std::string info_body;          // CMD=INFO key=value lines
    std::vector<Outbound> uploads;  // query answers, sent before the result
  };

  AttendanceTerminal(boost::asio::io_context& ioc, AttendanceTerminalConfig config);

  // The scheduler: picks the next step when idle.
  void do_next();
  void arm_timer(Clock::time_point when);
  void on_timer(boost::system::error_code ec);
  void wake();

  // One HTTP exchange through the gate, with faults and counters.
  void send(HttpRequest request, std::function<void(HttpResult)> on_done);
  ExchangeFault next_fault();
  /// True for a read 200 answer; otherwise calls fail() and returns false.
  bool answered(const HttpResult& result, std::string_view what);
  void fail(Failure kind, std::string_view what);

  void do_handshake();
  void on_handshake(HttpResult result);
  void do_push_options();
  void on_push_options(HttpResult result);
  void do_send_outbox();
  void on_outbox_sent(HttpResult result);
  void do_upload_operlog();
  void on_operlog_uploaded(std::size_t count, HttpResult result);
  void do_upload_attlog();
  void on_attlog_uploaded(HttpResult result);
  void on_attlog_durable(boost::system::error_code ec, std::chrono::microseconds latency);
  void do_poll();
  void on_poll(bool sent_info, HttpResult result);
  void do_reboot();

  CommandOutcome execute(const CommandLine& command, const ParsedCommand& parsed);
  int update_data(const ParsedCommand& parsed);
  int delete_data(const ParsedCommand& parsed);
  int query_data(const std::string& id, const ParsedCommand& parsed, CommandOutcome& outcome);
  void queue_packs(std::string_view table, const std::vector<std::string>& lines,
                   const std::string& command_id, bool with_pack_params, CommandOutcome& outcome);

  bool upload_allowed() const;
  void schedule_next_upload(Clock::time_point now);
  std::chrono::milliseconds error_delay() const;
  std::chrono::milliseconds poll_interval() const;
  void sync_clock(const std::string& date_header);
  void note_problem(std::string problem);
  DeviceCounts counts_locked() const;
  std::string sn_query() const;
  std::vector<AttendanceRecord> records_in_range_locked(std::optional<LocalSeconds> from,
                                                        std::optional<LocalSeconds> to) const;
  void notify();

  const AttendanceTerminalConfig config_;
  Strand strand_;
  boost::asio::steady_timer timer_;
  HttpClient client_;

  // Strand-only protocol state.
  bool started_ = false;
  bool stopped_ = false;
  bool busy_ = false;     // a request or a ledger write is in flight
  bool waiting_ = false;  // the timer is armed
  bool online_ = false;
  bool options_due_ = false;
  bool info_due_ = true;
  bool boot_oplog_due_ = true;
  bool reboot_pending_ = false;
  bool rehandshake_pending_ = false;
  bool force_upload_ = false;
  Clock::time_point backoff_until_{};
  Clock::time_point next_poll_{};
  Clock::time_point next_upload_{};
  std::deque<Outbound> outbox_;
  std::optional<InflightBatch> inflight_;
  std::uint64_t request_seq_ = 0;
  std::uint64_t batch_seq_ = 0;
  std::uint64_t acked_batch_seq_ = 0;
  std::optional<std::chrono::minutes> trans_interval_;
  std::vector<std::chrono::minutes> trans_times_;
  bool realtime_ = true;
  std::optional<std::chrono::milliseconds> server_delay_;
  std::optional<std::chrono::milliseconds> server_error_delay_;
  std::chrono::minutes time_zone_{0};

  // Observable state, guarded by mutex_.
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  TerminalStats stats_;
  std::vector<AttendanceRecord> records_;
  std::size_t next_unacked_ = 0;
  std::uint64_t records_generation_ = 0;
  std::uint64_t last_index_ = 0;
  std::vector<std::string> acked_lines_;
  std::vector<std::string> operlog_;
  std::size_t operlog_acked_ = 0;
  std::vector<std::string> acked_operlog_lines_;
  std::map<std::string, UserInfo> users_;
  /// Keyed by (pin, type, no, index).
  std::map<std::tuple<std::string, int, int, int>, BioTemplate> templates_;
  std::map<std::string, std::vector<std::string>> other_tables_;  // stored, not interpreted
  std::vector<ExecutedCommand> commands_;
  std::vector<std::string> problems_;
  std::optional<ServerOptions> server_options_;
  std::map<std::string, std::string> device_options_;
  std::vector<std::chrono::microseconds> latencies_;
  std::chrono::system_clock::duration clock_offset_{};
  std::uint32_t oneshot_fault_count_ = 0;
  ExchangeFault oneshot_fault_ = ExchangeFault::None;
  bool duplicate_next_ = false;
  bool corrupt_next_ = false;
};

}  // namespace pushgate::sim
