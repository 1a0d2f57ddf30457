#include "gateway/store/terminal_queries.hpp"

#include <utility>

#include <nlohmann/json.hpp>

#include "gateway/store/write_context.hpp"

namespace pushgate::store {

std::vector<TerminalRecord> read_terminals(Connection& db, boost::system::error_code& ec) {
  std::vector<TerminalRecord> out;
  auto st = db.prepare(
      "SELECT sn, flavour, state, push_version, firmware, device_type, ip, info, options,"
      " first_seen_ms, last_seen_ms, vendor, model, protocol, capabilities FROM terminals",
      ec);
  while (!ec && st.step(ec)) {
    TerminalRecord r;
    r.sn = st.column_text(0);
    r.flavour = st.column_text(1);
    r.state = st.column_text(2);
    r.push_version = st.column_text(3);
    r.firmware = st.column_text(4);
    r.device_type = st.column_text(5);
    r.ip = st.column_text(6);
    r.info_json = st.column_text(7);
    r.options_json = st.column_text(8);
    r.first_seen_ms = st.column_int(9);
    r.last_seen_ms = st.column_int(10);
    r.vendor = st.column_text(11);
    r.model = st.column_text(12);
    r.protocol = st.column_text(13);
    const auto caps = nlohmann::json::parse(st.column_text(14), nullptr, false);
    if (caps.is_object()) {
      from_json(caps, r.capabilities);
    }
    out.push_back(std::move(r));
  }
  return out;
}

WriteOp upsert_terminal(TerminalRecord record) {
  return [r = std::move(record)](WriteContext& ctx) -> boost::system::error_code {
    boost::system::error_code ec;
    auto& st = ctx.statement(
        "INSERT INTO terminals(sn, flavour, state, push_version, firmware, device_type, ip, info,"
        " options, first_seen_ms, last_seen_ms, vendor, model, protocol, capabilities)"
        " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15)"
        " ON CONFLICT(sn) DO UPDATE SET flavour=excluded.flavour, state=excluded.state,"
        " push_version=COALESCE(excluded.push_version, push_version),"
        " firmware=COALESCE(excluded.firmware, firmware),"
        " device_type=COALESCE(excluded.device_type, device_type), ip=excluded.ip,"
        " info=COALESCE(excluded.info, info), options=COALESCE(excluded.options, options),"
        " first_seen_ms=MIN(COALESCE(first_seen_ms, excluded.first_seen_ms), "
        "excluded.first_seen_ms),"
        " last_seen_ms=MAX(COALESCE(last_seen_ms, 0), excluded.last_seen_ms),"
        " vendor=COALESCE(excluded.vendor, vendor), model=COALESCE(excluded.model, model),"
        " protocol=COALESCE(excluded.protocol, protocol),"
        " capabilities=COALESCE(excluded.capabilities, capabilities)",
        ec);
    if (ec) {
      return ec;
    }
    auto text_or_null = [&st](int i, const std::string& v) {
      if (v.empty()) {
        st.bind_null(i);
      } else {
        st.bind(i, std::string_view(v));
      }
    };
    st.bind(1, std::string_view(r.sn));
    st.bind(2, std::string_view(r.flavour));
    st.bind(3, std::string_view(r.state));
    text_or_null(4, r.push_version);
    text_or_null(5, r.firmware);
    text_or_null(6, r.device_type);
    text_or_null(7, r.ip);
    text_or_null(8, r.info_json);
    text_or_null(9, r.options_json);
    st.bind(10, r.first_seen_ms);
    st.bind(11, r.last_seen_ms);
    text_or_null(12, r.vendor);
    text_or_null(13, r.model);
    text_or_null(14, r.protocol);
    if (r.protocol.empty()) {
      st.bind_null(15);  // not described yet: keep what is stored
    } else {
      st.bind(15, nlohmann::json(r.capabilities).dump());
    }
    return st.run();
  };
}

}  // namespace pushgate::store
