#include "adapters/dahua/dahua_link.hpp"

#include <algorithm>
#include <random>

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>

#include "adapters/dahua/dahua_mapping.hpp"
#include "gateway/access_decider.hpp"
#include "gateway/adapter_state.hpp"
#include "gateway/await_commit.hpp"
#include "gateway/command_queue.hpp"
#include "gateway/doors.hpp"
#include "gateway/event_json.hpp"
#include "gateway/terminals.hpp"

namespace pushgate::adapters::dahua {

namespace net = boost::asio;
using boost::system::error_code;
using nlohmann::json;

namespace {

constexpr std::string_view kAdapter = "dahua";
/** EndTime of every backfill: far past any device clock. */
constexpr std::string_view kEndOfTime = "4102444800";  // 2100-01-01
/** Live items held while a backfill runs; more and the backfill runs again instead. */
constexpr std::size_t kMaxPending = 10000;
/** Answers to command requests are read this far (read_answer looks at kMaxAnswerBytes). */
constexpr std::size_t kCommandBodyLimit = 1u << 20;
constexpr std::string_view kAttach =
    "/cgi-bin/eventManager.cgi?action=attach&codes=[AccessControl,DoorStatus,BreakIn,Duress,"
    "AlarmLocal,DoorNotClosed,ChassisIntruded]&heartbeat=";

std::string table_short(std::string_view table) {
  return table == kCardRecordTable ? "card" : "alarm";
}

/** A cursor time on one scale: epoch seconds, or a device-local text read as UTC. */
std::optional<std::int64_t> time_order(const std::string& text) {
  if (auto n = parse_int(text)) {
    return *n;
  }
  auto t = parse_device_time(text);
  if (t.device_local) {
    if (auto local = parse_local_date_time(t.text)) {
      return Zone::utc().to_utc_ms(*local) / 1000;
    }
  }
  return std::nullopt;
}

/** Moves `cursors[table]` to the record of `f` when it is newer. */
void advance(std::map<std::string, TableCursor, std::less<>>& cursors, std::string_view table,
             const AccessFields& f) {
  std::string time;
  if (f.create_time && f.create_time->usable()) {
    time = f.create_time->text;
  } else if (f.utc) {
    time = std::to_string(*f.utc);
  }
  if (time.empty()) {
    return;  // a record without a usable time cannot place the cursor
  }
  auto& c = cursors[std::string(table)];
  const std::int64_t rec = f.rec_no.value_or(-1);
  bool newer = !c.known();
  if (!newer) {
    auto a = time_order(time);
    auto b = time_order(c.time);
    if (a && b && *a != *b) {
      newer = *a > *b;
    } else {
      newer = rec > c.rec_no || (a && b && *a == *b && rec < 0);
    }
  }
  if (newer) {
    c.time = std::move(time);
    c.rec_no = rec;
  }
}

/** What ended a coroutine of the link by throwing, logged (no exception leaves the strand). */
void log_if_thrown(spdlog::logger& log, const std::string& device, std::string_view what,
                   const std::exception_ptr& e) {
  if (!e) {
    return;
  }
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    log.error("[device={}] {}: {}", device, what, ex.what());
  } catch (...) {
    log.error("[device={}] {}", device, what);
  }
}

}  // namespace

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

DeviceLink::DeviceLink(LinkShared& shared, DeviceConfig device,
                       std::shared_ptr<net::ssl::context> tls)
    : shared_(shared),
      device_(std::move(device)),
      strand_(net::make_strand(shared.ctx.ioc)),
      client_(strand_, device_, shared.config.request_timeout, std::move(tls)),
      timer_(strand_),
      wake_(strand_) {
  if (auto it = shared_.stored.find("serial/" + device_.name); it != shared_.stored.end()) {
    set_serial(it->second);  // known from an earlier run: status shows even before a login
  }
}

void DeviceLink::start() {
  auto self = shared_from_this();
  net::co_spawn(
      strand_, [self]() { return self->run(); },
      [self](std::exception_ptr e) {
        log_if_thrown(*self->shared_.log, self->device_.name, "link ended", e);
        self->finished_ = true;
      });
}

void DeviceLink::stop() {
  auto self = shared_from_this();
  net::post(strand_, [self] {
    self->stopping_ = true;
    self->client_.cancel();
    self->timer_.cancel();
    self->wake_.cancel();
  });
}

LinkState DeviceLink::state() const {
  std::lock_guard lock(mutex_);
  return state_;
}

net::awaitable<void> DeviceLink::sleep(std::chrono::milliseconds delay) {
  error_code ec;
  timer_.expires_after(delay);
  co_await timer_.async_wait(net::redirect_error(net::use_awaitable, ec));
}

net::awaitable<CommitResult> DeviceLink::commit(WriteBatch& batch) {
  return await_commit(shared_.ctx.events, std::move(batch), strand_);
}

void DeviceLink::set_state(LinkState state, const std::string& reason) {
  {
    std::lock_guard lock(mutex_);
    if (state_ == state && reason_ == reason) {
      return;
    }
    state_ = state;
    reason_ = reason;  // offline for another reason (a TLS error after "stopped"): shown too
  }
  if (state == LinkState::AuthFailed || state == LinkState::Offline) {
    shared_.log->warn("[device={}] {}: {}", device_.name, to_string(state), reason);
  } else {
    shared_.log->info("[device={}] {}{}{}", device_.name, to_string(state),
                      reason.empty() ? "" : ": ", reason);
  }
  if (state == LinkState::Backfilling || state == LinkState::Online) {
    kick_commands();  // connected (again): what was queued meanwhile goes now
  }
  shared_.ctx.health.set(Health::Kind::Ready, "dahua." + device_.name,
                         state != LinkState::AuthFailed,
                         state == LinkState::AuthFailed ? reason : std::string());
  if (serial_.empty()) {
    return;
  }
  const auto now = shared_.ctx.clock.now_ms();
  json info = {
      {"device", device_.name},
      {"host", device_.host},
      {"status", std::string(to_string(state))},
      {"status_since", format_utc_iso8601(now)},
      {"status_reason", reason},
      // The vendor-neutral link state (gateway/terminal_link.hpp): MQTT status, Modbus.
      {"link", std::string(to_string(state))},
      {"link_reason",
       state == LinkState::Online || state == LinkState::Backfilling ? std::string() : reason}};
  if (drift_s_) {
    info["drift_s"] = *drift_s_;
  }
  auto record = shared_.ctx.terminals.update(serial_, [&](TerminalRecord& r) {
    r.vendor = "dahua";
    r.protocol = "dahua-http";
    r.ip = device_.host;
    if (!model_.empty()) {
      r.model = model_;
    }
    if (r.first_seen_ms == 0) {
      r.first_seen_ms = now;
    }
    r.info_json = dump_json(info);
  });
  if (shared_.ctx.events != nullptr) {
    WriteBatch b;
    b.ops.push_back(TerminalRegistry::persist_op(record));
    shared_.ctx.events->append(std::move(b), [](CommitResult) {});  // status only: best effort
  }
}

std::string DeviceLink::cursor_key(std::string_view table) const {
  return "cursor/" + serial_ + "/" + table_short(table);
}

void DeviceLink::load_cursors() {
  if (cursors_loaded_) {
    return;  // after the first load the cursors in memory follow every commit
  }
  cursors_loaded_ = true;
  for (auto table : {kCardRecordTable, kAlarmRecordTable}) {
    auto it = shared_.stored.find(cursor_key(table));
    if (it == shared_.stored.end()) {
      continue;
    }
    auto j = json::parse(it->second, nullptr, false);
    if (!j.is_object() || !j.contains("t") || !j["t"].is_string()) {
      shared_.log->warn("[device={}] stored cursor {} unreadable, backfilling from the start",
                        device_.name, it->first);
      continue;
    }
    TableCursor c;
    c.time = j["t"].get<std::string>();
    c.rec_no = j.value("rec", std::int64_t{-1});
    cursors_[std::string(table)] = c;
  }
}

net::awaitable<void> DeviceLink::run() {
  auto backoff = shared_.config.reconnect_min;
  std::mt19937_64 rng(std::random_device{}());
  while (!stopping_) {
    Outcome outcome = co_await session();
    if (stopping_ || outcome == Outcome::Stopped) {
      break;
    }
    if (outcome == Outcome::AuthFailed) {
      // Dahua firmware locks the account after a few failures: try again
      // only auth_attempts_per_hour times an hour, whatever happens.
      const std::chrono::milliseconds pause(3'600'000 / shared_.config.auth_attempts_per_hour);
      co_await sleep(pause);
      client_.reset_auth();
      continue;
    }
    shared_.reconnects.inc();
    if (live_mode_) {
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

net::awaitable<DeviceLink::Outcome> DeviceLink::session() {
  live_mode_ = false;
  firmware_ = FirmwareApi::Unknown;  // the device may have been upgraded meanwhile
  const std::string info_target = "/cgi-bin/magicBox.cgi?action=getSystemInfo";
  HttpResult info = co_await client_.get(info_target, 64 * 1024);
  if (stopping_) {
    co_return Outcome::Stopped;
  }
  if (info.auth_failed) {
    shared_.auth_failures.inc();
    if (serial_.empty() && info.realm.rfind("Login to ", 0) == 0) {
      set_serial(std::string(trim(std::string_view(info.realm).substr(9))));  // realm names it
    }
    set_state(LinkState::AuthFailed,
              "the device refused user \"" + device_.user + "\"; next login attempt in " +
                  std::to_string(60 / shared_.config.auth_attempts_per_hour) + " min");
    co_return Outcome::AuthFailed;
  }
  if (info.ec || info.status != 200) {
    set_state(LinkState::Offline, info.ec ? "getSystemInfo: " + info.ec.message()
                                          : "getSystemInfo: HTTP " + std::to_string(info.status));
    co_return Outcome::Failed;
  }
  if (!co_await identify(info)) {
    co_return Outcome::Failed;
  }
  co_await measure_drift();
  if (!device_.pulls()) {
    // Push only: the device uploads its events to the push listener; the
    // login gave the serial the uploads are stored under, and commands go.
    set_state(LinkState::Online, "push mode");
    error_code wait_ec;
    while (!stopping_) {
      wake_.expires_at(net::steady_timer::time_point::max());
      co_await wake_.async_wait(net::redirect_error(net::use_awaitable, wait_ec));
    }
    co_return Outcome::Stopped;
  }
  load_cursors();

  stream_open_ = false;
  stream_ended_ = false;
  pending_.clear();
  pending_overflow_ = false;
  parser_.reset();
  auto self = shared_from_this();
  net::co_spawn(
      strand_, [self]() { return self->run_stream(); }, net::detached);
  // The stream first: what happens during the backfill arrives on it.
  error_code ec;
  wake_.expires_after(shared_.config.request_timeout + std::chrono::seconds(1));
  while (!stream_open_ && !stream_ended_ && !stopping_ &&
         wake_.expiry() > std::chrono::steady_clock::now()) {
    co_await wake_.async_wait(net::redirect_error(net::use_awaitable, ec));
  }
  bool ok = stream_open_ && !stream_ended_ && !stopping_;
  std::string why = stream_open_ ? "event stream ended" : "event stream did not open";
  if (ok) {
    set_state(LinkState::Backfilling, "");
    do {
      pending_overflow_ = false;
      ok = co_await backfill(kCardRecordTable);
      ok = ok && co_await backfill(kAlarmRecordTable);
    } while (ok && pending_overflow_ && !stopping_ && !stream_ended_);
    why = ok ? why : "backfill failed";
  }
  while (ok && !pending_.empty() && !stopping_) {
    auto items = std::move(pending_);
    pending_.clear();
    ok = co_await store_live(items);
  }
  if (ok && !stream_ended_ && !stopping_) {
    live_mode_ = true;
    set_state(LinkState::Online, "");
    while (!stream_ended_ && !stopping_) {
      wake_.expires_at(net::steady_timer::time_point::max());
      co_await wake_.async_wait(net::redirect_error(net::use_awaitable, ec));
    }
  }
  client_.cancel();
  while (!stream_ended_) {  // the stream's coroutine ends before a new session begins
    wake_.expires_after(std::chrono::milliseconds(100));
    co_await wake_.async_wait(net::redirect_error(net::use_awaitable, ec));
    client_.cancel();
  }
  if (stopping_) {
    co_return Outcome::Stopped;
  }
  set_state(LinkState::Offline, why);
  co_return Outcome::Failed;
}

net::awaitable<bool> DeviceLink::identify(const HttpResult& info) {
  std::string serial;
  std::string model;
  std::string_view body(info.body);
  while (!body.empty()) {
    auto nl = body.find('\n');
    auto line = trim(body.substr(0, nl));
    body = nl == std::string_view::npos ? std::string_view{} : body.substr(nl + 1);
    auto eq = line.find('=');
    if (eq == std::string_view::npos) {
      continue;
    }
    auto k = trim(line.substr(0, eq));
    auto v = trim(line.substr(eq + 1));
    if (iequals(k, "serialNumber")) {
      serial = std::string(v.substr(0, 64));
    } else if (iequals(k, "deviceType")) {
      model = std::string(v.substr(0, 64));
    }
  }
  if (serial.empty()) {
    set_state(LinkState::Offline, "getSystemInfo gave no serialNumber");
    co_return false;
  }
  if (!serial_.empty() && serial_ != serial) {
    shared_.log->warn("[device={}] serial changed from {} to {} (device replaced?): a new terminal",
                      device_.name, serial_, serial);
    cursors_.clear();
    cursors_loaded_ = false;
  }
  set_serial(serial);
  model_ = model;
  const auto now = shared_.ctx.clock.now_ms();
  int doors = 1;
  for (const auto& [event_door, door] : device_.door_map) {
    doors = std::max(doors, door);
  }
  auto record = shared_.ctx.terminals.update(serial_, [&](TerminalRecord& r) {
    r.vendor = "dahua";
    r.model = model_;
    r.protocol = "dahua-http";
    r.ip = device_.host;
    r.capabilities.doors = std::max(r.capabilities.doors, doors);
    r.capabilities.decision = DecisionMode::Local;
    r.capabilities.commands = CommandDelivery::Push;
    // What dahua_commands.cpp executes for the master-data sync: users with
    // card and password (AccessUser.cgi / AccessCard.cgi) and their doors.
    // No time zone or holiday tables (its AccessTimeSchedule is not
    // written: authorize_user maps zones, see time_section_of_zone), no
    // templates or photos, no `batch`. See README.md, "Master-data sync".
    r.capabilities.user_sync = true;
    r.capabilities.sync_writes = sync_bit(SyncWrite::Users) | sync_bit(SyncWrite::Cards) |
                                 sync_bit(SyncWrite::Passwords) | sync_bit(SyncWrite::DoorRights);
    if (r.first_seen_ms == 0) {
      r.first_seen_ms = now;
    }
    r.last_seen_ms = now;
  });
  WriteBatch b;
  b.ops.push_back(TerminalRegistry::persist_op(record));
  if (shared_.ctx.adapter_state != nullptr) {
    b.ops.push_back(
        shared_.ctx.adapter_state->put(std::string(kAdapter), "serial/" + device_.name, serial_));
  }
  auto res = co_await commit(b);
  if (res.ec) {
    shared_.commit_failures.inc();
    set_state(LinkState::Offline, "cannot store the terminal: " + res.ec.message());
    co_return false;
  }
  co_return true;
}

net::awaitable<void> DeviceLink::measure_drift() {
  const std::string target = "/cgi-bin/global.cgi?action=getCurrentTime";
  auto r = co_await client_.get(target, 4096);
  if (r.ec || r.status != 200) {
    co_return;  // optional: old firmware may not answer
  }
  auto pos = r.body.find("result=");
  if (pos == std::string::npos) {
    co_return;
  }
  auto text = trim(std::string_view(r.body).substr(pos + 7));
  text = text.substr(0, text.find_first_of("\r\n"));
  auto local = parse_local_date_time(text);
  if (!local) {
    co_return;
  }
  const auto& zone = shared_.ctx.terminals.zone_for(serial_);
  drift_s_ = (zone.to_utc_ms(*local) - shared_.ctx.clock.now_ms()) / 1000;
  if (std::abs(*drift_s_) > 60) {
    shared_.log->warn("[device={}] device clock is {} s off the gateway's", device_.name,
                      *drift_s_);
  }
}

net::awaitable<bool> DeviceLink::backfill(std::string_view table) {
  const bool card = table == kCardRecordTable;
  std::string start;
  if (auto it = cursors_.find(table); it != cursors_.end() && it->second.known()) {
    start = it->second.time;  // inclusive: the overlap is de-duplicated
  } else if (shared_.config.backfill_max_age_h > 0) {
    start = std::to_string(shared_.ctx.clock.now_ms() / 1000 -
                           shared_.config.backfill_max_age_h * 3600);
  } else {
    start = "0";
  }
  const auto& zone = shared_.ctx.terminals.zone_for(serial_);
  std::set<std::string> seen;  // keys stored by this backfill (pages and passes overlap)
  std::size_t total = 0;
  for (int pass = 0; pass < 10000 && !stopping_ && !stream_ended_; ++pass) {
    FindRequest request;
    request.name = std::string(table);
    request.start_time = start;
    request.end_time = std::string(kEndOfTime);
    request.count = shared_.config.page_size;
    RecordPager pager(request);
    std::size_t fresh = 0;
    while (!pager.done() && !stopping_ && !stream_ended_) {
      auto target = pager.next_target();
      auto r = co_await client_.get(target);
      if (stopping_) {
        co_return false;
      }
      if (r.ec || r.status != 200) {
        shared_.log->warn("[device={}] {}: {}", device_.name, target,
                          r.ec ? r.ec.message() : "HTTP " + std::to_string(r.status));
        co_return false;
      }
      auto reply = parse_record_finder_reply(r.body);
      if (reply.device_error) {
        shared_.log->warn("[device={}] {} answered an error: {}", device_.name, target,
                          r.body.substr(0, 200));
        co_return false;
      }
      auto page = pager.accept(reply);
      if (!page.skipped_warning.empty()) {
        shared_.skipped_warnings.inc();
        shared_.log->warn("[device={}] {}: {}", device_.name, table, page.skipped_warning);
      }
      const auto now = shared_.ctx.clock.now_ms();
      MappingContext mc{serial_, &device_, &zone, now, drift_s_};
      WriteBatch batch;
      auto next = cursors_;
      std::size_t rows = 0;  // records (a T&A passage is stored with its punch: two events)
      for (const auto& row : page.fresh) {
        Event e = card ? map_card_record(row, mc) : map_alarm_record(row, mc);
        if (!seen.insert(e.record_key).second) {
          continue;
        }
        advance(next, table, row.access);
        if (card && shared_.ctx.access != nullptr) {
          shared_.ctx.access->note_pass(e, batch);  // passages count for anti-passback
        }
        auto punch = card ? attendance_punch(e, row.access, device_) : std::nullopt;
        ++rows;
        batch.events.push_back(std::move(e));
        if (punch) {
          batch.events.push_back(std::move(*punch));  // a T&A terminal: also a punch
        }
      }
      for (const auto& p : reply.problems) {
        batch.quarantine.push_back({serial_, "recordFinder", std::string(table),
                                    static_cast<int>(p.line), p.reason, p.raw, now});
      }
      if (batch.empty()) {
        continue;
      }
      const auto& c = next[std::string(table)];
      if (c.known() && shared_.ctx.adapter_state != nullptr) {
        // The cursor moves in the same transaction as the rows it covers.
        batch.ops.push_back(
            shared_.ctx.adapter_state->put(std::string(kAdapter), cursor_key(table),
                                           dump_json(json{{"t", c.time}, {"rec", c.rec_no}})));
      }
      auto res = co_await commit(batch);
      if (res.ec) {
        shared_.commit_failures.inc();
        shared_.log->warn("[device={}] backfill commit failed: {}", device_.name, res.ec.message());
        co_return false;
      }
      cursors_ = std::move(next);
      shared_.backfilled.inc(res.inserted);
      shared_.stored_events.inc(res.inserted);
      shared_.duplicates.inc(res.duplicates);
      shared_.quarantined.inc(res.quarantined);
      fresh += rows;
    }
    total += fresh;
    if (fresh == 0 || pager.done() == false) {
      break;
    }
    // Rows written while this pass ran: once more from the newest stored record.
    if (auto it = cursors_.find(table); it != cursors_.end() && it->second.known()) {
      start = it->second.time;
    }
  }
  if (total > 0) {
    shared_.log->info("[device={}] backfilled {} {} rows", device_.name, total, table);
  }
  co_return !stopping_;
}

net::awaitable<void> DeviceLink::run_stream() {
  const auto idle = std::chrono::milliseconds(3000 * shared_.config.heartbeat_s);
  const std::string target = std::string(kAttach) + std::to_string(shared_.config.heartbeat_s);
  const DeviceClient::OnOpen on_open = [this](const HttpResult&) {
    stream_open_ = true;
    wake_.cancel();
  };
  const DeviceClient::OnBytes on_bytes = [this](std::string_view content_type,
                                                std::string_view bytes) {
    return on_stream_bytes(content_type, bytes);
  };
  auto r = co_await client_.stream(target, idle, on_open, on_bytes);
  if (parser_) {
    auto rest = parser_->finish();
    if (!rest.empty()) {
      if (live_mode_) {
        co_await store_live(rest);
      } else {
        for (auto& item : rest) {
          pending_.push_back(std::move(item));
        }
      }
    }
  }
  if (!stopping_) {
    if (r.auth_failed) {
      shared_.auth_failures.inc();
    }
    shared_.log->info("[device={}] event stream ended: {}", device_.name,
                      r.ec ? r.ec.message()
                           : (r.status != 200 ? "HTTP " + std::to_string(r.status)
                                              : std::string("closed by the device")));
  }
  stream_ended_ = true;
  wake_.cancel();
}

net::awaitable<void> DeviceLink::on_stream_bytes(std::string_view content_type,
                                                 std::string_view bytes) {
  if (!parser_) {
    auto boundary = multipart_boundary(content_type);
    parser_.emplace(boundary.empty() ? std::string("myboundary") : boundary);
  }
  auto items = parser_->feed(bytes);
  bool any = false;
  for (const auto& item : items) {
    if (item.type == StreamItem::Type::Heartbeat) {
      ++heartbeats_;
    } else {
      any = true;
    }
  }
  if (!items.empty() && !serial_.empty()) {
    // Heartbeats are the device talking: REST, doors, MQTT and Modbus judge
    // "online" by last_seen.
    const auto now = shared_.ctx.clock.now_ms();
    shared_.ctx.terminals.update(serial_, [now](TerminalRecord& r) { r.last_seen_ms = now; });
  }
  if (!any) {
    co_return;
  }
  std::erase_if(items, [](const StreamItem& i) { return i.type == StreamItem::Type::Heartbeat; });
  if (!live_mode_) {
    // Held until the backfill is done, so records are stored in device order.
    for (auto& item : items) {
      pending_.push_back(std::move(item));
    }
    if (pending_.size() > kMaxPending) {
      pending_.clear();  // the records are on the device: another backfill pass reads them
      pending_overflow_ = true;
    }
    co_return;
  }
  if (!co_await store_live(items)) {
    client_.cancel();  // not stored: end the session, the backfill will read them again
  }
}

net::awaitable<bool> DeviceLink::store_live(std::vector<StreamItem>& items,
                                            std::string_view endpoint, bool move_cursors) {
  const auto now = shared_.ctx.clock.now_ms();
  const auto& zone = shared_.ctx.terminals.zone_for(serial_);
  MappingContext mc{serial_, &device_, &zone, now, drift_s_};
  WriteBatch batch;
  auto next = cursors_;
  std::set<std::string> dirty;
  for (const auto& item : items) {
    if (item.type == StreamItem::Type::Error || !item.event) {
      batch.quarantine.push_back({serial_, std::string(endpoint), "", 0,
                                  item.error.empty() ? "not an event" : item.error, item.raw, now});
      continue;
    }
    const DahuaEvent& ev = *item.event;
    Event e = map_stream_event(ev, mc);
    if (e.kind == EventKind::Access) {
      advance(next, kCardRecordTable, ev.data);
      dirty.insert(std::string(kCardRecordTable));
      if (shared_.ctx.access != nullptr) {
        shared_.ctx.access->note_pass(e, batch);
      }
    } else if (e.kind == EventKind::Alarm && ev.data.rec_no) {
      advance(next, kAlarmRecordTable, ev.data);
      dirty.insert(std::string(kAlarmRecordTable));
    }
    if (e.door > 0) {
      DoorState known;
      if (auto d = shared_.ctx.doors.get(serial_, e.door)) {
        known = d->state;
      }
      if (auto st = door_report(ev, known)) {
        shared_.ctx.doors.report(serial_, e.door, *st, now, batch);
      }
    }
    auto punch = attendance_punch(e, ev.data, device_);
    batch.events.push_back(std::move(e));
    if (punch) {
      batch.events.push_back(std::move(*punch));  // a T&A terminal: also a punch
    }
  }
  if (batch.empty()) {
    co_return true;
  }
  if (!move_cursors) {
    dirty.clear();
    next = cursors_;
  }
  for (const auto& table : dirty) {
    const auto& c = next[table];
    if (c.known() && shared_.ctx.adapter_state != nullptr) {
      batch.ops.push_back(
          shared_.ctx.adapter_state->put(std::string(kAdapter), cursor_key(table),
                                         dump_json(json{{"t", c.time}, {"rec", c.rec_no}})));
    }
  }
  auto res = co_await commit(batch);
  if (res.ec) {
    shared_.commit_failures.inc();
    shared_.log->warn("[device={}] live events not stored: {}", device_.name, res.ec.message());
    co_return false;
  }
  if (move_cursors) {
    cursors_ = std::move(next);  // (a push batch must not restore a copy older than its commit)
  }
  shared_.stored_events.inc(res.inserted);
  shared_.duplicates.inc(res.duplicates);
  shared_.quarantined.inc(res.quarantined);
  shared_.ctx.terminals.update(serial_, [now](TerminalRecord& r) { r.last_seen_ms = now; });
  co_return true;
}

std::string DeviceLink::serial() const {
  std::lock_guard lock(mutex_);
  return known_serial_;
}

void DeviceLink::set_serial(std::string serial) {
  serial_ = std::move(serial);
  std::lock_guard lock(mutex_);
  known_serial_ = serial_;
}

void DeviceLink::commands_ready() {
  auto self = shared_from_this();
  net::post(strand_, [self] { self->kick_commands(); });
}

void DeviceLink::kick_commands() {
  const auto s = state();
  if (stopping_ || serial_.empty() || (s != LinkState::Backfilling && s != LinkState::Online)) {
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
        log_if_thrown(*self->shared_.log, self->device_.name, "commands ended", e);
        self->commands_running_ = false;
        self->commands_active_ = false;
      });
}

DahuaDeviceProfile DeviceLink::profile() const {
  return make_profile(firmware_, device_.door_map, device_.schedules);
}

net::awaitable<void> DeviceLink::run_commands() {
  CommandQueue& queue = shared_.ctx.commands;
  do {
    commands_again_ = false;
    while (!stopping_) {
      const auto s = state();
      if (s != LinkState::Backfilling && s != LinkState::Online) {
        break;
      }
      WriteBatch batch;
      std::vector<CommandRecord> changed;
      const auto taken = queue.take(serial_, batch, changed);
      if (taken.empty()) {
        break;
      }
      // Marked sent durably before the device sees them: a crash in between
      // re-delivers rather than losing the command.
      CommitResult r = co_await commit(batch);
      if (r.ec) {
        shared_.commit_failures.inc();
        shared_.log->warn("[device={}] commands not taken, the store failed: {} (offered again)",
                          device_.name, r.ec.message());
        co_return;
      }
      queue.committed(changed);
      for (const auto& c : taken) {
        co_await run_command(c);
      }
    }
  } while (commands_again_ && !stopping_);
}

net::awaitable<void> DeviceLink::probe_firmware() {
  const DahuaRequest probe = firmware_probe_request();
  HttpResult h = co_await client_.send(probe.method, probe.target, probe.content_type, probe.body,
                                       kCommandBodyLimit);
  if (h.ec || h.auth_failed) {
    co_return;  // said nothing: door commands go, user writes wait (retry later)
  }
  const DahuaAnswer answer{h.status, std::move(h.body)};
  const FirmwareProbe f = decide_firmware(answer);
  firmware_ = f.api;
  shared_.log->info("[device={}] user API: {} ({})", device_.name, to_string(f.api), f.reason);
  if (f.token) {
    const DahuaRequest close = stop_find_request(*f.token);
    HttpResult ignored = co_await client_.send(close.method, close.target, close.content_type,
                                               close.body, kCommandBodyLimit);
    (void)ignored;  // a find left open expires on the device
  }
}

net::awaitable<void> DeviceLink::run_command(const CommandRecord& c) {
  if (firmware_ == FirmwareApi::Unknown) {
    co_await probe_firmware();
  }
  DahuaCommandRun run(plan_command(c.verb, c.params, profile()));
  while (const DahuaRequest* next = run.next()) {
    if (stopping_) {
      run.transport_failed("the gateway is stopping");
      break;
    }
    const DahuaRequest req = *next;
    HttpResult h = co_await client_.send(req.method, req.target, req.content_type, req.body,
                                         kCommandBodyLimit);
    if (h.auth_failed) {
      run.transport_failed("the device refused the credentials");
    } else if (h.ec) {
      run.transport_failed(h.ec.message());
    } else {
      const DahuaAnswer answer{h.status, std::move(h.body)};
      run.accept(answer);
    }
  }
  if (!run.finished()) {
    run.transport_failed("not finished");
  }
  const CommandOutcome& o = run.outcome();
  CommandQueue& queue = shared_.ctx.commands;
  WriteBatch batch;
  std::vector<CommandRecord> changed;
  switch (o.outcome) {
    case dahua::Outcome::Done: {
      std::vector<CommandQueue::Result> results(1);
      results[0].id = c.id;
      results[0].return_code = 0;
      results[0].return_name = "OK";
      results[0].raw = o.result;
      queue.complete(serial_, results, batch, changed);
      shared_.commands_done.inc();
      shared_.log->info("[device={}] command {} {}: done{}{}", device_.name, c.id, c.verb,
                        o.result.empty() ? "" : ": ", o.result);
      break;
    }
    case dahua::Outcome::Failed:
    case dahua::Outcome::Unsupported:
      queue.fail(serial_, c.id, o.reason, batch, changed);
      (o.outcome == dahua::Outcome::Failed ? shared_.commands_failed : shared_.commands_unsupported)
          .inc();
      shared_.log->warn("[device={}] command {} {} {}: {}", device_.name, c.id, c.verb,
                        o.outcome == dahua::Outcome::Failed ? "refused" : "unsupported", o.reason);
      break;
    case dahua::Outcome::RetryLater:
      // Left sent: the queue offers it again after its ack timeout, up to its attempts.
      shared_.commands_retry.inc();
      shared_.log->info("[device={}] command {} {} not delivered now: {}", device_.name, c.id,
                        c.verb, o.reason);
      co_return;
  }
  if (batch.empty()) {
    co_return;
  }
  CommitResult r = co_await commit(batch);
  if (r.ec) {
    shared_.commit_failures.inc();
    shared_.log->warn("[device={}] command {} result not stored: {}", device_.name, c.id,
                      r.ec.message());
    co_return;
  }
  queue.committed(changed);
}

namespace {

/** The body as text for the quarantine: as received when printable, else hex. */
std::string quarantine_text(const std::string& raw) {
  const bool printable = std::all_of(raw.begin(), raw.end(), [](char ch) {
    const auto c = static_cast<unsigned char>(ch);
    return c >= 0x20 || c == '\n' || c == '\r' || c == '\t';
  });
  if (printable && std::none_of(raw.begin(), raw.end(),
                                [](char ch) { return static_cast<unsigned char>(ch) >= 0x80; })) {
    return raw;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "hex:";
  for (char ch : raw) {
    const auto c = static_cast<unsigned char>(ch);
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

}  // namespace

void DeviceLink::on_push(PushUpload upload, PushDone done) {
  auto self = shared_from_this();
  auto u = std::make_shared<PushUpload>(std::move(upload));
  ++pushes_active_;  // stop() waits for it: the batch is committed or answered first
  net::post(strand_, [self, u, done]() mutable {
    net::co_spawn(
        self->strand_, [self, u, done]() { return self->store_push(u, done); },
        [self, done](std::exception_ptr e) {
          --self->pushes_active_;
          if (e) {
            self->shared_.log->error("[device={}] push upload not stored", self->device_.name);
            done(false);
          }
        });
  });
}

net::awaitable<void> DeviceLink::store_push(std::shared_ptr<PushUpload> u, PushDone done) {
  if (serial_.empty()) {
    shared_.log->warn(
        "[device={}] push upload before the device's serial is known (no login yet): "
        "answered 503, the device sends it again",
        device_.name);
    done(false);
    co_return;
  }
  std::vector<StreamItem> items;
  for (auto& e : u->body.events) {
    StreamItem it;
    if (e.event) {
      it.type = StreamItem::Type::Event;
      it.event = std::move(e.event);
    } else {
      it.error = e.error.empty() ? "event not decodable" : e.error;
    }
    it.raw = std::move(e.raw);
    items.push_back(std::move(it));
  }
  if (items.empty()) {
    // Nothing decodes (and never will): kept raw in the quarantine and taken,
    // or the device would send it again forever.
    StreamItem it;
    std::string why;
    for (const auto& p : u->body.problems) {
      why += (why.empty() ? "" : "; ") + p;
    }
    it.error = "event upload not decodable" + (why.empty() ? std::string() : ": " + why);
    it.raw = quarantine_text(u->raw);
    items.push_back(std::move(it));
  }
  const bool ok = co_await store_live(items, "EventHttpUpload", false);
  done(ok);
}
}  // namespace pushgate::adapters::dahua
