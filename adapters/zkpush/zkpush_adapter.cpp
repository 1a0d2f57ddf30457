#include "adapters/zkpush/zkpush_adapter.hpp"

#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>

#include "adapters/zkpush/zkpush_command_check.hpp"
#include "gateway/logging.hpp"

namespace pushgate::adapters::zkpush {

ZkpushAdapter::ZkpushAdapter(AdapterContext& ctx, ZkpushConfig config)
    : ctx_(ctx),
      config_(std::move(config)),
      service_(std::make_shared<ZkpushService>(ctx, config_)) {
  // Values a terminal would misread while answering Return=0 are refused
  // before they are queued.
  ctx.commands.add_check(check_command_values);
  auto& o = options_;
  o.name = "zkpush";
  o.address = config_.listen;
  o.port = config_.port;
  o.body_limit = config_.body_limit;
  o.header_limit = config_.header_limit;
  o.idle_timeout = config_.idle_timeout;
  o.request_timeout = config_.request_timeout;
  o.max_connections = config_.max_connections;
  o.max_connections_per_address = config_.max_connections_per_address;
  o.first_request_timeout = config_.first_request_timeout;
  // Terminals' connections spread over the I/O threads, each connection on
  // one: 2,000 idle terminals polling cost about 2,400 context switches a
  // second instead of 10,000 (idle_bench, issue 19).
  o.connection_contexts = ctx.connection_contexts;
  // One budget for the HTTP and the HTTPS listener: it bounds memory, not
  // a listener.
  o.body_budget = std::make_shared<http::BodyBudget>(config_.inflight_body_bytes);
  o.body_budget_wait = config_.inflight_wait;
  server_ = std::make_unique<http::Server>(
      ctx.ioc, o,
      [service = service_](http::Request&& req, const http::RequestInfo& info, http::Reply reply) {
        service->handle(std::move(req), info, std::move(reply));
      },
      ctx.metrics);
}

namespace {
// The TLS context for terminals: the configured certificate, the minimum
// version, and no renegotiation or compression.
std::shared_ptr<boost::asio::ssl::context> make_tls(const ZkpushConfig& c, std::string& error) {
  namespace ssl = boost::asio::ssl;
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::single_dh_use | SSL_OP_NO_COMPRESSION |
                   SSL_OP_NO_RENEGOTIATION);
  int min = c.tls_min_version == "1.0"   ? TLS1_VERSION
            : c.tls_min_version == "1.1" ? TLS1_1_VERSION
            : c.tls_min_version == "1.3" ? TLS1_3_VERSION
                                         : TLS1_2_VERSION;
  SSL_CTX_set_min_proto_version(ctx->native_handle(), min);
  if (min < TLS1_2_VERSION) {
    // OpenSSL 3 refuses TLS 1.0/1.1 at its default security level.
    SSL_CTX_set_security_level(ctx->native_handle(), 0);
  }
  boost::system::error_code ec;
  ctx->use_certificate_chain_file(c.tls_cert_file, ec);
  if (ec) {
    error = "zkpush.tls_cert_file: cannot load \"" + c.tls_cert_file + "\": " + ec.message();
    return nullptr;
  }
  ctx->use_private_key_file(c.tls_key_file, ssl::context::pem, ec);
  if (ec) {
    error = "zkpush.tls_key_file: cannot load \"" + c.tls_key_file + "\": " + ec.message();
    return nullptr;
  }
  return ctx;
}

bool wants_tls(const ZkpushConfig& c) {
  return c.tls_port != 0 || (!c.tls_cert_file.empty() && !c.tls_key_file.empty());
}
}  // namespace

std::vector<config::ConfigError> ZkpushAdapter::validate_config(const config::Config& config) {
  auto c = ZkpushConfig::from(config);
  std::vector<config::ConfigError> errors;
  if (c.enabled && wants_tls(c)) {
    std::string error;
    if (!make_tls(c, error)) {
      auto colon = error.find(": ");
      errors.push_back({error.substr(0, colon), error.substr(colon + 2)});
    }
  }
  return errors;
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
    // One line, logged once by whoever started us (the daemon exits on it).
    start_error_ = "zkpush.port: cannot listen on " + config_.listen + ":" +
                   std::to_string(config_.port) + ": " + ec.message();
    ctx_.health.set(Health::Kind::Ready, "zkpush", false, "not listening: " + ec.message());
    return ec;
  }
  logger("zkpush")->info("PUSH server listening on {}:{}", config_.listen, server_->port());
  if (wants_tls(config_)) {
    std::string error;
    auto tls = make_tls(config_, error);
    if (!tls) {
      start_error_ = error;
      ctx_.health.set(Health::Kind::Ready, "zkpush", false, error);
      return boost::asio::error::invalid_argument;
    }
    auto o = options_;
    o.name = "zkpush-tls";
    o.port = config_.tls_port;
    o.tls = std::move(tls);
    tls_server_ = std::make_unique<http::Server>(
        ctx_.ioc, o,
        [service = service_](http::Request&& req, const http::RequestInfo& info,
                             http::Reply reply) {
          service->handle(std::move(req), info, std::move(reply));
        },
        ctx_.metrics);
    if (auto tec = tls_server_->start()) {
      start_error_ = "zkpush.tls_port: cannot listen on " + config_.listen + ":" +
                     std::to_string(config_.tls_port) + ": " + tec.message();
      ctx_.health.set(Health::Kind::Ready, "zkpush", false, "not listening: " + tec.message());
      return tec;
    }
    logger("zkpush")->info("PUSH server (HTTPS) listening on {}:{}", config_.listen,
                           tls_server_->port());
  }
  ctx_.health.set(Health::Kind::Ready, "zkpush", true);
  return {};
}

void ZkpushAdapter::stop(std::chrono::milliseconds) {
  // Stop accepting; connections waiting for a commit are answered by it
  // (the store drains its queue on stop) and then closed.
  server_->stop();
  if (tls_server_) {
    tls_server_->stop();
  }
  ctx_.health.set(Health::Kind::Ready, "zkpush", false, "stopping");
}

void ZkpushAdapter::reload(const config::Config& config) {
  // Only the handshake options are (reload) keys; listeners stay as they are.
  service_->reload(ZkpushConfig::from(config));
}

std::uint16_t ZkpushAdapter::port() const noexcept {
  return server_->port();
}
std::uint16_t ZkpushAdapter::tls_port() const noexcept {
  return tls_server_ ? tls_server_->port() : 0;
}

}  // namespace pushgate::adapters::zkpush
