// Security PUSH service: registration, handshake, push config, sessions, token check.
#include "adapters/zkpush/zkpush_security_session.hpp"

#include <openssl/rand.h>

#include <atomic>

#include "adapters/zkpush/zkpush_commands.hpp"
#include "adapters/zkpush/zkpush_device_model.hpp"
#include "adapters/zkpush/zkpush_security_session_support.hpp"
#include "gateway/device_text.hpp"
#include "gateway/doors.hpp"
#include "gateway/event_json.hpp"
#include "gateway/event_log.hpp"

namespace pushgate::adapters::zkpush {

namespace bhttp = boost::beast::http;
using security_session_detail::parse_object;

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

std::string remote_ip_of(const http::RequestInfo& info) {
  return info.remote.address().to_string();
}

}  // namespace

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
      if (!s.token || s.token_code != s.registry_code || s.token_session != s.session_id) {
        s.token = security::compute_token(s.registry_code, r.sn, s.session_id);
        s.token_code = s.registry_code;
        s.token_session = s.session_id;
      }
      const auto& expected = s.token;
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

}  // namespace pushgate::adapters::zkpush
