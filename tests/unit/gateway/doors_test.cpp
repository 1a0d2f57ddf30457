// DoorService on a real SQLite store: a report's row commits with the batch
// that carries it, reports merge in order, refused and unknown doors, and
// what a restart loads.
#include "gateway/doors.hpp"

#include <gtest/gtest.h>

#include <future>
#include <memory>
#include <string>
#include <vector>

#include "gateway/config/config.hpp"
#include "gateway/config/core_config.hpp"
#include "gateway/store/door_queries.hpp"
#include "gateway/store/store.hpp"
#include "gateway/terminals.hpp"
#include "tests/unit/gateway/support/gateway_test_support.hpp"

namespace pushgate {
namespace {

using test::FakeClock;
using test::TempDir;

const config::Schema& schema() {
  static const config::Schema s = [] {
    config::Schema built;
    config::declare_core_config(built);
    return built;
  }();
  return s;
}

DoorState state(std::optional<DoorSensor> sensor, std::optional<DoorRelay> relay,
                std::optional<std::uint8_t> alarms) {
  DoorState s;
  s.sensor = sensor;
  s.relay = relay;
  s.alarms = alarms;
  return s;
}

class DoorServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r = config::Config::load_string(schema(), "");
    ASSERT_TRUE(r.ok()) << config::format_errors(r.errors);
    config_ = std::make_unique<config::Config>(*r.config);
    terminals_ = std::make_unique<TerminalRegistry>(*config_);
    open();
  }

  void open() {
    doors_.reset();
    if (store_) {
      store_->stop();
    }
    store_.reset();
    metrics_ = std::make_unique<metrics::Registry>();
    store::Store::Options so;
    so.path = dir_.file("pushgate.db");
    std::string error;
    store_ = store::Store::open(so, clock_, *metrics_, error);
    ASSERT_NE(store_, nullptr) << error;
    store_->start();
    doors_ = std::make_unique<DoorService>(*terminals_, clock_, *metrics_);
    ASSERT_EQ(doors_->load(*store_), "");
  }

  void TearDown() override {
    if (store_) {
      store_->stop();
    }
  }

  CommitResult commit(WriteBatch batch) {
    auto p = std::make_shared<std::promise<CommitResult>>();
    auto f = p->get_future();
    store_->append(std::move(batch), [p](CommitResult r) { p->set_value(std::move(r)); });
    EXPECT_EQ(f.wait_for(test::kDeadline), std::future_status::ready);
    return f.get();
  }

  std::vector<DoorRecord> stored() {
    boost::system::error_code ec;
    auto rows =
        store_->read([&ec](store::Connection& db) { return store::read_door_states(db, ec); });
    EXPECT_FALSE(ec) << ec.message();
    return rows;
  }

  double refused() { return metrics_->value("pushgate_door_reports_refused_total", {}); }

  TempDir dir_;
  FakeClock clock_;
  std::unique_ptr<config::Config> config_;
  std::unique_ptr<TerminalRegistry> terminals_;
  std::unique_ptr<metrics::Registry> metrics_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<DoorService> doors_;
};

TEST_F(DoorServiceTest, AReportCommitsWithItsBatchAndIsReadBack) {
  WriteBatch batch;
  auto r =
      doors_->report("T1", 2, state(DoorSensor::Open, DoorRelay::Disconnected, 0x12), 1000, batch);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->changed) << "the first report of a door is a change";
  EXPECT_EQ(r->state, state(DoorSensor::Open, DoorRelay::Disconnected, 0x12));
  ASSERT_EQ(batch.ops.size(), 1U) << "the door's row travels in the caller's batch";
  EXPECT_TRUE(stored().empty()) << "nothing is written before the batch commits";

  ASSERT_FALSE(commit(std::move(batch)).ec);
  auto rows = stored();
  ASSERT_EQ(rows.size(), 1U);
  EXPECT_EQ(rows[0].terminal, "T1");
  EXPECT_EQ(rows[0].door, 2);
  EXPECT_EQ(rows[0].state, state(DoorSensor::Open, DoorRelay::Disconnected, 0x12));
  EXPECT_TRUE(rows[0].state.has_alarm(DoorAlarm::Tamper));
  EXPECT_TRUE(rows[0].state.has_alarm(DoorAlarm::SensorTimeout));

  auto got = doors_->get("T1", 2);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->state, rows[0].state);
  EXPECT_EQ(got->updated_ms, 1000);
}

TEST_F(DoorServiceTest, ReportsMergeInOrderAndOnlyChangesCount) {
  WriteBatch batch;
  ASSERT_TRUE(
      doors_->report("T1", 1, state(DoorSensor::Closed, std::nullopt, std::nullopt), 1000, batch));
  // A later report with only the relay keeps the sensor; the same report again is no change.
  auto relay =
      doors_->report("T1", 1, state(std::nullopt, DoorRelay::Connected, std::nullopt), 2000, batch);
  ASSERT_TRUE(relay);
  EXPECT_TRUE(relay->changed);
  EXPECT_EQ(relay->state, state(DoorSensor::Closed, DoorRelay::Connected, std::nullopt));
  auto again = doors_->report(
      "T1", 1, state(DoorSensor::Closed, DoorRelay::Connected, std::nullopt), 3000, batch);
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->changed);
  auto opened =
      doors_->report("T1", 1, state(DoorSensor::Open, std::nullopt, std::nullopt), 4000, batch);
  ASSERT_TRUE(opened);
  EXPECT_TRUE(opened->changed);
  ASSERT_FALSE(commit(std::move(batch)).ec);
  auto rows = stored();
  ASSERT_EQ(rows.size(), 1U);
  EXPECT_EQ(rows[0].state, state(DoorSensor::Open, DoorRelay::Connected, std::nullopt))
      << "the last report in the batch wins";
  EXPECT_EQ(doors_->get("T1", 1)->updated_ms, 4000);

  // all(): by terminal serial, then door number.
  WriteBatch more;
  ASSERT_TRUE(
      doors_->report("T0", 3, state(DoorSensor::None, std::nullopt, std::nullopt), 5000, more));
  ASSERT_TRUE(doors_->report("T1", 4, state(std::nullopt, std::nullopt, 0), 5000, more));
  ASSERT_FALSE(commit(std::move(more)).ec);
  std::vector<std::pair<std::string, int>> order;
  for (const auto& d : doors_->all()) {
    order.emplace_back(d.terminal, d.door);
  }
  EXPECT_EQ(order, (std::vector<std::pair<std::string, int>>{{"T0", 3}, {"T1", 1}, {"T1", 4}}));
}

TEST_F(DoorServiceTest, UnknownDoorsReadEmptyAndBadReportsAreRefusedAndCounted) {
  EXPECT_FALSE(doors_->get("T1", 1));
  EXPECT_TRUE(doors_->all().empty());
  WriteBatch batch;
  EXPECT_FALSE(
      doors_->report("T1", 0, state(DoorSensor::Open, std::nullopt, std::nullopt), 1, batch));
  EXPECT_FALSE(doors_->report("T1", DoorService::kMaxDoor + 1,
                              state(DoorSensor::Open, std::nullopt, std::nullopt), 1, batch));
  EXPECT_FALSE(
      doors_->report("", 1, state(DoorSensor::Open, std::nullopt, std::nullopt), 1, batch));
  EXPECT_TRUE(batch.ops.empty()) << "a refused report adds nothing to the batch";
  EXPECT_EQ(refused(), 3);
  EXPECT_TRUE(doors_->all().empty());
  // The rest of the batch is untouched: a good report next to them still goes in.
  EXPECT_TRUE(doors_->report("T1", DoorService::kMaxDoor,
                             state(DoorSensor::Open, std::nullopt, std::nullopt), 1, batch));
  EXPECT_EQ(batch.ops.size(), 1U);
}

TEST_F(DoorServiceTest, ARestartLoadsTheStoredDoorsAndKeepsChangeDetection) {
  WriteBatch batch;
  ASSERT_TRUE(
      doors_->report("T1", 1, state(DoorSensor::Closed, DoorRelay::Connected, 0), 1000, batch));
  ASSERT_TRUE(
      doors_->report("T2", 2, state(DoorSensor::Open, std::nullopt, std::nullopt), 1000, batch));
  ASSERT_FALSE(commit(std::move(batch)).ec);
  // A report whose batch never commits is not in the table after a restart.
  WriteBatch lost;
  ASSERT_TRUE(
      doors_->report("T3", 1, state(DoorSensor::Open, std::nullopt, std::nullopt), 1000, lost));

  open();
  auto all = doors_->all();
  ASSERT_EQ(all.size(), 2U);
  EXPECT_EQ(all[0].terminal, "T1");
  EXPECT_EQ(all[0].state, state(DoorSensor::Closed, DoorRelay::Connected, 0));
  EXPECT_EQ(all[1].terminal, "T2");
  EXPECT_EQ(all[1].state, state(DoorSensor::Open, std::nullopt, std::nullopt));
  EXPECT_FALSE(doors_->get("T3", 1));
  // The loaded state is what a report is compared with: the same state again is no change.
  WriteBatch same;
  auto r = doors_->report("T1", 1, state(DoorSensor::Closed, DoorRelay::Connected, 0), 2000, same);
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->changed);
}

}  // namespace
}  // namespace pushgate
