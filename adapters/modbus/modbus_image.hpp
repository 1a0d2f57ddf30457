#pragma once

// The register image: what the gateway knows, encoded into registers by the
// map (modbus_map.hpp), and the thread-safe store the server threads read.
#include <array>
#include <cstdint>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "adapters/modbus/modbus_map.hpp"

namespace pushgate::adapters::modbus {

/** One door of a terminal; empty members read as "unknown". */
struct DoorView {
  std::optional<std::uint16_t> contact;  ///< 0 closed, 1 open, 2 no sensor, 3 undefined
  std::optional<std::uint16_t> relay;    ///< 0 connected, 1 disconnected
  std::optional<std::uint16_t> alarm;    ///< the §7.3 alarm byte
  std::optional<std::uint16_t> normal_open;
};

/** The last access or attendance event of a terminal. */
struct LastEvent {
  std::int64_t seq = 0;
  std::optional<std::int64_t> utc_s;
  int kind = 0;  ///< EventKind value
  std::optional<int> code;
  std::optional<int> door;
  std::string pin;
};

struct CommandProgress {
  CommandStatus status = CommandStatus::Idle;
  std::optional<std::int64_t> return_code;
};

/** One terminal slot as the map shows it. */
struct SlotView {
  std::string sn;  ///< empty: no terminal in this slot
  bool online = false;
  std::optional<std::int64_t> seconds_since_seen;
  std::array<DoorView, kDoorsPerSlot> doors{};
  std::optional<LastEvent> last;
  std::uint32_t access_events = 0;
  std::uint32_t attendance_events = 0;
  std::uint32_t alarm_events = 0;
  std::uint32_t door_changes = 0;
  CommandProgress coil;
};

/** The gateway block, without the per-unit-id fields. */
struct GatewayView {
  std::uint16_t slot_count = 0;
  std::uint32_t heartbeat = 0;
  std::uint16_t terminals_online = 0;
  std::uint16_t terminals_known = 0;
  std::optional<std::uint64_t> backlog_events;
  std::optional<std::uint64_t> disk_free_mib;
  std::uint32_t uptime_s = 0;
  std::uint16_t outputs_declared = 0;
  std::uint32_t outputs_bits = 0;
  bool writes_enabled = false;
  bool coils_enabled = false;
};

/** One mailbox: its holding registers and what became of its last command. */
struct MailboxView {
  std::array<std::uint16_t, kHoldingSize> holding{};
  std::uint16_t seq = 0;
  CommandProgress progress;
  RejectReason reason = RejectReason::None;
  std::int64_t command_id = 0;
  std::uint16_t code = 0;
  std::uint16_t slot = 0;
  std::uint64_t generation = 0;  ///< counts commands taken, to match late results
};

/** Encoders: each writes the fields of its block the map places there. */
void encode_gateway(const GatewayView& g, std::span<std::uint16_t, kGatewayBlockSize> block);
/** The per-unit-id fields of the gateway block: view_slot and the mailbox. */
void encode_view(std::uint16_t view_slot, const MailboxView& m,
                 std::span<std::uint16_t, kGatewayBlockSize> block);
void encode_slot(const SlotView& s, std::span<std::uint16_t, kSlotBlockSize> block);

/** A PIN as the map shows it (kUnknown32 none, kUnknown32-1 not a number). */
std::uint32_t pin_value(const std::string& pin) noexcept;

/**
 * The image the server threads read: the encoded blocks and the mailboxes,
 * under one mutex held only to copy. View 0 is the flat layout (every slot);
 * view k (1..slot_count) is unit id k, showing slot k at the slot 1
 * addresses. Thread-safe.
 */
class RegisterImage {
 public:
  explicit RegisterImage(std::uint16_t slot_count);

  std::uint16_t slot_count() const noexcept { return slot_count_; }
  /** Registers (or bits) a view serves in `space`. */
  std::uint32_t size(std::uint16_t view, Space space) const noexcept;

  /** Replaces the state blocks (the refresh thread). */
  void publish(const GatewayView& g, const std::vector<SlotView>& slots);

  /**
   * Copies registers [address, address+count) of `view` into `out`; false
   * when the range is outside the view (the caller answers the exception).
   * Coils and discrete inputs as one value 0/1 per element.
   */
  bool read(std::uint16_t view, Space space, std::uint32_t address, std::uint32_t count,
            std::uint16_t* out) const;

  /** The mailbox of a view, under the lock: `f(MailboxView&)`. */
  template <class F>
  auto with_mailbox(std::uint16_t view, F&& f) {
    std::lock_guard lock(mutex_);
    return f(mailboxes_.at(view));
  }
  /** A slot's coil command progress (1-based slot). */
  void set_coil_progress(std::uint16_t slot, CommandProgress p);

 private:
  std::uint16_t slot_count_;
  mutable std::mutex mutex_;
  std::array<std::uint16_t, kGatewayBlockSize> gateway_{};
  std::vector<std::uint16_t> slots_;  // slot_count_ * kSlotBlockSize
  std::vector<CommandProgress> coil_progress_;
  std::vector<MailboxView> mailboxes_;  // view 0..slot_count_
  std::uint32_t outputs_bits_ = 0;
};

}  // namespace pushgate::adapters::modbus
