#include "adapters/zkpush/zkpush_session.hpp"

#include <atomic>
#include <charconv>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include "adapters/zkpush/zkpush_commands.hpp"
#include "adapters/zkpush/zkpush_normalize.hpp"
#include "adapters/zkpush/zkpush_security_protocol.hpp"
#include "adapters/zkpush/zkpush_security_session.hpp"
#include "gateway/event_json.hpp"
#include "gateway/store/store.hpp"
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

metrics::Counter& refused_counter(metrics::Registry& m, std::string_view reason) {
  return m.counter("pushgate_refused_requests_total", "Terminal requests refused, by reason",
                   {{"reason", std::string(reason)}});
}

}  // namespace

ZkpushService::ZkpushService(AdapterContext& ctx, ZkpushConfig config)
    : ctx_(ctx),
      config_(std::make_shared<const ZkpushConfig>(std::move(config))),
      log_(logger(Component::Zkpush)),
      committed_uploads_(ctx.metrics.counter("pushgate_zkpush_uploads_total",
                                             "Uploads committed and answered OK")),
      failed_uploads_(ctx.metrics.counter(
          "pushgate_zkpush_uploads_failed_total",
          "Uploads answered non-OK because the store could not commit in time")),
      parse_problems_(ctx.metrics.counter("pushgate_zkpush_parse_problems_total",
                                          "Lines terminals sent that could not be parsed")),
      long_fields_(
          ctx.metrics.counter("pushgate_zkpush_long_fields_total",
                              "Records quarantined for a text field over zkpush.max_field_bytes")),
      security_(std::make_shared<SecurityService>(*this)) {}

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
  if (sn == nullptr || sn->empty() || sn->size() > 64) {
    // Without a serial nothing can be attributed; a terminal always sends it.
    refuse(*r, bhttp::status::bad_request, "missing_sn", "SN required\n");
    return;
  }
  r->sn = *sn;
  if (!ctx_.terminals.source_allowed(r->sn, remote_ip(r->info))) {
    // A serial speaking from outside its configured networks: someone else
    // may be using its name. Refuse loudly, store nothing.
    log_->warn("[sn={}] refused: request from {} is outside the terminal's networks", r->sn,
               remote_ip(r->info));
    refuse(*r, bhttp::status::forbidden, "wrong_network", "Device refused\n");
    return;
  }
  bool persist = false;
  r->terminal = ctx_.terminals.seen(r->sn, remote_ip(r->info), r->now_ms, persist);
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
      ctx_.store.append(std::move(r->pending), [](CommitResult) {});
    }
    // Security PUSH §4.4: a refused registration is answered 406.
    refuse(*r,
           security_endpoint == security::SecurityEndpoint::Registry ? bhttp::status::not_acceptable
                                                                     : bhttp::status::forbidden,
           "terminal_refused", "Device refused\n");
    return;
  }
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
  r.terminal = ctx_.terminals.update(r.sn, [&](TerminalRecord& t) {
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
    log_->info("[sn={}] handshake from a pending terminal; its data is refused until approved",
               r.sn);
  } else {
    log_->info("[sn={}] handshake pushver={} from {}", r.sn, pushver ? *pushver : "?",
               r.terminal.ip);
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
      r.terminal = ctx_.terminals.update(r.sn, [&](TerminalRecord& t) {
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
    log_->debug("[sn={}] {} line(s) of table={} quarantined", r.sn, problems, u.table);
  }
  // Everything the batch needs is copied out of the body: free it now rather
  // than hold it until the commit answers.
  std::string().swap(r.req.body());
  commit_and_answer(r, std::move(batch), std::move(ok_body));
}

void ZkpushService::poll(Request& r) {
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
    r.terminal = ctx_.terminals.update(r.sn, [&](TerminalRecord& t) {
      t.info_json = dump_json(j);
      if (!parsed.info.firmware.empty()) {
        t.firmware = parsed.info.firmware;
      }
    });
    r.pending.ops.push_back(TerminalRegistry::persist_op(r.terminal));
  }
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
    log_->debug("[sn={}] [cmd={}] result Return={} CMD={}", r.sn, c.id, c.return_code, c.cmd);
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
      r.terminal =
          ctx_.terminals.update(r.sn, [&](TerminalRecord& t) { merge_options(t, c.extra); });
      batch.ops.push_back(TerminalRegistry::persist_op(r.terminal));
    }
  }
  std::vector<CommandRecord> changed;
  ctx_.commands.complete(r.sn, results, batch, changed);
  // Results are committed before OK: a terminal that does not hear OK sends
  // them again, and a result for a finished command is ignored.
  commit_and_answer(r, std::move(batch), "OK", std::move(changed));
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
  ctx_.store.append(std::move(owned),
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
  r.reply.send(std::move(res));
}

void ZkpushService::refuse(Request& r, bhttp::status status, std::string_view reason,
                           std::string body) {
  refused_counter(ctx_.metrics, reason).inc();
  log_->debug("[sn={}] refused {} {}: {}", r.sn.empty() ? "-" : r.sn,
              std::string(r.req.method_string()), std::string(r.req.target()), reason);
  answer(r, status, std::move(body));
}

}  // namespace pushgate::adapters::zkpush
