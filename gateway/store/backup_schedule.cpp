#include "gateway/store/backup_schedule.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>

#include "gateway/logging.hpp"

namespace pushgate::store {

namespace {

namespace fs = std::filesystem;

constexpr std::string_view kPrefix = "pushgate-";
constexpr std::string_view kSuffix = "Z.db";
constexpr std::int64_t kMaxRetryMs = 3600 * 1000;
constexpr std::int64_t kMinIntervalS = 60;

bool all_digits(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
}

}  // namespace

BackupScheduler::BackupScheduler(Options options, const Clock& clock, metrics::Registry& metrics,
                                 Health& health)
    : options_(std::move(options)),
      clock_(clock),
      health_(health),
      successes_(metrics.counter("pushgate_backups_total", "Scheduled backups written")),
      failures_(metrics.counter("pushgate_backup_failures_total",
                                "Scheduled backups that failed (logged; the gateway runs on)")),
      last_success_(metrics.gauge("pushgate_backup_last_success_timestamp_seconds",
                                  "UTC time of the last scheduled backup written (0: none yet)")),
      last_bytes_(metrics.gauge("pushgate_backup_last_bytes", "Size of the last backup written")),
      last_duration_(metrics.gauge("pushgate_backup_last_duration_seconds",
                                   "How long the last backup written took")) {
  next_due_ms_ = clock_.now_ms();
  auto have = list(options_.dir);
  if (!have.empty()) {
    auto newest = *time_of(have.back().filename().string());
    next_due_ms_ = newest + options_.interval.count();
    state_.last_success_ms = newest;
    state_.last_file = have.back().string();
    last_success_.set(static_cast<double>(newest) / 1000.0);
  }
  state_.next_ms = next_due_ms_;
  publish();
}

BackupScheduler::~BackupScheduler() {
  stop();
}

void BackupScheduler::start() {
  std::lock_guard lock(mutex_);
  if (!thread_.joinable() && !stopping_) {
    thread_ = std::thread([this] { loop(); });
  }
}

void BackupScheduler::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cancel_ = true;
  cv_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
}

std::int64_t BackupScheduler::next_due_ms() const {
  std::lock_guard lock(mutex_);
  return next_due_ms_;
}

void BackupScheduler::publish() {
  health_.set_backup(state_);
}

std::optional<BackupResult> BackupScheduler::run_due() {
  const auto now = clock_.now_ms();
  {
    std::lock_guard lock(mutex_);
    if (now < next_due_ms_) {
      return std::nullopt;
    }
  }
  auto log = logger("store");
  BackupResult result;
  std::error_code ec;
  fs::create_directories(options_.dir, ec);
  rotate(options_.dir, SIZE_MAX);  // only the .tmp an interrupted run left
  const auto target = options_.dir / file_name(now);
  if (ec) {
    result.status = BackupResult::Status::Failed;
    result.message = "cannot create " + options_.dir.string() + ": " + ec.message();
  } else {
    BackupOptions bo;
    bo.busy_timeout_ms = options_.busy_timeout_ms;
    bo.cancel = &cancel_;
    result = backup_database(options_.database, target.string(), bo);
  }
  std::lock_guard lock(mutex_);
  state_.last_attempt_ms = now;
  if (result.ok()) {
    successes_.inc();
    last_success_.set(static_cast<double>(now) / 1000.0);
    last_bytes_.set(static_cast<double>(result.bytes));
    last_duration_.set(static_cast<double>(result.duration.count()) / 1000.0);
    auto removed = rotate(options_.dir, options_.keep);
    log->info("backup written to {} ({} bytes, {} ms, integrity ok); {} old backup(s) removed",
              target.string(), result.bytes, result.duration.count(), removed);
    state_.last_success_ms = now;
    state_.last_file = target.string();
    state_.last_error.clear();
    state_.failures = 0;
    next_due_ms_ = now + options_.interval.count();
  } else if (result.status == BackupResult::Status::Cancelled) {
    log->info("{}", result.message);
  } else {
    failures_.inc();
    ++state_.failures;
    state_.last_error = result.message;
    next_due_ms_ = now + std::min<std::int64_t>(options_.interval.count(), kMaxRetryMs);
    log->error("backup to {} failed ({}): {}; retrying in {} s", options_.dir.string(),
               to_string(result.status), result.message, (next_due_ms_ - now) / 1000);
  }
  state_.next_ms = next_due_ms_;
  publish();
  return result;
}

void BackupScheduler::loop() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    run_due();
    lock.lock();
    // Wakes at the due time, and at least once a minute (a clock that jumped).
    auto wait = std::clamp<std::int64_t>(next_due_ms_ - clock_.now_ms(), 1000, 60'000);
    cv_.wait_for(lock, std::chrono::milliseconds(wait), [this] { return stopping_; });
  }
}

std::string BackupScheduler::file_name(std::int64_t utc_ms) {
  std::time_t t = static_cast<std::time_t>(utc_ms / 1000);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%S", &tm);
  return std::string(kPrefix) + buf + std::string(kSuffix);
}

std::optional<std::int64_t> BackupScheduler::time_of(const std::string& name) {
  // pushgate-YYYYMMDDTHHMMSSZ.db
  if (name.size() != kPrefix.size() + 15 + kSuffix.size() || name.rfind(kPrefix, 0) != 0 ||
      name.compare(name.size() - kSuffix.size(), kSuffix.size(), kSuffix) != 0) {
    return std::nullopt;
  }
  std::string_view stamp(name.data() + kPrefix.size(), 15);
  if (!all_digits(stamp.substr(0, 8)) || stamp[8] != 'T' || !all_digits(stamp.substr(9, 6))) {
    return std::nullopt;
  }
  auto num = [&](std::size_t pos, std::size_t len) {
    return std::stoi(std::string(stamp.substr(pos, len)));
  };
  std::tm tm{};
  tm.tm_year = num(0, 4) - 1900;
  tm.tm_mon = num(4, 2) - 1;
  tm.tm_mday = num(6, 2);
  tm.tm_hour = num(9, 2);
  tm.tm_min = num(11, 2);
  tm.tm_sec = num(13, 2);
  return static_cast<std::int64_t>(::timegm(&tm)) * 1000;
}

std::vector<fs::path> BackupScheduler::list(const fs::path& dir) {
  std::vector<std::pair<std::int64_t, fs::path>> found;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    std::error_code fec;
    if (!entry.is_regular_file(fec)) {
      continue;
    }
    if (auto t = time_of(entry.path().filename().string())) {
      found.emplace_back(*t, entry.path());
    }
  }
  std::sort(found.begin(), found.end());
  std::vector<fs::path> out;
  out.reserve(found.size());
  for (auto& f : found) {
    out.push_back(std::move(f.second));
  }
  return out;
}

std::size_t BackupScheduler::rotate(const fs::path& dir, std::size_t keep) {
  std::size_t removed = 0;
  std::error_code ec;
  std::vector<fs::path> partial;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    auto name = entry.path().filename().string();
    // pushgate-...Z.db.tmp and its -journal/-wal/-shm: a copy a crash interrupted.
    auto at = name.find(".db.tmp");
    if (at != std::string::npos && time_of(name.substr(0, at + 3))) {
      auto rest = name.substr(at + 7);
      if (rest.empty() || rest == "-journal" || rest == "-wal" || rest == "-shm") {
        partial.push_back(entry.path());
      }
    }
  }
  for (const auto& p : partial) {
    std::error_code rec;
    removed += fs::remove(p, rec) ? 1 : 0;
  }
  auto have = list(dir);
  for (std::size_t i = 0; have.size() > keep && i < have.size() - keep; ++i) {
    std::error_code rec;
    removed += fs::remove(have[i], rec) ? 1 : 0;
  }
  return removed;
}

std::vector<config::ConfigError> validate_backup_config(const config::Config& config) {
  std::vector<config::ConfigError> errors;
  const auto& text = config.get_string("store.backup_interval");
  auto d = parse_duration(text);
  if (!d) {
    errors.push_back(
        {"store.backup_interval",
         "\"" + text + "\" is not a duration (e.g. \"24h\", \"12h\", \"1d12h\", \"30m\")"});
  } else if (d->count() < kMinIntervalS) {
    errors.push_back({"store.backup_interval", "\"" + text + "\" is less than 1m"});
  }
  return errors;
}

std::optional<BackupScheduler::Options> backup_options_from_config(const config::Config& config,
                                                                   const fs::path& data_dir,
                                                                   const std::string& database) {
  const auto& dir = config.get_string("store.backup_dir");
  if (dir.empty()) {
    return std::nullopt;
  }
  BackupScheduler::Options o;
  o.database = database;
  o.dir = fs::path(dir).is_absolute() ? fs::path(dir) : data_dir / dir;
  o.keep = static_cast<std::size_t>(config.get_int("store.backup_keep"));
  auto interval = parse_duration(config.get_string("store.backup_interval"));
  o.interval = std::chrono::duration_cast<std::chrono::milliseconds>(
      interval.value_or(std::chrono::hours(24)));
  o.busy_timeout_ms = static_cast<int>(config.get_int("store.busy_timeout_ms"));
  return o;
}

}  // namespace pushgate::store
