#pragma once

// The Modbus TCP requests the server acts on, decoded from the frame
// libmodbus received: pure, no I/O, never trusts the bytes (fuzzed by
// tests/fuzz/modbus_request_fuzz.cpp).
#include <cstdint>
#include <span>
#include <vector>

namespace pushgate::adapters::modbus {

/** Modbus exception codes the server answers with. */
enum class Exception : std::uint8_t {
  None = 0,
  IllegalFunction = 0x01,
  IllegalDataAddress = 0x02,
  IllegalDataValue = 0x03,
  ServerFailure = 0x04,
  GatewayPathUnavailable = 0x0A,
};

/** The MBAP header's length: the unit id is its last byte. */
inline constexpr std::size_t kMbapLength = 7;

/** One request: what it asks for, or what is wrong with it. */
struct Request {
  std::uint8_t unit = 0;
  std::uint8_t function = 0;
  bool read = false;   ///< FC 1, 2, 3, 4
  bool write = false;  ///< FC 5, 6, 15, 16
  bool coil = false;   ///< a coil or discrete-input function (bits, not registers)
  std::uint16_t address = 0;
  std::uint16_t count = 0;            ///< registers or bits asked for or written
  std::vector<std::uint16_t> values;  ///< FC 6 / 16
  std::vector<std::uint8_t> bits;     ///< FC 5 / 15, one 0/1 per coil
  /**
   * Set when the frame cannot be acted on: IllegalFunction for a function not
   * served (or a frame too short to hold one), IllegalDataValue for a
   * quantity outside the Modbus limits, a byte count that does not match, or
   * an FC 5 value other than 0xFF00/0x0000. Address ranges are the caller's.
   */
  Exception problem = Exception::None;
  /**
   * Bytes the MBAP length field says follow the frame received (libmodbus
   * sizes frames by function code, so for functions it does not know the
   * rest of the PDU is still unread); 0 otherwise.
   */
  std::size_t unread = 0;
};

/** Decodes a frame as modbus_receive returned it (MBAP header + PDU). */
Request decode_request(std::span<const std::uint8_t> adu);

}  // namespace pushgate::adapters::modbus
