#include "adapters/zkpush/zkpush_capture.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "tests/support/pushdemo_log.hpp"

namespace pushgate::adapters::zkpush {
namespace {

namespace fs = std::filesystem;

TEST(CaptureRedactionTest, ReplacesTemplateAndPhotoFieldsWithTheirLength) {
  const std::string body =
      "FP PIN=1\tFID=6\tSize=8\tValid=1\tTMP=ABCDEFGH\n"
      "biodata pin=2\tno=0\tindex=0\tvalid=1\tduress=0\ttype=9\tmajorver=5\tminorver=8\t"
      "format=0\ttmp=xyz\n"
      "userpic pin=3\tfilename=3.jpg\tsize=4\tcontent=QUJD\n"
      "USER PIN=4\tName=Bo\n";
  EXPECT_EQ(redact_capture_body("/iclock/cdata?SN=A&table=OPERLOG", body),
            "FP PIN=1\tFID=6\tSize=8\tValid=1\tTMP=[redacted 8 bytes]\n"
            "biodata pin=2\tno=0\tindex=0\tvalid=1\tduress=0\ttype=9\tmajorver=5\tminorver=8\t"
            "format=0\ttmp=[redacted 3 bytes]\n"
            "userpic pin=3\tfilename=3.jpg\tsize=4\tcontent=[redacted 4 bytes]\n"
            "USER PIN=4\tName=Bo\n");
}

TEST(CaptureRedactionTest, ReplacesBinaryPhotoUploadsWhole) {
  const std::string jpeg("PIN=1\nCMD=uploadphoto\0\xFF\xD8\xFF", 24);
  EXPECT_EQ(redact_capture_body("/iclock/cdata?SN=A&table=ATTPHOTO&Stamp=1", jpeg),
            "[redacted 24 bytes]");
  EXPECT_EQ(redact_capture_body("/iclock/fdata?SN=A", "abc"), "[redacted 3 bytes]");
}

TEST(CaptureRedactionTest, KeepsAttendanceRecordsAndEmptyBodies) {
  const std::string att = "1\t2024-01-02 03:04:05\t0\t1\t0\t0\t0\r\n";
  EXPECT_EQ(redact_capture_body("/iclock/cdata?SN=A&table=ATTLOG", att), att);
  EXPECT_EQ(redact_capture_body("/iclock/cdata?SN=A&table=ATTLOG", ""), "");
}

TEST(CaptureFormatTest, RealTrafficRendersToAFileTheReplayLoadsBackByteForByte) {
  const fs::path dir = fs::path(PUSHGATE_SOURCE_DIR) / "tests/fixtures/zk-pushdemo";
  const fs::path out = fs::temp_directory_path() / "pushgate-capture-format-test.log";
  std::size_t checked = 0;
  for (const fs::path& file : test::pushdemo_log_files(dir)) {
    const test::PushdemoLog original = test::load_pushdemo_log(file);
    std::string text;
    for (const test::PushdemoExchange& exchange : original.exchanges) {
      std::vector<CaptureField> headers;
      for (const test::HttpField& field : exchange.headers) {
        headers.emplace_back(field.name, field.value);
      }
      text += render_capture_request("2026-01-01T00:00:00Z", exchange.method, exchange.target,
                                     exchange.version, headers, exchange.body);
      if (exchange.response) {
        std::vector<CaptureField> answer_headers;
        for (const test::HttpField& field : exchange.response->headers) {
          answer_headers.emplace_back(field.name, field.value);
        }
        const std::string& line = exchange.response->status_line;
        const std::size_t reason = line.find(' ', line.find(' ') + 1);
        text += render_capture_response("2026-01-01T00:00:00Z", exchange.response->status,
                                        reason == std::string::npos ? "" : line.substr(reason + 1),
                                        answer_headers, exchange.response->body);
      }
    }
    std::ofstream(out, std::ios::binary | std::ios::trunc) << text;
    const test::PushdemoLog loaded = test::load_pushdemo_log(out);
    ASSERT_EQ(loaded.exchanges.size(), original.exchanges.size()) << file;
    for (std::size_t i = 0; i < loaded.exchanges.size(); ++i) {
      const auto& a = original.exchanges[i];
      const auto& b = loaded.exchanges[i];
      EXPECT_EQ(test::render_http_request(b), test::render_http_request(a)) << file << " #" << i;
      ASSERT_EQ(a.response.has_value(), b.response.has_value()) << file << " #" << i;
      if (a.response) {
        EXPECT_EQ(b.response->status_line, a.response->status_line) << file << " #" << i;
        EXPECT_EQ(b.response->body, a.response->body) << file << " #" << i;
      }
      ++checked;
    }
  }
  fs::remove(out);
  EXPECT_GT(checked, 100u);
}

CaptureExchange small_exchange() {
  CaptureExchange x;
  x.method = "GET";
  x.target = "/iclock/getrequest?SN=SN1";
  x.version = "HTTP/1.1";
  x.status = 200;
  x.reason = "OK";
  x.answer_body = "OK";
  return x;
}

TEST(CaptureRegistryTest, StopsAtMaxBytesAndWhenTheMinutesAreOver) {
  const fs::path dir = fs::temp_directory_path() / "pushgate-capture-registry-test";
  fs::remove_all(dir);
  CaptureRegistry captures(dir, {}, 400);
  EXPECT_FALSE(captures.wants("SN1", 1000));
  ASSERT_EQ(captures.start("SN1", 1000, 61000, true), "");
  EXPECT_TRUE(captures.wants("SN1", 1000));
  EXPECT_EQ(fs::status(captures.status("SN1", 1000)->file).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  int written = 0;
  while (captures.wants("SN1", 2000)) {
    EXPECT_EQ(captures.write("SN1", 2000, small_exchange()), "");
    ++written;
    ASSERT_LT(written, 100);
  }
  const auto status = captures.status("SN1", 2000);
  EXPECT_EQ(status->stopped, "max_bytes");
  EXPECT_LE(fs::file_size(status->file), 400u);
  EXPECT_EQ(status->bytes, fs::file_size(status->file));
  EXPECT_EQ(test::load_pushdemo_log(status->file).exchanges.size(),
            static_cast<std::size_t>(written - 1));

  ASSERT_EQ(captures.start("SN2", 3000, 63000, true), "");
  EXPECT_TRUE(captures.wants("SN2", 62999));
  EXPECT_FALSE(captures.wants("SN2", 63000));
  EXPECT_EQ(captures.status("SN2", 63000)->stopped, "expired");
  fs::remove_all(dir);
}

TEST(CaptureRegistryTest, ConfiguredTerminalsAreCapturedWithoutAnEnd) {
  const fs::path dir = fs::temp_directory_path() / "pushgate-capture-registry-config-test";
  fs::remove_all(dir);
  CaptureRegistry captures(dir, {"SN1"}, 1 << 20);
  EXPECT_FALSE(captures.wants("SN2", 1000));
  EXPECT_TRUE(captures.wants("SN1", 1000));
  EXPECT_TRUE(captures.wants("SN1", std::int64_t{1} << 40));
  EXPECT_EQ(captures.status("SN1", 1000)->until_ms, 0);
  EXPECT_TRUE(captures.status("SN1", 1000)->redact);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace pushgate::adapters::zkpush
