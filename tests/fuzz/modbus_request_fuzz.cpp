// Fuzz target: Modbus TCP frames as a BMS (or anyone on the network) sends
// them, through the decoder the server acts on.
#include <cstddef>
#include <cstdint>
#include <span>

#include "adapters/modbus/modbus_protocol.hpp"
#include "tests/fuzz/zkpush_fuzz_support.hpp"

namespace mb = pushgate::adapters::modbus;
using pushgate::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const mb::Request r = mb::decode_request(std::span<const std::uint8_t>(data, size));
  require(!(r.read && r.write));
  if (r.problem == mb::Exception::None) {
    require(r.read || r.write);
    require(r.count >= 1);
    if (r.write) {
      require((r.coil ? r.bits.size() : r.values.size()) == r.count);
      for (auto b : r.bits) {
        require(b <= 1);
      }
    }
  } else {
    require(r.problem == mb::Exception::IllegalFunction ||
            r.problem == mb::Exception::IllegalDataValue);
  }
  require(r.unread <= 0xFFFF);
  return 0;
}
