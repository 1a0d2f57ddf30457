#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "adapters/mqtt/mqtt_config.hpp"
#include "adapters/mqtt/mqtt_protocol.hpp"
#include "gateway/adapter.hpp"
#include "gateway/command_queue.hpp"
#include "gateway/event_log.hpp"
#include "gateway/sink_ports.hpp"
#include "gateway/sink_runner.hpp"

namespace mqtt {
class async_client;
class connect_options;
class token;
class message;
}  // namespace mqtt

namespace pushgate::adapters::mqtt {

/**
 * The MQTT bridge: a sink run by the core's SinkRunner (cursor "mqtt"):
 * it publishes what it is handed (QoS 1) and answers delivered on PUBACK;
 * plus retained status, commands in and Home Assistant discovery. Faces a
 * broker that may be down for days, refuse us, or drop the connection at
 * any time.
 *
 * Threads: everything runs on the adapter's own thread and io_context (the
 * sink runner, the paho client's calls). paho's callbacks, the store's
 * commit observer, the command queue's observer and the outputs' observer
 * only post onto it. The SQLite event log is the only buffer: paho keeps
 * nothing while disconnected.
 */
class MqttAdapter final : public Adapter, private Sink {
 public:
  static void declare_config(config::Schema& schema);
  /** Null when mqtt.enabled is false. */
  static std::unique_ptr<Adapter> create(AdapterContext& ctx);
  /** MqttConfig::validate() for an enabled bridge: what start() refuses. */
  static std::vector<config::ConfigError> validate_config(const config::Config& config);

  MqttAdapter(AdapterContext& ctx, MqttConfig config);
  ~MqttAdapter() override;
  MqttAdapter(const MqttAdapter&) = delete;
  MqttAdapter& operator=(const MqttAdapter&) = delete;

  // Adapter
  std::string_view name() const noexcept override { return "mqtt"; }
  boost::system::error_code start() override;
  void stop(std::chrono::milliseconds deadline) override;
  std::string start_error() const override { return start_error_; }

  /** The cursor as last committed to the store (for tests). */
  std::int64_t persisted_cursor_for_test() const {
    return runner_ ? runner_->figures().persisted : 0;
  }
  /** Connected, subscribed to the command topics and announced online. */
  bool connected_for_test() const { return connected_atomic_.load(); }

 private:
  std::string start_error_;
  class Listener;
  struct Alive;  // lets observers registered for the process outlive the adapter
  struct Reply {
    std::string topic;
    std::string correlation;
  };

  // Connection
  std::string make_client();
  void do_connect();
  void on_connect(bool ok, std::string reason, int receive_maximum);
  void on_connection_lost(const std::string& cause);
  void schedule_reconnect();
  void publish_control(const std::string& topic, const std::string& payload, bool retain);

  // Event sink (Sink, called by runner_ on the adapter's thread)
  void deliver(const std::vector<Event>& events, bool replay, const Answer& answer) override;
  bool publish_event(const Event& e, bool replay);
  void on_event_acks();

  // Status and health
  void schedule_tick();
  void on_tick();
  void publish_terminals(bool force);
  void publish_doors(bool force);
  void publish_outputs();
  void publish_discovery(bool all);
  void retract_internal_source();
  void publish_health();

  // Commands
  void on_message(std::shared_ptr<const ::mqtt::message> msg);
  void handle_command(const std::string& payload, Reply reply);
  void send_command_result(const std::string& id, const std::string& payload, bool final);
  void on_command_changed(const CommandRecord& c, bool duplicate);
  /**
   * An `audit` event for a command queued from `topic`: the broker's ACL on
   * that topic is the credential, so the topic is the actor.
   */
  void audit_command(const std::string& topic, const CommandRecord& c);
  void handle_api_request(const std::string& payload, Reply reply);
  void send_reply(const std::string& topic, const std::string& payload, const Reply& reply);

  AdapterContext& ctx_;
  MqttConfig cfg_;
  Topics topics_;
  Zone zone_;
  std::string gateway_id_;

  boost::asio::io_context ioc_;
  std::unique_ptr<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::thread thread_;
  boost::asio::steady_timer reconnect_timer_;
  boost::asio::steady_timer tick_timer_;
  std::shared_ptr<Alive> alive_;

  // The listeners outlive the client (declared first, destroyed last):
  // paho may still hold them in tokens until the client is gone.
  std::unique_ptr<Listener> event_listener_;
  std::unique_ptr<Listener> connect_listener_;
  std::unique_ptr<Listener> control_listener_;
  std::unique_ptr<::mqtt::async_client> client_;
  std::unique_ptr<::mqtt::connect_options> connect_options_;  // used by paho while connecting

  // Reads after the cursor, paces, stores the cursor; on ioc_, destroyed before it.
  std::unique_ptr<SinkRunner> runner_;
  Sink::Answer answer_;  // the runner's answer for what was handed over last

  // Sink state (adapter thread).
  enum class Link { Down, Connecting, Up, Stopping };
  Link link_ = Link::Down;
  std::uint16_t epoch_ = 0;  // connection number; acks of an older one are ignored
  int failures_ = 0;
  int window_ = 1;
  std::size_t unacked_ = 0;  // events published on this connection without PUBACK
  std::atomic<bool> connected_atomic_{false};
  // Last PUBACK of an event, or when the window went from empty to in use:
  // the watchdog's reference (on_tick).
  std::chrono::steady_clock::time_point last_ack_progress_{};
  std::mutex acks_mutex_;  // paho's thread adds, the adapter's thread takes
  std::vector<std::pair<std::uint64_t, bool>> acks_;
  std::atomic<bool> doors_dirty_{true};
  std::mt19937_64 rng_;
  int ticks_ = 0;

  std::map<std::string, TerminalStatus> terminals_sent_;
  std::map<std::string, std::chrono::steady_clock::time_point> terminals_sent_at_;
  std::map<std::pair<std::string, int>, DoorState> doors_sent_;
  std::map<std::string, std::set<int>> doors_by_sn_;
  // What discovery was sent for: flavour and doors per terminal.
  std::map<std::string, std::pair<std::string, std::set<int>>> discovered_;
  std::map<std::string, Reply> replies_;  // MQTT 5 response topic per command id
  std::uint64_t door_commands_ = 0;

  metrics::Counter& published_;
  metrics::Counter& acked_;
  metrics::Counter& failed_;
  metrics::Counter& connects_;
  metrics::Counter& connect_failures_;
  metrics::Counter& connections_lost_;
  metrics::Counter& commands_received_;
  metrics::Counter& commands_rejected_;
  metrics::Counter& control_failed_;
  metrics::Gauge& connected_;
  metrics::Counter& ack_timeouts_;
  /** Last member: destroyed first, so no commit reaches a half-destroyed service. */
  CommitSubscription commit_sub_;
};

}  // namespace pushgate::adapters::mqtt
