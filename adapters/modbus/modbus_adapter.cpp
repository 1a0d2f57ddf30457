#include "adapters/modbus/modbus_adapter.hpp"

#include <algorithm>
#include <array>

#include <boost/asio/post.hpp>
#include <nlohmann/json.hpp>

#include "gateway/adapter_state.hpp"
#include "gateway/audit.hpp"
#include "gateway/command_queue.hpp"
#include "gateway/device_text.hpp"
#include "gateway/doors.hpp"
#include "gateway/event.hpp"
#include "gateway/logging.hpp"
#include "gateway/outputs.hpp"
#include "gateway/status.hpp"
#include "gateway/terminal_link.hpp"
#include "gateway/terminals.hpp"

namespace pushgate::adapters::modbus {

namespace {

std::uint16_t contact_value(DoorSensor sensor) {
  switch (sensor) {
    case DoorSensor::Closed:
      return 0;
    case DoorSensor::Open:
      return 1;
    case DoorSensor::None:
      return 2;
    case DoorSensor::Unknown:
      break;
  }
  return 3;
}

std::uint16_t relay_value(DoorRelay relay) {
  return relay == DoorRelay::Connected ? 0 : 1;
}

CommandStatus status_of(CommandState s) {
  switch (s) {
    case CommandState::Queued:
      return CommandStatus::Queued;
    case CommandState::Sent:
      return CommandStatus::Sent;
    case CommandState::Done:
      return CommandStatus::Done;
    case CommandState::Failed:
      return CommandStatus::Failed;
    case CommandState::Expired:
      return CommandStatus::Expired;
    case CommandState::Cancelled:
      return CommandStatus::Cancelled;
  }
  return CommandStatus::Failed;
}

constexpr std::string_view kAdapter = "modbus";

// adapter_state key of a slot: the digits keep the keys in slot order.
std::string slot_key(std::size_t slot) {
  auto digits = std::to_string(slot);
  return "slot/" + std::string(digits.size() < 5 ? 5 - digits.size() : 0, '0') + digits;
}

std::optional<std::size_t> slot_of_key(std::string_view key) {
  constexpr std::string_view prefix = "slot/";
  if (!key.starts_with(prefix) || key.size() == prefix.size()) {
    return std::nullopt;
  }
  std::size_t slot = 0;
  for (char c : key.substr(prefix.size())) {
    if (c < '0' || c > '9' || slot > 100000) {
      return std::nullopt;
    }
    slot = slot * 10 + static_cast<std::size_t>(c - '0');
  }
  return slot;
}

}  // namespace

struct ModbusAdapter::Link {
  std::mutex mutex;
  ModbusAdapter* self = nullptr;
};

ModbusAdapter::ModbusAdapter(AdapterContext& ctx, ModbusConfig config)
    : ctx_(ctx),
      config_(std::move(config)),
      image_(config_.slot_count),
      link_(std::make_shared<Link>()),
      commands_queued_(ctx.metrics.counter("pushgate_modbus_commands_total",
                                           "Commands the Modbus mailbox and coils took",
                                           {{"result", "queued"}})),
      commands_rejected_(ctx.metrics.counter("pushgate_modbus_commands_total",
                                             "Commands the Modbus mailbox and coils took",
                                             {{"result", "rejected"}})),
      refresh_errors_(
          ctx.metrics.counter("pushgate_modbus_refresh_errors_total",
                              "Register image refreshes that could not read the store")) {
  link_->self = this;
  slots_.assign(config_.slot_count, std::string());
  configured_.assign(config_.slot_count, false);
  writes_enabled_ = config_.writes_enabled;
  std::string error;
  allow_ = AllowList::parse(config_.write_allow, error);
  coil_open_seconds_ = config_.coil_open_seconds;
  command_ttl_ms_ = std::chrono::milliseconds(config_.command_ttl).count();
}

ModbusAdapter::~ModbusAdapter() {
  stop(std::chrono::milliseconds(1000));
}

std::vector<config::ConfigError> ModbusAdapter::validate_config(const config::Config& config) {
  auto c = ModbusConfig::from(config);
  if (!c.enabled) {
    return {};
  }
  if (auto problem = c.validate(); !problem.empty()) {
    auto end = problem.find_first_of(" :");
    auto rest = problem.find_first_not_of(" :", end);
    return {{problem.substr(0, end), problem.substr(rest)}};
  }
  return {};
}

std::unique_ptr<Adapter> ModbusAdapter::create(AdapterContext& ctx) {
  auto config = ModbusConfig::from(ctx.config);
  if (!config.enabled) {
    return nullptr;
  }
  return std::make_unique<ModbusAdapter>(ctx, std::move(config));
}

boost::system::error_code ModbusAdapter::start() {
  auto log = logger("modbus");
  if (auto problem = config_.validate(); !problem.empty()) {
    start_error_ = problem;
    ctx_.health.set(Health::Kind::Ready, "modbus", false, problem);
    return boost::system::errc::make_error_code(boost::system::errc::invalid_argument);
  }
  if (ctx_.events == nullptr || ctx_.adapter_state == nullptr || ctx_.event_readers == nullptr) {
    start_error_ = "modbus: the daemon gave no event log, adapter state or event readers";
    return boost::system::errc::make_error_code(boost::system::errc::invalid_argument);
  }
  std::string error;
  if (!load_slots(error)) {
    log->error("cannot read the Modbus slot assignments: {}", error);
    ctx_.health.set(Health::Kind::Ready, "modbus", false, "slot assignments: " + error);
    return boost::system::errc::make_error_code(boost::system::errc::io_error);
  }
  started_ms_ = ctx_.clock.now_ms();
  refresh();  // the first client already reads real state

  std::weak_ptr<Link> weak = link_;
  ctx_.commands.add_observer([weak](const CommandRecord& record) {
    auto link = weak.lock();
    if (!link) {
      return;
    }
    std::lock_guard lock(link->mutex);
    if (link->self != nullptr && record.origin == "modbus") {
      link->self->on_command(record);
    }
  });

  ServerOptions so;
  so.listen = config_.listen;
  so.port = config_.port;
  so.max_clients = config_.max_clients;
  so.idle_timeout = config_.idle_timeout;
  so.flat_unit_id = config_.flat_unit_id;
  so.coils_enabled = config_.coils_enabled;
  WriteHandler handler;
  handler.allowed = [this](const std::string& client) { return write_allowed(client); };
  handler.holding = [this](std::uint16_t view, std::uint16_t address,
                           std::span<const std::uint16_t> values, const std::string& client) {
    return on_holding(view, address, values, client);
  };
  handler.coils = [this](std::uint16_t view, std::uint16_t address,
                         std::span<const std::uint8_t> bits, const std::string& client) {
    return on_coils(view, address, bits, client);
  };
  server_ = std::make_unique<ModbusServer>(so, image_, std::move(handler), ctx_.metrics);
  if (auto ec = server_->start()) {
    start_error_ = "modbus.port: cannot listen on " + config_.listen + ":" +
                   std::to_string(config_.port) + ": " + ec.message();
    ctx_.health.set(Health::Kind::Ready, "modbus", false, "not listening: " + ec.message());
    return ec;
  }
  log->info("Modbus TCP server listening on {}:{} ({} slots, flat layout on unit id {}, writes {})",
            config_.listen, server_->port(), config_.slot_count, config_.flat_unit_id,
            config_.writes_enabled ? "on" : "off");
  refresher_ = std::thread([this] { run_refresh(); });
  ctx_.health.set(Health::Kind::Ready, "modbus", true);
  return {};
}

void ModbusAdapter::stop(std::chrono::milliseconds deadline) {
  (void)deadline;  // closing sockets and joining threads is immediate
  if (refresher_.joinable()) {
    ctx_.health.set(Health::Kind::Ready, "modbus", false, "stopping");
  }
  {
    std::lock_guard lock(link_->mutex);
    link_->self = nullptr;  // late command results and enqueue answers are dropped
  }
  if (server_) {
    server_->stop();
  }
  {
    std::lock_guard lock(stop_mutex_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (refresher_.joinable()) {
    refresher_.join();
  }
}

void ModbusAdapter::reload(const config::Config& config) {
  auto next = ModbusConfig::from(config);
  std::string error;
  auto allow = AllowList::parse(next.write_allow, error);
  if (!error.empty()) {
    logger("modbus")->error("reload: {}; keeping the previous write policy", error);
    return;
  }
  std::lock_guard lock(mutex_);
  writes_enabled_ = next.writes_enabled;
  allow_ = std::move(allow);
  coil_open_seconds_ = next.coil_open_seconds;
  command_ttl_ms_ = std::chrono::milliseconds(next.command_ttl).count();
  logger("modbus")->info("reload: writes {}, {} allowed address entries",
                         writes_enabled_ ? "on" : "off", next.write_allow.size());
}

std::string ModbusAdapter::slot_serial(std::uint16_t slot) const {
  std::lock_guard lock(mutex_);
  return slot >= 1 && slot <= slots_.size() ? slots_[slot - 1u] : std::string();
}

bool ModbusAdapter::write_allowed(const std::string& client) const {
  std::lock_guard lock(mutex_);
  return writes_enabled_ && allow_.allows(client);
}

// Startup: the stored assignments, then the configured ones on top (the
// config wins; a serial it moves loses its old slot, and whoever held a
// configured slot is given another one by assign_slots).
bool ModbusAdapter::load_slots(std::string& error) {
  auto log = logger("modbus");
  boost::system::error_code ec;
  auto rows = ctx_.adapter_state->load(kAdapter, ec);
  if (ec) {
    error = ec.message();
    return false;
  }
  WriteBatch batch;
  std::lock_guard lock(mutex_);
  for (const auto& [key, value] : rows) {
    auto slot = slot_of_key(key);
    auto j = nlohmann::json::parse(value, nullptr, false);
    if (!slot || !j.is_object() || !j.contains("sn") || !j["sn"].is_string()) {
      log->warn("stored Modbus record {} is not a slot assignment: removed", text::log_escape(key));
      batch.ops.push_back(ctx_.adapter_state->erase(std::string(kAdapter), key));
      continue;
    }
    auto sn = j["sn"].get<std::string>();
    if (!ctx_.terminals.is_terminal(sn)) {
      // Given out by an earlier build to the gateway's own event source
      // (timecards): never a terminal. The slot is free again.
      log->warn("Modbus slot {} was held by the gateway's own source {}: freed", *slot, sn);
      batch.ops.push_back(ctx_.adapter_state->erase(std::string(kAdapter), key));
      continue;
    }
    if (*slot >= 1 && *slot <= slots_.size()) {
      slots_[*slot - 1] = sn;
    } else {
      log->warn("[sn={}] stored Modbus slot {} is beyond modbus.slot_count {}: not shown", sn,
                *slot, slots_.size());
      beyond_[sn] = key;
    }
  }
  for (std::size_t i = 0; i < config_.slots.size(); ++i) {
    const auto& sn = config_.slots[i];
    if (sn.empty()) {
      continue;
    }
    configured_[i] = true;
    if (slots_[i] == sn) {
      continue;
    }
    for (std::size_t j = 0; j < slots_.size(); ++j) {
      if (slots_[j] == sn) {
        slots_[j].clear();  // moved by the config
        batch.ops.push_back(ctx_.adapter_state->erase(std::string(kAdapter), slot_key(j + 1)));
      }
    }
    if (!slots_[i].empty()) {
      log->warn("[sn={}] Modbus slot {} is configured for {}: {} gets another slot", slots_[i],
                i + 1, sn, slots_[i]);
    }
    slots_[i] = sn;
    persist_slot_locked(i + 1, "config", batch);
  }
  if (!batch.empty()) {
    ctx_.events->append(std::move(batch), [](CommitResult r) {
      if (r.ec) {
        logger("modbus")->error("cannot store the configured Modbus slots: {} (kept in memory)",
                                r.ec.message());
      }
    });
  }
  return true;
}

// The assignment of slot `slot` (1-based) to its serial, replacing a stored
// one beyond modbus.slot_count for the same serial.
void ModbusAdapter::persist_slot_locked(std::size_t slot, std::string_view origin,
                                        WriteBatch& batch) {
  const auto& sn = slots_[slot - 1];
  if (auto old = beyond_.find(sn); old != beyond_.end()) {
    batch.ops.push_back(ctx_.adapter_state->erase(std::string(kAdapter), old->second));
    beyond_.erase(old);
  }
  nlohmann::json value = {{"sn", sn}, {"origin", origin}, {"assigned_ms", ctx_.clock.now_ms()}};
  batch.ops.push_back(ctx_.adapter_state->put(std::string(kAdapter), slot_key(slot), value.dump()));
}

void ModbusAdapter::assign_slots(const std::vector<TerminalRecord>& terminals) {
  if (!config_.auto_assign) {
    return;
  }
  std::vector<const TerminalRecord*> fresh;
  WriteBatch batch;
  {
    std::lock_guard lock(mutex_);
    for (const auto& t : terminals) {
      if (t.state != "accepted" || !ctx_.terminals.is_terminal(t.sn) ||
          std::find(slots_.begin(), slots_.end(), t.sn) != slots_.end()) {
        continue;
      }
      fresh.push_back(&t);
    }
    // Oldest first, so the order of slots follows the order terminals appeared.
    std::sort(fresh.begin(), fresh.end(), [](const auto* a, const auto* b) {
      return std::tie(a->first_seen_ms, a->sn) < std::tie(b->first_seen_ms, b->sn);
    });
    for (const auto* t : fresh) {
      std::size_t i = 0;
      while (i < slots_.size() && (!slots_[i].empty() || configured_[i])) {
        ++i;
      }
      if (i == slots_.size()) {
        // Logged once per refresh at most; the terminal is simply not shown.
        logger("modbus")->warn("[sn={}] no free Modbus slot (modbus.slot_count {}): not shown",
                               t->sn, slots_.size());
        break;
      }
      slots_[i] = t->sn;
      logger("modbus")->info("[sn={}] assigned Modbus slot {} (unit id {})", t->sn, i + 1, i + 1);
      persist_slot_locked(i + 1, "auto", batch);
    }
  }
  if (!batch.empty()) {
    ctx_.events->append(std::move(batch), [](CommitResult r) {
      if (r.ec) {
        logger("modbus")->error(
            "cannot store a Modbus slot assignment: {} (kept in memory, stored again "
            "after a restart)",
            r.ec.message());
      }
    });
  }
}

void ModbusAdapter::run_refresh() {
  std::unique_lock lock(stop_mutex_);
  while (!stopping_) {
    stop_cv_.wait_for(lock, config_.refresh, [this] { return stopping_; });
    if (stopping_) {
      break;
    }
    lock.unlock();
    refresh();
    lock.lock();
  }
}

namespace {

std::optional<int> set_or_none(int v) {
  return v == kUnset ? std::nullopt : std::optional<int>(v);
}

}  // namespace

void ModbusAdapter::refresh() {
  std::lock_guard refresh_lock(refresh_mutex_);
  const auto now = ctx_.clock.now_ms();
  auto terminals = ctx_.terminals.all();
  assign_slots(terminals);

  // Every door's state from the core's door service; then one short read
  // transaction for the events since the last refresh (at the first
  // refresh: each terminal's last one).
  const auto doors = ctx_.doors.all();
  const std::int64_t after = last_event_id_;
  boost::system::error_code read_ec;
  std::vector<Event> events;
  std::int64_t max_id = 0;
  if (!reader_) {
    reader_ = ctx_.event_readers->open_reader(read_ec);
  }
  if (reader_ && after < 0) {
    static constexpr std::array kLastKinds{EventKind::Attendance, EventKind::Access};
    events = reader_->latest_per_terminal(kLastKinds, read_ec);
    if (!read_ec) {
      max_id = reader_->max_event_id(read_ec);
    }
  } else if (reader_) {
    events = reader_->read_after(after, 20000, read_ec);
  }
  if (read_ec) {
    reader_.reset();  // a fresh connection at the next refresh
    events.clear();
  }
  if (read_ec) {
    refresh_errors_.inc();
    logger("modbus")->warn("image refresh: cannot read the store: {}", read_ec.message());
  }

  GatewayView g;
  g.slot_count = config_.slot_count;
  g.heartbeat = ++heartbeat_;
  g.uptime_s = static_cast<std::uint32_t>(std::max<std::int64_t>(0, now - started_ms_) / 1000);
  if (auto free_bytes = ctx_.status.disk_free_bytes()) {
    g.disk_free_mib = *free_bytes / (1024 * 1024);
  }
  // The MQTT sink's figures as it last reported them (none: no MQTT sink).
  if (auto mqtt = ctx_.status.sink("mqtt")) {
    g.backlog_events = static_cast<std::uint64_t>(std::max<std::int64_t>(mqtt->backlog_events, 0));
  }
  g.coils_enabled = config_.coils_enabled;
  g.outputs_declared = static_cast<std::uint16_t>(ctx_.outputs.size());
  for (std::size_t i = 0; i < std::min<std::size_t>(ctx_.outputs.size(), 32); ++i) {
    if (ctx_.outputs.at(i).on) {
      g.outputs_bits |= 1u << i;
    }
  }
  const std::int64_t window = std::chrono::milliseconds(config_.offline_after).count();
  std::map<std::string, const TerminalRecord*, std::less<>> by_sn;
  for (const auto& t : terminals) {
    by_sn[t.sn] = &t;
    const auto link = terminal_link(t);
    if (link ? link->online() : t.last_seen_ms != 0 && now - t.last_seen_ms <= window) {
      ++g.terminals_online;
    }
  }
  g.terminals_known = static_cast<std::uint16_t>(std::min<std::size_t>(terminals.size(), 0xFFFF));

  std::vector<SlotView> views(config_.slot_count);
  {
    std::lock_guard lock(mutex_);
    g.writes_enabled = writes_enabled_ && !allow_.empty();
    if (!read_ec) {
      for (const auto& e : events) {
        auto& ts = terminals_[e.terminal_sn];
        const bool counted = after >= 0;  // the first read only finds each last event
        switch (e.kind) {
          case EventKind::Access:
            ts.access += counted ? 1 : 0;
            break;
          case EventKind::Attendance:
            ts.attendance += counted ? 1 : 0;
            break;
          case EventKind::Alarm:
            ts.alarms += counted ? 1 : 0;
            break;
          case EventKind::DoorState:
            ts.door_changes += counted ? 1 : 0;
            break;
          default:
            break;
        }
        const auto code = set_or_none(e.event_code);
        const auto door = set_or_none(e.door);
        if (e.kind == EventKind::Access || e.kind == EventKind::Attendance) {
          LastEvent le;
          le.seq = e.seq;
          if (e.utc_ms) {
            le.utc_s = *e.utc_ms / 1000;
          }
          le.kind = static_cast<int>(e.kind);
          le.code = e.kind == EventKind::Access ? code : set_or_none(e.status);
          le.door = door;
          le.pin = e.pin;
          ts.last = std::move(le);
        }
        // Normal open as the terminal reports it (Appendix 2 event codes).
        if (counted && code && door && *door >= 1 && *door <= kDoorsPerSlot) {
          auto& no = ts.normal_open[static_cast<std::size_t>(*door - 1)];
          if (*code == 205 || *code == 11) {
            no = 1;
          } else if (*code == 204 || *code == 10) {
            no = 0;
          }
        }
        last_event_id_ = std::max(last_event_id_, e.id);
      }
      if (after < 0) {
        last_event_id_ = std::max(last_event_id_, max_id);
      }
    }
    for (std::size_t i = 0; i < slots_.size(); ++i) {
      const auto& sn = slots_[i];
      if (sn.empty()) {
        continue;
      }
      SlotView& v = views[i];
      v.sn = sn;
      auto t = by_sn.find(sn);
      if (t != by_sn.end() && t->second->last_seen_ms != 0) {
        v.seconds_since_seen = std::max<std::int64_t>(0, now - t->second->last_seen_ms) / 1000;
        v.online = now - t->second->last_seen_ms <= window;
      }
      if (t != by_sn.end()) {
        // An adapter holding a link to the device knows at once; others by silence.
        if (auto link = terminal_link(*t->second)) {
          v.online = link->online();
        }
      }
      auto ts = terminals_.find(sn);
      if (ts != terminals_.end()) {
        v.last = ts->second.last;
        v.access_events = ts->second.access;
        v.attendance_events = ts->second.attendance;
        v.alarm_events = ts->second.alarms;
        v.door_changes = ts->second.door_changes;
        for (std::size_t d = 0; d < kDoorsPerSlot; ++d) {
          v.doors[d].normal_open = ts->second.normal_open[d];
        }
      }
    }
    for (const auto& row : doors) {
      auto it = std::find(slots_.begin(), slots_.end(), row.terminal);
      if (it == slots_.end() || row.door < 1 || row.door > kDoorsPerSlot) {
        continue;
      }
      auto& d = views[static_cast<std::size_t>(it - slots_.begin())]
                    .doors[static_cast<std::size_t>(row.door - 1)];
      d.contact = row.state.sensor ? std::optional(contact_value(*row.state.sensor)) : std::nullopt;
      d.relay = row.state.relay ? std::optional(relay_value(*row.state.relay)) : std::nullopt;
      d.alarm = row.state.alarms ? std::optional<std::uint16_t>(*row.state.alarms) : std::nullopt;
    }
  }
  image_.publish(g, views);
}

// --- the mailbox -----------------------------------------------------------

Exception ModbusAdapter::on_holding(std::uint16_t view, std::uint16_t address,
                                    std::span<const std::uint16_t> values,
                                    const std::string& client) {
  auto log = logger("modbus");
  constexpr std::uint16_t kSeq = 4;
  struct Taken {
    bool command = false;
    MailboxView m;
  };
  auto taken = image_.with_mailbox(view, [&](MailboxView& m) {
    for (std::size_t i = 0; i < values.size(); ++i) {
      m.holding[address + i] = values[i];
    }
    Taken t;
    if (address <= kSeq && address + values.size() > kSeq && m.holding[kSeq] != m.seq) {
      // A new sequence number: take the command the registers hold now.
      m.seq = m.holding[kSeq];
      m.code = m.holding[0];
      m.slot = m.holding[1] == 0 && view != 0 ? view : m.holding[1];
      m.command_id = 0;
      m.progress = {CommandStatus::Accepted, std::nullopt};
      m.reason = RejectReason::None;
      ++m.generation;
      t.command = true;
      t.m = m;
    }
    return t;
  });
  if (!taken.command) {
    return Exception::None;
  }
  const auto& m = taken.m;
  const std::uint16_t door = m.holding[2];
  const std::uint16_t arg = m.holding[3];
  RejectReason reason = RejectReason::None;
  std::string sn;
  if (m.code < 1 || m.code > 4) {
    reason = RejectReason::UnknownCommand;
  } else if (m.slot < 1 || m.slot > config_.slot_count ||
             (view != 0 && m.holding[1] != 0 && m.holding[1] != view)) {
    reason = RejectReason::BadSlot;
  } else if ((sn = slot_serial(m.slot)).empty()) {
    reason = RejectReason::EmptySlot;
  } else if (static_cast<CommandCode>(m.code) != CommandCode::CancelAlarm &&
             (door < 1 || door > kDoorsPerSlot)) {
    reason = RejectReason::BadDoor;
  } else if ((static_cast<CommandCode>(m.code) == CommandCode::OpenDoor &&
              (arg < 1 || arg > 254)) ||
             ((static_cast<CommandCode>(m.code) == CommandCode::NormalOpen ||
               static_cast<CommandCode>(m.code) == CommandCode::LockDoor) &&
              arg > 1)) {
    reason = RejectReason::BadArgument;
  }
  if (reason != RejectReason::None) {
    commands_rejected_.inc();
    log->warn("[client={}] mailbox seq {} (unit view {}): command {} rejected, reason {}", client,
              m.seq, view, m.code, static_cast<int>(reason));
    image_.with_mailbox(view, [&](MailboxView& box) {
      if (box.generation == m.generation) {
        box.progress.status = CommandStatus::Rejected;
        box.reason = reason;
      }
      return 0;
    });
    return Exception::None;  // the write itself succeeded; the mailbox says why
  }
  CommandRequest req;
  Target target;
  target.view = view;
  target.generation = m.generation;
  target.slot = m.slot;
  target.sn = sn;
  target.door = door;
  switch (static_cast<CommandCode>(m.code)) {
    case CommandCode::OpenDoor:
      req = commands::open_door(sn, door, arg);
      break;
    case CommandCode::NormalOpen:
      req = commands::normal_open(sn, door, arg == 1);
      target.on = arg == 1;
      break;
    case CommandCode::CancelAlarm:
      req = commands::cancel_alarm(sn);
      break;
    case CommandCode::LockDoor:
      req = commands::lock_door(sn, door, arg == 1);
      break;
    case CommandCode::None:
      break;
  }
  target.verb = req.verb;
  target.client = client;
  req.client_ref = "mailbox/" + std::to_string(view) + "/" + std::to_string(m.seq) + "/" +
                   std::to_string(m.generation) + "/" + std::to_string(ctx_.clock.now_ms());
  log->info("[client={}] [sn={}] mailbox seq {}: {} door {} argument {}", client, sn, m.seq,
            req.verb, door, arg);
  submit(std::move(req), target);
  return Exception::None;
}

Exception ModbusAdapter::on_coils(std::uint16_t view, std::uint16_t address,
                                  std::span<const std::uint8_t> bits, const std::string& client) {
  // Reserved coils take 0 (a block-wide write of zeros) but not 1.
  for (std::size_t i = 0; i < bits.size(); ++i) {
    if (bits[i] != 0 && (address + i) % kCoilsPerSlot > 4) {
      return Exception::IllegalDataAddress;
    }
  }
  int seconds = 5;
  {
    std::lock_guard lock(mutex_);
    seconds = coil_open_seconds_;
  }
  for (std::size_t i = 0; i < bits.size(); ++i) {
    if (bits[i] == 0) {
      continue;  // self-clearing: writing 0 does nothing
    }
    const std::uint32_t a = address + static_cast<std::uint32_t>(i);
    const auto slot = static_cast<std::uint16_t>(view != 0 ? view : a / kCoilsPerSlot + 1);
    const auto offset = a % kCoilsPerSlot;
    std::string sn = slot_serial(slot);
    if (sn.empty()) {
      commands_rejected_.inc();
      logger("modbus")->warn("[client={}] coil {} of slot {}: the slot has no terminal", client,
                             offset, slot);
      image_.set_coil_progress(slot, {CommandStatus::Rejected, std::nullopt});
      continue;
    }
    Target target;
    target.slot = slot;
    target.sn = sn;
    CommandRequest req;
    if (offset < kDoorsPerSlot) {
      target.door = static_cast<int>(offset + 1);
      req = commands::open_door(sn, target.door, seconds);
    } else {
      req = commands::cancel_alarm(sn);
    }
    target.verb = req.verb;
    target.client = client;
    req.client_ref = "coil/" + std::to_string(slot) + "/" + std::to_string(offset) + "/" +
                     std::to_string(ctx_.clock.now_ms()) + "/" + std::to_string(i);
    logger("modbus")->info("[client={}] [sn={}] coil {} of slot {}: {}", client, sn, offset, slot,
                           req.verb);
    image_.set_coil_progress(slot, {CommandStatus::Accepted, std::nullopt});
    submit(std::move(req), target);
  }
  return Exception::None;
}

void ModbusAdapter::audit_command(const Target& target, const CommandRecord& record) {
  nlohmann::json details = {{"command_id", record.id},
                            {"terminal", record.terminal_sn},
                            {"verb", record.verb},
                            {"params", record.params},
                            {"client_ref", record.client_ref}};
  WriteBatch batch;
  batch.events.push_back(
      make_audit_event(ctx_.config.get_string("gateway.id"), "modbus:" + target.client,
                       target.client, "command_queued", std::move(details), ctx_.clock.now_ms()));
  // Called on the store's writer thread: the append goes through the
  // io_context, not from inside the writer's own completion.
  boost::asio::post(
      ctx_.ioc, [events = ctx_.events, batch = std::move(batch), id = record.id]() mutable {
        events->append(std::move(batch), [id](CommitResult r) {
          if (r.ec) {
            logger("modbus")->error("[cmd={}] audit event not stored: {}", id, r.ec.message());
          }
        });
      });
}

void ModbusAdapter::submit(CommandRequest request, Target target) {
  request.origin = "modbus";
  {
    std::lock_guard lock(mutex_);
    request.ttl_ms = command_ttl_ms_;
  }
  std::weak_ptr<Link> weak = link_;
  // `done` runs on the writer thread after commit, or at once on a
  // validation error: either way only short locks below.
  ctx_.commands.enqueue(
      std::move(request), [weak, target](boost::system::error_code ec, std::string error,
                                         CommandRecord rec, bool duplicate) {
        auto link = weak.lock();
        if (!link) {
          return;
        }
        std::lock_guard lock(link->mutex);
        ModbusAdapter* self = link->self;
        if (self == nullptr) {
          return;
        }
        auto log = logger("modbus");
        CommandProgress progress{CommandStatus::Queued, std::nullopt};
        RejectReason reason = RejectReason::None;
        if (ec || !error.empty()) {
          progress.status = CommandStatus::Rejected;
          reason = ec ? RejectReason::StoreUnavailable : RejectReason::QueueRefused;
          self->commands_rejected_.inc();
          log->warn("[sn={}] Modbus command {} not queued: {}", target.sn, target.verb,
                    ec ? ec.message() : error);
        } else {
          self->commands_queued_.inc();
          log->info("[sn={}] [cmd={}] Modbus command {} queued", target.sn, rec.id, target.verb);
          std::lock_guard plock(self->mutex_);
          self->pending_[rec.id] = target;
        }
        if (!ec && error.empty() && !duplicate) {
          self->audit_command(target, rec);
        }
        if (target.view >= 0) {
          self->image_.with_mailbox(static_cast<std::uint16_t>(target.view), [&](MailboxView& m) {
            if (m.generation == target.generation && m.progress.status == CommandStatus::Accepted) {
              m.progress = progress;
              m.reason = reason;
              m.command_id = rec.id;
            }
            return 0;
          });
        } else {
          self->image_.set_coil_progress(target.slot, progress);
        }
      });
}

// Writer thread, after a state change of a command with origin "modbus".
void ModbusAdapter::on_command(const CommandRecord& record) {
  Target target;
  {
    std::lock_guard lock(mutex_);
    auto it = pending_.find(record.id);
    if (it == pending_.end()) {
      return;  // not one of this run's (a restart forgets the mailbox)
    }
    target = it->second;
    if (is_final(record.state)) {
      pending_.erase(it);
    }
    if (record.state == CommandState::Done && target.verb == "normal_open" && target.door >= 1 &&
        target.door <= kDoorsPerSlot) {
      terminals_[target.sn].normal_open[static_cast<std::size_t>(target.door - 1)] =
          target.on ? 1 : 0;
    }
  }
  CommandProgress progress{status_of(record.state), record.return_code};
  if (target.view >= 0) {
    image_.with_mailbox(static_cast<std::uint16_t>(target.view), [&](MailboxView& m) {
      if (m.generation == target.generation && m.command_id == record.id) {
        m.progress = progress;
      }
      return 0;
    });
  } else {
    image_.set_coil_progress(target.slot, progress);
  }
}

}  // namespace pushgate::adapters::modbus
