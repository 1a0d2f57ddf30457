#include "adapters/mqtt/mqtt_adapter_internal.hpp"

#include <algorithm>

#include "gateway/logging.hpp"

namespace pushgate::adapters::mqtt {

// ---------------------------------------------------------------- event sink

// Called by runner_ on the adapter's thread: publish each event (QoS 1);
// its PUBACK answers it delivered (on_event_acks). The runner keeps the
// cursor, the window, the drain cap and the backlog figures.
void MqttAdapter::deliver(const std::vector<Event>& events, bool replay, const Answer& answer) {
  if (link_ != Link::Up) {
    return;  // the link went down: the runner forgets them and hands them over again
  }
  answer_ = answer;
  for (const auto& e : events) {
    if (!publish_event(e, replay)) {
      return;  // the connection is gone; the rest waits for the reconnect
    }
  }
}

bool MqttAdapter::publish_event(const Event& e, bool replay) {
  auto ctx = make_context(epoch_, e.id);
  if (unacked_ == 0) {
    last_ack_progress_ = std::chrono::steady_clock::now();  // the watchdog starts now
  }
  ++unacked_;
  try {
    auto msg = ::mqtt::make_message(topics_.event(e.terminal_sn, e.kind), event_payload(e, replay),
                                    cfg_.event_qos, cfg_.retain_events);
    client_->publish(msg, reinterpret_cast<void*>(static_cast<std::uintptr_t>(ctx)),
                     *event_listener_);
    published_.inc();
    return true;
  } catch (const ::mqtt::exception& ex) {
    // The client refused it (disconnected under us): unanswered, so the
    // cursor stays below it and the reconnect sends it again.
    failed_.inc();
    on_connection_lost(std::string("publish refused: ") + ex.what());
    return false;
  }
}

void MqttAdapter::on_event_acks() {
  std::vector<std::pair<std::uint64_t, bool>> acks;
  {
    std::lock_guard lock(acks_mutex_);
    acks.swap(acks_);
  }
  for (const auto& [context, ok] : acks) {
    auto epoch = static_cast<std::uint16_t>(context >> 48);
    auto id = static_cast<std::int64_t>(context & 0xFFFFFFFFFFFFULL);
    if (epoch != epoch_ || link_ != Link::Up) {
      continue;  // from a connection that is gone; its unacked events are sent again
    }
    if (!ok) {
      failed_.inc();
      on_connection_lost("delivery of event " + std::to_string(id) + " failed");
      continue;
    }
    acked_.inc();
    if (unacked_ > 0) {
      --unacked_;
    }
    last_ack_progress_ = std::chrono::steady_clock::now();
    answer_(id, SinkResult::Delivered, std::string());
  }
}

}  // namespace pushgate::adapters::mqtt
