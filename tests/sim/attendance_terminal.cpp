// The simulator's attendance terminal: construction, its thread-safe surface and the scheduler.

#include "tests/sim/attendance_terminal.hpp"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/beast/core/bind_handler.hpp>

namespace pushgate::sim {

namespace net = boost::asio;
namespace beast = boost::beast;
using boost::system::error_code;

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

}  // namespace pushgate::sim
