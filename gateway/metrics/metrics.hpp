#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace pushgate::metrics {

/** Label set rendered as `{a="x",b="y"}`; order as given. */
using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void inc(std::uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

class Gauge {
 public:
  void set(double v) noexcept { value_.store(v, std::memory_order_relaxed); }
  void add(double d) noexcept {
    double cur = value_.load(std::memory_order_relaxed);
    while (!value_.compare_exchange_weak(cur, cur + d, std::memory_order_relaxed)) {
    }
  }
  double value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

/** A cumulative histogram with fixed upper bounds (seconds, bytes…). */
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double v) noexcept;
  struct Snapshot {
    std::vector<double> bounds;
    std::vector<std::uint64_t> cumulative;  ///< per bound, then +Inf
    double sum = 0;
    std::uint64_t count = 0;
  };
  Snapshot snapshot() const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;
  std::atomic<std::uint64_t> count_{0};
  std::atomic<double> sum_{0};
};

/**
 * The process's metrics, rendered in the Prometheus text format (0.0.4) at
 * /metrics. Registration takes a lock; updating a metric is lock-free.
 * Returned references stay valid for the registry's lifetime.
 */
class Registry {
 public:
  Counter& counter(const std::string& name, const std::string& help, const Labels& labels = {});
  Gauge& gauge(const std::string& name, const std::string& help, const Labels& labels = {});
  Histogram& histogram(const std::string& name, const std::string& help,
                       const std::vector<double>& bounds, const Labels& labels = {});
  /** A gauge computed when scraped (database size, disk free…). Called on the scraping thread. */
  void callback_gauge(const std::string& name, const std::string& help, std::function<double()> fn,
                      const Labels& labels = {});

  std::string render() const;

  /** Value of a counter or gauge (0 when absent), for tests and health checks. */
  double value(const std::string& name, const Labels& labels = {}) const;

 private:
  enum class Type { Counter, Gauge, Histogram };
  struct Family {
    Type type;
    std::string help;
    std::map<std::string, std::unique_ptr<Counter>> counters;
    std::map<std::string, std::unique_ptr<Gauge>> gauges;
    std::map<std::string, std::unique_ptr<Histogram>> histograms;
    std::map<std::string, std::function<double()>> callbacks;
  };
  Family& family(const std::string& name, Type type, const std::string& help);

  mutable std::mutex mutex_;
  std::map<std::string, Family> families_;
};

std::string render_labels(const Labels& labels);

}  // namespace pushgate::metrics
