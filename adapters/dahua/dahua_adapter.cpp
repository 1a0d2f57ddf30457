#include "adapters/dahua/dahua_adapter.hpp"

#include <thread>

#include "gateway/adapter_state.hpp"
#include "gateway/command_queue.hpp"
#include "gateway/link_support.hpp"
#include "gateway/logging.hpp"

namespace pushgate::adapters::dahua {

namespace {

constexpr const char* kStates[] = {"offline", "backfilling", "online", "auth_failed"};
constexpr const char* kCommandsMetric = "pushgate_dahua_commands_total";
constexpr const char* kCommandsHelp =
    "Gateway commands run on Dahua devices, by result (retry_later: left sent, offered again)";

}  // namespace

DahuaAdapter::DahuaAdapter(AdapterContext& ctx, DahuaConfig config)
    : ctx_(ctx), config_(std::move(config)) {}

DahuaAdapter::~DahuaAdapter() = default;

std::vector<config::ConfigError> DahuaAdapter::validate_config(const config::Config& config) {
  return DahuaConfig::validate(config);
}

std::unique_ptr<Adapter> DahuaAdapter::create(AdapterContext& ctx) {
  auto config = DahuaConfig::from(ctx.config);
  if (!config.enabled) {
    return nullptr;
  }
  return std::make_unique<DahuaAdapter>(ctx, std::move(config));
}

boost::system::error_code DahuaAdapter::start() {
  const auto invalid = boost::system::errc::make_error_code(boost::system::errc::invalid_argument);
  if (auto errors = DahuaConfig::validate(ctx_.config); !errors.empty()) {
    start_error_ = errors.front().key + ": " + errors.front().reason;
    return invalid;
  }
  std::vector<std::shared_ptr<boost::asio::ssl::context>> tls;
  for (auto& dev : config_.devices) {
    if (auto problem = load_password(dev); !problem.empty()) {
      start_error_ = problem;
      return invalid;
    }
    std::shared_ptr<boost::asio::ssl::context> ctx;
    if (dev.https) {
      boost::system::error_code ec;
      ctx = tls_client_context(dev.ca_file, true, ec);
      if (ec) {
        start_error_ = "dahua.devices." + dev.name + ".ca_file: cannot load \"" + dev.ca_file +
                       "\": " + ec.message();
        return invalid;
      }
    }
    tls.push_back(std::move(ctx));
  }
  auto& m = ctx_.metrics;
  shared_ = std::unique_ptr<LinkShared>(new LinkShared{
      ctx_,
      config_,
      logger("dahua"),
      {},
      m.counter("pushgate_dahua_events_stored_total",
                "Dahua events and records new to the event log (stream and backfill)"),
      m.counter("pushgate_dahua_duplicates_total",
                "Dahua records the event log already had (page overlap, stream and backfill)"),
      m.counter("pushgate_dahua_backfilled_total",
                "Dahua records read by recordFinder backfills and new to the event log"),
      m.counter("pushgate_dahua_auth_failures_total",
                "Logins a Dahua device refused (the device then shows auth_failed)"),
      m.counter("pushgate_dahua_reconnects_total", "Dahua device sessions that ended and restart"),
      m.counter("pushgate_dahua_quarantined_total",
                "Dahua stream records and recordFinder lines not understood, kept raw"),
      m.counter("pushgate_dahua_backfill_skip_warnings_total",
                "recordFinder pages full of one second: records may have been skipped"),
      m.counter("pushgate_dahua_commit_failures_total",
                "Dahua batches the store could not commit (read again from the device)"),
      m.counter(kCommandsMetric, kCommandsHelp, {{"result", "done"}}),
      m.counter(kCommandsMetric, kCommandsHelp, {{"result", "failed"}}),
      m.counter(kCommandsMetric, kCommandsHelp, {{"result", "unsupported"}}),
      m.counter(kCommandsMetric, kCommandsHelp, {{"result", "retry_later"}})});
  if (ctx_.adapter_state != nullptr) {
    boost::system::error_code ec;
    for (auto& [k, v] : ctx_.adapter_state->load("dahua", ec)) {
      shared_->stored.emplace(std::move(k), std::move(v));
    }
    if (ec) {
      start_error_ = "dahua: cannot read the stored backfill cursors: " + ec.message();
      return ec;
    }
  }
  for (std::size_t i = 0; i < config_.devices.size(); ++i) {
    links_.push_back(std::make_shared<DeviceLink>(*shared_, config_.devices[i], tls[i]));
  }
  register_link_states(m, "pushgate_dahua_devices", "Dahua devices by link state", links_, kStates);
  std::vector<PushCredential> pushers;
  for (const auto& dev : config_.devices) {
    if (dev.pushes()) {
      pushers.push_back({dev.name, dev.user, dev.password});
    }
  }
  if (!pushers.empty()) {
    PushServerOptions o;
    o.address = config_.push_address;
    o.port = config_.push_port;
    o.hand_undecodable = true;  // quarantined and answered 200 (store_push)
    o.credentials = [pushers](std::string_view user) {
      std::vector<PushCredential> out;
      for (const auto& p : pushers) {
        if (p.user == user) {
          out.push_back(p);
        }
      }
      return out;
    };
    push_ = std::make_unique<PushServer>(
        ctx_.ioc, std::move(o),
        [links = links_](PushUpload upload, PushDone done) {
          for (const auto& l : links) {
            if (l->device().name == upload.peer.device) {
              l->on_push(std::move(upload), done);
              return;
            }
          }
          done(false);
        },
        m);
    if (auto ec = push_->start()) {
      start_error_ = "dahua.push_port: cannot listen on " + config_.push_address + ":" +
                     std::to_string(config_.push_port) + ": " + ec.message();
      push_.reset();
      return ec;
    }
    shared_->log->info("Dahua push listener on {}:{} for {} device(s)", config_.push_address,
                       push_->port(), pushers.size());
  }
  for (auto& l : links_) {
    l->start();
  }
  // Commands for the pull-mode devices go to them over their link as soon as
  // they are queued (or when the device is back); push-only devices are not
  // reached by the gateway.
  pusher_ = ctx_.commands.add_pusher(link_pusher(links_));
  shared_->log->info("{} Dahua device(s)", links_.size());
  return {};
}

void DahuaAdapter::stop(std::chrono::milliseconds deadline) {
  pusher_.reset();
  if (push_) {
    push_->stop(deadline / 2);  // uploads being committed get half; the rest are 503 (re-sent)
  }
  for (auto& l : links_) {
    l->stop();
  }
  const auto until = std::chrono::steady_clock::now() + deadline;
  for (auto& l : links_) {
    while (!l->finished() && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
}

LinkState DahuaAdapter::state_of(const std::string& device) const {
  for (const auto& l : links_) {
    if (l->device().name == device) {
      return l->state();
    }
  }
  return LinkState::Offline;
}

}  // namespace pushgate::adapters::dahua
