#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "adapters/modbus/modbus_protocol.hpp"

namespace pushgate::adapters::modbus {
namespace {

// An MBAP header (transaction 1, protocol 0, length = unit + pdu) + unit + pdu.
std::vector<std::uint8_t> frame(std::uint8_t unit, std::vector<std::uint8_t> pdu,
                                int extra_length = 0) {
  auto len = static_cast<int>(pdu.size()) + 1 + extra_length;
  std::vector<std::uint8_t> f(7 + pdu.size());
  f[1] = 1;
  f[4] = static_cast<std::uint8_t>(len >> 8);
  f[5] = static_cast<std::uint8_t>(len & 0xFF);
  f[6] = unit;
  std::copy(pdu.begin(), pdu.end(), f.begin() + 7);
  return f;
}

TEST(ModbusProtocolTest, Reads) {
  auto r = decode_request(frame(255, {0x04, 0x00, 0x64, 0x00, 0x7D}));
  EXPECT_TRUE(r.read);
  EXPECT_FALSE(r.write);
  EXPECT_FALSE(r.coil);
  EXPECT_EQ(r.unit, 255);
  EXPECT_EQ(r.address, 100);
  EXPECT_EQ(r.count, 125);
  EXPECT_EQ(r.problem, Exception::None);
  EXPECT_EQ(decode_request(frame(1, {0x04, 0, 0, 0, 126})).problem, Exception::IllegalDataValue);
  EXPECT_EQ(decode_request(frame(1, {0x03, 0, 0, 0, 0})).problem, Exception::IllegalDataValue);
  auto bits = decode_request(frame(1, {0x02, 0, 0, 0x07, 0xD0}));
  EXPECT_TRUE(bits.coil);
  EXPECT_EQ(bits.count, 2000);
  EXPECT_EQ(bits.problem, Exception::None);
  EXPECT_EQ(decode_request(frame(1, {0x01, 0, 0, 0x07, 0xD1})).problem,
            Exception::IllegalDataValue);
  EXPECT_EQ(decode_request(frame(1, {0x04, 0, 0})).problem, Exception::IllegalDataValue)
      << "truncated";
}

TEST(ModbusProtocolTest, Writes) {
  auto one = decode_request(frame(2, {0x06, 0x00, 0x04, 0x12, 0x34}));
  EXPECT_TRUE(one.write);
  EXPECT_EQ(one.address, 4);
  EXPECT_EQ(one.values, std::vector<std::uint16_t>{0x1234});
  auto coil = decode_request(frame(2, {0x05, 0x00, 0x01, 0xFF, 0x00}));
  EXPECT_TRUE(coil.coil);
  EXPECT_EQ(coil.bits, std::vector<std::uint8_t>{1});
  EXPECT_EQ(decode_request(frame(2, {0x05, 0, 1, 0x12, 0x34})).problem,
            Exception::IllegalDataValue);
  auto many = decode_request(frame(255, {0x10, 0, 0, 0, 2, 4, 0, 1, 0, 41}));
  EXPECT_EQ(many.problem, Exception::None);
  EXPECT_EQ(many.values, (std::vector<std::uint16_t>{1, 41}));
  EXPECT_EQ(decode_request(frame(255, {0x10, 0, 0, 0, 2, 3, 0, 1, 0})).problem,
            Exception::IllegalDataValue)
      << "byte count does not match";
  EXPECT_EQ(decode_request(frame(255, {0x10, 0, 0, 0, 2, 4, 0, 1})).problem,
            Exception::IllegalDataValue)
      << "values missing";
  auto coils = decode_request(frame(255, {0x0F, 0, 8, 0, 10, 2, 0b00010001, 0b10}));
  EXPECT_EQ(coils.problem, Exception::None);
  EXPECT_EQ(coils.bits, (std::vector<std::uint8_t>{1, 0, 0, 0, 1, 0, 0, 0, 0, 1}));
}

TEST(ModbusProtocolTest, FunctionsNotServedAndWhatIsLeftUnread) {
  auto diag = decode_request(frame(1, {0x08, 0x00}, 3));
  EXPECT_EQ(diag.problem, Exception::IllegalFunction);
  EXPECT_EQ(diag.unread, 3u);
  EXPECT_EQ(decode_request(frame(1, {0x16, 0, 0})).problem, Exception::IllegalFunction)
      << "mask write would bypass the mailbox";
  EXPECT_EQ(decode_request(frame(1, {0x17})).problem, Exception::IllegalFunction);
  EXPECT_EQ(decode_request(std::vector<std::uint8_t>{0, 1, 0}).problem, Exception::IllegalFunction);
  EXPECT_EQ(decode_request(frame(1, {0x04, 0, 0, 0, 1})).unread, 0u);
}

}  // namespace
}  // namespace pushgate::adapters::modbus
