// Power-cut tests (issue 20): the real store's workload cut at every sync, and the harness's teeth.
//
// Nothing a terminal was told OK for is lost when the power goes, at any
// sync point, and one connection writes (powercut_shim_test.cpp).
//
// The real store (store::Store, its writer thread, group commit, savepoints,
// migrations, checkpoints) runs on SQLite through the power-cut VFS
// (tests/powercut/powercut_vfs.hpp, which states the model and its limits).
// Every xSync of the database, its WAL or its journal is a cut. At each cut
// the disk images a power cut would leave are written to a fresh directory
// and checked with the stock "unix" VFS:
//   A   synced data only, directory entries as last synced;
//   B1..Bn  pending writes kept, dropped or torn (seeded, as src/test6.c);
//   C   synced data only, pending creates/unlinks reached the disk (when any);
//   K   every pending write and directory change reached the disk.
// Each image must pass integrity_check and foreign_key_check, hold every
// record acknowledged before the cut (commit returned, done ran) exactly
// once with its payload, every acknowledged command and the acknowledged
// cursor, nothing never submitted, and let Store::open open it and append.
//
// A failure prints the cut, seed, variant and files and keeps the image.
// Rerun one cut alone: PUSHGATE_POWERCUT_CUT=<cut> PUSHGATE_POWERCUT_SEED=<seed>
// (the workload is deterministic: each round's groups are fixed by parking the

#include <gtest/gtest.h>

#include "tests/powercut/powercut_harness.hpp"

namespace pushgate::powercut {
namespace {

// ---- the tests -----------------------------------------------------------------------

TEST(PowerCut, NothingAcknowledgedIsLostAtAnySync) {
  auto started = std::chrono::steady_clock::now();
  Harness h(Harness::Options{});
  auto result = Workload(h, WorkloadOptions{}).run();
  auto s = stats();
  auto failures = h.failures();
  EXPECT_TRUE(failures.empty()) << failures.size() << " image(s) failed:\n"
                                << Harness::report(failures);
  if (env_number("PUSHGATE_POWERCUT_CUT")) {
    return;  // a rerun of one cut: the figures below are the whole run's
  }
  // The workload really covered what it claims.
  EXPECT_EQ(h.in_path_problem(result.commits), "");
  EXPECT_GE(result.commits,
            static_cast<std::uint64_t>(2 * (kScale.first_rounds + kScale.second_rounds)));
  EXPECT_GE(s.journal_syncs, 1U) << "first start goes through a rollback journal";
  EXPECT_GE(s.db_syncs, 4U) << "at least 2 automatic checkpoints and the clean closes";
  EXPECT_GE(s.wal_restarts, 1U) << "the WAL never restarted after a checkpoint";
  EXPECT_GE(s.dir_syncs, 2U) << "a new WAL at first start and again after the reopen";
  // Every sync is a cut: A, the seeded Bs and K at each, C where the directory changed.
  EXPECT_GE(h.images_checked(), s.syncs * (static_cast<std::uint64_t>(kScale.seeded) + 2));
  auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf(
      "power cut: %llu commits, %zu acknowledged events, %llu cuts (%llu WAL, %llu db, %llu "
      "journal syncs, %llu dir syncs, %llu WAL restarts), %llu images checked in %.1f s\n",
      static_cast<unsigned long long>(result.commits), result.acked_events,
      static_cast<unsigned long long>(s.syncs), static_cast<unsigned long long>(s.wal_syncs),
      static_cast<unsigned long long>(s.db_syncs), static_cast<unsigned long long>(s.journal_syncs),
      static_cast<unsigned long long>(s.dir_syncs), static_cast<unsigned long long>(s.wal_restarts),
      static_cast<unsigned long long>(h.images_checked()), secs);
}

// Teeth: the harness must catch what it exists to catch.

TEST(PowerCut, HarnessCatchesSynchronousNormal) {
  Harness h(Harness::Options{true, 1});
  WorkloadOptions wo;
  wo.synchronous = "NORMAL";
  wo.first_rounds = 30;
  wo.second_rounds = 0;
  Workload(h, wo).run();
  auto failures = h.failures();
  ASSERT_FALSE(failures.empty()) << "synchronous=NORMAL acknowledges commits no sync covers";
  std::printf("caught at cut %llu (%s): %s\n", static_cast<unsigned long long>(failures[0].cut),
              failures[0].variant.c_str(), failures[0].what.c_str());
  EXPECT_NE(failures[0].what.find("acknowledged"), std::string::npos) << Harness::report(failures);
}

TEST(PowerCut, HarnessCatchesAnAcknowledgementBeforeTheCommit) {
  Harness h(Harness::Options{true, 1});
  AckBeforeCommit early;
  WorkloadOptions wo;
  wo.appender = &early;
  wo.first_rounds = 10;
  wo.second_rounds = 0;
  Workload(h, wo).run();
  auto failures = h.failures();
  ASSERT_FALSE(failures.empty()) << "an OK before the commit must be caught";
  std::printf("caught at cut %llu (%s): %s\n", static_cast<unsigned long long>(failures[0].cut),
              failures[0].variant.c_str(), failures[0].what.c_str());
  EXPECT_NE(failures[0].what.find("acknowledged"), std::string::npos) << Harness::report(failures);
}

TEST(PowerCut, HarnessFailsWhenTheStoreBypassesTheShim) {
  // The shim registered but not the default: the store writes around it.
  Harness h(Harness::Options{false, 0});
  WorkloadOptions wo;
  wo.first_rounds = 5;
  wo.second_rounds = 0;
  auto result = Workload(h, wo).run();
  ASSERT_GT(result.commits, 0U);
  EXPECT_NE(h.in_path_problem(result.commits), "");
  EXPECT_EQ(stats().syncs, 0U);
}

}  // namespace
}  // namespace pushgate::powercut
