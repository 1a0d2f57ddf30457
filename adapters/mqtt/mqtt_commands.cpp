#include "adapters/mqtt/mqtt_adapter_internal.hpp"

#include <boost/asio/strand.hpp>
#include <boost/beast/http/verb.hpp>

#include "gateway/api/router.hpp"
#include "gateway/audit.hpp"
#include "gateway/doors.hpp"
#include "gateway/event_json.hpp"
#include "gateway/logging.hpp"
#include "gateway/terminals.hpp"

namespace pushgate::adapters::mqtt {

// ---------------------------------------------------------------- commands

void MqttAdapter::on_message(std::shared_ptr<const ::mqtt::message> msg) {
  if (link_ != Link::Up) {
    return;
  }
  const auto& topic = msg->get_topic();
  const auto& payload = msg->get_payload_str();
  if (cfg_.ha_discovery && topic == cfg_.ha_prefix + "/status") {
    if (payload == "online") {
      // Home Assistant restarted: it wants the discovery again.
      publish_discovery(true);
    }
    return;
  }
  Reply reply;
  const auto& props = msg->get_properties();
  if (props.contains(::mqtt::property::RESPONSE_TOPIC)) {
    reply.topic = ::mqtt::get<std::string>(props, ::mqtt::property::RESPONSE_TOPIC);
  }
  if (props.contains(::mqtt::property::CORRELATION_DATA)) {
    reply.correlation = ::mqtt::get<std::string>(props, ::mqtt::property::CORRELATION_DATA);
  }
  if (cfg_.api_requests && topic == topics_.api_request()) {
    handle_api_request(payload, std::move(reply));
    return;
  }
  if (!cfg_.commands) {
    return;
  }
  if (topic == topics_.command()) {
    handle_command(payload, std::move(reply));
    return;
  }
  if (auto door = topics_.parse_door_set(topic)) {
    commands_received_.inc();
    if (!ctx_.terminals.is_terminal(door->first)) {
      commands_rejected_.inc();
      logger("mqtt")->warn("door {} of {}: the gateway's own source has no doors; ignored",
                           door->second, door->first);
      return;
    }
    auto req = parse_door_set(door->first, door->second, payload, kDoorOpenSeconds);
    if (!req) {
      // LOCK and anything else: the relay relocks by itself after the pulse.
      logger("mqtt")->debug("[sn={}] door {}: ignoring \"{}\" (only UNLOCK/OPEN act)", door->first,
                            door->second, payload.substr(0, 32));
      return;
    }
    req->client_ref = "ha-" + topic_level(door->first) + "-door" + std::to_string(door->second) +
                      "-" + std::to_string(ctx_.clock.now_ms()) + "-" +
                      std::to_string(++door_commands_);
    auto id = req->client_ref;
    ctx_.commands.enqueue(std::move(*req), [this, alive = alive_, id, topic](
                                               boost::system::error_code ec, std::string error,
                                               CommandRecord rec, bool duplicate) {
      std::lock_guard lock(alive->mutex);
      if (alive->adapter == nullptr) {
        return;
      }
      net::post(ioc_, [this, ec, error, rec, duplicate, id, topic] {
        if (ec || !error.empty()) {
          commands_rejected_.inc();
          send_command_result(
              id,
              command_rejected_payload(id, ec ? ec.message() : error, zone_, ctx_.clock.now_ms()),
              true);
          return;
        }
        if (duplicate) {
          on_command_changed(rec, true);  // a new one is reported by the queue's observer
        } else {
          audit_command(topic, rec);
        }
      });
    });
  }
}

void MqttAdapter::handle_command(const std::string& payload, Reply reply) {
  commands_received_.inc();
  auto log = logger("mqtt");
  auto pc = parse_command(payload, ctx_.clock.now_ms());
  if (!pc.error.empty()) {
    commands_rejected_.inc();
    log->debug("[cmd={}] rejected: {}", pc.id.empty() ? "?" : pc.id, pc.error);
    auto id = pc.id.empty() ? std::string("_invalid") : pc.id;
    if (!reply.topic.empty()) {
      replies_[id] = reply;
    }
    send_command_result(id, command_rejected_payload(pc.id, pc.error, zone_, ctx_.clock.now_ms()),
                        true);
    return;
  }
  if (!reply.topic.empty()) {
    replies_[pc.id] = std::move(reply);
  }
  auto id = pc.id;
  ctx_.commands.enqueue(std::move(pc.request), [this, alive = alive_, id](
                                                   boost::system::error_code ec, std::string error,
                                                   CommandRecord rec, bool duplicate) {
    std::lock_guard lock(alive->mutex);
    if (alive->adapter == nullptr) {
      return;
    }
    net::post(ioc_, [this, ec, error, rec, duplicate, id] {
      if (ec) {
        // Not queued: the store could not commit. Say so; the caller may resend.
        send_command_result(id,
                            command_rejected_payload(id, "store unavailable: " + ec.message(),
                                                     zone_, ctx_.clock.now_ms()),
                            true);
        return;
      }
      if (!error.empty()) {
        commands_rejected_.inc();
        send_command_result(id, command_rejected_payload(id, error, zone_, ctx_.clock.now_ms()),
                            true);
        return;
      }
      // A newly queued command is reported once, by the queue's observer
      // (add_observer in start()); only the answer to a repeat is ours.
      if (duplicate) {
        on_command_changed(rec, true);
      } else {
        audit_command(topics_.command(), rec);
      }
    });
  });
}

void MqttAdapter::audit_command(const std::string& topic, const CommandRecord& c) {
  if (ctx_.events == nullptr) {
    return;
  }
  nlohmann::json details = {{"command_id", c.id}, {"terminal", c.terminal_sn},  {"verb", c.verb},
                            {"params", c.params}, {"client_ref", c.client_ref}, {"topic", topic}};
  WriteBatch batch;
  batch.events.push_back(make_audit_event(gateway_id_, "mqtt:" + topic, "mqtt " + cfg_.server_uri,
                                          "command_queued", std::move(details),
                                          ctx_.clock.now_ms()));
  ctx_.events->append(std::move(batch), [id = c.id](CommitResult r) {
    if (r.ec) {
      logger("mqtt")->error("[cmd={}] audit event not stored: {}", id, r.ec.message());
    }
  });
}

void MqttAdapter::on_command_changed(const CommandRecord& c, bool duplicate) {
  if (c.client_ref.empty()) {
    return;
  }
  send_command_result(
      c.client_ref, command_result_payload(c, c.client_ref, duplicate, zone_, ctx_.clock.now_ms()),
      is_final(c.state));
}

void MqttAdapter::send_command_result(const std::string& id, const std::string& payload,
                                      bool final) {
  publish_control(topics_.command_result(id), payload, false);
  auto it = replies_.find(id);
  if (it == replies_.end()) {
    return;
  }
  send_reply({}, payload, it->second);
  if (final) {
    replies_.erase(it);
  }
}

// `topic` (if any), and the MQTT 5 response topic with its correlation data.
void MqttAdapter::send_reply(const std::string& topic, const std::string& payload,
                             const Reply& reply) {
  if (!topic.empty()) {
    publish_control(topic, payload, false);
  }
  if (reply.topic.empty() || link_ != Link::Up || cfg_.protocol_version != 5) {
    return;
  }
  try {
    auto msg = ::mqtt::make_message(reply.topic, payload, cfg_.status_qos, false);
    if (!reply.correlation.empty()) {
      ::mqtt::properties props;
      props.add(::mqtt::property(::mqtt::property::CORRELATION_DATA, reply.correlation));
      msg->set_properties(props);
    }
    client_->publish(msg, nullptr, *control_listener_);
  } catch (const ::mqtt::exception& e) {
    control_failed_.inc();
    logger("mqtt")->debug("response topic {}: {}", reply.topic, e.what());
  }
}

void MqttAdapter::handle_api_request(const std::string& payload, Reply reply) {
  auto r = parse_api_request(payload);
  if (!r.error.empty()) {
    commands_rejected_.inc();
    logger("mqtt")->debug("api request rejected: {}", r.error);
    auto id = r.id.empty() ? std::string("_invalid") : r.id;
    send_reply(
        topics_.api_response(id),
        api_response_payload(r.id, 400, dump_json({{"error", "bad request"}, {"detail", r.error}})),
        reply);
    return;
  }
  // The same router the REST server uses, on the gateway's io_context: every
  // route answers here exactly as over HTTP.
  namespace bhttp = boost::beast::http;
  http::Request req;
  req.method(bhttp::string_to_verb(r.method));
  req.target(r.path);
  req.version(11);
  req.set(bhttp::field::host, "mqtt");
  // Who calls, for the audit (auth::kActorNameHeader; read by the API's guard
  // only on this trusted path): the broker's ACL on this topic let them.
  req.set("X-Pushgate-Actor", "mqtt:" + topics_.api_request());
  if (!r.body.empty()) {
    req.set(bhttp::field::content_type, "application/json");
    req.body() = r.body;
  }
  req.prepare_payload();
  auto strand = net::make_strand(ctx_.ioc);
  http::Reply answer(
      [this, alive = alive_, id = r.id, reply](http::Response&& res) {
        std::lock_guard lock(alive->mutex);
        if (alive->adapter == nullptr) {
          return;
        }
        net::post(ioc_, [this, id, reply, status = res.result_int(), body = res.body()] {
          send_reply(topics_.api_response(id),
                     api_response_payload(id, static_cast<int>(status), body), reply);
        });
      },
      strand);
  net::post(strand, [this, req = std::move(req), answer = std::move(answer)]() mutable {
    http::RequestInfo info;
    info.trusted = true;  // the broker authenticated and authorised the caller
    ctx_.router.handle(std::move(req), info, std::move(answer));
  });
}

}  // namespace pushgate::adapters::mqtt
