#include <gtest/gtest.h>

#include "adapters/modbus/modbus_config.hpp"

namespace pushgate::adapters::modbus {
namespace {

TEST(ModbusConfigTest, AllowListMatchesAddressesAndNetworks) {
  std::string error;
  auto list = AllowList::parse({"127.0.0.1", "10.1.0.0/16", "fd00::/8"}, error);
  ASSERT_EQ(error, "");
  EXPECT_TRUE(list.allows("127.0.0.1"));
  EXPECT_FALSE(list.allows("127.0.0.2"));
  EXPECT_TRUE(list.allows("10.1.200.3"));
  EXPECT_FALSE(list.allows("10.2.0.1"));
  EXPECT_TRUE(list.allows("::ffff:10.1.0.9")) << "IPv4 client on a dual-stack socket";
  EXPECT_TRUE(list.allows("fd12::1"));
  EXPECT_FALSE(list.allows("fe80::1"));
  EXPECT_FALSE(list.allows("garbage"));
  EXPECT_FALSE(AllowList::parse({}, error).allows("127.0.0.1")) << "empty: nobody";
}

TEST(ModbusConfigTest, BadEntriesAreNamed) {
  std::string error;
  AllowList::parse({"10.0.0.0/33"}, error);
  EXPECT_NE(error.find("10.0.0.0/33"), std::string::npos);
  error.clear();
  AllowList::parse({"bms.local"}, error);
  EXPECT_NE(error.find("bms.local"), std::string::npos);
  error.clear();
  AllowList::parse({"10.0.0.0/x"}, error);
  EXPECT_NE(error.find("prefix"), std::string::npos);
}

TEST(ModbusConfigTest, ValidateCatchesUnitIdClashAndDuplicateSerials) {
  ModbusConfig c;
  c.slot_count = 16;
  c.flat_unit_id = 255;
  EXPECT_EQ(c.validate(), "");
  c.flat_unit_id = 3;
  EXPECT_NE(c.validate().find("flat_unit_id"), std::string::npos);
  c.flat_unit_id = 0;
  c.slots = {"A", "", "A"};
  EXPECT_NE(c.validate().find("twice"), std::string::npos);
  c.slots = std::vector<std::string>(17, "");
  EXPECT_NE(c.validate().find("17"), std::string::npos);
}

}  // namespace
}  // namespace pushgate::adapters::modbus
