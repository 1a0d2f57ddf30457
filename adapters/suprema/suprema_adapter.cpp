#include "adapters/suprema/suprema_adapter.hpp"

#include <thread>

#include <spdlog/spdlog.h>
#include <boost/asio/ssl/context.hpp>

#include "gateway/adapter_state.hpp"
#include "gateway/command_queue.hpp"
#include "gateway/link_support.hpp"
#include "gateway/logging.hpp"

namespace pushgate::adapters::suprema {

namespace {

constexpr const char* kStates[] = {"offline", "backfilling", "online", "auth_failed"};
constexpr const char* kCommandsMetric = "pushgate_suprema_commands_total";
constexpr const char* kCommandsHelp =
    "Gateway commands run through BioStar 2 servers, by result (retry_later: left sent)";

}  // namespace

SupremaAdapter::SupremaAdapter(AdapterContext& ctx, SupremaConfig config)
    : ctx_(ctx), config_(std::move(config)) {}

SupremaAdapter::~SupremaAdapter() = default;

std::vector<config::ConfigError> SupremaAdapter::validate_config(const config::Config& config) {
  return SupremaConfig::validate(config);
}

std::unique_ptr<Adapter> SupremaAdapter::create(AdapterContext& ctx) {
  auto config = SupremaConfig::from(ctx.config);
  if (!config.enabled) {
    return nullptr;
  }
  return std::make_unique<SupremaAdapter>(ctx, std::move(config));
}

boost::system::error_code SupremaAdapter::start() {
  const auto invalid = boost::system::errc::make_error_code(boost::system::errc::invalid_argument);
  if (auto errors = SupremaConfig::validate(ctx_.config); !errors.empty()) {
    start_error_ = errors.front().key + ": " + errors.front().reason;
    return invalid;
  }
  auto log = logger("suprema");
  std::vector<std::shared_ptr<boost::asio::ssl::context>> tls;
  for (auto& s : config_.servers) {
    if (auto problem = load_password(s); !problem.empty()) {
      start_error_ = problem;
      return invalid;
    }
    std::shared_ptr<boost::asio::ssl::context> ctx;
    if (s.https) {
      if (s.insecure_skip_verify) {
        log->warn(
            "[server={}] suprema.servers.{}.insecure_skip_verify is set: the server's "
            "certificate is NOT verified (anyone on the path can read the password and the "
            "events); pin it with ca_file",
            s.name, s.name);
      }
      boost::system::error_code ec;
      ctx = tls_client_context(s.ca_file, !s.insecure_skip_verify, ec);
      if (ec) {
        start_error_ = "suprema.servers." + s.name + ".ca_file: cannot load \"" + s.ca_file +
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
      log,
      {},
      m.counter("pushgate_suprema_events_stored_total",
                "BioStar 2 events new to the event log (feed and search)"),
      m.counter("pushgate_suprema_duplicates_total",
                "BioStar 2 events the event log already had (page overlap, feed and search)"),
      m.counter("pushgate_suprema_backfilled_total",
                "BioStar 2 events read by /api/events/search and new to the event log"),
      m.counter("pushgate_suprema_logins_total", "Successful logins to BioStar 2 servers"),
      m.counter("pushgate_suprema_auth_failures_total",
                "Logins a BioStar 2 server refused (the server then shows auth_failed)"),
      m.counter("pushgate_suprema_session_expiries_total",
                "API calls answered 'login required' (the gateway logs in again)"),
      m.counter("pushgate_suprema_reconnects_total",
                "BioStar 2 server sessions that ended and restart"),
      m.counter("pushgate_suprema_invalid_total",
                "/wsapi messages and search rows not understood, kept raw in the quarantine"),
      m.counter("pushgate_suprema_oversize_frames_total",
                "/wsapi messages over suprema.max_frame_kb (the feed is closed and reopened)"),
      m.counter("pushgate_suprema_feed_gaps_total",
                "Event id gaps in the /wsapi feed that started a search"),
      m.counter("pushgate_suprema_commit_failures_total",
                "BioStar 2 batches the store could not commit (read again from the server)"),
      m.counter(kCommandsMetric, kCommandsHelp, {{"result", "done"}}),
      m.counter(kCommandsMetric, kCommandsHelp, {{"result", "failed"}}),
      m.counter(kCommandsMetric, kCommandsHelp, {{"result", "unsupported"}}),
      m.counter(kCommandsMetric, kCommandsHelp, {{"result", "retry_later"}})});
  if (ctx_.adapter_state != nullptr) {
    boost::system::error_code ec;
    for (auto& [k, v] : ctx_.adapter_state->load("suprema", ec)) {
      shared_->stored.emplace(std::move(k), std::move(v));
    }
    if (ec) {
      start_error_ = "suprema: cannot read the stored cursors: " + ec.message();
      return ec;
    }
  }
  for (std::size_t i = 0; i < config_.servers.size(); ++i) {
    links_.push_back(std::make_shared<ServerLink>(*shared_, config_.servers[i], tls[i]));
  }
  register_link_states(m, "pushgate_suprema_servers", "BioStar 2 servers by link state", links_,
                       kStates);
  for (auto& l : links_) {
    l->start();
  }
  // Commands for a BioStar device go through its server as soon as they are
  // queued (or when the server is back).
  pusher_ = ctx_.commands.add_pusher(link_pusher(links_));
  shared_->log->info("{} BioStar 2 server(s)", links_.size());
  return {};
}

void SupremaAdapter::stop(std::chrono::milliseconds deadline) {
  pusher_.reset();
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

LinkState SupremaAdapter::state_of(const std::string& server) const {
  for (const auto& l : links_) {
    if (l->server().name == server) {
      return l->state();
    }
  }
  return LinkState::Offline;
}

}  // namespace pushgate::adapters::suprema
