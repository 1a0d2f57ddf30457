#pragma once
// The Dahua adapter (issue 16): pull mode with backfill for every device of
// [dahua.devices."name"] whose mode is pull or both. One DeviceLink per
// device on the gateway's io_context; see adapters/dahua/README.md.

#include <memory>
#include <string>
#include <vector>

#include <boost/asio/ssl/context.hpp>

#include "adapters/dahua/dahua_config.hpp"
#include "adapters/dahua/dahua_link.hpp"
#include "adapters/dahua/dahua_push_server.hpp"
#include "gateway/adapter.hpp"
#include "gateway/subscription.hpp"

namespace pushgate::adapters::dahua {

class DahuaAdapter final : public Adapter {
 public:
  DahuaAdapter(AdapterContext& ctx, DahuaConfig config);
  ~DahuaAdapter() override;

  std::string_view name() const noexcept override { return "dahua"; }
  boost::system::error_code start() override;
  void stop(std::chrono::milliseconds deadline) override;
  std::string start_error() const override { return start_error_; }

  /** A configured device's state (Offline for a name not configured). */
  LinkState state_of(const std::string& device) const;

  static void declare_config(config::Schema& schema) { DahuaConfig::declare(schema); }
  static std::unique_ptr<Adapter> create(AdapterContext& ctx);
  static std::vector<config::ConfigError> validate_config(const config::Config& config);

 private:
  AdapterContext& ctx_;
  DahuaConfig config_;
  std::unique_ptr<LinkShared> shared_;
  std::vector<std::shared_ptr<DeviceLink>> links_;
  std::unique_ptr<PushServer> push_;  // devices with mode push / both
  Subscription pusher_;               // the command queue's cue, until stop()
  std::string start_error_;
};

}  // namespace pushgate::adapters::dahua
