// Attendance PUSH service: command delivery, results, read-back, gap backfill.
#include "adapters/zkpush/zkpush_session.hpp"

#include <atomic>
#include <charconv>

#include <nlohmann/json.hpp>

#include "adapters/zkpush/zkpush_commands.hpp"
#include "adapters/zkpush/zkpush_device_model.hpp"
#include "adapters/zkpush/zkpush_normalize.hpp"
#include "adapters/zkpush/zkpush_security_protocol.hpp"
#include "adapters/zkpush/zkpush_session_support.hpp"
#include "adapters/zkpush/zkpush_text.hpp"
#include "gateway/command_verification.hpp"
#include "gateway/device_text.hpp"
#include "gateway/event_json.hpp"
#include "gateway/terminals.hpp"

namespace pushgate::adapters::zkpush {

namespace bhttp = boost::beast::http;
using session_detail::merge_options;
using session_detail::remote_ip;

namespace {

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

}  // namespace

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
    TerminalRecord before;
    r.terminal = update_described(ctx_.terminals, r.sn, [&](TerminalRecord& t) {
      before = t;
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
    // Firmware repeats the same INFO= on many polls: a write (and an fsync)
    // only when it says something new; last_seen is persisted on its own
    // schedule (TerminalRegistry::seen).
    const auto& now = r.terminal;
    if (now.info_json != before.info_json || now.firmware != before.firmware ||
        now.model != before.model || now.vendor != before.vendor ||
        now.protocol != before.protocol || !(now.capabilities == before.capabilities)) {
      r.pending.ops.push_back(TerminalRegistry::persist_op(r.terminal));
    }
  }
}

void ZkpushService::poll(Request& r) {
  note_info(r);
  if (r.terminal.state == "pending") {
    // Nothing is delivered to a terminal not yet approved.
    commit_and_answer(r, std::move(r.pending), "OK");
    return;
  }
  if (!ctx_.commands.has_deliverable(r.sn)) {
    // The usual poll: nothing queued (the queue's in-memory index, no
    // SQLite read), nothing to render; a command queued from now on goes
    // out at the next poll.
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

}  // namespace pushgate::adapters::zkpush
