// Attendance end to end: a terminal uploads ATTLOG lines over HTTP to the
// zkpush port of an in-process gateway whose rules file reproduces the
// manual's §2.15 example (9:00-12:00 and 14:00-17:30, 5 minutes allowed);
// the timecard is fetched over REST, stored, published as a Timecard event,
// exported as the monthly CSV, and still there after a restart.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <nlohmann/json.hpp>

#include "tests/support/gateway_harness.hpp"

namespace pushgate::test {
namespace {

namespace bhttp = boost::beast::http;
using nlohmann::json;

// The manual's Table 2-13 shift for user 1001 on every day of 2024.
constexpr std::string_view kRules = R"({
  "late_allowance_min": 5,
  "early_allowance_min": 5,
  "periods": [{"id": "p1", "start": "09:00", "end": "12:00"},
              {"id": "p2", "start": "14:00", "end": "17:30"}],
  "shifts": [{"id": 1, "name": "Table 2-13", "periods": ["p1", "p2"],
              "overtime": {"start": "18:45", "end": "20:00"}}],
  "cycles": [{"id": "daily", "start_date": "2024-01-01", "mode": "day", "length": 1,
              "days": [1]}],
  "users": [{"pin": "1001", "name": "Jakc", "schedule_mode": "personal"}],
  "schedules": [{"user": "1001", "cycle": "daily"}]
})";

// §2.15: "checks the attendance at 9:05, 11:54, and 17:00". The terminal
// sends state 0 for each (no state key pressed): attendance.terminal_states
// is off, so the rules give each punch its role by its time.
constexpr std::string_view kAttlog =
    "1001\t2024-03-04 09:05:00\t0\t1\t\t0\t0\n"
    "1001\t2024-03-04 11:54:00\t0\t1\t\t0\t0\n"
    "1001\t2024-03-04 17:00:00\t0\t1\t\t0\t0\n";

/** A GET with its headers (the harness' client keeps only status and body). */
bhttp::response<bhttp::string_body> get(std::uint16_t port, const std::string& target) {
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::socket socket(ioc);
  socket.connect({boost::asio::ip::make_address("127.0.0.1"), port});
  bhttp::request<bhttp::empty_body> req{bhttp::verb::get, target, 11};
  req.set(bhttp::field::host, "127.0.0.1");
  req.set(bhttp::field::connection, "close");
  // The harness's admin token (api.auth = "required" is the default).
  if (auto token = registered_api_token(port); !token.empty()) {
    req.set(bhttp::field::authorization, "Bearer " + token);
  }
  bhttp::write(socket, req);
  boost::beast::flat_buffer buffer;
  bhttp::response<bhttp::string_body> res;
  bhttp::read(socket, buffer, res);
  return res;
}

class AttendanceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    rules_path_ = (rules_dir_.path() / "rules.json").string();
    std::ofstream(rules_path_) << kRules;
  }

  std::vector<std::string> overrides() const {
    return {"attendance.rules_file=" + rules_path_, "attendance.terminal_states=false",
            // 2024 stays inside the window recomputed and kept in memory.
            "attendance.retain_days=3660", "gateway.timezone=UTC", "gateway.id=site-7"};
  }

  /** Polls until `count_sql` reaches `n` (the service works after the upload's commit). */
  static bool wait_count(GatewayHarness& h, const std::string& count_sql, std::int64_t n) {
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < until) {
      if (h.query_int(count_sql) >= n) {
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

  TempDir rules_dir_;
  std::string rules_path_;
};

TEST_F(AttendanceTest, AttlogUploadBecomesATimecardOverRestAndInTheMonthlyCsv) {
  GatewayHarness h(overrides());
  auto up = http_request(h.zkpush_port(), "POST", "/iclock/cdata?SN=ATT0001&table=ATTLOG&Stamp=1",
                         std::string(kAttlog));
  ASSERT_EQ(up.status, 200) << up.body;
  ASSERT_EQ(up.body.rfind("OK", 0), 0U) << up.body;

  ASSERT_TRUE(wait_count(h, "SELECT COUNT(*) FROM timecards WHERE pin = '1001'", 1));
  EXPECT_EQ(h.query_int("SELECT COUNT(*) FROM events e JOIN terminals t ON t.id = e.terminal_id"
                        " WHERE e.kind = 8 AND t.sn = 'site-7' AND e.pin = '1001'"),
            1);

  auto card = http_request(h.api_port(), "GET", "/api/v1/attendance/timecards/1001/2024-03-04");
  ASSERT_EQ(card.status, 200) << card.body;
  auto j = json::parse(card.body);
  // "an early leave by 1 minute in the first period, and 0.5 day absence".
  EXPECT_EQ(j["status"], "early/absent");
  EXPECT_EQ(j["periods"][0]["early_min"], 1);
  EXPECT_EQ(j["periods"][1]["check_in"], "2024-03-04T17:00:00");
  EXPECT_EQ(j["periods"][1]["check_out"], nullptr);
  EXPECT_DOUBLE_EQ(j["totals"]["absence_days"].get<double>(), 0.5);
  EXPECT_EQ(j["final"], true);

  auto csv =
      get(h.api_port(), "/api/v1/attendance/timecards?from=2024-03-01&to=2024-03-31&format=csv");
  ASSERT_EQ(csv.result_int(), 200) << csv.body();
  EXPECT_EQ(csv[bhttp::field::content_type], "text/csv; charset=utf-8");
  EXPECT_EQ(csv[bhttp::field::content_disposition],
            "attachment; filename=\"attendance_2024-03-01_2024-03-31.csv\"");
  const std::string& body = csv.body();
  EXPECT_EQ(body.rfind("row,pin,name,", 0), 0U) << body.substr(0, 200);
  EXPECT_NE(body.find("\r\nday,1001,Jakc,,,2024-03-04,shift,1,early/absent,2024-03-04T09:05:00,"
                      "2024-03-04T11:54:00,2024-03-04T17:00:00,"),
            std::string::npos)
      << body;
  EXPECT_NE(body.find("\r\ntotal,1001,Jakc,"), std::string::npos);
  // 31 day rows and one total, after the header.
  EXPECT_EQ(std::count(body.begin(), body.end(), '\n'), 1 + 31 + 1);
}

TEST_F(AttendanceTest, TimecardsSurviveARestartAndALatePunchUpdatesThem) {
  TempDir data;
  {
    GatewayHarness h(overrides(), data.path());
    auto up = http_request(h.zkpush_port(), "POST", "/iclock/cdata?SN=ATT0001&table=ATTLOG&Stamp=1",
                           std::string(kAttlog));
    ASSERT_EQ(up.status, 200) << up.body;
    ASSERT_TRUE(wait_count(h, "SELECT COUNT(*) FROM timecards WHERE pin = '1001'", 1));
  }
  GatewayHarness h(overrides(), data.path());
  // The restart recomputed the same timecard: nothing new published.
  EXPECT_EQ(h.query_int("SELECT COUNT(*) FROM events WHERE kind = 8"), 1);
  // A second terminal's backlog brings the missing punch-out for the 4th.
  auto up = http_request(h.zkpush_port(), "POST", "/iclock/cdata?SN=ATT0002&table=ATTLOG&Stamp=1",
                         "1001\t2024-03-04 17:31:00\t0\t1\t\t0\t0\n");
  ASSERT_EQ(up.status, 200) << up.body;
  ASSERT_TRUE(wait_count(h, "SELECT revision FROM timecards WHERE pin = '1001'", 2));
  auto j = json::parse(
      http_request(h.api_port(), "GET", "/api/v1/attendance/timecards/1001/2024-03-04").body);
  EXPECT_EQ(j["status"], "early/late");
  EXPECT_EQ(j["punches"].size(), 4U);
  EXPECT_EQ(h.query_int("SELECT COUNT(*) FROM events WHERE kind = 8"), 2);
}

}  // namespace
}  // namespace pushgate::test
