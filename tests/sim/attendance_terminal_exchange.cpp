// The attendance terminal's exchanges: one request and its failures, handshake and options.

#include "tests/sim/attendance_terminal.hpp"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/beast/core/bind_handler.hpp>

namespace pushgate::sim {

namespace net = boost::asio;
namespace beast = boost::beast;
using boost::system::error_code;

namespace {

constexpr std::size_t kMaxProblems = 1000;

}  // namespace

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

}  // namespace pushgate::sim
