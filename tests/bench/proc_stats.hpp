#pragma once

// What /proc says about a process, for the benchmarks that print the CPU time
// and resident size of pushgated (or of themselves).

#include <sys/types.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <string_view>

namespace pushgate::bench {

/** utime + stime of `pid` (every thread, live or gone), seconds; 0 if unreadable. */
inline double cpu_seconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // The command may hold spaces and parentheses: the fields start after the last ')'.
  auto close = stat.rfind(')');
  if (close == std::string::npos || close + 2 > stat.size()) {
    return 0;
  }
  std::istringstream fields(stat.substr(close + 2));
  std::string f;
  unsigned long long utime = 0;
  unsigned long long stime = 0;
  // After the command: state is field 3; utime is 14, stime 15.
  for (int i = 3; i <= 15 && fields >> f; ++i) {
    if (i == 14) {
      utime = std::stoull(f);
    } else if (i == 15) {
      stime = std::stoull(f);
    }
  }
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

/** The number after "<field>:" in /proc/<pid>/<file>; 0 if absent or unreadable. */
inline double proc_field(pid_t pid, std::string_view file, std::string_view field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/" + std::string(file));
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() > field.size() && line.compare(0, field.size(), field) == 0 &&
        line[field.size()] == ':') {
      return std::strtod(line.c_str() + field.size() + 1, nullptr);
    }
  }
  return 0;
}

/** A field of /proc/<pid>/status in MB ("VmRSS", "VmHWM"); 0 if absent. */
inline double status_mb(pid_t pid, std::string_view field) {
  return proc_field(pid, "status", field) / 1024.0;
}

/** A counter of /proc/<pid>/io ("wchar": bytes passed to write calls); 0 if unreadable. */
inline double io_counter(pid_t pid, std::string_view field) {
  return proc_field(pid, "io", field);
}

/** Resident size of `pid` in MB. */
inline double rss_mb(pid_t pid) {
  return status_mb(pid, "VmRSS");
}

}  // namespace pushgate::bench
