// Device text at the door, over real HTTP against an in-process gateway:
// names in Latin-1 (an access terminal's tabledata user, an attendance
// terminal's OPERLOG USER) and GBK are stored as valid UTF-8 with the bytes
// as sent kept in raw; GET /api/v1/sync and restarts keep working; serials
// that are not what firmware sends are refused, counted and never stored.
#include <gtest/gtest.h>

#include <sqlite3.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "gateway/device_text.hpp"
#include "gateway/store/sqlite.hpp"
#include "tests/support/gateway_harness.hpp"
#include "tests/support/http_fixture.hpp"

namespace pushgate::test {
namespace {

constexpr const char* kAccessSn = "ACC1809140006";
constexpr const char* kAttendanceSn = "ATT0316144680030";
constexpr const char* kGbkSn = "GBK0316144680031";
constexpr const char* kReplacement = "\xEF\xBF\xBD";

std::string request(const std::string& method, const std::string& target,
                    const std::string& body = {}) {
  return method + " " + target +
         " HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: iClock Proxy/1.09\r\n"
         "Connection: close\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

HttpAnswer send(GatewayHarness& h, const std::string& method, const std::string& target,
                const std::string& body = {}) {
  return send_raw(h.zkpush_port(), request(method, target, body));
}

void upload_hostile_names(GatewayHarness& h) {
  const std::string acc = kAccessSn;
  // Security PUSH: handshake, registration, a user whose name is Latin-1.
  ASSERT_EQ(send(h, "GET", "/iclock/cdata?SN=" + acc + "&options=all&pushver=3.1.2&DeviceType=acc")
                .status,
            200);
  auto reg = send(h, "POST", "/iclock/registry?SN=" + acc,
                  "DeviceType=acc,~DeviceName=Gate\xE9,FirmVer=AC Ver 5.7\xFF,LockCount=1\n");
  ASSERT_EQ(reg.status, 200) << reg.body;
  auto user = send(h, "POST", "/iclock/cdata?SN=" + acc + "&table=tabledata&tablename=user&count=1",
                   "user uid=5\tcardno=\tpin=4\tpassword=\tgroup=1\tstarttime=0\tendtime=0\t"
                   "name=Jos\xE9\tprivilege=0\tdisable=0\tverify=0\r\n");
  ASSERT_EQ(user.status, 200) << user.body;
  EXPECT_EQ(user.body, "user=1");

  // Attendance PUSH: OPERLOG USER with the same name.
  const std::string att = kAttendanceSn;
  ASSERT_EQ(send(h, "GET", "/iclock/cdata?SN=" + att + "&options=all&pushver=2.4.1").status, 200);
  auto oper = send(h, "POST", "/iclock/cdata?SN=" + att + "&table=OPERLOG&Stamp=9999",
                   "USER PIN=7\tName=Jos\xE9\tPri=0\tPasswd=\tCard=\tGrp=1\tTZ=0000000000000000\t"
                   "Verify=0\tViceCard=\n");
  ASSERT_EQ(oper.status, 200) << oper.body;
  EXPECT_EQ(oper.body, "OK: 1");
}

std::int64_t users_named(GatewayHarness& h, const std::string& sn, const std::string& name) {
  return h.query_int(
      "SELECT COUNT(*) FROM terminal_users u JOIN terminals t ON t.id = u.terminal_id"
      " WHERE t.sn = ?1 AND u.name = ?2",
      {sn, name});
}

std::int64_t raw_events_with(GatewayHarness& h, const std::string& sn, const std::string& bytes) {
  return h.query_int(
      "SELECT COUNT(*) FROM events e JOIN terminals t ON t.id = e.terminal_id"
      " WHERE t.sn = ?1 AND instr(CAST(e.raw AS BLOB), CAST(?2 AS BLOB)) > 0",
      {sn, bytes});
}

void expect_serving(GatewayHarness& h) {
  auto sync = http_request(h.api_port(), "GET", "/api/v1/sync");
  ASSERT_EQ(sync.status, 200) << sync.body;
  EXPECT_TRUE(nlohmann::json::accept(sync.body)) << sync.body;
  auto users = http_request(h.api_port(), "GET", "/api/v1/access/users");
  EXPECT_EQ(users.status, 200) << users.body;
  auto ping = send(h, "GET", std::string("/iclock/getrequest?SN=") + kAttendanceSn);
  EXPECT_EQ(ping.status, 200) << ping.body;
}

TEST(DeviceTextTest, Latin1NamesAreStoredAsUtf8AndSyncSurvivesRestarts) {
  TempDir dir;
  {
    GatewayHarness h({}, dir.path());
    upload_hostile_names(h);
    // utf-8 (the default): the invalid byte is replaced, the raw line keeps it.
    const std::string replaced = std::string("Jos") + kReplacement;
    EXPECT_EQ(users_named(h, kAccessSn, replaced), 1);
    EXPECT_EQ(users_named(h, kAttendanceSn, replaced), 1);
    EXPECT_EQ(raw_events_with(h, kAccessSn, "name=Jos\xE9\t"), 1);
    EXPECT_EQ(raw_events_with(h, kAttendanceSn, "Name=Jos\xE9\t"), 1);
    EXPECT_EQ(h.query_int("SELECT COUNT(*) FROM terminals WHERE sn = ?1 AND device_type = 'acc'",
                          {kAccessSn}),
              1);
    expect_serving(h);
    auto metrics = http_request(h.api_port(), "GET", "/metrics");
    EXPECT_NE(metrics.body.find("pushgate_zkpush_text_replaced_total"), std::string::npos);
    h.stop();
  }
  // The rows stay; every start reads them again (the sync planner included).
  for (int i = 0; i < 2; ++i) {
    GatewayHarness h({}, dir.path());
    expect_serving(h);
    upload_hostile_names(h);
    expect_serving(h);
    h.stop();
  }
}

TEST(DeviceTextTest, PerTerminalEncodingConvertsLatin1AndGbk) {
  GatewayHarness h({std::string("terminals.") + kAttendanceSn + ".encoding=latin-1",
                    std::string("terminals.") + kGbkSn + ".encoding=gbk"});
  ASSERT_EQ(send(h, "POST", std::string("/iclock/cdata?SN=") + kAttendanceSn + "&table=OPERLOG",
                 "USER PIN=7\tName=Jos\xE9\tPri=0\n")
                .status,
            200);
  ASSERT_EQ(send(h, "POST", std::string("/iclock/cdata?SN=") + kGbkSn + "&table=OPERLOG",
                 "USER PIN=8\tName=\xD6\xD0\xCE\xC4\tPri=0\n")
                .status,
            200);
  EXPECT_EQ(users_named(h, kAttendanceSn, "Jos\xC3\xA9"), 1);
  EXPECT_EQ(users_named(h, kGbkSn, "\xE4\xB8\xAD\xE6\x96\x87"), 1);
  EXPECT_EQ(raw_events_with(h, kGbkSn, "Name=\xD6\xD0\xCE\xC4\t"), 1);
}

TEST(DeviceTextTest, SerialsFirmwareWouldNotSendAreRefusedAndNeverStored) {
  GatewayHarness h;
  const std::string bad[] = {"%FF%FE", "AB%0D%0A2026-12-05%20info%20forged", "A%20B",
                             std::string(33, 'A')};
  for (const auto& sn : bad) {
    auto a = send(h, "GET", "/iclock/cdata?SN=" + sn + "&options=all&pushver=3.1.2");
    EXPECT_EQ(a.status, 400) << sn;
    auto b = send(h, "POST", "/iclock/registry?SN=" + sn, "DeviceType=acc\n");
    EXPECT_EQ(b.status, 400) << sn;
  }
  EXPECT_EQ(h.query_int("SELECT COUNT(*) FROM terminals"), 0);
  auto sync = http_request(h.api_port(), "GET", "/api/v1/sync");
  EXPECT_EQ(sync.status, 200) << sync.body;
  auto metrics = http_request(h.api_port(), "GET", "/metrics");
  EXPECT_NE(metrics.body.find("pushgate_refused_requests_total{reason=\"bad_sn\"} 8"),
            std::string::npos)
      << metrics.body.substr(0, 4000);
  // A serial firmware does send still works.
  EXPECT_EQ(send(h, "GET", "/iclock/cdata?SN=CJDE193560303&options=all&pushver=2.4.1").status, 200);
}

TEST(DeviceTextTest, ImplausibleYearsAndNegativeCodesAreFlaggedLikePreNtpRows) {
  GatewayHarness h({"gateway.timezone=UTC"});
  const std::string sn = kAttendanceSn;
  auto a = send(h, "POST", "/iclock/cdata?SN=" + sn + "&table=ATTLOG&Stamp=9999",
                "1\t1900-01-01 00:00:00\t0\t1\t0\n"
                "2\t9999-12-31 23:59:59\t0\t1\t0\n"
                "3\t2024-03-05 08:00:03\t-5\t-2\t0\n"
                "4\t2024-03-05 08:00:04\t1\t15\t0\n");
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(a.body, "OK: 4");
  auto count = [&](const std::string& where) {
    return h.query_int(
        "SELECT COUNT(*) FROM events e JOIN terminals t ON t.id = e.terminal_id"
        " WHERE t.sn = ?1 AND " +
            where,
        {sn});
  };
  // Kept, with the time as sent and no UTC time.
  EXPECT_EQ(count("e.pin IN ('1', '2') AND e.utc_ms IS NULL AND e.local_time LIKE '%-%'"), 2);
  // Negative status and verify mode are left unset; raw keeps them.
  EXPECT_EQ(count("e.pin = '3' AND e.status IS NULL AND e.verify_mode IS NULL AND"
                  " e.utc_ms IS NOT NULL AND instr(e.raw, '-5') > 0"),
            1);
  EXPECT_EQ(count("e.pin = '4' AND e.status = 1 AND e.verify_mode = 15 AND e.utc_ms IS NOT NULL"),
            1);
}

// Every value of a body made hostile: Latin-1 and bytes no encoding has
// after each '=' and TAB (names, pins, cards, free text, times, codes).
std::string poisoned(const std::string& body) {
  std::string out;
  for (char c : body) {
    out += c;
    if (c == '=' || c == '\t') {
      out += "\xE9\xFF\xC0";
    }
  }
  return out;
}

// Text columns of every table that are not invalid UTF-8 ("raw" keeps the
// bytes as sent by design and is left out).
std::vector<std::string> invalid_text(const std::filesystem::path& db_path) {
  boost::system::error_code ec;
  store::Connection::Options o;
  o.read_only = true;
  auto db = store::Connection::open(db_path.string(), o, ec);
  EXPECT_FALSE(ec) << ec.message();
  std::vector<std::string> tables;
  {
    auto st = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'", ec);
    while (!ec && st.step(ec)) {
      tables.push_back(st.column_text(0));
    }
  }
  std::vector<std::string> bad;
  for (const auto& table : tables) {
    sqlite3_stmt* st = nullptr;
    const std::string sql = "SELECT * FROM \"" + table + "\"";
    if (sqlite3_prepare_v2(db.handle(), sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
      continue;
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
      for (int i = 0; i < sqlite3_column_count(st); ++i) {
        const std::string column = sqlite3_column_name(st, i);
        if (column == "raw" || sqlite3_column_type(st, i) != SQLITE_TEXT) {
          continue;
        }
        const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(st, i));
        const std::string value(p, static_cast<std::size_t>(sqlite3_column_bytes(st, i)));
        if (!text::is_valid_utf8(value)) {
          bad.push_back(table + "." + column + ": " + text::log_escape(value, 80));
        }
      }
    }
    sqlite3_finalize(st);
  }
  return bad;
}

TEST(DeviceTextTest, EveryFixtureWithInvalidBytesInEveryValueStoresOnlyUtf8) {
  TempDir dir;
  const std::filesystem::path root =
      std::filesystem::path(PUSHGATE_SOURCE_DIR) / "tests/fixtures/zkpush";
  std::vector<std::filesystem::path> files;
  for (const auto& sub : {"security", "handmade", "speedface-v5l"}) {
    for (const auto& entry : std::filesystem::directory_iterator(root / sub)) {
      if (entry.path().extension() == ".http") {
        files.push_back(entry.path());
      }
    }
  }
  std::sort(files.begin(), files.end());
  ASSERT_GT(files.size(), 40u);
  {
    GatewayHarness h({}, dir.path());
    // Twice: Security PUSH uploads count once their terminal registered.
    for (int pass = 0; pass < 2; ++pass) {
      for (const auto& file : files) {
        const auto f = load_http_fixture(file);
        const std::string target =
            f.target + (f.target.find('?') == std::string::npos ? "?" : "&") + "x=%E9%FF";
        const auto a = send(h, f.method, target, poisoned(f.body));
        EXPECT_LT(a.status, 500) << file.filename() << ": " << a.body;
      }
    }
    // Remote identification and command results, with bytes no encoding has.
    EXPECT_LT(send(h, "POST", "/iclock/cdata?SN=CJDE202260011&table=rtlog&AuthType=device",
                   "time=2024-03-05 08:00:03\tpin=\xFF\xFE\tcardno=\xE9\teventaddr=1\tevent=27\t"
                   "inoutstatus=0\tverifytype=4\n")
                  .status,
              500);
    EXPECT_LT(
        send(h, "POST", "/iclock/devicecmd?SN=CJDE202260011", "ID=1&Return=0&CMD=DATA\xFF\xE9\n")
            .status,
        500);
    expect_serving(h);
    h.stop();
  }
  const auto bad = invalid_text(dir.path() / "pushgate.db");
  EXPECT_TRUE(bad.empty()) << bad.size() << " invalid UTF-8 value(s), e.g. " << bad.front();
  GatewayHarness again({}, dir.path());
  expect_serving(again);
}

}  // namespace
}  // namespace pushgate::test
