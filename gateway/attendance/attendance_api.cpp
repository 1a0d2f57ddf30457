#include "gateway/attendance/attendance_api.hpp"

#include <nlohmann/json.hpp>

#include "gateway/event_json.hpp"
#include "gateway/http/query.hpp"
#include "rules/attendance/attendance_config.hpp"
#include "rules/attendance/local_time.hpp"

namespace pushgate::attendance {

namespace bhttp = boost::beast::http;
using nlohmann::json;

namespace {

json rules_body(const AttendanceService::RulesInfo& info) {
  json j;
  j["source"] = std::string(to_string(info.source));
  j["file"] = info.file.empty() ? json(nullptr) : json(info.file);
  j["updated"] = info.updated_ms != 0 ? json(format_utc_iso8601(info.updated_ms)) : json(nullptr);
  j["rules"] = info.rules ? ra::rules_to_json(*info.rules) : json(nullptr);
  return j;
}

http::Response no_rules(const http::Request& req) {
  // Not an error of the request: nothing to compute with until rules exist.
  return api::json_error(req, bhttp::status::conflict, "no attendance rules",
                         "set attendance.rules_file or PUT /api/v1/attendance/rules");
}

http::Response store_unavailable(const http::Request& req, const boost::system::error_code& ec) {
  return api::json_error(req, bhttp::status::service_unavailable, "store unavailable",
                         ec.message());
}

/** The answer to a rules change: 200 with the rules, 400 naming every bad field, or 503. */
http::Response rules_update_response(const http::Request& req,
                                     const AttendanceService::RulesUpdate& u) {
  if (!u.errors.empty()) {
    return api::field_errors_response(req, bhttp::status::bad_request, "invalid rules",
                                      api::field_errors_json(u.errors));
  }
  if (u.ec) {
    return store_unavailable(req, u.ec);
  }
  json j = rules_body(u.info);
  j["changed"] = u.changed;
  return api::json_response(req, bhttp::status::ok, dump_json(j) + "\n");
}

/** Keeps a file name plain whatever a caller put in `pin`. */
std::string filename_part(std::string_view s) {
  std::string out;
  for (char c : s) {
    const bool plain = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                       c == '-' || c == '_';
    out += plain ? c : '_';
  }
  return out;
}

}  // namespace

AttendanceApi::AttendanceApi(api::Router& router, AttendanceService& service) : service_(service) {
  router.add(bhttp::verb::get, "/api/v1/attendance/rules",
             [this](http::Request&& req, const http::RequestInfo&, const api::PathParams&,
                    http::Reply reply) { get_rules(std::move(req), std::move(reply)); });
  router.add(bhttp::verb::put, "/api/v1/attendance/rules",
             [this](http::Request&& req, const http::RequestInfo&, const api::PathParams&,
                    http::Reply reply) { put_rules(std::move(req), std::move(reply)); });
  router.add(bhttp::verb::delete_, "/api/v1/attendance/rules",
             [this](http::Request&& req, const http::RequestInfo&, const api::PathParams&,
                    http::Reply reply) { delete_rules(std::move(req), std::move(reply)); });
  router.add(bhttp::verb::get, "/api/v1/attendance/timecards",
             [this](http::Request&& req, const http::RequestInfo&, const api::PathParams&,
                    http::Reply reply) { get_report(std::move(req), std::move(reply)); });
  router.add(bhttp::verb::get, "/api/v1/attendance/timecards/{pin}/{day}",
             [this](http::Request&& req, const http::RequestInfo&, const api::PathParams& p,
                    http::Reply reply) { get_timecard(std::move(req), p, std::move(reply)); });
}

// Reply::send may be called from any thread: the callbacks below run on the
// service's worker, which also does the serialising, off the I/O threads.

void AttendanceApi::get_rules(http::Request&& req, http::Reply reply) {
  service_.rules_info([req = std::move(req), reply](AttendanceService::RulesInfo info) mutable {
    reply.send(api::json_response(req, bhttp::status::ok, dump_json(rules_body(info)) + "\n"));
  });
}

void AttendanceApi::put_rules(http::Request&& req, http::Reply reply) {
  std::string body = req.body();
  service_.replace_rules(std::move(body),
                         [req = std::move(req), reply](AttendanceService::RulesUpdate u) mutable {
                           reply.send(rules_update_response(req, u));
                         });
}

void AttendanceApi::delete_rules(http::Request&& req, http::Reply reply) {
  service_.clear_rules([req = std::move(req), reply](AttendanceService::RulesUpdate u) mutable {
    reply.send(rules_update_response(req, u));
  });
}

void AttendanceApi::get_report(http::Request&& req, http::Reply reply) {
  auto q = http::Query::parse_target(req.target());
  auto from = ra::parse_date(q.get_or("from", ""));
  auto to = ra::parse_date(q.get_or("to", ""));
  if (!from || !to) {
    reply.send(api::json_error(req, bhttp::status::bad_request, "bad parameter",
                               "from and to are required dates, YYYY-MM-DD"));
    return;
  }
  if (*to < *from || (*to - *from).count() >= kMaxReportDays) {
    reply.send(api::json_error(req, bhttp::status::bad_request, "bad parameter",
                               "to must not be before from, and a report spans at most " +
                                   std::to_string(kMaxReportDays) + " days"));
    return;
  }
  const std::string format = q.get_or("format", "json");
  if (format != "json" && format != "csv") {
    reply.send(
        api::json_error(req, bhttp::status::bad_request, "bad parameter", "format is json or csv"));
    return;
  }
  std::string pin = q.get_or("pin", "");
  std::string filename = "attendance_" + ra::format_date(*from) + "_" + ra::format_date(*to) +
                         (pin.empty() ? "" : "_" + filename_part(pin)) + ".csv";
  service_.report(
      *from, *to, std::move(pin),
      [req = std::move(req), reply, format, filename](AttendanceService::ReportAnswer a) mutable {
        if (!a.has_rules) {
          reply.send(no_rules(req));
          return;
        }
        if (a.ec) {
          reply.send(store_unavailable(req, a.ec));
          return;
        }
        if (format == "csv") {
          auto res = http::make_response(req, bhttp::status::ok, ra::period_report_to_csv(a.report),
                                         "text/csv; charset=utf-8");
          res.set(bhttp::field::content_disposition, "attachment; filename=\"" + filename + "\"");
          reply.send(std::move(res));
          return;
        }
        reply.send(api::json_response(req, bhttp::status::ok,
                                      dump_json(ra::period_report_to_json(a.report)) + "\n"));
      });
}

void AttendanceApi::get_timecard(http::Request&& req, const api::PathParams& params,
                                 http::Reply reply) {
  auto day = ra::parse_date(params.at("day"));
  if (!day) {
    reply.send(
        api::json_error(req, bhttp::status::bad_request, "bad parameter", "day is YYYY-MM-DD"));
    return;
  }
  service_.timecard(
      params.at("pin"), *day,
      [req = std::move(req), reply](AttendanceService::TimecardAnswer a) mutable {
        if (!a.has_rules) {
          reply.send(no_rules(req));
        } else if (a.ec) {
          reply.send(store_unavailable(req, a.ec));
        } else if (!a.card) {
          reply.send(api::json_error(req, bhttp::status::not_found, "no such user",
                                     "the pin is neither configured nor punched"));
        } else {
          reply.send(api::json_response(req, bhttp::status::ok,
                                        dump_json(ra::timecard_to_json(*a.card)) + "\n"));
        }
      });
}

}  // namespace pushgate::attendance
