#include "gateway/store/door_queries.hpp"

#include <utility>

#include "gateway/store/write_context.hpp"

namespace pushgate::store {

WriteOp upsert_door_state(std::string sn, int door, const DoorState& state) {
  return [sn = std::move(sn), door, state](WriteContext& ctx) -> boost::system::error_code {
    boost::system::error_code ec;
    auto tid = ctx.terminal_id(sn, ec);
    if (ec) {
      return ec;
    }
    auto& st = ctx.statement(
        "INSERT INTO door_state(terminal_id, door, sensor, relay, alarm, updated_ms)"
        " VALUES(?1,?2,?3,?4,?5,?6) ON CONFLICT(terminal_id, door) DO UPDATE SET"
        " sensor=excluded.sensor, relay=excluded.relay, alarm=excluded.alarm,"
        " updated_ms=excluded.updated_ms",
        ec);
    if (ec) {
      return ec;
    }
    st.bind(1, tid).bind(2, door);
    if (state.sensor) {
      st.bind(3, to_string(*state.sensor));
    } else {
      st.bind_null(3);
    }
    if (state.relay) {
      st.bind(4, to_string(*state.relay));
    } else {
      st.bind_null(4);
    }
    if (state.alarms) {
      st.bind(5, static_cast<int>(*state.alarms));
    } else {
      st.bind_null(5);
    }
    st.bind(6, ctx.now_ms());
    return st.run();
  };
}

std::vector<DoorRecord> read_door_states(Connection& db, boost::system::error_code& ec) {
  std::vector<DoorRecord> out;
  auto st = db.prepare(
      "SELECT t.sn, d.door, d.sensor, d.relay, d.alarm, d.updated_ms FROM door_state d"
      " JOIN terminals t ON t.id = d.terminal_id ORDER BY t.sn, d.door",
      ec);
  while (!ec && st.step(ec)) {
    DoorRecord r;
    r.terminal = st.column_text(0);
    r.door = static_cast<int>(st.column_int(1));
    if (!st.column_is_null(2)) {
      r.state.sensor = parse_door_sensor(st.column_text(2));
    }
    if (!st.column_is_null(3)) {
      r.state.relay = parse_door_relay(st.column_text(3));
    }
    if (!st.column_is_null(4)) {
      r.state.alarms = static_cast<std::uint8_t>(st.column_int(4) & 0xFF);
    }
    r.updated_ms = st.column_int(5);
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace pushgate::store
