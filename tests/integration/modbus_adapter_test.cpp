// The Modbus adapter inside an in-process Gateway, read and written by
// libmodbus's client on loopback: slot assignment (kept across a restart,
// the config wins), mailbox validation, the write policy and its reload.
// End to end with real terminals and pymodbus: modbus_pymodbus_test.py.
#include <gtest/gtest.h>
#include <modbus/modbus.h>

#include <sys/statvfs.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <functional>
#include <future>
#include <thread>

#include <nlohmann/json.hpp>

#include "adapters/modbus/modbus_adapter.hpp"
#include "gateway/config/config.hpp"
#include "gateway/doors.hpp"
#include "tests/support/gateway_harness.hpp"
#include "tests/support/processes.hpp"

namespace pushgate::test {
namespace {

namespace mb = adapters::modbus;

std::vector<std::string> modbus_keys(std::vector<std::string> more) {
  std::vector<std::string> keys = {"modbus.enabled=true", "modbus.listen=127.0.0.1",
                                   "modbus.port=0", "modbus.slot_count=3", "modbus.refresh_ms=100"};
  keys.insert(keys.end(), more.begin(), more.end());
  return keys;
}

mb::ModbusAdapter& adapter(GatewayHarness& h) {
  auto* a = dynamic_cast<mb::ModbusAdapter*>(h.gateway().adapter("modbus"));
  if (a == nullptr) {
    throw std::runtime_error("modbus adapter not running");
  }
  return *a;
}

void seen(GatewayHarness& h, const std::string& sn) {
  bool persist = false;
  auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  h.gateway().terminals().seen(sn, "127.0.0.1", now, persist);
}

bool eventually(const std::function<bool()>& f,
                std::chrono::milliseconds limit = std::chrono::seconds(5)) {
  return wait_for(f, limit);
}

class Client {
 public:
  explicit Client(std::uint16_t port, int unit = 255) : ctx_(modbus_new_tcp("127.0.0.1", port)) {
    modbus_set_slave(ctx_, unit);
    if (modbus_connect(ctx_) != 0) {
      throw std::runtime_error(std::string("modbus connect: ") + modbus_strerror(errno));
    }
  }
  ~Client() {
    modbus_close(ctx_);
    modbus_free(ctx_);
  }
  modbus_t* get() { return ctx_; }
  void unit(int u) { modbus_set_slave(ctx_, u); }
  std::string serial(int slot) {
    std::uint16_t r[10] = {};
    if (modbus_read_input_registers(ctx_, 100 + (slot - 1) * 64 + 2, 10, r) != 10) {
      return "<error>";
    }
    std::string s;
    for (auto w : r) {
      for (char c : {static_cast<char>(w >> 8), static_cast<char>(w & 0xFF)}) {
        if (c != 0) {
          s += c;
        }
      }
    }
    return s;
  }
  // mailbox_seq, status, return code, reason
  std::array<std::uint16_t, 4> mailbox() {
    std::uint16_t r[4] = {};
    modbus_read_input_registers(ctx_, 32, 4, r);
    return {r[0], r[1], r[2], r[3]};
  }

 private:
  modbus_t* ctx_;
};

TEST(ModbusAdapterTest, SlotsAreAssignedOnceKeptAndTheConfigWins) {
  TempDir dir;
  {
    GatewayHarness h(modbus_keys({}), dir.path());
    seen(h, "T1");
    ASSERT_TRUE(eventually([&] { return adapter(h).slot_serial(1) == "T1"; }));
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    seen(h, "T2");
    ASSERT_TRUE(eventually([&] { return adapter(h).slot_serial(2) == "T2"; }));
    Client c(adapter(h).port());
    EXPECT_TRUE(eventually([&] { return c.serial(2) == "T2"; }));
    EXPECT_EQ(adapter(h).slot_serial(3), "");
  }
  {
    // Restarted with T1 configured for slot 3: T1 moves, T2 keeps slot 2,
    // a newcomer takes the lowest free slot (1).
    GatewayHarness h(modbus_keys({"modbus.slots=[\"\", \"\", \"T1\"]"}), dir.path());
    EXPECT_EQ(adapter(h).slot_serial(3), "T1");
    EXPECT_EQ(adapter(h).slot_serial(2), "T2");
    EXPECT_EQ(adapter(h).slot_serial(1), "");
    Client c(adapter(h).port());
    EXPECT_EQ(c.serial(3), "T1");
    std::uint16_t state = 9;
    ASSERT_EQ(modbus_read_input_registers(c.get(), 100 + 64, 1, &state), 1);
    EXPECT_EQ(state, 1) << "a slot whose terminal was not heard from since the start: offline";
    seen(h, "T3");
    ASSERT_TRUE(eventually([&] { return adapter(h).slot_serial(1) == "T3"; }));
    EXPECT_TRUE(eventually([&] { return c.serial(1) == "T3"; }));
    h.stop();
    // Stored as the adapter's own records: key "slot/<slot>", value {sn, origin}.
    EXPECT_EQ(h.query_int("SELECT COUNT(*) FROM adapter_state WHERE adapter = 'modbus'"), 3);
    EXPECT_EQ(h.query_int("SELECT CAST(substr(key, 6) AS INTEGER) FROM adapter_state"
                          " WHERE adapter = 'modbus' AND value ->> 'sn' = 'T1'"
                          " AND value ->> 'origin' = 'config'"),
              3);
    EXPECT_EQ(h.query_int("SELECT CAST(substr(key, 6) AS INTEGER) FROM adapter_state"
                          " WHERE adapter = 'modbus' AND value ->> 'sn' = 'T3'"
                          " AND value ->> 'origin' = 'auto'"),
              1);
  }
}

// The slots the release before stored (table modbus_slots of
// tests/fixtures/db/release-0008.sqlite, moved into the adapters' own
// records by migration 10) keep their places: a BMS's addresses never move
// across an upgrade.
TEST(ModbusAdapterTest, SlotsStoredByTheReleaseBeforeKeepTheirPlaces) {
  TempDir dir;
  std::filesystem::copy_file(
      std::filesystem::path(PUSHGATE_SOURCE_DIR) / "tests/fixtures/db/release-0008.sqlite",
      dir.path() / "pushgate.db");
  GatewayHarness h(modbus_keys({"gateway.timezone=+01:00", "modbus.auto_assign=false"}),
                   dir.path());
  EXPECT_EQ(adapter(h).slot_serial(1), "ATT0008");
  EXPECT_EQ(adapter(h).slot_serial(2), "ACC0008");
  EXPECT_EQ(adapter(h).slot_serial(3), "");
  Client c(adapter(h).port());
  EXPECT_EQ(c.serial(2), "ACC0008");
}

TEST(ModbusAdapterTest, MailboxRejectsWhatItCannotQueueAndSaysWhy) {
  GatewayHarness h(modbus_keys({"modbus.writes_enabled=true", "modbus.write_allow=[\"127.0.0.1\"]",
                                "modbus.command_ttl_s=30"}));
  seen(h, "T1");
  ASSERT_TRUE(eventually([&] { return adapter(h).slot_serial(1) == "T1"; }));
  Client c(adapter(h).port());
  struct Case {
    std::array<std::uint16_t, 5> regs;
    int unit;
    std::uint16_t reason;
  };
  const Case cases[] = {
      {{1, 1, 0, 5, 1}, 255, 4},                               // door 0
      {{1, 1, 5, 5, 2}, 255, 4},                               // door 5
      {{1, 1, 1, 0, 3}, 255, 5},                               // 0 seconds
      {{1, 1, 1, 255, 4}, 255, 5}, {{2, 1, 1, 2, 5}, 255, 5},  // normal open 2
      {{1, 4, 1, 5, 6}, 255, 2},                               // slot 4 of 3
      {{1, 0, 1, 5, 7}, 255, 2},                               // flat layout needs a slot
      {{1, 2, 1, 5, 8}, 255, 3},                               // empty slot
      {{1, 2, 1, 5, 9}, 1, 2},                                 // unit 1 names another slot
      {{7, 1, 1, 5, 10}, 255, 1},
  };
  for (const auto& k : cases) {
    c.unit(k.unit);
    ASSERT_EQ(modbus_write_registers(c.get(), 0, 5, k.regs.data()), 5) << modbus_strerror(errno);
    auto m = c.mailbox();
    EXPECT_EQ(m[0], k.regs[4]);
    EXPECT_EQ(m[1], static_cast<std::uint16_t>(mb::CommandStatus::Rejected)) << "seq " << k.regs[4];
    EXPECT_EQ(m[3], k.reason) << "seq " << k.regs[4];
  }
  EXPECT_EQ(h.gateway().commands().open_count(), 0u);
  // Cancel alarm ignores the door; on unit 1, slot 0 means this slot.
  c.unit(1);
  const std::uint16_t cancel[5] = {3, 0, 0, 0, 11};
  ASSERT_EQ(modbus_write_registers(c.get(), 0, 5, cancel), 5);
  EXPECT_TRUE(eventually(
      [&] { return c.mailbox()[1] == static_cast<std::uint16_t>(mb::CommandStatus::Queued); }));
  EXPECT_EQ(h.gateway().commands().open_count(), 1u);
  EXPECT_EQ(h.query_int("SELECT COUNT(*) FROM commands WHERE origin = 'modbus'"
                        " AND verb = 'cancel_alarm'"),
            1);
  EXPECT_EQ(h.query_int("SELECT expires_ms - created_ms FROM commands WHERE origin = 'modbus'"),
            30000)
      << "a BMS command must not wait a day for an offline terminal";
}

TEST(ModbusAdapterTest, WritesAreOffByDefaultAndSighupTurnsThemOn) {
  GatewayHarness h(modbus_keys({}));
  seen(h, "T1");
  ASSERT_TRUE(eventually([&] { return adapter(h).slot_serial(1) == "T1"; }));
  Client c(adapter(h).port());
  const std::uint16_t open[5] = {1, 1, 1, 5, 1};
  EXPECT_EQ(modbus_write_registers(c.get(), 0, 5, open), -1);
  EXPECT_EQ(errno, EMBXILFUN);
  std::uint16_t reg = 9;
  ASSERT_EQ(modbus_read_input_registers(c.get(), 21, 1, &reg), 1);
  EXPECT_EQ(reg, 0) << "writes_enabled register";

  auto schema = build_schema();
  auto next = config::Config::load_string(
      schema, "",
      modbus_keys({"gateway.data_dir=" + h.data_dir().string(), "modbus.writes_enabled=true",
                   "modbus.write_allow=[\"127.0.0.0/8\"]"}));
  ASSERT_TRUE(next.ok()) << config::format_errors(next.errors);
  h.gateway().reload(*next.config);
  ASSERT_EQ(modbus_write_registers(c.get(), 0, 5, open), 5) << modbus_strerror(errno);
  EXPECT_TRUE(eventually(
      [&] { return modbus_read_input_registers(c.get(), 21, 1, &reg) == 1 && reg == 1; }));
  EXPECT_TRUE(eventually([&] { return h.gateway().commands().open_count() == 1; }));
  // Who opened it: the Modbus client's address, in the audit.
  EXPECT_TRUE(eventually([&] {
    return h.query_int(
               "SELECT COUNT(*) FROM events WHERE kind = 12"
               " AND json_extract(extra, '$.action') = 'command_queued'"
               " AND json_extract(extra, '$.actor') LIKE 'modbus:127.0.0.1%'"
               " AND json_extract(extra, '$.verb') = 'open_door'"
               " AND json_extract(extra, '$.terminal') = 'T1'") == 1;
  }));
}

// Issue 14 item 4: doors are the core's. A door reported through the core's
// door port by something that is not zkpush (zkpush is off here) is served
// by GET /api/v1/doors and by the Modbus door registers.
TEST(ModbusAdapterTest, ADoorReportedThroughTheCorePortReachesRestAndRegisters) {
  TempDir dir;
  {
    GatewayHarness h(modbus_keys({"zkpush.enabled=false"}), dir.path());
    seen(h, "D1");
    ASSERT_TRUE(eventually([&] { return adapter(h).slot_serial(1) == "D1"; }));
    Client c(adapter(h).port());
    std::uint16_t regs[8] = {};
    ASSERT_EQ(modbus_read_input_registers(c.get(), 116, 8, regs), 8);
    for (auto r : regs) {
      EXPECT_EQ(r, 0xFFFF) << "no door reported yet";
    }

    DoorState s;
    s.sensor = DoorSensor::Open;
    s.relay = DoorRelay::Disconnected;
    s.alarms = static_cast<std::uint8_t>(DoorAlarm::Tamper);
    WriteBatch batch;
    ASSERT_TRUE(h.gateway().doors().report("D1", 2, s, 1'700'000'000'000, batch));
    std::promise<CommitResult> committed;
    h.gateway().store().append(std::move(batch),
                               [&committed](CommitResult r) { committed.set_value(std::move(r)); });
    auto result = committed.get_future();
    ASSERT_EQ(result.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    ASSERT_FALSE(result.get().ec);
    EXPECT_EQ(
        h.query_int("SELECT COUNT(*) FROM door_state d JOIN terminals t ON t.id = d.terminal_id"
                    " WHERE t.sn = 'D1' AND d.door = 2 AND d.sensor = 'open'"
                    " AND d.relay = 'disconnected' AND d.alarm = 2"),
        1);

    auto doors = http_request(h.api_port(), "GET", "/api/v1/doors");
    ASSERT_EQ(doors.status, 200) << doors.body;
    auto j = nlohmann::json::parse(doors.body);
    ASSERT_EQ(j["doors"].size(), 1U) << doors.body;
    EXPECT_EQ(j["doors"][0]["terminal"], "D1");
    EXPECT_EQ(j["doors"][0]["door"], 2);
    EXPECT_EQ(j["doors"][0]["sensor"], "open");
    EXPECT_EQ(j["doors"][0]["relay"], "disconnected");
    EXPECT_EQ(j["doors"][0]["alarm"], 2);
    EXPECT_EQ(j["doors"][0]["updated_ms"], 1'700'000'000'000);
    EXPECT_EQ(j["doors"][0]["terminal_state"], "online");

    // door2_contact, door2_relay, door2_alarm (door 1 stays unreported).
    EXPECT_TRUE(eventually([&] {
      return modbus_read_input_registers(c.get(), 116, 8, regs) == 8 && regs[4] == 1 &&
             regs[5] == 1 && regs[6] == 2;
    })) << regs[4]
        << " " << regs[5] << " " << regs[6];
    EXPECT_EQ(regs[0], 0xFFFF);
  }
  // After a restart the core has the stored door from the start: the REST
  // route lists it and Modbus shows it once the terminal is heard again.
  GatewayHarness h(modbus_keys({"zkpush.enabled=false"}), dir.path());
  auto doors = http_request(h.api_port(), "GET", "/api/v1/doors");
  ASSERT_EQ(doors.status, 200) << doors.body;
  auto j = nlohmann::json::parse(doors.body);
  ASSERT_EQ(j["doors"].size(), 1U) << doors.body;
  EXPECT_EQ(j["doors"][0]["sensor"], "open");
  seen(h, "D1");
  Client c(adapter(h).port());
  std::uint16_t regs[3] = {};
  EXPECT_TRUE(eventually([&] {
    return modbus_read_input_registers(c.get(), 120, 3, regs) == 3 && regs[0] == 1 &&
           regs[1] == 1 && regs[2] == 2;
  })) << regs[0]
      << " " << regs[1] << " " << regs[2];
}

// Issue 14 item 2: the gateway block's backlog and disk registers come from
// the core's status figures: a sink's backlog as reported to Health (not a
// search of the Prometheus text), free space where the database lives.
TEST(ModbusAdapterTest, BacklogAndDiskFreeRegistersComeFromTheStatusPort) {
  GatewayHarness h(modbus_keys({}));
  Client c(adapter(h).port());
  auto u32 = [&](int address) -> std::optional<std::uint32_t> {
    std::uint16_t r[2] = {};
    if (modbus_read_input_registers(c.get(), address, 2, r) != 2) {
      return std::nullopt;
    }
    return (std::uint32_t{r[0]} << 16) | r[1];
  };
  EXPECT_EQ(u32(12), 0xFFFFFFFFU) << "no MQTT sink has reported";
  Health::Sink sink;
  sink.connected = false;
  sink.backlog_events = 70000;  // past 16 bits: both words carry it
  h.gateway().health().set_sink("mqtt", sink);
  EXPECT_TRUE(eventually([&] { return u32(12) == 70000U; })) << u32(12).value_or(0);

  struct statvfs v {};
  ASSERT_EQ(statvfs(h.data_dir().c_str(), &v), 0);
  const std::uint64_t free_mib = std::uint64_t{v.f_bavail} * v.f_frsize / (1024 * 1024);
  auto disk = u32(14);
  ASSERT_TRUE(disk);
  EXPECT_NE(*disk, 0xFFFFFFFFU);
  EXPECT_LE(*disk > free_mib ? *disk - free_mib : free_mib - *disk,
            std::max<std::uint64_t>(64, free_mib / 20));
}

}  // namespace
}  // namespace pushgate::test
