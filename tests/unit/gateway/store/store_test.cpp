// Store tests: appends, per-terminal sequences, duplicates, grouping and exact raw bytes.
// Included first: proves the header is self-contained.
#include "gateway/store/store.hpp"

#include <gtest/gtest.h>

#include "tests/unit/gateway/store/store_test_support.hpp"

namespace pushgate::store {
namespace {

TEST_F(StoreTest, AppendAssignsIdsAndPerTerminalSequence) {
  auto r1 = commit(events_batch("T1", {"a", "b", "c"}));
  ASSERT_FALSE(r1.ec) << r1.ec.message();
  EXPECT_EQ(r1.inserted, 3U);
  EXPECT_EQ(r1.duplicates, 0U);
  ASSERT_EQ(r1.event_ids.size(), 3U);
  EXPECT_GT(r1.event_ids[0], 0);
  EXPECT_LT(r1.event_ids[0], r1.event_ids[1]);
  EXPECT_LT(r1.event_ids[1], r1.event_ids[2]);

  auto r2 = commit(events_batch("T2", {"a", "b"}));
  ASSERT_FALSE(r2.ec);
  EXPECT_GT(r2.event_ids[0], r1.event_ids[2]);

  auto events = all_events();
  ASSERT_EQ(events.size(), 5U);
  EXPECT_EQ(events[0].id, r1.event_ids[0]);
  std::vector<std::pair<std::string, std::int64_t>> seqs;
  for (const auto& e : events) {
    seqs.emplace_back(e.terminal_sn + "/" + e.record_key, e.seq);
  }
  EXPECT_THAT(seqs, ElementsAre(std::pair<std::string, std::int64_t>{"T1/a", 1},
                                std::pair<std::string, std::int64_t>{"T1/b", 2},
                                std::pair<std::string, std::int64_t>{"T1/c", 3},
                                std::pair<std::string, std::int64_t>{"T2/a", 1},
                                std::pair<std::string, std::int64_t>{"T2/b", 2}));
}

// One request's batch commits under a savepoint, whose statement journal
// keeps the original of every page the batch rewrites. A batch rewriting
// 8 MB of existing rows (as a full sync's bookkeeping can) commits: with
// SQLite 3.40 a journal spilling to a file past 4 MiB failed it with
// SQLITE_FULL.
TEST_F(StoreTest, ABatchRewritingMoreThanFourMegabytesCommits) {
  auto exec = [](std::string sql) {
    return [sql](WriteContext& ctx) { return ctx.db().exec(sql); };
  };
  WriteBatch fill;
  fill.ops.push_back(exec("CREATE TABLE big(id INTEGER PRIMARY KEY, b BLOB)"));
  fill.ops.push_back(
      exec("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 400)"
           " INSERT INTO big(b) SELECT zeroblob(20000) FROM c"));
  ASSERT_FALSE(commit(std::move(fill)).ec);

  WriteBatch rewrite;
  rewrite.ops.push_back(exec("UPDATE big SET b = randomblob(20000)"));
  auto r = commit(std::move(rewrite));
  EXPECT_FALSE(r.ec) << r.ec.message();
  EXPECT_EQ(count("SELECT COUNT(*) FROM big WHERE b != zeroblob(20000)"), 400);
}

TEST_F(StoreTest, EventFieldsRoundTrip) {
  Event e = make_event("T1", "k1", EventKind::Access);
  e.local_time = "2021-03-28 02:30:00";
  e.utc_ms = 1'616'893'200'000;
  e.pin = "1001";
  e.verify_mode = 15;
  e.status = 0;
  e.work_code = "7";
  e.door = 2;
  e.event_code = 27;
  e.extra_json = R"({"mask":1})";
  e.received_ms = 1'616'893'201'000;
  e.command_id = 42;
  WriteBatch b;
  b.events.push_back(e);
  ASSERT_FALSE(commit(std::move(b)).ec);

  Event unset = make_event("T1", "k2");
  WriteBatch b2;
  b2.events.push_back(unset);
  ASSERT_FALSE(commit(std::move(b2)).ec);

  auto events = all_events();
  ASSERT_EQ(events.size(), 2U);
  const auto& got = events[0];
  EXPECT_EQ(got.kind, EventKind::Access);
  EXPECT_EQ(got.local_time, e.local_time);
  EXPECT_EQ(got.utc_ms, e.utc_ms);
  EXPECT_EQ(got.pin, "1001");
  EXPECT_EQ(got.verify_mode, 15);
  EXPECT_EQ(got.status, 0);
  EXPECT_EQ(got.work_code, "7");
  EXPECT_EQ(got.door, 2);
  EXPECT_EQ(got.event_code, 27);
  EXPECT_EQ(got.raw, e.raw);
  EXPECT_EQ(got.extra_json, e.extra_json);
  EXPECT_EQ(got.received_ms, e.received_ms);
  EXPECT_EQ(got.command_id, 42);
  const auto& none = events[1];
  EXPECT_FALSE(none.utc_ms.has_value());
  EXPECT_EQ(none.verify_mode, kUnset);
  EXPECT_EQ(none.status, kUnset);
  EXPECT_EQ(none.door, kUnset);
  EXPECT_EQ(none.event_code, kUnset);
  EXPECT_EQ(none.command_id, 0);
}

TEST_F(StoreTest, ReuploadAcrossBatchesIsDuplicateAndConsumesNoSequence) {
  ASSERT_FALSE(commit(events_batch("T1", {"a", "b"})).ec);
  auto again = commit(events_batch("T1", {"a", "b", "c"}));
  ASSERT_FALSE(again.ec);
  EXPECT_EQ(again.inserted, 1U);
  EXPECT_EQ(again.duplicates, 2U);
  EXPECT_THAT(again.event_ids, ElementsAre(0, 0, ::testing::Gt(0)));
  auto next = commit(events_batch("T1", {"d"}));
  ASSERT_FALSE(next.ec);

  auto events = all_events();
  ASSERT_EQ(events.size(), 4U);
  EXPECT_EQ(events[2].record_key, "c");
  EXPECT_EQ(events[2].seq, 3);
  EXPECT_EQ(events[3].seq, 4);
  EXPECT_EQ(metrics_->value("pushgate_events_duplicate_total"), 2.0);
  expect_sequences_gap_free();
}

TEST_F(StoreTest, DuplicateWithinOneBatchIsStoredOnce) {
  auto r = commit(events_batch("T1", {"a", "a", "b", "a"}));
  ASSERT_FALSE(r.ec);
  EXPECT_EQ(r.inserted, 2U);
  EXPECT_EQ(r.duplicates, 2U);
  EXPECT_EQ(r.event_ids[1], 0);
  EXPECT_EQ(r.event_ids[3], 0);
  auto events = all_events();
  ASSERT_EQ(events.size(), 2U);
  EXPECT_EQ(events[0].seq, 1);
  EXPECT_EQ(events[1].seq, 2);
  expect_sequences_gap_free();
}

TEST_F(StoreTest, SameRecordKeyOnTwoTerminalsIsTwoEvents) {
  auto r = commit(events_batch("T1", {"a"}));
  auto r2 = commit(events_batch("T2", {"a"}));
  EXPECT_EQ(r.inserted, 1U);
  EXPECT_EQ(r2.inserted, 1U);
  EXPECT_EQ(all_events().size(), 2U);
}

TEST_F(StoreTest, ConcurrentAppendsFromManyThreadsAllLand) {
  static constexpr int kThreads = 6;
  static constexpr int kBatches = 40;
  static constexpr std::size_t kEvents = 5;
  struct Answers {
    std::mutex mutex;
    std::condition_variable cv;
    int answered = 0;
    int failed = 0;
  };
  auto answers = std::make_shared<Answers>();
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int b = 0; b < kBatches; ++b) {
        WriteBatch batch;
        for (std::size_t e = 0; e < kEvents; ++e) {
          // Two threads share each terminal, so batches interleave per terminal.
          batch.events.push_back(
              make_event("T" + std::to_string(t % 3),
                         std::to_string(t) + "-" + std::to_string(b) + "-" + std::to_string(e)));
        }
        store_->append(std::move(batch), [answers](CommitResult r) {
          std::lock_guard lock(answers->mutex);
          ++answers->answered;
          answers->failed += (r.ec || r.inserted != kEvents) ? 1 : 0;
          answers->cv.notify_all();
        });
      }
    });
  }
  for (auto& th : threads) {
    th.join();
  }
  {
    std::unique_lock lock(answers->mutex);
    ASSERT_TRUE(answers->cv.wait_for(lock, kDeadline,
                                     [&] { return answers->answered == kThreads * kBatches; }))
        << answers->answered << " of " << kThreads * kBatches << " answered";
    EXPECT_EQ(answers->failed, 0);
  }
  EXPECT_EQ(all_events().size(), kThreads * kBatches * kEvents);
  EXPECT_EQ(count("SELECT COUNT(DISTINCT id) FROM events"),
            static_cast<std::int64_t>(kThreads * kBatches * kEvents));
  expect_sequences_gap_free();
  // Group commit: never more transactions than requests.
  EXPECT_LE(metrics_->value("pushgate_store_commits_total"), kThreads * kBatches);
}

TEST_F(StoreTest, BatchesQueuedTogetherCommitInOneTransaction) {
  double commits_before = metrics_->value("pushgate_store_commits_total");
  std::vector<WriteBatch> batches;
  for (int i = 0; i < 10; ++i) {
    batches.push_back(events_batch("T" + std::to_string(i % 2), {"k" + std::to_string(i)}));
  }
  auto results = commit_as_one_group(std::move(batches));
  for (const auto& r : results) {
    EXPECT_FALSE(r.ec) << r.ec.message();
    EXPECT_EQ(r.inserted, 1U);
  }
  // One transaction for the gate, one for all ten requests.
  EXPECT_EQ(metrics_->value("pushgate_store_commits_total") - commits_before, 2.0);
  EXPECT_EQ(all_events().size(), 10U);
  expect_sequences_gap_free();
}

TEST_F(StoreTest, GroupIsSplitAtMaxGroupRecords) {
  store_.reset();
  open_store(/*max_group_records=*/4);
  double commits_before = metrics_->value("pushgate_store_commits_total");
  std::vector<WriteBatch> batches;
  for (int i = 0; i < 6; ++i) {
    batches.push_back(events_batch("T1", {"a" + std::to_string(i), "b" + std::to_string(i)}));
  }
  auto results = commit_as_one_group(std::move(batches));
  for (const auto& r : results) {
    EXPECT_FALSE(r.ec);
  }
  // Gate, then 6 batches of 2 events at most 4 events per transaction: 3 groups.
  EXPECT_EQ(metrics_->value("pushgate_store_commits_total") - commits_before, 4.0);
  EXPECT_EQ(all_events().size(), 12U);
  expect_sequences_gap_free();
}

TEST_F(StoreTest, QuarantineKeepsRawBytesExactly) {
  const std::string raw = "1\t2020-09-23 13:01:24\0\xff\xfe\r\n\x01"s;
  ASSERT_EQ(raw.size(), 27U);
  WriteBatch b;
  b.quarantine.push_back(quarantine_record("T1", raw, "bad timestamp"));
  b.quarantine.push_back(quarantine_record("T1", std::string(), "empty line"));
  auto r = commit(std::move(b));
  ASSERT_FALSE(r.ec);
  EXPECT_EQ(r.quarantined, 2U);

  auto rows = store_->read([](Connection& db) {
    boost::system::error_code ec;
    auto out = read_quarantine(db, 0, 100, "", ec);
    EXPECT_FALSE(ec);
    return out;
  });
  ASSERT_EQ(rows.size(), 2U);
  EXPECT_EQ(rows[0].record.raw, raw);
  EXPECT_EQ(rows[0].record.raw.size(), 27U);
  EXPECT_EQ(rows[0].record.terminal_sn, "T1");
  EXPECT_EQ(rows[0].record.endpoint, "cdata");
  EXPECT_EQ(rows[0].record.table, "ATTLOG");
  EXPECT_EQ(rows[0].record.line_no, 2);
  EXPECT_EQ(rows[0].record.reason, "bad timestamp");
  EXPECT_EQ(rows[0].record.received_ms, 1'600'000'000'123);
  EXPECT_EQ(rows[1].record.raw, "");
  EXPECT_EQ(
      count("SELECT typeof(raw) = 'blob' FROM quarantine WHERE id = " + std::to_string(rows[0].id)),
      1);
  EXPECT_EQ(metrics_->value("pushgate_quarantined_lines_total"), 2.0);
}

TEST_F(StoreTest, EventRawAndBlobKeepBytesExactly) {
  const std::string raw = "PIN=1\0tail\xc3("s;
  const std::string photo = "\xff\xd8\xff\xe0\0\0JFIF\0"s;
  ASSERT_EQ(raw.size(), 12U);
  ASSERT_EQ(photo.size(), 11U);
  Event e = make_event("T1", "p1", EventKind::Photo);
  e.raw = raw;
  WriteBatch b;
  b.events.push_back(e);
  b.blobs.emplace_back(0, photo);
  auto r = commit(std::move(b));
  ASSERT_FALSE(r.ec);
  auto events = all_events();
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].raw, raw);
  auto blob = store_->read([id = r.event_ids[0]](Connection& db) {
    boost::system::error_code ec;
    auto st = db.prepare("SELECT content FROM event_blobs WHERE event_id = ?1", ec);
    st.bind(1, id);
    return st.step(ec) ? st.column_blob(0) : std::string("<none>");
  });
  EXPECT_EQ(blob, photo);
}

TEST_F(StoreTest, BlobOfDuplicateUploadKeepsFirstCopy) {
  WriteBatch b;
  b.events.push_back(make_event("T1", "p1", EventKind::Photo));
  b.blobs.emplace_back(0, "first");
  auto r = commit(std::move(b));
  WriteBatch again;
  again.events.push_back(make_event("T1", "p1", EventKind::Photo));
  again.blobs.emplace_back(0, "second");
  auto r2 = commit(std::move(again));
  ASSERT_FALSE(r2.ec);
  EXPECT_EQ(r2.duplicates, 1U);
  EXPECT_EQ(count("SELECT COUNT(*) FROM event_blobs"), 1);
  EXPECT_EQ(count("SELECT CAST(content AS TEXT) = 'first' FROM event_blobs WHERE event_id = " +
                  std::to_string(r.event_ids[0])),
            1);
}

}  // namespace
}  // namespace pushgate::store
