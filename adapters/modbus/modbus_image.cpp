#include "adapters/modbus/modbus_image.hpp"

#include <algorithm>
#include <charconv>
#include <stdexcept>

namespace pushgate::adapters::modbus {

namespace {

void put16(std::span<std::uint16_t> block, std::uint16_t offset, std::uint16_t v) {
  block[offset] = v;
}

void put32(std::span<std::uint16_t> block, std::uint16_t offset, std::uint32_t v) {
  block[offset] = static_cast<std::uint16_t>(v >> 16);  // high word first
  block[offset + 1] = static_cast<std::uint16_t>(v & 0xFFFF);
}

void put_ascii(std::span<std::uint16_t> block, std::uint16_t offset, std::uint16_t words,
               std::string_view text) {
  for (std::uint16_t w = 0; w < words; ++w) {
    std::size_t i = std::size_t{w} * 2;
    auto hi = i < text.size() ? static_cast<unsigned char>(text[i]) : 0u;
    auto lo = i + 1 < text.size() ? static_cast<unsigned char>(text[i + 1]) : 0u;
    block[offset + w] = static_cast<std::uint16_t>((hi << 8) | lo);
  }
}

std::uint16_t or_unknown(const std::optional<std::uint16_t>& v) {
  return v ? *v : kUnknown16;
}

std::uint32_t clamp32(std::optional<std::uint64_t> v) {
  if (!v) {
    return kUnknown32;
  }
  return static_cast<std::uint32_t>(std::min<std::uint64_t>(*v, kUnknown32 - 1));
}

std::uint16_t return_code(const std::optional<std::int64_t>& rc) {
  if (!rc) {
    return kNoReturnCode;
  }
  auto v = std::clamp<std::int64_t>(*rc, -32767, 32767);
  return static_cast<std::uint16_t>(static_cast<std::int16_t>(v));
}

void encode_coil(const CommandProgress& p, std::span<std::uint16_t> block) {
  for (const auto& e : register_map()) {
    if (e.space != Space::InputRegister || e.block != Block::Slot) {
      continue;
    }
    if (e.field == Field::CoilStatus) {
      put16(block, e.offset, static_cast<std::uint16_t>(p.status));
    } else if (e.field == Field::CoilReturnCode) {
      put16(block, e.offset, return_code(p.return_code));
    }
  }
}

}  // namespace

std::uint32_t pin_value(const std::string& pin) noexcept {
  if (pin.empty()) {
    return kUnknown32;
  }
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(pin.data(), pin.data() + pin.size(), v);
  if (ec != std::errc{} || p != pin.data() + pin.size() || v >= kUnknown32 - 1) {
    return kUnknown32 - 1;
  }
  return static_cast<std::uint32_t>(v);
}

void encode_gateway(const GatewayView& g, std::span<std::uint16_t, kGatewayBlockSize> block) {
  for (const auto& e : register_map()) {
    if (e.space != Space::InputRegister || e.block != Block::Gateway) {
      continue;
    }
    switch (e.field) {
      case Field::Marker:
        put16(block, e.offset, kMarker[0]);
        put16(block, e.offset + 1, kMarker[1]);
        break;
      case Field::MapVersion:
        put16(block, e.offset, kMapVersion);
        break;
      case Field::SlotCount:
        put16(block, e.offset, g.slot_count);
        break;
      case Field::SlotBlockSize:
        put16(block, e.offset, kSlotBlockSize);
        break;
      case Field::SlotBase:
        put16(block, e.offset, kSlotBase);
        break;
      case Field::DoorsPerSlot:
        put16(block, e.offset, kDoorsPerSlot);
        break;
      case Field::Heartbeat:
        put32(block, e.offset, g.heartbeat);
        break;
      case Field::TerminalsOnline:
        put16(block, e.offset, g.terminals_online);
        break;
      case Field::TerminalsKnown:
        put16(block, e.offset, g.terminals_known);
        break;
      case Field::BacklogEvents:
        put32(block, e.offset, clamp32(g.backlog_events));
        break;
      case Field::DiskFreeMib:
        put32(block, e.offset, clamp32(g.disk_free_mib));
        break;
      case Field::UptimeSeconds:
        put32(block, e.offset, g.uptime_s);
        break;
      case Field::OutputsDeclared:
        put16(block, e.offset, g.outputs_declared);
        break;
      case Field::OutputsBits:
        put32(block, e.offset, g.outputs_bits);
        break;
      case Field::WritesEnabled:
        put16(block, e.offset, g.writes_enabled ? 1 : 0);
        break;
      case Field::CoilsEnabled:
        put16(block, e.offset, g.coils_enabled ? 1 : 0);
        break;
      default:
        break;  // per-view fields: encode_view
    }
  }
}

void encode_view(std::uint16_t view_slot, const MailboxView& m,
                 std::span<std::uint16_t, kGatewayBlockSize> block) {
  for (const auto& e : register_map()) {
    if (e.space != Space::InputRegister || e.block != Block::Gateway) {
      continue;
    }
    switch (e.field) {
      case Field::ViewSlot:
        put16(block, e.offset, view_slot);
        break;
      case Field::MailboxSeq:
        put16(block, e.offset, m.seq);
        break;
      case Field::MailboxStatus:
        put16(block, e.offset, static_cast<std::uint16_t>(m.progress.status));
        break;
      case Field::MailboxReturnCode:
        put16(block, e.offset, return_code(m.progress.return_code));
        break;
      case Field::MailboxReason:
        put16(block, e.offset, static_cast<std::uint16_t>(m.reason));
        break;
      case Field::MailboxCommandId:
        put32(block, e.offset, static_cast<std::uint32_t>(m.command_id));
        break;
      case Field::MailboxCode:
        put16(block, e.offset, m.code);
        break;
      case Field::MailboxSlot:
        put16(block, e.offset, m.slot);
        break;
      default:
        break;
    }
  }
}

void encode_slot(const SlotView& s, std::span<std::uint16_t, kSlotBlockSize> block) {
  std::fill(block.begin(), block.end(), std::uint16_t{0});
  const bool present = !s.sn.empty();
  for (const auto& e : register_map()) {
    if (e.space != Space::InputRegister || e.block != Block::Slot) {
      continue;
    }
    for (int n = 0; n < e.repeat; ++n) {
      auto off = static_cast<std::uint16_t>(e.offset + n * e.stride);
      // An offline terminal's doors read unknown, never the last state seen.
      const DoorView none{};
      const DoorView& d = (present && s.online) ? s.doors[static_cast<std::size_t>(n)] : none;
      const LastEvent* last = present && s.last ? &*s.last : nullptr;
      switch (e.field) {
        case Field::SlotState:
          put16(block, off, !present ? 0 : (s.online ? 2 : 1));
          break;
        case Field::SecondsSinceSeen:
          put16(block, off,
                present && s.seconds_since_seen
                    ? static_cast<std::uint16_t>(
                          std::clamp<std::int64_t>(*s.seconds_since_seen, 0, 65534))
                    : kUnknown16);
          break;
        case Field::Serial:
          put_ascii(block, off, e.words, s.sn);
          break;
        case Field::DoorContact:
          put16(block, off, or_unknown(d.contact));
          break;
        case Field::DoorRelay:
          put16(block, off, or_unknown(d.relay));
          break;
        case Field::DoorAlarm:
          put16(block, off, or_unknown(d.alarm));
          break;
        case Field::DoorNormalOpen:
          put16(block, off, or_unknown(d.normal_open));
          break;
        case Field::LastEventSeq:
          put32(block, off, last ? static_cast<std::uint32_t>(last->seq) : 0);
          break;
        case Field::LastEventTime:
          put32(block, off,
                last && last->utc_s && *last->utc_s >= 0 && *last->utc_s < kUnknown32
                    ? static_cast<std::uint32_t>(*last->utc_s)
                    : kUnknown32);
          break;
        case Field::LastEventKind:
          put16(block, off, last ? static_cast<std::uint16_t>(last->kind) : kUnknown16);
          break;
        case Field::LastEventCode:
          put16(block, off,
                last && last->code && *last->code >= 0 && *last->code < 0xFFFF
                    ? static_cast<std::uint16_t>(*last->code)
                    : kUnknown16);
          break;
        case Field::LastEventDoor:
          put16(block, off,
                last && last->door && *last->door >= 0 && *last->door < 0xFFFF
                    ? static_cast<std::uint16_t>(*last->door)
                    : kUnknown16);
          break;
        case Field::LastEventPin:
          put32(block, off, last ? pin_value(last->pin) : kUnknown32);
          break;
        case Field::AccessEvents:
          put32(block, off, present ? s.access_events : 0);
          break;
        case Field::AttendanceEvents:
          put32(block, off, present ? s.attendance_events : 0);
          break;
        case Field::AlarmEvents:
          put32(block, off, present ? s.alarm_events : 0);
          break;
        case Field::DoorChanges:
          put32(block, off, present ? s.door_changes : 0);
          break;
        case Field::CoilStatus:
        case Field::CoilReturnCode:
          break;  // encode_coil
        default:
          break;
      }
    }
  }
  encode_coil(s.coil, block);
}

RegisterImage::RegisterImage(std::uint16_t slot_count)
    : slot_count_(slot_count),
      slots_(std::size_t{slot_count} * kSlotBlockSize, 0),
      coil_progress_(slot_count),
      mailboxes_(std::size_t{slot_count} + 1) {
  GatewayView g;
  g.slot_count = slot_count;
  encode_gateway(g, gateway_);
  SlotView empty;
  for (std::uint16_t s = 0; s < slot_count; ++s) {
    encode_slot(empty, std::span<std::uint16_t, kSlotBlockSize>(
                           slots_.data() + std::size_t{s} * kSlotBlockSize, kSlotBlockSize));
  }
}

std::uint32_t RegisterImage::size(std::uint16_t view, Space space) const noexcept {
  std::uint32_t slots = view == 0 ? slot_count_ : 1;
  switch (space) {
    case Space::InputRegister:
      return kSlotBase + slots * kSlotBlockSize;
    case Space::HoldingRegister:
      return kHoldingSize;
    case Space::DiscreteInput:
      return kDiscreteInputs;
    case Space::Coil:
      return slots * kCoilsPerSlot;
  }
  return 0;
}

void RegisterImage::publish(const GatewayView& g, const std::vector<SlotView>& slots) {
  std::array<std::uint16_t, kGatewayBlockSize> gw{};
  encode_gateway(g, gw);
  std::vector<std::uint16_t> blocks(slots_.size(), 0);
  std::lock_guard lock(mutex_);
  for (std::uint16_t s = 0; s < slot_count_; ++s) {
    SlotView v = s < slots.size() ? slots[s] : SlotView{};
    v.coil = coil_progress_[s];
    encode_slot(v, std::span<std::uint16_t, kSlotBlockSize>(
                       blocks.data() + std::size_t{s} * kSlotBlockSize, kSlotBlockSize));
  }
  gateway_ = gw;
  slots_.swap(blocks);
  outputs_bits_ = g.outputs_bits;
}

void RegisterImage::set_coil_progress(std::uint16_t slot, CommandProgress p) {
  std::lock_guard lock(mutex_);
  if (slot == 0 || slot > slot_count_) {
    return;
  }
  coil_progress_[slot - 1u] = p;
  encode_coil(p, std::span<std::uint16_t>(slots_.data() + std::size_t{slot - 1u} * kSlotBlockSize,
                                          kSlotBlockSize));
}

bool RegisterImage::read(std::uint16_t view, Space space, std::uint32_t address,
                         std::uint32_t count, std::uint16_t* out) const {
  if (view > slot_count_ || address + count > size(view, space)) {
    return false;
  }
  std::lock_guard lock(mutex_);
  switch (space) {
    case Space::InputRegister: {
      if (address < kGatewayBlockSize) {
        std::array<std::uint16_t, kGatewayBlockSize> gw = gateway_;
        encode_view(view, mailboxes_[view], gw);
        for (std::uint32_t a = address; a < std::min<std::uint32_t>(address + count, kSlotBase);
             ++a) {
          out[a - address] = a < kGatewayBlockSize ? gw[a] : 0;
        }
      }
      if (address + count > kSlotBase) {
        std::uint32_t from = std::max(address, std::uint32_t{kSlotBase});
        // Flat: slot blocks in order; a per-slot view: only its slot, at slot 1's place.
        std::size_t base = view == 0 ? 0 : std::size_t{view - 1u} * kSlotBlockSize;
        std::copy_n(slots_.data() + base + (from - kSlotBase), address + count - from,
                    out + (from - address));
      }
      return true;
    }
    case Space::HoldingRegister:
      std::copy_n(mailboxes_[view].holding.data() + address, count, out);
      return true;
    case Space::DiscreteInput:
      for (std::uint32_t i = 0; i < count; ++i) {
        out[i] = (outputs_bits_ >> (address + i)) & 1u;
      }
      return true;
    case Space::Coil:
      std::fill_n(out, count, std::uint16_t{0});  // self-clearing
      return true;
  }
  return false;
}

}  // namespace pushgate::adapters::modbus
