#include "rules/attendance/report.hpp"

#include <algorithm>
#include <tuple>

namespace pushgate::rules::attendance {

namespace {

ReportUser describe_user(const Scheduler& scheduler, const std::string& pin) {
  ReportUser u;
  u.pin = pin;
  const User* user = scheduler.find_user(pin);
  if (user == nullptr) {
    return u;
  }
  u.name = user->name;
  u.department = user->department;
  if (user->department) {
    if (const Department* d = scheduler.find_department(*user->department)) {
      u.department_name = d->name;
    }
  }
  return u;
}

ReportCounts day_counts(const Timecard& card) {
  ReportCounts c;
  switch (card.kind) {
    case DayKind::Shift:
      c.scheduled_days = 1;
      break;
    case DayKind::Rest:
      c.rest_days = 1;
      break;
    case DayKind::Holiday:
      c.holiday_days = 1;
      break;
    case DayKind::Leave:
      c.leave_days = 1;
      break;
    case DayKind::BusinessTrip:
      c.business_trip_days = 1;
      break;
    case DayKind::Unscheduled:
      c.unscheduled_days = 1;
      break;
  }
  bool normal = card.kind == DayKind::Shift;
  for (const PeriodResult& p : card.periods) {
    normal = normal && period_status(p) == "normal";
    c.late_count += p.late_minutes > 0 ? 1 : 0;
    c.early_count += p.early_minutes > 0 ? 1 : 0;
    if (!p.pending) {
      c.missing_punches += (p.missing_check_in ? 1 : 0) + (p.missing_check_out ? 1 : 0);
    }
  }
  c.normal_days = normal ? 1 : 0;
  c.late_minutes = card.late_minutes;
  c.early_minutes = card.early_minutes;
  c.absence_half_days = card.absence_half_days;
  c.worked_tenths = card.worked_tenths;
  c.expected_tenths = card.expected_tenths;
  c.overtime_tenths = card.overtime_tenths;
  c.final = card.final;
  return c;
}

void add(ReportCounts& sum, const ReportCounts& day) {
  sum.scheduled_days += day.scheduled_days;
  sum.normal_days += day.normal_days;
  sum.rest_days += day.rest_days;
  sum.holiday_days += day.holiday_days;
  sum.leave_days += day.leave_days;
  sum.business_trip_days += day.business_trip_days;
  sum.unscheduled_days += day.unscheduled_days;
  sum.late_count += day.late_count;
  sum.late_minutes += day.late_minutes;
  sum.early_count += day.early_count;
  sum.early_minutes += day.early_minutes;
  sum.absence_half_days += day.absence_half_days;
  sum.missing_punches += day.missing_punches;
  sum.worked_tenths += day.worked_tenths;
  sum.expected_tenths += day.expected_tenths;
  sum.overtime_tenths += day.overtime_tenths;
  sum.final = sum.final && day.final;
}

nlohmann::json time_json(const std::optional<date::local_seconds>& t) {
  return t ? nlohmann::json(format_local_time(*t)) : nlohmann::json(nullptr);
}

void put_user(nlohmann::json& j, const ReportUser& u) {
  j["pin"] = u.pin;
  j["name"] = u.name;
  j["department"] = u.department ? nlohmann::json(*u.department) : nlohmann::json(nullptr);
  j["department_name"] = u.department_name;
}

void put_counts(nlohmann::json& j, const ReportCounts& c) {
  j["scheduled_days"] = c.scheduled_days;
  j["normal_days"] = c.normal_days;
  j["rest_days"] = c.rest_days;
  j["holiday_days"] = c.holiday_days;
  j["leave_days"] = c.leave_days;
  j["business_trip_days"] = c.business_trip_days;
  j["unscheduled_days"] = c.unscheduled_days;
  j["late_count"] = c.late_count;
  j["late_min"] = c.late_minutes;
  j["early_count"] = c.early_count;
  j["early_min"] = c.early_minutes;
  j["absence_days"] = c.absence_half_days / 2.0;
  j["missing_punches"] = c.missing_punches;
  j["worked_hours"] = c.worked_tenths / 10.0;
  j["expected_hours"] = c.expected_tenths / 10.0;
  j["overtime_hours"] = c.overtime_tenths / 10.0;
  j["final"] = c.final;
}

std::string time_csv(const std::optional<date::local_seconds>& t) {
  return t ? format_local_time(*t) : std::string();
}

std::string user_csv(const char* row, const ReportUser& u) {
  return std::string(row) + "," + csv_field(u.pin) + "," + csv_field(u.name) + "," +
         (u.department ? std::to_string(*u.department) : std::string()) + "," +
         csv_field(u.department_name) + ",";
}

std::string counts_csv(const ReportCounts& c) {
  std::string s;
  for (const int v : {c.late_minutes, c.late_count, c.early_minutes, c.early_count}) {
    s += std::to_string(v) + ",";
  }
  s += format_half_days(c.absence_half_days) + ",";
  s += std::to_string(c.missing_punches) + ",";
  s += format_tenths(c.worked_tenths) + "," + format_tenths(c.expected_tenths) + "," +
       format_tenths(c.overtime_tenths) + ",";
  for (const int v : {c.scheduled_days, c.normal_days, c.rest_days, c.holiday_days, c.leave_days,
                      c.business_trip_days, c.unscheduled_days}) {
    s += std::to_string(v) + ",";
  }
  s += c.final ? "true" : "false";
  return s;
}

}  // namespace

ReportRow report_row(const Scheduler& scheduler, const Timecard& card) {
  ReportRow row;
  row.user = describe_user(scheduler, card.pin);
  row.day = card.day;
  row.kind = card.kind;
  row.shift_id = card.shift_id;
  row.holiday = card.holiday;
  row.status = timecard_status(card);
  for (std::size_t i = 0; i < row.check_in.size() && i < card.periods.size(); ++i) {
    row.check_in[i] = card.periods[i].check_in;
    row.check_out[i] = card.periods[i].check_out;
  }
  row.overtime_in = card.overtime.check_in;
  row.overtime_out = card.overtime.check_out;
  row.counts = day_counts(card);
  return row;
}

PeriodReport build_period_report(const Scheduler& scheduler, date::local_days from,
                                 date::local_days to, std::span<const Timecard> timecards) {
  PeriodReport report;
  report.from = from;
  report.to = to;
  report.rows.reserve(timecards.size());
  for (const Timecard& card : timecards) {
    if (card.day < from || card.day > to) {
      continue;
    }
    report.rows.push_back(report_row(scheduler, card));
  }
  std::sort(report.rows.begin(), report.rows.end(), [](const ReportRow& a, const ReportRow& b) {
    return std::tie(a.user.pin, a.day) < std::tie(b.user.pin, b.day);
  });
  for (const ReportRow& row : report.rows) {
    if (report.totals.empty() || report.totals.back().user.pin != row.user.pin) {
      report.totals.push_back({row.user, ReportCounts{}});
    }
    add(report.totals.back().counts, row.counts);
  }
  return report;
}

PeriodReport build_period_report(const TimecardEngine& engine, date::local_days from,
                                 date::local_days to, const ComputeContext& context) {
  std::vector<Timecard> cards;
  for (const std::string& pin : engine.pins()) {
    for (date::local_days day = from; day <= to; day += date::days{1}) {
      cards.push_back(engine.timecard({pin, day}, context));
    }
  }
  return build_period_report(engine.scheduler(), from, to, cards);
}

nlohmann::json period_report_to_json(const PeriodReport& report) {
  using nlohmann::json;
  json rows = json::array();
  for (const ReportRow& row : report.rows) {
    json j;
    put_user(j, row.user);
    j["date"] = format_date(row.day);
    j["kind"] = to_string(row.kind);
    j["shift"] = row.shift_id ? json(*row.shift_id) : json(nullptr);
    j["holiday"] = row.holiday.empty() ? json(nullptr) : json(row.holiday);
    j["status"] = row.status;
    j["check_in"] = {time_json(row.check_in[0]), time_json(row.check_in[1])};
    j["check_out"] = {time_json(row.check_out[0]), time_json(row.check_out[1])};
    j["overtime_in"] = time_json(row.overtime_in);
    j["overtime_out"] = time_json(row.overtime_out);
    put_counts(j, row.counts);
    rows.push_back(std::move(j));
  }
  json totals = json::array();
  for (const UserTotals& t : report.totals) {
    json j;
    put_user(j, t.user);
    put_counts(j, t.counts);
    totals.push_back(std::move(j));
  }
  return {{"from", format_date(report.from)},
          {"to", format_date(report.to)},
          {"rows", std::move(rows)},
          {"totals", std::move(totals)}};
}

void to_json(nlohmann::json& out, const PeriodReport& report) {
  out = period_report_to_json(report);
}

std::string period_report_to_csv(const PeriodReport& report) {
  std::string csv =
      "row,pin,name,department,department_name,date,kind,shift,status,check_in_1,check_out_1,"
      "check_in_2,check_out_2,overtime_in,overtime_out,late_min,late_count,early_min,"
      "early_count,absence_days,missing_punches,worked_hours,expected_hours,overtime_hours,"
      "scheduled_days,normal_days,rest_days,holiday_days,leave_days,business_trip_days,"
      "unscheduled_days,final\r\n";
  std::size_t next_total = 0;
  for (std::size_t i = 0; i < report.rows.size(); ++i) {
    const ReportRow& row = report.rows[i];
    csv += user_csv("day", row.user);
    csv += format_date(row.day) + ",";
    csv += std::string(to_string(row.kind)) + ",";
    csv += (row.shift_id ? std::to_string(*row.shift_id) : std::string()) + ",";
    csv += csv_field(row.status) + ",";
    for (std::size_t p = 0; p < row.check_in.size(); ++p) {
      csv += time_csv(row.check_in[p]) + "," + time_csv(row.check_out[p]) + ",";
    }
    csv += time_csv(row.overtime_in) + "," + time_csv(row.overtime_out) + ",";
    csv += counts_csv(row.counts) + "\r\n";
    // The user's totals follow their last day.
    const bool last_of_user =
        i + 1 == report.rows.size() || report.rows[i + 1].user.pin != row.user.pin;
    if (last_of_user && next_total < report.totals.size()) {
      const UserTotals& t = report.totals[next_total++];
      csv += user_csv("total", t.user);
      csv += ",,,,,,,,,,";  // date .. overtime_out
      csv += counts_csv(t.counts) + "\r\n";
    }
  }
  return csv;
}

}  // namespace pushgate::rules::attendance
