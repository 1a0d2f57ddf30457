// Sync at the size of a site (issue 19 item 6), in small: simulated access
// terminals over real HTTP on an in-process gateway with sync.window = 12.
// While many users go out, each terminal has at most a window of sync
// commands queued or sent (a terminal that is off does not pile up users x
// items); after a restart the sync resumes where it was: the terminal that
// was off gets every user, each user row exactly once, and the terminal
// that had everything is sent nothing again. Progress on GET /api/v1/sync
// (done, outstanding, pending, complete) matches what the terminals got.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "gateway/access/access_service.hpp"
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
using access::AccessService;
using access::EntityKind;
using nlohmann::json;
using sim::AccessTerminal;

constexpr int kUsers = 60;
constexpr int kWindow = 12;
// One key (a user) is planned whole: its row, then its rights (clear, grant).
constexpr int kMaxOpen = kWindow - 1 + 3;

class SyncScaleTest : public ::testing::Test {
 protected:
  void start_gateway(int window = kWindow) {
    gw_ = std::make_unique<GatewayHarness>(
        std::vector<std::string>{"sync.window=" + std::to_string(window),
                                 "zkpush.gap_backfill_after_s=0"},  // only sync commands
        dir_.path());
  }

  std::shared_ptr<AccessTerminal> terminal(
      const std::string& sn, const std::function<void(sim::AccessTerminalConfig&)>& tune = {}) {
    sim::AccessTerminalConfig c;
    c.serial_number = sn;
    c.http.port = gw_->zkpush_port();
    c.http.timeout = 5s;
    c.poll_interval = 30ms;
    c.error_delay = 50ms;
    if (tune) {
      tune(c);
    }
    auto t = AccessTerminal::create(io_.ioc(), c);
    t->start();
    EXPECT_TRUE(t->wait_until([](const sim::AccessTerminalStats& s) { return s.polls >= 1; }, 10s))
        << sn << " never polled";
    return t;
  }

  void put(EntityKind kind, json body) {
    std::promise<AccessService::Update> p;
    auto f = p.get_future();
    gw_->gateway().access()->put(kind, std::move(body), std::nullopt,
                                 [&p](AccessService::Update u) { p.set_value(std::move(u)); });
    const auto u = f.get();
    ASSERT_TRUE(u.errors.empty() && !u.ec)
        << (u.errors.empty() ? u.ec.message() : u.errors[0].message);
  }

  std::int64_t open_for(const std::string& sn) {
    return gw_->query_int("SELECT coalesce(sum(" kRecords
                          "), 0) FROM commands WHERE origin='sync' AND "
                          "state IN ('queued','sent') AND terminal_sn=?1",
                          {sn});
  }

  std::int64_t sync_commands(const std::string& sn) {
    return gw_->query_int("SELECT (SELECT coalesce(sum(" kRecords
                          "), 0) FROM commands WHERE origin='sync' AND "
                          "terminal_sn=?1) + "
                          "coalesce((SELECT done FROM sync_progress WHERE terminal_sn=?1), 0)",
                          {sn});
  }

  json progress_of(const std::string& sn) {
    const auto a = http_request(gw_->api_port(), "GET", "/api/v1/sync");
    EXPECT_EQ(a.status, 200) << a.body;
    const json body = json::parse(a.body);
    for (const auto& t : body.at("terminals")) {
      if (t.at("terminal") == sn) {
        return t;
      }
    }
    ADD_FAILURE() << sn << " not in " << a.body;
    return json::object();
  }

  /** Until `done` or 30 s; the largest open count of `sn` seen meanwhile. */
  template <class Done>
  std::int64_t run_until(Done done, const std::vector<std::string>& watched) {
    std::int64_t peak = 0;
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      for (const auto& sn : watched) {
        peak = std::max(peak, open_for(sn));
      }
      std::this_thread::sleep_for(5ms);
    }
    EXPECT_TRUE(done()) << "not done in 30 s";
    return peak;
  }

  static std::map<std::string, int> user_rows_executed(
      const std::vector<std::shared_ptr<AccessTerminal>>& lives) {
    std::map<std::string, int> out;
    for (const auto& t : lives) {
      for (const auto& c : t->executed_commands()) {
        if (c.text.rfind("DATA UPDATE user ", 0) != 0) {
          continue;
        }
        // One record per line (a batch carries several).
        std::size_t start = 0;
        while (start < c.text.size()) {
          const auto nl = c.text.find('\n', start);
          const std::string rec = c.text.substr(start, nl == std::string::npos ? nl : nl - start);
          const auto at = rec.find("\tPin=");
          if (at != std::string::npos) {
            const auto end = rec.find('\t', at + 5);
            ++out[rec.substr(at + 5, end == std::string::npos ? end : end - at - 5)];
          }
          start = nl == std::string::npos ? c.text.size() : nl + 1;
        }
      }
    }
    return out;
  }

  /** A terminal that reads fingerprints and visible-light faces (templates and photos). */
  static void biometric(sim::AccessTerminalConfig& c) {
    c.profile.multi_bio_data_support = "0:1:0:0:0:0:0:0:0:1";
    c.profile.multi_bio_photo_support = "0:0:0:0:0:0:0:0:0:1";
  }

  /**
   * `n` users enrolled on `station`, each with a fingerprint and a face
   * photo (of `photo_bytes` at least).
   */
  static void enroll(const std::shared_ptr<AccessTerminal>& station, int n,
                     std::size_t photo_bytes = 0) {
    for (int u = 0; u < n; ++u) {
      sim::AccessUser user;
      user.pin = std::to_string(500 + u);
      user.name = "Enrolled " + std::to_string(u);
      user.card = std::to_string(800000 + u);
      sim::AccessTemplate finger;
      finger.type = sim::bio_type::kFingerprint;
      finger.no = 6;
      finger.major_ver = "10";
      finger.tmp = "FINGER" + std::to_string(u) + "TAItUzIxAAAFSksECAUHCc7QAAAdS2kB";
      sim::AccessPhoto photo;
      photo.table = "biophoto";
      photo.type = sim::bio_type::kVisibleFace;
      photo.content = "/9j/4AAQSkZJRgABAQAAQABAAD" + std::to_string(u);
      if (photo.content.size() < photo_bytes) {
        photo.content.append(photo_bytes - photo.content.size(), 'Q');
      }
      station->enroll(user, {finger}, {photo});
    }
    ASSERT_TRUE(station->wait_until(
        [](const sim::AccessTerminalStats& s) { return s.uploads_pending == 0; }, 10s));
  }

  /** Whether `t` holds every enrolled user with its template and photo. */
  static bool holds_all(const std::shared_ptr<AccessTerminal>& t, int n) {
    const auto h = t->held_counts();
    return h.users == static_cast<std::size_t>(n) && h.templates == static_cast<std::size_t>(n) &&
           h.photos == static_cast<std::size_t>(n);
  }

  TempDir dir_;
  IoThread io_;
  std::unique_ptr<GatewayHarness> gw_;
};

TEST_F(SyncScaleTest, QueueStaysWithinTheWindowAndResumesAfterARestart) {
  start_gateway();
  auto on = terminal("SCALE-ON");
  auto off = terminal("SCALE-OFF");
  off->stop();  // switched off before the users come

  put(EntityKind::TimeZone, json::parse(R"({"id": 1, "mon": ["00:00-23:59"]})"));
  put(EntityKind::Door, json::parse(R"([{"terminal": "SCALE-ON", "door": 1},
                                        {"terminal": "SCALE-OFF", "door": 1}])"));
  put(EntityKind::Level, json::parse(R"({"id": 1, "timezone": 1,
                                         "doors": ["SCALE-ON/1", "SCALE-OFF/1"]})"));
  json users = json::array();
  for (int u = 0; u < kUsers; ++u) {
    users.push_back({{"pin", std::to_string(100 + u)},
                     {"name", "User " + std::to_string(u)},
                     {"cards", {std::to_string(900000 + u)}},
                     {"levels", {1}}});
  }
  put(EntityKind::User, users);

  // The terminal that is on gets everyone; neither ever has more than a
  // window of sync commands queued or sent.
  const std::int64_t peak = run_until(
      [&] {
        const auto h = on->held_counts();
        return h.users == kUsers && h.authorizations == kUsers && open_for("SCALE-ON") == 0;
      },
      {"SCALE-ON", "SCALE-OFF"});
  EXPECT_LE(peak, kMaxOpen);
  EXPECT_GT(peak, 0);
  ASSERT_TRUE(gw_->gateway().sync()->wait_idle_for_test(5s));
  EXPECT_LE(open_for("SCALE-OFF"), kMaxOpen);
  EXPECT_GT(open_for("SCALE-OFF"), 0);
  // Done ones leave the table: it holds what is outstanding.
  EXPECT_LE(gw_->query_int("SELECT count(*) FROM commands WHERE origin='sync'"), kMaxOpen);

  // Progress: the time zone, then per user its row, the rights cleared and granted.
  const std::int64_t all = 1 + 3 * kUsers;
  const json p_on = progress_of("SCALE-ON");
  EXPECT_EQ(p_on.at("done"), all);
  EXPECT_EQ(p_on.at("outstanding"), 0);
  EXPECT_EQ(p_on.at("pending"), 0);
  EXPECT_EQ(p_on.at("complete"), true);
  const json p_off = progress_of("SCALE-OFF");
  EXPECT_EQ(p_off.at("outstanding"), open_for("SCALE-OFF"));
  EXPECT_GT(p_off.at("pending"), 0);
  EXPECT_EQ(p_off.at("complete"), false);
  EXPECT_EQ(sync_commands("SCALE-ON"), all);

  // Restart; the terminal that was off comes back, and gets the rest.
  on->stop();
  gw_.reset();
  start_gateway();
  auto back = terminal("SCALE-OFF");
  auto on_again = terminal("SCALE-ON");
  const std::int64_t peak_after = run_until(
      [&] {
        const auto h = back->held_counts();
        return h.users == kUsers && h.authorizations == kUsers && open_for("SCALE-OFF") == 0;
      },
      {"SCALE-OFF"});
  EXPECT_LE(peak_after, kMaxOpen);
  ASSERT_TRUE(gw_->gateway().sync()->wait_idle_for_test(5s));

  // Every user on it with its card, each user row executed exactly once.
  const auto held = back->users();
  for (int u = 0; u < kUsers; ++u) {
    const std::string pin = std::to_string(100 + u);
    ASSERT_EQ(held.count(pin), 1u) << pin;
    EXPECT_EQ(held.at(pin).card, std::to_string(900000 + u));
  }
  // Users went in batches: several records in one DATA UPDATE user.
  bool batched = false;
  for (const auto& c : back->executed_commands()) {
    batched = batched || (c.text.rfind("DATA UPDATE user ", 0) == 0 &&
                          c.text.find('\n') != std::string::npos && c.return_code == 0);
  }
  EXPECT_TRUE(batched);
  const auto rows = user_rows_executed({off, back});
  EXPECT_EQ(rows.size(), static_cast<std::size_t>(kUsers));
  for (const auto& [pin, n] : rows) {
    EXPECT_EQ(n, 1) << "user row of " << pin << " executed " << n << " times";
  }
  EXPECT_TRUE(back->problems().empty()) << back->problems().front();
  EXPECT_EQ(sync_commands("SCALE-OFF"), all);
  const json p_back = progress_of("SCALE-OFF");
  EXPECT_EQ(p_back.at("done"), all);
  EXPECT_EQ(p_back.at("complete"), true);

  // The terminal that had everything is sent nothing again.
  EXPECT_EQ(sync_commands("SCALE-ON"), all);
  EXPECT_TRUE(on_again->executed_commands().empty());
  EXPECT_EQ(progress_of("SCALE-ON").at("complete"), true);
  back->stop();
  on_again->stop();
}

// A Security PUSH terminal is an access terminal from its handshake (§4.1)
// on, before its registration (§4.4) says which biometrics it takes. What
// the sync planned for it in between (user rows, no template, no photo) is
// not what it holds once it registered with a fingerprint reader and a face
// camera: it gets the rest (the 300 x 200 bench ended with 38 terminals
// without templates or photos, reported done). The window is smaller than
// one user's records.
TEST_F(SyncScaleTest, ATerminalServedBeforeItRegisteredGetsEveryTemplateAndPhoto) {
  start_gateway(2);
  constexpr int kEnrolled = 6;
  auto station = terminal("SCALE-ENROL", biometric);
  enroll(station, kEnrolled);
  ASSERT_TRUE(gw_->gateway().sync()->wait_idle_for_test(5s));

  const auto hello =
      http_request(gw_->zkpush_port(), "GET",
                   "/iclock/cdata?SN=SCALE-LATE&options=all&pushver=3.1.2&DeviceType=acc");
  ASSERT_EQ(hello.status, 200) << hello.body;
  // The scan (every 2 s) finds it and plans its first users.
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (open_for("SCALE-LATE") == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_GT(open_for("SCALE-LATE"), 0) << "the sync never served the handshaken terminal";
  ASSERT_TRUE(gw_->gateway().sync()->wait_idle_for_test(5s));

  // It registers, polls and takes everything; the gateway agrees.
  auto late = terminal("SCALE-LATE", biometric);
  run_until([&] { return holds_all(late, kEnrolled) && open_for("SCALE-LATE") == 0; },
            {"SCALE-LATE"});
  ASSERT_TRUE(gw_->gateway().sync()->wait_idle_for_test(5s));
  EXPECT_EQ(progress_of("SCALE-LATE").at("complete"), true);
  EXPECT_TRUE(late->problems().empty()) << late->problems().front();
  late->stop();
  station->stop();
}

// A batch the terminal refuses (Return < 0: none of its records applied)
// loses nothing: its records are planned again (counted, logged) and go out
// in a later command; they are never counted done.
TEST_F(SyncScaleTest, ARefusedBatchIsPlannedAgain) {
  start_gateway(4);
  constexpr int kEnrolled = 6;
  auto station = terminal("SCALE-ENROL", biometric);
  enroll(station, kEnrolled);
  ASSERT_TRUE(gw_->gateway().sync()->wait_idle_for_test(5s));

  // The first DATA UPDATE biophoto with several records is refused.
  auto refused = std::make_shared<std::atomic<int>>(0);
  auto picky = terminal("SCALE-PICKY", [refused](sim::AccessTerminalConfig& c) {
    biometric(c);
    c.refuse_update = [refused](const std::string& table, const std::string& records) {
      return table == "biophoto" && records.find('\n') != std::string::npos &&
             refused->fetch_add(1) == 0;
    };
  });
  run_until([&] { return holds_all(picky, kEnrolled) && open_for("SCALE-PICKY") == 0; },
            {"SCALE-PICKY"});
  ASSERT_TRUE(gw_->gateway().sync()->wait_idle_for_test(5s));
  EXPECT_GE(refused->load(), 1);
  EXPECT_GE(picky->access_stats().commands_failed, 1u);
  // The refused batch stays failed; its records were sent again and counted.
  const std::int64_t failed_records = gw_->query_int(
      "SELECT coalesce(sum(" kRecords
      "), 0) FROM commands WHERE origin='sync' AND terminal_sn='SCALE-PICKY' AND state='failed'");
  EXPECT_GE(failed_records, 2);
  EXPECT_EQ(metric_value(gw_->api_port(), "pushgate_sync_records_lost_total{action=\"replanned\"}")
                .value_or(0),
            static_cast<double>(failed_records));
  // Done: every user's row, template and photo once (the photos of the
  // refused batch in a later command, not counted twice).
  const json p = progress_of("SCALE-PICKY");
  EXPECT_EQ(p.at("done"), 3 * kEnrolled);
  EXPECT_EQ(p.at("failed"), failed_records);
  EXPECT_EQ(p.at("complete"), true);
  picky->stop();
  station->stop();
}

// Open sync commands are kept in memory by the queue, photos and all: at
// 200 terminals each with a window of 20 KB photos that was 190 MB of
// pushgated. sync.max_open_bytes bounds what is open over every terminal:
// a lane with room in its window waits while the budget is spent, and is
// served when commands of any lane are done; a lane with nothing open may
// always plan one key (terminals that are off must not stall the rest).
// Here 24 users with a 4,000-byte photo go to three terminals with windows
// of 24 records (without the budget: about 12 photos open at once) and a
// budget of two photos: what is open never passes the budget by more than
// one user per terminal, every terminal gets everything, and nothing is
// left counted once they have.
TEST_F(SyncScaleTest, OpenBytesStayWithinTheBudgetOverEveryTerminal) {
  constexpr int kEnrolled = 24;
  constexpr std::int64_t kPhoto = 4000;
  constexpr std::int64_t kBudget = 2 * kPhoto;
  const std::vector<std::string> names = {"SCALE-B1", "SCALE-B2", "SCALE-B3"};
  gw_ = std::make_unique<GatewayHarness>(
      std::vector<std::string>{"sync.window=24", "sync.max_open_bytes=" + std::to_string(kBudget),
                               "zkpush.gap_backfill_after_s=0"},
      dir_.path());
  auto station = terminal("SCALE-ENROL", biometric);
  enroll(station, kEnrolled, kPhoto);
  ASSERT_TRUE(gw_->gateway().sync()->wait_idle_for_test(5s));
  std::vector<std::shared_ptr<AccessTerminal>> lives;
  for (const auto& sn : names) {
    lives.push_back(terminal(sn, biometric));
  }

  // Bytes of parameters open now, as stored (a little more than the
  // gateway's own weighing: JSON quotes and braces).
  const auto open_bytes = [this] {
    return gw_->query_int(
        "SELECT coalesce(sum(length(params)), 0) FROM commands WHERE origin='sync' AND "
        "state IN ('queued','sent')");
  };
  // Past the budget: one user (row, rights, template, photo) per terminal.
  const std::int64_t kBound = kBudget + static_cast<std::int64_t>(names.size()) * (kPhoto + 600);
  std::int64_t peak = 0;
  double peak_metric = 0;
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  const auto all_done = [&] {
    for (std::size_t i = 0; i < lives.size(); ++i) {
      if (!holds_all(lives[i], kEnrolled) || open_for(names[i]) != 0) {
        return false;
      }
    }
    return true;
  };
  while (!all_done() && std::chrono::steady_clock::now() < deadline) {
    peak = std::max(peak, open_bytes());
    peak_metric = std::max(peak_metric,
                           metric_value(gw_->api_port(), "pushgate_sync_open_bytes").value_or(-1));
    std::this_thread::sleep_for(2ms);
  }
  ASSERT_TRUE(all_done()) << "not done in 60 s";
  ASSERT_TRUE(gw_->gateway().sync()->wait_idle_for_test(5s));
  RecordProperty("peak_open_param_bytes", static_cast<int>(peak));
  EXPECT_GT(peak, kPhoto);  // it did have photos open
  RecordProperty("bound", static_cast<int>(kBound));
  EXPECT_LE(peak, kBound);
  EXPECT_GT(peak_metric, 0);
  EXPECT_LE(peak_metric, static_cast<double>(kBound));
  // Every weight that was counted in has been counted out.
  EXPECT_EQ(metric_value(gw_->api_port(), "pushgate_sync_open_bytes").value_or(-1), 0);
  const auto state = http_request(gw_->api_port(), "GET", "/api/v1/sync");
  ASSERT_EQ(state.status, 200) << state.body;
  EXPECT_EQ(json::parse(state.body).at("open_bytes"), 0);
  EXPECT_EQ(json::parse(state.body).at("max_open_bytes"), kBudget);
  for (std::size_t i = 0; i < lives.size(); ++i) {
    EXPECT_EQ(progress_of(names[i]).at("complete"), true) << names[i];
    EXPECT_TRUE(lives[i]->problems().empty()) << lives[i]->problems().front();
    lives[i]->stop();
  }
  station->stop();
}

// What the sync keeps in memory of what terminals hold does not grow with
// users x terminals (issue 19: 10,000 users x 200 terminals x 4 records
// were millions of entries): only the records of the keys each terminal
// plans next, read from sync_items. 60 users with a template and a photo
// on three terminals (the station holds its own) are 540 records; the sync
// never holds more than a few windows' worth, and nothing once it is done.
TEST_F(SyncScaleTest, MemoryHoldsOnlyWhatEachTerminalPlansNext) {
  constexpr int kSmallWindow = 4;
  constexpr int kEnrolled = 60;
  start_gateway(kSmallWindow);
  auto station = terminal("SCALE-ENROL", biometric);
  enroll(station, kEnrolled);
  ASSERT_TRUE(gw_->gateway().sync()->wait_idle_for_test(5s));
  auto a = terminal("SCALE-MEM-A", biometric);
  auto b = terminal("SCALE-MEM-B", biometric);

  // Per terminal: the rows of half a window of keys (a user is up to 4
  // records) and what was noted but not yet seen committed.
  constexpr double kBound = 3 * 4 * kSmallWindow;
  const auto tracked = [this] {
    return gw_->gateway().metrics().value("pushgate_sync_tracked_items");
  };
  double peak = 0;
  run_until(
      [&] {
        peak = std::max(peak, tracked());
        return holds_all(a, kEnrolled) && holds_all(b, kEnrolled) && open_for("SCALE-MEM-A") == 0 &&
               open_for("SCALE-MEM-B") == 0;
      },
      {"SCALE-MEM-A", "SCALE-MEM-B"});
  ASSERT_TRUE(gw_->gateway().sync()->wait_idle_for_test(5s));
  RecordProperty("peak_tracked_items", static_cast<int>(peak));
  EXPECT_GT(peak, 0);  // it does hold what it plans
  EXPECT_LE(peak, kBound);
  EXPECT_LE(tracked(), kBound);
  // Everything is in sync_items all the same: the station's own records and
  // what each terminal was sent.
  EXPECT_EQ(gw_->query_int("SELECT count(*) FROM sync_items"), 3 * 3 * kEnrolled);
  const auto state = http_request(gw_->api_port(), "GET", "/api/v1/sync");
  ASSERT_EQ(state.status, 200) << state.body;
  EXPECT_LE(json::parse(state.body).at("items_tracked").get<double>(), kBound);

  // A full sync of a terminal that has everything: nothing lacking, nothing
  // sent again, still a bounded memory.
  const auto again = http_request(gw_->api_port(), "POST", "/api/v1/sync/terminals/SCALE-MEM-A");
  ASSERT_EQ(again.status, 202) << again.body;
  EXPECT_EQ(json::parse(again.body).at("queued"), 0);
  ASSERT_TRUE(gw_->gateway().sync()->wait_idle_for_test(5s));
  EXPECT_EQ(open_for("SCALE-MEM-A"), 0);
  EXPECT_LE(tracked(), kBound);
  EXPECT_TRUE(a->problems().empty()) << a->problems().front();
  a->stop();
  b->stop();
  station->stop();
}

}  // namespace
}  // namespace pushgate::test
