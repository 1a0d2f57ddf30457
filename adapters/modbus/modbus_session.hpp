#pragma once

// The Modbus TCP server on libmodbus: one accept thread and one thread per
// client connection (libmodbus calls block), never the io_context. Reads are
// answered from the RegisterImage; writes go to the owner's WriteHandler.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>

#include <boost/system/error_code.hpp>

#include "adapters/modbus/modbus_image.hpp"
#include "adapters/modbus/modbus_protocol.hpp"
#include "gateway/metrics/metrics.hpp"

namespace pushgate::adapters::modbus {

/** What the server asks its owner; called on a connection thread, must be short. */
struct WriteHandler {
  /** Whether `client` (its address) may write now. */
  std::function<bool(const std::string& client)> allowed;
  /** Holding registers [address, address+values) of a view; range already checked. */
  std::function<Exception(std::uint16_t view, std::uint16_t address,
                          std::span<const std::uint16_t> values, const std::string& client)>
      holding;
  /** Coils (0/1 each) of a view; range already checked. */
  std::function<Exception(std::uint16_t view, std::uint16_t address,
                          std::span<const std::uint8_t> bits, const std::string& client)>
      coils;
};

struct ServerOptions {
  std::string listen = "0.0.0.0";
  std::uint16_t port = 1502;
  std::size_t max_clients = 16;
  std::chrono::seconds idle_timeout{300};
  std::uint8_t flat_unit_id = 255;
  bool coils_enabled = false;
};

class ModbusServer {
 public:
  ModbusServer(ServerOptions options, RegisterImage& image, WriteHandler handler,
               metrics::Registry& metrics);
  ~ModbusServer();
  ModbusServer(const ModbusServer&) = delete;
  ModbusServer& operator=(const ModbusServer&) = delete;

  /** Binds and starts the accept thread. */
  boost::system::error_code start();
  /** Closes the listener and every connection, joins the threads. Idempotent. */
  void stop();
  /** The bound port (tests bind 0). */
  std::uint16_t port() const noexcept { return port_; }

  /** The view a unit id selects: 0 flat, 1..slot_count a slot; -1 none. */
  static int view_for_unit(std::uint8_t unit, std::uint8_t flat_unit_id,
                           std::uint16_t slot_count) noexcept;

 private:
  struct Client {
    int fd = -1;
    std::string address;
    std::mutex mutex;  // guards fd against close/shutdown racing
    bool closed = false;
    std::atomic<bool> done{false};
    std::thread thread;
  };

  void accept_loop();
  void serve(Client& client);
  void reap(bool all);

  ServerOptions options_;
  RegisterImage& image_;
  WriteHandler handler_;
  metrics::Registry& metrics_;
  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  std::mutex clients_mutex_;
  std::list<std::unique_ptr<Client>> clients_;

  metrics::Gauge& clients_gauge_;
  metrics::Counter& accepted_;
  metrics::Counter& refused_;
  metrics::Counter& reads_;
  metrics::Counter& writes_accepted_;
  metrics::Counter& writes_refused_;
  metrics::Counter& exc_function_;
  metrics::Counter& exc_address_;
  metrics::Counter& exc_value_;
  metrics::Counter& exc_failure_;
  metrics::Counter& exc_gateway_;
};

}  // namespace pushgate::adapters::modbus
