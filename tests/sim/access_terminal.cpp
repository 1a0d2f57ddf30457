#include "tests/sim/access_terminal.hpp"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <future>

namespace pushgate::sim {

namespace net = boost::asio;
using boost::system::error_code;

namespace {

constexpr std::size_t kMaxProblems = 1000;

std::string field_or(const Fields& f, std::string_view key, std::string fallback = {}) {
  auto v = find_field(f, key);
  return v ? *v : std::move(fallback);
}

int int_field_or(const Fields& f, std::string_view key, int fallback) {
  const auto v = find_field(f, key);
  if (!v) {
    return fallback;
  }
  const auto n = parse_int(*v);
  return n ? static_cast<int>(*n) : fallback;
}

// A DELETE condition "*" or nothing means every row of the table.
bool deletes_all(std::string_view argument) {
  const std::string_view a = trim(argument);
  return a.empty() || a == "*";
}

}  // namespace

// ---------------------------------------------------------------------------
// Public surface

std::shared_ptr<AccessTerminal> AccessTerminal::create(net::io_context& ioc,
                                                       AccessTerminalConfig config) {
  return std::shared_ptr<AccessTerminal>(new AccessTerminal(ioc, std::move(config)));
}

AccessTerminal::AccessTerminal(net::io_context& ioc, AccessTerminalConfig config)
    : config_(std::move(config)),
      data_support_(parse_bio_support(config_.profile.multi_bio_data_support)),
      photo_support_(parse_bio_support(config_.profile.multi_bio_photo_support)),
      strand_(net::make_strand(ioc)),
      timer_(strand_),
      client_(strand_, config_.http),
      auth_client_(strand_, config_.http) {}

AccessTerminal::~AccessTerminal() = default;

void AccessTerminal::start() {
  net::post(strand_, [self = shared_from_this()] {
    if (self->started_ || self->stopped_) {
      return;
    }
    self->started_ = true;
    if (self->config_.start_with_info_poll) {
      self->stage_ = Stage::InfoPoll;
    }
    self->backoff_until_ = Clock::now() + self->config_.start_delay;
    self->do_next();
  });
}

void AccessTerminal::stop() {
  net::post(strand_, [self = shared_from_this()] {
    self->stopped_ = true;
    self->timer_.cancel();
    self->client_.cancel();
    self->auth_client_.cancel();
    {
      std::lock_guard lock(self->mutex_);
      self->stats_.online = false;
    }
    self->notify();
  });
}

TerminalStats AccessTerminal::stats() const {
  std::lock_guard lock(mutex_);
  TerminalStats s;
  s.requests_sent = stats_.requests_sent;
  s.failures_transport = stats_.failures_transport;
  s.failures_status = stats_.failures_status;
  s.failures_body = stats_.failures_body;
  s.handshakes_ok = stats_.handshakes_ok;
  s.polls = stats_.polls;
  s.commands_executed = stats_.commands_executed;
  s.command_results_acked = stats_.command_results_acked;
  s.door_unlocks = stats_.door_actions;
  s.protocol_problems = stats_.protocol_problems;
  s.online = stats_.online;
  return s;
}

AccessTerminalStats AccessTerminal::access_stats() const {
  std::lock_guard lock(mutex_);
  AccessTerminalStats s = stats_;
  s.uploads_pending = outbox_.size();
  return s;
}

void AccessTerminal::enroll(AccessUser user, std::vector<AccessTemplate> templates,
                            std::vector<AccessPhoto> photos) {
  std::vector<std::string> tv10;
  std::vector<std::string> bio;
  std::map<std::string, std::vector<std::string>> pics;  // by table
  int uid = 0;
  {
    std::lock_guard lock(mutex_);
    uid = next_uid_++;
    for (auto& t : templates) {
      t.pin = user.pin;
      if (t.type == bio_type::kFingerprint && config_.fingerprint_as_templatev10) {
        tv10.push_back(format_templatev10_record(t, uid));
      } else {
        bio.push_back(format_biodata_record(t));
      }
      templates_[{t.pin, t.type, t.no, t.index}] = t;
    }
    for (auto& p : photos) {
      p.pin = user.pin;
      pics[p.table].push_back(format_photo_record(p));
      photos_[{p.pin, p.table, p.type}] = p;
    }
    users_[user.pin] = user;
  }
  queue_upload("user", format_user_record(user, uid), true, 1);
  if (!tv10.empty()) {
    queue_upload("templatev10", join_lines(tv10), true, tv10.size());
  }
  if (!bio.empty()) {
    queue_upload("biodata", join_lines(bio), true, bio.size());
  }
  for (const auto& [table, lines] : pics) {
    queue_upload(table, join_lines(lines), true, lines.size());
  }
}

void AccessTerminal::add_rtlog(RtLogEvent event) {
  if (event.time == LocalSeconds{}) {
    event.time = device_now();
  }
  {
    std::lock_guard lock(mutex_);
    if (event.index == 0) {
      event.index = ++last_index_;
    } else {
      last_index_ = std::max(last_index_, event.index);
    }
  }
  queue_upload("rtlog", format_rtlog_line(event) + "\n", false, 1);
}

void AccessTerminal::report_state(std::string sensor, std::string relay, std::string alarm) {
  queue_upload("rtstate", format_rtstate_line(device_now(), sensor, relay, alarm) + "\n", false, 1);
}

void AccessTerminal::queue_upload(std::string table, std::string body, bool tabledata,
                                  std::size_t count) {
  Outbound out;
  if (tabledata) {
    out.target = "/iclock/cdata?" + sn_query() + "&table=tabledata&tablename=" + table +
                 "&count=" + std::to_string(count);
    out.ok_prefix = table + "=";
  } else {
    out.target = "/iclock/cdata?" + sn_query() + "&table=" + table;
  }
  out.body = std::move(body);
  {
    std::lock_guard lock(mutex_);
    outbox_.push_back(std::move(out));
  }
  notify();
  wake();
}

void AccessTerminal::identify(RemoteAuthRequest request,
                              std::function<void(RemoteAuthResult)> done) {
  if (request.time == LocalSeconds{}) {
    request.time = device_now();
  }
  net::post(strand_, [self = shared_from_this(), request = std::move(request),
                      done = std::move(done)]() mutable {
    if (self->stopped_) {
      RemoteAuthResult r;
      r.ec = net::error::operation_aborted;
      return done(std::move(r));
    }
    self->auth_queue_.push_back({std::move(request), std::move(done)});
    self->next_auth();
  });
}

RemoteAuthResult AccessTerminal::identify_sync(RemoteAuthRequest request,
                                               std::chrono::milliseconds timeout) {
  auto promise = std::make_shared<std::promise<RemoteAuthResult>>();
  auto future = promise->get_future();
  identify(std::move(request), [promise](RemoteAuthResult r) { promise->set_value(std::move(r)); });
  if (future.wait_for(timeout) != std::future_status::ready) {
    RemoteAuthResult r;
    r.ec = net::error::timed_out;
    return r;
  }
  return future.get();
}

std::map<std::string, AccessUser> AccessTerminal::users() const {
  std::lock_guard lock(mutex_);
  return users_;
}

std::vector<AccessAuthorization> AccessTerminal::authorizations() const {
  std::lock_guard lock(mutex_);
  std::vector<AccessAuthorization> out;
  for (const auto& [k, a] : authorizations_) {
    out.push_back(a);
  }
  return out;
}

std::map<std::string, Fields> AccessTerminal::timezones() const {
  std::lock_guard lock(mutex_);
  return timezones_;
}

std::map<std::string, Fields> AccessTerminal::holidays() const {
  std::lock_guard lock(mutex_);
  return holidays_;
}

std::vector<AccessTemplate> AccessTerminal::templates() const {
  std::lock_guard lock(mutex_);
  std::vector<AccessTemplate> out;
  for (const auto& [k, t] : templates_) {
    out.push_back(t);
  }
  return out;
}

std::vector<AccessPhoto> AccessTerminal::photos() const {
  std::lock_guard lock(mutex_);
  std::vector<AccessPhoto> out;
  for (const auto& [k, p] : photos_) {
    out.push_back(p);
  }
  return out;
}

std::vector<ExecutedCommand> AccessTerminal::executed_commands() const {
  std::lock_guard lock(mutex_);
  return commands_;
}

std::vector<DoorAction> AccessTerminal::door_actions() const {
  std::lock_guard lock(mutex_);
  return door_actions_;
}

std::map<std::string, std::string> AccessTerminal::options() const {
  std::lock_guard lock(mutex_);
  return options_;
}

std::vector<std::string> AccessTerminal::problems() const {
  std::lock_guard lock(mutex_);
  return problems_;
}

std::optional<AccessServerConfig> AccessTerminal::server_config() const {
  std::lock_guard lock(mutex_);
  return server_config_;
}

std::string AccessTerminal::registry_code() const {
  std::lock_guard lock(mutex_);
  return registry_code_;
}

LocalSeconds AccessTerminal::device_now() const {
  std::chrono::system_clock::duration offset;
  {
    std::lock_guard lock(mutex_);
    offset = clock_offset_;
  }
  const auto now = std::chrono::system_clock::now() + offset;
  return LocalSeconds{std::chrono::floor<std::chrono::seconds>(now.time_since_epoch())};
}

bool AccessTerminal::wait_until(const std::function<bool(const AccessTerminalStats&)>& pred,
                                std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [&] {
    AccessTerminalStats s = stats_;
    s.uploads_pending = outbox_.size();
    return pred(s);
  });
}

void AccessTerminal::notify() {
  changed_.notify_all();
}

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
      commands_.push_back({c.id, c.text, reply_cmd, rc, false});
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

// ---------------------------------------------------------------------------
// Commands (§9)

int AccessTerminal::execute(const std::string& id, const AccessCommand& command,
                            std::string& reply_cmd) {
  switch (command.verb) {
    case AccessVerb::DataUpdate:
      return update_data(command);
    case AccessVerb::DataDelete:
      return delete_data(command);
    case AccessVerb::ControlDevice:
      return control_device(id, command);
    case AccessVerb::SetOptions: {
      const std::size_t eq = command.argument.find('=');
      if (eq == std::string::npos) {
        note_problem("SET OPTIONS without '=': " + command.argument);
        return access_return::kIncorrectParameter;
      }
      const std::string key(trim(command.argument.substr(0, eq)));
      const auto& ignored = config_.ignored_options;
      if (std::find(ignored.begin(), ignored.end(), key) != ignored.end()) {
        return access_return::kOk;  // accepted, not applied
      }
      std::lock_guard lock(mutex_);
      options_[key] = command.argument.substr(eq + 1);
      return access_return::kOk;
    }
    case AccessVerb::GetOptions: {
      // §9.5.2: the values go up in a querydata upload, then the result.
      std::string body;
      std::size_t start = 0;
      const std::string& list = command.argument;
      while (start <= list.size()) {
        std::size_t comma = list.find(',', start);
        const std::string key(trim(std::string_view(list).substr(
            start, comma == std::string::npos ? std::string::npos : comma - start)));
        if (!key.empty()) {
          std::lock_guard lock(mutex_);
          auto it = options_.find(key);
          body += (body.empty() ? "" : ",") + key + "=" +
                  (it != options_.end() ? it->second : std::string());
        }
        if (comma == std::string::npos) {
          break;
        }
        start = comma + 1;
      }
      Outbound up;
      up.target = "/iclock/querydata?" + sn_query() + "&type=options&cmdid=" + id +
                  "&tablename=options&count=1&packcnt=1&packidx=1";
      up.body = body + "\n";
      up.ok_prefix = "options=";
      command_uploads_.push_back(std::move(up));
      return access_return::kOk;
    }
    case AccessVerb::DataQuery:
    case AccessVerb::DataCount:
    case AccessVerb::Other:
      break;
  }
  // Queries and everything else are outside what this simulator models.
  reply_cmd = command.reply_cmd.empty() ? "UNKNOWN" : command.reply_cmd;
  note_problem("command not simulated: " + reply_cmd + " " + command.table);
  return access_return::kNoSuchCommand;
}

int AccessTerminal::update_data(const AccessCommand& command) {
  const Fields f = parse_tab_fields(command.argument);
  const std::string& table = command.table;
  const std::string pin = field_or(f, "Pin");
  std::lock_guard lock(mutex_);
  const auto bad = [&](std::string why, int rc = access_return::kIncorrectParameter) {
    ++stats_.protocol_problems;
    if (problems_.size() < kMaxProblems) {
      problems_.push_back("DATA UPDATE " + table + ": " + why);
    }
    return rc;
  };
  if (table == "user") {
    if (pin.empty() || pin.find(' ') != std::string::npos) {
      return bad("missing or odd Pin in '" + command.argument + "'");
    }
    AccessUser u;
    u.pin = pin;
    u.card = field_or(f, "CardNo");
    u.password = field_or(f, "Password");
    u.group = field_or(f, "Group", "1");
    u.start_time = field_or(f, "StartTime", "0");
    u.end_time = field_or(f, "EndTime", "0");
    u.name = field_or(f, "Name");
    u.privilege = field_or(f, "Privilege", "0");
    u.disable = field_or(f, "Disable", "0");
    u.verify = field_or(f, "Verify", "0");
    users_[pin] = u;
    return access_return::kOk;
  }
  if (table == "userauthorize") {
    if (pin.empty()) {
      return bad("missing Pin");
    }
    AccessAuthorization a{pin, field_or(f, "AuthorizeTimezoneId"), field_or(f, "AuthorizeDoorId"),
                          field_or(f, "DevID")};
    authorizations_[{pin, a.timezone_id}] = a;
    return access_return::kOk;
  }
  if (table == "timezone") {
    const std::string id = field_or(f, "TimezoneId");
    if (id.empty()) {
      return bad("missing TimezoneId");
    }
    timezones_[id] = f;
    return access_return::kOk;
  }
  if (table == "holiday") {
    const std::string day = field_or(f, "Holiday");
    if (day.size() != 8) {
      return bad("Holiday is not YYYYMMDD: '" + day + "'");
    }
    holidays_[day] = f;
    return access_return::kOk;
  }
  if (table == "templatev10" || table == "biodata") {
    AccessTemplate t;
    t.pin = pin;
    if (table == "templatev10") {
      t.type = bio_type::kFingerprint;
      t.no = int_field_or(f, "FingerID", -1);
      t.valid = int_field_or(f, "Valid", 1);
      t.duress = t.valid == 3 ? 1 : 0;
      t.tmp = field_or(f, "Template");
      const auto size = find_field(f, "Size");
      if (size && parse_int(*size) != static_cast<std::int64_t>(t.tmp.size())) {
        return bad("Size " + *size + " but " + std::to_string(t.tmp.size()) + " characters",
                   access_return::kLengthMismatch);
      }
    } else {
      t.type = int_field_or(f, "Type", -1);
      t.no = int_field_or(f, "No", 0);
      t.index = int_field_or(f, "Index", 0);
      t.valid = int_field_or(f, "Valid", 1);
      t.duress = int_field_or(f, "Duress", 0);
      t.major_ver = field_or(f, "MajorVer");
      t.minor_ver = field_or(f, "MinorVer");
      t.format = field_or(f, "Format");
      t.tmp = field_or(f, "Tmp");
    }
    if (pin.empty() || t.tmp.empty() || t.no < 0 || t.type < 0) {
      return bad("incomplete template '" + command.argument.substr(0, 80) + "'");
    }
    if (!bio_supported(data_support_, t.type)) {
      return bad("biometric type " + std::to_string(t.type) +
                 " is not in this terminal's MultiBioDataSupport");
    }
    if (users_.find(pin) == users_.end()) {
      return bad("template for unknown user " + pin, access_return::kNoSuchUser);
    }
    templates_[{t.pin, t.type, t.no, t.index}] = t;
    return access_return::kOk;
  }
  if (table == "biophoto" || table == "userpic") {
    AccessPhoto p;
    p.pin = pin;
    p.table = table;
    p.type = table == "biophoto" ? int_field_or(f, "Type", -1) : 0;
    p.content = field_or(f, "Content");
    if (pin.empty() || p.content.empty() || p.type < 0) {
      return bad("incomplete photo for '" + pin + "'");
    }
    const auto size = find_field(f, "Size");
    if (size && parse_int(*size) != static_cast<std::int64_t>(p.content.size())) {
      return bad("Size " + *size + " but " + std::to_string(p.content.size()) + " characters",
                 access_return::kLengthMismatch);
    }
    if (table == "biophoto" && !bio_supported(photo_support_, p.type)) {
      return bad("photo type " + std::to_string(p.type) +
                 " is not in this terminal's MultiBioPhotoSupport");
    }
    photos_[{p.pin, p.table, p.type}] = p;
    return access_return::kOk;
  }
  // Other tables (extuser, firstcard, DoorProperty, ...) are kept by the
  // firmware; the simulator accepts them without modelling them.
  return access_return::kOk;
}

int AccessTerminal::delete_data(const AccessCommand& command) {
  const Fields f = parse_tab_fields(command.argument);
  const std::string& table = command.table;
  const bool all = deletes_all(command.argument);
  const std::string pin = field_or(f, "Pin");
  std::lock_guard lock(mutex_);
  const auto erase_if = [](auto& map, auto pred) {
    for (auto it = map.begin(); it != map.end();) {
      it = pred(*it) ? map.erase(it) : std::next(it);
    }
  };
  if (!all && pin.empty() && table != "timezone" && table != "holiday") {
    ++stats_.protocol_problems;
    problems_.push_back("DATA DELETE " + table + " without a condition: '" + command.argument +
                        "'");
    return access_return::kIncorrectParameter;
  }
  if (table == "user") {
    // The firmware drops everything of the user with it.
    erase_if(users_, [&](const auto& kv) { return all || kv.first == pin; });
    erase_if(authorizations_, [&](const auto& kv) { return all || kv.first.first == pin; });
    erase_if(templates_, [&](const auto& kv) { return all || std::get<0>(kv.first) == pin; });
    erase_if(photos_, [&](const auto& kv) { return all || std::get<0>(kv.first) == pin; });
  } else if (table == "userauthorize") {
    erase_if(authorizations_, [&](const auto& kv) { return all || kv.first.first == pin; });
  } else if (table == "templatev10" || table == "biodata") {
    const bool v10 = table == "templatev10";
    const int type = v10 ? bio_type::kFingerprint : int_field_or(f, "Type", -1);
    const int no = int_field_or(f, v10 ? "FingerID" : "No", -1);
    erase_if(templates_, [&](const auto& kv) {
      const auto& [p, t, n, i] = kv.first;
      return (all || p == pin) && (type < 0 || t == type) && (no < 0 || n == no);
    });
  } else if (table == "biophoto" || table == "userpic") {
    const int type = int_field_or(f, "Type", -1);
    erase_if(photos_, [&](const auto& kv) {
      const auto& [p, tbl, t] = kv.first;
      return tbl == table && (all || p == pin) && (type < 0 || t == type);
    });
  } else if (table == "timezone") {
    const std::string id = field_or(f, "TimezoneId");
    erase_if(timezones_, [&](const auto& kv) { return all || kv.first == id; });
  } else if (table == "holiday") {
    const std::string day = field_or(f, "Holiday");
    erase_if(holidays_, [&](const auto& kv) { return all || kv.first == day; });
  }
  return access_return::kOk;
}

int AccessTerminal::control_device(const std::string& id, const AccessCommand& command) {
  const auto c = parse_control_device(command.argument);
  if (!c) {
    note_problem("CONTROL DEVICE with an unreadable argument '" + command.argument + "'");
    return access_return::kIncorrectParameter;
  }
  std::lock_guard lock(mutex_);
  door_actions_.push_back({"command", id, *c});
  ++stats_.door_actions;
  return access_return::kOk;
}

// ---------------------------------------------------------------------------
// Remote identification (§10), on its own connection

void AccessTerminal::next_auth() {
  if (auth_busy_ || auth_queue_.empty()) {
    return;
  }
  auth_busy_ = true;
  HttpRequest req;
  req.method = boost::beast::http::verb::post;
  req.target = "/iclock/cdata?" + sn_query() + "&AuthType=device";
  req.body = format_remote_auth_body(auth_queue_.front().request);
  add_headers(req);
  req.content_type = "application/push;charset=UTF-8";
  {
    std::lock_guard lock(mutex_);
    ++stats_.remote_auth_sent;
    ++stats_.requests_sent;
  }
  const auto started = Clock::now();
  auth_client_.async_request(
      std::move(req), ExchangeFault::None, [self = shared_from_this(), started](HttpResult r) {
        PendingAuth pending = std::move(self->auth_queue_.front());
        self->auth_queue_.pop_front();
        self->auth_busy_ = false;
        RemoteAuthResult out;
        out.latency = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started);
        out.ec = r.ec;
        out.status = r.status;
        out.body = std::move(r.body);
        if (!out.ec) {
          out.answer = parse_remote_auth_answer(out.body);
          if (out.status == 200 && out.answer.ok) {
            std::lock_guard lock(self->mutex_);
            ++self->stats_.remote_auth_answered;
          } else {
            self->note_problem("remote identification answered HTTP " + std::to_string(out.status) +
                               " '" + out.body.substr(0, 60) + "'");
          }
          if (out.answer.auth == "SUCCESS" && !out.answer.control_device.empty()) {
            const auto c = parse_control_device(out.answer.control_device);
            if (c) {
              {
                std::lock_guard lock(self->mutex_);
                self->door_actions_.push_back({"remote_auth", {}, *c});
                ++self->stats_.door_actions;
              }
              if (self->config_.log_remote_auth_passages) {
                const auto& q = pending.request;
                RtLogEvent passage;
                passage.time = q.time;
                passage.pin = q.pin;
                passage.cardno = q.cardno;
                passage.eventaddr = q.eventaddr;
                passage.event = 222;  // remote identification is successful
                passage.inoutstatus = q.inoutstatus;
                passage.verifytype = q.verifytype;
                self->add_rtlog(passage);
              }
            } else {
              self->note_problem("remote identification CONTROL DEVICE unreadable: " +
                                 out.answer.control_device);
            }
          }
        } else {
          std::lock_guard lock(self->mutex_);
          ++self->stats_.failures_transport;
        }
        self->notify();
        pending.done(std::move(out));
        if (!self->stopped_) {
          self->next_auth();
        } else {
          while (!self->auth_queue_.empty()) {
            RemoteAuthResult aborted;
            aborted.ec = net::error::operation_aborted;
            auto done = std::move(self->auth_queue_.front().done);
            self->auth_queue_.pop_front();
            done(std::move(aborted));
          }
        }
      });
}

}  // namespace pushgate::sim
