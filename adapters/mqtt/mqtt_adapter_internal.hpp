#pragma once

// Private to the MQTT adapter's sources (mqtt_*.cpp): the pieces more than
// one of them uses.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>

#include <mqtt/async_client.h>
#include <boost/asio/post.hpp>

#include "adapters/mqtt/mqtt_adapter.hpp"

namespace pushgate::adapters::mqtt {

namespace net = boost::asio;

inline constexpr const char* kCursorName = "mqtt";
inline constexpr std::size_t kBacklogBatch = 4000;
inline constexpr int kDoorOpenSeconds = 5;
inline constexpr auto kCursorWriteEvery = std::chrono::milliseconds(200);
inline constexpr auto kTerminalRepublish = std::chrono::minutes(5);
// Stop: how long the last cursor write and the DISCONNECT may take at most.
inline constexpr auto kStopCursorWait = std::chrono::seconds(2);
inline constexpr auto kDisconnectTimeout = std::chrono::milliseconds(500);

inline std::uint64_t make_context(std::uint16_t epoch, std::int64_t id) {
  return (static_cast<std::uint64_t>(epoch) << 48) |
         (static_cast<std::uint64_t>(id) & 0xFFFFFFFFFFFFULL);
}

// Observers registered with the store, the command queue and the outputs
// live as long as those do; they reach the adapter only while it runs.
struct MqttAdapter::Alive {
  std::mutex mutex;
  MqttAdapter* adapter = nullptr;
};

// paho's action listener: runs on paho's threads, only posts.
class MqttAdapter::Listener final : public ::mqtt::iaction_listener {
 public:
  enum class Kind { Event, Connect, Control };
  Listener(MqttAdapter& a, Kind kind) : a_(a), kind_(kind) {}

 private:
  void on_success(const ::mqtt::token& tok) override { done(tok, true); }
  void on_failure(const ::mqtt::token& tok) override { done(tok, false); }
  void done(const ::mqtt::token& tok, bool ok) {
    switch (kind_) {
      case Kind::Event: {
        auto ctx = reinterpret_cast<std::uintptr_t>(tok.get_user_context());
        // Acks come back by the thousand per second: collect them and post
        // once per batch rather than wake the adapter's thread for each.
        bool first = false;
        {
          std::lock_guard lock(a_.acks_mutex_);
          first = a_.acks_.empty();
          a_.acks_.emplace_back(ctx, ok);
        }
        if (first) {
          net::post(a_.ioc_, [a = &a_] { a->on_event_acks(); });
        }
        break;
      }
      case Kind::Connect: {
        std::string reason;
        int receive_max = 0;
        if (!ok) {
          reason = describe_connect_refusal(tok.get_return_code(),
                                            static_cast<int>(tok.get_reason_code()));
          // Paho's generic failure: on_connect finds out what failed.
        } else {
          try {
            auto rsp = tok.get_connect_response();
            const auto& props = rsp.get_properties();
            if (props.contains(::mqtt::property::RECEIVE_MAXIMUM)) {
              receive_max = ::mqtt::get<std::uint16_t>(props, ::mqtt::property::RECEIVE_MAXIMUM);
            }
          } catch (const std::exception&) {
            // MQTT 3.1.1 has no CONNACK properties.
          }
        }
        auto epoch =
            static_cast<std::uint16_t>(reinterpret_cast<std::uintptr_t>(tok.get_user_context()));
        net::post(a_.ioc_, [a = &a_, ok, reason, receive_max, epoch] {
          if (epoch == a->epoch_) {
            a->on_connect(ok, reason, receive_max);
          }
        });
        break;
      }
      case Kind::Control:
        if (!ok) {
          a_.control_failed_.inc();
        }
        break;
    }
  }
  MqttAdapter& a_;
  Kind kind_;
};

}  // namespace pushgate::adapters::mqtt
