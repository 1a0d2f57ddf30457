// The libmodbus server against libmodbus's own client on loopback: views by
// unit id, the exceptions it answers with, and that a refused write reaches
// nothing. The owner (WriteHandler) is a recording fake here.
#include <gtest/gtest.h>
#include <modbus/modbus.h>

#include <cerrno>
#include <chrono>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "adapters/modbus/modbus_session.hpp"

namespace pushgate::adapters::modbus {
namespace {

struct Recorder {
  std::mutex mutex;
  bool allow = true;
  std::vector<std::pair<std::uint16_t, std::vector<std::uint16_t>>> holding;
  std::vector<std::pair<std::uint16_t, std::vector<std::uint8_t>>> coils;
  std::vector<std::string> clients;
};

class ModbusSessionTest : public ::testing::Test {
 protected:
  void start(bool coils_enabled) {
    WriteHandler h;
    h.allowed = [this](const std::string& client) {
      std::lock_guard lock(rec_.mutex);
      rec_.clients.push_back(client);
      return rec_.allow;
    };
    h.holding = [this](std::uint16_t view, std::uint16_t address,
                       std::span<const std::uint16_t> values, const std::string&) {
      std::lock_guard lock(rec_.mutex);
      rec_.holding.emplace_back(view * 1000 + address,
                                std::vector<std::uint16_t>(values.begin(), values.end()));
      return Exception::None;
    };
    h.coils = [this](std::uint16_t view, std::uint16_t address, std::span<const std::uint8_t> bits,
                     const std::string&) {
      std::lock_guard lock(rec_.mutex);
      rec_.coils.emplace_back(view * 1000 + address,
                              std::vector<std::uint8_t>(bits.begin(), bits.end()));
      return address % kCoilsPerSlot > 4 ? Exception::IllegalDataAddress : Exception::None;
    };
    ServerOptions o;
    o.listen = "127.0.0.1";
    o.port = 0;
    o.max_clients = 4;
    o.coils_enabled = coils_enabled;
    server_ = std::make_unique<ModbusServer>(o, image_, std::move(h), metrics_);
    ASSERT_FALSE(server_->start());
    ASSERT_NE(server_->port(), 0);
    GatewayView g;
    g.slot_count = 3;
    std::vector<SlotView> slots(3);
    slots[2].sn = "SLOT3";
    slots[2].online = true;
    slots[2].doors[1].contact = 1;
    image_.publish(g, slots);
    client_ = modbus_new_tcp("127.0.0.1", server_->port());
    ASSERT_NE(client_, nullptr);
    ASSERT_EQ(modbus_connect(client_), 0) << modbus_strerror(errno);
  }
  void TearDown() override {
    if (client_ != nullptr) {
      modbus_close(client_);
      modbus_free(client_);
    }
    if (server_) {
      server_->stop();
    }
  }
  void unit(int id) { ASSERT_EQ(modbus_set_slave(client_, id), 0); }

  RegisterImage image_{3};
  metrics::Registry metrics_;
  Recorder rec_;
  std::unique_ptr<ModbusServer> server_;
  modbus_t* client_ = nullptr;
};

TEST_F(ModbusSessionTest, ReadsTheFlatLayoutAndPerSlotViews) {
  start(false);
  std::uint16_t regs[125] = {};
  unit(255);
  ASSERT_EQ(modbus_read_input_registers(client_, 0, 3, regs), 3) << modbus_strerror(errno);
  EXPECT_EQ(regs[0], 0x5047);
  EXPECT_EQ(regs[1], 0x4D42);
  EXPECT_EQ(regs[2], kMapVersion);
  // Slot 3 door 2 contact: flat 100 + 2*64 + 20.
  ASSERT_EQ(modbus_read_input_registers(client_, 248, 1, regs), 1);
  EXPECT_EQ(regs[0], 1);
  // The whole flat map in one request at the end of the table.
  ASSERT_EQ(modbus_read_input_registers(client_, 292 - 125, 125, regs), 125);
  unit(3);
  ASSERT_EQ(modbus_read_input_registers(client_, 120, 1, regs), 1);
  EXPECT_EQ(regs[0], 1) << "unit 3 shows slot 3 at the slot 1 addresses";
  unit(0);
  ASSERT_EQ(modbus_read_input_registers(client_, 7, 1, regs), 1);
  EXPECT_EQ(regs[0], 0) << "unit 0 is the flat layout";
  std::uint8_t bits[32] = {};
  ASSERT_EQ(modbus_read_input_bits(client_, 0, 32, bits), 32);
  EXPECT_EQ(metrics_.value("pushgate_modbus_reads_total"), 6);
}

TEST_F(ModbusSessionTest, AnswersTheProperExceptions) {
  start(false);
  std::uint16_t regs[130] = {};
  unit(255);
  EXPECT_EQ(modbus_read_input_registers(client_, 292, 1, regs), -1);
  EXPECT_EQ(errno, EMBXILADD);
  EXPECT_EQ(modbus_read_input_registers(client_, 290, 3, regs), -1);
  EXPECT_EQ(errno, EMBXILADD);
  EXPECT_EQ(modbus_read_registers(client_, 5, 1, regs), -1);
  EXPECT_EQ(errno, EMBXILADD);
  std::uint8_t bits[8] = {};
  EXPECT_EQ(modbus_read_bits(client_, 0, 1, bits), -1) << "coils are off";
  EXPECT_EQ(errno, EMBXILADD);
  // Quantity 0 is not sendable through libmodbus's API: a raw request.
  const std::uint8_t zero[] = {0xFF, MODBUS_FC_READ_INPUT_REGISTERS, 0, 0, 0, 0};
  ASSERT_GT(modbus_send_raw_request(client_, zero, sizeof zero), 0);
  std::uint8_t rsp[MODBUS_TCP_MAX_ADU_LENGTH];
  EXPECT_EQ(modbus_receive_confirmation(client_, rsp), 9);
  EXPECT_EQ(rsp[7], 0x84);
  EXPECT_EQ(rsp[8], MODBUS_EXCEPTION_ILLEGAL_DATA_VALUE);
  // Diagnostics (FC 08) is not served.
  const std::uint8_t diag[] = {0xFF, 0x08, 0, 0, 0x12, 0x34};
  ASSERT_GT(modbus_send_raw_request(client_, diag, sizeof diag), 0);
  EXPECT_EQ(modbus_receive_confirmation(client_, rsp), 9);
  EXPECT_EQ(rsp[7], 0x88);
  EXPECT_EQ(rsp[8], MODBUS_EXCEPTION_ILLEGAL_FUNCTION);
  // A unit id with no slot behind it.
  unit(4);
  EXPECT_EQ(modbus_read_input_registers(client_, 0, 1, regs), -1);
  EXPECT_EQ(errno, EMBXGPATH);
  EXPECT_GE(metrics_.value("pushgate_modbus_exceptions_total", {{"code", "02"}}), 4);
  EXPECT_EQ(metrics_.value("pushgate_modbus_exceptions_total", {{"code", "0A"}}), 1);
}

TEST_F(ModbusSessionTest, RefusedWritesChangeNothing) {
  start(true);
  rec_.allow = false;
  unit(255);
  const std::uint16_t values[5] = {1, 3, 1, 5, 77};
  EXPECT_EQ(modbus_write_registers(client_, 0, 5, values), -1);
  EXPECT_EQ(errno, EMBXILFUN);
  EXPECT_EQ(modbus_write_bit(client_, 0, 1), -1);
  EXPECT_EQ(errno, EMBXILFUN);
  EXPECT_TRUE(rec_.holding.empty());
  EXPECT_TRUE(rec_.coils.empty());
  ASSERT_FALSE(rec_.clients.empty());
  EXPECT_EQ(rec_.clients.front(), "127.0.0.1");
  EXPECT_EQ(metrics_.value("pushgate_modbus_writes_total", {{"result", "refused"}}), 2);
}

TEST_F(ModbusSessionTest, AllowedWritesReachTheOwnerWithTheirView) {
  start(true);
  unit(2);
  const std::uint16_t values[5] = {1, 0, 1, 5, 77};
  ASSERT_EQ(modbus_write_registers(client_, 0, 5, values), 5) << modbus_strerror(errno);
  ASSERT_EQ(modbus_write_register(client_, 4, 78), 1);
  EXPECT_EQ(modbus_write_registers(client_, 3, 3, values), -1) << "past the mailbox";
  EXPECT_EQ(errno, EMBXILADD);
  ASSERT_EQ(modbus_write_bit(client_, 1, 1), 1);
  EXPECT_EQ(modbus_write_bit(client_, 8, 1), -1) << "unit 2 has one coil block";
  EXPECT_EQ(errno, EMBXILADD);
  EXPECT_EQ(modbus_write_bit(client_, 6, 1), -1) << "reserved coil";
  EXPECT_EQ(errno, EMBXILADD);
  std::lock_guard lock(rec_.mutex);
  ASSERT_EQ(rec_.holding.size(), 2u);
  EXPECT_EQ(rec_.holding[0].first, 2000);
  EXPECT_EQ(rec_.holding[0].second, std::vector<std::uint16_t>({1, 0, 1, 5, 77}));
  EXPECT_EQ(rec_.holding[1].first, 2004);
  ASSERT_EQ(rec_.coils.size(), 2u);
  EXPECT_EQ(rec_.coils[0].first, 2001);
  EXPECT_EQ(metrics_.value("pushgate_modbus_writes_total", {{"result", "accepted"}}), 3);
}

TEST_F(ModbusSessionTest, ConnectionsPastMaxClientsAreClosed) {
  start(false);
  std::vector<modbus_t*> more;
  std::uint16_t reg = 0;
  for (int i = 0; i < 3; ++i) {
    auto* c = modbus_new_tcp("127.0.0.1", server_->port());
    ASSERT_EQ(modbus_connect(c), 0);
    ASSERT_EQ(modbus_read_input_registers(c, 0, 1, &reg), 1);
    more.push_back(c);
  }
  auto* extra = modbus_new_tcp("127.0.0.1", server_->port());
  modbus_set_response_timeout(extra, 2, 0);
  ASSERT_EQ(modbus_connect(extra), 0);  // the kernel accepts; the server closes it
  EXPECT_EQ(modbus_read_input_registers(extra, 0, 1, &reg), -1);
  // The accept thread counts the refusal on its own time: wait for it (bounded)
  // while the other clients still hold every place, so it cannot be let in.
  auto refused = [&] {
    return metrics_.value("pushgate_modbus_connections_total", {{"result", "refused_max_clients"}});
  };
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (refused() < 1 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(refused(), 1);
  modbus_close(extra);
  modbus_free(extra);
  for (auto* c : more) {
    modbus_close(c);
    modbus_free(c);
  }
}

}  // namespace
}  // namespace pushgate::adapters::modbus
