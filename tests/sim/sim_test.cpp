// Simulator tests of whole terminals and load runs against DemoPushServer (PushDemo-like).

#include "tests/sim/attendance_terminal.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "tests/sim/attendance_protocol.hpp"
#include "tests/sim/http_client.hpp"
#include "tests/sim/ledger.hpp"
#include "tests/sim/load_runner.hpp"
#include "tests/sim/push_protocol.hpp"
#include "tests/sim/record_generator.hpp"
#include "tests/sim/sim_cli.hpp"
#include "tests/sim/sim_test_support.hpp"

namespace pushgate::sim::test {
namespace {

// ---------------------------------------------------------------------------
// One terminal against the demo server

TEST(AttendanceTerminalTest, HandshakeUploadCommandsAndResendAfterNonOk) {
  DemoPushServer server;
  // The first ATTLOG upload is refused with a body that is not OK.
  server.script_attlog({Answer{200, "ERROR: database busy"}});
  IoThread io;
  auto terminal = AttendanceTerminal::create(io.ioc(), fast_config(server));
  terminal->add_records(
      {record("100", "2020-09-22 15:28:54"), record("200", "2020-09-22 17:09:43", 1)});
  terminal->start();

  ASSERT_TRUE(
      terminal->wait_until([](const TerminalStats& s) { return s.records_acked == 2; }, 10s));
  const TerminalStats s = terminal->stats();
  EXPECT_EQ(s.failures_body, 1u);
  EXPECT_EQ(s.attlog_uploads_sent, 2u);
  EXPECT_EQ(s.records_pending, 0u);
  EXPECT_EQ(s.handshakes_ok, 1u);
  EXPECT_EQ(s.options_pushed, 1u);

  // Handshake as the captured terminals send it.
  const auto all = server.requests();
  ASSERT_FALSE(all.empty());
  EXPECT_EQ(all[0].target,
            "/iclock/cdata?SN=CKJF202560310&options=all&language=69&pushver=2.4.1&DeviceType=att"
            "&PushOptionsFlag=1");
  EXPECT_EQ(all[0].headers.at("user-agent"), "iClock Proxy/1.09");
  EXPECT_EQ(all[0].headers.at("connection"), "close");
  EXPECT_EQ(all[0].headers.at("accept"), "*/*");
  EXPECT_EQ(all[0].headers.at("host"), "127.0.0.1:" + std::to_string(server.port()));
  EXPECT_EQ(all[0].headers.count("content-length"), 0u);
  // The PushOptionsFlag=1 answer makes it push its options line next.
  EXPECT_EQ(all[1].target, "/iclock/cdata?SN=CKJF202560310&table=options");
  EXPECT_EQ(all[1].body.rfind("~DeviceName=SpeedFace-V5L[TD],MAC=", 0), 0u);
  EXPECT_EQ(all[1].headers.at("content-type"), "text/plain");

  // The refused batch was sent again, byte for byte.
  const auto uploads = server.requests_to("/iclock/cdata", "ATTLOG");
  ASSERT_EQ(uploads.size(), 2u);
  EXPECT_EQ(uploads[0].body, uploads[1].body);
  EXPECT_EQ(uploads[0].body,
            "100\t2020-09-22 15:28:54\t0\t15\t\t0\t0\t0\t36.5\t1\n"
            "200\t2020-09-22 17:09:43\t0\t1\t\t0\t0\t0\t36.5\t2\n");
  EXPECT_EQ(uploads[0].query.at("Stamp"), "9999");
  EXPECT_EQ(terminal->acked_lines(),
            (std::vector<std::string>{"100\t2020-09-22 15:28:54\t0\t15\t\t0\t0\t0\t36.5\t1",
                                      "200\t2020-09-22 17:09:43\t0\t1\t\t0\t0\t0\t36.5\t2"}));

  // The first getrequest carries INFO=.
  const auto polls = server.requests_to("/iclock/getrequest");
  ASSERT_FALSE(polls.empty());
  EXPECT_EQ(polls[0].query.count("INFO"), 1u);
  EXPECT_EQ(polls[0].query.at("INFO").rfind("ZAM170-NF-Ver1.3.5,0,0,2,", 0), 0u);

  // Two commands in one answer: a user update and INFO.
  const std::string update_id =
      server.queue_command("CKJF202560310",
                           "DATA UPDATE USERINFO PIN=7\tName=Ann "
                           "Lee\tPri=0\tPasswd=\tCard=123\tGrp=1\tTZ=0000000100000000");
  const std::string info_id = server.queue_command("CKJF202560310", "INFO");
  ASSERT_TRUE(terminal->wait_until(
      [](const TerminalStats& st) { return st.command_results_acked == 2; }, 10s));

  const auto users = terminal->users();
  ASSERT_EQ(users.count("7"), 1u);
  EXPECT_EQ(users.at("7").name, "Ann Lee");
  EXPECT_EQ(users.at("7").card, "123");

  const auto commands = terminal->executed_commands();
  ASSERT_EQ(commands.size(), 2u);
  EXPECT_EQ(commands[0].id, update_id);
  EXPECT_EQ(commands[0].return_code, 0);
  EXPECT_TRUE(commands[0].result_acked);
  EXPECT_EQ(commands[1].reply_cmd, "INFO");

  const auto results = server.requests_to("/iclock/devicecmd");
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].body, "ID=" + update_id + "&Return=0&CMD=DATA\n");
  EXPECT_EQ(results[0].headers.at("content-type"), "application/octet-stream");
  EXPECT_EQ(results[1].body.rfind("ID=" + info_id + "&Return=0&CMD=INFO\n~DeviceName=", 0), 0u);
  EXPECT_NE(results[1].body.find("\nUserCount=1\n"), std::string::npos);
  EXPECT_NE(results[1].body.find("\nTransactionCount=2\n"), std::string::npos);

  terminal->stop();
}

TEST(AttendanceTerminalTest, UnacknowledgedCommandResultIsSentAgain) {
  DemoPushServer server;
  server.script_devicecmd({Answer{500, "Internal Server Error"}, Answer{200, "NOPE"}});
  IoThread io;
  auto terminal = AttendanceTerminal::create(io.ioc(), fast_config(server));
  server.queue_command("CKJF202560310", "CHECK");
  terminal->start();
  ASSERT_TRUE(terminal->wait_until(
      [](const TerminalStats& s) { return s.command_results_acked == 1; }, 10s));
  const auto results = server.requests_to("/iclock/devicecmd");
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[0].body, results[2].body);
  EXPECT_EQ(server.devicecmd_lines(), (std::vector<std::string>{"ID=1626&Return=0&CMD=CHECK"}));
  EXPECT_EQ(terminal->stats().failures_status, 1u);
  EXPECT_EQ(terminal->stats().failures_body, 1u);
  terminal->stop();
}

TEST(AttendanceTerminalTest, QueryAttlogUploadsPacksBeforeTheResult) {
  DemoPushServer server;
  IoThread io;
  auto config = fast_config(server);
  config.query_pack_size = 2;
  auto terminal = AttendanceTerminal::create(io.ioc(), config);
  terminal->add_records({record("1", "2020-09-21 23:59:59"), record("1", "2020-09-22 08:00:00"),
                         record("2", "2020-09-22 09:00:00"), record("3", "2020-09-22 10:00:00"),
                         record("4", "2020-09-22 23:59:59"), record("5", "2020-09-23 00:00:01")});
  terminal->start();
  ASSERT_TRUE(
      terminal->wait_until([](const TerminalStats& s) { return s.records_acked == 6; }, 10s));

  const std::string id = server.queue_command(
      "CKJF202560310",
      "DATA QUERY ATTLOG StartTime=2020-09-22 00:00:00\tEndTime=2020-09-22 23:59:59");
  ASSERT_TRUE(terminal->wait_until(
      [](const TerminalStats& s) { return s.command_results_acked == 1; }, 10s));

  std::vector<SeenRequest> answers;
  for (const auto& r : server.requests_to("/iclock/cdata", "ATTLOG")) {
    if (r.query.count("CmdId") != 0) {
      answers.push_back(r);
    }
  }
  ASSERT_EQ(answers.size(), 2u);
  EXPECT_EQ(answers[0].target,
            "/iclock/cdata?SN=CKJF202560310&table=ATTLOG&Stamp=9999&Count=4"
            "&PackCnt=2&PackIdx=1&CmdId=" +
                id);
  EXPECT_EQ(answers[1].query.at("PackIdx"), "2");
  EXPECT_EQ(split_lines(answers[0].body).size() + split_lines(answers[1].body).size(), 4u);
  // The result comes after the last pack.
  const auto all = server.requests();
  std::size_t last_pack = 0;
  std::size_t result = 0;
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (all[i].query.count("CmdId") != 0) {
      last_pack = i;
    }
    if (all[i].path == "/iclock/devicecmd") {
      result = i;
    }
  }
  EXPECT_GT(result, last_pack);
  EXPECT_EQ(server.devicecmd_lines(),
            (std::vector<std::string>{"ID=" + id + "&Return=0&CMD=DATA"}));
  terminal->stop();
}

TEST(AttendanceTerminalTest, UserTemplatesQueriesAndDeletes) {
  DemoPushServer server;
  IoThread io;
  auto terminal = AttendanceTerminal::create(io.ioc(), fast_config(server));
  terminal->start();
  const std::string sn = "CKJF202560310";
  server.queue_command(sn, "DATA UPDATE FINGERTMP PIN=9\tFID=1\tSize=4\tValid=1\tTMP=AAAA");
  server.queue_command(sn, "DATA UPDATE USERINFO PIN=9\tName=Bo");
  server.queue_command(sn, "DATA UPDATE FINGERTMP PIN=9\tFID=1\tSize=5\tValid=1\tTMP=AAAA");
  server.queue_command(sn, "DATA UPDATE FINGERTMP PIN=9\tFID=1\tSize=4\tValid=3\tTMP=AAAA");
  server.queue_command(sn,
                       "DATA UPDATE BIODATA Pin=9\tNo=0\tIndex=0\tValid=1\tDuress=0\tType=9\t"
                       "MajorVer=58\tMinorVer=10\tFormat=ZK\tTmp=BBBB");
  server.queue_command(sn, "DATA UPDATE USERINFO PIN=100 Name=Jorge Leon\tPri=0");
  server.queue_command(sn, "DATA QUERY USERINFO PIN=9");
  server.queue_command(sn, "DATA QUERY FACETMP PIN=9");
  server.queue_command(sn, "FROBNICATE");
  ASSERT_TRUE(terminal->wait_until(
      [](const TerminalStats& s) { return s.command_results_acked == 9; }, 10s));

  std::vector<int> codes;
  for (const auto& c : terminal->executed_commands()) {
    codes.push_back(c.return_code);
  }
  EXPECT_EQ(codes, (std::vector<int>{-10, 0, -9, 0, 0, -1, 0, -1004, -1002}));
  // One devicecmd POST carries all nine results.
  const auto results = server.requests_to("/iclock/devicecmd");
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(split_lines(results[0].body).size(), 9u);

  const auto templates = terminal->templates();
  ASSERT_EQ(templates.size(), 2u);
  EXPECT_EQ(templates[0].type, 1);
  EXPECT_EQ(templates[0].duress, 1);  // Valid=3 is a duress finger

  // The USER line went as OPERLOG, the templates as BIODATA, like the captures.
  const auto operlog = server.requests_to("/iclock/cdata", "OPERLOG");
  ASSERT_EQ(operlog.size(), 1u);
  EXPECT_EQ(operlog[0].body,
            "USER PIN=9\tName=Bo\tPri=0\tPasswd=\tCard=\tGrp=1\tTZ=0000000100000000\tVerify=-1\t"
            "ViceCard=\tStartDatetime=0\tEndDatetime=0\n");
  const auto bio = server.requests_to("/iclock/cdata", "BIODATA");
  ASSERT_EQ(bio.size(), 1u);
  EXPECT_EQ(split_lines(bio[0].body).size(), 2u);

  server.queue_command(sn, "DATA DELETE USERINFO PIN=9");
  ASSERT_TRUE(terminal->wait_until(
      [](const TerminalStats& s) { return s.command_results_acked == 10; }, 10s));
  EXPECT_TRUE(terminal->users().empty());
  EXPECT_TRUE(terminal->templates().empty());
  terminal->stop();
}

TEST(AttendanceTerminalTest, RebootDropsTheSessionAndHandshakesAgain) {
  DemoPushServer server;
  IoThread io;
  auto config = fast_config(server);
  config.boot_operlog = true;
  auto terminal = AttendanceTerminal::create(io.ioc(), config);
  terminal->start();
  ASSERT_TRUE(terminal->wait_until([](const TerminalStats& s) { return s.polls >= 1; }, 10s));
  server.queue_command("CKJF202560310", "REBOOT");
  server.queue_command("CKJF202560310", "INFO");
  ASSERT_TRUE(terminal->wait_until(
      [](const TerminalStats& s) { return s.reboots == 1 && s.handshakes_ok == 2 && s.polls >= 3; },
      10s));
  // The result went out before the reboot; INFO after REBOOT was never run.
  EXPECT_EQ(server.devicecmd_lines(), (std::vector<std::string>{"ID=1626&Return=0&CMD=REBOOT"}));
  EXPECT_EQ(terminal->executed_commands().size(), 1u);
  // Each boot uploads its startup OPLOG line.
  ASSERT_TRUE(
      terminal->wait_until([](const TerminalStats& s) { return s.operlog_lines_acked == 2; }, 10s));
  EXPECT_EQ(terminal->acked_operlog_lines()[0].rfind("OPLOG 0\t0\t", 0), 0u);
  terminal->stop();
}

TEST(AttendanceTerminalTest, ClockFollowsServerDateAndTimeZone) {
  DemoPushServer server;
  const auto date = parse_http_date("Tue, 22 Sep 2020 20:24:13 GMT");
  server.set_date(*date);
  server.set_time_zone("-300");
  IoThread io;
  auto terminal = AttendanceTerminal::create(io.ioc(), fast_config(server));
  terminal->start();
  ASSERT_TRUE(
      terminal->wait_until([](const TerminalStats& s) { return s.handshakes_ok == 1; }, 10s));
  const auto local = terminal->device_now();
  const auto expected = *parse_local_time("2020-09-22 15:24:13");
  EXPECT_LE(std::chrono::abs(local - expected), 5s);
  terminal->punch("42");
  ASSERT_TRUE(
      terminal->wait_until([](const TerminalStats& s) { return s.records_acked == 1; }, 10s));
  EXPECT_EQ(terminal->acked_lines()[0].rfind("42\t2020-09-22 15:2", 0), 0u);
  terminal->stop();
}

TEST(AttendanceTerminalTest, RetriesRefusedHandshakeAfterErrorDelay) {
  DemoPushServer server;
  server.script_handshake({Answer{401, "Device Unauthorized"}, Answer{401, "Device Unauthorized"}});
  IoThread io;
  auto terminal = AttendanceTerminal::create(io.ioc(), fast_config(server));
  terminal->add_records({record("1", "2024-01-01 08:00:00")});
  terminal->start();
  ASSERT_TRUE(
      terminal->wait_until([](const TerminalStats& s) { return s.records_acked == 1; }, 10s));
  EXPECT_EQ(terminal->stats().failures_status, 2u);
  EXPECT_EQ(server.requests_to("/iclock/cdata").front().query.count("options"), 1u);
  terminal->stop();
}

TEST(AttendanceTerminalTest, DroppedRequestKeepsRecordsAndSendsThemAgain) {
  DemoPushServer server;
  IoThread io;
  auto config = fast_config(server);
  config.batch_size = 2;
  config.poll_interval = 500ms;  // the next request after a poll is the upload
  auto terminal = AttendanceTerminal::create(io.ioc(), config);
  terminal->start();
  ASSERT_TRUE(terminal->wait_until([](const TerminalStats& s) { return s.polls >= 1; }, 10s));
  terminal->inject_exchange_faults(1, ExchangeFault::DropMidRequest);
  terminal->add_records({record("1", "2024-01-01 08:00:00"), record("2", "2024-01-01 08:00:01"),
                         record("3", "2024-01-01 08:00:02")});
  ASSERT_TRUE(
      terminal->wait_until([](const TerminalStats& s) { return s.records_acked == 3; }, 10s));
  const TerminalStats s = terminal->stats();
  EXPECT_EQ(s.injected_faults, 1u);
  EXPECT_EQ(s.failures_transport, 1u);
  EXPECT_GE(server.broken_requests(), 1u);
  EXPECT_EQ(server.stored_count(), 3u);
  EXPECT_EQ(server.duplicates(), 0u);
  EXPECT_EQ(terminal->acked_lines().size(), 3u);
  terminal->stop();
}

TEST(AttendanceTerminalTest, LostAnswerMakesTheServerSeeADuplicate) {
  DemoPushServer server;
  IoThread io;
  auto config = fast_config(server);
  config.poll_interval = 500ms;  // the next request after a poll is the upload
  auto terminal = AttendanceTerminal::create(io.ioc(), config);
  terminal->start();
  ASSERT_TRUE(terminal->wait_until([](const TerminalStats& s) { return s.polls >= 1; }, 10s));
  terminal->inject_exchange_faults(1, ExchangeFault::DropBeforeResponse);
  terminal->add_records({record("1", "2024-01-01 08:00:00")});
  ASSERT_TRUE(
      terminal->wait_until([](const TerminalStats& s) { return s.records_acked == 1; }, 10s));
  ASSERT_TRUE(server.wait_for([&] { return server.duplicates() == 1; }, 5s));
  EXPECT_EQ(server.stored_count(), 1u);
  EXPECT_EQ(terminal->acked_lines().size(), 1u);  // counted once by the terminal
  terminal->stop();
}

TEST(AttendanceTerminalTest, BadLineAndDuplicateBatchFaults) {
  DemoPushServer server;
  IoThread io;
  auto config = fast_config(server);
  config.poll_interval = 500ms;  // the next request after a poll is the upload
  auto terminal = AttendanceTerminal::create(io.ioc(), config);
  terminal->start();
  ASSERT_TRUE(terminal->wait_until([](const TerminalStats& s) { return s.polls >= 1; }, 10s));
  terminal->corrupt_next_batch();
  terminal->duplicate_next_batch();
  terminal->add_records({record("1", "2024-01-01 08:00:00"), record("2", "2024-01-01 08:00:01")});
  ASSERT_TRUE(terminal->wait_until(
      [](const TerminalStats& s) { return s.records_acked == 2 && s.duplicate_batches_sent == 1; },
      10s));
  ASSERT_TRUE(server.wait_for([&] { return server.duplicates() == 2; }, 5s));
  const auto uploads = server.requests_to("/iclock/cdata", "ATTLOG");
  ASSERT_EQ(uploads.size(), 2u);
  EXPECT_EQ(uploads[0].body, uploads[1].body);
  const auto lines = split_lines(uploads[0].body);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[1], "BAD\t2024-13-45 25:61:61\t0\t0\t0\t0\t0\t0\t0\t0");
  EXPECT_EQ(server.quarantined(), 2u);
  EXPECT_EQ(terminal->stats().bad_lines_sent, 1u);
  // The bad line is not one of the terminal's records.
  EXPECT_EQ(terminal->acked_lines().size(), 2u);
  terminal->stop();
}

TEST(AttendanceTerminalTest, SurvivesServerKillAndRestart) {
  DemoPushServer server;
  IoThread io;
  auto config = fast_config(server);
  config.batch_size = 10;
  auto terminal = AttendanceTerminal::create(io.ioc(), config);
  terminal->start();
  ASSERT_TRUE(terminal->wait_until([](const TerminalStats& s) { return s.polls >= 1; }, 10s));
  server.kill();
  terminal->add_records(RecordGenerator(5, 0).take(50));
  ASSERT_TRUE(
      terminal->wait_until([](const TerminalStats& s) { return s.failures_transport >= 3; }, 10s));
  EXPECT_FALSE(terminal->stats().online);
  EXPECT_EQ(terminal->stats().records_acked, 0u);
  server.restart();
  ASSERT_TRUE(
      terminal->wait_until([](const TerminalStats& s) { return s.records_acked == 50; }, 10s));
  EXPECT_GE(terminal->stats().handshakes_ok, 2u);
  EXPECT_EQ(server.stored_count(), 50u);
  EXPECT_EQ(terminal->acked_lines().size(), 50u);
  terminal->stop();
}

TEST(AttendanceTerminalTest, StopEndsAllWork) {
  DemoPushServer server;
  auto ioc = std::make_unique<net::io_context>();
  auto terminal = AttendanceTerminal::create(*ioc, fast_config(server));
  terminal->add_records(RecordGenerator(1, 0).take(10));
  terminal->start();
  std::thread th([&] { ioc->run(); });
  ASSERT_TRUE(terminal->wait_until([](const TerminalStats& s) { return s.polls >= 2; }, 10s));
  terminal->stop();
  th.join();  // run() returns: no timer, request or handler is left
  EXPECT_EQ(terminal->stats().records_pending, 0u);
}

// ---------------------------------------------------------------------------
// Load runs

TEST(LoadRunnerTest, EveryLedgerLineIsStoredOnceAcrossServerRestarts) {
  DemoPushServer server;
  const TempDir dir;
  const auto ledger = dir.file("ledger.txt");
  LoadConfig c;
  c.port = server.port();
  c.terminals = 8;
  c.records_per_terminal = 300;
  c.batch = 25;
  c.poll = 50ms;
  c.error_delay = 30ms;
  c.request_timeout = 2s;
  c.until_acked = true;
  c.duration = 60s;
  c.ledger_path = ledger.string();
  c.faults.lose_response_every = 7;
  c.concurrency = 4;
  c.report_interval = 0ms;
  LoadRunner runner(c);

  std::atomic<bool> done{false};
  std::thread chaos([&] {
    for (int i = 0; i < 3 && !done; ++i) {
      std::this_thread::sleep_for(150ms);
      server.kill();
      std::this_thread::sleep_for(100ms);
      server.restart();
    }
  });
  const LoadSummary summary = runner.run(nullptr);
  done = true;
  chaos.join();

  EXPECT_EQ(summary.exit_code, 0) << format_summary(summary);
  EXPECT_TRUE(summary.all_acked);
  EXPECT_EQ(summary.records_acked, 2400u);
  EXPECT_EQ(summary.ledger_lines, 2400u);

  const auto lines = read_lines(ledger);
  ASSERT_EQ(lines.size(), 2400u);
  std::set<std::string> unique(lines.begin(), lines.end());
  EXPECT_EQ(unique.size(), lines.size()) << "a record was counted acknowledged twice";
  const auto stored = server.stored();
  for (const auto& entry : lines) {
    const auto tab = entry.find('\t');
    const std::string sn = entry.substr(0, tab);
    EXPECT_EQ(stored.at(sn).count(entry.substr(tab + 1)), 1u) << entry;
  }
  EXPECT_GT(server.duplicates(), 0u);  // lost answers made terminals resend
}

TEST(SimCliTest, BinaryRunsUntilAckedAgainstDemoServer) {
  DemoPushServer server;
  const TempDir dir;
  const auto out = dir.file("stdout.txt");
  const auto ledger = dir.file("ledger.txt");
  const std::string binary = std::string(PUSHGATE_BINARY_DIR) + "/tests/sim/pushgate-sim";
  std::vector<std::string> args = {binary,
                                   "--port",
                                   std::to_string(server.port()),
                                   "--terminals",
                                   "20",
                                   "--records-per-terminal",
                                   "500",
                                   "--batch",
                                   "100",
                                   "--poll-ms",
                                   "200",
                                   "--error-delay-ms",
                                   "50",
                                   "--until-acked",
                                   "--timeout",
                                   "60",
                                   "--ledger",
                                   ledger.string(),
                                   "--seed",
                                   "7",
                                   "--operlog",
                                   "--report-ms",
                                   "0"};
  std::vector<char*> argv;
  for (auto& a : args) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = 0;
  ASSERT_EQ(posix_spawn(&pid, binary.c_str(), &actions, nullptr, argv.data(), environ), 0);
  posix_spawn_file_actions_destroy(&actions);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));

  std::ifstream in(out);
  const std::string output((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::printf("%s", output.c_str());  // the sample run, visible with --gtest_filter
  EXPECT_EQ(WEXITSTATUS(status), 0) << output;
  EXPECT_NE(output.find("10000 generated, 10000 acked (100.0%)"), std::string::npos) << output;
  EXPECT_EQ(read_lines(ledger).size(), 10000u);
  EXPECT_EQ(server.stored_count(), 10000u);
  EXPECT_EQ(server.requests_to("/iclock/cdata", "OPERLOG").size(), 20u);
}

// Not a test: serves the demo server for manual pushgate-sim runs (README):
//   PUSHGATE_SIM_DEMO_PORT=18081 PUSHGATE_SIM_DEMO_SECONDS=60 ./sim_test
//     --gtest_also_run_disabled_tests --gtest_filter='*ServeDemoServer*'
TEST(SimCliTest, DISABLED_ServeDemoServerForManualRuns) {
  const char* port = std::getenv("PUSHGATE_SIM_DEMO_PORT");
  const char* seconds = std::getenv("PUSHGATE_SIM_DEMO_SECONDS");
  DemoPushServer server(static_cast<std::uint16_t>(port != nullptr ? std::atoi(port) : 0));
  std::printf("demo PUSH server on 127.0.0.1:%u\n", server.port());
  std::fflush(stdout);
  std::this_thread::sleep_for(std::chrono::seconds(seconds != nullptr ? std::atoi(seconds) : 60));
  std::printf("stored %zu unique ATTLOG lines, %llu duplicates, %llu quarantined\n",
              server.stored_count(), static_cast<unsigned long long>(server.duplicates()),
              static_cast<unsigned long long>(server.quarantined()));
}

}  // namespace
}  // namespace pushgate::sim::test
