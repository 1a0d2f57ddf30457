#include <gtest/gtest.h>

#include <set>
#include <sstream>

#include "adapters/modbus/modbus_map.hpp"

namespace pushgate::adapters::modbus {
namespace {

TEST(ModbusMapTest, TheShippedMapIsConsistent) {
  EXPECT_EQ(validate_map(register_map()), "");
}

TEST(ModbusMapTest, OverlapsAndItemsOutsideTheirBlockAreCaught) {
  const Entry overlap[] = {
      {Space::InputRegister, Block::Gateway, 10, 2, Type::U32, Field::Heartbeat, "a", "", ""},
      {Space::InputRegister, Block::Gateway, 11, 1, Type::U16, Field::MapVersion, "b", "", ""},
  };
  EXPECT_NE(validate_map(overlap).find("(b)"), std::string::npos) << validate_map(overlap);
  const Entry outside[] = {
      {Space::InputRegister, Block::Slot, 16, 1, Type::U16, Field::DoorContact, "d{n}", "", "", 20,
       4},
  };
  EXPECT_NE(validate_map(outside), "");
  const Entry bad_u32[] = {
      {Space::InputRegister, Block::Gateway, 0, 1, Type::U32, Field::Heartbeat, "h", "", ""},
  };
  EXPECT_NE(validate_map(bad_u32), "");
}

TEST(ModbusMapTest, RepeatedEntriesExpandWithTheirNumber) {
  auto items = expand(register_map());
  std::vector<std::pair<std::string, int>> doors;
  for (const auto& it : items) {
    if (it.entry->field == Field::DoorContact) {
      doors.emplace_back(it.name, it.offset);
    }
  }
  ASSERT_EQ(doors.size(), kDoorsPerSlot);
  EXPECT_EQ(doors[0], (std::pair<std::string, int>{"door1_contact", 16}));
  EXPECT_EQ(doors[3], (std::pair<std::string, int>{"door4_contact", 28}));
  std::set<std::string> names;
  for (const auto& it : items) {
    EXPECT_TRUE(names.insert(it.name).second) << "duplicate name " << it.name;
    EXPECT_EQ(it.name.find("{n}"), std::string::npos);
    EXPECT_EQ(it.description.find("{n}"), std::string::npos);
  }
}

TEST(ModbusMapTest, AddressesAndReferences) {
  const Entry* contact = nullptr;
  const Entry* coil = nullptr;
  for (const auto& e : register_map()) {
    if (e.field == Field::DoorContact) {
      contact = &e;
    }
    if (e.field == Field::CoilCancelAlarm) {
      coil = &e;
    }
  }
  ASSERT_NE(contact, nullptr);
  ASSERT_NE(coil, nullptr);
  EXPECT_EQ(flat_address(*contact, 16, 1), 116u);
  EXPECT_EQ(flat_address(*contact, 16, 3), 100u + 2 * 64 + 16);
  EXPECT_EQ(flat_address(*coil, 4, 2), 12u);
  EXPECT_EQ(reference(Space::InputRegister, 0), "30001");
  EXPECT_EQ(reference(Space::InputRegister, 9998), "39999");
  EXPECT_EQ(reference(Space::InputRegister, 9999), "310000");
  EXPECT_EQ(reference(Space::Coil, 0), "00001");
  EXPECT_EQ(reference(Space::DiscreteInput, 31), "10032");
  EXPECT_EQ(reference(Space::HoldingRegister, 4), "40005");
}

TEST(ModbusMapTest, CsvHasOneRowPerItemAndMarkdownNamesEveryItem) {
  auto items = expand(register_map());
  std::istringstream csv(render_csv());
  std::string line;
  std::getline(csv, line);
  EXPECT_EQ(line, "table,scope,name,address,reference,block_offset,words,type,unknown,description");
  std::size_t rows = 0;
  while (std::getline(csv, line)) {
    ++rows;
  }
  EXPECT_EQ(rows, items.size());
  auto md = render_markdown();
  for (const auto& it : items) {
    EXPECT_NE(md.find("`" + it.name + "`"), std::string::npos) << it.name;
  }
  EXPECT_NE(md.find("| 0 | 30001 | 2 | ascii | `marker` |"), std::string::npos);
}

}  // namespace
}  // namespace pushgate::adapters::modbus
