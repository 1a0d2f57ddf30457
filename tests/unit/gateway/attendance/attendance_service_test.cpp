// Included first: proves the header is self-contained.
#include "gateway/attendance/attendance_service.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <future>
#include <memory>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "gateway/attendance/attendance_api.hpp"
#include "gateway/config/config.hpp"
#include "gateway/config/core_config.hpp"
#include "gateway/http/server.hpp"
#include "gateway/store/event_queries.hpp"
#include "gateway/store/store.hpp"
#include "rules/attendance/local_time.hpp"
#include "tests/unit/gateway/support/gateway_test_support.hpp"

namespace pushgate::attendance {
namespace {

namespace bhttp = boost::beast::http;
using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::StartsWith;

/**
 * §2.15 Table 2-13 in the JSON form: period 1 9:00-12:00, period 2
 * 14:00-17:30, overtime 18:45-20:00, 5 minutes late-in and early-out
 * allowed; user "1" works shift 1 every day.
 */
json manual_rules(int allowance = 5) {
  json rules = json::parse(R"({
    "periods": [{"id": "am", "start": "09:00", "end": "12:00"},
                {"id": "pm", "start": "14:00", "end": "17:30"}],
    "shifts": [{"id": 1, "name": "Standard", "periods": ["am", "pm"],
                "overtime": {"start": "18:45", "end": "20:00"}}],
    "cycles": [{"id": "daily", "start_date": "2022-01-01", "mode": "day", "length": 1,
                "days": [1]}],
    "users": [{"pin": "1", "name": "Jakc", "schedule_mode": "personal"},
              {"pin": "2", "name": "Bo", "schedule_mode": "personal"}],
    "schedules": [{"user": "1", "cycle": "daily"}, {"user": "2", "cycle": "daily"}]
  })");
  rules["late_allowance_min"] = allowance;
  rules["early_allowance_min"] = allowance;
  return rules;
}

/** UTC milliseconds of a wall time (the tests run the site in UTC). */
std::int64_t ms_at(std::string_view local) {
  auto t = rules::attendance::parse_local_time(local);
  EXPECT_TRUE(t.has_value()) << local;
  return std::chrono::duration_cast<std::chrono::milliseconds>(t->time_since_epoch()).count();
}

/** What a terminal's ATTLOG line becomes (as adapters/zkpush normalises it). */
Event punch_event(const std::string& sn, const std::string& pin, const std::string& time,
                  int status = 255) {
  Event e = test::make_event(sn, "ATTLOG\t" + pin + "\t" + time);
  e.local_time = time;
  e.pin = pin;
  e.status = status;
  e.raw = pin + "\t" + time + "\t" + std::to_string(status) + "\t1\t\t0\t0";
  return e;
}

struct Punch {
  std::string sn;
  std::string pin;
  std::string time;
};

/** User 1 on the 1st: both periods complete, 8 minutes late in the morning. */
std::vector<Punch> late_day() {
  return {{"T1", "1", "2022-12-01 09:08:00"},
          {"T1", "1", "2022-12-01 12:00:00"},
          {"T1", "1", "2022-12-01 14:00:00"},
          {"T1", "1", "2022-12-01 17:30:00"}};
}

struct TimecardRow {
  std::string pin;
  std::string day;
  std::string status;
  bool final = false;
  std::int64_t revision = 0;
  json card;
};

/**
 * A real store in a temporary directory and the service over it, as the
 * gateway wires them; the clock is a FakeClock the test moves, the site
 * zone UTC.
 */
class AttendanceServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    clock_.set_ms(ms_at("2022-12-03T12:00:00"));
    write_rules_file(manual_rules().dump());
  }

  void TearDown() override { close(); }

  void write_rules_file(const std::string& text) {
    std::ofstream(rules_path_, std::ios::trunc) << text;
  }

  ServiceOptions options() const {
    ServiceOptions o;
    o.rules_file = rules_path_;
    o.gateway_id = "gw1";
    o.timezone = "UTC";
    o.tick_interval = std::chrono::hours(1);  // ticks come from the test
    o.page_size = 3;                          // several pages on every rebuild
    o.max_batch_timecards = 2;
    return o;
  }

  void open(ServiceOptions o) {
    store::Store::Options so;
    so.path = dir_.file("pushgate.db");
    std::string error;
    store_ = store::Store::open(so, clock_, metrics_, error);
    ASSERT_NE(store_, nullptr) << error;
    service_ = std::make_unique<AttendanceService>(*store_, clock_, metrics_, std::move(o));
    store_->start();
    service_->start();
    ASSERT_TRUE(service_->wait_idle_for_test(test::kDeadline));
  }
  void open() { open(options()); }

  void close() {
    service_.reset();
    store_.reset();
  }

  CommitResult commit(WriteBatch batch) {
    auto p = std::make_shared<std::promise<CommitResult>>();
    auto f = p->get_future();
    store_->append(std::move(batch), [p](CommitResult r) { p->set_value(std::move(r)); });
    EXPECT_EQ(f.wait_for(test::kDeadline), std::future_status::ready);
    return f.get();
  }

  /** Commits the punches as one upload and waits until their timecards are written. */
  void upload(const std::vector<Punch>& punches) {
    WriteBatch b;
    for (const auto& p : punches) {
      b.events.push_back(punch_event(p.sn, p.pin, p.time));
    }
    auto before = service_->punches_received();
    auto r = commit(std::move(b));
    ASSERT_FALSE(r.ec) << r.ec.message();
    ASSERT_TRUE(
        test::wait_until([&] { return service_->punches_received() >= before + r.inserted; }));
    ASSERT_TRUE(service_->wait_idle_for_test(test::kDeadline));
  }

  void tick() {
    service_->tick();
    ASSERT_TRUE(service_->wait_idle_for_test(test::kDeadline));
  }

  std::vector<TimecardRow> timecards() {
    return store_->read([](store::Connection& db) {
      std::vector<TimecardRow> out;
      boost::system::error_code ec;
      auto st = db.prepare(
          "SELECT pin, day, status, final, revision, json FROM timecards ORDER BY pin, day", ec);
      EXPECT_FALSE(ec) << db.last_error_message();
      while (st.step(ec)) {
        out.push_back({st.column_text(0), st.column_text(1), st.column_text(2),
                       st.column_int(3) != 0, st.column_int(4), json::parse(st.column_text(5))});
      }
      return out;
    });
  }

  std::optional<TimecardRow> timecard(const std::string& pin, const std::string& day) {
    for (auto& row : timecards()) {
      if (row.pin == pin && row.day == day) {
        return row;
      }
    }
    return std::nullopt;
  }

  std::vector<Event> events(EventKind kind) {
    return store_->read([kind](store::Connection& db) {
      store::EventQuery q;
      q.limit = 10000;
      q.kind = kind;
      boost::system::error_code ec;
      auto out = store::read_events(db, q, ec);
      EXPECT_FALSE(ec) << ec.message();
      return out;
    });
  }

  AttendanceService::RulesUpdate replace_rules(const std::string& document) {
    auto p = std::make_shared<std::promise<AttendanceService::RulesUpdate>>();
    auto f = p->get_future();
    service_->replace_rules(document, [p](AttendanceService::RulesUpdate u) { p->set_value(u); });
    EXPECT_EQ(f.wait_for(test::kDeadline), std::future_status::ready);
    auto u = f.get();
    EXPECT_TRUE(service_->wait_idle_for_test(test::kDeadline));
    return u;
  }

  AttendanceService::RulesInfo rules_info() {
    auto p = std::make_shared<std::promise<AttendanceService::RulesInfo>>();
    auto f = p->get_future();
    service_->rules_info([p](AttendanceService::RulesInfo i) { p->set_value(i); });
    EXPECT_EQ(f.wait_for(test::kDeadline), std::future_status::ready);
    return f.get();
  }

  test::TempDir dir_;
  std::string rules_path_ = dir_.file("rules.json");
  test::FakeClock clock_;
  metrics::Registry metrics_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<AttendanceService> service_;
};

// ---------------------------------------------------------------------------
// Events to punches, config to options.
// ---------------------------------------------------------------------------

TEST(PunchFromEventTest, KeepsTheTerminalStateUnlessTold) {
  Event e = punch_event("T1", "7", "2022-12-01 09:05:00", 1);
  e.id = 42;
  auto p = punch_from_event(e);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->pin, "7");
  EXPECT_EQ(p->local, *rules::attendance::parse_local_time("2022-12-01T09:05:00"));
  EXPECT_EQ(p->state, 1);
  EXPECT_EQ(p->terminal_sn, "T1");
  EXPECT_EQ(p->event_id, 42);
  EXPECT_EQ(punch_from_event(e, false)->state, std::nullopt);
  e.status = kUnset;
  EXPECT_EQ(punch_from_event(e)->state, std::nullopt);
}

TEST(PunchFromEventTest, SkipsOtherKindsMissingPinsAndGarbledClocks) {
  Event timecard = punch_event("gw", "7", "2022-12-01 09:05:00");
  timecard.kind = EventKind::Timecard;
  EXPECT_FALSE(punch_from_event(timecard));
  EXPECT_FALSE(punch_from_event(punch_event("T1", "", "2022-12-01 09:05:00")));
  EXPECT_FALSE(punch_from_event(punch_event("T1", "7", "1971--10--29 -23:-27:-54")));
}

TEST(ServiceOptionsTest, ComeFromTheAttendanceAndGatewayKeys) {
  config::Schema schema;
  config::declare_core_config(schema);
  auto loaded = config::Config::load_string(
      schema, "",
      {"attendance.rules_file=/etc/pushgate/attendance.json", "attendance.terminal_states=false",
       "attendance.retain_days=31", "attendance.tick_s=5", "gateway.id=site-7",
       "gateway.timezone=Europe/Berlin"});
  ASSERT_TRUE(loaded.ok()) << config::format_errors(loaded.errors);
  EXPECT_TRUE(loaded.config->get_bool("attendance.enabled"));
  auto o = options_from_config(*loaded.config);
  EXPECT_EQ(o.rules_file, "/etc/pushgate/attendance.json");
  EXPECT_FALSE(o.terminal_states);
  EXPECT_EQ(o.retain_days, 31);
  EXPECT_EQ(o.tick_interval, std::chrono::seconds(5));
  EXPECT_EQ(o.gateway_id, "site-7");
  EXPECT_EQ(o.timezone, "Europe/Berlin");
}

// ---------------------------------------------------------------------------
// From punches to timecards and events.
// ---------------------------------------------------------------------------

TEST_F(AttendanceServiceTest, CommittedPunchesBecomeAStoredTimecardAndATimecardEvent) {
  open();
  // §2.15: 9:05, 11:54 and 17:00 are early by 1 minute and half a day absent.
  upload({{"T1", "1", "2022-12-01 09:05:00"},
          {"T1", "1", "2022-12-01 11:54:00"},
          {"T1", "1", "2022-12-01 17:00:00"}});

  auto row = timecard("1", "2022-12-01");
  ASSERT_TRUE(row);
  EXPECT_EQ(row->status, "early/absent");
  EXPECT_TRUE(row->final);
  EXPECT_EQ(row->revision, 1);
  EXPECT_EQ(row->card["periods"][0]["early_min"], 1);
  EXPECT_DOUBLE_EQ(row->card["totals"]["absence_days"].get<double>(), 0.5);

  auto published = events(EventKind::Timecard);
  ASSERT_EQ(published.size(), 1U);
  const Event& e = published[0];
  EXPECT_EQ(e.terminal_sn, "gw1");
  EXPECT_EQ(e.pin, "1");
  EXPECT_THAT(e.record_key, StartsWith("TIMECARD\t1\t2022-12-01\t1\t"));
  EXPECT_EQ(json::parse(e.extra_json), row->card);
  EXPECT_EQ(e.local_time, "2022-12-03 12:00:00");
  EXPECT_EQ(metrics_.value("pushgate_attendance_timecards_published_total"), 1);
}

TEST_F(AttendanceServiceTest, TimecardEventsDoNotFeedBackIntoTheEngine) {
  open();
  upload({{"T1", "1", "2022-12-01 09:00:00"}, {"T1", "1", "2022-12-01 12:00:00"}});
  ASSERT_EQ(events(EventKind::Timecard).size(), 1U);
  // Only the two punches reached the engine, not the Timecard event (pin "1").
  EXPECT_EQ(service_->punches_received(), 2U);
  EXPECT_FALSE(punch_from_event(events(EventKind::Timecard).front()).has_value());
  tick();
  EXPECT_EQ(service_->punches_received(), 2U);
  EXPECT_EQ(events(EventKind::Timecard).size(), 1U);
}

TEST_F(AttendanceServiceTest, LatePunchFromABacklogUpdatesTheEarlierDay) {
  open();
  upload({{"T1", "1", "2022-12-01 09:00:00"}, {"T1", "1", "2022-12-01 12:00:00"}});
  upload({{"T1", "1", "2022-12-02 09:00:00"}, {"T1", "1", "2022-12-02 17:30:00"}});
  ASSERT_EQ(timecard("1", "2022-12-01")->status, "normal/absent");

  // T2 was offline; its backlog for the 1st arrives a day later.
  upload({{"T2", "1", "2022-12-01 14:00:00"}, {"T2", "1", "2022-12-01 17:30:00"}});

  auto row = timecard("1", "2022-12-01");
  ASSERT_TRUE(row);
  EXPECT_EQ(row->status, "normal/normal");
  EXPECT_EQ(row->revision, 2);
  EXPECT_EQ(row->card["punches"].size(), 4U);
  EXPECT_EQ(timecard("1", "2022-12-02")->revision, 1);  // untouched

  std::vector<std::string> keys;
  for (const auto& e : events(EventKind::Timecard)) {
    keys.push_back(e.record_key.substr(0, e.record_key.rfind('\t')));
  }
  EXPECT_THAT(keys,
              ::testing::ElementsAre("TIMECARD\t1\t2022-12-01\t1", "TIMECARD\t1\t2022-12-02\t1",
                                     "TIMECARD\t1\t2022-12-01\t2"));
}

TEST_F(AttendanceServiceTest, ReuploadChangesNothing) {
  open();
  upload({{"T1", "1", "2022-12-01 09:00:00"}, {"T1", "1", "2022-12-01 12:00:00"}});
  WriteBatch again;
  again.events.push_back(punch_event("T1", "1", "2022-12-01 09:00:00"));
  auto r = commit(std::move(again));
  EXPECT_EQ(r.duplicates, 1U);
  ASSERT_TRUE(service_->wait_idle_for_test(test::kDeadline));
  EXPECT_EQ(events(EventKind::Timecard).size(), 1U);
  EXPECT_EQ(timecard("1", "2022-12-01")->revision, 1);
}

/** The stored timecards of one run, without the store-assigned event ids. */
std::vector<std::pair<std::string, json>> comparable(const std::vector<TimecardRow>& rows) {
  std::vector<std::pair<std::string, json>> out;
  for (auto row : rows) {
    for (auto& p : row.card["punches"]) {
      p.erase("event_id");
    }
    out.emplace_back(row.pin + " " + row.day, row.card);
  }
  return out;
}

TEST_F(AttendanceServiceTest, SameTimecardsWhateverTheArrivalOrder) {
  const std::vector<Punch> all = {
      {"T1", "1", "2022-12-01 08:58:00"}, {"T1", "1", "2022-12-01 12:01:00"},
      {"T2", "1", "2022-12-01 13:55:00"}, {"T2", "1", "2022-12-01 17:20:00"},
      {"T1", "1", "2022-12-01 18:50:00"}, {"T1", "1", "2022-12-01 19:40:00"},
      {"T1", "2", "2022-12-01 09:07:00"}, {"T2", "2", "2022-12-01 17:31:00"},
      {"T1", "1", "2022-12-02 09:20:00"}, {"T1", "1", "2022-12-02 11:50:00"},
      {"T2", "2", "2022-12-02 09:00:00"}, {"T2", "2", "2022-12-02 09:01:00"},
      {"T1", "1", "2022-12-02 23:59:59"}, {"T1", "2", "2022-12-03 00:00:00"},
  };
  open();
  for (const auto& p : all) {
    upload({p});
  }
  const auto in_order = comparable(timecards());
  ASSERT_EQ(in_order.size(), 5U);  // (1|2) x (1st|2nd), and user 2 on the 3rd
  close();

  std::mt19937 rng(20221201);  // fixed seed: the same permutations on every run
  for (int round = 0; round < 3; ++round) {
    test::TempDir other;
    store::Store::Options so;
    so.path = other.file("pushgate.db");
    std::string error;
    metrics::Registry metrics;
    store_ = store::Store::open(so, clock_, metrics, error);
    ASSERT_NE(store_, nullptr) << error;
    service_ = std::make_unique<AttendanceService>(*store_, clock_, metrics, options());
    store_->start();
    service_->start();
    auto shuffled = all;
    std::shuffle(shuffled.begin(), shuffled.end(), rng);
    // Uneven uploads, as terminals send them.
    for (std::size_t i = 0; i < shuffled.size();) {
      std::size_t n = std::min<std::size_t>(1 + (i % 3), shuffled.size() - i);
      upload(std::vector<Punch>(shuffled.begin() + static_cast<std::ptrdiff_t>(i),
                                shuffled.begin() + static_cast<std::ptrdiff_t>(i + n)));
      i += n;
    }
    EXPECT_EQ(comparable(timecards()), in_order) << "round " << round;
    close();
  }
}

// ---------------------------------------------------------------------------
// Restart and the periodic tick.
// ---------------------------------------------------------------------------

TEST_F(AttendanceServiceTest, RestartRebuildsFromStoredPunchesAndRepublishesNothing) {
  open();
  upload({{"T1", "1", "2022-12-01 09:00:00"}, {"T1", "1", "2022-12-01 12:00:00"}});
  upload({{"T1", "2", "2022-12-02 09:00:00"}});
  const auto before = timecards();
  const auto published = events(EventKind::Timecard).size();
  close();

  open();
  EXPECT_EQ(events(EventKind::Timecard).size(), published);
  EXPECT_EQ(comparable(timecards()), comparable(before));

  // The engine knows the punches from before the restart: a late pair for
  // the afternoon completes the day rather than replacing it.
  upload({{"T2", "1", "2022-12-01 14:00:00"}, {"T2", "1", "2022-12-01 17:30:00"}});
  auto row = timecard("1", "2022-12-01");
  ASSERT_TRUE(row);
  EXPECT_EQ(row->status, "normal/normal");
  EXPECT_EQ(row->card["punches"].size(), 4U);
  EXPECT_EQ(row->revision, 2);
}

TEST_F(AttendanceServiceTest, RestartWithChangedRulesFileRecomputesStoredDays) {
  open();
  upload({{"T1", "1", "2022-12-01 09:08:00"}, {"T1", "1", "2022-12-01 12:00:00"}});
  ASSERT_EQ(timecard("1", "2022-12-01")->card["periods"][0]["late_min"], 3);
  close();

  write_rules_file(manual_rules(10).dump());
  open();
  auto row = timecard("1", "2022-12-01");
  ASSERT_TRUE(row);
  EXPECT_EQ(row->card["periods"][0]["late_min"], 0);
  EXPECT_EQ(row->revision, 2);
}

TEST_F(AttendanceServiceTest, TickFinalisesAClosedDayAsAbsence) {
  clock_.set_ms(ms_at("2022-12-05T10:00:00"));
  open();
  upload({{"T1", "2", "2022-12-05 09:00:00"}});
  auto pending = timecard("2", "2022-12-05");
  ASSERT_TRUE(pending);
  EXPECT_FALSE(pending->final);
  EXPECT_FALSE(timecard("1", "2022-12-05"));  // no punch, nothing to say yet

  clock_.set_ms(ms_at("2022-12-06T00:00:01"));
  tick();
  auto absent = timecard("1", "2022-12-05");
  ASSERT_TRUE(absent);
  EXPECT_TRUE(absent->final);
  EXPECT_EQ(absent->status, "absent/absent");
  EXPECT_DOUBLE_EQ(absent->card["totals"]["absence_days"].get<double>(), 1.0);
  auto closed = timecard("2", "2022-12-05");
  EXPECT_TRUE(closed->final);
  EXPECT_EQ(closed->revision, 2);
  EXPECT_FALSE(timecard("1", "2022-12-06"));

  // A second tick has nothing new to say.
  const auto published = events(EventKind::Timecard).size();
  tick();
  EXPECT_EQ(events(EventKind::Timecard).size(), published);
}

TEST_F(AttendanceServiceTest, TickAfterDowntimeFinalisesTheDaysMissed) {
  clock_.set_ms(ms_at("2022-12-05T10:00:00"));
  open();
  tick();  // records how far days are final
  close();

  clock_.set_ms(ms_at("2022-12-08T06:00:00"));
  open();
  tick();
  for (const char* day : {"2022-12-05", "2022-12-06", "2022-12-07"}) {
    auto row = timecard("1", day);
    ASSERT_TRUE(row) << day;
    EXPECT_EQ(row->status, "absent/absent") << day;
  }
  EXPECT_FALSE(timecard("1", "2022-12-04"));
}

TEST_F(AttendanceServiceTest, PunchesBeforeTheRetainedWindowAreNotRecomputed) {
  auto o = options();
  o.retain_days = 10;
  open(o);
  upload({{"T1", "1", "2022-11-01 09:00:00"}, {"T1", "1", "2022-12-01 09:00:00"}});
  EXPECT_FALSE(timecard("1", "2022-11-01"));
  EXPECT_TRUE(timecard("1", "2022-12-01"));
  EXPECT_EQ(metrics_.value("pushgate_attendance_punches_too_old_total"), 1);
}

// ---------------------------------------------------------------------------
// Rules.
// ---------------------------------------------------------------------------

TEST_F(AttendanceServiceTest, BadRulesFileStopsTheStartNamingTheField) {
  auto rules = manual_rules();
  rules["shifts"][0]["overtime"]["start"] = "9:00";
  write_rules_file(rules.dump());
  store::Store::Options so;
  so.path = dir_.file("pushgate.db");
  std::string error;
  store_ = store::Store::open(so, clock_, metrics_, error);
  ASSERT_NE(store_, nullptr) << error;
  try {
    AttendanceService service(*store_, clock_, metrics_, options());
    FAIL() << "a bad rules file must stop the start";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("attendance.rules_file"));
    EXPECT_THAT(e.what(), HasSubstr("shifts[0].overtime.start"));
  }
}

TEST_F(AttendanceServiceTest, MissingRulesFileStopsTheStart) {
  auto o = options();
  o.rules_file = dir_.file("nowhere.json");
  store::Store::Options so;
  so.path = dir_.file("pushgate.db");
  std::string error;
  store_ = store::Store::open(so, clock_, metrics_, error);
  ASSERT_NE(store_, nullptr) << error;
  EXPECT_THROW(AttendanceService(*store_, clock_, metrics_, o), std::runtime_error);
}

TEST_F(AttendanceServiceTest, WithoutRulesNothingIsComputedUntilRulesArrive) {
  auto o = options();
  o.rules_file.clear();
  open(o);
  WriteBatch b;
  b.events.push_back(punch_event("T1", "1", "2022-12-01 09:05:00"));
  b.events.push_back(punch_event("T1", "1", "2022-12-01 11:54:00"));
  ASSERT_FALSE(commit(std::move(b)).ec);
  ASSERT_TRUE(service_->wait_idle_for_test(test::kDeadline));
  EXPECT_TRUE(timecards().empty());
  EXPECT_EQ(rules_info().source, RulesSource::None);

  // Rules set over REST read the punches stored meanwhile.
  auto u = replace_rules(manual_rules().dump());
  EXPECT_TRUE(u.errors.empty());
  EXPECT_EQ(u.changed, 1U);
  auto row = timecard("1", "2022-12-01");
  ASSERT_TRUE(row);
  EXPECT_EQ(row->status, "early/absent");
}

TEST_F(AttendanceServiceTest, InvalidRulesChangeNothing) {
  open();
  upload({{"T1", "1", "2022-12-01 09:00:00"}});
  auto rules = manual_rules();
  rules["periods"][0]["strat"] = "09:00";
  auto u = replace_rules(rules.dump());
  ASSERT_FALSE(u.errors.empty());
  EXPECT_EQ(u.errors[0].field, "periods[0].strat");
  EXPECT_EQ(u.info.source, RulesSource::File);
  EXPECT_EQ(timecard("1", "2022-12-01")->revision, 1);
}

TEST_F(AttendanceServiceTest, RestRulesRecomputeWinOverTheFileAndSurviveRestart) {
  open();
  upload(late_day());
  ASSERT_EQ(timecard("1", "2022-12-01")->card["totals"]["late_min"], 3);

  auto u = replace_rules(manual_rules(10).dump());
  ASSERT_TRUE(u.errors.empty());
  ASSERT_FALSE(u.ec);
  EXPECT_EQ(u.info.source, RulesSource::Rest);
  EXPECT_EQ(u.changed, 1U);
  EXPECT_EQ(timecard("1", "2022-12-01")->card["totals"]["late_min"], 0);
  close();

  open();  // the file still says 5 minutes; the stored REST version wins
  auto info = rules_info();
  EXPECT_EQ(info.source, RulesSource::Rest);
  EXPECT_EQ(info.rules->late_allowance_min, 10);
  EXPECT_EQ(timecard("1", "2022-12-01")->card["totals"]["late_min"], 0);
  EXPECT_EQ(timecard("1", "2022-12-01")->revision, 2);

  // DELETE goes back to the file.
  auto p = std::make_shared<std::promise<AttendanceService::RulesUpdate>>();
  auto f = p->get_future();
  service_->clear_rules([p](AttendanceService::RulesUpdate cleared) { p->set_value(cleared); });
  ASSERT_EQ(f.wait_for(test::kDeadline), std::future_status::ready);
  EXPECT_EQ(f.get().info.source, RulesSource::File);
  ASSERT_TRUE(service_->wait_idle_for_test(test::kDeadline));
  EXPECT_EQ(timecard("1", "2022-12-01")->card["totals"]["late_min"], 3);
}

TEST_F(AttendanceServiceTest, ChangeBackToEarlierContentIsPublishedAgain) {
  open();
  upload(late_day());
  replace_rules(manual_rules(10).dump());
  replace_rules(manual_rules(5).dump());
  auto published = events(EventKind::Timecard);
  ASSERT_EQ(published.size(), 3U);
  // Revisions 1 and 3 carry the same content and are still two records.
  EXPECT_EQ(published[0].extra_json, published[2].extra_json);
  EXPECT_NE(published[0].record_key, published[2].record_key);
  EXPECT_EQ(timecard("1", "2022-12-01")->revision, 3);
}

TEST_F(AttendanceServiceTest, FailedWriteIsRetriedOnTheNextTick) {
  open();
  std::atomic<bool> fail{true};
  store_->set_fault_injector_for_test([&fail](std::string_view step) {
    return fail && step == "op"
               ? boost::system::errc::make_error_code(boost::system::errc::io_error)
               : boost::system::error_code{};
  });
  // The punches themselves commit (no ops); their timecard batch fails.
  upload({{"T1", "1", "2022-12-01 09:00:00"}, {"T1", "1", "2022-12-01 12:00:00"}});
  EXPECT_TRUE(timecards().empty());
  EXPECT_GE(metrics_.value("pushgate_attendance_write_failures_total"), 1);

  fail = false;
  tick();
  auto row = timecard("1", "2022-12-01");
  ASSERT_TRUE(row);
  EXPECT_EQ(row->revision, 1);
  EXPECT_EQ(events(EventKind::Timecard).size(), 1U);
}

// ---------------------------------------------------------------------------
// REST, over a real loopback server.
// ---------------------------------------------------------------------------

class AttendanceApiTest : public AttendanceServiceTest {
 protected:
  void serve() {
    api_ = std::make_unique<AttendanceApi>(router_, *service_);
    http::ServerOptions ho;
    ho.name = "api";
    ho.address = "127.0.0.1";
    ho.port = 0;
    server_ = std::make_unique<http::Server>(
        io_.ioc(), ho,
        [this](http::Request&& req, const http::RequestInfo& info, http::Reply reply) {
          router_.handle(std::move(req), info, std::move(reply));
        },
        metrics_);
    ASSERT_FALSE(server_->start());
  }

  void TearDown() override {
    if (server_) {
      server_->stop();
    }
    io_.stop();
    server_.reset();
    close();
  }

  test::HttpTestClient::Response call(bhttp::verb method, const std::string& target,
                                      std::string body = {}) {
    test::HttpTestClient client;
    test::HttpTestClient::Response res;
    auto ec = client.connect(server_->port());
    EXPECT_FALSE(ec) << ec.message();
    if (!ec) {
      ec = client.request(method, target, res, std::move(body),
                          method == bhttp::verb::put ? "application/json" : "");
      EXPECT_FALSE(ec) << target << ": " << ec.message();
    }
    return res;
  }

  json get_json(const std::string& target, bhttp::status status = bhttp::status::ok) {
    auto res = call(bhttp::verb::get, target);
    EXPECT_EQ(res.result(), status) << target << ": " << res.body();
    EXPECT_EQ(res[bhttp::field::content_type], "application/json") << target;
    return json::parse(res.body(), nullptr, false);
  }

  test::IoThread io_;
  api::Router router_;
  std::unique_ptr<AttendanceApi> api_;
  std::unique_ptr<http::Server> server_;
};

TEST_F(AttendanceApiTest, GetRulesShowsTheFileRules) {
  open();
  serve();
  auto j = get_json("/api/v1/attendance/rules");
  EXPECT_EQ(j["source"], "file");
  EXPECT_EQ(j["file"], rules_path_);
  EXPECT_EQ(j["updated"], nullptr);
  EXPECT_EQ(j["rules"]["late_allowance_min"], 5);
  EXPECT_EQ(j["rules"]["shifts"][0]["periods"], json::array({"am", "pm"}));
}

TEST_F(AttendanceApiTest, PutInvalidRulesIs400NamingEveryField) {
  open();
  serve();
  auto rules = manual_rules();
  rules["shifts"][0]["overtime"]["start"] = "9:00";
  rules["periods"][1]["strat"] = "14:00";
  auto res = call(bhttp::verb::put, "/api/v1/attendance/rules", rules.dump());
  EXPECT_EQ(res.result(), bhttp::status::bad_request) << res.body();
  auto j = json::parse(res.body());
  EXPECT_EQ(j["error"], "invalid rules");
  std::vector<std::string> fields;
  for (const auto& e : j["errors"]) {
    fields.push_back(e["field"]);
    EXPECT_FALSE(e["message"].get<std::string>().empty());
  }
  EXPECT_THAT(fields, ::testing::Contains("shifts[0].overtime.start"));
  EXPECT_THAT(fields, ::testing::Contains("periods[1].strat"));
  EXPECT_EQ(get_json("/api/v1/attendance/rules")["source"], "file");

  auto syntax = call(bhttp::verb::put, "/api/v1/attendance/rules", "{not json");
  EXPECT_EQ(syntax.result(), bhttp::status::bad_request) << syntax.body();
}

TEST_F(AttendanceApiTest, PutValidRulesIsStoredAndApplied) {
  open();
  serve();
  upload(late_day());
  auto res = call(bhttp::verb::put, "/api/v1/attendance/rules", manual_rules(10).dump());
  ASSERT_EQ(res.result(), bhttp::status::ok) << res.body();
  auto j = json::parse(res.body());
  EXPECT_EQ(j["source"], "rest");
  EXPECT_EQ(j["changed"], 1);
  EXPECT_EQ(j["updated"], "2022-12-03T12:00:00.000Z");
  EXPECT_EQ(get_json("/api/v1/attendance/timecards/1/2022-12-01")["totals"]["late_min"], 0);

  auto deleted = call(bhttp::verb::delete_, "/api/v1/attendance/rules");
  ASSERT_EQ(deleted.result(), bhttp::status::ok) << deleted.body();
  EXPECT_EQ(json::parse(deleted.body())["source"], "file");
}

TEST_F(AttendanceApiTest, GetTimecardOfOneDay) {
  open();
  serve();
  upload({{"T1", "1", "2022-12-01 09:05:00"},
          {"T1", "1", "2022-12-01 11:54:00"},
          {"T1", "1", "2022-12-01 17:00:00"}});
  auto j = get_json("/api/v1/attendance/timecards/1/2022-12-01");
  EXPECT_EQ(j["status"], "early/absent");
  EXPECT_EQ(j["final"], true);
  // A configured user without punches: an absence, computed on the spot.
  EXPECT_EQ(get_json("/api/v1/attendance/timecards/2/2022-12-01")["status"], "absent/absent");
  get_json("/api/v1/attendance/timecards/99/2022-12-01", bhttp::status::not_found);
  get_json("/api/v1/attendance/timecards/1/2022-13-01", bhttp::status::bad_request);
}

TEST_F(AttendanceApiTest, ExportCsvIsTheMonthlyReport) {
  open();
  serve();
  upload({{"T1", "1", "2022-12-01 09:05:00"},
          {"T1", "1", "2022-12-01 11:54:00"},
          {"T1", "1", "2022-12-01 17:00:00"}});
  auto res = call(bhttp::verb::get,
                  "/api/v1/attendance/timecards?from=2022-12-01&to=2022-12-02&format=csv");
  ASSERT_EQ(res.result(), bhttp::status::ok) << res.body();
  EXPECT_EQ(res[bhttp::field::content_type], "text/csv; charset=utf-8");
  EXPECT_EQ(res[bhttp::field::content_disposition],
            "attachment; filename=\"attendance_2022-12-01_2022-12-02.csv\"");
  const std::string& csv = res.body();
  EXPECT_THAT(csv, StartsWith("row,pin,name,department,department_name,"));
  EXPECT_THAT(csv, HasSubstr("\r\nday,1,Jakc,,,2022-12-01,shift,1,early/absent,"));
  EXPECT_THAT(csv, HasSubstr("\r\ntotal,1,Jakc,"));
  EXPECT_THAT(csv, HasSubstr("\r\ntotal,2,Bo,"));

  auto one = call(bhttp::verb::get,
                  "/api/v1/attendance/timecards?from=2022-12-01&to=2022-12-01&pin=2&format=csv");
  ASSERT_EQ(one.result(), bhttp::status::ok) << one.body();
  EXPECT_EQ(one[bhttp::field::content_disposition],
            "attachment; filename=\"attendance_2022-12-01_2022-12-01_2.csv\"");
  EXPECT_THAT(one.body(), ::testing::Not(HasSubstr(",Jakc,")));
}

TEST_F(AttendanceApiTest, ExportJsonHasRowsAndTotals) {
  open();
  serve();
  upload({{"T1", "1", "2022-12-01 09:05:00"},
          {"T1", "1", "2022-12-01 11:54:00"},
          {"T1", "1", "2022-12-01 17:00:00"}});
  auto j = get_json("/api/v1/attendance/timecards?from=2022-12-01&to=2022-12-02&pin=1");
  EXPECT_EQ(j["from"], "2022-12-01");
  EXPECT_EQ(j["to"], "2022-12-02");
  ASSERT_EQ(j["rows"].size(), 2U);
  EXPECT_EQ(j["rows"][0]["status"], "early/absent");
  ASSERT_EQ(j["totals"].size(), 1U);
  EXPECT_EQ(j["totals"][0]["pin"], "1");
}

TEST_F(AttendanceApiTest, ExportOutsideTheRetainedWindowReadsTheEventLog) {
  auto o = options();
  o.retain_days = 10;
  open(o);
  serve();
  upload({{"T1", "1", "2022-11-01 09:00:00"},
          {"T1", "1", "2022-11-01 12:00:00"},
          {"T1", "1", "2022-11-01 14:00:00"},
          {"T1", "1", "2022-11-01 17:30:00"}});
  auto j = get_json("/api/v1/attendance/timecards?from=2022-11-01&to=2022-11-01&pin=1");
  ASSERT_EQ(j["rows"].size(), 1U);
  EXPECT_EQ(j["rows"][0]["check_in"][0], "2022-11-01T09:00:00");
  EXPECT_EQ(get_json("/api/v1/attendance/timecards/1/2022-11-01")["status"], "normal/normal");
}

TEST_F(AttendanceApiTest, ExportRejectsBadParameters) {
  open();
  serve();
  get_json("/api/v1/attendance/timecards?from=2022-12-01", bhttp::status::bad_request);
  get_json("/api/v1/attendance/timecards?from=2022-12-02&to=2022-12-01",
           bhttp::status::bad_request);
  get_json("/api/v1/attendance/timecards?from=2022-01-01&to=2023-12-31",
           bhttp::status::bad_request);
  get_json("/api/v1/attendance/timecards?from=2022-12-01&to=2022-12-01&format=xls",
           bhttp::status::bad_request);
}

TEST_F(AttendanceApiTest, WithoutRulesTimecardsAre409) {
  auto o = options();
  o.rules_file.clear();
  open(o);
  serve();
  EXPECT_EQ(get_json("/api/v1/attendance/rules")["source"], "none");
  auto j = get_json("/api/v1/attendance/timecards?from=2022-12-01&to=2022-12-01",
                    bhttp::status::conflict);
  EXPECT_EQ(j["error"], "no attendance rules");
  get_json("/api/v1/attendance/timecards/1/2022-12-01", bhttp::status::conflict);
}

}  // namespace
}  // namespace pushgate::attendance
