// The simulated BioStar 2 server: listener, TLS, sessions, event log, the
// /wsapi feed, restarts. The REST handlers are in biostar2_api.cpp. Sources
// of every behaviour: tests/sim/README.md ("BioStar 2 server").

#include "tests/sim/biostar2_server.hpp"

#include "tests/sim/biostar2_impl.hpp"  // first: asio needs <utility> before it

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <future>
#include <stdexcept>

namespace pushgate::sim::biostar2 {
namespace {
namespace websocket = beast::websocket;
using boost::system::error_code;
constexpr auto kAwait = net::use_awaitable;

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(n));
}

/// A self-signed P-256 certificate for CN=localhost, SAN DNS:localhost and
/// IP:127.0.0.1, valid for a day (BioStar 2 installs a self-signed one).
std::pair<std::string, std::string> make_certificate() {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), &EVP_PKEY_free);
  std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), &X509_free);
  if (!key || !cert) {
    throw std::runtime_error("biostar2 sim: cannot create a key or certificate");
  }
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()),
                   static_cast<long>(std::random_device{}() & 0x7FFFFFFF));
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24 * 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
  if (X509_EXTENSION* ext =
          X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1")) {
    X509_add_ext(cert.get(), ext, -1);
    X509_EXTENSION_free(ext);
  }
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) {
    throw std::runtime_error("biostar2 sim: cannot sign the certificate");
  }
  std::unique_ptr<BIO, decltype(&BIO_free)> cert_bio(BIO_new(BIO_s_mem()), &BIO_free);
  std::unique_ptr<BIO, decltype(&BIO_free)> key_bio(BIO_new(BIO_s_mem()), &BIO_free);
  PEM_write_bio_X509(cert_bio.get(), cert.get());
  PEM_write_bio_PrivateKey(key_bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  return {bio_text(cert_bio.get()), bio_text(key_bio.get())};
}

}  // namespace

// ---------------------------------------------------------------------------
// Times

std::string format_datetime(std::int64_t epoch_ms) {
  const std::time_t secs =
      static_cast<std::time_t>(epoch_ms >= 0 ? epoch_ms / 1000 : (epoch_ms - 999) / 1000);
  const int ms = static_cast<int>(epoch_ms - static_cast<std::int64_t>(secs) * 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
  return buf;
}

std::optional<std::int64_t> parse_datetime(const std::string& text) {
  // YYYY-MM-DDTHH:MM:SS[.f+]Z
  if (text.size() < 20 || text.size() > 40) {
    return std::nullopt;
  }
  const auto digits = [&](std::size_t at, std::size_t n, int& out) {
    out = 0;
    for (std::size_t i = at; i < at + n; ++i) {
      if (text[i] < '0' || text[i] > '9') {
        return false;
      }
      out = out * 10 + (text[i] - '0');
    }
    return true;
  };
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  if (!digits(0, 4, y) || text[4] != '-' || !digits(5, 2, mo) || text[7] != '-' ||
      !digits(8, 2, d) || text[10] != 'T' || !digits(11, 2, h) || text[13] != ':' ||
      !digits(14, 2, mi) || text[16] != ':' || !digits(17, 2, s)) {
    return std::nullopt;
  }
  std::size_t at = 19;
  int ms = 0;
  if (text[at] == '.') {
    ++at;
    int scale = 100;
    const std::size_t start = at;
    while (at < text.size() && text[at] >= '0' && text[at] <= '9') {
      ms += (text[at] - '0') * scale;
      scale /= 10;
      ++at;
    }
    if (at == start) {
      return std::nullopt;
    }
  }
  if (at + 1 != text.size() || text[at] != 'Z' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
      mi > 59 || s > 60) {
    return std::nullopt;
  }
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  return static_cast<std::int64_t>(timegm(&tm)) * 1000 + ms;
}

// ---------------------------------------------------------------------------
// Construction, threads, lifetime

BioStar2Server::Impl::Impl(BioStar2Server& o, const BioStar2Config& c)
    : owner(o),
      config(c),
      tls(net::ssl::context::tls_server),
      acceptor(ioc),
      generator_timer(ioc),
      restart_timer(ioc),
      work(ioc.get_executor()) {
  const int devices = std::max(1, c.devices);
  const int per = std::max(1, c.doors_per_device);
  std::uint32_t door_id = 1;
  for (int i = 0; i < devices; ++i) {
    const std::uint32_t device = c.first_device_id + static_cast<std::uint32_t>(i);
    device_ids.push_back(device);
    for (int j = 0; j < per; ++j) {
      DoorState door;
      door.id = door_id++;
      door.name = "Door " + std::to_string(door.id);
      door.device_id = device;
      doors.emplace(door.id, door);
    }
    next_index[device] = 1;
  }
}

BioStar2Server::BioStar2Server(BioStar2Config config) : config_(std::move(config)) {
  impl_ = std::make_unique<Impl>(*this, config_);
  if (config_.tls) {
    auto [cert, key] = make_certificate();
    impl_->cert_pem = cert;
    impl_->tls.use_certificate_chain(net::buffer(cert));
    impl_->tls.use_private_key(net::buffer(key), net::ssl::context::pem);
  }
  impl_->port = config_.port;
  impl_->start_accepting();  // throws on bind failure (startup only)
  up_ = true;
  impl_->thread = std::thread([this] { impl_->ioc.run(); });
}

BioStar2Server::~BioStar2Server() {
  net::post(impl_->ioc, [this] {
    auto& i = *impl_;
    i.stopping = true;
    i.close_everything();
    ++i.generator_epoch;
    i.generator_remaining = 0;
    i.generator_timer.cancel();
    i.restart_timer.cancel();
  });
  impl_->work.reset();
  impl_->thread.join();
}

std::uint16_t BioStar2Server::port() const {
  return impl_->port;
}

std::string BioStar2Server::certificate_pem() const {
  return impl_->cert_pem;
}

void BioStar2Server::Impl::start_accepting() {
  const tcp::endpoint ep(net::ip::make_address("127.0.0.1"), port);
  acceptor.open(ep.protocol());
  acceptor.set_option(tcp::acceptor::reuse_address(true));
  acceptor.bind(ep);
  acceptor.listen();
  port = acceptor.local_endpoint().port();
  net::co_spawn(ioc, accept_loop(), net::detached);
}

void BioStar2Server::Impl::close_everything() {
  error_code ec;
  acceptor.close(ec);
  auto all = std::move(closers);
  closers.clear();
  for (auto& [id, close] : all) {
    close();
  }
  for (const auto& f : feeds) {
    f->closed = true;
    f->wake.cancel();
  }
}

net::awaitable<void> BioStar2Server::Impl::accept_loop() {
  for (;;) {
    tcp::socket socket(ioc);
    error_code ec;
    co_await acceptor.async_accept(socket, net::redirect_error(kAwait, ec));
    if (ec) {
      if (!acceptor.is_open()) {
        co_return;
      }
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);
    if (config.tls) {
      auto stream = std::make_shared<beast::ssl_stream<tcp::socket>>(std::move(socket), tls);
      net::co_spawn(ioc, connection(stream), net::detached);
    } else {
      auto stream = std::make_shared<tcp::socket>(std::move(socket));
      net::co_spawn(ioc, connection(stream), net::detached);
    }
  }
}

template <class Stream>
net::awaitable<void> BioStar2Server::Impl::connection(std::shared_ptr<Stream> stream) {
  const std::uint64_t id = next_connection++;
  closers[id] = [s = stream.get()] {
    error_code ec;
    beast::get_lowest_layer(*s).shutdown(tcp::socket::shutdown_both, ec);
    beast::get_lowest_layer(*s).close(ec);
  };
  struct Unregister {
    Impl& impl;
    std::uint64_t id;
    ~Unregister() { impl.closers.erase(id); }
  } unregister{*this, id};
  error_code ec;
  if constexpr (!std::is_same_v<Stream, tcp::socket>) {
    co_await stream->async_handshake(net::ssl::stream_base::server,
                                     net::redirect_error(kAwait, ec));
    if (ec) {
      ++tls_failures;
      co_return;
    }
  }
  beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(config.body_limit);
    parser.header_limit(16 * 1024);
    co_await http::async_read(*stream, buffer, parser, net::redirect_error(kAwait, ec));
    if (ec == http::error::body_limit) {
      http::response<http::string_body> res =
          error_response(http::status::payload_too_large, "413", "Request body too large.");
      res.keep_alive(false);
      co_await http::async_write(*stream, res, net::redirect_error(kAwait, ec));
      co_return;
    }
    if (ec) {
      co_return;
    }
    auto req = parser.release();
    if (websocket::is_upgrade(req)) {
      if (req.target() != "/wsapi") {
        auto res = error_response(http::status::not_found, "404", "Not found.");
        res.keep_alive(false);
        co_await http::async_write(*stream, res, net::redirect_error(kAwait, ec));
        co_return;
      }
      auto ws = std::make_shared<websocket::stream<Stream>>(std::move(*stream));
      closers[id] = [w = ws.get()] {
        error_code e;
        beast::get_lowest_layer(*w).shutdown(tcp::socket::shutdown_both, e);
        beast::get_lowest_layer(*w).close(e);
      };
      co_await run_feed(ws, std::move(req));
      co_return;
    }
    auto res = handle(req);
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    co_await http::async_write(*stream, res, net::redirect_error(kAwait, ec));
    if (ec || !res.keep_alive()) {
      if constexpr (std::is_same_v<Stream, tcp::socket>) {
        stream->shutdown(tcp::socket::shutdown_send, ec);
      }
      co_return;
    }
  }
}

template <class WsStream>
net::awaitable<void> BioStar2Server::Impl::run_feed(std::shared_ptr<WsStream> ws,
                                                    http::request<http::string_body> req) {
  error_code ec;
  ws->read_message_max(config.ws_message_limit);
  ws->set_option(websocket::stream_base::decorator(
      [](websocket::response_type& res) { res.set(http::field::server, "BioStar2-sim"); }));
  co_await ws->async_accept(req, net::redirect_error(kAwait, ec));
  if (ec) {
    co_return;
  }
  auto feed = std::make_shared<Feed>(ioc);
  feeds.insert(feed);
  ++feeds_opened;
  // The writer: the only one writing to `ws` (frames, then the close frame).
  net::co_spawn(
      ioc,
      [this, ws, feed]() -> net::awaitable<void> {
        error_code wec;
        while (!feed->closed) {
          if (feed->pending.empty() && !feed->close_code) {
            feed->wake.expires_at(std::chrono::steady_clock::time_point::max());
            co_await feed->wake.async_wait(net::redirect_error(kAwait, wec));
            continue;
          }
          if (!feed->pending.empty()) {
            const std::string frame = std::move(feed->pending.front());
            feed->pending.pop_front();
            ws->text(true);
            co_await ws->async_write(net::buffer(frame), net::redirect_error(kAwait, wec));
            if (wec) {
              break;
            }
            ++frames_sent;
            continue;
          }
          // A close was asked (session invalid): the close frame, then the socket.
          co_await ws->async_close(websocket::close_reason(*feed->close_code, feed->close_reason),
                                   net::redirect_error(kAwait, wec));
          break;
        }
        feed->closed = true;
        error_code e;
        beast::get_lowest_layer(*ws).close(e);
      },
      net::detached);
  // The reader: the first message authenticates the feed, "bs-session-id=<id>".
  beast::flat_buffer buffer;
  for (;;) {
    buffer.clear();
    co_await ws->async_read(buffer, net::redirect_error(kAwait, ec));
    if (ec) {
      break;
    }
    const std::string text = beast::buffers_to_string(buffer.data());
    ++frames_received;
    static constexpr std::string_view kPrefix = "bs-session-id=";
    if (!feed->session.empty()) {
      continue;  // later client messages are ignored
    }
    std::string sid = text.rfind(kPrefix, 0) == 0 ? text.substr(kPrefix.size()) : "";
    while (!sid.empty() && (sid.back() == '\r' || sid.back() == '\n' || sid.back() == ' ')) {
      sid.pop_back();
    }
    bool valid = false;
    {
      std::lock_guard lock(mu);
      valid = !sid.empty() && session_valid_locked(sid, true);
    }
    if (!valid) {
      ++feeds_rejected;
      feed->close_code = websocket::close_code::policy_error;
      feed->close_reason = "Login required.";
      feed->wake.cancel();
      continue;  // the writer closes; the read then ends
    }
    feed->session = sid;
  }
  feed->closed = true;
  feed->wake.cancel();
  feeds.erase(feed);
}

// ---------------------------------------------------------------------------
// Sessions

bool BioStar2Server::Impl::session_valid_locked(const std::string& sid, bool touch) {
  const auto it = sessions.find(sid);
  if (it == sessions.end()) {
    return false;
  }
  const auto now = std::chrono::steady_clock::now();
  if (now - it->second.last_used > config.session_idle_timeout) {
    sessions.erase(it);
    return false;
  }
  if (touch) {
    it->second.last_used = now;
  }
  return true;
}

std::size_t BioStar2Server::session_count() const {
  std::lock_guard lock(impl_->mu);
  return impl_->sessions.size();
}

void BioStar2Server::expire_sessions() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->sessions.clear();
  }
  std::promise<void> done;
  net::post(impl_->ioc, [this, &done] {
    for (const auto& f : impl_->feeds) {
      if (!f->session.empty()) {
        f->close_code = websocket::close_code::policy_error;
        f->close_reason = "Login required.";
        f->pending.clear();
        f->wake.cancel();
      }
    }
    done.set_value();
  });
  done.get_future().wait();
}

std::uint64_t BioStar2Server::logins() const {
  std::lock_guard lock(impl_->mu);
  return impl_->login_count;
}

std::uint64_t BioStar2Server::failed_logins() const {
  std::lock_guard lock(impl_->mu);
  return impl_->failed_login_count;
}

// ---------------------------------------------------------------------------
// Events and the feed

Event BioStar2Server::inject(const EventSpec& spec) {
  Event e;
  {
    std::lock_guard lock(impl_->mu);
    auto& i = *impl_;
    const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    e.id = i.next_event_id++;
    e.code = spec.code;
    e.device_id = spec.device_id.value_or(i.device_ids.front());
    if (spec.door_id) {
      e.door_id = *spec.door_id;
    } else {
      for (const auto& [id, door] : i.doors) {
        if (door.device_id == e.device_id) {
          e.door_id = id;
          break;
        }
      }
    }
    e.user_id = spec.user_id;
    if (!e.user_id.empty()) {
      const auto u = i.users.find(e.user_id);
      e.user_name =
          u != i.users.end() && u->second.contains("name") && u->second["name"].is_string()
              ? u->second["name"].get<std::string>()
              : "User " + e.user_id;
    }
    e.tna_key = spec.tna_key;
    e.datetime_ms = spec.datetime_ms.value_or(now_ms);
    e.server_ms = now_ms;
    e.index = i.next_index[e.device_id]++;
    i.log.push_back(e);
  }
  net::post(impl_->ioc, [this, e] { impl_->deliver(e); });
  return e;
}

void BioStar2Server::Impl::deliver(const Event& e) {
  if (feed_cut || feeds.empty()) {
    return;
  }
  const std::string frame = nlohmann::json{{"Event", event_json(e)}}.dump();
  std::lock_guard lock(mu);
  for (const auto& f : feeds) {
    if (f->session.empty() || f->closed || f->close_code) {
      continue;
    }
    if (!session_valid_locked(f->session, false)) {
      f->close_code = beast::websocket::close_code::policy_error;
      f->close_reason = "Login required.";
      f->wake.cancel();
      continue;
    }
    if (!sessions[f->session].feed_started) {
      continue;  // no POST /api/events/start yet on this session
    }
    if (f->pending.size() >= kFeedQueueLimit) {
      // A client that does not read: the server drops it rather than grow.
      f->close_code = beast::websocket::close_code::try_again_later;
      f->close_reason = "Too slow.";
      f->pending.clear();
      f->wake.cancel();
      continue;
    }
    f->pending.push_back(frame);
    f->wake.cancel();
  }
}

nlohmann::json event_json(const Event& e) {
  nlohmann::json j = {
      {"id", std::to_string(e.id)},
      {"server_datetime", format_datetime(e.server_ms)},
      {"datetime", format_datetime(e.datetime_ms)},
      {"index", std::to_string(e.index)},
      {"device_id",
       {{"id", std::to_string(e.device_id)},
        {"name", "BioStation 2 " + std::to_string(e.device_id)}}},
      {"event_type_id", {{"code", std::to_string(e.code)}}},
      {"tna_key", std::to_string(e.tna_key)},
      {"parameter", "0"},
      {"is_dst", "0"},
      {"timezone", {{"half", "0"}, {"hour", "0"}, {"negative", "0"}}},
  };
  if (!e.user_id.empty()) {
    j["user_id"] = {{"user_id", e.user_id}, {"name", e.user_name}, {"photo_exists", "false"}};
  }
  if (e.door_id != 0) {
    j["door_id"] = {{"id", std::to_string(e.door_id)},
                    {"name", "Door " + std::to_string(e.door_id)}};
  }
  return j;
}

std::vector<Event> BioStar2Server::events() const {
  std::lock_guard lock(impl_->mu);
  return impl_->log;
}

net::awaitable<void> BioStar2Server::Impl::run_generator(std::uint64_t epoch) {
  static const int kCodes[] = {code::kVerifySuccessCard, code::kIdentifySuccessFace,
                               code::kVerifySuccessCard, code::kIdentifySuccessFace,
                               code::kVerifyFailCard,    code::kAccessDeniedGroup,
                               code::kDoorForcedOpen,    code::kDoorHeldOpen,
                               code::kTamperOn,          code::kIntrusionAlarm};
  auto next = std::chrono::steady_clock::now();
  while (generator_remaining > 0 && epoch == generator_epoch) {
    next += generator_period;
    generator_timer.expires_at(next);
    error_code ec;
    co_await generator_timer.async_wait(net::redirect_error(kAwait, ec));
    if (epoch != generator_epoch || generator_remaining == 0) {
      co_return;
    }
    EventSpec s;
    // Mostly passages; every tenth-ish a refusal or an alarm.
    const auto roll = generator_rng() % 20;
    s.code = roll < 10 ? kCodes[roll % 4] : kCodes[roll % 10];
    s.device_id = device_ids[generator_rng() % device_ids.size()];
    const bool user_event = s.code < 0x2000;
    s.user_id = user_event ? std::to_string(1 + generator_rng() % 50) : "";
    s.tna_key = user_event ? static_cast<int>(generator_rng() % 5) : 0;
    owner.inject(s);
    --generator_remaining;
  }
}

void BioStar2Server::start_generator(double per_second, std::size_t count, std::uint64_t seed) {
  impl_->generator_remaining = count;
  net::post(impl_->ioc, [this, per_second, count, seed] {
    auto& i = *impl_;
    ++i.generator_epoch;
    i.generator_timer.cancel();
    i.generator_rng.seed(seed);
    i.generator_remaining = count;
    i.generator_period =
        std::chrono::nanoseconds(static_cast<std::int64_t>(1e9 / std::max(per_second, 0.001)));
    net::co_spawn(i.ioc, i.run_generator(i.generator_epoch), net::detached);
  });
}

void BioStar2Server::stop_generator() {
  net::post(impl_->ioc, [this] {
    ++impl_->generator_epoch;
    impl_->generator_remaining = 0;
    impl_->generator_timer.cancel();
  });
}

std::size_t BioStar2Server::generator_remaining() const {
  return impl_->generator_remaining.load();
}

// ---------------------------------------------------------------------------
// Feed faults, restarts

namespace {
template <class F>
void run_on(net::io_context& ioc, F f) {
  std::promise<void> done;
  net::post(ioc, [&] {
    f();
    done.set_value();
  });
  done.get_future().wait();
}
}  // namespace

std::size_t BioStar2Server::feed_count() const {
  std::size_t n = 0;
  run_on(impl_->ioc, [&] {
    for (const auto& f : impl_->feeds) {
      n += !f->session.empty() && !f->closed ? 1 : 0;
    }
  });
  return n;
}

void BioStar2Server::cut_feed() {
  run_on(impl_->ioc, [this] { impl_->feed_cut = true; });
}

void BioStar2Server::restore_feed() {
  run_on(impl_->ioc, [this] { impl_->feed_cut = false; });
}

void BioStar2Server::close_feeds() {
  // Each feed's writer closes its socket when it sees `closed`; the reader's
  // pending read then fails and the feed ends.
  run_on(impl_->ioc, [this] {
    for (const auto& f : impl_->feeds) {
      f->closed = true;
      f->wake.cancel();
    }
  });
}

void BioStar2Server::stop(std::optional<std::chrono::milliseconds> down_for) {
  run_on(impl_->ioc, [this, down_for] {
    auto& i = *impl_;
    i.close_everything();
    {
      std::lock_guard lock(i.mu);
      i.sessions.clear();  // a restart ends every session
    }
    up_ = false;
    if (down_for) {
      i.restart_timer.expires_after(*down_for);
      i.restart_timer.async_wait([this](error_code ec) {
        if (!ec) {
          impl_->do_start();
        }
      });
    }
  });
}

void BioStar2Server::Impl::do_start() {
  if (owner.up_ || stopping) {
    return;
  }
  restart_timer.cancel();
  try {
    start_accepting();
  } catch (const std::exception&) {
    return;  // the port was taken meanwhile: stays down
  }
  owner.up_ = true;
  ++restarts;
}

void BioStar2Server::start() {
  run_on(impl_->ioc, [this] { impl_->do_start(); });
}

// ---------------------------------------------------------------------------
// Doors, users, cards: test views

std::vector<DoorState> BioStar2Server::doors() const {
  std::lock_guard lock(impl_->mu);
  std::vector<DoorState> out;
  for (const auto& [id, d] : impl_->doors) {
    out.push_back(d);
  }
  return out;
}

std::map<std::string, std::string> BioStar2Server::users() const {
  std::lock_guard lock(impl_->mu);
  std::map<std::string, std::string> out;
  for (const auto& [id, u] : impl_->users) {
    out[id] = u.dump();
  }
  return out;
}

std::map<std::string, std::string> BioStar2Server::cards() const {
  std::lock_guard lock(impl_->mu);
  std::map<std::string, std::string> out;
  for (const auto& [id, c] : impl_->cards) {
    out[id] = c.dump();
  }
  return out;
}

std::uint64_t BioStar2Server::requests_seen(const std::string& key) const {
  std::lock_guard lock(impl_->mu);
  const auto it = impl_->requests.find(key);
  return it == impl_->requests.end() ? 0 : it->second;
}

}  // namespace pushgate::sim::biostar2
