#include "gateway/api/event_stream.hpp"

#include <algorithm>
#include <charconv>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include "gateway/auth/auth_service.hpp"
#include "gateway/auth/crypto.hpp"
#include "gateway/auth/limiter.hpp"
#include "gateway/event_json.hpp"
#include "gateway/http/query.hpp"
#include "gateway/logging.hpp"
#include "gateway/store/auth_queries.hpp"
#include "gateway/store/event_queries.hpp"

namespace pushgate::api {

namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using nlohmann::json;

namespace {

std::string cookie_value(const http::Request& req, std::string_view name) {
  auto [first, last] = req.equal_range(bhttp::field::cookie);
  for (auto field = first; field != last; ++field) {
    std::string_view v = field->value();
    while (!v.empty()) {
      auto semi = v.find(';');
      auto pair = v.substr(0, semi);
      v = semi == std::string_view::npos ? std::string_view() : v.substr(semi + 1);
      while (!pair.empty() && pair.front() == ' ') {
        pair.remove_prefix(1);
      }
      auto eq = pair.find('=');
      if (eq != std::string_view::npos && pair.substr(0, eq) == name) {
        return std::string(pair.substr(eq + 1));
      }
    }
  }
  return {};
}

std::string bearer_token(const http::Request& req) {
  auto it = req.find(bhttp::field::authorization);
  if (it == req.end()) {
    return {};
  }
  std::string_view v = it->value();
  constexpr std::string_view kBearer = "Bearer ";
  if (v.size() <= kBearer.size() || v.substr(0, kBearer.size()) != kBearer) {
    return {};
  }
  return std::string(v.substr(kBearer.size()));
}

bool parse_id(std::string_view s, std::int64_t& out) {
  if (s.empty()) {
    return false;
  }
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && p == s.data() + s.size() && out >= 0;
}

}  // namespace

bool EventStreams::Filter::matches(const Event& e) const {
  return (terminal.empty() || e.terminal_sn == terminal) && (!kind || e.kind == *kind) &&
         (user.empty() || e.pin == user) && (door < 0 || e.door == door);
}

std::string EventStreams::format(const Event& e) {
  // One data line: the JSON has no raw newline (they are escaped).
  return "id: " + std::to_string(e.id) + "\nevent: " + std::string(to_string(e.kind)) +
         "\ndata: " + dump_json(event_to_json(e)) + "\n\n";
}

// One open stream. Everything but `deliver`'s caller runs on the
// connection's strand (`ex`).
class EventStreams::Client : public std::enable_shared_from_this<EventStreams::Client> {
 public:
  Client(EventStreams& owner, net::any_io_executor ex, Filter filter, std::string session_hash,
         std::string token_hash)
      : owner_(owner),
        ex_(std::move(ex)),
        filter_(std::move(filter)),
        session_hash_(std::move(session_hash)),
        token_hash_(std::move(token_hash)),
        timer_(ex_) {}

  const Filter& filter() const { return filter_; }
  const net::any_io_executor& executor() const { return ex_; }

  void start(std::shared_ptr<http::Stream> stream, std::int64_t after) {
    stream_ = std::move(stream);
    last_sent_ = after;
    // A first comment: the browser's EventSource reports "open" at once.
    stream_->write(": pushgate event stream\nretry: 2000\n\n");
    arm_heartbeat();
    if (after <= 0) {
      backlog_done_ = true;
      return;
    }
    store::EventQuery q;
    q.after = after;
    q.limit = owner_.options_.backlog + 1;
    q.terminal = filter_.terminal;
    q.kind = filter_.kind;
    auto self = shared_from_this();
    owner_.store_.async_read(
        [q](store::Connection& db) {
          boost::system::error_code ec;
          auto events = store::read_events(db, q, ec);
          return std::make_pair(ec, std::move(events));
        },
        net::bind_executor(ex_, [self, limit = owner_.options_.backlog](
                                    std::pair<boost::system::error_code, std::vector<Event>> r) {
          if (self->ended_) {
            return;
          }
          if (r.first) {
            self->end("store unavailable: " + r.first.message());
            return;
          }
          bool more = r.second.size() > limit;
          if (more) {
            r.second.resize(limit);
          }
          self->send(r.second);
          if (more) {
            // The rest is for GET /api/v1/events?after=…; the tail goes on from now.
            json gap = {{"next_after", self->last_sent_}};
            self->stream_->write("event: gap\ndata: " + dump_json(gap) + "\n\n");
          }
          self->backlog_done_ = true;
          auto pending = std::move(self->pending_);
          self->send(pending);
        }));
  }

  /** On the strand: events of a commit (already filtered). */
  void deliver(std::vector<Event> events) {
    if (ended_) {
      return;
    }
    if (!backlog_done_) {
      pending_.insert(pending_.end(), std::make_move_iterator(events.begin()),
                      std::make_move_iterator(events.end()));
      return;
    }
    send(events);
  }

  /** On the strand: whether the credential still holds; ends the stream when not. */
  void recheck() {
    if (ended_ || checking_) {
      return;
    }
    if (session_hash_.empty() && token_hash_.empty()) {
      return;  // api.auth = "off" without a credential: nothing to expire
    }
    checking_ = true;
    auto self = shared_from_this();
    auto now = owner_.clock_.now_ms();
    auto idle = owner_.options_.session_idle_ms;
    owner_.store_.async_read(
        [session = session_hash_, token = token_hash_, now, idle](store::Connection& db) {
          boost::system::error_code ec;
          std::string why;
          if (!token.empty()) {
            auto t = store::find_auth_token(db, token, ec);
            if (!ec && (!t || t->revoked_ms)) {
              why = "token revoked";
            }
          } else {
            auto s = store::find_auth_session(db, session, ec);
            if (!ec) {
              if (!s) {
                why = "session ended";
              } else if (s->user_disabled) {
                why = "user disabled";
              } else {
                auto state = auth::session_state(
                    {s->last_seen_ms, s->expires_ms, s->revoked_ms.has_value()}, now, idle);
                if (state == auth::SessionState::Revoked) {
                  why = "session ended";
                } else if (state != auth::SessionState::Valid) {
                  why = "session expired";
                }
              }
            }
          }
          return std::make_pair(ec, why);
        },
        net::bind_executor(ex_, [self](std::pair<boost::system::error_code, std::string> r) {
          self->checking_ = false;
          if (self->ended_ || r.first) {
            return;  // a store hiccup is not a reason to drop the tail
          }
          if (!r.second.empty()) {
            self->owner_.ended_credential_->inc();
            logger("api")->info("event stream ended: {}", r.second);
            self->end(r.second);
          }
        }));
  }

  /** On the strand: says why, then closes. */
  void end(const std::string& why) {
    if (ended_) {
      return;
    }
    if (stream_) {
      json j = {{"reason", why}};
      stream_->write("event: end\ndata: " + dump_json(j) + "\n\n");
      stream_->close();
    }
    shutdown();
  }

  /** On the strand: the stream is over (the client left or end()). */
  void shutdown() {
    if (ended_) {
      return;
    }
    ended_ = true;
    pending_.clear();
    timer_.cancel();
    owner_.remove(this);
  }

  bool ended() const { return ended_; }

 private:
  void send(const std::vector<Event>& events) {
    for (const auto& e : events) {
      if (e.id <= last_sent_ || !filter_.matches(e)) {
        continue;
      }
      if (!stream_->write(format(e))) {
        shutdown();
        return;
      }
      last_sent_ = e.id;
      owner_.events_sent_->inc();
    }
  }

  void arm_heartbeat() {
    timer_.expires_after(owner_.options_.heartbeat);
    timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec || self->ended_) {
        return;
      }
      if (!self->stream_->write(": heartbeat\n\n")) {
        self->shutdown();
        return;
      }
      self->recheck();
      self->arm_heartbeat();
    });
  }

  EventStreams& owner_;
  net::any_io_executor ex_;
  Filter filter_;
  std::string session_hash_;
  std::string token_hash_;
  net::steady_timer timer_;
  std::shared_ptr<http::Stream> stream_;
  std::vector<Event> pending_;
  std::int64_t last_sent_ = 0;
  bool backlog_done_ = false;
  bool checking_ = false;
  bool ended_ = false;
};

EventStreams::EventStreams(Router& router, store::Store& store, const Clock& clock,
                           metrics::Registry& metrics, Options options)
    : store_(store), clock_(clock), options_(options) {
  open_gauge_ = &metrics.gauge("pushgate_api_event_streams", "Open event streams (SSE)");
  refused_busy_ = &metrics.counter("pushgate_api_event_streams_refused_total",
                                   "Event streams refused 503: api.max_event_streams were open");
  ended_credential_ = &metrics.counter("pushgate_api_event_streams_ended_total",
                                       "Event streams ended because their session or token ended");
  events_sent_ =
      &metrics.counter("pushgate_api_event_stream_events_total", "Events sent on event streams");
  router.add(bhttp::verb::get, "/api/v1/events/stream",
             [this](http::Request&& req, const http::RequestInfo&, const PathParams&,
                    http::Reply reply) { open(std::move(req), std::move(reply)); });
  commit_sub_ =
      store_.subscribe([this](const std::vector<Event>& committed) { on_commit(committed); });
}

EventStreams::~EventStreams() {
  stop();
}

void EventStreams::stop() {
  commit_sub_.reset();
  std::vector<std::shared_ptr<Client>> clients;
  {
    std::lock_guard lock(mutex_);
    stopped_ = true;
    clients.swap(clients_);
  }
  for (auto& c : clients) {
    net::post(c->executor(), [c] { c->end("gateway stopping"); });
  }
  open_gauge_->set(0);
}

std::size_t EventStreams::open_streams() const {
  std::lock_guard lock(mutex_);
  return clients_.size();
}

void EventStreams::remove(const Client* client) {
  std::lock_guard lock(mutex_);
  auto it = std::find_if(clients_.begin(), clients_.end(),
                         [client](const auto& c) { return c.get() == client; });
  if (it != clients_.end()) {
    clients_.erase(it);
  }
  open_gauge_->set(static_cast<double>(clients_.size()));
}

void EventStreams::open(http::Request&& req, http::Reply reply) {
  auto q = http::Query::parse_target(req.target());
  Filter filter;
  filter.terminal = q.get_or("terminal", "");
  filter.user = q.get_or("user", "");
  if (auto kind = q.get("kind"); kind && !kind->empty()) {
    filter.kind = event_kind_from_string(*kind);
    if (!filter.kind) {
      reply.send(json_error(req, bhttp::status::bad_request, "bad parameter",
                            "unknown kind \"" + *kind + "\""));
      return;
    }
  }
  if (auto door = q.get("door"); door && !door->empty()) {
    std::int64_t d = 0;
    if (!parse_id(*door, d) || d > 255) {
      reply.send(json_error(req, bhttp::status::bad_request, "bad parameter",
                            "door is a door number (0..255)"));
      return;
    }
    filter.door = static_cast<int>(d);
  }
  std::int64_t after = 0;
  std::string last = std::string(req["Last-Event-ID"]);
  if (last.empty()) {
    last = q.get_or("last_event_id", "");
  }
  if (!last.empty() && !parse_id(last, after)) {
    reply.send(json_error(req, bhttp::status::bad_request, "bad parameter",
                          "Last-Event-ID is an event id (a non-negative integer)"));
    return;
  }
  if (!reply.can_stream()) {
    reply.send(json_error(req, bhttp::status::not_implemented, "not streamable",
                          "the event stream is served over HTTP only; page GET /api/v1/events"));
    return;
  }
  // The credential the guard admitted, to check again while the stream runs.
  std::string session_hash;
  std::string token_hash;
  if (options_.auth_required || req[auth::kActorKindHeader] != "anonymous") {
    if (auto token = bearer_token(req); !token.empty()) {
      token_hash = auth::sha256_hex(token);
    } else if (auto sid = cookie_value(req, auth::kSessionCookie); !sid.empty()) {
      session_hash = auth::sha256_hex(sid);
    }
  }
  auto client = std::make_shared<Client>(*this, reply.executor(), std::move(filter),
                                         std::move(session_hash), std::move(token_hash));
  {
    std::lock_guard lock(mutex_);
    if (stopped_ || clients_.size() >= options_.max_streams) {
      refused_busy_->inc();
      logger("api")->warn("event stream refused: {} open (api.max_event_streams)", clients_.size());
      auto res = json_error(req, bhttp::status::service_unavailable, "too many event streams",
                            "at most " + std::to_string(options_.max_streams) +
                                " event streams at once (api.max_event_streams)");
      res.set(bhttp::field::retry_after, "5");
      reply.send(std::move(res));
      return;
    }
    clients_.push_back(client);
    open_gauge_->set(static_cast<double>(clients_.size()));
  }
  http::Response header{bhttp::status::ok, req.version()};
  header.set(bhttp::field::content_type, "text/event-stream; charset=utf-8");
  header.set(bhttp::field::cache_control, "no-store");
  header.set("X-Accel-Buffering", "no");
  header.set("X-Content-Type-Options", "nosniff");
  auto stream = reply.stream(std::move(header), [client] { client->shutdown(); });
  client->start(std::move(stream), after);
}

void EventStreams::on_commit(const std::vector<Event>& committed) {
  // Writer thread: hand each stream its share, to run on its own strand.
  std::lock_guard lock(mutex_);
  bool audit = false;
  for (const auto& e : committed) {
    audit = audit || e.kind == EventKind::Audit;
  }
  for (const auto& c : clients_) {
    std::vector<Event> mine;
    for (const auto& e : committed) {
      if (e.id > 0 && c->filter().matches(e)) {
        mine.push_back(e);
      }
    }
    if (mine.empty() && !audit) {
      continue;
    }
    net::post(c->executor(), [c, mine = std::move(mine), audit]() mutable {
      if (!mine.empty()) {
        c->deliver(std::move(mine));
      }
      // A logout or a revoked token is an audit event: check at once.
      if (audit) {
        c->recheck();
      }
    });
  }
}

}  // namespace pushgate::api
