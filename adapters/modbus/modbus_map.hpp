#pragma once

// The register map: one table from which the server's layout, the README
// section, the CSV an integrator imports and the conformance tests are all
// produced (pushgate-modbus-map prints the last three), so they cannot
// disagree. Pure data and text: no I/O, no libmodbus.
#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pushgate::adapters::modbus {

/** The four Modbus data tables. */
enum class Space : std::uint8_t {
  Coil,             ///< 0xxxx, FC 1/5/15
  DiscreteInput,    ///< 1xxxx, FC 2
  InputRegister,    ///< 3xxxx, FC 4
  HoldingRegister,  ///< 4xxxx, FC 3/6/16
};

/** Where an entry lives: at a fixed address, or at an offset inside every slot block. */
enum class Block : std::uint8_t { Gateway, Slot };

/** How the words of an entry are read. 32-bit values: high word first. */
enum class Type : std::uint8_t { Bit, U16, I16, U32, Ascii };

/** What an entry shows; the image builder fills each one (modbus_image.cpp). */
enum class Field : std::uint8_t {
  Marker,
  MapVersion,
  SlotCount,
  SlotBlockSize,
  SlotBase,
  DoorsPerSlot,
  ViewSlot,
  Heartbeat,
  TerminalsOnline,
  TerminalsKnown,
  BacklogEvents,
  DiskFreeMib,
  UptimeSeconds,
  OutputsDeclared,
  OutputsBits,
  WritesEnabled,
  CoilsEnabled,
  MailboxSeq,
  MailboxStatus,
  MailboxReturnCode,
  MailboxReason,
  MailboxCommandId,
  MailboxCode,
  MailboxSlot,
  Output,
  SlotState,
  SecondsSinceSeen,
  Serial,
  DoorContact,
  DoorRelay,
  DoorAlarm,
  DoorNormalOpen,
  LastEventSeq,
  LastEventTime,
  LastEventKind,
  LastEventCode,
  LastEventDoor,
  LastEventPin,
  AccessEvents,
  AttendanceEvents,
  AlarmEvents,
  DoorChanges,
  CoilStatus,
  CoilReturnCode,
  CommandCode,
  CommandSlot,
  CommandDoor,
  CommandArgument,
  CommandSeq,
  CoilOpenDoor,
  CoilCancelAlarm,
};

/**
 * One line of the map. `repeat` > 1 stands for that many items `stride`
 * addresses apart, numbered from 1 where the name and text say `{n}`
 * (door{n}_contact is door1_contact, door2_contact...).
 */
struct Entry {
  Space space;
  Block block;
  std::uint16_t offset;  ///< address (Gateway) or offset in the slot block (Slot)
  std::uint16_t words;   ///< registers (or bits) one item takes
  Type type;
  Field field;
  std::string_view name;
  std::string_view description;
  std::string_view unknown;  ///< what "unknown" reads as ("" when never unknown)
  std::uint8_t repeat = 1;
  std::uint8_t stride = 0;
};

// ---------------------------------------------------------------------------
// Layout constants. Changing any of them, or the table, changes the map:
// bump kMapVersion.
// ---------------------------------------------------------------------------

inline constexpr std::uint16_t kMapVersion = 1;
/** "PGMB" in the first two input registers. */
inline constexpr std::array<std::uint16_t, 2> kMarker{0x5047, 0x4D42};
inline constexpr std::uint16_t kGatewayBlockSize = 100;  ///< input registers 0..99
inline constexpr std::uint16_t kSlotBase = 100;          ///< first slot block (input registers)
inline constexpr std::uint16_t kSlotBlockSize = 64;      ///< input registers per slot
inline constexpr std::uint16_t kDoorsPerSlot = 4;
inline constexpr std::uint16_t kCoilsPerSlot = 8;  ///< coil block stride per slot
inline constexpr std::uint16_t kHoldingSize = 5;   ///< the mailbox
inline constexpr std::uint16_t kDiscreteInputs = 32;
inline constexpr std::uint16_t kMaxSlots = 247;  ///< unit ids 1..247

/** Sentinels for "unknown". */
inline constexpr std::uint16_t kUnknown16 = 0xFFFF;
inline constexpr std::uint32_t kUnknown32 = 0xFFFFFFFF;
inline constexpr std::uint16_t kNoReturnCode = 0x8000;  ///< I16 -32768

/** Mailbox (and coil command) status codes. */
enum class CommandStatus : std::uint16_t {
  Idle = 0,
  Accepted = 1,  ///< validated, being written to the queue
  Queued = 2,    ///< durable in the command queue
  Sent = 3,      ///< delivered to the terminal, no answer yet
  Done = 4,      ///< the terminal answered Return >= 0
  Failed = 5,    ///< the terminal answered Return < 0, or attempts ran out
  Expired = 6,
  Cancelled = 7,
  Rejected = 8,  ///< not queued: see the reason register
};

/** Why a mailbox command was rejected (MailboxReason). */
enum class RejectReason : std::uint16_t {
  None = 0,
  UnknownCommand = 1,
  BadSlot = 2,
  EmptySlot = 3,  ///< the slot has no terminal
  BadDoor = 4,
  BadArgument = 5,
  StoreUnavailable = 6,
  QueueRefused = 7,  ///< the command queue refused it (see the log)
};

/** Mailbox command codes (holding register 0). */
enum class CommandCode : std::uint16_t {
  None = 0,
  OpenDoor = 1,     ///< door, argument = seconds 1..254
  NormalOpen = 2,   ///< door, argument 1 on / 0 off
  CancelAlarm = 3,  ///< argument unused
  LockDoor = 4,     ///< door, argument 1 lock / 0 unlock
};

/** The terminal serial in a slot block: ASCII, two characters a register, NUL padded. */
inline constexpr std::uint16_t kSerialWords = 10;

/** The whole map, in address order per space. */
std::span<const Entry> register_map();

/** One item of the map with repeats expanded, at its address for slot 1 / the flat layout. */
struct Item {
  const Entry* entry;
  int index;  ///< 1-based item number within a repeated entry (1 otherwise)
  std::string name;
  std::string description;
  std::uint16_t offset;  ///< address (Gateway) or offset in the slot block
};
std::vector<Item> expand(std::span<const Entry> map);

std::string_view to_string(Space s) noexcept;
std::string_view to_string(Type t) noexcept;
std::string_view to_string(Block b) noexcept;

/**
 * 0-based address of an item in the flat layout for slot `slot` (1-based;
 * ignored for Gateway entries). For coils of a slot: (slot-1) * kCoilsPerSlot
 * + offset; for input registers: kSlotBase + (slot-1) * kSlotBlockSize + offset.
 */
std::uint32_t flat_address(const Entry& e, std::uint16_t offset, int slot) noexcept;
/** The classic 1-based reference: 0xxxx/1xxxx/3xxxx/4xxxx (6 digits past 9999). */
std::string reference(Space s, std::uint32_t address);

/** The README section (Markdown). */
std::string render_markdown(int example_slots = 2);
/** One row per item (slot items for slot 1 and the formula), for a BMS import. */
std::string render_csv();

/**
 * Checks the table: every item inside its block, no two items overlap,
 * addresses ascending. Returns the problems ("" when none). Also run at
 * compile time by a static_assert in modbus_map.cpp.
 */
std::string validate_map(std::span<const Entry> map);

}  // namespace pushgate::adapters::modbus
