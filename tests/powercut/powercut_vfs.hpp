#pragma once

// A power-cut SQLite VFS for tests (issue 20). Test code only; never linked
// into pushgated.
//
// Model. The shim wraps the default VFS ("unix") and passes every call
// through, so the process sees what it would see under SIGKILL (page cache
// intact). Beside that it keeps, per file path under one tracked directory
// (main database, WAL, rollback journal; never -shm, temp files or
// subjournals), what a power cut at this instant would leave on disk:
//  - per inode, the bytes as of its last xSync ("synced") and the ordered
//    list of writes and truncates since ("pending"); an xSync of any handle
//    of a path applies all of that path's pending operations (fsync covers
//    the inode);
//  - per path, the directory entry as of the last directory sync (the inode
//    a lost create/unlink would leave) and the entry the process sees now.
//    Directory syncs happen where unix does them: in the first xSync of a
//    journal or WAL handle opened with SQLITE_OPEN_CREATE (UNIXFILE_DIRSYNC)
//    and in xDelete(syncDir=1); each makes every pending create and unlink
//    of that directory durable.
// At every xSync of a tracked file (before the real sync, under the shim's
// mutex, on the syncing thread) the cut hook is called: cut number k. The
// synced state only changes at xSyncs, so imaging every xSync is exhaustive
// for the synced-only model. The hook builds images with build_image():
//  - synced data only, directory entries as durable;
//  - seeded torn variants: each pending write is applied (3/8), dropped
//    (3/8) or torn (1/4: every 512-byte piece inside the written range
//    becomes new, old or garbage, as src/test6.c does per sector, but never
//    outside the written range because unix reports POWERSAFE_OVERWRITE);
//    each pending truncate applied or dropped;
//  - directory variants: pending creates and unlinks kept or lost.
//
// Limits (not modelled): disks that lie about fsync, fsync errors, bit rot,
// sector sizes other than what unix reports, SQLITE_FCNTL_SIZE_HINT (unix
// ignores it without a chunk size, which pushgate never sets), mmap writes
// (off on Debian), reordering across files beyond "pending writes of any
// file may or may not have reached the disk".

#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace pushgate::powercut {

/** One file of a disk image: its basename and durable bytes. */
struct ImageFile {
  std::string name;
  std::string bytes;
};

/** How pending (unsynced) operations appear in an image. */
enum class Pending {
  Dropped,  ///< synced data only
  Seeded,   ///< each operation applied, dropped or torn, from the seed
  Applied,  ///< every pending operation reached the disk (SIGKILL's view)
};

/** What the shim has seen since install(). */
struct Stats {
  std::uint64_t syncs = 0;  ///< every xSync of a tracked file: the cut count
  std::uint64_t wal_syncs = 0;
  std::uint64_t db_syncs = 0;
  std::uint64_t journal_syncs = 0;
  std::uint64_t dir_syncs = 0;
  std::uint64_t wal_restarts = 0;    ///< WAL header rewritten at offset 0 of a non-empty WAL
  std::uint64_t db_opens_rw = 0;     ///< main-database handles opened read-write
  std::uint64_t db_opens_ro = 0;     ///< main-database handles opened read-only
  std::uint64_t max_db_rw_open = 0;  ///< most read-write main-database handles open at once
  std::uint64_t db_writes_ro = 0;    ///< writes/truncates attempted through a read-only handle
};

/** Called at every cut with its number (1-based); build_image() may be used inside. */
using CutHook = std::function<void(std::uint64_t cut)>;

/**
 * Registers the shim (VFS name "powercut") over the current default VFS.
 * Files under `tracked_dir` are modelled; everything else passes through
 * untouched and takes no lock, so a hook may open other databases (under
 * another directory) through the shim. With `make_default` the shim becomes
 * the default VFS (the store opens with a null VFS name). Resets all state.
 */
void install(const std::string& tracked_dir, bool make_default = true);
/** Unregisters the shim and forgets its state; the previous default is default again. */
void uninstall();

void set_cut_hook(CutHook hook);
Stats stats();

/**
 * The disk image a power cut now would leave. Only call from the cut hook
 * (the shim's mutex is held there). `dir_kept`: pending directory changes
 * (creates, unlinks) reached the disk; else they are lost.
 */
std::vector<ImageFile> build_image(Pending pending, bool dir_kept, std::mt19937_64& rng);
/** True when some directory change is pending (the directory variants differ). Hook only. */
bool directory_pending();
/** The basename of the file whose xSync is the cut. Hook only. */
std::string syncing_file();
/** A one-line description of the tracked files (names, synced/pending sizes). Hook only. */
std::string describe_files();

}  // namespace pushgate::powercut
