// Attendance PUSH replay tests: the pushdemo log loader and every body of every capture.
#include "adapters/zkpush/zkpush_protocol.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "tests/support/device_lines.hpp"
#include "tests/support/http_fixture.hpp"
#include "tests/support/pushdemo_log.hpp"
#include "tests/unit/adapters/zkpush/zkpush_protocol_test_support.hpp"

namespace pushgate::adapters::zkpush {
namespace {

namespace fs = std::filesystem;
using test::HttpRequestFixture;
using test::load_http_fixture;
using test::non_blank_lines;
using test_support::demo_log;
using test_support::fixtures_dir;
using test_support::reasons;
using ::testing::HasSubstr;

std::vector<test::PushdemoLog> all_demo_logs() {
  std::vector<test::PushdemoLog> logs;
  for (const fs::path& file : test::pushdemo_log_files(fixtures_dir() / "zk-pushdemo")) {
    logs.push_back(test::load_pushdemo_log(file));
  }
  return logs;
}
// ---------------------------------------------------------------------------
// The demo-log loader and the fixtures cut from it
// ---------------------------------------------------------------------------

TEST(PushdemoLogTest, LoadsEveryExchangeWithByteExactBodies) {
  std::size_t exchanges = 0;
  std::size_t answered = 0;
  std::size_t hand_made = 0;
  for (const test::PushdemoLog& log : all_demo_logs()) {
    for (const test::PushdemoExchange& e : log.exchanges) {
      ++exchanges;
      answered += e.response ? 1 : 0;
      hand_made += e.hand_made ? 1 : 0;
      const std::string* length = e.header("Content-Length");
      EXPECT_EQ(e.body.size(), length == nullptr ? 0U : std::stoul(*length))
          << e.source << ":" << e.log_line;
      EXPECT_TRUE(e.method == "GET" || e.method == "POST") << e.method;
      EXPECT_EQ(e.version, "HTTP/1.1");
    }
  }
  EXPECT_EQ(exchanges, 1776U);
  EXPECT_EQ(hand_made, 32U);
  EXPECT_GE(answered, exchanges - 2);
}

TEST(PushdemoLogTest, SkipsTheBomInFrontOfTheFirstMarker) {
  const test::PushdemoLog log = demo_log("Debug_2020-09-23_ServerLog13.txt");
  ASSERT_EQ(log.exchanges.size(), 11U);
  EXPECT_EQ(log.exchanges[0].log_line, 1U);
  EXPECT_EQ(log.exchanges[0].method, "GET");
  EXPECT_EQ(log.exchanges[0].received_at, "2020-09-23 13:00:03:568");
}

TEST(PushdemoLogTest, FlagsEveryRequestNoTerminalSent) {
  std::set<std::string> reasons_seen;
  for (const test::PushdemoLog& log : all_demo_logs()) {
    for (const test::PushdemoExchange& e : log.exchanges) {
      const std::string* agent = e.header("User-Agent");
      const bool terminal = agent != nullptr && agent->rfind("iClock Proxy/", 0) == 0;
      EXPECT_EQ(e.hand_made, !terminal) << e.source << ":" << e.log_line << " " << e.target;
      if (e.hand_made) {
        reasons_seen.insert(e.hand_made_reason);
      }
    }
  }
  std::string all;
  for (const std::string& reason : reasons_seen) {
    all += reason + "\n";
  }
  EXPECT_THAT(all, HasSubstr("Postman"));
  EXPECT_THAT(all, HasSubstr("web browser"));
  EXPECT_THAT(all, HasSubstr("lower-case sn="));
  EXPECT_THAT(all, HasSubstr("unexpanded printf placeholder"));
  EXPECT_THAT(all, HasSubstr("path outside /iclock/: /favicon.ico"));
}

TEST(PushdemoLogTest, KeepsResponsesWhoseRequestIsInThePreviousFile) {
  const test::PushdemoLog log = demo_log("Debug_2020-09-23_ServerLog17.txt");
  ASSERT_FALSE(log.orphan_responses.empty());
  EXPECT_EQ(log.orphan_responses[0].status, 200);
  // 43 bytes on the wire; the logger dropped the CR of the last "\r\n".
  EXPECT_EQ(log.orphan_responses[0].body, "C:1664:DATA QUERY BIODATA PIN=100 Type=9\n\n");
  EXPECT_EQ(*test::find_header(log.orphan_responses[0].headers, "Content-Length"), "43");
}

TEST(PushdemoLogTest, KeepsTheDemosAnswers) {
  const test::PushdemoLog log = demo_log("Debug_2020-09-22_ServerLog15.txt");
  ASSERT_TRUE(log.exchanges[0].response.has_value());
  EXPECT_EQ(log.exchanges[0].response->status, 401);
  EXPECT_EQ(log.exchanges[0].response->body, "Device Unauthorized");
  EXPECT_EQ(log.restarts, 4U);
}

TEST(PushdemoLogTest, CapturedFixturesMatchTheDemoLogs) {
  std::set<std::string> rendered;
  for (const test::PushdemoLog& log : all_demo_logs()) {
    for (const test::PushdemoExchange& e : log.exchanges) {
      if (!e.hand_made) {
        rendered.insert(test::render_http_request(e));
      }
    }
  }
  const auto files = test::http_fixture_files(fixtures_dir() / "zkpush" / "speedface-v5l");
  EXPECT_GE(files.size(), 20U);
  for (const fs::path& file : files) {
    const HttpRequestFixture fixture = load_http_fixture(file);
    EXPECT_TRUE(rendered.count(fixture.raw)) << file.filename() << " is not in the captures";
  }
}

TEST(PushdemoLogTest, HandmadeFixturesAreWellFormedRequests) {
  const auto files = test::http_fixture_files(fixtures_dir() / "zkpush" / "handmade");
  EXPECT_GE(files.size(), 15U);
  for (const fs::path& file : files) {
    const HttpRequestFixture fixture = load_http_fixture(file);
    EXPECT_NE(classify_endpoint(fixture.path()), Endpoint::Unknown) << file.filename();
    EXPECT_NE(parse_query(fixture.query()).find("SN"), nullptr) << file.filename();
  }
}

// ---------------------------------------------------------------------------
// Every body of every capture
// ---------------------------------------------------------------------------

/** Parses one request body with the parser its endpoint and table call for. */
struct Replayed {
  std::string what;           ///< "ATTLOG", "devicecmd", ...
  std::size_t accounted = 0;  ///< non-blank body lines held by records or problems
  std::size_t records = 0;
  std::vector<ParseProblem> problems;
};

std::size_t non_blank_lines_of(const std::vector<ParseProblem>& problems) {
  std::size_t count = 0;
  for (const ParseProblem& problem : problems) {
    count += std::max<std::size_t>(1, non_blank_lines(problem.raw));
  }
  return count;
}

std::optional<Replayed> replay(const test::PushdemoExchange& e, AttlogResult* attlog) {
  const QueryResult query = parse_query(e.query());
  const Endpoint endpoint = classify_endpoint(e.path());
  Replayed out;
  if (endpoint == Endpoint::DeviceCmd) {
    const DeviceCmdResult result = parse_devicecmd(e.body);
    out.what = "devicecmd";
    out.records = result.confirmations.size();
    for (const CommandConfirmation& c : result.confirmations) {
      out.accounted += non_blank_lines(c.raw);
    }
    out.accounted += non_blank_lines_of(result.problems);
    out.problems = result.problems;
    return out;
  }
  if (endpoint != Endpoint::Cdata || e.method != "POST") {
    return std::nullopt;
  }
  const std::string* table = query.find("table");
  const UploadTable kind = table == nullptr ? UploadTable::Unknown : classify_table(*table);
  out.what = table == nullptr ? "?" : *table;
  switch (kind) {
    case UploadTable::AttLog: {
      *attlog = parse_attlog(e.body);
      out.records = attlog->records.size();
      out.problems = attlog->problems;
      break;
    }
    case UploadTable::OperLog:
    case UploadTable::BioData: {
      const OperlogResult result =
          kind == UploadTable::OperLog ? parse_operlog(e.body) : parse_biodata(e.body);
      out.records = result.entries.size();
      out.problems = result.problems;
      break;
    }
    case UploadTable::Options: {
      // One line holds many options: nothing is lost when the options,
      // joined back with commas, give the line again.
      const OptionsResult result = parse_options(e.body);
      std::string joined;
      for (const KeyValue& option : result.options) {
        joined += (joined.empty() ? "" : ",") + option.key + "=" + option.value;
      }
      std::string_view text = e.body;
      while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) {
        text.remove_suffix(1);
      }
      out.records = result.options.size();
      out.problems = result.problems;
      out.accounted = joined == text ? non_blank_lines(e.body) : 0;
      return out;
    }
    default:
      return std::nullopt;
  }
  out.accounted = out.records + out.problems.size();
  return out;
}

TEST(ZkpushCapturesTest, EveryTerminalBodyParsesAndNoLineIsLost) {
  std::map<std::string, std::size_t> uploads_by_table;
  std::map<std::string, std::size_t> attlog_records;
  std::map<std::string, std::size_t> attlog_uploads;
  std::map<std::string, std::set<std::pair<std::string, std::string>>> punches;
  std::size_t bodies = 0;
  for (const test::PushdemoLog& log : all_demo_logs()) {
    for (const test::PushdemoExchange& e : log.exchanges) {
      if (e.hand_made) {
        continue;
      }
      const std::string sn = *parse_query(e.query()).find("SN");
      // Every terminal request line parses cleanly; INFO= too.
      const QueryResult query = parse_query(e.query());
      EXPECT_TRUE(query.problems.empty()) << e.target;
      if (const std::string* info = query.find("INFO")) {
        EXPECT_TRUE(parse_info(*info).problems.empty()) << *info;
      }
      AttlogResult attlog;
      const std::optional<Replayed> replayed = replay(e, &attlog);
      if (!replayed) {
        EXPECT_TRUE(e.body.empty()) << e.source << ":" << e.log_line << " unreplayed body";
        continue;
      }
      ++bodies;
      ++uploads_by_table[replayed->what];
      const std::string where = e.source + ":" + std::to_string(e.log_line);
      EXPECT_EQ(replayed->accounted, non_blank_lines(e.body)) << where << " lost a line";
      EXPECT_TRUE(replayed->problems.empty())
          << where << " " << ::testing::PrintToString(reasons(replayed->problems));
      if (replayed->what == "ATTLOG") {
        ++attlog_uploads[sn];
        attlog_records[sn] += attlog.records.size();
        for (const AttlogRecord& r : attlog.records) {
          punches[sn].insert({r.pin, r.time_text});
        }
      }
    }
  }
  EXPECT_EQ(bodies, 115U);
  EXPECT_EQ(uploads_by_table["ATTLOG"], 18U);
  EXPECT_EQ(uploads_by_table["OPERLOG"], 38U);
  EXPECT_EQ(uploads_by_table["BIODATA"], 18U);
  EXPECT_EQ(uploads_by_table["options"], 7U);
  EXPECT_EQ(uploads_by_table["devicecmd"], 34U);
  EXPECT_EQ(attlog_records["CKJF202560310"], 86U);
  EXPECT_EQ(punches["CKJF202560310"].size(), 23U);
  EXPECT_EQ(attlog_records.count("CKJF201960996"), 0U);

  for (const auto& [table, count] : uploads_by_table) {
    std::printf("[ captures ] %-9s %3zu bodies\n", table.c_str(), count);
  }
  for (const char* sn : {"CKJF202560310", "CKJF201960996"}) {
    std::printf("[ captures ] ATTLOG %s: %zu records in %zu uploads, %zu distinct punches\n", sn,
                attlog_records[sn], attlog_uploads[sn], punches[sn].size());
  }
}

TEST(ZkpushCapturesTest, HandMadeJunkIsQuarantinedNotLost) {
  std::size_t junk_bodies = 0;
  for (const test::PushdemoLog& log : all_demo_logs()) {
    for (const test::PushdemoExchange& e : log.exchanges) {
      if (!e.hand_made || e.body.empty()) {
        continue;
      }
      // Whatever the endpoint, an ATTLOG parse of a JSON body must account for
      // every line as a problem.
      ++junk_bodies;
      const AttlogResult result = parse_attlog(e.body);
      EXPECT_TRUE(result.records.empty());
      EXPECT_EQ(result.problems.size(), non_blank_lines(e.body));
    }
  }
  EXPECT_EQ(junk_bodies, 28U);
}

}  // namespace
}  // namespace pushgate::adapters::zkpush
