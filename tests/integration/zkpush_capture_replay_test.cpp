// Traffic capture (adapters/zkpush/README.md, "Capturing a terminal's
// traffic"): a terminal's real session, captured by the gateway, replays
// through the test replay (tests/support/pushdemo_log.hpp) against a fresh
// gateway with identical answers; the REST endpoint starts and reports one.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <string>
#include <vector>

#include "tests/support/gateway_harness.hpp"
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
    const auto files = capture_files(h.data_dir());
    ASSERT_EQ(files.size(), 1u);
    file = fs::temp_directory_path() / files[0].filename();
    struct stat st {};
    ASSERT_EQ(::stat(files[0].c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_EQ(files[0].filename().string().rfind(std::string(kSn) + "-", 0), 0u);
    fs::copy_file(files[0], file, fs::copy_options::overwrite_existing);
  }
  const PushdemoLog captured = load_pushdemo_log(file);
  fs::remove(file);
  ASSERT_EQ(captured.exchanges.size(), session.size());
  GatewayHarness fresh;
  for (std::size_t i = 0; i < session.size(); ++i) {
    const auto& c = captured.exchanges[i];
    ASSERT_TRUE(c.response.has_value()) << i;
    EXPECT_EQ(c.response->status, answers[i].status) << i;
    EXPECT_EQ(c.response->body, answers[i].body) << i;
    // What the terminal sent, unchanged apart from redacted templates.
    EXPECT_EQ(c.target, session[i].target) << i;
    const auto replayed = send_raw(fresh.zkpush_port(), render_http_request(c));
    EXPECT_EQ(replayed.status, c.response->status) << i << " " << c.target;
    EXPECT_EQ(replayed.body, c.response->body) << i << " " << c.target;
  }
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
