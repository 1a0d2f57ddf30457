// pushgate-sim: many simulated ZKTeco attendance terminals against a PUSH
// server. A thin main; the work is in load_runner.cpp (see README.md).

#include <iostream>
#include <string>
#include <vector>

#include "tests/sim/dahua_cli.hpp"
#include "tests/sim/load_runner.hpp"
#include "tests/sim/sim_cli.hpp"

int main(int argc, char** argv) {
  using namespace pushgate::sim;
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && args[0] == "dahua") {
    // `pushgate-sim dahua ...`: one simulated Dahua device (dahua_cli.hpp).
    const auto dahua = dahua::parse_dahua_command_line({args.begin() + 1, args.end()});
    if (!dahua.ok) {
      std::cerr << "pushgate-sim dahua: " << dahua.error << "\n";
      return 1;
    }
    if (dahua.help) {
      std::cout << dahua::dahua_usage();
      return 0;
    }
    return dahua::run_dahua(dahua.cli, std::cout, std::cerr);
  }
  const CliParse parsed = parse_command_line(args);
  if (!parsed.ok) {
    std::cerr << "pushgate-sim: " << parsed.error << "\n";
    return 1;
  }
  if (parsed.help) {
    std::cout << usage();
    return 0;
  }
  const LoadConfig& config = parsed.config;
  std::cerr << "pushgate-sim: " << config.terminals << " terminal(s) x "
            << config.records_per_terminal << " records -> " << config.host << ":" << config.port
            << "\n";
  LoadRunner runner(config);
  const LoadSummary summary = runner.run(&std::cerr);
  std::cout << (config.json ? summary_json(summary) : format_summary(summary));
  return summary.exit_code;
}
