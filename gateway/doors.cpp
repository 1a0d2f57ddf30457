#include "gateway/doors.hpp"

#include <utility>

#include <nlohmann/json.hpp>

#include "gateway/api/router.hpp"
#include "gateway/event_json.hpp"
#include "gateway/log_rate_limiter.hpp"
#include "gateway/logging.hpp"
#include "gateway/store/door_queries.hpp"
#include "gateway/store/store.hpp"
#include "gateway/terminals.hpp"

namespace pushgate {

namespace bhttp = boost::beast::http;

std::string_view to_string(DoorSensor sensor) noexcept {
  switch (sensor) {
    case DoorSensor::None:
      return "none";
    case DoorSensor::Closed:
      return "closed";
    case DoorSensor::Open:
      return "open";
    case DoorSensor::Unknown:
      break;
  }
  return "unknown";
}

std::string_view to_string(DoorRelay relay) noexcept {
  return relay == DoorRelay::Connected ? "connected" : "disconnected";
}

std::optional<DoorSensor> parse_door_sensor(std::string_view text) noexcept {
  for (auto s : {DoorSensor::None, DoorSensor::Closed, DoorSensor::Open, DoorSensor::Unknown}) {
    if (text == to_string(s)) {
      return s;
    }
  }
  return std::nullopt;
}

std::optional<DoorRelay> parse_door_relay(std::string_view text) noexcept {
  for (auto r : {DoorRelay::Connected, DoorRelay::Disconnected}) {
    if (text == to_string(r)) {
      return r;
    }
  }
  return std::nullopt;
}

DoorService::DoorService(const TerminalRegistry& terminals, const Clock& clock,
                         metrics::Registry& metrics)
    : terminals_(terminals),
      clock_(clock),
      refused_(metrics.counter("pushgate_door_reports_refused_total",
                               "Door state reports refused (no terminal serial, door outside "
                               "1..255); nothing of them was stored")) {}

std::string DoorService::load(store::Store& store) {
  boost::system::error_code ec;
  auto rows = store.read([&ec](store::Connection& db) { return store::read_door_states(db, ec); });
  if (ec) {
    return "cannot read the door states: " + ec.message();
  }
  std::lock_guard lock(board_->mutex);
  for (auto& r : rows) {
    board_->doors[r.terminal][r.door] = {r.state, r.updated_ms};
  }
  return {};
}

std::optional<DoorService::Reported> DoorService::report(std::string_view sn, int door,
                                                         const DoorState& update,
                                                         std::int64_t received_ms,
                                                         WriteBatch& batch) {
  if (sn.empty() || door < 1 || door > kMaxDoor) {
    refused_.inc();
    const std::string_view why = sn.empty() ? "no terminal serial" : "door number outside 1..255";
    if (auto suppressed = refused_log_.admit(why, clock_.now_ms())) {
      logger("main")->warn("[sn={}] door state of door {} refused: {}{}", sn, door, why,
                           suppressed_note(*suppressed));
    }
    return std::nullopt;
  }
  Reported out;
  {
    std::lock_guard lock(board_->mutex);
    auto terminal = board_->doors.find(sn);
    if (terminal == board_->doors.end()) {
      terminal = board_->doors
                     .emplace(std::string(sn), std::map<int, std::pair<DoorState, std::int64_t>>{})
                     .first;
    }
    auto& entry = terminal->second[door];
    auto& known = entry.first;
    entry.second = received_ms;
    DoorState now = known;
    if (update.sensor) {
      now.sensor = update.sensor;
    }
    if (update.relay) {
      now.relay = update.relay;
    }
    if (update.alarms) {
      now.alarms = update.alarms;
    }
    out.changed = !(now == known) || known == DoorState{};
    known = now;
    out.state = now;
  }
  // The row always gets the latest state (it heals after a failed commit).
  batch.ops.push_back(store::upsert_door_state(std::string(sn), door, out.state));
  return out;
}

std::vector<DoorRecord> DoorService::all() const {
  std::vector<DoorRecord> out;
  std::lock_guard lock(board_->mutex);
  for (const auto& [sn, doors] : board_->doors) {
    for (const auto& [door, entry] : doors) {
      out.push_back(DoorRecord{sn, door, entry.first, entry.second});
    }
  }
  return out;
}

std::optional<DoorRecord> DoorService::get(std::string_view sn, int door) const {
  std::lock_guard lock(board_->mutex);
  auto terminal = board_->doors.find(sn);
  if (terminal == board_->doors.end()) {
    return std::nullopt;
  }
  auto it = terminal->second.find(door);
  if (it == terminal->second.end()) {
    return std::nullopt;
  }
  return DoorRecord{terminal->first, door, it->second.first, it->second.second};
}

void DoorService::set_offline_after(std::chrono::milliseconds window) {
  std::lock_guard lock(board_->mutex);
  board_->offline_after_ms = window.count();
}

void DoorService::add_routes(api::Router& router) {
  // GET /api/v1/doors: every door's last state, from memory (small).
  router.add(bhttp::verb::get, "/api/v1/doors",
             [board = board_, terminals = &terminals_, clock = &clock_](
                 http::Request&& req, const http::RequestInfo&, const api::PathParams&,
                 http::Reply reply) {
               auto now = clock->now_ms();
               nlohmann::json rows = nlohmann::json::array();
               std::lock_guard lock(board->mutex);
               for (const auto& [sn, doors] : board->doors) {
                 auto t = terminals->find(sn);
                 bool online = t && now - t->last_seen_ms <= board->offline_after_ms;
                 for (const auto& [door, entry] : doors) {
                   const auto& d = entry.first;
                   nlohmann::json row = {{"terminal", sn},
                                         {"door", door},
                                         {"updated_ms", entry.second},
                                         {"terminal_state", online ? "online" : "offline"},
                                         {"last_seen_ms", t ? t->last_seen_ms : 0}};
                   row["sensor"] =
                       d.sensor ? nlohmann::json(to_string(*d.sensor)) : nlohmann::json();
                   row["relay"] = d.relay ? nlohmann::json(to_string(*d.relay)) : nlohmann::json();
                   row["alarm"] = d.alarms ? nlohmann::json(*d.alarms) : nlohmann::json();
                   rows.push_back(std::move(row));
                 }
               }
               nlohmann::json body = {{"doors", std::move(rows)}};
               reply.send(api::json_response(req, bhttp::status::ok, dump_json(body) + "\n"));
             });
}

}  // namespace pushgate
