#include "adapters/mqtt/mqtt_adapter_internal.hpp"

#include <algorithm>

#include "gateway/logging.hpp"

namespace pushgate::adapters::mqtt {

// ---------------------------------------------------------------- event sink

void MqttAdapter::begin_session() {
  boost::system::error_code ec;
  std::int64_t head = reader_->max_event_id(ec);
  std::map<std::string, std::int64_t> last;
  if (!ec) {
    last = reader_->last_id_per_terminal_after(cursor_, ec);
  }
  if (ec) {
    // Reading failed (should not happen on a healthy disk): start from the
    // cursor with everything as backlog; nothing is skipped.
    logger("mqtt")->error("cannot read the backlog extent: {}", ec.message());
    head = std::max(head, head_.load());
  }
  drain_.begin(cursor_, head, std::move(last));
  backlog_.clear();
  backlog_read_pos_ = cursor_;
  drain_tokens_ = 0;
  drain_refill_ = std::chrono::steady_clock::now();
  std::int64_t cur = head_.load();
  while (cur < head && !head_.compare_exchange_weak(cur, head)) {
  }
}

void MqttAdapter::request_pump() {
  if (!pump_posted_.exchange(true)) {
    net::post(ioc_, [this] {
      pump_posted_ = false;
      pump();
    });
  }
}

void MqttAdapter::pump() {
  if (link_ != Link::Up) {
    return;
  }
  auto log = logger("mqtt");
  auto room = [this] { return window_ - static_cast<int>(drain_.in_flight()); };
  boost::system::error_code ec;

  // Live lane first: what was committed since we last looked goes ahead of
  // the backlog (unless its terminal still has backlog, see DrainState).
  while (link_ == Link::Up && room() > 0 && head_.load() > drain_.live_pos()) {
    auto events = reader_->read_after(drain_.live_pos(),
                                      static_cast<std::size_t>(std::min(room(), 1000)), ec);
    if (ec) {
      log->error("cannot read live events: {}", ec.message());
      break;
    }
    if (events.empty()) {
      break;
    }
    for (const auto& e : events) {
      if (drain_.admit_live(e.terminal_sn, e.id)) {
        publish_event(e, false);
      }
    }
  }

  // Backlog lane: replay in id order, paced by the in-flight window and the optional cap.
  while (link_ == Link::Up && room() > 0 && drain_.draining()) {
    if (cfg_.drain_max_per_s > 0) {
      auto now = std::chrono::steady_clock::now();
      double dt = std::chrono::duration<double>(now - drain_refill_).count();
      drain_refill_ = now;
      drain_tokens_ = std::min<double>(drain_tokens_ + dt * cfg_.drain_max_per_s,
                                       std::max(1, cfg_.drain_max_per_s / 10));
      if (drain_tokens_ < 1) {
        if (!pump_timer_armed_) {
          pump_timer_armed_ = true;
          pump_timer_.expires_after(std::chrono::milliseconds(10));
          pump_timer_.async_wait([this](boost::system::error_code e) {
            pump_timer_armed_ = false;
            if (!e) {
              pump();
            }
          });
        }
        break;
      }
    }
    if (backlog_.empty()) {
      auto events =
          reader_->read_after(std::max(backlog_read_pos_, drain_.backlog_pos()), kBacklogBatch, ec);
      if (ec) {
        log->error("cannot read the backlog: {}", ec.message());
        break;
      }
      for (auto& e : events) {
        if (e.id > drain_.live_pos()) {
          break;  // the live lane's part of the log
        }
        backlog_read_pos_ = e.id;
        backlog_.push_back(std::move(e));
      }
      if (backlog_.empty()) {
        // Nothing left up to the live position (ids can have gaps).
        drain_.admit_backlog(std::string(), drain_.live_pos());
        break;
      }
    }
    Event e = std::move(backlog_.front());
    backlog_.pop_front();
    if (drain_.admit_backlog(e.terminal_sn, e.id)) {
      publish_event(e, true);
      if (cfg_.drain_max_per_s > 0) {
        drain_tokens_ -= 1;
      }
    }
  }
  maybe_persist_cursor();
}

void MqttAdapter::publish_event(const Event& e, bool replay) {
  auto ctx = make_context(epoch_, e.id);
  if (drain_.in_flight() == 0) {
    last_ack_progress_ = std::chrono::steady_clock::now();  // the watchdog starts now
  }
  drain_.published(e.id);
  try {
    auto msg = ::mqtt::make_message(topics_.event(e.terminal_sn, e.kind), event_payload(e, replay),
                                    cfg_.event_qos, cfg_.retain_events);
    client_->publish(msg, reinterpret_cast<void*>(static_cast<std::uintptr_t>(ctx)),
                     *event_listener_);
    published_.inc();
  } catch (const ::mqtt::exception& ex) {
    // The client refused it (disconnected under us): the cursor stays below
    // it and the reconnect sends it again.
    drain_.failed(e.id);
    failed_.inc();
    on_connection_lost(std::string("publish refused: ") + ex.what());
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
      drain_.failed(id);
      on_connection_lost("delivery of event " + std::to_string(id) + " failed");
      continue;
    }
    if (drain_.acked(id)) {
      acked_.inc();
      last_ack_progress_ = std::chrono::steady_clock::now();
    }
  }
  pump();
}

void MqttAdapter::maybe_persist_cursor() {
  if (link_ == Link::Up) {
    cursor_ = std::max(cursor_, drain_.cursor());
  }
  if (cursor_write_in_flight_ || cursor_ <= persisted_cursor_ || link_ == Link::Stopping) {
    return;
  }
  auto now = std::chrono::steady_clock::now();
  if (now - last_cursor_write_ < kCursorWriteEvery) {
    return;  // the tick or the next ack writes it; a restart resends at most this much
  }
  cursor_write_in_flight_ = true;
  last_cursor_write_ = now;
  auto pos = cursor_;
  ctx_.cursors->store(kCursorName, pos, [this, alive = alive_, pos](boost::system::error_code ec) {
    std::lock_guard lock(alive->mutex);
    if (alive->adapter == nullptr) {
      return;
    }
    net::post(ioc_, [this, pos, ok = !ec, msg = ec.message()] {
      cursor_write_in_flight_ = false;
      if (!ok) {
        logger("mqtt")->warn("cannot store the mqtt cursor: {}", msg);
        return;
      }
      persisted_cursor_ = std::max(persisted_cursor_, pos);
      persisted_cursor_atomic_ = persisted_cursor_;
    });
  });
}

}  // namespace pushgate::adapters::mqtt
