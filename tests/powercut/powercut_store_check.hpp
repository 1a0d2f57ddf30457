// The last check on every power-cut image, shared by the in-process harness
// and the daemon variant: the store opens the image and commits a batch.
#pragma once

#include <chrono>
#include <future>
#include <memory>
#include <string>

#include "gateway/clock.hpp"
#include "gateway/logging.hpp"
#include "gateway/metrics/metrics.hpp"
#include "gateway/store/store.hpp"

namespace pushgate::powercut {

class FixedClock final : public Clock {
 public:
  std::chrono::system_clock::time_point now() const override {
    return std::chrono::system_clock::time_point(std::chrono::milliseconds(1'700'000'000'000));
  }
  std::chrono::steady_clock::time_point monotonic() const override {
    return std::chrono::steady_clock::time_point(std::chrono::milliseconds(1'000));
  }
};

/** The store opens the image (migrating it when it lacks the schema) and commits a batch. */
inline std::string check_store_appends(const std::string& db_path) {
  // Thousands of image stores would each log their start line.
  auto log = logger("store");
  auto level = log->level();
  log->set_level(spdlog::level::warn);
  struct Restore {
    std::shared_ptr<spdlog::logger> log;
    spdlog::level::level_enum level;
    ~Restore() { log->set_level(level); }
  } restore{log, level};
  FixedClock clock;
  metrics::Registry registry;
  store::Store::Options so;
  so.path = db_path;
  so.read_threads = 1;
  so.synchronous = "OFF";  // openability, not durability: spares an fsync per image
  std::string error;
  auto st = store::Store::open(so, clock, registry, error);
  if (!st) {
    return "Store::open on the image failed: " + error;
  }
  st->start();
  WriteBatch b;
  Event e;
  e.terminal_sn = "IMAGECHECK";
  e.record_key = "image-check";
  e.kind = EventKind::Attendance;
  e.local_time = "2023-11-14 22:13:20";
  e.raw = "image check";
  e.received_ms = 1'700'000'000'000;
  b.events.push_back(std::move(e));
  auto p = std::make_shared<std::promise<CommitResult>>();
  auto f = p->get_future();
  st->append(std::move(b), [p](CommitResult r) { p->set_value(std::move(r)); });
  if (f.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
    return "append on the image never completed";
  }
  auto r = f.get();
  st->stop();
  if (r.ec) {
    return "append on the image failed: " + r.ec.message();
  }
  return {};
}

}  // namespace pushgate::powercut
