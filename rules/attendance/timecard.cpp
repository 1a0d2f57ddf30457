#include "rules/attendance/timecard.hpp"

#include <algorithm>
#include <set>
#include <utility>

namespace pushgate::rules::attendance {

namespace {

using std::chrono::minutes;
using std::chrono::seconds;

constexpr seconds kTenth{360};

// One punch while computing: its effective state and what it was used for.
struct Rec {
  const Punch* punch = nullptr;
  std::optional<PunchState> state;
  PunchRole role = PunchRole::Unused;
  int period = -1;

  date::local_seconds at() const { return punch->local; }
  bool is(PunchState s) const { return state == s; }
  bool untyped() const { return !state.has_value(); }
};

std::optional<PunchState> effective_state(const Rules& rules, const Punch& p) {
  // Only 0-5 carry a meaning; 255 and anything else mean "undefined".
  if (p.state && *p.state >= 0 && *p.state <= 5) {
    return static_cast<PunchState>(*p.state);
  }
  if (rules.state_switch.infer_missing_states) {
    const auto tod =
        std::chrono::duration_cast<minutes>(p.local - date::floor<date::days>(p.local));
    if (const auto s = state_at(rules.state_switch, tod)) {
      return static_cast<PunchState>(*s);
    }
  }
  return std::nullopt;
}

bool in_range(date::local_seconds t, date::local_seconds from, date::local_seconds until) {
  return from <= t && t < until;
}

seconds positive(seconds s) {
  return std::max(s, seconds{0});
}

// Real elapsed overlap of [a1, a2) and [b1, b2).
seconds overlap(date::local_seconds a1, date::local_seconds a2, date::local_seconds b1,
                date::local_seconds b2, const date::time_zone* zone) {
  const auto from = std::max(a1, b1);
  const auto until = std::min(a2, b2);
  if (until <= from) {
    return seconds{0};
  }
  return positive(elapsed(from, until, zone));
}

int whole_minutes_floor(seconds s) {
  return static_cast<int>(s.count() / 60);
}

int whole_minutes_ceil(seconds s) {
  return static_cast<int>((s.count() + 59) / 60);
}

int tenths_of(seconds s) {
  return static_cast<int>(positive(s) / kTenth);
}

struct Selection {
  Rec* in = nullptr;
  Rec* out = nullptr;
};

// "If you clock in for more than once, the earliest punch-in is effective; if
// you clock out for more than once, the latest punch-out is effective"
// (§2.7.1). When no check-in precedes a check-out only one role can be
// filled: a lone punch before the period's end is its (late) check-in, after
// it its check-out; this is how §2.15 reads "9:05, 11:54 and 17:00" as "no
// punch-out in the second period".
template <typename In, typename Out>
Selection select_first_last(const std::vector<Rec*>& candidates, In eligible_in, Out eligible_out,
                            date::local_seconds period_end) {
  Selection sel;
  std::size_t in_index = 0;
  std::size_t out_index = 0;
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    if (sel.in == nullptr && eligible_in(*candidates[i])) {
      sel.in = candidates[i];
      in_index = i;
    }
    if (eligible_out(*candidates[i])) {
      sel.out = candidates[i];
      out_index = i;
    }
  }
  if (sel.in != nullptr && sel.out != nullptr && out_index <= in_index) {
    if (sel.in->at() < period_end) {
      sel.out = nullptr;
    } else {
      sel.in = nullptr;
    }
  }
  return sel;
}

// Without "first check-in and last check-out only", punches pair up in time
// order into several working sessions (§3.8).
template <typename In, typename Out>
std::vector<Selection> select_pairs(const std::vector<Rec*>& candidates, In eligible_in,
                                    Out eligible_out, int& unpaired) {
  std::vector<Selection> pairs;
  Rec* open = nullptr;
  for (Rec* r : candidates) {
    // The eligibility checks already keep typed check-outs out of check-ins
    // and typed check-ins out of check-outs; an untyped punch can be either.
    const bool can_in = eligible_in(*r);
    const bool can_out = eligible_out(*r);
    if (open != nullptr) {
      if (can_out) {
        pairs.push_back({open, r});
        open = nullptr;
      } else if (can_in) {
        ++unpaired;  // a second check-in: the first one never got its check-out
        open = r;
      }
    } else if (can_in) {
      open = r;
    } else if (can_out) {
      ++unpaired;  // a check-out without a check-in
    }
  }
  if (open != nullptr) {
    ++unpaired;
  }
  return pairs;
}

class Computer {
 public:
  Computer(const Rules& rules, const DayPlan& plan, const ComputeContext& context)
      : rules_(rules), plan_(plan), ctx_(context) {}

  Timecard run(std::span<const Punch> punches) {
    collect(punches);
    Timecard card;
    card.pin = plan_.pin;
    card.day = plan_.day;
    card.kind = plan_.kind;
    card.code = plan_.code;
    card.shift_id = plan_.shift_id;
    card.holiday = plan_.holiday;
    card.window_begin = plan_.window_begin;
    card.window_end = plan_.window_end;
    card.final = ctx_.now >= plan_.window_end;

    const SegmentPlan* overtime = nullptr;
    for (const SegmentPlan& seg : plan_.segments) {
      if (seg.kind == SegmentKind::Overtime) {
        overtime = &seg;
        continue;
      }
      const int index = static_cast<int>(card.periods.size());
      card.periods.push_back(compute_period(seg, index));
    }
    card.overtime = compute_overtime(overtime);

    for (const PeriodResult& p : card.periods) {
      card.late_minutes += p.late_minutes;
      card.early_minutes += p.early_minutes;
      card.absence_half_days += p.absence_half_days;
      card.worked += p.worked;
      card.worked_tenths += p.worked_tenths;
      card.expected_tenths += p.expected_tenths;
    }
    card.overtime_worked = card.overtime.worked + flexible_overtime_;
    card.overtime_tenths = tenths_of(card.overtime_worked);

    for (const Rec& r : recs_) {
      PunchUse use;
      use.local = r.punch->local;
      use.state = r.punch->state;
      if (r.state) {
        use.effective_state = static_cast<int>(*r.state);
      }
      use.terminal_sn = r.punch->terminal_sn;
      use.event_id = r.punch->event_id;
      use.role = r.role;
      use.period = r.period;
      card.punches.push_back(std::move(use));
    }
    return card;
  }

 private:
  void collect(std::span<const Punch> punches) {
    std::vector<const Punch*> sorted;
    sorted.reserve(punches.size());
    for (const Punch& p : punches) {
      sorted.push_back(&p);
    }
    std::sort(sorted.begin(), sorted.end(),
              [](const Punch* a, const Punch* b) { return punch_before(*a, *b); });
    // A re-uploaded record counts once: the first of each (terminal, event id)
    // in canonical order, whichever copy arrived first.
    std::set<std::pair<std::string_view, std::int64_t>> seen;
    const seconds interval = minutes{rules_.recheck_interval_min};
    const Punch* last_kept = nullptr;
    for (const Punch* p : sorted) {
      if (!seen.emplace(p->terminal_sn, p->event_id).second) {
        continue;
      }
      if (p->pin != plan_.pin || !in_range(p->local, plan_.window_begin, plan_.window_end)) {
        continue;
      }
      Rec r;
      r.punch = p;
      r.state = effective_state(rules_, *p);
      // §2.11.2: a punch within the recheck interval of the last kept punch
      // is a repeat, whichever terminal it came from and whatever its state.
      if (last_kept != nullptr && interval > seconds{0} && p->local - last_kept->local < interval) {
        r.role = PunchRole::Duplicate;
      } else {
        last_kept = p;
      }
      recs_.push_back(r);
    }
  }

  PeriodResult compute_period(const SegmentPlan& seg, int index) {
    PeriodResult out;
    out.kind = seg.kind;
    out.period_id = seg.period_id;
    out.start = seg.start;
    out.end = seg.end;

    // Duty punches: the untyped ones and those the terminal marked check-in or
    // check-out; break and overtime states are left to rests and overtime.
    std::vector<Rec*> candidates;
    for (Rec& r : recs_) {
      if (r.role == PunchRole::Unused && in_range(r.at(), seg.window_begin, seg.window_end) &&
          (r.untyped() || r.is(PunchState::CheckIn) || r.is(PunchState::CheckOut))) {
        candidates.push_back(&r);
      }
    }
    const auto eligible_in = [&seg](const Rec& r) {
      return (r.untyped() || r.is(PunchState::CheckIn)) &&
             in_range(r.at(), seg.check_in_from, seg.check_in_until);
    };
    const auto eligible_out = [&seg](const Rec& r) {
      return (r.untyped() || r.is(PunchState::CheckOut)) &&
             in_range(r.at(), seg.check_out_from, seg.check_out_until);
    };

    std::vector<Selection> pairs;
    if (!seg.first_last_only) {
      pairs = select_pairs(candidates, eligible_in, eligible_out, out.unpaired_punches);
    }
    Selection single;
    if (pairs.empty()) {
      single = select_first_last(candidates, eligible_in, eligible_out, seg.end);
      if (single.in != nullptr && single.out != nullptr) {
        pairs.push_back(single);
      }
    } else {
      single = {pairs.front().in, pairs.back().out};
    }
    for (const Selection& s : pairs) {
      mark(*s.in, PunchRole::CheckIn, index);
      mark(*s.out, PunchRole::CheckOut, index);
      out.sessions.push_back({s.in->at(), s.out->at()});
    }
    if (single.in != nullptr) {
      mark(*single.in, PunchRole::CheckIn, index);
      out.check_in = single.in->at();
    }
    if (single.out != nullptr) {
      mark(*single.out, PunchRole::CheckOut, index);
      out.check_out = single.out->at();
    }
    out.missing_check_in = !out.check_in;
    out.missing_check_out = !out.check_out;

    if (seg.kind == SegmentKind::Flexible) {
      compute_flexible(seg, out);
    } else {
      compute_fixed(seg, index, out);
    }

    // A missing punch becomes an absence only once nothing can fill it: the
    // period's window has closed (a backlog upload later still recomputes).
    const bool closed = ctx_.now >= seg.window_end;
    if (out.missing_check_in || out.missing_check_out) {
      if (closed) {
        // An absent period is an absence, not also late or early: §2.15 reads
        // "9:05, 11:54 and 17:00" as early by 1 and 0.5 day absent, nothing
        // about 17:00 being late.
        out.absence_half_days = seg.absence_half_days;
        out.late_minutes = 0;
        out.early_minutes = 0;
      } else {
        out.pending = true;
      }
    } else if (out.late_absence) {
      out.absence_half_days = seg.absence_half_days;
    }
    out.worked_tenths = tenths_of(out.worked);
    out.expected_tenths = tenths_of(out.expected);
    return out;
  }

  void compute_fixed(const SegmentPlan& seg, int index, PeriodResult& out) {
    const date::time_zone* zone = ctx_.zone;
    if (out.check_in && *out.check_in > seg.start) {
      // Precise to seconds, counted in started minutes: 9:05:59 is 5 minutes
      // late (still normal with 5 allowed), 9:06:00 is 6 (late by 1).
      const int raw = whole_minutes_floor(elapsed(seg.start, *out.check_in, zone));
      out.late_minutes = std::max(0, raw - seg.late_allowance_min);
      if (seg.late_absence_after_min && raw > *seg.late_absence_after_min) {
        out.late_absence = true;
        out.late_minutes = 0;
      }
    }
    if (out.check_out && *out.check_out < seg.end) {
      // 11:54:xx against 12:00 is 6 minutes early (early by 1 with 5 allowed);
      // 11:55:00 is 5 (normal).
      const int raw = whole_minutes_ceil(elapsed(*out.check_out, seg.end, zone));
      out.early_minutes = std::max(0, raw - seg.early_allowance_min);
    }

    seconds default_rest{0};
    for (const RestPlan& rest : seg.rests) {
      if (rest.auto_deduct || rest.must_check) {
        default_rest += rest.length;
      }
    }
    out.expected = seg.record_as ? seconds{*seg.record_as}
                                 : positive(elapsed(seg.start, seg.end, zone) - default_rest);
    if (out.sessions.empty()) {
      return;
    }

    // §2.16: only time inside the period counts (8:00 and 12:30 against
    // 9:00-12:00 is 3 hours).
    seconds raw{0};
    for (const WorkSession& s : out.sessions) {
      raw += overlap(s.check_in, s.check_out, seg.start, seg.end, zone);
    }
    for (const RestPlan& rest : seg.rests) {
      out.rest_deducted += rest_deduction(seg, rest, index, out);
    }
    out.worked = positive(raw - out.rest_deducted);
  }

  seconds rest_deduction(const SegmentPlan& seg, const RestPlan& rest, int index,
                         PeriodResult& out) {
    const date::time_zone* zone = ctx_.zone;
    seconds in_rest{0};  // worked time falling inside the scheduled rest
    for (const WorkSession& s : out.sessions) {
      const auto from = std::max(s.check_in, seg.start);
      const auto until = std::min(s.check_out, seg.end);
      in_rest += overlap(from, until, rest.start, rest.end, zone);
    }
    const seconds scheduled = std::min<seconds>(rest.length, in_rest);
    if (!rest.must_check) {
      return rest.auto_deduct ? scheduled : seconds{0};
    }
    if (!seg.first_last_only) {
      return paired_rest_deduction(seg, rest, out, scheduled);
    }
    // Must check in/out: the earliest break-out and the latest break-in in
    // the rest's validity window, from punches not used as check-in/out.
    Rec* break_out = nullptr;
    Rec* break_in = nullptr;
    for (Rec& r : recs_) {
      if (r.role != PunchRole::Unused || !in_range(r.at(), seg.window_begin, seg.window_end) ||
          !in_range(r.at(), rest.valid_from, rest.valid_until)) {
        continue;
      }
      if (break_out == nullptr && (r.untyped() || r.is(PunchState::BreakOut))) {
        break_out = &r;
      } else if (break_out != nullptr && (r.untyped() || r.is(PunchState::BreakIn))) {
        break_in = &r;
      }
    }
    if (break_out == nullptr || break_in == nullptr) {
      // Without the break punches the rest is deducted as scheduled.
      out.missing_break_punch = true;
      return scheduled;
    }
    mark(*break_out, PunchRole::BreakOut, index);
    mark(*break_in, PunchRole::BreakIn, index);
    seconds taken{0};
    for (const WorkSession& s : out.sessions) {
      const auto from = std::max(s.check_in, seg.start);
      const auto until = std::min(s.check_out, seg.end);
      taken += overlap(from, until, break_out->at(), break_in->at(), zone);
    }
    // "Transfer Unused Rest Time to Valid Work Time": a short break credits the
    // unused rest as work; otherwise the full rest is deducted anyway.
    return rest.transfer_unused ? taken : std::max(taken, scheduled);
  }

  // When punches pair up, the break is the gap between two sessions whose
  // check-out and check-in fall in the rest's validity window; that gap is
  // already unworked, so only the unused rest may be added.
  seconds paired_rest_deduction(const SegmentPlan& seg, const RestPlan& rest, PeriodResult& out,
                                seconds scheduled) {
    for (std::size_t k = 0; k + 1 < out.sessions.size(); ++k) {
      const auto gap_from = out.sessions[k].check_out;
      const auto gap_until = out.sessions[k + 1].check_in;
      if (!in_range(gap_from, rest.valid_from, rest.valid_until) ||
          !in_range(gap_until, rest.valid_from, rest.valid_until)) {
        continue;
      }
      const seconds taken = overlap(gap_from, gap_until, seg.start, seg.end, ctx_.zone);
      return rest.transfer_unused ? seconds{0} : positive(rest.length - taken);
    }
    out.missing_break_punch = true;
    return scheduled;
  }

  void compute_flexible(const SegmentPlan& seg, PeriodResult& out) {
    out.expected = seg.required;
    if (out.sessions.empty()) {
      return;
    }
    seconds worked{0};
    for (const WorkSession& s : out.sessions) {
      worked += positive(elapsed(s.check_in, s.check_out, ctx_.zone));
    }
    if (seg.overtime_beyond_required && worked > seg.required) {
      flexible_overtime_ += worked - seg.required;
      worked = seg.required;
    }
    out.worked = worked;
    if (worked < seg.required) {
      out.short_minutes = whole_minutes_ceil(seg.required - worked);
    }
  }

  OvertimeResult compute_overtime(const SegmentPlan* seg) {
    OvertimeResult out;
    out.scheduled = seg != nullptr;
    // Punches the terminal marked OT-in/OT-out are overtime wherever they fall
    // in the day (also on rest days); untyped punches only inside the session's
    // window.
    std::vector<Rec*> candidates;
    for (Rec& r : recs_) {
      if (r.role != PunchRole::Unused) {
        continue;
      }
      const bool typed = r.is(PunchState::OvertimeIn) || r.is(PunchState::OvertimeOut);
      const bool in_session =
          seg != nullptr && r.untyped() && in_range(r.at(), seg->window_begin, seg->window_end);
      if (typed || in_session) {
        candidates.push_back(&r);
      }
    }
    const auto eligible_in = [](const Rec& r) {
      return r.untyped() || r.is(PunchState::OvertimeIn);
    };
    const auto eligible_out = [](const Rec& r) {
      return r.untyped() || r.is(PunchState::OvertimeOut);
    };
    Rec* in = nullptr;
    Rec* out_rec = nullptr;
    std::size_t in_index = 0;
    for (std::size_t i = 0; i < candidates.size(); ++i) {
      if (in == nullptr && eligible_in(*candidates[i])) {
        in = candidates[i];
        in_index = i;
      }
      if (in != nullptr && i > in_index && eligible_out(*candidates[i])) {
        out_rec = candidates[i];
      }
    }
    if (in == nullptr || out_rec == nullptr) {
      return out;
    }
    mark(*in, PunchRole::OvertimeIn, -1);
    mark(*out_rec, PunchRole::OvertimeOut, -1);
    out.check_in = in->at();
    out.check_out = out_rec->at();
    // §2.16: overtime is simply out - in (18:20 to 19:30 is 1.1 h), not
    // clipped to the session.
    out.worked = positive(elapsed(in->at(), out_rec->at(), ctx_.zone));
    out.tenths = tenths_of(out.worked);
    return out;
  }

  static void mark(Rec& r, PunchRole role, int period) {
    r.role = role;
    r.period = period;
  }

  const Rules& rules_;
  const DayPlan& plan_;
  const ComputeContext& ctx_;
  std::vector<Rec> recs_;
  seconds flexible_overtime_{0};
};

std::string optional_time(const std::optional<date::local_seconds>& t) {
  return t ? format_local_time(*t) : std::string();
}

nlohmann::json optional_time_json(const std::optional<date::local_seconds>& t) {
  return t ? nlohmann::json(format_local_time(*t)) : nlohmann::json(nullptr);
}

double half_days_value(int half_days) {
  return half_days / 2.0;
}

double tenths_value(int tenths) {
  return tenths / 10.0;
}

}  // namespace

date::local_seconds site_now(const Clock& clock, const date::time_zone* zone) {
  return to_local(date::floor<std::chrono::seconds>(clock.now()), zone);
}

std::string_view to_string(PunchRole role) {
  switch (role) {
    case PunchRole::Unused:
      return "unused";
    case PunchRole::Duplicate:
      return "duplicate";
    case PunchRole::CheckIn:
      return "check_in";
    case PunchRole::CheckOut:
      return "check_out";
    case PunchRole::BreakOut:
      return "break_out";
    case PunchRole::BreakIn:
      return "break_in";
    case PunchRole::OvertimeIn:
      return "overtime_in";
    case PunchRole::OvertimeOut:
      return "overtime_out";
  }
  return "unused";
}

Timecard compute_timecard(const Rules& rules, const DayPlan& plan, std::span<const Punch> punches,
                          const ComputeContext& context) {
  return Computer(rules, plan, context).run(punches);
}

std::string period_status(const PeriodResult& p) {
  if (p.pending) {
    return "pending";
  }
  if (p.absence_half_days > 0) {
    return "absent";
  }
  if (p.late_minutes > 0 && p.early_minutes > 0) {
    return "late+early";
  }
  if (p.late_minutes > 0) {
    return "late";
  }
  if (p.early_minutes > 0) {
    return "early";
  }
  if (p.short_minutes > 0) {
    return "short";
  }
  return "normal";
}

std::string timecard_status(const Timecard& card) {
  if (card.kind != DayKind::Shift) {
    return std::string(to_string(card.kind));
  }
  std::string status;
  for (const PeriodResult& p : card.periods) {
    if (!status.empty()) {
      status += '/';
    }
    status += period_status(p);
  }
  return status;
}

std::string format_tenths(int tenths) {
  const char* sign = tenths < 0 ? "-" : "";
  const int value = tenths < 0 ? -tenths : tenths;
  return sign + std::to_string(value / 10) + "." + std::to_string(value % 10);
}

std::string format_half_days(int half_days) {
  return format_tenths(half_days * 5);
}

nlohmann::json timecard_to_json(const Timecard& card) {
  using nlohmann::json;
  json j;
  j["pin"] = card.pin;
  j["date"] = format_date(card.day);
  j["kind"] = to_string(card.kind);
  j["code"] = card.code ? json(*card.code) : json(nullptr);
  j["shift"] = card.shift_id ? json(*card.shift_id) : json(nullptr);
  j["holiday"] = card.holiday.empty() ? json(nullptr) : json(card.holiday);
  j["window"] = {{"begin", format_local_time(card.window_begin)},
                 {"end", format_local_time(card.window_end)}};
  j["final"] = card.final;
  j["status"] = timecard_status(card);
  json periods = json::array();
  for (const PeriodResult& p : card.periods) {
    json sessions = json::array();
    for (const WorkSession& s : p.sessions) {
      sessions.push_back({{"check_in", format_local_time(s.check_in)},
                          {"check_out", format_local_time(s.check_out)}});
    }
    periods.push_back({{"period", p.period_id},
                       {"kind", to_string(p.kind)},
                       {"start", format_local_time(p.start)},
                       {"end", format_local_time(p.end)},
                       {"check_in", optional_time_json(p.check_in)},
                       {"check_out", optional_time_json(p.check_out)},
                       {"sessions", std::move(sessions)},
                       {"status", period_status(p)},
                       {"late_min", p.late_minutes},
                       {"early_min", p.early_minutes},
                       {"short_min", p.short_minutes},
                       {"missing_check_in", p.missing_check_in},
                       {"missing_check_out", p.missing_check_out},
                       {"late_absence", p.late_absence},
                       {"pending", p.pending},
                       {"absence_days", half_days_value(p.absence_half_days)},
                       {"worked_hours", tenths_value(p.worked_tenths)},
                       {"worked_seconds", p.worked.count()},
                       {"expected_hours", tenths_value(p.expected_tenths)},
                       {"rest_deducted_seconds", p.rest_deducted.count()},
                       {"missing_break_punch", p.missing_break_punch},
                       {"unpaired_punches", p.unpaired_punches}});
  }
  j["periods"] = std::move(periods);
  j["overtime"] = {{"scheduled", card.overtime.scheduled},
                   {"check_in", optional_time_json(card.overtime.check_in)},
                   {"check_out", optional_time_json(card.overtime.check_out)},
                   {"hours", tenths_value(card.overtime.tenths)},
                   {"seconds", card.overtime.worked.count()}};
  j["totals"] = {{"late_min", card.late_minutes},
                 {"early_min", card.early_minutes},
                 {"absence_days", half_days_value(card.absence_half_days)},
                 {"worked_hours", tenths_value(card.worked_tenths)},
                 {"worked_seconds", card.worked.count()},
                 {"expected_hours", tenths_value(card.expected_tenths)},
                 {"overtime_hours", tenths_value(card.overtime_tenths)},
                 {"overtime_seconds", card.overtime_worked.count()}};
  json punches = json::array();
  for (const PunchUse& u : card.punches) {
    punches.push_back(
        {{"time", format_local_time(u.local)},
         {"state", u.state ? json(*u.state) : json(nullptr)},
         {"effective_state", u.effective_state ? json(*u.effective_state) : json(nullptr)},
         {"terminal_sn", u.terminal_sn},
         {"event_id", u.event_id},
         {"role", to_string(u.role)},
         {"period", u.period >= 0 ? json(u.period) : json(nullptr)}});
  }
  j["punches"] = std::move(punches);
  return j;
}

void to_json(nlohmann::json& out, const Timecard& card) {
  out = timecard_to_json(card);
}

std::string csv_field(std::string_view text) {
  if (text.find_first_of(",\"\r\n") == std::string_view::npos) {
    return std::string(text);
  }
  std::string quoted = "\"";
  for (const char c : text) {
    if (c == '"') {
      quoted += '"';
    }
    quoted += c;
  }
  quoted += '"';
  return quoted;
}

std::string timecard_csv_header() {
  return "pin,date,kind,shift,status,check_in_1,check_out_1,late_min_1,early_min_1,check_in_2,"
         "check_out_2,late_min_2,early_min_2,overtime_in,overtime_out,late_min,early_min,"
         "absence_days,worked_hours,expected_hours,overtime_hours,final\r\n";
}

std::string timecard_to_csv_row(const Timecard& card) {
  std::string row;
  row += csv_field(card.pin) + ",";
  row += format_date(card.day) + ",";
  row += std::string(to_string(card.kind)) + ",";
  row += (card.shift_id ? std::to_string(*card.shift_id) : std::string()) + ",";
  row += csv_field(timecard_status(card)) + ",";
  for (std::size_t i = 0; i < 2; ++i) {
    if (i < card.periods.size()) {
      const PeriodResult& p = card.periods[i];
      row += optional_time(p.check_in) + "," + optional_time(p.check_out) + "," +
             std::to_string(p.late_minutes) + "," + std::to_string(p.early_minutes) + ",";
    } else {
      row += ",,,,";
    }
  }
  row += optional_time(card.overtime.check_in) + "," + optional_time(card.overtime.check_out) + ",";
  row += std::to_string(card.late_minutes) + "," + std::to_string(card.early_minutes) + ",";
  row += format_half_days(card.absence_half_days) + ",";
  row += format_tenths(card.worked_tenths) + "," + format_tenths(card.expected_tenths) + ",";
  row += format_tenths(card.overtime_tenths) + ",";
  row += card.final ? "true" : "false";
  row += "\r\n";
  return row;
}

std::string timecard_to_csv(const Timecard& card) {
  return timecard_csv_header() + timecard_to_csv_row(card);
}

}  // namespace pushgate::rules::attendance
