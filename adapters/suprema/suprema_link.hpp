#pragma once
// One BioStar 2 server: log in (bs-session-id), open the /wsapi feed, backfill
// with /api/events/search from the durable cursor, then store live events;
// re-login when the session expires, reconnect with jittered backoff, and
// search again when the feed skipped an event id or every resync_s. Runs as
// a C++20 coroutine on its own strand of the gateway's io_context. Each
// BioStar device is a terminal (serial = its device id).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>  // before Boost 1.74's awaitable.hpp, which uses std::exchange
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <nlohmann/json.hpp>

#include "adapters/suprema/suprema_client.hpp"
#include "adapters/suprema/suprema_config.hpp"
#include "adapters/suprema/suprema_event.hpp"
#include "adapters/suprema/suprema_pager.hpp"
#include "gateway/adapter.hpp"
#include "gateway/command.hpp"
#include "gateway/doors.hpp"
#include "gateway/event.hpp"
#include "gateway/event_log.hpp"
#include "gateway/timezone.hpp"

namespace spdlog {
class logger;
}

namespace pushgate::adapters::suprema {

/** A server link's state, as REST, metrics and health show it. */
enum class LinkState { Offline, Backfilling, Online, AuthFailed };
std::string_view to_string(LinkState state) noexcept;

/** What every link shares: ports, config, metrics. Owned by the adapter. */
struct LinkShared {
  AdapterContext& ctx;
  const SupremaConfig& config;
  std::shared_ptr<spdlog::logger> log;
  std::map<std::string, std::string> stored;  ///< adapter_state entries loaded at start
  metrics::Counter& stored_events;            // new to the log
  metrics::Counter& duplicates;               // already stored (overlap, live and backfill)
  metrics::Counter& backfilled;               // new events from searches
  metrics::Counter& logins;                   // successful logins
  metrics::Counter& auth_failures;            // logins refused
  metrics::Counter& session_expiries;         // calls answered "login required"
  metrics::Counter& reconnects;               // sessions that ended and were retried
  metrics::Counter& invalid_messages;         // /wsapi messages and search rows not understood
  metrics::Counter& oversize_frames;          // /wsapi messages over max_frame_kb
  metrics::Counter& gaps;                     // feed id gaps that started a search
  metrics::Counter& commit_failures;          // batches the store refused
  metrics::Counter& commands_done;
  metrics::Counter& commands_failed;
  metrics::Counter& commands_unsupported;
  metrics::Counter& commands_retry;
};

/** The gateway Event of one BioStar event (pure; `sn` the device's terminal serial). */
Event map_event(const SupremaEvent& event, const std::string& sn, const ServerConfig& server,
                const Zone& zone, std::int64_t received_ms, std::string_view source);

/** What a door event says about its door (opened, closed, forced, held, cleared); nullopt: nothing.
 */
std::optional<DoorState> door_report(const SupremaEvent& event, const DoorState& known);

/** The terminal serial of an event's device ("biostar2-<server>" when it names none). */
std::string serial_of(const SupremaEvent& event, const ServerConfig& server);

class ServerLink : public std::enable_shared_from_this<ServerLink> {
 public:
  ServerLink(LinkShared& shared, ServerConfig server,
             std::shared_ptr<boost::asio::ssl::context> tls);

  void start();
  /** Ends the link: closes its connections, its coroutines end soon after. */
  void stop();
  bool finished() const noexcept { return finished_.load() && !commands_active_.load(); }

  LinkState state() const;
  const ServerConfig& server() const noexcept { return server_; }
  /** Whether `sn` is a device of this server (any thread). */
  bool owns(std::string_view sn) const;
  /** The command queue has commands for `sn` (any thread). */
  void commands_ready(const std::string& sn);

 private:
  enum class Outcome { Failed, AuthFailed, Stopped };
  boost::asio::awaitable<void> run();
  boost::asio::awaitable<Outcome> session();
  /** Logs in; false with the state set when it failed (auth_failed_ when refused). */
  boost::asio::awaitable<bool> login();
  /** One API call with the session; logs in again once when the session expired. */
  boost::asio::awaitable<HttpReply> api(const ApiRequest& request, std::size_t body_limit);
  boost::asio::awaitable<void> load_devices();
  boost::asio::awaitable<bool> backfill();
  /** Stores the held live events; false when they show a gap (search again first). */
  boost::asio::awaitable<bool> flush_pending(bool accept_gaps);
  boost::asio::awaitable<void> run_feed();
  boost::asio::awaitable<void> on_message(const std::string& text);
  /**
   * Commits the live events queued by on_message, everything that arrived
   * during the previous commit in one batch, until the queue is empty. One
   * feed carries every reader of the server: committing each event before
   * reading the next would cap the feed at one event per commit.
   */
  boost::asio::awaitable<void> write_live();
  /** Until write_live() has committed (or given up) everything queued. */
  boost::asio::awaitable<void> live_written();
  /** Maps and commits `events`; moves the cursor over them when `move_cursor`. */
  boost::asio::awaitable<bool> store(const std::vector<SupremaEvent>& events,
                                     std::string_view source, bool move_cursor);
  boost::asio::awaitable<CommitResult> commit(WriteBatch& batch);
  boost::asio::awaitable<void> sleep(std::chrono::milliseconds delay);
  /** Adds the terminal record of device `sn` to `batch` when it is new. */
  void ensure_terminal(const std::string& sn, const std::string& name, WriteBatch& batch);
  /** The durable cursor, with `id` the highest event id the batch leaves stored. */
  void add_cursor(const EventCursor& cursor, std::optional<std::int64_t> id,
                  WriteBatch& batch) const;
  void load_cursor();
  /** Adds what `ev` says about its door to the DoorService and `batch`. */
  void report_door(const SupremaEvent& ev, const Event& e, std::int64_t now, WriteBatch& batch);
  void note_ids(const std::vector<SupremaEvent>& events);
  /** Whether `event` follows the last stored id without a gap. */
  bool follows(const SupremaEvent& event) const;

  void set_state(LinkState state, const std::string& reason);
  void kick_commands();
  boost::asio::awaitable<void> run_commands();
  boost::asio::awaitable<void> run_command(const std::string& sn, const CommandRecord& command);
  struct UserOutcome {
    bool ok = false;
    bool transport = false;  ///< not reached: try again later
    std::string error;
    std::string answer;
  };
  /** upsert_user: the card record (when a card is given), then PUT, or POST when unknown. */
  boost::asio::awaitable<UserOutcome> upsert_user(const std::string& sn,
                                                  const nlohmann::json& params);
  boost::asio::awaitable<UserOutcome> delete_user(const nlohmann::json& params);

  LinkShared& shared_;
  ServerConfig server_;
  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  ServerClient client_;
  boost::asio::steady_timer timer_;      // backoff and waits
  boost::asio::steady_timer wake_;       // feed opened / ended, gap, resync
  boost::asio::steady_timer live_idle_;  // write_live() finished

  // On the strand only.
  bool stopping_ = false;
  std::string session_;
  bool auth_failed_ = false;
  EventCursor cursor_;
  std::optional<std::int64_t> last_id_;    // highest event id stored or queued to be
  std::optional<std::int64_t> stored_id_;  // highest event id committed
  bool feed_open_ = false;
  bool feed_ended_ = false;
  bool live_mode_ = false;
  bool reached_live_ = false;  // this session was online (reconnect fast)
  bool resync_ = false;
  bool pending_overflow_ = false;
  std::vector<SupremaEvent> pending_;     // live events while a search runs
  std::vector<SupremaEvent> live_queue_;  // live events in order, for write_live()
  bool live_writing_ = false;
  std::map<std::string, std::string> device_names_;
  bool commands_running_ = false;
  bool commands_again_ = false;
  std::set<std::string> command_serials_;  // devices with commands to take

  mutable std::mutex mutex_;  // for readers on other threads
  LinkState state_ = LinkState::Offline;
  std::string last_reason_;
  std::set<std::string, std::less<>> devices_;  // serials of this server's devices
  std::atomic<bool> finished_{false};
  std::atomic<bool> commands_active_{false};
};

}  // namespace pushgate::adapters::suprema
