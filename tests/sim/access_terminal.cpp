// The simulator's access terminal (Security PUSH): its public surface and state.

#include "tests/sim/access_terminal.hpp"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <cstdio>
#include <future>

namespace pushgate::sim {

namespace net = boost::asio;
using boost::system::error_code;

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
      if (config_.keep_digests) {
        templates_[{t.pin, t.type, t.no, t.index}].tmp = content_digest(t.tmp);
      }
    }
    for (auto& p : photos) {
      p.pin = user.pin;
      pics[p.table].push_back(format_photo_record(p));
      photos_[{p.pin, p.table, p.type}] = p;
      if (config_.keep_digests) {
        photos_[{p.pin, p.table, p.type}].content = content_digest(p.content);
      }
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

AccessHeldCounts AccessTerminal::held_counts() const {
  std::lock_guard lock(mutex_);
  return {users_.size(), authorizations_.size(), templates_.size(), photos_.size()};
}

std::string content_digest(std::string_view data) {
  std::uint64_t h = 14695981039346656037ULL;
  for (unsigned char c : data) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "fnv:%016llx/%zu", static_cast<unsigned long long>(h),
                data.size());
  return buf;
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

}  // namespace pushgate::sim
