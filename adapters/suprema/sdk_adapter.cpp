#include "adapters/suprema/sdk_adapter.hpp"

#include <algorithm>
#include <charconv>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <utility>

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>
#include <nlohmann/json.hpp>

#include "adapters/suprema/sdk_event.hpp"
#include "adapters/suprema/sdk_loader.hpp"
#include "gateway/adapter_state.hpp"
#include "gateway/command_queue.hpp"
#include "gateway/doors.hpp"
#include "gateway/event_json.hpp"
#include "gateway/logging.hpp"
#include "gateway/terminals.hpp"

namespace pushgate::adapters::suprema::sdk {

namespace {

constexpr const char* kAdapter = "suprema_sdk";
constexpr const char* kStates[] = {"offline", "backfilling", "online"};
constexpr const char* kCommandsMetric = "pushgate_suprema_sdk_commands_total";
constexpr const char* kCommandsHelp =
    "Gateway commands run on Suprema devices through the SDK, by result (retry_later: left "
    "sent, offered again)";
/** Rows one BS2_GetLog answer may hold beyond the page asked for before it is refused. */
constexpr std::uint32_t kMaxRowsPerCall = 100000;

enum class State { Offline = 0, Backfilling = 1, Online = 2 };

/** A socket-level SDK error (BS_SDK_ERROR_CANNOT_OPEN_SOCKET … SOCKET_IN_PROGRESS, TIMEOUT). */
bool transport_error(int rc) {
  return (rc <= -101 && rc >= -110) || rc == -601;
}

}  // namespace

struct Device {
  SdkDeviceConfig cfg;
  bool configured = true;  ///< false: an unknown server-mode device the policy accepted
  DeviceId id = 0;         ///< known after a connect or an accept
  std::string sn;          ///< the device id in decimal
  State state = State::Offline;
  bool connected = false;
  bool need_backfill = false;
  bool commands_ready = false;
  bool cursor_loaded = false;
  EventId cursor = 0;  ///< the highest id whose commit (with the cursor) is under way or done
  std::optional<EventId> rewind;  ///< a failed commit: backfill again from here
  std::chrono::milliseconds backoff{0};
  std::chrono::steady_clock::time_point next_attempt{};
  std::chrono::steady_clock::time_point next_backfill{};
};

struct PendingRelease {
  DeviceId id;
  DoorId door;
  std::chrono::steady_clock::time_point at;
};

struct SdkAdapter::Impl : std::enable_shared_from_this<SdkAdapter::Impl> {
  Impl(AdapterContext& c, SdkConfig cfg)
      : ctx(c),
        config(std::move(cfg)),
        log(logger(kAdapter)),
        stored_events(c.metrics.counter("pushgate_suprema_sdk_events_stored_total",
                                        "Suprema SDK log rows new to the event log")),
        duplicates(c.metrics.counter("pushgate_suprema_sdk_duplicates_total",
                                     "Suprema SDK log rows the event log already had")),
        backfilled(c.metrics.counter("pushgate_suprema_sdk_backfilled_total",
                                     "Suprema SDK log rows read by BS2_GetLog backfills")),
        overflow(c.metrics.counter(
            "pushgate_suprema_sdk_handoff_overflow_total",
            "Live Suprema SDK rows not queued (hand-off full); recovered by a backfill")),
        reconnects(c.metrics.counter("pushgate_suprema_sdk_disconnects_total",
                                     "Suprema SDK device links that ended")),
        connect_failures(c.metrics.counter(
            "pushgate_suprema_sdk_connect_failures_total",
            "Direct connects (BS2_ConnectDeviceViaIP) that failed or reached another device")),
        commit_failures(c.metrics.counter(
            "pushgate_suprema_sdk_commit_failures_total",
            "Suprema SDK batches the store could not commit (read again from the device)")),
        unknown_devices(c.metrics.counter(
            "pushgate_suprema_sdk_unknown_devices_total",
            "Server-mode connections of devices no table names and the policy did not accept")),
        commands_done(c.metrics.counter(kCommandsMetric, kCommandsHelp, {{"result", "done"}})),
        commands_failed(c.metrics.counter(kCommandsMetric, kCommandsHelp, {{"result", "failed"}})),
        commands_unsupported(
            c.metrics.counter(kCommandsMetric, kCommandsHelp, {{"result", "unsupported"}})),
        commands_retry(
            c.metrics.counter(kCommandsMetric, kCommandsHelp, {{"result", "retry_later"}})) {}

  AdapterContext& ctx;
  SdkConfig config;
  std::shared_ptr<spdlog::logger> log;
  metrics::Counter& stored_events;
  metrics::Counter& duplicates;
  metrics::Counter& backfilled;
  metrics::Counter& overflow;
  metrics::Counter& reconnects;
  metrics::Counter& connect_failures;
  metrics::Counter& commit_failures;
  metrics::Counter& unknown_devices;
  metrics::Counter& commands_done;
  metrics::Counter& commands_failed;
  metrics::Counter& commands_unsupported;
  metrics::Counter& commands_retry;

  std::shared_ptr<const SdkApi> api;
  void* context = nullptr;
  std::string disabled;                       // why the path does not run ("" when it does)
  std::map<std::string, std::string> stored;  // adapter_state at start

  // Devices, cursors and the order of appends (mu).
  mutable std::mutex mu;
  std::condition_variable cv;
  std::vector<std::unique_ptr<Device>> devices;
  std::vector<DeviceId> accepted;      // server-mode connects, from the SDK's threads
  std::vector<DeviceId> disconnected;  // links the SDK reported gone
  std::vector<PendingRelease> releases;
  std::set<DeviceId> warned_unknown;  // worker thread only
  std::set<DeviceId> warned_reset;    // under mu
  bool stopping = false;
  bool wake = false;

  // The hand-off from the SDK's threads (hmu).
  std::mutex hmu;
  std::vector<Event> queue;
  bool drain_posted = false;
  std::set<DeviceId> overflowed;

  std::thread worker;
  Subscription pusher;

  // --- SDK callbacks (SDK threads): never block, never call the SDK ---------
  void sdk_log(DeviceId id, const Event& row) {
    bool post = false;
    {
      std::lock_guard lock(hmu);
      if (queue.size() >= config.handoff_queue) {
        overflow.inc();
        overflowed.insert(id);
        post = !drain_posted;
        drain_posted = true;
      } else {
        queue.push_back(row);
        queue.back().device_id = id;  // the device the SDK named, whatever the row says
        post = !drain_posted;
        drain_posted = true;
      }
    }
    if (post) {
      boost::asio::post(ctx.ioc, [self = shared_from_this()] { self->drain(); });
    }
  }
  void sdk_accepted(DeviceId id) {
    std::lock_guard lock(mu);
    accepted.push_back(id);
    wake = true;
    cv.notify_all();
  }
  void sdk_disconnected(DeviceId id) {
    std::lock_guard lock(mu);
    disconnected.push_back(id);
    wake = true;
    cv.notify_all();
  }

  Device* find_by_id_locked(DeviceId id) {
    for (auto& d : devices) {
      if (d->connected && d->id == id) {
        return d.get();
      }
    }
    return nullptr;
  }

  void wake_worker_locked() {
    wake = true;
    cv.notify_all();
  }

  std::string cursor_key(const std::string& sn) const { return "cursor/" + sn; }

  // --- live rows (gateway io_context) ---------------------------------------
  void drain() {
    std::vector<Event> rows;
    std::set<DeviceId> lost;
    {
      std::lock_guard lock(hmu);
      rows.swap(queue);
      lost.swap(overflowed);
      drain_posted = false;
    }
    std::lock_guard lock(mu);
    if (stopping) {
      return;
    }
    for (auto id : lost) {
      if (auto* d = find_by_id_locked(id)) {
        d->need_backfill = true;
      }
    }
    std::map<DeviceId, std::vector<Event>> by_device;
    for (const auto& r : rows) {
      by_device[r.device_id].push_back(r);
    }
    for (auto& [id, list] : by_device) {
      Device* d = find_by_id_locked(id);
      if (d == nullptr) {
        continue;  // not accepted (or gone): its log is read by the next backfill
      }
      std::sort(list.begin(), list.end(),
                [](const Event& a, const Event& b) { return a.id < b.id; });
      list.erase(std::unique(list.begin(), list.end(),
                             [](const Event& a, const Event& b) { return a.id == b.id; }),
                 list.end());
      if (d->state == State::Online && !list.empty() && list.back().id < d->cursor &&
          warned_reset.insert(id).second) {
        // Ids below the cursor while online: the device's log was cleared or reset and its ids
        // start again. Such rows share keys with rows already stored (README, open questions).
        log->warn(
            "[device={}] live log id {} is below the stored cursor {}: was the device's "
            "log cleared? rows with ids at or below the cursor are taken as stored",
            d->cfg.name, list.back().id, d->cursor);
      }
      std::erase_if(list, [&](const Event& e) { return e.id <= d->cursor; });
      if (list.empty()) {
        continue;
      }
      EventId next = d->cursor;
      bool gap = false;
      if (d->state == State::Online) {
        for (const auto& e : list) {
          if (e.id == next + 1) {
            next = e.id;
          } else {
            gap = true;  // rows missed (hand-off full, a cut): the backfill reads them
            break;
          }
        }
      }
      if (gap) {
        d->need_backfill = true;
        wake_worker_locked();
      }
      append_locked(*d, list, next, "live", nullptr);
    }
    if (!lost.empty()) {
      wake_worker_locked();
    }
  }

  /**
   * Maps `rows` and appends them with the cursor at `cursor` (unchanged when
   * not above the device's). Under mu, so cursors reach the writer in order.
   */
  void append_locked(Device& d, const std::vector<Event>& rows, EventId cursor, const char* source,
                     std::promise<CommitResult>* done_promise) {
    WriteBatch batch;
    const auto now = ctx.clock.now_ms();
    const Zone zone = ctx.terminals.zone_for(d.sn);
    const MapContext mc{d.sn, &zone, now, source};
    batch.events.reserve(rows.size());
    for (const auto& r : rows) {
      batch.events.push_back(map_event(r, mc));
      report_door(d.sn, r, now, batch);
    }
    const EventId first = rows.front().id;
    if (cursor > d.cursor || done_promise != nullptr) {
      if (ctx.adapter_state != nullptr) {
        batch.ops.push_back(
            ctx.adapter_state->put(kAdapter, cursor_key(d.sn), std::to_string(cursor)));
      }
      d.cursor = cursor;
    }
    auto self = shared_from_this();
    const DeviceId id = d.id;
    ctx.events->append(std::move(batch), [self, id, first, done_promise](CommitResult r) {
      if (r.ec) {
        self->commit_failures.inc();
        std::lock_guard lock(self->mu);
        if (auto* dev = self->find_by_id_locked(id)) {
          dev->rewind = std::min(dev->rewind.value_or(first - 1), first - 1);
          dev->need_backfill = true;
          self->wake_worker_locked();
        }
      } else {
        self->stored_events.inc(r.inserted);
        self->duplicates.inc(r.duplicates);
      }
      if (done_promise != nullptr) {
        done_promise->set_value(std::move(r));
      }
    });
  }

  /**
   * Door events move the gateway's door board in the same batch: opened /
   * closed → sensor; forced open and held open (and their alarms) set, their
   * "alarm clear" codes clear, the matching alarm bit. BS2_EVENT_DOOR_* codes.
   */
  void report_door(const std::string& sn, const Event& r, std::int64_t now, WriteBatch& batch) {
    const unsigned main = r.code >> 8;
    if (main < 0x52 || main > 0x59) {
      return;
    }
    std::uint32_t door = 0;
    std::memcpy(&door, r.payload, sizeof door);
    if (door < 1 || door > 255) {
      return;
    }
    constexpr auto kForced = static_cast<std::uint8_t>(DoorAlarm::AccidentalOpen);
    constexpr auto kHeld = static_cast<std::uint8_t>(DoorAlarm::SensorTimeout);
    std::uint8_t alarms = 0;
    if (auto known = ctx.doors.get(sn, static_cast<int>(door)); known && known->state.alarms) {
      alarms = *known->state.alarms;
    }
    DoorState update;
    switch (main) {
      case 0x52:  // DOOR_OPENED
        update.sensor = DoorSensor::Open;
        break;
      case 0x53:  // DOOR_CLOSED
        update.sensor = DoorSensor::Closed;
        update.alarms = static_cast<std::uint8_t>(alarms & ~kHeld);
        break;
      case 0x54:  // DOOR_FORCED_OPEN
      case 0x56:  // DOOR_FORCED_OPEN_ALARM
        update.sensor = DoorSensor::Open;
        update.alarms = static_cast<std::uint8_t>(alarms | kForced);
        break;
      case 0x57:  // DOOR_FORCED_OPEN_ALARM_CLEAR
        update.alarms = static_cast<std::uint8_t>(alarms & ~kForced);
        break;
      case 0x55:  // DOOR_HELD_OPEN
      case 0x58:  // DOOR_HELD_OPEN_ALARM
        update.sensor = DoorSensor::Open;
        update.alarms = static_cast<std::uint8_t>(alarms | kHeld);
        break;
      case 0x59:  // DOOR_HELD_OPEN_ALARM_CLEAR
        update.alarms = static_cast<std::uint8_t>(alarms & ~kHeld);
        break;
      default:
        return;
    }
    ctx.doors.report(sn, static_cast<int>(door), update, now, batch);
  }

  // --- state ----------------------------------------------------------------
  void set_state(Device& d, State state, const std::string& reason) {
    {
      std::lock_guard lock(mu);
      if (d.state == state && reason.empty()) {
        return;
      }
      d.state = state;
    }
    const auto name = std::string(kStates[static_cast<int>(state)]);
    if (state == State::Offline) {
      log->warn("[device={}] offline: {}", d.cfg.name, reason);
    } else {
      log->info("[device={}] {}{}{}", d.cfg.name, name, reason.empty() ? "" : ": ", reason);
    }
    ctx.health.set(Health::Kind::Ready, std::string(kAdapter) + "." + d.cfg.name, true);
    if (d.sn.empty()) {
      return;
    }
    const auto now = ctx.clock.now_ms();
    nlohmann::json info = {{"device", d.cfg.name},
                           {"host", d.cfg.host},
                           {"mode", d.cfg.server_mode() ? "server" : "direct"},
                           {"device_id", d.id},
                           {"status", name},
                           {"status_since", format_utc_iso8601(now)},
                           {"status_reason", reason}};
    auto record = ctx.terminals.update(d.sn, [&](TerminalRecord& r) {
      r.vendor = "suprema";
      r.protocol = "suprema-sdk";
      if (!d.cfg.host.empty()) {
        r.ip = d.cfg.host;
      }
      r.capabilities.doors = std::max(r.capabilities.doors, 1);
      r.capabilities.decision = DecisionMode::Local;
      r.capabilities.commands = CommandDelivery::Push;
      // What user_command executes for the master-data sync: users with
      // their CSN card and PIN (BS2_EnrolUser, BS2_RemoveUser). No door
      // rights (access groups), time zones, templates, photos or `batch`.
      // See README.md, "Master-data sync".
      r.capabilities.user_sync = true;
      r.capabilities.sync_writes =
          sync_bit(SyncWrite::Users) | sync_bit(SyncWrite::Cards) | sync_bit(SyncWrite::Passwords);
      if (r.first_seen_ms == 0) {
        r.first_seen_ms = now;
      }
      if (state != State::Offline) {
        r.last_seen_ms = now;
      }
      r.info_json = dump_json(info);
    });
    if (ctx.events != nullptr) {
      WriteBatch b;
      b.ops.push_back(TerminalRegistry::persist_op(record));
      ctx.events->append(std::move(b), [](CommitResult) {});  // status only: best effort
    }
  }

  // --- the worker thread: every blocking SDK call ---------------------------
  void run() {
    std::unique_lock lock(mu);
    while (!stopping) {
      const auto now = std::chrono::steady_clock::now();
      auto acc = std::exchange(accepted, {});
      auto gone = std::exchange(disconnected, {});
      lock.unlock();
      for (auto id : gone) {
        on_disconnected(id);
      }
      for (auto id : acc) {
        on_accepted(id);
      }
      for (auto& d : devices) {
        if (stopped()) {
          break;
        }
        bool try_connect = false;
        bool try_backfill = false;
        bool try_commands = false;
        {
          std::lock_guard g(mu);
          try_connect = !d->connected && !d->cfg.server_mode() && now >= d->next_attempt;
          try_backfill = d->connected && d->need_backfill && now >= d->next_backfill;
          try_commands = d->connected && d->commands_ready;
        }
        if (try_connect) {
          connect(*d);
        }
        if (try_backfill) {
          backfill(*d);
        }
        if (try_commands) {
          run_commands(*d);
        }
      }
      run_releases();
      lock.lock();
      if (!wake && !stopping) {
        cv.wait_for(lock, std::chrono::milliseconds(50), [this] { return wake || stopping; });
      }
      wake = false;
    }
  }

  bool stopped() {
    std::lock_guard g(mu);
    return stopping;
  }

  void connect(Device& d) {
    DeviceId id = 0;
    const int rc = api->connect_device_via_ip(context, d.cfg.host.c_str(), d.cfg.port, &id);
    if (rc != kSuccess) {
      connect_failures.inc();
      {
        std::lock_guard g(mu);
        d.backoff = d.backoff.count() == 0 ? config.reconnect_min
                                           : std::min(config.reconnect_max, d.backoff * 2);
        d.next_attempt = std::chrono::steady_clock::now() + d.backoff;
      }
      set_state(d, State::Offline,
                "BS2_ConnectDeviceViaIP " + d.cfg.host + ":" + std::to_string(d.cfg.port) +
                    " returned " + std::to_string(rc));
      return;
    }
    if (d.cfg.device_id != 0 && id != d.cfg.device_id) {
      connect_failures.inc();
      api->disconnect_device(context, id);
      {
        std::lock_guard g(mu);
        d.backoff = config.reconnect_max;
        d.next_attempt = std::chrono::steady_clock::now() + d.backoff;
      }
      set_state(d, State::Offline,
                "device id " + std::to_string(id) + " answered at " + d.cfg.host +
                    ", suprema_sdk.devices." + d.cfg.name + ".device_id is " +
                    std::to_string(d.cfg.device_id));
      return;
    }
    connected(d, id);
  }

  /** A link is up: terminal, cursor, live monitoring, then a backfill. */
  void connected(Device& d, DeviceId id) {
    {
      std::lock_guard g(mu);
      d.id = id;
      d.sn = std::to_string(id);
      d.connected = true;
      d.backoff = std::chrono::milliseconds(0);
      d.need_backfill = true;
      d.next_backfill = {};
      if (!d.cursor_loaded) {
        d.cursor_loaded = true;
        if (auto it = stored.find(cursor_key(d.sn)); it != stored.end()) {
          try {
            d.cursor = static_cast<EventId>(std::stoul(it->second));
          } catch (const std::exception&) {
            log->warn("[device={}] stored cursor \"{}\" unreadable: backfilling the whole log",
                      d.cfg.name, it->second);
          }
        }
      }
    }
    const int rc = api->start_monitoring_log(context, id, &on_log_cb);
    if (rc != kSuccess) {
      log->warn("[device={}] BS2_StartMonitoringLog returned {}: events arrive by backfill only",
                d.cfg.name, rc);
    }
    set_state(d, State::Backfilling, "connected, device id " + d.sn);
    const bool has = ctx.commands.has_deliverable(d.sn);
    std::lock_guard g(mu);
    d.commands_ready = d.commands_ready || has;
  }

  void on_disconnected(DeviceId id) {
    Device* d = nullptr;
    {
      std::lock_guard g(mu);
      d = find_by_id_locked(id);
      if (d == nullptr) {
        return;
      }
      d->connected = false;
      d->backoff = config.reconnect_min;
      d->next_attempt = std::chrono::steady_clock::now() + d->backoff;
    }
    reconnects.inc();
    set_state(*d, State::Offline, "the SDK reported the link gone");
  }

  void on_accepted(DeviceId id) {
    Device* d = nullptr;
    {
      std::lock_guard g(mu);
      for (auto& dev : devices) {
        if (dev->cfg.server_mode() && dev->cfg.device_id == id) {
          d = dev.get();
        }
      }
    }
    if (d == nullptr) {
      const auto sn = std::to_string(id);
      bool persist = false;
      TerminalRegistry::NotAdmitted why = TerminalRegistry::NotAdmitted::No;
      auto record = ctx.terminals.seen(sn, "", ctx.clock.now_ms(), persist, &why);
      if (persist && ctx.events != nullptr) {
        WriteBatch b;
        b.ops.push_back(TerminalRegistry::persist_op(record));
        ctx.events->append(std::move(b), [](CommitResult) {});
      }
      if (record.state != "accepted") {
        unknown_devices.inc();
        if (!warned_unknown.insert(id).second) {
          api->disconnect_device(context, id);  // logged once per device; counted every time
          return;
        }
        log->warn(
            "server-mode device {} is not in [suprema_sdk.devices] and is {}: disconnected "
            "(approve it, or add a table with device_id = {})",
            id, record.state, id);
        api->disconnect_device(context, id);
        return;
      }
      auto dev = std::make_unique<Device>();
      dev->cfg.name = "id-" + sn;
      dev->cfg.device_id = id;
      dev->configured = false;
      std::lock_guard g(mu);
      for (auto& existing : devices) {
        if (existing->cfg.device_id == id) {
          d = existing.get();
        }
      }
      if (d == nullptr) {
        devices.push_back(std::move(dev));
        d = devices.back().get();
      }
    }
    connected(*d, id);
  }

  void backfill(Device& d) {
    EventId from = 0;
    {
      std::lock_guard g(mu);
      d.need_backfill = false;
      from = d.cursor;
      if (d.rewind) {
        from = std::min(from, *d.rewind);
        d.rewind.reset();
      }
    }
    set_state(d, State::Backfilling, "");
    std::size_t total = 0;
    while (!stopped()) {
      Event* logs = nullptr;
      std::uint32_t n = 0;
      const int rc = api->get_log(context, d.id, from + 1, config.page_size, &logs, &n);
      std::vector<Event> rows;
      if (rc == kSuccess && logs != nullptr && n <= kMaxRowsPerCall) {
        rows.assign(logs, logs + n);
      }
      if (logs != nullptr) {
        api->release_object(logs);
      }
      if (rc != kSuccess || n > kMaxRowsPerCall) {
        log->warn("[device={}] BS2_GetLog from id {} returned {}{}: backfill again later",
                  d.cfg.name, from + 1, rc, n > kMaxRowsPerCall ? " (too many rows)" : "");
        std::lock_guard g(mu);
        d.need_backfill = true;
        d.rewind = std::min(d.rewind.value_or(from), from);
        d.next_backfill = std::chrono::steady_clock::now() + config.reconnect_min;
        return;
      }
      std::sort(rows.begin(), rows.end(),
                [](const Event& a, const Event& b) { return a.id < b.id; });
      std::erase_if(rows, [&](const Event& e) { return e.id <= from; });
      rows.erase(std::unique(rows.begin(), rows.end(),
                             [](const Event& a, const Event& b) { return a.id == b.id; }),
                 rows.end());
      if (rows.empty()) {
        break;
      }
      for (auto& r : rows) {
        r.device_id = d.id;
      }
      std::promise<CommitResult> promise;
      auto future = promise.get_future();
      {
        std::lock_guard g(mu);
        append_locked(d, rows, rows.back().id, "backfill", &promise);
      }
      const CommitResult r = future.get();  // the writer always answers
      if (r.ec) {
        log->warn("[device={}] backfill page not stored: {}", d.cfg.name, r.ec.message());
        std::lock_guard g(mu);
        d.next_backfill = std::chrono::steady_clock::now() + config.reconnect_min;
        return;  // the commit callback asked for a backfill from the failed page
      }
      backfilled.inc(r.inserted);
      total += r.inserted;
      from = rows.back().id;
      if (n < config.page_size) {
        break;
      }
    }
    if (total > 0) {
      log->info("[device={}] backfilled {} log rows (cursor {})", d.cfg.name, total, from);
    }
    bool still = false;
    {
      std::lock_guard g(mu);
      still = d.connected;
    }
    if (still && !stopped()) {
      set_state(d, State::Online, "");
    }
  }

  // --- commands -------------------------------------------------------------
  CommitResult commit(WriteBatch& batch) {
    std::promise<CommitResult> p;
    auto f = p.get_future();
    ctx.events->append(std::move(batch), [&p](CommitResult r) { p.set_value(std::move(r)); });
    return f.get();
  }

  void run_commands(Device& d) {
    {
      std::lock_guard g(mu);
      d.commands_ready = false;
    }
    WriteBatch batch;
    std::vector<CommandRecord> changed;
    auto commands = ctx.commands.take(d.sn, batch, changed);
    if (commands.empty()) {
      return;
    }
    if (!batch.empty()) {
      auto r = commit(batch);
      if (r.ec) {
        commit_failures.inc();
        return;  // left queued/sent: offered again
      }
    }
    ctx.commands.committed(changed);
    for (const auto& c : commands) {
      run_command(d, c);
    }
  }

  /** What one command did on the device. */
  struct CallResult {
    bool supported = true;
    int rc = kSuccess;
    std::string called;   ///< the SDK function(s) called, for the result and the log
    std::string refusal;  ///< refused before any call (bad parameter)
    std::optional<int> release_after_s;
    DoorId door = 0;
    std::string raw;                    ///< the command's result ("" : `called`)
    std::optional<DoorState> reported;  ///< door_status: the door's state for the DoorService
  };

  CallResult door_status(Device& d, DoorId door) {
    CallResult out;
    out.door = door;
    DoorId ids[1] = {door};
    DoorStatus* statuses = nullptr;
    std::uint32_t n = 0;
    out.rc = api->get_door_status(context, d.id, ids, 1, &statuses, &n);
    out.called = "BS2_GetDoorStatus door " + std::to_string(door);
    if (out.rc == kSuccess) {
      const DoorStatus* st = nullptr;
      for (std::uint32_t i = 0; statuses != nullptr && i < n && i < 256; ++i) {
        if (statuses[i].id == door) {
          st = &statuses[i];
        }
      }
      if (st == nullptr) {
        out.rc = -1000;  // BS_SDK_ERROR_CANNOT_FIND_DOOR: the answer did not hold the door
      } else {
        nlohmann::json j = {{"door", door},
                            {"opened", st->opened != 0},
                            {"unlocked", st->unlocked != 0},
                            {"held_open", st->held_opened != 0},
                            {"unlock_flags", st->unlock_flags},
                            {"lock_flags", st->lock_flags},
                            {"alarm_flags", st->alarm_flags},
                            {"last_open_time", st->last_open_time}};
        out.raw = dump_json(j);
        DoorState state;
        state.sensor = st->opened != 0 ? DoorSensor::Open : DoorSensor::Closed;
        std::uint8_t alarms = 0;
        if ((st->alarm_flags & 0x01) != 0) {
          alarms |= static_cast<std::uint8_t>(DoorAlarm::AccidentalOpen);
        }
        if ((st->alarm_flags & 0x02) != 0 || st->held_opened != 0) {
          alarms |= static_cast<std::uint8_t>(DoorAlarm::SensorTimeout);
        }
        state.alarms = alarms;
        out.reported = state;
      }
    }
    if (statuses != nullptr) {
      api->release_object(statuses);
    }
    return out;
  }

  CallResult door_command(Device& d, const CommandRecord& c) {
    CallResult out;
    out.door = 1;
    if (auto it = c.params.find("door"); it != c.params.end() && it->is_number_integer()) {
      out.door = static_cast<DoorId>(it->get<std::int64_t>());
    }
    std::pair<FnDoorAction, const char*> call{nullptr, ""};
    if (c.verb == "door_status") {
      return door_status(d, out.door);
    }
    if (c.verb == "open_door") {
      call = {api->unlock_door, "BS2_UnlockDoor"};
      out.release_after_s = 3;
      if (auto it = c.params.find("seconds"); it != c.params.end() && it->is_number_integer()) {
        out.release_after_s = static_cast<int>(it->get<std::int64_t>());
      }
    } else if (c.verb == "close_door") {
      call = {api->release_door, "BS2_ReleaseDoor"};
    } else if (c.verb == "lock_door") {
      call = c.params.value("locked", true) ? std::make_pair(api->lock_door, "BS2_LockDoor")
                                            : std::make_pair(api->release_door, "BS2_ReleaseDoor");
    } else if (c.verb == "normal_open") {
      call = c.params.value("on", true) ? std::make_pair(api->unlock_door, "BS2_UnlockDoor")
                                        : std::make_pair(api->release_door, "BS2_ReleaseDoor");
    } else {
      out.supported = false;
      return out;
    }
    DoorId ids[1] = {out.door};
    out.rc = call.first(context, d.id, kDoorFlagOperator, ids, 1);
    out.called = std::string(call.second) + " door " + std::to_string(out.door);
    return out;
  }

  CallResult user_command(Device& d, const CommandRecord& c) {
    CallResult out;
    const std::string pin = c.params.value("pin", "");
    if (pin.empty() || pin.size() >= kUserIdSize) {
      out.refusal = "pin \"" + pin.substr(0, 64) + "\": a Suprema user id is 1..31 bytes";
      return out;
    }
    if (c.verb == "delete_user") {
      char ids[kUserIdSize] = {};
      std::memcpy(ids, pin.data(), pin.size());
      out.rc = api->remove_user(context, d.id, ids, 1);
      out.called = "BS2_RemoveUser " + pin;
      return out;
    }
    auto blob = std::make_unique<UserBlob>();  // 16 KiB: not on the stack
    std::memset(blob.get(), 0, sizeof(UserBlob));
    std::memcpy(blob->user.user_id, pin.data(), pin.size());
    std::string name = c.params.value("name", "");
    std::size_t n = std::min(name.size(), kUserNameSize - 1);
    while (n > 0 && n < name.size() && (static_cast<unsigned char>(name[n]) & 0xC0) == 0x80) {
      --n;  // never cut a UTF-8 sequence
    }
    std::memcpy(blob->user_name, name.data(), n);
    blob->setting.start_time = 978307200;  // 2001-01-01: valid from always
    blob->setting.end_time = 1924991999;   // 2030-12-31 23:59:59, the SDK's latest
    blob->setting.finger_auth_mode = kAuthModeNone;
    blob->setting.card_auth_mode = kAuthModeNone;
    blob->setting.id_auth_mode = kAuthModeNone;
    // The card: one CSN card, its number big-endian at the end of the data.
    CsnCard card{};
    const std::string number = c.params.value("card", "");
    if (!number.empty()) {
      std::uint64_t value = 0;
      const auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
      if (ec != std::errc() || end != number.data() + number.size()) {
        out.refusal = "card \"" + number.substr(0, 64) +
                      "\": a Suprema CSN card number is decimal digits below 2^64";
        return out;
      }
      card.type = kCardTypeCsn;
      card.size = static_cast<std::uint8_t>(kCardDataSize);
      for (std::size_t i = 0; i < 8; ++i) {
        card.data[kCardDataSize - 1 - i] = static_cast<std::uint8_t>(value >> (8 * i));
      }
      blob->user.num_cards = 1;
      blob->card_objs = &card;
    }
    // The PIN: in the form the device stores (BS2_MakePinCode).
    const std::string password = c.params.value("password", "");
    if (!password.empty()) {
      if (password.size() > kMaxPinLength ||
          !std::all_of(password.begin(), password.end(),
                       [](char ch) { return ch >= '0' && ch <= '9'; })) {
        out.refusal = "password: a Suprema PIN is 1.." + std::to_string(kMaxPinLength) + " digits";
        return out;
      }
      char plain[kMaxPinLength + 1] = {};
      std::memcpy(plain, password.data(), password.size());
      out.rc = api->make_pin_code(context, plain, blob->pin);
      if (out.rc != kSuccess) {
        out.called = "BS2_MakePinCode for " + pin;
        return out;
      }
    }
    out.rc = api->enrol_user(context, d.id, blob.get(), 1, 1);
    out.called = "BS2_EnrolUser " + pin + (number.empty() ? "" : " card " + number) +
                 (password.empty() ? "" : " with PIN");
    return out;
  }

  void run_command(Device& d, const CommandRecord& c) {
    CallResult r = c.verb == "upsert_user" || c.verb == "delete_user" ? user_command(d, c)
                                                                      : door_command(d, c);
    WriteBatch batch;
    std::vector<CommandRecord> changed;
    if (!r.supported) {
      ctx.commands.fail(d.sn, c.id, "the Suprema device-SDK path has no " + c.verb, batch, changed);
      commands_unsupported.inc();
      log->warn("[device={}] command {} {}: unsupported", d.cfg.name, c.id, c.verb);
    } else if (!r.refusal.empty()) {
      ctx.commands.fail(d.sn, c.id, r.refusal, batch, changed);
      commands_failed.inc();
      log->warn("[device={}] command {} {} refused: {}", d.cfg.name, c.id, c.verb, r.refusal);
    } else if (r.rc == kSuccess) {
      std::vector<CommandQueue::Result> results(1);
      results[0].id = c.id;
      results[0].return_code = 0;
      results[0].return_name = "OK";
      results[0].raw = r.raw.empty() ? r.called : r.raw;
      ctx.commands.complete(d.sn, results, batch, changed);
      if (r.reported) {
        ctx.doors.report(d.sn, static_cast<int>(r.door), *r.reported, ctx.clock.now_ms(), batch);
      }
      commands_done.inc();
      log->info("[device={}] command {} {}: done ({})", d.cfg.name, c.id, c.verb, r.called);
      if (r.release_after_s) {
        std::lock_guard g(mu);
        releases.push_back(
            {d.id, r.door,
             std::chrono::steady_clock::now() + std::chrono::seconds(*r.release_after_s)});
      }
    } else if (transport_error(r.rc)) {
      commands_retry.inc();  // left sent: offered again after its ack timeout
      log->info("[device={}] command {} {} not delivered now: {} returned {}", d.cfg.name, c.id,
                c.verb, r.called, r.rc);
      return;
    } else {
      ctx.commands.fail(d.sn, c.id, r.called + " returned " + std::to_string(r.rc), batch, changed);
      commands_failed.inc();
      log->warn("[device={}] command {} {} refused: {} returned {}", d.cfg.name, c.id, c.verb,
                r.called, r.rc);
    }
    if (batch.empty()) {
      return;
    }
    auto res = commit(batch);
    if (res.ec) {
      commit_failures.inc();
      return;
    }
    ctx.commands.committed(changed);
  }

  /** open_door's unlock ends with BS2_ReleaseDoor after its seconds (the door relocks). */
  void run_releases() {
    std::vector<PendingRelease> due;
    {
      std::lock_guard g(mu);
      const auto now = std::chrono::steady_clock::now();
      for (auto it = releases.begin(); it != releases.end();) {
        if (it->at <= now) {
          due.push_back(*it);
          it = releases.erase(it);
        } else {
          ++it;
        }
      }
    }
    for (auto& r : due) {
      DoorId ids[1] = {r.door};
      const int rc = api->release_door(context, r.id, kDoorFlagOperator, ids, 1);
      if (rc != kSuccess) {
        log->warn("device {}: BS2_ReleaseDoor after open_door returned {}", r.id, rc);
      }
    }
  }

  // --- C callbacks: the SDK gives no user data, so one adapter is active ----
  static std::mutex g_mu;
  static Impl* g_active;

  static void on_log_cb(DeviceId id, const Event* row) {
    std::lock_guard lock(g_mu);
    if (g_active != nullptr && row != nullptr) {
      g_active->sdk_log(id, *row);
    }
  }
  static void on_accepted_cb(DeviceId id) {
    std::lock_guard lock(g_mu);
    if (g_active != nullptr) {
      g_active->sdk_accepted(id);
    }
  }
  static void on_connected_cb(DeviceId) {}  // ConnectDeviceViaIP's own answer says it
  static void on_disconnected_cb(DeviceId id) {
    std::lock_guard lock(g_mu);
    if (g_active != nullptr) {
      g_active->sdk_disconnected(id);
    }
  }
};

std::mutex SdkAdapter::Impl::g_mu;
SdkAdapter::Impl* SdkAdapter::Impl::g_active = nullptr;

SdkAdapter::SdkAdapter(AdapterContext& ctx, SdkConfig config)
    : impl_(std::make_shared<Impl>(ctx, std::move(config))) {}

SdkAdapter::~SdkAdapter() = default;

std::vector<config::ConfigError> SdkAdapter::validate_config(const config::Config& config) {
  return SdkConfig::validate(config);
}

std::unique_ptr<Adapter> SdkAdapter::create(AdapterContext& ctx) {
  auto config = SdkConfig::from(ctx.config);
  if (!config.enabled) {
    return nullptr;
  }
  return std::make_unique<SdkAdapter>(ctx, std::move(config));
}

boost::system::error_code SdkAdapter::start() {
  auto& im = *impl_;
  auto& ctx = im.ctx;
  if (auto errors = SdkConfig::validate(ctx.config); !errors.empty()) {
    start_error_ = errors.front().key + ": " + errors.front().reason;
    return boost::system::errc::make_error_code(boost::system::errc::invalid_argument);
  }
  if (ctx.events == nullptr) {
    start_error_ = "suprema_sdk: the event log is not available";
    return boost::system::errc::make_error_code(boost::system::errc::invalid_argument);
  }
  std::weak_ptr<Impl> weak = impl_;
  ctx.metrics.callback_gauge(
      "pushgate_suprema_sdk_library_loaded",
      "1 when Suprema's device SDK library is loaded and its context runs, else 0", [weak] {
        auto s = weak.lock();
        return s && s->context != nullptr ? 1.0 : 0.0;
      });
  for (std::size_t st = 0; st < std::size(kStates); ++st) {
    ctx.metrics.callback_gauge("pushgate_suprema_sdk_devices", "Suprema SDK devices by link state",
                               [weak, st] {
                                 auto s = weak.lock();
                                 if (!s) {
                                   return 0.0;
                                 }
                                 std::lock_guard g(s->mu);
                                 double n = 0;
                                 for (const auto& d : s->devices) {
                                   n += static_cast<std::size_t>(d->state) == st ? 1 : 0;
                                 }
                                 return n;
                               },
                               {{"state", kStates[st]}});
  }
  auto disable = [&](std::string why) {
    im.disabled = std::move(why);
    im.log->error("Suprema device-SDK path disabled: {}", im.disabled);
    ctx.health.set(Health::Kind::Ready, kAdapter, false, im.disabled);
    // The configured devices say why they stay offline (REST info.status_reason).
    for (const auto& dc : im.config.devices) {
      auto d = std::make_unique<Device>();
      d->cfg = dc;
      if (dc.device_id != 0) {
        d->id = dc.device_id;
        d->sn = std::to_string(dc.device_id);
      }
      Device& dev = *d;
      im.devices.push_back(std::move(d));
      im.set_state(dev, State::Offline, "the Suprema device-SDK path is disabled: " + im.disabled);
    }
    return boost::system::error_code();  // the rest of the gateway runs
  };
  auto load = load_sdk(im.config.library);
  if (!load.api) {
    return disable(load.error);
  }
  im.api = load.api;
  {
    std::lock_guard lock(Impl::g_mu);
    if (Impl::g_active != nullptr) {
      im.api.reset();
      return disable(
          "another suprema_sdk adapter runs in this process (the SDK's callbacks "
          "carry no context)");
    }
  }
  if (ctx.adapter_state != nullptr) {
    boost::system::error_code ec;
    for (auto& [k, v] : ctx.adapter_state->load(kAdapter, ec)) {
      im.stored.emplace(std::move(k), std::move(v));
    }
    if (ec) {
      start_error_ = "suprema_sdk: cannot read the stored cursors: " + ec.message();
      return ec;
    }
  }
  im.context = im.api->allocate_context();
  if (im.context == nullptr) {
    return disable("BS2_AllocateContext of " + im.config.library + " returned no context");
  }
  if (int rc = im.api->initialize(im.context); rc != kSuccess) {
    im.api->release_context(im.context);
    im.context = nullptr;
    return disable("BS2_Initialize of " + im.config.library + " returned " + std::to_string(rc));
  }
  {
    std::lock_guard lock(Impl::g_mu);
    Impl::g_active = &im;
  }
  im.api->set_device_event_listener(im.context, nullptr, &Impl::on_accepted_cb,
                                    &Impl::on_connected_cb, &Impl::on_disconnected_cb);
  if (im.config.server_port != 0) {
    if (int rc = im.api->set_server_port(im.context, im.config.server_port); rc != kSuccess) {
      im.log->error("BS2_SetServerPort {} returned {}: devices cannot dial in",
                    im.config.server_port, rc);
      ctx.health.set(Health::Kind::Ready, std::string(kAdapter) + ".server_port", false,
                     "BS2_SetServerPort " + std::to_string(im.config.server_port) + " returned " +
                         std::to_string(rc));
    }
  }
  ctx.health.set(Health::Kind::Ready, kAdapter, true);
  const char* version = im.api->version();
  im.log->info("Suprema device SDK {} loaded from {}; {} device(s){}",
               version != nullptr ? version : "?", im.config.library, im.config.devices.size(),
               im.config.server_port != 0
                   ? ", server mode on port " + std::to_string(im.config.server_port)
                   : std::string());
  for (const auto& dc : im.config.devices) {
    auto d = std::make_unique<Device>();
    d->cfg = dc;
    if (dc.device_id != 0) {  // known before the first connect: status and commands wait for it
      d->id = dc.device_id;
      d->sn = std::to_string(dc.device_id);
    }
    Device& dev = *d;
    im.devices.push_back(std::move(d));
    im.set_state(dev, State::Offline, "not connected yet");
  }
  CommandQueue::Pusher pusher;
  pusher.owns = [weak](std::string_view sn) {
    auto s = weak.lock();
    if (!s || sn.empty()) {
      return false;
    }
    std::lock_guard g(s->mu);
    for (const auto& d : s->devices) {
      if (d->sn == sn) {
        return true;
      }
    }
    return false;
  };
  pusher.ready = [weak](const std::string& sn) {
    auto s = weak.lock();
    if (!s) {
      return;
    }
    std::lock_guard g(s->mu);
    for (auto& d : s->devices) {
      if (d->sn == sn) {
        d->commands_ready = true;
        s->wake_worker_locked();
      }
    }
  };
  im.pusher = ctx.commands.add_pusher(std::move(pusher));
  im.worker = std::thread([s = impl_] { s->run(); });
  return {};
}

void SdkAdapter::stop(std::chrono::milliseconds deadline) {
  (void)deadline;  // the worker ends after its current SDK call and commit
  auto& im = *impl_;
  im.pusher.reset();
  {
    std::lock_guard g(im.mu);
    im.stopping = true;
    im.cv.notify_all();
  }
  if (im.worker.joinable()) {
    im.worker.join();
  }
  {
    std::lock_guard lock(Impl::g_mu);
    if (Impl::g_active == &im) {
      Impl::g_active = nullptr;  // callbacks in progress have returned
    }
  }
  if (im.context != nullptr) {
    for (auto& d : im.devices) {
      if (d->connected) {
        im.api->stop_monitoring_log(im.context, d->id);
        im.api->disconnect_device(im.context, d->id);
      }
    }
    im.api->release_context(im.context);
    im.context = nullptr;
  }
}

std::string SdkAdapter::disabled_reason() const {
  return impl_->disabled;
}

std::string SdkAdapter::state_of(const std::string& device) const {
  std::lock_guard g(impl_->mu);
  for (const auto& d : impl_->devices) {
    if (d->cfg.name == device) {
      return kStates[static_cast<int>(d->state)];
    }
  }
  return "offline";
}

}  // namespace pushgate::adapters::suprema::sdk
