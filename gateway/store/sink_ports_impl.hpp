#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/sink_ports.hpp"

namespace pushgate::store {

class Store;

/**
 * The sinks' ports on the store: readers on read-only connections of their
 * own, and cursors written through the writer (table `cursors`).
 */
class StoreSinkPorts final : public EventReaders, public SinkCursors, public SinkHolds {
 public:
  explicit StoreSinkPorts(Store& store) : store_(store) {}

  // EventReaders
  std::unique_ptr<EventReader> open_reader(boost::system::error_code& ec) override;

  // SinkCursors
  std::int64_t load(std::string_view name, boost::system::error_code& ec) override;
  void store(std::string name, std::int64_t position, Done done) override;
  void attach(std::string_view name, SinkHolder* holder) override;

  // SinkHolds
  std::map<std::string, SinkHolder::Held> reserve_deletion(
      const std::vector<std::int64_t>& ids) override;
  void deletion_done(const std::vector<std::int64_t>& deleted) override;

  /**
   * The sinks running in this process: every sink loads its cursor when it
   * starts. Retention deletes no event one of them has not acknowledged.
   */
  std::vector<std::string> loaded_cursors() const;

 private:
  Store& store_;
  mutable std::mutex loaded_mutex_;
  std::set<std::string, std::less<>> loaded_;
  // Held while calling into a holder, so attach(name, nullptr) returns only
  // once no call into the sink runs.
  std::mutex holders_mutex_;
  std::map<std::string, SinkHolder*, std::less<>> holders_;
};

}  // namespace pushgate::store
