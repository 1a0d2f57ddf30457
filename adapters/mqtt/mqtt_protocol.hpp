#pragma once

// The MQTT bridge's wire format, pure: topic names, JSON payloads and the
// parsing of what arrives (commands, Home Assistant lock commands). No I/O;
// adapters/mqtt/README.md documents every topic and payload built here.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "gateway/command.hpp"
#include "gateway/event.hpp"
#include "gateway/json/bounded_json.hpp"
#include "gateway/timezone.hpp"

namespace pushgate::adapters::mqtt {

/** Makes `s` one safe topic level: '/', '+', '#', NUL and control bytes become '_'. */
std::string topic_level(std::string_view s);

/** "2026-11-21T09:14:03+01:00": `utc_ms` as wall time in `zone` with its offset. */
std::string iso_local(const Zone& zone, std::int64_t utc_ms);

/** Every topic under the configured root (which already holds the gateway id). */
class Topics {
 public:
  explicit Topics(std::string root) : root_(std::move(root)) {}
  const std::string& root() const noexcept { return root_; }

  std::string status() const { return root_ + "/status"; }
  std::string health() const { return root_ + "/health"; }
  std::string terminal_status(std::string_view sn) const;
  std::string door_state(std::string_view sn, int door) const;
  std::string door_set(std::string_view sn, int door) const;
  std::string door_set_filter() const { return root_ + "/terminal/+/door/+/set"; }
  std::string event(std::string_view sn, EventKind kind) const;
  std::string output(std::string_view name) const;
  std::string command() const { return root_ + "/command"; }
  std::string command_result(std::string_view id) const;
  std::string api_request() const { return root_ + "/api/request"; }
  std::string api_response(std::string_view id) const;

  /** For a topic matching door_set_filter(): the serial and door, else nullopt. */
  std::optional<std::pair<std::string, int>> parse_door_set(std::string_view topic) const;

 private:
  std::string root_;
};

/**
 * An event message: the one JSON form of an event (gateway/event_json.hpp:
 * stable `id`, per-terminal `seq`, `time` with offset and `utc`) plus
 * `replay`: false for a live event, true for one sent from the backlog.
 */
std::string event_payload(const Event& e, bool replay);

/** The retained state of one terminal. */
struct TerminalStatus {
  std::string sn;
  std::string name;
  std::string flavour;
  std::string state;  ///< accepted | pending | refused
  std::string firmware;
  std::string device_type;
  std::string vendor;  ///< TerminalRecord::vendor ("" unknown)
  std::string model;   ///< TerminalRecord::model ("" unknown)
  int doors = 0;       ///< TerminalRecord::capabilities.doors
  std::string ip;
  bool online = false;
  std::int64_t last_seen_ms = 0;
  std::string link;         ///< TerminalLink::state ("" none: omitted)
  std::string link_reason;  ///< TerminalLink::reason
  friend bool operator==(const TerminalStatus&, const TerminalStatus&) = default;
};
std::string terminal_status_payload(const TerminalStatus& t, const Zone& zone);

/** The retained state of one door (door_state table, from rtstate). */
struct DoorState {
  std::string sn;
  int door = 0;
  std::string sensor;  ///< none | closed | open | unknown; "" when not reported
  std::string relay;   ///< connected | disconnected; ""
  int alarm = kUnset;
  std::int64_t updated_ms = 0;
  friend bool operator==(const DoorState&, const DoorState&) = default;
};
std::string door_state_payload(const DoorState& d, const Zone& zone);

/** The retained state of one named output. */
std::string output_payload(std::string_view name, bool on, std::int64_t changed_ms,
                           std::int64_t until_ms, const Zone& zone);

/** The gateway's health message. */
struct HealthFigures {
  std::int64_t backlog_events = 0;
  double backlog_oldest_age_s = 0;
  double disk_free_bytes = -1;
  std::uint64_t published = 0;
  std::uint64_t acked = 0;
  std::uint64_t failed = 0;
  std::int64_t cursor = 0;
  std::int64_t head = 0;
  bool draining = false;
  std::size_t terminals_online = 0;
  std::int64_t now_ms = 0;
};
std::string health_payload(const HealthFigures& h, const Zone& zone);

/**
 * Command and API request payloads: the REST body limit (an API request
 * carries a REST body) and its nesting depth, checked before parsing.
 */
inline constexpr JsonLimits kMessageJsonLimits{1024 * 1024 + 4096, 64};

/** A command that arrived on <root>/command, as read. */
struct ParsedCommand {
  std::string id;          ///< the caller's id ("" when it had none usable)
  CommandRequest request;  ///< origin "mqtt", client_ref = id
  std::string error;       ///< set: malformed; `request` is unusable
};
/**
 * Parses {"id": "...", "terminal": "SN", "verb": "...", "params": {...},
 * "ttl_s": 60 | "expires": "2026-11-21T10:00:00Z", "max_attempts": 3}.
 * `now_ms` turns an absolute expiry into a time to live.
 */
ParsedCommand parse_command(std::string_view payload, std::int64_t now_ms);

/** A result message for a command that came over MQTT. */
std::string command_result_payload(const CommandRecord& c, std::string_view id, bool duplicate,
                                   const Zone& zone, std::int64_t now_ms);
/** A result message for a command that could not be queued. */
std::string command_rejected_payload(std::string_view id, std::string_view error, const Zone& zone,
                                     std::int64_t now_ms);

/** A REST request that arrived on <root>/api/request, as read. */
struct ApiRequest {
  std::string id;
  std::string method;  ///< GET, POST, PUT, DELETE, PATCH
  std::string path;    ///< "/api/v1/..." with its query string
  std::string body;    ///< the JSON body, serialised ("" for none)
  std::string error;   ///< set: malformed
};
/** Parses {"id": "...", "method": "GET", "path": "/api/v1/terminals", "body": {...}}. */
ApiRequest parse_api_request(std::string_view payload);
/** {"id", "status", "body"}: the REST answer (body as JSON when it is JSON). */
std::string api_response_payload(std::string_view id, int status, std::string_view body);

/**
 * A Home Assistant lock command (payload of <root>/terminal/SN/door/N/set):
 * UNLOCK or OPEN pulse the door open for `seconds`. nullopt for anything
 * else (LOCK: the lock relocks by itself).
 */
std::optional<CommandRequest> parse_door_set(std::string_view sn, int door,
                                             std::string_view payload, int seconds);

/** `s` as a Home Assistant object id: lower case a-z, 0-9 and single '_'. */
std::string entity_slug(std::string_view s);

/** Whether a terminal drives doors (its capabilities: `doors` > 0). */
bool has_doors(const TerminalStatus& t);

/**
 * Home Assistant discovery for one terminal: (config topic, payload) pairs,
 * retained. An empty payload removes an entity the terminal does not have.
 */
struct DiscoveryInput {
  std::string gateway_id;
  std::string prefix;      ///< "homeassistant"
  std::string sw_version;  ///< pushgate's version, for the origin block
  TerminalStatus terminal;
  std::vector<int> doors;  ///< doors reported; door 1 is added for access terminals
};
std::vector<std::pair<std::string, std::string>> ha_discovery(const Topics& topics,
                                                              const DiscoveryInput& in);

/**
 * What a failed connect means, in words, from paho's return code and MQTT 5
 * reason code: the broker's refusals (CONNACK 1-5, reasons 0x80 and up:
 * protocol version, client id, user name or password, not authorised,
 * unavailable, banned). "" for paho's generic failure (-1), which does not
 * say what failed: diagnose_connect() finds out.
 */
std::string describe_connect_refusal(int return_code, int reason_code);

/**
 * Finds out why a connection to `server_uri` (tcp://host:port or
 * ssl://host:port) could not be made: the name does not resolve (DNS), the
 * host refuses the port (no broker there), it is unreachable or does not
 * answer within `timeout_ms`, or TCP works and the failure is TLS (ssl://)
 * or the MQTT session. Blocks for at most about `timeout_ms`.
 */
std::string diagnose_connect(std::string_view server_uri, int timeout_ms);

}  // namespace pushgate::adapters::mqtt
