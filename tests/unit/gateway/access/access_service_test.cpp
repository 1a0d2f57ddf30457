// Included first: proves the header is self-contained.
#include "gateway/access/access_service.hpp"

#include <gtest/gtest.h>

#include <future>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "gateway/store/store.hpp"
#include "tests/unit/gateway/support/gateway_test_support.hpp"

namespace pushgate::access {
namespace {

using nlohmann::json;

/** 2026-11-16 (a Monday) 09:00:00 UTC; the site runs in UTC in these tests. */
constexpr std::int64_t kMonday9 = 1'794'819'600'000;

/**
 * The service on a real store in a temporary directory with a fake clock,
 * the way the gateway wires it: two access terminals TERM-A and TERM-B, one
 * door each, both entrances of one hard anti-passback area.
 */
class AccessServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    clock_.set_ms(kMonday9);
    open();
    put(EntityKind::TimeZone, json::parse(R"({"id":1,"name":"always",
      "sun":["00:00-23:59"],"mon":["00:00-23:59"],"tue":["00:00-23:59"],"wed":["00:00-23:59"],
      "thu":["00:00-23:59"],"fri":["00:00-23:59"],"sat":["00:00-23:59"]})"));
    put(EntityKind::Area, json::parse(R"({"id":1,"name":"site","apb":"hard"})"));
    put(EntityKind::Door, json::parse(R"([{"terminal":"TERM-A","door":1,"open_s":6,"area_in":1},
      {"terminal":"TERM-B","door":1,"open_s":4,"area_in":1}])"));
    put(EntityKind::Level,
        json::parse(R"({"id":1,"name":"all","timezone":1,"doors":["TERM-A/1","TERM-B/1"]})"));
    put(EntityKind::User, json::parse(R"({"pin":"100","name":"Ana","cards":["123456"],
      "levels":[1]})"));
  }
  void TearDown() override { close(); }

  void open(WaitForCommit wait = WaitForCommit::Apb) {
    store::Store::Options so;
    so.path = dir_.file("pushgate.db");
    std::string error;
    store_ = store::Store::open(so, clock_, metrics_, error);
    ASSERT_NE(store_, nullptr) << error;
    ServiceOptions o;
    o.timezone = "UTC";
    o.import_levels = {};
    o.wait = wait;
    service_ = std::make_unique<AccessService>(*store_, clock_, metrics_, o);
    service_->add_change_observer([this](const MasterDataChange& c) {
      std::lock_guard lock(changes_mutex_);
      changes_.push_back(c);
    });
    store_->start();
    ASSERT_EQ(service_->load(), "");
  }
  void close() {
    service_.reset();
    store_.reset();
  }
  /** Every commit fails from now on (an I/O error), until the injector is cleared. */
  void fail_commits() {
    store_->set_fault_injector_for_test([](std::string_view step) {
      return step == "commit" ? boost::system::errc::make_error_code(boost::system::errc::io_error)
                              : boost::system::error_code{};
    });
  }

  AccessService::Update put(EntityKind kind, json body,
                            std::optional<std::string> key = std::nullopt) {
    auto p = std::make_shared<std::promise<AccessService::Update>>();
    auto f = p->get_future();
    service_->put(kind, std::move(body), std::move(key),
                  [p](AccessService::Update u) { p->set_value(std::move(u)); });
    EXPECT_EQ(f.wait_for(test::kDeadline), std::future_status::ready);
    return f.get();
  }
  AccessService::Update remove(EntityKind kind, std::string key) {
    auto p = std::make_shared<std::promise<AccessService::Update>>();
    auto f = p->get_future();
    service_->remove(kind, std::move(key),
                     [p](AccessService::Update u) { p->set_value(std::move(u)); });
    EXPECT_EQ(f.wait_for(test::kDeadline), std::future_status::ready);
    return f.get();
  }

  RemoteAuthAnswer ask(const std::string& sn, const std::string& pin, int in_out = 0,
                       const std::string& card = "") {
    RemoteAuthRequest q;
    q.terminal_sn = sn;
    q.time_text = "2026-11-16 09:00:00";
    q.pin = pin;
    q.card = card;
    q.addr_type = 2;
    q.event_addr = 1;
    q.event = 0;
    q.in_out = in_out;
    q.verify_type = 4;
    q.raw = "time=2026-11-16 09:00:00\tpin=" + pin;
    auto p = std::make_shared<std::promise<RemoteAuthAnswer>>();
    auto f = p->get_future();
    service_->decide(q, [p](RemoteAuthAnswer a) { p->set_value(std::move(a)); });
    EXPECT_EQ(f.wait_for(test::kDeadline), std::future_status::ready);
    return f.get();
  }

  CommitResult commit(WriteBatch batch) {
    auto p = std::make_shared<std::promise<CommitResult>>();
    auto f = p->get_future();
    store_->append(std::move(batch), [p](CommitResult r) { p->set_value(std::move(r)); });
    EXPECT_EQ(f.wait_for(test::kDeadline), std::future_status::ready);
    return f.get();
  }

  /** Decision events stored, oldest first: (pin, event code, granted). */
  std::vector<std::tuple<std::string, int, bool>> decisions() {
    return store_->read([](store::Connection& db) {
      std::vector<std::tuple<std::string, int, bool>> out;
      boost::system::error_code ec;
      auto st =
          db.prepare("SELECT pin, event_code, extra FROM events WHERE kind = 9 ORDER BY id", ec);
      while (!ec && st.step(ec)) {
        out.emplace_back(st.column_text(0), static_cast<int>(st.column_int(1)),
                         json::parse(st.column_text(2)).value("granted", false));
      }
      return out;
    });
  }

  test::TempDir dir_;
  test::FakeClock clock_;
  metrics::Registry metrics_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<AccessService> service_;
  std::mutex changes_mutex_;
  std::vector<MasterDataChange> changes_;
};

TEST_F(AccessServiceTest, GrantAnswersTheDoorsOpenTimeAndIsStored) {
  auto a = ask("TERM-A", "100");
  EXPECT_FALSE(a.ec);
  EXPECT_TRUE(a.granted);
  EXPECT_EQ(a.event_code, 0);
  EXPECT_EQ(a.door, 1);
  EXPECT_EQ(a.open_s, 6);
  auto refused = ask("TERM-A", "777");
  EXPECT_FALSE(refused.granted);
  EXPECT_EQ(refused.event_code, 27);
  ASSERT_TRUE(test::wait_until([&] { return decisions().size() == 2; }));
  auto d = decisions();
  EXPECT_EQ(d[0], std::make_tuple(std::string("100"), 0, true));
  EXPECT_EQ(d[1], std::make_tuple(std::string("777"), 27, false));
}

TEST_F(AccessServiceTest, CardOnlyRequestAcceptsTheSpecsHexForm) {
  // §9.1.1: 123456789 may be sent as [15CD5B07]; Ana's card is 123456.
  put(EntityKind::User, json::parse(R"({"pin":"200","cards":["123456789"],"levels":[1]})"));
  auto a = ask("TERM-A", "0", 0, "[15CD5B07]");
  EXPECT_TRUE(a.granted);
}

TEST_F(AccessServiceTest, AntiPassbackAcrossTerminalsIsDurableAcrossARestart) {
  ASSERT_TRUE(ask("TERM-A", "100", 0).granted);  // in at A
  EXPECT_EQ(ask("TERM-B", "100", 0).event_code, 24);

  close();  // restart: the position comes back from the store
  open();
  EXPECT_EQ(ask("TERM-B", "100", 0).event_code, 24);
  EXPECT_TRUE(ask("TERM-B", "100", 1).granted);  // out at B
  close();
  open();
  EXPECT_TRUE(ask("TERM-A", "100", 0).granted);  // and in again
  EXPECT_EQ(service_->positions()["100"]["area"], 1);
}

// An rtlog record of a door opened for `pin` (as adapters/zkpush builds it).
Event passage(const std::string& sn, const std::string& pin, int code, int in_out,
              std::int64_t utc_ms) {
  Event e =
      test::make_event(sn, "RTLOG\t" + pin + "\t" + std::to_string(utc_ms), EventKind::Access);
  e.pin = pin;
  e.door = 1;
  e.event_code = code;
  e.status = in_out;
  e.utc_ms = utc_ms;
  return e;
}

TEST_F(AccessServiceTest, PassageRecordedByATerminalMovesTheUserInTheSameCommit) {
  WriteBatch b;
  Event e = passage("TERM-A", "100", 0, 0, kMonday9 - 5'000);
  service_->note_pass(e, b);
  ASSERT_EQ(b.ops.size(), 1u);  // the position, written with the event
  b.events.push_back(e);
  ASSERT_FALSE(commit(std::move(b)).ec);
  EXPECT_EQ(ask("TERM-B", "100", 0).event_code, 24);
  EXPECT_EQ(metrics_.value("pushgate_access_apb_moves_from_terminals_total"), 1);

  close();  // durable: it came back from the store
  open();
  EXPECT_EQ(ask("TERM-B", "100", 0).event_code, 24);

  // Not a passage: a refusal the terminal logged, an alarm, no user.
  for (const Event& other : {passage("TERM-A", "100", 24, 1, kMonday9 + 1'000),
                             passage("TERM-A", "100", 28, 1, kMonday9 + 1'000),
                             passage("TERM-A", "", 0, 1, kMonday9 + 1'000)}) {
    WriteBatch none;
    service_->note_pass(other, none);
    EXPECT_TRUE(none.ops.empty());
  }
}

TEST_F(AccessServiceTest, WithoutWaitingAGrantIsAnsweredAtOnceAndTheTerminalRecordClosesTheGap) {
  close();
  open(WaitForCommit::None);
  // The disk loses the decision (as a crash right after the answer would).
  fail_commits();
  auto in_a = ask("TERM-A", "100", 0);
  EXPECT_FALSE(in_a.ec);
  EXPECT_TRUE(in_a.granted);
  ASSERT_TRUE(test::wait_until(
      [&] { return metrics_.value("pushgate_access_decision_write_failures_total") >= 1; }));
  store_->set_fault_injector_for_test(nullptr);
  EXPECT_EQ(ask("TERM-B", "100", 0).event_code, 24);  // memory has the move

  close();  // restart: the lost move is not on disk
  open(WaitForCommit::None);
  EXPECT_TRUE(service_->positions().empty()) << service_->positions().dump();
  // TERM-A sends its record of the passage (222: remote identification
  // succeeded) until stored; that restores the position.
  WriteBatch b;
  Event e = passage("TERM-A", "100", 222, 0, kMonday9);
  service_->note_pass(e, b);
  b.events.push_back(e);
  ASSERT_FALSE(commit(std::move(b)).ec);
  EXPECT_EQ(ask("TERM-B", "100", 0).event_code, 24);
}

TEST_F(AccessServiceTest, GrantWhoseCommitFailsIsRefusedAndForgotten) {
  fail_commits();
  auto a = ask("TERM-A", "100", 0);
  EXPECT_TRUE(a.ec);
  EXPECT_FALSE(a.granted);
  EXPECT_EQ(a.open_s, 0);
  store_->set_fault_injector_for_test(nullptr);
  // Nothing was recorded: the user is not inside, the next entry passes.
  EXPECT_TRUE(ask("TERM-B", "100", 0).granted);
}

TEST_F(AccessServiceTest, OnlyAnswersThatMatterWaitForTheirCommitUnlessAllMust) {
  // Default (apb): a refusal moves nobody and is answered before its commit.
  fail_commits();
  auto refused = ask("TERM-A", "777");
  EXPECT_FALSE(refused.ec);
  EXPECT_EQ(refused.event_code, 27);
  store_->set_fault_injector_for_test(nullptr);

  close();
  open(WaitForCommit::All);
  fail_commits();
  auto waited = ask("TERM-A", "777");
  EXPECT_TRUE(waited.ec);  // it waited, and the store could not keep it
  EXPECT_FALSE(waited.granted);
  store_->set_fault_injector_for_test(nullptr);
  EXPECT_FALSE(ask("TERM-A", "777").ec);
}

TEST_F(AccessServiceTest, InterlockSeesADoorOpenOnAnotherTerminal) {
  put(EntityKind::Area, json::parse(R"({"id":1,"apb":"none"})"));
  put(EntityKind::Door, json::parse(R"({"terminal":"TERM-A","door":1,"interlock":3})"));
  put(EntityKind::Door, json::parse(R"({"terminal":"TERM-B","door":1,"interlock":3})"));
  // TERM-B's rtstate says its door is open (as adapters/zkpush stores it).
  WriteBatch b;
  Event e = test::make_event("TERM-B", "RTSTATE\t1\topen", EventKind::DoorState);
  e.door = 1;
  e.extra_json = R"({"sensor":"open","relay":"connected","alarm":0})";
  b.events.push_back(e);
  ASSERT_FALSE(commit(std::move(b)).ec);
  ASSERT_TRUE(test::wait_until([&] { return service_->door_state({"TERM-B", 1}).sensor_open; }));
  EXPECT_EQ(ask("TERM-A", "100").event_code, 25);

  WriteBatch closed;
  Event c = test::make_event("TERM-B", "RTSTATE\t1\tclosed", EventKind::DoorState);
  c.door = 1;
  c.extra_json = R"({"sensor":"closed","relay":"connected","alarm":0})";
  closed.events.push_back(c);
  ASSERT_FALSE(commit(std::move(closed)).ec);
  ASSERT_TRUE(test::wait_until([&] { return !service_->door_state({"TERM-B", 1}).sensor_open; }));
  EXPECT_TRUE(ask("TERM-A", "100").granted);
}

TEST_F(AccessServiceTest, ValidationConflictsAndNotFound) {
  auto bad = put(EntityKind::User, json::parse(R"({"pin":"300","cards":["123456"],
    "levels":[9]})"));
  ASSERT_EQ(bad.errors.size(), 2u);
  EXPECT_EQ(bad.errors[0].field, "levels[0]");
  EXPECT_EQ(bad.errors[1].field, "cards[0]");
  EXPECT_FALSE(service_->get(EntityKind::User, "300").has_value());

  auto mismatch = put(EntityKind::User, json::parse(R"({"pin":"300"})"), "301");
  EXPECT_FALSE(mismatch.errors.empty());

  auto bulk = put(EntityKind::User, json::parse(R"([{"pin":"1","cards":["5"]},
    {"pin":"2","cards":["5"]}])"));
  ASSERT_FALSE(bulk.errors.empty());
  EXPECT_EQ(bulk.errors[0].field, "[1].cards[0]");
  EXPECT_FALSE(service_->get(EntityKind::User, "1").has_value());  // all or nothing

  EXPECT_EQ(remove(EntityKind::Level, "1").conflict, "given to user 100");
  EXPECT_EQ(remove(EntityKind::TimeZone, "1").conflict, "used by access level 1");
  EXPECT_EQ(remove(EntityKind::Area, "1").conflict, "used by door TERM-A/1");
  EXPECT_TRUE(remove(EntityKind::Holiday, "2026-12-25").not_found);
  EXPECT_TRUE(remove(EntityKind::User, "100").errors.empty());
  EXPECT_EQ(ask("TERM-A", "100").event_code, 27);
}

TEST_F(AccessServiceTest, ChangesAreNotifiedAfterCommitAndSurviveARestart) {
  {
    std::lock_guard lock(changes_mutex_);
    changes_.clear();
  }
  put(EntityKind::Holiday, json::parse(R"({"date":"2026-12-25","type":2,"yearly":true})"));
  remove(EntityKind::User, "100");
  {
    std::lock_guard lock(changes_mutex_);
    ASSERT_EQ(changes_.size(), 2u);
    EXPECT_EQ(changes_[0].entity, MasterDataChange::Entity::Holiday);
    EXPECT_EQ(changes_[0].key, "2026-12-25");
    EXPECT_EQ(changes_[1].op, MasterDataChange::Op::Delete);
    EXPECT_EQ(changes_[1].key, "100");
  }
  close();
  open();
  EXPECT_TRUE(service_->get(EntityKind::Holiday, "2026-12-25").has_value());
  EXPECT_FALSE(service_->get(EntityKind::User, "100").has_value());
  EXPECT_EQ(service_->list(EntityKind::Door, "", 10).size(), 2u);
}

TEST_F(AccessServiceTest, ImportsUsersFromTerminalsButNeverOverRestEdits) {
  auto upload = [&](const std::string& pin, const std::string& name, const std::string& card) {
    WriteBatch b;
    Event e = test::make_event("TERM-A", "USER\t" + pin + "\t" + name, EventKind::Enrollment);
    e.pin = pin;
    e.extra_json = json({{"record", "user"},
                         {"fields",
                          {{"name", name},
                           {"card", card},
                           {"privilege", 0},
                           {"group", "1"},
                           {"starttime", "20260101"},
                           {"endtime", "0"}}}})
                       .dump();
    b.events.push_back(e);
    ASSERT_FALSE(commit(std::move(b)).ec);
    ASSERT_TRUE(service_->wait_idle_for_test(test::kDeadline));
  };
  upload("500", "Eve", "4242");
  ASSERT_TRUE(test::wait_until([&] { return service_->get(EntityKind::User, "500").has_value(); }));
  auto eve = *service_->get(EntityKind::User, "500");
  EXPECT_EQ(eve["source"], "terminal:TERM-A");
  EXPECT_EQ(eve["cards"][0]["number"], "4242");
  EXPECT_EQ(eve["valid_from"], "2026-01-01 00:00:00");
  EXPECT_EQ(eve["levels"].size(), 0u);  // opens nothing until given a level

  upload("500", "Eve Renamed", "4242");  // a terminal user follows later uploads
  ASSERT_TRUE(test::wait_until(
      [&] { return (*service_->get(EntityKind::User, "500"))["name"] == "Eve Renamed"; }));

  upload("100", "Someone Else", "999");  // Ana is managed over REST: untouched
  auto ana = *service_->get(EntityKind::User, "100");
  EXPECT_EQ(ana["name"], "Ana");
  EXPECT_EQ(ana["source"], "rest");

  upload("600", "Mallory", "123456");  // Ana's card: the user comes, the card does not
  ASSERT_TRUE(test::wait_until([&] { return service_->get(EntityKind::User, "600").has_value(); }));
  EXPECT_TRUE((*service_->get(EntityKind::User, "600"))["cards"].empty());
}

}  // namespace
}  // namespace pushgate::access
