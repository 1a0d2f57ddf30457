#include "adapters/zkpush/zkpush_session.hpp"

#include <atomic>
#include <charconv>
#include <map>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include "adapters/zkpush/zkpush_commands.hpp"
#include "adapters/zkpush/zkpush_device_model.hpp"
#include "adapters/zkpush/zkpush_normalize.hpp"
#include "adapters/zkpush/zkpush_security_protocol.hpp"
#include "adapters/zkpush/zkpush_security_session.hpp"
#include "adapters/zkpush/zkpush_text.hpp"
#include "gateway/api/router.hpp"
#include "gateway/command_verification.hpp"
#include "gateway/device_text.hpp"
#include "gateway/event_json.hpp"
#include "gateway/terminals.hpp"

namespace pushgate::adapters::zkpush {

namespace bhttp = boost::beast::http;
namespace net = boost::asio;

namespace {

std::string endpoint_name(Endpoint e) {
  switch (e) {
    case Endpoint::Cdata:
      return "cdata";
    case Endpoint::Fdata:
      return "fdata";
    case Endpoint::GetRequest:
      return "getrequest";
    case Endpoint::DeviceCmd:
      return "devicecmd";
    case Endpoint::Ping:
      return "ping";
    case Endpoint::Exchange:
      return "exchange";
    case Endpoint::File:
      return "file";
    case Endpoint::Unknown:
      break;
  }
  return "unknown";
}

std::string remote_ip(const http::RequestInfo& info) {
  return info.remote.address().to_string();
}

// Adds key=value pairs a terminal reported (table=options, CMD=INFO) to
// what is kept of its options; later values win.
void merge_options(TerminalRecord& t, const KeyValues& pairs) {
  auto merged =
      nlohmann::json::parse(t.options_json.empty() ? "{}" : t.options_json, nullptr, false);
  if (!merged.is_object()) {
    merged = nlohmann::json::object();
  }
  for (const auto& kv : pairs) {
    merged[kv.key] = kv.value;
  }
  t.options_json = dump_json(merged);
}

// The value a terminal reported for `key` (names compared ignoring case
// and a leading '~'), from what is kept of its options.
std::optional<std::string> reported_option(const std::string& options_json, std::string_view key) {
  auto strip = [](std::string_view k) { return !k.empty() && k.front() == '~' ? k.substr(1) : k; };
  auto j = nlohmann::json::parse(options_json.empty() ? "{}" : options_json, nullptr, false);
  if (!j.is_object()) {
    return std::nullopt;
  }
  for (const auto& [k, v] : j.items()) {
    if (iequals(strip(k), strip(key))) {
      return v.is_string() ? v.get<std::string>() : v.dump();
    }
  }
  return std::nullopt;
}

// A string parameter, "" when absent or not a string (params come from
// users: never let a type mismatch throw on the io_context).
std::string param_text(const nlohmann::json& params, const char* key) {
  if (!params.is_object() || !params.contains(key)) {
    return {};
  }
  const auto& v = params.at(key);
  return v.is_string() ? v.get<std::string>() : (v.is_number() ? v.dump() : std::string());
}

// Bodies that carry binary images: their bytes are not text and stay as sent.
bool binary_body(Endpoint endpoint, const QueryResult& query) {
  if (endpoint == Endpoint::Fdata) {
    return true;
  }
  const std::string* table = query.find("table");
  return table != nullptr && iequals(*table, "ATTPHOTO");
}

// The parsers read the converted body, so the records carry converted lines
// as `raw`; put the bytes the terminal sent back there. Conversion keeps LF
// and every ASCII byte, so line i of one body is line i of the other.
void restore_raw(WriteBatch& batch, std::string_view converted, std::string_view original) {
  std::map<std::string_view, std::string_view> lines;
  lines.emplace(converted, original);
  auto c_lines = zkpush::text::split(converted, '\n');
  auto o_lines = zkpush::text::split(original, '\n');
  if (c_lines.size() == o_lines.size()) {
    for (std::size_t i = 0; i < c_lines.size(); ++i) {
      lines.emplace(c_lines[i], o_lines[i]);
      auto c = c_lines[i];
      auto o = o_lines[i];
      while (!c.empty() && !o.empty() && c.back() == '\r' && o.back() == '\r') {
        c.remove_suffix(1);
        o.remove_suffix(1);
        lines.emplace(c, o);
      }
    }
  }
  auto restore = [&lines](std::string& raw) {
    if (auto it = lines.find(raw); it != lines.end()) {
      raw = std::string(it->second);
    }
  };
  for (auto& e : batch.events) {
    restore(e.raw);
  }
  for (auto& q : batch.quarantine) {
    restore(q.raw);
  }
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
  add_capture_routes();
}

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
  ctx_.metrics
      .counter("pushgate_zkpush_requests_total", "Terminal requests, by endpoint",
               {{"endpoint", endpoint_name(r->endpoint)}})
      .inc();

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
  auto before = ctx_.terminals.find(r->sn);
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
  if (before && before->last_seen_ms > 0) {
    check_gap(*r, before->last_seen_ms);
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

void ZkpushService::handshake(Request& r) {
  const std::string* options = r.query.find("options");
  if (options == nullptr) {
    // GET /iclock/cdata without options=all is not a handshake (the demo
    // answers "Unknow Command" too).
    refuse(r, bhttp::status::bad_request, "bad_handshake", "Unknown command\n");
    return;
  }
  auto cfg = std::atomic_load(&config_);
  auto pushver = r.query.find("pushver");
  r.terminal = update_described(ctx_.terminals, r.sn, [&](TerminalRecord& t) {
    t.flavour = "attendance";
    if (pushver != nullptr && !pushver->empty()) {
      t.push_version = *pushver;
    }
  });
  r.pending.ops.push_back(TerminalRegistry::persist_op(r.terminal));

  HandshakeOptions h;
  h.serial_number = r.sn;
  // Stamps are not used to decide what to resend (their flaw is documented
  // in the spec): pushgate deduplicates instead, so "9999" tells the
  // terminal it may keep going from where it is.
  h.attlog_stamp = "9999";
  h.operlog_stamp = "9999";
  h.attphoto_stamp = "9999";
  h.biodata_stamp = "9999";
  h.error_delay = cfg->error_delay_s;
  h.delay = cfg->delay_s;
  h.trans_times = cfg->trans_times;
  h.trans_interval = cfg->trans_interval_min;
  h.trans_flag = cfg->trans_flag;
  h.realtime = cfg->realtime;
  h.push_options = cfg->push_options;
  h.push_options_flag = true;
  const Zone& zone = ctx_.terminals.zone_for(r.sn);
  h.time_zone = render_timezone(zone.offset_minutes_at(ctx_.clock.now()));
  if (r.terminal.state == "pending") {
    if (auto suppressed = log_limiter_.admit("pending_handshake", r.now_ms)) {
      log_->info("[sn={}] handshake from a pending terminal; its data is refused until approved{}",
                 r.sn, suppressed_note(*suppressed));
    }
  } else {
    log_->info("[sn={}] handshake pushver={} from {}", r.sn,
               pushver ? pushgate::text::log_escape(*pushver) : "?", r.terminal.ip);
  }
  commit_and_answer(r, std::move(r.pending), render_handshake(h));
}

void ZkpushService::upload(Request& r) {
  if (r.terminal.state == "pending") {
    // Held until approved: a non-OK answer makes the terminal keep its
    // records and resend them later.
    refuse(r, bhttp::status::forbidden, "terminal_pending", "Device pending approval\n");
    return;
  }
  const std::string* table_text = r.query.find("table");
  UploadContext u;
  u.sn = r.sn;
  u.zone = &ctx_.terminals.zone_for(r.sn);
  u.received_ms = r.now_ms;
  u.endpoint = endpoint_name(r.endpoint);
  u.table = table_text != nullptr ? *table_text : std::string();
  if (auto pack = query_answer_pack(r.query)) {
    // The answer to one of our DATA QUERY commands: tie its records to it.
    std::int64_t id = 0;
    auto [p, ec] =
        std::from_chars(pack->cmd_id.data(), pack->cmd_id.data() + pack->cmd_id.size(), id);
    if (ec == std::errc{} && p == pack->cmd_id.data() + pack->cmd_id.size()) {
      u.command_id = id;
    }
  }
  auto cfg = std::atomic_load(&config_);
  u.max_field_bytes = cfg->max_field_bytes;
  u.long_fields = &long_fields_;
  const std::string& body = r.req.body();
  WriteBatch batch = std::move(r.pending);
  std::size_t handled = 0;
  std::string ok_body;
  std::size_t problems_before = batch.quarantine.size();
  // Records go straight from the parser into the batch, one at a time: the
  // body and the batch are the only whole copies of an upload in memory.
  auto on_problem = [&](ParseProblem&& p) {
    ++handled;
    add_problem(std::move(p), u, batch);
  };
  auto typed = [&](TypedTable table) {
    for_each_typed_line(
        body, table,
        [&](OperlogEntry&& e) {
          ++handled;
          add_operlog_entry(std::move(e), u, batch);
        },
        on_problem);
    ok_body = "OK: " + std::to_string(handled);
  };
  switch (classify_table(u.table)) {
    case UploadTable::AttLog:
      for_each_attlog(
          body, AttlogLayout::Auto,
          [&](AttlogRecord&& rec) {
            ++handled;
            add_attlog_record(std::move(rec), u, batch);
          },
          on_problem);
      ok_body = "OK: " + std::to_string(handled);
      break;
    case UploadTable::OperLog:
      typed(TypedTable::OperLog);
      break;
    case UploadTable::BioData:
      typed(TypedTable::BioData);
      break;
    case UploadTable::ErrorLog:
      typed(TypedTable::ErrorLog);
      break;
    case UploadTable::AttPhoto:
      add_attphoto(parse_attphoto(body), body, u, batch);
      ok_body = "OK";
      break;
    case UploadTable::Options: {
      auto parsed = parse_options(body);
      add_problems(parsed.problems, u, batch);
      r.terminal = update_described(ctx_.terminals, r.sn, [&](TerminalRecord& t) {
        merge_options(t, parsed.options);
        if (auto fw = parsed.find("FirmVer")) {
          t.firmware = *fw;
        }
        if (auto dt = parsed.find("DeviceType")) {
          t.device_type = *dt;
        } else if (auto dn = parsed.find("DeviceName")) {
          t.device_type = *dn;
        }
      });
      batch.ops.push_back(TerminalRegistry::persist_op(r.terminal));
      ok_body = "OK";
      break;
    }
    case UploadTable::IdCard:
    case UploadTable::Unknown:
      // A table we do not process: keep the bytes, and say OK so the terminal
      // does not resend it forever.
      if (!body.empty()) {
        quarantine_body(body, "unsupported table \"" + u.table + "\"", u, batch);
      }
      ok_body = "OK";
      break;
  }
  std::size_t problems = batch.quarantine.size() - problems_before;
  if (problems > 0) {
    parse_problems_.inc(problems);
    log_->debug("[sn={}] {} line(s) of table={} quarantined", r.sn, problems,
                pushgate::text::log_escape(u.table));
  }
  // Everything the batch needs is copied out of the body: put the bytes as
  // sent back into `raw` (the parsers read the converted text), then free
  // both copies now rather than hold them until the commit answers.
  if (r.original_body) {
    restore_raw(batch, r.req.body(), *r.original_body);
    r.original_body.reset();
  }
  std::string().swap(r.req.body());
  commit_and_answer(r, std::move(batch), std::move(ok_body));
}

void ZkpushService::note_info(Request& r) {
  if (const std::string* info = r.query.find("INFO")) {
    auto parsed = parse_info(*info);
    nlohmann::json j = {{"firmware", parsed.info.firmware},
                        {"users", parsed.info.users.value_or(-1)},
                        {"fingerprints", parsed.info.fingerprints.value_or(-1)},
                        {"attlogs", parsed.info.attlogs.value_or(-1)},
                        {"ip", parsed.info.ip},
                        {"fingerprint_algorithm", parsed.info.fingerprint_algorithm},
                        {"face_algorithm", parsed.info.face_algorithm},
                        {"faces", parsed.info.faces.value_or(-1)},
                        {"functions", parsed.info.functions}};
    r.terminal = update_described(ctx_.terminals, r.sn, [&](TerminalRecord& t) {
      // Merged, not replaced: a Security PUSH terminal's registration and
      // session are kept in the same JSON.
      auto merged = nlohmann::json::parse(t.info_json.empty() ? "{}" : t.info_json, nullptr, false);
      if (!merged.is_object()) {
        merged = nlohmann::json::object();
      }
      merged.update(j);
      t.info_json = dump_json(merged);
      if (!parsed.info.firmware.empty()) {
        t.firmware = parsed.info.firmware;
      }
    });
    r.pending.ops.push_back(TerminalRegistry::persist_op(r.terminal));
  }
}

void ZkpushService::poll(Request& r) {
  note_info(r);
  if (r.terminal.state == "pending") {
    // Nothing is delivered to a terminal not yet approved.
    commit_and_answer(r, std::move(r.pending), "OK");
    return;
  }
  WriteBatch batch = std::move(r.pending);
  std::vector<CommandRecord> changed;
  auto dialect = dialect_for(r.terminal.flavour, r.terminal.push_version);
  auto format = terminal_format_of(r.terminal.options_json);
  auto lines = ctx_.commands.deliver(
      r.sn,
      [&](const CommandRecord& c) {
        return render_for_terminal(c, dialect, r.terminal.push_version, format, r.sn);
      },
      batch, changed);
  // The commands are marked sent in the same commit; the terminal hears them
  // only after that. With nothing to deliver, "OK" keeps it polling.
  std::string body;
  for (const auto& l : lines) {
    body += l;
    body += '\n';
  }
  if (body.empty()) {
    body = "OK";
  } else {
    log_->debug("[sn={}] delivering {} command(s)", r.sn, lines.size());
  }
  commit_and_answer(r, std::move(batch), std::move(body), std::move(changed));
}

void ZkpushService::device_command(Request& r) {
  auto parsed = parse_devicecmd(r.req.body());
  UploadContext u;
  u.sn = r.sn;
  u.received_ms = r.now_ms;
  u.endpoint = "devicecmd";
  WriteBatch batch = std::move(r.pending);
  add_problems(parsed.problems, u, batch);
  std::vector<CommandQueue::Result> results;
  for (const auto& c : parsed.confirmations) {
    log_->debug("[sn={}] [cmd={}] result Return={} CMD={}", r.sn, pushgate::text::log_escape(c.id),
                c.return_code, pushgate::text::log_escape(c.cmd));
    std::int64_t id = 0;
    auto [p, ec] = std::from_chars(c.id.data(), c.id.data() + c.id.size(), id);
    if (ec == std::errc{} && p == c.id.data() + c.id.size()) {
      results.push_back(
          {id, c.return_code,
           std::string(security::return_code_name(
               c.return_code, r.terminal.flavour == "access" ? security::PushFlavour::Security
                                                             : security::PushFlavour::Attendance)),
           c.raw});
    }
    if (iequals(c.cmd, "INFO") && !c.extra.empty()) {
      r.terminal = update_described(ctx_.terminals, r.sn,
                                    [&](TerminalRecord& t) { merge_options(t, c.extra); });
      batch.ops.push_back(TerminalRegistry::persist_op(r.terminal));
    }
  }
  std::vector<CommandRecord> changed;
  std::vector<CommandQueue::Refusal> refused;
  ctx_.commands.complete(r.sn, results, batch, changed, &refused);
  refused_results(r, refused);
  read_back(r, changed, batch);
  // Results are committed before OK: a terminal that does not hear OK sends
  // them again, and a result for a finished command is ignored.
  commit_and_answer(r, std::move(batch), "OK", std::move(changed));
}

void ZkpushService::check_gap(Request& r, std::int64_t last_seen_ms) {
  auto cfg = std::atomic_load(&config_);
  if (cfg->gap_backfill_after_s <= 0 || r.terminal.state != "accepted") {
    return;
  }
  const std::int64_t silence_ms = r.now_ms - last_seen_ms;
  const bool long_silence = silence_ms > cfg->gap_backfill_after_s * 1000;
  // Heard from before pushgated (re)started: the terminal may have punched
  // while we were down, and some firmware never re-uploads those.
  const bool since_start = last_seen_ms < started_ms_;
  if (!long_silence && !since_start) {
    return;
  }
  if (!long_silence) {
    // A crash loop must not query every terminal at every restart: after a
    // short outage, once per gap_backfill_after_s (the last query is kept in
    // the terminal's info JSON, across restarts).
    auto info = nlohmann::json::parse(r.terminal.info_json.empty() ? "{}" : r.terminal.info_json,
                                      nullptr, false);
    if (info.is_object() && info.contains("last_gap") && info["last_gap"].is_object() &&
        info["last_gap"].contains("noted_ms") && info["last_gap"]["noted_ms"].is_number_integer() &&
        r.now_ms - info["last_gap"]["noted_ms"].get<std::int64_t>() <
            cfg->gap_backfill_after_s * 1000) {
      return;
    }
  }
  {
    std::lock_guard lock(gap_mutex_);
    // Once per gap: concurrent requests of one terminal all see the same
    // last_seen_ms.
    auto& noted = gap_noted_[r.sn];
    if (noted >= last_seen_ms) {
      return;
    }
    noted = last_seen_ms;
  }
  const Zone& zone = ctx_.terminals.zone_for(r.sn);
  auto local = [&zone](std::int64_t ms) {
    auto l = zone.to_local(std::chrono::system_clock::time_point(std::chrono::milliseconds(ms)));
    return format_device_time({l.year, l.month, l.day, l.hour, l.minute, l.second});
  };
  // A minute before the last contact: punches of that last minute may not
  // have been uploaded either. The end is now, in the terminal's time.
  const std::string from = local(last_seen_ms - 60000);
  const std::string to = local(r.now_ms);
  CommandRequest q = commands::query_records(r.sn, from, to);
  q.origin = "gateway";
  q.client_ref = "gap-backfill-" + std::to_string(last_seen_ms);
  nlohmann::json gap = {{"from", from},
                        {"to", to},
                        {"silence_s", silence_ms / 1000},
                        {"reason", long_silence ? "silence" : "pushgated restarted"},
                        {"noted_ms", r.now_ms}};
  r.terminal = update_described(ctx_.terminals, r.sn, [&](TerminalRecord& t) {
    auto info = nlohmann::json::parse(t.info_json.empty() ? "{}" : t.info_json, nullptr, false);
    if (!info.is_object()) {
      info = nlohmann::json::object();
    }
    info["last_gap"] = gap;
    t.info_json = dump_json(info);
  });
  r.pending.ops.push_back(TerminalRegistry::persist_op(r.terminal));
  gap_backfills_.inc();
  log_->info("[sn={}] back after {} s ({}): querying its records {} .. {}", r.sn, silence_ms / 1000,
             long_silence ? "silence" : "pushgated restarted", from, to);
  ctx_.commands.enqueue(
      std::move(q), [log = log_, sn = r.sn](boost::system::error_code ec, std::string error,
                                            CommandRecord rec, bool) {
        if (ec || !error.empty()) {
          log->warn("[sn={}] gap backfill query not queued: {}", sn, ec ? ec.message() : error);
          return;
        }
        log->info("[sn={}] [cmd={}] gap backfill query queued", sn, rec.id);
      });
}

void ZkpushService::read_back(Request& r, const std::vector<CommandRecord>& changed,
                              WriteBatch& batch) {
  for (const auto& c : changed) {
    if (c.verb == "set_option" && c.state == CommandState::Done && c.params.is_object() &&
        c.params.contains("verify") && c.params.at("verify").is_boolean() &&
        c.params.at("verify").get<bool>()) {
      // Return=0 means the firmware took the command, not that it applied
      // it: ask for the option back and compare.
      CommandRequest q = commands::get_options(c.terminal_sn, {param_text(c.params, "key")});
      q.origin = "gateway";
      q.params["verify_of"] = c.id;
      q.params["expect"] = param_text(c.params, "value");
      ctx_.commands.enqueue(std::move(q), [log = log_, sn = c.terminal_sn, id = c.id](
                                              boost::system::error_code ec, std::string error,
                                              CommandRecord rec, bool) {
        if (ec || !error.empty()) {
          log->warn("[sn={}] [cmd={}] read-back not queued: {}", sn, id, ec ? ec.message() : error);
          return;
        }
        log->info("[sn={}] [cmd={}] Return=0; read-back queued as cmd={}", sn, id, rec.id);
      });
      continue;
    }
    if (c.verb != "get_options" || !c.params.is_object() || !c.params.contains("verify_of") ||
        !c.params.at("verify_of").is_number_integer()) {
      continue;
    }
    auto of = c.params.at("verify_of").get<std::int64_t>();
    std::string key;
    if (c.params.contains("keys") && c.params.at("keys").is_array() &&
        !c.params.at("keys").empty() && c.params.at("keys")[0].is_string()) {
      key = c.params.at("keys")[0].get<std::string>();
    }
    auto expect = param_text(c.params, "expect");
    bool applied = true;
    std::string outcome;
    if (c.state != CommandState::Done) {
      outcome = "not verified: the read-back failed (" + c.error + ")";
    } else {
      auto t = ctx_.terminals.find(r.sn);
      auto actual = reported_option(t ? t->options_json : r.terminal.options_json, key);
      applied = actual && *actual == expect;
      outcome = applied ? "verified"
                        : "not applied: the terminal reports " + key + "=" +
                              actual.value_or("(nothing)") + " after Return=0";
    }
    log_->info("[sn={}] [cmd={}] set_option {}={}: {}", r.sn, of, key, expect, outcome);
    batch.ops.push_back(record_command_verification(of, applied, std::move(outcome)));
  }
}

void ZkpushService::refused_results(const Request& r,
                                    const std::vector<CommandQueue::Refusal>& refused) {
  // Still answered OK: nothing the terminal could resend would count, and a
  // genuine terminal with a stale result must not be stuck resending it.
  for (const auto& f : refused) {
    ctx_.metrics
        .counter("pushgate_zkpush_command_results_refused_total",
                 "Command results not counted: not from the terminal the command was sent to, "
                 "or before it was sent",
                 {{"reason", f.reason}})
        .inc();
    if (auto suppressed = log_limiter_.admit("result_" + f.reason, r.now_ms)) {
      log_->warn("[sn={}] [cmd={}] result from {} ignored: {}{}", r.sn, f.id, remote_ip(r.info),
                 f.reason == "other_terminal" ? "the command is another terminal's"
                                              : "the command was not sent to this terminal yet",
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
