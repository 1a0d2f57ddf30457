#include "gateway/api/console_api.hpp"

#include <nlohmann/json.hpp>

#include "gateway/event_json.hpp"
#include "gateway/version.hpp"

namespace pushgate::api {

namespace bhttp = boost::beast::http;
using nlohmann::json;

namespace {

json value_json(const config::Value& v) {
  return std::visit([](const auto& x) { return json(x); }, v);
}

}  // namespace

bool is_secret_key(std::string_view path) {
  auto leaf = path.substr(path.rfind('.') == std::string_view::npos ? 0 : path.rfind('.') + 1);
  for (std::string_view word : {"password", "token", "secret", "psk", "passphrase"}) {
    if (leaf.find(word) != std::string_view::npos) {
      return true;
    }
  }
  return false;
}

void add_console_routes(Router& router, const config::Config& config, const StatusFigures& status,
                        const Clock& clock) {
  const auto started_ms = clock.now_ms();
  router.add(bhttp::verb::get, "/api/v1/status",
             [&config, &status, started_ms](http::Request&& req, const http::RequestInfo&,
                                            const PathParams&, http::Reply reply) {
               json j;
               auto free = status.disk_free_bytes();
               j["disk_free_bytes"] = free ? json(*free) : json(nullptr);
               j["gateway_id"] = config.get_string("gateway.id");
               j["version"] = std::string(kVersion);
               j["started"] = format_utc_iso8601(started_ms);
               reply.send(json_response(req, bhttp::status::ok, dump_json(j) + "\n"));
             });
  router.add(bhttp::verb::get, "/api/v1/config",
             [&config](http::Request&& req, const http::RequestInfo&, const PathParams&,
                       http::Reply reply) {
               json keys = json::array();
               for (const auto& [path, value] : config.values()) {
                 json k;
                 k["key"] = path;
                 const bool secret = is_secret_key(path);
                 const bool empty = std::holds_alternative<std::string>(value) &&
                                    std::get<std::string>(value).empty();
                 k["value"] = secret && !empty ? json("********") : value_json(value);
                 k["secret"] = secret;
                 k["set"] = config.is_set(path);
                 keys.push_back(std::move(k));
               }
               json j = {{"keys", std::move(keys)}};
               reply.send(json_response(req, bhttp::status::ok, dump_json(j) + "\n"));
             });
}

}  // namespace pushgate::api
