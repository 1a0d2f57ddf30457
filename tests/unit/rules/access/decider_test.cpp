#include "rules/access/decider.hpp"

#include <gtest/gtest.h>

#include "rules/access/master_data_json.hpp"

namespace pushgate::rules::access {
namespace {

using namespace std::chrono_literals;

// The fake clock of these tests: a site wall time and the matching UTC
// milliseconds move together (the site is on UTC here; the gateway converts).
struct Clock {
  date::local_seconds local = date::local_days{date::year{2026} / 11 / 16} + 9h;  // a Monday
  std::int64_t ms() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(local.time_since_epoch()).count();
  }
  void set(int y, unsigned m, unsigned d, int hh, int mm, int ss = 0) {
    local = date::local_days{date::year{y} / m / d} + std::chrono::hours(hh) +
            std::chrono::minutes(mm) + std::chrono::seconds(ss);
  }
  void advance(std::chrono::seconds s) { local += s; }
};

TimeZone office_hours() {
  // Mon-Fri 08:00-12:00 and 13:00-17:30; holiday type 1: 10:00-11:00; none on weekends.
  TimeZone tz;
  tz.id = 2;
  for (int d = 1; d <= 5; ++d) {
    tz.days[static_cast<std::size_t>(d)] = {Period{8 * 60, 12 * 60}, Period{13 * 60, 17 * 60 + 30},
                                            Period{}};
  }
  tz.holidays[0] = {Period{10 * 60, 11 * 60}, Period{}, Period{}};
  return tz;
}

TimeZone always() {
  TimeZone tz;
  tz.id = 1;
  for (auto& d : tz.days) {
    d[0] = Period{0, 23 * 60 + 59};
  }
  for (auto& h : tz.holidays) {
    h[0] = Period{0, 23 * 60 + 59};
  }
  return tz;
}

class DeciderTest : public ::testing::Test {
 protected:
  DeciderTest() {
    data.timezones[1] = always();
    data.timezones[2] = office_hours();
    data.areas[1] = Area{1, "site", ApbMode::Hard, 0};
    DoorSettings a;
    a.ref = {"TERM-A", 1};
    a.open_s = 7;
    a.area_in = 1;
    DoorSettings b;
    b.ref = {"TERM-B", 1};
    b.open_s = 4;
    b.area_in = 1;
    data.doors[a.ref] = a;
    data.doors[b.ref] = b;
    data.levels[1] = Level{1, "all day", 1, {a.ref, b.ref}};
    data.levels[2] = Level{2, "office", 2, {a.ref}};
    User ana;
    ana.pin = "100";
    ana.name = "Ana";
    ana.cards = {Card{"123456", false}, Card{"999", true}};
    ana.levels = {1};
    data.set_user(ana);
    User bo;
    bo.pin = "200";
    bo.levels = {2};
    data.set_user(bo);
  }

  Request at(const std::string& sn, int door, const std::string& pin,
             Direction dir = Direction::In) const {
    Request r;
    r.door = {sn, door};
    r.pin = pin;
    r.direction = dir;
    r.local_time = clock.local;
    r.now_ms = clock.ms();
    return r;
  }

  MasterData data;
  Decider decider;
  Clock clock;
};

TEST_F(DeciderTest, GrantsRegisteredUserWithTheDoorsOpenTime) {
  auto d = decider.decide(data, at("TERM-A", 1, "100"));
  EXPECT_TRUE(d.granted);
  EXPECT_EQ(d.reason, Reason::Granted);
  EXPECT_EQ(event_code(d.reason), 0);
  EXPECT_EQ(d.open_s, 7);
  EXPECT_EQ(d.pin, "100");
}

TEST_F(DeciderTest, UnknownPinIsNotRegistered) {
  auto d = decider.decide(data, at("TERM-A", 1, "555"));
  EXPECT_FALSE(d.granted);
  EXPECT_EQ(event_code(d.reason), 27);
  EXPECT_EQ(d.open_s, 0);
}

TEST_F(DeciderTest, CardOnlyVerificationFindsTheUser) {
  auto r = at("TERM-A", 1, "0");
  r.card = "123456";
  auto d = decider.decide(data, r);
  EXPECT_TRUE(d.granted);
  EXPECT_EQ(d.pin, "100");
  r.card = "424242";
  EXPECT_EQ(decider.decide(data, r).reason, Reason::NotRegistered);
}

TEST_F(DeciderTest, LostCardIsRefused) {
  auto r = at("TERM-A", 1, "");
  r.card = "999";
  auto d = decider.decide(data, r);
  EXPECT_EQ(d.reason, Reason::CardLost);
  EXPECT_EQ(event_code(d.reason), 38);
}

TEST_F(DeciderTest, BlacklistedAndDisabledUsersAreRefused) {
  User u = *data.find_user("100");
  u.blacklisted = true;
  data.set_user(u);
  EXPECT_EQ(event_code(decider.decide(data, at("TERM-A", 1, "100")).reason), 39);
  u.blacklisted = false;
  u.disabled = true;
  data.set_user(u);
  EXPECT_EQ(event_code(decider.decide(data, at("TERM-A", 1, "100")).reason), 62);
}

TEST_F(DeciderTest, ValidityPeriodEdgesAreInclusiveToTheSecond) {
  User u = *data.find_user("100");
  u.valid_from = parse_local_time("2026-11-16 09:00:00", false);
  u.valid_until = parse_local_time("2026-11-20", true);  // through 23:59:59
  data.set_user(u);
  data.areas.clear();  // no anti-passback in this test

  clock.set(2026, 11, 16, 8, 59, 59);
  EXPECT_EQ(event_code(decider.decide(data, at("TERM-A", 1, "100")).reason), 29);
  clock.set(2026, 11, 16, 9, 0, 0);
  EXPECT_TRUE(decider.decide(data, at("TERM-A", 1, "100")).granted);
  clock.set(2026, 11, 20, 23, 59, 59);
  EXPECT_TRUE(decider.decide(data, at("TERM-A", 1, "100")).granted);
  clock.set(2026, 11, 21, 0, 0, 0);
  EXPECT_EQ(decider.decide(data, at("TERM-A", 1, "100")).reason, Reason::Expired);
}

TEST_F(DeciderTest, DoorOutsideEveryLevelIsUnauthorized) {
  auto d = decider.decide(data, at("TERM-B", 1, "200"));
  EXPECT_EQ(d.reason, Reason::NoAccess);
  EXPECT_EQ(event_code(d.reason), 23);
  EXPECT_EQ(decider.decide(data, at("TERM-C", 1, "100")).reason, Reason::NoAccess);
}

TEST_F(DeciderTest, TimeZoneEdgesToTheMinute) {
  data.areas.clear();
  auto check = [&](int hh, int mm, int ss, bool granted) {
    clock.set(2026, 11, 16, hh, mm, ss);  // Monday
    auto d = decider.decide(data, at("TERM-A", 1, "200"));
    EXPECT_EQ(d.granted, granted) << hh << ":" << mm << ":" << ss;
    if (!granted) {
      EXPECT_EQ(event_code(d.reason), 21);
    }
  };
  check(7, 59, 59, false);
  check(8, 0, 0, true);
  check(12, 0, 59, true);  // the end minute is included
  check(12, 1, 0, false);
  check(12, 59, 0, false);
  check(13, 0, 0, true);
  check(17, 30, 59, true);
  check(17, 31, 0, false);
}

TEST_F(DeciderTest, WeekendUsesTheWeekdayPeriodsOfSunday) {
  data.areas.clear();
  clock.set(2026, 11, 22, 10, 0);  // Sunday
  EXPECT_EQ(decider.decide(data, at("TERM-A", 1, "200")).reason, Reason::OutsideTimeZone);
  EXPECT_EQ(weekday_index(date::local_days{date::year{2026} / 11 / 22}), 0);
}

TEST_F(DeciderTest, HolidayUsesItsTypesPeriodsAndLoopsYearly) {
  data.areas.clear();
  Holiday h;
  h.day = date::year{2025} / 12 / 24;  // entered for last year, yearly
  h.type = 1;
  h.yearly = true;
  data.holidays[h.day] = h;
  Holiday once;
  once.day = date::year{2025} / 11 / 17;  // a one-off last year: does not recur
  once.type = 1;
  data.holidays[once.day] = once;

  clock.set(2026, 12, 24, 9, 0);  // Thursday: weekday periods would admit 09:00
  EXPECT_EQ(decider.decide(data, at("TERM-A", 1, "200")).reason, Reason::OutsideTimeZone);
  clock.set(2026, 12, 24, 10, 30);
  EXPECT_TRUE(decider.decide(data, at("TERM-A", 1, "200")).granted);
  clock.set(2026, 12, 24, 11, 1);
  EXPECT_FALSE(decider.decide(data, at("TERM-A", 1, "200")).granted);
  clock.set(2026, 11, 17, 9, 0);  // Tuesday, the non-looping holiday's day a year later
  EXPECT_TRUE(decider.decide(data, at("TERM-A", 1, "200")).granted);
  EXPECT_EQ(holiday_type(data, date::year{2026} / 11 / 17), 0);
  EXPECT_EQ(holiday_type(data, date::year{2027} / 12 / 24), 1);
}

TEST_F(DeciderTest, DoorValidTimeZoneRestrictsEveryone) {
  data.doors[{"TERM-A", 1}].valid_tz = 2;
  clock.set(2026, 11, 16, 19, 0);
  EXPECT_EQ(decider.decide(data, at("TERM-A", 1, "100")).reason, Reason::OutsideTimeZone);
}

TEST_F(DeciderTest, DisabledDoorIsLocked) {
  data.doors[{"TERM-A", 1}].disabled = true;
  EXPECT_EQ(event_code(decider.decide(data, at("TERM-A", 1, "100")).reason), 63);
}

TEST_F(DeciderTest, WrongVerificationModeIsRefused) {
  data.doors[{"TERM-A", 1}].verify_mode = 10;  // card and fingerprint
  auto r = at("TERM-A", 1, "100");
  r.verify_mode = 1;  // fingerprint only
  EXPECT_EQ(event_code(decider.decide(data, r).reason), 41);
  r.verify_mode = 10;
  EXPECT_TRUE(decider.decide(data, r).granted);
}

TEST_F(DeciderTest, PassIntervalTooShort) {
  data.areas.clear();
  data.doors[{"TERM-A", 1}].intertime_s = 3;
  EXPECT_TRUE(decider.decide(data, at("TERM-A", 1, "100")).granted);
  clock.advance(2s);
  EXPECT_EQ(event_code(decider.decide(data, at("TERM-A", 1, "100")).reason), 20);
  clock.advance(1s);
  EXPECT_TRUE(decider.decide(data, at("TERM-A", 1, "100")).granted);
}

TEST_F(DeciderTest, DuressVerificationOpensAndIsReported) {
  auto r = at("TERM-A", 1, "100");
  r.terminal_event = 101;
  auto d = decider.decide(data, r);
  EXPECT_TRUE(d.granted);
  EXPECT_EQ(event_code(d.reason), 101);
}

TEST_F(DeciderTest, AntiPassbackAcrossTwoTerminals) {
  auto in_a = decider.decide(data, at("TERM-A", 1, "100", Direction::In));
  ASSERT_TRUE(in_a.granted);
  ASSERT_EQ(in_a.positions.size(), 1u);
  EXPECT_EQ(in_a.positions[0].second.area, 1);
  EXPECT_FALSE(in_a.previous[0].has_value());

  clock.advance(60s);
  auto again_b = decider.decide(data, at("TERM-B", 1, "100", Direction::In));
  EXPECT_FALSE(again_b.granted);
  EXPECT_EQ(event_code(again_b.reason), 24);
  EXPECT_TRUE(again_b.positions.empty());

  auto out_b = decider.decide(data, at("TERM-B", 1, "100", Direction::Out));
  EXPECT_TRUE(out_b.granted);
  EXPECT_EQ(decider.position("100")->area, 0);

  auto out_again = decider.decide(data, at("TERM-A", 1, "100", Direction::Out));
  EXPECT_EQ(out_again.reason, Reason::AntiPassback);  // leaving an area never re-entered

  EXPECT_TRUE(decider.decide(data, at("TERM-A", 1, "100", Direction::In)).granted);
}

TEST_F(DeciderTest, AntiPassbackStateSurvivesARestartThroughLoadPositions) {
  ASSERT_TRUE(decider.decide(data, at("TERM-A", 1, "100")).granted);
  std::unordered_map<std::string, Position> saved = {{"100", *decider.position("100")}};
  Decider restarted;
  restarted.load_positions(saved);
  EXPECT_EQ(restarted.decide(data, at("TERM-B", 1, "100")).reason, Reason::AntiPassback);
  EXPECT_TRUE(restarted.decide(data, at("TERM-B", 1, "100", Direction::Out)).granted);
}

TEST_F(DeciderTest, PassageTheTerminalRecordedMovesTheUser) {
  // TERM-A let Ana in on its own (its rtlog says so): B refuses her entry.
  auto moved = decider.note_pass(data, {"TERM-A", 1}, "100", Direction::In, clock.ms());
  ASSERT_TRUE(moved.has_value());
  EXPECT_EQ(moved->area, 1);
  EXPECT_EQ(moved->since_ms, clock.ms());
  clock.advance(60s);
  EXPECT_EQ(decider.decide(data, at("TERM-B", 1, "100")).reason, Reason::AntiPassback);
  // The same passage again (a re-upload, or the record of our own grant) changes nothing.
  EXPECT_FALSE(decider.note_pass(data, {"TERM-A", 1}, "100", Direction::In, clock.ms()));
}

TEST_F(DeciderTest, LateRecordOfAnOlderPassageDoesNotUndoANewerDecision) {
  ASSERT_TRUE(decider.decide(data, at("TERM-A", 1, "100", Direction::In)).granted);
  clock.advance(60s);
  ASSERT_TRUE(decider.decide(data, at("TERM-B", 1, "100", Direction::Out)).granted);
  // A record from before the exit arrives late (a terminal back online).
  EXPECT_FALSE(decider.note_pass(data, {"TERM-A", 1}, "100", Direction::In, clock.ms() - 30'000));
  EXPECT_EQ(decider.position("100")->area, 0);
  // A newer one does move her.
  clock.advance(10s);
  EXPECT_TRUE(decider.note_pass(data, {"TERM-A", 1}, "100", Direction::In, clock.ms()));
  EXPECT_EQ(decider.position("100")->area, 1);
}

TEST_F(DeciderTest, PassageThroughADoorWithoutAntiPassbackOrUnknownMovesNobody) {
  data.areas[1].apb = ApbMode::None;
  EXPECT_FALSE(decider.note_pass(data, {"TERM-A", 1}, "100", Direction::In, clock.ms()));
  data.areas[1].apb = ApbMode::Hard;
  EXPECT_FALSE(decider.note_pass(data, {"TERM-Z", 1}, "100", Direction::In, clock.ms()));
  EXPECT_FALSE(decider.note_pass(data, {"TERM-A", 1}, "0", Direction::In, clock.ms()));
  EXPECT_EQ(decider.position_count(), 0u);
}

TEST_F(DeciderTest, SoftAntiPassbackOpensButFlagsTheViolation) {
  data.areas[1].apb = ApbMode::Soft;
  ASSERT_TRUE(decider.decide(data, at("TERM-A", 1, "100")).granted);
  auto d = decider.decide(data, at("TERM-B", 1, "100"));
  EXPECT_TRUE(d.granted);
  EXPECT_TRUE(d.apb_violation);
}

TEST_F(DeciderTest, TimedResetForgetsThePosition) {
  data.areas[1].reset_s = 3600;
  ASSERT_TRUE(decider.decide(data, at("TERM-A", 1, "100")).granted);
  clock.advance(3599s);
  EXPECT_EQ(decider.decide(data, at("TERM-B", 1, "100")).reason, Reason::AntiPassback);
  clock.advance(1s);
  EXPECT_TRUE(decider.decide(data, at("TERM-B", 1, "100")).granted);
}

TEST_F(DeciderTest, PerAreaAntiPassbackIgnoresOtherAreas) {
  data.areas[2] = Area{2, "lab", ApbMode::Hard, 0};
  DoorSettings lab;
  lab.ref = {"TERM-C", 1};
  lab.area_in = 2;
  lab.area_out = 1;
  data.doors[lab.ref] = lab;
  data.levels[1].doors.push_back(lab.ref);
  ASSERT_TRUE(decider.decide(data, at("TERM-A", 1, "100")).granted);  // into the site
  ASSERT_TRUE(decider.decide(data, at("TERM-C", 1, "100")).granted);  // site -> lab
  EXPECT_EQ(decider.position("100")->area, 2);
  EXPECT_EQ(decider.decide(data, at("TERM-C", 1, "100")).reason, Reason::AntiPassback);
  EXPECT_TRUE(decider.decide(data, at("TERM-C", 1, "100", Direction::Out)).granted);  // lab -> site
  EXPECT_EQ(decider.position("100")->area, 1);
}

TEST_F(DeciderTest, RestorePositionUndoesAGrant) {
  auto d = decider.decide(data, at("TERM-A", 1, "100"));
  ASSERT_TRUE(d.granted);
  decider.restore_position("100", d.previous[0]);
  EXPECT_FALSE(decider.position("100").has_value());
  EXPECT_TRUE(decider.decide(data, at("TERM-B", 1, "100")).granted);
}

TEST_F(DeciderTest, InterlockRefusesWhileADoorOfAnotherTerminalIsOpen) {
  data.areas.clear();
  data.doors[{"TERM-A", 1}].interlock = 7;
  data.doors[{"TERM-B", 1}].interlock = 7;
  decider.set_door_state({"TERM-B", 1}, true, std::nullopt);  // sensor: open
  auto d = decider.decide(data, at("TERM-A", 1, "100"));
  EXPECT_EQ(d.reason, Reason::Interlock);
  EXPECT_EQ(event_code(d.reason), 25);
  decider.set_door_state({"TERM-B", 1}, false, false);
  EXPECT_TRUE(decider.decide(data, at("TERM-A", 1, "100")).granted);
}

TEST_F(DeciderTest, InterlockCountsADoorWeJustOpenedUntilItsOpenTimeEnds) {
  data.areas.clear();
  data.doors[{"TERM-A", 1}].interlock = 7;
  data.doors[{"TERM-B", 1}].interlock = 7;
  ASSERT_TRUE(decider.decide(data, at("TERM-A", 1, "100")).granted);  // A opens for 7 s
  clock.advance(6s);
  EXPECT_EQ(decider.decide(data, at("TERM-B", 1, "100")).reason, Reason::Interlock);
  clock.advance(1s);
  EXPECT_TRUE(decider.decide(data, at("TERM-B", 1, "100")).granted);
}

TEST_F(DeciderTest, NormalOpenPeriodAndFirstCard) {
  data.areas.clear();
  auto& door = data.doors[{"TERM-A", 1}];
  door.keep_open_tz = 2;
  door.first_card = true;
  door.first_card_users = {FirstCardUser{"200", 2}};
  // Ana is no first-card user: an ordinary opening before the first card.
  auto d = decider.decide(data, at("TERM-A", 1, "100"));
  EXPECT_EQ(d.reason, Reason::Granted);
  auto first = decider.decide(data, at("TERM-A", 1, "200"));
  EXPECT_EQ(first.reason, Reason::FirstCard);
  EXPECT_EQ(event_code(first.reason), 2);
  EXPECT_EQ(first.open_s, 255);
  EXPECT_EQ(decider.decide(data, at("TERM-A", 1, "100")).reason, Reason::NormalOpen);
  clock.set(2026, 11, 17, 9, 0);  // the next day needs a first card again
  EXPECT_EQ(decider.decide(data, at("TERM-A", 1, "100")).reason, Reason::Granted);
}

TEST_F(DeciderTest, MultiCardOpensForACompleteGroup) {
  data.areas.clear();
  auto& door = data.doors[{"TERM-A", 1}];
  door.multi_card = true;
  door.multi_card_groups = {{1, 3}};
  door.multi_card_interval_s = 10;
  User c;
  c.pin = "300";
  c.group = 3;
  c.levels = {1};
  data.set_user(c);
  User x;
  x.pin = "400";
  x.group = 5;
  x.levels = {1};
  data.set_user(x);

  auto first = decider.decide(data, at("TERM-A", 1, "100"));
  EXPECT_EQ(event_code(first.reason), 26);
  EXPECT_FALSE(first.granted);
  EXPECT_EQ(event_code(decider.decide(data, at("TERM-A", 1, "400")).reason), 40);
  clock.advance(5s);
  auto second = decider.decide(data, at("TERM-A", 1, "300"));
  EXPECT_EQ(event_code(second.reason), 3);
  EXPECT_TRUE(second.granted);

  // Too slow: the first person's verification has lapsed.
  EXPECT_EQ(decider.decide(data, at("TERM-A", 1, "100")).reason, Reason::MultiCardWaiting);
  clock.advance(11s);
  EXPECT_EQ(decider.decide(data, at("TERM-A", 1, "300")).reason, Reason::MultiCardWaiting);
}

TEST(PeriodEncodingTest, MatchesTheSpecExample) {
  // §9.1.1 timezone: MonTime1=65539 is 00:01-00:03, MonTime2=65537100 is 10:00-11:00.
  EXPECT_EQ(encode_period(Period{1, 3}), 65539u);
  EXPECT_EQ(encode_period(Period{600, 660}), 65537100u);
  EXPECT_EQ(decode_period(0x33e04b0u), (Period{8 * 60 + 30, 12 * 60}));
  EXPECT_FALSE(decode_period((2400u << 16) | 2500u).has_value());
}

}  // namespace
}  // namespace pushgate::rules::access
