// The CommandQueue fixture: a real SQLite store in a temporary directory, a
// fake clock, and helpers that play a terminal's poll or a push adapter.
#pragma once

#include <gtest/gtest.h>

#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "gateway/command_queue.hpp"
#include "gateway/store/store.hpp"
#include "tests/unit/gateway/support/gateway_test_support.hpp"

namespace pushgate {

using test::FakeClock;
using test::TempDir;

struct QueuedCommand {
  std::string error;
  CommandRecord record;
  bool duplicate = false;
};

class CommandQueueTest : public ::testing::Test {
 protected:
  void SetUp() override { open(); }

  void open(CommandQueue::Options o = options()) {
    queue_.reset();
    store_.reset();
    metrics_ = std::make_unique<metrics::Registry>();
    store::Store::Options so;
    so.path = dir_.file("pushgate.db");
    std::string error;
    store_ = store::Store::open(so, clock_, *metrics_, error);
    ASSERT_NE(store_, nullptr) << error;
    store_->start();
    queue_ = std::make_unique<CommandQueue>(*store_, clock_, *metrics_, o);
    queue_->load();
    queue_->add_observer([this](const CommandRecord& c) {
      std::lock_guard lock(observed_mutex_);
      observed_.push_back(c);
    });
  }

  static CommandQueue::Options options() {
    CommandQueue::Options o;
    o.default_ttl_ms = 3600'000;
    o.ack_timeout_ms = 10'000;
    o.max_attempts = 2;
    o.max_per_poll = 3;
    o.max_bytes_per_poll = 4096;
    return o;
  }

  QueuedCommand enqueue(CommandRequest req) {
    auto p = std::make_shared<std::promise<QueuedCommand>>();
    auto f = p->get_future();
    queue_->enqueue(std::move(req), [p](boost::system::error_code ec, std::string error,
                                        CommandRecord c, bool duplicate) {
      p->set_value({ec ? ec.message() : error, std::move(c), duplicate});
    });
    EXPECT_EQ(f.wait_for(test::kDeadline), std::future_status::ready);
    return f.get();
  }

  CommandRequest open_door(const std::string& sn = "T1", std::string ref = {}) {
    auto r = commands::open_door(sn, 1, 5);
    r.origin = "mqtt";
    r.client_ref = std::move(ref);
    return r;
  }

  void commit(WriteBatch batch, const std::vector<CommandRecord>& changed) {
    auto p = std::make_shared<std::promise<CommitResult>>();
    auto f = p->get_future();
    store_->append(std::move(batch), [p](CommitResult r) { p->set_value(std::move(r)); });
    ASSERT_EQ(f.wait_for(test::kDeadline), std::future_status::ready);
    ASSERT_FALSE(f.get().ec);
    queue_->committed(changed);
  }

  // A terminal's poll: what it is sent, after the state change committed.
  std::vector<std::string> poll(const std::string& sn = "T1",
                                const CommandQueue::Renderer& render = plain) {
    WriteBatch batch;
    std::vector<CommandRecord> changed;
    auto lines = queue_->deliver(sn, render, batch, changed);
    commit(std::move(batch), changed);
    return lines;
  }

  std::size_t results(const std::vector<CommandQueue::Result>& rs, const std::string& sn = "T1") {
    WriteBatch batch;
    std::vector<CommandRecord> changed;
    auto unknown = queue_->complete(sn, rs, batch, changed);
    commit(std::move(batch), changed);
    return unknown;
  }

  void sweep() {
    WriteBatch batch;
    std::vector<CommandRecord> changed;
    queue_->sweep(batch, changed);
    commit(std::move(batch), changed);
  }

  CommandRecord stored(std::int64_t id) {
    auto r = store_->read([id](store::Connection& db) {
      boost::system::error_code ec;
      return CommandQueue::read_one(db, id, ec);
    });
    EXPECT_TRUE(r.has_value()) << id;
    return r.value_or(CommandRecord{});
  }

  static CommandQueue::Rendered plain(const CommandRecord& c) {
    if (c.verb == "reboot") {
      return {"REBOOT", {}, true, {}};
    }
    if (c.verb == "raw") {
      return {c.params.value("line", ""), {}, false, {}};
    }
    if (c.verb == "set_time") {
      return {{}, "not in this dialect", false, {}};
    }
    return {"DOOR " + std::to_string(c.params.value("door", 0)), {}, false, {}};
  }

  TempDir dir_;
  FakeClock clock_{1'700'000'000'000};
  std::unique_ptr<metrics::Registry> metrics_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<CommandQueue> queue_;
  std::mutex observed_mutex_;
  std::vector<CommandRecord> observed_;
};

}  // namespace pushgate
