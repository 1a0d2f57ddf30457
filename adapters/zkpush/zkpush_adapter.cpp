#include "adapters/zkpush/zkpush_adapter.hpp"

#include "gateway/logging.hpp"

namespace pushgate::adapters::zkpush {

ZkpushAdapter::ZkpushAdapter(AdapterContext& ctx, ZkpushConfig config)
    : ctx_(ctx), config_(std::move(config)),
      service_(std::make_shared<ZkpushService>(ctx, config_)) {
  http::ServerOptions o;
  o.name = "zkpush";
  o.address = config_.listen;
  o.port = config_.port;
  o.body_limit = config_.body_limit;
  o.header_limit = config_.header_limit;
  o.idle_timeout = config_.idle_timeout;
  o.request_timeout = config_.request_timeout;
  o.max_connections = config_.max_connections;
  server_ = std::make_unique<http::Server>(
      ctx.ioc, o,
      [service = service_](http::Request&& req, const http::RequestInfo& info, http::Reply reply) {
        service->handle(std::move(req), info, std::move(reply));
      },
      ctx.metrics);
}

ZkpushAdapter::~ZkpushAdapter() = default;

std::unique_ptr<Adapter> ZkpushAdapter::create(AdapterContext& ctx) {
  auto config = ZkpushConfig::from(ctx.config);
  if (!config.enabled) {
    return nullptr;
  }
  return std::make_unique<ZkpushAdapter>(ctx, std::move(config));
}

boost::system::error_code ZkpushAdapter::start() {
  auto ec = server_->start();
  if (ec) {
    logger(Component::Zkpush)
        ->error("cannot listen on {}:{}: {}", config_.listen, config_.port, ec.message());
    ctx_.health.set(Health::Kind::Ready, "zkpush", false, "not listening: " + ec.message());
    return ec;
  }
  logger(Component::Zkpush)->info("PUSH server listening on {}:{}", config_.listen, server_->port());
  ctx_.health.set(Health::Kind::Ready, "zkpush", true);
  return {};
}

void ZkpushAdapter::stop(std::chrono::milliseconds) {
  // Stop accepting; connections waiting for a commit are answered by it
  // (the store drains its queue on stop) and then closed.
  server_->stop();
  ctx_.health.set(Health::Kind::Ready, "zkpush", false, "stopping");
}

void ZkpushAdapter::reload(const config::Config& config) {
  // Only the handshake options are (reload) keys; listeners stay as they are.
  service_->reload(ZkpushConfig::from(config));
}

std::uint16_t ZkpushAdapter::port() const noexcept { return server_->port(); }

}  // namespace pushgate::adapters::zkpush
