// Security PUSH service: cdata uploads (rtlog, rtstate door states, options).
#include "adapters/zkpush/zkpush_security_session.hpp"

#include <atomic>

#include "adapters/zkpush/zkpush_device_model.hpp"
#include "adapters/zkpush/zkpush_security_session_support.hpp"
#include "gateway/access_decider.hpp"
#include "gateway/device_text.hpp"
#include "gateway/doors.hpp"
#include "gateway/event_json.hpp"
#include "gateway/event_log.hpp"

namespace pushgate::adapters::zkpush {

namespace bhttp = boost::beast::http;
using security_session_detail::kv_object;
using security_session_detail::parse_object;

namespace {

std::string_view category_name(security::EventCategory c) {
  switch (c) {
    case security::EventCategory::Normal:
      return "normal";
    case security::EventCategory::Error:
      return "error";
    case security::EventCategory::Alarm:
      return "alarm";
    case security::EventCategory::Extended:
      return "extended";
    case security::EventCategory::Status:
      return "status";
    case security::EventCategory::Unknown:
      break;
  }
  return "unknown";
}

// §7.3's decoded door onto the core's door model (the alarm byte's bits are
// the same: DoorAlarm mirrors security::DoorAlarm).
DoorState door_state_of(const security::DoorState& d) {
  DoorState s;
  if (d.sensor) {
    switch (*d.sensor) {
      case security::DoorSensor::None:
        s.sensor = DoorSensor::None;
        break;
      case security::DoorSensor::Closed:
        s.sensor = DoorSensor::Closed;
        break;
      case security::DoorSensor::Open:
        s.sensor = DoorSensor::Open;
        break;
      case security::DoorSensor::Unknown:
        s.sensor = DoorSensor::Unknown;
        break;
    }
  }
  if (d.relay) {
    s.relay = *d.relay == security::RelayState::Connected ? DoorRelay::Connected
                                                          : DoorRelay::Disconnected;
  }
  s.alarms = d.alarms;
  return s;
}
static_assert(static_cast<std::uint8_t>(DoorAlarm::ReaderRemoved) ==
              static_cast<std::uint8_t>(security::DoorAlarm::ReaderDisassembled));
static_assert(static_cast<std::uint8_t>(DoorAlarm::SensorTimeout) ==
              static_cast<std::uint8_t>(security::DoorAlarm::DoorSensorTimeout));

}  // namespace

std::size_t SecurityService::add_rtlog(const security::RtlogRecord& rec, const UploadContext& u,
                                       WriteBatch& batch) {
  std::string pin = rec.pin == "0" ? std::string() : rec.pin;  // §10: 0 means nobody
  auto category =
      rec.event ? security::event_category(*rec.event) : security::EventCategory::Unknown;
  EventKind kind = EventKind::Access;
  // verifytype 200 with no user: nobody verified anything (Appendix 2
  // "Other"); a refused card or unknown person (event 27, verifytype 4 or
  // 0) stays an access event.
  const bool nobody = pin.empty() && rec.verify_mode == 200;
  if (rec.is_door_state_row() && pin.empty()) {
    kind = EventKind::DoorState;
  } else if (category == security::EventCategory::Alarm) {
    kind = EventKind::Alarm;
  } else if (nobody) {
    // Face terminals put door and system rows (exit button, door left open,
    // remote open; verifytype 200) in the same table with pin=0 or no pin:
    // a door event, never a passage or a punch of anybody.
    kind = EventKind::DoorState;
  }
  Event e = make_event(u, kind, rec.raw);
  e.record_key = security::rtlog_dedup_key(u.sn, rec);
  e.local_time = rec.time_text;  // kept raw, also before NTP set the clock
  if (rec.time) {
    e.utc_ms = utc_of_device_time(*rec.time, u);
  }
  e.pin = pin;
  e.event_code = rec.event.value_or(kUnset);
  e.verify_mode = std::max(rec.verify_mode.value_or(kUnset), kUnset);  // negative: unset
  e.door = rec.event_addr.value_or(kUnset);
  e.status = std::max(rec.in_out_status.value_or(kUnset), kUnset);
  nlohmann::json extra = kv_object(rec.extra);
  if (!rec.card_no.empty() && rec.card_no != "0") {
    extra["card"] = rec.card_no;
  }
  if (rec.event) {
    extra["event_name"] = security::event_code_name(*rec.event);
    extra["event_category"] = category_name(category);
  }
  if (rec.verify_mode) {
    extra["verify_mode_name"] = security::verify_mode_name(*rec.verify_mode);
  } else if (!rec.verify_type_text.empty()) {
    extra["verify_type"] = rec.verify_type_text;
  }
  if (rec.index) {
    extra["index"] = *rec.index;
  }
  if (rec.site_code) {
    extra["site_code"] = *rec.site_code;
  }
  if (rec.link_id) {
    extra["link_id"] = *rec.link_id;
  }
  if (rec.mask_flag) {
    extra["mask_flag"] = *rec.mask_flag;
  }
  if (!rec.temperature.empty()) {
    extra["temperature"] = rec.temperature;
  }
  if (rec.alarm_type) {
    extra["alarm_type"] = *rec.alarm_type;
  }
  if (!rec.time) {
    // Garbage before NTP set the clock: kept with its raw text, flagged and
    // counted, never dropped (utc_ms stays NULL).
    extra["time_unparsed"] = true;
    rtlog_bad_time_.inc();
    log_->debug("[sn={}] rtlog row with an unreadable time \"{}\" kept, flagged", u.sn,
                rec.time_text);
  }
  e.extra_json = dump_json(extra);
  if (ctx_.access != nullptr) {
    ctx_.access->note_pass(e, batch);  // the terminal's passages count for anti-passback too
  }
  batch.events.push_back(std::move(e));
  if (!rec.doors.empty()) {
    // A state row inside rtlog is itself the event: keep the door table
    // current, for the doors the terminal has (the parser decodes every
    // door the hex covers).
    std::size_t lock_count = 0;
    {
      std::lock_guard lock(sessions_->mutex);
      auto it = sessions_->by_sn.find(u.sn);
      lock_count = it != sessions_->by_sn.end() ? it->second.lock_count : 0;
    }
    std::vector<security::DoorState> doors;
    for (const auto& d : rec.doors) {
      if (lock_count == 0 || d.door <= static_cast<int>(lock_count)) {
        doors.push_back(d);
      }
    }
    add_door_states(u.sn, doors, rec.time_text, rec.raw, u, false, batch);
  }
  return 1;
}

void SecurityService::add_door_states(const std::string& sn,
                                      const std::vector<security::DoorState>& doors,
                                      const std::string& time_text, const std::string& raw,
                                      const UploadContext& u, bool emit_events, WriteBatch& batch) {
  for (const auto& d : doors) {
    auto reported = ctx_.doors.report(sn, d.door, door_state_of(d), u.received_ms, batch);
    if (!reported) {
      continue;  // refused (door number out of range): counted and logged by the service
    }
    const DoorState& now = reported->state;
    std::optional<std::string> sensor;
    std::optional<std::string> relay;
    std::optional<int> alarm;
    if (now.sensor) {
      sensor = std::string(to_string(*now.sensor));
    }
    if (now.relay) {
      relay = std::string(to_string(*now.relay));
    }
    if (now.alarms) {
      alarm = *now.alarms;
    }
    // The door's row always goes into the batch (the service adds it); the
    // event log only gets changes.
    if (!reported->changed || !emit_events) {
      continue;
    }
    Event e = make_event(u, EventKind::DoorState, raw);
    e.record_key = "RTSTATE\t" + std::to_string(d.door) + "\t" + time_text + "\t" +
                   sensor.value_or("-") + "\t" + relay.value_or("-") + "\t" +
                   (alarm ? std::to_string(*alarm) : std::string("-"));
    e.local_time = time_text;
    e.door = d.door;
    nlohmann::json extra = {{"sensor", sensor ? nlohmann::json(*sensor) : nlohmann::json()},
                            {"relay", relay ? nlohmann::json(*relay) : nlohmann::json()},
                            {"alarm", alarm ? nlohmann::json(*alarm) : nlohmann::json()}};
    e.extra_json = dump_json(extra);
    batch.events.push_back(std::move(e));
  }
}

void SecurityService::merge_options(Request& r, const KeyValues& options, WriteBatch& batch) {
  r.terminal = update_described(ctx_.terminals, r.sn, [&](TerminalRecord& t) {
    auto merged = parse_object(t.options_json);
    merged.update(kv_object(options));
    t.options_json = dump_json(merged);
    for (const auto& kv : options) {
      if (iequals(kv.key, "FirmVer")) {
        t.firmware = kv.value;
      }
    }
  });
  batch.ops.push_back(TerminalRegistry::persist_op(r.terminal));
}

void SecurityService::upload(Request& r) {
  if (r.terminal.state == "pending") {
    base_.refuse(r, bhttp::status::forbidden, "terminal_pending", "Device pending approval\n");
    return;
  }
  const std::string* table = r.query.find("table");
  UploadContext u;
  u.sn = r.sn;
  u.zone = &ctx_.terminals.zone_for(r.sn);
  u.received_ms = r.now_ms;
  u.endpoint = "cdata";
  u.table = table != nullptr ? *table : std::string();
  u.max_field_bytes = std::atomic_load(&base_.config_)->max_field_bytes;
  u.long_fields = &base_.long_fields_;
  const std::string& body = r.req.body();
  WriteBatch batch = std::move(r.pending);
  std::size_t problems_before = batch.quarantine.size();
  std::string ok_body(security::kOkAnswer);
  switch (security::classify_cdata_upload(r.query)) {
    case security::CdataUpload::RtLog: {
      auto parsed = security::parse_rtlog(body);
      for (const auto& rec : parsed.records) {
        if (!quarantine_long_line(rec.raw, rec.line, u, batch)) {
          add_rtlog(rec, u, batch);
        }
      }
      add_problems(parsed.problems, u, batch);
      break;
    }
    case security::CdataUpload::RtState: {
      auto parsed = security::parse_rtstate(body, session(r.terminal).lock_count);
      for (const auto& rec : parsed.records) {
        if (quarantine_long_line(rec.raw, rec.line, u, batch)) {
          continue;
        }
        add_door_states(r.sn, rec.doors, rec.time_text, rec.raw, u, true, batch);
      }
      add_problems(parsed.problems, u, batch);
      break;
    }
    case security::CdataUpload::TableData: {
      auto params = security::tabledata_params(r.query);
      u.table = params.table_name;
      auto kind = security::classify_table_name(params.table_name);
      std::size_t count = 0;
      if (kind == security::TableKind::Other) {
        // A table pushgate does not know: keep the bytes, confirm the lines.
        if (!body.empty()) {
          quarantine_body(body, "unsupported table \"" + params.table_name + "\"", u, batch);
        }
        count = static_cast<std::size_t>(params.count.value_or(1));
      } else {
        auto parsed = security::parse_tabledata(params.table_name, body);
        count = add_table(parsed.entries, parsed.kind, u, batch) + parsed.problems.size();
        add_problems(parsed.problems, u, batch);
      }
      ok_body = security::render_table_count_answer(params.table_name, count);
      break;
    }
    case security::CdataUpload::Options: {
      auto parsed = parse_options(body);
      add_problems(parsed.problems, u, batch);
      merge_options(r, parsed.options, batch);
      break;
    }
    case security::CdataUpload::RemoteAuth:
      remote_auth(r, body, u, std::move(batch));
      return;
    case security::CdataUpload::IrState:
    case security::CdataUpload::TestData:
    case security::CdataUpload::Unknown:
      if (!body.empty()) {
        quarantine_body(body, "unsupported table \"" + u.table + "\"", u, batch);
      }
      break;
  }
  std::size_t problems = batch.quarantine.size() - problems_before;
  if (problems > 0) {
    base_.parse_problems_.inc(problems);
    log_->debug("[sn={}] {} line(s) of table={} quarantined", r.sn, problems,
                text::log_escape(u.table));
  }
  base_.commit_and_answer(r, std::move(batch), std::move(ok_body));
}

}  // namespace pushgate::adapters::zkpush
