#pragma once

// Latency figures shared by the benchmarks: quantiles, events paced at a
// rate, and the delay of each event from the moment it happened to the
// moment it arrived.

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <map>
#include <thread>
#include <vector>

namespace pushgate::bench {

/** The p-quantile of `v` (index p x (n - 1), no interpolation); 0 when empty. Reorders `v`. */
inline double percentile(std::vector<double>& v, double p) {
  if (v.empty()) {
    return 0;
  }
  auto k = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

/** Calls emit(i) for i = 0 .. total - 1, one every 1 / per_second seconds from now. */
template <class Emit>
void paced(std::size_t total, double per_second, Emit&& emit) {
  const auto period = std::chrono::nanoseconds(static_cast<long long>(1e9 / per_second));
  auto next = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < total; ++i) {
    std::this_thread::sleep_until(next);
    next += period;
    emit(i);
  }
}

/** Milliseconds from `happened` to `arrived` of every key both have. */
template <class Key, class TimePoint>
std::vector<double> latencies_ms(const std::map<Key, TimePoint>& happened,
                                 const std::map<Key, TimePoint>& arrived) {
  std::vector<double> out;
  out.reserve(happened.size());
  for (const auto& [key, t] : happened) {
    auto it = arrived.find(key);
    if (it != arrived.end()) {
      out.push_back(std::chrono::duration<double, std::milli>(it->second - t).count());
    }
  }
  return out;
}

/** p50, p99 and max of `ms` (0 each when empty). */
struct LatencySummary {
  double p50 = 0;
  double p99 = 0;
  double max = 0;
};
inline LatencySummary summarize(std::vector<double> ms) {
  LatencySummary s;
  if (ms.empty()) {
    return s;
  }
  s.max = *std::max_element(ms.begin(), ms.end());
  s.p50 = percentile(ms, 0.50);
  s.p99 = percentile(ms, 0.99);
  return s;
}

}  // namespace pushgate::bench
