#include "gateway/outputs.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace pushgate {
namespace {

TEST(Outputs, DeclaredInOrderWithoutRepeatsOrBlanks) {
  Outputs o({"siren", "", "beacon", "siren"});
  ASSERT_EQ(o.size(), 2U);
  EXPECT_EQ(o.index("siren"), 0U);
  EXPECT_EQ(o.index("beacon"), 1U);
  EXPECT_FALSE(o.index("horn"));
}

TEST(Outputs, AtMostKMax) {
  std::vector<std::string> names;
  for (std::size_t i = 0; i < Outputs::kMax + 5; ++i) {
    names.push_back("o" + std::to_string(i));
  }
  Outputs o(names);
  EXPECT_EQ(o.size(), Outputs::kMax);
  EXPECT_FALSE(o.index("o32"));
}

TEST(Outputs, SetCountsOnlyChangesAndNotifies) {
  Outputs o({"siren"});
  std::vector<bool> seen;
  o.add_observer([&](std::size_t i, const std::string& name, const Outputs::State& s) {
    EXPECT_EQ(i, 0U);
    EXPECT_EQ(name, "siren");
    seen.push_back(s.on);
  });
  EXPECT_TRUE(o.set("siren", true, 1000));
  EXPECT_TRUE(o.set("siren", true, 2000));  // no change
  EXPECT_TRUE(o.set("siren", false, 3000));
  EXPECT_FALSE(o.set("horn", true, 3000));
  EXPECT_EQ(seen, (std::vector<bool>{true, false}));
  auto s = o.get("siren");
  ASSERT_TRUE(s);
  EXPECT_FALSE(s->on);
  EXPECT_EQ(s->changes, 2U);
  EXPECT_EQ(s->changed_ms, 3000);
}

TEST(Outputs, PulseEndsOnTickAtItsTime) {
  Outputs o({"beacon"});
  EXPECT_TRUE(o.pulse("beacon", 5000, 10'000));
  o.tick(14'999);
  EXPECT_TRUE(o.at(0).on);
  o.tick(15'000);
  EXPECT_FALSE(o.at(0).on);
  EXPECT_EQ(o.at(0).changed_ms, 15'000);
  EXPECT_EQ(o.at(0).changes, 2U);
}

TEST(Outputs, SetCancelsAPendingPulse) {
  Outputs o({"beacon"});
  o.pulse("beacon", 1000, 0);
  o.set("beacon", true, 10);
  o.tick(5000);
  EXPECT_TRUE(o.at(0).on);
}

TEST(Outputs, UnknownIndexReadsOff) {
  Outputs o;
  EXPECT_FALSE(o.at(3).on);
}

}  // namespace
}  // namespace pushgate
