// [dahua.devices."name"] keys (adapters/dahua/dahua_config): the door map and
// the time-zone schedules read into a device, and each bad entry refused
// with the key it is under.
#include "adapters/dahua/dahua_config.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "adapters/dahua/dahua_commands.hpp"

namespace pushgate::adapters::dahua {
namespace {

/** The [dahua] keys alone (a Config refers to its schema: this one lives on). */
const config::Schema& schema() {
  static const config::Schema s = [] {
    config::Schema d;
    DahuaConfig::declare(d);
    return d;
  }();
  return s;
}

config::Config::LoadResult load(std::vector<std::string> more) {
  std::vector<std::string> keys = {"dahua.enabled=true", "dahua.devices.d.host=127.0.0.1",
                                   "dahua.devices.d.user=admin",
                                   "dahua.devices.d.password=admin123"};
  keys.insert(keys.end(), more.begin(), more.end());
  return config::Config::load_string(schema(), "", keys);
}

TEST(DahuaConfig, SchedulesMapTimeZonesToTheDevicesScheduleAndZoneOneStaysAlways) {
  auto loaded =
      load({"dahua.devices.d.schedules=[\"3=4\", \"7=0\"]", "dahua.devices.d.door_map=[\"0=2\"]"});
  ASSERT_TRUE(loaded.config);
  EXPECT_TRUE(DahuaConfig::validate(*loaded.config).empty());
  const auto d = DahuaConfig::from(*loaded.config);
  ASSERT_EQ(d.devices.size(), 1u);
  const auto& dev = d.devices[0];
  EXPECT_EQ(dev.schedules, (std::map<std::int64_t, int>{{3, 4}, {7, 0}}));

  const auto p = make_profile(FirmwareApi::Current, dev.door_map, dev.schedules);
  EXPECT_EQ(p.time_section_of_zone, (std::map<std::int64_t, int>{{1, 255}, {3, 4}, {7, 0}}));
  EXPECT_EQ(p.doors.channel(2), 1);  // event Door 0 is gateway door 2, URL channel 1

  // A level of zone 3 reaches the device as schedule 4 on each of its doors.
  auto plan = plan_command("authorize_user",
                           nlohmann::json{{"pin", "5"}, {"doors", {2}}, {"time_zone_id", 3}}, p);
  ASSERT_EQ(plan.steps.size(), 1u);
  const auto u = nlohmann::json::parse(plan.steps[0].request.body)["UserList"][0];
  EXPECT_EQ(u["TimeSections"], nlohmann::json({4}));
  // Zone 2 is listed nowhere: refused, never widened to "always".
  auto unmapped = plan_command(
      "authorize_user", nlohmann::json{{"pin", "5"}, {"doors", {2}}, {"time_zone_id", 2}}, p);
  ASSERT_TRUE(unmapped.refused);
  EXPECT_EQ(*unmapped.refused, Outcome::Unsupported);
}

TEST(DahuaConfig, ZoneOneCanBeNarrowedToASchedule) {
  auto loaded = load({"dahua.devices.d.schedules=[\"1=2\"]"});
  ASSERT_TRUE(loaded.config);
  const auto dev = DahuaConfig::from(*loaded.config).devices.at(0);
  const auto p = make_profile(FirmwareApi::Current, dev.door_map, dev.schedules);
  EXPECT_EQ(p.time_section_of_zone, (std::map<std::int64_t, int>{{1, 2}}));
}

TEST(DahuaConfig, BadScheduleEntriesAreRefusedUnderTheirKey) {
  for (const std::string bad : {"3", "x=4", "0=4", "3=256", "3=-1", "70000=1"}) {
    auto loaded = load({"dahua.devices.d.schedules=[\"" + bad + "\"]"});
    ASSERT_TRUE(loaded.config) << bad;
    auto errors = DahuaConfig::validate(*loaded.config);
    ASSERT_EQ(errors.size(), 1u) << bad;
    EXPECT_EQ(errors[0].key, "dahua.devices.d.schedules");
    EXPECT_NE(errors[0].reason.find(bad), std::string::npos) << errors[0].reason;
    EXPECT_TRUE(DahuaConfig::from(*loaded.config).devices.at(0).schedules.empty()) << bad;
  }
  auto twice = load({"dahua.devices.d.schedules=[\"3=4\", \"3=5\"]"});
  ASSERT_TRUE(twice.config);
  auto errors = DahuaConfig::validate(*twice.config);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].key, "dahua.devices.d.schedules");
  EXPECT_NE(errors[0].reason.find("time zone 3 is listed twice"), std::string::npos);
}

}  // namespace
}  // namespace pushgate::adapters::dahua
