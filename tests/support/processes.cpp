#include "tests/support/processes.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/socket.h>
#include <unistd.h>

#include <exception>
#include <fstream>
#include <stdexcept>
#include <thread>

#include <nlohmann/json.hpp>

#include "tests/support/gateway_harness.hpp"

extern char** environ;

namespace pushgate::test {

std::uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

pid_t spawn_process(const std::vector<std::string>& argv, const std::string& log) {
  std::vector<char*> args;
  for (const auto& a : argv) {
    args.push_back(const_cast<char*>(a.c_str()));
  }
  args.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  return rc == 0 ? pid : -1;
}

bool wait_http_ready(std::uint16_t port, std::chrono::seconds limit) {
  return wait_for(
      [port] {
        try {
          return http_request(port, "GET", "/readyz").status == 200;
        } catch (const std::exception&) {
          return false;
        }
      },
      limit);
}

std::string admin_api_token(std::uint16_t api_port, const std::string& data_dir) {
  const std::string file = data_dir + "/initial-admin-password";
  std::ifstream in(file);
  std::string name;
  std::string password;
  if (!(in >> name >> password)) {
    throw std::runtime_error("cannot read the first admin's password from " + file);
  }
  nlohmann::json login = {{"name", name}, {"password", password}};
  auto session = http_request_as("", api_port, "POST", "/api/v1/login", login.dump());
  if (session.status != 200) {
    throw std::runtime_error("login as " + name + ": " + std::to_string(session.status) + " " +
                             session.body);
  }
  const std::string cookie = session.set_cookie.substr(0, session.set_cookie.find(';'));
  const auto csrf = nlohmann::json::parse(session.body).at("csrf_token").get<std::string>();
  auto created = http_request_as("", api_port, "POST", "/api/v1/tokens",
                                 R"({"name": "test-admin", "role": "admin"})",
                                 {"Cookie: " + cookie, "X-CSRF-Token: " + csrf});
  if (created.status != 201) {
    throw std::runtime_error("token: " + std::to_string(created.status) + " " + created.body);
  }
  auto token = nlohmann::json::parse(created.body).at("token").get<std::string>();
  register_api_token(api_port, token);
  return token;
}

bool wait_for(const std::function<bool()>& pred, std::chrono::milliseconds limit) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (pred()) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return pred();
}

std::vector<std::string> pushgated_argv(const std::string& daemon, const std::string& config,
                                        const std::string& data_dir, std::uint16_t zkpush_port,
                                        std::uint16_t api_port,
                                        const std::vector<std::string>& sets) {
  std::vector<std::string> argv = {daemon,
                                   "--config",
                                   config,
                                   "--set",
                                   "gateway.data_dir=" + data_dir,
                                   "--set",
                                   "zkpush.listen=127.0.0.1",
                                   "--set",
                                   "zkpush.port=" + std::to_string(zkpush_port),
                                   "--set",
                                   "api.port=" + std::to_string(api_port),
                                   "--set",
                                   "log.level=warn"};
  for (const auto& set : sets) {
    argv.push_back("--set");
    argv.push_back(set);
  }
  return argv;
}

}  // namespace pushgate::test
