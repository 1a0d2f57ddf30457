// Enrolment sync (issue 7 acceptance): three simulated access-control
// terminals on an in-process gateway over real HTTP. A user enrolled on A
// (user row, fingerprint and face templates, face photo uploaded as
// tabledata) appears on B and C through the commands they receive, with the
// same template bytes; C, which supports fingerprints only, is sent neither
// the face template nor the face photo; nothing goes back to A, and a
// re-upload sends nothing twice. Progress is on GET /api/v1/sync.
#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "gateway/gateway.hpp"
#include "gateway/sync/sync_service.hpp"
#include "tests/sim/access_terminal.hpp"
#include "tests/support/gateway_harness.hpp"
#include "tests/support/io_thread.hpp"

namespace pushgate::test {
namespace {

// Records in a sync command: a batch carries several (one DATA UPDATE, §9.1.1).
#define kRecords "CASE WHEN verb='batch' THEN json_array_length(params, '$.commands') ELSE 1 END"

using namespace std::chrono_literals;
using nlohmann::json;
using sim::AccessTerminal;
using sim::AccessTerminalStats;

constexpr const char* kFingerAndFace = "0:1:0:0:0:0:0:0:0:1";
constexpr const char* kFaceOnly = "0:0:0:0:0:0:0:0:0:1";
constexpr const char* kFingerOnly = "0:1:0:0:0:0:0:0:0:0";
constexpr const char* kNone = "0:0:0:0:0:0:0:0:0:0";

class EnrolmentSyncTest : public ::testing::Test {
 protected:
  std::shared_ptr<AccessTerminal> terminal(const std::string& sn, const char* data,
                                           const char* photo) {
    sim::AccessTerminalConfig c;
    c.serial_number = sn;
    c.http.port = gw_.zkpush_port();
    c.http.timeout = 5s;
    c.poll_interval = 30ms;
    c.error_delay = 50ms;
    c.profile.multi_bio_data_support = data;
    c.profile.multi_bio_photo_support = photo;
    auto t = AccessTerminal::create(io_.ioc(), c);
    t->start();
    return t;
  }

  static void wait_online(const std::shared_ptr<AccessTerminal>& t) {
    ASSERT_TRUE(t->wait_until([](const AccessTerminalStats& s) { return s.polls >= 1; }, 10s))
        << t->serial_number() << " never polled";
  }

  /** Sync commands queued for `sn` so far (done ones leave the table for sync_progress). */
  std::int64_t sync_commands(const std::string& sn) {
    return gw_.query_int("SELECT (SELECT coalesce(sum(" kRecords
                         "), 0) FROM commands WHERE origin='sync' AND "
                         "terminal_sn=?1) + "
                         "coalesce((SELECT done FROM sync_progress WHERE terminal_sn=?1), 0)",
                         {sn});
  }

  /** Waits until the sync and every terminal are quiet (nothing queued or in flight). */
  void settle(const std::vector<std::shared_ptr<AccessTerminal>>& terminals) {
    const auto deadline = std::chrono::steady_clock::now() + 15s;
    int quiet = 0;
    while (std::chrono::steady_clock::now() < deadline) {
      ASSERT_TRUE(gw_.gateway().sync()->wait_idle_for_test(5s));
      const bool open = gw_.query_int(
                            "SELECT count(*) FROM commands WHERE origin='sync' AND "
                            "state IN ('queued','sent')") != 0;
      bool pending = false;
      for (const auto& t : terminals) {
        pending = pending || t->access_stats().uploads_pending != 0;
      }
      // Quiet three times in a row: an upload's OK may reach the terminal a
      // moment before the commit observer hands its events to the sync.
      quiet = (!open && !pending) ? quiet + 1 : 0;
      if (quiet == 3) {
        return;
      }
      std::this_thread::sleep_for(50ms);
    }
    FAIL() << "sync did not settle";
  }

  GatewayHarness gw_;
  IoThread io_;
};

sim::AccessTemplate finger(std::string tmp) {
  sim::AccessTemplate t;
  t.type = sim::bio_type::kFingerprint;
  t.no = 6;
  t.major_ver = "10";
  t.tmp = std::move(tmp);
  return t;
}

sim::AccessTemplate face(std::string tmp) {
  sim::AccessTemplate t;
  t.type = sim::bio_type::kVisibleFace;
  t.no = 0;
  t.major_ver = "39";
  t.tmp = std::move(tmp);
  return t;
}

TEST_F(EnrolmentSyncTest, OneEnrolmentServesTheSite) {
  auto a = terminal("SYNC-A", kFingerAndFace, kFaceOnly);
  auto b = terminal("SYNC-B", kFingerAndFace, kFaceOnly);
  auto c = terminal("SYNC-C", kFingerOnly, kNone);
  wait_online(a);
  wait_online(b);
  wait_online(c);

  sim::AccessUser user;
  user.pin = "4242";
  user.name = "Grace";
  user.card = "700100";
  user.password = "1234";
  user.start_time = "20260101";  // §7.5 with DateFmtFunOn=0: YYYYMMDD
  user.end_time = "20271231";
  const std::string finger_tmp = "TAItUzIxAAAFSksECAUHCc7QAAAdS2kBAAAAhfvcvU0o3AIAPswD/AIt";
  const std::string face_tmp = "RkFDRS1URU1QTEFURS12aXNpYmxlLWxpZ2h0LTM5LjA=";
  const std::string jpeg = "/9j/4AAQSkZJRgABAQAAQABAAD/2wBDABsSFBCuERSXFhceHBsg";
  sim::AccessPhoto photo;
  photo.table = "biophoto";
  photo.type = sim::bio_type::kVisibleFace;
  photo.content = jpeg;
  a->enroll(user, {finger(finger_tmp), face(face_tmp)}, {photo});

  const auto has_template = [](const std::shared_ptr<AccessTerminal>& t, int type,
                               const std::string& tmp) {
    for (const auto& x : t->templates()) {
      if (x.type == type && x.tmp == tmp) {
        return true;
      }
    }
    return false;
  };
  const auto deadline = std::chrono::steady_clock::now() + 15s;
  while (std::chrono::steady_clock::now() < deadline &&
         !(has_template(b, 1, finger_tmp) && has_template(b, 9, face_tmp) && !b->photos().empty() &&
           has_template(c, 1, finger_tmp))) {
    std::this_thread::sleep_for(20ms);
  }
  settle({a, b, c});

  // B: everything, byte for byte.
  const auto b_users = b->users();
  ASSERT_EQ(b_users.count("4242"), 1u);
  EXPECT_EQ(b_users.at("4242").name, "Grace");
  EXPECT_EQ(b_users.at("4242").card, "700100");
  EXPECT_EQ(b_users.at("4242").password, "1234");
  EXPECT_EQ(b_users.at("4242").start_time, "20260101");
  EXPECT_EQ(b_users.at("4242").end_time, "20271231");
  EXPECT_TRUE(has_template(b, 1, finger_tmp));
  EXPECT_TRUE(has_template(b, 9, face_tmp));
  ASSERT_EQ(b->photos().size(), 1u);
  EXPECT_EQ(b->photos()[0].content, jpeg);
  EXPECT_EQ(b->photos()[0].type, 9);

  // C: the user and the fingerprint; the face template and photo never sent.
  ASSERT_EQ(c->users().count("4242"), 1u);
  EXPECT_TRUE(has_template(c, 1, finger_tmp));
  EXPECT_EQ(c->templates().size(), 1u);
  EXPECT_TRUE(c->photos().empty());
  for (const auto& cmd : c->executed_commands()) {
    EXPECT_EQ(cmd.text.find("Type=9"), std::string::npos) << cmd.text;
    EXPECT_EQ(cmd.text.find("biophoto"), std::string::npos) << cmd.text;
    EXPECT_EQ(cmd.return_code, 0) << cmd.text;
  }
  for (const auto& cmd : b->executed_commands()) {
    EXPECT_EQ(cmd.return_code, 0) << cmd.text;
  }
  EXPECT_TRUE(b->problems().empty()) << b->problems().front();
  EXPECT_TRUE(c->problems().empty()) << c->problems().front();

  // Never back to A.
  EXPECT_EQ(sync_commands("SYNC-A"), 0);
  EXPECT_TRUE(a->executed_commands().empty());
  const std::int64_t to_b = sync_commands("SYNC-B");
  const std::int64_t to_c = sync_commands("SYNC-C");
  EXPECT_EQ(to_b, 4);  // user, finger, face, photo
  EXPECT_EQ(to_c, 2);  // user, finger

  // Progress over REST.
  const auto progress = http_request(gw_.api_port(), "GET", "/api/v1/sync");
  ASSERT_EQ(progress.status, 200) << progress.body;
  const json p = json::parse(progress.body);
  EXPECT_EQ(p.at("open"), 0);
  EXPECT_EQ(p.at("pending"), 0);
  // Every terminal the sync serves, A too (nothing to send it).
  ASSERT_EQ(p.at("terminals").size(), 3u);
  EXPECT_EQ(p.at("terminals")[0].at("terminal"), "SYNC-A");
  EXPECT_EQ(p.at("terminals")[0].at("total"), 0);
  EXPECT_EQ(p.at("terminals")[0].at("complete"), true);
  EXPECT_EQ(p.at("terminals")[1].at("terminal"), "SYNC-B");
  EXPECT_EQ(p.at("terminals")[1].at("done"), 4);
  EXPECT_EQ(p.at("terminals")[1].at("percent_done"), 100.0);
  EXPECT_EQ(p.at("terminals")[1].at("outstanding"), 0);
  EXPECT_EQ(p.at("terminals")[1].at("complete"), true);
  EXPECT_EQ(p.at("terminals")[2].at("terminal"), "SYNC-C");
  EXPECT_EQ(p.at("terminals")[2].at("done"), 2);

  // The same enrolment uploaded again: nothing is sent twice.
  a->enroll(user, {finger(finger_tmp), face(face_tmp)}, {photo});
  settle({a, b, c});
  EXPECT_EQ(sync_commands("SYNC-B"), to_b);
  EXPECT_EQ(sync_commands("SYNC-C"), to_c);

  // A new fingerprint on A: only that goes out, to both.
  sim::AccessTemplate second = finger("U0VDT05ELUZJTkdFUg==");
  second.no = 7;
  a->enroll(user, {second}, {});
  settle({a, b, c});
  EXPECT_EQ(sync_commands("SYNC-B"), to_b + 1);
  EXPECT_EQ(sync_commands("SYNC-C"), to_c + 1);
  EXPECT_TRUE(has_template(b, 1, "U0VDT05ELUZJTkdFUg=="));
  EXPECT_TRUE(has_template(c, 1, "U0VDT05ELUZJTkdFUg=="));

  // An enrolment on B (face only this time) goes to A, not to C.
  sim::AccessUser other;
  other.pin = "77";
  other.name = "Linus";
  b->enroll(other, {face("T1RIRVItRkFDRQ==")}, {});
  settle({a, b, c});
  EXPECT_EQ(a->users().count("77"), 1u);
  EXPECT_TRUE(has_template(a, 9, "T1RIRVItRkFDRQ=="));
  EXPECT_EQ(c->users().count("77"), 1u);  // the user row goes everywhere
  for (const auto& t : c->templates()) {
    EXPECT_NE(t.pin, "77");
  }

  // A terminal that joins later gets every enrolment it supports.
  auto d = terminal("SYNC-D", kFingerOnly, kNone);
  wait_online(d);
  const auto joined = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < joined &&
         !(has_template(d, 1, finger_tmp) && d->users().count("77") == 1)) {
    std::this_thread::sleep_for(20ms);
  }
  settle({a, b, c, d});
  EXPECT_EQ(d->users().count("4242"), 1u);
  EXPECT_EQ(d->users().count("77"), 1u);
  EXPECT_TRUE(has_template(d, 1, finger_tmp));
  EXPECT_TRUE(has_template(d, 1, "U0VDT05ELUZJTkdFUg=="));
  EXPECT_EQ(d->templates().size(), 2u);  // no face
  EXPECT_TRUE(d->photos().empty());
  EXPECT_TRUE(d->problems().empty()) << d->problems().front();
  // ...and nobody else got anything again.
  EXPECT_EQ(sync_commands("SYNC-B"), to_b + 1);
  EXPECT_EQ(sync_commands("SYNC-C"), to_c + 2);  // + the user row of 77
  a->stop();
  b->stop();
  c->stop();
  d->stop();
}

TEST_F(EnrolmentSyncTest, MasterDataGoesWhereItIsNeeded) {
  auto b = terminal("SYNC-B", kFingerAndFace, kFaceOnly);
  auto c = terminal("SYNC-C", kFingerOnly, kNone);
  wait_online(b);
  wait_online(c);
  const auto post = [this](const std::string& path, const std::string& body) {
    const auto a = http_request(gw_.api_port(), "POST", "/api/v1/access/" + path, body);
    EXPECT_TRUE(a.status == 200 || a.status == 201) << path << ": " << a.body;
  };
  post("timezones", R"({"id": 2, "name": "office", "mon": ["08:30-12:00", "13:00-17:30"]})");
  post("holidays", R"({"date": "2026-12-25", "type": 1, "yearly": true})");
  post("levels", R"({"id": 1, "name": "B front", "timezone": 2, "doors": ["SYNC-B/1"]})");
  post("users", R"({"pin": "500", "name": "Ada", "cards": [{"number": "123456"}],
                    "password": "77", "levels": [1]})");
  settle({b, c});

  // Time zone and holiday everywhere, in the spec's encoding.
  for (const auto& t : {b, c}) {
    const auto tzs = t->timezones();
    ASSERT_EQ(tzs.count("2"), 1u) << t->serial_number();
    EXPECT_EQ(sim::find_field(tzs.at("2"), "MonTime1").value_or(""),
              std::to_string((830 << 16) + 1200));
    EXPECT_EQ(sim::find_field(tzs.at("2"), "MonTime2").value_or(""),
              std::to_string((1300 << 16) + 1730));
    EXPECT_EQ(sim::find_field(tzs.at("2"), "SunTime1").value_or(""), "0");
    const auto hols = t->holidays();
    ASSERT_EQ(hols.count("20261225"), 1u) << t->serial_number();
    EXPECT_EQ(sim::find_field(hols.at("20261225"), "Loop").value_or(""), "1");
  }
  // The user and its right only where its level has doors.
  ASSERT_EQ(b->users().count("500"), 1u);
  EXPECT_EQ(b->users().at("500").card, "123456");
  const auto rights = b->authorizations();
  ASSERT_EQ(rights.size(), 1u);
  EXPECT_EQ(rights[0].pin, "500");
  EXPECT_EQ(rights[0].timezone_id, "2");
  EXPECT_EQ(rights[0].door_bits, "1");
  EXPECT_EQ(c->users().count("500"), 0u);
  EXPECT_TRUE(c->authorizations().empty());

  // A terminal that joins later gets what the master data puts on it.
  auto d = terminal("SYNC-D", kFingerOnly, kNone);
  wait_online(d);
  const auto joined = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < joined &&
         (d->timezones().count("2") == 0 || d->holidays().count("20261225") == 0)) {
    std::this_thread::sleep_for(20ms);
  }
  settle({b, c, d});
  EXPECT_EQ(d->timezones().count("2"), 1u);
  EXPECT_EQ(d->holidays().count("20261225"), 1u);
  EXPECT_EQ(d->users().count("500"), 0u);  // no door of its level there
  // Asked again over REST: it has everything, nothing is queued.
  const auto again = http_request(gw_.api_port(), "POST", "/api/v1/sync/terminals/SYNC-D");
  ASSERT_EQ(again.status, 202) << again.body;
  EXPECT_EQ(json::parse(again.body).at("queued"), 0);
  EXPECT_EQ(http_request(gw_.api_port(), "POST", "/api/v1/sync/terminals/NOPE").status, 404);
  d->stop();

  // The level moves to C's door: B loses the right, C gets user and right.
  const auto put = http_request(gw_.api_port(), "PUT", "/api/v1/access/levels/1",
                                R"({"id": 1, "name": "C front", "timezone": 2,
                                    "doors": ["SYNC-C/1"]})");
  ASSERT_EQ(put.status, 200) << put.body;
  settle({b, c});
  EXPECT_TRUE(b->authorizations().empty());
  ASSERT_EQ(c->users().count("500"), 1u);
  ASSERT_EQ(c->authorizations().size(), 1u);

  // Deleted: removed from every terminal that was sent it, nowhere else.
  const auto del = http_request(gw_.api_port(), "DELETE", "/api/v1/access/users/500");
  ASSERT_TRUE(del.status == 200 || del.status == 204) << del.body;
  settle({b, c});
  EXPECT_EQ(b->users().count("500"), 0u);
  EXPECT_EQ(c->users().count("500"), 0u);
  for (const auto& t : {b, c}) {
    for (const auto& cmd : t->executed_commands()) {
      EXPECT_EQ(cmd.return_code, 0) << t->serial_number() << ": " << cmd.text;
    }
    EXPECT_TRUE(t->problems().empty()) << t->problems().front();
  }
  b->stop();
  c->stop();
}

}  // namespace
}  // namespace pushgate::test
