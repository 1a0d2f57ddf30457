// The attendance terminal's outbox, ATTLOG/OPERLOG uploads, getrequest polls and REBOOT.

#include "tests/sim/attendance_terminal.hpp"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/beast/core/bind_handler.hpp>

#include "tests/sim/ledger.hpp"

namespace pushgate::sim {

namespace net = boost::asio;
namespace beast = boost::beast;
using boost::system::error_code;

namespace {

constexpr std::size_t kMaxLatencySamples = 1'000'000;

// A line a server cannot parse: the shape of an ATTLOG line with an
// impossible time, as a corrupted flash record would look.
std::string bad_attlog_line(int field_count) {
  std::string line = "BAD\t2024-13-45 25:61:61";
  for (int i = 2; i < std::clamp(field_count, kMinAttlogFields, kSpeedFaceAttlogFields); ++i) {
    line.append("\t0");
  }
  return line;
}

}  // namespace

// ---------------------------------------------------------------------------
// Outbox: query answers, command results, injected duplicates

void AttendanceTerminal::do_send_outbox() {
  const Outbound& item = outbox_.front();
  HttpRequest req;
  req.method = boost::beast::http::verb::post;
  req.target = item.target;
  req.body = item.body;
  req.content_type = item.content_type;
  if (item.kind == Outbound::Kind::Duplicate) {
    std::lock_guard lock(mutex_);
    ++stats_.duplicate_batches_sent;
  }
  send(std::move(req),
       [self = shared_from_this()](HttpResult r) { self->on_outbox_sent(std::move(r)); });
}

void AttendanceTerminal::on_outbox_sent(HttpResult result) {
  if (outbox_.front().kind == Outbound::Kind::Duplicate) {
    // An injected duplicate is sent once; its answer does not matter to the
    // terminal (the records were acknowledged before).
    outbox_.pop_front();
    if (!answered(result, "duplicate batch")) {
      return;
    }
    busy_ = false;
    return do_next();
  }
  if (!answered(result, "devicecmd/query answer")) {
    return;
  }
  if (!is_ok_answer(result.status, result.body)) {
    // Not acknowledged: the same request goes again after ErrorDelay.
    return fail(Failure::Body,
                "answered '" + result.body.substr(0, 40) + "' to " + outbox_.front().target);
  }
  Outbound item = std::move(outbox_.front());
  outbox_.pop_front();
  {
    std::lock_guard lock(mutex_);
    if (item.kind == Outbound::Kind::CommandResults) {
      for (const std::size_t slot : item.command_slots) {
        commands_[slot].result_acked = true;
      }
      stats_.command_results_acked += item.command_slots.size();
    } else {
      ++stats_.query_uploads_acked;
    }
  }
  notify();
  busy_ = false;
  do_next();
}

// ---------------------------------------------------------------------------
// Uploads

void AttendanceTerminal::do_upload_operlog() {
  std::vector<std::string> lines;
  {
    std::lock_guard lock(mutex_);
    const std::size_t end = std::min(operlog_.size(), operlog_acked_ + config_.batch_size);
    lines.assign(operlog_.begin() + static_cast<std::ptrdiff_t>(operlog_acked_),
                 operlog_.begin() + static_cast<std::ptrdiff_t>(end));
  }
  HttpRequest req;
  req.method = boost::beast::http::verb::post;
  req.target = "/iclock/cdata?" + sn_query() + "&table=OPERLOG&Stamp=9999";
  req.content_type = "text/plain";
  req.body = join_lines(lines);
  send(std::move(req), [self = shared_from_this(), count = lines.size()](HttpResult r) {
    self->on_operlog_uploaded(count, std::move(r));
  });
}

void AttendanceTerminal::on_operlog_uploaded(std::size_t count, HttpResult result) {
  if (!answered(result, "OPERLOG upload")) {
    return;
  }
  if (!is_ok_answer(result.status, result.body)) {
    return fail(Failure::Body, "OPERLOG answered '" + result.body.substr(0, 40) + "'");
  }
  {
    std::lock_guard lock(mutex_);
    const std::size_t end = std::min(operlog_.size(), operlog_acked_ + count);
    for (std::size_t i = operlog_acked_; i < end; ++i) {
      acked_operlog_lines_.push_back(operlog_[i]);
    }
    stats_.operlog_lines_acked += end - operlog_acked_;
    operlog_acked_ = end;
  }
  notify();
  busy_ = false;
  do_next();
}

void AttendanceTerminal::do_upload_attlog() {
  InflightBatch batch;
  {
    std::lock_guard lock(mutex_);
    batch.begin = next_unacked_;
    batch.end =
        std::min(records_.size(), next_unacked_ + std::max<std::size_t>(1, config_.batch_size));
    batch.generation = records_generation_;
    batch.lines.reserve(batch.end - batch.begin);
    for (std::size_t i = batch.begin; i < batch.end; ++i) {
      batch.lines.push_back(format_attlog_line(records_[i], config_.attlog_fields));
    }
  }
  ++batch_seq_;
  bool corrupt =
      config_.faults.bad_line_every != 0 && batch_seq_ % config_.faults.bad_line_every == 0;
  {
    std::lock_guard lock(mutex_);
    corrupt = corrupt || corrupt_next_;
    corrupt_next_ = false;
  }
  if (corrupt) {
    // One unparsable line in the middle of good ones: the server must keep
    // the good ones and answer OK (STYLE rule 5), not refuse the batch.
    std::vector<std::string> with_bad = batch.lines;
    with_bad.insert(with_bad.begin() + static_cast<std::ptrdiff_t>(with_bad.size() / 2),
                    bad_attlog_line(config_.attlog_fields));
    batch.body = join_lines(with_bad);
  } else {
    batch.body = join_lines(batch.lines);
  }
  {
    std::lock_guard lock(mutex_);
    ++stats_.attlog_uploads_sent;
    if (corrupt) {
      ++stats_.bad_lines_sent;
    }
  }
  HttpRequest req;
  req.method = boost::beast::http::verb::post;
  req.target = "/iclock/cdata?" + sn_query() + "&table=ATTLOG&Stamp=9999";
  req.content_type = "text/plain";
  req.body = batch.body;
  inflight_ = std::move(batch);
  send(std::move(req),
       [self = shared_from_this()](HttpResult r) { self->on_attlog_uploaded(std::move(r)); });
}

void AttendanceTerminal::on_attlog_uploaded(HttpResult result) {
  if (result.ec || result.status != 200 || !is_ok_answer(result.status, result.body)) {
    // Anything but "200 + OK" leaves the records unacknowledged; the same
    // records (and maybe more) go again after ErrorDelay.
    inflight_.reset();
    if (!answered(result, "ATTLOG upload")) {
      return;
    }
    return fail(Failure::Body, "ATTLOG answered '" + result.body.substr(0, 40) + "'");
  }
  const auto latency = std::chrono::duration_cast<std::chrono::microseconds>(result.elapsed);
  if (config_.ledger != nullptr) {
    // Durable first, counted second: busy_ stays set until the fsync is done.
    config_.ledger->append(config_.serial_number, inflight_->lines, strand_,
                           [self = shared_from_this(), latency](error_code ec) {
                             self->on_attlog_durable(ec, latency);
                           });
    return;
  }
  on_attlog_durable({}, latency);
}

void AttendanceTerminal::on_attlog_durable(error_code ec, std::chrono::microseconds latency) {
  busy_ = false;
  InflightBatch batch = std::move(*inflight_);
  inflight_.reset();
  if (ec) {
    // The server has the records but we cannot prove it: stop rather than
    // count an acknowledgement the ledger does not hold.
    {
      std::lock_guard lock(mutex_);
      stats_.ledger_failed = true;
    }
    note_problem("ledger write failed: " + ec.message());
    stopped_ = true;
    notify();
    return;
  }
  {
    std::lock_guard lock(mutex_);
    // CLEAR LOG while the batch was in flight: the records are gone from the
    // store, but the server did acknowledge them.
    if (batch.generation == records_generation_) {
      next_unacked_ = std::max(next_unacked_, batch.end);
    }
    stats_.records_acked += batch.lines.size();
    ++stats_.attlog_batches_acked;
    stats_.last_ack = Clock::now();
    if (latencies_.size() < kMaxLatencySamples) {
      latencies_.push_back(latency);
    }
    if (config_.keep_acked_lines) {
      acked_lines_.insert(acked_lines_.end(), batch.lines.begin(), batch.lines.end());
    }
  }
  notify();
  // The captured terminals report their counts (INFO=) on the getrequest
  // after each ATTLOG upload.
  info_due_ = true;
  ++acked_batch_seq_;
  bool duplicate = config_.faults.duplicate_batch_every != 0 &&
                   acked_batch_seq_ % config_.faults.duplicate_batch_every == 0;
  {
    std::lock_guard lock(mutex_);
    duplicate = duplicate || duplicate_next_;
    duplicate_next_ = false;
  }
  if (duplicate) {
    Outbound dup;
    dup.kind = Outbound::Kind::Duplicate;
    dup.target = "/iclock/cdata?" + sn_query() + "&table=ATTLOG&Stamp=9999";
    dup.body = std::move(batch.body);
    dup.content_type = "text/plain";
    outbox_.push_back(std::move(dup));
  }
  do_next();
}

// ---------------------------------------------------------------------------
// getrequest and commands

void AttendanceTerminal::do_poll() {
  HttpRequest req;
  req.target = "/iclock/getrequest?" + sn_query();
  const bool with_info = info_due_;
  if (with_info) {
    std::lock_guard lock(mutex_);
    req.target +=
        "&INFO=" + encode_query_value(format_info_value(config_.profile, counts_locked()));
  }
  send(std::move(req), [self = shared_from_this(), with_info](HttpResult r) {
    self->on_poll(with_info, std::move(r));
  });
}

void AttendanceTerminal::on_poll(bool sent_info, HttpResult result) {
  if (!answered(result, "getrequest")) {
    return;
  }
  if (sent_info) {
    info_due_ = false;
  }
  sync_clock(result.date);
  next_poll_ = Clock::now() + poll_interval();
  {
    std::lock_guard lock(mutex_);
    ++stats_.polls;
  }
  const CommandListParse list = parse_command_list(result.body);
  for (const auto& p : list.problems) {
    note_problem("getrequest line " + std::to_string(p.line) + ": " + p.reason + ": '" + p.raw +
                 "'");
  }

  std::vector<std::string> results;
  std::vector<std::size_t> slots;
  std::vector<Outbound> separate;  // multi-line results (INFO) go alone
  for (std::size_t i = 0; i < list.commands.size(); ++i) {
    const CommandLine& command = list.commands[i];
    const ParsedCommand parsed = parse_attendance_command(command.text);
    CommandOutcome outcome = execute(command, parsed);
    for (auto& upload : outcome.uploads) {
      outbox_.push_back(std::move(upload));
    }
    std::size_t slot = 0;
    {
      std::lock_guard lock(mutex_);
      slot = commands_.size();
      commands_.push_back({command.id, command.text, parsed.reply_cmd, outcome.return_code, false});
      ++stats_.commands_executed;
    }
    std::string line = format_command_result(command.id, outcome.return_code, parsed.reply_cmd);
    line += outcome.reply_suffix;
    if (!outcome.info_body.empty()) {
      Outbound info;
      info.kind = Outbound::Kind::CommandResults;
      info.target = "/iclock/devicecmd?" + sn_query();
      info.body = line + "\n" + outcome.info_body;
      info.content_type = "application/octet-stream";
      info.command_slots.push_back(slot);
      separate.push_back(std::move(info));
    } else {
      results.push_back(std::move(line));
      slots.push_back(slot);
    }
    if (parsed.verb == CommandVerb::Reboot) {
      // The terminal goes down after answering; what followed the REBOOT in
      // this answer is never executed (the server has to send it again).
      reboot_pending_ = true;
      if (i + 1 < list.commands.size()) {
        note_problem(std::to_string(list.commands.size() - i - 1) +
                     " command(s) after REBOOT not executed");
      }
      break;
    }
  }
  if (!results.empty()) {
    // Several results go in one devicecmd body, LF-separated (spec 13).
    Outbound out;
    out.kind = Outbound::Kind::CommandResults;
    out.target = "/iclock/devicecmd?" + sn_query();
    out.body = join_lines(results);
    out.content_type = "application/octet-stream";  // as the captured firmware sends
    out.command_slots = std::move(slots);
    outbox_.push_back(std::move(out));
  }
  for (auto& info : separate) {
    outbox_.push_back(std::move(info));
  }
  notify();
  busy_ = false;
  do_next();
}

// ---------------------------------------------------------------------------
// REBOOT

void AttendanceTerminal::do_reboot() {
  // Flash survives (records, users, queued results); the session does not.
  reboot_pending_ = false;
  online_ = false;
  options_due_ = false;
  info_due_ = true;
  boot_oplog_due_ = true;
  next_poll_ = {};
  backoff_until_ = Clock::now() + config_.reboot_delay;
  {
    std::lock_guard lock(mutex_);
    ++stats_.reboots;
    stats_.online = false;
  }
  notify();
  do_next();
}

}  // namespace pushgate::sim
