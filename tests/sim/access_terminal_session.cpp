// The access terminal's session: scheduler, connection sequence (§4), uploads and polls.

#include "tests/sim/access_terminal.hpp"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <future>

namespace pushgate::sim {

namespace net = boost::asio;
using boost::system::error_code;

// ---------------------------------------------------------------------------
// Scheduler (strand only)

void AccessTerminal::do_next() {
  if (stopped_ || !started_ || busy_ || waiting_) {
    return;
  }
  const auto now = Clock::now();
  if (now < backoff_until_) {
    return arm_timer(backoff_until_);
  }
  switch (stage_) {
    case Stage::InfoPoll:
      return do_info_poll();
    case Stage::Handshake:
      return do_handshake();
    case Stage::Registry:
      return do_registry();
    case Stage::Push:
      return do_push();
    case Stage::Online:
      break;
  }
  bool outbox_pending = false;
  {
    std::lock_guard lock(mutex_);
    outbox_pending = !outbox_.empty();
  }
  // Command results and uploads before the next poll: the server waits.
  if (outbox_pending) {
    return do_send_outbox();
  }
  if (now >= next_poll_) {
    return do_poll();
  }
  arm_timer(next_poll_);
}

void AccessTerminal::arm_timer(Clock::time_point when) {
  waiting_ = true;
  timer_.expires_at(when);
  timer_.async_wait([self = shared_from_this()](error_code) {
    self->waiting_ = false;
    self->do_next();
  });
}

void AccessTerminal::wake() {
  net::post(strand_, [self = shared_from_this()] {
    if (self->waiting_ && Clock::now() >= self->backoff_until_) {
      self->timer_.cancel();
    }
  });
}

std::string AccessTerminal::sn_query() const {
  return "SN=" + encode_query_value(config_.serial_number);
}

void AccessTerminal::add_headers(HttpRequest& request) const {
  request.headers.emplace_back("Accept-Charset", "UTF-8");
  request.headers.emplace_back("Accept-Language", "en-US");
  std::lock_guard lock(mutex_);
  if (config_.send_token && !registry_code_.empty() && !session_id_.empty()) {
    request.headers.emplace_back(
        "Cookie", "token=" + session_token(registry_code_, config_.serial_number, session_id_));
  }
}

void AccessTerminal::send(HttpRequest request, std::function<void(HttpResult)> on_done) {
  busy_ = true;
  add_headers(request);
  if (!request.body.empty() && request.content_type.empty()) {
    request.content_type = "application/push;charset=UTF-8";
  }
  auto go = [self = shared_from_this(), request = std::move(request),
             on_done = std::move(on_done)]() mutable {
    if (self->stopped_) {
      if (self->config_.gate != nullptr) {
        self->config_.gate->release();
      }
      self->busy_ = false;
      return;
    }
    {
      std::lock_guard lock(self->mutex_);
      ++self->stats_.requests_sent;
    }
    self->client_.async_request(std::move(request), ExchangeFault::None,
                                [self, on_done = std::move(on_done)](HttpResult result) {
                                  if (self->config_.gate != nullptr) {
                                    self->config_.gate->release();
                                  }
                                  on_done(std::move(result));
                                });
  };
  if (config_.gate != nullptr) {
    config_.gate->acquire(strand_, std::move(go));
  } else {
    go();
  }
}

bool AccessTerminal::answered(const HttpResult& result, std::string_view what) {
  if (result.ec) {
    fail(Failure::Transport, std::string(what) + ": " + result.ec.message());
    return false;
  }
  if (result.status != 200) {
    fail(Failure::Status, std::string(what) + ": HTTP " + std::to_string(result.status) + " " +
                              result.body.substr(0, 60));
    return false;
  }
  return true;
}

void AccessTerminal::fail(Failure kind, std::string_view what) {
  busy_ = false;
  if (stopped_) {
    return;
  }
  {
    std::lock_guard lock(mutex_);
    switch (kind) {
      case Failure::Transport:
        ++stats_.failures_transport;
        stats_.online = false;
        break;
      case Failure::Status:
        ++stats_.failures_status;
        break;
      case Failure::Body:
        ++stats_.failures_body;
        break;
    }
  }
  notify();
  // A lost link means a new connection sequence (§4.1: the client registers
  // for each connection); the data stays queued.
  if (kind == Failure::Transport) {
    stage_ = config_.start_with_info_poll ? Stage::InfoPoll : Stage::Handshake;
  }
  const auto delay =
      config_.error_delay.value_or(server_error_delay_.value_or(config_.default_error_delay));
  backoff_until_ = Clock::now() + delay;
  if (config_.log) {
    config_.log("[sn=" + config_.serial_number + "] retry in " + std::to_string(delay.count()) +
                " ms: " + std::string(what));
  }
  do_next();
}

void AccessTerminal::done_step() {
  busy_ = false;
  notify();
  do_next();
}

void AccessTerminal::note_problem(std::string problem) {
  {
    std::lock_guard lock(mutex_);
    ++stats_.protocol_problems;
    if (problems_.size() < kMaxProblems) {
      problems_.push_back(problem);
    }
  }
  if (config_.log) {
    config_.log("[sn=" + config_.serial_number + "] " + problem);
  }
}

void AccessTerminal::sync_clock(const std::string& date_header) {
  const auto date = parse_http_date(date_header);
  if (!date) {
    note_problem("answer without a usable Date header: '" + date_header + "'");
    return;
  }
  std::lock_guard lock(mutex_);
  clock_offset_ = *date - std::chrono::system_clock::now();
}

void AccessTerminal::apply_config(const AccessServerConfig& c) {
  if (c.request_delay) {
    server_delay_ = *c.request_delay;
  }
  if (c.error_delay) {
    server_error_delay_ = *c.error_delay;
  }
  std::lock_guard lock(mutex_);
  if (!c.registry_code.empty()) {
    registry_code_ = c.registry_code;
  }
  if (!c.session_id.empty()) {
    session_id_ = c.session_id;
  }
  server_config_ = c;
}

// ---------------------------------------------------------------------------
// Connection sequence: handshake, registration, configuration (§4)

void AccessTerminal::do_info_poll() {
  HttpRequest req;
  std::size_t users = 0;
  {
    std::lock_guard lock(mutex_);
    users = users_.size();
    ++stats_.info_polls;
  }
  req.target = access_info_poll_target(config_.profile, config_.serial_number, users);
  send(std::move(req),
       [self = shared_from_this()](HttpResult r) { self->on_info_poll(std::move(r)); });
}

void AccessTerminal::on_info_poll(HttpResult result) {
  if (!result.ec && result.status == 401) {
    // Not registered with this server: register, then fetch the configuration.
    sync_clock(result.date);
    stage_ = Stage::Registry;
    return done_step();
  }
  if (!answered(result, "getrequest (INFO)")) {
    return;
  }
  // Taken as registered: the answer is a command list like any poll's.
  stage_ = Stage::Online;
  next_poll_ = Clock::now();
  {
    std::lock_guard lock(mutex_);
    stats_.online = true;
  }
  on_poll(std::move(result));
}

void AccessTerminal::do_handshake() {
  HttpRequest req;
  req.target = access_handshake_target(config_.profile, config_.serial_number);
  send(std::move(req),
       [self = shared_from_this()](HttpResult r) { self->on_handshake(std::move(r)); });
}

void AccessTerminal::on_handshake(HttpResult result) {
  if (!answered(result, "handshake")) {
    return;
  }
  const AccessServerConfigParse parsed = parse_access_server_config(result.body);
  if (!parsed.ok) {
    return fail(Failure::Body, "handshake: " + parsed.error);
  }
  for (const auto& p : parsed.problems) {
    note_problem("handshake: " + p.reason + ": " + p.raw);
  }
  sync_clock(result.date);
  {
    std::lock_guard lock(mutex_);
    ++stats_.handshakes_ok;
  }
  if (!parsed.config.registered && trim(result.body) != "OK") {
    // §4.1: an unregistered terminal is answered a plain OK. Firmware of the
    // face-terminal line ignores anything else (the 2.x option block with
    // TransFlag, say) and transmits nothing; it tries again later.
    return fail(Failure::Body, "handshake answered neither registry=ok nor OK: '" +
                                   result.body.substr(0, 60) + "'");
  }
  if (parsed.config.registered) {
    if (parsed.config.registry_code.empty()) {
      note_problem("handshake says registry=ok without RegistryCode");
    }
    apply_config(parsed.config);
    stage_ = Stage::Push;
  } else {
    stage_ = Stage::Registry;
  }
  done_step();
}

void AccessTerminal::do_registry() {
  HttpRequest req;
  req.method = boost::beast::http::verb::post;
  req.target = "/iclock/registry?" + sn_query();
  req.body = format_registry_body(config_.profile);
  send(std::move(req),
       [self = shared_from_this()](HttpResult r) { self->on_registry(std::move(r)); });
}

void AccessTerminal::on_registry(HttpResult result) {
  if (!answered(result, "registry")) {
    return;
  }
  const auto code = parse_registry_answer(result.body);
  if (!code) {
    return fail(Failure::Body, "registry answered '" + result.body.substr(0, 60) + "'");
  }
  {
    std::lock_guard lock(mutex_);
    registry_code_ = *code;
    ++stats_.registrations;
  }
  stage_ = Stage::Push;
  done_step();
}

void AccessTerminal::do_push() {
  HttpRequest req;
  req.method = boost::beast::http::verb::post;
  req.target = "/iclock/push?" + sn_query();
  send(std::move(req), [self = shared_from_this()](HttpResult r) { self->on_push(std::move(r)); });
}

void AccessTerminal::on_push(HttpResult result) {
  if (!answered(result, "push")) {
    return;
  }
  const AccessServerConfigParse parsed = parse_access_server_config(result.body);
  if (!parsed.ok || parsed.config.values.empty()) {
    return fail(Failure::Body, "push answered '" + result.body.substr(0, 60) + "'");
  }
  for (const auto& p : parsed.problems) {
    note_problem("push: " + p.reason + ": " + p.raw);
  }
  apply_config(parsed.config);
  sync_clock(result.date);
  stage_ = Stage::Online;
  next_poll_ = Clock::now();
  {
    std::lock_guard lock(mutex_);
    ++stats_.configs_downloaded;
    stats_.online = true;
  }
  done_step();
}

// ---------------------------------------------------------------------------
// Uploads and command results

void AccessTerminal::do_send_outbox() {
  HttpRequest req;
  req.method = boost::beast::http::verb::post;
  {
    std::lock_guard lock(mutex_);
    req.target = outbox_.front().target;
    req.body = outbox_.front().body;
  }
  send(std::move(req),
       [self = shared_from_this()](HttpResult r) { self->on_outbox_sent(std::move(r)); });
}

void AccessTerminal::on_outbox_sent(HttpResult result) {
  std::string target;
  std::string ok_prefix;
  {
    std::lock_guard lock(mutex_);
    target = outbox_.front().target;
    ok_prefix = outbox_.front().ok_prefix;
  }
  if (!answered(result, target)) {
    return;
  }
  const bool ok = is_ok_answer(result.status, result.body) ||
                  (!ok_prefix.empty() && result.body.rfind(ok_prefix, 0) == 0);
  if (!ok) {
    // Not acknowledged: the same request goes again after ErrorDelay.
    return fail(Failure::Body, "answered '" + result.body.substr(0, 60) + "' to " + target);
  }
  {
    std::lock_guard lock(mutex_);
    Outbound item = std::move(outbox_.front());
    outbox_.pop_front();
    if (item.command_slots.empty()) {
      ++stats_.uploads_acked;
    }
    for (const std::size_t slot : item.command_slots) {
      commands_[slot].result_acked = true;
    }
    stats_.command_results_acked += item.command_slots.size();
  }
  done_step();
}

void AccessTerminal::do_poll() {
  HttpRequest req;
  req.target = "/iclock/getrequest?" + sn_query();
  send(std::move(req), [self = shared_from_this()](HttpResult r) { self->on_poll(std::move(r)); });
}

void AccessTerminal::on_poll(HttpResult result) {
  if (!answered(result, "getrequest")) {
    return;
  }
  next_poll_ =
      Clock::now() + config_.poll_interval.value_or(server_delay_.value_or(config_.default_delay));
  const CommandListParse list = parse_command_list(result.body);
  for (const auto& p : list.problems) {
    note_problem("getrequest line " + std::to_string(p.line) + ": " + p.reason + ": " + p.raw);
  }
  {
    std::lock_guard lock(mutex_);
    ++stats_.polls;
  }
  if (!list.commands.empty()) {
    Outbound results;
    results.target = "/iclock/devicecmd?" + sn_query();
    std::vector<std::string> lines;
    for (const auto& c : list.commands) {
      const AccessCommand parsed = parse_access_command(c.text);
      std::string reply_cmd = parsed.reply_cmd;
      const int rc = execute(c.id, parsed, reply_cmd);
      lines.push_back(format_command_result(c.id, rc, reply_cmd));
      std::lock_guard lock(mutex_);
      results.command_slots.push_back(commands_.size());
      // keep_digests (a large sync): not every photo again in the log.
      commands_.push_back(
          {c.id, config_.keep_digests ? c.text.substr(0, 256) : c.text, reply_cmd, rc, false});
      ++stats_.commands_executed;
      if (rc < 0) {
        ++stats_.commands_failed;
      }
    }
    results.body = join_lines(lines);
    std::lock_guard lock(mutex_);
    outbox_.push_front(std::move(results));
    for (auto it = command_uploads_.rbegin(); it != command_uploads_.rend(); ++it) {
      outbox_.push_front(std::move(*it));
    }
    command_uploads_.clear();
  }
  done_step();
}

}  // namespace pushgate::sim
