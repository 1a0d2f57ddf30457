// Traffic capture (adapters/zkpush/README.md, "Capturing a terminal's
// traffic"): a terminal's real session, captured by the gateway, replays
// through the test replay (tests/support/pushdemo_log.hpp) against a fresh
// gateway with identical answers, and so does a session of the simulated
// attendance terminal (tests/sim/); the REST endpoint starts and reports one.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/sim/attendance_terminal.hpp"
#include "tests/support/gateway_harness.hpp"
#include "tests/support/io_thread.hpp"
#include "tests/support/pushdemo_log.hpp"

namespace pushgate::test {
namespace {

namespace fs = std::filesystem;

const fs::path kLog =
    fs::path(PUSHGATE_SOURCE_DIR) / "tests/fixtures/zk-pushdemo/Release_2020-06-23_ServerLog13.txt";
constexpr const char* kSn = "CKJF201960996";

std::vector<PushdemoExchange> terminal_exchanges(std::size_t limit) {
  std::vector<PushdemoExchange> out;
  for (auto& e : load_pushdemo_log(kLog).exchanges) {
    if (!e.hand_made && e.target.find(std::string("SN=") + kSn) != std::string::npos &&
        out.size() < limit) {
      out.push_back(std::move(e));
    }
  }
  return out;
}

std::vector<fs::path> capture_files(const fs::path& data_dir) {
  std::vector<fs::path> out;
  if (fs::exists(data_dir / "captures")) {
    for (const auto& entry : fs::directory_iterator(data_dir / "captures")) {
      out.push_back(entry.path());
    }
  }
  return out;
}

// The one capture file of `sn` in `h`'s data directory (mode 0600, named
// after the serial), copied out so that it outlives the harness.
fs::path take_capture(const GatewayHarness& h, const std::string& sn) {
  const auto files = capture_files(h.data_dir());
  EXPECT_EQ(files.size(), 1u);
  if (files.size() != 1) {
    return {};
  }
  struct stat st {};
  EXPECT_EQ(::stat(files[0].c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(files[0].filename().string().rfind(sn + "-", 0), 0u);
  const fs::path file = fs::temp_directory_path() / files[0].filename();
  fs::copy_file(files[0], file, fs::copy_options::overwrite_existing);
  return file;
}

// Replays every captured request, in order, against a fresh gateway and
// expects the captured status and body. `before(i, fresh)` runs before
// request i: what happened beside the terminal's traffic, such as a command
// queued over REST.
void replay_with_identical_answers(
    const PushdemoLog& captured,
    const std::function<void(std::size_t, GatewayHarness&)>& before = {}) {
  GatewayHarness fresh;
  for (std::size_t i = 0; i < captured.exchanges.size(); ++i) {
    const auto& c = captured.exchanges[i];
    ASSERT_TRUE(c.response.has_value()) << i;
    if (before) {
      before(i, fresh);
    }
    const auto replayed = send_raw(fresh.zkpush_port(), render_http_request(c));
    EXPECT_EQ(replayed.status, c.response->status) << i << " " << c.target;
    EXPECT_EQ(replayed.body, c.response->body) << i << " " << c.target;
  }
}

TEST(ZkpushCaptureTest, ACapturedSessionReplaysAgainstAFreshGatewayWithIdenticalAnswers) {
  const auto session = terminal_exchanges(80);
  ASSERT_GT(session.size(), 10u);
  std::vector<HttpAnswer> answers;
  fs::path file;
  {
    GatewayHarness h(
        {std::string("zkpush.capture_terminals=[\"") + kSn + "\"]", "zkpush.capture_redact=false"});
    for (const auto& e : session) {
      answers.push_back(send_raw(h.zkpush_port(), render_http_request(e)));
    }
    file = take_capture(h, kSn);
    ASSERT_FALSE(file.empty());
  }
  const PushdemoLog captured = load_pushdemo_log(file);
  fs::remove(file);
  ASSERT_EQ(captured.exchanges.size(), session.size());
  for (std::size_t i = 0; i < session.size(); ++i) {
    const auto& c = captured.exchanges[i];
    ASSERT_TRUE(c.response.has_value()) << i;
    EXPECT_EQ(c.response->status, answers[i].status) << i;
    EXPECT_EQ(c.response->body, answers[i].body) << i;
    // What the terminal sent, unchanged apart from redacted templates.
    EXPECT_EQ(c.target, session[i].target) << i;
  }
  replay_with_identical_answers(captured);
}

// Issue 15, item 5: the simulator's session (handshake, INFO, batches of
// punches, polls, a command queued over REST and its devicecmd result),
// captured by the gateway, replays with identical answers.
TEST(ZkpushCaptureTest, ASimulatorSessionReplaysWithIdenticalAnswers) {
  using namespace std::chrono_literals;
  const std::string sn = "SIMCAP0001";
  const auto queue_command = [&](GatewayHarness& gw) {
    const nlohmann::json body = {{"verb", "upsert_user"},
                                 {"params", {{"pin", "7"}, {"name", "Bo"}}}};
    const auto a =
        http_request(gw.api_port(), "POST", "/api/v1/terminals/" + sn + "/commands", body.dump());
    EXPECT_TRUE(a.status == 200 || a.status == 201 || a.status == 202) << a.body;
  };
  fs::path file;
  {
    GatewayHarness h({"zkpush.capture_terminals=[\"" + sn + "\"]", "zkpush.capture_redact=false"});
    IoThread io;
    sim::AttendanceTerminalConfig c;
    c.serial_number = sn;
    c.http.port = h.zkpush_port();
    c.http.timeout = 5s;
    c.poll_interval = 50ms;
    c.error_delay = 50ms;
    c.default_error_delay = 50ms;
    c.force_realtime = true;
    c.batch_size = 3;
    auto term = sim::AttendanceTerminal::create(io.ioc(), c);
    term->start();
    ASSERT_TRUE(term->wait_until(
        [](const sim::TerminalStats& s) { return s.online && s.polls >= 1; }, 10s));
    for (int pin = 1; pin <= 7; ++pin) {
      term->punch(std::to_string(pin));
    }
    ASSERT_TRUE(
        term->wait_until([](const sim::TerminalStats& s) { return s.records_acked >= 7; }, 10s));
    queue_command(h);
    ASSERT_TRUE(term->wait_until(
        [](const sim::TerminalStats& s) { return s.command_results_acked >= 1; }, 10s));
    const auto polls = term->stats().polls;
    ASSERT_TRUE(
        term->wait_until([&](const sim::TerminalStats& s) { return s.polls >= polls + 1; }, 10s));
    const auto stats = term->stats();
    EXPECT_EQ(stats.failures(), 0u);
    EXPECT_GE(stats.attlog_batches_acked, 3u);
    term->stop();
    // Nothing in flight is half written when the file is read.
    h.stop();
    file = take_capture(h, sn);
    ASSERT_FALSE(file.empty());
  }
  const PushdemoLog captured = load_pushdemo_log(file);
  fs::remove(file);
  ASSERT_GT(captured.exchanges.size(), 5u);
  // The capture holds the whole session the test claims to replay.
  std::size_t attlog = 0;
  std::size_t results = 0;
  for (const auto& e : captured.exchanges) {
    attlog += e.target.find("table=ATTLOG") != std::string::npos ? 1 : 0;
    results += e.path() == "/iclock/devicecmd" ? 1 : 0;
  }
  EXPECT_NE(captured.exchanges[0].target.find("options=all"), std::string::npos);
  EXPECT_GE(attlog, 3u);
  EXPECT_EQ(results, 1u);
  // The command was queued over REST, not by the terminal: queue it on the
  // fresh gateway at the point the live one first answered with it, before
  // the poll that carried it ("C:<id>:..."). The polls before it answered OK
  // on both; the id is the same, the first command of an empty database.
  bool queued = false;
  replay_with_identical_answers(captured, [&](std::size_t i, GatewayHarness& fresh) {
    const auto& c = captured.exchanges[i];
    if (!queued && c.response->body.rfind("C:", 0) == 0) {
      queue_command(fresh);
      queued = true;
    }
  });
  EXPECT_TRUE(queued) << "no answer carried the command";
}

TEST(ZkpushCaptureTest, RestStartsACaptureForNMinutesAndReportsIt) {
  GatewayHarness h;
  const auto session = terminal_exchanges(6);
  ASSERT_EQ(send_raw(h.zkpush_port(), render_http_request(session[0])).status, 200);
  const std::string base = std::string("/api/v1/terminals/") + kSn + "/capture";

  auto bad = http_request(h.api_port(), "POST", base + "?minutes=0");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("minutes"), std::string::npos) << bad.body;
  EXPECT_EQ(http_request(h.api_port(), "POST", base + "?minutes=1441").status, 400);
  EXPECT_EQ(http_request(h.api_port(), "POST", base).status, 400);
  EXPECT_EQ(
      http_request(h.api_port(), "POST", "/api/v1/terminals/NOSUCH1/capture?minutes=5").status,
      404);
  EXPECT_TRUE(capture_files(h.data_dir()).empty());

  auto off = http_request(h.api_port(), "GET", base);
  EXPECT_EQ(off.status, 200);
  EXPECT_NE(off.body.find("\"active\":false"), std::string::npos) << off.body;

  auto started = http_request(h.api_port(), "POST", base + "?minutes=5&redact=false");
  ASSERT_EQ(started.status, 200) << started.body;
  EXPECT_NE(started.body.find("\"active\":true"), std::string::npos) << started.body;
  for (std::size_t i = 1; i < session.size(); ++i) {
    send_raw(h.zkpush_port(), render_http_request(session[i]));
  }
  const auto files = capture_files(h.data_dir());
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(load_pushdemo_log(files[0]).exchanges.size(), session.size() - 1);
  auto status = http_request(h.api_port(), "GET", base);
  EXPECT_NE(status.body.find(files[0].string()), std::string::npos) << status.body;
  EXPECT_NE(status.body.find("\"bytes\":" + std::to_string(fs::file_size(files[0]))),
            std::string::npos)
      << status.body;
}

}  // namespace
}  // namespace pushgate::test
