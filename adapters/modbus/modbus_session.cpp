#include "adapters/modbus/modbus_session.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <modbus/modbus.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include "gateway/logging.hpp"

namespace pushgate::adapters::modbus {

namespace {

std::string peer_address(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    return "?";
  }
  char buf[INET6_ADDRSTRLEN] = {};
  if (ss.ss_family == AF_INET) {
    auto* in = reinterpret_cast<sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &in->sin_addr, buf, sizeof buf);
  } else if (ss.ss_family == AF_INET6) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof buf);
  }
  return buf;
}

std::uint16_t local_port(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    return 0;
  }
  if (ss.ss_family == AF_INET) {
    return ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  }
  return ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
}

// Reads and discards `n` bytes that must follow at once (bounded wait).
bool drain(int fd, std::size_t n) {
  std::uint8_t buf[MODBUS_TCP_MAX_ADU_LENGTH];
  while (n > 0) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 500) <= 0) {
      return false;
    }
    auto got = ::recv(fd, buf, std::min(n, sizeof buf), 0);
    if (got <= 0) {
      return false;
    }
    n -= static_cast<std::size_t>(got);
  }
  return true;
}

// The largest view (flat layout, kMaxSlots slots): every thread's scratch
// mapping is this big so any view fits.
constexpr std::uint32_t kMaxInputRegisters = kSlotBase + std::uint32_t{kMaxSlots} * kSlotBlockSize;
constexpr std::uint32_t kMaxCoils = std::uint32_t{kMaxSlots} * kCoilsPerSlot;

}  // namespace

ModbusServer::ModbusServer(ServerOptions options, RegisterImage& image, WriteHandler handler,
                           metrics::Registry& metrics)
    : options_(std::move(options)),
      image_(image),
      handler_(std::move(handler)),
      metrics_(metrics),
      clients_gauge_(metrics.gauge("pushgate_modbus_clients", "Modbus TCP clients connected")),
      accepted_(metrics.counter("pushgate_modbus_connections_total",
                                "Modbus TCP connections by outcome", {{"result", "accepted"}})),
      refused_(metrics.counter("pushgate_modbus_connections_total",
                               "Modbus TCP connections by outcome",
                               {{"result", "refused_max_clients"}})),
      reads_(metrics.counter("pushgate_modbus_reads_total", "Modbus read requests answered")),
      writes_accepted_(metrics.counter("pushgate_modbus_writes_total",
                                       "Modbus write requests by outcome (each is logged)",
                                       {{"result", "accepted"}})),
      writes_refused_(metrics.counter("pushgate_modbus_writes_total",
                                      "Modbus write requests by outcome (each is logged)",
                                      {{"result", "refused"}})),
      exc_function_(metrics.counter("pushgate_modbus_exceptions_total",
                                    "Modbus exception responses by code", {{"code", "01"}})),
      exc_address_(metrics.counter("pushgate_modbus_exceptions_total",
                                   "Modbus exception responses by code", {{"code", "02"}})),
      exc_value_(metrics.counter("pushgate_modbus_exceptions_total",
                                 "Modbus exception responses by code", {{"code", "03"}})),
      exc_failure_(metrics.counter("pushgate_modbus_exceptions_total",
                                   "Modbus exception responses by code", {{"code", "04"}})),
      exc_gateway_(metrics.counter("pushgate_modbus_exceptions_total",
                                   "Modbus exception responses by code", {{"code", "0A"}})) {}

ModbusServer::~ModbusServer() {
  stop();
}

int ModbusServer::view_for_unit(std::uint8_t unit, std::uint8_t flat_unit_id,
                                std::uint16_t slot_count) noexcept {
  if (unit == flat_unit_id || unit == 0) {
    return 0;
  }
  if (unit >= 1 && unit <= slot_count) {
    return unit;
  }
  return -1;
}

boost::system::error_code ModbusServer::start() {
  const std::string service = std::to_string(options_.port);
  modbus_t* ctx = modbus_new_tcp_pi(options_.listen.c_str(), service.c_str());
  if (ctx == nullptr) {
    return {errno, boost::system::system_category()};
  }
  listen_fd_ = modbus_tcp_pi_listen(ctx, 64);
  int err = errno;
  modbus_free(ctx);  // the listening socket is ours; the context only built it
  if (listen_fd_ < 0) {
    return {err != 0 ? err : EADDRNOTAVAIL, boost::system::system_category()};
  }
  ::fcntl(listen_fd_, F_SETFD, FD_CLOEXEC);
  if (::pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) {
    err = errno;
    ::close(listen_fd_);
    listen_fd_ = -1;
    return {err, boost::system::system_category()};
  }
  port_ = local_port(listen_fd_);
  acceptor_ = std::thread([this] { accept_loop(); });
  return {};
}

void ModbusServer::stop() {
  if (!acceptor_.joinable()) {
    return;
  }
  stopping_ = true;
  char b = 1;
  [[maybe_unused]] auto n = ::write(wake_[1], &b, 1);
  acceptor_.join();
  {
    std::lock_guard lock(clients_mutex_);
    for (auto& c : clients_) {
      std::lock_guard cl(c->mutex);
      if (!c->closed) {
        ::shutdown(c->fd, SHUT_RDWR);  // its blocking receive returns; the thread closes it
      }
    }
  }
  reap(true);
  ::close(listen_fd_);
  ::close(wake_[0]);
  ::close(wake_[1]);
  listen_fd_ = wake_[0] = wake_[1] = -1;
}

void ModbusServer::reap(bool all) {
  std::list<std::unique_ptr<Client>> finished;
  {
    std::lock_guard lock(clients_mutex_);
    for (auto it = clients_.begin(); it != clients_.end();) {
      if (all || (*it)->done) {
        finished.splice(finished.end(), clients_, it++);
      } else {
        ++it;
      }
    }
  }
  for (auto& c : finished) {
    c->thread.join();
  }
}

void ModbusServer::accept_loop() {
  auto log = logger("modbus");
  while (!stopping_) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
    int r = ::poll(fds, 2, 1000);
    reap(false);
    if (r <= 0 || (fds[1].revents & POLLIN) != 0) {
      continue;
    }
    if ((fds[0].revents & POLLIN) == 0) {
      continue;
    }
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      continue;  // the client went away between poll and accept, or EMFILE: retry later
    }
    std::string address = peer_address(fd);
    std::lock_guard lock(clients_mutex_);
    if (clients_.size() >= options_.max_clients) {
      // Over the limit: closed at once, so one BMS cannot starve the others of threads.
      ::close(fd);
      refused_.inc();
      log->warn("[client={}] connection refused: {} clients already (modbus.max_clients)", address,
                clients_.size());
      continue;
    }
    auto client = std::make_unique<Client>();
    client->fd = fd;
    client->address = std::move(address);
    Client& c = *client;
    clients_.push_back(std::move(client));
    accepted_.inc();
    clients_gauge_.add(1);
    log->info("[client={}] connected", c.address);
    c.thread = std::thread([this, &c] { serve(c); });
  }
}

void ModbusServer::serve(Client& client) {
  auto log = logger("modbus");
  modbus_t* ctx = modbus_new_tcp_pi(options_.listen.c_str(), "0");
  std::vector<std::uint8_t> query(MODBUS_TCP_MAX_ADU_LENGTH);
  // Scratch tables modbus_reply answers from: filled per request with the
  // range asked for, so the image lock is never held while sending.
  std::vector<std::uint16_t> input_regs(kMaxInputRegisters);
  std::vector<std::uint16_t> holding(kHoldingSize);
  std::vector<std::uint8_t> coils(kMaxCoils);
  std::vector<std::uint8_t> inputs(kDiscreteInputs);
  std::vector<std::uint16_t> words(kMaxInputRegisters);
  modbus_mapping_t map{};
  map.tab_bits = coils.data();
  map.tab_input_bits = inputs.data();
  map.tab_input_registers = input_regs.data();
  map.tab_registers = holding.data();
  const auto slot_count = image_.slot_count();

  // The first exception of a connection is logged as a warning (a BMS with a
  // wrong address polls it forever: the rest at debug); all are counted.
  bool warned = false;
  int rc = 0;
  auto answer_exception = [&](Exception e, bool already_logged = false) {
    const std::uint8_t unit = query[kMbapLength - 1];
    const std::uint8_t function = query[kMbapLength];
    const unsigned address = rc >= static_cast<int>(kMbapLength) + 3
                                 ? (unsigned{query[kMbapLength + 1]} << 8) | query[kMbapLength + 2]
                                 : 0;
    if (!already_logged) {
      log->log(warned ? spdlog::level::debug : spdlog::level::warn,
               "[client={}] FC {} unit {} address {}: exception {:02X}", client.address, function,
               unit, address, static_cast<int>(e));
      warned = true;
    }
    switch (e) {
      case Exception::IllegalFunction:
        exc_function_.inc();
        break;
      case Exception::IllegalDataAddress:
        exc_address_.inc();
        break;
      case Exception::IllegalDataValue:
        exc_value_.inc();
        break;
      case Exception::GatewayPathUnavailable:
        exc_gateway_.inc();
        break;
      default:
        exc_failure_.inc();
        break;
    }
    return modbus_reply_exception(ctx, query.data(), static_cast<unsigned>(e));
  };

  if (ctx != nullptr) {
    modbus_set_socket(ctx, client.fd);
    modbus_set_indication_timeout(ctx, static_cast<std::uint32_t>(options_.idle_timeout.count()),
                                  0);
  }
  while (ctx != nullptr && !stopping_) {
    rc = modbus_receive(ctx, query.data());
    if (rc == 0) {
      continue;  // not for us (libmodbus filtered it)
    }
    if (rc < 0) {
      break;  // closed, idle timeout or a malformed frame: drop the connection
    }
    const Request req =
        decode_request(std::span<const std::uint8_t>(query.data(), static_cast<std::size_t>(rc)));
    if (req.unread > 0 && !drain(client.fd, req.unread)) {
      break;  // the frame's declared rest never came: the stream is lost
    }
    int view = view_for_unit(req.unit, options_.flat_unit_id, slot_count);
    if (view < 0) {
      // No slot behind this unit id: the gateway has no path to such a device.
      if (answer_exception(Exception::GatewayPathUnavailable) < 0) {
        break;
      }
      continue;
    }
    if (req.problem == Exception::IllegalFunction) {
      if (answer_exception(Exception::IllegalFunction) < 0) {
        break;
      }
      continue;
    }
    const auto v = static_cast<std::uint16_t>(view);
    map.nb_input_registers = static_cast<int>(image_.size(v, Space::InputRegister));
    map.nb_registers = static_cast<int>(image_.size(v, Space::HoldingRegister));
    map.nb_input_bits = static_cast<int>(image_.size(v, Space::DiscreteInput));
    map.nb_bits = options_.coils_enabled ? static_cast<int>(image_.size(v, Space::Coil)) : 0;

    if (req.read) {
      Space space = req.function == MODBUS_FC_READ_COILS               ? Space::Coil
                    : req.function == MODBUS_FC_READ_DISCRETE_INPUTS   ? Space::DiscreteInput
                    : req.function == MODBUS_FC_READ_HOLDING_REGISTERS ? Space::HoldingRegister
                                                                       : Space::InputRegister;
      int size = space == Space::Coil              ? map.nb_bits
                 : space == Space::DiscreteInput   ? map.nb_input_bits
                 : space == Space::HoldingRegister ? map.nb_registers
                                                   : map.nb_input_registers;
      const std::uint32_t end = std::uint32_t{req.address} + req.count;
      if (req.problem != Exception::None) {
        if (answer_exception(req.problem) < 0) {
          break;
        }
        continue;
      }
      if (end > static_cast<std::uint32_t>(size) ||
          !image_.read(v, space, req.address, req.count, words.data())) {
        if (answer_exception(Exception::IllegalDataAddress) < 0) {
          break;
        }
        continue;
      }
      switch (space) {
        case Space::InputRegister:
          std::copy_n(words.data(), req.count, input_regs.data() + req.address);
          break;
        case Space::HoldingRegister:
          std::copy_n(words.data(), req.count, holding.data() + req.address);
          break;
        case Space::Coil:
          std::transform(words.data(), words.data() + req.count, coils.data() + req.address,
                         [](std::uint16_t w) { return static_cast<std::uint8_t>(w); });
          break;
        case Space::DiscreteInput:
          std::transform(words.data(), words.data() + req.count, inputs.data() + req.address,
                         [](std::uint16_t w) { return static_cast<std::uint8_t>(w); });
          break;
      }
      reads_.inc();
      // modbus_reply builds the standard answer from the scratch tables.
      if (modbus_reply(ctx, query.data(), rc, &map) < 0) {
        break;
      }
      continue;
    }

    // A write: policy first, then the frame, the range, then the owner
    // applies it, then the standard echo. Every write is logged with the
    // client address.
    if (!handler_.allowed || !handler_.allowed(client.address)) {
      writes_refused_.inc();
      log->warn(
          "[client={}] write refused (FC {} unit {} address {}): writes are off or this "
          "address is not in modbus.write_allow",
          client.address, req.function, req.unit, req.address);
      if (answer_exception(Exception::IllegalFunction, true) < 0) {
        break;
      }
      continue;
    }
    Exception problem = req.problem;
    const std::uint32_t size = req.coil ? static_cast<std::uint32_t>(map.nb_bits)
                                        : static_cast<std::uint32_t>(map.nb_registers);
    if (problem == Exception::None && std::uint32_t{req.address} + req.count > size) {
      problem = Exception::IllegalDataAddress;
    }
    if (problem == Exception::None) {
      problem = req.coil ? handler_.coils(v, req.address, req.bits, client.address)
                         : handler_.holding(v, req.address, req.values, client.address);
    }
    if (problem != Exception::None) {
      writes_refused_.inc();
      log->warn("[client={}] write refused (FC {} unit {} address {} count {}): exception {:02X}",
                client.address, req.function, req.unit, req.address, req.count,
                static_cast<int>(problem));
      if (answer_exception(problem, true) < 0) {
        break;
      }
      continue;
    }
    writes_accepted_.inc();
    log->info("[client={}] write FC {} unit {} address {} count {}", client.address, req.function,
              req.unit, req.address, req.count);
    if (modbus_reply(ctx, query.data(), rc, &map) < 0) {
      break;
    }
  }
  {
    std::lock_guard lock(client.mutex);
    client.closed = true;
    ::close(client.fd);
  }
  if (ctx != nullptr) {
    modbus_free(ctx);  // not modbus_close: the socket is closed above, under the lock
  }
  clients_gauge_.add(-1);
  log->info("[client={}] disconnected", client.address);
  client.done = true;
}

}  // namespace pushgate::adapters::modbus
