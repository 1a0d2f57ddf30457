#include "gateway/store/sink_ports_impl.hpp"

#include <utility>

#include "gateway/store/event_queries.hpp"
#include "gateway/store/sqlite.hpp"
#include "gateway/store/store.hpp"
#include "gateway/store/write_context.hpp"

namespace pushgate::store {

namespace {

class StoreEventReader final : public EventReader {
 public:
  explicit StoreEventReader(Connection db) : db_(std::move(db)) {}

  std::int64_t max_event_id(boost::system::error_code& ec) override {
    return store::max_event_id(db_, ec);
  }

  std::vector<Event> read_after(std::int64_t after, std::size_t limit,
                                boost::system::error_code& ec) override {
    EventQuery q;
    q.after = after;
    q.limit = limit;
    return read_events(db_, q, ec);
  }

  std::map<std::string, std::int64_t> last_id_per_terminal_after(
      std::int64_t after, boost::system::error_code& ec) override {
    std::map<std::string, std::int64_t> last;
    auto st = db_.prepare(
        "SELECT t.sn, MAX(e.id) FROM events e JOIN terminals t ON t.id = e.terminal_id"
        " WHERE e.id > ?1 GROUP BY e.terminal_id",
        ec);
    if (ec) {
      return last;
    }
    st.bind(1, after);
    while (st.step(ec)) {
      last[st.column_text(0)] = st.column_int(1);
    }
    if (ec) {
      last.clear();
    }
    return last;
  }

  std::int64_t first_received_ms_after(std::int64_t after, boost::system::error_code& ec) override {
    auto st = db_.prepare("SELECT received_ms FROM events WHERE id > ?1 ORDER BY id LIMIT 1", ec);
    if (ec) {
      return 0;
    }
    st.bind(1, after);
    if (st.step(ec)) {
      return st.column_int(0);
    }
    return 0;
  }

  std::vector<Event> latest_per_terminal(std::span<const EventKind> kinds,
                                         boost::system::error_code& ec) override {
    return store::latest_event_per_terminal(db_, kinds, ec);
  }

 private:
  Connection db_;
};

}  // namespace

std::unique_ptr<EventReader> StoreSinkPorts::open_reader(boost::system::error_code& ec) {
  Connection::Options ro;
  ro.read_only = true;
  auto db = Connection::open(store_.path(), ro, ec);
  if (ec) {
    return nullptr;
  }
  return std::make_unique<StoreEventReader>(std::move(db));
}

std::vector<std::string> StoreSinkPorts::loaded_cursors() const {
  std::lock_guard lock(loaded_mutex_);
  return {loaded_.begin(), loaded_.end()};
}

void StoreSinkPorts::attach(std::string_view name, SinkHolder* holder) {
  std::lock_guard lock(holders_mutex_);
  if (holder == nullptr) {
    if (auto it = holders_.find(name); it != holders_.end()) {
      holders_.erase(it);
    }
    return;
  }
  holders_.insert_or_assign(std::string(name), holder);
}

std::map<std::string, SinkHolder::Held> StoreSinkPorts::reserve_deletion(
    const std::vector<std::int64_t>& ids) {
  std::map<std::string, SinkHolder::Held> held;
  std::lock_guard lock(holders_mutex_);
  for (const auto& [name, holder] : holders_) {
    held.emplace(name, holder->reserve_deletion(ids));
  }
  return held;
}

void StoreSinkPorts::deletion_done(const std::vector<std::int64_t>& deleted) {
  std::lock_guard lock(holders_mutex_);
  for (const auto& [name, holder] : holders_) {
    holder->deletion_done(deleted);
  }
}

std::int64_t StoreSinkPorts::load(std::string_view name, boost::system::error_code& ec) {
  {
    std::lock_guard lock(loaded_mutex_);
    loaded_.emplace(name);
  }
  struct Loaded {
    boost::system::error_code ec;
    std::int64_t position = 0;
  };
  auto loaded = store_.read([name](Connection& db) {
    Loaded l;
    auto st = db.prepare("SELECT position FROM cursors WHERE name = ?1", l.ec);
    if (!l.ec) {
      st.bind(1, name);
      if (st.step(l.ec)) {
        l.position = st.column_int(0);
      }
    }
    return l;
  });
  ec = loaded.ec;
  return ec ? 0 : loaded.position;
}

void StoreSinkPorts::store(std::string name, std::int64_t position, Done done) {
  WriteBatch batch;
  batch.ops.push_back(
      [name = std::move(name), position](WriteContext& ctx) -> boost::system::error_code {
        boost::system::error_code ec;
        auto& st = ctx.statement(
            "INSERT INTO cursors(name, position, updated_ms) VALUES(?1, ?2, ?3)"
            " ON CONFLICT(name) DO UPDATE SET position = excluded.position,"
            " updated_ms = excluded.updated_ms",
            ec);
        if (ec) {
          return ec;
        }
        st.bind(1, std::string_view(name)).bind(2, position).bind(3, ctx.now_ms());
        return st.run();
      });
  store_.append(std::move(batch), [done = std::move(done)](CommitResult r) { done(r.ec); });
}

}  // namespace pushgate::store
