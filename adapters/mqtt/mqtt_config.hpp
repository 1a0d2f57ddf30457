#pragma once

#include <cstdint>
#include <string>

#include "gateway/config/config.hpp"

namespace pushgate::adapters::mqtt {

/** The [mqtt] keys, declared in mqtt_config.cpp. */
struct MqttConfig {
  bool enabled = false;
  std::string server_uri = "tcp://127.0.0.1:1883";
  int protocol_version = 4;  ///< paho's numbering: 4 = MQTT 3.1.1, 5 = MQTT 5
  std::string client_id;     ///< resolved: "pushgate-<gateway.id>" when the key is empty
  std::string username;
  std::string password;
  std::string tls_ca_file;
  std::string tls_cert_file;
  std::string tls_key_file;
  bool tls_verify = true;
  std::string topic_root;  ///< resolved: {gateway_id} replaced
  int event_qos = 1;
  int status_qos = 1;
  bool retain_events = false;
  bool retain_status = true;
  int inflight = 100;
  int drain_max_per_s = 0;  ///< 0: only the in-flight window limits the drain
  int keepalive_s = 30;
  int connect_timeout_s = 10;
  int ack_timeout_s = 20;
  int reconnect_min_ms = 500;
  int reconnect_max_ms = 30000;
  int health_interval_s = 10;
  int terminal_offline_after_s = 90;
  bool commands = true;
  bool api_requests = false;
  bool ha_discovery = true;
  std::string ha_prefix = "homeassistant";

  static void declare(config::Schema& schema);
  /** Reads the keys and resolves client_id and topic_root. */
  static MqttConfig from(const config::Config& config);
  /** "" or why the combination of keys cannot work (start() refuses it). */
  std::string validate() const;
};

}  // namespace pushgate::adapters::mqtt
