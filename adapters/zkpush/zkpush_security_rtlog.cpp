#include "adapters/zkpush/zkpush_security_rtlog.hpp"
#include "adapters/zkpush/zkpush_text.hpp"

#include <algorithm>
#include <array>
#include <utility>

namespace pushgate::adapters::zkpush::security {
namespace {

using text::decode_hex_bytes;
using text::FieldTaker;
using text::is_blank;
using text::KeySpaces;
using text::Line;
using text::LineCursor;
using text::LineEnd;
using text::make_problem;
using text::parse_integer;
using text::split_tab_pairs;

/** A field's value as decode_door_states wants it: empty counts as absent. */
std::optional<std::string_view> door_field(const std::string* value) noexcept {
  if (value == nullptr || value->empty()) {
    return std::nullopt;
  }
  return std::string_view(*value);
}

}  // namespace

// ---------------------------------------------------------------------------
// Door state
// ---------------------------------------------------------------------------

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

DoorStatesResult decode_door_states(std::optional<std::string_view> sensor,
                                    std::optional<std::string_view> relay,
                                    std::optional<std::string_view> alarm, std::size_t door_count) {
  DoorStatesResult result;
  std::vector<std::uint8_t> sensor_bytes;
  std::vector<std::uint8_t> relay_bytes;
  std::vector<std::uint8_t> alarm_bytes;
  auto decode = [&result](std::optional<std::string_view> text, std::vector<std::uint8_t>& out,
                          std::string_view name) {
    if (!text || text->empty()) {
      return true;
    }
    if (!decode_hex_bytes(*text, out)) {
      result.error = std::string(name) + " is not hex byte pairs: " + text::quoted(*text);
      return false;
    }
    return true;
  };
  if (!decode(sensor, sensor_bytes, "sensor") || !decode(relay, relay_bytes, "relay") ||
      !decode(alarm, alarm_bytes, "alarm")) {
    return result;
  }
  const std::size_t covered =
      std::max({sensor_bytes.size() * 4, relay_bytes.size() * 8, alarm_bytes.size()});
  if (covered > kMaxDoors) {
    result.error = "door state fields describe " + std::to_string(covered) + " doors, more than " +
                   std::to_string(kMaxDoors);
    return result;
  }
  const std::size_t doors = door_count > 0 ? std::min(door_count, covered) : covered;
  for (std::size_t d = 0; d < doors; ++d) {
    DoorState state;
    state.door = static_cast<int>(d + 1);
    if (d / 4 < sensor_bytes.size()) {
      // Door 1 is the two least significant bits of the first byte (§7.3).
      const unsigned bits = (sensor_bytes[d / 4] >> ((d % 4) * 2)) & 0x3U;
      static constexpr std::array<DoorSensor, 4> kSensor = {DoorSensor::None, DoorSensor::Closed,
                                                            DoorSensor::Open, DoorSensor::Unknown};
      state.sensor = kSensor[bits];
    }
    if (d / 8 < relay_bytes.size()) {
      const unsigned bit = (relay_bytes[d / 8] >> (d % 8)) & 0x1U;
      state.relay = bit == 0 ? RelayState::Connected : RelayState::Disconnected;
    }
    if (d < alarm_bytes.size()) {
      state.alarms = alarm_bytes[d];
    }
    result.doors.push_back(state);
  }
  return result;
}

// ---------------------------------------------------------------------------
// rtlog
// ---------------------------------------------------------------------------

RtlogResult parse_rtlog(std::string_view body) {
  RtlogResult result;
  LineCursor cursor(body, LineEnd::CrNul);
  Line line;
  while (cursor.next(line)) {
    if (is_blank(line.text)) {
      continue;
    }
    detail::EventOutcome outcome = detail::parse_event_line(line.text, false);
    if (!outcome.record) {
      result.problems.push_back(make_problem(line.number, std::move(outcome.reason), line.text));
      continue;
    }
    outcome.record->line = line.number;
    outcome.record->raw = std::string(line.text);
    result.records.push_back(std::move(*outcome.record));
  }
  return result;
}

std::string rtlog_dedup_key(std::string_view sn, const RtlogRecord& record) {
  std::string key;
  auto add = [&key](std::string_view part) {
    key += std::to_string(part.size());
    key += ':';
    key += part;
    key += '|';
  };
  auto add_number = [&add](const auto& value) {
    add(value ? std::to_string(*value) : std::string());
  };
  add(sn);
  add(record.time_text);
  add_number(record.index);
  add_number(record.event_addr);
  add_number(record.event);
  add(record.pin);
  add(record.card_no);
  add_number(record.in_out_status);
  add(record.verify_type_text);
  return key;
}

std::optional<std::uint16_t> parse_verify_styles(std::string_view text) noexcept {
  if (text.size() != 16) {
    return std::nullopt;
  }
  std::uint16_t bits = 0;
  for (char c : text) {
    if (c != '0' && c != '1') {
      return std::nullopt;
    }
    bits = static_cast<std::uint16_t>((bits << 1) | (c == '1' ? 1U : 0U));
  }
  return bits;
}

// ---------------------------------------------------------------------------
// rtstate
// ---------------------------------------------------------------------------

RtStateResult parse_rtstate(std::string_view body, std::size_t door_count) {
  RtStateResult result;
  LineCursor cursor(body, LineEnd::CrNul);
  Line line;
  while (cursor.next(line)) {
    if (is_blank(line.text)) {
      continue;
    }
    auto problem = [&](std::string reason) {
      result.problems.push_back(make_problem(line.number, std::move(reason), line.text));
    };
    KeyValues pairs;
    std::string_view bad_field;
    if (!split_tab_pairs(line.text, pairs, bad_field, KeySpaces::Skip)) {
      problem("field without key=value: " + text::quoted(bad_field));
      continue;
    }
    FieldTaker taker(std::move(pairs));
    std::optional<std::string> time = taker.take({"time"});
    if (!time) {
      problem("rtstate row without time");
      continue;
    }
    RtStateRecord record;
    record.line = line.number;
    record.raw = std::string(line.text);
    record.time_text = std::move(*time);
    // As in rtlog: a clock not yet set does not make the state less true.
    record.time = parse_device_time(record.time_text);
    record.sensor = taker.take_string({"sensor"});
    record.relay = taker.take_string({"relay"});
    record.alarm = taker.take_string({"alarm"});
    if (record.sensor.empty() && record.relay.empty() && record.alarm.empty()) {
      problem("rtstate row without sensor, relay or alarm");
      continue;
    }
    DoorStatesResult decoded =
        decode_door_states(door_field(&record.sensor), door_field(&record.relay),
                           door_field(&record.alarm), door_count);
    if (!decoded.error.empty()) {
      problem(std::move(decoded.error));
      continue;
    }
    record.doors = std::move(decoded.doors);
    record.extra = taker.rest();
    result.records.push_back(std::move(record));
  }
  return result;
}

// ---------------------------------------------------------------------------
// Event lines (rtlog, remote identification)
// ---------------------------------------------------------------------------

namespace detail {

EventOutcome parse_event_line(std::string_view text, bool remote_auth) {
  KeyValues pairs;
  std::string_view bad_field;
  if (!split_tab_pairs(text, pairs, bad_field, KeySpaces::Skip)) {
    return {std::nullopt, std::nullopt, "field without key=value: " + text::quoted(bad_field)};
  }
  FieldTaker taker(std::move(pairs));
  std::optional<std::string> time = taker.take({"time"});
  if (!time) {
    return {std::nullopt, std::nullopt,
            remote_auth ? "event record without time" : "rtlog row without time"};
  }
  RtlogRecord r;
  r.time_text = std::move(*time);
  // A time that does not parse is kept, not quarantined: terminals stamp
  // events with garbage ("1971--10--29 -23:-27:-54") until NTP sets their
  // clock, and the event itself (a door forced open) still matters.
  r.time = parse_device_time(r.time_text);
  r.pin = taker.take_string({"pin"});
  r.card_no = taker.take_string({"cardno"});
  r.site_code = taker.take_number<std::int64_t>({"sitecode"});
  r.link_id = taker.take_number<std::int64_t>({"linkid"});
  r.event_addr = taker.take_number<int>({"eventaddr"});
  r.event = taker.take_number<int>({"event"});
  r.in_out_status = taker.take_number<int>({"inoutstatus"});
  r.verify_type_text = taker.take_string({"verifytype"});
  if (!r.verify_type_text.empty()) {
    // Two encodings (§7.2): an Appendix 3 number, or a 16-character bit
    // string once both ends agreed on NewVFStyles. A 16-digit 0/1 string is
    // never a plausible Appendix 3 number, so the length decides.
    r.verify_styles = parse_verify_styles(r.verify_type_text);
    if (!r.verify_styles) {
      r.verify_mode = parse_integer<int>(r.verify_type_text);
      if (!r.verify_mode) {
        taker.fail("verifytype is neither a mode number nor a 16-bit style string: " +
                   text::quoted(r.verify_type_text));
      }
    }
  }
  r.index = taker.take_number<std::int64_t>({"index"});
  r.mask_flag = taker.take_number<int>({"maskflag"});
  r.temperature = taker.take_string({"temperature"});
  r.conv_temperature = taker.take_string({"convtemperature"});
  r.bit_count = taker.take_number<int>({"bitcount"});
  r.alarm_type = taker.take_number<int>({"alarmtype"});
  std::optional<int> addr_type;
  if (remote_auth) {
    addr_type = taker.take_number<int>({"addrtype"});
  }
  if (!taker.error().empty()) {
    return {std::nullopt, std::nullopt, taker.error()};
  }
  r.extra = taker.rest();
  // Door-state rows inside rtlog may carry §7.3's sensor/relay/alarm fields;
  // they are decoded but stay in extra, in the order sent.
  const std::optional<std::string_view> sensor = door_field(find_value(r.extra, "sensor"));
  const std::optional<std::string_view> relay = door_field(find_value(r.extra, "relay"));
  const std::optional<std::string_view> alarm = door_field(find_value(r.extra, "alarm"));
  if (sensor || relay || alarm) {
    DoorStatesResult decoded = decode_door_states(sensor, relay, alarm);
    if (!decoded.error.empty()) {
      return {std::nullopt, std::nullopt, std::move(decoded.error)};
    }
    r.doors = std::move(decoded.doors);
  }
  return {std::move(r), addr_type, {}};
}

}  // namespace detail

}  // namespace pushgate::adapters::zkpush::security
