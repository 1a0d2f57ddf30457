#include "adapters/zkpush/zkpush_security_session.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <atomic>
#include <charconv>

#include <boost/asio/post.hpp>

#include "adapters/zkpush/zkpush_commands.hpp"
#include "adapters/zkpush/zkpush_device_model.hpp"
#include "gateway/access_decider.hpp"
#include "gateway/api/router.hpp"
#include "gateway/device_text.hpp"
#include "gateway/doors.hpp"
#include "gateway/event_json.hpp"
#include "gateway/event_log.hpp"

namespace pushgate::adapters::zkpush {

namespace bhttp = boost::beast::http;
using security::SecurityEndpoint;

namespace {

// Letters and digits from the OpenSSL generator: registry codes and session
// ids are guessable otherwise, and the token is only as good as they are.
std::string random_token(std::size_t length, std::string_view alphabet) {
  std::string out(length, '0');
  unsigned char bytes[64];
  RAND_bytes(bytes, static_cast<int>(length));
  for (std::size_t i = 0; i < length; ++i) {
    out[i] = alphabet[bytes[i] % alphabet.size()];
  }
  return out;
}

constexpr std::string_view kAlnum =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";  // 62: small bias, fine
constexpr std::string_view kHexUpper = "0123456789ABCDEF";

std::optional<std::int64_t> to_int64(std::string_view text) {
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || p != text.data() + text.size()) {
    return std::nullopt;
  }
  return v;
}

std::string remote_ip_of(const http::RequestInfo& info) {
  return info.remote.address().to_string();
}

std::string_view category_name(security::EventCategory c) {
  switch (c) {
    case security::EventCategory::Normal:
      return "normal";
    case security::EventCategory::Error:
      return "error";
    case security::EventCategory::Alarm:
      return "alarm";
    case security::EventCategory::Extended:
      return "extended";
    case security::EventCategory::Status:
      return "status";
    case security::EventCategory::Unknown:
      break;
  }
  return "unknown";
}

// §7.3's decoded door onto the core's door model (the alarm byte's bits are
// the same: DoorAlarm mirrors security::DoorAlarm).
DoorState door_state_of(const security::DoorState& d) {
  DoorState s;
  if (d.sensor) {
    switch (*d.sensor) {
      case security::DoorSensor::None:
        s.sensor = DoorSensor::None;
        break;
      case security::DoorSensor::Closed:
        s.sensor = DoorSensor::Closed;
        break;
      case security::DoorSensor::Open:
        s.sensor = DoorSensor::Open;
        break;
      case security::DoorSensor::Unknown:
        s.sensor = DoorSensor::Unknown;
        break;
    }
  }
  if (d.relay) {
    s.relay = *d.relay == security::RelayState::Connected ? DoorRelay::Connected
                                                          : DoorRelay::Disconnected;
  }
  s.alarms = d.alarms;
  return s;
}
static_assert(static_cast<std::uint8_t>(DoorAlarm::ReaderRemoved) ==
              static_cast<std::uint8_t>(security::DoorAlarm::ReaderDisassembled));
static_assert(static_cast<std::uint8_t>(DoorAlarm::SensorTimeout) ==
              static_cast<std::uint8_t>(security::DoorAlarm::DoorSensorTimeout));

nlohmann::json kv_object(const KeyValues& kvs) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& kv : kvs) {
    j[kv.key] = kv.value;
  }
  return j;
}

nlohmann::json parse_object(const std::string& text) {
  auto j = nlohmann::json::parse(text.empty() ? "{}" : text, nullptr, false);
  return j.is_object() ? j : nlohmann::json::object();
}

// A querydata transaction (§9.1.4) is the same access event as the rtlog
// line that reported it live: build that line so both get the same key.
security::RtlogRecord as_rtlog(const security::TransactionRecord& t, const std::string& raw) {
  security::RtlogRecord r;
  r.raw = raw;
  r.time = t.time;
  r.time_text = t.time ? format_device_time(*t.time) : std::to_string(t.time_second);
  r.pin = t.pin;
  r.card_no = t.card_no;
  r.site_code = t.site_code;
  r.event_addr = t.door_id;
  r.event = t.event_type;
  r.in_out_status = t.in_out_state;
  r.verify_mode = t.verified;
  r.verify_type_text = t.verified ? std::to_string(*t.verified) : std::string();
  r.index = t.index;
  r.mask_flag = t.mask_flag;
  r.temperature = t.temperature;
  r.conv_temperature = t.conv_temperature;
  r.extra = t.extra;
  return r;
}

}  // namespace

SecurityService::SecurityService(ZkpushService& base)
    : base_(base),
      ctx_(base.ctx_),
      log_(logger("zkpush")),
      token_mismatches_(ctx_.metrics.counter(
          "pushgate_zkpush_token_mismatches_total",
          "Security PUSH requests whose Cookie token did not match (zkpush.token_check=log)")),
      remote_auth_refused_(
          ctx_.metrics.counter("pushgate_zkpush_remote_auth_total",
                               "Security PUSH remote identification requests, by outcome",
                               {{"outcome", "not_enabled"}})),
      remote_auth_decided_(ctx_.metrics.counter(
          "pushgate_zkpush_remote_auth_total",
          "Security PUSH remote identification requests, by outcome", {{"outcome", "decided"}})),
      remote_auth_unusable_(ctx_.metrics.counter(
          "pushgate_zkpush_remote_auth_total",
          "Security PUSH remote identification requests, by outcome", {{"outcome", "unusable"}})),
      remote_auth_unrecorded_(ctx_.metrics.counter(
          "pushgate_zkpush_remote_auth_total",
          "Security PUSH remote identification requests, by outcome", {{"outcome", "unrecorded"}})),
      remote_auth_not_admitted_(
          ctx_.metrics.counter("pushgate_zkpush_remote_auth_total",
                               "Security PUSH remote identification requests, by outcome",
                               {{"outcome", "not_admitted"}})),
      rtlog_bad_time_(ctx_.metrics.counter(
          "pushgate_zkpush_rtlog_unreadable_time_total",
          "rtlog rows kept with an unreadable time (flagged time_unparsed, no UTC)")) {
  // POST /api/v1/terminals/{sn}/reset-registration: forgets the terminal's
  // RegistryCode and session, so it registers afresh (a replaced or
  // factory-reset terminal under token_check=enforce).
  auto sessions = sessions_;
  EventLog* events = ctx_.events;
  TerminalRegistry* registry = &ctx_.terminals;
  ctx_.router.add(
      bhttp::verb::post, "/api/v1/terminals/{sn}/reset-registration",
      [sessions, events, registry](http::Request&& req, const http::RequestInfo&,
                                   const api::PathParams& p, http::Reply reply) {
        const auto& sn = p.at("sn");
        auto known = registry->find(sn);
        if (!known) {
          reply.send(api::json_error(req, bhttp::status::not_found, "unknown terminal", sn));
          return;
        }
        {
          std::lock_guard lock(sessions->mutex);
          auto& s = sessions->by_sn[sn];
          s.loaded = true;  // not reloaded from the (old) info JSON of a request in flight
          s.registry_code.clear();
          s.session_id.clear();
        }
        auto record = registry->update(sn, [](TerminalRecord& t) {
          auto info = parse_object(t.info_json);
          info.erase("registry_code");
          info.erase("session_id");
          t.info_json = dump_json(info);
        });
        logger("api")->info("[sn={}] registration reset over REST", sn);
        WriteBatch batch;
        batch.ops.push_back(TerminalRegistry::persist_op(record));
        auto ex = reply.executor();
        events->append(std::move(batch), [ex, req = std::move(req), reply = std::move(reply),
                                          sn](CommitResult r) mutable {
          boost::asio::post(
              ex, [req = std::move(req), reply = std::move(reply), sn, ec = r.ec]() mutable {
                if (ec) {
                  reply.send(api::json_error(req, bhttp::status::service_unavailable,
                                             "store unavailable", ec.message()));
                  return;
                }
                nlohmann::json j = {{"sn", sn}, {"registered", false}};
                reply.send(api::json_response(req, bhttp::status::ok, dump_json(j) + "\n"));
              });
        });
      });
  // GET /api/v1/doors is the core's (DoorService): a terminal is offline
  // there when not heard for two poll intervals plus the request timeout.
  ctx_.doors.set_offline_after(
      std::chrono::seconds(2 * std::int64_t{std::atomic_load(&base_.config_)->delay_s} + 10));
}

bool SecurityService::claims(const Request& r, SecurityEndpoint endpoint) const {
  switch (endpoint) {
    case SecurityEndpoint::Registry:
    case SecurityEndpoint::Push:
    case SecurityEndpoint::QueryData:
      return true;  // endpoints only this flavour has
    default:
      break;
  }
  if (endpoint == SecurityEndpoint::Cdata && r.req.method() == bhttp::verb::get) {
    // A handshake says what the terminal is: DeviceType=acc, or pushver 3.x
    // without a DeviceType (face terminals of the current line send no
    // DeviceType; the 2.x option block would make them send nothing). A
    // handshake that says neither keeps what is stored.
    if (auto security = security::announces_security_push(r.query)) {
      return *security;
    }
    return r.terminal.flavour == "access";
  }
  if (r.terminal.flavour == "access") {
    return true;
  }
  if (endpoint == SecurityEndpoint::GetRequest && r.terminal.push_version.empty()) {
    // Some 3.x firmware starts with getrequest?SN=..&INFO=.. and never sends
    // the handshake first. A terminal no handshake told us the version of is
    // Security PUSH when this request says so (pushver 3.x, DeviceType=acc)
    // or carries a session token (only Security PUSH has one); otherwise it
    // stays attendance until a handshake says more.
    if (auto security = security::announces_security_push(r.query)) {
      return *security;
    }
    return security::parse_cookie(r.req[bhttp::field::cookie]).token.has_value();
  }
  if (endpoint == SecurityEndpoint::Cdata && r.req.method() == bhttp::verb::post) {
    // Uploads only this flavour has, also from a terminal not registered
    // (yet, or since a restart of pushgate): a §10 request answered "OK"
    // would leave the door shut and the person waiting.
    switch (security::classify_cdata_upload(r.query)) {
      case security::CdataUpload::RemoteAuth:
      case security::CdataUpload::RtLog:
      case security::CdataUpload::RtState:
      case security::CdataUpload::TableData:
        return true;
      default:
        break;
    }
  }
  return false;
}

void SecurityService::handle(Request& r, SecurityEndpoint endpoint) {
  switch (endpoint) {
    case SecurityEndpoint::Registry:
      if (r.req.method() != bhttp::verb::post) {
        base_.refuse(r, bhttp::status::method_not_allowed, "bad_method", "POST\n");
        return;
      }
      registry(r);
      return;
    case SecurityEndpoint::Push:
      push_config(r);
      return;
    case SecurityEndpoint::Cdata:
      if (r.req.method() == bhttp::verb::get) {
        handshake(r);
      } else if (r.req.method() == bhttp::verb::post) {
        if (token_ok(r)) {
          upload(r);
        }
      } else {
        base_.refuse(r, bhttp::status::method_not_allowed, "bad_method", "GET or POST\n");
      }
      return;
    case SecurityEndpoint::GetRequest:
      if (r.terminal.flavour != "access" && session(r.terminal).registry_code.empty()) {
        first_poll(r);
        return;
      }
      if (token_ok(r)) {
        base_.poll(r);  // the queue, rendered in Dialect::Access (flavour "access")
      }
      return;
    case SecurityEndpoint::DeviceCmd:
      if (token_ok(r)) {
        device_command(r);
      }
      return;
    case SecurityEndpoint::Ping:
      if (token_ok(r)) {
        base_.commit_and_answer(r, std::move(r.pending), std::string(security::kOkAnswer));
      }
      return;
    case SecurityEndpoint::QueryData:
      if (token_ok(r)) {
        querydata(r);
      }
      return;
    case SecurityEndpoint::Exchange:
      // Appendix 16 key exchange: pushgate announces 3.0.1, below encryption.
      base_.refuse(r, bhttp::status::not_implemented, "encryption_unsupported",
                   "Encryption not supported\n");
      return;
    case SecurityEndpoint::Unknown:
      break;
  }
  base_.refuse(r, bhttp::status::not_found, "unknown_endpoint", "Unknown request\n");
}

SecurityService::Session& SecurityService::session_locked(const TerminalRecord& t) {
  auto& s = sessions_->by_sn[t.sn];
  if (!s.loaded) {
    s.loaded = true;
    auto info = parse_object(t.info_json);
    s.registry_code = info.value("registry_code", std::string());
    s.session_id = info.value("session_id", std::string());
    s.lock_count = info.value("lock_count", std::size_t{0});
    s.multi_bio_data_support = info.value("multi_bio_data_support", std::string());
    s.multi_bio_photo_support = info.value("multi_bio_photo_support", std::string());
  }
  return s;
}

SecurityService::Session SecurityService::session(const TerminalRecord& t) {
  std::lock_guard lock(sessions_->mutex);
  return session_locked(t);
}

void SecurityService::persist_session(Request& r, const Session& s,
                                      const nlohmann::json* registration) {
  r.terminal = update_described(ctx_.terminals, r.sn, [&](TerminalRecord& t) {
    t.flavour = "access";
    auto info = parse_object(t.info_json);
    info["registry_code"] = s.registry_code;
    info["session_id"] = s.session_id;
    info["lock_count"] = s.lock_count;
    info["multi_bio_data_support"] = s.multi_bio_data_support;
    info["multi_bio_photo_support"] = s.multi_bio_photo_support;
    if (registration != nullptr) {
      info["registration"] = *registration;
    }
    t.info_json = dump_json(info);
  });
  r.pending.ops.push_back(TerminalRegistry::persist_op(r.terminal));
}

security::ServerConfig SecurityService::server_config(const security::HandshakeRequest& h,
                                                      std::string session_id) const {
  auto cfg = std::atomic_load(&base_.config_);
  auto choice = security::choose_push_prot_ver(h.pushver);
  security::ServerConfig c;
  c.push_prot_ver = choice.announce;
  c.server_version = choice.announce;
  c.error_delay = cfg->error_delay_s;
  c.request_delay = cfg->delay_s;
  c.trans_times = cfg->trans_times;
  c.trans_interval = cfg->trans_interval_min;
  c.realtime = cfg->realtime;
  c.session_id = std::move(session_id);
  return c;
}

bool SecurityService::current_token_presented(const Request& r, const Session& s) {
  if (s.registry_code.empty() || s.session_id.empty()) {
    return false;
  }
  auto presented = security::parse_cookie(r.req[bhttp::field::cookie]).token;
  auto expected = security::compute_token(s.registry_code, r.sn, s.session_id);
  return presented && expected && security::token_matches(*expected, *presented);
}

bool SecurityService::token_ok(Request& r) {
  auto cfg = std::atomic_load(&base_.config_);
  if (cfg->token_check == "off") {
    return true;
  }
  std::string why;
  {
    std::lock_guard lock(sessions_->mutex);
    auto& s = session_locked(r.terminal);
    auto presented = security::parse_cookie(r.req[bhttp::field::cookie]).token;
    if (s.registry_code.empty()) {
      why = "not registered";
    } else if (s.session_id.empty()) {
      why = "no session (no handshake yet)";
    } else if (!presented) {
      why = "no token";
    } else {
      auto expected = security::compute_token(s.registry_code, r.sn, s.session_id);
      if (expected && security::token_matches(*expected, *presented)) {
        return true;
      }
      why = "wrong token";
    }
    if (cfg->token_check != "enforce") {
      token_mismatches_.inc();
      // Once a minute per terminal: a terminal with a stale session polls often.
      if (r.now_ms - s.token_logged_ms >= 60000) {
        s.token_logged_ms = r.now_ms;
        log_->warn("[sn={}] token check failed ({}) on {}; accepted (zkpush.token_check=log)", r.sn,
                   why, text::log_escape(r.req.target(), 120));
      }
      return true;
    }
  }
  log_->warn("[sn={}] refused {}: token check failed ({})", r.sn,
             text::log_escape(r.req.target(), 120), why);
  base_.refuse(r, bhttp::status::unauthorized, "bad_token", "Unauthorized\n");
  return false;
}

void SecurityService::handshake(Request& r) {
  auto h = security::handshake_request(r.query);
  if (!h.options_all) {
    base_.refuse(r, bhttp::status::bad_request, "bad_handshake", "Unknown command\n");
    return;
  }
  auto cfg = std::atomic_load(&base_.config_);
  Session s;
  bool stranger = false;
  {
    std::lock_guard lock(sessions_->mutex);
    auto& live = session_locked(r.terminal);
    if (!live.registry_code.empty()) {
      // The registered answer carries the RegistryCode: with
      // token_check=enforce only the terminal holding the current token
      // hears it (and gets a new session); anyone could ask otherwise. The
      // first connection after registering has no session (no token) yet.
      if (cfg->token_check == "enforce" && !live.session_id.empty() &&
          !current_token_presented(r, live)) {
        stranger = true;
      } else {
        // A new session per handshake: the token of every following request.
        live.session_id = random_token(32, kHexUpper);
      }
    }
    s = live;
  }
  if (stranger) {
    if (auto suppressed = base_.log_limiter_.admit("handshake_without_token", r.now_ms)) {
      log_->warn(
          "[sn={}] refused handshake from {}: registered, and no current token "
          "(zkpush.token_check=enforce; POST /api/v1/terminals/{}/reset-registration to "
          "register again){}",
          r.sn, remote_ip_of(r.info), r.sn, suppressed_note(*suppressed));
    }
    base_.refuse(r, bhttp::status::unauthorized, "bad_token", "Unauthorized\n");
    return;
  }
  if (s.registry_code.empty()) {
    // §4.1: not registered yet; the terminal registers next (§4.4).
    r.terminal = update_described(ctx_.terminals, r.sn, [&](TerminalRecord& t) {
      t.flavour = "access";
      if (!h.pushver.empty()) {
        t.push_version = h.pushver;
      }
      if (!h.device_type.empty()) {
        t.device_type = h.device_type;
      }
    });
    r.pending.ops.push_back(TerminalRegistry::persist_op(r.terminal));
    log_->info("[sn={}] Security PUSH handshake pushver={} from {}: not registered", r.sn,
               h.pushver.empty() ? "?" : text::log_escape(h.pushver), r.terminal.ip);
    base_.commit_and_answer(r, std::move(r.pending), security::render_unregistered_handshake());
    return;
  }
  if (!h.pushver.empty() && h.pushver != r.terminal.push_version) {
    r.terminal = update_described(ctx_.terminals, r.sn,
                                  [&](TerminalRecord& t) { t.push_version = h.pushver; });
  }
  persist_session(r, s, nullptr);
  security::RegisteredHandshake a;
  a.registry_code = s.registry_code;
  a.config = server_config(h, s.session_id);
  log_->info("[sn={}] Security PUSH handshake pushver={} from {}: registered, PushProtVer={}", r.sn,
             h.pushver.empty() ? "?" : text::log_escape(h.pushver), r.terminal.ip,
             text::log_escape(a.config.push_prot_ver));
  base_.commit_and_answer(r, std::move(r.pending), security::render_registered_handshake(a));
}

void SecurityService::first_poll(Request& r) {
  // A 3.x terminal that starts with getrequest (no handshake, no
  // registration): remember what it is, and answer 401 so that it runs its
  // connection sequence (§4.4 registration, §4.5 configuration); it is then
  // served like any other. Nothing is delivered before that: commands
  // rendered for an unregistered terminal would not be acknowledged.
  auto pushver = r.query.find("pushver");
  base_.note_info(r);
  r.terminal = update_described(ctx_.terminals, r.sn, [&](TerminalRecord& t) {
    t.flavour = "access";
    if (pushver != nullptr && !pushver->empty()) {
      t.push_version = *pushver;
    }
  });
  r.pending.ops.push_back(TerminalRegistry::persist_op(r.terminal));
  log_->info(
      "[sn={}] Security PUSH terminal polling before registration (pushver={}) from {}: "
      "answered 401 so that it registers",
      r.sn, pushver != nullptr ? *pushver : "?", r.terminal.ip);
  ctx_.events->append(std::move(r.pending), [](CommitResult) {});
  base_.refuse(r, bhttp::status::unauthorized, "not_registered", "Not registered\n");
}

void SecurityService::registry(Request& r) {
  auto parsed = security::parse_registry(r.req.body());
  UploadContext u;
  u.sn = r.sn;
  u.received_ms = r.now_ms;
  u.endpoint = "registry";
  add_problems(parsed.problems, u, r.pending);
  nlohmann::json fields = nlohmann::json::object();
  for (const auto& kv : parsed.fields) {
    if (iequals(kv.key, "authKey") || iequals(kv.key, "~authKey")) {
      continue;  // a secret: not copied into the terminal list the API shows
    }
    fields[kv.key] = kv.value;
  }
  const auto& d = parsed.device;
  auto cfg = std::atomic_load(&base_.config_);
  Session s;
  bool stranger = false;
  {
    std::lock_guard lock(sessions_->mutex);
    auto& live = session_locked(r.terminal);
    // Registered already: the same code again only for the terminal holding
    // the current token (else anyone could learn it and speak for the
    // terminal); an operator reset (reset-registration) starts afresh.
    stranger = !live.registry_code.empty() && cfg->token_check != "off" &&
               !current_token_presented(r, live);
  }
  if (stranger) {
    bool enforce = cfg->token_check == "enforce";
    if (!enforce) {
      token_mismatches_.inc();
    }
    if (auto suppressed = base_.log_limiter_.admit("registry_without_token", r.now_ms)) {
      log_->warn(
          "[sn={}] registration from {} of a registered terminal without its current token; {} "
          "(zkpush.token_check={}; POST /api/v1/terminals/{}/reset-registration to register "
          "again){}",
          r.sn, remote_ip_of(r.info), enforce ? "refused" : "accepted", cfg->token_check, r.sn,
          suppressed_note(*suppressed));
    }
    if (enforce) {
      // §4.4: a failed registration is answered 406; nothing of it is kept.
      base_.refuse(r, bhttp::status::not_acceptable, "reregistration_refused",
                   "Device already registered\n");
      return;
    }
  }
  {
    std::lock_guard lock(sessions_->mutex);
    auto& live = session_locked(r.terminal);
    if (live.registry_code.empty()) {
      live.registry_code = random_token(16, kAlnum);
    }
    if (d.lock_count && *d.lock_count > 0) {
      live.lock_count = static_cast<std::size_t>(*d.lock_count);
    }
    live.multi_bio_data_support = d.multi_bio_data_support;
    live.multi_bio_photo_support = d.multi_bio_photo_support;
    s = live;
  }
  r.terminal = update_described(ctx_.terminals, r.sn, [&](TerminalRecord& t) {
    if (!d.device_type.empty()) {
      t.device_type = d.device_type;
    }
    if (!d.firmware.empty()) {
      t.firmware = d.firmware;
    }
  });
  persist_session(r, s, &fields);
  if (r.terminal.state == "pending") {
    // Kept (the registration helps whoever approves it), but not registered:
    // §4.4 answers 406 and the terminal tries again later.
    log_->info(
        "[sn={}] registration from a pending terminal (approve with POST "
        "/api/v1/terminals/{}/approve)",
        r.sn, r.sn);
    ctx_.events->append(std::move(r.pending), [](CommitResult) {});
    base_.refuse(r, bhttp::status::not_acceptable, "terminal_pending", "Device pending approval\n");
    return;
  }
  log_->info("[sn={}] registered: DeviceType={} firmware={} doors={} readers={}", r.sn,
             text::log_escape(d.device_type), text::log_escape(d.firmware),
             d.lock_count.value_or(-1), d.reader_count.value_or(-1));
  base_.commit_and_answer(r, std::move(r.pending),
                          security::render_registry_answer(s.registry_code));
}

void SecurityService::push_config(Request& r) {
  Session s;
  {
    std::lock_guard lock(sessions_->mutex);
    auto& live = session_locked(r.terminal);
    if (live.session_id.empty()) {
      live.session_id = random_token(32, kHexUpper);
    }
    s = live;
  }
  persist_session(r, s, nullptr);
  security::PushConfigAnswer a;
  a.config = server_config(security::handshake_request(r.query), s.session_id);
  if (!s.multi_bio_data_support.empty()) {
    a.multi_bio_data_support = s.multi_bio_data_support;  // pushgate stores every type
  }
  if (!s.multi_bio_photo_support.empty()) {
    a.multi_bio_photo_support = s.multi_bio_photo_support;
  }
  base_.commit_and_answer(r, std::move(r.pending), security::render_push_config(a));
}

std::size_t SecurityService::add_rtlog(const security::RtlogRecord& rec, const UploadContext& u,
                                       WriteBatch& batch) {
  std::string pin = rec.pin == "0" ? std::string() : rec.pin;  // §10: 0 means nobody
  auto category =
      rec.event ? security::event_category(*rec.event) : security::EventCategory::Unknown;
  EventKind kind = EventKind::Access;
  // verifytype 200 with no user: nobody verified anything (Appendix 2
  // "Other"); a refused card or unknown person (event 27, verifytype 4 or
  // 0) stays an access event.
  const bool nobody = pin.empty() && rec.verify_mode == 200;
  if (rec.is_door_state_row() && pin.empty()) {
    kind = EventKind::DoorState;
  } else if (category == security::EventCategory::Alarm) {
    kind = EventKind::Alarm;
  } else if (nobody) {
    // Face terminals put door and system rows (exit button, door left open,
    // remote open; verifytype 200) in the same table with pin=0 or no pin:
    // a door event, never a passage or a punch of anybody.
    kind = EventKind::DoorState;
  }
  Event e = make_event(u, kind, rec.raw);
  e.record_key = security::rtlog_dedup_key(u.sn, rec);
  e.local_time = rec.time_text;  // kept raw, also before NTP set the clock
  if (rec.time) {
    e.utc_ms = utc_of_device_time(*rec.time, u);
  }
  e.pin = pin;
  e.event_code = rec.event.value_or(kUnset);
  e.verify_mode = std::max(rec.verify_mode.value_or(kUnset), kUnset);  // negative: unset
  e.door = rec.event_addr.value_or(kUnset);
  e.status = std::max(rec.in_out_status.value_or(kUnset), kUnset);
  nlohmann::json extra = kv_object(rec.extra);
  if (!rec.card_no.empty() && rec.card_no != "0") {
    extra["card"] = rec.card_no;
  }
  if (rec.event) {
    extra["event_name"] = security::event_code_name(*rec.event);
    extra["event_category"] = category_name(category);
  }
  if (rec.verify_mode) {
    extra["verify_mode_name"] = security::verify_mode_name(*rec.verify_mode);
  } else if (!rec.verify_type_text.empty()) {
    extra["verify_type"] = rec.verify_type_text;
  }
  if (rec.index) {
    extra["index"] = *rec.index;
  }
  if (rec.site_code) {
    extra["site_code"] = *rec.site_code;
  }
  if (rec.link_id) {
    extra["link_id"] = *rec.link_id;
  }
  if (rec.mask_flag) {
    extra["mask_flag"] = *rec.mask_flag;
  }
  if (!rec.temperature.empty()) {
    extra["temperature"] = rec.temperature;
  }
  if (rec.alarm_type) {
    extra["alarm_type"] = *rec.alarm_type;
  }
  if (!rec.time) {
    // Garbage before NTP set the clock: kept with its raw text, flagged and
    // counted, never dropped (utc_ms stays NULL).
    extra["time_unparsed"] = true;
    rtlog_bad_time_.inc();
    log_->debug("[sn={}] rtlog row with an unreadable time \"{}\" kept, flagged", u.sn,
                rec.time_text);
  }
  e.extra_json = dump_json(extra);
  if (ctx_.access != nullptr) {
    ctx_.access->note_pass(e, batch);  // the terminal's passages count for anti-passback too
  }
  batch.events.push_back(std::move(e));
  if (!rec.doors.empty()) {
    // A state row inside rtlog is itself the event: keep the door table
    // current, for the doors the terminal has (the parser decodes every
    // door the hex covers).
    std::size_t lock_count = 0;
    {
      std::lock_guard lock(sessions_->mutex);
      auto it = sessions_->by_sn.find(u.sn);
      lock_count = it != sessions_->by_sn.end() ? it->second.lock_count : 0;
    }
    std::vector<security::DoorState> doors;
    for (const auto& d : rec.doors) {
      if (lock_count == 0 || d.door <= static_cast<int>(lock_count)) {
        doors.push_back(d);
      }
    }
    add_door_states(u.sn, doors, rec.time_text, rec.raw, u, false, batch);
  }
  return 1;
}

void SecurityService::add_door_states(const std::string& sn,
                                      const std::vector<security::DoorState>& doors,
                                      const std::string& time_text, const std::string& raw,
                                      const UploadContext& u, bool emit_events, WriteBatch& batch) {
  for (const auto& d : doors) {
    auto reported = ctx_.doors.report(sn, d.door, door_state_of(d), u.received_ms, batch);
    if (!reported) {
      continue;  // refused (door number out of range): counted and logged by the service
    }
    const DoorState& now = reported->state;
    std::optional<std::string> sensor;
    std::optional<std::string> relay;
    std::optional<int> alarm;
    if (now.sensor) {
      sensor = std::string(to_string(*now.sensor));
    }
    if (now.relay) {
      relay = std::string(to_string(*now.relay));
    }
    if (now.alarms) {
      alarm = *now.alarms;
    }
    // The door's row always goes into the batch (the service adds it); the
    // event log only gets changes.
    if (!reported->changed || !emit_events) {
      continue;
    }
    Event e = make_event(u, EventKind::DoorState, raw);
    e.record_key = "RTSTATE\t" + std::to_string(d.door) + "\t" + time_text + "\t" +
                   sensor.value_or("-") + "\t" + relay.value_or("-") + "\t" +
                   (alarm ? std::to_string(*alarm) : std::string("-"));
    e.local_time = time_text;
    e.door = d.door;
    nlohmann::json extra = {{"sensor", sensor ? nlohmann::json(*sensor) : nlohmann::json()},
                            {"relay", relay ? nlohmann::json(*relay) : nlohmann::json()},
                            {"alarm", alarm ? nlohmann::json(*alarm) : nlohmann::json()}};
    e.extra_json = dump_json(extra);
    batch.events.push_back(std::move(e));
  }
}

std::size_t SecurityService::add_table(const std::vector<security::TableEntry>& entries,
                                       security::TableKind kind, const UploadContext& u,
                                       WriteBatch& batch) {
  for (const auto& entry : entries) {
    if (quarantine_long_line(entry.raw, entry.line, u, batch)) {
      continue;  // still counted in the answer: the terminal does not send it again
    }
    std::visit(
        [&](const auto& rec) {
          using T = std::decay_t<decltype(rec)>;
          if constexpr (std::is_same_v<T, security::UserInfoRecord>) {
            UserRecord user;
            user.pin = rec.pin;
            user.name = rec.name;
            user.privilege = rec.privilege;
            user.password = rec.password;
            user.card = rec.card_no;
            user.group = rec.group;
            user.verify = rec.verify;
            user.extra = rec.extra;
            if (rec.uid) {
              user.extra.push_back({"uid", std::to_string(*rec.uid)});
            }
            user.extra.push_back({"starttime", rec.start_time});
            user.extra.push_back({"endtime", rec.end_time});
            if (rec.disable) {
              user.extra.push_back({"disable", std::to_string(*rec.disable)});
            }
            add_user_record(user, user_fields_json(user), entry.raw, u, batch);
          } else if constexpr (std::is_same_v<T, security::FingerprintTemplateRecord>) {
            TemplateRecord t;
            t.pin = rec.pin;
            t.number = rec.finger();
            t.index = 0;
            t.size = rec.size;
            t.valid = rec.valid;
            t.duress = rec.duress() ? 1 : 0;
            t.type = 1;
            t.major_ver = 10;
            t.data = rec.template_data;
            add_template_record(t, "templatev10", 1, entry.raw, u, batch);
          } else if constexpr (std::is_same_v<T, TemplateRecord>) {
            add_template_record(rec, "biodata", rec.type.value_or(0), entry.raw, u, batch);
          } else if constexpr (std::is_same_v<T, PhotoRecord>) {
            std::string photo_kind = kind == security::TableKind::UserPic ? "userpic" : "biophoto";
            add_photo_record(rec, photo_kind, photo_kind, entry.raw, u, batch);
          } else if constexpr (std::is_same_v<T, ErrorLogRecord>) {
            add_errorlog_record(rec, entry.raw, u, batch);
          } else if constexpr (std::is_same_v<T, security::TransactionRecord>) {
            add_rtlog(as_rtlog(rec, entry.raw), u, batch);
          } else if constexpr (std::is_same_v<T, security::SnapshotRecord>) {
            Event e = make_event(u, EventKind::Photo, entry.raw);
            e.record_key = "ATTPHOTO\t" + rec.file_name;
            if (auto name = parse_attphoto_name(rec.file_name)) {
              e.pin = name->pin;
              e.local_time = format_device_time(name->time);
              e.utc_ms = utc_of_device_time(name->time, u);
            }
            nlohmann::json extra = {{"record", "snapshot"},
                                    {"file_name", rec.file_name},
                                    {"size", rec.size.value_or(-1)},
                                    {"base64_bytes", rec.photo.size()}};
            e.extra_json = dump_json(extra);
            batch.events.push_back(std::move(e));
          } else {
            // identitycard, DeviceAuthorize, other tables: the record as sent.
            Event e = make_event(u, EventKind::Enrollment, entry.raw);
            std::string word = entry.type_word.empty() ? u.table : entry.type_word;
            e.record_key = word + "\t" + digest(entry.raw);
            nlohmann::json fields = kv_object(entry.fields);
            for (const char* big : {"photo", "PhotoJPG", "FPTemplate1", "FPTemplate2"}) {
              fields.erase(big);  // images and templates stay in raw only
            }
            if (fields.contains("pin")) {
              e.pin = fields["pin"].template get<std::string>();
            }
            nlohmann::json extra = {{"record", word}, {"fields", std::move(fields)}};
            e.extra_json = dump_json(extra);
            batch.events.push_back(std::move(e));
          }
        },
        entry.record);
  }
  return entries.size();
}

void SecurityService::remote_auth(Request& r, std::string_view body, const UploadContext& u,
                                  WriteBatch&& batch) {
  auto parsed = security::parse_remote_auth(body);
  // Lines beyond the record (or a record we cannot use) are kept raw; they
  // and anything else this request had pending are stored without holding
  // up the answer, which depends only on the decision.
  add_problems(parsed.problems, u, batch);
  if (!parsed.problems.empty()) {
    base_.parse_problems_.inc(parsed.problems.size());
  }
  // A record with a field over the limit is kept raw, not decided about (the
  // answer would echo it): answered like a record without a usable request.
  if (parsed.request &&
      quarantine_long_line(parsed.request->event.raw, parsed.request->event.line, u, batch)) {
    parsed.request.reset();
  }
  if (!batch.empty()) {
    ctx_.events->append(std::move(batch), [](CommitResult) {});
  }
  // FAILED with the record as sent: the terminal decides by itself, and
  // learns nothing about the master data.
  auto undecided = [&] {
    security::RemoteAuthAnswer a;
    a.verdict = security::AuthVerdict::Failed;
    if (parsed.request) {
      a.event = parsed.request->event.raw;
    }
    base_.answer(r, bhttp::status::ok, security::render_remote_auth_answer(a));
  };
  if (ctx_.access == nullptr) {
    // access.enabled = false.
    remote_auth_refused_.inc();
    log_->debug("[sn={}] remote identification not enabled: answered AUTH=FAILED", r.sn);
    undecided();
    return;
  }
  if (r.terminal.state != "accepted" || r.terminal.flavour != "access" ||
      session(r.terminal).registry_code.empty()) {
    // Only an accepted, registered access terminal gets a verdict: anyone
    // else could ask which PINs and cards exist (23 vs 27).
    remote_auth_not_admitted_.inc();
    if (auto suppressed = base_.log_limiter_.admit("remote_auth_not_admitted", r.now_ms)) {
      log_->warn(
          "[sn={}] remote identification from {} refused: not an accepted, registered access "
          "terminal; answered AUTH=FAILED without a decision{}",
          r.sn, r.terminal.ip, suppressed_note(*suppressed));
    }
    undecided();
    return;
  }
  if (!parsed.request) {
    // Nobody to decide about: the door stays shut, the lines are kept.
    remote_auth_unusable_.inc();
    log_->debug("[sn={}] remote identification without a usable record: answered AUTH=FAILED",
                r.sn);
    security::RemoteAuthAnswer a;
    a.verdict = security::AuthVerdict::Failed;
    a.event = security::with_event_code("", 44);  // remote identification failed
    base_.answer(r, bhttp::status::ok, security::render_remote_auth_answer(a));
    return;
  }
  const auto& ev = parsed.request->event;
  access::RemoteAuthRequest q;
  q.terminal_sn = r.sn;
  q.time_text = ev.time_text;
  q.pin = ev.pin;
  q.card = ev.card_no;
  q.addr_type = parsed.request->addr_type.value_or(-1);
  q.event_addr = ev.event_addr.value_or(-1);
  q.event = ev.event.value_or(-1);
  q.in_out = ev.in_out_status.value_or(-1);
  q.verify_type = ev.verify_mode.value_or(-1);
  q.raw = ev.raw;
  q.received_ms = ctx_.clock.now_ms();
  auto ex = r.reply.executor();
  auto pending = std::make_shared<Request>(std::move(r));
  ctx_.access->decide(std::move(q), [this, ex, pending, raw = ev.raw](access::RemoteAuthAnswer d) {
    boost::asio::post(ex, [this, pending, raw, d = std::move(d)]() {
      security::RemoteAuthAnswer a;
      // §10: the requested record echoed, its event code saying why; the
      // door command only with SUCCESS.
      a.event = security::with_event_code(raw, d.event_code);
      a.tips = d.tips;
      if (d.ec) {
        // Not recorded (store failure): never SUCCESS for an unrecorded grant.
        remote_auth_unrecorded_.inc();
        a.verdict = security::AuthVerdict::Failed;
        a.event = security::with_event_code(raw, 44);
        a.tips = "decision not recorded";
      } else if (d.granted) {
        remote_auth_decided_.inc();
        a.verdict = security::AuthVerdict::Success;
        a.control = security::open_door(static_cast<std::uint8_t>(d.door),
                                        static_cast<std::uint8_t>(d.open_s));
      } else {
        remote_auth_decided_.inc();
        a.verdict = security::AuthVerdict::Failed;
      }
      base_.answer(*pending, bhttp::status::ok, security::render_remote_auth_answer(a));
    });
  });
}

void SecurityService::merge_options(Request& r, const KeyValues& options, WriteBatch& batch) {
  r.terminal = update_described(ctx_.terminals, r.sn, [&](TerminalRecord& t) {
    auto merged = parse_object(t.options_json);
    merged.update(kv_object(options));
    t.options_json = dump_json(merged);
    for (const auto& kv : options) {
      if (iequals(kv.key, "FirmVer")) {
        t.firmware = kv.value;
      }
    }
  });
  batch.ops.push_back(TerminalRegistry::persist_op(r.terminal));
}

void SecurityService::upload(Request& r) {
  if (r.terminal.state == "pending") {
    base_.refuse(r, bhttp::status::forbidden, "terminal_pending", "Device pending approval\n");
    return;
  }
  const std::string* table = r.query.find("table");
  UploadContext u;
  u.sn = r.sn;
  u.zone = &ctx_.terminals.zone_for(r.sn);
  u.received_ms = r.now_ms;
  u.endpoint = "cdata";
  u.table = table != nullptr ? *table : std::string();
  u.max_field_bytes = std::atomic_load(&base_.config_)->max_field_bytes;
  u.long_fields = &base_.long_fields_;
  const std::string& body = r.req.body();
  WriteBatch batch = std::move(r.pending);
  std::size_t problems_before = batch.quarantine.size();
  std::string ok_body(security::kOkAnswer);
  switch (security::classify_cdata_upload(r.query)) {
    case security::CdataUpload::RtLog: {
      auto parsed = security::parse_rtlog(body);
      for (const auto& rec : parsed.records) {
        if (!quarantine_long_line(rec.raw, rec.line, u, batch)) {
          add_rtlog(rec, u, batch);
        }
      }
      add_problems(parsed.problems, u, batch);
      break;
    }
    case security::CdataUpload::RtState: {
      auto parsed = security::parse_rtstate(body, session(r.terminal).lock_count);
      for (const auto& rec : parsed.records) {
        if (quarantine_long_line(rec.raw, rec.line, u, batch)) {
          continue;
        }
        add_door_states(r.sn, rec.doors, rec.time_text, rec.raw, u, true, batch);
      }
      add_problems(parsed.problems, u, batch);
      break;
    }
    case security::CdataUpload::TableData: {
      auto params = security::tabledata_params(r.query);
      u.table = params.table_name;
      auto kind = security::classify_table_name(params.table_name);
      std::size_t count = 0;
      if (kind == security::TableKind::Other) {
        // A table pushgate does not know: keep the bytes, confirm the lines.
        if (!body.empty()) {
          quarantine_body(body, "unsupported table \"" + params.table_name + "\"", u, batch);
        }
        count = static_cast<std::size_t>(params.count.value_or(1));
      } else {
        auto parsed = security::parse_tabledata(params.table_name, body);
        count = add_table(parsed.entries, parsed.kind, u, batch) + parsed.problems.size();
        add_problems(parsed.problems, u, batch);
      }
      ok_body = security::render_table_count_answer(params.table_name, count);
      break;
    }
    case security::CdataUpload::Options: {
      auto parsed = parse_options(body);
      add_problems(parsed.problems, u, batch);
      merge_options(r, parsed.options, batch);
      break;
    }
    case security::CdataUpload::RemoteAuth:
      remote_auth(r, body, u, std::move(batch));
      return;
    case security::CdataUpload::IrState:
    case security::CdataUpload::TestData:
    case security::CdataUpload::Unknown:
      if (!body.empty()) {
        quarantine_body(body, "unsupported table \"" + u.table + "\"", u, batch);
      }
      break;
  }
  std::size_t problems = batch.quarantine.size() - problems_before;
  if (problems > 0) {
    base_.parse_problems_.inc(problems);
    log_->debug("[sn={}] {} line(s) of table={} quarantined", r.sn, problems,
                text::log_escape(u.table));
  }
  base_.commit_and_answer(r, std::move(batch), std::move(ok_body));
}

void SecurityService::querydata(Request& r) {
  if (r.terminal.state == "pending") {
    base_.refuse(r, bhttp::status::forbidden, "terminal_pending", "Device pending approval\n");
    return;
  }
  auto parsed = security::parse_querydata(r.query, r.req.body());
  const auto& p = parsed.params;
  UploadContext u;
  u.sn = r.sn;
  u.zone = &ctx_.terminals.zone_for(r.sn);
  u.received_ms = r.now_ms;
  u.endpoint = "querydata";
  u.table = p.table_name;
  u.command_id = to_int64(p.cmd_id).value_or(0);  // §9.1.4: the records answer this command
  u.max_field_bytes = std::atomic_load(&base_.config_)->max_field_bytes;
  u.long_fields = &base_.long_fields_;
  WriteBatch batch = std::move(r.pending);
  add_problems(p.problems, u, batch);
  add_problems(parsed.problems, u, batch);
  std::size_t count = parsed.problems.size();
  if (iequals(p.type, "options")) {
    merge_options(r, parsed.options, batch);
    base_.commit_and_answer(r, std::move(batch), std::string(security::kOkAnswer));
    return;
  }
  if (iequals(p.type, "count")) {
    log_->info("[sn={}] [cmd={}] {} count: {}", r.sn, text::log_escape(p.cmd_id),
               text::log_escape(p.table_name), parsed.counted.value_or(-1));
    count = static_cast<std::size_t>(std::max<std::int64_t>(0, parsed.counted.value_or(0)));
  } else {
    count += add_table(parsed.entries, parsed.kind, u, batch);
  }
  log_->debug("[sn={}] [cmd={}] querydata {} package {}/{}: {} record(s)", r.sn,
              text::log_escape(p.cmd_id), text::log_escape(p.table_name), p.pack_index.value_or(1),
              p.pack_count.value_or(1), count);
  base_.commit_and_answer(r, std::move(batch),
                          security::render_table_count_answer(p.table_name, count));
}

void SecurityService::device_command(Request& r) {
  auto parsed = parse_devicecmd(r.req.body());
  UploadContext u;
  u.sn = r.sn;
  u.received_ms = r.now_ms;
  u.endpoint = "devicecmd";
  WriteBatch batch = std::move(r.pending);
  add_problems(parsed.problems, u, batch);
  std::vector<CommandQueue::Result> results;
  for (const auto& c : parsed.confirmations) {
    auto sub = security::sub_controller_sn(c);
    if (security::queued_for_sub_controller(c)) {
      // Appendix 15: the master took it for a sub-controller; the final
      // result follows in a later devicecmd.
      log_->debug("[sn={}] [cmd={}] queued for sub-controller {}", r.sn, text::log_escape(c.id),
                  text::log_escape(sub.value_or("?")));
      continue;
    }
    auto id = to_int64(c.id);
    if (!id) {
      continue;
    }
    log_->debug("[sn={}] [cmd={}] result Return={} CMD={}{}", r.sn, text::log_escape(c.id),
                c.return_code, text::log_escape(c.cmd),
                sub ? " sub-controller " + text::log_escape(*sub) : std::string());
    results.push_back(
        {*id, c.return_code,
         std::string(security::return_code_name(c.return_code, security::PushFlavour::Security)),
         c.raw});
  }
  std::vector<CommandRecord> changed;
  std::vector<CommandQueue::Refusal> refused;
  ctx_.commands.complete(r.sn, results, batch, changed, &refused);
  base_.refused_results(r, refused);
  base_.read_back(r, changed, batch);
  base_.commit_and_answer(r, std::move(batch), std::string(security::kOkAnswer),
                          std::move(changed));
}

}  // namespace pushgate::adapters::zkpush
