#include "tests/sim/cli_flags.hpp"

namespace pushgate::sim::cli {

bool parse_number(std::string_view flag, const std::string& v, std::uint64_t lo, std::uint64_t hi,
                  std::uint64_t& out, std::string& error) {
  std::uint64_t n = 0;
  bool ok = !v.empty() && v.size() <= 19;
  for (const char c : v) {
    ok = ok && c >= '0' && c <= '9';
    if (ok) {
      n = n * 10 + static_cast<std::uint64_t>(c - '0');
    }
  }
  if (!ok || n < lo || n > hi) {
    error = std::string(flag) + ": expected a number in " + std::to_string(lo) + ".." +
            std::to_string(hi) + ", got '" + v + "'";
    return false;
  }
  out = n;
  return true;
}

Setter text(std::string& field) {
  return [&field](const std::string& f, const std::string& v, std::string& e) {
    if (v.empty()) {
      e = f + ": empty value";
      return false;
    }
    field = v;
    return true;
  };
}

Parsed parse_flags(const std::vector<std::string>& args, const Setters& with_value,
                   const Switches& switches, std::string_view command, std::string& error) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string arg = args[i];
    if (arg == "--help" || arg == "-h") {
      return Parsed::Help;
    }
    if (const auto on = switches.find(arg); on != switches.end()) {
      on->second();
      continue;
    }
    std::string value;
    bool inline_value = false;
    if (const auto eq = arg.find('='); eq != std::string::npos && arg.rfind("--", 0) == 0) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      inline_value = true;
    }
    const auto setter = with_value.find(arg);
    if (setter == with_value.end()) {
      error = "unknown argument '" + args[i] + "' (see " + std::string(command) + " --help)";
      return Parsed::Error;
    }
    if (!inline_value) {
      if (i + 1 >= args.size()) {
        error = arg + ": missing value";
        return Parsed::Error;
      }
      value = args[++i];
    }
    if (!setter->second(arg, value, error)) {
      return Parsed::Error;
    }
  }
  return Parsed::Ok;
}

}  // namespace pushgate::sim::cli
