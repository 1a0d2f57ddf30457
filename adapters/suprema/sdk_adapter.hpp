#pragma once
// The Suprema device-SDK adapter (issue 17 item 2): loads Suprema's BioStar 2
// Device SDK at run time (sdk_loader.hpp), connects the configured devices by
// address and accepts those that dial in (server mode), backfills each
// device's log from its durable cursor after every (re)connect, stores live
// log rows handed over from the SDK's threads, and runs door commands from
// the durable queue. SDK calls that block run on the adapter's own worker
// thread; SDK callbacks only queue (bounded) and post to the gateway's
// io_context. See adapters/suprema/README.md, "Device SDK path".

#include <memory>
#include <string>
#include <vector>

#include "adapters/suprema/sdk_config.hpp"
#include "gateway/adapter.hpp"

namespace pushgate::adapters::suprema::sdk {

class SdkAdapter final : public Adapter {
 public:
  SdkAdapter(AdapterContext& ctx, SdkConfig config);
  ~SdkAdapter() override;

  std::string_view name() const noexcept override { return "suprema_sdk"; }
  /**
   * Succeeds even when the SDK library cannot be used: the path is then
   * disabled (logged, a failing Ready check "suprema_sdk" naming the file and
   * the symbol) and the rest of the gateway runs.
   */
  boost::system::error_code start() override;
  void stop(std::chrono::milliseconds deadline) override;
  std::string start_error() const override { return start_error_; }

  /** Why the SDK path is disabled ("" when it runs). */
  std::string disabled_reason() const;
  /** A configured device's state: offline, backfilling or online. */
  std::string state_of(const std::string& device) const;

  static void declare_config(config::Schema& schema) { SdkConfig::declare(schema); }
  static std::unique_ptr<Adapter> create(AdapterContext& ctx);
  static std::vector<config::ConfigError> validate_config(const config::Config& config);

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
  std::string start_error_;
};

}  // namespace pushgate::adapters::suprema::sdk
