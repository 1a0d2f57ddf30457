// Security PUSH service: §10 remote identification, decided by the access service.
#include "adapters/zkpush/zkpush_security_session.hpp"

#include <memory>

#include <boost/asio/post.hpp>

#include "gateway/access_decider.hpp"
#include "gateway/event_log.hpp"

namespace pushgate::adapters::zkpush {

namespace bhttp = boost::beast::http;

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

}  // namespace pushgate::adapters::zkpush
