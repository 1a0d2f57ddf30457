// Attendance rules throughput: a month of realistic punches for a whole site
// goes through the incremental engine (ingest), then every user's timecard
// for every day is computed (the figure that matters: timecards/s), then the
// period report is built and serialised as a terminal would export it.
//
// The site: 20 departments. 17 work the §2.15 shift (9:00-12:00,
// 14:00-17:30, overtime 18:45-20:00) Monday to Friday, one works a
// 4-on-3-off night rota (22:00-06:00 with a must-check meal break and valid
// check-in window), one works flexible 8-hour days, one a single-period
// office day with an auto-deducted rest. One user in ten has a personal
// calendar with leave and business trips. Punches are jittered around the
// schedule, a few are missing or doubled (recheck interval 3 minutes), some
// carry the terminal state, some days have overtime; terminals upload in
// batches of 100, one batch in ten arrives late as backlog.
//
// Usage: attendance_bench [--users 10000] [--days 31] [--smoke]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "rules/attendance/attendance_model.hpp"
#include "rules/attendance/report.hpp"
#include "rules/attendance/schedule.hpp"
#include "rules/attendance/timecard.hpp"
#include "rules/attendance/timecard_engine.hpp"

using namespace pushgate::rules::attendance;
using Steady = std::chrono::steady_clock;

namespace {

struct Options {
  int users = 10000;
  int days = 31;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const bool has_value = i + 1 < argc;
    if (std::strcmp(argv[i], "--smoke") == 0) {
      o.users = 50;
      o.days = 31;
    } else if (std::strcmp(argv[i], "--users") == 0 && has_value) {
      o.users = std::max(1, std::atoi(argv[++i]));
    } else if (std::strcmp(argv[i], "--days") == 0 && has_value) {
      o.days = std::max(1, std::atoi(argv[++i]));
    } else {
      std::fprintf(stderr, "usage: attendance_bench [--users N] [--days D] [--smoke]\n");
      std::exit(2);
    }
  }
  return o;
}

TimeOfDay hm(int h, int m) {
  return TimeOfDay{h * 60 + m};
}

Period fixed(std::string id, TimeOfDay start, TimeOfDay end) {
  Period p;
  p.id = std::move(id);
  p.start = start;
  p.end = end;
  return p;
}

const date::local_days kFirstDay = date::local_days{date::January / 1 / 2023};

Rules site_rules(int users) {
  Rules r;
  r.recheck_interval_min = 3;
  r.late_allowance_min = 5;
  r.early_allowance_min = 5;
  r.periods.push_back(fixed("am", hm(9, 0), hm(12, 0)));
  r.periods.push_back(fixed("pm", hm(14, 0), hm(17, 30)));
  Period night = fixed("night", hm(22, 0), hm(6, 0));
  night.valid_check_in = ClockWindow{hm(20, 0), hm(23, 59)};
  night.late_absence_after_min = 120;
  RestPeriod meal;
  meal.name = "meal";
  meal.start = hm(1, 0);
  meal.end = hm(2, 0);
  meal.minutes = 30;
  meal.auto_deduct = false;
  meal.must_check = true;
  night.rests.push_back(meal);
  r.periods.push_back(night);
  Period flex;
  flex.id = "flex";
  flex.type = PeriodType::Flexible;
  flex.required_min = 480;
  flex.day_start = hm(4, 0);
  r.periods.push_back(flex);
  Period office = fixed("office", hm(8, 30), hm(17, 30));
  RestPeriod lunch;
  lunch.name = "lunch";
  lunch.start = hm(12, 0);
  lunch.end = hm(13, 0);
  office.rests.push_back(lunch);
  r.periods.push_back(office);

  Shift standard;
  standard.id = 1;
  standard.periods = {"am", "pm"};
  standard.overtime = OvertimeSession{hm(18, 45), hm(20, 0)};
  Shift nights;
  nights.id = 2;
  nights.periods = {"night"};
  Shift flexible;
  flexible.id = 3;
  flexible.periods = {"flex"};
  Shift office_day;
  office_day.id = 4;
  office_day.periods = {"office"};
  r.shifts = {standard, nights, flexible, office_day};

  const auto week = [](std::string id, int code) {
    Cycle c;
    c.id = std::move(id);
    c.start_date = date::local_days{date::January / 2 / 2023};  // a Monday
    c.mode = CycleMode::Week;
    c.days = {code, code, code, code, code, 0, 0};
    return c;
  };
  r.cycles.push_back(week("standard", 1));
  r.cycles.push_back(week("flexible", 3));
  r.cycles.push_back(week("office", 4));
  Cycle rota;
  rota.id = "nights";
  rota.start_date = date::local_days{date::December / 26 / 2022};
  rota.length = 7;
  rota.days = {2, 2, 2, 2, 0, 0, 0};
  r.cycles.push_back(rota);

  for (int d = 1; d <= 20; ++d) {
    r.departments.push_back({d, "Dept " + std::to_string(d)});
    Schedule s;
    s.department = d;
    s.cycle = d == 20 ? "nights" : d == 19 ? "flexible" : d == 18 ? "office" : "standard";
    r.schedules.push_back(s);
  }
  std::mt19937 rng(31U);
  for (int u = 0; u < users; ++u) {
    User user;
    user.pin = std::to_string(100000 + u);
    user.name = "User " + std::to_string(u);
    user.department = 1 + u % 20;
    if (u % 10 == 7) {
      // A personal calendar: the department's pattern with leave and trips.
      user.schedule_mode = ScheduleMode::Personal;
      Schedule s;
      s.user = user.pin;
      s.cycle = "standard";
      s.days[kFirstDay + date::days{9 + static_cast<int>(rng() % 5)}] = kLeaveCode;
      s.days[kFirstDay + date::days{16 + static_cast<int>(rng() % 5)}] = kBusinessTripCode;
      r.schedules.push_back(s);
    }
    r.users.push_back(user);
  }
  r.holidays.push_back({"New Year", kFirstDay, kFirstDay + date::days{1}});
  return r;
}

struct Generator {
  std::mt19937 rng{20230101U};
  std::int64_t next_id = 1;
  std::vector<Punch> out;

  int jitter(int spread_s) { return std::uniform_int_distribution<int>(-spread_s, spread_s)(rng); }
  bool chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng) < p; }

  void add(const std::string& pin, date::local_days day, int minutes, int spread_s, int state) {
    if (chance(0.02)) {
      return;  // a forgotten punch
    }
    Punch p;
    p.pin = pin;
    p.local = date::local_seconds{day} + std::chrono::minutes{minutes} +
              std::chrono::seconds{jitter(spread_s)};
    if (chance(0.3)) {
      p.state = state;
    }
    p.terminal_sn = "T" + std::to_string(std::hash<std::string>{}(pin) % 40);
    p.event_id = next_id++;
    out.push_back(p);
    if (chance(0.03)) {
      // A second finger within the recheck interval, on another terminal.
      Punch again = p;
      again.local += std::chrono::seconds{20 + jitter(15)};
      again.terminal_sn = "T99";
      again.event_id = next_id++;
      out.push_back(again);
    }
  }

  void day_of(const std::string& pin, date::local_days day, std::optional<int> code) {
    if (!code || *code == kRestCode || *code == kLeaveCode || *code == kBusinessTripCode) {
      if (chance(0.02)) {
        add(pin, day, 10 * 60, 3600, 255);  // dropping by on a day off
      }
      return;
    }
    switch (*code) {
      case 1:
        add(pin, day, 8 * 60 + 52, 900, 0);
        add(pin, day, 12 * 60 + 3, 240, 1);
        add(pin, day, 13 * 60 + 54, 360, 0);
        add(pin, day, 17 * 60 + 36, 480, 1);
        if (chance(0.15)) {
          add(pin, day, 18 * 60 + 50, 300, 4);
          add(pin, day, 20 * 60 + 5, 600, 5);
        }
        break;
      case 2:
        add(pin, day, 21 * 60 + 50, 600, 0);
        add(pin, day, 25 * 60 + 5, 300, 2);
        add(pin, day, 25 * 60 + 40, 300, 3);
        add(pin, day, 30 * 60 + 5, 600, 1);
        break;
      case 3:
        add(pin, day, 9 * 60, 3600, 0);
        add(pin, day, 17 * 60 + 30, 3600, 1);
        break;
      default:
        add(pin, day, 8 * 60 + 25, 600, 0);
        add(pin, day, 17 * 60 + 35, 600, 1);
        break;
    }
  }
};

double seconds_since(Steady::time_point start) {
  return std::chrono::duration<double>(Steady::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  const Options opt = parse(argc, argv);
  const auto rules = std::make_shared<const Rules>(site_rules(opt.users));
  const auto problems = validate(*rules);
  if (!problems.empty()) {
    std::fprintf(stderr, "bench rules invalid: %s: %s\n", problems[0].field.c_str(),
                 problems[0].message.c_str());
    return 1;
  }
  const Scheduler scheduler(rules);
  const date::local_days last_day = kFirstDay + date::days{opt.days - 1};

  // Punches, then upload batches: terminals send in time order, one batch in
  // ten is held back and arrives at the end in random order (a backlog).
  Generator gen;
  for (const User& u : rules->users) {
    for (date::local_days d = kFirstDay; d <= last_day; d += date::days{1}) {
      gen.day_of(u.pin, d, scheduler.day_code(u.pin, d));
    }
  }
  std::vector<Punch> punches = std::move(gen.out);
  std::sort(punches.begin(), punches.end(), punch_before);
  constexpr std::size_t kBatch = 100;
  std::vector<std::vector<Punch>> live;
  std::vector<std::vector<Punch>> backlog;
  for (std::size_t i = 0; i < punches.size(); i += kBatch) {
    std::vector<Punch> batch(
        punches.begin() + static_cast<std::ptrdiff_t>(i),
        punches.begin() + static_cast<std::ptrdiff_t>(std::min(punches.size(), i + kBatch)));
    (gen.chance(0.1) ? backlog : live).push_back(std::move(batch));
  }
  std::shuffle(backlog.begin(), backlog.end(), gen.rng);

  // 1. Ingest through the incremental API.
  TimecardEngine engine(rules);
  std::size_t changed = 0;
  auto start = Steady::now();
  for (const auto* batches : {&live, &backlog}) {
    for (const std::vector<Punch>& batch : *batches) {
      changed += engine.add_punches(batch).size();
    }
  }
  const double ingest_s = seconds_since(start);

  // 2. Every user's timecard for every day, as the store would recompute
  //    them: without a zone (wall-clock durations) and with the site's zone.
  const date::local_seconds now{last_day + date::days{30}};
  const auto compute_all = [&](const ComputeContext& context, std::vector<Timecard>* keep) {
    long long tenths = 0;
    for (const User& u : rules->users) {
      for (date::local_days d = kFirstDay; d <= last_day; d += date::days{1}) {
        Timecard card = engine.timecard({u.pin, d}, context);
        tenths += card.worked_tenths;
        if (keep != nullptr) {
          keep->push_back(std::move(card));
        }
      }
    }
    return tenths;
  };
  start = Steady::now();
  const long long wall_tenths = compute_all(ComputeContext{nullptr, now}, nullptr);
  const double compute_s = seconds_since(start);

  // 3. The same with the site's zone (DST-aware durations).
  const ComputeContext zoned{date::locate_zone("Europe/Berlin"), now};
  start = Steady::now();
  const long long zoned_tenths = compute_all(zoned, nullptr);
  const double zoned_s = seconds_since(start);

  // The month's timecards kept in memory for the report.
  std::vector<Timecard> cards;
  cards.reserve(static_cast<std::size_t>(opt.users) * static_cast<std::size_t>(opt.days));
  start = Steady::now();
  compute_all(zoned, &cards);
  const double keep_s = seconds_since(start);

  // 4. The monthly report (one row per user per day and per-user totals).
  start = Steady::now();
  const PeriodReport report = build_period_report(scheduler, kFirstDay, last_day, cards);
  const double report_s = seconds_since(start);
  start = Steady::now();
  const std::string csv = period_report_to_csv(report);
  const double csv_s = seconds_since(start);
  start = Steady::now();
  const std::string json = period_report_to_json(report).dump();
  const double json_s = seconds_since(start);

  long long worked = 0;
  long long absence = 0;
  long long late = 0;
  long long overtime = 0;
  for (const UserTotals& t : report.totals) {
    worked += t.counts.worked_tenths;
    absence += t.counts.absence_half_days;
    late += t.counts.late_count;
    overtime += t.counts.overtime_tenths;
  }
  const double n_cards = static_cast<double>(cards.size());
  std::printf("attendance_bench: %d users x %d days, %zu punches (%zu live batches, %zu backlog)\n",
              opt.users, opt.days, punches.size(), live.size(), backlog.size());
  std::printf("  ingest (incremental API)   %10.3f s  %12.0f punches/s  (%zu day changes)\n",
              ingest_s, static_cast<double>(punches.size()) / ingest_s, changed);
  std::printf("  timecards (no zone)        %10.3f s  %12.0f timecards/s\n", compute_s,
              n_cards / compute_s);
  std::printf("  timecards (Europe/Berlin)  %10.3f s  %12.0f timecards/s\n", zoned_s,
              n_cards / zoned_s);
  std::printf("  timecards kept for report  %10.3f s  %12.0f timecards/s\n", keep_s,
              n_cards / keep_s);
  std::printf("  period report build        %10.3f s  %12.0f rows/s\n", report_s,
              n_cards / report_s);
  std::printf("  report CSV                 %10.3f s  %12zu bytes\n", csv_s, csv.size());
  std::printf("  report JSON                %10.3f s  %12zu bytes\n", json_s, json.size());
  std::printf(
      "  check: %lld worked h/10 (%lld wall, %lld zoned), %lld absence half-days, "
      "%lld late periods, %lld overtime h/10\n",
      worked, wall_tenths, zoned_tenths, absence, late, overtime);
  return cards.empty() ? 1 : 0;
}
