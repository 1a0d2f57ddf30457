// Security PUSH service: construction, which requests it claims, endpoint dispatch.
#include "adapters/zkpush/zkpush_security_session.hpp"

#include <atomic>

#include <boost/asio/post.hpp>

#include "adapters/zkpush/zkpush_security_session_support.hpp"
#include "gateway/api/router.hpp"
#include "gateway/doors.hpp"
#include "gateway/event_json.hpp"
#include "gateway/event_log.hpp"

namespace pushgate::adapters::zkpush {

namespace bhttp = boost::beast::http;
using security::SecurityEndpoint;
using security_session_detail::parse_object;

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

}  // namespace pushgate::adapters::zkpush
