#include "rules/attendance/timecard_engine.hpp"

#include <algorithm>
#include <map>
#include <random>
#include <set>

#include <gtest/gtest.h>

#include "attendance_test_support.hpp"

namespace pushgate::rules::attendance {
namespace {

using test::at;
using test::day;
using test::hm;
using test::punch;

std::shared_ptr<const Rules> shared(Rules r) {
  return std::make_shared<const Rules>(std::move(r));
}

TEST(TimecardEngineTest, NewPunchChangesItsOwnDay) {
  TimecardEngine engine(shared(test::manual_rules()));
  const std::vector<Punch> batch = {punch("2022-12-01T09:00:00"), punch("2022-12-02T09:00:00")};
  const std::vector<DayKey> changed = engine.add_punches(batch);
  EXPECT_EQ(changed, (std::vector<DayKey>{{"1", day("2022-12-01")}, {"1", day("2022-12-02")}}));
  EXPECT_EQ(engine.punch_count(), 2U);
}

TEST(TimecardEngineTest, ReuploadChangesNothing) {
  TimecardEngine engine(shared(test::manual_rules()));
  const std::vector<Punch> batch = {punch("2022-12-01T09:00:00")};
  engine.add_punches(batch);
  EXPECT_TRUE(engine.add_punches(batch).empty());
  EXPECT_EQ(engine.punch_count(), 1U);
}

TEST(TimecardEngineTest, BacklogPunchRecomputesAnOldFinalDay) {
  TimecardEngine engine(shared(test::manual_rules()));
  const ComputeContext later{nullptr, at("2022-12-10T00:00:00")};
  const std::vector<Punch> live = {punch("2022-12-01T09:00:00"), punch("2022-12-01T12:00:00"),
                                   punch("2022-12-01T14:00:00")};
  engine.add_punches(live);
  EXPECT_EQ(engine.timecard({"1", day("2022-12-01")}, later).absence_half_days, 1);
  // The terminal was offline; its 17:30 record arrives a week later.
  const std::vector<Punch> backlog = {punch("2022-12-01T17:30:00", std::nullopt, "1", "T9", 77)};
  EXPECT_EQ(engine.add_punches(backlog), (std::vector<DayKey>{{"1", day("2022-12-01")}}));
  const Timecard card = engine.timecard({"1", day("2022-12-01")}, later);
  EXPECT_EQ(card.absence_half_days, 0);
  EXPECT_EQ(timecard_status(card), "normal/normal");
}

TEST(TimecardEngineTest, NightShiftPunchAfterMidnightChangesThePreviousDay) {
  Rules r = test::single_shift_rules({test::fixed_period("night", hm(22, 0), hm(6, 0))});
  TimecardEngine engine(shared(r));
  const std::vector<Punch> batch = {punch("2022-12-02T06:01:00")};
  EXPECT_EQ(engine.add_punches(batch), (std::vector<DayKey>{{"1", day("2022-12-01")}}));
}

TEST(TimecardEngineTest, ConflictingRecordUnderOneIdentityKeepsTheCanonicalFirst) {
  TimecardEngine engine(shared(test::manual_rules()));
  const Punch later = punch("2022-12-02T09:00:00", std::nullopt, "1", "T1", 5);
  const Punch earlier = punch("2022-12-01T09:00:00", std::nullopt, "1", "T1", 5);
  EXPECT_EQ(engine.add_punches(std::vector<Punch>{later}),
            (std::vector<DayKey>{{"1", day("2022-12-02")}}));
  // The earlier one wins and both days change.
  EXPECT_EQ(engine.add_punches(std::vector<Punch>{earlier}),
            (std::vector<DayKey>{{"1", day("2022-12-01")}, {"1", day("2022-12-02")}}));
  EXPECT_TRUE(engine.punches({"1", day("2022-12-02")}).empty());
  EXPECT_EQ(engine.punches({"1", day("2022-12-01")}).size(), 1U);
  // Feeding the later one again changes nothing.
  EXPECT_TRUE(engine.add_punches(std::vector<Punch>{later}).empty());
}

TEST(TimecardEngineTest, TimecardWithoutPunchesIsAbsence) {
  TimecardEngine engine(shared(test::manual_rules()));
  const Timecard card = engine.timecard({"1", day("2022-12-05")}, test::settled());
  EXPECT_EQ(card.absence_half_days, 2);
}

TEST(TimecardEngineTest, FinalizedBetweenReportsDaysWhoseWindowClosed) {
  Rules r = test::manual_rules();
  TimecardEngine engine(shared(r));
  EXPECT_EQ(engine.finalized_between(at("2022-12-01T23:00:00"), at("2022-12-02T00:00:00")),
            (std::vector<DayKey>{{"1", day("2022-12-01")}}));
  EXPECT_TRUE(
      engine.finalized_between(at("2022-12-02T00:00:00"), at("2022-12-02T23:59:59")).empty());
  EXPECT_EQ(engine.finalized_between(at("2022-12-01T00:00:00"), at("2022-12-03T00:00:00")).size(),
            2U);
}

TEST(TimecardEngineTest, ReplaceRulesMovesPunchesToTheirNewDays) {
  Rules day_rules = test::single_shift_rules({test::fixed_period("day", hm(8, 0), hm(17, 0))});
  Rules night_rules = test::single_shift_rules({test::fixed_period("night", hm(22, 0), hm(6, 0))});
  TimecardEngine engine(shared(day_rules));
  const std::vector<Punch> batch = {punch("2022-12-02T05:00:00")};
  engine.add_punches(batch);
  EXPECT_EQ(engine.punches({"1", day("2022-12-02")}).size(), 1U);
  const std::vector<DayKey> changed = engine.replace_rules(shared(night_rules));
  EXPECT_EQ(changed, (std::vector<DayKey>{{"1", day("2022-12-01")}, {"1", day("2022-12-02")}}));
  EXPECT_EQ(engine.punches({"1", day("2022-12-01")}).size(), 1U);
}

TEST(TimecardEngineTest, PinsListsConfiguredUsersAndPinsSeen) {
  TimecardEngine engine(shared(test::manual_rules()));
  engine.add_punches(std::vector<Punch>{punch("2022-12-01T09:00:00", std::nullopt, "77")});
  EXPECT_EQ(engine.pins(), (std::vector<std::string>{"1", "77"}));
}

// ---------------------------------------------------------------------------
// Property: the timecard does not depend on the order punches arrive in,
// neither through the pure function nor through the incremental API.
// ---------------------------------------------------------------------------

// Three users exercising every code path: §2.15's two periods and overtime,
// a cross-midnight night rota with rests and valid windows, and a flexible
// period with pairing; recheck interval and state switch table on.
Rules property_rules() {
  Rules r = test::manual_rules();
  r.recheck_interval_min = 2;
  r.state_switch.entries = {{hm(6, 0), 0}, {hm(12, 0), 1}, {hm(13, 0), 0}, {hm(17, 0), 1}};
  r.state_switch.infer_missing_states = false;

  Period night = test::fixed_period("night", hm(22, 0), hm(6, 0));
  night.valid_check_in = ClockWindow{hm(20, 0), hm(23, 59)};
  night.late_absence_after_min = 60;
  RestPeriod rest;
  rest.name = "meal";
  rest.start = hm(1, 0);
  rest.end = hm(2, 0);
  rest.minutes = 30;
  rest.auto_deduct = false;
  rest.must_check = true;
  night.rests.push_back(rest);
  r.periods.push_back(night);
  Period flex;
  flex.id = "flex";
  flex.type = PeriodType::Flexible;
  flex.required_min = 420;
  flex.day_start = hm(4, 0);
  flex.first_last_only = false;
  flex.overtime_beyond_required = true;
  r.periods.push_back(flex);
  Shift s2;
  s2.id = 2;
  s2.periods = {"night"};
  s2.overtime = OvertimeSession{hm(6, 30), hm(8, 0)};
  Shift s3;
  s3.id = 3;
  s3.periods = {"flex"};
  r.shifts.push_back(s2);
  r.shifts.push_back(s3);
  Cycle rota;
  rota.id = "rota";
  rota.start_date = day("2022-11-28");
  rota.length = 5;
  rota.days = {2, 2, 0, 1, 26};
  r.cycles.push_back(rota);
  User two;
  two.pin = "2";
  two.schedule_mode = ScheduleMode::Personal;
  User three;
  three.pin = "3";
  three.schedule_mode = ScheduleMode::Personal;
  r.users.push_back(two);
  r.users.push_back(three);
  Schedule s_two;
  s_two.user = "2";
  s_two.cycle = "rota";
  Schedule s_three;
  s_three.user = "3";
  s_three.days[day("2022-12-01")] = 3;
  s_three.days[day("2022-12-02")] = 3;
  s_three.days[day("2022-12-03")] = 1;
  s_three.days[day("2022-12-04")] = 3;
  s_three.days[day("2022-12-05")] = 2;
  r.schedules.push_back(s_two);
  r.schedules.push_back(s_three);
  r.holidays.push_back({"Mid", day("2022-12-04"), day("2022-12-04")});
  return r;
}

// Punches of plausible days (the templates below, each punch kept with
// probability 0.8, jittered by up to 20 minutes, mostly untyped, sometimes
// with the matching terminal state, sometimes a random one) plus uniform
// noise, exact re-uploads and conflicting records under one identity.
std::vector<Punch> random_punches(std::mt19937& rng, int count) {
  struct Template {
    std::vector<int> minutes;  // after the day's midnight
    std::vector<int> states;   // the state a terminal would attach
  };
  static const std::vector<Template> templates = {
      {{8 * 60 + 55, 12 * 60 + 1, 13 * 60 + 59, 17 * 60 + 31, 18 * 60 + 40, 19 * 60 + 50},
       {0, 1, 0, 1, 4, 5}},
      {{21 * 60 + 50, 25 * 60 + 5, 25 * 60 + 40, 30 * 60 + 5, 30 * 60 + 35, 31 * 60 + 55},
       {0, 2, 3, 1, 4, 5}},
      {{23 * 60 + 15, 30 * 60 + 10}, {0, 1}},
      {{9 * 60, 12 * 60, 12 * 60 + 30, 17 * 60 + 30}, {0, 1, 0, 1}},
  };
  std::uniform_int_distribution<int> pin_dist(1, 3);
  std::uniform_int_distribution<int> day_dist(0, 6);
  std::uniform_int_distribution<int> template_dist(0, static_cast<int>(templates.size()) - 1);
  std::uniform_int_distribution<int> jitter_dist(-1200, 1200);
  std::uniform_int_distribution<int> noise_dist(0, 24 * 3600 - 1);
  std::uniform_int_distribution<int> state_dist(-3, 6);
  std::uniform_int_distribution<int> terminal_dist(1, 3);
  std::uniform_int_distribution<int> coin(0, 9);
  std::vector<Punch> out;
  std::int64_t next_id = 1;
  const auto add = [&](Punch p) {
    p.terminal_sn = "T" + std::to_string(terminal_dist(rng));
    p.event_id = next_id++;
    out.push_back(p);
    const int extra = coin(rng);
    if (extra == 0) {
      out.push_back(p);  // exact re-upload
    } else if (extra == 1) {
      Punch other = p;  // a different record under the same identity
      other.local += std::chrono::seconds{jitter_dist(rng)};
      other.state = std::nullopt;
      out.push_back(other);
    }
  };
  while (static_cast<int>(out.size()) < count) {
    const std::string pin = std::to_string(pin_dist(rng));
    const date::local_seconds base{day("2022-11-30") + date::days{day_dist(rng)}};
    if (coin(rng) < 3) {
      Punch p;  // noise
      p.pin = pin;
      p.local = base + std::chrono::seconds{noise_dist(rng)};
      const int s = state_dist(rng);
      p.state = s >= 0 && s <= 5 ? std::optional<int>(s) : std::nullopt;
      add(p);
      continue;
    }
    // User 2 works the night rota: mostly night-shaped days for them.
    int which = template_dist(rng);
    if (pin == "2" && coin(rng) < 8) {
      which = coin(rng) < 6 ? 1 : 2;
    }
    const Template& t = templates[static_cast<std::size_t>(which)];
    for (std::size_t i = 0; i < t.minutes.size(); ++i) {
      if (coin(rng) >= 8) {
        continue;
      }
      Punch p;
      p.pin = pin;
      p.local = base + std::chrono::minutes{t.minutes[i]} + std::chrono::seconds{jitter_dist(rng)};
      const int kind = coin(rng);
      if (kind < 3) {
        p.state = t.states[i];
      } else if (kind == 3) {
        const int s = state_dist(rng);
        p.state = s >= 0 && s <= 5 ? s : 255;
      }
      add(p);
    }
  }
  return out;
}

std::vector<DayKey> all_keys() {
  std::vector<DayKey> keys;
  for (const char* pin : {"1", "2", "3"}) {
    for (int d = -1; d <= 8; ++d) {
      keys.push_back({pin, day("2022-11-30") + date::days{d}});
    }
  }
  return keys;
}

struct Coverage {
  int with_punches = 0;
  int absent = 0;
  int pending = 0;
  int late = 0;
  int early = 0;
  int late_absence = 0;
  int overtime = 0;
  int flexible_worked = 0;
  int break_punches = 0;
  int duplicates = 0;
  int night_worked = 0;
  int holidays = 0;
};

void tally(const Timecard& card, Coverage& c) {
  c.with_punches += card.punches.empty() ? 0 : 1;
  c.absent += card.absence_half_days > 0 ? 1 : 0;
  c.late += card.late_minutes > 0 ? 1 : 0;
  c.early += card.early_minutes > 0 ? 1 : 0;
  c.overtime += card.overtime_worked.count() > 0 ? 1 : 0;
  c.holidays += card.kind == DayKind::Holiday ? 1 : 0;
  for (const PeriodResult& p : card.periods) {
    c.pending += p.pending ? 1 : 0;
    c.late_absence += p.late_absence ? 1 : 0;
    c.flexible_worked += p.kind == SegmentKind::Flexible && p.worked.count() > 0 ? 1 : 0;
    c.night_worked += p.period_id == "night" && p.worked.count() > 0 ? 1 : 0;
  }
  for (const PunchUse& u : card.punches) {
    c.break_punches += u.role == PunchRole::BreakOut ? 1 : 0;
    c.duplicates += u.role == PunchRole::Duplicate ? 1 : 0;
  }
}

TEST(TimecardEnginePropertyTest, TimecardIsIndependentOfArrivalOrder) {
  const auto rules = shared(property_rules());
  const Scheduler scheduler(rules);
  // "Now" in the middle of the range, so pending and final days both occur.
  const date::time_zone* zone = date::locate_zone("Europe/Berlin");
  const std::vector<ComputeContext> contexts = {{nullptr, at("2022-12-03T13:00:00")},
                                                {zone, at("2022-12-20T00:00:00")}};
  std::mt19937 rng(20221201U);  // fixed seed: the same cases on every run
  constexpr int kSets = 12;
  constexpr int kPermutations = 25;
  const std::vector<DayKey> keys = all_keys();
  Coverage coverage;
  int compared = 0;
  for (int set = 0; set < kSets; ++set) {
    const std::vector<Punch> punches = random_punches(rng, 30 + set * 10);
    for (const ComputeContext& ctx : contexts) {
      std::map<DayKey, Timecard> reference;
      for (const DayKey& key : keys) {
        reference[key] =
            compute_timecard(*rules, scheduler.plan_day(key.pin, key.day), punches, ctx);
        tally(reference[key], coverage);
      }
      for (int perm = 0; perm < kPermutations; ++perm) {
        std::vector<Punch> shuffled = punches;
        std::shuffle(shuffled.begin(), shuffled.end(), rng);

        // The pure function with the punches in another order.
        const DayKey& probe = keys[static_cast<std::size_t>(perm) % keys.size()];
        EXPECT_EQ(compute_timecard(*rules, scheduler.plan_day(probe.pin, probe.day), shuffled, ctx),
                  reference[probe])
            << "set " << set << " permutation " << perm;

        // The incremental API, fed in random batches.
        TimecardEngine engine(rules);
        std::set<DayKey> changed;
        std::size_t pos = 0;
        std::uniform_int_distribution<std::size_t> batch_dist(1, 9);
        while (pos < shuffled.size()) {
          const std::size_t n = std::min(batch_dist(rng), shuffled.size() - pos);
          for (const DayKey& k :
               engine.add_punches(std::span<const Punch>(shuffled).subspan(pos, n))) {
            changed.insert(k);
          }
          pos += n;
        }
        for (const DayKey& key : keys) {
          const Timecard card = engine.timecard(key, ctx);
          ASSERT_EQ(card, reference[key]) << "set " << set << " permutation " << perm << " pin "
                                          << key.pin << " day " << format_date(key.day);
          ++compared;
          // Every day that has punches was reported as changed at some point.
          if (!card.punches.empty()) {
            EXPECT_TRUE(changed.count(key) == 1) << key.pin << " " << format_date(key.day);
          }
        }
      }
    }
  }
  EXPECT_EQ(compared, kSets * 2 * kPermutations * static_cast<int>(keys.size()));
  // The random sets reach every kind of outcome, so the equality above is
  // not vacuous.
  EXPECT_GT(coverage.with_punches, 100);
  EXPECT_GT(coverage.absent, 0);
  EXPECT_GT(coverage.pending, 0);
  EXPECT_GT(coverage.late, 0);
  EXPECT_GT(coverage.early, 0);
  EXPECT_GT(coverage.late_absence, 0);
  EXPECT_GT(coverage.overtime, 0);
  EXPECT_GT(coverage.flexible_worked, 0);
  EXPECT_GT(coverage.break_punches, 0);
  EXPECT_GT(coverage.duplicates, 0);
  EXPECT_GT(coverage.night_worked, 0);
  EXPECT_GT(coverage.holidays, 0);
}

TEST(TimecardEnginePropertyTest, EveryPunchLandsInExactlyOneTimecard) {
  const auto rules = shared(property_rules());
  std::mt19937 rng(7U);
  const std::vector<Punch> punches = random_punches(rng, 300);
  TimecardEngine engine(rules);
  engine.add_punches(punches);
  std::size_t placed = 0;
  for (const DayKey& key : all_keys()) {
    placed += engine.timecard(key, test::settled()).punches.size();
  }
  EXPECT_EQ(placed, engine.punch_count());
}

}  // namespace
}  // namespace pushgate::rules::attendance
