#include "gateway/api/rest_api.hpp"

#include <algorithm>
#include <charconv>
#include <tuple>

#include <boost/asio/bind_executor.hpp>
#include <nlohmann/json.hpp>

#include "gateway/event_json.hpp"
#include "gateway/http/query.hpp"
#include "gateway/logging.hpp"
#include "gateway/store/event_queries.hpp"

namespace pushgate::api {

namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using nlohmann::json;

namespace {

// Parses an optional non-negative integer parameter; false on garbage.
bool parse_param(const http::Query& q, std::string_view key, std::int64_t& out) {
  auto v = q.get(key);
  if (!v) {
    return true;
  }
  std::int64_t n = 0;
  auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (ec != std::errc{} || p != v->data() + v->size() || n < 0) {
    return false;
  }
  out = n;
  return true;
}

json quarantine_to_json(const store::QuarantineRow& r) {
  json j;
  j["id"] = r.id;
  j["terminal"] = r.record.terminal_sn;
  j["received"] = format_utc_iso8601(r.record.received_ms);
  j["endpoint"] = r.record.endpoint;
  j["table"] = r.record.table;
  j["line"] = r.record.line_no;
  j["reason"] = r.record.reason;
  j["raw"] = r.record.raw;
  return j;
}

json parse_or_null(const std::string& text) {
  if (text.empty()) {
    return nullptr;
  }
  auto j = json::parse(text, nullptr, false);
  return j.is_discarded() ? json(text) : j;
}

}  // namespace

RestApi::RestApi(Router& router, store::Store& store, TerminalRegistry& terminals,
                 AdapterState& settings_state, metrics::Registry& metrics, Health& health,
                 const Clock& clock, Options options)
    : store_(store),
      terminals_(terminals),
      settings_state_(settings_state),
      metrics_(metrics),
      health_(health),
      clock_(clock),
      options_(options) {
  router.add(bhttp::verb::get, "/api/v1/terminals",
             [this](http::Request&& req, const http::RequestInfo&, const PathParams&,
                    http::Reply reply) { list_terminals(std::move(req), std::move(reply)); });
  router.add(bhttp::verb::post, "/api/v1/terminals/{sn}/approve",
             [this](http::Request&& req, const http::RequestInfo&, const PathParams& p,
                    http::Reply reply) {
               set_terminal_state(std::move(req), p.at("sn"), "accepted", std::move(reply));
             });
  router.add(bhttp::verb::post, "/api/v1/terminals/{sn}/refuse",
             [this](http::Request&& req, const http::RequestInfo&, const PathParams& p,
                    http::Reply reply) {
               set_terminal_state(std::move(req), p.at("sn"), "refused", std::move(reply));
             });
  router.add(
      bhttp::verb::patch, "/api/v1/terminals/{sn}",
      [this](http::Request&& req, const http::RequestInfo&, const PathParams& p,
             http::Reply reply) { patch_terminal(std::move(req), p.at("sn"), std::move(reply)); });
  router.add(bhttp::verb::get, "/api/v1/events",
             [this](http::Request&& req, const http::RequestInfo&, const PathParams&,
                    http::Reply reply) { list_events(std::move(req), std::move(reply)); });
  router.add(bhttp::verb::get, "/api/v1/quarantine",
             [this](http::Request&& req, const http::RequestInfo&, const PathParams&,
                    http::Reply reply) { list_quarantine(std::move(req), std::move(reply)); });
  router.add(
      bhttp::verb::get, "/metrics",
      [this](http::Request&& req, const http::RequestInfo&, const PathParams&, http::Reply reply) {
        reply.send(http::make_response(req, bhttp::status::ok, metrics_.render(),
                                       "text/plain; version=0.0.4; charset=utf-8"));
      });
  auto health_route = [this](Health::Kind kind) {
    return [this, kind](http::Request&& req, const http::RequestInfo&, const PathParams&,
                        http::Reply reply) {
      auto [ok, failing] = health_.status(kind);
      json j;
      j["status"] = ok ? "ok" : "failing";
      j["failing"] = json::object();
      for (const auto& [name, reason] : failing) {
        j["failing"][name] = reason;
      }
      if (kind == Health::Kind::Ready) {
        // Each uplink: connected or not since when, and what waits for it.
        j["sinks"] = json::object();
        for (const auto& [name, s] : health_.sinks()) {
          j["sinks"][name] = {
              {"connected", s.connected},
              {"since", s.since_ms > 0 ? json(format_utc_iso8601(s.since_ms)) : json(nullptr)},
              {"backlog_events", s.backlog_events},
              {"backlog_oldest_age_s", s.backlog_oldest_age_s}};
        }
        // Scheduled backups (store.backup_dir): "failing" after a failed attempt.
        if (auto b = health_.backup()) {
          auto at = [](std::int64_t ms) { return ms > 0 ? json(format_utc_iso8601(ms)) : json(); };
          j["backup"] = {{"status", b->failures == 0 ? "ok" : "failing"},
                         {"last_success", at(b->last_success_ms)},
                         {"last_attempt", at(b->last_attempt_ms)},
                         {"next", at(b->next_ms)},
                         {"failures", b->failures},
                         {"last_error", b->last_error},
                         {"last_file", b->last_file}};
        }
      }
      reply.send(json_response(req, ok ? bhttp::status::ok : bhttp::status::service_unavailable,
                               dump_json(j) + "\n"));
    };
  };
  router.add(bhttp::verb::get, "/healthz", health_route(Health::Kind::Live));
  router.add(bhttp::verb::get, "/readyz", health_route(Health::Kind::Ready));
}

void RestApi::list_terminals(http::Request&& req, http::Reply reply) {
  auto ex = reply.executor();
  store_.async_read(
      [](store::Connection& db) {
        boost::system::error_code ec;
        auto counts = store::read_terminal_counts(db, ec);
        return std::make_pair(ec, std::move(counts));
      },
      net::bind_executor(
          ex, [this, req = std::move(req), reply = std::move(reply)](
                  std::pair<boost::system::error_code, std::vector<store::TerminalCounts>>
                      result) mutable {
            if (result.first) {
              reply.send(json_error(req, bhttp::status::service_unavailable, "store unavailable",
                                    result.first.message()));
              return;
            }
            std::map<std::string, const store::TerminalCounts*> counts;
            for (const auto& c : result.second) {
              counts[c.sn] = &c;
            }
            json list = json::array();
            for (const auto& t : terminals_.all()) {
              json j;
              j["sn"] = t.sn;
              j["name"] = terminals_.name_for(t.sn);
              j["flavour"] = t.flavour;
              j["state"] = t.state;
              j["push_version"] = t.push_version;
              j["firmware"] = t.firmware;
              j["device_type"] = t.device_type;
              j["vendor"] = t.vendor;
              j["model"] = t.model;
              j["protocol"] = t.protocol;
              j["capabilities"] = t.capabilities;
              j["ip"] = t.ip;
              j["timezone"] = terminals_.zone_for(t.sn).name();
              j["first_seen"] = format_utc_iso8601(t.first_seen_ms);
              j["last_seen"] = format_utc_iso8601(t.last_seen_ms);
              j["info"] = parse_or_null(t.info_json);
              if (j["info"].is_object()) {
                // Security PUSH secrets: whoever knows them can speak for the terminal.
                auto& info = j["info"];
                if (info.contains("registry_code")) {
                  const auto& code = info["registry_code"];
                  info["registered"] =
                      code.is_string() && !code.get_ref<const std::string&>().empty();
                  info.erase("registry_code");
                }
                info.erase("session_id");
              }
              j["options"] = parse_or_null(t.options_json);
              json c = {{"events", 0}, {"by_kind", json::object()}, {"users", 0}, {"templates", 0},
                        {"photos", 0}, {"quarantined", 0}};
              if (auto it = counts.find(t.sn); it != counts.end()) {
                c["events"] = it->second->events;
                for (const auto& [k, n] : it->second->by_kind) {
                  c["by_kind"][k] = n;
                }
                c["users"] = it->second->users;
                c["templates"] = it->second->templates;
                c["photos"] = it->second->photos;
                c["quarantined"] = it->second->quarantined;
              }
              j["counts"] = std::move(c);
              list.push_back(std::move(j));
            }
            json body;
            body["terminals"] = std::move(list);
            reply.send(json_response(req, bhttp::status::ok, dump_json(body) + "\n"));
          }));
}

void RestApi::set_terminal_state(http::Request&& req, const std::string& sn,
                                 const std::string& state, http::Reply reply) {
  auto before = terminals_.find(sn);
  auto record = terminals_.update(sn, [&](TerminalRecord& r) {
    r.state = state;
    if (r.first_seen_ms == 0) {
      r.first_seen_ms = clock_.now_ms();
      r.last_seen_ms = r.first_seen_ms;
    }
  });
  logger("api")->info("[sn={}] terminal {} over REST (was {})", sn, state,
                      before ? before->state : "unknown");
  WriteBatch batch;
  batch.ops.push_back(TerminalRegistry::persist_op(record));
  auto ex = reply.executor();
  store_.append(std::move(batch), [ex, req = std::move(req), reply = std::move(reply),
                                   record](CommitResult r) mutable {
    net::post(ex, [req = std::move(req), reply = std::move(reply), record, ec = r.ec]() mutable {
      if (ec) {
        reply.send(
            json_error(req, bhttp::status::service_unavailable, "store unavailable", ec.message()));
        return;
      }
      json j = {{"sn", record.sn}, {"state", record.state}};
      reply.send(json_response(req, bhttp::status::ok, dump_json(j) + "\n"));
    });
  });
}

void RestApi::patch_terminal(http::Request&& req, const std::string& sn, http::Reply reply) {
  if (!terminals_.find(sn)) {
    reply.send(json_error(req, bhttp::status::not_found, "unknown terminal",
                          "no terminal \"" + sn + "\" has been seen or configured"));
    return;
  }
  auto body = parse_json_body(req, reply);
  if (!body) {
    return;
  }
  json errors = json::array();
  auto settings = terminals_.settings_for(sn);
  if (!body->is_object()) {
    errors.push_back({{"field", ""}, {"message", "the body must be a JSON object"}});
  } else {
    for (const auto& item : body->items()) {
      if (item.key() != "name" && item.key() != "timezone") {
        errors.push_back({{"field", item.key()}, {"message", "unknown key (name or timezone)"}});
      }
    }
    if (!body->contains("name") && !body->contains("timezone")) {
      errors.push_back({{"field", "name"}, {"message", "give name or timezone (or both)"}});
    }
    // null takes back what the API set: the config file's value applies again.
    if (auto it = body->find("name"); it != body->end()) {
      if (it->is_null()) {
        settings.name.reset();
      } else if (!it->is_string()) {
        errors.push_back({{"field", "name"}, {"message", "must be a string or null"}});
      } else {
        const auto& name = it->get_ref<const std::string&>();
        const bool control = std::any_of(name.begin(), name.end(), [](char c) {
          return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
        });
        if (name.empty() || name.size() > 64 || control) {
          errors.push_back(
              {{"field", "name"}, {"message", "1 to 64 bytes of text without control characters"}});
        } else {
          settings.name = name;
        }
      }
    }
    if (auto it = body->find("timezone"); it != body->end()) {
      std::string error;
      if (it->is_null()) {
        settings.timezone.reset();
      } else if (!it->is_string() || it->get_ref<const std::string&>().empty()) {
        errors.push_back({{"field", "timezone"},
                          {"message",
                           "must be an IANA zone name (\"Europe/Berlin\"), \"UTC\", "
                           "an offset (\"+05:30\") or null"}});
      } else if (auto zone = Zone::parse(it->get_ref<const std::string&>(), error); !zone) {
        errors.push_back({{"field", "timezone"}, {"message", error}});
      } else {
        settings.timezone = zone->name();
      }
    }
  }
  if (!errors.empty()) {
    logger("api")->info("[sn={}] terminal settings refused: {}", sn, errors.dump());
    metrics_
        .counter("pushgate_api_invalid_requests_total", "API requests refused as invalid, by route",
                 {{"route", "terminal_settings"}})
        .inc();
    reply.send(field_errors_response(req, bhttp::status::bad_request, "invalid terminal settings",
                                     std::move(errors)));
    return;
  }
  WriteBatch batch;
  const std::string state_name(TerminalRegistry::kSettingsStateName);
  if (!settings.name && !settings.timezone) {
    batch.ops.push_back(settings_state_.erase(state_name, sn));
  } else {
    batch.ops.push_back(
        settings_state_.put(state_name, sn, TerminalRegistry::settings_json(settings)));
  }
  auto ex = reply.executor();
  // Applied once stored: what the gateway uses is what a restart finds.
  store_.append(std::move(batch), [this, ex, req = std::move(req), reply = std::move(reply), sn,
                                   settings](CommitResult r) mutable {
    net::post(ex, [this, req = std::move(req), reply = std::move(reply), sn, settings,
                   ec = r.ec]() mutable {
      if (ec) {
        reply.send(
            json_error(req, bhttp::status::service_unavailable, "store unavailable", ec.message()));
        return;
      }
      if (auto why = terminals_.set_settings(sn, settings); !why.empty()) {
        // Parsed above with the same code: cannot happen, but never silently.
        reply.send(
            json_error(req, bhttp::status::internal_server_error, "settings not applied", why));
        return;
      }
      logger("api")->info("[sn={}] terminal settings over REST: name {}, time zone {}", sn,
                          settings.name.value_or("(config)"),
                          settings.timezone.value_or("(config)"));
      json j = {{"sn", sn},
                {"name", terminals_.name_for(sn)},
                {"timezone", terminals_.zone_for(sn).name()},
                {"set",
                 {{"name", settings.name ? json(*settings.name) : json(nullptr)},
                  {"timezone", settings.timezone ? json(*settings.timezone) : json(nullptr)}}}};
      reply.send(json_response(req, bhttp::status::ok, dump_json(j) + "\n"));
    });
  });
}

void RestApi::list_events(http::Request&& req, http::Reply reply) {
  auto q = http::Query::parse_target(req.target());
  store::EventQuery query;
  std::int64_t after = 0;
  std::int64_t before = 0;
  std::int64_t limit = static_cast<std::int64_t>(options_.default_page);
  if (!parse_param(q, "after", after) || !parse_param(q, "before", before) ||
      !parse_param(q, "limit", limit) || limit == 0) {
    reply.send(json_error(req, bhttp::status::bad_request, "bad parameter",
                          "after, before and limit are non-negative integers, limit at least 1"));
    return;
  }
  query.after = after;
  // before=<id>: paging back in history, newest first (before=0: from the newest).
  query.newest_first = q.get("before").has_value();
  query.before = before;
  query.limit = std::min<std::size_t>(static_cast<std::size_t>(limit), options_.max_page);
  query.terminal = q.get_or("terminal", "");
  // Rows are bounded by bytes as well as by count: a page of long records
  // stops early and says more, and the client pages on from next_after.
  query.max_bytes = options_.max_answer_bytes;
  if (auto kind = q.get("kind")) {
    query.kind = event_kind_from_string(*kind);
    if (!query.kind) {
      reply.send(json_error(req, bhttp::status::bad_request, "bad parameter",
                            "unknown kind \"" + *kind + "\""));
      return;
    }
  }
  auto ex = reply.executor();
  store_.async_read(
      [query](store::Connection& db) {
        boost::system::error_code ec;
        bool cut = false;       // stopped by the byte budget of one answer
        auto one_more = query;  // one row past the page tells whether another page follows
        one_more.limit = query.limit + 1;
        auto events = store::read_events(db, one_more, ec, &cut);
        return std::make_tuple(ec, std::move(events), cut);
      },
      net::bind_executor(
          ex, [req = std::move(req), reply = std::move(reply), query](
                  std::tuple<boost::system::error_code, std::vector<Event>, bool> page) mutable {
            auto result = std::make_pair(std::get<0>(page), std::move(std::get<1>(page)));
            if (result.first) {
              reply.send(json_error(req, bhttp::status::service_unavailable, "store unavailable",
                                    result.first.message()));
              return;
            }
            const bool more = result.second.size() > query.limit;
            if (more) {
              result.second.pop_back();
            }
            json list = json::array();
            std::int64_t next = query.after;
            std::int64_t oldest = query.before;
            for (const auto& e : result.second) {
              list.push_back(event_to_json(e));
              next = std::max(next, e.id);
              oldest = e.id;
            }
            json body;
            body["events"] = std::move(list);
            body["next_after"] = next;
            if (query.newest_first) {
              // The value of `before` for the next (older) page.
              body["next_before"] = oldest;
            }
            body["more"] = more || std::get<2>(page);
            reply.send(json_response(req, bhttp::status::ok, dump_json(body) + "\n"));
          }));
}

void RestApi::list_quarantine(http::Request&& req, http::Reply reply) {
  auto q = http::Query::parse_target(req.target());
  std::int64_t after = 0;
  std::int64_t limit = static_cast<std::int64_t>(options_.default_page);
  if (!parse_param(q, "after", after) || !parse_param(q, "limit", limit) || limit == 0) {
    reply.send(json_error(req, bhttp::status::bad_request, "bad parameter",
                          "after and limit are non-negative integers, limit at least 1"));
    return;
  }
  auto lim = std::min<std::size_t>(static_cast<std::size_t>(limit), options_.max_page);
  auto terminal = q.get_or("terminal", "");
  auto ex = reply.executor();
  auto max_bytes = options_.max_answer_bytes;
  store_.async_read(
      [after, lim, terminal, max_bytes](store::Connection& db) {
        boost::system::error_code ec;
        bool cut = false;  // stopped by the byte budget of one answer
        auto rows = store::read_quarantine(db, after, lim + 1, terminal, ec, max_bytes, &cut);
        return std::make_tuple(ec, std::move(rows), cut);
      },
      net::bind_executor(
          ex, [req = std::move(req), reply = std::move(reply), after,
               lim](std::tuple<boost::system::error_code, std::vector<store::QuarantineRow>, bool>
                        page) mutable {
            auto result = std::make_pair(std::get<0>(page), std::move(std::get<1>(page)));
            if (result.first) {
              reply.send(json_error(req, bhttp::status::service_unavailable, "store unavailable",
                                    result.first.message()));
              return;
            }
            const bool more = result.second.size() > lim;
            if (more) {
              result.second.pop_back();
            }
            json list = json::array();
            std::int64_t next = after;
            for (const auto& r : result.second) {
              list.push_back(quarantine_to_json(r));
              next = r.id;
            }
            json body;
            body["quarantine"] = std::move(list);
            body["next_after"] = next;
            body["more"] = more || std::get<2>(page);
            reply.send(json_response(req, bhttp::status::ok, dump_json(body) + "\n"));
          }));
}

}  // namespace pushgate::api
