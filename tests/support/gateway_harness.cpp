#include "tests/support/gateway_harness.hpp"

#include <cstdlib>
#include <future>
#include <map>
#include <mutex>
#include <stdexcept>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include "adapters/zkpush/zkpush_adapter.hpp"
#include "gateway/auth/crypto.hpp"
#include "gateway/logging.hpp"
#include "gateway/store/auth_queries.hpp"
#include "gateway/store/store.hpp"

namespace pushgate::test {

namespace net = boost::asio;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;

namespace {

std::mutex tokens_mutex;
std::map<std::uint16_t, std::string>& registered_tokens() {
  static std::map<std::uint16_t, std::string> tokens;
  return tokens;
}

}  // namespace

void register_api_token(std::uint16_t port, const std::string& token) {
  std::lock_guard lock(tokens_mutex);
  if (token.empty()) {
    registered_tokens().erase(port);
  } else {
    registered_tokens()[port] = token;
  }
}

std::string registered_api_token(std::uint16_t port) {
  std::lock_guard lock(tokens_mutex);
  auto it = registered_tokens().find(port);
  return it == registered_tokens().end() ? std::string() : it->second;
}

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "pushgate-test-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) {
    throw std::runtime_error("mkdtemp failed");
  }
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

namespace {

/**
 * On a database that does not exist yet (its directory made if need be): creates it
 * with one admin account ("harness", that no password opens), so
 * the gateway's first start creates no `admin` and writes no audit event.
 * Anything that fails is left for the gateway's start to report.
 */
void create_harness_account(const config::Config& config, const std::filesystem::path& data_dir) {
  const auto path = data_dir / config.get_string("store.file");
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec || !std::filesystem::is_directory(data_dir, ec) || std::filesystem::exists(path, ec)) {
    return;
  }
  SystemClock clock;
  metrics::Registry metrics;
  store::Store::Options so;
  so.path = path.string();
  so.read_threads = 1;
  std::string error;
  auto store = store::Store::open(so, clock, metrics, error);
  if (!store) {
    return;
  }
  store->start();
  store::AuthUserRow user;
  user.name = "harness";
  user.role = "admin";
  user.password_hash = "!";  // matches no password (crypto.hpp): nobody logs in as it
  user.created_ms = clock.now_ms();
  std::promise<boost::system::error_code> done;
  WriteBatch batch;
  batch.ops.push_back(
      [user](store::WriteContext& ctx) { return store::insert_auth_user(ctx.db(), user); });
  store->append(std::move(batch), [&done](CommitResult r) { done.set_value(r.ec); });
  done.get_future().get();
  store->stop();
}

}  // namespace

GatewayHarness::GatewayHarness(std::vector<std::string> overrides, std::filesystem::path data_dir,
                               Accounts accounts)
    : schema_(build_schema()) {
  if (data_dir.empty()) {
    temp_ = std::make_unique<TempDir>();
    data_dir_ = temp_->path();
  } else {
    data_dir_ = std::move(data_dir);
  }
  std::vector<std::string> sets = {"gateway.data_dir=" + data_dir_.string(), "zkpush.port=0",
                                   "zkpush.listen=127.0.0.1", "api.port=0", "log.level=warn"};
  sets.insert(sets.end(), overrides.begin(), overrides.end());
  auto loaded = config::Config::load_string(schema_, "", sets);
  if (!loaded.ok()) {
    throw std::runtime_error("harness config: " + config::format_errors(loaded.errors));
  }
  config_ = std::make_unique<config::Config>(*loaded.config);
  configure_logging(config_->get_string("log.level"), config_->get_string("log.components"), false);
  if (accounts == Accounts::Harness && config_->get_bool("api.enabled") &&
      config_->get_string("api.auth") == "required") {
    create_harness_account(*config_, data_dir_);
  }
  gateway_ = std::make_unique<Gateway>(*config_, clock_);
  if (auto err = gateway_->start(); !err.empty()) {
    throw std::runtime_error("gateway start: " + err);
  }
  if (config_->get_bool("api.enabled") && config_->get_string("api.auth") == "required") {
    registered_port_ = gateway_->api_port();
    register_api_token(registered_port_, api_token(auth::Role::Admin));
  }
}

std::string GatewayHarness::api_token(auth::Role role) {
  for (const auto& [r, token] : tokens_) {
    if (r == role) {
      return token;
    }
  }
  auto token = "pgt_" + auth::random_secret();
  store::AuthTokenRow row;
  row.name = "test-" + std::string(auth::to_string(role));
  row.role = std::string(auth::to_string(role));
  row.created_ms = clock_.now_ms();
  row.created_by = "gateway_harness";
  std::promise<boost::system::error_code> done;
  WriteBatch batch;
  batch.ops.push_back([row, hash = auth::sha256_hex(token)](store::WriteContext& ctx) {
    return store::insert_auth_token(ctx.db(), row, hash);
  });
  gateway_->store().append(std::move(batch), [&done](CommitResult r) { done.set_value(r.ec); });
  if (auto ec = done.get_future().get()) {
    throw std::runtime_error("harness: cannot create an API token: " + ec.message());
  }
  tokens_.emplace_back(role, token);
  return token;
}

GatewayHarness::~GatewayHarness() {
  stop();
}

void GatewayHarness::stop() {
  if (registered_port_ != 0) {
    register_api_token(registered_port_, "");
    registered_port_ = 0;
  }
  if (gateway_) {
    gateway_->stop(std::chrono::seconds(10));
  }
}

std::uint16_t GatewayHarness::zkpush_port() const {
  auto* a = dynamic_cast<adapters::zkpush::ZkpushAdapter*>(gateway_->adapter("zkpush"));
  if (a == nullptr) {
    throw std::runtime_error("zkpush adapter not running");
  }
  return a->port();
}

std::int64_t GatewayHarness::query_int(const std::string& sql,
                                       const std::vector<std::string>& params) {
  return gateway_->store().read([&](store::Connection& db) -> std::int64_t {
    boost::system::error_code ec;
    auto st = db.prepare(sql, ec);
    if (ec) {
      throw std::runtime_error("prepare " + sql + ": " + db.last_error_message());
    }
    for (std::size_t i = 0; i < params.size(); ++i) {
      st.bind(static_cast<int>(i + 1), std::string_view(params[i]));
    }
    if (!st.step(ec)) {
      throw std::runtime_error("no row for " + sql);
    }
    return st.column_int(0);
  });
}

HttpAnswer send_raw(std::uint16_t port, const std::string& request_bytes) {
  net::io_context ioc;
  tcp::socket socket(ioc);
  socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  net::write(socket, net::buffer(request_bytes));
  boost::beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  bhttp::read(socket, buffer, parser);
  HttpAnswer a;
  a.status = static_cast<int>(parser.get().result_int());
  a.body = parser.get().body();
  a.date_header = std::string(parser.get()[bhttp::field::date]);
  a.set_cookie = std::string(parser.get()[bhttp::field::set_cookie]);
  boost::system::error_code ec;
  socket.shutdown(tcp::socket::shutdown_both, ec);
  return a;
}

HttpAnswer http_request(std::uint16_t port, const std::string& method, const std::string& target,
                        const std::string& body) {
  return http_request_as(registered_api_token(port), port, method, target, body);
}

HttpAnswer http_request_as(const std::string& token, std::uint16_t port, const std::string& method,
                           const std::string& target, const std::string& body,
                           const std::vector<std::string>& headers) {
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  if (!token.empty()) {
    req += "Authorization: Bearer " + token + "\r\n";
  }
  for (const auto& h : headers) {
    req += h + "\r\n";
  }
  if (method == "POST" || !body.empty()) {
    req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  req += "\r\n" + body;
  return send_raw(port, req);
}

std::optional<double> metric_value(std::uint16_t api_port, const std::string& series) {
  auto body = http_request(api_port, "GET", "/metrics").body;
  auto pos = body.find("\n" + series + " ");
  if (pos == std::string::npos) {
    return std::nullopt;
  }
  return std::stod(body.substr(pos + series.size() + 2));
}

}  // namespace pushgate::test
