#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "adapters/modbus/modbus_config.hpp"
#include "adapters/modbus/modbus_image.hpp"
#include "adapters/modbus/modbus_session.hpp"
#include "gateway/adapter.hpp"
#include "gateway/command.hpp"
#include "gateway/event_log.hpp"
#include "gateway/sink_ports.hpp"
#include "gateway/terminals.hpp"

namespace pushgate::adapters::modbus {

/**
 * The Modbus TCP server adapter: a refresh thread builds the register image
 * from the gateway's state (terminals, the door service, events, outputs,
 * status figures) every modbus.refresh_ms; the server threads answer from it; the
 * mailbox and coils queue commands in the durable CommandQueue (origin
 * "modbus") and show their progress from its observer.
 */
class ModbusAdapter final : public Adapter {
 public:
  ModbusAdapter(AdapterContext& ctx, ModbusConfig config);
  ~ModbusAdapter() override;

  // Adapter
  std::string_view name() const noexcept override { return "modbus"; }
  boost::system::error_code start() override;
  void stop(std::chrono::milliseconds deadline) override;
  void reload(const config::Config& config) override;
  std::string start_error() const override { return start_error_; }

  std::uint16_t port() const noexcept { return server_ ? server_->port() : 0; }
  /** The serial in a slot (1-based), "" when empty. */
  std::string slot_serial(std::uint16_t slot) const;

  static void declare_config(config::Schema& schema) { ModbusConfig::declare(schema); }
  static std::unique_ptr<Adapter> create(AdapterContext& ctx);
  /** ModbusConfig::validate() for an enabled server: what start() refuses. */
  static std::vector<config::ConfigError> validate_config(const config::Config& config);

 private:
  std::string start_error_;
  struct Link;  // what callbacks that may outlive the adapter hold
  struct TerminalState {
    std::array<std::optional<std::uint16_t>, kDoorsPerSlot> normal_open{};
    std::optional<LastEvent> last;
    std::uint32_t access = 0;
    std::uint32_t attendance = 0;
    std::uint32_t alarms = 0;
    std::uint32_t door_changes = 0;
  };
  /** Where a queued command's progress shows. */
  struct Target {
    int view = -1;  ///< mailbox view, or -1 for a coil
    std::uint64_t generation = 0;
    std::uint16_t slot = 0;  ///< coil: the slot
    std::string verb;
    int door = 0;
    bool on = false;  ///< normal_open: the state it sets
    std::string sn;
    std::string client;  ///< the Modbus client's address (the audit's actor)
  };

  bool load_slots(std::string& error);
  void assign_slots(const std::vector<TerminalRecord>& terminals);
  void persist_slot_locked(std::size_t slot, std::string_view origin, WriteBatch& batch);
  void refresh();
  void run_refresh();
  bool write_allowed(const std::string& client) const;
  Exception on_holding(std::uint16_t view, std::uint16_t address,
                       std::span<const std::uint16_t> values, const std::string& client);
  Exception on_coils(std::uint16_t view, std::uint16_t address, std::span<const std::uint8_t> bits,
                     const std::string& client);
  void submit(CommandRequest request, Target target);
  /** An `audit` event for a command a Modbus client queued (any thread). */
  void audit_command(const Target& target, const CommandRecord& record);
  void on_command(const CommandRecord& record);

  AdapterContext& ctx_;
  ModbusConfig config_;
  RegisterImage image_;
  std::unique_ptr<ModbusServer> server_;
  std::shared_ptr<Link> link_;

  mutable std::mutex mutex_;        // slots_, terminals_, pending_, policy
  std::vector<std::string> slots_;  // index slot-1 -> serial ("" free)
  std::vector<bool> configured_;    // slot reserved by modbus.slots
  // Stored assignments beyond modbus.slot_count: serial -> adapter_state key.
  std::map<std::string, std::string, std::less<>> beyond_;
  std::map<std::string, TerminalState, std::less<>> terminals_;
  std::map<std::int64_t, Target> pending_;
  bool writes_enabled_ = false;
  AllowList allow_;
  int coil_open_seconds_ = 5;
  std::int64_t command_ttl_ms_ = 60000;

  // Refresh thread state (only that thread, after start).
  std::int64_t last_event_id_ = -1;
  std::unique_ptr<EventReader> reader_;  // opened at the first refresh
  std::uint32_t heartbeat_ = 0;
  std::int64_t started_ms_ = 0;
  std::mutex refresh_mutex_;  // one refresh at a time (thread and tests)

  std::thread refresher_;
  std::mutex stop_mutex_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;

  metrics::Counter& commands_queued_;
  metrics::Counter& commands_rejected_;
  metrics::Counter& refresh_errors_;
};

}  // namespace pushgate::adapters::modbus
