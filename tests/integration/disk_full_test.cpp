// The store on a real, tiny tmpfs: while nothing can be committed, terminals
// are never told OK (they keep their records); when space returns,
// ingestion resumes and the same uploads are accepted.
#include <gtest/gtest.h>

#include <sys/mount.h>

#include <cstdio>
#include <set>
#include <string>

#include "gateway/store/sqlite.hpp"
#include "tests/support/gateway_harness.hpp"

namespace pushgate::test {
namespace {

class TmpfsMount {
 public:
  TmpfsMount(const std::filesystem::path& dir, const std::string& size) : dir_(dir) {
    std::filesystem::create_directories(dir_);
    std::string opts = "size=" + size;
    mounted_ = ::mount("tmpfs", dir_.c_str(), "tmpfs", 0, opts.c_str()) == 0;
  }
  ~TmpfsMount() {
    if (mounted_) {
      ::umount2(dir_.c_str(), MNT_DETACH);
    }
  }
  bool mounted() const { return mounted_; }
  bool resize(const std::string& size) {
    std::string opts = "size=" + size;
    return ::mount("tmpfs", dir_.c_str(), "tmpfs", MS_REMOUNT, opts.c_str()) == 0;
  }

 private:
  std::filesystem::path dir_;
  bool mounted_ = false;
};

// One ATTLOG batch of `n` distinct records for user block `batch`.
std::string attlog_batch(int batch, int n) {
  std::string body;
  char line[256];
  for (int i = 0; i < n; ++i) {
    int pin = 1000 + batch;
    int sec = i % 60;
    int min = (i / 60) % 60;
    int hour = (i / 3600) % 24;
    // Padding makes each record large, so the tmpfs fills in a few batches.
    std::snprintf(line, sizeof line, "%d\t2024-03-%02d %02d:%02d:%02d\t0\t1\t\t0\t0\t%0120d\n", pin,
                  1 + (batch % 28), hour, min, sec, i);
    body += line;
  }
  return body;
}

TEST(DiskFullTest, NeverOkWhileFullAndResumesWhenSpaceReturns) {
  TempDir tmp;
  auto dir = tmp.path() / "mnt";
  TmpfsMount fs(dir, "1m");
  ASSERT_TRUE(fs.mounted()) << "mounting a tmpfs needs root (CI runs as root)";

  GatewayHarness h({"zkpush.commit_timeout_ms=5000"}, dir);
  const std::string target = "/iclock/cdata?SN=DISKFULL1&table=ATTLOG&Stamp=9999";
  std::set<int> acked;
  int refused_batch = -1;
  for (int b = 0; b < 400 && refused_batch < 0; ++b) {
    auto a = http_request(h.zkpush_port(), "POST", target, attlog_batch(b, 100));
    if (a.status == 200 && a.body.rfind("OK", 0) == 0) {
      acked.insert(b);
    } else {
      // The store could not commit: the terminal must not hear OK.
      EXPECT_EQ(a.status, 503) << a.body;
      EXPECT_EQ(a.body.find("OK"), std::string::npos) << a.body;
      refused_batch = b;
    }
  }
  ASSERT_GE(refused_batch, 0) << "the tmpfs never filled up";
  std::printf("tmpfs full after %zu acknowledged batches\n", acked.size());

  // While full, retries keep failing and are never told OK.
  for (int i = 0; i < 3; ++i) {
    auto a = http_request(h.zkpush_port(), "POST", target, attlog_batch(refused_batch, 100));
    EXPECT_NE(a.status, 200);
  }
  // Nothing of the refused batch was stored; everything acknowledged was.
  EXPECT_EQ(h.query_int("SELECT COUNT(*) FROM events WHERE pin = ?1",
                        {std::to_string(1000 + refused_batch)}),
            0);
  EXPECT_EQ(h.query_int("SELECT COUNT(*) FROM events"),
            static_cast<std::int64_t>(acked.size()) * 100);

  // Space returns: the same upload is accepted and stored once.
  ASSERT_TRUE(fs.resize("64m"));
  auto a = http_request(h.zkpush_port(), "POST", target, attlog_batch(refused_batch, 100));
  EXPECT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(a.body, "OK: 100");
  auto b = http_request(h.zkpush_port(), "POST", target, attlog_batch(refused_batch + 1, 100));
  EXPECT_EQ(b.status, 200) << b.body;
  EXPECT_EQ(h.query_int("SELECT COUNT(*) FROM events"),
            static_cast<std::int64_t>(acked.size() + 2) * 100);
  EXPECT_GT(h.gateway().metrics().value("pushgate_store_commit_failures_total"), 0);
  h.stop();
  // The database is intact.
  store::Connection::Options o;
  boost::system::error_code ec;
  auto db = store::Connection::open((dir / "pushgate.db").string(), o, ec);
  ASSERT_FALSE(ec);
  auto st = db.prepare("PRAGMA integrity_check", ec);
  ASSERT_TRUE(st.step(ec));
  EXPECT_EQ(st.column_text(0), "ok");
}

}  // namespace
}  // namespace pushgate::test
