#include "gateway/sink_runner.hpp"

#include <algorithm>
#include <future>
#include <limits>

#include <boost/asio/post.hpp>

#include "gateway/clock.hpp"
#include "gateway/event_json.hpp"
#include "gateway/logging.hpp"
#include "gateway/metrics/metrics.hpp"

namespace pushgate {

namespace net = boost::asio;

// Answers and commits can arrive from other threads while the runner stops:
// they reach it only while this points at it.
struct SinkRunner::Alive {
  std::mutex mutex;  // held only to read or clear `runner`, never while it runs
  SinkRunner* runner = nullptr;
  // stop(): a flush that did not run in time must not run later.
  std::mutex flush_mutex;
  bool flush_abandoned = false;
};

namespace {

// Runs `fn` on the runner's io_context unless stop() began first. Handlers
// run one at a time on that io_context and stop() waits for its own flush
// there, so a handler that found the runner finishes before stop() returns.
template <class Alive, class Fn>
void post_guarded(boost::asio::io_context& ioc, const std::shared_ptr<Alive>& alive, Fn fn) {
  net::post(ioc, [alive, fn = std::move(fn)]() mutable {
    decltype(alive->runner) runner = nullptr;
    {
      std::lock_guard lock(alive->mutex);
      runner = alive->runner;
    }
    if (runner != nullptr) {
      fn(*runner);
    }
  });
}

// For a timer's handler: whether the runner still runs. A timer that had
// expired when stop() cancelled it still calls its handler, with success,
// possibly after the runner is gone: such a handler must not touch it. stop()
// clears `runner` first, and a handler that saw it set runs on the
// io_context before stop()'s flush, which stop() waits for.
template <class Alive>
bool running(const std::shared_ptr<Alive>& alive) {
  std::lock_guard lock(alive->mutex);
  return alive->runner != nullptr;
}

}  // namespace

SinkRunner::SinkRunner(Ports ports, Sink& sink, SinkRunnerOptions options)
    : ports_(ports),
      sink_(sink),
      opt_(std::move(options)),
      ioc_(ports.ioc),
      tick_timer_(ioc_),
      retry_timer_(ioc_),
      pace_timer_(ioc_),
      connected_(opt_.connected_at_start),
      alive_(std::make_shared<Alive>()),
      delivered_(ports.metrics.counter("pushgate_sink_delivered_total",
                                       "Events a sink answered delivered", {{"sink", opt_.name}})),
      retried_(ports.metrics.counter("pushgate_sink_retried_total",
                                     "Events a sink answered retry (handed over again later)",
                                     {{"sink", opt_.name}})),
      rejected_(ports.metrics.counter(
          "pushgate_sink_rejected_total",
          "Events a sink refused for good (answered reject): the cursor passed them",
          {{"sink", opt_.name}})),
      backlog_events_(ports.metrics.gauge("pushgate_sink_backlog_events",
                                          "Events after the sink's cursor (not yet acknowledged)",
                                          {{"sink", opt_.name}})),
      backlog_age_(ports.metrics.gauge("pushgate_sink_backlog_oldest_age_seconds",
                                       "Age of the oldest event not yet acknowledged by the sink",
                                       {{"sink", opt_.name}})),
      backlog_alarms_(ports.metrics.counter(
          "pushgate_sink_backlog_alarms_total",
          "Times a sink's oldest undelivered event passed health.max_backlog_age_s (/readyz 503)",
          {{"sink", opt_.name}})) {
  opt_.window = std::max<std::size_t>(opt_.window, 1);
  opt_.batch = std::max<std::size_t>(opt_.batch, 1);
  opt_.read_ahead = std::max<std::size_t>(opt_.read_ahead, 1);
  window_ = opt_.window;
  since_ms_ = ports_.clock.now_ms();
}

SinkRunner::~SinkRunner() {
  stop(opt_.stop_cursor_wait);
}

boost::system::error_code SinkRunner::start() {
  auto log = logger(opt_.name);
  boost::system::error_code ec;
  reader_ = ports_.readers.open_reader(ec);
  if (ec || !reader_) {
    log->error("sink {}: cannot open the event log for reading: {}", opt_.name, ec.message());
    return ec ? ec : make_error_code(boost::system::errc::io_error);
  }
  auto cursor = ports_.cursors.load(opt_.name, ec);
  if (ec) {
    log->error("sink {}: cannot read its cursor: {}", opt_.name, ec.message());
    return ec;
  }
  auto head = reader_->max_event_id(ec);
  if (ec) {
    log->error("sink {}: cannot read the event log: {}", opt_.name, ec.message());
    return ec;
  }
  cursor_ = cursor;
  persisted_ = cursor;
  head_ = std::max(head, cursor);
  {
    std::lock_guard lock(figures_mutex_);
    figures_.cursor = cursor;
    figures_.persisted = cursor;
  }
  {
    std::lock_guard lock(alive_->mutex);
    alive_->runner = this;
  }
  commit_sub_ = ports_.commits.subscribe([this](const std::vector<Event>& committed) {
    std::int64_t top = 0;
    for (const auto& e : committed) {
      top = std::max(top, e.id);
    }
    if (top == 0) {
      return;
    }
    std::int64_t cur = head_.load();
    while (cur < top && !head_.compare_exchange_weak(cur, top)) {
    }
    request_pump();
  });
  ports_.cursors.attach(opt_.name, this);
  started_ = true;
  post_guarded(ioc_, alive_, [](SinkRunner& r) {
    if (r.connected_) {
      r.begin_session();
    }
    r.update_figures();
    r.schedule_tick();
    r.pump();
  });
  log->info("sink {}: resuming after event {} ({} events waiting)", opt_.name, cursor,
            std::max<std::int64_t>(head - cursor, 0));
  return {};
}

void SinkRunner::stop(std::chrono::milliseconds deadline) {
  commit_sub_.reset();  // returns once no commit observer call is running
  {
    std::lock_guard lock(alive_->mutex);
    alive_->runner = nullptr;  // nothing posted runs any more but the flush below
  }
  if (!started_) {
    return;
  }
  ports_.cursors.attach(opt_.name, nullptr);  // retention asks this runner nothing more
  started_ = false;
  auto until = std::chrono::steady_clock::now() + deadline;
  auto flushed = std::make_shared<std::promise<void>>();
  auto flushed_future = flushed->get_future();
  net::post(ioc_, [this, alive = alive_, flushed, until] {
    std::lock_guard flush_lock(alive->flush_mutex);
    if (alive->flush_abandoned) {
      return;
    }
    stopping_ = true;
    tick_timer_.cancel();
    retry_timer_.cancel();
    pace_timer_.cancel();
    take_answers();  // what was answered before the stop still counts
    auto pos = current_cursor();
    cursor_ = pos;
    if (pos > persisted_) {
      // The last cursor goes through the writer, which still runs.
      auto p = std::make_shared<std::promise<bool>>();
      auto f = p->get_future();
      ports_.cursors.store(opt_.name, pos,
                           [p](boost::system::error_code ec) { p->set_value(!ec); });
      auto wait_until = std::min(until, std::chrono::steady_clock::now() + opt_.stop_cursor_wait);
      if (f.wait_until(wait_until) == std::future_status::ready && f.get()) {
        persisted_ = pos;
      } else {
        logger(opt_.name)->warn(
            "sink {}: the last cursor ({}) was not stored in time; events after {} are "
            "handed over again after the restart",
            opt_.name, pos, persisted_);
      }
    }
    {
      std::lock_guard lock(figures_mutex_);
      figures_.cursor = pos;
      figures_.persisted = persisted_;
    }
    flushed->set_value();
  });
  if (flushed_future.wait_until(until) != std::future_status::ready) {
    std::lock_guard flush_lock(alive_->flush_mutex);  // waits for a flush in progress
    alive_->flush_abandoned = true;
  }
  logger(opt_.name)->info("sink {}: stopped (cursor at event {})", opt_.name, figures().persisted);
}

void SinkRunner::set_connected(bool connected, std::size_t window) {
  post_guarded(ioc_, alive_,
               [connected, window](SinkRunner& r) { r.on_connected(connected, window); });
}

void SinkRunner::wake() {
  request_pump();
}

SinkFigures SinkRunner::figures() const {
  std::lock_guard lock(figures_mutex_);
  return figures_;
}

void SinkRunner::request_pump() {
  if (!pump_posted_.exchange(true)) {
    post_guarded(ioc_, alive_, [](SinkRunner& r) {
      r.pump_posted_ = false;
      r.pump();
    });
  }
}

SinkHolder::Held SinkRunner::reserve_deletion(std::vector<std::int64_t> ids) {
  // On the runner's io_context, where the lanes read: the doomed ids and
  // what the runner holds are one step against its reads.
  auto promise = std::make_shared<std::promise<Held>>();
  auto future = promise->get_future();
  Held all;  // the answer when the runner cannot say: it may hold anything
  all.read_to = std::numeric_limits<std::int64_t>::max();
  if (!running(alive_)) {
    return all;  // stopping: stop() waits for this call to end, so end it now
  }
  post_guarded(ioc_, alive_, [ids = std::move(ids), promise](SinkRunner& r) mutable {
    // What the runner holds stays (retention leaves it alone): only the
    // rest is skipped, or a held event the lanes have not read yet (one in
    // doubt from an earlier session) would be skipped and read again.
    auto held = r.hold();
    for (auto id : ids) {
      if (!held.holds(id)) {
        r.doomed_.push_back(id);
      }
    }
    std::sort(r.doomed_.begin(), r.doomed_.end());
    r.doomed_.erase(std::unique(r.doomed_.begin(), r.doomed_.end()), r.doomed_.end());
    promise->set_value(std::move(held));
  });
  if (future.wait_for(std::chrono::seconds(2)) == std::future_status::ready) {
    return future.get();
  }
  // Its thread is busy, or it stopped: nothing is deleted this time (and
  // what it skips meanwhile is read again).
  return all;
}

void SinkRunner::deletion_done(const std::vector<std::int64_t>& deleted) {
  post_guarded(ioc_, alive_, [deleted](SinkRunner& r) {
    r.doomed_.clear();
    bool rewind = false;
    for (auto id : r.skipped_) {
      if (std::binary_search(deleted.begin(), deleted.end(), id)) {
        r.drain_.acked(id);  // deleted: counted lost by retention, the cursor may pass it
      } else {
        rewind = true;
      }
    }
    r.skipped_.clear();
    if (rewind && r.connected_ && !r.stopping_) {
      // A skipped event is still there (the deletion failed, or another
      // sink held it): read again from the cursor, which the skipped events
      // kept below them.
      logger(r.opt_.name)
          ->warn(
              "sink {}: an event retention meant to delete is still there; reading again "
              "from event {}",
              r.opt_.name, r.current_cursor());
      r.take_answers();
      r.cursor_ = r.current_cursor();
      ++r.epoch_;
      r.begin_session();
    }
    r.pump();
  });
}

bool SinkRunner::doomed(std::int64_t id) const {
  return !doomed_.empty() && std::binary_search(doomed_.begin(), doomed_.end(), id);
}

void SinkRunner::skip(std::int64_t id) {
  drain_.published(id);  // the cursor stops below it until the deletion is over
  skipped_.push_back(id);
}

SinkHolder::Held SinkRunner::hold() const {
  Held h;
  h.delivered = current_cursor();
  // Handed over in an earlier session and never answered: maybe delivered.
  auto add_in_doubt = [&] {
    for (auto it = std::upper_bound(in_doubt_.begin(), in_doubt_.end(), h.read_to);
         it != in_doubt_.end(); ++it) {
      h.in_hand.push_back(*it);
    }
  };
  if (!connected_) {
    h.read_to = h.delivered;  // nothing read: the next session reads from the cursor
    add_in_doubt();
    return h;
  }
  h.read_to = std::max(backlog_read_pos_, h.delivered);
  for (auto it = pending_.upper_bound(h.read_to); it != pending_.end(); ++it) {
    h.in_hand.push_back(it->first);
  }
  add_in_doubt();
  std::sort(h.in_hand.begin(), h.in_hand.end());
  h.in_hand.erase(std::unique(h.in_hand.begin(), h.in_hand.end()), h.in_hand.end());
  // Sent ahead by the live lane and answered: above the cursor, but not lost.
  for (auto id : drain_.sent_ahead()) {
    if (id > h.read_to && !drain_.outstanding(id) && pending_.count(id) == 0) {
      h.answered.push_back(id);
    }
  }
  return h;
}

void SinkRunner::note_in_doubt() {
  // Only what is above the cursor matters; the cursor only grows.
  std::erase_if(in_doubt_, [c = cursor_](std::int64_t id) { return id <= c; });
  for (const auto& [id, p] : pending_) {
    if (id > cursor_) {
      in_doubt_.push_back(id);
    }
  }
  std::sort(in_doubt_.begin(), in_doubt_.end());
  in_doubt_.erase(std::unique(in_doubt_.begin(), in_doubt_.end()), in_doubt_.end());
}

std::int64_t SinkRunner::current_cursor() const {
  // After a disconnect drain_ keeps the old session, whose cursor is at most cursor_.
  return std::max(cursor_, drain_.cursor());
}

void SinkRunner::begin_session() {
  boost::system::error_code ec;
  std::int64_t head = reader_->max_event_id(ec);
  std::map<std::string, std::int64_t> last;
  if (!ec) {
    last = reader_->last_id_per_terminal_after(cursor_, ec);
  }
  if (ec) {
    // Reading failed (should not happen on a healthy disk): start from the
    // cursor with everything as backlog; nothing is skipped.
    logger(opt_.name)->error("sink {}: cannot read the backlog extent: {}", opt_.name,
                             ec.message());
    head = std::max(head, head_.load());
  }
  drain_.begin(cursor_, head, std::move(last));
  skipped_.clear();  // this session reads from the cursor, below every one of them
  note_in_doubt();   // a rewind: what the old session handed over may be delivered
  pending_.clear();
  waiting_ = 0;
  backlog_.clear();
  backlog_doomed_.clear();
  backlog_read_pos_ = cursor_;
  tokens_ = 0;
  refill_ = std::chrono::steady_clock::now();
  std::int64_t cur = head_.load();
  while (cur < head && !head_.compare_exchange_weak(cur, head)) {
  }
}

bool SinkRunner::take_token() {
  if (opt_.backlog_max_per_s <= 0) {
    return true;
  }
  auto now = std::chrono::steady_clock::now();
  double dt = std::chrono::duration<double>(now - refill_).count();
  refill_ = now;
  tokens_ = std::min<double>(tokens_ + dt * opt_.backlog_max_per_s,
                             std::max(1, opt_.backlog_max_per_s / 10));
  if (tokens_ >= 1) {
    return true;
  }
  if (!pace_timer_armed_) {
    pace_timer_armed_ = true;
    pace_timer_.expires_after(std::chrono::milliseconds(10));
    pace_timer_.async_wait([this, alive = alive_](boost::system::error_code e) {
      if (e || !running(alive)) {
        return;  // cancelled: stopping or the link went down
      }
      pace_timer_armed_ = false;
      pump();
    });
  }
  return false;
}

const Sink::Answer& SinkRunner::answer_fn() {
  if (answer_fn_ && answer_fn_epoch_ == epoch_) {
    return answer_fn_;
  }
  answer_fn_epoch_ = epoch_;
  answer_fn_ = [alive = alive_, epoch = epoch_](std::int64_t id, SinkResult result,
                                                std::string reason) {
    std::lock_guard lock(alive->mutex);
    auto* r = alive->runner;
    if (r == nullptr) {
      return;
    }
    // Answers come back by the thousand per second: collect them and post
    // once per batch rather than wake the runner's thread for each.
    bool first = false;
    {
      std::lock_guard answers_lock(r->answers_mutex_);
      first = r->answers_.empty();
      r->answers_.push_back({epoch, id, result, std::move(reason)});
    }
    if (first) {
      post_guarded(r->ioc_, alive, [](SinkRunner& runner) {
        runner.take_answers();
        runner.pump();
      });
    }
  };
  return answer_fn_;
}

void SinkRunner::hand_over(const std::vector<Event>& events, bool replay) {
  if (events.empty()) {
    return;
  }
  sink_.deliver(events, replay, answer_fn());
}

void SinkRunner::pump() {
  if (!started_ || !connected_ || stopping_) {
    return;
  }
  auto log = logger(opt_.name);
  auto room = [this] { return window_ > pending_.size() ? window_ - pending_.size() : 0; };
  auto take = [this](const Event& e) {
    drain_.published(e.id);
    pending_.emplace(e.id, Pending{e.terminal_sn, e.kind, State::InFlight, 0, {}});
  };

  // Retries that are due first: they are older than anything new.
  auto now = std::chrono::steady_clock::now();
  std::vector<Event> out;
  boost::system::error_code ec;
  for (auto it = pending_.begin(); waiting_ > 0 && it != pending_.end(); ++it) {
    auto& [id, p] = *it;
    if (p.state != State::Waiting || p.due > now) {
      continue;
    }
    auto again = reader_->read_after(id - 1, 1, ec);
    if (ec || again.empty() || again.front().id != id) {
      if (auto k = log_limiter_.admit("read", ports_.clock.now_ms())) {
        log->error("sink {}: cannot read event {} again for its retry: {}{}", opt_.name, id,
                   ec ? ec.message() : std::string("not found"), suppressed_note(*k));
      }
      p.due = now + opt_.retry_max;  // tried again later; the cursor waits
      arm_retry_timer();
      ec.clear();
      continue;
    }
    p.state = State::InFlight;
    --waiting_;
    out.push_back(std::move(again.front()));
    if (out.size() == opt_.batch) {
      hand_over(out, true);
      out.clear();
    }
  }
  hand_over(out, true);

  // Live lane: what was committed since we last looked goes ahead of the
  // backlog (unless its terminal still has backlog, see DrainState).
  while (connected_ && room() > 0 && head_.load() > drain_.live_pos()) {
    auto events = reader_->read_after(drain_.live_pos(), std::min(room(), opt_.batch), ec);
    if (ec) {
      if (auto k = log_limiter_.admit("read", ports_.clock.now_ms())) {
        log->error("sink {}: cannot read live events: {}{}", opt_.name, ec.message(),
                   suppressed_note(*k));
      }
      break;  // the tick tries again
    }
    if (events.empty()) {
      break;
    }
    out.clear();
    for (auto& e : events) {
      if (drain_.admit_live(e.terminal_sn, e.id)) {
        if (doomed(e.id)) {
          skip(e.id);
          continue;
        }
        take(e);
        out.push_back(std::move(e));
      }
    }
    hand_over(out, false);
  }

  // Backlog lane: replay in id order, paced by the window and the optional cap.
  out.clear();
  while (connected_ && room() > 0 && drain_.draining()) {
    if (!take_token()) {
      break;
    }
    if (backlog_.empty()) {
      auto events = reader_->read_after(std::max(backlog_read_pos_, drain_.backlog_pos()),
                                        opt_.read_ahead, ec);
      if (ec) {
        if (auto k = log_limiter_.admit("read", ports_.clock.now_ms())) {
          log->error("sink {}: cannot read the backlog: {}{}", opt_.name, ec.message(),
                     suppressed_note(*k));
        }
        break;
      }
      for (auto& e : events) {
        if (e.id > drain_.live_pos()) {
          break;  // the live lane's part of the log
        }
        backlog_read_pos_ = e.id;
        if (doomed(e.id)) {
          backlog_doomed_.push_back(e.id);  // kept for its place in the order only
        }
        backlog_.push_back(std::move(e));
      }
      if (backlog_.empty()) {
        // Nothing left up to the live position (ids can have gaps).
        drain_.admit_backlog(std::string(), drain_.live_pos());
        break;
      }
    }
    Event e = std::move(backlog_.front());
    backlog_.pop_front();
    const bool doomed = !backlog_doomed_.empty() && backlog_doomed_.front() == e.id;
    if (doomed) {
      backlog_doomed_.pop_front();
    }
    if (drain_.admit_backlog(e.terminal_sn, e.id)) {
      if (doomed) {
        skip(e.id);
        continue;
      }
      take(e);
      out.push_back(std::move(e));
      if (opt_.backlog_max_per_s > 0) {
        tokens_ -= 1;
      }
      if (out.size() == opt_.batch) {
        hand_over(out, true);
        out.clear();
      }
    }
  }
  hand_over(out, true);
  persist_cursor(false);
  {
    // Cheap figures at once; depth and age (a query) on the tick.
    std::lock_guard lock(figures_mutex_);
    figures_.cursor = current_cursor();
    figures_.head = std::max(head_.load(), figures_.cursor);
    figures_.in_flight = static_cast<std::int64_t>(pending_.size());
    figures_.draining = drain_.draining();
  }
}

void SinkRunner::take_answers() {
  std::vector<AnswerRecord> answers;
  {
    std::lock_guard lock(answers_mutex_);
    answers.swap(answers_);
  }
  for (auto& a : answers) {
    on_answer(std::move(a));
  }
}

void SinkRunner::on_answer(AnswerRecord a) {
  if (a.epoch != epoch_) {
    return;  // from before a disconnect: that event is handed over again
  }
  auto it = pending_.find(a.id);
  if (it == pending_.end() || it->second.state != State::InFlight) {
    return;  // not handed over, or answered twice
  }
  auto now_ms = ports_.clock.now_ms();
  switch (a.result) {
    case SinkResult::Delivered:
      delivered_.inc();
      drain_.acked(a.id);
      pending_.erase(it);
      break;
    case SinkResult::Reject: {
      rejected_.inc();
      if (auto k = log_limiter_.admit("reject", now_ms)) {
        const auto& p = it->second;
        logger(opt_.name)->warn("sink {}: event {} ([sn={}] {}) refused for good, skipped: {}{}",
                                opt_.name, a.id, p.terminal_sn, to_string(p.kind),
                                a.reason.empty() ? "no reason" : a.reason, suppressed_note(*k));
      }
      drain_.acked(a.id);
      pending_.erase(it);
      break;
    }
    case SinkResult::Retry: {
      retried_.inc();
      auto& p = it->second;
      ++p.attempts;
      auto backoff = opt_.retry_min;
      for (int i = 1; i < p.attempts && backoff < opt_.retry_max; ++i) {
        backoff *= 2;
      }
      backoff = std::min(backoff, opt_.retry_max);
      p.state = State::Waiting;
      ++waiting_;
      p.due = std::chrono::steady_clock::now() + backoff;
      if (auto k = log_limiter_.admit("retry", now_ms)) {
        logger(opt_.name)->info(
            "sink {}: event {} not delivered ({}), again in {} ms (attempt {}){}", opt_.name, a.id,
            a.reason.empty() ? "retry" : a.reason, backoff.count(), p.attempts,
            suppressed_note(*k));
      }
      arm_retry_timer();
      break;
    }
  }
}

void SinkRunner::arm_retry_timer() {
  std::chrono::steady_clock::time_point next{};
  bool any = false;
  for (const auto& [id, p] : pending_) {
    if (p.state == State::Waiting && (!any || p.due < next)) {
      next = p.due;
      any = true;
    }
  }
  if (!any || stopping_ || (retry_timer_armed_ && retry_timer_due_ <= next)) {
    return;
  }
  retry_timer_armed_ = true;
  retry_timer_due_ = next;
  retry_timer_.expires_at(next);
  retry_timer_.async_wait([this, alive = alive_](boost::system::error_code ec) {
    if (ec || !running(alive)) {
      return;  // cancelled: re-armed for an earlier retry, or stopping
    }
    retry_timer_armed_ = false;
    pump();
    arm_retry_timer();
  });
}

void SinkRunner::on_connected(bool connected, std::size_t window) {
  if (stopping_) {
    return;
  }
  if (connected) {
    window_ = window > 0 ? window : opt_.window;
    if (connected_) {
      return;
    }
    since_ms_ = ports_.clock.now_ms();
    connected_ = true;
    begin_session();
    update_figures();
    pump();
    return;
  }
  if (!connected_) {
    return;
  }
  since_ms_ = ports_.clock.now_ms();
  // Whatever is unanswered is lost with the link: hand it over again from
  // the cursor once it is back. Late answers belong to the old epoch.
  take_answers();
  cursor_ = current_cursor();
  note_in_doubt();
  pending_.clear();
  waiting_ = 0;
  backlog_.clear();
  backlog_doomed_.clear();
  ++epoch_;
  connected_ = false;
  retry_timer_.cancel();
  retry_timer_armed_ = false;
  pace_timer_.cancel();
  pace_timer_armed_ = false;
  persist_cursor(false);
  update_figures();
}

void SinkRunner::schedule_tick() {
  tick_timer_.expires_after(opt_.tick);
  tick_timer_.async_wait([this, alive = alive_](boost::system::error_code ec) {
    if (!ec && running(alive)) {
      on_tick();
      schedule_tick();
    }
  });
}

void SinkRunner::on_tick() {
  update_figures();
  persist_cursor(true);
  pump();
}

void SinkRunner::persist_cursor(bool force) {
  auto pos = current_cursor();
  if (cursor_write_in_flight_ || pos <= persisted_ || stopping_) {
    return;
  }
  auto now = std::chrono::steady_clock::now();
  if (!force && now - last_cursor_write_ < opt_.cursor_write_every) {
    return;  // the tick or the next answer writes it; a restart hands over at most this much again
  }
  cursor_write_in_flight_ = true;
  last_cursor_write_ = now;
  ports_.cursors.store(opt_.name, pos, [alive = alive_, pos](boost::system::error_code ec) {
    std::lock_guard lock(alive->mutex);
    if (alive->runner == nullptr) {
      return;
    }
    post_guarded(alive->runner->ioc_, alive,
                 [pos, ok = !ec, msg = ec.message()](SinkRunner& runner) {
                   auto* r = &runner;
                   r->cursor_write_in_flight_ = false;
                   if (!ok) {
                     if (auto k = r->log_limiter_.admit("cursor", r->ports_.clock.now_ms())) {
                       logger(r->opt_.name)
                           ->warn("sink {}: cannot store the cursor: {}{}", r->opt_.name, msg,
                                  suppressed_note(*k));
                     }
                     return;
                   }
                   r->persisted_ = std::max(r->persisted_, pos);
                   std::lock_guard figures_lock(r->figures_mutex_);
                   r->figures_.persisted = r->persisted_;
                 });
  });
}

void SinkRunner::update_figures() {
  auto cursor = current_cursor();
  auto head = std::max(head_.load(), cursor);
  auto backlog = std::max<std::int64_t>(head - cursor, 0);
  boost::system::error_code ec;
  auto oldest_ms = backlog > 0 ? reader_->first_received_ms_after(cursor, ec) : 0;  // 0: none
  auto now_ms = ports_.clock.now_ms();
  double age = oldest_ms > 0 ? std::max<double>(0, (now_ms - oldest_ms) / 1000.0) : 0.0;
  backlog_events_.set(static_cast<double>(backlog));
  backlog_age_.set(age);
  {
    std::lock_guard lock(figures_mutex_);
    figures_.cursor = cursor;
    figures_.persisted = persisted_;
    figures_.head = head;
    figures_.in_flight = static_cast<std::int64_t>(pending_.size());
    figures_.draining = connected_ && drain_.draining();
    figures_.backlog_events = backlog;
    figures_.backlog_oldest_age_s = age;
    figures_.delivered = delivered_.value();
    figures_.retried = retried_.value();
    figures_.rejected = rejected_.value();
  }
  Health::Sink s;
  s.connected = connected_;
  s.since_ms = since_ms_;
  s.backlog_events = backlog;
  s.backlog_oldest_age_s = age;
  ports_.health.set_sink(opt_.name, s);

  // /readyz: a failing check once the oldest event still waiting is older
  // than max_backlog_age_s.
  const bool too_old = opt_.max_backlog_age_s > 0 && age > opt_.max_backlog_age_s;
  if (too_old == backlog_too_old_) {
    return;
  }
  backlog_too_old_ = too_old;
  auto log = logger(opt_.name);
  if (!too_old) {
    ports_.health.set(Health::Kind::Ready, opt_.name, true);
    log->info("sink {}: backlog back under health.max_backlog_age_s: ready again", opt_.name);
    return;
  }
  backlog_alarms_.inc();
  auto reason = std::to_string(backlog) + " events not delivered, the oldest " +
                std::to_string(static_cast<std::int64_t>(age)) +
                " s old (health.max_backlog_age_s " + std::to_string(opt_.max_backlog_age_s) +
                "); " + (connected_ ? "connected" : "not connected") + " since " +
                (since_ms_ > 0 ? format_utc_iso8601(since_ms_) : std::string("start"));
  log->warn("not ready: {}", reason);
  ports_.health.set(Health::Kind::Ready, opt_.name, false, std::move(reason));
}

}  // namespace pushgate
