#include "adapters/mqtt/mqtt_adapter_internal.hpp"

#include <algorithm>

#include "gateway/doors.hpp"
#include "gateway/event_json.hpp"
#include "gateway/logging.hpp"
#include "gateway/outputs.hpp"
#include "gateway/status.hpp"
#include "gateway/terminal_link.hpp"
#include "gateway/terminals.hpp"
#include "gateway/version.hpp"

namespace pushgate::adapters::mqtt {

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
  if (link_ != Link::Up) {
    return;
  }
  if (unacked_ > 0 && std::chrono::steady_clock::now() - last_ack_progress_ >
                          std::chrono::seconds(cfg_.ack_timeout_s)) {
    // A broker (or client library) that stopped acknowledging: without this
    // the window stays full forever. Reconnecting sends the unacknowledged
    // events again; consumers drop the duplicates by id.
    ack_timeouts_.inc();
    on_connection_lost(std::to_string(unacked_) + " events without PUBACK for " +
                       std::to_string(cfg_.ack_timeout_s) + " s");
    return;
  }
  publish_terminals(false);
  if (doors_dirty_.exchange(false)) {
    publish_doors(false);
  }
  if (ticks_ % cfg_.health_interval_s == 0) {
    publish_health();
  }
}

void MqttAdapter::publish_health() {
  auto f = runner_->figures();  // as of the runner's last tick
  HealthFigures h;
  h.backlog_events = f.backlog_events;
  h.backlog_oldest_age_s = f.backlog_oldest_age_s;
  if (auto free_bytes = ctx_.status.disk_free_bytes()) {
    h.disk_free_bytes = static_cast<double>(*free_bytes);
  }
  h.published = published_.value();
  h.acked = acked_.value();
  h.failed = failed_.value();
  h.cursor = f.cursor;
  h.head = f.head;
  h.draining = f.draining;
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
    if (auto link = terminal_link(r)) {
      // An adapter holding a link to the device knows at once; others by silence.
      t.link = link->state;
      t.link_reason = link->reason;
      t.online = link->online();
    }
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

}  // namespace pushgate::adapters::mqtt
