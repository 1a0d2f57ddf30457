#include "adapters/modbus/modbus_protocol.hpp"

namespace pushgate::adapters::modbus {

namespace {

// Modbus application protocol v1.1b3 limits (also libmodbus's).
constexpr std::uint16_t kMaxReadBits = 2000;
constexpr std::uint16_t kMaxReadRegisters = 125;
constexpr std::uint16_t kMaxWriteBits = 1968;
constexpr std::uint16_t kMaxWriteRegisters = 123;

std::uint16_t be16(std::span<const std::uint8_t> b, std::size_t at) {
  return static_cast<std::uint16_t>((b[at] << 8) | b[at + 1]);
}

}  // namespace

Request decode_request(std::span<const std::uint8_t> adu) {
  Request r;
  if (adu.size() < kMbapLength + 1) {
    r.problem = Exception::IllegalFunction;
    return r;
  }
  r.unit = adu[kMbapLength - 1];
  r.function = adu[kMbapLength];
  // MBAP length counts the unit id and the PDU.
  const std::size_t declared = kMbapLength - 1 + be16(adu, 4);
  r.unread = declared > adu.size() ? declared - adu.size() : 0;
  const auto pdu = adu.subspan(kMbapLength);  // function code first
  switch (r.function) {
    case 0x01:
    case 0x02:
    case 0x03:
    case 0x04: {
      r.read = true;
      r.coil = r.function <= 0x02;
      if (pdu.size() < 5) {
        r.problem = Exception::IllegalDataValue;
        return r;
      }
      r.address = be16(pdu, 1);
      r.count = be16(pdu, 3);
      const std::uint16_t max = r.coil ? kMaxReadBits : kMaxReadRegisters;
      if (r.count < 1 || r.count > max) {
        r.problem = Exception::IllegalDataValue;
      }
      return r;
    }
    case 0x05:
    case 0x06: {
      r.write = true;
      r.coil = r.function == 0x05;
      r.count = 1;
      if (pdu.size() < 5) {
        r.problem = Exception::IllegalDataValue;
        return r;
      }
      r.address = be16(pdu, 1);
      const std::uint16_t value = be16(pdu, 3);
      if (r.coil) {
        if (value != 0xFF00 && value != 0x0000) {
          r.problem = Exception::IllegalDataValue;
        }
        r.bits.push_back(value == 0xFF00 ? 1 : 0);
      } else {
        r.values.push_back(value);
      }
      return r;
    }
    case 0x0F:
    case 0x10: {
      r.write = true;
      r.coil = r.function == 0x0F;
      if (pdu.size() < 6) {
        r.problem = Exception::IllegalDataValue;
        return r;
      }
      r.address = be16(pdu, 1);
      r.count = be16(pdu, 3);
      const std::uint8_t bytes = pdu[5];
      const std::size_t want = r.coil ? (std::size_t{r.count} + 7) / 8 : std::size_t{r.count} * 2;
      const std::uint16_t max = r.coil ? kMaxWriteBits : kMaxWriteRegisters;
      if (r.count < 1 || r.count > max || bytes != want || pdu.size() < 6 + want) {
        r.problem = Exception::IllegalDataValue;
        return r;
      }
      for (std::size_t i = 0; i < r.count; ++i) {
        if (r.coil) {
          r.bits.push_back(static_cast<std::uint8_t>((pdu[6 + i / 8] >> (i % 8)) & 1));
        } else {
          r.values.push_back(be16(pdu, 6 + 2 * i));
        }
      }
      return r;
    }
    default:
      // Diagnostics, mask write, read/write multiple, file records, device
      // identification…: not served.
      r.problem = Exception::IllegalFunction;
      return r;
  }
}

}  // namespace pushgate::adapters::modbus
