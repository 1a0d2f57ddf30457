#include <gtest/gtest.h>

#include <vector>

#include "adapters/modbus/modbus_image.hpp"

namespace pushgate::adapters::modbus {
namespace {

std::uint16_t at(const std::vector<SlotView>& slots, std::uint16_t slot, std::uint16_t offset,
                 RegisterImage& image) {
  (void)slots;
  std::uint16_t v = 0;
  EXPECT_TRUE(image.read(0, Space::InputRegister, kSlotBase + (slot - 1u) * kSlotBlockSize + offset,
                         1, &v));
  return v;
}

TEST(ModbusImageTest, GatewayBlockHighWordFirstAndSentinels) {
  GatewayView g;
  g.slot_count = 3;
  g.heartbeat = 0x00012345;
  g.outputs_bits = 0x80000001;
  std::array<std::uint16_t, kGatewayBlockSize> b{};
  encode_gateway(g, b);
  EXPECT_EQ(b[0], 0x5047);
  EXPECT_EQ(b[1], 0x4D42);
  EXPECT_EQ(b[2], kMapVersion);
  EXPECT_EQ(b[3], 3);
  EXPECT_EQ(b[8], 0x0001);
  EXPECT_EQ(b[9], 0x2345);
  EXPECT_EQ(b[12], 0xFFFF) << "no MQTT sink: backlog unknown";
  EXPECT_EQ(b[13], 0xFFFF);
  EXPECT_EQ(b[19], 0x8000);
  EXPECT_EQ(b[20], 0x0001);
}

TEST(ModbusImageTest, OfflineTerminalDoorsReadUnknownNeverClosed) {
  SlotView s;
  s.sn = "CKJF202560310";
  s.online = true;
  s.seconds_since_seen = 3;
  s.doors[0].contact = 0;  // closed
  s.doors[0].relay = 0;
  s.doors[0].alarm = 0;
  std::array<std::uint16_t, kSlotBlockSize> b{};
  encode_slot(s, b);
  EXPECT_EQ(b[0], 2);
  EXPECT_EQ(b[1], 3);
  EXPECT_EQ(b[2], ('C' << 8) | 'K');
  EXPECT_EQ(b[7], ('3' << 8) | '1');
  EXPECT_EQ(b[8], ('0' << 8));
  EXPECT_EQ(b[9], 0);
  EXPECT_EQ(b[16], 0);
  EXPECT_EQ(b[20], 0xFFFF) << "door 2 was never reported";

  s.online = false;
  s.seconds_since_seen = 900;
  encode_slot(s, b);
  EXPECT_EQ(b[0], 1);
  EXPECT_EQ(b[1], 900);
  EXPECT_EQ(b[16], 0xFFFF);
  EXPECT_EQ(b[17], 0xFFFF);
  EXPECT_EQ(b[18], 0xFFFF);
}

TEST(ModbusImageTest, EmptySlotAndLastEvent) {
  std::array<std::uint16_t, kSlotBlockSize> b{};
  encode_slot(SlotView{}, b);
  EXPECT_EQ(b[0], 0);
  EXPECT_EQ(b[1], 0xFFFF);
  EXPECT_EQ(b[32], 0);
  EXPECT_EQ(b[34], 0xFFFF);
  EXPECT_EQ(b[36], 0xFFFF);
  EXPECT_EQ(b[50], kNoReturnCode);

  SlotView s;
  s.sn = "X";
  LastEvent e;
  e.seq = 70000;
  e.utc_s = 1700000000;
  e.kind = 2;
  e.code = 0;
  e.door = 1;
  e.pin = "1001";
  s.last = e;
  s.access_events = 5;
  s.coil = {CommandStatus::Failed, -12};
  encode_slot(s, b);
  EXPECT_EQ((b[32] << 16) | b[33], 70000);
  EXPECT_EQ((static_cast<std::uint32_t>(b[34]) << 16) | b[35], 1700000000u);
  EXPECT_EQ(b[36], 2);
  EXPECT_EQ(b[37], 0);
  EXPECT_EQ(b[38], 1);
  EXPECT_EQ((b[39] << 16) | b[40], 1001);
  EXPECT_EQ((b[41] << 16) | b[42], 5);
  EXPECT_EQ(b[49], 5);
  EXPECT_EQ(static_cast<std::int16_t>(b[50]), -12);
}

TEST(ModbusImageTest, PinValues) {
  EXPECT_EQ(pin_value(""), kUnknown32);
  EXPECT_EQ(pin_value("0"), 0u);
  EXPECT_EQ(pin_value("4294967293"), 4294967293u);
  EXPECT_EQ(pin_value("4294967294"), kUnknown32 - 1);
  EXPECT_EQ(pin_value("A12"), kUnknown32 - 1);
}

TEST(ModbusImageTest, FlatAndPerSlotViews) {
  RegisterImage image(3);
  EXPECT_EQ(image.size(0, Space::InputRegister), 100u + 3 * 64);
  EXPECT_EQ(image.size(2, Space::InputRegister), 164u);
  EXPECT_EQ(image.size(0, Space::Coil), 24u);
  EXPECT_EQ(image.size(1, Space::Coil), 8u);
  GatewayView g;
  g.slot_count = 3;
  std::vector<SlotView> slots(3);
  slots[1].sn = "B";
  slots[1].online = true;
  slots[1].doors[0].contact = 1;
  image.publish(g, slots);
  EXPECT_EQ(at(slots, 2, 16, image), 1);
  std::uint16_t v[2] = {};
  ASSERT_TRUE(image.read(2, Space::InputRegister, 116, 1, v));
  EXPECT_EQ(v[0], 1) << "unit 2 shows slot 2 at the slot 1 addresses";
  ASSERT_TRUE(image.read(2, Space::InputRegister, 7, 1, v));
  EXPECT_EQ(v[0], 2) << "view_slot";
  ASSERT_TRUE(image.read(0, Space::InputRegister, 7, 1, v));
  EXPECT_EQ(v[0], 0);
  EXPECT_FALSE(image.read(2, Space::InputRegister, 164, 1, v));
  EXPECT_FALSE(image.read(0, Space::InputRegister, 291, 2, v));
  EXPECT_FALSE(image.read(4, Space::InputRegister, 0, 1, v)) << "no such view";

  image.with_mailbox(1, [](MailboxView& m) {
    m.seq = 9;
    m.holding[0] = 1;
    return 0;
  });
  ASSERT_TRUE(image.read(1, Space::InputRegister, 32, 1, v));
  EXPECT_EQ(v[0], 9);
  ASSERT_TRUE(image.read(0, Space::InputRegister, 32, 1, v));
  EXPECT_EQ(v[0], 0) << "each unit id has its own mailbox";
  ASSERT_TRUE(image.read(1, Space::HoldingRegister, 0, 1, v));
  EXPECT_EQ(v[0], 1);

  image.set_coil_progress(3, {CommandStatus::Done, 0});
  ASSERT_TRUE(image.read(0, Space::InputRegister, 100 + 2 * 64 + 49, 2, v));
  EXPECT_EQ(v[0], 4);
  EXPECT_EQ(v[1], 0);
  image.publish(g, slots);
  ASSERT_TRUE(image.read(0, Space::InputRegister, 100 + 2 * 64 + 49, 1, v));
  EXPECT_EQ(v[0], 4) << "a refresh keeps the coil progress";
}

}  // namespace
}  // namespace pushgate::adapters::modbus
