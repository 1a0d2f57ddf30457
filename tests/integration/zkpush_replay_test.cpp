// Replays every real terminal request captured in tests/fixtures/zk-pushdemo/
// (ZKTeco's demo server logs from SpeedFace-V5L terminals) against an
// in-process gateway over real HTTP, byte for byte and in order, and checks
// what a terminal needs: the right answers, every ATTLOG record stored
// exactly once (also after a second replay), and every OPERLOG/BIODATA line
// stored or quarantined.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

#include "gateway/store/record_keys.hpp"
#include "tests/support/gateway_harness.hpp"
#include "tests/support/pushdemo_log.hpp"

namespace pushgate::test {
namespace {

const std::filesystem::path kLogs =
    std::filesystem::path(PUSHGATE_SOURCE_DIR) / "tests/fixtures/zk-pushdemo";

std::string lower(std::string s) {
  for (auto& c : s) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return s;
}

// The value of a query parameter, ignoring case of the key (as terminals do).
std::string param(const PushdemoExchange& e, const std::string& key) {
  std::string q(e.query());
  std::string lk = lower(key) + "=";
  std::size_t pos = 0;
  while (pos <= q.size()) {
    auto amp = q.find('&', pos);
    auto item = q.substr(pos, amp == std::string::npos ? std::string::npos : amp - pos);
    if (lower(item.substr(0, lk.size())) == lk) {
      return item.substr(lk.size());
    }
    if (amp == std::string::npos) {
      break;
    }
    pos = amp + 1;
  }
  return {};
}

std::vector<std::string> body_lines(const std::string& body) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < body.size()) {
    auto nl = body.find('\n', start);
    std::string line = body.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
    if (!line.empty() && line.back() == '\r') {
      line.pop_back();
    }
    if (line.find_first_not_of(" \t\r") != std::string::npos) {
      out.push_back(line);
    }
    if (nl == std::string::npos) {
      break;
    }
    start = nl + 1;
  }
  return out;
}

struct Expected {
  std::set<std::pair<std::string, std::string>> attlog_keys;     // (sn, record_key)
  std::vector<std::pair<std::string, std::string>> other_lines;  // (sn, line)
  std::size_t requests = 0;
};

// Replays all real terminal requests; fails the test on any unhealthy answer.
Expected replay_all(std::uint16_t port) {
  Expected x;
  for (const auto& file : pushdemo_log_files(kLogs)) {
    auto log = load_pushdemo_log(file);
    for (const auto& e : log.exchanges) {
      if (e.hand_made) {
        continue;
      }
      ++x.requests;
      auto answer = send_raw(port, render_http_request(e));
      std::string where = e.source + ":" + std::to_string(e.log_line) + " " + e.method + " " +
                          std::string(e.path());
      std::string table = lower(param(e, "table"));
      std::string sn = param(e, "SN");
      // Every real terminal request is answered 200, with a Date header.
      EXPECT_EQ(answer.status, 200) << where << " answered " << answer.body;
      EXPECT_FALSE(answer.date_header.empty()) << where;
      if (e.method == "GET" && e.path() == "/iclock/cdata") {
        EXPECT_EQ(answer.body.rfind("GET OPTION FROM: " + sn + "\n", 0), 0u) << where;
        EXPECT_NE(answer.body.find("\nDelay="), std::string::npos) << where;
        EXPECT_NE(answer.body.find("\nTimeZone="), std::string::npos) << where;
      } else {
        EXPECT_EQ(answer.body.rfind("OK", 0), 0u) << where << " answered " << answer.body;
      }
      if (e.method != "POST" || e.path() != "/iclock/cdata") {
        continue;
      }
      auto lines = body_lines(e.body);
      if (table == "attlog") {
        EXPECT_EQ(answer.body, "OK: " + std::to_string(lines.size())) << where;
        for (const auto& line : lines) {
          auto t1 = line.find('\t');
          auto t2 = line.find('\t', t1 + 1);
          EXPECT_NE(t1, std::string::npos) << line;
          x.attlog_keys.emplace(sn, "ATTLOG\t" + line.substr(0, t2));
        }
      } else if (table == "operlog" || table == "biodata") {
        for (const auto& line : lines) {
          x.other_lines.emplace_back(sn, line);
        }
      }
    }
  }
  return x;
}

TEST(ZkpushReplayTest, EveryRealRequestAnsweredAndEveryRecordStoredOnce) {
  GatewayHarness h({"gateway.timezone=-05:00"});
  auto x = replay_all(h.zkpush_port());
  std::printf(
      "replayed %zu terminal requests, %zu distinct ATTLOG records, %zu OPERLOG/BIODATA lines\n",
      x.requests, x.attlog_keys.size(), x.other_lines.size());
  ASSERT_GT(x.requests, 1000u);
  ASSERT_GT(x.attlog_keys.size(), 10u);
  ASSERT_GT(x.other_lines.size(), 10u);

  // Every ATTLOG record exactly once: the attendance events are precisely
  // the distinct records of the logs.
  auto attendance = h.query_int("SELECT COUNT(*) FROM events WHERE kind = 1");
  EXPECT_EQ(attendance, static_cast<std::int64_t>(x.attlog_keys.size()));
  for (const auto& [sn, key] : x.attlog_keys) {
    EXPECT_EQ(h.query_int("SELECT COUNT(*) FROM events e JOIN terminals t ON t.id = e.terminal_id"
                          " WHERE t.sn = ?1 AND e.record_key = ?2",
                          {sn, store::stored_record_key(key)}),
              1)
        << sn << " " << key;
  }
  // Every OPERLOG/BIODATA line is stored as an event or kept in quarantine.
  for (const auto& [sn, line] : x.other_lines) {
    auto stored = h.query_int(
        "SELECT COUNT(*) FROM events e JOIN terminals t ON t.id = e.terminal_id"
        " WHERE t.sn = ?1 AND e.raw = ?2",
        {sn, line});
    auto quarantined = h.query_int(
        "SELECT COUNT(*) FROM quarantine WHERE terminal_sn = ?1 AND raw = CAST(?2 AS BLOB)",
        {sn, line});
    EXPECT_GE(stored + quarantined, 1) << sn << " line silently dropped: " << line.substr(0, 120);
  }
  // The terminals, their users and templates are known.
  EXPECT_EQ(h.query_int("SELECT COUNT(*) FROM terminals WHERE sn = 'CKJF202560310'"), 1);
  EXPECT_GT(h.query_int("SELECT COUNT(*) FROM terminal_templates"), 0);
  EXPECT_GT(h.query_int("SELECT COUNT(*) FROM terminal_users"), 0);

  // Replaying the same files again adds nothing.
  auto events_before = h.query_int("SELECT COUNT(*) FROM events");
  auto again = replay_all(h.zkpush_port());
  EXPECT_EQ(again.attlog_keys, x.attlog_keys);
  EXPECT_EQ(h.query_int("SELECT COUNT(*) FROM events"), events_before);
  EXPECT_EQ(h.query_int("SELECT COUNT(*) FROM events WHERE kind = 1"), attendance);
  std::printf("events after two replays: %lld (attendance %lld)\n",
              static_cast<long long>(events_before), static_cast<long long>(attendance));
}

TEST(ZkpushReplayTest, HandMadeRequestsGetClearAnswersAndDoNotHurt) {
  GatewayHarness h;
  std::size_t hand_made = 0;
  for (const auto& file : pushdemo_log_files(kLogs)) {
    for (const auto& e : load_pushdemo_log(file).exchanges) {
      if (!e.hand_made) {
        continue;
      }
      ++hand_made;
      auto answer = send_raw(h.zkpush_port(), render_http_request(e));
      // Bad input gets a clear answer, never a server error.
      EXPECT_LT(answer.status, 500) << e.source << ":" << e.log_line << " " << e.target;
      EXPECT_GE(answer.status, 200);
    }
  }
  EXPECT_GT(hand_made, 0u);
  // The gateway is still healthy afterwards.
  auto ok = http_request(h.zkpush_port(), "GET", "/iclock/getrequest?SN=AFTER1");
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, "OK");
}

}  // namespace
}  // namespace pushgate::test
