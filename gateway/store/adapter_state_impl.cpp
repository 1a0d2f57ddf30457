#include "gateway/store/adapter_state_impl.hpp"

#include <utility>

#include "gateway/store/sqlite.hpp"
#include "gateway/store/store.hpp"
#include "gateway/store/write_context.hpp"

namespace pushgate::store {

AdapterState::Entries StoreAdapterState::load(std::string_view adapter,
                                              boost::system::error_code& ec) {
  auto loaded = store_.read([adapter](Connection& db) {
    std::pair<boost::system::error_code, Entries> out;
    auto st = db.prepare("SELECT key, value FROM adapter_state WHERE adapter = ?1 ORDER BY key",
                         out.first);
    if (out.first) {
      return out;
    }
    st.bind(1, adapter);
    while (st.step(out.first)) {
      out.second.emplace_back(st.column_text(0), st.column_text(1));
    }
    if (out.first) {
      out.second.clear();
    }
    return out;
  });
  ec = loaded.first;
  return std::move(loaded.second);
}

WriteOp StoreAdapterState::put(std::string adapter, std::string key, std::string value) {
  return [adapter = std::move(adapter), key = std::move(key),
          value = std::move(value)](WriteContext& ctx) -> boost::system::error_code {
    boost::system::error_code ec;
    auto& st = ctx.statement(
        "INSERT INTO adapter_state(adapter, key, value, updated_ms) VALUES(?1, ?2, ?3, ?4)"
        " ON CONFLICT(adapter, key) DO UPDATE SET value = excluded.value,"
        " updated_ms = excluded.updated_ms",
        ec);
    if (ec) {
      return ec;
    }
    st.bind(1, std::string_view(adapter))
        .bind(2, std::string_view(key))
        .bind(3, std::string_view(value))
        .bind(4, ctx.now_ms());
    return st.run();
  };
}

WriteOp StoreAdapterState::erase(std::string adapter, std::string key) {
  return [adapter = std::move(adapter),
          key = std::move(key)](WriteContext& ctx) -> boost::system::error_code {
    boost::system::error_code ec;
    auto& st = ctx.statement("DELETE FROM adapter_state WHERE adapter = ?1 AND key = ?2", ec);
    if (ec) {
      return ec;
    }
    st.bind(1, std::string_view(adapter)).bind(2, std::string_view(key));
    return st.run();
  };
}

}  // namespace pushgate::store
