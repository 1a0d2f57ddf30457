#include "adapters/suprema/suprema_link.hpp"

#include <algorithm>
#include <ctime>
#include <random>

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>

#include "gateway/access_decider.hpp"
#include "gateway/adapter_state.hpp"
#include "gateway/await_commit.hpp"
#include "gateway/command_queue.hpp"
#include "gateway/doors.hpp"
#include "gateway/event_json.hpp"
#include "gateway/terminals.hpp"

namespace pushgate::adapters::suprema {

namespace net = boost::asio;
using boost::system::error_code;
using nlohmann::json;

namespace {

constexpr std::string_view kAdapter = "suprema";
/** Live events held while a search runs; more and the search runs again instead. */
constexpr std::size_t kMaxPending = 10000;
/** A search page of 1,000 rows is ~1 MB. */
constexpr std::size_t kSearchBodyLimit = 16u << 20;
constexpr std::size_t kSmallBodyLimit = 4u << 20;
/** Searches in a row that still leave a gap before the held events: then they are stored. */
constexpr int kMaxGapPasses = 3;

void log_if_thrown(spdlog::logger& log, const std::string& server, std::string_view what,
                   const std::exception_ptr& e) {
  if (!e) {
    return;
  }
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    log.error("[server={}] {}: {}", server, what, ex.what());
  } catch (...) {
    log.error("[server={}] {}", server, what);
  }
}

std::string wall_text(std::int64_t wall_ms) {
  const std::time_t t = static_cast<std::time_t>(wall_ms / 1000 - (wall_ms % 1000 < 0 ? 1 : 0));
  std::tm tm{};
  gmtime_r(&t, &tm);
  return format_local_date_time(LocalDateTime{tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                                              tm.tm_hour, tm.tm_min, tm.tm_sec});
}

std::optional<std::int64_t> id_number(const SupremaEvent& e) {
  if (e.id.empty() || e.id.size() > 18 ||
      !std::all_of(e.id.begin(), e.id.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  return std::stoll(e.id);
}

}  // namespace

std::optional<DoorState> door_report(const SupremaEvent& ev, const DoorState& known) {
  if (!ev.code) {
    return std::nullopt;
  }
  constexpr auto kForced = static_cast<std::uint8_t>(DoorAlarm::AccidentalOpen);
  constexpr auto kHeld = static_cast<std::uint8_t>(DoorAlarm::SensorTimeout);
  const std::uint8_t alarms = known.alarms.value_or(0);
  DoorState s;
  switch (*ev.code) {
    case 0x5200:  // DOOR_OPENED
      s.sensor = DoorSensor::Open;
      return s;
    case 0x5300:  // DOOR_CLOSED
      s.sensor = DoorSensor::Closed;
      return s;
    case 0x5400:  // DOOR_FORCED_OPEN
    case 0x5600:  // DOOR_FORCED_OPEN_ALARM
      s.sensor = DoorSensor::Open;
      s.alarms = static_cast<std::uint8_t>(alarms | kForced);
      return s;
    case 0x5700:  // DOOR_FORCED_OPEN_ALARM_CLEAR
      s.alarms = static_cast<std::uint8_t>(alarms & ~kForced);
      return s;
    case 0x5500:  // DOOR_HELD_OPEN
    case 0x5800:  // DOOR_HELD_OPEN_ALARM
      s.sensor = DoorSensor::Open;
      s.alarms = static_cast<std::uint8_t>(alarms | kHeld);
      return s;
    case 0x5900:  // DOOR_HELD_OPEN_ALARM_CLEAR
      s.alarms = static_cast<std::uint8_t>(alarms & ~kHeld);
      return s;
    default:
      return std::nullopt;
  }
}

std::string_view to_string(LinkState state) noexcept {
  switch (state) {
    case LinkState::Offline:
      return "offline";
    case LinkState::Backfilling:
      return "backfilling";
    case LinkState::Online:
      return "online";
    case LinkState::AuthFailed:
      return "auth_failed";
  }
  return "offline";
}

std::string serial_of(const SupremaEvent& event, const ServerConfig& server) {
  if (event.device_id) {
    return std::to_string(*event.device_id);
  }
  return "biostar2-" + server.name;
}

Event map_event(const SupremaEvent& ev, const std::string& sn, const ServerConfig& server,
                const Zone& zone, std::int64_t received_ms, std::string_view source) {
  const Classification& c = ev.classification;
  json extra = json::object();
  Event e;
  e.terminal_sn = sn;
  e.record_key = event_key(ev);
  e.kind = event_kind_from_string(c.kind).value_or(EventKind::Operation);
  e.raw = ev.raw;
  e.received_ms = received_ms;
  e.pin = ev.user_id;
  if (ev.epoch_ms) {
    e.utc_ms = *ev.epoch_ms;
    std::optional<std::int64_t> wall;
    if (server.local_time == LocalTimeFrom::Device) {
      wall = device_local_ms(ev);
    }
    if (wall) {
      e.local_time = wall_text(*wall);
      extra["utc_offset_min"] = *ev.device_utc_offset_minutes;
    } else {
      e.local_time = format_local_date_time(zone.to_local(
          std::chrono::system_clock::time_point(std::chrono::milliseconds(*ev.epoch_ms))));
    }
  } else {
    e.local_time = ev.datetime;  // kept as sent, flagged: never dropped
    extra["time_unparsed"] = true;
  }
  if (ev.door_id) {
    if (auto door = server.gateway_door(*ev.door_id)) {
      e.door = *door;
    }
    extra["biostar_door"] = *ev.door_id;
    if (!ev.door_name.empty()) {
      extra["door_name"] = ev.door_name;
    }
  }
  if (c.outcome == Outcome::Granted) {
    e.event_code = 0;  // the neutral "verified open": anti-passback counts it like a ZKTeco passage
  } else if (ev.code) {
    e.event_code = static_cast<int>(*ev.code);  // outside the passage codes
  }
  if (ev.punch_state) {
    e.status = *ev.punch_state;  // the T&A key as the punch state (0 in / 1 out …)
  }
  if (ev.code) {
    extra["code"] = *ev.code;
  }
  extra["name"] = std::string(c.name);
  if (!c.known) {
    extra["unknown_code"] = true;
  }
  if (c.outcome != Outcome::None) {
    extra["result"] = std::string(to_string(c.outcome));
  }
  if (!c.method.empty()) {
    extra["method"] = c.method;
  }
  if (!c.reason.empty()) {
    extra["reason"] = c.reason;
  }
  if (c.kind == "alarm") {
    extra["alarm"] = std::string(c.name);
  }
  extra["event_id"] = ev.id;
  if (!ev.device_name.empty()) {
    extra["device_name"] = ev.device_name;
  }
  if (!ev.user_name.empty()) {
    extra["user_name"] = ev.user_name;
  }
  if (ev.tna_key && *ev.tna_key != 0) {
    extra["tna_key"] = *ev.tna_key;
  }
  if (ev.index) {
    extra["index"] = *ev.index;
  }
  if (!ev.server_datetime.empty()) {
    extra["server_datetime"] = ev.server_datetime;
  }
  for (const auto& p : ev.problems) {
    extra["problems"].push_back(p);
  }
  extra["server"] = server.name;
  extra["source"] = std::string(source);
  e.extra_json = dump_json(extra);
  return e;
}

ServerLink::ServerLink(LinkShared& shared, ServerConfig server,
                       std::shared_ptr<net::ssl::context> tls)
    : shared_(shared),
      server_(std::move(server)),
      strand_(net::make_strand(shared.ctx.ioc)),
      client_(strand_, server_, shared.config.request_timeout, shared.config.max_frame_bytes,
              std::move(tls)),
      timer_(strand_),
      wake_(strand_),
      live_idle_(strand_) {
  const std::string prefix = "device/";
  for (const auto& [k, v] : shared_.stored) {
    if (k.rfind(prefix, 0) == 0 && v == server_.name) {
      devices_.insert(k.substr(prefix.size()));  // known from an earlier run: status and commands
    }
  }
  load_cursor();
}

void ServerLink::start() {
  auto self = shared_from_this();
  net::co_spawn(
      strand_, [self]() { return self->run(); },
      [self](std::exception_ptr e) {
        log_if_thrown(*self->shared_.log, self->server_.name, "link ended", e);
        self->finished_ = true;
      });
}

void ServerLink::stop() {
  auto self = shared_from_this();
  net::post(strand_, [self] {
    self->stopping_ = true;
    self->client_.cancel();
    self->timer_.cancel();
    self->wake_.cancel();
  });
}

LinkState ServerLink::state() const {
  std::lock_guard lock(mutex_);
  return state_;
}

bool ServerLink::owns(std::string_view sn) const {
  std::lock_guard lock(mutex_);
  return devices_.find(sn) != devices_.end();
}

net::awaitable<void> ServerLink::sleep(std::chrono::milliseconds delay) {
  error_code ec;
  timer_.expires_after(delay);
  co_await timer_.async_wait(net::redirect_error(net::use_awaitable, ec));
}

net::awaitable<CommitResult> ServerLink::commit(WriteBatch& batch) {
  return await_commit(shared_.ctx.events, std::move(batch), strand_);
}

void ServerLink::set_state(LinkState state, const std::string& reason) {
  std::vector<std::string> devices;
  {
    std::lock_guard lock(mutex_);
    if (state_ == state) {
      if (reason != last_reason_ &&
          (state == LinkState::Offline || state == LinkState::AuthFailed)) {
        last_reason_ = reason;  // a new cause of the same state: said once
        shared_.log->warn("[server={}] {}: {}", server_.name, to_string(state), reason);
      }
      return;
    }
    state_ = state;
    last_reason_ = reason;
    devices.assign(devices_.begin(), devices_.end());
  }
  if (state == LinkState::AuthFailed || state == LinkState::Offline) {
    shared_.log->warn("[server={}] {}: {}", server_.name, to_string(state), reason);
  } else {
    shared_.log->info("[server={}] {}{}{}", server_.name, to_string(state),
                      reason.empty() ? "" : ": ", reason);
  }
  if (state == LinkState::Backfilling || state == LinkState::Online) {
    kick_commands();  // connected (again): what was queued meanwhile goes now
  }
  shared_.ctx.health.set(Health::Kind::Ready, "suprema." + server_.name,
                         state != LinkState::AuthFailed,
                         state == LinkState::AuthFailed ? reason : std::string());
  const auto now = shared_.ctx.clock.now_ms();
  WriteBatch b;
  for (const auto& sn : devices) {
    json info = {{"server", server_.name},
                 {"host", server_.host},
                 {"status", std::string(to_string(state))},
                 {"status_since", format_utc_iso8601(now)},
                 {"status_reason", reason}};
    if (auto it = device_names_.find(sn); it != device_names_.end()) {
      info["name"] = it->second;
    }
    auto record = shared_.ctx.terminals.update(sn, [&](TerminalRecord& r) {
      r.vendor = "suprema";
      r.protocol = "biostar2";
      if (r.first_seen_ms == 0) {
        r.first_seen_ms = now;
      }
      r.info_json = dump_json(info);
    });
    b.ops.push_back(TerminalRegistry::persist_op(record));
  }
  if (shared_.ctx.events != nullptr && !b.empty()) {
    shared_.ctx.events->append(std::move(b), [](CommitResult) {});  // status only: best effort
  }
}

void ServerLink::ensure_terminal(const std::string& sn, const std::string& name,
                                 WriteBatch& batch) {
  bool known = false;
  {
    std::lock_guard lock(mutex_);
    known = devices_.count(sn) != 0;
  }
  const bool renamed = !name.empty() && device_names_[sn] != name;
  if (known && !renamed) {
    return;
  }
  if (!name.empty()) {
    device_names_[sn] = name;
  }
  const auto now = shared_.ctx.clock.now_ms();
  json info = {{"server", server_.name},
               {"host", server_.host},
               {"status", std::string(to_string(state()))},
               {"status_since", format_utc_iso8601(now)},
               {"status_reason", ""}};
  if (!device_names_[sn].empty()) {
    info["name"] = device_names_[sn];
  }
  auto record = shared_.ctx.terminals.update(sn, [&](TerminalRecord& r) {
    r.vendor = "suprema";
    r.protocol = "biostar2";
    r.ip = server_.host;
    r.capabilities.doors = std::max(r.capabilities.doors, 1);
    r.capabilities.decision = DecisionMode::Local;
    r.capabilities.commands = CommandDelivery::Push;
    // What run_command executes for the master-data sync: users with their
    // card (POST/PUT /api/users, POST /api/cards; DELETE /api/users). Users
    // are the BioStar server's, so every device of the server holds them.
    // No password, door rights (BioStar access groups), time zones,
    // templates, photos or `batch`. See README.md, "Master-data sync".
    r.capabilities.user_sync = true;
    r.capabilities.sync_writes = sync_bit(SyncWrite::Users) | sync_bit(SyncWrite::Cards);
    r.capabilities.shared_users = true;  // the server's users serve all its readers
    if (r.first_seen_ms == 0) {
      r.first_seen_ms = now;
    }
    r.info_json = dump_json(info);
  });
  batch.ops.push_back(TerminalRegistry::persist_op(record));
  if (!known && shared_.ctx.adapter_state != nullptr) {
    batch.ops.push_back(
        shared_.ctx.adapter_state->put(std::string(kAdapter), "device/" + sn, server_.name));
  }
  std::lock_guard lock(mutex_);
  devices_.insert(sn);
}

void ServerLink::report_door(const SupremaEvent& ev, const Event& e, std::int64_t now,
                             WriteBatch& batch) {
  if (e.door <= 0) {
    return;
  }
  DoorState known;
  if (auto d = shared_.ctx.doors.get(e.terminal_sn, e.door)) {
    known = d->state;
  }
  if (auto st = door_report(ev, known)) {
    shared_.ctx.doors.report(e.terminal_sn, e.door, *st, now, batch);
  }
}

void ServerLink::load_cursor() {
  auto it = shared_.stored.find("cursor/" + server_.name);
  if (it == shared_.stored.end()) {
    return;
  }
  auto j = json::parse(it->second, nullptr, false);
  if (!j.is_object() || !j.contains("t") || !j["t"].is_number_integer()) {
    shared_.log->warn("[server={}] stored cursor unreadable, backfilling from the start",
                      server_.name);
    return;
  }
  cursor_.epoch_ms = j["t"].get<std::int64_t>();
  if (j.contains("k") && j["k"].is_array()) {
    for (const auto& k : j["k"]) {
      if (k.is_string()) {
        cursor_.keys_at_time.insert(k.get<std::string>());
      }
    }
  }
  if (j.contains("id") && j["id"].is_number_integer()) {
    last_id_ = j["id"].get<std::int64_t>();
    stored_id_ = last_id_;
  }
}

void ServerLink::add_cursor(const EventCursor& cursor, std::optional<std::int64_t> id,
                            WriteBatch& batch) const {
  if (!cursor.epoch_ms || shared_.ctx.adapter_state == nullptr) {
    return;
  }
  json j = {{"t", *cursor.epoch_ms}, {"k", cursor.keys_at_time}};
  if (id) {
    j["id"] = *id;
  }
  batch.ops.push_back(shared_.ctx.adapter_state->put(std::string(kAdapter),
                                                     "cursor/" + server_.name, dump_json(j)));
}

namespace {
/** The highest of `from` and the numeric ids of `events`. */
std::optional<std::int64_t> highest_id(const std::vector<SupremaEvent>& events,
                                       std::optional<std::int64_t> from) {
  for (const auto& e : events) {
    if (auto id = id_number(e); id && (!from || *id > *from)) {
      from = *id;
    }
  }
  return from;
}
}  // namespace

void ServerLink::note_ids(const std::vector<SupremaEvent>& events) {
  last_id_ = highest_id(events, last_id_);
}

bool ServerLink::follows(const SupremaEvent& event) const {
  auto id = id_number(event);
  if (!id || !last_id_) {
    return true;  // nothing to compare: no gap can be told
  }
  return *id <= *last_id_ + 1;
}

net::awaitable<void> ServerLink::run() {
  auto backoff = shared_.config.reconnect_min;
  std::mt19937_64 rng(std::random_device{}());
  while (!stopping_) {
    Outcome outcome = co_await session();
    if (stopping_ || outcome == Outcome::Stopped) {
      break;
    }
    if (outcome == Outcome::AuthFailed) {
      // Refused credentials: no hammering (BioStar can lock the account).
      co_await sleep(
          std::chrono::duration_cast<std::chrono::milliseconds>(shared_.config.auth_retry));
      continue;
    }
    shared_.reconnects.inc();
    if (reached_live_) {
      backoff = shared_.config.reconnect_min;  // it was up: come back fast
    }
    std::uniform_real_distribution<double> jitter(0.75, 1.25);
    auto delay = std::chrono::milliseconds(
        static_cast<std::int64_t>(static_cast<double>(backoff.count()) * jitter(rng)));
    co_await sleep(delay);
    backoff = std::min(backoff * 2, shared_.config.reconnect_max);
  }
  set_state(LinkState::Offline, "stopped");
}

net::awaitable<bool> ServerLink::login() {
  session_.clear();
  const ApiRequest req = build_login(server_.user, server_.password);
  const std::string none;
  HttpReply h = co_await client_.call(req, none, kSmallBodyLimit);
  if (stopping_) {
    co_return false;
  }
  if (h.ec) {
    set_state(LinkState::Offline, "login: " + h.ec.message());
    co_return false;
  }
  LoginResult r = read_login(static_cast<int>(h.status), h.session, h.body);
  if (!r.ok) {
    if (h.status == 401 || h.status == 403 || (h.status >= 400 && h.status < 500)) {
      auth_failed_ = true;
      shared_.auth_failures.inc();
      set_state(LinkState::AuthFailed, "the server refused user \"" + server_.user + "\" (" +
                                           r.error + "); next login attempt in " +
                                           std::to_string(shared_.config.auth_retry.count()) +
                                           " s");
    } else {
      set_state(LinkState::Offline, "login: " + r.error);
    }
    co_return false;
  }
  session_ = r.session_id;
  shared_.logins.inc();
  co_return true;
}

net::awaitable<HttpReply> ServerLink::api(const ApiRequest& request, std::size_t body_limit) {
  HttpReply h = co_await client_.call(request, session_, body_limit);
  if (!h.ec && !stopping_) {
    const ApiResult res = read_api_result(static_cast<int>(h.status), h.body);
    if (res.session_expired || is_session_expired(static_cast<int>(h.status), res.status)) {
      shared_.session_expiries.inc();
      shared_.log->info("[server={}] session expired: logging in again", server_.name);
      if (co_await login()) {
        h = co_await client_.call(request, session_, body_limit);
      }
    }
  }
  co_return h;
}

net::awaitable<void> ServerLink::load_devices() {
  ApiRequest req{"GET", "/api/devices", ""};
  HttpReply h = co_await api(req, kSmallBodyLimit);
  if (h.ec || h.status != 200) {
    co_return;  // optional: devices also become terminals with their first event
  }
  auto j = json::parse(h.body, nullptr, false);
  if (!j.is_object() || !j.contains("DeviceCollection") || !j["DeviceCollection"].is_object()) {
    co_return;
  }
  const auto& rows = j["DeviceCollection"]["rows"];
  if (!rows.is_array()) {
    co_return;
  }
  WriteBatch batch;
  for (const auto& row : rows) {
    if (!row.is_object() || !row.contains("id")) {
      continue;
    }
    auto id = json_integer(row["id"]);
    if (!id || *id <= 0) {
      continue;
    }
    std::string name;
    if (row.contains("name")) {
      name = json_text(row["name"]).value_or("").substr(0, kMaxFieldBytes);
    }
    ensure_terminal(std::to_string(*id), name, batch);
  }
  if (!batch.empty()) {
    auto r = co_await commit(batch);
    if (r.ec) {
      shared_.commit_failures.inc();
    }
  }
}

net::awaitable<ServerLink::Outcome> ServerLink::session() {
  live_mode_ = false;
  reached_live_ = false;
  auth_failed_ = false;
  if (!co_await login()) {
    co_return stopping_ ? Outcome::Stopped : (auth_failed_ ? Outcome::AuthFailed : Outcome::Failed);
  }
  co_await load_devices();

  feed_open_ = false;
  feed_ended_ = false;
  pending_.clear();
  pending_overflow_ = false;
  auto self = shared_from_this();
  net::co_spawn(
      strand_, [self]() { return self->run_feed(); },
      [self](std::exception_ptr e) {
        log_if_thrown(*self->shared_.log, self->server_.name, "feed ended", e);
        self->feed_ended_ = true;
        self->wake_.cancel();
      });
  // The feed first: what happens during the backfill arrives on it.
  error_code ec;
  wake_.expires_after(shared_.config.request_timeout + std::chrono::seconds(1));
  while (!feed_open_ && !feed_ended_ && !stopping_ &&
         wake_.expiry() > std::chrono::steady_clock::now()) {
    co_await wake_.async_wait(net::redirect_error(net::use_awaitable, ec));
  }
  bool ok = feed_open_ && !feed_ended_ && !stopping_;
  std::string why = feed_open_ ? "event feed ended" : "event feed did not open";
  if (ok) {
    const ApiRequest start = build_events_start();
    HttpReply h = co_await api(start, kSmallBodyLimit);
    const ApiResult res = read_api_result(static_cast<int>(h.status), h.body);
    if (h.ec || !res.ok) {
      ok = false;
      why = "events/start: " + (h.ec ? h.ec.message() : res.error);
    }
  }
  if (ok) {
    set_state(LinkState::Backfilling, "");
  }
  int gap_passes = 0;
  while (ok && !stopping_ && !feed_ended_) {
    // Search from the cursor, store the held live events, then live until a
    // gap, a resync or the end of the feed.
    pending_overflow_ = false;
    resync_ = false;
    co_await live_written();  // the search starts where the committed live events end
    ok = co_await backfill();
    if (!ok) {
      why = "backfill failed";
      break;
    }
    if (pending_overflow_) {
      continue;
    }
    if (!co_await flush_pending(gap_passes >= kMaxGapPasses)) {
      ++gap_passes;
      continue;  // the held events start after a gap: search again
    }
    gap_passes = 0;
    if (feed_ended_ || stopping_) {
      break;
    }
    live_mode_ = true;
    reached_live_ = true;
    set_state(LinkState::Online, "");
    const auto resync = shared_.config.resync;
    while (!feed_ended_ && !stopping_ && !resync_) {
      if (resync.count() > 0) {
        wake_.expires_after(resync);
      } else {
        wake_.expires_at(net::steady_timer::time_point::max());
      }
      co_await wake_.async_wait(net::redirect_error(net::use_awaitable, ec));
      if (!ec) {
        resync_ = true;  // the timer ran out: check the feed missed nothing
      }
    }
    live_mode_ = false;
  }
  client_.cancel();
  while (!feed_ended_) {  // the feed's coroutine ends before a new session begins
    wake_.expires_after(std::chrono::milliseconds(100));
    co_await wake_.async_wait(net::redirect_error(net::use_awaitable, ec));
    client_.cancel();
  }
  co_await live_written();  // nothing of this session is committed after it ends
  if (stopping_) {
    co_return Outcome::Stopped;
  }
  set_state(LinkState::Offline, why);
  co_return Outcome::Failed;
}

net::awaitable<bool> ServerLink::backfill() {
  const auto now = shared_.ctx.clock.now_ms();
  const std::int64_t first_from = shared_.config.backfill_max_age_h > 0
                                      ? now - shared_.config.backfill_max_age_h * 3'600'000
                                      : 0;
  // Until a day ahead: a server or device clock ahead of ours loses nothing.
  EventPager pager(cursor_, first_from, now + 86'400'000, shared_.config.page_size);
  std::size_t total = 0;
  while (!pager.done() && !stopping_ && !feed_ended_) {
    const ApiRequest req = pager.next_request();
    HttpReply h = co_await api(req, kSearchBodyLimit);
    if (stopping_) {
      co_return false;
    }
    if (h.ec) {
      shared_.log->warn("[server={}] events/search: {}", server_.name, h.ec.message());
      co_return false;
    }
    const EventSearchReply reply = read_event_search(static_cast<int>(h.status), h.body);
    EventPager next = pager;
    auto page = next.accept(reply);
    if (!reply.result.ok) {
      shared_.log->warn("[server={}] events/search: {}", server_.name, reply.result.error);
      co_return false;
    }
    const auto received = shared_.ctx.clock.now_ms();
    WriteBatch batch;
    for (const auto& p : reply.problems) {
      batch.quarantine.push_back({"biostar2-" + server_.name, "events/search", "",
                                  static_cast<int>(p.row + 1), p.reason, "", received});
    }
    for (const auto& ev : page.fresh) {
      const std::string sn = serial_of(ev, server_);
      ensure_terminal(sn, ev.device_name, batch);
      Event e = map_event(ev, sn, server_, shared_.ctx.terminals.zone_for(sn), received, "search");
      if (shared_.ctx.access != nullptr) {
        shared_.ctx.access->note_pass(e, batch);  // passages count for anti-passback
      }
      report_door(ev, e, received, batch);
      batch.events.push_back(std::move(e));
      next.mark_stored(ev);
    }
    const auto saved_last = last_id_;
    note_ids(page.fresh);
    add_cursor(next.cursor(), last_id_, batch);
    if (!batch.empty()) {
      auto res = co_await commit(batch);
      if (res.ec) {
        last_id_ = saved_last;
        shared_.commit_failures.inc();
        shared_.log->warn("[server={}] backfill commit failed: {}", server_.name, res.ec.message());
        co_return false;
      }
      stored_id_ = last_id_;
      shared_.backfilled.inc(res.inserted);
      shared_.stored_events.inc(res.inserted);
      shared_.duplicates.inc(res.duplicates + page.duplicates);
      shared_.invalid_messages.inc(res.quarantined);
      total += res.inserted;
    }
    pager = std::move(next);
    cursor_ = pager.cursor();
  }
  if (total > 0) {
    shared_.log->info("[server={}] backfilled {} events", server_.name, total);
  }
  co_return !stopping_ && !feed_ended_;
}

net::awaitable<bool> ServerLink::flush_pending(bool accept_gaps) {
  while (!pending_.empty() && !stopping_) {
    std::vector<SupremaEvent> events;
    std::size_t i = 0;
    for (; i < pending_.size(); ++i) {
      if (!accept_gaps && !follows(pending_[i])) {
        break;
      }
      events.push_back(pending_[i]);
      note_ids({pending_[i]});
    }
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(i));
    if (!events.empty() && !co_await store(events, "feed", !accept_gaps)) {
      co_return false;
    }
    if (!pending_.empty() && !accept_gaps) {
      shared_.gaps.inc();
      co_return false;  // a gap before the rest: the search fills it first
    }
  }
  co_return true;
}

net::awaitable<void> ServerLink::run_feed() {
  const std::string first = build_ws_session_message(session_);
  error_code ec = co_await client_.feed_open(first);
  if (ec || first.empty()) {
    if (!stopping_) {
      shared_.log->warn("[server={}] /wsapi: {}", server_.name,
                        ec ? ec.message() : "no valid session id");
    }
    feed_ended_ = true;
    wake_.cancel();
    co_return;
  }
  feed_open_ = true;
  wake_.cancel();
  std::string text;
  while (!stopping_) {
    const FeedEnd end = co_await client_.feed_read(text, ec);
    if (end == FeedEnd::Oversize) {
      shared_.oversize_frames.inc();
      shared_.log->warn("[server={}] /wsapi message over {} bytes: feed closed, reconnecting",
                        server_.name, shared_.config.max_frame_bytes);
      break;
    }
    if (end != FeedEnd::None) {
      if (!stopping_) {
        shared_.log->info("[server={}] /wsapi ended: {}", server_.name,
                          ec ? ec.message() : "closed by the server");
      }
      break;
    }
    co_await on_message(text);
  }
  feed_ended_ = true;
  wake_.cancel();
}

net::awaitable<void> ServerLink::on_message(const std::string& text) {
  WsMessage msg = parse_ws_message(text, JsonBounds{shared_.config.max_frame_bytes, 16});
  if (msg.kind == WsMessageKind::Other) {
    co_return;  // device and door status pushes, acknowledgements
  }
  if (msg.kind == WsMessageKind::Invalid || !msg.event) {
    shared_.invalid_messages.inc();
    shared_.log->warn("[server={}] /wsapi message not understood: {}", server_.name, msg.error);
    WriteBatch batch;
    batch.quarantine.push_back({"biostar2-" + server_.name, "wsapi", "", 0, msg.error,
                                msg.raw.substr(0, 64 * 1024), shared_.ctx.clock.now_ms()});
    auto r = co_await commit(batch);
    if (r.ec) {
      shared_.commit_failures.inc();
    }
    co_return;
  }
  SupremaEvent ev = std::move(*msg.event);
  if (!live_mode_ || !pending_.empty()) {
    pending_.push_back(std::move(ev));  // stored after the search, in order
    if (pending_.size() > kMaxPending) {
      pending_.clear();  // they are in the server's log: the search reads them again
      pending_overflow_ = true;
    }
    co_return;
  }
  if (!follows(ev)) {
    // The feed skipped events (a silent cut): hold this one, search the gap first.
    shared_.gaps.inc();
    shared_.log->info("[server={}] event id gap after {}: searching", server_.name,
                      last_id_.value_or(0));
    pending_.push_back(std::move(ev));
    live_mode_ = false;
    resync_ = true;
    wake_.cancel();
    co_return;
  }
  if (live_queue_.size() >= kMaxPending) {
    // Commits stalled (a hung disk) while the feed ran on: drop what waits
    // and end the session; the next one searches it from the cursor.
    shared_.log->warn("[server={}] {} live events wait for the store: feed closed, searching",
                      server_.name, live_queue_.size());
    live_queue_.clear();
    last_id_ = stored_id_;
    client_.feed_close();
    co_return;
  }
  note_ids({ev});
  live_queue_.push_back(std::move(ev));
  if (!live_writing_) {
    live_writing_ = true;
    auto self = shared_from_this();
    net::co_spawn(
        strand_, [self]() { return self->write_live(); },
        [self](std::exception_ptr e) {
          log_if_thrown(*self->shared_.log, self->server_.name, "live writer ended", e);
          self->live_writing_ = false;
          self->live_idle_.cancel();
        });
  }
}

net::awaitable<void> ServerLink::write_live() {
  while (!live_queue_.empty() && !stopping_) {
    std::vector<SupremaEvent> events;
    events.swap(live_queue_);
    if (!co_await store(events, "feed", true)) {
      // Not stored: end the session; the next one searches them (and what
      // queued meanwhile) from the cursor.
      live_queue_.clear();
      last_id_ = stored_id_;
      client_.feed_close();
      break;
    }
  }
  live_queue_.clear();
  live_writing_ = false;
  live_idle_.cancel();
}

net::awaitable<void> ServerLink::live_written() {
  error_code ec;
  while (live_writing_) {
    live_idle_.expires_at(net::steady_timer::time_point::max());
    co_await live_idle_.async_wait(net::redirect_error(net::use_awaitable, ec));
  }
}

net::awaitable<bool> ServerLink::store(const std::vector<SupremaEvent>& events,
                                       std::string_view source, bool move_cursor) {
  const auto now = shared_.ctx.clock.now_ms();
  WriteBatch batch;
  EventPager marks(cursor_, 0, 0, 1);
  for (const auto& ev : events) {
    const std::string sn = serial_of(ev, server_);
    ensure_terminal(sn, ev.device_name, batch);
    Event e = map_event(ev, sn, server_, shared_.ctx.terminals.zone_for(sn), now, source);
    if (shared_.ctx.access != nullptr) {
      shared_.ctx.access->note_pass(e, batch);
    }
    report_door(ev, e, now, batch);
    batch.events.push_back(std::move(e));
    if (move_cursor) {
      marks.mark_stored(ev);
    }
  }
  const auto id = highest_id(events, stored_id_);
  if (move_cursor) {
    add_cursor(marks.cursor(), id, batch);
  }
  auto res = co_await commit(batch);
  if (res.ec) {
    shared_.commit_failures.inc();
    shared_.log->warn("[server={}] live events not stored: {}", server_.name, res.ec.message());
    co_return false;
  }
  stored_id_ = id;
  if (move_cursor) {
    // Merged into the cursor as it is now (a search may have moved it meanwhile).
    EventPager merged(cursor_, 0, 0, 1);
    for (const auto& ev : events) {
      merged.mark_stored(ev);
    }
    cursor_ = merged.cursor();
  }
  shared_.stored_events.inc(res.inserted);
  shared_.duplicates.inc(res.duplicates);
  for (const auto& ev : events) {
    const auto sn = serial_of(ev, server_);
    shared_.ctx.terminals.update(sn, [now](TerminalRecord& r) { r.last_seen_ms = now; });
  }
  co_return true;
}

void ServerLink::commands_ready(const std::string& sn) {
  auto self = shared_from_this();
  net::post(strand_, [self, sn] {
    self->command_serials_.insert(sn);
    self->kick_commands();
  });
}

void ServerLink::kick_commands() {
  const auto s = state();
  if (stopping_ || (s != LinkState::Backfilling && s != LinkState::Online)) {
    return;  // not connected: taken when the link is up again (set_state)
  }
  if (commands_running_) {
    commands_again_ = true;
    return;
  }
  commands_running_ = true;
  commands_active_ = true;
  auto self = shared_from_this();
  net::co_spawn(
      strand_, [self]() { return self->run_commands(); },
      [self](std::exception_ptr e) {
        log_if_thrown(*self->shared_.log, self->server_.name, "commands ended", e);
        self->commands_running_ = false;
        self->commands_active_ = false;
      });
}

namespace {

/** The BioStar door action of a door verb; nullopt for other verbs. */
std::optional<DoorAction> door_action(const CommandRecord& c) {
  if (c.verb == "open_door") {
    return DoorAction::Open;
  }
  if (c.verb == "close_door") {
    return DoorAction::Lock;
  }
  if (c.verb == "lock_door") {
    return c.params.value("locked", true) ? DoorAction::Lock : DoorAction::Release;
  }
  if (c.verb == "normal_open") {
    return c.params.value("on", true) ? DoorAction::Unlock : DoorAction::Release;
  }
  return std::nullopt;
}

}  // namespace

namespace {

/** "YYYY-MM-DD[ HH:MM:SS]" in `zone` → UTC ms; nullopt when it is no such time. */
std::optional<std::int64_t> master_time(const std::string& text, const Zone& zone) {
  if (text.empty()) {
    return std::nullopt;
  }
  auto full = text.size() == 10 ? text + " 00:00:00" : text;
  if (auto local = parse_local_date_time(full)) {
    return zone.to_utc_ms(*local);
  }
  return std::nullopt;
}

}  // namespace

net::awaitable<ServerLink::UserOutcome> ServerLink::upsert_user(const std::string& sn,
                                                                const json& params) {
  UserOutcome out;
  const Zone& zone = shared_.ctx.terminals.zone_for(sn);
  NeutralUser user;
  user.user_id = params.value("pin", "");
  user.name = params.value("name", "");
  const std::string from = params.value("valid_from", "");
  const std::string until = params.value("valid_until", "");
  user.valid_from_ms = master_time(from, zone);
  user.valid_until_ms = master_time(until, zone);
  if ((!from.empty() && !user.valid_from_ms) || (!until.empty() && !user.valid_until_ms)) {
    out.error = "valid_from / valid_until are not YYYY-MM-DD[ HH:MM:SS]";
    co_return out;
  }
  const std::string card = params.value("card", "");
  if (!card.empty()) {
    // The card record first: a user names cards by their record id.
    const std::vector<std::string> numbers{card};
    const ApiRequest create = build_card_create(numbers);
    if (create.target.empty()) {
      out.error = "card \"" + card + "\" is not 1..32 decimal digits";
      co_return out;
    }
    HttpReply h = co_await api(create, kSmallBodyLimit);
    if (h.ec) {
      out.transport = true;
      out.error = h.ec.message();
      co_return out;
    }
    CardCreateReply cr = read_card_create(static_cast<int>(h.status), h.body);
    if (cr.result.ok && !cr.card_ids.empty()) {
      user.card_ids = cr.card_ids;
    } else {
      // Known already (a change of the user, or a re-delivery): find its record.
      const ApiRequest list{"GET", "/api/cards", ""};
      HttpReply l = co_await api(list, kSearchBodyLimit);
      auto j = l.ec ? json() : json::parse(l.body, nullptr, false);
      if (j.is_object() && j.contains("CardCollection") && j["CardCollection"].is_object() &&
          j["CardCollection"].contains("rows") && j["CardCollection"]["rows"].is_array()) {
        for (const auto& row : j["CardCollection"]["rows"]) {
          if (row.is_object() && row.contains("card_id") && row.contains("id") &&
              json_text(row["card_id"]).value_or("") == card) {
            if (auto id = json_integer(row["id"])) {
              user.card_ids.push_back(*id);
            }
          }
        }
      }
      if (user.card_ids.empty()) {
        out.error = "card " + card + " not created: " + cr.result.error;
        co_return out;
      }
    }
  }
  if (auto problem = validate_user(user); !problem.empty()) {
    out.error = problem;
    co_return out;
  }
  // Changed when it exists, created when the server does not know it.
  const ApiRequest update = build_user_update(user);
  HttpReply h = co_await api(update, kSmallBodyLimit);
  if (h.ec) {
    out.transport = true;
    out.error = h.ec.message();
    co_return out;
  }
  ApiResult res = read_api_result(static_cast<int>(h.status), h.body);
  std::string done = "updated";
  if (!res.ok && h.status == 404) {
    const ApiRequest create = build_user_create(user);
    h = co_await api(create, kSmallBodyLimit);
    if (h.ec) {
      out.transport = true;
      out.error = h.ec.message();
      co_return out;
    }
    res = read_api_result(static_cast<int>(h.status), h.body);
    done = "created";
  }
  out.ok = res.ok;
  out.error = res.error;
  out.answer = json{{"user_id", user.user_id}, {"action", done}, {"cards", user.card_ids}}.dump();
  co_return out;
}

net::awaitable<ServerLink::UserOutcome> ServerLink::delete_user(const json& params) {
  UserOutcome out;
  const std::vector<std::string> ids{params.value("pin", "")};
  const ApiRequest req = build_user_delete(ids);
  if (req.target.empty()) {
    out.error = "pin is not a BioStar user id";
    co_return out;
  }
  HttpReply h = co_await api(req, kSmallBodyLimit);
  if (h.ec) {
    out.transport = true;
    out.error = h.ec.message();
    co_return out;
  }
  const ApiResult res = read_api_result(static_cast<int>(h.status), h.body);
  // Already gone is what a delete wants.
  out.ok = res.ok || h.status == 404;
  out.error = res.error;
  out.answer = json{{"user_id", ids.front()}, {"action", res.ok ? "deleted" : "absent"}}.dump();
  co_return out;
}

net::awaitable<void> ServerLink::run_commands() {
  CommandQueue& queue = shared_.ctx.commands;
  do {
    commands_again_ = false;
    command_serials_.clear();
    std::vector<std::string> serials;
    {
      std::lock_guard lock(mutex_);
      serials.assign(devices_.begin(), devices_.end());
    }
    for (const auto& sn : serials) {
      while (!stopping_) {
        const auto s = state();
        if (s != LinkState::Backfilling && s != LinkState::Online) {
          co_return;
        }
        WriteBatch batch;
        std::vector<CommandRecord> changed;
        const auto taken = queue.take(sn, batch, changed);
        if (taken.empty()) {
          break;
        }
        // Marked sent durably before the server sees them: a crash in between
        // re-delivers rather than losing the command.
        CommitResult r = co_await commit(batch);
        if (r.ec) {
          shared_.commit_failures.inc();
          shared_.log->warn("[server={}] commands not taken, the store failed: {}", server_.name,
                            r.ec.message());
          co_return;
        }
        queue.committed(changed);
        for (const auto& c : taken) {
          co_await run_command(sn, c);
        }
      }
    }
  } while (commands_again_ && !stopping_);
}

net::awaitable<void> ServerLink::run_command(const std::string& sn, const CommandRecord& c) {
  enum class Result { Done, Failed, Unsupported, Retry };
  Result result = Result::Unsupported;
  std::string reason = "\"" + c.verb + "\" has no BioStar 2 equivalent";
  std::string answer;
  const int door = c.params.is_object() ? c.params.value("door", 1) : 1;
  const auto action = door_action(c);
  if (c.verb == "upsert_user" || c.verb == "delete_user") {
    // (no co_await inside a conditional expression: GCC 12 miscompiles it)
    UserOutcome u;
    if (c.verb == "upsert_user") {
      u = co_await upsert_user(sn, c.params);
    } else {
      u = co_await delete_user(c.params);
    }
    result = u.transport ? Result::Retry : (u.ok ? Result::Done : Result::Failed);
    reason = u.error;
    answer = u.answer;
  } else if (action || c.verb == "door_status") {
    const auto biostar = server_.biostar_door(door);
    if (!biostar) {
      result = Result::Failed;
      reason = "door " + std::to_string(door) + " has no BioStar door id (suprema door_map)";
    } else {
      const std::vector<std::int64_t> ids{*biostar};
      const ApiRequest req = action ? build_door_command(*action, ids) : build_door_status();
      HttpReply h = co_await api(req, kSmallBodyLimit);
      if (h.ec) {
        result = Result::Retry;
        reason = h.ec.message();
      } else if (action) {
        const ApiResult res = read_api_result(static_cast<int>(h.status), h.body);
        result = res.ok ? Result::Done : Result::Failed;
        reason = res.error;
        answer = json{{"door", door},
                      {"biostar_door", *biostar},
                      {"action", std::string(to_string(*action))}}
                     .dump();
      } else {
        const DoorStatusReply st = read_door_status(static_cast<int>(h.status), h.body);
        if (!st.result.ok) {
          result = Result::Failed;
          reason = st.result.error;
        } else {
          result = Result::Failed;
          reason = "the server did not report BioStar door " + std::to_string(*biostar);
          for (const auto& d : st.doors) {
            if (d.door_id && *d.door_id == *biostar) {
              json j = {{"door", door}, {"biostar_door", *biostar}};
              if (d.opened) {
                j["opened"] = *d.opened;
              }
              if (d.unlocked) {
                j["unlocked"] = *d.unlocked;
              }
              if (d.alarm) {
                j["alarm"] = *d.alarm;
              }
              if (d.status) {
                j["status"] = *d.status;
                j["status_names"] = door_status_names(*d.status);
              }
              answer = j.dump();
              result = Result::Done;
              break;
            }
          }
        }
      }
    }
  }
  CommandQueue& queue = shared_.ctx.commands;
  WriteBatch batch;
  std::vector<CommandRecord> changed;
  switch (result) {
    case Result::Done: {
      std::vector<CommandQueue::Result> results(1);
      results[0].id = c.id;
      results[0].return_code = 0;
      results[0].return_name = "OK";
      results[0].raw = answer;
      queue.complete(sn, results, batch, changed);
      shared_.commands_done.inc();
      shared_.log->info("[server={}] command {} {} for {}: done", server_.name, c.id, c.verb, sn);
      break;
    }
    case Result::Failed:
    case Result::Unsupported:
      queue.fail(sn, c.id, reason, batch, changed);
      (result == Result::Failed ? shared_.commands_failed : shared_.commands_unsupported).inc();
      shared_.log->warn("[server={}] command {} {} for {} {}: {}", server_.name, c.id, c.verb, sn,
                        result == Result::Failed ? "refused" : "unsupported", reason);
      break;
    case Result::Retry:
      shared_.commands_retry.inc();  // left sent: the queue offers it again after its ack timeout
      shared_.log->info("[server={}] command {} {} not delivered now: {}", server_.name, c.id,
                        c.verb, reason);
      co_return;
  }
  if (batch.empty()) {
    co_return;
  }
  CommitResult r = co_await commit(batch);
  if (r.ec) {
    shared_.commit_failures.inc();
    co_return;
  }
  queue.committed(changed);
}

}  // namespace pushgate::adapters::suprema
