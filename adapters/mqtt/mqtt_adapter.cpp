#include "adapters/mqtt/mqtt_adapter_internal.hpp"

#include <algorithm>
#include <future>

#include "gateway/logging.hpp"
#include "gateway/outputs.hpp"

namespace pushgate::adapters::mqtt {

void MqttAdapter::declare_config(config::Schema& schema) {
  MqttConfig::declare(schema);
}

std::vector<config::ConfigError> MqttAdapter::validate_config(const config::Config& config) {
  auto cfg = MqttConfig::from(config);
  if (!cfg.enabled) {
    return {};
  }
  if (auto why = cfg.validate(); !why.empty()) {
    auto colon = why.find(": ");
    return {{why.substr(0, colon), why.substr(colon + 2)}};
  }
  return {};
}

std::unique_ptr<Adapter> MqttAdapter::create(AdapterContext& ctx) {
  auto cfg = MqttConfig::from(ctx.config);
  if (!cfg.enabled) {
    return nullptr;
  }
  return std::make_unique<MqttAdapter>(ctx, std::move(cfg));
}

MqttAdapter::MqttAdapter(AdapterContext& ctx, MqttConfig config)
    : ctx_(ctx),
      cfg_(std::move(config)),
      topics_(cfg_.topic_root),
      zone_(Zone::utc()),
      gateway_id_(ctx.config.get_string("gateway.id")),
      reconnect_timer_(ioc_),
      tick_timer_(ioc_),
      alive_(std::make_shared<Alive>()),
      rng_(std::random_device{}()),
      published_(ctx.metrics.counter("pushgate_mqtt_published_total",
                                     "Event messages handed to the MQTT client")),
      acked_(ctx.metrics.counter("pushgate_mqtt_acked_total",
                                 "Event messages the broker acknowledged (PUBACK)")),
      failed_(ctx.metrics.counter("pushgate_mqtt_failed_total",
                                  "Event messages that failed and will be sent again")),
      connects_(ctx.metrics.counter("pushgate_mqtt_connects_total", "Connections to the broker")),
      connect_failures_(ctx.metrics.counter("pushgate_mqtt_connect_failures_total",
                                            "Connection attempts refused or timed out")),
      connections_lost_(ctx.metrics.counter("pushgate_mqtt_connections_lost_total",
                                            "Connections the broker or the network dropped")),
      commands_received_(ctx.metrics.counter("pushgate_mqtt_commands_received_total",
                                             "Commands received over MQTT")),
      commands_rejected_(ctx.metrics.counter("pushgate_mqtt_commands_rejected_total",
                                             "Commands over MQTT answered rejected (malformed)")),
      control_failed_(ctx.metrics.counter(
          "pushgate_mqtt_control_failed_total",
          "Status, result and discovery messages that failed (sent again on reconnect)")),
      connected_(ctx.metrics.gauge("pushgate_mqtt_connected", "1 while connected to the broker")),
      ack_timeouts_(ctx.metrics.counter(
          "pushgate_mqtt_ack_timeouts_total",
          "Connections dropped because events in flight got no PUBACK in mqtt.ack_timeout_s")) {
  std::string error;
  if (auto z = Zone::parse(ctx.config.get_string("gateway.timezone"), error)) {
    zone_ = *z;
  }
  alive_->adapter = this;
}

MqttAdapter::~MqttAdapter() {
  stop(std::chrono::milliseconds(2000));
}

boost::system::error_code MqttAdapter::start() {
  auto log = logger("mqtt");
  if (auto why = cfg_.validate(); !why.empty()) {
    start_error_ = why;
    return make_error_code(boost::system::errc::invalid_argument);
  }
  event_listener_ = std::make_unique<Listener>(*this, Listener::Kind::Event);
  connect_listener_ = std::make_unique<Listener>(*this, Listener::Kind::Connect);
  control_listener_ = std::make_unique<Listener>(*this, Listener::Kind::Control);
  if (auto why = make_client(); !why.empty()) {
    start_error_ =
        "mqtt.server_uri: cannot create the MQTT client for " + cfg_.server_uri + ": " + why;
    return make_error_code(boost::system::errc::invalid_argument);
  }

  // The sink contract is the core's: reading after the cursor, the window,
  // the drain cap, the cursor and the backlog figures.
  SinkRunnerOptions o;
  o.name = kCursorName;
  o.window = static_cast<std::size_t>(cfg_.inflight);
  o.batch = 1000;
  o.read_ahead = kBacklogBatch;
  o.backlog_max_per_s = cfg_.drain_max_per_s;
  o.cursor_write_every = kCursorWriteEvery;
  o.stop_cursor_wait = kStopCursorWait;
  o.max_backlog_age_s = ctx_.config.get_int("health.max_backlog_age_s");
  o.connected_at_start = false;  // until the broker accepts us
  runner_ = std::make_unique<SinkRunner>(
      SinkRunner::Ports{ioc_, *ctx_.commits, *ctx_.event_readers, *ctx_.cursors, ctx_.metrics,
                        ctx_.health, ctx_.clock},
      static_cast<Sink&>(*this), std::move(o));
  if (auto ec = runner_->start()) {
    return ec;
  }

  // Door states changed: republished on the next tick (events go through runner_).
  commit_sub_ = ctx_.commits->subscribe([this](const std::vector<Event>& committed) {
    for (const auto& e : committed) {
      if (e.kind == EventKind::DoorState) {
        doors_dirty_ = true;
        return;
      }
    }
  });
  ctx_.commands.add_observer([alive = alive_](const CommandRecord& c) {
    if (c.origin != "mqtt") {
      return;
    }
    std::lock_guard lock(alive->mutex);
    if (alive->adapter != nullptr) {
      auto* a = alive->adapter;
      net::post(a->ioc_, [a, c] { a->on_command_changed(c, false); });
    }
  });
  ctx_.outputs.add_observer(
      [alive = alive_](std::size_t, const std::string&, const Outputs::State&) {
        std::lock_guard lock(alive->mutex);
        if (alive->adapter != nullptr) {
          auto* a = alive->adapter;
          net::post(a->ioc_, [a] { a->publish_outputs(); });
        }
      });

  work_ = std::make_unique<net::executor_work_guard<net::io_context::executor_type>>(
      ioc_.get_executor());
  thread_ = std::thread([this] { ioc_.run(); });
  net::post(ioc_, [this] {
    do_connect();
    schedule_tick();
  });
  log->info("MQTT bridge to {} as {} under {}/ (cursor at event {})", cfg_.server_uri,
            cfg_.client_id, topics_.root(), runner_->figures().cursor);
  return {};
}

void MqttAdapter::stop(std::chrono::milliseconds deadline) {
  commit_sub_.reset();  // returns once no commit observer call is running
  {
    std::lock_guard lock(alive_->mutex);
    alive_->adapter = nullptr;
  }
  if (!thread_.joinable()) {
    if (runner_) {
      runner_->stop(deadline);  // not started when the thread is not: returns at once
    }
    return;
  }
  auto until = std::chrono::steady_clock::now() + deadline;
  auto log = logger("mqtt");
  std::promise<void> flushed;
  auto flushed_future = flushed.get_future();
  net::post(ioc_, [this, &flushed] {
    bool was_up = link_ == Link::Up;
    link_ = Link::Stopping;
    reconnect_timer_.cancel();
    tick_timer_.cancel();
    if (was_up) {
      // A clean disconnect does not fire the last will: say offline ourselves.
      publish_control(topics_.status(), "offline", true);
    }
    flushed.set_value();
  });
  flushed_future.wait_until(until);
  // The last cursor goes through the writer, which still runs.
  runner_->stop(std::max(std::chrono::duration_cast<std::chrono::milliseconds>(
                             until - std::chrono::steady_clock::now()),
                         std::chrono::milliseconds(10)));
  if (client_) {
    try {
      if (client_->is_connected()) {
        // Short: the offline message and the last acks have had their
        // chance; a broker that answers nothing must not hold the stop
        // (what it did not acknowledge is after the cursor, sent again).
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            until - std::chrono::steady_clock::now());
        auto wait = std::clamp(left, std::chrono::milliseconds(10), kDisconnectTimeout);
        auto t = client_->disconnect(static_cast<int>(wait.count()));
        t->wait_for(wait + std::chrono::milliseconds(100));
      }
    } catch (const ::mqtt::exception& e) {
      log->debug("disconnect: {}", e.what());
    }
    try {
      // Paho refuses to change callbacks while a connect attempt is pending
      // (broker down at shutdown) and throws; stop() must not terminate.
      client_->disable_callbacks();
    } catch (const ::mqtt::exception& e) {
      log->debug("disable_callbacks: {}", e.what());
    }
  }
  work_.reset();
  ioc_.stop();
  thread_.join();
  connected_.set(0);
  connected_atomic_ = false;
  log->info("MQTT bridge stopped (cursor at event {})", runner_->figures().persisted);
}

}  // namespace pushgate::adapters::mqtt
