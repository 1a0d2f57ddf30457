#pragma once

// Runs a whole pushgate Gateway in-process for integration tests: a fresh
// data directory, every port on 0 (free loopback ports), extra config
// overrides per test. Plus a minimal blocking HTTP client for loopback.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gateway/clock.hpp"
#include "gateway/config/config.hpp"
#include "gateway/gateway.hpp"

namespace pushgate::test {

/** A temporary directory removed on destruction. */
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::filesystem::path path_;
};

class GatewayHarness {
 public:
  /** Starts a gateway; `overrides` are `section.key=value` like --set. Throws on failure. */
  explicit GatewayHarness(std::vector<std::string> overrides = {},
                          std::filesystem::path data_dir = {});
  ~GatewayHarness();

  Gateway& gateway() noexcept { return *gateway_; }
  std::uint16_t zkpush_port() const;
  std::uint16_t api_port() const { return gateway_->api_port(); }
  const std::filesystem::path& data_dir() const noexcept { return data_dir_; }
  /** Stops the gateway (graceful) before destruction. */
  void stop();

  /** Runs a SELECT returning one integer, on a read connection. */
  std::int64_t query_int(const std::string& sql, const std::vector<std::string>& params = {});

 private:
  std::unique_ptr<TempDir> temp_;
  std::filesystem::path data_dir_;
  config::Schema schema_;
  std::unique_ptr<config::Config> config_;
  SystemClock clock_;
  std::unique_ptr<Gateway> gateway_;
};

/** The answer to one HTTP request. */
struct HttpAnswer {
  int status = 0;
  std::string body;
  std::string date_header;
};

/**
 * Sends raw request bytes to 127.0.0.1:port over a new connection and reads
 * one response. Throws on a connection error.
 */
HttpAnswer send_raw(std::uint16_t port, const std::string& request_bytes);

/** A GET or POST (body) with Connection: close. */
HttpAnswer http_request(std::uint16_t port, const std::string& method, const std::string& target,
                        const std::string& body = {});

/**
 * The value of one series ("name{labels}", exactly as exposed) on the
 * /metrics of the API at 127.0.0.1:api_port; nullopt when it is not there.
 */
std::optional<double> metric_value(std::uint16_t api_port, const std::string& series);

}  // namespace pushgate::test
