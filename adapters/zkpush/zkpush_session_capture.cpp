// Attendance PUSH service: traffic captures (zkpush.capture_terminals and the capture REST routes).
#include "adapters/zkpush/zkpush_session.hpp"

#include <atomic>

#include <nlohmann/json.hpp>

#include "adapters/zkpush/zkpush_text.hpp"
#include "gateway/api/router.hpp"
#include "gateway/event_json.hpp"
#include "gateway/terminals.hpp"

namespace pushgate::adapters::zkpush {

namespace bhttp = boost::beast::http;

void ZkpushService::add_capture_routes() {
  auto captures = captures_;
  TerminalRegistry* registry = &ctx_.terminals;
  const Clock* clock = &ctx_.clock;
  auto status_json = [](const std::string& sn, const std::optional<CaptureStatus>& st) {
    nlohmann::json j = {{"sn", sn}, {"active", st && st->active}};
    if (st) {
      j["file"] = st->file;
      j["bytes"] = st->bytes;
      j["redact"] = st->redact;
      j["until"] = st->until_ms == 0
                       ? nlohmann::json(nullptr)
                       : nlohmann::json(CaptureRegistry::utc_stamp(st->until_ms, false));
      if (!st->stopped.empty()) {
        j["stopped"] = st->stopped;
      }
    }
    return dump_json(j) + "\n";
  };
  // POST /api/v1/terminals/{sn}/capture?minutes=N[&redact=false]: captures the
  // terminal's traffic for N minutes (adapters/zkpush/README.md).
  ctx_.router.add(
      bhttp::verb::post, "/api/v1/terminals/{sn}/capture",
      [captures, registry, clock, status_json](http::Request&& req, const http::RequestInfo&,
                                               const api::PathParams& p, http::Reply reply) {
        const auto& sn = p.at("sn");
        if (!registry->find(sn)) {
          reply.send(api::json_error(req, bhttp::status::not_found, "unknown terminal", sn));
          return;
        }
        const QueryResult query = parse_query(split_target(req.target()).query);
        const std::string* minutes_text = query.find("minutes");
        int minutes = 0;
        if (minutes_text != nullptr) {
          auto [ptr, ec] = std::from_chars(minutes_text->data(),
                                           minutes_text->data() + minutes_text->size(), minutes);
          if (ec != std::errc() || ptr != minutes_text->data() + minutes_text->size()) {
            minutes = 0;
          }
        }
        if (minutes < 1 || minutes > 1440) {
          reply.send(api::json_error(req, bhttp::status::bad_request, "invalid field",
                                     "minutes: a whole number of minutes from 1 to 1440"));
          return;
        }
        bool redact = true;
        if (const std::string* r = query.find("redact"); r != nullptr) {
          if (*r != "true" && *r != "false") {
            reply.send(api::json_error(req, bhttp::status::bad_request, "invalid field",
                                       "redact: true or false"));
            return;
          }
          redact = *r == "true";
        }
        const std::int64_t now = clock->now_ms();
        if (auto err = captures->start(sn, now, now + std::int64_t{minutes} * 60000, redact);
            !err.empty()) {
          logger("api")->warn("[sn={}] capture not started: {}", sn, err);
          reply.send(api::json_error(req, bhttp::status::internal_server_error,
                                     "capture not started", err));
          return;
        }
        logger("api")->info("[sn={}] capturing its traffic for {} min{}", sn, minutes,
                            redact ? "" : " (templates and photos not redacted)");
        reply.send(
            api::json_response(req, bhttp::status::ok, status_json(sn, captures->status(sn, now))));
      });
  ctx_.router.add(
      bhttp::verb::get, "/api/v1/terminals/{sn}/capture",
      [captures, registry, clock, status_json](http::Request&& req, const http::RequestInfo&,
                                               const api::PathParams& p, http::Reply reply) {
        const auto& sn = p.at("sn");
        if (!registry->find(sn)) {
          reply.send(api::json_error(req, bhttp::status::not_found, "unknown terminal", sn));
          return;
        }
        reply.send(api::json_response(req, bhttp::status::ok,
                                      status_json(sn, captures->status(sn, clock->now_ms()))));
      });
}

void ZkpushService::capture(const Request& r, const http::Response& res) {
  CaptureExchange x;
  const std::string method(r.req.method_string());
  const std::string version = r.req.version() == 10 ? "HTTP/1.0" : "HTTP/1.1";
  const std::string reason(res.reason());
  x.method = method;
  x.target = r.req.target();
  x.version = version;
  for (const auto& field : r.req) {
    x.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  x.body = *r.captured_body;
  x.status = static_cast<int>(res.result_int());
  x.reason = reason;
  for (const auto& field : res) {
    x.answer_headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  x.answer_body = res.body();
  if (auto err = captures_->write(r.sn, ctx_.clock.now_ms(), x); !err.empty()) {
    log_->warn("[sn={}] capture stopped: {}", r.sn, err);
  }
}

}  // namespace pushgate::adapters::zkpush
