#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "gateway/sink_ports.hpp"

namespace pushgate::store {

class Store;

/**
 * The sinks' ports on the store: readers on read-only connections of their
 * own, and cursors written through the writer (table `cursors`).
 */
class StoreSinkPorts final : public EventReaders, public SinkCursors {
 public:
  explicit StoreSinkPorts(Store& store) : store_(store) {}

  // EventReaders
  std::unique_ptr<EventReader> open_reader(boost::system::error_code& ec) override;

  // SinkCursors
  std::int64_t load(std::string_view name, boost::system::error_code& ec) override;
  void store(std::string name, std::int64_t position, Done done) override;

 private:
  Store& store_;
};

}  // namespace pushgate::store
