#include "adapters/mqtt/mqtt_adapter_internal.hpp"

#include <algorithm>

#include "gateway/logging.hpp"

namespace pushgate::adapters::mqtt {

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
  // The runner hands the backlog over again from the cursor, then live events.
  unacked_ = 0;
  runner_->set_connected(true, static_cast<std::size_t>(window_));
  // Ready only now: a command published from here on finds our subscription.
  connected_atomic_ = true;
  auto f = runner_->figures();
  log->info("connected to {} (window {}, backlog {} events after event {})", cfg_.server_uri,
            window_, f.backlog_events, f.cursor);
  publish_health();
}

void MqttAdapter::on_connection_lost(const std::string& cause) {
  if (link_ != Link::Up && link_ != Link::Connecting) {
    return;
  }
  if (link_ == Link::Up) {
    connections_lost_.inc();
    logger("mqtt")->warn("connection to {} lost: {}; resuming from the cursor on reconnect",
                         cfg_.server_uri, cause);
  }
  link_ = Link::Down;
  // What was published and not acknowledged is handed over again after the reconnect.
  runner_->set_connected(false);
  unacked_ = 0;
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
  ++epoch_;  // acks still on their way belong to the old connection
  schedule_reconnect();
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

}  // namespace pushgate::adapters::mqtt
