#pragma once

#include <string>
#include <string_view>

#include "gateway/adapter_state.hpp"

namespace pushgate::store {

class Store;

/** AdapterState on the store: table `adapter_state`, written through the writer. */
class StoreAdapterState final : public AdapterState {
 public:
  explicit StoreAdapterState(Store& store) : store_(store) {}

  Entries load(std::string_view adapter, boost::system::error_code& ec) override;
  WriteOp put(std::string adapter, std::string key, std::string value) override;
  WriteOp erase(std::string adapter, std::string key) override;

 private:
  Store& store_;
};

}  // namespace pushgate::store
