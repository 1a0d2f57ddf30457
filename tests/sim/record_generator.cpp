#include "tests/sim/record_generator.hpp"

#include <time.h>

#include <algorithm>
#include <array>

namespace pushgate::sim {
namespace {

std::uint64_t splitmix(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Verification modes seen on a SpeedFace (Appendix 7), weighted towards face.
constexpr std::array<int, 10> kVerifyModes = {15, 15, 15, 15, 15, 1, 1, 1, 4, 3};

}  // namespace

LocalSeconds host_local_now() {
  const auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  ::localtime_r(&t, &tm);
  return LocalSeconds{now.time_since_epoch() + std::chrono::seconds{tm.tm_gmtoff}};
}

LocalSeconds generator_start_for_now(LocalSeconds now, std::size_t count,
                                     const GeneratorConfig& config) {
  // The constructor adds up to one day, each punch up to max_gap.
  const auto gap = std::max<std::int64_t>(1, config.max_gap.count());
  return now - std::chrono::hours{24} -
         std::chrono::seconds{static_cast<std::int64_t>(count) * gap};
}

RecordGenerator::RecordGenerator(std::uint64_t seed, std::uint64_t terminal_index,
                                 GeneratorConfig config)
    : config_(config), state_(seed * 0x2545f4914f6cdd1dULL + terminal_index), time_(config.start) {
  // Spread terminals over the first day so they do not all punch in lockstep.
  splitmix(state_);
  time_ += std::chrono::seconds{below(24 * 3600)};
}

std::uint64_t RecordGenerator::next_u64() {
  return splitmix(state_);
}

std::uint64_t RecordGenerator::below(std::uint64_t bound) {
  return bound == 0 ? 0 : next_u64() % bound;
}

AttendanceRecord RecordGenerator::next() {
  const auto max_gap =
      static_cast<std::uint64_t>(std::max<std::int64_t>(1, config_.max_gap.count()));
  time_ += std::chrono::seconds{1 + below(max_gap)};
  AttendanceRecord r;
  r.pin = std::to_string(1 + below(std::max<std::size_t>(1, config_.users)));
  r.time = time_;
  r.status = static_cast<int>(below(6));
  r.verify = kVerifyModes[below(kVerifyModes.size())];
  r.mask = below(4) == 0 ? 1 : 0;
  r.temperature_tenths = 358 + static_cast<int>(below(16));  // 35.8 .. 37.3
  r.index = ++index_;
  return r;
}

std::vector<AttendanceRecord> RecordGenerator::take(std::size_t count) {
  std::vector<AttendanceRecord> out;
  out.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    out.push_back(next());
  }
  return out;
}

}  // namespace pushgate::sim
