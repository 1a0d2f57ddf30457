// CommandQueue on a real SQLite store: the life of a command from queued to
// a final state, delivery caps, re-delivery, expiry, idempotent client refs
// and what a restart keeps.
#include "gateway/command_queue.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/unit/gateway/command_queue_test_support.hpp"

namespace pushgate {
namespace {

TEST_F(CommandQueueTest, QueuedThenSentThenDone) {
  auto q = enqueue(open_door());
  ASSERT_TRUE(q.error.empty()) << q.error;
  EXPECT_EQ(stored(q.record.id).state, CommandState::Queued);
  EXPECT_TRUE(queue_->has_deliverable("T1"));
  EXPECT_FALSE(queue_->has_deliverable("T2"));

  EXPECT_EQ(poll(), (std::vector<std::string>{"C:" + std::to_string(q.record.id) + ":DOOR 1"}));
  auto sent = stored(q.record.id);
  EXPECT_EQ(sent.state, CommandState::Sent);
  EXPECT_EQ(sent.attempts, 1);
  EXPECT_EQ(sent.wire, "DOOR 1");
  EXPECT_TRUE(poll().empty()) << "not again before ack_timeout";

  EXPECT_EQ(results({{q.record.id, 0, "", "ID=1&Return=0"}}), 0U);
  auto done = stored(q.record.id);
  EXPECT_EQ(done.state, CommandState::Done);
  EXPECT_EQ(done.return_code, 0);
  EXPECT_EQ(queue_->open_count(), 0U);
  // A result sent twice is not a second completion.
  EXPECT_EQ(results({{q.record.id, 0, "", "again"}}), 1U);
  std::lock_guard lock(observed_mutex_);
  ASSERT_EQ(observed_.size(), 3U);
  EXPECT_EQ(observed_[0].state, CommandState::Queued);
  EXPECT_EQ(observed_[1].state, CommandState::Sent);
  EXPECT_EQ(observed_[2].state, CommandState::Done);
}

TEST_F(CommandQueueTest, OnlyTheTerminalItWasSentToFinishesACommand) {
  auto q = enqueue(open_door("REAL1"));
  auto id = q.record.id;
  // Before it was sent, not even its own terminal can finish it.
  WriteBatch early;
  std::vector<CommandRecord> early_changed;
  std::vector<CommandQueue::Refusal> refused;
  EXPECT_EQ(
      queue_->complete("REAL1", {{id, 0, "", "ID=1&Return=0"}}, early, early_changed, &refused),
      0U);
  EXPECT_TRUE(early_changed.empty());
  ASSERT_EQ(refused.size(), 1U);
  EXPECT_EQ(refused[0].id, id);
  EXPECT_EQ(refused[0].reason, "not_sent");
  commit(std::move(early), early_changed);
  EXPECT_EQ(stored(id).state, CommandState::Queued);

  ASSERT_EQ(poll("REAL1").size(), 1U);
  // Another serial's result for it changes nothing.
  WriteBatch batch;
  std::vector<CommandRecord> changed;
  refused.clear();
  EXPECT_EQ(queue_->complete("UNK1", {{id, 0, "", "ID=1&Return=0"}}, batch, changed, &refused), 0U);
  EXPECT_TRUE(changed.empty());
  ASSERT_EQ(refused.size(), 1U);
  EXPECT_EQ(refused[0].reason, "other_terminal");
  commit(std::move(batch), changed);
  EXPECT_EQ(stored(id).state, CommandState::Sent);
  EXPECT_EQ(queue_->open_count(), 1U);

  EXPECT_EQ(results({{id, 0, "", "ID=1&Return=0"}}, "REAL1"), 0U);
  EXPECT_EQ(stored(id).state, CommandState::Done);
}

TEST_F(CommandQueueTest, NegativeReturnFailsWithTheName) {
  auto q = enqueue(open_door());
  poll();
  results({{q.record.id, -1004, "unknown user", "ID=..&Return=-1004"}});
  auto c = stored(q.record.id);
  EXPECT_EQ(c.state, CommandState::Failed);
  EXPECT_EQ(c.return_code, -1004);
  EXPECT_EQ(c.return_name, "unknown user");
  EXPECT_EQ(c.error, "terminal returned -1004 (unknown user)");
}

TEST_F(CommandQueueTest, CappedByCountAndBytesAndNothingAfterReboot) {
  for (int i = 0; i < 5; ++i) {
    enqueue(open_door());
  }
  EXPECT_EQ(poll().size(), 3U) << "max_per_poll";
  EXPECT_EQ(poll().size(), 2U);

  auto o = options();
  o.max_bytes_per_poll = 40;
  open(o);
  auto big = commands::raw("T2", std::string(60, 'x'));
  auto a = enqueue(big);
  auto b = enqueue(commands::raw("T2", "small"));
  auto first = poll("T2");
  ASSERT_EQ(first.size(), 1U) << "an oversized first command still goes, alone";
  EXPECT_EQ(first[0], "C:" + std::to_string(a.record.id) + ":" + std::string(60, 'x'));
  EXPECT_EQ(poll("T2"), (std::vector<std::string>{"C:" + std::to_string(b.record.id) + ":small"}));

  auto r1 = enqueue(commands::reboot("T3"));
  enqueue(commands::raw("T3", "after"));
  EXPECT_EQ(poll("T3"),
            (std::vector<std::string>{"C:" + std::to_string(r1.record.id) + ":REBOOT"}));
  EXPECT_EQ(poll("T3").size(), 1U);
}

TEST_F(CommandQueueTest, PrefixGoesBeforeTheCommandId) {
  auto q = enqueue(open_door());
  auto lines = poll("T1", [](const CommandRecord& c) {
    return CommandQueue::Rendered{
        "DOOR", {}, false, "DataType=1, CmdID=" + std::to_string(c.id) + ", CmdDesc="};
  });
  auto id = std::to_string(q.record.id);
  EXPECT_EQ(lines,
            (std::vector<std::string>{"DataType=1, CmdID=" + id + ", CmdDesc=C:" + id + ":DOOR"}));
  EXPECT_EQ(stored(q.record.id).wire, "DOOR");
}

TEST_F(CommandQueueTest, ALongLineIsStoredOnlyByItsStart) {
  // A photo in a command is in params already: the line as sent keeps its start.
  auto q = enqueue(commands::raw("T1", std::string(3000, 'p')));
  auto lines = poll("T1");
  ASSERT_EQ(lines.size(), 1U);
  EXPECT_EQ(lines[0], "C:" + std::to_string(q.record.id) + ":" + std::string(3000, 'p'));
  EXPECT_EQ(stored(q.record.id).wire, std::string(512, 'p') + "... (3000 bytes)");
  // In memory too: what observers (and the API) see of the open command.
  std::lock_guard lock(observed_mutex_);
  ASSERT_EQ(observed_.size(), 2U);
  EXPECT_EQ(observed_[1].state, CommandState::Sent);
  EXPECT_EQ(observed_[1].wire, std::string(512, 'p') + "... (3000 bytes)");
  EXPECT_EQ(observed_[1].params, q.record.params);  // not a sync command: all of it
}

TEST_F(CommandQueueTest, ASyncCommandThatIsSentReachesObserversWithoutItsParams) {
  // Its one observer acts on final states; at 200 terminals the copies of
  // the photos sent, kept until the commit, were a sixth of the heap.
  auto req = commands::raw("T1", std::string(3000, 'p'));
  req.origin = "sync";
  auto q = enqueue(req);
  ASSERT_EQ(poll("T1").size(), 1U);
  EXPECT_EQ(results({{q.record.id, 0, "", "ID=1&Return=0"}}), 0U);
  std::lock_guard lock(observed_mutex_);
  ASSERT_EQ(observed_.size(), 3U);
  EXPECT_EQ(observed_[1].state, CommandState::Sent);
  EXPECT_TRUE(observed_[1].params.is_null()) << observed_[1].params.dump();
  EXPECT_EQ(observed_[1].id, q.record.id);
  EXPECT_EQ(observed_[1].origin, "sync");
  // Done: with its params (the sync counts the records it carried).
  EXPECT_EQ(observed_[2].state, CommandState::Done);
  EXPECT_EQ(observed_[2].params, q.record.params);
}

TEST_F(CommandQueueTest, WhatTheDialectCannotSayFailsWithTheReason) {
  auto q = enqueue(commands::set_time("T1", "2026-01-01 00:00:00"));
  EXPECT_TRUE(poll().empty());
  auto c = stored(q.record.id);
  EXPECT_EQ(c.state, CommandState::Failed);
  EXPECT_EQ(c.error, "not in this dialect");
}

TEST_F(CommandQueueTest, RedeliveredAfterTimeoutThenFailedWhenAttemptsRunOut) {
  auto q = enqueue(open_door());
  EXPECT_EQ(poll().size(), 1U);
  clock_.advance_ms(9'999);
  EXPECT_TRUE(poll().empty());
  clock_.advance_ms(1);
  EXPECT_EQ(poll().size(), 1U) << "re-delivered at ack_timeout";
  EXPECT_EQ(stored(q.record.id).attempts, 2);
  clock_.advance_ms(5'000);
  sweep();
  EXPECT_EQ(stored(q.record.id).state, CommandState::Sent) << "still waiting for a result";
  clock_.advance_ms(5'000);
  EXPECT_TRUE(poll().empty()) << "attempts exhausted: not a third time";
  sweep();
  auto c = stored(q.record.id);
  EXPECT_EQ(c.state, CommandState::Failed);
  EXPECT_EQ(c.error, "no result after 2 deliveries");
  // A late result for a finished command changes nothing.
  EXPECT_EQ(results({{q.record.id, 0, "", "late"}}), 1U);
  EXPECT_EQ(stored(q.record.id).state, CommandState::Failed);
}

TEST_F(CommandQueueTest, ExpiresQueuedOrSent) {
  auto never = open_door("OFFLINE");
  never.ttl_ms = 60'000;
  auto a = enqueue(never);
  auto sent = open_door();
  sent.ttl_ms = 60'000;
  sent.max_attempts = 10;
  auto b = enqueue(sent);
  poll();
  clock_.advance_ms(59'999);
  sweep();
  EXPECT_EQ(stored(a.record.id).state, CommandState::Queued);
  clock_.advance_ms(1);
  sweep();
  EXPECT_EQ(stored(a.record.id).state, CommandState::Expired);
  EXPECT_EQ(stored(a.record.id).error, "expired before the terminal asked for it");
  EXPECT_EQ(stored(b.record.id).state, CommandState::Expired);
  EXPECT_EQ(stored(b.record.id).error, "expired without a result after 1 deliveries");
  EXPECT_TRUE(poll("OFFLINE").empty());
}

TEST_F(CommandQueueTest, SameClientRefQueuesOnceEvenAfterItFinished) {
  auto a = enqueue(open_door("T1", "bms-42"));
  auto again = enqueue(open_door("T1", "bms-42"));
  EXPECT_TRUE(again.duplicate);
  EXPECT_EQ(again.record.id, a.record.id);
  poll();
  results({{a.record.id, 0, "", ""}});
  auto later = enqueue(open_door("T1", "bms-42"));
  EXPECT_TRUE(later.duplicate) << "finished commands are found in the database";
  EXPECT_EQ(later.record.id, a.record.id);
  EXPECT_EQ(later.record.state, CommandState::Done);
  // The ref is per origin.
  auto other = open_door("T1", "bms-42");
  other.origin = "rest";
  EXPECT_FALSE(enqueue(other).duplicate);
}

TEST_F(CommandQueueTest, CancelOnlyWhileQueued) {
  auto a = enqueue(open_door());
  auto b = enqueue(open_door("T2"));
  poll("T2");
  WriteBatch batch;
  std::vector<CommandRecord> changed;
  EXPECT_TRUE(queue_->cancel(a.record.id, batch, changed));
  EXPECT_FALSE(queue_->cancel(b.record.id, batch, changed)) << "already sent";
  EXPECT_FALSE(queue_->cancel(9999, batch, changed));
  commit(std::move(batch), changed);
  EXPECT_EQ(stored(a.record.id).state, CommandState::Cancelled);
  EXPECT_TRUE(poll().empty());
}

TEST_F(CommandQueueTest, InvalidRequestsAreRefusedWithAReason) {
  CommandRequest r;
  r.verb = "open_door";
  EXPECT_EQ(enqueue(r).error, "terminal serial is required");
  r.terminal_sn = std::string(65, 'S');
  EXPECT_EQ(enqueue(r).error, "terminal serial is required");
  r.terminal_sn = "T1";
  r.verb.clear();
  EXPECT_EQ(enqueue(r).error, "verb is required");
  r.verb = "open_door";
  r.params = nlohmann::json::array();
  EXPECT_EQ(enqueue(r).error, "params must be an object");
  EXPECT_EQ(queue_->open_count(), 0U);
}

TEST_F(CommandQueueTest, ARestartKeepsOpenCommandsAndIds) {
  auto a = enqueue(open_door());
  auto b = enqueue(open_door());
  poll();  // both sent
  results({{a.record.id, 0, "", ""}});
  open();
  EXPECT_EQ(queue_->open_count(), 1U) << "b is still waiting for its result";
  clock_.advance_ms(10'000);
  EXPECT_EQ(poll(), (std::vector<std::string>{"C:" + std::to_string(b.record.id) + ":DOOR 1"}));
  auto c = enqueue(open_door());
  EXPECT_GT(c.record.id, b.record.id) << "ids are never reused";
}

// Issue 13 item 3: a misspelt verb, a wrong-typed or out-of-range parameter
// and an unknown parameter are refused when queued, naming the field.
TEST_F(CommandQueueTest, BadVerbOrParamsAreRefusedAtOnceNamingTheField) {
  auto r = open_door();
  r.verb = "open_dor";
  EXPECT_EQ(enqueue(r).error, "verb: unknown verb \"open_dor\"");
  r = open_door();
  r.params["seconds"] = "five";
  EXPECT_EQ(enqueue(r).error, "params.seconds: must be an integer 1..254");
  r.params["seconds"] = 255;
  EXPECT_EQ(enqueue(r).error, "params.seconds: must be an integer 1..254");
  r = open_door();
  r.params["secs"] = 5;
  EXPECT_EQ(enqueue(r).error, "params.secs: is not a parameter of open_door");
  EXPECT_EQ(enqueue(commands::delete_user("T1", "")).error, "params.pin: must not be empty");
  EXPECT_EQ(queue_->open_count(), 0U);
  EXPECT_EQ(metrics_->value("pushgate_commands_refused_total", {{"origin", "mqtt"}}), 4.0);
  EXPECT_TRUE(poll().empty()) << "nothing refused reaches a terminal";
}

TEST_F(CommandQueueTest, UnknownOrRefusedTerminalIsRefusedWhenQueued) {
  queue_->set_terminal_check([](const std::string& sn) -> std::string {
    if (sn == "T1") {
      return {};
    }
    return sn == "BAD" ? "terminal BAD is refused" : "unknown terminal " + sn;
  });
  EXPECT_TRUE(enqueue(open_door("T1")).error.empty());
  EXPECT_EQ(enqueue(open_door("NOPE")).error, "terminal: unknown terminal NOPE");
  EXPECT_EQ(enqueue(open_door("BAD")).error, "terminal: terminal BAD is refused");
  EXPECT_EQ(queue_->open_count(), 1U);
}

// Issue 13 item 4: a door action without its own ttl lives door_ttl, then is
// reported expired; anything else keeps the default.
TEST_F(CommandQueueTest, DoorActionsExpireAfterTheDoorTtlAndAreReportedExpired) {
  auto o = options();
  o.door_ttl_ms = 60'000;
  open(o);
  auto door = enqueue(open_door("OFFLINE"));
  auto unlock = enqueue(commands::normal_open("OFFLINE", 1, true));
  auto user = enqueue(commands::delete_user("OFFLINE", "7"));
  ASSERT_TRUE(door.error.empty()) << door.error;
  EXPECT_EQ(door.record.expires_ms, door.record.created_ms + 60'000);
  EXPECT_EQ(user.record.expires_ms, user.record.created_ms + 3600'000);
  auto own = open_door("OFFLINE");
  own.ttl_ms = 600'000;
  EXPECT_EQ(enqueue(own).record.expires_ms, clock_.now_ms() + 600'000) << "the caller's ttl wins";

  clock_.advance_ms(60'000);
  sweep();
  EXPECT_EQ(stored(door.record.id).state, CommandState::Expired);
  EXPECT_EQ(stored(door.record.id).error, "expired before the terminal asked for it");
  EXPECT_EQ(stored(unlock.record.id).state, CommandState::Expired);
  EXPECT_EQ(stored(user.record.id).state, CommandState::Queued);
  // The terminal back hours later is not told to open the door.
  clock_.advance_ms(3 * 3600'000);
  for (const auto& line : poll("OFFLINE")) {
    EXPECT_EQ(line.find("DOOR"), std::string::npos) << line;
  }
  std::lock_guard lock(observed_mutex_);
  bool reported = false;
  for (const auto& c : observed_) {
    reported = reported || (c.id == door.record.id && c.state == CommandState::Expired);
  }
  EXPECT_TRUE(reported) << "observers (MQTT results, Modbus status) hear of the expiry";
}

}  // namespace
}  // namespace pushgate
