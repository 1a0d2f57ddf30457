#include "adapters/dahua/dahua_mapping.hpp"

#include <chrono>
#include <ctime>

#include <nlohmann/json.hpp>

#include "adapters/dahua/dahua_codes.hpp"
#include "gateway/event_json.hpp"

namespace pushgate::adapters::dahua {

namespace {

using nlohmann::json;

LocalDateTime wall_of_epoch(std::int64_t epoch) {
  const std::time_t t = static_cast<std::time_t>(epoch);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return LocalDateTime{tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                       tm.tm_hour,        tm.tm_min,     tm.tm_sec};
}

std::string local_text(std::int64_t utc_ms, const Zone& zone) {
  return format_local_date_time(
      zone.to_local(std::chrono::system_clock::time_point(std::chrono::milliseconds(utc_ms))));
}

/** The alarm bit a door alarm code sets, 0 for none. */
std::uint8_t alarm_bit(std::string_view code) {
  if (iequals(code, "BreakIn")) {
    return static_cast<std::uint8_t>(DoorAlarm::AccidentalOpen);
  }
  if (iequals(code, "DoorNotClosed")) {
    return static_cast<std::uint8_t>(DoorAlarm::SensorTimeout);
  }
  if (iequals(code, "ChassisIntruded")) {
    return static_cast<std::uint8_t>(DoorAlarm::Tamper);
  }
  if (iequals(code, "Duress")) {
    return static_cast<std::uint8_t>(DoorAlarm::DuressPassword);
  }
  return 0;
}

EventKind kind_of(std::string_view code) {
  return event_kind_from_string(event_kind_for(code)).value_or(EventKind::Operation);
}

/** The fields every mapping fills the same way. */
Event base_event(std::string_view code, std::string_view action, std::optional<int> index,
                 const AccessFields& f, std::string raw, const MappingContext& ctx, json& extra) {
  Event e;
  e.terminal_sn = ctx.sn;
  e.kind = kind_of(code);
  e.raw = std::move(raw);
  e.received_ms = ctx.received_ms;
  e.pin = f.user_id.value_or("");
  if (f.method) {
    e.verify_mode = *f.method;
    extra["method"] = std::string(verify_method_name(*f.method));
  }
  std::optional<int> door = f.door ? f.door : index;
  if (door && *door >= 0) {
    e.door = ctx.device->gateway_door(*door);
    extra["device_door"] = *door;
  }
  if (f.direction != Direction::Unknown) {
    e.status = f.direction == Direction::Entry ? 0 : 1;
    extra["direction"] = std::string(to_string(f.direction));
  }
  if (auto utc = device_utc_ms(f, *ctx.device, *ctx.zone)) {
    e.utc_ms = *utc;
    e.local_time = local_text(*utc, *ctx.zone);
  } else {
    // Kept with what the device sent, flagged: never dropped.
    e.local_time = f.create_time ? f.create_time->text : f.locale_time;
    extra["time_unparsed"] = true;
  }
  extra["code"] = std::string(code);
  if (!action.empty()) {
    extra["action"] = std::string(action);
  }
  if (!find_event_code(code)) {
    extra["unknown_code"] = true;
  }
  if (f.card_no && !f.card_no->empty()) {
    extra["card"] = *f.card_no;
  }
  if (f.card_name && !f.card_name->empty()) {
    extra["card_name"] = *f.card_name;
  }
  if (f.user_name && !f.user_name->empty()) {
    extra["user_name"] = *f.user_name;
  }
  if (f.reader_id && !f.reader_id->empty()) {
    extra["reader"] = *f.reader_id;
  }
  if (f.attendance_state) {
    extra["attendance_state"] = *f.attendance_state;
  }
  if (f.rec_no) {
    extra["rec_no"] = *f.rec_no;
  }
  if (!f.url.empty()) {
    extra["snapshot_url"] = f.url;  // the picture stays on the device (README "Pictures")
  }
  if (!f.status_text.empty()) {
    extra["status_text"] = f.status_text;
  }
  if (ctx.drift_s) {
    extra["device_drift_s"] = *ctx.drift_s;
  }
  if (e.kind == EventKind::Access) {
    const bool granted = f.status.value_or(f.error_code.value_or(0) == 0 ? 1 : 0) == 1;
    const int error = f.error_code.value_or(0);
    e.event_code = granted ? kGranted : kRefusedBase + error;
    extra["result"] = granted ? "granted" : "refused";
    if (!granted) {
      extra["reason"] = std::string(refusal_reason(error));
      extra["error_code"] = error;
    }
  } else if (e.kind == EventKind::Alarm) {
    if (iequals(code, "ChassisIntruded")) {
      extra["alarm"] = "tamper";
    } else if (iequals(code, "Duress")) {
      extra["alarm"] = "duress";
    } else if (iequals(code, "BreakIn")) {
      extra["alarm"] = "forced";
    } else if (iequals(code, "DoorNotClosed")) {
      extra["alarm"] = "held_open";
    } else {
      extra["alarm"] = "local_input";
    }
  }
  for (const auto& kv : f.other) {
    if (!extra.contains(kv.key)) {
      extra[kv.key] = kv.value;
    }
  }
  for (const auto& kv : f.bad) {
    extra["bad_" + kv.key] = kv.value;
  }
  return e;
}

std::string key_for(std::string_view code, const AccessFields& f, EventKind kind) {
  std::string k = record_key(code, f);
  if (kind == EventKind::Access) {
    return k;  // AccessControl events and AccessControlCardRec rows share RecNo [obs]
  }
  if (kind == EventKind::Alarm) {
    return "alarm:" + k;  // AccessControlAlarmRecord numbers its own rows
  }
  return "live:" + k;  // stream-only codes (DoorStatus, unknown ones)
}

}  // namespace

std::optional<std::int64_t> device_utc_ms(const AccessFields& f, const DeviceConfig& device,
                                          const Zone& zone) {
  if (auto epoch = f.best_epoch()) {
    if (device.time_policy == TimePolicy::Local) {
      return zone.to_utc_ms(wall_of_epoch(*epoch));
    }
    return *epoch * 1000;
  }
  if (f.create_time && f.create_time->device_local) {
    if (auto local = parse_local_date_time(f.create_time->text)) {
      return zone.to_utc_ms(*local);
    }
  }
  return std::nullopt;
}

Event map_stream_event(const DahuaEvent& ev, const MappingContext& ctx) {
  json extra = json::object();
  Event e = base_event(ev.code, ev.action_text, ev.index, ev.data, ev.raw, ctx, extra);
  e.record_key = key_for(ev.code, ev.data, e.kind);
  if (e.utc_ms) {
    // Live: the event's own time against the gateway's clock when it arrived.
    extra["drift_s"] = (*e.utc_ms - ctx.received_ms) / 1000;
  }
  extra["source"] = "stream";
  for (const auto& p : ev.problems) {
    extra["problems"].push_back(p);
  }
  e.extra_json = dump_json(extra);
  return e;
}

Event map_card_record(const FoundRecord& row, const MappingContext& ctx) {
  json extra = json::object();
  Event e = base_event("AccessControl", "", std::nullopt, row.access, row.raw, ctx, extra);
  e.record_key = key_for("AccessControl", row.access, EventKind::Access);
  extra["source"] = "backfill";
  e.extra_json = dump_json(extra);
  return e;
}

Event map_alarm_record(const FoundRecord& row, const MappingContext& ctx) {
  std::string code;
  std::string action;
  for (const auto& kv : row.fields) {
    if (iequals(kv.key, "Event") || iequals(kv.key, "AlarmType") || iequals(kv.key, "Code")) {
      code = kv.value;
    } else if (iequals(kv.key, "Action")) {
      action = kv.value;
    }
  }
  if (code.empty()) {
    code = "AlarmRecord";
  }
  AccessFields fields = row.access;
  // The row's Event / Action are the code and action, not extra fields.
  std::erase_if(fields.other, [](const KeyValue& kv) {
    return iequals(kv.key, "Event") || iequals(kv.key, "AlarmType") || iequals(kv.key, "Action");
  });
  json extra = json::object();
  Event e = base_event(code, action, std::nullopt, fields, row.raw, ctx, extra);
  if (e.kind != EventKind::Alarm) {
    e.kind = EventKind::Alarm;  // a row of the alarm table is an alarm whatever its code
  }
  e.record_key = key_for(code, row.access, EventKind::Alarm);
  extra["source"] = "backfill";
  e.extra_json = dump_json(extra);
  return e;
}

std::optional<Event> attendance_punch(const Event& passage, const AccessFields& fields,
                                      const DeviceConfig& device) {
  if (!device.attendance || passage.kind != EventKind::Access || passage.event_code != kGranted ||
      passage.pin.empty() || passage.record_key.empty()) {
    return std::nullopt;
  }
  Event p = passage;
  p.kind = EventKind::Attendance;
  p.record_key = "att:" + passage.record_key;
  p.event_code = kUnset;
  p.status = kUnset;
  auto extra = json::parse(passage.extra_json, nullptr, false);
  if (!extra.is_object()) {
    extra = json::object();
  }
  if (fields.attendance_state) {
    const int state = punch_state_of(*fields.attendance_state);
    if (state >= 0) {
      p.status = state;
    }
    for (const auto& info : attendance_states()) {
      if (info.code == *fields.attendance_state) {
        extra["punch"] = std::string(info.name);
      }
    }
  }
  extra["passage"] = passage.record_key;
  p.extra_json = dump_json(extra);
  return p;
}

std::optional<DoorState> door_report(const DahuaEvent& ev, const DoorState& known) {
  DoorState s;
  if (iequals(ev.code, "DoorStatus")) {
    const std::string& st = ev.data.status_text;
    if (iequals(st, "Open")) {
      s.sensor = DoorSensor::Open;
    } else if (iequals(st, "Close") || iequals(st, "Closed")) {
      s.sensor = DoorSensor::Closed;
    } else {
      s.sensor = DoorSensor::Unknown;
    }
    return s;
  }
  const auto bit = alarm_bit(ev.code);
  if (bit == 0) {
    return std::nullopt;
  }
  std::uint8_t alarms = known.alarms.value_or(0);
  if (ev.action == EventAction::Stop) {
    alarms = static_cast<std::uint8_t>(alarms & ~bit);
  } else if (ev.action == EventAction::Start) {
    alarms = static_cast<std::uint8_t>(alarms | bit);
  } else {
    return std::nullopt;  // a one-off (Pulse) alarm leaves no standing state
  }
  s.alarms = alarms;
  return s;
}

}  // namespace pushgate::adapters::dahua
