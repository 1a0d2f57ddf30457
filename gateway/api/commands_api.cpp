#include "gateway/api/commands_api.hpp"

#include <charconv>
#include <mutex>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>
#include <nlohmann/json.hpp>

#include "gateway/event_json.hpp"
#include "gateway/http/query.hpp"

namespace pushgate::api {

namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using nlohmann::json;

namespace {
std::optional<std::int64_t> to_int(std::string_view s) {
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size() || v < 0) {
    return std::nullopt;
  }
  return v;
}
}  // namespace

CommandsApi::CommandsApi(Router& router, store::Store& store, CommandQueue& queue)
    : store_(store), queue_(queue) {
  router.add(
      bhttp::verb::post, "/api/v1/terminals/{sn}/commands",
      [this](http::Request&& req, const http::RequestInfo&, const PathParams& p,
             http::Reply reply) {
        // 413 / 400 naming the limit, before anything is built from the body.
        auto body = parse_json_body(req, reply);
        if (!body) {
          return;
        }
        if (!body->is_object()) {
          reply.send(json_error(req, bhttp::status::bad_request, "bad command",
                                "the body must be a JSON object"));
          return;
        }
        CommandRequest cr;
        cr.terminal_sn = p.at("sn");
        cr.origin = "rest";
        // The same JSON form as MQTT commands (gateway/command.hpp).
        if (auto why = command_request_from_json(*body, cr); !why.empty()) {
          reply.send(json_error(req, bhttp::status::bad_request, "bad command", why));
          return;
        }
        if (cr.verb == "set_option" && cr.params.contains("options")) {
          set_options(std::move(cr), std::move(req), std::move(reply));
          return;
        }
        auto ex = reply.executor();
        queue_.enqueue(std::move(cr), [ex, req = std::move(req), reply = std::move(reply)](
                                          boost::system::error_code ec, std::string error,
                                          CommandRecord rec, bool duplicate) mutable {
          net::post(ex, [req = std::move(req), reply = std::move(reply), ec,
                         error = std::move(error), rec = std::move(rec), duplicate]() mutable {
            if (ec) {
              reply.send(
                  json_error(req, bhttp::status::service_unavailable, "store unavailable", error));
              return;
            }
            if (!error.empty()) {
              reply.send(json_error(req, bhttp::status::bad_request, "bad command", error));
              return;
            }
            auto j = command_to_json(rec);
            j["duplicate"] = duplicate;
            reply.send(json_response(req, duplicate ? bhttp::status::ok : bhttp::status::accepted,
                                     dump_json(j) + "\n"));
          });
        });
      });
  router.add(
      bhttp::verb::get, "/api/v1/commands",
      [this](http::Request&& req, const http::RequestInfo&, const PathParams&, http::Reply reply) {
        auto q = http::Query::parse_target(req.target());
        auto after = to_int(q.get_or("after", "0"));
        auto limit = to_int(q.get_or("limit", "100"));
        std::optional<CommandState> state;
        if (auto s = q.get("state")) {
          state = command_state_from_string(*s);
          if (!state) {
            reply.send(json_error(req, bhttp::status::bad_request, "bad parameter",
                                  "unknown state \"" + *s + "\""));
            return;
          }
        }
        if (!after || !limit || *limit == 0) {
          reply.send(json_error(req, bhttp::status::bad_request, "bad parameter",
                                "after and limit are non-negative integers"));
          return;
        }
        auto lim = static_cast<std::size_t>(std::min<std::int64_t>(*limit, 1000));
        auto terminal = q.get_or("terminal", "");
        auto ex = reply.executor();
        store_.async_read(
            [terminal, state, a = *after, lim](store::Connection& db) {
              boost::system::error_code ec;
              auto rows = CommandQueue::read(db, terminal, state, a, lim, ec);
              return std::make_pair(ec, std::move(rows));
            },
            net::bind_executor(ex, [req = std::move(req), reply = std::move(reply), lim,
                                    a = *after](auto result) mutable {
              if (result.first) {
                reply.send(json_error(req, bhttp::status::service_unavailable, "store unavailable",
                                      result.first.message()));
                return;
              }
              json list = json::array();
              std::int64_t next = a;
              for (const auto& c : result.second) {
                list.push_back(command_to_json(c));
                next = c.id;
              }
              json body = {{"commands", std::move(list)},
                           {"next_after", next},
                           {"more", result.second.size() == lim}};
              reply.send(json_response(req, bhttp::status::ok, dump_json(body) + "\n"));
            }));
      });
  router.add(bhttp::verb::get, "/api/v1/commands/{id}",
             [this](http::Request&& req, const http::RequestInfo&, const PathParams& p,
                    http::Reply reply) {
               auto id = to_int(p.at("id"));
               if (!id) {
                 reply.send(json_error(req, bhttp::status::bad_request, "bad id"));
                 return;
               }
               auto ex = reply.executor();
               store_.async_read(
                   [i = *id](store::Connection& db) {
                     boost::system::error_code ec;
                     auto c = CommandQueue::read_one(db, i, ec);
                     return std::make_pair(ec, std::move(c));
                   },
                   net::bind_executor(ex, [req = std::move(req),
                                           reply = std::move(reply)](auto result) mutable {
                     if (result.first) {
                       reply.send(json_error(req, bhttp::status::service_unavailable,
                                             "store unavailable", result.first.message()));
                     } else if (!result.second) {
                       reply.send(json_error(req, bhttp::status::not_found, "no such command"));
                     } else {
                       reply.send(json_response(req, bhttp::status::ok,
                                                dump_json(command_to_json(*result.second)) + "\n"));
                     }
                   }));
             });
  router.add(
      bhttp::verb::delete_, "/api/v1/commands/{id}",
      [this](http::Request&& req, const http::RequestInfo&, const PathParams& p,
             http::Reply reply) {
        auto id = to_int(p.at("id"));
        if (!id) {
          // Not a command id at all: the request is wrong, not the command's state.
          reply.send(json_error(req, bhttp::status::bad_request, "bad id",
                                "a command id is a non-negative integer"));
          return;
        }
        WriteBatch batch;
        std::vector<CommandRecord> changed;
        if (!queue_.cancel(*id, batch, changed)) {
          reply.send(json_error(req, bhttp::status::conflict, "not cancellable",
                                "only a queued command can be cancelled"));
          return;
        }
        auto ex = reply.executor();
        store_.append(std::move(batch), [this, ex, req = std::move(req), reply = std::move(reply),
                                         changed](CommitResult r) mutable {
          if (!r.ec) {
            queue_.committed(changed);
          }
          net::post(ex,
                    [req = std::move(req), reply = std::move(reply), changed, ec = r.ec]() mutable {
                      if (ec) {
                        reply.send(json_error(req, bhttp::status::service_unavailable,
                                              "store unavailable", ec.message()));
                        return;
                      }
                      reply.send(json_response(req, bhttp::status::ok,
                                               dump_json(command_to_json(changed.front())) + "\n"));
                    });
        });
      });
}

void CommandsApi::set_options(CommandRequest cr, http::Request&& req, http::Reply reply) {
  // Firmware stores several options of one SET OPTION as one garbage value
  // (and still answers Return=0): one command per option, all checked before
  // any is queued, answered together.
  const json options = cr.params.at("options");
  if (!options.is_object() || options.empty()) {
    reply.send(json_error(req, bhttp::status::bad_request, "bad command",
                          "params.options: an object of option names to values"));
    return;
  }
  std::vector<CommandRequest> parts;
  for (const auto& [key, value] : options.items()) {
    if (!value.is_string() && !value.is_number()) {
      reply.send(json_error(req, bhttp::status::bad_request, "bad command",
                            "params.options." + key + ": a string or a number"));
      return;
    }
    CommandRequest one = cr;
    one.params.erase("options");
    one.params["key"] = key;
    one.params["value"] = value.is_string() ? value.get<std::string>() : value.dump();
    if (!cr.client_ref.empty()) {
      one.client_ref = cr.client_ref + "#" + key;
    }
    if (auto why = queue_.check(one); !why.empty()) {
      reply.send(json_error(req, bhttp::status::bad_request, "bad command",
                            why.rfind("params.", 0) == 0 && why.rfind("params.key", 0) != 0
                                ? "params.options." + key + why.substr(why.find(':'))
                                : why));
      return;
    }
    parts.push_back(std::move(one));
  }
  struct Collect {
    std::mutex mutex;
    std::size_t left = 0;
    json commands = json::array();
    boost::system::error_code ec;
    std::string error;
    http::Request req;
    http::Reply reply;
  };
  auto all = std::make_shared<Collect>();
  all->left = parts.size();
  all->req = std::move(req);
  all->reply = std::move(reply);
  auto ex = all->reply.executor();
  for (auto& part : parts) {
    queue_.enqueue(std::move(part), [all, ex](boost::system::error_code ec, std::string error,
                                              CommandRecord rec, bool duplicate) {
      std::lock_guard lock(all->mutex);
      if (ec && !all->ec) {
        all->ec = ec;
        all->error = error;
      } else if (!error.empty() && all->error.empty()) {
        all->error = error;
      } else {
        auto j = command_to_json(rec);
        j["duplicate"] = duplicate;
        all->commands.push_back(std::move(j));
      }
      if (--all->left > 0) {
        return;
      }
      net::post(ex, [all] {
        if (all->ec) {
          all->reply.send(json_error(all->req, bhttp::status::service_unavailable,
                                     "store unavailable", all->error));
        } else if (!all->error.empty()) {
          all->reply.send(
              json_error(all->req, bhttp::status::bad_request, "bad command", all->error));
        } else {
          json body = {{"commands", std::move(all->commands)}};
          all->reply.send(json_response(all->req, bhttp::status::accepted, dump_json(body) + "\n"));
        }
      });
    });
  }
}

}  // namespace pushgate::api
