// Attendance PUSH service: the handshake and the cdata/fdata uploads.
#include "adapters/zkpush/zkpush_session.hpp"

#include <atomic>
#include <charconv>

#include <nlohmann/json.hpp>

#include "adapters/zkpush/zkpush_device_model.hpp"
#include "adapters/zkpush/zkpush_normalize.hpp"
#include "adapters/zkpush/zkpush_session_support.hpp"
#include "adapters/zkpush/zkpush_text.hpp"
#include "gateway/device_text.hpp"
#include "gateway/event_json.hpp"
#include "gateway/terminals.hpp"

namespace pushgate::adapters::zkpush {

namespace bhttp = boost::beast::http;
using session_detail::endpoint_name;
using session_detail::merge_options;
using session_detail::restore_raw;

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

}  // namespace pushgate::adapters::zkpush
