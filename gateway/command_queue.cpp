#include "gateway/command_queue.hpp"

#include <memory>
#include <set>

#include "gateway/command_spec.hpp"
#include "gateway/device_text.hpp"
#include "gateway/event_json.hpp"
#include "gateway/logging.hpp"
#include "gateway/store/store.hpp"
#include "gateway/store/write_context.hpp"

namespace pushgate {

namespace {

constexpr std::string_view kColumns =
    "id, terminal_sn, origin, client_ref, verb, params, state, attempts, max_attempts,"
    " created_ms, expires_ms, sent_ms, finished_ms, wire, return_code, return_name, result, error";

CommandRecord row_to_record(const store::Statement& st) {
  CommandRecord c;
  c.id = st.column_int(0);
  c.terminal_sn = st.column_text(1);
  c.origin = st.column_text(2);
  c.client_ref = st.column_text(3);
  c.verb = st.column_text(4);
  c.params = nlohmann::json::parse(st.column_text(5), nullptr, false);
  if (c.params.is_discarded()) {
    c.params = nlohmann::json::object();
  }
  c.state = command_state_from_string(st.column_text(6)).value_or(CommandState::Failed);
  c.attempts = static_cast<int>(st.column_int(7));
  c.max_attempts = static_cast<int>(st.column_int(8));
  c.created_ms = st.column_int(9);
  c.expires_ms = st.column_int(10);
  c.sent_ms = st.column_int(11);
  c.finished_ms = st.column_int(12);
  c.wire = st.column_text(13);
  if (!st.column_is_null(14)) {
    c.return_code = st.column_int(14);
  }
  c.return_name = st.column_text(15);
  c.result = st.column_text(16);
  c.error = st.column_text(17);
  return c;
}

std::string ref_key(const std::string& origin, const std::string& ref) {
  return origin + "\t" + ref;
}

void bind_text_or_null(store::Statement& st, int i, const std::string& v) {
  if (v.empty()) {
    st.bind_null(i);
  } else {
    st.bind(i, std::string_view(v));
  }
}

}  // namespace

CommandQueue::CommandQueue(store::Store& store, const Clock& clock, metrics::Registry& metrics,
                           Options options)
    : store_(store), clock_(clock), metrics_(metrics), options_(options) {
  metrics.callback_gauge("pushgate_commands_open", "Commands queued or sent, not finished",
                         [this] { return static_cast<double>(open_count()); });
}

void CommandQueue::load() {
  auto loaded = store_.read([](store::Connection& db) {
    boost::system::error_code ec;
    std::pair<std::int64_t, std::vector<CommandRecord>> out{0, {}};
    auto max = db.prepare("SELECT COALESCE(MAX(id), 0) FROM commands", ec);
    if (!ec && max.step(ec)) {
      out.first = max.column_int(0);
    }
    auto st = db.prepare("SELECT " + std::string(kColumns) +
                             " FROM commands WHERE state IN ('queued','sent') ORDER BY id",
                         ec);
    while (!ec && st.step(ec)) {
      out.second.push_back(row_to_record(st));
    }
    return out;
  });
  std::lock_guard lock(mutex_);
  next_id_ = loaded.first + 1;
  for (auto& c : loaded.second) {
    index_locked(c);
  }
}

void CommandQueue::index_locked(const CommandRecord& c) {
  if (!c.client_ref.empty()) {
    refs_[ref_key(c.origin, c.client_ref)] = c.id;
  }
  by_sn_[c.terminal_sn].insert(c.id);
  open_.emplace(c.id, c);
}

void CommandQueue::forget_locked(std::map<std::int64_t, CommandRecord>::iterator it) {
  const auto& c = it->second;
  if (!c.client_ref.empty()) {
    refs_.erase(ref_key(c.origin, c.client_ref));
  }
  if (auto s = by_sn_.find(c.terminal_sn); s != by_sn_.end()) {
    s->second.erase(c.id);
    if (s->second.empty()) {
      by_sn_.erase(s);
    }
  }
  announced_.erase(c.id);
  open_.erase(it);
}

void CommandQueue::set_terminal_check(TerminalCheck check) {
  terminal_check_ = std::move(check);
}

void CommandQueue::refused(const CommandRequest& request, const std::string& why) {
  metrics_
      .counter("pushgate_commands_refused_total", "Commands refused before they were queued",
               {{"origin", request.origin}})
      .inc();
  logger("commands")
      ->debug("[sn={}] {} from {} refused: {}", request.terminal_sn.substr(0, 64),
              request.verb.substr(0, 64), request.origin, why);
}

void CommandQueue::add_observer(std::function<void(const CommandRecord&)> observer) {
  std::lock_guard lock(mutex_);
  observers_.push_back(std::move(observer));
}

std::size_t CommandQueue::open_count() const {
  std::lock_guard lock(mutex_);
  return open_.size();
}

bool CommandQueue::deliverable(const CommandRecord& c, std::int64_t now) const {
  if (now >= c.expires_ms) {
    return false;  // the sweep expires it
  }
  if (c.state == CommandState::Queued) {
    return true;
  }
  // Sent, no result within the ack timeout: deliver again while attempts last.
  return c.state == CommandState::Sent && now - c.sent_ms >= options_.ack_timeout_ms &&
         c.attempts < c.max_attempts;
}

bool CommandQueue::has_deliverable(const std::string& sn) const {
  auto now = clock_.now_ms();
  std::lock_guard lock(mutex_);
  auto s = by_sn_.find(sn);
  if (s == by_sn_.end()) {
    return false;
  }
  for (auto id : s->second) {
    if (deliverable(open_.at(id), now)) {
      return true;
    }
  }
  return false;
}

WriteOp CommandQueue::update_op(const CommandRecord& c) {
  // Only the columns that change: the op must not carry a copy of params
  // (a sync command's photo or template) through the writer's queue.
  struct Row {
    std::int64_t id;
    CommandState state;
    int attempts;
    std::int64_t sent_ms, finished_ms;
    std::string wire;
    std::optional<std::int64_t> return_code;
    std::string return_name, result, error;
  };
  Row row{c.id,          c.state,       c.attempts, c.sent_ms, c.finished_ms,
          c.wire,  // cut by deliver() (wire_kept)
          c.return_code, c.return_name, c.result,   c.error};
  return [c = std::move(row)](store::WriteContext& ctx) -> boost::system::error_code {
    boost::system::error_code ec;
    auto& st = ctx.statement(
        "UPDATE commands SET state=?2, attempts=?3, sent_ms=?4, finished_ms=?5, wire=?6,"
        " return_code=?7, return_name=?8, result=?9, error=?10 WHERE id=?1",
        ec);
    if (ec) {
      return ec;
    }
    st.bind(1, c.id).bind(2, to_string(c.state)).bind(3, c.attempts);
    if (c.sent_ms) {
      st.bind(4, c.sent_ms);
    } else {
      st.bind_null(4);
    }
    if (c.finished_ms) {
      st.bind(5, c.finished_ms);
    } else {
      st.bind_null(5);
    }
    bind_text_or_null(st, 6, c.wire);
    st.bind(7, c.return_code);
    bind_text_or_null(st, 8, c.return_name);
    bind_text_or_null(st, 9, c.result);
    bind_text_or_null(st, 10, c.error);
    return st.run();
  };
}

void CommandQueue::add_check(std::function<std::string(const CommandRequest&)> check) {
  checks_.push_back(std::move(check));
}

std::string CommandQueue::check(const CommandRequest& request) const {
  for (const auto& c : checks_) {
    if (auto why = c(request); !why.empty()) {
      return why;
    }
  }
  return {};
}

void CommandQueue::enqueue(CommandRequest request, EnqueueDone done) {
  if (request.terminal_sn.empty() || request.terminal_sn.size() > 64) {
    done({}, "terminal serial is required", {}, false);
    return;
  }
  if (request.verb.empty()) {
    done({}, "verb is required", {}, false);
    return;
  }
  if (!request.params.is_object()) {
    done({}, "params must be an object", {}, false);
    return;
  }
  // Refused at once, for every source, never queued: a misspelt verb would
  // fail only when the terminal polls, and a wrong-typed parameter would be
  // read as its default (a door opened for the default time).
  if (auto problem = validate_command(request.verb, request.params)) {
    refused(request, problem->text());
    done({}, problem->text(), {}, false);
    return;
  }
  if (terminal_check_) {
    // An unknown terminal would keep the command until it expires, a day later.
    if (auto why = terminal_check_(request.terminal_sn); !why.empty()) {
      refused(request, "terminal: " + why);
      done({}, "terminal: " + why, {}, false);
      return;
    }
  }
  // Adapters' own checks (a zkpush option value with TAB or CR/LF, several
  // options in one key): refused the same way.
  if (auto why = check(request); !why.empty()) {
    refused(request, why);
    done({}, why, {}, false);
    return;
  }
  const VerbSpec* spec = find_verb_spec(request.verb);
  auto now = clock_.now_ms();
  CommandRecord c;
  {
    std::lock_guard lock(mutex_);
    if (!request.client_ref.empty()) {
      if (auto it = refs_.find(ref_key(request.origin, request.client_ref)); it != refs_.end()) {
        auto open = open_.find(it->second);
        if (open != open_.end()) {
          // The same command again (a retried MQTT message): queued once.
          auto copy = open->second;
          done({}, {}, copy, true);
          return;
        }
      }
    }
    c.id = next_id_++;
  }
  c.terminal_sn = std::move(request.terminal_sn);
  c.origin = std::move(request.origin);
  c.client_ref = std::move(request.client_ref);
  c.verb = std::move(request.verb);
  c.params = std::move(request.params);
  c.state = CommandState::Queued;
  c.max_attempts = request.max_attempts > 0 ? request.max_attempts : options_.max_attempts;
  c.created_ms = now;
  // A door action from any source (MQTT, Home Assistant, REST, rules) without
  // its own ttl lives briefly: a terminal back hours later must not open the door then.
  const std::int64_t default_ttl =
      spec != nullptr && spec->door_action ? options_.door_ttl_ms : options_.default_ttl_ms;
  c.expires_ms = now + (request.ttl_ms > 0 ? request.ttl_ms : default_ttl);

  // The insert reports back whether an older command with the same
  // client_ref already exists (finished ones are only in the database).
  auto existing = std::make_shared<std::optional<CommandRecord>>();
  // The row as the writer inserts it: params dumped here, on the caller's
  // thread, and the record itself not copied into the writer's queue.
  struct Row {
    std::int64_t id;
    std::string terminal_sn, origin, client_ref, verb, params;
    int max_attempts;
    std::int64_t created_ms, expires_ms;
  };
  Row row{c.id,           c.terminal_sn, c.origin,    c.client_ref, c.verb, dump_json(c.params),
          c.max_attempts, c.created_ms,  c.expires_ms};
  WriteBatch batch;
  batch.ops.push_back([c = std::move(row),
                       existing](store::WriteContext& ctx) -> boost::system::error_code {
    boost::system::error_code ec;
    if (!c.client_ref.empty()) {
      auto& sel = ctx.statement(
          "SELECT " + std::string(kColumns) + " FROM commands WHERE origin=?1 AND client_ref=?2",
          ec);
      if (ec) {
        return ec;
      }
      sel.bind(1, std::string_view(c.origin)).bind(2, std::string_view(c.client_ref));
      if (sel.step(ec)) {
        *existing = row_to_record(sel);
        sel.reset();
        return {};
      }
      sel.reset();
      if (ec) {
        return ec;
      }
    }
    auto& st = ctx.statement(
        "INSERT INTO commands(id, terminal_sn, origin, client_ref, verb, params, state, attempts,"
        " max_attempts, created_ms, expires_ms) VALUES(?1,?2,?3,?4,?5,?6,'queued',0,?7,?8,?9)",
        ec);
    if (ec) {
      return ec;
    }
    st.bind(1, c.id).bind(2, std::string_view(c.terminal_sn)).bind(3, std::string_view(c.origin));
    bind_text_or_null(st, 4, c.client_ref);
    st.bind(5, std::string_view(c.verb)).bind(6, std::string_view(c.params));
    st.bind(7, c.max_attempts).bind(8, c.created_ms).bind(9, c.expires_ms);
    return st.run();
  });
  store_.append(
      std::move(batch), [this, c = std::move(c), existing, done = std::move(done)](CommitResult r) {
        if (r.ec) {
          done(r.ec, "the store could not commit: " + r.ec.message(), c, false);
          return;
        }
        if (existing->has_value()) {
          done({}, {}, **existing, true);
          return;
        }
        {
          std::lock_guard lock(mutex_);
          index_locked(c);
        }
        metrics_
            .counter("pushgate_commands_total", "Commands by final or current state",
                     {{"state", "queued"}})
            .inc();
        logger("commands")
            ->debug("[sn={}] [cmd={}] queued {} from {}", c.terminal_sn, c.id, c.verb, c.origin);
        committed({c});
        done({}, {}, c, false);
      });
}

namespace {

// The line as sent, for diagnosis (the API, the commands table). A long one
// carries a photo or template that params already holds: only its start is
// kept, in memory and in the row, so a large sync does not hold or store
// each blob twice (issue 19).
std::string wire_kept(const std::string& line) {
  constexpr std::size_t kWireKept = 512;
  if (line.size() <= kWireKept) {
    return line;
  }
  return line.substr(0, kWireKept) + "... (" + std::to_string(line.size()) + " bytes)";
}

// What observers get of a command that changed: all of it, except for a
// sync command that is not finished. Its one observer (the sync) acts on
// final states only, and at 200 terminals polling, copies of the photos
// they were sent, kept until the commit, were a sixth of the heap.
void note_change(std::vector<CommandRecord>& changed, CommandRecord& c) {
  if (c.origin != "sync" || is_final(c.state)) {
    changed.push_back(c);
    return;
  }
  auto params = std::move(c.params);
  changed.push_back(c);
  c.params = std::move(params);
}

}  // namespace

std::vector<std::string> CommandQueue::deliver(const std::string& sn, const Renderer& render,
                                               WriteBatch& batch,
                                               std::vector<CommandRecord>& changed) {
  std::vector<std::string> lines;
  auto now = clock_.now_ms();
  std::size_t bytes = 0;
  std::lock_guard lock(mutex_);
  auto s = by_sn_.find(sn);
  if (s == by_sn_.end()) {
    return lines;
  }
  for (auto id : s->second) {
    auto& c = open_.at(id);
    if (!deliverable(c, now)) {
      continue;
    }
    if (lines.size() >= options_.max_per_poll) {
      break;
    }
    auto r = render(c);
    if (!r.error.empty()) {
      // The terminal's dialect cannot express it: say so, never drop silently.
      c.state = CommandState::Failed;
      c.finished_ms = now;
      c.error = r.error;
      batch.ops.push_back(update_op(c));
      changed.push_back(c);
      continue;
    }
    std::string line = r.prefix + "C:" + std::to_string(c.id) + ":" + r.line;
    if (!lines.empty() && bytes + line.size() + 1 > options_.max_bytes_per_poll) {
      break;
    }
    bytes += line.size() + 1;
    c.state = CommandState::Sent;
    c.attempts += 1;
    c.sent_ms = now;
    c.wire = wire_kept(r.line);
    batch.ops.push_back(update_op(c));
    note_change(changed, c);
    lines.push_back(std::move(line));
    if (r.ends_batch) {
      break;  // after a reboot nothing else would be executed
    }
  }
  return lines;
}

std::size_t CommandQueue::complete(const std::string& sn, const std::vector<Result>& results,
                                   WriteBatch& batch, std::vector<CommandRecord>& changed,
                                   std::vector<Refusal>* refused) {
  std::size_t unknown = 0;
  auto now = clock_.now_ms();
  std::lock_guard lock(mutex_);
  for (const auto& r : results) {
    auto it = open_.find(r.id);
    if (it == open_.end()) {
      ++unknown;
      logger("commands")
          ->debug("[sn={}] [cmd={}] result for a command not open (finished or unknown)", sn, r.id);
      continue;
    }
    auto& c = it->second;
    // Ids are small and sequential: only the terminal a command went to may
    // finish it, and only after it went (Appendix 15: a sub-controller's
    // result comes through its master, with the master's SN in the query).
    std::string_view refusal;
    if (c.terminal_sn != sn) {
      refusal = "other_terminal";
    } else if (c.state != CommandState::Sent) {
      refusal = "not_sent";
    }
    if (!refusal.empty()) {
      if (refused != nullptr) {
        refused->push_back({r.id, std::string(refusal)});
      }
      continue;
    }
    c.state = r.return_code >= 0 ? CommandState::Done : CommandState::Failed;
    c.return_code = r.return_code;
    c.return_name = r.return_name;
    c.result = r.raw;
    c.finished_ms = now;
    if (c.state == CommandState::Failed) {
      c.error = "terminal returned " + std::to_string(r.return_code) +
                (r.return_name.empty() ? "" : " (" + r.return_name + ")");
    }
    batch.ops.push_back(update_op(c));
    changed.push_back(c);
  }
  return unknown;
}

bool CommandQueue::cancel(std::int64_t id, WriteBatch& batch, std::vector<CommandRecord>& changed) {
  std::lock_guard lock(mutex_);
  auto it = open_.find(id);
  if (it == open_.end() || it->second.state != CommandState::Queued) {
    return false;
  }
  auto& c = it->second;
  c.state = CommandState::Cancelled;
  c.finished_ms = clock_.now_ms();
  c.error = "cancelled";
  batch.ops.push_back(update_op(c));
  changed.push_back(c);
  return true;
}

void CommandQueue::sweep(WriteBatch& batch, std::vector<CommandRecord>& changed) {
  auto now = clock_.now_ms();
  std::vector<std::string> redeliver;
  {
    std::lock_guard lock(mutex_);
    for (auto& [id, c] : open_) {
      if (is_final(c.state)) {
        continue;
      }
      if (now >= c.expires_ms) {
        c.state = CommandState::Expired;
        c.finished_ms = now;
        c.error = c.attempts == 0 ? "expired before the terminal asked for it"
                                  : "expired without a result after " + std::to_string(c.attempts) +
                                        " deliveries";
      } else if (c.state == CommandState::Sent && c.attempts >= c.max_attempts &&
                 now - c.sent_ms >= options_.ack_timeout_ms) {
        c.state = CommandState::Failed;
        c.finished_ms = now;
        c.error = "no result after " + std::to_string(c.attempts) + " deliveries";
      } else {
        // Due for re-delivery: a poll finds it by itself, a pusher is told
        // (once per attempt).
        if (c.state == CommandState::Sent && deliverable(c, now)) {
          auto [at, fresh] = announced_.try_emplace(id, c.attempts);
          if (fresh || at->second != c.attempts) {
            at->second = c.attempts;
            redeliver.push_back(c.terminal_sn);
          }
        }
        continue;
      }
      batch.ops.push_back(update_op(c));
      changed.push_back(c);
    }
  }
  announce(redeliver);
}

void CommandQueue::committed(const std::vector<CommandRecord>& changed) {
  std::vector<std::function<void(const CommandRecord&)>> observers;
  {
    std::lock_guard lock(mutex_);
    for (const auto& c : changed) {
      if (is_final(c.state)) {
        auto it = open_.find(c.id);
        if (it == open_.end()) {
          continue;  // already reported (a resent result)
        }
        forget_locked(it);
      }
    }
    observers = observers_;
  }
  auto log = logger("commands");
  for (const auto& c : changed) {
    if (is_final(c.state)) {
      metrics_
          .counter("pushgate_commands_total", "Commands by final or current state",
                   {{"state", std::string(to_string(c.state))}})
          .inc();
      if (c.state == CommandState::Done) {
        log->debug("[cmd={}] [sn={}] {} done (Return={})", c.id, c.terminal_sn, c.verb,
                   c.return_code.value_or(0));
      } else {
        log->info("[cmd={}] [sn={}] {} {}: {}", c.id, c.terminal_sn, c.verb, to_string(c.state),
                  text::log_escape(c.error));
      }
    }
    for (const auto& o : observers) {
      o(c);
    }
  }
  std::vector<std::string> queued;
  for (const auto& c : changed) {
    if (c.state == CommandState::Queued) {
      queued.push_back(c.terminal_sn);
    }
  }
  announce(queued);
}

void CommandQueue::announce(const std::vector<std::string>& serials) {
  if (serials.empty()) {
    return;
  }
  std::lock_guard lock(pushers_mutex_);
  if (pushers_.empty()) {
    return;
  }
  const auto pushers = pushers_;  // a reset inside a call may change the list
  std::set<std::string_view> told;
  for (const auto& sn : serials) {
    if (!told.insert(sn).second) {
      continue;
    }
    for (const auto& p : pushers) {
      if (p->active && p->pusher.owns(sn)) {
        p->pusher.ready(sn);
      }
    }
  }
}

Subscription CommandQueue::add_pusher(Pusher pusher) {
  auto entry = std::make_shared<PusherEntry>();
  entry->pusher = std::move(pusher);
  std::vector<std::string> open;
  {
    std::lock_guard lock(mutex_);
    const auto now = clock_.now_ms();
    for (const auto& [sn, ids] : by_sn_) {
      for (auto id : ids) {
        if (deliverable(open_.at(id), now)) {
          open.push_back(sn);
          break;
        }
      }
    }
  }
  {
    std::lock_guard lock(pushers_mutex_);
    pushers_.push_back(entry);
    // What was already open when the adapter came (a restart): its cue.
    for (const auto& sn : open) {
      if (entry->pusher.owns(sn)) {
        entry->pusher.ready(sn);
      }
    }
  }
  return Subscription([this, entry] {
    std::lock_guard lock(pushers_mutex_);
    entry->active = false;
    std::erase(pushers_, entry);
  });
}

std::vector<CommandRecord> CommandQueue::take(const std::string& sn, WriteBatch& batch,
                                              std::vector<CommandRecord>& changed,
                                              std::size_t max) {
  std::vector<CommandRecord> out;
  if (max == 0) {
    max = options_.max_per_poll;
  }
  auto now = clock_.now_ms();
  std::lock_guard lock(mutex_);
  auto s = by_sn_.find(sn);
  if (s == by_sn_.end()) {
    return out;
  }
  for (auto id : s->second) {
    if (out.size() >= max) {
      break;
    }
    auto& c = open_.at(id);
    if (!deliverable(c, now)) {
      continue;
    }
    c.state = CommandState::Sent;
    c.attempts += 1;
    c.sent_ms = now;
    batch.ops.push_back(update_op(c));
    changed.push_back(c);
    out.push_back(c);
  }
  return out;
}

bool CommandQueue::fail(const std::string& sn, std::int64_t id, std::string reason,
                        WriteBatch& batch, std::vector<CommandRecord>& changed) {
  std::lock_guard lock(mutex_);
  auto it = open_.find(id);
  if (it == open_.end() || it->second.terminal_sn != sn || is_final(it->second.state)) {
    return false;
  }
  auto& c = it->second;
  c.state = CommandState::Failed;
  c.finished_ms = clock_.now_ms();
  c.error = std::move(reason);
  batch.ops.push_back(update_op(c));
  changed.push_back(c);
  return true;
}

std::vector<CommandRecord> CommandQueue::read(store::Connection& db, const std::string& terminal,
                                              std::optional<CommandState> state, std::int64_t after,
                                              std::size_t limit, boost::system::error_code& ec) {
  std::string sql = "SELECT " + std::string(kColumns) + " FROM commands WHERE id > ?1";
  if (!terminal.empty()) {
    sql += " AND terminal_sn = ?3";
  }
  if (state) {
    sql += " AND state = ?4";
  }
  sql += " ORDER BY id LIMIT ?2";
  std::vector<CommandRecord> out;
  auto st = db.prepare(sql, ec);
  if (ec) {
    return out;
  }
  st.bind(1, after).bind(2, static_cast<std::int64_t>(limit));
  if (!terminal.empty()) {
    st.bind(3, std::string_view(terminal));
  }
  if (state) {
    st.bind(4, to_string(*state));
  }
  while (st.step(ec)) {
    out.push_back(row_to_record(st));
  }
  return out;
}

std::optional<CommandRecord> CommandQueue::read_one(store::Connection& db, std::int64_t id,
                                                    boost::system::error_code& ec) {
  auto st = db.prepare("SELECT " + std::string(kColumns) + " FROM commands WHERE id = ?1", ec);
  if (ec) {
    return std::nullopt;
  }
  st.bind(1, id);
  if (st.step(ec)) {
    return row_to_record(st);
  }
  return std::nullopt;
}

}  // namespace pushgate
