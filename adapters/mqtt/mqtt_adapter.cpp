#include "adapters/mqtt/mqtt_adapter.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <future>

#include <mqtt/async_client.h>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/http/verb.hpp>

#include "gateway/api/router.hpp"
#include "gateway/doors.hpp"
#include "gateway/event_json.hpp"
#include "gateway/logging.hpp"
#include "gateway/outputs.hpp"
#include "gateway/status.hpp"
#include "gateway/terminals.hpp"
#include "gateway/version.hpp"

namespace pushgate::adapters::mqtt {

namespace net = boost::asio;

namespace {

constexpr const char* kCursorName = "mqtt";
constexpr std::size_t kBacklogBatch = 4000;
constexpr int kDoorOpenSeconds = 5;
constexpr auto kCursorWriteEvery = std::chrono::milliseconds(200);
constexpr auto kTerminalRepublish = std::chrono::minutes(5);
// Stop: how long the last cursor write and the DISCONNECT may take at most.
constexpr auto kStopCursorWait = std::chrono::seconds(2);
constexpr auto kDisconnectTimeout = std::chrono::milliseconds(500);

std::uint64_t make_context(std::uint16_t epoch, std::int64_t id) {
  return (static_cast<std::uint64_t>(epoch) << 48) |
         (static_cast<std::uint64_t>(id) & 0xFFFFFFFFFFFFULL);
}

}  // namespace

// Observers registered with the store, the command queue and the outputs
// live as long as those do; they reach the adapter only while it runs.
struct MqttAdapter::Alive {
  std::mutex mutex;
  MqttAdapter* adapter = nullptr;
};

// paho's action listener: runs on paho's threads, only posts.
class MqttAdapter::Listener final : public ::mqtt::iaction_listener {
 public:
  enum class Kind { Event, Connect, Control };
  Listener(MqttAdapter& a, Kind kind) : a_(a), kind_(kind) {}

 private:
  void on_success(const ::mqtt::token& tok) override { done(tok, true); }
  void on_failure(const ::mqtt::token& tok) override { done(tok, false); }
  void done(const ::mqtt::token& tok, bool ok) {
    switch (kind_) {
      case Kind::Event: {
        auto ctx = reinterpret_cast<std::uintptr_t>(tok.get_user_context());
        // Acks come back by the thousand per second: collect them and post
        // once per batch rather than wake the adapter's thread for each.
        bool first = false;
        {
          std::lock_guard lock(a_.acks_mutex_);
          first = a_.acks_.empty();
          a_.acks_.emplace_back(ctx, ok);
        }
        if (first) {
          net::post(a_.ioc_, [a = &a_] { a->on_event_acks(); });
        }
        break;
      }
      case Kind::Connect: {
        std::string reason;
        int receive_max = 0;
        if (!ok) {
          reason = describe_connect_refusal(tok.get_return_code(),
                                            static_cast<int>(tok.get_reason_code()));
          // Paho's generic failure: on_connect finds out what failed.
        } else {
          try {
            auto rsp = tok.get_connect_response();
            const auto& props = rsp.get_properties();
            if (props.contains(::mqtt::property::RECEIVE_MAXIMUM)) {
              receive_max = ::mqtt::get<std::uint16_t>(props, ::mqtt::property::RECEIVE_MAXIMUM);
            }
          } catch (const std::exception&) {
            // MQTT 3.1.1 has no CONNACK properties.
          }
        }
        auto epoch =
            static_cast<std::uint16_t>(reinterpret_cast<std::uintptr_t>(tok.get_user_context()));
        net::post(a_.ioc_, [a = &a_, ok, reason, receive_max, epoch] {
          if (epoch == a->epoch_) {
            a->on_connect(ok, reason, receive_max);
          }
        });
        break;
      }
      case Kind::Control:
        if (!ok) {
          a_.control_failed_.inc();
        }
        break;
    }
  }
  MqttAdapter& a_;
  Kind kind_;
};

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
      pump_timer_(ioc_),
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
      backlog_events_(ctx.metrics.gauge("pushgate_sink_backlog_events",
                                        "Events after the sink's cursor (not yet acknowledged)",
                                        {{"sink", "mqtt"}})),
      backlog_age_(ctx.metrics.gauge("pushgate_sink_backlog_oldest_age_seconds",
                                     "Age of the oldest event not yet acknowledged by the sink",
                                     {{"sink", "mqtt"}})),
      connected_(ctx.metrics.gauge("pushgate_mqtt_connected", "1 while connected to the broker")),
      backlog_alarms_(ctx.metrics.counter(
          "pushgate_sink_backlog_alarms_total",
          "Times a sink's oldest undelivered event passed health.max_backlog_age_s (/readyz 503)",
          {{"sink", "mqtt"}})),
      ack_timeouts_(ctx.metrics.counter(
          "pushgate_mqtt_ack_timeouts_total",
          "Connections dropped because events in flight got no PUBACK in mqtt.ack_timeout_s")) {
  std::string error;
  if (auto z = Zone::parse(ctx.config.get_string("gateway.timezone"), error)) {
    zone_ = *z;
  }
  max_backlog_age_s_ = ctx.config.get_int("health.max_backlog_age_s");
  link_since_ms_ = ctx.clock.now_ms();
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
  boost::system::error_code ec;
  reader_ = ctx_.event_readers->open_reader(ec);
  if (ec) {
    log->error("cannot open the event log for reading: {}", ec.message());
    return ec;
  }
  cursor_ = ctx_.cursors->load(kCursorName, ec);
  if (ec) {
    log->error("cannot read the mqtt cursor: {}", ec.message());
    return ec;
  }
  head_ = reader_->max_event_id(ec);
  if (ec) {
    return ec;
  }
  persisted_cursor_ = cursor_;
  persisted_cursor_atomic_ = cursor_;

  event_listener_ = std::make_unique<Listener>(*this, Listener::Kind::Event);
  connect_listener_ = std::make_unique<Listener>(*this, Listener::Kind::Connect);
  control_listener_ = std::make_unique<Listener>(*this, Listener::Kind::Control);
  if (auto why = make_client(); !why.empty()) {
    start_error_ =
        "mqtt.server_uri: cannot create the MQTT client for " + cfg_.server_uri + ": " + why;
    return make_error_code(boost::system::errc::invalid_argument);
  }

  // Live events: the writer only tells us how far the log goes now.
  commit_sub_ = ctx_.commits->subscribe([this](const std::vector<Event>& committed) {
    if (committed.empty()) {
      return;
    }
    std::int64_t top = 0;
    for (const auto& e : committed) {
      top = std::max(top, e.id);
      if (e.kind == EventKind::DoorState) {
        doors_dirty_ = true;
      }
    }
    std::int64_t cur = head_.load();
    while (cur < top && !head_.compare_exchange_weak(cur, top)) {
    }
    request_pump();
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
            cfg_.client_id, topics_.root(), cursor_);
  return {};
}

void MqttAdapter::stop(std::chrono::milliseconds deadline) {
  commit_sub_.reset();  // returns once no commit observer call is running
  {
    std::lock_guard lock(alive_->mutex);
    alive_->adapter = nullptr;
  }
  if (!thread_.joinable()) {
    return;
  }
  auto until = std::chrono::steady_clock::now() + deadline;
  auto log = logger("mqtt");
  std::promise<void> flushed;
  auto flushed_future = flushed.get_future();
  net::post(ioc_, [this, &flushed, until] {
    bool was_up = link_ == Link::Up;
    link_ = Link::Stopping;
    reconnect_timer_.cancel();
    tick_timer_.cancel();
    pump_timer_.cancel();
    cursor_ = std::max(cursor_, drain_.cursor());
    if (was_up) {
      // A clean disconnect does not fire the last will: say offline ourselves.
      publish_control(topics_.status(), "offline", true);
    }
    // The last cursor goes through the writer, which still runs.
    if (cursor_ > persisted_cursor_) {
      auto pos = cursor_;
      auto p = std::make_shared<std::promise<bool>>();
      auto f = p->get_future();
      ctx_.cursors->store(kCursorName, pos,
                          [p](boost::system::error_code ec) { p->set_value(!ec); });
      auto wait_until = std::min(until, std::chrono::steady_clock::now() + kStopCursorWait);
      if (f.wait_until(wait_until) == std::future_status::ready && f.get()) {
        persisted_cursor_ = pos;
        persisted_cursor_atomic_ = pos;
      }
    }
    flushed.set_value();
  });
  flushed_future.wait_until(until);
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
  log->info("MQTT bridge stopped (cursor at event {})", persisted_cursor_);
}

// ---------------------------------------------------------------- connection

// A new paho client per connection attempt: nothing queued inside the
// previous one (publishes it had not written yet) can reach the broker
// after we resumed from the cursor, ahead of older events.
std::string MqttAdapter::make_client() {
  if (client_) {
    client_->disable_callbacks();
    client_.reset();
  }
  try {
    ::mqtt::create_options co(cfg_.protocol_version);
    co.set_send_while_disconnected(false);  // the event log is the only buffer
    // paho refuses a publish while this many wait in its own queue to be
    // written (default 100); our window is the limit, so give it room.
    co.set_max_buffered_messages(cfg_.inflight + 65536);
    client_ = std::make_unique<::mqtt::async_client>(cfg_.server_uri, cfg_.client_id, co, nullptr);
  } catch (const ::mqtt::exception& e) {
    return e.what();
  }
  // Callbacks of an older connection's client are ignored by epoch.
  const auto epoch = epoch_;
  client_->set_connection_lost_handler([this, epoch](const std::string& cause) {
    net::post(ioc_, [this, epoch, cause] {
      if (epoch == epoch_) {
        on_connection_lost(cause.empty() ? "lost" : cause);
      }
    });
  });
  client_->set_disconnected_handler(
      [this, epoch](const ::mqtt::properties&, ::mqtt::ReasonCode rc) {
        net::post(ioc_, [this, epoch, rc] {
          if (epoch == epoch_) {
            on_connection_lost("the broker disconnected us (reason " +
                               std::to_string(static_cast<int>(rc)) + ")");
          }
        });
      });
  client_->set_message_callback([this, epoch](::mqtt::const_message_ptr msg) {
    net::post(ioc_, [this, epoch, msg = std::move(msg)] {
      if (epoch == epoch_) {
        on_message(msg);
      }
    });
  });
  return {};
}

void MqttAdapter::do_connect() {
  if (link_ == Link::Stopping) {
    return;
  }
  link_ = Link::Connecting;
  ++epoch_;
  if (auto why = make_client(); !why.empty()) {
    on_connect(false, why, 0);
    return;
  }
  ::mqtt::connect_options opts;
  if (cfg_.protocol_version == 5) {
    opts.set_mqtt_version(MQTTVERSION_5);
    opts.set_clean_start(true);
  } else {
    opts.set_mqtt_version(MQTTVERSION_3_1_1);
    opts.set_clean_session(true);
  }
  opts.set_keep_alive_interval(cfg_.keepalive_s);
  opts.set_connect_timeout(cfg_.connect_timeout_s);
  opts.set_automatic_reconnect(false);  // we reconnect, with jitter, and resume from the cursor
  opts.set_max_inflight(std::min(65535, cfg_.inflight + 256));
  if (!cfg_.username.empty()) {
    opts.set_user_name(cfg_.username);
    opts.set_password(cfg_.password);
  }
  opts.set_will(
      ::mqtt::will_options(topics_.status(), std::string("offline"), cfg_.status_qos, true));
  if (cfg_.server_uri.rfind("ssl://", 0) == 0 || cfg_.server_uri.rfind("mqtts://", 0) == 0) {
    ::mqtt::ssl_options ssl;
    if (!cfg_.tls_ca_file.empty()) {
      ssl.set_trust_store(cfg_.tls_ca_file);
    }
    if (!cfg_.tls_cert_file.empty()) {
      ssl.set_key_store(cfg_.tls_cert_file);
      ssl.set_private_key(cfg_.tls_key_file);
    }
    ssl.set_enable_server_cert_auth(cfg_.tls_verify);
    ssl.set_verify(cfg_.tls_verify);
    opts.set_ssl(std::move(ssl));
  }
  // paho keeps pointers into the options while connecting: they live here.
  connect_options_ = std::make_unique<::mqtt::connect_options>(std::move(opts));
  try {
    client_->connect(*connect_options_,
                     reinterpret_cast<void*>(static_cast<std::uintptr_t>(epoch_)),
                     *connect_listener_);
  } catch (const ::mqtt::exception& e) {
    on_connect(false, e.what(), 0);
  }
}

void MqttAdapter::on_connect(bool ok, std::string reason, int receive_maximum) {
  if (link_ != Link::Connecting) {
    return;
  }
  auto log = logger("mqtt");
  if (!ok) {
    connect_failures_.inc();
    if (reason.empty()) {
      // Paho says only "failure": find out whether DNS, TCP or TLS failed.
      reason = diagnose_connect(cfg_.server_uri, 2000);
    }
    // A refusing broker (bad credentials, not authorised) or one that is not
    // there: both are the environment; keep trying, never give up.
    log->warn("cannot connect to {}: {} (attempt {})", cfg_.server_uri, reason, failures_ + 1);
    link_ = Link::Down;
    schedule_reconnect();
    return;
  }
  connects_.inc();
  failures_ = 0;
  link_ = Link::Up;
  connected_.set(1);
  link_since_ms_ = ctx_.clock.now_ms();
  window_ = cfg_.inflight;
  if (receive_maximum > 0) {
    window_ = std::min(window_, receive_maximum);  // the broker's own flow control (MQTT 5)
  }
  // Subscribe before saying online: a command sent once we are seen online
  // must not fall between the two (the wait is a round trip on our own thread).
  try {
    std::vector<std::string> filters = {topics_.command(), topics_.door_set_filter()};
    if (cfg_.ha_discovery) {
      filters.push_back(cfg_.ha_prefix + "/status");
    }
    if (cfg_.api_requests) {
      filters.push_back(topics_.api_request());
    }
    auto topics = ::mqtt::string_collection::create(filters);
    auto qos = std::vector<int>(filters.size(), 1);
    if (!client_->subscribe(topics, qos)->wait_for(std::chrono::seconds(cfg_.connect_timeout_s))) {
      log->warn("subscribing to the command topics timed out");
    }
  } catch (const ::mqtt::exception& e) {
    log->warn("subscribe failed: {}", e.what());
  }
  publish_control(topics_.status(), "online", true);
  doors_dirty_ = true;
  publish_terminals(true);
  publish_doors(true);
  publish_outputs();
  publish_discovery(true);
  retract_internal_source();
  begin_session();
  // Ready only now: a command published from here on finds our subscription.
  connected_atomic_ = true;
  log->info("connected to {} (window {}, backlog {} events after event {})", cfg_.server_uri,
            window_, head_.load() - cursor_, cursor_);
  publish_health();
  pump();
}

void MqttAdapter::on_connection_lost(const std::string& cause) {
  if (link_ != Link::Up && link_ != Link::Connecting) {
    return;
  }
  if (link_ == Link::Up) {
    connections_lost_.inc();
    logger("mqtt")->warn("connection to {} lost: {}; resuming from event {} on reconnect",
                         cfg_.server_uri, cause, std::max(cursor_, drain_.cursor()));
  }
  cursor_ = std::max(cursor_, drain_.cursor());
  link_ = Link::Down;
  try {
    if (client_->is_connected()) {
      // We gave up on this connection (a refused publish, a failed delivery):
      // drop it so the next attempt starts clean from the cursor.
      client_->disconnect(0);
    }
  } catch (const ::mqtt::exception& e) {
    logger("mqtt")->debug("disconnect: {}", e.what());
  }
  connected_.set(0);
  connected_atomic_ = false;
  link_since_ms_ = ctx_.clock.now_ms();
  ++epoch_;  // acks still on their way belong to the old connection
  backlog_.clear();
  schedule_reconnect();
  maybe_persist_cursor();
}

void MqttAdapter::schedule_reconnect() {
  if (link_ == Link::Stopping) {
    return;
  }
  ++failures_;
  double base = cfg_.reconnect_min_ms;
  for (int i = 1; i < failures_ && base < cfg_.reconnect_max_ms; ++i) {
    base *= 2;
  }
  base = std::min<double>(base, cfg_.reconnect_max_ms);
  // +-50% jitter, so a site's gateways do not all reconnect at the same instant.
  std::uniform_real_distribution<double> jitter(0.5, 1.5);
  auto delay = std::chrono::milliseconds(static_cast<std::int64_t>(base * jitter(rng_)));
  reconnect_timer_.expires_after(delay);
  reconnect_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) {
      do_connect();
    }
  });
}

void MqttAdapter::publish_control(const std::string& topic, const std::string& payload,
                                  bool retain) {
  if (link_ != Link::Up && link_ != Link::Stopping) {
    return;
  }
  try {
    auto msg = ::mqtt::make_message(topic, payload, cfg_.status_qos, retain);
    client_->publish(msg, nullptr, *control_listener_);
  } catch (const ::mqtt::exception& e) {
    control_failed_.inc();
    logger("mqtt")->debug("publish to {} failed: {}", topic, e.what());
  }
}

// ---------------------------------------------------------------- event sink

void MqttAdapter::begin_session() {
  boost::system::error_code ec;
  std::int64_t head = reader_->max_event_id(ec);
  std::map<std::string, std::int64_t> last;
  if (!ec) {
    last = reader_->last_id_per_terminal_after(cursor_, ec);
  }
  if (ec) {
    // Reading failed (should not happen on a healthy disk): start from the
    // cursor with everything as backlog; nothing is skipped.
    logger("mqtt")->error("cannot read the backlog extent: {}", ec.message());
    head = std::max(head, head_.load());
  }
  drain_.begin(cursor_, head, std::move(last));
  backlog_.clear();
  backlog_read_pos_ = cursor_;
  drain_tokens_ = 0;
  drain_refill_ = std::chrono::steady_clock::now();
  std::int64_t cur = head_.load();
  while (cur < head && !head_.compare_exchange_weak(cur, head)) {
  }
}

void MqttAdapter::request_pump() {
  if (!pump_posted_.exchange(true)) {
    net::post(ioc_, [this] {
      pump_posted_ = false;
      pump();
    });
  }
}

void MqttAdapter::pump() {
  if (link_ != Link::Up) {
    return;
  }
  auto log = logger("mqtt");
  auto room = [this] { return window_ - static_cast<int>(drain_.in_flight()); };
  boost::system::error_code ec;

  // Live lane first: what was committed since we last looked goes ahead of
  // the backlog (unless its terminal still has backlog, see DrainState).
  while (link_ == Link::Up && room() > 0 && head_.load() > drain_.live_pos()) {
    auto events = reader_->read_after(drain_.live_pos(),
                                      static_cast<std::size_t>(std::min(room(), 1000)), ec);
    if (ec) {
      log->error("cannot read live events: {}", ec.message());
      break;
    }
    if (events.empty()) {
      break;
    }
    for (const auto& e : events) {
      if (drain_.admit_live(e.terminal_sn, e.id)) {
        publish_event(e, false);
      }
    }
  }

  // Backlog lane: replay in id order, paced by the in-flight window and the optional cap.
  while (link_ == Link::Up && room() > 0 && drain_.draining()) {
    if (cfg_.drain_max_per_s > 0) {
      auto now = std::chrono::steady_clock::now();
      double dt = std::chrono::duration<double>(now - drain_refill_).count();
      drain_refill_ = now;
      drain_tokens_ = std::min<double>(drain_tokens_ + dt * cfg_.drain_max_per_s,
                                       std::max(1, cfg_.drain_max_per_s / 10));
      if (drain_tokens_ < 1) {
        if (!pump_timer_armed_) {
          pump_timer_armed_ = true;
          pump_timer_.expires_after(std::chrono::milliseconds(10));
          pump_timer_.async_wait([this](boost::system::error_code e) {
            pump_timer_armed_ = false;
            if (!e) {
              pump();
            }
          });
        }
        break;
      }
    }
    if (backlog_.empty()) {
      auto events =
          reader_->read_after(std::max(backlog_read_pos_, drain_.backlog_pos()), kBacklogBatch, ec);
      if (ec) {
        log->error("cannot read the backlog: {}", ec.message());
        break;
      }
      for (auto& e : events) {
        if (e.id > drain_.live_pos()) {
          break;  // the live lane's part of the log
        }
        backlog_read_pos_ = e.id;
        backlog_.push_back(std::move(e));
      }
      if (backlog_.empty()) {
        // Nothing left up to the live position (ids can have gaps).
        drain_.admit_backlog(std::string(), drain_.live_pos());
        break;
      }
    }
    Event e = std::move(backlog_.front());
    backlog_.pop_front();
    if (drain_.admit_backlog(e.terminal_sn, e.id)) {
      publish_event(e, true);
      if (cfg_.drain_max_per_s > 0) {
        drain_tokens_ -= 1;
      }
    }
  }
  maybe_persist_cursor();
}

void MqttAdapter::publish_event(const Event& e, bool replay) {
  auto ctx = make_context(epoch_, e.id);
  if (drain_.in_flight() == 0) {
    last_ack_progress_ = std::chrono::steady_clock::now();  // the watchdog starts now
  }
  drain_.published(e.id);
  try {
    auto msg = ::mqtt::make_message(topics_.event(e.terminal_sn, e.kind), event_payload(e, replay),
                                    cfg_.event_qos, cfg_.retain_events);
    client_->publish(msg, reinterpret_cast<void*>(static_cast<std::uintptr_t>(ctx)),
                     *event_listener_);
    published_.inc();
  } catch (const ::mqtt::exception& ex) {
    // The client refused it (disconnected under us): the cursor stays below
    // it and the reconnect sends it again.
    drain_.failed(e.id);
    failed_.inc();
    on_connection_lost(std::string("publish refused: ") + ex.what());
  }
}

void MqttAdapter::on_event_acks() {
  std::vector<std::pair<std::uint64_t, bool>> acks;
  {
    std::lock_guard lock(acks_mutex_);
    acks.swap(acks_);
  }
  for (const auto& [context, ok] : acks) {
    auto epoch = static_cast<std::uint16_t>(context >> 48);
    auto id = static_cast<std::int64_t>(context & 0xFFFFFFFFFFFFULL);
    if (epoch != epoch_ || link_ != Link::Up) {
      continue;  // from a connection that is gone; its unacked events are sent again
    }
    if (!ok) {
      failed_.inc();
      drain_.failed(id);
      on_connection_lost("delivery of event " + std::to_string(id) + " failed");
      continue;
    }
    if (drain_.acked(id)) {
      acked_.inc();
      last_ack_progress_ = std::chrono::steady_clock::now();
    }
  }
  pump();
}

void MqttAdapter::maybe_persist_cursor() {
  if (link_ == Link::Up) {
    cursor_ = std::max(cursor_, drain_.cursor());
  }
  if (cursor_write_in_flight_ || cursor_ <= persisted_cursor_ || link_ == Link::Stopping) {
    return;
  }
  auto now = std::chrono::steady_clock::now();
  if (now - last_cursor_write_ < kCursorWriteEvery) {
    return;  // the tick or the next ack writes it; a restart resends at most this much
  }
  cursor_write_in_flight_ = true;
  last_cursor_write_ = now;
  auto pos = cursor_;
  ctx_.cursors->store(kCursorName, pos, [this, alive = alive_, pos](boost::system::error_code ec) {
    std::lock_guard lock(alive->mutex);
    if (alive->adapter == nullptr) {
      return;
    }
    net::post(ioc_, [this, pos, ok = !ec, msg = ec.message()] {
      cursor_write_in_flight_ = false;
      if (!ok) {
        logger("mqtt")->warn("cannot store the mqtt cursor: {}", msg);
        return;
      }
      persisted_cursor_ = std::max(persisted_cursor_, pos);
      persisted_cursor_atomic_ = persisted_cursor_;
    });
  });
}

// ---------------------------------------------------------- status, health

void MqttAdapter::schedule_tick() {
  tick_timer_.expires_after(std::chrono::seconds(1));
  tick_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) {
      on_tick();
      schedule_tick();
    }
  });
}

void MqttAdapter::on_tick() {
  ++ticks_;
  update_backlog_figures();
  if (link_ != Link::Up) {
    return;
  }
  if (drain_.in_flight() > 0 && std::chrono::steady_clock::now() - last_ack_progress_ >
                                    std::chrono::seconds(cfg_.ack_timeout_s)) {
    // A broker (or client library) that stopped acknowledging: without this
    // the window stays full forever. Reconnecting sends the unacknowledged
    // events again; consumers drop the duplicates by id.
    ack_timeouts_.inc();
    on_connection_lost(std::to_string(drain_.in_flight()) + " events without PUBACK for " +
                       std::to_string(cfg_.ack_timeout_s) + " s");
    return;
  }
  maybe_persist_cursor();
  publish_terminals(false);
  if (doors_dirty_.exchange(false)) {
    publish_doors(false);
  }
  if (ticks_ % cfg_.health_interval_s == 0) {
    publish_health();
  }
  pump();
}

void MqttAdapter::update_backlog_figures() {
  auto cursor = std::max(cursor_, link_ == Link::Up ? drain_.cursor() : cursor_);
  auto head = head_.load();
  backlog_events_.set(static_cast<double>(std::max<std::int64_t>(head - cursor, 0)));
  boost::system::error_code ec;
  backlog_oldest_ms_ = reader_->first_received_ms_after(cursor, ec);  // 0: none (or unreadable)
  double age = backlog_oldest_ms_ > 0
                   ? std::max<double>(0, (ctx_.clock.now_ms() - backlog_oldest_ms_) / 1000.0)
                   : 0.0;
  backlog_age_.set(age);
  report_health(age);
}

// /readyz: the uplink's state, and a failing check once the oldest event
// still waiting for the broker is older than health.max_backlog_age_s.
void MqttAdapter::report_health(double backlog_age_s) {
  Health::Sink s;
  s.connected = link_ == Link::Up;
  s.since_ms = link_since_ms_;
  s.backlog_events = static_cast<std::int64_t>(backlog_events_.value());
  s.backlog_oldest_age_s = backlog_age_s;
  ctx_.health.set_sink("mqtt", s);
  const bool too_old = max_backlog_age_s_ > 0 && backlog_age_s > max_backlog_age_s_;
  if (too_old == backlog_too_old_) {
    return;
  }
  backlog_too_old_ = too_old;
  if (!too_old) {
    ctx_.health.set(Health::Kind::Ready, "mqtt", true);
    logger("mqtt")->info("backlog back under health.max_backlog_age_s: ready again");
    return;
  }
  backlog_alarms_.inc();
  auto reason = std::to_string(s.backlog_events) + " events not delivered, the oldest " +
                std::to_string(static_cast<std::int64_t>(backlog_age_s)) +
                " s old (health.max_backlog_age_s " + std::to_string(max_backlog_age_s_) +
                "); broker " + (s.connected ? "connected" : "not connected") + " since " +
                (s.since_ms > 0 ? format_utc_iso8601(s.since_ms) : std::string("start"));
  logger("mqtt")->warn("not ready: {}", reason);
  ctx_.health.set(Health::Kind::Ready, "mqtt", false, std::move(reason));
}

void MqttAdapter::publish_health() {
  update_backlog_figures();
  HealthFigures h;
  h.backlog_events = static_cast<std::int64_t>(backlog_events_.value());
  h.backlog_oldest_age_s = backlog_age_.value();
  if (auto free_bytes = ctx_.status.disk_free_bytes()) {
    h.disk_free_bytes = static_cast<double>(*free_bytes);
  }
  h.published = published_.value();
  h.acked = acked_.value();
  h.failed = failed_.value();
  h.cursor = std::max(cursor_, drain_.cursor());
  h.head = head_.load();
  h.draining = drain_.draining();
  h.terminals_online =
      ctx_.terminals.online_count(ctx_.clock.now_ms(), cfg_.terminal_offline_after_s * 1000LL);
  h.now_ms = ctx_.clock.now_ms();
  publish_control(topics_.health(), health_payload(h, zone_), cfg_.retain_status);
}

void MqttAdapter::publish_terminals(bool force) {
  auto now_ms = ctx_.clock.now_ms();
  auto now = std::chrono::steady_clock::now();
  bool new_terminal = false;
  for (const auto& r : ctx_.terminals.all()) {
    if (!ctx_.terminals.is_terminal(r.sn)) {
      continue;  // the gateway's own events: no status, no device
    }
    TerminalStatus t;
    t.sn = r.sn;
    t.name = ctx_.terminals.name_for(r.sn);
    t.flavour = r.flavour;
    t.state = r.state;
    t.firmware = r.firmware;
    t.device_type = r.device_type;
    t.vendor = r.vendor;
    t.model = r.model;
    t.doors = r.capabilities.doors;
    t.ip = r.ip;
    t.last_seen_ms = r.last_seen_ms;
    t.online =
        r.last_seen_ms > 0 && now_ms - r.last_seen_ms < cfg_.terminal_offline_after_s * 1000LL;
    auto it = terminals_sent_.find(t.sn);
    bool changed = it == terminals_sent_.end();
    if (!changed) {
      auto a = it->second;
      a.last_seen_ms = t.last_seen_ms;  // last_seen alone is republished every few minutes
      changed = !(a == t);
    }
    if (!force && !changed && now - terminals_sent_at_[t.sn] < kTerminalRepublish) {
      continue;
    }
    if (it == terminals_sent_.end() || it->second.name != t.name ||
        it->second.flavour != t.flavour || it->second.firmware != t.firmware ||
        it->second.device_type != t.device_type) {
      new_terminal = true;
    }
    publish_control(topics_.terminal_status(t.sn), terminal_status_payload(t, zone_),
                    cfg_.retain_status);
    terminals_sent_[t.sn] = t;
    terminals_sent_at_[t.sn] = now;
  }
  if (new_terminal && !force) {
    publish_discovery(false);
  }
}

void MqttAdapter::publish_doors(bool force) {
  bool new_door = false;
  for (const auto& row : ctx_.doors.all()) {
    DoorState d;
    d.sn = row.terminal;
    d.door = row.door;
    d.sensor = row.state.sensor ? std::string(to_string(*row.state.sensor)) : std::string();
    d.relay = row.state.relay ? std::string(to_string(*row.state.relay)) : std::string();
    d.alarm = row.state.alarms ? static_cast<int>(*row.state.alarms) : kUnset;
    d.updated_ms = row.updated_ms;
    if (!ctx_.terminals.is_terminal(d.sn)) {
      continue;
    }
    auto key = std::make_pair(d.sn, d.door);
    auto it = doors_sent_.find(key);
    if (!force && it != doors_sent_.end() && it->second == d) {
      continue;
    }
    if (doors_by_sn_[d.sn].insert(d.door).second) {
      new_door = true;
    }
    publish_control(topics_.door_state(d.sn, d.door), door_state_payload(d, zone_),
                    cfg_.retain_status);
    doors_sent_[key] = d;
  }
  if (new_door && !force) {
    publish_discovery(false);
  }
}

void MqttAdapter::publish_outputs() {
  if (link_ != Link::Up) {
    return;  // sent in full on (re)connect
  }
  for (std::size_t i = 0; i < ctx_.outputs.size(); ++i) {
    const auto& name = ctx_.outputs.names()[i];
    auto s = ctx_.outputs.at(i);
    publish_control(topics_.output(name),
                    output_payload(name, s.on, s.changed_ms, s.until_ms, zone_),
                    cfg_.retain_status);
  }
}

void MqttAdapter::publish_discovery(bool all) {
  if (!cfg_.ha_discovery || link_ != Link::Up) {
    return;
  }
  for (const auto& [sn, t] : terminals_sent_) {
    if (!ctx_.terminals.is_terminal(sn)) {
      continue;
    }
    const std::set<int>& doors = doors_by_sn_[sn];
    auto sent = discovered_.find(sn);
    if (!all && sent != discovered_.end() && sent->second.first == t.flavour &&
        sent->second.second == doors) {
      continue;
    }
    DiscoveryInput in;
    in.gateway_id = gateway_id_;
    in.prefix = cfg_.ha_prefix;
    in.sw_version = kVersion;
    in.terminal = t;
    in.doors.assign(doors.begin(), doors.end());
    for (const auto& [topic, payload] : ha_discovery(topics_, in)) {
      publish_control(topic, payload, true);  // discovery must be retained for HA restarts
    }
    discovered_[sn] = {t.flavour, doors};
  }
}

// Earlier builds took the gateway's own event source (timecards, under
// gateway.id) for a terminal and left a retained status and a Home
// Assistant device with a lock behind: empty retained messages remove them.
void MqttAdapter::retract_internal_source() {
  publish_control(topics_.terminal_status(gateway_id_), std::string(), true);
  if (!cfg_.ha_discovery) {
    return;
  }
  DiscoveryInput in;
  in.gateway_id = gateway_id_;
  in.prefix = cfg_.ha_prefix;
  in.terminal.sn = gateway_id_;
  in.terminal.flavour = "access";  // every entity such a device could have had
  in.terminal.doors = 1;
  in.doors = {1};
  for (const auto& [topic, payload] : ha_discovery(topics_, in)) {
    publish_control(topic, std::string(), true);
  }
}

// ---------------------------------------------------------------- commands

void MqttAdapter::on_message(std::shared_ptr<const ::mqtt::message> msg) {
  if (link_ != Link::Up) {
    return;
  }
  const auto& topic = msg->get_topic();
  const auto& payload = msg->get_payload_str();
  if (cfg_.ha_discovery && topic == cfg_.ha_prefix + "/status") {
    if (payload == "online") {
      // Home Assistant restarted: it wants the discovery again.
      publish_discovery(true);
    }
    return;
  }
  Reply reply;
  const auto& props = msg->get_properties();
  if (props.contains(::mqtt::property::RESPONSE_TOPIC)) {
    reply.topic = ::mqtt::get<std::string>(props, ::mqtt::property::RESPONSE_TOPIC);
  }
  if (props.contains(::mqtt::property::CORRELATION_DATA)) {
    reply.correlation = ::mqtt::get<std::string>(props, ::mqtt::property::CORRELATION_DATA);
  }
  if (cfg_.api_requests && topic == topics_.api_request()) {
    handle_api_request(payload, std::move(reply));
    return;
  }
  if (!cfg_.commands) {
    return;
  }
  if (topic == topics_.command()) {
    handle_command(payload, std::move(reply));
    return;
  }
  if (auto door = topics_.parse_door_set(topic)) {
    commands_received_.inc();
    if (!ctx_.terminals.is_terminal(door->first)) {
      commands_rejected_.inc();
      logger("mqtt")->warn("door {} of {}: the gateway's own source has no doors; ignored",
                           door->second, door->first);
      return;
    }
    auto req = parse_door_set(door->first, door->second, payload, kDoorOpenSeconds);
    if (!req) {
      // LOCK and anything else: the relay relocks by itself after the pulse.
      logger("mqtt")->debug("[sn={}] door {}: ignoring \"{}\" (only UNLOCK/OPEN act)", door->first,
                            door->second, payload.substr(0, 32));
      return;
    }
    req->client_ref = "ha-" + topic_level(door->first) + "-door" + std::to_string(door->second) +
                      "-" + std::to_string(ctx_.clock.now_ms()) + "-" +
                      std::to_string(++door_commands_);
    auto id = req->client_ref;
    ctx_.commands.enqueue(
        std::move(*req), [this, alive = alive_, id](boost::system::error_code ec, std::string error,
                                                    CommandRecord rec, bool duplicate) {
          std::lock_guard lock(alive->mutex);
          if (alive->adapter == nullptr) {
            return;
          }
          net::post(ioc_, [this, ec, error, rec, duplicate, id] {
            if (ec || !error.empty()) {
              commands_rejected_.inc();
              send_command_result(id,
                                  command_rejected_payload(id, ec ? ec.message() : error, zone_,
                                                           ctx_.clock.now_ms()),
                                  true);
              return;
            }
            if (duplicate) {
              on_command_changed(rec, true);  // a new one is reported by the queue's observer
            }
          });
        });
  }
}

void MqttAdapter::handle_command(const std::string& payload, Reply reply) {
  commands_received_.inc();
  auto log = logger("mqtt");
  auto pc = parse_command(payload, ctx_.clock.now_ms());
  if (!pc.error.empty()) {
    commands_rejected_.inc();
    log->debug("[cmd={}] rejected: {}", pc.id.empty() ? "?" : pc.id, pc.error);
    auto id = pc.id.empty() ? std::string("_invalid") : pc.id;
    if (!reply.topic.empty()) {
      replies_[id] = reply;
    }
    send_command_result(id, command_rejected_payload(pc.id, pc.error, zone_, ctx_.clock.now_ms()),
                        true);
    return;
  }
  if (!reply.topic.empty()) {
    replies_[pc.id] = std::move(reply);
  }
  auto id = pc.id;
  ctx_.commands.enqueue(std::move(pc.request), [this, alive = alive_, id](
                                                   boost::system::error_code ec, std::string error,
                                                   CommandRecord rec, bool duplicate) {
    std::lock_guard lock(alive->mutex);
    if (alive->adapter == nullptr) {
      return;
    }
    net::post(ioc_, [this, ec, error, rec, duplicate, id] {
      if (ec) {
        // Not queued: the store could not commit. Say so; the caller may resend.
        send_command_result(id,
                            command_rejected_payload(id, "store unavailable: " + ec.message(),
                                                     zone_, ctx_.clock.now_ms()),
                            true);
        return;
      }
      if (!error.empty()) {
        commands_rejected_.inc();
        send_command_result(id, command_rejected_payload(id, error, zone_, ctx_.clock.now_ms()),
                            true);
        return;
      }
      // A newly queued command is reported once, by the queue's observer
      // (add_observer in start()); only the answer to a repeat is ours.
      if (duplicate) {
        on_command_changed(rec, true);
      }
    });
  });
}

void MqttAdapter::on_command_changed(const CommandRecord& c, bool duplicate) {
  if (c.client_ref.empty()) {
    return;
  }
  send_command_result(
      c.client_ref, command_result_payload(c, c.client_ref, duplicate, zone_, ctx_.clock.now_ms()),
      is_final(c.state));
}

void MqttAdapter::send_command_result(const std::string& id, const std::string& payload,
                                      bool final) {
  publish_control(topics_.command_result(id), payload, false);
  auto it = replies_.find(id);
  if (it == replies_.end()) {
    return;
  }
  send_reply({}, payload, it->second);
  if (final) {
    replies_.erase(it);
  }
}

// `topic` (if any), and the MQTT 5 response topic with its correlation data.
void MqttAdapter::send_reply(const std::string& topic, const std::string& payload,
                             const Reply& reply) {
  if (!topic.empty()) {
    publish_control(topic, payload, false);
  }
  if (reply.topic.empty() || link_ != Link::Up || cfg_.protocol_version != 5) {
    return;
  }
  try {
    auto msg = ::mqtt::make_message(reply.topic, payload, cfg_.status_qos, false);
    if (!reply.correlation.empty()) {
      ::mqtt::properties props;
      props.add(::mqtt::property(::mqtt::property::CORRELATION_DATA, reply.correlation));
      msg->set_properties(props);
    }
    client_->publish(msg, nullptr, *control_listener_);
  } catch (const ::mqtt::exception& e) {
    control_failed_.inc();
    logger("mqtt")->debug("response topic {}: {}", reply.topic, e.what());
  }
}

void MqttAdapter::handle_api_request(const std::string& payload, Reply reply) {
  auto r = parse_api_request(payload);
  if (!r.error.empty()) {
    commands_rejected_.inc();
    logger("mqtt")->debug("api request rejected: {}", r.error);
    auto id = r.id.empty() ? std::string("_invalid") : r.id;
    send_reply(
        topics_.api_response(id),
        api_response_payload(r.id, 400, dump_json({{"error", "bad request"}, {"detail", r.error}})),
        reply);
    return;
  }
  // The same router the REST server uses, on the gateway's io_context: every
  // route answers here exactly as over HTTP.
  namespace bhttp = boost::beast::http;
  http::Request req;
  req.method(bhttp::string_to_verb(r.method));
  req.target(r.path);
  req.version(11);
  req.set(bhttp::field::host, "mqtt");
  if (!r.body.empty()) {
    req.set(bhttp::field::content_type, "application/json");
    req.body() = r.body;
  }
  req.prepare_payload();
  auto strand = net::make_strand(ctx_.ioc);
  http::Reply answer(
      [this, alive = alive_, id = r.id, reply](http::Response&& res) {
        std::lock_guard lock(alive->mutex);
        if (alive->adapter == nullptr) {
          return;
        }
        net::post(ioc_, [this, id, reply, status = res.result_int(), body = res.body()] {
          send_reply(topics_.api_response(id),
                     api_response_payload(id, static_cast<int>(status), body), reply);
        });
      },
      strand);
  net::post(strand, [this, req = std::move(req), answer = std::move(answer)]() mutable {
    ctx_.router.handle(std::move(req), http::RequestInfo{}, std::move(answer));
  });
}

}  // namespace pushgate::adapters::mqtt
