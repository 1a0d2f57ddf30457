#include "gateway/terminals.hpp"

#include <algorithm>
#include <charconv>
#include <stdexcept>

#include <boost/asio/ip/address.hpp>
#include <nlohmann/json.hpp>

#include "gateway/config/config.hpp"
#include "gateway/device_text.hpp"
#include "gateway/store/store.hpp"
#include "gateway/store/terminal_queries.hpp"
#include "gateway/store/write_context.hpp"

namespace pushgate {

namespace {
// Terminals poll every few seconds; last_seen is persisted at most this often
// unless something else about the terminal changed.
constexpr std::int64_t kPersistEveryMs = 60'000;

// Parses "a.b.c.d/n" or "x::y/n" (a bare address means a single host).
bool parse_cidr(std::string_view text, std::array<unsigned char, 16>& bytes, bool& v4,
                int& prefix) {
  auto slash = text.find('/');
  std::string addr(text.substr(0, slash));
  boost::system::error_code ec;
  auto a = boost::asio::ip::make_address(addr, ec);
  if (ec) {
    return false;
  }
  v4 = a.is_v4();
  bytes.fill(0);
  if (v4) {
    auto b = a.to_v4().to_bytes();
    std::copy(b.begin(), b.end(), bytes.begin());
  } else {
    auto b = a.to_v6().to_bytes();
    std::copy(b.begin(), b.end(), bytes.begin());
  }
  int max = v4 ? 32 : 128;
  prefix = max;
  if (slash != std::string_view::npos) {
    auto p = text.substr(slash + 1);
    int n = 0;
    auto [end, err] = std::from_chars(p.data(), p.data() + p.size(), n);
    if (err != std::errc{} || end != p.data() + p.size() || n < 0 || n > max) {
      return false;
    }
    prefix = n;
  }
  return true;
}

bool prefix_equal(const std::array<unsigned char, 16>& a, const std::array<unsigned char, 16>& b,
                  int prefix) {
  int full = prefix / 8;
  for (int i = 0; i < full; ++i) {
    if (a[static_cast<std::size_t>(i)] != b[static_cast<std::size_t>(i)]) {
      return false;
    }
  }
  int rest = prefix % 8;
  if (rest == 0) {
    return true;
  }
  unsigned char mask = static_cast<unsigned char>(0xff << (8 - rest));
  return (a[static_cast<std::size_t>(full)] & mask) == (b[static_cast<std::size_t>(full)] & mask);
}

// The state a serial never seen before starts in, from the policy.
std::string unknown_state_of(const config::Config& c) {
  const auto& policy = c.get_string("gateway.unknown_terminals");
  return policy == "pending" ? "pending" : policy == "refuse" ? "refused" : "accepted";
}

std::size_t max_pending_of(const config::Config& c) {
  return static_cast<std::size_t>(
      std::max<std::int64_t>(0, c.get_int("gateway.max_pending_terminals")));
}

Zone zone_or_throw(std::string_view spec, std::string_view key) {
  std::string error;
  auto z = Zone::parse(spec, error);
  if (!z) {
    throw std::invalid_argument(std::string(key) + ": " + error);
  }
  return *z;
}
}  // namespace

std::string_view to_string(Biometric b) noexcept {
  switch (b) {
    case Biometric::Fingerprint:
      return "fingerprint";
    case Biometric::Face:
      return "face";
    case Biometric::Palm:
      return "palm";
    case Biometric::FingerVein:
      return "finger_vein";
    case Biometric::Iris:
      return "iris";
  }
  return "unknown";
}

std::optional<Biometric> parse_biometric(std::string_view name) noexcept {
  for (auto b : kBiometrics) {
    if (to_string(b) == name) {
      return b;
    }
  }
  return std::nullopt;
}

std::string_view to_string(DecisionMode m) noexcept {
  return m == DecisionMode::Gateway ? "gateway" : "local";
}

std::string_view to_string(CommandDelivery d) noexcept {
  return d == CommandDelivery::Push ? "push" : "poll";
}

std::string_view to_string(SyncWrite w) noexcept {
  switch (w) {
    case SyncWrite::Users:
      return "users";
    case SyncWrite::Cards:
      return "cards";
    case SyncWrite::Passwords:
      return "passwords";
    case SyncWrite::DoorRights:
      return "door_rights";
    case SyncWrite::TimeZones:
      return "time_zones";
    case SyncWrite::Templates:
      return "templates";
    case SyncWrite::Photos:
      return "photos";
    case SyncWrite::Batch:
      return "batch";
  }
  return "users";
}

std::optional<SyncWrite> parse_sync_write(std::string_view name) noexcept {
  for (auto w : kSyncWrites) {
    if (to_string(w) == name) {
      return w;
    }
  }
  return std::nullopt;
}

void to_json(nlohmann::json& j, const DeviceCapabilities& c) {
  auto bio = nlohmann::json::array();
  for (auto b : kBiometrics) {
    if (c.has(b)) {
      bio.push_back(to_string(b));
    }
  }
  j = {{"doors", c.doors},
       {"readers", c.readers},
       {"biometrics", std::move(bio)},
       {"decision", to_string(c.decision)},
       {"commands", to_string(c.commands)},
       {"user_sync", c.user_sync}};
  auto writes = nlohmann::json::array();
  for (auto w : kSyncWrites) {
    if (c.takes(w)) {
      writes.push_back(to_string(w));
    }
  }
  j["sync_writes"] = std::move(writes);
  j["shared_users"] = c.shared_users;
}

void from_json(const nlohmann::json& j, DeviceCapabilities& c) {
  c = DeviceCapabilities{};
  if (!j.is_object()) {
    return;
  }
  auto count = [&j](const char* key) {
    const auto it = j.find(key);
    return it != j.end() && it->is_number_integer() ? std::max(0, it->get<int>()) : 0;
  };
  c.doors = count("doors");
  c.readers = count("readers");
  if (const auto it = j.find("biometrics"); it != j.end() && it->is_array()) {
    for (const auto& name : *it) {
      if (name.is_string()) {
        if (auto b = parse_biometric(name.get_ref<const std::string&>())) {
          c.add(*b);
        }
      }
    }
  }
  if (const auto it = j.find("decision"); it != j.end() && *it == "gateway") {
    c.decision = DecisionMode::Gateway;
  }
  if (const auto it = j.find("commands"); it != j.end() && *it == "push") {
    c.commands = CommandDelivery::Push;
  }
  if (const auto it = j.find("user_sync"); it != j.end() && it->is_boolean()) {
    c.user_sync = it->get<bool>();
  }
  if (const auto it = j.find("sync_writes"); it != j.end() && it->is_array()) {
    for (const auto& name : *it) {
      if (name.is_string()) {
        if (auto w = parse_sync_write(name.get_ref<const std::string&>())) {
          c.sync_writes |= sync_bit(*w);
        }
      }
    }
  } else if (c.user_sync) {
    c.sync_writes = kAllSyncWrites;  // stored before sync_writes: a ZKTeco access terminal
  }
  if (const auto it = j.find("shared_users"); it != j.end() && it->is_boolean()) {
    c.shared_users = it->get<bool>();
  }
}

TerminalRegistry::TerminalRegistry(const config::Config& config)
    : site_zone_(zone_or_throw(config.get_string("gateway.timezone"), "gateway.timezone")),
      unknown_state_(unknown_state_of(config)),
      max_pending_(max_pending_of(config)),
      gateway_id_(config.get_string("gateway.id")) {
  for (const auto& sn : config.table_names("terminals")) {
    names_[sn] = config.get_string("terminals." + sn + ".name");
    const auto& tz = config.get_string("terminals." + sn + ".timezone");
    if (!tz.empty()) {
      zones_.emplace(sn, zone_or_throw(tz, "terminals." + sn + ".timezone"));
    }
    if (auto enc = text::canonical_encoding(config.get_string("terminals." + sn + ".encoding"))) {
      encodings_.emplace(sn, *enc);
    }
    for (const auto& cidr : config.get_list("terminals." + sn + ".networks")) {
      Network n;
      if (!parse_cidr(cidr, n.bytes, n.v4, n.prefix)) {
        throw std::invalid_argument("terminals." + sn + ".networks: \"" + cidr +
                                    "\" is not an address or CIDR network");
      }
      networks_[sn].push_back(n);
    }
    // A terminal named in the config is trusted even under the pending policy.
    Entry e;
    e.record.sn = sn;
    e.record.state = "accepted";
    terminals_.emplace(sn, std::move(e));
  }
}

void TerminalRegistry::reload(const config::Config& config) {
  std::lock_guard lock(mutex_);
  unknown_state_ = unknown_state_of(config);
  max_pending_ = max_pending_of(config);
}

void TerminalRegistry::load(store::Store& store) {
  auto rows = store.read([](store::Connection& db) {
    boost::system::error_code ec;
    return store::read_terminals(db, ec);
  });
  std::lock_guard lock(mutex_);
  for (auto& r : rows) {
    if (!is_terminal(r.sn)) {
      continue;  // the gateway's own events (timecards...): not a terminal
    }
    auto& e = terminals_[r.sn];
    bool configured = names_.count(r.sn) > 0;
    e.record = std::move(r);
    if (configured && e.record.state == "pending") {
      e.record.state = "accepted";
    }
    e.persisted_ms = e.record.last_seen_ms;
  }
}

TerminalRecord TerminalRegistry::seen(std::string_view sn, std::string_view ip, std::int64_t now_ms,
                                      bool& persist, NotAdmitted* not_admitted) {
  std::lock_guard lock(mutex_);
  auto it = terminals_.find(sn);
  persist = false;
  if (not_admitted != nullptr) {
    *not_admitted = NotAdmitted::No;
  }
  if (it == terminals_.end()) {
    auto why = NotAdmitted::No;
    if (unknown_state_ == "refused") {
      why = NotAdmitted::Refused;
    } else if (unknown_state_ == "pending") {
      auto pending = std::count_if(terminals_.begin(), terminals_.end(), [](const auto& kv) {
        return kv.second.record.state == "pending";
      });
      if (static_cast<std::size_t>(pending) >= max_pending_) {
        why = NotAdmitted::PendingFull;
      }
    }
    if (why != NotAdmitted::No) {
      // Answered as refused, remembered nowhere: the caller counts it.
      if (not_admitted != nullptr) {
        *not_admitted = why;
      }
      TerminalRecord transient;
      transient.sn = std::string(sn);
      transient.state = "refused";
      transient.ip = std::string(ip);
      transient.first_seen_ms = now_ms;
      transient.last_seen_ms = now_ms;
      return transient;
    }
    Entry e;
    e.record.sn = std::string(sn);
    e.record.state = unknown_state_;
    it = terminals_.emplace(std::string(sn), std::move(e)).first;
  }
  auto& e = it->second;
  if (e.record.first_seen_ms == 0) {
    e.record.first_seen_ms = now_ms;
    persist = true;
  }
  if (e.record.ip != ip) {
    e.record.ip = std::string(ip);
    persist = true;
  }
  e.record.last_seen_ms = now_ms;
  // An accepted terminal's last_seen goes out in the gateway's batch
  // (last_seen_batch); the others (pending, refused: few) keep the
  // once-a-minute persist their callers also use as a log tick.
  if (e.record.state != "accepted" && now_ms - e.persisted_ms >= kPersistEveryMs) {
    persist = true;
  }
  if (persist) {
    e.persisted_ms = now_ms;
  }
  return e.record;
}

std::optional<TerminalRecord> TerminalRegistry::find(std::string_view sn) const {
  std::lock_guard lock(mutex_);
  auto it = terminals_.find(sn);
  if (it == terminals_.end() || it->second.record.first_seen_ms == 0) {
    return std::nullopt;
  }
  return it->second.record;
}

std::string TerminalRegistry::command_refusal(std::string_view sn) const {
  std::lock_guard lock(mutex_);
  if (auto it = terminals_.find(sn); it != terminals_.end()) {
    // A refused terminal is never answered commands; queuing one only lets it wait.
    if (it->second.record.state == "refused") {
      return "terminal " + std::string(sn.substr(0, 64)) + " is refused";
    }
    return {};
  }
  // Configured but not yet seen: it is expected, its commands wait for it.
  if (names_.count(sn) != 0 || zones_.count(sn) != 0 || networks_.count(sn) != 0) {
    return {};
  }
  return "unknown terminal " + std::string(sn.substr(0, 64)) + " (never seen and not configured)";
}

std::vector<TerminalRecord> TerminalRegistry::all() const {
  std::lock_guard lock(mutex_);
  std::vector<TerminalRecord> out;
  for (const auto& [sn, e] : terminals_) {
    if (e.record.first_seen_ms != 0 && is_terminal(sn)) {
      out.push_back(e.record);
    }
  }
  return out;
}

std::int64_t TerminalRegistry::last_seen_ms(std::string_view sn) const {
  std::lock_guard lock(mutex_);
  auto it = terminals_.find(sn);
  return it == terminals_.end() ? 0 : it->second.record.last_seen_ms;
}

std::vector<std::string> TerminalRegistry::serials_if(
    const std::function<bool(const TerminalRecord&)>& pick) const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> out;
  for (const auto& [sn, e] : terminals_) {
    if (e.record.first_seen_ms != 0 && is_terminal(sn) && pick(e.record)) {
      out.push_back(sn);
    }
  }
  return out;
}

TerminalRecord TerminalRegistry::update(std::string_view sn,
                                        const std::function<void(TerminalRecord&)>& change) {
  std::lock_guard lock(mutex_);
  auto it = terminals_.find(sn);
  if (it == terminals_.end()) {
    Entry e;
    e.record.sn = std::string(sn);
    e.record.state = unknown_state_;
    it = terminals_.emplace(std::string(sn), std::move(e)).first;
  }
  change(it->second.record);
  return it->second.record;
}

const Zone& TerminalRegistry::zone_for(std::string_view sn) const {
  std::lock_guard lock(mutex_);
  if (auto it = zone_overrides_.find(sn); it != zone_overrides_.end()) {
    return *it->second;
  }
  if (auto it = zones_.find(sn); it != zones_.end()) {
    return it->second;
  }
  return site_zone_;
}

bool TerminalRegistry::source_allowed(std::string_view sn, const std::string& address) const {
  std::lock_guard lock(mutex_);
  auto it = networks_.find(sn);
  if (it == networks_.end() || it->second.empty()) {
    return true;
  }
  std::array<unsigned char, 16> bytes{};
  bool v4 = true;
  int prefix = 0;
  std::string addr = address;
  // IPv4 clients on a dual-stack socket appear as ::ffff:a.b.c.d.
  if (addr.rfind("::ffff:", 0) == 0 && addr.find('.') != std::string::npos) {
    addr = addr.substr(7);
  }
  if (!parse_cidr(addr, bytes, v4, prefix)) {
    return false;
  }
  for (const auto& n : it->second) {
    if (n.v4 == v4 && prefix_equal(n.bytes, bytes, n.prefix)) {
      return true;
    }
  }
  return false;
}

std::string TerminalRegistry::name_for(std::string_view sn) const {
  std::lock_guard lock(mutex_);
  if (auto it = name_overrides_.find(sn); it != name_overrides_.end()) {
    return it->second;
  }
  if (auto it = names_.find(sn); it != names_.end()) {
    return it->second;
  }
  return {};
}

TerminalRegistry::Settings TerminalRegistry::settings_for(std::string_view sn) const {
  std::lock_guard lock(mutex_);
  Settings s;
  if (auto it = name_overrides_.find(sn); it != name_overrides_.end()) {
    s.name = it->second;
  }
  if (auto it = zone_overrides_.find(sn); it != zone_overrides_.end()) {
    s.timezone = it->second->name();
  }
  return s;
}

std::string TerminalRegistry::set_settings(std::string_view sn, const Settings& settings) {
  std::optional<Zone> zone;
  if (settings.timezone) {
    std::string error;
    zone = Zone::parse(*settings.timezone, error);
    if (!zone) {
      return error;
    }
  }
  std::lock_guard lock(mutex_);
  const std::string key(sn);
  if (settings.name) {
    name_overrides_[key] = *settings.name;
  } else {
    name_overrides_.erase(key);
  }
  if (zone) {
    auto it = interned_zones_.find(zone->name());
    if (it == interned_zones_.end()) {
      it = interned_zones_.emplace(zone->name(), std::make_unique<Zone>(*zone)).first;
    }
    zone_overrides_[key] = it->second.get();
  } else {
    zone_overrides_.erase(key);
  }
  return {};
}

std::string TerminalRegistry::settings_json(const Settings& settings) {
  nlohmann::json j = nlohmann::json::object();
  if (settings.name) {
    j["name"] = *settings.name;
  }
  if (settings.timezone) {
    j["timezone"] = *settings.timezone;
  }
  return j.dump();
}

std::optional<TerminalRegistry::Settings> TerminalRegistry::parse_settings_json(
    std::string_view text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) {
    return std::nullopt;
  }
  Settings s;
  for (const char* key : {"name", "timezone"}) {
    auto it = j.find(key);
    if (it == j.end()) {
      continue;
    }
    if (!it->is_string()) {
      return std::nullopt;
    }
    (std::string_view(key) == "name" ? s.name : s.timezone) = it->get<std::string>();
  }
  return s;
}

std::vector<std::string> TerminalRegistry::load_settings(const AdapterState::Entries& entries) {
  std::vector<std::string> bad;
  for (const auto& [sn, text] : entries) {
    auto s = parse_settings_json(text);
    if (!s || !set_settings(sn, *s).empty()) {
      bad.push_back(sn);
    }
  }
  return bad;
}

std::string TerminalRegistry::encoding_for(std::string_view sn) const {
  std::lock_guard lock(mutex_);
  if (auto it = encodings_.find(sn); it != encodings_.end()) {
    return it->second;
  }
  return {};
}

std::size_t TerminalRegistry::online_count(std::int64_t now_ms, std::int64_t window_ms) const {
  std::lock_guard lock(mutex_);
  std::size_t n = 0;
  for (const auto& [sn, e] : terminals_) {
    if (e.record.last_seen_ms != 0 && now_ms - e.record.last_seen_ms <= window_ms) {
      ++n;
    }
  }
  return n;
}

WriteBatch TerminalRegistry::last_seen_batch(std::int64_t now_ms, bool all) {
  WriteBatch batch;
  std::vector<std::pair<std::string, std::int64_t>> due;
  {
    std::lock_guard lock(mutex_);
    for (auto& [sn, e] : terminals_) {
      if (e.record.first_seen_ms == 0 || e.record.last_seen_ms <= e.persisted_ms) {
        continue;
      }
      if (all || now_ms - e.persisted_ms >= kPersistEveryMs) {
        e.persisted_ms = e.record.last_seen_ms;
        due.emplace_back(sn, e.record.last_seen_ms);
      }
    }
  }
  if (due.empty()) {
    return batch;
  }
  // One op for all of them: one statement, one transaction. Only the time:
  // never an older copy of anything else of the record.
  batch.ops.push_back([due =
                           std::move(due)](store::WriteContext& ctx) -> boost::system::error_code {
    boost::system::error_code ec;
    auto& st = ctx.statement(
        "UPDATE terminals SET last_seen_ms = MAX(COALESCE(last_seen_ms, 0), ?2) WHERE sn = ?1", ec);
    if (ec) {
      return ec;
    }
    for (const auto& [sn, ms] : due) {
      st.bind(1, std::string_view(sn)).bind(2, ms);
      if (auto rec = st.run()) {
        return rec;
      }
    }
    return {};
  });
  return batch;
}

WriteOp TerminalRegistry::persist_op(const TerminalRecord& r) {
  return store::upsert_terminal(r);
}

}  // namespace pushgate
