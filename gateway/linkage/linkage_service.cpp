#include "gateway/linkage/linkage_service.hpp"

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>

#include <date/date.h>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>
#include <nlohmann/json.hpp>

#include "gateway/access/access_service.hpp"
#include "gateway/config/config.hpp"
#include "gateway/device_text.hpp"
#include "gateway/json/bounded_json.hpp"
#include "gateway/json_error.hpp"
#include "gateway/logging.hpp"
#include "gateway/store/sqlite.hpp"
#include "gateway/store/store.hpp"
#include "gateway/store/write_context.hpp"

namespace pushgate::linkage {

namespace bhttp = boost::beast::http;
using nlohmann::json;

struct LinkageService::Shared {
  std::mutex mutex;
  std::condition_variable idle;
  LinkageService* service = nullptr;
  std::atomic<std::size_t> busy{0};
};

Options options_from_config(const config::Config& config) {
  Options o;
  o.enabled = config.get_bool("linkage.enabled");
  o.rules_file = config.get_string("linkage.rules_file");
  return o;
}

// The output actions of `rules` that name an output not in outputs.names.
static std::vector<rl::FieldError> undeclared_outputs(const std::vector<rl::Rule>& rules,
                                                      const std::vector<std::string>& names) {
  std::vector<rl::FieldError> errors;
  for (std::size_t r = 0; r < rules.size(); ++r) {
    for (std::size_t a = 0; a < rules[r].actions.size(); ++a) {
      const auto& act = rules[r].actions[a];
      if (act.type == rl::Action::Type::Output &&
          std::find(names.begin(), names.end(), act.output) == names.end()) {
        errors.push_back(
            {"rules[" + std::to_string(r) + "].actions[" + std::to_string(a) + "].output",
             "\"" + act.output + "\" is not declared in outputs.names"});
      }
    }
  }
  return errors;
}

rl::Parsed load_rules_file(const std::string& path) {
  rl::Parsed out;
  std::ifstream in(path);
  if (!in) {
    out.errors.push_back({path, std::string("cannot be read: ") + std::strerror(errno)});
    return out;
  }
  std::stringstream text;
  text << in.rdbuf();
  // Bounded before it becomes a tree: walking a document 100,000 levels
  // deep (in a command action's params) overflows the stack.
  const auto doc = parse_json_bounded(text.str(), kRulesJsonLimits);
  if (!doc.ok()) {
    out.errors.push_back({path, doc.refusal == JsonRefusal::Invalid
                                    ? "not valid JSON at " + json_syntax_error(text.str())
                                    : "is refused: " + doc.error});
    return out;
  }
  out = rl::parse_rules(doc.value);
  for (auto& e : out.errors) {
    e.field = path + ":" + e.field;
  }
  return out;
}

namespace {

std::string describe(const std::vector<rl::FieldError>& errors) {
  std::string out;
  for (const auto& e : errors) {
    out += (out.empty() ? "" : "; ") + e.field + ": " + e.message;
  }
  return out;
}

/** Stored rules that still validate, and those that do not (disabled until a PUT). */
struct StoredRules {
  std::vector<rl::Rule> rules;
  json invalid = json::array();  ///< [{"index", "id", "enabled": false, "reason", "rule"}]
};

json invalid_entry(json index, json id, std::string reason, json rule) {
  return {{"index", std::move(index)},
          {"id", std::move(id)},
          {"enabled", false},
          {"reason", std::move(reason)},
          {"rule", std::move(rule)}};
}

// Rules stored by an older version may no longer validate (a stricter
// command spec): each such rule is disabled, the others kept. When the
// document itself is unusable, or the remaining rules still fail together
// (an id used twice), the whole stored set is disabled.
StoredRules read_stored_rules(const std::string& text) {
  StoredRules out;
  const auto doc = parse_json_bounded(text, kRulesJsonLimits);
  if (!doc.ok()) {
    out.invalid.push_back(invalid_entry(
        nullptr, nullptr, "the stored rules document is invalid: " + doc.error, nullptr));
    return out;
  }
  auto whole = rl::parse_rules(doc.value);
  if (whole.ok()) {
    out.rules = std::move(whole.rules);
    return out;
  }
  const auto disable_all = [&] {
    out.rules.clear();
    out.invalid = json::array();
    out.invalid.push_back(invalid_entry(nullptr, nullptr, describe(whole.errors), doc.value));
  };
  const json* list = nullptr;
  if (doc.value.is_object() && doc.value.size() == 1) {
    if (auto it = doc.value.find("rules"); it != doc.value.end() && it->is_array()) {
      list = &*it;
    }
  }
  if (list == nullptr) {
    disable_all();
    return out;
  }
  json kept = json::array();
  for (std::size_t i = 0; i < list->size(); ++i) {
    const json& rule = (*list)[i];
    auto one = rl::parse_rules(json{{"rules", json::array({rule})}});
    if (one.ok()) {
      kept.push_back(rule);
      continue;
    }
    const std::string path = "rules[" + std::to_string(i) + "]";
    for (auto& e : one.errors) {
      if (e.field.rfind("rules[0]", 0) == 0) {
        e.field = path + e.field.substr(8);
      }
    }
    json id = nullptr;
    if (rule.is_object()) {
      if (auto it = rule.find("id"); it != rule.end() && it->is_string()) {
        id = *it;
      }
    }
    out.invalid.push_back(invalid_entry(i, std::move(id), describe(one.errors), rule));
  }
  auto rest = rl::parse_rules(json{{"rules", kept}});
  if (out.invalid.empty() || !rest.ok()) {
    disable_all();
    return out;
  }
  out.rules = std::move(rest.rules);
  return out;
}

}  // namespace

std::string check_rules_file(const std::string& path) {
  if (path.empty()) {
    return {};
  }
  const auto parsed = load_rules_file(path);
  return parsed.errors.empty() ? std::string() : "linkage.rules_file: " + describe(parsed.errors);
}

LinkageService::LinkageService(boost::asio::io_context& ioc, store::Store& store,
                               const Clock& clock, metrics::Registry& metrics,
                               CommandQueue& commands, Outputs& outputs,
                               access::AccessService* access, Options options)
    : ioc_(ioc),
      store_(store),
      clock_(clock),
      commands_(commands),
      outputs_(outputs),
      access_(access),
      options_(std::move(options)),
      log_(logger("rules")),
      shared_(std::make_shared<Shared>()),
      strand_(boost::asio::make_strand(ioc)),
      events_(metrics.counter("pushgate_linkage_events_total",
                              "Committed events matched against the linkage rules")),
      fired_(metrics.counter("pushgate_linkage_fired_total", "Linkage rules that fired")),
      debounced_(metrics.counter("pushgate_linkage_debounced_total",
                                 "Linkage rules that matched within their debounce time")),
      commands_queued_(metrics.counter("pushgate_linkage_actions_total",
                                       "Linkage actions carried out, by type",
                                       {{"type", "command"}})),
      alerts_(metrics.counter("pushgate_linkage_actions_total",
                              "Linkage actions carried out, by type", {{"type", "alert"}})),
      outputs_driven_(metrics.counter("pushgate_linkage_actions_total",
                                      "Linkage actions carried out, by type",
                                      {{"type", "output"}})),
      failures_(metrics.counter("pushgate_linkage_action_failures_total",
                                "Linkage actions that could not be carried out (logged)")) {}

LinkageService::~LinkageService() {
  stop();
}

std::string LinkageService::start() {
  if (!options_.enabled) {
    return {};
  }
  struct Stored {
    boost::system::error_code ec;
    std::optional<std::string> document;
  };
  Stored stored = store_.read([](store::Connection& db) {
    Stored s;
    auto st = db.prepare("SELECT document FROM linkage_rules WHERE id = 1", s.ec);
    if (!s.ec && st.step(s.ec)) {
      s.document = st.column_text(0);
    }
    return s;
  });
  if (stored.ec) {
    return "linkage: cannot read the stored rules: " + stored.ec.message();
  }
  if (stored.document) {
    // Stored by PUT after the same bounds; bounded again, as the row may be
    // edited by hand. Rules an older version accepted and this one does not
    // are disabled, not a reason to refuse the start (a restart loop after
    // an upgrade): GET shows them with the reason until a PUT replaces them.
    auto loaded = read_stored_rules(*stored.document);
    for (const auto& bad : loaded.invalid) {
      const std::string which = bad["id"].is_string()
                                    ? "'" + text::log_escape(bad["id"].get<std::string>()) + "'"
                                : bad["index"].is_null() ? std::string("set")
                                                         : "#" + bad["index"].dump();
      log_->error("linkage: stored rule {} is disabled, it no longer validates: {}", which,
                  text::log_escape(bad["reason"].get<std::string>(), 1000));
    }
    set_rules(std::move(loaded.rules));
    invalid_ = std::move(loaded.invalid);
    source_ = "api";
  } else if (!options_.rules_file.empty()) {
    const auto parsed = load_rules_file(options_.rules_file);
    if (!parsed.ok()) {
      return "linkage.rules_file: " + describe(parsed.errors);
    }
    set_rules(parsed.rules);
    source_ = "file";
  }
  {
    std::lock_guard lock(shared_->mutex);
    shared_->service = this;
  }
  commit_sub_ =
      store_.subscribe([this](const std::vector<Event>& committed) { on_commit(committed); });
  log_->info("linkage: {} rule(s) from {}", engine_.rules().size(), source_);
  return {};
}

void LinkageService::stop() {
  commit_sub_.reset();  // returns once no commit observer call is running
  std::lock_guard lock(shared_->mutex);
  shared_->service = nullptr;
}

void LinkageService::set_rules(std::vector<rl::Rule> rules) {
  active_ = std::any_of(rules.begin(), rules.end(), [](const rl::Rule& r) { return r.enabled; });
  engine_.set_rules(std::move(rules));
}

void LinkageService::on_commit(const std::vector<Event>& committed) {
  if (!active_) {
    return;  // the ingest path pays nothing while no rule is enabled
  }
  std::vector<Event> events;
  for (const auto& e : committed) {
    // An alert is a rule's own output: matching it could loop.
    if (e.kind != EventKind::Alert) {
      events.push_back(e);
    }
  }
  if (events.empty()) {
    return;
  }
  ++shared_->busy;
  boost::asio::post(strand_, [this, s = shared_, events = std::move(events)] {
    for (const auto& e : events) {
      handle(e);
    }
    std::lock_guard lock(s->mutex);
    --s->busy;
    s->idle.notify_all();
  });
}

rl::EventFacts LinkageService::facts_of(const Event& e) const {
  rl::EventFacts f;
  f.event_id = e.id;
  f.terminal_sn = e.terminal_sn;
  f.kind = std::string(to_string(e.kind));
  f.door = e.door;
  f.event_code = e.event_code;
  f.pin = e.pin;
  f.at_ms = e.received_ms != 0 ? e.received_ms : clock_.now_ms();
  if (!e.pin.empty() && access_ != nullptr) {
    f.user_group = access_->with_data(
        [&e](const pushgate::rules::access::MasterData& d) -> std::optional<int> {
          const auto* u = d.find_user(e.pin);
          return u == nullptr ? std::nullopt : std::optional<int>(u->group);
        });
  }
  // The terminal's wall time is the site's (doors and rules share it).
  std::istringstream in(e.local_time);
  date::local_seconds t{};
  in >> date::parse("%Y-%m-%d %H:%M:%S", t);
  if (in.fail()) {
    t = date::local_seconds{
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::milliseconds(f.at_ms))};
  }
  const auto day = date::floor<date::days>(t);
  f.weekday = static_cast<int>(date::weekday(day).c_encoding());
  f.minute_of_day =
      static_cast<int>(std::chrono::duration_cast<std::chrono::minutes>(t - day).count());
  return f;
}

void LinkageService::handle(const Event& e) {
  events_.inc();
  const auto outcome = engine_.on_event(facts_of(e));
  debounced_.inc(outcome.debounced.size());
  for (const auto& id : outcome.debounced) {
    log_->debug("[sn={}] linkage rule {} matched event {} within its debounce time", e.terminal_sn,
                id, e.id);
  }
  for (const auto& firing : outcome.fired) {
    fired_.inc();
    log_->info("[sn={}] linkage rule {} fired on event {} ({})", e.terminal_sn, firing.rule_id,
               e.id, to_string(e.kind));
    run(firing, e);
  }
}

void LinkageService::run(const rl::Firing& firing, const Event& e) {
  for (std::size_t i = 0; i < firing.actions.size(); ++i) {
    const rl::Action& a = firing.actions[i];
    switch (a.type) {
      case rl::Action::Type::Command: {
        CommandRequest r;
        r.terminal_sn = a.terminal;
        r.origin = "rule";
        // The same event re-handled (never, but cheap to guarantee) queues once.
        r.client_ref =
            "linkage:" + firing.rule_id + ":" + std::to_string(e.id) + ":" + std::to_string(i);
        r.verb = a.verb;
        r.params = a.params;
        commands_.enqueue(std::move(r), [this, rule = firing.rule_id, sn = a.terminal](
                                            boost::system::error_code ec, std::string error,
                                            CommandRecord rec, bool) {
          if (ec || !error.empty()) {
            failures_.inc();
            log_->error("[sn={}] linkage rule {}: command refused: {}", sn, rule,
                        error.empty() ? ec.message() : error);
            return;
          }
          commands_queued_.inc();
          log_->debug("[sn={}] [cmd={}] linkage rule {} queued {}", sn, rec.id, rule, rec.verb);
        });
        break;
      }
      case rl::Action::Type::Alert: {
        Event alert;
        alert.terminal_sn = e.terminal_sn;
        alert.record_key =
            "ALERT\t" + firing.rule_id + "\t" + std::to_string(e.id) + "\t" + std::to_string(i);
        alert.kind = EventKind::Alert;
        alert.local_time = e.local_time;
        alert.utc_ms = e.utc_ms;
        alert.pin = e.pin;
        alert.door = e.door;
        alert.event_code = e.event_code;
        alert.raw = a.message;
        alert.extra_json = json{{"rule", firing.rule_id},
                                {"severity", a.severity},
                                {"message", a.message},
                                {"source_event_id", e.id},
                                {"source_kind", to_string(e.kind)}}
                               .dump(-1, ' ', false, json::error_handler_t::replace);
        alert.received_ms = clock_.now_ms();
        WriteBatch batch;
        batch.events.push_back(std::move(alert));
        store_.append(std::move(batch), [this, rule = firing.rule_id](CommitResult r) {
          if (r.ec) {
            failures_.inc();
            log_->error("linkage rule {}: the alert could not be stored: {}", rule, r.ec.message());
          } else {
            alerts_.inc();
          }
        });
        break;
      }
      case rl::Action::Type::Output: {
        const std::int64_t now = clock_.now_ms();
        bool ok = false;
        switch (a.mode) {
          case rl::Action::OutputMode::On:
            ok = outputs_.set(a.output, true, now);
            break;
          case rl::Action::OutputMode::Off:
            ok = outputs_.set(a.output, false, now);
            break;
          case rl::Action::OutputMode::Pulse:
            ok = outputs_.pulse(a.output, a.duration_ms, now);
            break;
        }
        if (ok) {
          outputs_driven_.inc();
        } else {
          failures_.inc();
          log_->error("linkage rule {}: output '{}' is not declared in outputs.names",
                      firing.rule_id, a.output);
        }
        break;
      }
    }
  }
}

void LinkageService::add_routes(api::Router& router) {
  // The store calls `done` on its writer thread: hop to the strand.
  const auto on_strand = [this](auto handler) {
    return [this, handler = std::make_shared<decltype(handler)>(std::move(handler))](
               CommitResult r) { boost::asio::post(strand_, [handler, r] { (*handler)(r); }); };
  };
  router.add(bhttp::verb::get, "/api/v1/linkage/rules",
             [this](http::Request&& req, const http::RequestInfo&, const api::PathParams&,
                    http::Reply reply) {
               boost::asio::post(strand_, [this, req = std::move(req), reply]() mutable {
                 json body = rl::to_json(engine_.rules());
                 body["source"] = source_;
                 body["rules_file"] = options_.rules_file;
                 body["enabled"] = options_.enabled;
                 body["invalid_rules"] = invalid_;
                 reply.send(api::json_response(req, bhttp::status::ok, body.dump() + "\n"));
               });
             });
  router.add(
      bhttp::verb::put, "/api/v1/linkage/rules",
      [this, on_strand](http::Request&& req, const http::RequestInfo&, const api::PathParams&,
                        http::Reply reply) {
        // 413 / 400 naming the limit, before anything is built from the body.
        const auto doc = api::parse_json_body(req, reply);
        if (!doc) {
          return;
        }
        auto parsed = rl::parse_rules(*doc);
        if (parsed.ok()) {
          // An output missing from outputs.names would fail only when the
          // rule fires, perhaps at night: refused now, naming the field.
          parsed.errors = undeclared_outputs(parsed.rules, outputs_.names());
        }
        if (!parsed.ok()) {
          json body = {{"error", "invalid rules"},
                       {"errors", api::field_errors_json(parsed.errors)}};
          reply.send(api::json_response(req, bhttp::status::bad_request, body.dump() + "\n"));
          return;
        }
        const std::string stored = rl::to_json(parsed.rules).dump();
        WriteBatch batch;
        batch.ops.push_back([stored, now = clock_.now_ms()](store::WriteContext& ctx) {
          boost::system::error_code ec;
          auto& st = ctx.statement(
              "INSERT INTO linkage_rules(id, document, updated_ms) VALUES(1, ?1, ?2) "
              "ON CONFLICT(id) DO UPDATE SET document=excluded.document, "
              "updated_ms=excluded.updated_ms",
              ec);
          if (ec) {
            return ec;
          }
          st.bind(1, std::string_view(stored)).bind(2, now);
          return st.run();
        });
        store_.append(std::move(batch),
                      on_strand([this, req = std::move(req), reply,
                                 rules = std::move(parsed.rules)](CommitResult r) mutable {
                        if (r.ec) {
                          reply.send(api::json_error(req, bhttp::status::service_unavailable,
                                                     "store unavailable", r.ec.message()));
                          return;
                        }
                        set_rules(std::move(rules));
                        source_ = "api";
                        invalid_ = json::array();
                        log_->info("linkage: {} rule(s) put over REST", engine_.rules().size());
                        json body = rl::to_json(engine_.rules());
                        body["source"] = source_;
                        reply.send(api::json_response(req, bhttp::status::ok, body.dump() + "\n"));
                      }));
      });
  router.add(bhttp::verb::delete_, "/api/v1/linkage/rules",
             [this, on_strand](http::Request&& req, const http::RequestInfo&,
                               const api::PathParams&, http::Reply reply) {
               // Back to the file; refuse before forgetting the stored rules if it is bad.
               rl::Parsed from_file;
               if (!options_.rules_file.empty()) {
                 from_file = load_rules_file(options_.rules_file);
                 if (!from_file.ok()) {
                   json body = {{"error", "linkage.rules_file is invalid"},
                                {"errors", api::field_errors_json(from_file.errors)}};
                   reply.send(api::json_response(req, bhttp::status::conflict, body.dump() + "\n"));
                   return;
                 }
               }
               WriteBatch batch;
               batch.ops.push_back([](store::WriteContext& ctx) {
                 boost::system::error_code ec;
                 auto& st = ctx.statement("DELETE FROM linkage_rules WHERE id = 1", ec);
                 return ec ? ec : st.run();
               });
               store_.append(
                   std::move(batch),
                   on_strand([this, req = std::move(req), reply,
                              rules = std::move(from_file.rules)](CommitResult r) mutable {
                     if (r.ec) {
                       reply.send(api::json_error(req, bhttp::status::service_unavailable,
                                                  "store unavailable", r.ec.message()));
                       return;
                     }
                     set_rules(std::move(rules));
                     source_ = options_.rules_file.empty() ? "none" : "file";
                     invalid_ = json::array();
                     json body = rl::to_json(engine_.rules());
                     body["source"] = source_;
                     reply.send(api::json_response(req, bhttp::status::ok, body.dump() + "\n"));
                   }));
             });
}

bool LinkageService::wait_idle_for_test(std::chrono::milliseconds deadline) {
  std::unique_lock lock(shared_->mutex);
  return shared_->idle.wait_for(lock, deadline, [this] { return shared_->busy == 0; });
}

}  // namespace pushgate::linkage
