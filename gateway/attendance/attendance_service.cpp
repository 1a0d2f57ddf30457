// AttendanceService: options and rules file, lifecycle, the commit feed, the tick, test hooks.
#include "gateway/attendance/attendance_service.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <future>
#include <sstream>
#include <stdexcept>
#include <utility>

#include <boost/asio/post.hpp>

#include "gateway/config/config.hpp"
#include "gateway/event_json.hpp"
#include "gateway/json_error.hpp"
#include "gateway/logging.hpp"
#include "gateway/store/store.hpp"
#include "rules/attendance/attendance_config.hpp"
#include "rules/attendance/local_time.hpp"

namespace pushgate::attendance {

namespace net = boost::asio;

namespace {

// The zone durations are measured in (DST-aware), or nullptr where wall-clock
// arithmetic is exact: UTC and fixed offsets.
const date::time_zone* duration_zone(const std::string& spec) {
  try {
    if (spec.empty()) {
      return date::current_zone();
    }
    if (spec == "UTC" || spec == "Z" || spec.front() == '+' || spec.front() == '-') {
      return nullptr;
    }
    return date::locate_zone(spec);
  } catch (const std::exception&) {
    return nullptr;  // Zone::parse has already judged the spec
  }
}

std::string errors_text(const std::vector<ra::ConfigError>& errors) {
  std::string out;
  for (const auto& e : errors) {
    out += "\n  ";
    if (!e.field.empty()) {
      out += e.field + ": ";
    }
    out += e.message;
  }
  return out;
}

}  // namespace

std::optional<ra::Punch> punch_from_event(const Event& event, bool use_state) {
  if (event.kind != EventKind::Attendance || event.pin.empty()) {
    return std::nullopt;
  }
  auto local = ra::parse_local_time(event.local_time);
  if (!local) {
    return std::nullopt;
  }
  ra::Punch p;
  p.pin = event.pin;
  p.local = *local;
  // The rules read 0-5 and treat anything else (255, unset) as "no state".
  if (use_state && event.status != kUnset) {
    p.state = event.status;
  }
  p.terminal_sn = event.terminal_sn;
  p.event_id = event.id;
  return p;
}

std::string_view to_string(RulesSource source) noexcept {
  switch (source) {
    case RulesSource::File:
      return "file";
    case RulesSource::Rest:
      return "rest";
    case RulesSource::None:
      break;
  }
  return "none";
}

std::optional<ra::Rules> read_rules_file(const std::string& path, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = "attendance.rules_file: cannot read \"" + path + "\": " + std::strerror(errno);
    return std::nullopt;
  }
  std::stringstream text;
  text << in.rdbuf();
  auto parsed = ra::parse_rules(text.str());
  if (!parsed.ok()) {
    error = "attendance.rules_file: \"" + path + "\" is invalid:";
    if (auto where = json_syntax_error(text.str()); !where.empty()) {
      error += " " + path + ":" + where;
    } else {
      error += errors_text(parsed.errors);
    }
    return std::nullopt;
  }
  return std::move(*parsed.rules);
}

std::vector<std::string> validate_options(const ServiceOptions& options) {
  std::vector<std::string> problems;
  std::string error;
  if (!Zone::parse(options.timezone, error)) {
    problems.push_back("gateway.timezone: " + error);
  }
  if (options.retain_days < 1) {
    problems.push_back("attendance.retain_days: must be at least 1, got " +
                       std::to_string(options.retain_days));
  }
  if (!options.rules_file.empty() && !read_rules_file(options.rules_file, error)) {
    problems.push_back(error);
  }
  return problems;
}

ServiceOptions options_from_config(const config::Config& config) {
  ServiceOptions o;
  o.rules_file = config.get_string("attendance.rules_file");
  o.terminal_states = config.get_bool("attendance.terminal_states");
  o.gateway_id = config.get_string("gateway.id");
  o.timezone = config.get_string("gateway.timezone");
  o.retain_days = static_cast<int>(config.get_int("attendance.retain_days"));
  o.tick_interval = std::chrono::seconds(config.get_int("attendance.tick_s"));
  return o;
}

AttendanceService::AttendanceService(store::Store& store, const Clock& clock,
                                     metrics::Registry& metrics, ServiceOptions options)
    : store_(store),
      clock_(clock),
      options_(std::move(options)),
      zone_(Zone::utc()),
      log_(logger("rules")),
      punches_received_(metrics.counter("pushgate_attendance_punches_total",
                                        "Attendance punches handed to the timecard engine")),
      punches_too_old_(
          metrics.counter("pushgate_attendance_punches_too_old_total",
                          "Punches dated before the retained window (attendance.retain_days); "
                          "kept in the log, not recomputed")),
      timecards_published_(metrics.counter("pushgate_attendance_timecards_published_total",
                                           "New or changed timecards published as events")),
      write_failures_(metrics.counter("pushgate_attendance_write_failures_total",
                                      "Timecard batches the store could not commit (retried)")),
      read_failures_(metrics.counter("pushgate_attendance_read_failures_total",
                                     "Rebuilds from the store that failed on a read (retried)")),
      punches_held_(metrics.gauge("pushgate_attendance_punches_held",
                                  "Punches in the timecard engine's memory")),
      tick_timer_(worker_),
      inbox_(std::make_shared<Inbox>()) {
  std::string error;
  auto zone = Zone::parse(options_.timezone, error);
  if (!zone) {
    throw std::runtime_error("gateway.timezone: " + error);
  }
  zone_ = *zone;
  tz_ = duration_zone(options_.timezone);
  if (options_.retain_days < 1) {
    throw std::runtime_error("attendance.retain_days: must be at least 1");
  }

  // The file is checked even when a REST version wins: a broken config file
  // is reported at startup, not the day the REST version is deleted.
  if (!options_.rules_file.empty()) {
    auto rules = read_rules_file(options_.rules_file, error);
    if (!rules) {
      throw std::runtime_error(error);
    }
    file_rules_.rules = std::make_shared<const ra::Rules>(std::move(*rules));
  }

  struct StoredRules {
    boost::system::error_code ec;
    std::optional<std::string> json;
    std::int64_t updated_ms = 0;
  };
  auto stored = store_.read([](store::Connection& db) {
    StoredRules out;
    auto st = db.prepare("SELECT json, updated_ms FROM attendance_rules WHERE id = 1", out.ec);
    if (!out.ec && st.step(out.ec)) {
      out.json = st.column_text(0);
      out.updated_ms = st.column_int(1);
    }
    return out;
  });
  if (stored.ec) {
    throw std::runtime_error("attendance: cannot read the stored rules: " + stored.ec.message());
  }
  if (stored.json) {
    auto parsed = ra::parse_rules(*stored.json);
    if (parsed.ok()) {
      rest_rules_.rules = std::make_shared<const ra::Rules>(std::move(*parsed.rules));
      rest_rules_.updated_ms = stored.updated_ms;
    } else {
      // Only a newer, stricter rules version can get here; the file still works.
      log_->error("the attendance rules stored over REST are no longer valid, using {}:{}",
                  file_rules_.rules ? "attendance.rules_file" : "no rules",
                  errors_text(parsed.errors));
    }
  }
  if (rest_rules_.rules) {
    source_ = RulesSource::Rest;
    rules_ = rest_rules_.rules;
  } else if (file_rules_.rules) {
    source_ = RulesSource::File;
    rules_ = file_rules_.rules;
  }
  accepting_ = rules_ != nullptr;
  log_->info("attendance rules: {}{}", to_string(source_),
             source_ == RulesSource::File ? " " + options_.rules_file : std::string());

  inbox_->service = this;
  // The first job, ahead of any punch the observer posts: the engine must
  // exist before live punches arrive.
  post(inbox_, [](AttendanceService& s) { s.do_start(); });
  commit_sub_ =
      store_.subscribe([this](const std::vector<Event>& committed) { on_commit(committed); });
}

AttendanceService::~AttendanceService() {
  stop();
}

void AttendanceService::start() {
  if (thread_.joinable() || stopped_) {
    return;
  }
  work_ = std::make_unique<net::executor_work_guard<net::io_context::executor_type>>(
      worker_.get_executor());
  thread_ = std::thread([this] {
    for (;;) {
      try {
        worker_.run();
        return;
      } catch (const std::exception& e) {
        // Nothing on the worker is meant to throw; one bad job must not
        // take attendance down for good.
        log_->error("attendance worker: {}", e.what());
      }
    }
  });
}

void AttendanceService::stop() {
  if (stopped_) {
    return;
  }
  stopped_ = true;
  commit_sub_.reset();  // returns once no commit observer call is running
  {
    std::lock_guard lock(inbox_->mutex);
    inbox_->service = nullptr;  // completions post nothing more
  }
  work_.reset();
  worker_.stop();
  if (thread_.joinable()) {
    thread_.join();
  }
}

void AttendanceService::post(const std::shared_ptr<Inbox>& inbox,
                             std::function<void(AttendanceService&)> job) {
  std::lock_guard lock(inbox->mutex);
  if (inbox->service == nullptr) {
    return;
  }
  AttendanceService* s = inbox->service;
  net::post(s->worker_, [s, job = std::move(job)] { job(*s); });
}

void AttendanceService::on_commit(const std::vector<Event>& committed) {
  // Writer thread: convert and hand over, nothing more. Timecard events (and
  // every other kind) are dropped here, so they never feed back.
  if (!accepting_.load()) {
    return;  // no rules: a later rules change reads the punches from the store
  }
  std::vector<ra::Punch> punches;
  for (const auto& e : committed) {
    if (auto p = punch_from_event(e, options_.terminal_states)) {
      punches.push_back(std::move(*p));
    }
  }
  if (punches.empty()) {
    return;
  }
  net::post(worker_, [this, punches = std::move(punches)] { on_punches(punches); });
}

// ---------------------------------------------------------------------------
// Worker thread.
// ---------------------------------------------------------------------------

date::local_seconds AttendanceService::now_local() const {
  const LocalDateTime l = zone_.to_local(clock_.now());
  const date::local_days d{date::year{l.year} / date::month{static_cast<unsigned>(l.month)} /
                           date::day{static_cast<unsigned>(l.day)}};
  return d + std::chrono::hours{l.hour} + std::chrono::minutes{l.minute} +
         std::chrono::seconds{l.second};
}

ra::ComputeContext AttendanceService::context() const {
  return {tz_, now_local()};
}

AttendanceService::RulesInfo AttendanceService::info() const {
  RulesInfo i;
  i.source = source_;
  i.rules = rules_;
  i.file = options_.rules_file;
  i.updated_ms = source_ == RulesSource::Rest ? rest_rules_.updated_ms : 0;
  return i;
}

void AttendanceService::do_start() {
  const auto now = now_local();
  horizon_ = date::floor<date::days>(now) - date::days{options_.retain_days};
  finalized_until_ = now;
  rebuild_pending_ = !rebuild();
  schedule_tick();
}

void AttendanceService::schedule_tick() {
  tick_timer_.expires_after(options_.tick_interval);
  tick_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) {
      return;
    }
    do_tick();
    schedule_tick();
  });
}

void AttendanceService::tick() {
  post(inbox_, [](AttendanceService& s) { s.do_tick(); });
}

void AttendanceService::set_horizon(date::local_days horizon) {
  horizon_ = horizon;
  std::erase_if(stored_, [horizon](const auto& entry) { return entry.first.day < horizon; });
  std::erase_if(retry_, [horizon](const ra::DayKey& key) { return key.day < horizon; });
  if (engine_) {
    // The engine cannot forget punches: a new one from the store drops the
    // day that left the window. Nothing changes for the retained days.
    std::vector<ra::DayKey> ignored;
    if (!load_engine(ignored)) {
      rebuild_pending_ = true;
    }
  }
}

void AttendanceService::do_tick() {
  const auto now = now_local();
  const auto horizon = date::floor<date::days>(now) - date::days{options_.retain_days};
  if (horizon > horizon_) {
    set_horizon(horizon);
  }
  if (rebuild_pending_) {
    rebuild_pending_ = !rebuild();
  }
  if (!engine_) {
    finalized_until_ = now;
    return;
  }
  // Days whose window closed since the last tick (or while we were down):
  // a missing punch is now an absence, and the timecard is final.
  const auto from = std::max(finalized_until_, date::local_seconds{horizon_});
  auto days = engine_->finalized_between(from, now);
  finalized_until_ = std::max(finalized_until_, now);
  const bool persist =
      !days.empty() || !retry_.empty() || clock_.now_ms() - progress_persisted_ms_ >= 3600 * 1000;
  recompute(std::move(days), persist);
}

bool AttendanceService::wait_idle_for_test(std::chrono::milliseconds deadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  for (;;) {
    auto done = std::make_shared<std::promise<std::size_t>>();
    auto f = done->get_future();
    post(inbox_, [done](AttendanceService& s) { done->set_value(s.in_flight_.load()); });
    if (f.wait_until(until) != std::future_status::ready) {
      return false;
    }
    if (f.get() == 0) {
      return true;
    }
    if (std::chrono::steady_clock::now() >= until) {
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

}  // namespace pushgate::attendance
