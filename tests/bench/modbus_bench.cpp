// Modbus read path: registers/s and latency for N concurrent clients
// (libmodbus client threads) each polling the whole register map in a loop,
// against (1) pushgate's Modbus server inside a running Gateway (refresh
// thread publishing every modbus.refresh_ms) and (2) a minimal reference
// server written like libmodbus's own example servers
// (tests/bandwidth-server-many-up.c: modbus_tcp_listen, select() over every
// client, modbus_receive + modbus_reply on a mapping of the same size),
// on the same machine, same workload. Prints both and the ratio.
//
// One "map poll" = the flat layout's input registers (gateway block + every
// slot block) in requests of at most 125, the 32 discrete inputs and the 5
// holding registers.
//
// The two sides run in alternating rounds (the machine's load changes over a
// run); each side's figures are from its median round by throughput.
//
// Usage: modbus_bench [--clients 10] [--seconds 5] [--slots 16] [--rounds 3]
#include <modbus/modbus.h>
#include <netinet/in.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "adapters/modbus/modbus_adapter.hpp"
#include "adapters/modbus/modbus_map.hpp"
#include "tests/bench/latency.hpp"
#include "tests/support/gateway_harness.hpp"

namespace mb = pushgate::adapters::modbus;
using Steady = std::chrono::steady_clock;

namespace {

using pushgate::bench::percentile;

struct Options {
  int clients = 10;
  double seconds = 5;
  int slots = 16;
  int rounds = 3;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const bool has_value = i + 1 < argc;
    if (std::strcmp(argv[i], "--clients") == 0 && has_value) {
      o.clients = std::max(1, std::atoi(argv[++i]));
    } else if (std::strcmp(argv[i], "--seconds") == 0 && has_value) {
      o.seconds = std::max(0.1, std::atof(argv[++i]));
    } else if (std::strcmp(argv[i], "--rounds") == 0 && has_value) {
      o.rounds = std::max(1, std::atoi(argv[++i]));
    } else if (std::strcmp(argv[i], "--slots") == 0 && has_value) {
      o.slots = std::clamp(std::atoi(argv[++i]), 1, 247);
    } else {
      std::fprintf(stderr,
                   "usage: modbus_bench [--clients N] [--seconds S] [--slots N] [--rounds N]\n");
      std::exit(2);
    }
  }
  return o;
}

struct Result {
  std::uint64_t registers = 0;  // registers and bits read
  std::uint64_t requests = 0;
  std::uint64_t errors = 0;
  double elapsed_s = 0;
  std::vector<double> request_us;
  std::vector<double> poll_us;
};

// N clients polling the whole map until the deadline.
Result run_clients(std::uint16_t port, int unit, const Options& o) {
  const std::uint32_t input_registers = mb::kSlotBase + std::uint32_t(o.slots) * mb::kSlotBlockSize;
  std::vector<Result> per(static_cast<std::size_t>(o.clients));
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int c = 0; c < o.clients; ++c) {
    threads.emplace_back([&, c] {
      Result& r = per[static_cast<std::size_t>(c)];
      modbus_t* ctx = modbus_new_tcp("127.0.0.1", port);
      modbus_set_slave(ctx, unit);
      modbus_set_response_timeout(ctx, 5, 0);
      if (modbus_connect(ctx) != 0) {
        std::fprintf(stderr, "connect: %s\n", modbus_strerror(errno));
        ++r.errors;
        ++ready;
        modbus_free(ctx);
        return;
      }
      std::vector<std::uint16_t> regs(MODBUS_MAX_READ_REGISTERS);
      std::vector<std::uint8_t> bits(64);
      ++ready;
      while (!go) {
        std::this_thread::yield();
      }
      const auto deadline = Steady::now() + std::chrono::duration<double>(o.seconds);
      auto timed = [&](auto&& f, std::uint32_t n) {
        auto t0 = Steady::now();
        int got = f();
        auto us = std::chrono::duration<double, std::micro>(Steady::now() - t0).count();
        r.request_us.push_back(us);
        ++r.requests;
        if (got != static_cast<int>(n)) {
          ++r.errors;
        } else {
          r.registers += n;
        }
      };
      while (Steady::now() < deadline) {
        auto p0 = Steady::now();
        for (std::uint32_t a = 0; a < input_registers; a += MODBUS_MAX_READ_REGISTERS) {
          auto n = std::min<std::uint32_t>(MODBUS_MAX_READ_REGISTERS, input_registers - a);
          timed([&] { return modbus_read_input_registers(ctx, int(a), int(n), regs.data()); }, n);
        }
        timed([&] { return modbus_read_input_bits(ctx, 0, mb::kDiscreteInputs, bits.data()); },
              mb::kDiscreteInputs);
        timed([&] { return modbus_read_registers(ctx, 0, mb::kHoldingSize, regs.data()); },
              mb::kHoldingSize);
        r.poll_us.push_back(std::chrono::duration<double, std::micro>(Steady::now() - p0).count());
      }
      modbus_close(ctx);
      modbus_free(ctx);
    });
  }
  while (ready < o.clients) {
    std::this_thread::yield();
  }
  auto t0 = Steady::now();
  go = true;
  for (auto& t : threads) {
    t.join();
  }
  Result total;
  total.elapsed_s = std::chrono::duration<double>(Steady::now() - t0).count();
  for (auto& r : per) {
    total.registers += r.registers;
    total.requests += r.requests;
    total.errors += r.errors;
    total.request_us.insert(total.request_us.end(), r.request_us.begin(), r.request_us.end());
    total.poll_us.insert(total.poll_us.end(), r.poll_us.begin(), r.poll_us.end());
  }
  return total;
}

// The reference: libmodbus's example server shape, one thread, select().
class ReferenceServer {
 public:
  explicit ReferenceServer(int input_registers) {
    ctx_ = modbus_new_tcp("127.0.0.1", 0);
    map_ = modbus_mapping_new(0, mb::kDiscreteInputs, mb::kHoldingSize, input_registers);
    listen_ = modbus_tcp_listen(ctx_, 64);
    sockaddr_in a{};
    socklen_t len = sizeof a;
    getsockname(listen_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  ~ReferenceServer() {
    stop_ = true;
    thread_.join();
    for (int fd = 0; fd <= max_fd_; ++fd) {
      if (FD_ISSET(fd, &refset_)) {
        close(fd);
      }
    }
    modbus_mapping_free(map_);
    modbus_free(ctx_);
  }
  std::uint16_t port() const { return port_; }

 private:
  void run() {
    std::uint8_t query[MODBUS_TCP_MAX_ADU_LENGTH];
    FD_ZERO(&refset_);
    FD_SET(listen_, &refset_);
    max_fd_ = listen_;
    while (!stop_) {
      fd_set rdset = refset_;
      timeval tv{0, 100000};
      if (select(max_fd_ + 1, &rdset, nullptr, nullptr, &tv) <= 0) {
        continue;
      }
      for (int fd = 0; fd <= max_fd_; ++fd) {
        if (!FD_ISSET(fd, &rdset)) {
          continue;
        }
        if (fd == listen_) {
          sockaddr_in client{};
          socklen_t len = sizeof client;
          int s = accept(listen_, reinterpret_cast<sockaddr*>(&client), &len);
          if (s >= 0) {
            FD_SET(s, &refset_);
            max_fd_ = std::max(max_fd_, s);
          }
          continue;
        }
        modbus_set_socket(ctx_, fd);
        int rc = modbus_receive(ctx_, query);
        if (rc > 0) {
          modbus_reply(ctx_, query, rc, map_);
        } else if (rc == -1) {
          close(fd);
          FD_CLR(fd, &refset_);
        }
      }
    }
  }

  modbus_t* ctx_ = nullptr;
  modbus_mapping_t* map_ = nullptr;
  int listen_ = -1;
  std::uint16_t port_ = 0;
  fd_set refset_{};
  int max_fd_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

void print(const char* name, Result& r) {
  double rps = static_cast<double>(r.registers) / r.elapsed_s;
  double qps = static_cast<double>(r.requests) / r.elapsed_s;
  std::printf("%-22s %14.0f %12.0f %11.3f %11.3f %15.3f %8llu\n", name, rps, qps,
              percentile(r.request_us, 0.50) / 1000, percentile(r.request_us, 0.99) / 1000,
              percentile(r.poll_us, 0.99) / 1000, static_cast<unsigned long long>(r.errors));
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  const int input_registers = mb::kSlotBase + o.slots * mb::kSlotBlockSize;
  const int requests_per_poll =
      (input_registers + MODBUS_MAX_READ_REGISTERS - 1) / MODBUS_MAX_READ_REGISTERS + 2;
  std::printf(
      "modbus_bench: %d clients, %d rounds of %.1f s each side; whole map = %d input registers + "
      "%d "
      "discrete inputs + %d holding registers (%d requests)\n",
      o.clients, o.rounds, o.seconds, input_registers, mb::kDiscreteInputs, mb::kHoldingSize,
      requests_per_poll);

  std::vector<Result> ours_rounds;
  std::vector<Result> ref_rounds;
  {
    pushgate::test::GatewayHarness h(
        {"modbus.enabled=true", "modbus.listen=127.0.0.1", "modbus.port=0",
         "modbus.slot_count=" + std::to_string(o.slots),
         "modbus.max_clients=" + std::to_string(o.clients + 4), "modbus.refresh_ms=1000"});
    auto* adapter = dynamic_cast<mb::ModbusAdapter*>(h.gateway().adapter("modbus"));
    if (adapter == nullptr) {
      std::fprintf(stderr, "the modbus adapter did not start\n");
      return 1;
    }
    ReferenceServer server(input_registers);
    for (int round = 0; round < o.rounds; ++round) {
      ours_rounds.push_back(run_clients(adapter->port(), 255, o));
      ref_rounds.push_back(run_clients(server.port(), 255, o));
      auto& a = ours_rounds.back();
      auto& b = ref_rounds.back();
      std::printf("round %d: pushgate %.0f registers/s, libmodbus example %.0f registers/s\n",
                  round + 1, static_cast<double>(a.registers) / a.elapsed_s,
                  static_cast<double>(b.registers) / b.elapsed_s);
    }
  }
  auto median = [](std::vector<Result>& v) -> Result& {
    std::sort(v.begin(), v.end(), [](const Result& x, const Result& y) {
      return static_cast<double>(x.registers) / x.elapsed_s <
             static_cast<double>(y.registers) / y.elapsed_s;
    });
    return v[v.size() / 2];
  };
  Result& ours = median(ours_rounds);
  Result& ref = median(ref_rounds);
  std::printf("%-22s %14s %12s %11s %11s %15s %8s\n", "server", "registers/s", "requests/s",
              "p50 req ms", "p99 req ms", "p99 map-poll ms", "errors");
  print("pushgate", ours);
  print("libmodbus example", ref);
  double t_ours = static_cast<double>(ours.registers) / ours.elapsed_s;
  double t_ref = static_cast<double>(ref.registers) / ref.elapsed_s;
  std::printf(
      "ratio pushgate/libmodbus-example: throughput %.2f, p99 request latency %.2f, "
      "p99 map-poll latency %.2f\n",
      t_ref > 0 ? t_ours / t_ref : 0,
      percentile(ref.request_us, 0.99) > 0
          ? percentile(ours.request_us, 0.99) / percentile(ref.request_us, 0.99)
          : 0,
      percentile(ref.poll_us, 0.99) > 0
          ? percentile(ours.poll_us, 0.99) / percentile(ref.poll_us, 0.99)
          : 0);
  std::uint64_t errors = 0;
  for (const auto& r : ours_rounds) {
    errors += r.errors;
  }
  for (const auto& r : ref_rounds) {
    errors += r.errors;
  }
  if (errors != 0 || ours.registers == 0 || ref.registers == 0) {
    std::fprintf(stderr, "errors during the run\n");
    return 1;
  }
  return 0;
}
