#include "adapters/modbus/modbus_map.hpp"

#include <cstdio>

namespace pushgate::adapters::modbus {

namespace {

using enum Space;
using enum Type;
constexpr Block G = Block::Gateway;
constexpr Block S = Block::Slot;

// The map. Descriptions are written for the integrator reading the README
// or the CSV; "unknown" says what a value reads as when pushgate does not
// know it (never a plausible value such as "closed").
constexpr Entry kMap[] = {
    // --- input registers, gateway block (0..99) -------------------------------
    {InputRegister, G, 0, 2, Ascii, Field::Marker, "marker",
     "\"PGMB\" (0x5047 0x4D42): this is a pushgate register map", ""},
    {InputRegister, G, 2, 1, U16, Field::MapVersion, "map_version",
     "Version of this map; a change of layout changes it", ""},
    {InputRegister, G, 3, 1, U16, Field::SlotCount, "slot_count",
     "Terminal slots served (modbus.slot_count)", ""},
    {InputRegister, G, 4, 1, U16, Field::SlotBlockSize, "slot_block_size",
     "Input registers per slot block (64)", ""},
    {InputRegister, G, 5, 1, U16, Field::SlotBase, "slot_base", "Address of slot 1's block (100)",
     ""},
    {InputRegister, G, 6, 1, U16, Field::DoorsPerSlot, "doors_per_slot", "Doors shown per slot (4)",
     ""},
    {InputRegister, G, 7, 1, U16, Field::ViewSlot, "view_slot",
     "The slot this unit id shows at slot_base (0: flat layout, every slot)", ""},
    {InputRegister, G, 8, 2, U32, Field::Heartbeat, "heartbeat",
     "Counts up each time the image is refreshed (modbus.refresh_ms); stuck = gateway stuck", ""},
    {InputRegister, G, 10, 1, U16, Field::TerminalsOnline, "terminals_online",
     "Terminals heard from within modbus.offline_after_s", ""},
    {InputRegister, G, 11, 1, U16, Field::TerminalsKnown, "terminals_known",
     "Terminals the gateway knows", ""},
    {InputRegister, G, 12, 2, U32, Field::BacklogEvents, "backlog_events",
     "Events the MQTT sink has not delivered yet (metric pushgate_sink_backlog_events)",
     "0xFFFFFFFF (no MQTT sink running)"},
    {InputRegister, G, 14, 2, U32, Field::DiskFreeMib, "disk_free_mib",
     "Free space where the database lives, MiB", "0xFFFFFFFF"},
    {InputRegister, G, 16, 2, U32, Field::UptimeSeconds, "uptime_s",
     "Seconds since the Modbus server started", ""},
    {InputRegister, G, 18, 1, U16, Field::OutputsDeclared, "outputs_declared",
     "Named outputs declared (outputs.names)", ""},
    {InputRegister, G, 19, 2, U32, Field::OutputsBits, "outputs_bits",
     "Output n is bit n-1 (output 1 = least significant bit of the low word)", ""},
    {InputRegister, G, 21, 1, U16, Field::WritesEnabled, "writes_enabled",
     "1 when writes are accepted (modbus.writes_enabled) from some address", ""},
    {InputRegister, G, 22, 1, U16, Field::CoilsEnabled, "coils_enabled",
     "1 when the command coils are served (modbus.coils_enabled)", ""},
    {InputRegister, G, 32, 1, U16, Field::MailboxSeq, "mailbox_seq",
     "Echo of the last sequence number the mailbox took (0 after start)", ""},
    {InputRegister, G, 33, 1, U16, Field::MailboxStatus, "mailbox_status",
     "0 idle, 1 accepted, 2 queued, 3 sent, 4 done, 5 failed, 6 expired, 7 cancelled, "
     "8 rejected",
     ""},
    {InputRegister, G, 34, 1, I16, Field::MailboxReturnCode, "mailbox_return_code",
     "The terminal's Return= code for the command (0 ok, negative: error)",
     "0x8000 (-32768, no answer yet)"},
    {InputRegister, G, 35, 1, U16, Field::MailboxReason, "mailbox_reason",
     "Why it was rejected: 0 none, 1 unknown command, 2 bad slot, 3 empty slot, 4 bad door, "
     "5 bad argument, 6 store unavailable, 7 queue refused",
     ""},
    {InputRegister, G, 36, 2, U32, Field::MailboxCommandId, "mailbox_command_id",
     "Id of the queued command (REST /api/v1/commands/{id}); 0 none", ""},
    {InputRegister, G, 38, 1, U16, Field::MailboxCode, "mailbox_code",
     "Echo of the command code taken", ""},
    {InputRegister, G, 39, 1, U16, Field::MailboxSlot, "mailbox_slot",
     "Echo of the slot the command went to", ""},
    // --- input registers, slot block (offset in each 64-register block) -------
    {InputRegister, S, 0, 1, U16, Field::SlotState, "slot_state",
     "0 empty (no terminal in this slot), 1 offline, 2 online", ""},
    {InputRegister, S, 1, 1, U16, Field::SecondsSinceSeen, "seconds_since_seen",
     "Seconds since the terminal last talked to the gateway (capped at 65534)",
     "0xFFFF (never seen, or empty slot)"},
    {InputRegister, S, 2, kSerialWords, Ascii, Field::Serial, "serial",
     "Terminal serial number, 2 ASCII characters a register (high byte first), NUL padded",
     "all 0 (empty slot)"},
    {InputRegister, S, 16, 1, U16, Field::DoorContact, "door{n}_contact",
     "Door {n} sensor: 0 closed, 1 open, 2 no sensor, 3 undefined (rtstate 0b11)",
     "0xFFFF (not reported, terminal offline or empty slot)", 4, 4},
    {InputRegister, S, 17, 1, U16, Field::DoorRelay, "door{n}_relay",
     "Door {n} lock relay bit as reported: 0 connected, 1 disconnected",
     "0xFFFF (not reported, terminal offline or empty slot)", 4, 4},
    {InputRegister, S, 18, 1, U16, Field::DoorAlarm, "door{n}_alarm",
     "Door {n} alarm bits: 1 accidental open, 2 tamper, 4 duress password, 8 duress finger, "
     "16 sensor timeout, 32 mains failure, 64 battery failure, 128 reader removed",
     "0xFFFF (not reported, terminal offline or empty slot)", 4, 4},
    {InputRegister, S, 19, 1, U16, Field::DoorNormalOpen, "door{n}_normal_open",
     "Door {n} normal open: 1 on, 0 off (from events 205/204/11/10 and normal-open commands)",
     "0xFFFF (not known yet, terminal offline or empty slot)", 4, 4},
    {InputRegister, S, 32, 2, U32, Field::LastEventSeq, "last_event_seq",
     "Per-terminal sequence number of the last access or attendance event", "0 (none)"},
    {InputRegister, S, 34, 2, U32, Field::LastEventTime, "last_event_time",
     "Its time, Unix seconds UTC", "0xFFFFFFFF (none, or its time is unusable)"},
    {InputRegister, S, 36, 1, U16, Field::LastEventKind, "last_event_kind",
     "1 attendance, 2 access", "0xFFFF (none)"},
    {InputRegister, S, 37, 1, U16, Field::LastEventCode, "last_event_code",
     "Its event code (access) or attendance status", "0xFFFF (none or not sent)"},
    {InputRegister, S, 38, 1, U16, Field::LastEventDoor, "last_event_door", "Its door",
     "0xFFFF (none or not sent)"},
    {InputRegister, S, 39, 2, U32, Field::LastEventPin, "last_event_pin",
     "Its user PIN as a number", "0xFFFFFFFF (none); 0xFFFFFFFE (PIN not a number < 2^32-2)"},
    {InputRegister, S, 41, 2, U32, Field::AccessEvents, "access_events",
     "Access events stored since the gateway started (wraps)", ""},
    {InputRegister, S, 43, 2, U32, Field::AttendanceEvents, "attendance_events",
     "Attendance punches stored since the gateway started (wraps)", ""},
    {InputRegister, S, 45, 2, U32, Field::AlarmEvents, "alarm_events",
     "Alarm events stored since the gateway started (wraps)", ""},
    {InputRegister, S, 47, 2, U32, Field::DoorChanges, "door_changes",
     "Door state changes stored since the gateway started (wraps)", ""},
    {InputRegister, S, 49, 1, U16, Field::CoilStatus, "coil_status",
     "Status of the last command a coil of this slot queued (codes as mailbox_status)", ""},
    {InputRegister, S, 50, 1, I16, Field::CoilReturnCode, "coil_return_code",
     "The terminal's Return= code for it", "0x8000 (-32768, no answer yet)"},
    // --- discrete inputs, gateway block -----------------------------------------
    {DiscreteInput, G, 0, 1, Bit, Field::Output, "output_{n}",
     "Named output {n} (outputs.names, in order) is on", "", 32, 1},
    // --- holding registers: the command mailbox ---------------------------------
    {HoldingRegister, G, 0, 1, U16, Field::CommandCode, "command_code",
     "1 open door (argument: seconds 1..254), 2 normal open (argument 1 on, 0 off), "
     "3 cancel alarm, 4 lock (argument 1 lock, 0 unlock)",
     ""},
    {HoldingRegister, G, 1, 1, U16, Field::CommandSlot, "command_slot",
     "Slot of the terminal (0: this unit id's slot)", ""},
    {HoldingRegister, G, 2, 1, U16, Field::CommandDoor, "command_door", "Door 1..4", ""},
    {HoldingRegister, G, 3, 1, U16, Field::CommandArgument, "command_argument", "Per command code",
     ""},
    {HoldingRegister, G, 4, 1, U16, Field::CommandSeq, "command_seq",
     "Writing a value other than mailbox_seq queues the command", ""},
    // --- coils, slot block (offset in each 8-coil block; self-clearing) -------
    {Coil, S, 0, 1, Bit, Field::CoilOpenDoor, "open_door{n}",
     "Write 1: open door {n} for modbus.coil_open_seconds; reads 0", "", 4, 1},
    {Coil, S, 4, 1, Bit, Field::CoilCancelAlarm, "cancel_alarm",
     "Write 1: cancel the terminal's alarm; reads 0", ""},
};

constexpr std::uint32_t block_size(Space space, Block block) {
  switch (space) {
    case InputRegister:
      return block == G ? kGatewayBlockSize : kSlotBlockSize;
    case DiscreteInput:
      return block == G ? kDiscreteInputs : 0;
    case HoldingRegister:
      return block == G ? kHoldingSize : 0;
    case Coil:
      return block == S ? kCoilsPerSlot : 0;
  }
  return 0;
}

// Index of the first entry that leaves its block or overlaps an earlier
// one, or -1. Items are checked against every other item (the map is small).
constexpr int first_bad_entry(std::span<const Entry> map) {
  for (std::size_t i = 0; i < map.size(); ++i) {
    const Entry& a = map[i];
    if (a.repeat == 0 || (a.repeat > 1 && a.stride < a.words) || a.words == 0 ||
        (a.type == Bit && a.words != 1) || (a.type == U32 && a.words != 2)) {
      return static_cast<int>(i);
    }
    for (int n = 0; n < a.repeat; ++n) {
      std::uint32_t lo = a.offset + static_cast<std::uint32_t>(n) * a.stride;
      std::uint32_t hi = lo + a.words;
      if (hi > block_size(a.space, a.block)) {
        return static_cast<int>(i);
      }
      for (std::size_t j = 0; j < i; ++j) {
        const Entry& b = map[j];
        if (b.space != a.space || b.block != a.block) {
          continue;
        }
        for (int m = 0; m < b.repeat; ++m) {
          std::uint32_t blo = b.offset + static_cast<std::uint32_t>(m) * b.stride;
          if (lo < blo + b.words && blo < hi) {
            return static_cast<int>(i);
          }
        }
      }
    }
  }
  return -1;
}

static_assert(first_bad_entry(kMap) < 0, "register map: an entry leaves its block or overlaps");
static_assert(kSlotBase >= kGatewayBlockSize);
static_assert(kSlotBase + std::uint32_t{kMaxSlots} * kSlotBlockSize <= 65536);
static_assert(std::uint32_t{kMaxSlots} * kCoilsPerSlot <= 65536);

std::string replace_n(std::string_view text, int n) {
  std::string out(text);
  for (auto pos = out.find("{n}"); pos != std::string::npos; pos = out.find("{n}")) {
    out.replace(pos, 3, std::to_string(n));
  }
  return out;
}

std::string space_title(Space s) {
  switch (s) {
    case Coil:
      return "Coils (FC 1 read, FC 5/15 write)";
    case DiscreteInput:
      return "Discrete inputs (FC 2)";
    case InputRegister:
      return "Input registers (FC 4)";
    case HoldingRegister:
      return "Holding registers (FC 3 read, FC 6/16 write)";
  }
  return {};
}

std::string csv_field(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') {
      out += '"';
    }
    out += c;
  }
  return out + "\"";
}

std::string markdown_cell(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '|') {
      out += "\\|";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

std::span<const Entry> register_map() {
  return kMap;
}

std::vector<Item> expand(std::span<const Entry> map) {
  std::vector<Item> out;
  for (const auto& e : map) {
    for (int n = 1; n <= e.repeat; ++n) {
      out.push_back(Item{&e, n, e.repeat > 1 ? replace_n(e.name, n) : std::string(e.name),
                         e.repeat > 1 ? replace_n(e.description, n) : std::string(e.description),
                         static_cast<std::uint16_t>(e.offset + (n - 1) * e.stride)});
    }
  }
  return out;
}

std::string_view to_string(Space s) noexcept {
  switch (s) {
    case Coil:
      return "coil";
    case DiscreteInput:
      return "discrete_input";
    case InputRegister:
      return "input_register";
    case HoldingRegister:
      return "holding_register";
  }
  return "?";
}

std::string_view to_string(Type t) noexcept {
  switch (t) {
    case Bit:
      return "bit";
    case U16:
      return "uint16";
    case I16:
      return "int16";
    case U32:
      return "uint32";
    case Ascii:
      return "ascii";
  }
  return "?";
}

std::string_view to_string(Block b) noexcept {
  return b == G ? "gateway" : "slot";
}

std::uint32_t flat_address(const Entry& e, std::uint16_t offset, int slot) noexcept {
  if (e.block == G) {
    return offset;
  }
  auto index = static_cast<std::uint32_t>(slot > 0 ? slot - 1 : 0);
  if (e.space == Coil) {
    return index * kCoilsPerSlot + offset;
  }
  return kSlotBase + index * kSlotBlockSize + offset;
}

std::string reference(Space s, std::uint32_t address) {
  int prefix = 0;
  switch (s) {
    case Coil:
      prefix = 0;
      break;
    case DiscreteInput:
      prefix = 1;
      break;
    case InputRegister:
      prefix = 3;
      break;
    case HoldingRegister:
      prefix = 4;
      break;
  }
  char buf[16];
  if (address + 1 <= 9999) {
    std::snprintf(buf, sizeof buf, "%d%04u", prefix, address + 1);
  } else {
    std::snprintf(buf, sizeof buf, "%d%05u", prefix, address + 1);
  }
  return buf;
}

std::string render_markdown(int example_slots) {
  std::string out;
  out += "Map version " + std::to_string(kMapVersion) +
         ". Addresses are 0-based as sent on the wire; the reference column is the classic "
         "1-based notation (0xxxx coils, 1xxxx discrete inputs, 3xxxx input registers, 4xxxx "
         "holding registers; six digits past 9999). 32-bit values: high word first. Slot "
         "items are shown for slot 1; slot n is at the slot 1 address + (n-1) x " +
         std::to_string(kSlotBlockSize) + " for input registers and + (n-1) x " +
         std::to_string(kCoilsPerSlot) +
         " for coils. A per-slot unit id shows its slot at the slot 1 addresses.\n";
  const Space order[] = {InputRegister, DiscreteInput, HoldingRegister, Coil};
  auto items = expand(kMap);
  for (Space space : order) {
    for (Block block : {G, S}) {
      bool any = false;
      for (const auto& it : items) {
        any = any || (it.entry->space == space && it.entry->block == block);
      }
      if (!any) {
        continue;
      }
      out += "\n### " + space_title(space) + ", " +
             (block == G ? std::string("gateway block") : std::string("slot block")) + "\n\n";
      if (block == G) {
        out += "| address | reference | words | type | name | meaning | unknown reads |\n";
        out += "| ---: | ---: | ---: | --- | --- | --- | --- |\n";
      } else {
        out += "| offset | slot 1 address | reference |";
        for (int s = 2; s <= example_slots; ++s) {
          out += " slot " + std::to_string(s) + " |";
        }
        out += " words | type | name | meaning | unknown reads |\n";
        out += "| ---: | ---: | ---: |";
        for (int s = 2; s <= example_slots; ++s) {
          out += " ---: |";
        }
        out += " ---: | --- | --- | --- | --- |\n";
      }
      for (const auto& it : items) {
        const Entry& e = *it.entry;
        if (e.space != space || e.block != block) {
          continue;
        }
        auto a = flat_address(e, it.offset, 1);
        std::string row = "| ";
        if (block == S) {
          row += std::to_string(it.offset) + " | ";
        }
        row += std::to_string(a) + " | " + reference(space, a) + " | ";
        if (block == S) {
          for (int s = 2; s <= example_slots; ++s) {
            row += std::to_string(flat_address(e, it.offset, s)) + " | ";
          }
        }
        row += std::to_string(e.words) + " | " + std::string(to_string(e.type)) + " | `" + it.name +
               "` | " + markdown_cell(it.description) + " | " +
               markdown_cell(e.unknown.empty() ? std::string_view("-") : e.unknown) + " |\n";
        out += row;
      }
    }
  }
  return out;
}

std::string render_csv() {
  std::string out =
      "table,scope,name,address,reference,block_offset,words,type,unknown,description\n";
  for (const auto& it : expand(kMap)) {
    const Entry& e = *it.entry;
    auto a = flat_address(e, it.offset, 1);
    out += std::string(to_string(e.space)) + "," + std::string(to_string(e.block)) + "," + it.name +
           "," + std::to_string(a) + "," + reference(e.space, a) + "," + std::to_string(it.offset) +
           "," + std::to_string(e.words) + "," + std::string(to_string(e.type)) + "," +
           csv_field(e.unknown) + "," + csv_field(it.description) + "\n";
  }
  return out;
}

std::string validate_map(std::span<const Entry> map) {
  int bad = first_bad_entry(map);
  if (bad < 0) {
    return {};
  }
  return "entry " + std::to_string(bad) + " (" +
         std::string(map[static_cast<std::size_t>(bad)].name) +
         ") leaves its block, overlaps an earlier entry or has inconsistent words/type";
}

}  // namespace pushgate::adapters::modbus
