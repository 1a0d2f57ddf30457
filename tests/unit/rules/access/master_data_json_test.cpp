#include "rules/access/master_data_json.hpp"

#include <gtest/gtest.h>

namespace pushgate::rules::access {
namespace {

using nlohmann::json;

bool has_error(const std::vector<FieldError>& errors, const std::string& field) {
  for (const auto& e : errors) {
    if (e.field == field) {
      return true;
    }
  }
  return false;
}

TEST(MasterDataJsonTest, UserRoundTrips) {
  auto j = json::parse(R"({"pin":"100","name":"Ana","password":"1234","group":3,
    "cards":["123456",{"number":"ABCDEF","lost":true}],"valid_from":"2026-01-01",
    "valid_until":"2026-12-31","levels":[1,2,2],"blacklisted":true})");
  auto p = user_from_json(j);
  ASSERT_TRUE(p.ok()) << p.errors[0].field << ": " << p.errors[0].message;
  EXPECT_EQ(p.value->cards.size(), 2u);
  EXPECT_TRUE(p.value->cards[1].lost);
  EXPECT_EQ(p.value->levels, (std::vector<int>{1, 2}));
  EXPECT_EQ(format_local_time(*p.value->valid_until), "2026-12-31 23:59:59");
  auto back = user_from_json(to_json(*p.value, true));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back.value->password, "1234");
  EXPECT_EQ(to_json(*back.value, true), to_json(*p.value, true));
  EXPECT_FALSE(to_json(*p.value).contains("password"));
}

TEST(MasterDataJsonTest, UserErrorsNameEachField) {
  auto p = user_from_json(json::parse(R"({"pin":"12a","cards":["0","1","1"],
    "valid_from":"2026-13-01","privilege":99,"colour":"red"})"));
  EXPECT_FALSE(p.ok());
  EXPECT_TRUE(has_error(p.errors, "pin"));
  EXPECT_TRUE(has_error(p.errors, "cards[0]"));
  EXPECT_TRUE(has_error(p.errors, "cards[2]"));
  EXPECT_TRUE(has_error(p.errors, "valid_from"));
  EXPECT_TRUE(has_error(p.errors, "privilege"));
  EXPECT_TRUE(has_error(p.errors, "colour"));
  EXPECT_TRUE(has_error(user_from_json(json::array()).errors, ""));
  EXPECT_TRUE(has_error(user_from_json(json::parse(R"({"name":"x\ty"})")).errors, "name"));
}

TEST(MasterDataJsonTest, TimeZoneRoundTripsAndRejectsBadPeriods) {
  auto p = timezone_from_json(
      json::parse(R"({"id":2,"mon":["08:00-12:00","13:00-17:30"],"hol1":["10:00-11:00"]})"));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p.value->days[1][1], (Period{13 * 60, 17 * 60 + 30}));
  EXPECT_EQ(to_json(*timezone_from_json(to_json(*p.value)).value), to_json(*p.value));
  auto bad =
      timezone_from_json(json::parse(R"({"id":0,"tue":["12:00-08:00"],"wed":["a","b","c","d"]})"));
  EXPECT_TRUE(has_error(bad.errors, "id"));
  EXPECT_TRUE(has_error(bad.errors, "tue[0]"));
  EXPECT_TRUE(has_error(bad.errors, "wed"));
}

TEST(MasterDataJsonTest, LevelDoorAreaHoliday) {
  auto level = level_from_json(json::parse(R"({"id":1,"timezone":1,"doors":["SN1/1","SN2/2"]})"));
  ASSERT_TRUE(level.ok());
  EXPECT_EQ(level.value->doors[1], (DoorRef{"SN2", 2}));
  EXPECT_TRUE(has_error(
      level_from_json(json::parse(R"({"id":1,"timezone":1,"doors":["SN1"]})")).errors, "doors[0]"));
  auto door = door_from_json(json::parse(
      R"({"terminal":"SN1","door":1,"open_s":9,"multi_card":true,"multi_card_groups":[[1,2]]})"));
  ASSERT_TRUE(door.ok());
  EXPECT_EQ(to_json(*door_from_json(to_json(*door.value)).value), to_json(*door.value));
  EXPECT_TRUE(has_error(door_from_json(json::parse(R"({"terminal":"SN1","door":1,
    "multi_card":true})"))
                            .errors,
                        "multi_card_groups"));
  auto area = area_from_json(json::parse(R"({"id":1,"apb":"soft","reset_s":60})"));
  ASSERT_TRUE(area.ok());
  EXPECT_EQ(area.value->apb, ApbMode::Soft);
  EXPECT_TRUE(has_error(area_from_json(json::parse(R"({"id":1,"apb":"maybe"})")).errors, "apb"));
  auto h = holiday_from_json(json::parse(R"({"date":"2026-02-29"})"));
  EXPECT_TRUE(has_error(h.errors, "date"));
  EXPECT_TRUE(holiday_from_json(json::parse(R"({"date":"2028-02-29","yearly":true})")).ok());
}

TEST(MasterDataJsonTest, ReferencesAreCheckedAgainstTheData) {
  MasterData data;
  User holder;
  holder.pin = "1";
  holder.cards = {Card{"77", false}};
  data.set_user(holder);
  User u;
  u.pin = "2";
  u.cards = {Card{"77", false}};
  u.levels = {5};
  auto errors = check_references(data, u);
  EXPECT_TRUE(has_error(errors, "levels[0]"));
  EXPECT_TRUE(has_error(errors, "cards[0]"));
  Level l;
  l.timezone = 3;
  EXPECT_TRUE(has_error(check_references(data, l), "timezone"));
  DoorSettings d;
  d.area_in = 4;
  EXPECT_TRUE(has_error(check_references(data, d), "area_in"));
}

}  // namespace
}  // namespace pushgate::rules::access
