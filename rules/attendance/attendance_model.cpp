#include "rules/attendance/attendance_model.hpp"

#include <algorithm>
#include <set>
#include <tuple>

namespace pushgate::rules::attendance {

namespace {

constexpr int kMinutesPerDay = 24 * 60;

int mod_day(int minutes) {
  return ((minutes % kMinutesPerDay) + kMinutesPerDay) % kMinutesPerDay;
}

int minutes_of(TimeOfDay t) {
  return static_cast<int>(t.count());
}

std::string index_field(const std::string& list, std::size_t i) {
  return list + "[" + std::to_string(i) + "]";
}

class Validator {
 public:
  explicit Validator(const Rules& rules) : rules_(rules) {}

  std::vector<ConfigError> run() {
    check_range("recheck_interval_min", rules_.recheck_interval_min, 0, kMaxRecheckIntervalMin);
    check_range("late_allowance_min", rules_.late_allowance_min, 0, kMinutesPerDay - 1);
    check_range("early_allowance_min", rules_.early_allowance_min, 0, kMinutesPerDay - 1);
    check_state_switch();
    check_periods();
    check_shifts();
    check_cycles();
    check_departments();
    check_users();
    check_schedules();
    check_holidays();
    return std::move(errors_);
  }

 private:
  void error(std::string field, std::string message) {
    errors_.push_back({std::move(field), std::move(message)});
  }

  void check_range(const std::string& field, int value, int lo, int hi) {
    if (value < lo || value > hi) {
      error(field, "must be between " + std::to_string(lo) + " and " + std::to_string(hi) +
                       ", got " + std::to_string(value));
    }
  }

  void check_optional_range(const std::string& field, const std::optional<int>& value, int lo,
                            int hi) {
    if (value) {
      check_range(field, *value, lo, hi);
    }
  }

  void check_state_switch() {
    const auto& entries = rules_.state_switch.entries;
    if (entries.size() > static_cast<std::size_t>(kMaxStateSwitchEntries)) {
      error("state_switch.entries", "at most 24 state switch times are allowed (§2.11.6)");
    }
    std::set<int> times;
    for (std::size_t i = 0; i < entries.size(); ++i) {
      const std::string field = index_field("state_switch.entries", i);
      check_range(field + ".state", entries[i].state, 0, 5);
      if (!times.insert(minutes_of(entries[i].time)).second) {
        error(field + ".time", "duplicate switch time " + format_time_of_day(entries[i].time));
      }
    }
  }

  void check_periods() {
    std::set<std::string> ids;
    for (std::size_t i = 0; i < rules_.periods.size(); ++i) {
      const Period& p = rules_.periods[i];
      const std::string field = index_field("periods", i);
      if (p.id.empty()) {
        error(field + ".id", "must not be empty");
      } else if (!ids.insert(p.id).second) {
        error(field + ".id", "duplicate period id '" + p.id + "'");
      }
      if (p.type == PeriodType::Fixed) {
        check_fixed_period(p, field);
      } else {
        check_flexible_period(p, field);
      }
    }
  }

  void check_fixed_period(const Period& p, const std::string& field) {
    if (p.start == p.end) {
      error(field + ".end", "work time must not be empty (start equals end)");
    }
    check_optional_range(field + ".late_allowance_min", p.late_allowance_min, 0,
                         kMinutesPerDay - 1);
    check_optional_range(field + ".early_allowance_min", p.early_allowance_min, 0,
                         kMinutesPerDay - 1);
    check_optional_range(field + ".late_absence_after_min", p.late_absence_after_min, 1,
                         kMinutesPerDay);
    if (p.late_absence_after_min && p.late_allowance_min &&
        *p.late_absence_after_min <= *p.late_allowance_min) {
      error(field + ".late_absence_after_min", "must be greater than late_allowance_min");
    }
    check_optional_range(field + ".record_as_min", p.record_as_min, 0, kMinutesPerDay);
    if (p.rests.size() > static_cast<std::size_t>(kMaxRestPeriodsPerPeriod)) {
      error(field + ".rests", "at most 7 rest periods are allowed (§3.8)");
    }
    const int length = mod_day(minutes_of(p.end) - minutes_of(p.start));
    for (std::size_t r = 0; r < p.rests.size(); ++r) {
      const RestPeriod& rest = p.rests[r];
      const std::string rf = index_field(field + ".rests", r);
      if (rest.name.empty()) {
        error(rf + ".name", "must not be empty");
      }
      const int offset = mod_day(minutes_of(rest.start) - minutes_of(p.start));
      const int rest_length = mod_day(minutes_of(rest.end) - minutes_of(rest.start));
      if (rest_length == 0) {
        error(rf + ".end", "rest time must not be empty (start equals end)");
      } else if (length != 0 && offset + rest_length > length) {
        error(rf, "rest " + format_time_of_day(rest.start) + "-" + format_time_of_day(rest.end) +
                      " must lie within the work time " + format_time_of_day(p.start) + "-" +
                      format_time_of_day(p.end));
      }
      check_optional_range(rf + ".minutes", rest.minutes, 0, rest_length);
      if (rest.transfer_unused && !rest.must_check) {
        error(rf + ".transfer_unused", "only applies when must_check is enabled");
      }
    }
  }

  void check_flexible_period(const Period& p, const std::string& field) {
    check_range(field + ".required_min", p.required_min, 1, kMinutesPerDay);
    if (!p.rests.empty()) {
      error(field + ".rests", "rest periods apply to fixed periods only");
    }
    if (p.valid_check_in || p.valid_check_out) {
      error(field, "valid check-in/check-out windows apply to fixed periods only");
    }
  }

  const Period* find_period(const std::string& id) const {
    for (const Period& p : rules_.periods) {
      if (p.id == id) {
        return &p;
      }
    }
    return nullptr;
  }

  void check_shifts() {
    std::set<int> ids;
    for (std::size_t i = 0; i < rules_.shifts.size(); ++i) {
      const Shift& s = rules_.shifts[i];
      const std::string field = index_field("shifts", i);
      if (s.id < kFirstShiftId || s.id > kLastShiftId) {
        error(field + ".id", "must be between 1 and 24 (the schedule day codes of shifts, §2.7.2)");
      } else if (!ids.insert(s.id).second) {
        error(field + ".id", "duplicate shift id " + std::to_string(s.id));
      }
      check_optional_range(field + ".late_allowance_min", s.late_allowance_min, 0,
                           kMinutesPerDay - 1);
      check_optional_range(field + ".early_allowance_min", s.early_allowance_min, 0,
                           kMinutesPerDay - 1);
      check_shift_periods(s, field);
    }
  }

  void check_shift_periods(const Shift& s, const std::string& field) {
    if (s.periods.empty()) {
      error(field + ".periods", "a shift needs at least one period");
      return;
    }
    std::vector<const Period*> periods;
    for (std::size_t k = 0; k < s.periods.size(); ++k) {
      const Period* p = find_period(s.periods[k]);
      if (p == nullptr) {
        error(index_field(field + ".periods", k), "unknown period '" + s.periods[k] + "'");
        return;
      }
      periods.push_back(p);
    }
    const bool flexible = std::any_of(periods.begin(), periods.end(), [](const Period* p) {
      return p->type == PeriodType::Flexible;
    });
    if (flexible) {
      if (periods.size() != 1) {
        error(field + ".periods", "a flexible period must be the shift's only period");
      }
      if (s.overtime) {
        error(field + ".overtime",
              "a flexible shift has no overtime session (use overtime_beyond_required)");
      }
      return;
    }
    if (periods.size() > static_cast<std::size_t>(kMaxDutyPeriodsPerShift)) {
      error(field + ".periods", "at most 2 duty periods per shift (§2.7.1)");
      return;
    }
    // Chain the segments forward from the first start; "the 2 periods cannot
    // overlap" (§2.7.1) and "the time span must not exceed 24 hours" (§3.8)
    // both show up as a chain longer than a day.
    int cursor = minutes_of(periods.front()->start);
    const int first_start = cursor;
    int previous_end_tod = cursor;
    bool first = true;
    auto chain = [&](TimeOfDay start, TimeOfDay end) {
      if (!first) {
        cursor += mod_day(minutes_of(start) - previous_end_tod);
      }
      first = false;
      cursor += mod_day(minutes_of(end) - minutes_of(start));
      previous_end_tod = minutes_of(end);
    };
    for (const Period* p : periods) {
      if (p->start == p->end) {
        return;  // reported on the period itself
      }
      chain(p->start, p->end);
    }
    if (s.overtime) {
      if (s.overtime->start == s.overtime->end) {
        error(field + ".overtime.end", "overtime session must not be empty (start equals end)");
        return;
      }
      chain(s.overtime->start, s.overtime->end);
    }
    if (cursor - first_start > kMinutesPerDay) {
      error(field,
            "periods overlap or the shift spans more than 24 hours (periods must follow "
            "each other in order, overtime last)");
    }
  }

  bool shift_exists(int id) const {
    return std::any_of(rules_.shifts.begin(), rules_.shifts.end(),
                       [id](const Shift& s) { return s.id == id; });
  }

  void check_day_code(const std::string& field, int code) {
    if (code == kRestCode || code == kBusinessTripCode || code == kLeaveCode) {
      return;
    }
    if (code < kFirstShiftId || code > kLastShiftId) {
      error(field,
            "day code must be 0 (rest), 1-24 (shift), 25 (business trip) or 26 (leave), "
            "got " +
                std::to_string(code));
    } else if (!shift_exists(code)) {
      error(field, "shift " + std::to_string(code) + " is not defined");
    }
  }

  void check_cycles() {
    std::set<std::string> ids;
    for (std::size_t i = 0; i < rules_.cycles.size(); ++i) {
      const Cycle& c = rules_.cycles[i];
      const std::string field = index_field("cycles", i);
      if (c.id.empty()) {
        error(field + ".id", "must not be empty");
      } else if (!ids.insert(c.id).second) {
        error(field + ".id", "duplicate cycle id '" + c.id + "'");
      }
      if (c.length < 1) {
        error(field + ".length", "must be at least 1");
        continue;
      }
      const std::size_t expected =
          static_cast<std::size_t>(c.length) * (c.mode == CycleMode::Week ? 7U : 1U);
      if (c.days.size() != expected) {
        error(field + ".days", "must list " + std::to_string(expected) + " day codes (" +
                                   (c.mode == CycleMode::Week ? "7 per week" : "1 per day") +
                                   "), got " + std::to_string(c.days.size()));
      }
      for (std::size_t d = 0; d < c.days.size(); ++d) {
        check_day_code(index_field(field + ".days", d), c.days[d]);
      }
    }
  }

  void check_departments() {
    std::set<int> ids;
    for (std::size_t i = 0; i < rules_.departments.size(); ++i) {
      const Department& d = rules_.departments[i];
      const std::string field = index_field("departments", i);
      if (!ids.insert(d.id).second) {
        error(field + ".id", "duplicate department id " + std::to_string(d.id));
      }
      if (d.name.empty()) {
        error(field + ".name", "department names cannot be empty (§2.5.3)");
      }
    }
  }

  bool department_exists(int id) const {
    return std::any_of(rules_.departments.begin(), rules_.departments.end(),
                       [id](const Department& d) { return d.id == id; });
  }

  bool user_exists(const std::string& pin) const {
    return std::any_of(rules_.users.begin(), rules_.users.end(),
                       [&pin](const User& u) { return u.pin == pin; });
  }

  void check_users() {
    std::set<std::string> pins;
    for (std::size_t i = 0; i < rules_.users.size(); ++i) {
      const User& u = rules_.users[i];
      const std::string field = index_field("users", i);
      if (u.pin.empty()) {
        error(field + ".pin", "must not be empty");
      } else if (!pins.insert(u.pin).second) {
        error(field + ".pin", "duplicate user pin '" + u.pin + "'");
      }
      if (u.department && !department_exists(*u.department)) {
        error(field + ".department", "unknown department " + std::to_string(*u.department));
      }
    }
  }

  void check_schedules() {
    std::set<std::string> users;
    std::set<int> departments;
    for (std::size_t i = 0; i < rules_.schedules.size(); ++i) {
      const Schedule& s = rules_.schedules[i];
      const std::string field = index_field("schedules", i);
      if (s.user.has_value() == s.department.has_value()) {
        error(field, "a schedule belongs to exactly one user or one department");
      } else if (s.user) {
        if (!user_exists(*s.user)) {
          error(field + ".user", "unknown user '" + *s.user + "'");
        } else if (!users.insert(*s.user).second) {
          error(field + ".user", "user '" + *s.user + "' already has a schedule");
        }
      } else {
        if (!department_exists(*s.department)) {
          error(field + ".department", "unknown department " + std::to_string(*s.department));
        } else if (!departments.insert(*s.department).second) {
          error(field + ".department",
                "department " + std::to_string(*s.department) + " already has a schedule");
        }
      }
      for (const auto& [day, code] : s.days) {
        check_day_code(field + ".days." + format_date(day), code);
      }
      if (s.cycle && std::none_of(rules_.cycles.begin(), rules_.cycles.end(),
                                  [&s](const Cycle& c) { return c.id == *s.cycle; })) {
        error(field + ".cycle", "unknown cycle '" + *s.cycle + "'");
      }
    }
  }

  void check_holidays() {
    for (std::size_t i = 0; i < rules_.holidays.size(); ++i) {
      const Holiday& h = rules_.holidays[i];
      const std::string field = index_field("holidays", i);
      if (h.name.empty()) {
        error(field + ".name", "must not be empty");
      }
      if (h.to < h.from) {
        error(field + ".to", "must not be before from");
      }
    }
  }

  const Rules& rules_;
  std::vector<ConfigError> errors_;
};

}  // namespace

bool punch_before(const Punch& a, const Punch& b) {
  // nullopt sorts before any state; std::optional's operator< does exactly that.
  return std::tie(a.local, a.terminal_sn, a.event_id, a.state, a.pin) <
         std::tie(b.local, b.terminal_sn, b.event_id, b.state, b.pin);
}

std::vector<ConfigError> validate(const Rules& rules) {
  return Validator(rules).run();
}

std::optional<int> state_at(const StateSwitch& table, TimeOfDay time) {
  if (table.entries.empty()) {
    return std::nullopt;
  }
  // The state shown is the one switched to last; before the first switch of
  // the day the previous day's last switch is still in force.
  const StateSwitchEntry* best = nullptr;
  const StateSwitchEntry* latest = nullptr;
  for (const StateSwitchEntry& e : table.entries) {
    if (e.time <= time && (best == nullptr || e.time > best->time)) {
      best = &e;
    }
    if (latest == nullptr || e.time > latest->time) {
      latest = &e;
    }
  }
  return (best != nullptr ? best : latest)->state;
}

}  // namespace pushgate::rules::attendance
