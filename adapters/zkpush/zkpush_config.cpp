#include "adapters/zkpush/zkpush_config.hpp"

#include "adapters/zkpush/zkpush_protocol.hpp"
#include "gateway/device_text.hpp"

namespace pushgate::adapters::zkpush {

using config::KeySpec;
using config::ValueType;

void ZkpushConfig::declare(config::Schema& s) {
  s.describe_section("zkpush",
                     "[zkpush] — the ZKTeco PUSH server terminals upload to (HTTP /iclock/*).\n"
                     "On the terminal: COMM. > Cloud Server Setting > Server Address = this\n"
                     "box's IP, Server Port = zkpush.port, HTTPS off.");
  s.add({"zkpush.enabled", ValueType::Bool, true, "Serve terminals.", {}, {}, {}, false});
  s.add({"zkpush.listen",
         ValueType::String,
         std::string("0.0.0.0"),
         "Address to listen on (terminals are on the site LAN).",
         {},
         {},
         {},
         false});
  s.add({"zkpush.port",
         ValueType::Int,
         std::int64_t{8081},
         "TCP port terminals connect to. Below 1024 needs CAP_NET_BIND_SERVICE.",
         std::int64_t{0},
         std::int64_t{65535},
         {},
         false});
  s.add({"zkpush.body_limit_bytes",
         ValueType::Int,
         std::int64_t{2 * 1024 * 1024},
         "Largest request body accepted; larger ones are answered 413 before being read.\n"
         "Template and photo batches reach several hundred KB.",
         std::int64_t{1024},
         std::int64_t{64 * 1024 * 1024},
         {},
         false});
  s.add({"zkpush.header_limit_bytes",
         ValueType::Int,
         std::int64_t{16 * 1024},
         "Largest request header accepted (431 past it).",
         std::int64_t{1024},
         std::int64_t{1024 * 1024},
         {},
         false});
  s.add({"zkpush.tls_port",
         ValueType::Int,
         std::int64_t{0},
         "Port of the same server over HTTPS (terminal menu: HTTPS on). 0: off.\n"
         "Needs tls_cert_file and tls_key_file.",
         std::int64_t{0},
         std::int64_t{65535},
         {},
         false});
  s.add({"zkpush.tls_cert_file",
         ValueType::String,
         std::string(""),
         "PEM certificate (chain) for HTTPS. Old firmware accepts RSA 2048 with SHA-256;\n"
         "see adapters/zkpush/README.md for how to make one.",
         {},
         {},
         {},
         false});
  s.add({"zkpush.tls_key_file",
         ValueType::String,
         std::string(""),
         "PEM private key for HTTPS.",
         {},
         {},
         {},
         false});
  s.add({"zkpush.tls_min_version",
         ValueType::String,
         std::string("1.2"),
         "Lowest TLS version accepted. Some old firmware speaks only 1.0/1.1.",
         {},
         {},
         {"1.0", "1.1", "1.2", "1.3"},
         false});
  s.add({"zkpush.token_check",
         ValueType::String,
         std::string("log"),
         "Security PUSH (access control) session token: every request after registration\n"
         "carries Cookie: token=MD5(RegistryCode+SN+SessionID). off: not checked; log: a\n"
         "mismatch is logged and counted; enforce: a mismatch is answered 401 and nothing\n"
         "is stored (not checked on /iclock/registry, /iclock/push and the handshake).",
         {},
         {},
         {"off", "log", "enforce"},
         true});
  s.add({"zkpush.gap_backfill_after_s",
         ValueType::Int,
         std::int64_t{600},
         "Some attendance firmware does not re-upload punches made while the server could\n"
         "not be reached. When a known terminal comes back after a silence longer than\n"
         "this, or for the first time since pushgated started, its records of the gap are\n"
         "queried (DATA QUERY ATTLOG, or the transaction table for access firmware);\n"
         "deduplication makes the answer harmless. 0: never.",
         std::int64_t{0},
         std::int64_t{30 * 24 * 3600},
         {},
         true});
  s.add({"zkpush.encoding",
         ValueType::String,
         std::string("utf-8"),
         "The character set terminals send names and other text in; converted to UTF-8\n"
         "once on arrival (the raw column keeps the bytes as sent). Bytes not valid in\n"
         "it become U+FFFD and are counted. Per terminal: terminals.\"SN\".encoding.",
         {},
         {},
         {"utf-8", "latin-1", "iso-8859-1", "cp1252", "windows-1252", "gbk", "gb2312", "gb18030"},
         true});
  s.add({"zkpush.idle_timeout_ms",
         ValueType::Int,
         std::int64_t{60000},
         "How long a keep-alive connection may idle between requests.",
         std::int64_t{100},
         std::int64_t{3600000},
         {},
         false});
  s.add({"zkpush.request_timeout_ms",
         ValueType::Int,
         std::int64_t{30000},
         "How long reading one request (its header included) or writing one answer\n"
         "may take.",
         std::int64_t{100},
         std::int64_t{600000},
         {},
         false});
  s.add({"zkpush.commit_timeout_ms",
         ValueType::Int,
         std::int64_t{10000},
         "How long an upload waits for its records to be committed. Past it the\n"
         "terminal is answered non-OK and resends later (the store drops the copy).",
         std::int64_t{100},
         std::int64_t{600000},
         {},
         false});
  s.add({"zkpush.max_connections",
         ValueType::Int,
         std::int64_t{2048},
         "Most simultaneous connections.",
         std::int64_t{1},
         std::int64_t{100000},
         {},
         false});
  s.add({"zkpush.max_connections_per_address",
         ValueType::Int,
         std::int64_t{64},
         "Most simultaneous connections from one IP address (loopback included); past\n"
         "it new connections are closed at once, counted and logged. 0: no limit.",
         std::int64_t{0},
         std::int64_t{100000},
         {},
         false});
  s.add({"zkpush.first_request_timeout_ms",
         ValueType::Int,
         std::int64_t{10000},
         "How long a new connection may stay silent before its first request begins.",
         std::int64_t{100},
         std::int64_t{600000},
         {},
         false});
  s.add({"zkpush.inflight_body_bytes",
         ValueType::Int,
         std::int64_t{1024 * 1024},
         "Request bodies being read, parsed and committed at once, in bytes, over all\n"
         "terminals (HTTP and HTTPS). A body that does not fit waits up to\n"
         "inflight_wait_ms, then is answered 503 and the terminal sends it again later.\n"
         "A body larger than this is admitted alone. Parsing and committing take up to\n"
         "50 times the body in memory (ATTLOG: one event per 35-byte line): the default\n"
         "keeps pushgated under its 64 MB ceiling (README, Memory); each further MB\n"
         "adds up to 50 MB.",
         std::int64_t{64 * 1024},
         std::int64_t{1024} * 1024 * 1024,
         {},
         false});
  s.add({"zkpush.inflight_wait_ms",
         ValueType::Int,
         std::int64_t{2000},
         "How long a body waits for room in inflight_body_bytes before the 503.",
         std::int64_t{0},
         std::int64_t{60000},
         {},
         false});
  s.add({"zkpush.max_field_bytes",
         ValueType::Int,
         std::int64_t{4096},
         "Longest text field of a record (PIN, name, operands, work code...). A record\n"
         "with a longer one is quarantined, not stored as an event. Templates and\n"
         "photos (base64) are bounded by body_limit_bytes only.",
         std::int64_t{64},
         std::int64_t{64 * 1024 * 1024},
         {},
         false});
  s.add({"zkpush.delay_s",
         ValueType::Int,
         std::int64_t{10},
         "Handshake Delay: seconds between a terminal's command polls.",
         std::int64_t{1},
         std::int64_t{3600},
         {},
         true});
  s.add({"zkpush.error_delay_s",
         ValueType::Int,
         std::int64_t{30},
         "Handshake ErrorDelay: seconds a terminal waits after a failed request.",
         std::int64_t{1},
         std::int64_t{3600},
         {},
         true});
  s.add({"zkpush.trans_interval_min",
         ValueType::Int,
         std::int64_t{1},
         "Handshake TransInterval: minutes between checks for new data (0 = off).",
         std::int64_t{0},
         std::int64_t{1440},
         {},
         true});
  s.add({"zkpush.trans_times",
         ValueType::String,
         std::string("00:00;14:05"),
         "Handshake TransTimes: times of day the terminal uploads (HH:MM;HH:MM).",
         {},
         {},
         {},
         true});
  s.add({"zkpush.realtime",
         ValueType::Bool,
         true,
         "Handshake Realtime: upload each record as it happens.",
         {},
         {},
         {},
         true});
  s.add({"zkpush.trans_flag",
         ValueType::String,
         std::string(kTransFlagAll),
         "Handshake TransFlag (format II): which data the terminal uploads by itself.",
         {},
         {},
         {},
         true});
  s.add({"zkpush.capture_terminals",
         ValueType::StringList,
         std::vector<std::string>{},
         "Serials whose every request and answer is written to\n"
         "<data_dir>/captures/<sn>-<UTC time>.log from start-up (templates and photos\n"
         "redacted). POST /api/v1/terminals/{sn}/capture?minutes=N starts one on demand.",
         {},
         {},
         {},
         false});
  s.add({"zkpush.capture_max_bytes",
         ValueType::Int,
         std::int64_t{16 * 1024 * 1024},
         "Largest capture file; the capture stops when the next exchange would pass it.",
         std::int64_t{4096},
         std::int64_t{1024} * 1024 * 1024,
         {},
         false});
  s.add({"zkpush.capture_redact",
         ValueType::Bool,
         true,
         "Captures of capture_terminals replace template and photo payloads by\n"
         "\"[redacted N bytes]\" (false: keep them; the file then holds biometric data).",
         {},
         {},
         {},
         false});
  s.add({"zkpush.push_options",
         ValueType::StringList,
         std::vector<std::string>{},
         "Handshake PushOptions: option names the terminal should push (table=options).",
         {},
         {},
         {},
         true});
}

ZkpushConfig ZkpushConfig::from(const config::Config& c) {
  ZkpushConfig z;
  z.enabled = c.get_bool("zkpush.enabled");
  z.listen = c.get_string("zkpush.listen");
  z.port = static_cast<std::uint16_t>(c.get_int("zkpush.port"));
  z.body_limit = static_cast<std::size_t>(c.get_int("zkpush.body_limit_bytes"));
  z.header_limit = static_cast<std::size_t>(c.get_int("zkpush.header_limit_bytes"));
  z.idle_timeout = std::chrono::milliseconds(c.get_int("zkpush.idle_timeout_ms"));
  z.request_timeout = std::chrono::milliseconds(c.get_int("zkpush.request_timeout_ms"));
  z.commit_timeout = std::chrono::milliseconds(c.get_int("zkpush.commit_timeout_ms"));
  z.max_connections = static_cast<std::size_t>(c.get_int("zkpush.max_connections"));
  z.max_connections_per_address =
      static_cast<std::size_t>(c.get_int("zkpush.max_connections_per_address"));
  z.first_request_timeout = std::chrono::milliseconds(c.get_int("zkpush.first_request_timeout_ms"));
  z.inflight_body_bytes = static_cast<std::size_t>(c.get_int("zkpush.inflight_body_bytes"));
  z.inflight_wait = std::chrono::milliseconds(c.get_int("zkpush.inflight_wait_ms"));
  z.max_field_bytes = static_cast<std::size_t>(c.get_int("zkpush.max_field_bytes"));
  z.delay_s = static_cast<int>(c.get_int("zkpush.delay_s"));
  z.error_delay_s = static_cast<int>(c.get_int("zkpush.error_delay_s"));
  z.trans_interval_min = static_cast<int>(c.get_int("zkpush.trans_interval_min"));
  z.trans_times = c.get_string("zkpush.trans_times");
  z.realtime = c.get_bool("zkpush.realtime");
  z.trans_flag = c.get_string("zkpush.trans_flag");
  z.push_options = c.get_list("zkpush.push_options");
  z.capture_terminals = c.get_list("zkpush.capture_terminals");
  z.capture_redact = c.get_bool("zkpush.capture_redact");
  z.capture_max_bytes = static_cast<std::size_t>(c.get_int("zkpush.capture_max_bytes"));
  z.tls_port = static_cast<std::uint16_t>(c.get_int("zkpush.tls_port"));
  z.tls_cert_file = c.get_string("zkpush.tls_cert_file");
  z.tls_key_file = c.get_string("zkpush.tls_key_file");
  z.tls_min_version = c.get_string("zkpush.tls_min_version");
  z.token_check = c.get_string("zkpush.token_check");
  z.gap_backfill_after_s = c.get_int("zkpush.gap_backfill_after_s");
  z.encoding = text::canonical_encoding(c.get_string("zkpush.encoding")).value_or("utf-8");
  return z;
}

}  // namespace pushgate::adapters::zkpush
