#pragma once
// One Dahua device in pull mode: log in and identify (getSystemInfo), open
// the event stream, backfill both record tables from the durable cursor,
// then store live events; reconnect with jittered backoff. Runs as a C++20
// coroutine on its own strand of the gateway's io_context.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>  // before Boost 1.74's awaitable.hpp, which uses std::exchange
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "adapters/dahua/dahua_client.hpp"
#include "adapters/dahua/dahua_commands.hpp"
#include "adapters/dahua/dahua_config.hpp"
#include "adapters/dahua/dahua_event.hpp"
#include "adapters/dahua/dahua_multipart.hpp"
#include "adapters/dahua/dahua_push_server.hpp"
#include "adapters/dahua/dahua_record_finder.hpp"
#include "gateway/adapter.hpp"
#include "gateway/command.hpp"
#include "gateway/event_log.hpp"

namespace spdlog {
class logger;
}

namespace pushgate::adapters::dahua {

/** A device's link state, as REST, metrics and health show it. */
enum class LinkState { Offline, Backfilling, Online, AuthFailed };
std::string_view to_string(LinkState state) noexcept;

/** Where a backfill stands in one record table: the last stored record. */
struct TableCursor {
  std::string time;  ///< CreateTime as the device wrote it (epoch, or its text)
  std::int64_t rec_no = -1;
  bool known() const noexcept { return !time.empty(); }
};

/** What every link shares: ports, config, metrics. Owned by the adapter. */
struct LinkShared {
  AdapterContext& ctx;
  const DahuaConfig& config;
  std::shared_ptr<spdlog::logger> log;
  /** adapter_state entries loaded at start (key → value). */
  std::map<std::string, std::string> stored;
  metrics::Counter& stored_events;     // new to the log
  metrics::Counter& duplicates;        // already stored (overlap, live and backfill)
  metrics::Counter& backfilled;        // new rows from recordFinder
  metrics::Counter& auth_failures;     // logins refused
  metrics::Counter& reconnects;        // sessions that ended and were retried
  metrics::Counter& quarantined;       // stream records / reply lines not understood
  metrics::Counter& skipped_warnings;  // recordFinder pages that may have skipped rows
  metrics::Counter& commit_failures;   // batches the store refused
  // Commands by how they ended on the device (pushgate_dahua_commands_total{result}).
  metrics::Counter& commands_done;
  metrics::Counter& commands_failed;       // the device refused
  metrics::Counter& commands_unsupported;  // Dahua has no equivalent: nothing sent
  metrics::Counter& commands_retry;        // not now: left sent, the queue offers it again
};

class DeviceLink : public std::enable_shared_from_this<DeviceLink> {
 public:
  DeviceLink(LinkShared& shared, DeviceConfig device,
             std::shared_ptr<boost::asio::ssl::context> tls);

  void start();
  /** Ends the link: closes its connections, its coroutine ends soon after. */
  void stop();
  bool finished() const noexcept {
    return finished_.load() && !commands_active_.load() && pushes_active_.load() == 0;
  }

  LinkState state() const;
  const DeviceConfig& device() const noexcept { return device_; }
  /** The device's serial ("" before the first login). Any thread. */
  std::string serial() const;
  /** Whether `sn` is this device (its commands go through this link). Any thread. */
  bool owns(std::string_view sn) const { return !sn.empty() && serial() == sn; }
  /**
   * The command queue has commands for this device (any thread): they are
   * taken and run now when the device is connected, else when it comes back.
   */
  void commands_ready();
  void commands_ready(const std::string& /*sn: this device's*/) { commands_ready(); }
  /**
   * A push upload of this device (any thread): its events are committed in
   * one batch on the link's strand, then done(true); done(false) when the
   * commit fails or the serial is not known yet (the device re-sends).
   */
  void on_push(PushUpload upload, PushDone done);

 private:
  enum class Outcome { Failed, AuthFailed, Stopped };
  boost::asio::awaitable<void> run();
  boost::asio::awaitable<Outcome> session();
  boost::asio::awaitable<bool> identify(const HttpResult& info);
  boost::asio::awaitable<void> measure_drift();
  boost::asio::awaitable<bool> backfill(std::string_view table);
  boost::asio::awaitable<void> run_stream();
  boost::asio::awaitable<void> on_stream_bytes(std::string_view content_type,
                                               std::string_view bytes);
  /**
   * Maps and commits `items` in one batch (unreadable ones quarantined under
   * `endpoint`); `move_cursors`: the stream's records also move the backfill
   * cursors (push uploads do not: they may run ahead of a backfill).
   */
  boost::asio::awaitable<bool> store_live(std::vector<StreamItem>& items,
                                          std::string_view endpoint = "eventManager",
                                          bool move_cursors = true);
  boost::asio::awaitable<void> store_push(std::shared_ptr<PushUpload> upload, PushDone done);
  /** Appends `batch` (moved from) and waits for its commit. */
  boost::asio::awaitable<CommitResult> commit(WriteBatch& batch);
  boost::asio::awaitable<void> sleep(std::chrono::milliseconds delay);

  void set_state(LinkState state, const std::string& reason);
  void set_serial(std::string serial);
  /** On the strand: starts run_commands() unless it runs (then it loops once more). */
  void kick_commands();
  boost::asio::awaitable<void> run_commands();
  boost::asio::awaitable<void> run_command(const CommandRecord& command);
  boost::asio::awaitable<void> probe_firmware();
  DahuaDeviceProfile profile() const;
  void advance_cursor(std::string_view table, const AccessFields& fields, WriteBatch& batch);
  std::string cursor_key(std::string_view table) const;
  void load_cursors();

  LinkShared& shared_;
  DeviceConfig device_;
  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  DeviceClient client_;
  boost::asio::steady_timer timer_;  // backoff and waits
  boost::asio::steady_timer wake_;   // the stream ended / opened

  // On the strand only.
  bool stopping_ = false;
  std::string serial_;
  std::string model_;
  std::optional<std::int64_t> drift_s_;
  std::map<std::string, TableCursor, std::less<>> cursors_;
  bool cursors_loaded_ = false;
  bool stream_open_ = false;
  bool stream_ended_ = false;
  bool live_mode_ = false;
  bool pending_overflow_ = false;
  std::vector<StreamItem> pending_;  // live items while the backfill runs
  std::optional<EventStreamParser> parser_;
  std::uint64_t heartbeats_ = 0;
  FirmwareApi firmware_ = FirmwareApi::Unknown;  // probed once per session
  bool commands_running_ = false;
  bool commands_again_ = false;

  mutable std::mutex mutex_;  // state_ for readers on other threads
  LinkState state_ = LinkState::Offline;
  std::string reason_;  ///< why state_ (strand only): a new reason is shown even in the same state
  std::atomic<bool> finished_{false};
  std::atomic<bool> commands_active_{false};
  std::atomic<int> pushes_active_{0};  // uploads being committed on the strand
  std::string known_serial_;           // serial_ for readers on other threads (mutex_)
};

}  // namespace pushgate::adapters::dahua
