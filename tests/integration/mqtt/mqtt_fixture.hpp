#pragma once

// A real mosquitto for a test (its own config, data dir and free loopback
// port), a paho subscriber that records what arrives, and process helpers
// for the tests that run the real pushgated and pushgate-sim binaries.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <mqtt/async_client.h>

#include "tests/support/processes.hpp"

namespace pushgate::test {

class Mosquitto {
 public:
  /** `listeners`: lines of config after a `listener` line each, e.g. TLS files. */
  struct Listener {
    std::uint16_t port = 0;
    std::vector<std::string> lines;
  };
  /** Config in `dir`; persistence keeps sessions across stop()/start(). */
  Mosquitto(std::filesystem::path dir, std::vector<Listener> listeners, bool persistence = false);
  ~Mosquitto();
  Mosquitto(const Mosquitto&) = delete;
  Mosquitto& operator=(const Mosquitto&) = delete;

  /** Starts the broker and waits until every listener accepts. Throws on failure. */
  void start();
  /** SIGTERM (clean: persistence saved) or SIGKILL, and waits. */
  void stop(int sig = 15);
  /** Sends `sig` to the running broker (SIGSTOP: it holds every connection and answers nothing). */
  void signal(int sig);
  /** Replaces the listeners for the next start(). */
  void set_listeners(std::vector<Listener> listeners) { listeners_ = std::move(listeners); }
  std::uint16_t port(std::size_t i = 0) const { return listeners_.at(i).port; }
  std::string uri(std::size_t i = 0) const { return "tcp://127.0.0.1:" + std::to_string(port(i)); }
  const std::filesystem::path& dir() const noexcept { return dir_; }

 private:
  void write_config();
  std::filesystem::path dir_;
  std::vector<Listener> listeners_;
  bool persistence_;
  pid_t pid_ = -1;
};

/** One message as received. */
struct Received {
  std::string topic;
  std::string payload;
  bool retained = false;
  std::string correlation;  ///< MQTT 5 correlation data
};

/** A paho client that records every message it receives. */
class Subscriber {
 public:
  Subscriber(std::string uri, std::string client_id, int mqtt_version = 4);
  ~Subscriber();
  /** Throws on failure. clean=false keeps the session (and queued messages) at the broker. */
  void connect(bool clean = true);
  void subscribe(const std::string& filter, int qos = 1);
  void disconnect();
  void publish(const std::string& topic, const std::string& payload, int qos = 1,
               bool retain = false, const ::mqtt::properties& props = {});

  std::size_t count() const;
  std::vector<Received> messages() const;
  /** Messages on `topic`, in arrival order. */
  std::vector<Received> on(const std::string& topic) const;
  /** Called for each message on paho's thread (before it is recorded). */
  void set_hook(std::function<void(const Received&)> hook) { hook_ = std::move(hook); }
  /** false: messages go to the hook only (long benches: memory stays flat). Before connect. */
  void set_recording(bool on) { recording_ = on; }

 private:
  std::unique_ptr<::mqtt::async_client> client_;
  int version_;
  mutable std::mutex mutex_;
  std::vector<Received> received_;
  std::function<void(const Received&)> hook_;
  bool recording_ = true;
};

}  // namespace pushgate::test
