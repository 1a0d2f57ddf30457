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
#include "gateway/store/sync_queries.hpp"
#include "gateway/store/write_context.hpp"

namespace pushgate::sync {

namespace bhttp = boost::beast::http;
using nlohmann::json;

/** Shared with observers and callbacks, which may outlive the service. */
struct SyncService::Shared {
  std::mutex mutex;
  std::condition_variable idle;
  SyncService* service = nullptr;
  std::atomic<std::size_t> busy{0};         ///< posted or reading work not finished
  std::atomic<std::int64_t> open{0};        ///< sync commands queued or sent
  std::atomic<std::int64_t> pending{0};     ///< keys the lanes have not planned yet
  std::atomic<std::int64_t> behind{0};      ///< terminals with keys or commands outstanding
  std::atomic<std::int64_t> tracked{0};     ///< sync_items rows held in memory
  std::atomic<std::int64_t> open_bytes{0};  ///< SyncService::open_bytes_
};

namespace {

// Records a sync command carries: a batch its commands, any other one.
#define SYNC_RECORDS \
  "CASE WHEN verb='batch' THEN json_array_length(params, '$.commands') ELSE 1 END"

std::int64_t record_count(const std::string& verb, const nlohmann::json& params) {
  if (verb != "batch") {
    return 1;
  }
  const auto it = params.find("commands");
  return it != params.end() && it->is_array() ? static_cast<std::int64_t>(it->size()) : 1;
}

/**
 * What a command's parameters weigh in memory, near enough: the lengths of
 * their strings and names, 8 bytes for anything else (no dump: a photo is
 * weighed by its size). sync.max_open_bytes is counted in it.
 */
std::int64_t params_weight(const nlohmann::json& j, int depth = 0) {
  if (j.is_string()) {
    return static_cast<std::int64_t>(j.get_ref<const std::string&>().size());
  }
  std::int64_t n = 8;
  if (depth > 8) {
    return n;  // ours are two or three levels deep
  }
  if (j.is_object()) {
    for (const auto& [k, v] : j.items()) {
      n += static_cast<std::int64_t>(k.size()) + params_weight(v, depth + 1);
    }
  } else if (j.is_array()) {
    for (const auto& v : j) {
      n += params_weight(v, depth + 1);
    }
  }
  return n;
}

std::optional<date::year_month_day> parse_day(const std::string& text) {
  std::istringstream in(text);
  date::year_month_day day{};
  in >> date::parse("%Y-%m-%d", day);
  if (in.fail()) {
    return std::nullopt;
  }
  return day;
}

/** Whether an enrolment item ("template/PIN/type/no/index", ...) goes to `t`. */
bool item_applies(const Target& t, const std::string& item) {
  const auto segment_from_end = [&item](int n) -> std::string {
    std::size_t end = item.size();
    for (int i = 0; i < n; ++i) {
      const std::size_t slash = item.rfind('/', end - 1);
      if (slash == std::string::npos || slash == 0) {
        return {};
      }
      if (i == n - 1) {
        return item.substr(slash + 1, end - slash - 1);
      }
      end = slash;
    }
    return {};
  };
  if (item.rfind("template/", 0) == 0) {
    return t.supports_data(std::atoi(segment_from_end(3).c_str()));
  }
  if (item.rfind("photo/", 0) == 0) {
    return segment_from_end(2) == "userpic" ||
           t.supports_photo(std::atoi(segment_from_end(1).c_str()));
  }
  return true;  // the user row
}

std::size_t enrolment_bytes(const Enrolment& e) {
  std::size_t n = 256;
  for (const auto& t : e.templates) {
    n += t.data.size() + 64;
  }
  for (const auto& p : e.photos) {
    n += p.data.size() + 64;
  }
  return n;
}

/**
 * Enrolments kept in memory for the lanes that plan them one after another.
 * 16 MB held a sync's pushgated at 94 MB (1,000 users with 20 KB photos to
 * 200 terminals); 4 MB (about 190 enrolments) with sync.max_open_bytes at
 * 4 MB kept it at 53 MB, the sync 15% slower.
 */
constexpr std::size_t kEnrolCacheBytes = 4 * 1024 * 1024;

}  // namespace

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
  o.window = config.get_int("sync.window");
  o.max_open_bytes = config.get_int("sync.max_open_bytes");
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
                          "Enrolment uploads (user, template, photo) planned for the site")),
      deleted_done_(metrics.counter("pushgate_sync_commands_removed_total",
                                    "Done sync commands removed from the commands table "
                                    "(counted in sync_progress)")),
      replanned_(metrics.counter("pushgate_sync_records_lost_total",
                                 "Records of sync commands that failed, expired or were "
                                 "cancelled (not on the terminal), by what the sync did",
                                 {{"action", "replanned"}})),
      held_back_(metrics.counter("pushgate_sync_records_lost_total",
                                 "Records of sync commands that failed, expired or were "
                                 "cancelled (not on the terminal), by what the sync did",
                                 {{"action", "next_full_sync"}})) {
  options_.window = std::max<std::int64_t>(1, options_.window);
  metrics.callback_gauge("pushgate_sync_commands_open",
                         "Sync commands queued or sent, not finished (at most sync.window per "
                         "terminal)",
                         [s = shared_] { return static_cast<double>(s->open.load()); });
  metrics.callback_gauge(
      "pushgate_sync_pending",
      "Users, enrolments, time zones and holidays not yet planned for a terminal, summed over "
      "the terminals (what a large sync still has to go through)",
      [s = shared_] { return static_cast<double>(s->pending.load()); });
  metrics.callback_gauge("pushgate_sync_terminals_behind",
                         "Access terminals the sync has not finished bringing in step",
                         [s = shared_] { return static_cast<double>(s->behind.load()); });
  metrics.callback_gauge(
      "pushgate_sync_tracked_items",
      "Records (user rows, rights, templates, photos...) the sync holds in memory of what "
      "terminals hold: those of the keys each terminal plans next (a few times sync.window "
      "at most per terminal), not users x terminals",
      [s = shared_] { return static_cast<double>(s->tracked.load()); });
  metrics.callback_gauge(
      "pushgate_sync_open_bytes",
      "Parameter bytes (templates, photos...) of the sync commands queued or sent, over every "
      "terminal (planning waits past sync.max_open_bytes)",
      [s = shared_] { return static_cast<double>(s->open_bytes.load()); });
}

SyncService::~SyncService() {
  stop();
}

std::string SyncService::start() {
  if (!options_.enabled) {
    return {};
  }
  // The terminals served before a restart (what each holds is read as it
  // is planned), and the backlog still open.
  struct Loaded {
    boost::system::error_code ec;
    std::vector<std::string> served;
    std::int64_t open = 0;
    std::map<std::string, std::int64_t> by_terminal;
  };
  Loaded loaded = store_.read([](store::Connection& db) {
    Loaded l;
    l.served = store::read_sync_terminals(db, l.ec);
    if (!l.ec) {
      auto open = db.prepare("SELECT terminal_sn, count(*), sum(" SYNC_RECORDS
                             ") FROM commands WHERE origin='sync' AND "
                             "state IN ('queued','sent') GROUP BY terminal_sn",
                             l.ec);
      while (!l.ec && open.step(l.ec)) {
        l.open += open.column_int(1);                             // commands, for the gauge
        l.by_terminal[open.column_text(0)] = open.column_int(2);  // records, for the window
      }
    }
    return l;
  });
  if (loaded.ec) {
    return "sync: cannot read sync_items: " + loaded.ec.message();
  }
  shared_->open = loaded.open;
  open_at_start_ = std::move(loaded.by_terminal);
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
    const bool done = c.state == CommandState::Done;
    (done ? finished_done_ : finished_failed_).inc();
    ++s->busy;
    const std::int64_t records = record_count(c.verb, c.params);
    // Not done: the records it carried are not on the terminal.
    auto lost = done ? std::vector<std::string>{} : items_of(c.verb, c.params);
    boost::asio::post(strand_, [this, s, sn = c.terminal_sn, id = c.id, done, records,
                                lost = std::move(lost), state = c.state]() mutable {
      finished(sn, id, done, records);
      if (!done) {
        replan(sn, std::move(lost), state);
      }
      std::lock_guard l(s->mutex);
      --s->busy;
      s->idle.notify_all();
    });
  });
  // Terminals that have items are in step; one without any gets everything.
  known_targets_.insert(loaded.served.begin(), loaded.served.end());
  boost::asio::post(strand_, [this] { scan_terminals(); });
  // (Not a count of sync_items: at 10,000 users x 200 terminals that is a
  // scan of millions of rows at every start.)
  log_->info("sync: {} terminals served before, {} commands open", loaded.served.size(),
             loaded.open);
  return {};
}

void SyncService::scan_terminals() {
  {
    std::lock_guard lock(shared_->mutex);
    if (shared_->service == nullptr) {
      return;
    }
  }
  // Every 2 s: only the terminals that joined or left (targets_of parses
  // each record's info JSON; doing that for 2,000 idle terminals every scan
  // cost more than their polls).
  refresh_targets(false);
  scan_timer_.expires_after(std::chrono::seconds(2));
  scan_timer_.async_wait([this, s = shared_](boost::system::error_code ec) {
    if (!ec) {
      scan_terminals();
    }
  });
}

namespace {

/** What targets_of reads of a record, hashed: its info, what it takes, a shared user store. */
std::size_t described_hash(const TerminalRecord& t) {
  const std::size_t takes = (static_cast<std::size_t>(t.capabilities.sync_writes) << 1) |
                            (t.capabilities.shared_users ? 1u : 0u);
  return std::hash<std::string_view>{}(t.info_json) ^ (takes * 0x9E3779B97F4A7C15ULL);
}

}  // namespace

void SyncService::refresh_targets(bool all) {
  // Terminals whose biometrics changed since their keys were planned: a
  // Security PUSH terminal is an access terminal from its handshake on, and
  // says which templates and photos it takes only when it registers. What
  // was planned before (user rows without templates or photos) is not all
  // it needs; a walk brings the rest (what it was sent is skipped).
  std::set<std::string> changed;
  const auto put = [this, &changed](const TerminalRecord& record) {
    info_hash_[record.sn] = described_hash(record);
    for (auto& t : targets_of({record})) {
      auto it = targets_.find(t.sn);
      if (it == targets_.end()) {
        targets_.emplace(t.sn, std::move(t));
      } else if (it->second.bio_data != t.bio_data || it->second.bio_photo != t.bio_photo ||
                 it->second.writes != t.writes || it->second.shared_users != t.shared_users) {
        changed.insert(t.sn);
        it->second = std::move(t);
      }
    }
  };
  std::set<std::string> served;
  std::vector<std::string> fresh;
  if (all) {
    for (const auto& record : terminals_.all()) {
      if (record.state == "accepted" && record.capabilities.user_sync) {
        served.insert(record.sn);
        put(record);
      }
    }
  } else {
    // Without copying a record or parsing its info JSON: only the serials
    // served, and those that are new or whose info changed.
    fresh = terminals_.serials_if([this, &served](const TerminalRecord& t) {
      if (t.state != "accepted" || !t.capabilities.user_sync) {
        return false;
      }
      served.insert(t.sn);
      const auto h = info_hash_.find(t.sn);
      return h == info_hash_.end() || h->second != described_hash(t);
    });
  }
  for (auto it = targets_.begin(); it != targets_.end();) {
    if (served.count(it->first) == 0) {
      info_hash_.erase(it->first);
      it = targets_.erase(it);
    } else {
      ++it;
    }
  }
  for (const auto& sn : fresh) {
    if (const auto record = terminals_.find(sn)) {
      put(*record);
    }
  }
  // A terminal seen for the first time (or after a restart: every one) walks
  // every key; one that is in step finds it holds everything (no command).
  std::vector<std::string> walkers;
  for (const auto& [sn, t] : targets_) {
    auto [it, inserted] = lanes_.try_emplace(sn);
    Lane& lane = it->second;
    if (inserted) {
      if (auto open = open_at_start_.find(sn); open != open_at_start_.end()) {
        lane.open = open->second;
      }
      lane.next = journal_base_ + journal_.size();
      if (known_targets_.insert(sn).second) {
        log_->info(
            "[sn={}] sync: new access terminal, planning the master data and enrolments "
            "it needs",
            sn);
      }
      walkers.push_back(sn);
    } else if (lane.next < journal_base_) {
      // Away while the journal moved on: what it missed is found by a walk.
      lane.next = journal_base_ + journal_.size();
      walkers.push_back(sn);
    } else if (changed.count(sn) != 0) {
      log_->info("[sn={}] sync: its biometrics or what it takes changed; planning what it lacks",
                 sn);
      walkers.push_back(sn);
    }
  }
  if (!walkers.empty()) {
    start_walk(std::move(walkers), options_.enrolment);
  }
  update_gauges();
}

std::vector<SyncService::Key> SyncService::master_keys() {
  std::vector<Key> keys;
  if (access_ == nullptr) {
    return keys;
  }
  access_->with_data([&](const ra::MasterData& data) {
    for (const auto& [id, tz] : data.timezones) {
      keys.push_back({Key::Kind::TimeZone, std::to_string(id), {}, {}});
    }
    for (const auto& [day, h] : data.holidays) {
      keys.push_back({Key::Kind::Holiday, date::format("%Y-%m-%d", day), {}, {}});
    }
    for (const auto& [pin, u] : data.users) {
      keys.push_back({Key::Kind::User, pin, {}, {}});
    }
  });
  return keys;
}

void SyncService::start_walk(std::vector<std::string> serials, bool with_enrolments) {
  auto keys = std::make_shared<std::vector<Key>>(master_keys());
  for (const auto& sn : serials) {
    lanes_[sn].waiting = true;
  }
  const auto begin = [this, serials](std::shared_ptr<const std::vector<Key>> walk) {
    for (const auto& sn : serials) {
      Lane& lane = lanes_[sn];
      lane.walk = walk;
      lane.walk_pos = 0;
      lane.waiting = false;
      pump(sn);
    }
    update_gauges();
  };
  if (!with_enrolments) {
    begin(std::move(keys));
    return;
  }
  // And every enrolment the terminals the sync serves hold (the ledger
  // keeps the terminals that have them from getting them again).
  struct Pairs {
    boost::system::error_code ec;
    Enrolments rows;
  };
  ++shared_->busy;
  store_.async_read(
      [](store::Connection& db) {
        Pairs p;
        p.rows = store::read_device_user_keys(db, p.ec);
        return p;
      },
      boost::asio::bind_executor(
          strand_, [this, s = shared_, keys, begin = std::move(begin)](Pairs p) mutable {
            if (p.ec) {
              log_->error("sync: cannot list the enrolments for a full sync: {}", p.ec.message());
            }
            for (auto& [sn, pin] : p.rows) {
              // Only what the terminals the sync serves hold (accepted, user_sync).
              const auto t = terminals_.find(sn);
              if (t && t->state == "accepted" && t->capabilities.user_sync) {
                keys->push_back({Key::Kind::Enrolment, std::move(sn), std::move(pin), {}});
              }
            }
            begin(std::move(keys));
            std::lock_guard lock(s->mutex);
            --s->busy;
            s->idle.notify_all();
          }));
}

void SyncService::push_key(Key key) {
  journal_.push_back(std::move(key));
}

void SyncService::pump(const std::string& sn) {
  auto lit = lanes_.find(sn);
  auto tit = targets_.find(sn);
  if (lit == lanes_.end() || tit == targets_.end()) {
    return;
  }
  Lane& lane = lit->second;
  // Refilled once half the window is acknowledged, so what is planned
  // together goes out batched (not one record per acknowledgement).
  if (lane.open > options_.window / 2) {
    return;
  }
  while (!lane.waiting && !lane.loading && lane.open < options_.window) {
    // A lane with nothing open plans its next key all the same: terminals
    // that are off (their windows full until the commands expire) must not
    // hold the budget against the ones that poll. So the bound is the
    // budget plus, per terminal, one key's records.
    if (options_.max_open_bytes > 0 && lane.open > 0 &&
        open_bytes_ + staged_weight_ >= options_.max_open_bytes) {
      // Its turn comes when commands of any lane are done.
      if (held_back_set_.insert(sn).second) {
        held_back_lanes_.push_back(sn);
      }
      break;
    }
    if (lane.ready.empty()) {
      if (!load_next(sn, lane)) {
        break;
      }
      continue;  // planned when the rows are read
    }
    const Key key = std::move(lane.ready.front());
    lane.ready.pop_front();
    if (!plan_key(sn, tit->second, key)) {
      break;
    }
  }
  if (lane.ready.empty() && !lane.waiting && !lane.loading) {
    lane.held = SentLedger{};  // nothing planned next: nothing kept
  }
  flush_staged();
}

void SyncService::pump_held_back() {
  while (!held_back_lanes_.empty() &&
         (options_.max_open_bytes == 0 || open_bytes_ + staged_weight_ < options_.max_open_bytes)) {
    const std::string sn = std::move(held_back_lanes_.front());
    held_back_lanes_.pop_front();
    held_back_set_.erase(sn);
    pump(sn);  // back in the queue if the budget runs out again
  }
}

bool SyncService::load_next(const std::string& sn, Lane& lane) {
  // Keys for about half a window of records (a user is 2 to 4 records):
  // what the next refills plan, in one read of the terminal's rows.
  const std::size_t chunk =
      static_cast<std::size_t>(std::max<std::int64_t>(1, options_.window / 2));
  std::vector<Key> keys;
  while (keys.size() < chunk) {
    if (lane.walk) {
      if (lane.walk_pos >= lane.walk->size()) {
        lane.walk.reset();
        lane.walk_pos = 0;
        continue;
      }
      keys.push_back((*lane.walk)[lane.walk_pos++]);
    } else if (lane.next < journal_base_ + journal_.size()) {
      lane.next = std::max(lane.next, journal_base_);
      keys.push_back(journal_[static_cast<std::size_t>(lane.next - journal_base_)]);
      ++lane.next;
    } else {
      break;
    }
  }
  if (keys.empty()) {
    return false;
  }
  // What the keys may touch: a user's row, rights, templates and photos;
  // every time zone or holiday (a few).
  std::set<std::string> exact;
  std::set<std::string> prefixes;
  using K = Key::Kind;
  for (const auto& k : keys) {
    switch (k.kind) {
      case K::TimeZone:
        prefixes.insert("timezone/");
        break;
      case K::Holiday:
        prefixes.insert("holiday/");
        break;
      case K::User:
      case K::Enrolment: {
        const std::string& pin = k.kind == K::User ? k.a : k.b;
        exact.insert("user/" + pin);
        exact.insert("authorize/" + pin);
        prefixes.insert("template/" + pin + "/");
        prefixes.insert("photo/" + pin + "/");
        break;
      }
    }
  }
  lane.loading = true;
  struct Rows {
    boost::system::error_code ec;
    std::vector<std::pair<std::string, std::string>> rows;
  };
  ++shared_->busy;
  store_.async_read(
      [sn, exact = std::vector<std::string>(exact.begin(), exact.end()),
       prefixes =
           std::vector<std::string>(prefixes.begin(), prefixes.end())](store::Connection& db) {
        Rows r;
        r.rows = store::read_sync_items(db, sn, exact, prefixes, r.ec);
        return r;
      },
      boost::asio::bind_executor(
          strand_, [this, s = shared_, sn, keys = std::move(keys)](Rows r) mutable {
            Lane& loaded = lanes_[sn];
            loaded.loading = false;
            if (r.ec) {
              // Planned as if it held none of them: sent again, never skipped.
              log_->error("[sn={}] sync: cannot read what it holds: {}", sn, r.ec.message());
            }
            loaded.held = SentLedger{};
            for (const auto& [item, digest] : r.rows) {
              loaded.held.record(sn, item, digest);
            }
            // What was noted since, committed or not yet.
            if (auto u = unsaved_.find(sn); u != unsaved_.end()) {
              for (const auto& [item, row] : u->second) {
                if (row.digest) {
                  loaded.held.record(sn, item, *row.digest);
                } else {
                  loaded.held.forget(sn, item);
                }
              }
            }
            drop_saved(sn);
            for (auto& k : keys) {
              loaded.ready.push_back(std::move(k));
            }
            pump(sn);
            update_gauges();
            std::lock_guard lock(s->mutex);
            --s->busy;
            s->idle.notify_all();
          }));
  return true;
}

SentLedger& SyncService::held_of(const std::string& sn) {
  return lanes_[sn].held;
}

void SyncService::note(const std::string& sn, const std::string& item,
                       std::optional<std::string> digest, WriteBatch& batch,
                       std::vector<Token>& tokens) {
  if (digest) {
    held_of(sn).record(sn, item, *digest);
    batch.ops.push_back(store::upsert_sync_item(sn, item, *digest, clock_.now_ms()));
  } else {
    held_of(sn).forget(sn, item);
    batch.ops.push_back(store::delete_sync_item(sn, item));
  }
  const std::uint64_t seq = ++note_seq_;
  unsaved_[sn][item] = Unsaved{std::move(digest), seq, false};
  tokens.push_back({sn, item, seq});
}

void SyncService::append_notes(WriteBatch batch, std::vector<Token> tokens, std::string what) {
  if (batch.ops.empty()) {
    return;
  }
  ++shared_->busy;
  store_.append(std::move(batch), [this, s = shared_, tokens = std::move(tokens),
                                   what = std::move(what)](CommitResult r) mutable {
    if (r.ec) {
      log_->error("sync: cannot store {}: {}", what, r.ec.message());
    }
    boost::asio::post(strand_, [this, s, tokens = std::move(tokens)] {
      // Stored, or not (then what the table says is read again: a record
      // may be sent once more, or wait for the next full sync).
      saved(tokens);
      update_gauges();
      std::lock_guard lock(s->mutex);
      --s->busy;
      s->idle.notify_all();
    });
  });
}

void SyncService::saved(const std::vector<Token>& tokens) {
  std::set<std::string> serials;
  for (const auto& t : tokens) {
    auto u = unsaved_.find(t.sn);
    if (u == unsaved_.end()) {
      continue;
    }
    if (auto row = u->second.find(t.item); row != u->second.end() && row->second.seq == t.seq) {
      row->second.saved = true;
    }
    serials.insert(t.sn);
  }
  for (const auto& sn : serials) {
    drop_saved(sn);
  }
}

void SyncService::drop_saved(const std::string& sn) {
  if (auto lane = lanes_.find(sn); lane != lanes_.end() && lane->second.loading) {
    return;  // a read begun before the commit may not see the rows: kept until it is back
  }
  auto u = unsaved_.find(sn);
  if (u == unsaved_.end()) {
    return;
  }
  for (auto it = u->second.begin(); it != u->second.end();) {
    it = it->second.saved ? u->second.erase(it) : std::next(it);
  }
  if (u->second.empty()) {
    unsaved_.erase(u);
  }
}

std::size_t SyncService::tracked_items() const {
  std::size_t n = 0;
  for (const auto& [sn, lane] : lanes_) {
    n += lane.held.size();
  }
  for (const auto& [sn, rows] : unsaved_) {
    n += rows.size();
  }
  return n;
}

bool SyncService::plan_key(const std::string& sn, const Target& target, const Key& key) {
  using K = Key::Kind;
  const std::vector<Target> one{target};
  std::vector<Planned> plan;
  switch (key.kind) {
    case K::TimeZone:
    case K::Holiday:
    case K::User:
      if (access_ == nullptr) {
        return true;
      }
      access_->with_data([&](const ra::MasterData& data) {
        if (key.kind == K::User) {
          plan = plan_user(data, key.a, one, options_.kinds, key.skip);
        } else if (key.kind == K::TimeZone) {
          plan = plan_timezone(data, std::atoi(key.a.c_str()), one, options_.kinds);
        } else if (auto day = parse_day(key.a)) {
          plan = plan_holiday(data, *day, one, options_.kinds);
        }
      });
      apply(std::move(plan), {});
      return true;
    case K::Enrolment:
      break;
  }
  if (!options_.enrolment) {
    return true;
  }
  const auto id = std::make_pair(key.a, key.b);
  if (auto s = summaries_.find(id); s != summaries_.end()) {
    // Everything of it this terminal should hold, it holds: no read.
    const bool source = sn == key.a;
    bool all = true;
    for (const auto& [item, digest] : s->second) {
      if ((source || item_applies(target, item)) && held_of(sn).get(sn, item) != digest) {
        all = false;
        break;
      }
    }
    if (all) {
      return true;
    }
  }
  if (auto c = enrol_cache_.find(id); c != enrol_cache_.end()) {
    plan_enrolment_for(sn, target, *c->second);
    return true;
  }
  lanes_[sn].waiting = true;
  read_enrolment(key.a, key.b, [this, sn](std::shared_ptr<const Enrolment> e) {
    Lane& lane = lanes_[sn];
    lane.waiting = false;
    auto t = targets_.find(sn);
    if (e && t != targets_.end()) {
      plan_enrolment_for(sn, t->second, *e);
    }
    pump(sn);
    update_gauges();
  });
  return false;
}

void SyncService::plan_enrolment_for(const std::string& sn, const Target& target,
                                     const Enrolment& e) {
  if (sn == e.source_sn) {
    std::vector<Planned> source_items;
    plan_enrolment(e, {}, options_.kinds, &source_items);
    apply({}, source_items);
  } else {
    apply(plan_enrolment(e, {target}, options_.kinds, nullptr), {});
  }
}

// Strand: read what `sn` uploaded for `pin` (one read for every lane waiting).
void SyncService::read_enrolment(std::string sn, std::string pin,
                                 std::function<void(std::shared_ptr<const Enrolment>)> done) {
  // Keyed by generation: a read begun before the enrolment changed serves
  // only the lanes that asked before (the change's key plans them again).
  const std::uint64_t gen = enrol_gen_[{sn, pin}];
  const std::pair<std::string, std::string> read_key{sn, pin + '\x1f' + std::to_string(gen)};
  auto& waiting = read_callbacks_[read_key];
  waiting.push_back(std::move(done));
  if (waiting.size() > 1) {
    return;  // already being read
  }
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
      boost::asio::bind_executor(strand_, [this, s = shared_, sn, pin, gen, read_key](Read r) {
        const bool current = enrol_gen_[{sn, pin}] == gen;
        std::shared_ptr<const Enrolment> e;
        if (r.ec) {
          log_->error("[sn={}] sync: cannot read the enrolment of PIN {}: {}", sn,
                      text::log_escape(pin), r.ec.message());
        } else if (!r.e.user) {
          // Templates before the user row: the other terminals would refuse
          // them (no such user). The user's upload brings them along.
          log_->debug("[sn={}] sync: PIN {} has no user row yet; waiting for it", sn,
                      text::log_escape(pin));
        } else {
          auto shared = std::make_shared<const Enrolment>(std::move(r.e));
          e = shared;
        }
        if (e && current) {
          const auto& shared = e;
          // What it puts on a terminal that supports everything: the digests
          // a lane compares with what it was sent, without reading again.
          Target all;
          all.sn = std::string(1, '\0');
          all.bio_data.assign(32, true);
          all.bio_photo.assign(32, true);
          auto& summary = summaries_[{sn, pin}];
          summary.clear();
          for (const auto& p : plan_enrolment(*shared, {all}, options_.kinds, nullptr)) {
            summary.emplace_back(p.item, p.digest);
          }
          enrol_cache_bytes_ += enrolment_bytes(*shared);
          enrol_cache_[{sn, pin}] = shared;
          enrol_order_.emplace_back(sn, pin);
          while (enrol_cache_bytes_ > kEnrolCacheBytes && !enrol_order_.empty()) {
            auto it = enrol_cache_.find(enrol_order_.front());
            if (it != enrol_cache_.end()) {
              enrol_cache_bytes_ -= std::min(enrol_cache_bytes_, enrolment_bytes(*it->second));
              enrol_cache_.erase(it);
            }
            enrol_order_.pop_front();
          }
        }
        auto callbacks = std::move(read_callbacks_[read_key]);
        read_callbacks_.erase(read_key);
        for (auto& cb : callbacks) {
          cb(e);
        }
        std::lock_guard lock(s->mutex);
        --s->busy;
        s->idle.notify_all();
      }));
}

void SyncService::finished(const std::string& sn, std::int64_t id, bool done,
                           std::int64_t records) {
  if (auto w = open_weights_.find(id); w != open_weights_.end()) {
    open_bytes_ = std::max<std::int64_t>(0, open_bytes_ - w->second);
    open_weights_.erase(w);
  }
  auto it = lanes_.find(sn);
  if (it != lanes_.end()) {
    Lane& lane = it->second;
    lane.open = std::max<std::int64_t>(0, lane.open - records);
    (done ? lane.done : lane.failed) += records;
  }
  if (done) {
    done_ids_.push_back({sn, id, records});
    flush_done();
  }
  pump_held_back();  // those waiting first, then this one
  pump(sn);
  update_gauges();
}

// Strand: the records of a sync command that failed, expired or was
// cancelled are not on the terminal. They are forgotten (in sync_items too)
// and planned again by a walk of the terminal's keys (what it holds is
// skipped); a record refused kMaxReplans times, or cancelled by an operator,
// waits for the terminal's next walk (a restart, a change of its
// biometrics, POST /api/v1/sync/terminals/{sn}) instead of going round.
void SyncService::replan(const std::string& sn, std::vector<std::string> items,
                         CommandState state) {
  std::sort(items.begin(), items.end());
  items.erase(std::unique(items.begin(), items.end()), items.end());
  if (items.empty()) {
    return;
  }
  constexpr int kMaxReplans = 3;
  WriteBatch batch;
  std::vector<Token> tokens;
  std::size_t again = 0;
  for (const auto& item : items) {
    note(sn, item, std::nullopt, batch, tokens);
    if (state != CommandState::Cancelled && ++replans_[{sn, item}] <= kMaxReplans) {
      ++again;
    }
  }
  // Not stored: the row says sent (the next POST /api/v1/sync/terminals/{sn}
  // finds it).
  append_notes(std::move(batch), std::move(tokens),
               "[sn=" + sn + "] the records of a failed command as not sent");
  replanned_.inc(static_cast<double>(again));
  held_back_.inc(static_cast<double>(items.size() - again));
  const std::string first = text::log_escape(items.front());
  if (again > 0) {
    log_->warn(
        "[sn={}] sync: a sync command {} with {} records ({}{}) not on the terminal; "
        "planning them again",
        sn, to_string(state), items.size(), first, items.size() > 1 ? ", ..." : "");
    start_walk({sn}, options_.enrolment);
  }
  if (again < items.size()) {
    log_->error(
        "[sn={}] sync: a sync command {} with {} records ({}{}); {} of them refused "
        "{} times or cancelled: sent again at the terminal's next full sync (POST "
        "/api/v1/sync/terminals/{})",
        sn, to_string(state), items.size(), first, items.size() > 1 ? ", ..." : "",
        items.size() - again, kMaxReplans, sn);
  }
  update_gauges();
}

// Strand: a done sync command leaves the commands table (its photo or
// template with it) and is counted in sync_progress, in one transaction.
void SyncService::flush_done() {
  if (flushing_ || done_ids_.empty()) {
    return;
  }
  flushing_ = true;
  auto ids = std::move(done_ids_);
  done_ids_.clear();
  std::map<std::string, std::int64_t> per_terminal;
  for (const auto& d : ids) {
    per_terminal[d.sn] += d.records;
  }
  const std::int64_t now = clock_.now_ms();
  WriteBatch batch;
  batch.ops.push_back([ids, per_terminal, now](store::WriteContext& ctx) {
    boost::system::error_code ec;
    for (const auto& d : ids) {
      auto& del = ctx.statement("DELETE FROM commands WHERE id=?1 AND state='done'", ec);
      if (ec) {
        return ec;
      }
      del.bind(1, d.id);
      if (auto e = del.run()) {
        return e;
      }
    }
    for (const auto& [sn, n] : per_terminal) {
      auto& up = ctx.statement(
          "INSERT INTO sync_progress(terminal_sn, done, updated_ms) VALUES(?1,?2,?3) "
          "ON CONFLICT(terminal_sn) DO UPDATE SET done=done+excluded.done, "
          "updated_ms=excluded.updated_ms",
          ec);
      if (ec) {
        return ec;
      }
      up.bind(1, std::string_view(sn)).bind(2, n).bind(3, now);
      if (auto e = up.run()) {
        return e;
      }
    }
    return boost::system::error_code{};
  });
  ++shared_->busy;
  const auto count = ids.size();
  store_.append(std::move(batch), [this, s = shared_, count](CommitResult r) {
    boost::asio::post(strand_, [this, s, count, ec = r.ec] {
      flushing_ = false;
      if (ec) {
        // They stay in the table as done (and are counted there): no harm.
        log_->error("sync: cannot remove {} done sync commands: {}", count, ec.message());
      } else {
        deleted_done_.inc(static_cast<double>(count));
      }
      flush_done();
      std::lock_guard lock(s->mutex);
      --s->busy;
      s->idle.notify_all();
    });
  });
}

std::int64_t SyncService::pending_of(const Lane& lane) const {
  auto n = static_cast<std::int64_t>(lane.ready.size());
  if (lane.walk) {
    n += static_cast<std::int64_t>(lane.walk->size() - lane.walk_pos);
  }
  const std::uint64_t end = journal_base_ + journal_.size();
  n += static_cast<std::int64_t>(end - std::min(end, std::max(lane.next, journal_base_)));
  return n;
}

// Strand: gauges, and the journal entries every lane has planned are dropped.
void SyncService::update_gauges() {
  std::int64_t pending = 0;
  std::int64_t behind = 0;
  std::uint64_t oldest = journal_base_ + journal_.size();
  for (const auto& [sn, lane] : lanes_) {
    if (targets_.count(sn) == 0) {
      continue;  // not served now; a walk catches it up when it is again
    }
    const std::int64_t p = pending_of(lane);
    pending += p;
    behind += (p > 0 || lane.open > 0 || lane.waiting || lane.loading) ? 1 : 0;
    oldest = std::min(oldest, lane.next);
  }
  while (journal_base_ < oldest && !journal_.empty()) {
    journal_.pop_front();
    ++journal_base_;
  }
  shared_->pending = pending;
  shared_->behind = behind;
  shared_->tracked = static_cast<std::int64_t>(tracked_items());
  shared_->open_bytes = open_bytes_;
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
  if (touched.empty()) {
    return;
  }
  ++shared_->busy;
  boost::asio::post(strand_, [this, s = shared_, touched = std::move(touched)] {
    refresh_targets(true);
    for (const auto& [sn, pin] : touched) {
      // Changed: read again when planned.
      summaries_.erase({sn, pin});
      ++enrol_gen_[{sn, pin}];
      if (auto it = enrol_cache_.find({sn, pin}); it != enrol_cache_.end()) {
        enrol_cache_bytes_ -= std::min(enrol_cache_bytes_, enrolment_bytes(*it->second));
        enrol_cache_.erase(it);
      }
      enrolments_.inc();
      push_key({Key::Kind::Enrolment, sn, pin, {}});
    }
    for (const auto& [sn, lane] : lanes_) {
      pump(sn);
    }
    update_gauges();
    std::lock_guard lock(s->mutex);
    --s->busy;
    s->idle.notify_all();
  });
}

// Writer thread (or the committing thread): plan on the strand.
void SyncService::on_change(const access::MasterDataChange& change) {
  ++shared_->busy;
  boost::asio::post(strand_, [this, s = shared_, change] {
    refresh_targets(true);
    using E = access::MasterDataChange::Entity;
    switch (change.entity) {
      case E::User: {
        std::string skip;
        if (change.source.rfind("terminal:", 0) == 0) {
          skip = change.source.substr(9);  // it holds the row it uploaded
        }
        push_key({Key::Kind::User, change.key, {}, skip});
        break;
      }
      case E::TimeZone:
        if (change.key.empty() || std::atoi(change.key.c_str()) <= 0) {
          log_->warn("sync: time zone change with a bad key '{}'", change.key);
        } else {
          push_key({Key::Kind::TimeZone, change.key, {}, {}});
        }
        break;
      case E::Holiday:
        if (!parse_day(change.key)) {
          log_->warn("sync: holiday change with a bad key '{}'", change.key);
        } else {
          push_key({Key::Kind::Holiday, change.key, {}, {}});
        }
        break;
      case E::Level:
        // A level's doors or time zone changed: every user holding it.
        access_->with_data([&](const ra::MasterData& data) {
          for (const auto& [pin, u] : data.users) {
            if (std::find(u.levels.begin(), u.levels.end(), std::atoi(change.key.c_str())) !=
                u.levels.end()) {
              push_key({Key::Kind::User, pin, {}, {}});
            }
          }
        });
        break;
      case E::Door:
      case E::Area:
        break;  // decided by pushgate (remote identification), not sent to terminals
    }
    for (const auto& [sn, lane] : lanes_) {
      pump(sn);
    }
    update_gauges();
    std::lock_guard lock(s->mutex);
    --s->busy;
    s->idle.notify_all();
  });
}

// Strand: drop what terminals have, queue the rest in order, remember it.
void SyncService::apply(std::vector<Planned> plan, const std::vector<Planned>& source_items) {
  // Plans are for one terminal (its lane holds what it has of these keys).
  WriteBatch ledger_rows;
  std::vector<Token> ledger_tokens;
  const auto remember = [&](const std::string& sn, const std::string& item,
                            const std::string& digest) {
    note(sn, item, digest, ledger_rows, ledger_tokens);
  };
  for (const auto& s : source_items) {
    if (held_of(s.terminal_sn).get(s.terminal_sn, s.item) != s.digest) {
      remember(s.terminal_sn, s.item, s.digest);
    }
  }
  const std::size_t planned_count = plan.size();
  std::vector<Planned> todo;
  for (auto& p : plan) {
    auto kept = held_of(p.terminal_sn).filter({std::move(p)});
    for (auto& k : kept) {
      todo.push_back(std::move(k));
    }
  }
  skipped_.inc(planned_count - todo.size());
  // A PIN already staged (changed twice, deleted and added): what is staged
  // goes first, so the canonical order of a flush never swaps them.
  for (const auto& p : todo) {
    for (const auto& req : p.requests) {
      if (staged_pins_.count(req.params.value("pin", std::string())) != 0) {
        flush_staged();
        break;
      }
    }
  }
  for (auto& p : todo) {
    for (auto& req : p.requests) {
      req.origin = "sync";
      ++lanes_[p.terminal_sn].open;
      staged_pins_.insert(req.params.value("pin", std::string()));
      const std::int64_t weight = params_weight(req.params);
      staged_weight_ += weight;
      log_->debug("[sn={}] sync: {} {}", p.terminal_sn, req.verb, p.item);
      staged_.push_back({p.terminal_sn, p.item, std::move(req), weight});
    }
    remember(p.terminal_sn, p.item, p.digest);
    if (p.digest.empty() && p.item.rfind("user/", 0) == 0) {
      // delete_user takes the user's rights, templates and photos with it.
      const std::string pin = p.item.substr(5);
      const SentLedger& held = held_of(p.terminal_sn);
      auto gone = held.items_with_prefix(p.terminal_sn, "template/" + pin + "/");
      const auto photos = held.items_with_prefix(p.terminal_sn, "photo/" + pin + "/");
      gone.insert(gone.end(), photos.begin(), photos.end());
      if (!held.get(p.terminal_sn, "authorize/" + pin).value_or("").empty()) {
        gone.push_back("authorize/" + pin);
      }
      for (const auto& item : gone) {
        remember(p.terminal_sn, item, "");
      }
    }
  }
  // Stored after the commands they stand for (flush_staged): a crash in
  // between sends an item again, never skips it.
  for (auto& op : ledger_rows.ops) {
    staged_ledger_.ops.push_back(std::move(op));
  }
  for (auto& t : ledger_tokens) {
    staged_tokens_.push_back(std::move(t));
  }
}

namespace {

/** The order a flush queues verbs in: what a record needs goes before it. */
int verb_rank(const std::string& verb) {
  static const char* const kOrder[] = {"upsert_timezone", "upsert_holiday",  "delete_holiday",
                                       "delete_user",     "upsert_user",     "deauthorize_user",
                                       "authorize_user",  "upsert_template", "upsert_biophoto",
                                       "upsert_photo",    "delete_timezone"};
  for (int i = 0; i < static_cast<int>(std::size(kOrder)); ++i) {
    if (verb == kOrder[i]) {
      return i;
    }
  }
  return static_cast<int>(std::size(kOrder));
}

bool batchable(const std::string& verb) {
  return verb == "upsert_user" || verb == "authorize_user" || verb == "upsert_template" ||
         verb == "upsert_biophoto" || verb == "upsert_photo";
}

/** Records in one batch at most, and bytes of their params. */
constexpr std::size_t kBatchRecords = 50;
constexpr std::size_t kBatchBytes = 48 * 1024;

}  // namespace

// Strand: what apply() staged goes into the queue, records of one DATA
// UPDATE table batched into one command (one record per PIN per command)
// for a target that takes SyncWrite::Batch, one command per record for any
// other, then what was sent is stored.
void SyncService::flush_staged() {
  if (staged_.empty()) {
    append_notes(std::exchange(staged_ledger_, WriteBatch{}), std::exchange(staged_tokens_, {}),
                 "what was sent");
    return;
  }
  auto staged = std::move(staged_);
  staged_.clear();
  staged_pins_.clear();
  staged_weight_ = 0;  // in open_bytes_ as each command is queued, below
  std::stable_sort(staged.begin(), staged.end(), [](const Staged& x, const Staged& y) {
    if (x.sn != y.sn) {
      return x.sn < y.sn;
    }
    return verb_rank(x.request.verb) < verb_rank(y.request.verb);
  });
  struct Out {
    std::string sn;
    std::vector<std::string> items;
    CommandRequest request;
    std::int64_t weight = 0;  ///< params_weight of what it carries
  };
  std::vector<Out> out;
  std::set<std::string> pins_in_batch;
  std::size_t batch_bytes = 0;
  for (auto& st : staged) {
    const std::string pin = st.request.params.value("pin", std::string());
    const std::size_t bytes = dump_json(st.request.params).size();
    const std::int64_t weight = st.weight;
    Out* last = out.empty() ? nullptr : &out.back();
    // Only a target that takes `batch` gets one; any other gets one command per record.
    const auto target = targets_.find(st.sn);
    const bool takes_batch = target != targets_.end() && target->second.takes(SyncWrite::Batch);
    const bool joins = last != nullptr && takes_batch && batchable(st.request.verb) &&
                       last->sn == st.sn &&
                       (last->request.verb == st.request.verb ||
                        (last->request.verb == "batch" &&
                         last->request.params["commands"][0]["verb"] == st.request.verb)) &&
                       last->items.size() < kBatchRecords && batch_bytes + bytes <= kBatchBytes &&
                       pins_in_batch.count(pin) == 0;
    if (!joins) {
      pins_in_batch.clear();
      batch_bytes = 0;
      out.push_back({st.sn, {st.item}, std::move(st.request), weight});
    } else {
      if (last->request.verb != "batch") {
        nlohmann::json first = {{"verb", last->request.verb},
                                {"params", std::move(last->request.params)}};
        last->request.verb = "batch";
        last->request.params = {{"commands", nlohmann::json::array({std::move(first)})}};
      }
      last->request.params["commands"].push_back(
          {{"verb", st.request.verb}, {"params", std::move(st.request.params)}});
      last->items.push_back(st.item);
      last->weight += weight;
    }
    pins_in_batch.insert(pin);
    batch_bytes += bytes;
  }
  for (auto& o : out) {
    ++shared_->open;
    queued_.inc();
    const std::int64_t records = static_cast<std::int64_t>(o.items.size());
    const std::int64_t weight = o.weight;
    open_bytes_ += weight;
    commands_.enqueue(std::move(o.request), [this, s = shared_, sn = o.sn, items = o.items, records,
                                             weight](boost::system::error_code ec,
                                                     std::string error, CommandRecord queued,
                                                     bool) {
      if (!ec && error.empty()) {
        // Its weight leaves open_bytes_ when it finishes (finished(), by id;
        // this runs at its commit, before any result for it can).
        boost::asio::post(strand_, [this, id = queued.id, weight] { open_weights_[id] = weight; });
        return;
      }
      --s->open;
      enqueue_failures_.inc();
      log_->error("[sn={}] sync: {} (and {} more) could not be queued: {}", sn, items.front(),
                  items.size() - 1, error.empty() ? ec.message() : error);
      // Not sent: plan it again on the next change (or walk).
      boost::asio::post(strand_, [this, sn, items, records, weight] {
        open_bytes_ = std::max<std::int64_t>(0, open_bytes_ - weight);
        if (auto lane = lanes_.find(sn); lane != lanes_.end()) {
          lane->second.open = std::max<std::int64_t>(0, lane->second.open - records);
        }
        WriteBatch batch;
        std::vector<Token> tokens;
        for (const auto& item : items) {
          note(sn, item, std::nullopt, batch, tokens);
        }
        append_notes(std::move(batch), std::move(tokens),
                     "[sn=" + sn + "] records that could not be queued as not sent");
        pump(sn);
        update_gauges();
      });
    });
  }
  // Not stored: the commands are queued; after a restart they may be queued once more.
  append_notes(std::exchange(staged_ledger_, WriteBatch{}), std::exchange(staged_tokens_, {}),
               "what was sent");
}

void SyncService::full_sync(const std::string& sn, std::function<void(std::size_t)> done) {
  if (targets_.count(sn) == 0) {
    // This terminal's record only, not every terminal's.
    const auto record = terminals_.find(sn);
    if (!record || record->first_seen_ms == 0 || !terminals_.is_terminal(sn)) {
      done(0);
      return;
    }
    for (auto& t : targets_of({*record})) {
      targets_.insert_or_assign(t.sn, std::move(t));
    }
  }
  auto it = targets_.find(sn);
  if (it == targets_.end() || access_ == nullptr) {
    done(0);
    return;
  }
  // What it lacks now (the commands are queued as its window allows),
  // against its rows in sync_items; then the walk.
  auto plan = std::make_shared<std::vector<Planned>>(access_->with_data(
      [&](const ra::MasterData& data) { return plan_terminal(data, it->second, options_.kinds); }));
  std::vector<std::string> items;
  items.reserve(plan->size());
  for (const auto& p : *plan) {
    items.push_back(p.item);
  }
  struct Rows {
    boost::system::error_code ec;
    std::vector<std::pair<std::string, std::string>> rows;
  };
  ++shared_->busy;
  store_.async_read(
      [sn, items = std::move(items)](store::Connection& db) {
        Rows r;
        r.rows = store::read_sync_items(db, sn, items, {}, r.ec);
        return r;
      },
      boost::asio::bind_executor(
          strand_, [this, s = shared_, sn, plan, done = std::move(done)](Rows r) {
            if (r.ec) {
              log_->error("[sn={}] sync: cannot read what it holds: {}", sn, r.ec.message());
            }
            SentLedger held;
            for (const auto& [item, digest] : r.rows) {
              held.record(sn, item, digest);
            }
            if (auto u = unsaved_.find(sn); u != unsaved_.end()) {
              for (const auto& [item, row] : u->second) {
                if (row.digest) {
                  held.record(sn, item, *row.digest);
                } else {
                  held.forget(sn, item);
                }
              }
            }
            std::size_t lacking = 0;
            for (const auto& p : held.filter(std::move(*plan))) {
              lacking += p.requests.size();
            }
            auto [lane, inserted] = lanes_.try_emplace(sn);
            if (inserted) {
              lane->second.next = journal_base_ + journal_.size();
            }
            start_walk({sn}, false);
            done(lacking);
            std::lock_guard lock(s->mutex);
            --s->busy;
            s->idle.notify_all();
          }));
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
              auto st =
                  db.prepare("SELECT terminal_sn, state, sum(" SYNC_RECORDS
                             ") FROM commands "
                             "WHERE origin='sync' GROUP BY terminal_sn, state ORDER BY terminal_sn",
                             c.ec);
              while (!c.ec && st.step(c.ec)) {
                c.by_terminal[st.column_text(0)][st.column_text(1)] = st.column_int(2);
              }
              if (!c.ec) {
                // Done sync commands leave the table; their count stays here.
                auto done = db.prepare("SELECT terminal_sn, done FROM sync_progress", c.ec);
                while (!c.ec && done.step(c.ec)) {
                  c.by_terminal[done.column_text(0)]["done"] += done.column_int(1);
                }
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
              for (const auto& [sn, lane] : lanes_) {
                if (targets_.count(sn) != 0) {
                  c.by_terminal[sn];  // a terminal with nothing sent yet is listed too
                }
              }
              json terminals = json::array();
              std::int64_t pending_total = 0;
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
                // Outstanding: commands queued or sent (at most sync.window);
                // pending: users, enrolments, time zones and holidays not yet
                // planned for it. Complete when both are 0.
                const std::int64_t outstanding =
                    t["queued"].get<std::int64_t>() + t["sent"].get<std::int64_t>();
                std::int64_t pending = 0;
                bool waiting = false;
                if (auto lane = lanes_.find(sn); lane != lanes_.end() && targets_.count(sn) != 0) {
                  pending = pending_of(lane->second);
                  waiting = lane->second.waiting || lane->second.loading;
                }
                pending_total += pending;
                t["outstanding"] = outstanding;
                t["pending"] = pending;
                t["complete"] = outstanding == 0 && pending == 0 && !waiting;
                terminals.push_back(std::move(t));
              }
              json body = {{"enabled", options_.enabled},
                           {"enrolment", options_.enrolment},
                           {"kinds",
                            {{"users", options_.kinds.users},
                             {"timezones", options_.kinds.timezones},
                             {"templates", options_.kinds.templates},
                             {"photos", options_.kinds.photos}}},
                           {"window", options_.window},
                           {"max_open_bytes", options_.max_open_bytes},
                           {"open", shared_->open.load()},
                           {"open_bytes", open_bytes_},
                           {"pending", pending_total},
                           {"items_tracked", tracked_items()},
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
          full_sync(sn, [this, sn, req = std::move(req), reply](std::size_t lacking) mutable {
            std::int64_t pending = 0;
            if (auto lane = lanes_.find(sn); lane != lanes_.end()) {
              pending = pending_of(lane->second);
            }
            // queued: the commands it lacks (sent as its window allows);
            // pending: what its walk still goes through.
            json body = {{"terminal", sn},
                         {"queued", static_cast<std::int64_t>(lacking)},
                         {"pending", pending}};
            reply.send(api::json_response(req, bhttp::status::accepted, dump_json(body) + "\n"));
          });
        });
      });
}

bool SyncService::wait_idle_for_test(std::chrono::milliseconds deadline) {
  std::unique_lock lock(shared_->mutex);
  return shared_->idle.wait_for(lock, deadline, [this] { return shared_->busy == 0; });
}

}  // namespace pushgate::sync
