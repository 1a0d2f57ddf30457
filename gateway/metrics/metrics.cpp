#include "gateway/metrics/metrics.hpp"

#include <charconv>
#include <cmath>
#include <sstream>

namespace pushgate::metrics {

namespace {
std::string escape_label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string format_double(double v) {
  if (std::isinf(v)) {
    return v > 0 ? "+Inf" : "-Inf";
  }
  if (std::isnan(v)) {
    return "NaN";
  }
  // The shortest text that reads back as the same double, in %g style like
  // the Go client (strconv 'g', -1): bucket bounds render as le="0.1", not
  // le="0.10000000000000001", so selectors on a bound match what was declared.
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::general);
  return ec == std::errc{} ? std::string(buf, end) : std::to_string(v);
}

std::string with_label(const std::string& labels, const std::string& extra) {
  if (labels.empty()) {
    return "{" + extra + "}";
  }
  return labels.substr(0, labels.size() - 1) + "," + extra + "}";
}
}  // namespace

std::string render_labels(const Labels& labels) {
  if (labels.empty()) {
    return "";
  }
  std::string out = "{";
  for (std::size_t i = 0; i < labels.size(); ++i) {
    out += (i ? "," : "") + labels[i].first + "=\"" + escape_label(labels[i].second) + "\"";
  }
  return out + "}";
}

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      buckets_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1)) {
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    buckets_[i].store(0);
  }
}

void Histogram::observe(double v) noexcept {
  std::size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) {
    ++i;
  }
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  double cur = sum_.load(std::memory_order_relaxed);
  while (!sum_.compare_exchange_weak(cur, cur + v, std::memory_order_relaxed)) {
  }
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  s.bounds = bounds_;
  std::uint64_t running = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    s.cumulative.push_back(running);
  }
  s.count = running;
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

Registry::Family& Registry::family(const std::string& name, Type type, const std::string& help) {
  auto [it, inserted] = families_.try_emplace(name);
  if (inserted) {
    it->second.type = type;
    it->second.help = help;
  }
  return it->second;
}

Counter& Registry::counter(const std::string& name, const std::string& help, const Labels& labels) {
  std::lock_guard lock(mutex_);
  auto& f = family(name, Type::Counter, help);
  auto& slot = f.counters[render_labels(labels)];
  if (!slot) {
    slot = std::make_unique<Counter>();
  }
  return *slot;
}

Gauge& Registry::gauge(const std::string& name, const std::string& help, const Labels& labels) {
  std::lock_guard lock(mutex_);
  auto& f = family(name, Type::Gauge, help);
  auto& slot = f.gauges[render_labels(labels)];
  if (!slot) {
    slot = std::make_unique<Gauge>();
  }
  return *slot;
}

Histogram& Registry::histogram(const std::string& name, const std::string& help,
                               const std::vector<double>& bounds, const Labels& labels) {
  std::lock_guard lock(mutex_);
  auto& f = family(name, Type::Histogram, help);
  auto& slot = f.histograms[render_labels(labels)];
  if (!slot) {
    slot = std::make_unique<Histogram>(bounds);
  }
  return *slot;
}

void Registry::callback_gauge(const std::string& name, const std::string& help,
                              std::function<double()> fn, const Labels& labels) {
  std::lock_guard lock(mutex_);
  auto& f = family(name, Type::Gauge, help);
  f.callbacks[render_labels(labels)] = std::move(fn);
}

std::string Registry::render() const {
  std::lock_guard lock(mutex_);
  std::ostringstream out;
  for (const auto& [name, f] : families_) {
    out << "# HELP " << name << " " << f.help << "\n";
    switch (f.type) {
      case Type::Counter:
        out << "# TYPE " << name << " counter\n";
        for (const auto& [labels, c] : f.counters) {
          out << name << labels << " " << c->value() << "\n";
        }
        break;
      case Type::Gauge:
        out << "# TYPE " << name << " gauge\n";
        for (const auto& [labels, g] : f.gauges) {
          out << name << labels << " " << format_double(g->value()) << "\n";
        }
        for (const auto& [labels, fn] : f.callbacks) {
          out << name << labels << " " << format_double(fn()) << "\n";
        }
        break;
      case Type::Histogram:
        out << "# TYPE " << name << " histogram\n";
        for (const auto& [labels, h] : f.histograms) {
          auto s = h->snapshot();
          for (std::size_t i = 0; i < s.bounds.size(); ++i) {
            out << name << "_bucket"
                << with_label(labels, "le=\"" + format_double(s.bounds[i]) + "\"") << " "
                << s.cumulative[i] << "\n";
          }
          out << name << "_bucket" << with_label(labels, "le=\"+Inf\"") << " " << s.count << "\n";
          out << name << "_sum" << labels << " " << format_double(s.sum) << "\n";
          out << name << "_count" << labels << " " << s.count << "\n";
        }
        break;
    }
  }
  return out.str();
}

double Registry::value(const std::string& name, const Labels& labels) const {
  std::lock_guard lock(mutex_);
  auto it = families_.find(name);
  if (it == families_.end()) {
    return 0;
  }
  auto key = render_labels(labels);
  const auto& f = it->second;
  if (auto c = f.counters.find(key); c != f.counters.end()) {
    return static_cast<double>(c->second->value());
  }
  if (auto g = f.gauges.find(key); g != f.gauges.end()) {
    return g->second->value();
  }
  if (auto cb = f.callbacks.find(key); cb != f.callbacks.end()) {
    return cb->second();
  }
  return 0;
}

}  // namespace pushgate::metrics
