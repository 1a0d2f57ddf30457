#include "gateway/sync/sync_service.hpp"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <sstream>
#include <stdexcept>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>
#include <nlohmann/json.hpp>

#include "gateway/access/access_service.hpp"
#include "gateway/config/config.hpp"
#include "gateway/device_text.hpp"
#include "gateway/event_json.hpp"
#include "gateway/logging.hpp"
#include "gateway/store/device_record_queries.hpp"
#include "gateway/store/sqlite.hpp"
#include "gateway/store/store.hpp"
#include "gateway/store/write_context.hpp"

namespace pushgate::sync {

namespace bhttp = boost::beast::http;
using nlohmann::json;

/** Shared with observers and callbacks, which may outlive the service. */
struct SyncService::Shared {
  std::mutex mutex;
  std::condition_variable idle;
  SyncService* service = nullptr;
  std::atomic<std::size_t> busy{0};   ///< posted or reading work not finished
  std::atomic<std::int64_t> open{0};  ///< sync commands queued or sent
};

Options options_from_config(const config::Config& config) {
  Options o;
  o.enabled = config.get_bool("sync.enabled");
  o.enrolment = config.get_bool("sync.enrolment");
  o.kinds = Kinds{false, false, false, false};
  for (const auto& k : config.get_list("sync.kinds")) {
    if (k == "users") {
      o.kinds.users = true;
    } else if (k == "timezones") {
      o.kinds.timezones = true;
    } else if (k == "templates") {
      o.kinds.templates = true;
    } else if (k == "photos") {
      o.kinds.photos = true;
    } else {
      throw std::runtime_error("sync.kinds: '" + k +
                               "' is not one of users, timezones, templates, photos");
    }
  }
  return o;
}

SyncService::SyncService(boost::asio::io_context& ioc, store::Store& store, const Clock& clock,
                         metrics::Registry& metrics, CommandQueue& commands,
                         TerminalRegistry& terminals, access::AccessService* access,
                         Options options)
    : ioc_(ioc),
      store_(store),
      clock_(clock),
      commands_(commands),
      terminals_(terminals),
      access_(access),
      options_(options),
      log_(logger("commands")),
      shared_(std::make_shared<Shared>()),
      strand_(boost::asio::make_strand(ioc)),
      scan_timer_(strand_),
      queued_(metrics.counter("pushgate_sync_commands_queued_total",
                              "Commands queued by the terminal synchronisation")),
      skipped_(metrics.counter("pushgate_sync_skipped_total",
                               "Items not sent because the terminal already has them")),
      enqueue_failures_(metrics.counter("pushgate_sync_enqueue_failures_total",
                                        "Sync commands the queue refused or could not store")),
      finished_done_(metrics.counter("pushgate_sync_commands_finished_total",
                                     "Sync commands finished, by outcome", {{"outcome", "done"}})),
      finished_failed_(metrics.counter("pushgate_sync_commands_finished_total",
                                       "Sync commands finished, by outcome",
                                       {{"outcome", "failed"}})),
      enrolments_(
          metrics.counter("pushgate_sync_enrolments_total",
                          "Enrolment uploads (user, template, photo) planned for the site")) {
  metrics.callback_gauge("pushgate_sync_commands_open",
                         "Sync commands queued or sent, not finished (a large sync's backlog)",
                         [s = shared_] { return static_cast<double>(s->open.load()); });
}

SyncService::~SyncService() {
  stop();
}

std::string SyncService::start() {
  if (!options_.enabled) {
    return {};
  }
  // What was sent before a restart, and the backlog still open.
  struct Loaded {
    boost::system::error_code ec;
    std::vector<std::tuple<std::string, std::string, std::string>> rows;
    std::int64_t open = 0;
  };
  Loaded loaded = store_.read([](store::Connection& db) {
    Loaded l;
    auto st = db.prepare("SELECT terminal_sn, item, digest FROM sync_items", l.ec);
    while (!l.ec && st.step(l.ec)) {
      l.rows.emplace_back(st.column_text(0), st.column_text(1), st.column_text(2));
    }
    if (!l.ec) {
      auto open = db.prepare(
          "SELECT count(*) FROM commands WHERE origin='sync' AND state IN ('queued','sent')", l.ec);
      if (!l.ec && open.step(l.ec)) {
        l.open = open.column_int(0);
      }
    }
    return l;
  });
  if (loaded.ec) {
    return "sync: cannot read sync_items: " + loaded.ec.message();
  }
  for (const auto& [sn, item, digest] : loaded.rows) {
    ledger_.record(sn, item, digest);
  }
  shared_->open = loaded.open;
  {
    std::lock_guard lock(shared_->mutex);
    shared_->service = this;
  }
  commit_sub_ = store_.subscribe([this](const std::vector<Event>& committed) {
    std::lock_guard lock(shared_->mutex);  // serialised with on_change, as it was
    on_commit(committed);
  });
  if (access_ != nullptr) {
    access_->add_change_observer([s = shared_](const access::MasterDataChange& change) {
      std::lock_guard lock(s->mutex);
      if (s->service != nullptr) {
        s->service->on_change(change);
      }
    });
  }
  commands_.add_observer([s = shared_, this](const CommandRecord& c) {
    if (c.origin != "sync" || !is_final(c.state)) {
      return;
    }
    std::lock_guard lock(s->mutex);
    if (s->service == nullptr) {
      return;
    }
    --s->open;
    (c.state == CommandState::Done ? finished_done_ : finished_failed_).inc();
  });
  // Terminals that have items are in step; one without any gets everything.
  for (const auto& [sn, item, digest] : loaded.rows) {
    known_targets_.insert(sn);
  }
  boost::asio::post(strand_, [this] { scan_terminals(); });
  log_->info("sync: {} items known as sent, {} commands open", ledger_.size(), loaded.open);
  return {};
}

void SyncService::scan_terminals() {
  {
    std::lock_guard lock(shared_->mutex);
    if (shared_->service == nullptr) {
      return;
    }
  }
  bool joined = false;
  // Every 2 s over every terminal: only the serials not served yet are
  // copied, and only their records read (targets_of parses each record's
  // info JSON; doing that for 2,000 idle terminals every scan cost more
  // than their polls).
  const auto fresh = terminals_.serials_if([this](const TerminalRecord& t) {
    return t.state == "accepted" && t.capabilities.user_sync && known_targets_.count(t.sn) == 0;
  });
  for (const auto& sn : fresh) {
    if (!known_targets_.insert(sn).second) {
      continue;
    }
    joined = true;
    if (access_ != nullptr) {
      log_->info("[sn={}] sync: new access terminal, queueing the master data it needs", sn);
      full_sync(sn);
    }
  }
  if (joined && options_.enrolment) {
    // And every enrolment the other terminals hold (the ledger keeps the
    // terminals that have them from getting them again).
    struct Pairs {
      boost::system::error_code ec;
      std::vector<std::pair<std::string, std::string>> rows;
    };
    ++shared_->busy;
    store_.async_read(
        [](store::Connection& db) {
          Pairs p;
          p.rows = store::read_device_user_keys(db, p.ec);
          return p;
        },
        boost::asio::bind_executor(strand_, [this, s = shared_](Pairs p) {
          if (p.ec) {
            log_->error("sync: cannot list the enrolments for a new terminal: {}", p.ec.message());
          }
          for (auto& [sn, pin] : p.rows) {
            // Only what the terminals the sync serves hold (accepted, user_sync).
            const auto t = terminals_.find(sn);
            if (t && t->state == "accepted" && t->capabilities.user_sync) {
              sync_enrolment(std::move(sn), std::move(pin));
            }
          }
          std::lock_guard lock(s->mutex);
          --s->busy;
          s->idle.notify_all();
        }));
  }
  scan_timer_.expires_after(std::chrono::seconds(2));
  scan_timer_.async_wait([this, s = shared_](boost::system::error_code ec) {
    if (!ec) {
      scan_terminals();
    }
  });
}

void SyncService::stop() {
  commit_sub_.reset();  // first, and without the lock the observer takes
  {
    std::lock_guard lock(shared_->mutex);
    shared_->service = nullptr;
  }
  boost::asio::post(strand_, [this] { scan_timer_.cancel(); });
}

// Writer thread: pick the enrolment uploads and hand them to the strand.
void SyncService::on_commit(const std::vector<Event>& committed) {
  if (!options_.enrolment) {
    return;
  }
  std::set<std::pair<std::string, std::string>> touched;
  for (const auto& e : committed) {
    if (e.kind != EventKind::Enrollment || e.pin.empty() || e.command_id != 0) {
      continue;
    }
    const auto extra = json::parse(e.extra_json, nullptr, false);
    const std::string record = extra.is_object() ? extra.value("record", std::string()) : "";
    if (record == "user" || record == "template" || record == "biophoto" || record == "userpic") {
      touched.emplace(e.terminal_sn, e.pin);
    }
  }
  for (const auto& [sn, pin] : touched) {
    ++shared_->busy;
    boost::asio::post(strand_, [this, s = shared_, sn = sn, pin = pin] {
      sync_enrolment(sn, pin);
      std::lock_guard lock(s->mutex);
      --s->busy;
      s->idle.notify_all();
    });
  }
}

// Writer thread (or the committing thread): plan on the strand.
void SyncService::on_change(const access::MasterDataChange& change) {
  ++shared_->busy;
  boost::asio::post(strand_, [this, s = shared_, change] {
    const auto targets = targets_of(terminals_.all());
    std::vector<Planned> plan;
    access_->with_data([&](const ra::MasterData& data) {
      using E = access::MasterDataChange::Entity;
      switch (change.entity) {
        case E::User: {
          std::string skip;
          if (change.source.rfind("terminal:", 0) == 0) {
            skip = change.source.substr(9);  // it holds the row it uploaded
          }
          plan = plan_user(data, change.key, targets, options_.kinds, skip);
          break;
        }
        case E::TimeZone:
          try {
            plan = plan_timezone(data, std::stoi(change.key), targets, options_.kinds);
          } catch (const std::exception&) {
            log_->warn("sync: time zone change with a bad key '{}'", change.key);
          }
          break;
        case E::Holiday: {
          std::istringstream in(change.key);
          date::year_month_day day{};
          in >> date::parse("%Y-%m-%d", day);
          if (in.fail()) {
            log_->warn("sync: holiday change with a bad key '{}'", change.key);
          } else {
            plan = plan_holiday(data, day, targets, options_.kinds);
          }
          break;
        }
        case E::Level:
          // A level's doors or time zone changed: every user holding it.
          for (const auto& [pin, u] : data.users) {
            if (std::find(u.levels.begin(), u.levels.end(), std::atoi(change.key.c_str())) !=
                u.levels.end()) {
              auto p = plan_user(data, pin, targets, options_.kinds);
              plan.insert(plan.end(), p.begin(), p.end());
            }
          }
          break;
        case E::Door:
        case E::Area:
          break;  // decided by pushgate (remote identification), not sent to terminals
      }
    });
    apply(std::move(plan), {});
    std::lock_guard lock(s->mutex);
    --s->busy;
    s->idle.notify_all();
  });
}

// Strand: read what `sn` uploaded for `pin`, plan for the others.
void SyncService::sync_enrolment(std::string sn, std::string pin) {
  struct Read {
    boost::system::error_code ec;
    Enrolment e;
  };
  ++shared_->busy;
  store_.async_read(
      [sn, pin](store::Connection& db) {
        Read r;
        r.e.source_sn = sn;
        r.e.pin = pin;
        const auto held = store::read_device_enrolment(db, sn, pin, r.ec);
        if (r.ec) {
          return r;
        }
        if (held.user) {
          const auto& u = *held.user;
          commands::User user;
          user.pin = pin;
          user.name = u.name;
          user.privilege = u.privilege.value_or(0);
          user.password = u.password;
          user.card = u.card;
          user.group = u.group.value_or(1);
          const auto fields = json::parse(u.fields_json, nullptr, false);
          if (fields.is_object()) {
            const auto text = [&fields](const char* key) {
              auto it = fields.find(key);
              return it != fields.end() && it->is_string() ? it->get<std::string>() : std::string();
            };
            user.valid_from = validity_from_upload(text("starttime"), false);
            user.valid_until = validity_from_upload(text("endtime"), true);
          }
          r.e.user = std::move(user);
        }
        for (const auto& x : held.templates) {
          commands::Template tmpl;
          tmpl.pin = pin;
          tmpl.bio_type = x.type;
          tmpl.no = x.number;
          tmpl.index = x.index;
          tmpl.valid = x.valid.value_or(1);
          tmpl.duress = x.duress.value_or(0);
          tmpl.major_ver = x.major_ver;
          tmpl.minor_ver = x.minor_ver;
          tmpl.format = x.format;
          tmpl.data = x.data;
          r.e.templates.push_back(std::move(tmpl));
        }
        for (const auto& x : held.photos) {
          r.e.photos.push_back({std::string(to_string(x.kind)), x.type, x.content});
        }
        return r;
      },
      boost::asio::bind_executor(strand_, [this, s = shared_](Read r) {
        if (r.ec) {
          log_->error("[sn={}] sync: cannot read the enrolment of PIN {}: {}", r.e.source_sn,
                      text::log_escape(r.e.pin), r.ec.message());
        } else if (!r.e.user) {
          // Templates before the user row: the other terminals would refuse
          // them (no such user). The user's upload brings them along.
          log_->debug("[sn={}] sync: PIN {} has no user row yet; waiting for it", r.e.source_sn,
                      text::log_escape(r.e.pin));
        } else {
          enrolments_.inc();
          std::vector<Planned> source_items;
          auto plan =
              plan_enrolment(r.e, targets_of(terminals_.all()), options_.kinds, &source_items);
          apply(std::move(plan), source_items);
        }
        std::lock_guard lock(s->mutex);
        --s->busy;
        s->idle.notify_all();
      }));
}

// Strand: drop what terminals have, queue the rest in order, remember it.
void SyncService::apply(std::vector<Planned> plan, const std::vector<Planned>& source_items) {
  WriteBatch ledger_rows;
  const std::int64_t now = clock_.now_ms();
  const auto remember = [&](const std::string& sn, const std::string& item,
                            const std::string& digest) {
    ledger_.record(sn, item, digest);
    ledger_rows.ops.push_back([sn, item, digest, now](store::WriteContext& ctx) {
      boost::system::error_code ec;
      auto& st = ctx.statement(
          "INSERT INTO sync_items(terminal_sn, item, digest, updated_ms) VALUES(?1,?2,?3,?4) "
          "ON CONFLICT(terminal_sn, item) DO UPDATE SET digest=excluded.digest, "
          "updated_ms=excluded.updated_ms",
          ec);
      if (ec) {
        return ec;
      }
      st.bind(1, std::string_view(sn)).bind(2, std::string_view(item));
      st.bind(3, std::string_view(digest)).bind(4, now);
      return st.run();
    });
  };
  for (const auto& s : source_items) {
    if (ledger_.get(s.terminal_sn, s.item) != s.digest) {
      remember(s.terminal_sn, s.item, s.digest);
    }
  }
  const std::size_t planned_count = plan.size();
  auto todo = ledger_.filter(std::move(plan));
  skipped_.inc(planned_count - todo.size());
  for (auto& p : todo) {
    for (auto& req : p.requests) {
      req.origin = "sync";
      ++shared_->open;
      queued_.inc();
      log_->debug("[sn={}] sync: {} {}", p.terminal_sn, req.verb, p.item);
      commands_.enqueue(std::move(req), [this, s = shared_, sn = p.terminal_sn, item = p.item](
                                            boost::system::error_code ec, std::string error,
                                            CommandRecord, bool) {
        if (!ec && error.empty()) {
          return;
        }
        --s->open;
        enqueue_failures_.inc();
        log_->error("[sn={}] sync: {} could not be queued: {}", sn, item,
                    error.empty() ? ec.message() : error);
        // Not sent: plan it again on the next change.
        boost::asio::post(strand_, [this, sn, item] {
          ledger_.forget(sn, item);
          WriteBatch batch;
          batch.ops.push_back([sn, item](store::WriteContext& ctx) {
            boost::system::error_code e;
            auto& st = ctx.statement("DELETE FROM sync_items WHERE terminal_sn=?1 AND item=?2", e);
            if (e) {
              return e;
            }
            st.bind(1, std::string_view(sn)).bind(2, std::string_view(item));
            return st.run();
          });
          store_.append(std::move(batch), [](CommitResult) {});
        });
      });
    }
    remember(p.terminal_sn, p.item, p.digest);
    if (p.digest.empty() && p.item.rfind("user/", 0) == 0) {
      // delete_user takes the user's rights, templates and photos with it.
      const std::string pin = p.item.substr(5);
      auto gone = ledger_.items_with_prefix(p.terminal_sn, "template/" + pin + "/");
      const auto photos = ledger_.items_with_prefix(p.terminal_sn, "photo/" + pin + "/");
      gone.insert(gone.end(), photos.begin(), photos.end());
      if (!ledger_.get(p.terminal_sn, "authorize/" + pin).value_or("").empty()) {
        gone.push_back("authorize/" + pin);
      }
      for (const auto& item : gone) {
        remember(p.terminal_sn, item, "");
      }
    }
  }
  if (!ledger_rows.ops.empty()) {
    store_.append(std::move(ledger_rows), [this](CommitResult r) {
      if (r.ec) {
        // The commands are queued; after a restart they may be queued once more.
        log_->error("sync: cannot store what was sent: {}", r.ec.message());
      }
    });
  }
}

void SyncService::full_sync(const std::string& sn) {
  // This terminal's record only: a scan that finds hundreds of new
  // terminals must not read every record for each of them.
  const auto record = terminals_.find(sn);
  if (!record || record->first_seen_ms == 0 || !terminals_.is_terminal(sn)) {
    return;
  }
  const auto targets = targets_of({*record});
  auto it =
      std::find_if(targets.begin(), targets.end(), [&sn](const Target& t) { return t.sn == sn; });
  if (it == targets.end() || access_ == nullptr) {
    return;
  }
  auto plan = access_->with_data(
      [&](const ra::MasterData& data) { return plan_terminal(data, *it, options_.kinds); });
  apply(std::move(plan), {});
}

void SyncService::add_routes(api::Router& router) {
  router.add(
      bhttp::verb::get, "/api/v1/sync",
      [this](http::Request&& req, const http::RequestInfo&, const api::PathParams&,
             http::Reply reply) {
        struct Counts {
          boost::system::error_code ec;
          std::map<std::string, std::map<std::string, std::int64_t>> by_terminal;
        };
        store_.async_read(
            [](store::Connection& db) {
              Counts c;
              auto st = db.prepare(
                  "SELECT terminal_sn, state, count(*) FROM commands WHERE origin='sync' "
                  "GROUP BY terminal_sn, state ORDER BY terminal_sn",
                  c.ec);
              while (!c.ec && st.step(c.ec)) {
                c.by_terminal[st.column_text(0)][st.column_text(1)] = st.column_int(2);
              }
              return c;
            },
            boost::asio::bind_executor(strand_, [this, req = std::move(req),
                                                 reply](Counts c) mutable {
              if (c.ec) {
                reply.send(api::json_error(req, bhttp::status::service_unavailable,
                                           "store unavailable", c.ec.message()));
                return;
              }
              json terminals = json::array();
              for (const auto& [sn, states] : c.by_terminal) {
                json t = {{"terminal", sn}};
                std::int64_t total = 0;
                for (const char* s : {"queued", "sent", "done", "failed", "expired", "cancelled"}) {
                  auto it = states.find(s);
                  const std::int64_t n = it == states.end() ? 0 : it->second;
                  t[s] = n;
                  total += n;
                }
                t["total"] = total;
                t["percent_done"] =
                    total == 0 ? 100.0
                               : 100.0 * static_cast<double>(t["done"].get<std::int64_t>()) /
                                     static_cast<double>(total);
                terminals.push_back(std::move(t));
              }
              json body = {{"enabled", options_.enabled},
                           {"enrolment", options_.enrolment},
                           {"kinds",
                            {{"users", options_.kinds.users},
                             {"timezones", options_.kinds.timezones},
                             {"templates", options_.kinds.templates},
                             {"photos", options_.kinds.photos}}},
                           {"open", shared_->open.load()},
                           {"items_tracked", ledger_.size()},
                           {"terminals", std::move(terminals)}};
              reply.send(api::json_response(req, bhttp::status::ok, dump_json(body) + "\n"));
            }));
      });
  router.add(
      bhttp::verb::post, "/api/v1/sync/terminals/{sn}",
      [this](http::Request&& req, const http::RequestInfo&, const api::PathParams& p,
             http::Reply reply) {
        const std::string sn = p.at("sn");
        const auto t = terminals_.find(sn);
        if (!options_.enabled || access_ == nullptr) {
          reply.send(api::json_error(req, bhttp::status::conflict, "sync disabled",
                                     "sync.enabled and access.enabled must be true"));
          return;
        }
        if (!t || !t->capabilities.user_sync || t->state != "accepted") {
          reply.send(api::json_error(req, bhttp::status::not_found, "no such terminal",
                                     "not an accepted access-control terminal: " + sn));
          return;
        }
        boost::asio::post(strand_, [this, sn, req = std::move(req), reply]() mutable {
          const std::int64_t before = static_cast<std::int64_t>(queued_.value());
          full_sync(sn);
          json body = {{"terminal", sn},
                       {"queued", static_cast<std::int64_t>(queued_.value()) - before}};
          reply.send(api::json_response(req, bhttp::status::accepted, dump_json(body) + "\n"));
        });
      });
}

bool SyncService::wait_idle_for_test(std::chrono::milliseconds deadline) {
  std::unique_lock lock(shared_->mutex);
  return shared_->idle.wait_for(lock, deadline, [this] { return shared_->busy == 0; });
}

}  // namespace pushgate::sync
