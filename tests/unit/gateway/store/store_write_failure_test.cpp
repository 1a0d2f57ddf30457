// Store tests: write ops in the batch transaction, failing steps, never OK for uncommitted data.

#include <gtest/gtest.h>

#include "tests/unit/gateway/store/store_test_support.hpp"

namespace pushgate::store {
namespace {

TEST_F(StoreTest, WriteOpRunsInTheBatchTransaction) {
  std::int64_t seen_by_op = -1;
  WriteBatch b = events_batch("T1", {"a", "b"});
  // The op sees its batch's events before they are committed: same transaction.
  b.ops.push_back([&seen_by_op](WriteContext& ctx) {
    boost::system::error_code ec;
    auto& st = ctx.statement("SELECT COUNT(*) FROM events", ec);
    if (ec) {
      return ec;
    }
    seen_by_op = st.step(ec) ? st.column_int(0) : -2;
    st.reset();
    return ec;
  });
  b.ops.push_back(cursor_op("op-a"));
  auto r = commit(std::move(b));
  ASSERT_FALSE(r.ec) << r.ec.message();
  EXPECT_EQ(seen_by_op, 2);
  EXPECT_EQ(count("SELECT COUNT(*) FROM cursors WHERE name = 'op-a'"), 1);
}

TEST_F(StoreTest, FailingWriteOpRollsBackOnlyItsBatch) {
  ASSERT_FALSE(commit(events_batch("T1", {"warm"})).ec);
  std::vector<WriteBatch> batches;
  batches.push_back(events_batch("T1", {"a1", "a2"}));
  batches.back().ops.push_back(cursor_op("ok-1"));
  batches.push_back(events_batch("T1", {"b1", "b2"}));
  batches.back().events.push_back(make_event("T9", "new-terminal"));
  batches.back().quarantine.push_back(quarantine_record("T1", "junk", "bad"));
  batches.back().ops.push_back(cursor_op("doomed"));  // written, then rolled back
  batches.back().ops.push_back(violating_op());
  batches.push_back(events_batch("T1", {"c1"}));
  batches.back().ops.push_back(cursor_op("ok-3"));

  auto results = commit_as_one_group(std::move(batches));
  ASSERT_EQ(results.size(), 3U);
  EXPECT_FALSE(results[0].ec);
  ASSERT_TRUE(results[1].ec);
  EXPECT_EQ(results[1].ec.category(), sqlite_category());
  EXPECT_EQ(results[1].ec.value() & 0xff, SQLITE_CONSTRAINT);
  EXPECT_FALSE(is_environment_error(results[1].ec));
  EXPECT_EQ(results[1].inserted, 0U);
  EXPECT_FALSE(results[2].ec);

  EXPECT_EQ(stored_keys(), (std::set<std::string>{"T1/warm", "T1/a1", "T1/a2", "T1/c1"}));
  EXPECT_EQ(count("SELECT COUNT(*) FROM cursors WHERE name IN ('ok-1','ok-3')"), 2);
  EXPECT_EQ(count("SELECT COUNT(*) FROM cursors WHERE name = 'doomed'"), 0);
  EXPECT_EQ(count("SELECT COUNT(*) FROM quarantine"), 0);
  EXPECT_EQ(count("SELECT COUNT(*) FROM terminals WHERE sn = 'T9'"), 0);
  // c1 takes the number b1 gave back.
  expect_sequences_gap_free();
  // warm, a1, a2 and c1 were committed; observers run after the answers.
  EXPECT_TRUE(test::wait_until([this] { return observed_.events().size() >= 4; }));
  for (const auto& e : observed_.events()) {
    EXPECT_NE(e.record_key.front(), 'b') << "observer saw a rolled-back event";
  }

  // The terminal created by the rolled-back batch is created again when it returns.
  auto again = commit(events_batch("T9", {"new-terminal"}));
  EXPECT_FALSE(again.ec);
  EXPECT_EQ(again.inserted, 1U);
  expect_sequences_gap_free();
}

TEST_F(StoreTest, NonEnvironmentErrorAtAStepFailsOnlyThatBatch) {
  std::vector<WriteBatch> batches;
  batches.push_back(events_batch("T1", {"a1"}));
  batches.push_back(events_batch("T1", {"b1"}));
  batches.push_back(events_batch("T1", {"c1"}));
  // Steps: begin(0), event a1(1), event b1(2), ...
  auto results = commit_as_one_group(std::move(batches), 2, make_sqlite_error(SQLITE_CONSTRAINT));
  EXPECT_FALSE(results[0].ec);
  EXPECT_TRUE(results[1].ec);
  EXPECT_FALSE(results[2].ec);
  EXPECT_EQ(stored_keys(), (std::set<std::string>{"T1/a1", "T1/c1"}));
  expect_sequences_gap_free();
}

// Rule 12: an environment error (disk full, I/O) at any write step of a group
// fails every request in the group, leaves nothing of them in the database,
// and the store goes on working. Loops n over the steps like Beast's
// fail_count until the group commits without reaching step n.
TEST_F(StoreTest, DeviceNeverToldOkForUncommittedBatch) {
  ASSERT_FALSE(commit(events_batch("T1", {"warm"})).ec);  // warm caches for T1
  const int codes[] = {SQLITE_FULL, SQLITE_IOERR, SQLITE_IOERR_WRITE};
  std::set<std::string> failed_steps;
  int round = 0;
  for (int code : codes) {
    auto error = make_sqlite_error(code);
    ASSERT_TRUE(is_environment_error(error)) << code;
    for (int n = 0;; ++n) {
      ASSERT_LT(n, 100) << "the group never committed";
      std::string tag = "r" + std::to_string(round++);
      std::vector<WriteBatch> batches;
      batches.push_back(events_batch("T1", {tag + "-a1", tag + "-a2"}));
      batches.back().quarantine.push_back(quarantine_record("T1", "junk " + tag, tag));
      batches.back().ops.push_back(cursor_op(tag + "-op1"));
      batches.push_back(events_batch("T2", {tag + "-b1"}));
      batches.back().quarantine.push_back(quarantine_record("T2", "junk " + tag, tag));
      batches.push_back(events_batch("T1", {tag + "-c1"}));
      batches.back().ops.push_back(cursor_op(tag + "-op3"));
      const std::vector<std::string> tagged_keys = {"T1/" + tag + "-a1", "T1/" + tag + "-a2",
                                                    "T2/" + tag + "-b1", "T1/" + tag + "-c1"};

      auto keys_before = stored_keys();
      auto results = commit_as_one_group(std::move(batches), n, error);
      std::string step = probe_.failed_step();
      auto keys_after = stored_keys();

      if (step.empty()) {
        // n is past the last step: the group committed in full.
        for (const auto& r : results) {
          EXPECT_FALSE(r.ec) << r.ec.message();
        }
        for (const auto& k : tagged_keys) {
          EXPECT_EQ(keys_after.count(k), 1U) << k;
        }
        EXPECT_EQ(count("SELECT COUNT(*) FROM quarantine WHERE reason = '" + tag + "'"), 2);
        expect_sequences_gap_free();
        break;
      }
      failed_steps.insert(step);
      SCOPED_TRACE("failed at step " + std::to_string(n) + " (" + step + ") with " +
                   error.message());
      for (const auto& r : results) {
        EXPECT_EQ(r.ec, error);  // no device of the group hears OK
      }
      EXPECT_EQ(keys_after, keys_before);  // and nothing of the group is stored
      EXPECT_EQ(count("SELECT COUNT(*) FROM quarantine WHERE reason = '" + tag + "'"), 0);
      EXPECT_EQ(count("SELECT COUNT(*) FROM cursors WHERE name LIKE '" + tag + "-%'"), 0);
      expect_sequences_gap_free();

      // The store keeps working for the next request, with the same terminals.
      auto next = commit(events_batch("T1", {tag + "-next"}));
      EXPECT_FALSE(next.ec) << next.ec.message();
      EXPECT_EQ(next.inserted, 1U);
      auto next2 = commit(events_batch("T2", {tag + "-next"}));
      EXPECT_FALSE(next2.ec) << next2.ec.message();
      expect_sequences_gap_free();
    }
  }
  EXPECT_EQ(failed_steps, (std::set<std::string>{"begin", "event", "quarantine", "op", "commit"}));
  EXPECT_GT(metrics_->value("pushgate_store_commit_failures_total"), 0.0);

  // Observers heard of exactly the committed events, each once, with ids
  // (they run after the requests are answered: wait for the last commit's).
  auto stored = all_events();
  EXPECT_TRUE(test::wait_until([&] { return observed_.events().size() >= stored.size(); }));
  auto observed = observed_.events();
  ASSERT_EQ(observed.size(), stored.size());
  std::set<std::int64_t> observed_ids;
  for (const auto& e : observed) {
    observed_ids.insert(e.id);
  }
  for (const auto& e : stored) {
    EXPECT_EQ(observed_ids.count(e.id), 1U) << e.record_key;
  }
}

TEST_F(StoreTest, StoreSurvivesReopenAfterFailedCommit) {
  std::vector<WriteBatch> batches;
  batches.push_back(events_batch("T1", {"a"}));
  auto results = commit_as_one_group(std::move(batches), 0, make_sqlite_error(SQLITE_FULL));
  ASSERT_TRUE(results[0].ec);
  reopen_store();
  auto r = commit(events_batch("T1", {"a", "b"}));
  EXPECT_FALSE(r.ec);
  EXPECT_EQ(r.inserted, 2U);
  expect_sequences_gap_free();
}

TEST_F(StoreTest, ReopenContinuesSequencesAndKnowsDuplicates) {
  ASSERT_FALSE(commit(events_batch("T1", {"a", "b"})).ec);
  reopen_store();
  auto r = commit(events_batch("T1", {"b", "c"}));
  ASSERT_FALSE(r.ec);
  EXPECT_EQ(r.inserted, 1U);
  EXPECT_EQ(r.duplicates, 1U);
  auto events = all_events();
  ASSERT_EQ(events.size(), 3U);
  EXPECT_EQ(events[2].seq, 3);
  expect_sequences_gap_free();
}

}  // namespace
}  // namespace pushgate::store
