#include "gateway/store/record_keys.hpp"

#include "gateway/store/write_context.hpp"

namespace pushgate::store {

namespace {

constexpr std::string_view kAttlog = "ATTLOG\t";
constexpr std::string_view kStoredAttlog = "ATTLOG@";

// "ATTLOG\t<PIN>\t<time>" split into PIN and time; false for any other key.
bool split_attlog(std::string_view key, std::string_view& pin, std::string_view& time) {
  if (key.substr(0, kAttlog.size()) != kAttlog) {
    return false;
  }
  auto rest = key.substr(kAttlog.size());
  auto tab = rest.find('\t');
  if (tab == std::string_view::npos || rest.find('\t', tab + 1) != std::string_view::npos) {
    return false;
  }
  pin = rest.substr(0, tab);
  time = rest.substr(tab + 1);
  return true;
}

}  // namespace

std::string stored_record_key(std::string_view key) {
  std::string_view pin;
  std::string_view time;
  if (!split_attlog(key, pin, time)) {
    return std::string(key);
  }
  std::string out;
  out.reserve(key.size());
  out.append(kStoredAttlog).append(time).append("\t").append(pin);
  return out;
}

std::string public_record_key(std::string_view stored) {
  if (stored.substr(0, kStoredAttlog.size()) != kStoredAttlog) {
    return std::string(stored);
  }
  auto rest = stored.substr(kStoredAttlog.size());
  auto tab = rest.rfind('\t');
  if (tab == std::string_view::npos) {
    return std::string(stored);
  }
  std::string out;
  out.reserve(stored.size());
  out.append(kAttlog).append(rest.substr(tab + 1)).append("\t").append(rest.substr(0, tab));
  return out;
}

boost::system::error_code LegacyAttlogKeys::load(Connection& db) {
  horizon_.clear();
  boost::system::error_code ec;
  auto st = db.prepare("SELECT terminal_id, max_time FROM attlog_legacy_keys", ec);
  while (!ec && st.step(ec)) {
    horizon_[st.column_int(0)] = st.column_text(1);
  }
  return ec;
}

bool LegacyAttlogKeys::holds(WriteContext& ctx, std::int64_t terminal_id, std::string_view key,
                             boost::system::error_code& ec) {
  ec = {};
  if (horizon_.empty()) {
    return false;
  }
  auto it = horizon_.find(terminal_id);
  std::string_view pin;
  std::string_view time;
  if (it == horizon_.end() || !split_attlog(key, pin, time) || time > it->second) {
    return false;
  }
  auto& probe =
      ctx.statement("SELECT 1 FROM events WHERE terminal_id = ?1 AND record_key = ?2", ec);
  if (ec) {
    return false;
  }
  probe.bind(1, terminal_id).bind(2, key);
  bool found = probe.step(ec);
  probe.reset();
  return found && !ec;
}

}  // namespace pushgate::store
