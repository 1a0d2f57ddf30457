#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <spdlog/logger.h>
#include <boost/system/error_code.hpp>
#include <nlohmann/json.hpp>

#include "gateway/access/access_config.hpp"
#include "gateway/access/master_data_change.hpp"
#include "gateway/access_decider.hpp"
#include "gateway/clock.hpp"
#include "gateway/event.hpp"
#include "gateway/event_log.hpp"
#include "gateway/metrics/metrics.hpp"
#include "gateway/timezone.hpp"
#include "rules/access/access_model.hpp"
#include "rules/access/decider.hpp"
#include "rules/access/master_data_json.hpp"

namespace pushgate {
namespace config {
class Config;
}
namespace store {
class Store;
}
}  // namespace pushgate

namespace pushgate::access {

namespace ra = pushgate::rules::access;

/** The master-data entities of the REST API; each has a JSON form (master_data_json.hpp). */
enum class EntityKind { User, TimeZone, Holiday, Level, Door, Area };
std::string_view to_string(EntityKind kind) noexcept;  ///< "users", "timezones", … (REST path)

/**
 * Local access control in the gateway: the master data (users, cards, time
 * zones, holidays, levels, doors, areas) and the §10 remote-identification
 * decisions taken with it (rules/access), with anti-passback positions and
 * every decision stored.
 *
 * Threads and ownership:
 * - Master data and decision state live in memory behind one mutex; a
 *   decision holds it for microseconds and never waits for disk under it.
 * - Everything durable goes through the store's writer (master data rows,
 *   positions, Decision events). A master-data change is applied in memory
 *   only after its commit; changes run one at a time, in arrival order, so
 *   each is validated against the data it will join.
 * - The commit observer (writer thread) only updates door states and queues
 *   imports of users uploaded by terminals; it never blocks.
 * - `done` callbacks run on the calling thread or the writer thread; they
 *   must not block (post to your own strand).
 *
 * Lifecycle (main thread): construct after Store::open and before
 * Store::start (so the observer sees every commit), load() after
 * Store::start, before any terminal may ask.
 */
class AccessService final : public Decider {
 public:
  /** Throws std::runtime_error on a bad gateway.timezone. Registers the commit observer. */
  AccessService(store::Store& store, const Clock& clock, metrics::Registry& metrics,
                ServiceOptions options);
  ~AccessService() override;
  AccessService(const AccessService&) = delete;
  AccessService& operator=(const AccessService&) = delete;

  /** Reads master data, positions and door states. "" on success, else why not. */
  std::string load();

  // Decider
  void decide(RemoteAuthRequest request, std::function<void(RemoteAuthAnswer)> done) override;
  void note_pass(const Event& event, WriteBatch& batch) override;

  /** Registered before load(); called after each committed change (see master_data_change.hpp). */
  void add_change_observer(MasterDataObserver observer);

  /** The outcome of a change. */
  struct Update {
    boost::system::error_code ec;        ///< the store could not commit: nothing changed
    std::vector<ra::FieldError> errors;  ///< invalid: nothing changed (400)
    std::string conflict;                ///< refused, still in use (409)
    bool not_found = false;              ///< delete of something absent (404)
    nlohmann::json value;                ///< the entity (or entities) as stored
  };
  using UpdateDone = std::function<void(Update)>;

  /**
   * Creates or replaces one entity from its JSON form (`body` an object) or
   * several in one commit (`body` an array: all or none). `path_key`, when
   * given, must match the body's key. `source` is recorded for users.
   */
  void put(EntityKind kind, nlohmann::json body, std::optional<std::string> path_key,
           UpdateDone done);
  /** Deletes one entity by its key text (pin, id, YYYY-MM-DD, SN/door). */
  void remove(EntityKind kind, std::string key, UpdateDone done);
  /** The JSON forms, ordered by key, from after `after` (exclusive), at most `limit`. */
  nlohmann::json list(EntityKind kind, const std::string& after, std::size_t limit) const;
  /** One entity's JSON form; nullopt when absent (or the key is malformed). */
  std::optional<nlohmann::json> get(EntityKind kind, const std::string& key) const;

  /** Anti-passback positions as JSON ({pin: {area, since}}). */
  nlohmann::json positions() const;
  /** Forgets one user's position ("" = everyone's), durably. */
  void reset_positions(std::string pin, UpdateDone done);

  /** A copy of the whole master data (terminal sync, tests). */
  ra::MasterData snapshot() const;
  /** Runs `f` on the master data under the lock; keep it short. */
  template <class F>
  auto with_data(F&& f) const {
    std::lock_guard lock(mutex_);
    return f(static_cast<const ra::MasterData&>(data_));
  }

  /** The state of a door as decisions see it (tests, REST). */
  ra::DoorLive door_state(const ra::DoorRef& door) const;
  /** Waits until no change or import is queued or committing. Test-only. */
  bool wait_idle_for_test(std::chrono::milliseconds deadline);

 private:
  struct Plan;
  /** Shared with the store callbacks and the observer, which may outlive the service. */
  struct Inbox {
    /**
     * Recursive: a store callback holding it may append, and an append
     * refused at shutdown calls its own callback at once, on this thread.
     */
    std::recursive_mutex mutex;
    AccessService* service = nullptr;
  };

  void on_commit(const std::vector<Event>& committed);  // writer thread
  void import_users(std::string sn, std::vector<nlohmann::json> fields);
  /** Queues a change; it is planned when its turn comes, against the data then in force. */
  void enqueue(std::function<Plan()> plan, UpdateDone done);
  void run_next();
  void finish(Plan& plan, const CommitResult& result);
  Plan plan_put(EntityKind kind, const nlohmann::json& body,
                const std::optional<std::string>& path_key, const std::string& source);
  Plan plan_remove(EntityKind kind, const std::string& key);
  date::local_seconds site_time(std::chrono::system_clock::time_point t) const;

  store::Store& store_;
  const Clock& clock_;
  ServiceOptions options_;
  Zone zone_;
  std::shared_ptr<spdlog::logger> log_;
  std::shared_ptr<Inbox> inbox_;

  mutable std::mutex mutex_;
  ra::MasterData data_;
  ra::Decider decider_;
  std::atomic<std::uint64_t> decision_seq_{0};

  std::mutex queue_mutex_;
  std::deque<std::pair<std::function<Plan()>, UpdateDone>> queue_;
  bool running_ = false;

  std::vector<MasterDataObserver> observers_;

  metrics::Counter& granted_;
  metrics::Counter& refused_;
  metrics::Counter& apb_violations_;
  metrics::Counter& apb_moves_from_terminals_;
  metrics::Counter& decision_write_failures_;
  metrics::Counter& imported_;
  metrics::Counter& import_skipped_;
  metrics::Counter& bad_rows_;
  metrics::Histogram& decision_seconds_;
  std::vector<metrics::Counter*> by_reason_;  // indexed by event code 0..255
  /** Last member: destroyed first, so no commit reaches a half-destroyed service. */
  CommitSubscription commit_sub_;
};

}  // namespace pushgate::access
