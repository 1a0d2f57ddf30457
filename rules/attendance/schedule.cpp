#include "rules/attendance/schedule.hpp"

#include <algorithm>
#include <cassert>

namespace pushgate::rules::attendance {

namespace {

using std::chrono::minutes;
using std::chrono::seconds;

constexpr int kMinutesPerDay = 24 * 60;

int mod_day(int m) {
  return ((m % kMinutesPerDay) + kMinutesPerDay) % kMinutesPerDay;
}

int mins(TimeOfDay t) {
  return static_cast<int>(t.count());
}

// The offset in [-12h, +12h) from `anchor` to the nearest occurrence of `t`:
// "valid check-in 06:30" for a start at 08:30 is 2 h before it, "valid
// check-out 19:30" for an end at 17:30 is 2 h after it.
int nearest(TimeOfDay t, int anchor_tod) {
  int d = mod_day(mins(t) - anchor_tod);
  if (d >= kMinutesPerDay / 2) {
    d -= kMinutesPerDay;
  }
  return d;
}

// §2.15: the split point between two periods is the middle of the gap; with
// an odd gap the earlier period gets the extra minute (17:30..18:45 is 75
// minutes: punch-out 17:30-18:07, next punch-in from 18:08).
date::local_seconds split(date::local_seconds end, date::local_seconds next_start) {
  const auto gap_min = std::chrono::duration_cast<minutes>(next_start - end).count();
  return end + minutes{(gap_min + 1) / 2};
}

seconds split_offset(seconds end, seconds next_start) {
  const auto gap_min = std::chrono::duration_cast<minutes>(next_start - end).count();
  return end + minutes{(gap_min + 1) / 2};
}

}  // namespace

std::string_view to_string(DayKind kind) {
  switch (kind) {
    case DayKind::Unscheduled:
      return "unscheduled";
    case DayKind::Rest:
      return "rest";
    case DayKind::Shift:
      return "shift";
    case DayKind::BusinessTrip:
      return "business_trip";
    case DayKind::Leave:
      return "leave";
    case DayKind::Holiday:
      return "holiday";
  }
  return "unscheduled";
}

std::string_view to_string(SegmentKind kind) {
  switch (kind) {
    case SegmentKind::Duty:
      return "duty";
    case SegmentKind::Flexible:
      return "flexible";
    case SegmentKind::Overtime:
      return "overtime";
  }
  return "duty";
}

Scheduler::Scheduler(std::shared_ptr<const Rules> rules) : rules_(std::move(rules)) {
  assert(rules_ != nullptr);
  assert(validate(*rules_).empty());
  for (const Department& d : rules_->departments) {
    departments_.emplace(d.id, &d);
  }
  std::unordered_map<std::string, const Schedule*> user_schedules;
  std::unordered_map<int, const Schedule*> department_schedules;
  for (const Schedule& s : rules_->schedules) {
    if (s.user) {
      user_schedules.emplace(*s.user, &s);
    } else if (s.department) {
      department_schedules.emplace(*s.department, &s);
    }
  }
  std::unordered_map<std::string, const Cycle*> cycles;
  for (const Cycle& c : rules_->cycles) {
    cycles.emplace(c.id, &c);
  }
  // Resolve "which calendar" (§2.5.1.1 Schedule Mode) once per user, so a
  // day lookup is one hash lookup plus the calendar's own map.
  for (const User& u : rules_->users) {
    UserEntry entry;
    entry.user = &u;
    if (u.schedule_mode == ScheduleMode::Personal) {
      const auto it = user_schedules.find(u.pin);
      entry.schedule = it == user_schedules.end() ? nullptr : it->second;
    } else if (u.department) {
      const auto it = department_schedules.find(*u.department);
      entry.schedule = it == department_schedules.end() ? nullptr : it->second;
    }
    if (entry.schedule != nullptr && entry.schedule->cycle) {
      const auto it = cycles.find(*entry.schedule->cycle);
      entry.cycle = it == cycles.end() ? nullptr : it->second;
    }
    users_.emplace(u.pin, entry);
  }
  for (const Shift& s : rules_->shifts) {
    compile_shift(s);
  }
}

void Scheduler::compile_shift(const Shift& shift) {
  CompiledShift out;
  out.id = shift.id;
  std::vector<const Period*> periods;
  for (const std::string& id : shift.periods) {
    const auto it = std::find_if(rules_->periods.begin(), rules_->periods.end(),
                                 [&id](const Period& p) { return p.id == id; });
    assert(it != rules_->periods.end());
    periods.push_back(&*it);
  }
  const int late_default = shift.late_allowance_min.value_or(rules_->late_allowance_min);
  const int early_default = shift.early_allowance_min.value_or(rules_->early_allowance_min);

  if (periods.size() == 1 && periods.front()->type == PeriodType::Flexible) {
    out.flexible = true;
    out.flex_day_start = periods.front()->day_start;
    CompiledSegment seg;
    seg.kind = SegmentKind::Flexible;
    seg.period = periods.front();
    out.segments.push_back(seg);
    out.duty_count = 1;
    shifts_[static_cast<std::size_t>(shift.id)] = std::move(out);
    return;
  }

  // Chain the segments forward from the first start (offsets in minutes from
  // the shift day's midnight); an end at or before its start, or a start
  // before the previous end, is on the following day.
  int cursor = mins(periods.front()->start);
  int previous_end_tod = cursor;
  bool first = true;
  auto place = [&](TimeOfDay start_tod, TimeOfDay end_tod, CompiledSegment& seg) {
    if (!first) {
      cursor += mod_day(mins(start_tod) - previous_end_tod);
    }
    first = false;
    seg.start = minutes{cursor};
    cursor += mod_day(mins(end_tod) - mins(start_tod));
    seg.end = minutes{cursor};
    previous_end_tod = mins(end_tod);
  };
  for (const Period* p : periods) {
    CompiledSegment seg;
    seg.kind = SegmentKind::Duty;
    seg.period = p;
    place(p->start, p->end, seg);
    seg.late_allowance_min = p->late_allowance_min.value_or(late_default);
    seg.early_allowance_min = p->early_allowance_min.value_or(early_default);
    if (p->valid_check_in) {
      const auto from = seg.start + minutes{nearest(p->valid_check_in->from, mins(p->start))};
      seg.check_in_from = from;
      // "to" is inclusive to the end of its minute.
      seg.check_in_until =
          from + minutes{mod_day(mins(p->valid_check_in->to) - mins(p->valid_check_in->from)) + 1};
    }
    if (p->valid_check_out) {
      const auto until = seg.end + minutes{nearest(p->valid_check_out->to, mins(p->end)) + 1};
      seg.check_out_until = until;
      seg.check_out_from =
          until -
          minutes{mod_day(mins(p->valid_check_out->to) - mins(p->valid_check_out->from)) + 1};
    }
    for (const RestPeriod& r : p->rests) {
      RestPlan rest;
      rest.name = r.name;
      const auto rest_start = seg.start + minutes{mod_day(mins(r.start) - mins(p->start))};
      const int rest_length = mod_day(mins(r.end) - mins(r.start));
      rest.start = date::local_seconds{rest_start};
      rest.end = date::local_seconds{rest_start + minutes{rest_length}};
      if (r.validity) {
        const auto from = rest_start + minutes{nearest(r.validity->from, mins(r.start))};
        rest.valid_from = date::local_seconds{from};
        rest.valid_until = date::local_seconds{
            from + minutes{mod_day(mins(r.validity->to) - mins(r.validity->from)) + 1}};
      } else {
        rest.valid_from = rest.start;
        rest.valid_until = rest.end + minutes{1};
      }
      rest.length = minutes{r.minutes.value_or(rest_length)};
      rest.auto_deduct = r.auto_deduct;
      rest.must_check = r.must_check;
      rest.transfer_unused = r.transfer_unused;
      seg.rests.push_back(std::move(rest));
    }
    out.segments.push_back(std::move(seg));
  }
  out.duty_count = static_cast<int>(out.segments.size());
  if (shift.overtime) {
    CompiledSegment seg;
    seg.kind = SegmentKind::Overtime;
    place(shift.overtime->start, shift.overtime->end, seg);
    out.segments.push_back(std::move(seg));
  }
  for (std::size_t i = 0; i + 1 < out.segments.size(); ++i) {
    out.splits.push_back(split_offset(out.segments[i].end, out.segments[i + 1].start));
  }
  shifts_[static_cast<std::size_t>(shift.id)] = std::move(out);
}

const Scheduler::UserEntry* Scheduler::find_entry(const std::string& pin) const {
  const auto it = users_.find(pin);
  return it == users_.end() ? nullptr : &it->second;
}

const User* Scheduler::find_user(const std::string& pin) const {
  const UserEntry* entry = find_entry(pin);
  return entry == nullptr ? nullptr : entry->user;
}

const Department* Scheduler::find_department(int id) const {
  const auto it = departments_.find(id);
  return it == departments_.end() ? nullptr : it->second;
}

std::optional<int> Scheduler::day_code(const std::string& pin, date::local_days day) const {
  return code_of(find_entry(pin), day);
}

std::optional<int> Scheduler::code_of(const UserEntry* entry, date::local_days day) const {
  if (entry == nullptr || entry->schedule == nullptr) {
    return std::nullopt;
  }
  if (const auto it = entry->schedule->days.find(day); it != entry->schedule->days.end()) {
    return it->second;
  }
  if (entry->cycle == nullptr) {
    return std::nullopt;
  }
  const Cycle& cycle = *entry->cycle;
  if (day < cycle.start_date) {
    return std::nullopt;
  }
  long index = 0;
  if (cycle.mode == CycleMode::Day) {
    index = (day - cycle.start_date).count() % cycle.length;
  } else {
    // Week mode: slot 0 is the Monday of the start date's week.
    const unsigned iso = date::weekday{cycle.start_date}.iso_encoding();  // Mon=1..Sun=7
    const date::local_days monday = cycle.start_date - date::days{iso - 1};
    index = (day - monday).count() % (7L * cycle.length);
  }
  return cycle.days[static_cast<std::size_t>(index)];
}

const Holiday* Scheduler::holiday_on(date::local_days day) const {
  for (const Holiday& h : rules_->holidays) {
    if (h.from <= day && day <= h.to) {
      return &h;
    }
  }
  return nullptr;
}

Scheduler::DayShape Scheduler::shape(const UserEntry* entry, date::local_days day) const {
  DayShape s;
  s.code = code_of(entry, day);
  if (!s.code) {
    return s;
  }
  switch (*s.code) {
    case kRestCode:
      s.kind = DayKind::Rest;
      return s;
    case kBusinessTripCode:
      s.kind = DayKind::BusinessTrip;
      return s;
    case kLeaveCode:
      s.kind = DayKind::Leave;
      return s;
    default:
      break;
  }
  if (const Holiday* h = holiday_on(day)) {
    s.kind = DayKind::Holiday;
    s.holiday = h;
    return s;
  }
  const auto& compiled = shifts_[static_cast<std::size_t>(*s.code)];
  assert(compiled.has_value());
  s.kind = DayKind::Shift;
  s.shift = &*compiled;
  return s;
}

date::local_seconds Scheduler::boundary(const DayShape& previous, const DayShape& current,
                                        date::local_days day) const {
  const date::local_seconds midnight{day};
  if (current.shift != nullptr && current.shift->flexible) {
    return midnight + current.shift->flex_day_start;
  }
  if (previous.shift != nullptr && previous.shift->flexible) {
    return midnight + previous.shift->flex_day_start;
  }
  if (previous.shift == nullptr) {
    return midnight;
  }
  const date::local_seconds previous_end =
      date::local_seconds{day - date::days{1}} + previous.shift->segments.back().end;
  // A shift that ends before midnight leaves the calendar day as the window
  // (the manual's "00:00-9:05"); one that reaches midnight or beyond keeps
  // its punch-out window past it.
  if (previous_end < midnight) {
    return midnight;
  }
  const date::local_seconds target = current.shift != nullptr
                                         ? midnight + current.shift->segments.front().start
                                         : midnight + date::days{1};
  if (previous_end >= target) {
    // Consecutive shifts that overlap: the later day's start wins.
    return target;
  }
  return split(previous_end, target);
}

DayPlan Scheduler::plan_day(const std::string& pin, date::local_days day) const {
  const UserEntry* entry = find_entry(pin);
  const DayShape previous = shape(entry, day - date::days{1});
  const DayShape current = shape(entry, day);
  const DayShape next = shape(entry, day + date::days{1});

  DayPlan plan;
  plan.pin = pin;
  plan.day = day;
  plan.kind = current.kind;
  plan.code = current.code;
  if (current.holiday != nullptr) {
    plan.holiday = current.holiday->name;
  }
  plan.window_begin = boundary(previous, current, day);
  plan.window_end = boundary(current, next, day + date::days{1});
  if (current.shift == nullptr) {
    return plan;
  }
  const CompiledShift& shift = *current.shift;
  plan.shift_id = shift.id;
  const date::local_seconds base{day};
  const auto clamp = [&plan](date::local_seconds t) {
    return std::clamp(t, plan.window_begin, plan.window_end);
  };
  // §2.15 counts a period as 0.5 day; we read that as "a shift is one day
  // shared by its duty periods", so a single-period shift counts 1 day.
  const int half_days = 2 / std::max(shift.duty_count, 1);

  for (std::size_t i = 0; i < shift.segments.size(); ++i) {
    const CompiledSegment& cs = shift.segments[i];
    SegmentPlan seg;
    seg.kind = cs.kind;
    seg.window_begin = i == 0 ? plan.window_begin : clamp(base + shift.splits[i - 1]);
    seg.window_end =
        i + 1 == shift.segments.size() ? plan.window_end : clamp(base + shift.splits[i]);
    if (cs.kind == SegmentKind::Flexible) {
      seg.period_id = cs.period->id;
      seg.start = plan.window_begin;
      seg.end = plan.window_end;
      seg.first_last_only = cs.period->first_last_only;
      seg.required = minutes{cs.period->required_min};
      seg.overtime_beyond_required = cs.period->overtime_beyond_required;
      seg.absence_half_days = half_days;
    } else {
      seg.start = base + cs.start;
      seg.end = base + cs.end;
    }
    seg.check_in_from = seg.window_begin;
    seg.check_in_until = seg.window_end;
    seg.check_out_from = seg.window_begin;
    seg.check_out_until = seg.window_end;
    if (cs.kind == SegmentKind::Duty) {
      const Period& p = *cs.period;
      seg.period_id = p.id;
      seg.late_allowance_min = cs.late_allowance_min;
      seg.early_allowance_min = cs.early_allowance_min;
      seg.late_absence_after_min = p.late_absence_after_min;
      seg.first_last_only = p.first_last_only;
      if (p.record_as_min) {
        seg.record_as = minutes{*p.record_as_min};
      }
      seg.absence_half_days = half_days;
      // The valid windows of §3.8 narrow the split window; they never widen it.
      if (cs.check_in_from) {
        seg.check_in_from = std::max(seg.check_in_from, base + *cs.check_in_from);
        seg.check_in_until = std::min(seg.check_in_until, base + *cs.check_in_until);
      }
      if (cs.check_out_from) {
        seg.check_out_from = std::max(seg.check_out_from, base + *cs.check_out_from);
        seg.check_out_until = std::min(seg.check_out_until, base + *cs.check_out_until);
      }
      for (const RestPlan& r : cs.rests) {
        RestPlan rest = r;
        rest.start += base.time_since_epoch();
        rest.end += base.time_since_epoch();
        rest.valid_from += base.time_since_epoch();
        rest.valid_until += base.time_since_epoch();
        seg.rests.push_back(std::move(rest));
      }
    }
    plan.segments.push_back(std::move(seg));
  }
  return plan;
}

date::local_days Scheduler::owner_day(const std::string& pin, date::local_seconds time) const {
  const UserEntry* entry = find_entry(pin);
  const date::local_days day = date::floor<date::days>(time);
  const date::local_seconds begin =
      boundary(shape(entry, day - date::days{1}), shape(entry, day), day);
  return time >= begin ? day : day - date::days{1};
}

}  // namespace pushgate::rules::attendance
