#include "gateway/config/device_credentials.hpp"

#include <sys/stat.h>

#include <fstream>

namespace pushgate::config {

std::string read_secret_file(const std::string& path, std::string& out) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return "cannot read " + path;
  }
  if (!S_ISREG(st.st_mode)) {
    return path + " is not a regular file";
  }
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    return path + " may be read or written by group or others (chmod 600 it)";
  }
  std::ifstream in(path, std::ios::binary);
  std::string line;
  if (!in || !std::getline(in, line)) {
    return "cannot read " + path;
  }
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) {
    line.pop_back();
  }
  if (line.empty()) {
    return path + " is empty";
  }
  out = std::move(line);
  return {};
}

void check_device_access(const std::string& prefix, DeviceAccess& access,
                         std::vector<ConfigError>& errors) {
  if (!access.password.empty() && !access.password_file.empty()) {
    errors.push_back({prefix + ".password", "set either password or password_file, not both"});
  } else if (access.password.empty() && access.password_file.empty()) {
    errors.push_back({prefix + ".password", "one of password and password_file is required"});
  } else if (!access.password_file.empty()) {
    if (auto problem = read_secret_file(access.password_file, access.password); !problem.empty()) {
      errors.push_back({prefix + ".password_file", std::move(problem)});
    }
  }
  if (!access.ca_file.empty()) {
    if (!access.https) {
      errors.push_back({prefix + ".ca_file", "is set but https is off"});
    } else if (std::ifstream in(access.ca_file); !in) {
      errors.push_back({prefix + ".ca_file", "cannot read " + access.ca_file});
    }
  }
}

}  // namespace pushgate::config
