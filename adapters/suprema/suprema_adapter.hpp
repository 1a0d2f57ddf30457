#pragma once
// The Suprema BioStar 2 bridge (issue 17 item 1): one ServerLink per
// [suprema.servers."name"] on the gateway's io_context; see
// adapters/suprema/README.md.

#include <memory>
#include <string>
#include <vector>

#include "adapters/suprema/suprema_config.hpp"
#include "adapters/suprema/suprema_link.hpp"
#include "gateway/adapter.hpp"
#include "gateway/subscription.hpp"

namespace pushgate::adapters::suprema {

class SupremaAdapter final : public Adapter {
 public:
  SupremaAdapter(AdapterContext& ctx, SupremaConfig config);
  ~SupremaAdapter() override;

  std::string_view name() const noexcept override { return "suprema"; }
  boost::system::error_code start() override;
  void stop(std::chrono::milliseconds deadline) override;
  std::string start_error() const override { return start_error_; }

  /** A configured server's state (Offline for a name not configured). */
  LinkState state_of(const std::string& server) const;

  static void declare_config(config::Schema& schema) { SupremaConfig::declare(schema); }
  static std::unique_ptr<Adapter> create(AdapterContext& ctx);
  static std::vector<config::ConfigError> validate_config(const config::Config& config);

 private:
  AdapterContext& ctx_;
  SupremaConfig config_;
  std::unique_ptr<LinkShared> shared_;
  std::vector<std::shared_ptr<ServerLink>> links_;
  Subscription pusher_;  // the command queue's cue, until stop()
  std::string start_error_;
};

}  // namespace pushgate::adapters::suprema
