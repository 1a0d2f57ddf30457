#include "gateway/logging.hpp"

#include "gateway/config/config.hpp"
#include "gateway/log_rate_limiter.hpp"

#include <algorithm>
#include <map>
#include <mutex>
#include <optional>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace pushgate {

namespace {

// Guards everything below. Loggers are created on first use by any thread.
std::mutex g_mutex;
spdlog::sink_ptr g_sink;
std::string g_pattern = "%Y-%m-%dT%H:%M:%S.%e%z %l [%n] %v";
std::optional<spdlog::level::level_enum> g_default;  // log.level once configured
std::map<std::string, spdlog::level::level_enum, std::less<>> g_overrides;  // log.components
std::map<std::string, std::shared_ptr<spdlog::logger>, std::less<>> g_loggers;

spdlog::sink_ptr sink() {
  if (!g_sink) {
    g_sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    g_sink->set_pattern(g_pattern);
  }
  return g_sink;
}

spdlog::level::level_enum level_for(std::string_view name) {
  if (auto it = g_overrides.find(name); it != g_overrides.end()) {
    return it->second;
  }
  return g_default.value_or(spdlog::default_logger()->level());
}

bool valid_name(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

// "zkpush=debug,store=warn" into `overrides`; a message when malformed.
std::string parse_levels(std::string_view text,
                         std::map<std::string, spdlog::level::level_enum, std::less<>>& overrides) {
  std::string_view rest = text;
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
    if (!valid_name(comp)) {
      return "\"" + std::string(comp) +
             "\" is not a component name (lowercase letters, digits, '_' and '-')";
    }
    auto lvl_text = std::string(item.substr(eq + 1));
    auto lvl = spdlog::level::from_str(lvl_text);
    if (lvl == spdlog::level::off && lvl_text != "off") {
      return "unknown log level \"" + lvl_text + "\" for " + std::string(comp);
    }
    overrides[std::string(comp)] = lvl;
  }
  return {};
}

}  // namespace

std::shared_ptr<spdlog::logger> logger(std::string_view name) {
  std::lock_guard lock(g_mutex);
  if (auto it = g_loggers.find(name); it != g_loggers.end()) {
    return it->second;
  }
  auto l = std::make_shared<spdlog::logger>(std::string(name), sink());
  l->set_level(level_for(name));
  g_loggers.emplace(std::string(name), l);
  return l;
}

std::string configure_logging(std::string_view level, std::string_view component_levels,
                              bool under_systemd) {
  auto global = spdlog::level::from_str(std::string(level));
  if (global == spdlog::level::off && level != "off") {
    return "unknown log level \"" + std::string(level) + "\"";
  }
  std::map<std::string, spdlog::level::level_enum, std::less<>> overrides;
  if (auto err = parse_levels(component_levels, overrides); !err.empty()) {
    return err;
  }
  std::lock_guard lock(g_mutex);
  // journald timestamps every line itself and maps <N> to a priority.
  g_pattern = under_systemd ? "%l [%n] %v" : "%Y-%m-%dT%H:%M:%S.%e%z %l [%n] %v";
  sink()->set_pattern(g_pattern);
  spdlog::set_level(global);
  g_default = global;
  g_overrides = std::move(overrides);
  for (const auto& [name, l] : g_loggers) {
    l->set_level(level_for(name));
  }
  return {};
}

std::string check_component_levels(std::string_view component_levels,
                                   const std::vector<std::string>& known) {
  std::map<std::string, spdlog::level::level_enum, std::less<>> overrides;
  if (auto err = parse_levels(component_levels, overrides); !err.empty()) {
    return err;
  }
  for (const auto& [name, level] : overrides) {
    (void)level;
    if (std::find(known.begin(), known.end(), name) != known.end()) {
      continue;
    }
    std::string message = "no component \"" + name + "\"";
    if (auto near = config::nearest_word(name, known); !near.empty()) {
      message += "; did you mean " + near + "?";
    }
    message += " (components:";
    for (const auto& k : known) {
      message += " " + k;
    }
    return message + ")";
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
