#pragma once

// The flag parsing the device simulators' subcommands share
// (`pushgate-sim dahua ...`, `pushgate-sim biostar2 ...`): `--flag value`,
// `--flag=value`, value-less switches and --help/-h. Pure; no I/O.

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace pushgate::sim::cli {

/// Stores `value` for `flag`, or sets `error` and returns false.
using Setter =
    std::function<bool(const std::string& flag, const std::string& value, std::string& error)>;
using Setters = std::map<std::string, Setter, std::less<>>;
/// Flags without a value.
using Switches = std::map<std::string, std::function<void()>, std::less<>>;

/// A decimal number in [lo, hi] (at most 19 digits, nothing else).
bool parse_number(std::string_view flag, const std::string& v, std::uint64_t lo, std::uint64_t hi,
                  std::uint64_t& out, std::string& error);

/// A non-empty text value.
Setter text(std::string& field);

/// A number in [lo, hi], stored into `field` (any integer type).
template <class Field>
Setter number(Field& field, std::uint64_t lo, std::uint64_t hi) {
  return [&field, lo, hi](const std::string& f, const std::string& v, std::string& e) {
    std::uint64_t n = 0;
    if (!parse_number(f, v, lo, hi, n, e)) {
      return false;
    }
    field = static_cast<Field>(n);
    return true;
  };
}

enum class Parsed { Ok, Help, Error };

/// Walks `args`: --help/-h ends with Help; an unknown flag or a missing or
/// refused value ends with Error and `error` says which ("see <command> --help").
Parsed parse_flags(const std::vector<std::string>& args, const Setters& with_value,
                   const Switches& switches, std::string_view command, std::string& error);

}  // namespace pushgate::sim::cli
