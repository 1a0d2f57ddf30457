#pragma once

#include "gateway/api/router.hpp"
#include "gateway/attendance/attendance_service.hpp"

namespace pushgate::attendance {

/**
 * Attendance over REST (rules/attendance/README.md, "In the gateway"):
 *
 *   GET    /api/v1/attendance/rules                the rules in force and their source
 *   PUT    /api/v1/attendance/rules                a JSON rules document: validated (400 with
 *          every field error), stored (wins over attendance.rules_file), applied, recomputed
 *   DELETE /api/v1/attendance/rules                back to attendance.rules_file (or none)
 *   GET    /api/v1/attendance/timecards?from=YYYY-MM-DD&to=YYYY-MM-DD&pin=&format=json|csv
 *          the period report (what a terminal exports to USB as its monthly report)
 *   GET    /api/v1/attendance/timecards/{pin}/{day} one timecard, computed now
 *
 * Handlers run on the connection's strand and only hand the work to the
 * service; answers are built on the service's worker and posted back.
 */
class AttendanceApi {
 public:
  /** Most days in one report. */
  static constexpr int kMaxReportDays = 366;

  AttendanceApi(api::Router& router, AttendanceService& service);

 private:
  void get_rules(http::Request&& req, http::Reply reply);
  void put_rules(http::Request&& req, http::Reply reply);
  void delete_rules(http::Request&& req, http::Reply reply);
  void get_report(http::Request&& req, http::Reply reply);
  void get_timecard(http::Request&& req, const api::PathParams& params, http::Reply reply);

  AttendanceService& service_;
};

}  // namespace pushgate::attendance
