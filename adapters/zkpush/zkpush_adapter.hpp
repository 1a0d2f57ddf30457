#pragma once

#include <memory>

#include "adapters/zkpush/zkpush_config.hpp"
#include "adapters/zkpush/zkpush_session.hpp"
#include "gateway/adapter.hpp"
#include "gateway/http/server.hpp"

namespace pushgate::adapters::zkpush {

/** The ZKTeco PUSH server: lifecycle around an HTTP server and ZkpushService. */
class ZkpushAdapter final : public Adapter {
 public:
  ZkpushAdapter(AdapterContext& ctx, ZkpushConfig config);
  ~ZkpushAdapter() override;

  // Adapter
  std::string_view name() const noexcept override { return "zkpush"; }
  boost::system::error_code start() override;
  void stop(std::chrono::milliseconds deadline) override;
  void reload(const config::Config& config) override;
  std::string start_error() const override { return start_error_; }

  /** The bound ports (tests bind port 0); tls_port() is 0 without HTTPS. */
  std::uint16_t port() const noexcept;
  std::uint16_t tls_port() const noexcept;

  static void declare_config(config::Schema& schema) { ZkpushConfig::declare(schema); }
  static std::unique_ptr<Adapter> create(AdapterContext& ctx);
  /** The HTTPS certificate and key, loaded as start() loads them. */
  static std::vector<config::ConfigError> validate_config(const config::Config& config);

 private:
  AdapterContext& ctx_;
  ZkpushConfig config_;
  std::shared_ptr<ZkpushService> service_;
  std::unique_ptr<http::Server> server_;
  std::unique_ptr<http::Server> tls_server_;
  http::ServerOptions options_;
  std::string start_error_;
};

}  // namespace pushgate::adapters::zkpush
