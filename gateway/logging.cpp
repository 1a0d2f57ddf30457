#include "gateway/logging.hpp"

#include "gateway/log_rate_limiter.hpp"

#include <array>
#include <mutex>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace pushgate {

namespace {

constexpr std::array<std::pair<Component, std::string_view>, 10> kNames{{
    {Component::Main, "main"},
    {Component::Store, "store"},
    {Component::Http, "http"},
    {Component::Zkpush, "zkpush"},
    {Component::Api, "api"},
    {Component::Commands, "commands"},
    {Component::Mqtt, "mqtt"},
    {Component::Modbus, "modbus"},
    {Component::Rules, "rules"},
    {Component::Config, "config"},
}};

std::mutex g_mutex;
spdlog::sink_ptr g_sink;
std::string g_pattern = "%Y-%m-%dT%H:%M:%S.%e%z %l [%n] %v";

spdlog::sink_ptr sink() {
  if (!g_sink) {
    g_sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    g_sink->set_pattern(g_pattern);
  }
  return g_sink;
}

}  // namespace

std::string_view to_string(Component c) noexcept {
  for (const auto& [k, n] : kNames) {
    if (k == c) {
      return n;
    }
  }
  return "main";
}

std::shared_ptr<spdlog::logger> logger(Component c) {
  std::lock_guard lock(g_mutex);
  std::string name(to_string(c));
  if (auto existing = spdlog::get(name)) {
    return existing;
  }
  auto l = std::make_shared<spdlog::logger>(name, sink());
  l->set_level(spdlog::default_logger()->level());
  spdlog::register_logger(l);
  return l;
}

std::string configure_logging(std::string_view level, std::string_view component_levels,
                              bool under_systemd) {
  auto global = spdlog::level::from_str(std::string(level));
  if (global == spdlog::level::off && level != "off") {
    return "unknown log level \"" + std::string(level) + "\"";
  }
  {
    std::lock_guard lock(g_mutex);
    // journald timestamps every line itself and maps <N> to a priority.
    g_pattern = under_systemd ? "%l [%n] %v" : "%Y-%m-%dT%H:%M:%S.%e%z %l [%n] %v";
    sink()->set_pattern(g_pattern);
  }
  spdlog::set_level(global);
  for (const auto& [c, n] : kNames) {
    logger(c)->set_level(global);
  }
  std::string_view rest = component_levels;
  while (!rest.empty()) {
    auto comma = rest.find(',');
    auto item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    if (item.empty()) {
      continue;
    }
    auto eq = item.find('=');
    if (eq == std::string_view::npos) {
      return "expected component=level in \"" + std::string(item) + "\"";
    }
    auto comp = item.substr(0, eq);
    auto lvl_text = std::string(item.substr(eq + 1));
    auto lvl = spdlog::level::from_str(lvl_text);
    if (lvl == spdlog::level::off && lvl_text != "off") {
      return "unknown log level \"" + lvl_text + "\" for " + std::string(comp);
    }
    bool found = false;
    for (const auto& [c, n] : kNames) {
      if (n == comp) {
        logger(c)->set_level(lvl);
        found = true;
      }
    }
    if (!found) {
      return "unknown log component \"" + std::string(comp) + "\"";
    }
  }
  return {};
}

std::optional<std::size_t> LogRateLimiter::admit(std::string_view reason, std::int64_t now_ms) {
  std::lock_guard lock(mutex_);
  auto it = slots_.find(reason);
  if (it == slots_.end()) {
    it = slots_.emplace(std::string(reason), Slot{}).first;
  }
  auto& slot = it->second;
  if (slot.ever && now_ms - slot.logged_ms < interval_ms_) {
    ++slot.suppressed;
    return std::nullopt;
  }
  auto suppressed = slot.suppressed;
  slot.ever = true;
  slot.logged_ms = now_ms;
  slot.suppressed = 0;
  return suppressed;
}

std::string suppressed_note(std::size_t suppressed) {
  if (suppressed == 0) {
    return {};
  }
  return " (" + std::to_string(suppressed) + " similar line" + (suppressed == 1 ? "" : "s") +
         " suppressed)";
}

}  // namespace pushgate
