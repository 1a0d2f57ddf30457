#include "gateway/store/sync_queries.hpp"

#include <utility>

#include "gateway/store/write_context.hpp"

namespace pushgate::store {

std::vector<std::pair<std::string, std::string>> read_sync_items(
    Connection& db, const std::string& sn, const std::vector<std::string>& exact,
    const std::vector<std::string>& prefixes, boost::system::error_code& ec) {
  std::vector<std::pair<std::string, std::string>> out;
  if (!exact.empty()) {
    auto st =
        db.prepare("SELECT item, digest FROM sync_items WHERE terminal_sn=?1 AND item=?2", ec);
    for (const auto& item : exact) {
      if (ec) {
        return out;
      }
      st.reset();
      st.bind(1, std::string_view(sn)).bind(2, std::string_view(item));
      while (!ec && st.step(ec)) {
        out.emplace_back(st.column_text(0), st.column_text(1));
      }
    }
  }
  if (!prefixes.empty() && !ec) {
    // A range of the primary key: [prefix, prefix with its last byte + 1).
    auto st = db.prepare(
        "SELECT item, digest FROM sync_items WHERE terminal_sn=?1 AND item>=?2 AND item<?3 "
        "ORDER BY item",
        ec);
    for (const auto& prefix : prefixes) {
      if (ec) {
        return out;
      }
      if (prefix.empty()) {
        continue;
      }
      std::string upper = prefix;
      upper.back() = static_cast<char>(static_cast<unsigned char>(upper.back()) + 1);
      st.reset();
      st.bind(1, std::string_view(sn)).bind(2, std::string_view(prefix));
      st.bind(3, std::string_view(upper));
      while (!ec && st.step(ec)) {
        out.emplace_back(st.column_text(0), st.column_text(1));
      }
    }
  }
  return out;
}

std::vector<std::string> read_sync_terminals(Connection& db, boost::system::error_code& ec) {
  std::vector<std::string> out;
  // One seek per terminal in the primary key, not a scan of every row.
  auto st = db.prepare("SELECT min(terminal_sn) FROM sync_items WHERE terminal_sn>?1", ec);
  std::string after;
  while (!ec) {
    st.reset();
    st.bind(1, std::string_view(after));
    if (!st.step(ec) || ec || st.column_is_null(0)) {
      break;
    }
    after = st.column_text(0);
    out.push_back(after);
  }
  return out;
}

WriteOp upsert_sync_item(std::string sn, std::string item, std::string digest,
                         std::int64_t updated_ms) {
  return [sn = std::move(sn), item = std::move(item), digest = std::move(digest),
          updated_ms](WriteContext& ctx) -> boost::system::error_code {
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
    st.bind(3, std::string_view(digest)).bind(4, updated_ms);
    return st.run();
  };
}

WriteOp delete_sync_item(std::string sn, std::string item) {
  return [sn = std::move(sn), item = std::move(item)](WriteContext& ctx) {
    boost::system::error_code ec;
    auto& st = ctx.statement("DELETE FROM sync_items WHERE terminal_sn=?1 AND item=?2", ec);
    if (ec) {
      return ec;
    }
    st.bind(1, std::string_view(sn)).bind(2, std::string_view(item));
    return st.run();
  };
}

}  // namespace pushgate::store
