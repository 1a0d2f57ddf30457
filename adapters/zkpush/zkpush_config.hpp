#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "gateway/config/config.hpp"

namespace pushgate::adapters::zkpush {

/** The [zkpush] keys, declared in zkpush_config.cpp. */
struct ZkpushConfig {
  bool enabled = true;
  std::string listen = "0.0.0.0";
  std::uint16_t port = 8081;
  std::size_t body_limit = 2 * 1024 * 1024;
  std::size_t header_limit = 16 * 1024;
  std::chrono::milliseconds idle_timeout{60000};
  std::chrono::milliseconds request_timeout{30000};
  std::chrono::milliseconds commit_timeout{10000};
  std::size_t max_connections = 2048;
  std::size_t max_connections_per_address = 64;
  std::chrono::milliseconds first_request_timeout{10000};
  std::size_t inflight_body_bytes = 3 * 1024 * 1024;
  std::chrono::milliseconds inflight_wait{2000};
  std::size_t max_field_bytes = 4096;
  int delay_s = 10;
  int error_delay_s = 30;
  std::int64_t gap_backfill_after_s = 600;  ///< 0: no gap backfill
  int trans_interval_min = 1;
  std::string trans_times = "00:00;14:05";
  bool realtime = true;
  std::string trans_flag;
  std::vector<std::string> push_options;
  std::uint16_t tls_port = 0;  ///< 0: no HTTPS listener
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string tls_min_version = "1.2";
  std::string token_check = "log";             ///< Security PUSH Cookie token: off | log | enforce
  std::vector<std::string> capture_terminals;  ///< serials whose traffic is always captured
  std::size_t capture_max_bytes = 16 * 1024 * 1024;  ///< per capture file
  bool capture_redact = true;      ///< capture_terminals: templates and photos replaced by a marker
  std::string encoding = "utf-8";  ///< canonical (text::canonical_encoding) device text encoding

  static void declare(config::Schema& schema);
  static ZkpushConfig from(const config::Config& config);
};

}  // namespace pushgate::adapters::zkpush
