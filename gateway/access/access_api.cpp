#include "gateway/access/access_api.hpp"

#include <charconv>

#include <nlohmann/json.hpp>

#include "gateway/event_json.hpp"
#include "gateway/http/query.hpp"

namespace pushgate::access {

namespace bhttp = boost::beast::http;
using nlohmann::json;

namespace {

http::Response update_response(const http::Request& req, const AccessService::Update& u,
                               bhttp::status ok_status) {
  if (!u.errors.empty()) {
    return api::field_errors_response(req, bhttp::status::bad_request, "invalid",
                                      api::field_errors_json(u.errors));
  }
  if (u.not_found) {
    return api::json_error(req, bhttp::status::not_found, "not found");
  }
  if (!u.conflict.empty()) {
    return api::json_error(req, bhttp::status::conflict, "in use", u.conflict);
  }
  if (u.ec) {
    return api::json_error(req, bhttp::status::service_unavailable, "store unavailable",
                           u.ec.message());
  }
  return api::json_response(req, ok_status, dump_json(u.value) + "\n");
}

/** The body as JSON, or a 400 already sent. */
std::optional<json> parse_body(const http::Request& req, http::Reply& reply) {
  // 413 / 400 naming the limit, before anything is built from the body.
  return api::parse_json_body(req, reply);
}

std::string key_of(EntityKind kind, const api::PathParams& p) {
  if (kind == EntityKind::Door) {
    return p.at("sn") + "/" + p.at("door");
  }
  return p.at("key");
}

}  // namespace

AccessApi::AccessApi(api::Router& router, AccessService& service) : service_(service) {
  for (auto kind : {EntityKind::User, EntityKind::TimeZone, EntityKind::Holiday, EntityKind::Level,
                    EntityKind::Door, EntityKind::Area}) {
    add_kind(router, kind);
  }
  router.add(bhttp::verb::get, "/api/v1/access/apb",
             [this](http::Request&& req, const http::RequestInfo&, const api::PathParams&,
                    http::Reply reply) {
               reply.send(api::json_response(req, bhttp::status::ok,
                                             dump_json(service_.positions()) + "\n"));
             });
  auto reset = [this](http::Request&& req, const http::RequestInfo&, const api::PathParams& p,
                      http::Reply reply) {
    auto it = p.find("pin");
    service_.reset_positions(it == p.end() ? std::string() : it->second,
                             [req = std::move(req), reply](AccessService::Update u) mutable {
                               reply.send(update_response(req, u, bhttp::status::ok));
                             });
  };
  router.add(bhttp::verb::delete_, "/api/v1/access/apb", reset);
  router.add(bhttp::verb::delete_, "/api/v1/access/apb/{pin}", reset);
}

void AccessApi::add_kind(api::Router& router, EntityKind kind) {
  const std::string base = "/api/v1/access/" + std::string(to_string(kind));
  const std::string one = kind == EntityKind::Door ? base + "/{sn}/{door}" : base + "/{key}";

  router.add(
      bhttp::verb::get, base,
      [this, kind](http::Request&& req, const http::RequestInfo&, const api::PathParams&,
                   http::Reply reply) {
        auto q = http::Query::parse_target(req.target());
        std::size_t limit = 1000;
        if (auto l = q.get("limit")) {
          auto [p, ec] = std::from_chars(l->data(), l->data() + l->size(), limit);
          if (ec != std::errc() || p != l->data() + l->size() || limit == 0 || limit > kMaxPage) {
            reply.send(api::json_error(req, bhttp::status::bad_request, "bad parameter",
                                       "limit must be 1.." + std::to_string(kMaxPage)));
            return;
          }
        }
        auto items = service_.list(kind, q.get_or("after", ""), limit + 1);
        bool more = items.size() > limit;
        if (more) {
          items.erase(items.size() - 1);
        }
        json j = {{"items", std::move(items)}, {"more", more}};
        reply.send(api::json_response(req, bhttp::status::ok, dump_json(j) + "\n"));
      });
  router.add(bhttp::verb::post, base,
             [this, kind](http::Request&& req, const http::RequestInfo&, const api::PathParams&,
                          http::Reply reply) {
               auto body = parse_body(req, reply);
               if (!body) {
                 return;
               }
               service_.put(kind, std::move(*body), std::nullopt,
                            [req = std::move(req), reply](AccessService::Update u) mutable {
                              reply.send(update_response(req, u, bhttp::status::ok));
                            });
             });
  router.add(bhttp::verb::get, one,
             [this, kind](http::Request&& req, const http::RequestInfo&, const api::PathParams& p,
                          http::Reply reply) {
               auto j = service_.get(kind, key_of(kind, p));
               if (!j) {
                 reply.send(api::json_error(req, bhttp::status::not_found, "not found"));
                 return;
               }
               reply.send(api::json_response(req, bhttp::status::ok, dump_json(*j) + "\n"));
             });
  router.add(bhttp::verb::put, one,
             [this, kind](http::Request&& req, const http::RequestInfo&, const api::PathParams& p,
                          http::Reply reply) {
               auto body = parse_body(req, reply);
               if (!body) {
                 return;
               }
               if (!body->is_object()) {
                 reply.send(api::json_error(req, bhttp::status::bad_request, "invalid",
                                            "the body must be a JSON object"));
                 return;
               }
               // The key may be left out of the body: the path gives it.
               auto key = key_of(kind, p);
               switch (kind) {
                 case EntityKind::User:
                   body->emplace("pin", key);
                   break;
                 case EntityKind::Holiday:
                   body->emplace("date", key);
                   break;
                 case EntityKind::Door:
                   body->emplace("terminal", p.at("sn"));
                   if (!body->contains("door")) {
                     int door = 0;
                     const auto& d = p.at("door");
                     auto [ptr, ec] = std::from_chars(d.data(), d.data() + d.size(), door);
                     if (ec == std::errc() && ptr == d.data() + d.size()) {
                       (*body)["door"] = door;
                     }
                   }
                   break;
                 default:
                   if (!body->contains("id")) {
                     int id = 0;
                     auto [ptr, ec] = std::from_chars(key.data(), key.data() + key.size(), id);
                     if (ec == std::errc() && ptr == key.data() + key.size()) {
                       (*body)["id"] = id;
                     }
                   }
                   break;
               }
               service_.put(kind, std::move(*body), key,
                            [req = std::move(req), reply](AccessService::Update u) mutable {
                              reply.send(update_response(req, u, bhttp::status::ok));
                            });
             });
  router.add(bhttp::verb::delete_, one,
             [this, kind](http::Request&& req, const http::RequestInfo&, const api::PathParams& p,
                          http::Reply reply) {
               service_.remove(
                   kind, key_of(kind, p),
                   [req = std::move(req), reply](AccessService::Update u) mutable {
                     if (!u.errors.empty() || u.not_found || !u.conflict.empty() || u.ec) {
                       reply.send(update_response(req, u, bhttp::status::ok));
                       return;
                     }
                     reply.send(api::json_response(req, bhttp::status::ok, "{\"deleted\":true}\n"));
                   });
             });
}

}  // namespace pushgate::access
