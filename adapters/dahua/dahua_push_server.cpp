#include "adapters/dahua/dahua_push_server.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <exception>
#include <map>
#include <mutex>
#include <unordered_map>
#include <utility>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "adapters/dahua/dahua_digest.hpp"
#include "gateway/http/server.hpp"
#include "gateway/log_rate_limiter.hpp"
#include "gateway/logging.hpp"
#include "gateway/metrics/metrics.hpp"

namespace pushgate::adapters::dahua {

namespace net = boost::asio;
namespace bhttp = boost::beast::http;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::string_view kOkBody = "{\"result\":true}";

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch())
      .count();
}

std::string random_hex(std::size_t bytes) {
  std::vector<unsigned char> buf(bytes);
  if (RAND_bytes(buf.data(), static_cast<int>(buf.size())) != 1) {
    // No entropy is a broken host; a counter-and-clock nonce still works
    // (nonces need to be unique, the password stays secret either way).
    static std::atomic<std::uint64_t> seq{0};
    const auto v = static_cast<std::uint64_t>(now_ms()) ^ (++seq << 40);
    for (std::size_t i = 0; i < buf.size(); ++i) {
      buf[i] = static_cast<unsigned char>(v >> ((i % 8) * 8));
    }
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes * 2);
  for (unsigned char c : buf) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

std::string_view sv(boost::beast::string_view s) {
  return {s.data(), s.size()};
}

std::string_view path_of(std::string_view target) {
  return target.substr(0, target.find('?'));
}

// Printable and short: device bytes end up in log lines and 400 bodies.
std::string sanitize(std::string_view text, std::size_t max = 160) {
  std::string out;
  for (char c : text.substr(0, max)) {
    out.push_back(static_cast<unsigned char>(c) >= 0x20 && c != 0x7f ? c : '?');
  }
  if (text.size() > max) {
    out += "...";
  }
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------
// Shared state: outlives the server while an upload's PushDone is held.
// ---------------------------------------------------------------------------

struct PushServer::Shared {
  PushServerOptions options;
  EventsHandler on_events;
  KeepaliveHandler on_keepalive;
  std::string opaque = random_hex(8);
  LogRateLimiter log_limiter{60'000};

  struct Nonce {
    Clock::time_point issued;
    std::uint32_t last_nc = 0;
  };
  std::mutex mutex;
  std::unordered_map<std::string, Nonce> nonces;
  std::deque<std::string> nonce_order;  // issue order, for eviction
  std::map<std::uint64_t, std::weak_ptr<PushDone::State>> pending;
  std::uint64_t next_id = 1;
  bool stopping = false;
  std::atomic<bool> closed{false};  ///< the PushServer is gone: no more on_events calls

  // Answers, by result.
  metrics::Counter *ok, *keepalive, *challenge, *auth_refused, *auth_stale, *auth_malformed,
      *bad_body, *not_found, *commit_failed, *commit_timeout, *stopped, *handler_error;
  // Events, by outcome.
  metrics::Counter *events_handed, *events_undecodable, *events_refused;

  Shared(PushServerOptions o, EventsHandler e, KeepaliveHandler k, metrics::Registry& m)
      : options(std::move(o)), on_events(std::move(e)), on_keepalive(std::move(k)) {
    const auto answer = [&](const char* result) {
      return &m.counter("pushgate_dahua_push_answers_total",
                        "Answers of the Dahua push-mode listener, by result",
                        {{"listener", options.name}, {"result", result}});
    };
    ok = answer("ok");
    keepalive = answer("keepalive");
    challenge = answer("challenge");
    auth_refused = answer("auth_refused");
    auth_stale = answer("auth_stale");
    auth_malformed = answer("auth_malformed");
    bad_body = answer("bad_body");
    not_found = answer("not_found");
    commit_failed = answer("commit_failed");
    commit_timeout = answer("commit_timeout");
    stopped = answer("stopped");
    handler_error = answer("handler_error");
    const auto events = [&](const char* outcome) {
      return &m.counter("pushgate_dahua_push_events_total",
                        "Events in Dahua push uploads, by outcome (handed to the adapter, "
                        "undecodable, refused over the per-upload limit)",
                        {{"listener", options.name}, {"outcome", outcome}});
    };
    events_handed = events("handed");
    events_undecodable = events("undecodable");
    events_refused = events("refused");
  }

  /** A fresh nonce, remembered; old ones are forgotten past 2 lifetimes or the cap. */
  std::string issue_nonce() {
    std::string nonce = random_hex(16);
    std::lock_guard lock(mutex);
    const auto now = Clock::now();
    while (!nonce_order.empty()) {
      auto it = nonces.find(nonce_order.front());
      const bool too_many = nonces.size() >= std::max<std::size_t>(options.max_nonces, 1);
      if (it != nonces.end() && !too_many && now - it->second.issued < 2 * options.nonce_lifetime) {
        break;
      }
      if (it != nonces.end()) {
        nonces.erase(it);
      }
      nonce_order.pop_front();
    }
    nonces.emplace(nonce, Nonce{now, 0});
    nonce_order.push_back(nonce);
    return nonce;
  }

  NonceState nonce_state(const std::string& nonce) {
    std::lock_guard lock(mutex);
    auto it = nonces.find(nonce);
    if (it == nonces.end()) {
      return NonceState::Unknown;
    }
    return Clock::now() - it->second.issued < options.nonce_lifetime ? NonceState::Current
                                                                     : NonceState::Stale;
  }

  /** Records a nonce count; false when it is not above the last one (a replay). */
  bool use_nonce_count(const std::string& nonce, std::optional<std::uint32_t> nc) {
    std::lock_guard lock(mutex);
    auto it = nonces.find(nonce);
    if (it == nonces.end()) {
      return false;
    }
    if (!nc) {
      return true;  // RFC 2069 form (no qop): verify_digest already required what was challenged
    }
    if (*nc <= it->second.last_nc) {
      return false;
    }
    it->second.last_nc = *nc;
    return true;
  }

  /** One warning per reason a minute (devices and LAN clients can repeat at will). */
  void log_limited(std::string_view reason, const std::string& line) {
    if (auto suppressed = log_limiter.admit(reason, now_ms())) {
      logger("dahua")->warn("[{}] {}{}", options.name, line, suppressed_note(*suppressed));
    }
  }
};

// ---------------------------------------------------------------------------
// PushDone
// ---------------------------------------------------------------------------

struct PushDone::State {
  std::shared_ptr<PushServer::Shared> shared;
  http::Reply reply;
  unsigned version = 11;
  bool keep_alive = false;
  std::uint64_t id = 0;
  std::size_t events = 0;
  PushPeer peer;
  std::atomic<bool> answered{false};
  std::shared_ptr<net::steady_timer> timer;

  /** Sends the answer once; later calls do nothing. */
  bool answer(bool ok, metrics::Counter* failure_counter, std::string_view why) {
    bool expected = false;
    if (!answered.compare_exchange_strong(expected, true)) {
      return false;
    }
    {
      std::lock_guard lock(shared->mutex);
      shared->pending.erase(id);
    }
    if (timer) {
      net::post(reply.executor(), [t = timer] { t->cancel(); });
    }
    http::Response res{ok ? bhttp::status::ok : bhttp::status::service_unavailable, version};
    res.keep_alive(keep_alive);
    if (ok) {
      shared->ok->inc();
      res.set(bhttp::field::content_type, "application/json");
      res.body() = std::string(kOkBody);
    } else {
      failure_counter->inc();
      shared->log_limited(why, fmt::format("[device={}] upload of {} event(s) not committed ({}): "
                                           "answered 503, the device sends it again",
                                           peer.device, events, why));
      res.set(bhttp::field::content_type, "text/plain");
      res.set(bhttp::field::retry_after, "5");
      res.body() = "events not stored (" + std::string(why) + "), send them again\n";
    }
    res.prepare_payload();
    reply.send(std::move(res));
    return true;
  }

  ~State() {
    // Dropped without an answer: the device must not wait for one.
    if (!answered.load() && shared) {
      answer(false, shared->commit_failed, "commit_dropped");
    }
  }
};

void PushDone::operator()(bool ok) const {
  if (state_) {
    state_->answer(ok, state_->shared->commit_failed, "commit_failed");
  }
}

bool PushDone::answered() const {
  return !state_ || state_->answered.load();
}

// ---------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------

namespace {

using Shared = PushServer::Shared;

http::Response text_response(const http::Request& req, bhttp::status status, std::string body) {
  return http::make_response(req, status, std::move(body) + "\n");
}

void send_challenge(Shared& s, const http::Request& req, http::Reply& reply, bool stale) {
  auto res = text_response(req, bhttp::status::unauthorized,
                           stale ? "nonce expired, authenticate again" : "authentication required");
  res.set(bhttp::field::www_authenticate,
          build_digest_challenge(s.options.realm, s.issue_nonce(), s.opaque, stale));
  reply.send(std::move(res));
}

/** The sender, or nullopt after answering 401. */
std::optional<PushPeer> authenticate(Shared& s, const http::Request& req,
                                     const http::RequestInfo& info, http::Reply& reply) {
  const std::string_view header = sv(req[bhttp::field::authorization]);
  if (header.empty()) {
    if (s.options.unauthenticated_device) {
      std::string device = s.options.unauthenticated_device(info.remote.address());
      if (!device.empty()) {
        return PushPeer{std::move(device), "", info.remote};
      }
    }
    s.challenge->inc();
    send_challenge(s, req, reply, false);
    return std::nullopt;
  }
  auto parsed = parse_digest_authorization(header);
  if (!parsed.authorization) {
    s.auth_malformed->inc();
    s.log_limited("auth_malformed",
                  fmt::format("from {}: unusable Authorization header ({}): answered 401",
                              info.remote.address().to_string(), sanitize(parsed.error)));
    send_challenge(s, req, reply, false);
    return std::nullopt;
  }
  const auto& auth = *parsed.authorization;
  const NonceState nonce_state = s.nonce_state(auth.nonce);
  std::vector<PushCredential> candidates;
  if (s.options.credentials) {
    try {
      candidates = s.options.credentials(auth.username);
    } catch (const std::exception& e) {
      // The owner's lookup failed: nobody is authenticated by it.
      s.log_limited("credentials_error", fmt::format("credentials lookup failed: {}", e.what()));
    }
  }
  const std::string method(req.method_string());
  const std::string target(req.target());
  bool malformed = false;
  for (const auto& c : candidates) {
    if (c.user != auth.username) {
      continue;
    }
    const std::map<std::string, std::string, std::less<>> users{{c.user, c.password}};
    const auto verdict = verify_digest(auth, method, target, s.options.realm, users, nonce_state);
    if (verdict == DigestVerdict::Ok) {
      if (!s.use_nonce_count(auth.nonce, auth.nc_value)) {
        // A replayed (or out-of-order) nonce count: the right answer is a
        // fresh nonce, which a device takes without counting a failure.
        s.auth_stale->inc();
        s.log_limited("auth_replay",
                      fmt::format("[device={}] nonce count {} reused: answered 401 stale", c.device,
                                  sanitize(auth.nc)));
        send_challenge(s, req, reply, true);
        return std::nullopt;
      }
      return PushPeer{c.device, c.user, info.remote};
    }
    if (verdict == DigestVerdict::Stale) {
      s.auth_stale->inc();
      send_challenge(s, req, reply, true);
      return std::nullopt;
    }
    if (verdict == DigestVerdict::Malformed) {
      malformed = true;
      break;  // realm, uri or qop not as challenged: the same for every candidate
    }
  }
  if (malformed) {
    s.auth_malformed->inc();
    s.log_limited(
        "auth_malformed",
        fmt::format("from {}: Digest answer not matching the challenge (realm, uri or qop) for "
                    "user \"{}\": answered 401",
                    info.remote.address().to_string(), sanitize(auth.username, 64)));
  } else {
    s.auth_refused->inc();
    s.log_limited(
        "auth_refused",
        fmt::format("from {}: Digest refused for user \"{}\" ({}): answered 401; check the "
                    "device's upload user and password",
                    info.remote.address().to_string(), sanitize(auth.username, 64),
                    candidates.empty() ? "no configured device has this user" : "wrong password"));
  }
  send_challenge(s, req, reply, false);
  return std::nullopt;
}

std::string first_problem(const PushBody& body) {
  if (!body.problems.empty()) {
    return body.problems.front();
  }
  for (const auto& e : body.events) {
    if (!e.error.empty()) {
      return e.error;
    }
  }
  return "no event in the body";
}

void handle(const std::shared_ptr<Shared>& sp, http::Request&& req, const http::RequestInfo& info,
            http::Reply reply) {
  Shared& s = *sp;
  const std::string_view target = sv(req.target());
  const std::string_view path = path_of(target);

  if (is_push_keepalive(path)) {
    if (req.method() != bhttp::verb::get && req.method() != bhttp::verb::post) {
      s.not_found->inc();
      auto res = text_response(req, bhttp::status::method_not_allowed, "keep-alive is a GET");
      res.set(bhttp::field::allow, "GET, POST");
      reply.send(std::move(res));
      return;
    }
    auto peer = authenticate(s, req, info, reply);
    if (!peer) {
      return;
    }
    s.keepalive->inc();
    if (s.on_keepalive) {
      try {
        s.on_keepalive(*peer);
      } catch (const std::exception& e) {
        s.log_limited("keepalive_handler", fmt::format("keep-alive handler failed: {}", e.what()));
      }
    }
    reply.send(
        http::make_response(req, bhttp::status::ok, std::string(kOkBody), "application/json"));
    return;
  }

  const auto& paths = s.options.paths;
  if (std::find(paths.begin(), paths.end(), path) == paths.end()) {
    s.not_found->inc();
    s.log_limited("not_found", fmt::format("from {}: {} {} is not an upload path: answered 404",
                                           info.remote.address().to_string(),
                                           sanitize(sv(req.method_string())), sanitize(target)));
    reply.send(text_response(req, bhttp::status::not_found, "not an event upload path"));
    return;
  }
  if (req.method() != bhttp::verb::post) {
    s.not_found->inc();
    auto res = text_response(req, bhttp::status::method_not_allowed, "events are POSTed here");
    res.set(bhttp::field::allow, "POST");
    reply.send(std::move(res));
    return;
  }
  auto peer = authenticate(s, req, info, reply);
  if (!peer) {
    return;
  }
  PushUpload upload;
  upload.peer = std::move(*peer);
  upload.target = std::string(target);
  upload.content_type = std::string(req[bhttp::field::content_type]);
  upload.content_encoding = std::string(req[bhttp::field::content_encoding]);
  upload.raw = std::move(req.body());
  upload.body =
      parse_push_body(upload.content_type, upload.content_encoding, upload.raw, s.options.limits);

  std::size_t good = 0;
  std::size_t bad = 0;
  for (const auto& e : upload.body.events) {
    (e.event ? good : bad)++;
  }
  if (!upload.body.usable()) {
    s.bad_body->inc();
    s.events_undecodable->inc(bad);
    const std::string why = sanitize(first_problem(upload.body));
    s.log_limited(
        "bad_body",
        fmt::format("[device={}] upload of {} bytes (Content-Type \"{}\", Content-Encoding \"{}\") "
                    "not decodable: {}: {}",
                    upload.peer.device, upload.raw.size(), sanitize(upload.content_type, 64),
                    sanitize(upload.content_encoding, 32), why,
                    s.options.hand_undecodable ? "handed to be quarantined" : "answered 400"));
    if (!s.options.hand_undecodable) {
      reply.send(
          text_response(req, bhttp::status::bad_request, "event upload not decodable: " + why));
      return;
    }
  }
  s.events_handed->inc(good);
  if (bad > 0 && upload.body.usable()) {  // an undecodable body counted them above
    s.events_undecodable->inc(bad);
    s.log_limited(
        "bad_event",
        fmt::format("[device={}] {} of {} event(s) in an upload not decodable (first: {}); the "
                    "rest are taken and the raw body is kept",
                    upload.peer.device, bad, bad + good, sanitize(first_problem(upload.body))));
  }
  if (upload.body.refused_events > 0) {
    s.events_refused->inc(upload.body.refused_events);
    s.log_limited(
        "events_refused",
        fmt::format("[device={}] upload of more than {} events: {} over the limit are not "
                    "decoded (the raw body is kept)",
                    upload.peer.device, s.options.limits.max_events, upload.body.refused_events));
  }

  auto state = std::make_shared<PushDone::State>();
  state->shared = sp;
  state->version = req.version();
  state->keep_alive = req.keep_alive();
  state->events = good;
  state->peer = upload.peer;
  if (s.options.commit_timeout.count() > 0) {
    state->timer = std::make_shared<net::steady_timer>(reply.executor());
  }
  bool stopping = false;
  {
    // Checked and registered under one lock: stop() answers every upload
    // registered before it, and none is registered after it.
    std::lock_guard lock(s.mutex);
    stopping = s.stopping;
    if (!stopping) {
      state->reply = std::move(reply);
      state->id = s.next_id++;
      s.pending.emplace(state->id, state);
    }
  }
  if (stopping) {
    // A request read on a connection that was open at stop(): nothing is
    // handed over any more; the device keeps the events for the next start.
    state->answered = true;  // nothing to answer through the state
    s.stopped->inc();
    auto res = text_response(req, bhttp::status::service_unavailable,
                             "events not stored (stopping), send them again");
    res.set(bhttp::field::retry_after, "5");
    reply.send(std::move(res));
    return;
  }
  if (state->timer) {
    state->timer->expires_after(s.options.commit_timeout);
    state->timer->async_wait(
        [weak = std::weak_ptr<PushDone::State>(state)](const boost::system::error_code& ec) {
          if (ec) {
            return;
          }
          if (auto st = weak.lock()) {
            st->answer(false, st->shared->commit_timeout, "commit_timeout");
          }
        });
  }
  // `state` stays held through the call: a handler that throws is answered
  // 503 here (unless it answered first), one that drops its copies without
  // answering is answered 503 by the State's destructor.
  try {
    s.on_events(std::move(upload), PushDone(state));
  } catch (const std::exception& e) {
    s.log_limited("handler_error", fmt::format("events handler threw: {}", e.what()));
    state->answer(false, s.handler_error, "handler_error");
  } catch (...) {
    s.log_limited("handler_error", "events handler threw a non-exception");
    state->answer(false, s.handler_error, "handler_error");
  }
}

}  // namespace

// ---------------------------------------------------------------------------
// PushServer
// ---------------------------------------------------------------------------

PushServer::PushServer(net::io_context& ioc, PushServerOptions options, EventsHandler on_events,
                       metrics::Registry& metrics, KeepaliveHandler on_keepalive)
    : ioc_(ioc),
      shared_(std::make_shared<Shared>(std::move(options), std::move(on_events),
                                       std::move(on_keepalive), metrics)) {
  const auto& o = shared_->options;
  http::ServerOptions so;
  so.name = o.name;
  so.address = o.address;
  so.port = o.port;
  so.body_limit = o.body_limit;
  so.header_limit = o.header_limit;
  so.idle_timeout = o.idle_timeout;
  so.request_timeout = o.request_timeout;
  so.first_request_timeout = o.first_request_timeout;
  so.max_connections = o.max_connections;
  so.max_connections_per_address = o.max_connections_per_address;
  so.tls = o.tls;
  so.body_budget = o.body_budget;
  // A weak reference: a connection finishing after the server is gone finds
  // nothing to call.
  server_ = std::make_unique<http::Server>(
      ioc, so,
      [weak = std::weak_ptr<Shared>(shared_)](http::Request&& req, const http::RequestInfo& info,
                                              http::Reply reply) {
        auto sp = weak.lock();
        if (!sp || sp->closed.load()) {
          return;  // dropping the reply closes the connection
        }
        try {
          handle(sp, std::move(req), info, std::move(reply));
        } catch (const std::exception& e) {
          // handle() moved the reply only into a PushDone (which answers by
          // itself); anything else thrown before is answered by the server's
          // dropped reply closing the connection.
          sp->log_limited("request_error", fmt::format("request failed: {}", e.what()));
        }
      },
      metrics);
}

PushServer::~PushServer() {
  shared_->closed = true;
  stop(std::chrono::milliseconds(0));
}

boost::system::error_code PushServer::start() {
  auto ec = server_->start();
  if (ec) {
    return ec;
  }
  logger("dahua")->info("[{}] push-mode listener on {}:{}", shared_->options.name,
                        shared_->options.address, server_->port());
  return {};
}

std::uint16_t PushServer::port() const noexcept {
  return server_->port();
}

namespace {
void answer_all_pending(const std::shared_ptr<PushServer::Shared>& s) {
  std::vector<std::shared_ptr<PushDone::State>> live;
  {
    std::lock_guard lock(s->mutex);
    for (auto& [id, weak] : s->pending) {
      if (auto st = weak.lock()) {
        live.push_back(std::move(st));
      }
    }
  }
  for (auto& st : live) {
    st->answer(false, s->stopped, "stopping");
  }
}
}  // namespace

void PushServer::stop(std::chrono::milliseconds grace) {
  {
    std::lock_guard lock(shared_->mutex);
    if (shared_->stopping && grace.count() > 0) {
      return;
    }
    shared_->stopping = true;
  }
  server_->stop();
  if (grace.count() <= 0 || ioc_.stopped() || pending() == 0) {
    answer_all_pending(shared_);
    return;
  }
  auto timer = std::make_shared<net::steady_timer>(ioc_);
  timer->expires_after(grace);
  timer->async_wait(
      [timer, weak = std::weak_ptr<Shared>(shared_)](const boost::system::error_code&) {
        if (auto s = weak.lock()) {
          answer_all_pending(s);
        }
      });
}

std::size_t PushServer::pending() const {
  std::lock_guard lock(shared_->mutex);
  return shared_->pending.size();
}

PushServerStats PushServer::stats() const {
  const Shared& s = *shared_;
  PushServerStats st;
  st.uploads_ok = s.ok->value();
  st.events = s.events_handed->value();
  st.event_errors = s.events_undecodable->value();
  st.events_refused = s.events_refused->value();
  st.keepalives = s.keepalive->value();
  st.challenges = s.challenge->value();
  st.auth_refused = s.auth_refused->value();
  st.auth_stale = s.auth_stale->value();
  st.auth_malformed = s.auth_malformed->value();
  st.bad_bodies = s.bad_body->value();
  st.not_found = s.not_found->value();
  st.commit_failed = s.commit_failed->value();
  st.commit_timeouts = s.commit_timeout->value();
  st.stopped_pending = s.stopped->value();
  st.handler_errors = s.handler_error->value();
  return st;
}

}  // namespace pushgate::adapters::dahua
