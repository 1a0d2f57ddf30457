#include "adapters/mqtt/mqtt_config.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>

namespace pushgate::adapters::mqtt {

using config::KeySpec;
using config::ValueType;

namespace {
void add_string(config::Schema& s, const char* path, const char* def, const char* description,
                std::vector<std::string> choices = {}) {
  s.add(
      {path, ValueType::String, std::string(def), description, {}, {}, std::move(choices), false});
}
void add_int(config::Schema& s, const char* path, std::int64_t def, std::int64_t min,
             std::int64_t max, const char* description) {
  s.add({path, ValueType::Int, def, description, min, max, {}, false});
}
void add_bool(config::Schema& s, const char* path, bool def, const char* description) {
  s.add({path, ValueType::Bool, def, description, {}, {}, {}, false});
}
}  // namespace

void MqttConfig::declare(config::Schema& s) {
  s.describe_section("mqtt",
                     "[mqtt] — the MQTT bridge: every event out (QoS 1, in order per terminal,\n"
                     "resumed from a durable cursor after an outage), retained status, commands\n"
                     "in, Home Assistant discovery. Topics and payloads: adapters/mqtt/README.md.");
  add_bool(s, "mqtt.enabled", false, "Connect to a broker and publish.");
  add_string(s, "mqtt.server_uri", "tcp://127.0.0.1:1883",
             "The broker: tcp://host:port, or ssl://host:port for TLS (port 8883 usually).");
  add_string(s, "mqtt.protocol_version", "3.1.1",
             "MQTT protocol: 3.1.1 or 5. With 5, command results also go to the request's\n"
             "response topic with its correlation data.",
             {"3.1.1", "5"});
  add_string(s, "mqtt.client_id", "",
             "Client identifier; must be unique on the broker. Empty: pushgate-<gateway.id>.");
  add_string(s, "mqtt.username", "", "User name for the broker (empty: none).");
  add_string(s, "mqtt.password", "", "Password for the broker.");
  add_string(s, "mqtt.tls_ca_file", "",
             "PEM file of the CA(s) that signed the broker's certificate (ssl:// only).\n"
             "Empty: the system's trust store.");
  add_string(s, "mqtt.tls_cert_file", "",
             "PEM client certificate, for brokers that require one (with tls_key_file).");
  add_string(s, "mqtt.tls_key_file", "", "PEM private key of the client certificate.");
  add_bool(s, "mqtt.tls_verify", true,
           "Verify the broker's certificate and host name. Turn off only for tests.");
  add_string(s, "mqtt.topic_root", "pushgate/{gateway_id}",
             "Every topic starts with this. {gateway_id} is replaced by gateway.id, so many\n"
             "sites can share one broker.");
  add_int(s, "mqtt.event_qos", 1, 0, 2,
          "QoS of event messages. 1 (default): the cursor advances only after PUBACK, so\n"
          "nothing is lost (duplicates are possible; drop them by id). 2: exactly once on\n"
          "the wire, slower. 0: the cursor advances once sent; a broker crash loses events.");
  add_int(s, "mqtt.status_qos", 1, 0, 2,
          "QoS of status, health, door, output, discovery and command-result messages.");
  add_bool(s, "mqtt.retain_events", false,
           "Retain event messages (the last event of each terminal and kind).");
  add_bool(s, "mqtt.retain_status", true,
           "Retain gateway/terminal/door/output status and health, so a subscriber that\n"
           "connects late sees the current state. The gateway status topic is always retained.");
  add_int(s, "mqtt.inflight", 100, 1, 65535,
          "Most event messages published and not yet acknowledged by the broker. This\n"
          "in-flight window is what paces a backlog drain (the broker's flow control):\n"
          "a drain runs at most inflight / round-trip time. 100 suits a broker on the\n"
          "LAN (paho's bookkeeping grows with the window); raise it for a distant one.");
  add_int(s, "mqtt.drain_max_per_s", 0, 0, 1000000,
          "Optional cap on backlog replay, in messages per second (0: no cap). Live\n"
          "events are never held back by it.");
  add_int(s, "mqtt.keepalive_s", 30, 5, 3600, "MQTT keep-alive interval.");
  add_int(s, "mqtt.connect_timeout_s", 10, 1, 300, "How long one connection attempt may take.");
  add_int(s, "mqtt.ack_timeout_s", 20, 1, 3600,
          "Events in flight and no PUBACK for this long: the connection is taken as\n"
          "broken, dropped and made again, and what was not acknowledged is sent again.");
  add_int(s, "mqtt.reconnect_min_ms", 500, 50, 600000,
          "First delay before reconnecting after a refused or lost connection; it doubles\n"
          "per failure up to reconnect_max_ms, each delay jittered by +-50%.");
  add_int(s, "mqtt.reconnect_max_ms", 30000, 100, 3600000, "Longest delay between reconnects.");
  add_int(s, "mqtt.health_interval_s", 10, 1, 3600,
          "How often the health topic (backlog depth and age, disk free) is published.");
  add_int(s, "mqtt.terminal_offline_after_s", 90, 10, 86400,
          "A terminal not heard from for this long is published as offline. Devices\n"
          "the gateway holds a link to (Dahua) follow their link state at once.");
  add_bool(s, "mqtt.commands", true,
           "Accept commands on <root>/command and the Home Assistant lock topics.");
  add_bool(s, "mqtt.api_requests", false,
           "Run any REST API request sent on <root>/api/request ({id, method, path, body})\n"
           "and answer on <root>/api/response/<id>. Anyone who may publish there gets\n"
           "the whole REST API: enable only on a broker with access control.");
  add_bool(s, "mqtt.ha_discovery", true,
           "Publish Home Assistant MQTT discovery: a device per terminal with a lock per\n"
           "door, door-contact and connectivity binary sensors and event entities.");
  add_string(s, "mqtt.ha_prefix", "homeassistant",
             "Home Assistant's discovery prefix; its birth topic is <prefix>/status.");
}

MqttConfig MqttConfig::from(const config::Config& c) {
  MqttConfig m;
  m.enabled = c.get_bool("mqtt.enabled");
  m.server_uri = c.get_string("mqtt.server_uri");
  m.protocol_version = c.get_string("mqtt.protocol_version") == "5" ? 5 : 4;
  const auto& gateway_id = c.get_string("gateway.id");
  m.client_id = c.get_string("mqtt.client_id");
  if (m.client_id.empty()) {
    m.client_id = "pushgate-" + gateway_id;
  }
  m.username = c.get_string("mqtt.username");
  m.password = c.get_string("mqtt.password");
  m.tls_ca_file = c.get_string("mqtt.tls_ca_file");
  m.tls_cert_file = c.get_string("mqtt.tls_cert_file");
  m.tls_key_file = c.get_string("mqtt.tls_key_file");
  m.tls_verify = c.get_bool("mqtt.tls_verify");
  m.topic_root = c.get_string("mqtt.topic_root");
  for (auto pos = m.topic_root.find("{gateway_id}"); pos != std::string::npos;
       pos = m.topic_root.find("{gateway_id}")) {
    m.topic_root.replace(pos, 12, gateway_id);
  }
  while (!m.topic_root.empty() && m.topic_root.back() == '/') {
    m.topic_root.pop_back();
  }
  m.event_qos = static_cast<int>(c.get_int("mqtt.event_qos"));
  m.status_qos = static_cast<int>(c.get_int("mqtt.status_qos"));
  m.retain_events = c.get_bool("mqtt.retain_events");
  m.retain_status = c.get_bool("mqtt.retain_status");
  m.inflight = static_cast<int>(c.get_int("mqtt.inflight"));
  m.drain_max_per_s = static_cast<int>(c.get_int("mqtt.drain_max_per_s"));
  m.keepalive_s = static_cast<int>(c.get_int("mqtt.keepalive_s"));
  m.connect_timeout_s = static_cast<int>(c.get_int("mqtt.connect_timeout_s"));
  m.ack_timeout_s = static_cast<int>(c.get_int("mqtt.ack_timeout_s"));
  m.reconnect_min_ms = static_cast<int>(c.get_int("mqtt.reconnect_min_ms"));
  m.reconnect_max_ms = static_cast<int>(c.get_int("mqtt.reconnect_max_ms"));
  m.health_interval_s = static_cast<int>(c.get_int("mqtt.health_interval_s"));
  m.terminal_offline_after_s = static_cast<int>(c.get_int("mqtt.terminal_offline_after_s"));
  m.commands = c.get_bool("mqtt.commands");
  m.api_requests = c.get_bool("mqtt.api_requests");
  m.ha_discovery = c.get_bool("mqtt.ha_discovery");
  m.ha_prefix = c.get_string("mqtt.ha_prefix");
  return m;
}

std::string MqttConfig::validate() const {
  if (topic_root.empty() || topic_root.find_first_of("+#") != std::string::npos) {
    return "mqtt.topic_root: must be a non-empty topic without + or #, got \"" + topic_root + "\"";
  }
  if (server_uri.rfind("tcp://", 0) != 0 && server_uri.rfind("ssl://", 0) != 0 &&
      server_uri.rfind("mqtt://", 0) != 0 && server_uri.rfind("mqtts://", 0) != 0) {
    return "mqtt.server_uri: must start with tcp:// or ssl://, got \"" + server_uri +
           "\" (write tcp://" +
           server_uri.substr(
               server_uri.find("://") == std::string::npos ? 0 : server_uri.find("://") + 3) +
           ")";
  }
  if (tls_cert_file.empty() != tls_key_file.empty()) {
    return "mqtt.tls_cert_file: mqtt.tls_cert_file and mqtt.tls_key_file go together";
  }
  if (reconnect_max_ms < reconnect_min_ms) {
    return "mqtt.reconnect_max_ms: " + std::to_string(reconnect_max_ms) +
           " is below mqtt.reconnect_min_ms " + std::to_string(reconnect_min_ms);
  }
  const std::pair<const char*, const std::string*> files[] = {
      {"mqtt.tls_ca_file", &tls_ca_file},
      {"mqtt.tls_cert_file", &tls_cert_file},
      {"mqtt.tls_key_file", &tls_key_file}};
  for (const auto& [key, path] : files) {
    if (path->empty()) {
      continue;
    }
    std::ifstream in(*path);
    if (!in) {
      return std::string(key) + ": cannot read \"" + *path + "\": " + std::strerror(errno);
    }
  }
  return {};
}

}  // namespace pushgate::adapters::mqtt
