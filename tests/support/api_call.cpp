#include "tests/support/api_call.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cctype>
#include <fstream>

namespace pushgate::test::api_call {

namespace net = boost::asio;

Answer answer_of(const bhttp::response<bhttp::string_body>& res) {
  Answer a;
  a.status = res.result_int();
  a.body = res.body();
  for (const auto& f : res) {
    std::string name(f.name_string());
    for (auto& c : name) {
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    a.headers[name] = std::string(f.value());
  }
  return a;
}

Answer call(std::uint16_t port, bhttp::verb method, const std::string& target,
            const std::string& body, const Headers& headers) {
  net::io_context ioc;
  net::ip::tcp::socket socket(ioc);
  socket.connect({net::ip::make_address("127.0.0.1"), port});
  return exchange(socket, method, target, body, headers, "127.0.0.1");
}

Answer call_json(std::uint16_t port, bhttp::verb method, const std::string& target,
                 const std::string& body, const Headers& headers) {
  Headers all = {{"Content-Type", "application/json"}};
  all.insert(all.end(), headers.begin(), headers.end());
  return call(port, method, target, body, all);
}

Answer login(std::uint16_t port, const std::string& name, const std::string& password) {
  return call_json(port, bhttp::verb::post, "/api/v1/login",
                   nlohmann::json{{"name", name}, {"password", password}}.dump());
}

Session session_of(const Answer& login_answer) {
  auto it = login_answer.headers.find("set-cookie");
  std::string set_cookie = it == login_answer.headers.end() ? std::string() : it->second;
  return Session{set_cookie.substr(0, set_cookie.find(';')),
                 login_answer.js().value("csrf_token", "")};
}

Headers bearer(const std::string& token) {
  return {{"Authorization", "Bearer " + token}};
}

std::string initial_admin_password(const std::filesystem::path& data_dir) {
  std::ifstream f(data_dir / "initial-admin-password");
  std::string name;
  std::string password;
  f >> name >> password;
  return password;
}

}  // namespace pushgate::test::api_call
