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

constexpr std::size_t kMaxProblems = 1000;
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
// Construction and the public, thread-safe surface

std::shared_ptr<AttendanceTerminal> AttendanceTerminal::create(net::io_context& ioc,
                                                               AttendanceTerminalConfig config) {
  return std::shared_ptr<AttendanceTerminal>(new AttendanceTerminal(ioc, std::move(config)));
}

AttendanceTerminal::AttendanceTerminal(net::io_context& ioc, AttendanceTerminalConfig config)
    : config_(std::move(config)),
      strand_(net::make_strand(ioc)),
      timer_(strand_),
      client_(strand_, config_.http) {}

AttendanceTerminal::~AttendanceTerminal() = default;

void AttendanceTerminal::start() {
  net::post(strand_, [self = shared_from_this()] {
    if (self->started_ || self->stopped_) {
      return;
    }
    self->started_ = true;
    self->backoff_until_ = Clock::now() + self->config_.start_delay;
    self->do_next();
  });
}

void AttendanceTerminal::stop() {
  net::post(strand_, [self = shared_from_this()] {
    self->stopped_ = true;
    self->timer_.cancel();
    self->client_.cancel();
    {
      std::lock_guard lock(self->mutex_);
      self->stats_.online = false;
    }
    self->notify();
  });
}

TerminalStats AttendanceTerminal::stats() const {
  std::lock_guard lock(mutex_);
  TerminalStats s = stats_;
  s.records_pending = records_.size() - next_unacked_;
  return s;
}

void AttendanceTerminal::add_records(std::vector<AttendanceRecord> records) {
  {
    std::lock_guard lock(mutex_);
    // The firmware quirk: while offline, new punches skip the upload queue.
    const bool drop =
        config_.drop_records_while_offline && !stats_.online && next_unacked_ == records_.size();
    records_.reserve(records_.size() + records.size());
    if (drop) {
      next_unacked_ += records.size();
      stats_.records_dropped += records.size();
    }
    for (auto& r : records) {
      if (r.index == 0) {
        r.index = ++last_index_;
      } else {
        last_index_ = std::max(last_index_, r.index);
      }
      records_.push_back(std::move(r));
    }
    stats_.records_generated += records.size();
  }
  notify();
  wake();
}

void AttendanceTerminal::punch(std::string pin, int status, int verify) {
  AttendanceRecord r;
  r.pin = std::move(pin);
  r.time = device_now();
  r.status = status;
  r.verify = verify;
  add_records({std::move(r)});
}

void AttendanceTerminal::enroll_user(UserInfo user) {
  {
    std::lock_guard lock(mutex_);
    operlog_.push_back(format_user_line(user));
    users_[user.pin] = std::move(user);
  }
  notify();
  wake();
}

// The one-shot faults live under the lock (not posted) so that, from the
// caller's thread, "inject, then add records" always hits those records.
void AttendanceTerminal::inject_exchange_faults(std::uint32_t count, ExchangeFault fault) {
  std::lock_guard lock(mutex_);
  oneshot_fault_count_ += count;
  oneshot_fault_ = fault;
}

void AttendanceTerminal::duplicate_next_batch() {
  std::lock_guard lock(mutex_);
  duplicate_next_ = true;
}

void AttendanceTerminal::corrupt_next_batch() {
  std::lock_guard lock(mutex_);
  corrupt_next_ = true;
}

std::vector<std::string> AttendanceTerminal::acked_lines() const {
  std::lock_guard lock(mutex_);
  return acked_lines_;
}

std::vector<std::string> AttendanceTerminal::acked_operlog_lines() const {
  std::lock_guard lock(mutex_);
  return acked_operlog_lines_;
}

std::vector<AttendanceRecord> AttendanceTerminal::records() const {
  std::lock_guard lock(mutex_);
  return records_;
}

std::map<std::string, UserInfo> AttendanceTerminal::users() const {
  std::lock_guard lock(mutex_);
  return users_;
}

std::vector<BioTemplate> AttendanceTerminal::templates() const {
  std::lock_guard lock(mutex_);
  std::vector<BioTemplate> out;
  out.reserve(templates_.size());
  for (const auto& [key, t] : templates_) {
    out.push_back(t);
  }
  return out;
}

std::vector<ExecutedCommand> AttendanceTerminal::executed_commands() const {
  std::lock_guard lock(mutex_);
  return commands_;
}

std::vector<std::string> AttendanceTerminal::problems() const {
  std::lock_guard lock(mutex_);
  return problems_;
}

std::optional<ServerOptions> AttendanceTerminal::server_options() const {
  std::lock_guard lock(mutex_);
  return server_options_;
}

std::map<std::string, std::string> AttendanceTerminal::device_options() const {
  std::lock_guard lock(mutex_);
  return device_options_;
}

std::vector<std::chrono::microseconds> AttendanceTerminal::upload_latencies() const {
  std::lock_guard lock(mutex_);
  return latencies_;
}

LocalSeconds AttendanceTerminal::device_now() const {
  std::chrono::system_clock::duration offset;
  {
    std::lock_guard lock(mutex_);
    offset = clock_offset_;
  }
  const auto now = std::chrono::system_clock::now() + offset;
  return LocalSeconds{std::chrono::floor<std::chrono::seconds>(now.time_since_epoch())};
}

bool AttendanceTerminal::wait_until(const std::function<bool(const TerminalStats&)>& pred,
                                    std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [&] {
    TerminalStats s = stats_;
    s.records_pending = records_.size() - next_unacked_;
    return pred(s);
  });
}

void AttendanceTerminal::notify() {
  changed_.notify_all();
}

// ---------------------------------------------------------------------------
// The scheduler (strand only)

void AttendanceTerminal::do_next() {
  if (stopped_ || !started_ || busy_ || waiting_) {
    return;
  }
  const auto now = Clock::now();
  if (now < backoff_until_) {
    return arm_timer(backoff_until_);
  }
  if (!online_) {
    return do_handshake();
  }
  if (options_due_) {
    return do_push_options();
  }
  // Query answers and command results first: the server waits for them.
  if (!outbox_.empty()) {
    return do_send_outbox();
  }
  if (reboot_pending_) {
    return do_reboot();
  }
  if (rehandshake_pending_) {
    rehandshake_pending_ = false;
    online_ = false;
    return do_handshake();
  }

  bool operlog_pending = false;
  bool attlog_pending = false;
  {
    std::lock_guard lock(mutex_);
    operlog_pending = operlog_acked_ < operlog_.size();
    attlog_pending = next_unacked_ < records_.size();
  }
  if (!realtime_ && !config_.force_realtime && now >= next_upload_) {
    // A TransInterval / TransTimes moment: drain everything held, then wait
    // for the next moment.
    force_upload_ = true;
    schedule_next_upload(now);
  }
  if (!operlog_pending && !attlog_pending) {
    force_upload_ = false;
  }
  const bool may_upload = upload_allowed();
  // Order as captured after a boot: options, OPERLOG, getrequest with INFO,
  // then ATTLOG; a due poll interleaves with a long ATTLOG backlog.
  if (operlog_pending && may_upload) {
    return do_upload_operlog();
  }
  if (now >= next_poll_) {
    return do_poll();
  }
  if (attlog_pending && may_upload) {
    return do_upload_attlog();
  }
  auto when = next_poll_;
  if ((operlog_pending || attlog_pending) && !may_upload) {
    when = std::min(when, next_upload_);
  }
  arm_timer(when);
}

void AttendanceTerminal::arm_timer(Clock::time_point when) {
  waiting_ = true;
  timer_.expires_at(when);
  timer_.async_wait(beast::bind_front_handler(&AttendanceTerminal::on_timer, shared_from_this()));
}

void AttendanceTerminal::on_timer(error_code) {
  // Expired or cancelled by wake(): either way, decide again.
  waiting_ = false;
  do_next();
}

void AttendanceTerminal::wake() {
  net::post(strand_, [self = shared_from_this()] {
    // A failure backoff is not cut short by new records; an idle wait is.
    if (self->waiting_ && Clock::now() >= self->backoff_until_) {
      self->timer_.cancel();
    }
  });
}

bool AttendanceTerminal::upload_allowed() const {
  return realtime_ || config_.force_realtime || force_upload_;
}

void AttendanceTerminal::schedule_next_upload(Clock::time_point now) {
  using namespace std::chrono;
  auto best = Clock::time_point::max();
  if (trans_interval_ && trans_interval_->count() > 0) {
    best = now + *trans_interval_;
  }
  if (!trans_times_.empty()) {
    const auto local = device_now().time_since_epoch();
    const auto minute_of_day = duration_cast<minutes>(local - floor<days>(local));
    for (const auto t : trans_times_) {
      auto delta = t - minute_of_day;
      if (delta <= minutes{0}) {
        delta += hours{24};
      }
      best = std::min(best, now + delta);
    }
  }
  next_upload_ = best;
}

std::chrono::milliseconds AttendanceTerminal::error_delay() const {
  return config_.error_delay.value_or(server_error_delay_.value_or(config_.default_error_delay));
}

std::chrono::milliseconds AttendanceTerminal::poll_interval() const {
  return config_.poll_interval.value_or(server_delay_.value_or(config_.default_delay));
}

std::string AttendanceTerminal::sn_query() const {
  return "SN=" + encode_query_value(config_.serial_number);
}

// ---------------------------------------------------------------------------
// One exchange

void AttendanceTerminal::send(HttpRequest request, std::function<void(HttpResult)> on_done) {
  busy_ = true;
  auto go = [self = shared_from_this(), request = std::move(request),
             on_done = std::move(on_done)]() mutable {
    if (self->stopped_) {
      if (self->config_.gate != nullptr) {
        self->config_.gate->release();
      }
      self->busy_ = false;
      return;
    }
    const ExchangeFault fault = self->next_fault();
    {
      std::lock_guard lock(self->mutex_);
      ++self->stats_.requests_sent;
      if (fault != ExchangeFault::None) {
        ++self->stats_.injected_faults;
      }
    }
    self->client_.async_request(std::move(request), fault,
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

ExchangeFault AttendanceTerminal::next_fault() {
  ++request_seq_;
  {
    std::lock_guard lock(mutex_);
    if (oneshot_fault_count_ > 0) {
      --oneshot_fault_count_;
      return oneshot_fault_;
    }
  }
  const auto every = [this](std::uint32_t n) { return n != 0 && request_seq_ % n == 0; };
  if (every(config_.faults.drop_mid_request_every)) {
    return ExchangeFault::DropMidRequest;
  }
  if (every(config_.faults.lose_response_every)) {
    return ExchangeFault::DropBeforeResponse;
  }
  return ExchangeFault::None;
}

bool AttendanceTerminal::answered(const HttpResult& result, std::string_view what) {
  if (result.ec) {
    fail(Failure::Transport, std::string(what) + ": " + result.ec.message());
    return false;
  }
  if (result.status != 200) {
    fail(Failure::Status, std::string(what) + ": HTTP " + std::to_string(result.status));
    return false;
  }
  return true;
}

void AttendanceTerminal::fail(Failure kind, std::string_view what) {
  busy_ = false;
  if (stopped_) {
    return;  // the error is our own cancellation
  }
  {
    std::lock_guard lock(mutex_);
    switch (kind) {
      case Failure::Transport:
        ++stats_.failures_transport;
        break;
      case Failure::Status:
        ++stats_.failures_status;
        break;
      case Failure::Body:
        ++stats_.failures_body;
        break;
    }
    if (kind == Failure::Transport && config_.rehandshake_on_transport_error) {
      stats_.online = false;
    }
  }
  notify();
  // The data stays where it is; try again after ErrorDelay, like a terminal
  // whose server is away. A lost link means a new handshake first.
  if (kind == Failure::Transport && config_.rehandshake_on_transport_error) {
    online_ = false;
  }
  backoff_until_ = Clock::now() + error_delay();
  if (config_.log) {
    config_.log("[sn=" + config_.serial_number + "] retry in " +
                std::to_string(error_delay().count()) + " ms: " + std::string(what));
  }
  do_next();
}

void AttendanceTerminal::note_problem(std::string problem) {
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

void AttendanceTerminal::sync_clock(const std::string& date_header) {
  const auto date = parse_http_date(date_header);
  if (!date) {
    // The spec makes Date required: the terminal sets its clock from it.
    note_problem("answer without a usable Date header: '" + date_header + "'");
    return;
  }
  const auto local = *date + time_zone_;
  std::lock_guard lock(mutex_);
  clock_offset_ = local - std::chrono::system_clock::now();
}

// ---------------------------------------------------------------------------
// Handshake and options

void AttendanceTerminal::do_handshake() {
  HttpRequest req;
  req.target = handshake_target(config_.profile, config_.serial_number);
  send(std::move(req),
       [self = shared_from_this()](HttpResult r) { self->on_handshake(std::move(r)); });
}

void AttendanceTerminal::on_handshake(HttpResult result) {
  if (!answered(result, "handshake")) {
    return;
  }
  ServerOptionsParse parsed = parse_server_options(result.body);
  if (!parsed.ok) {
    return fail(Failure::Body, "handshake: " + parsed.error);
  }
  for (const auto& p : parsed.problems) {
    note_problem("handshake line " + std::to_string(p.line) + ": " + p.reason);
  }
  const ServerOptions& o = parsed.options;
  if (o.serial_number != config_.serial_number) {
    note_problem("handshake answer is for SN '" + o.serial_number + "'");
  }
  server_delay_ = o.delay;
  server_error_delay_ = o.error_delay;
  realtime_ = o.realtime;
  trans_interval_ = o.trans_interval;
  trans_times_ = o.trans_times;
  time_zone_ = o.time_zone.value_or(std::chrono::minutes{0});
  sync_clock(result.date);

  online_ = true;
  options_due_ = config_.options_push == OptionsPush::Always ||
                 (config_.options_push == OptionsPush::WhenAsked && o.push_options_flag);
  info_due_ = true;
  const auto now = Clock::now();
  next_poll_ = now;
  if (!realtime_) {
    schedule_next_upload(now);
  }
  const bool add_boot_line = config_.boot_operlog && boot_oplog_due_;
  boot_oplog_due_ = false;
  OperationRecord startup;
  startup.op_type = 0;  // Appendix 3: startup
  startup.time = device_now();
  {
    std::lock_guard lock(mutex_);
    server_options_ = o;
    ++stats_.handshakes_ok;
    stats_.online = true;
    if (add_boot_line) {
      operlog_.push_back(format_oplog_line(startup));
    }
  }
  notify();
  busy_ = false;
  do_next();
}

void AttendanceTerminal::do_push_options() {
  HttpRequest req;
  req.method = boost::beast::http::verb::post;
  req.target = "/iclock/cdata?" + sn_query() + "&table=options";
  req.content_type = "text/plain";
  {
    std::lock_guard lock(mutex_);
    req.body = format_options_line(config_.profile, counts_locked());
  }
  send(std::move(req),
       [self = shared_from_this()](HttpResult r) { self->on_push_options(std::move(r)); });
}

void AttendanceTerminal::on_push_options(HttpResult result) {
  if (!answered(result, "options")) {
    return;
  }
  if (!is_ok_answer(result.status, result.body)) {
    return fail(Failure::Body, "options answered '" + result.body.substr(0, 40) + "'");
  }
  options_due_ = false;
  info_due_ = true;
  {
    std::lock_guard lock(mutex_);
    ++stats_.options_pushed;
  }
  notify();
  busy_ = false;
  do_next();
}

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
