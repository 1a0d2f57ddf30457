// Small helpers shared by the zkpush_session*.cpp files (ZkpushService).
#pragma once

#include <map>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "adapters/zkpush/zkpush_normalize.hpp"
#include "adapters/zkpush/zkpush_protocol.hpp"
#include "adapters/zkpush/zkpush_text.hpp"
#include "gateway/event_json.hpp"
#include "gateway/terminals.hpp"

namespace pushgate::adapters::zkpush::session_detail {

inline std::string endpoint_name(Endpoint e) {
  switch (e) {
    case Endpoint::Cdata:
      return "cdata";
    case Endpoint::Fdata:
      return "fdata";
    case Endpoint::GetRequest:
      return "getrequest";
    case Endpoint::DeviceCmd:
      return "devicecmd";
    case Endpoint::Ping:
      return "ping";
    case Endpoint::Exchange:
      return "exchange";
    case Endpoint::File:
      return "file";
    case Endpoint::Unknown:
      break;
  }
  return "unknown";
}

inline std::string remote_ip(const http::RequestInfo& info) {
  return info.remote.address().to_string();
}

// Adds key=value pairs a terminal reported (table=options, CMD=INFO) to
// what is kept of its options; later values win.
inline void merge_options(TerminalRecord& t, const KeyValues& pairs) {
  auto merged =
      nlohmann::json::parse(t.options_json.empty() ? "{}" : t.options_json, nullptr, false);
  if (!merged.is_object()) {
    merged = nlohmann::json::object();
  }
  for (const auto& kv : pairs) {
    merged[kv.key] = kv.value;
  }
  t.options_json = dump_json(merged);
}

// The parsers read the converted body, so the records carry converted lines
// as `raw`; put the bytes the terminal sent back there. Conversion keeps LF
// and every ASCII byte, so line i of one body is line i of the other.
inline void restore_raw(WriteBatch& batch, std::string_view converted, std::string_view original) {
  std::map<std::string_view, std::string_view> lines;
  lines.emplace(converted, original);
  auto c_lines = zkpush::text::split(converted, '\n');
  auto o_lines = zkpush::text::split(original, '\n');
  if (c_lines.size() == o_lines.size()) {
    for (std::size_t i = 0; i < c_lines.size(); ++i) {
      lines.emplace(c_lines[i], o_lines[i]);
      auto c = c_lines[i];
      auto o = o_lines[i];
      while (!c.empty() && !o.empty() && c.back() == '\r' && o.back() == '\r') {
        c.remove_suffix(1);
        o.remove_suffix(1);
        lines.emplace(c, o);
      }
    }
  }
  auto restore = [&lines](std::string& raw) {
    if (auto it = lines.find(raw); it != lines.end()) {
      raw = std::string(it->second);
    }
  };
  for (auto& e : batch.events) {
    restore(e.raw);
  }
  for (auto& q : batch.quarantine) {
    restore(q.raw);
  }
}

}  // namespace pushgate::adapters::zkpush::session_detail
