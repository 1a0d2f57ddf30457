#include "tests/integration/mqtt/mqtt_fixture.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <stdexcept>
#include <thread>

#include "tests/support/gateway_harness.hpp"

namespace pushgate::test {

namespace {
bool accepts(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}
}  // namespace

Mosquitto::Mosquitto(std::filesystem::path dir, std::vector<Listener> listeners, bool persistence)
    : dir_(std::move(dir)), listeners_(std::move(listeners)), persistence_(persistence) {
  std::filesystem::create_directories(dir_);
}

Mosquitto::~Mosquitto() {
  stop(SIGKILL);
}

void Mosquitto::write_config() {
  std::ofstream c(dir_ / "mosquitto.conf", std::ios::trunc);
  // Run as us: a broker started as root otherwise drops to the mosquitto
  // user, which cannot read the test's key files or write its data dir.
  if (const passwd* pw = ::getpwuid(::getuid()); pw != nullptr) {
    c << "user " << pw->pw_name << "\n";
  }
  c << "per_listener_settings false\n"
    << "allow_anonymous true\n"
    << "persistence " << (persistence_ ? "true" : "false") << "\n"
    << "persistence_location " << dir_.string() << "/\n"
    << "autosave_interval 0\n"
    << "log_dest file " << (dir_ / "mosquitto.log").string() << "\n"
    << "log_type error\nlog_type warning\nlog_type notice\n";
  // The broker settings the MQTT README tells a site to use (no per-client
  // queue cap: a test subscriber may fall behind a fast drain), as shipped.
  const auto shipped =
      std::filesystem::path(PUSHGATE_SOURCE_DIR) / "config/mosquitto-pushgate.conf";
  std::ifstream in(shipped);
  if (!in) {
    throw std::runtime_error("cannot read " + shipped.string());
  }
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line[0] != '#') {
      c << line << "\n";
    }
  }
  for (const auto& l : listeners_) {
    c << "listener " << l.port << " 127.0.0.1\n";
    for (const auto& line : l.lines) {
      c << line << "\n";
    }
  }
}

void Mosquitto::start() {
  write_config();
  pid_ = spawn_process({"/usr/sbin/mosquitto", "-c", (dir_ / "mosquitto.conf").string()},
                       (dir_ / "mosquitto.out").string());
  if (pid_ <= 0) {
    throw std::runtime_error("cannot start /usr/sbin/mosquitto");
  }
  bool up = wait_for(
      [this] {
        for (const auto& l : listeners_) {
          if (!accepts(l.port)) {
            return false;
          }
        }
        return true;
      },
      std::chrono::seconds(10));
  if (!up) {
    throw std::runtime_error("mosquitto did not listen; see " + (dir_ / "mosquitto.log").string());
  }
}

void Mosquitto::signal(int sig) {
  if (pid_ > 0) {
    ::kill(pid_, sig);
  }
}

void Mosquitto::stop(int sig) {
  if (pid_ <= 0) {
    return;
  }
  ::kill(pid_, sig);
  int st = 0;
  ::waitpid(pid_, &st, 0);
  pid_ = -1;
}

Subscriber::Subscriber(std::string uri, std::string client_id, int mqtt_version)
    : version_(mqtt_version) {
  ::mqtt::create_options co(mqtt_version);
  co.set_max_buffered_messages(65535);
  client_ = std::make_unique<::mqtt::async_client>(uri, client_id, co, nullptr);
  client_->set_message_callback([this](::mqtt::const_message_ptr m) {
    Received r;
    r.topic = m->get_topic();
    r.payload = m->get_payload_str();
    r.retained = m->is_retained();
    const auto& props = m->get_properties();
    if (props.contains(::mqtt::property::CORRELATION_DATA)) {
      r.correlation = ::mqtt::get<std::string>(props, ::mqtt::property::CORRELATION_DATA);
    }
    if (hook_) {
      hook_(r);
    }
    if (!recording_) {
      return;
    }
    std::lock_guard lock(mutex_);
    received_.push_back(std::move(r));
  });
}

Subscriber::~Subscriber() {
  try {
    if (client_->is_connected()) {
      client_->disconnect()->wait_for(std::chrono::seconds(2));
    }
  } catch (const std::exception&) {
  }
  client_->disable_callbacks();
}

void Subscriber::connect(bool clean) {
  ::mqtt::connect_options o;
  o.set_mqtt_version(version_ == 5 ? MQTTVERSION_5 : MQTTVERSION_3_1_1);
  if (version_ == 5) {
    o.set_clean_start(clean);
    if (!clean) {
      ::mqtt::properties p;
      p.add(::mqtt::property(::mqtt::property::SESSION_EXPIRY_INTERVAL, 3600));
      o.set_properties(p);
    }
  } else {
    o.set_clean_session(clean);
  }
  o.set_max_inflight(65535);
  o.set_connect_timeout(5);
  client_->connect(o)->wait();
}

void Subscriber::subscribe(const std::string& filter, int qos) {
  client_->subscribe(filter, qos)->wait();
}

void Subscriber::disconnect() {
  client_->disconnect()->wait();
}

void Subscriber::publish(const std::string& topic, const std::string& payload, int qos, bool retain,
                         const ::mqtt::properties& props) {
  auto msg = ::mqtt::make_message(topic, payload, qos, retain);
  msg->set_properties(props);
  client_->publish(msg)->wait();
}

std::size_t Subscriber::count() const {
  std::lock_guard lock(mutex_);
  return received_.size();
}

std::vector<Received> Subscriber::messages() const {
  std::lock_guard lock(mutex_);
  return received_;
}

std::vector<Received> Subscriber::on(const std::string& topic) const {
  std::lock_guard lock(mutex_);
  std::vector<Received> out;
  for (const auto& r : received_) {
    if (r.topic == topic) {
      out.push_back(r);
    }
  }
  return out;
}

}  // namespace pushgate::test
