// Attendance PUSH service: construction, request admission and dispatch, commit and answer.
#include "adapters/zkpush/zkpush_session.hpp"

#include <atomic>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include "adapters/zkpush/zkpush_commands.hpp"
#include "adapters/zkpush/zkpush_normalize.hpp"
#include "adapters/zkpush/zkpush_security_protocol.hpp"
#include "adapters/zkpush/zkpush_security_session.hpp"
#include "adapters/zkpush/zkpush_session_support.hpp"
#include "adapters/zkpush/zkpush_text.hpp"
#include "gateway/device_text.hpp"
#include "gateway/event_json.hpp"
#include "gateway/terminals.hpp"

namespace pushgate::adapters::zkpush {

namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using session_detail::endpoint_name;
using session_detail::remote_ip;
using session_detail::restore_raw;

namespace {

// Bodies that carry binary images: their bytes are not text and stay as sent.
bool binary_body(Endpoint endpoint, const QueryResult& query) {
  if (endpoint == Endpoint::Fdata) {
    return true;
  }
  const std::string* table = query.find("table");
  return table != nullptr && iequals(*table, "ATTPHOTO");
}

metrics::Counter& refused_counter(metrics::Registry& m, std::string_view reason) {
  return m.counter("pushgate_refused_requests_total", "Terminal requests refused, by reason",
                   {{"reason", std::string(reason)}});
}

}  // namespace

ZkpushService::ZkpushService(AdapterContext& ctx, ZkpushConfig config)
    : ctx_(ctx),
      config_(std::make_shared<const ZkpushConfig>(std::move(config))),
      log_(logger("zkpush")),
      committed_uploads_(ctx.metrics.counter("pushgate_zkpush_uploads_total",
                                             "Uploads committed and answered OK")),
      failed_uploads_(ctx.metrics.counter(
          "pushgate_zkpush_uploads_failed_total",
          "Uploads answered non-OK because the store could not commit in time")),
      parse_problems_(ctx.metrics.counter("pushgate_zkpush_parse_problems_total",
                                          "Lines terminals sent that could not be parsed")),
      gap_backfills_(ctx.metrics.counter(
          "pushgate_zkpush_gap_backfills_total",
          "Record queries queued for terminals back after a silence or a restart")),
      started_ms_(ctx.clock.now_ms()),
      text_replaced_(ctx.metrics.counter(
          "pushgate_zkpush_text_replaced_total",
          "Bytes of terminal text not valid in its encoding, replaced by U+FFFD")),
      long_fields_(
          ctx.metrics.counter("pushgate_zkpush_long_fields_total",
                              "Records quarantined for a text field over zkpush.max_field_bytes")),
      security_(std::make_shared<SecurityService>(*this)),
      captures_(std::make_shared<CaptureRegistry>(
          ctx_.data_dir.empty() ? std::filesystem::path("captures") : ctx_.data_dir / "captures",
          config_->capture_terminals, config_->capture_max_bytes, config_->capture_redact)) {
  for (std::size_t e = 0; e < requests_.size(); ++e) {
    requests_[e] =
        &ctx.metrics.counter("pushgate_zkpush_requests_total", "Terminal requests, by endpoint",
                             {{"endpoint", endpoint_name(static_cast<Endpoint>(e))}});
  }
  add_capture_routes();
}

void ZkpushService::reload(const ZkpushConfig& config) {
  std::atomic_store(&config_, std::make_shared<const ZkpushConfig>(config));
}

void ZkpushService::handle(http::Request&& req, const http::RequestInfo& info, http::Reply reply) {
  auto r = std::make_shared<Request>();
  r->req = std::move(req);
  r->info = info;
  r->reply = std::move(reply);
  r->now_ms = ctx_.clock.now_ms();
  auto target = split_target(r->req.target());
  r->endpoint = classify_endpoint(target.path);
  auto security_endpoint = security::classify_security_endpoint(target.path);
  requests_[static_cast<std::size_t>(r->endpoint)]->inc();

  if (r->endpoint == Endpoint::Unknown &&
      security_endpoint == security::SecurityEndpoint::Unknown) {
    // Not a PUSH endpoint (favicon.ico, scanners): a clear 404, nothing stored.
    refuse(*r, bhttp::status::not_found, "unknown_endpoint", "Unknown request\n");
    return;
  }
  r->query = parse_query(target.query);
  const std::string* sn = r->query.find("SN");
  if (sn == nullptr || sn->empty()) {
    // Without a serial nothing can be attributed; a terminal always sends it.
    refuse(*r, bhttp::status::bad_request, "missing_sn", "SN required\n");
    return;
  }
  if (!pushgate::text::valid_serial(*sn)) {
    // Firmware sends letters, digits, '-' and '_'; anything else (bytes that
    // are not text, CR/LF, 200 characters) is not a terminal: never stored.
    log_->warn("[sn={}] refused {} from {}: serial number is not 1-{} of [A-Za-z0-9_-]",
               pushgate::text::log_escape(*sn, 64), std::string(r->req.method_string()),
               remote_ip(r->info), pushgate::text::kMaxSerialLength);
    refuse(*r, bhttp::status::bad_request, "bad_sn", "Invalid SN\n");
    return;
  }
  r->sn = *sn;
  if (captures_->wants(r->sn, r->now_ms)) {
    // The handlers free the body before the answer; the capture keeps it as
    // sent, and its presence tells answer() to write the exchange.
    r->captured_body = r->req.body();
  }
  // Security PUSH §4.4: a refused registration is answered 406 ("If
  // registration fails, 406 instead of the registration code"); every other
  // refused request 403.
  auto refused_status = security_endpoint == security::SecurityEndpoint::Registry
                            ? bhttp::status::not_acceptable
                            : bhttp::status::forbidden;
  if (!ctx_.terminals.source_allowed(r->sn, remote_ip(r->info))) {
    // A serial speaking from outside its configured networks: someone else
    // may be using its name. Refuse loudly, store nothing.
    log_->warn("[sn={}] refused: request from {} is outside the terminal's networks", r->sn,
               remote_ip(r->info));
    refuse(*r, refused_status, "wrong_network", "Device refused\n");
    return;
  }
  bool persist = false;
  const std::int64_t last_seen_ms = ctx_.terminals.last_seen_ms(r->sn);
  auto not_admitted = TerminalRegistry::NotAdmitted::No;
  r->terminal = ctx_.terminals.seen(r->sn, remote_ip(r->info), r->now_ms, persist, &not_admitted);
  if (not_admitted != TerminalRegistry::NotAdmitted::No) {
    // A serial never seen that the policy does not admit: counted, never
    // stored, and logged at most once a minute per reason, so inventing
    // serials costs neither rows nor memory nor log space.
    bool full = not_admitted == TerminalRegistry::NotAdmitted::PendingFull;
    std::string_view reason = full ? "pending_limit" : "unknown_terminal";
    if (auto suppressed = log_limiter_.admit(reason, r->now_ms)) {
      if (full) {
        log_->warn(
            "[sn={}] refused unknown serial from {}: gateway.max_pending_terminals terminals are "
            "already pending approval{}",
            r->sn, remote_ip(r->info), suppressed_note(*suppressed));
      } else {
        log_->info(
            "[sn={}] refused unknown serial from {} (gateway.unknown_terminals = refuse; approve "
            "with POST /api/v1/terminals/{}/approve){}",
            r->sn, remote_ip(r->info), r->sn, suppressed_note(*suppressed));
      }
    }
    refuse(*r, refused_status, reason, "Device refused\n");
    return;
  }
  if (last_seen_ms > 0) {
    check_gap(*r, last_seen_ms);
  }
  if (persist) {
    r->pending.ops.push_back(TerminalRegistry::persist_op(r->terminal));
  }
  if (r->terminal.state == "refused") {
    // A refused terminal never hears OK: it keeps its records for whoever
    // should have them. Logged once a minute per terminal (the persist tick).
    if (persist) {
      log_->info(
          "[sn={}] refused terminal from {} (approve with POST /api/v1/terminals/{}/approve)",
          r->sn, r->terminal.ip, r->sn);
    }
    if (!r->pending.empty()) {
      // Keep it listed (and approvable) across restarts; its data stays out.
      ctx_.events->append(std::move(r->pending), [](CommitResult) {});
    }
    refuse(*r, refused_status, "terminal_refused", "Device refused\n");
    return;
  }
  to_utf8(*r);
  if (security_->claims(*r, security_endpoint)) {
    security_->handle(*r, security_endpoint);
    return;
  }

  switch (r->endpoint) {
    case Endpoint::Cdata:
    case Endpoint::Fdata:
      if (r->req.method() == bhttp::verb::get) {
        handshake(*r);
      } else if (r->req.method() == bhttp::verb::post) {
        upload(*r);
      } else {
        refuse(*r, bhttp::status::method_not_allowed, "bad_method", "GET or POST\n");
      }
      return;
    case Endpoint::GetRequest:
      poll(*r);
      return;
    case Endpoint::DeviceCmd:
      device_command(*r);
      return;
    case Endpoint::Ping:
      // A heartbeat during long uploads: the terminal only needs to hear OK.
      commit_and_answer(*r, std::move(r->pending), "OK");
      return;
    case Endpoint::Exchange:
      // The proprietary encryption library is not available: say so plainly;
      // terminals fall back to plain text (Encrypt is not offered).
      refuse(*r, bhttp::status::not_implemented, "encryption_unsupported",
             "Encryption not supported\n");
      return;
    case Endpoint::File:
    case Endpoint::Unknown:
      refuse(*r, bhttp::status::not_found, "unknown_endpoint", "Unknown request\n");
      return;
  }
}

void ZkpushService::to_utf8(Request& r) {
  std::string encoding = ctx_.terminals.encoding_for(r.sn);
  if (encoding.empty()) {
    encoding = std::atomic_load(&config_)->encoding;
  }
  std::size_t replaced = 0;
  for (auto& kv : r.query.params) {
    for (std::string* s : {&kv.key, &kv.value}) {
      pushgate::text::make_utf8(*s, encoding, &replaced);
    }
  }
  if (!binary_body(r.endpoint, r.query) &&
      !pushgate::text::unchanged_by_conversion(r.req.body(), encoding)) {
    std::string converted = r.req.body();
    if (pushgate::text::make_utf8(converted, encoding, &replaced)) {
      r.original_body = std::move(r.req.body());
      r.req.body() = std::move(converted);
    }
  }
  if (replaced > 0) {
    text_replaced_.inc(replaced);
    // A terminal set to another encoding does this on every upload: one line
    // a minute per terminal, the metric counts every byte.
    if (auto suppressed = log_limiter_.admit("text_replaced " + r.sn, r.now_ms)) {
      log_->info(
          "[sn={}] {} byte(s) not valid {} replaced by U+FFFD in {} (raw keeps them; set "
          "terminals.\"{}\".encoding if the terminal uses another character set){}",
          r.sn, replaced, encoding, pushgate::text::log_escape(r.req.target(), 120), r.sn,
          suppressed_note(*suppressed));
    }
  }
}

void ZkpushService::commit_and_answer(Request& r, WriteBatch&& batch, std::string ok_body,
                                      std::vector<CommandRecord> changed) {
  struct Wait {
    Request request;
    std::string ok_body;
    net::steady_timer timer;
    bool answered = false;
    Wait(Request&& req, std::string ok, const net::any_io_executor& ex)
        : request(std::move(req)), ok_body(std::move(ok)), timer(ex) {}
  };
  // Callers pass std::move(r.pending): take it before `r` is moved below,
  // or the batch would be emptied with it.
  WriteBatch owned = std::move(batch);
  if (r.original_body) {
    restore_raw(owned, r.req.body(), *r.original_body);
  }
  if (owned.empty()) {
    answer(r, bhttp::status::ok, std::move(ok_body));
    return;
  }
  auto ex = r.reply.executor();
  auto wait = std::make_shared<Wait>(std::move(r), std::move(ok_body), ex);
  auto cfg = std::atomic_load(&config_);
  wait->timer.expires_after(cfg->commit_timeout);
  wait->timer.async_wait([this, wait](boost::system::error_code ec) {
    if (ec || wait->answered) {
      return;
    }
    // The writer is stalled: answer non-OK now so the terminal keeps its
    // records; if the commit lands later, the resend is a duplicate no-op.
    wait->answered = true;
    failed_uploads_.inc();
    log_->warn("[sn={}] commit did not finish in {} ms; answered non-OK", wait->request.sn,
               std::atomic_load(&config_)->commit_timeout.count());
    answer(wait->request, bhttp::status::service_unavailable, "ERROR: storage busy, retry later\n");
  });
  ctx_.events->append(std::move(owned),
                      [this, wait, ex, changed = std::move(changed)](CommitResult result) {
                        if (!result.ec && !changed.empty()) {
                          ctx_.commands.committed(changed);
                        }
                        net::post(ex, [this, wait, result = std::move(result)]() mutable {
                          if (wait->answered) {
                            return;
                          }
                          wait->answered = true;
                          wait->timer.cancel();
                          if (result.ec) {
                            // Nothing was committed (disk full, I/O error): never OK, so the
                            // terminal keeps the records and sends them again.
                            failed_uploads_.inc();
                            answer(wait->request, bhttp::status::service_unavailable,
                                   "ERROR: storage unavailable, retry later\n");
                            return;
                          }
                          committed_uploads_.inc();
                          answer(wait->request, bhttp::status::ok, std::move(wait->ok_body));
                        });
                      });
}

void ZkpushService::answer(Request& r, bhttp::status status, std::string body) {
  http::Response res{status, r.req.version()};
  res.set(bhttp::field::content_type, "text/plain");
  // Terminals set their clock from Date.
  res.set(bhttp::field::date, format_http_date(ctx_.clock.now()));
  res.set(bhttp::field::pragma, "no-cache");
  res.set(bhttp::field::cache_control, "no-store");
  res.keep_alive(r.req.keep_alive());
  res.body() = std::move(body);
  res.prepare_payload();
  if (r.captured_body) {  // asked once, when the request came in
    capture(r, res);
  }
  r.reply.send(std::move(res));
}

void ZkpushService::refuse(Request& r, bhttp::status status, std::string_view reason,
                           std::string body) {
  refused_counter(ctx_.metrics, reason).inc();
  log_->debug("[sn={}] refused {} {}: {}", r.sn.empty() ? "-" : pushgate::text::log_escape(r.sn),
              std::string(r.req.method_string()), pushgate::text::log_escape(r.req.target(), 120),
              reason);
  answer(r, status, std::move(body));
}

}  // namespace pushgate::adapters::zkpush
