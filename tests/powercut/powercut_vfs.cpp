#include "tests/powercut/powercut_vfs.hpp"

#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <stdexcept>

namespace pushgate::powercut {

namespace {

enum class Kind { Db, Wal, Journal };

struct Op {
  bool truncate = false;
  std::int64_t offset = 0;  ///< write offset, or the truncated size
  std::string bytes;
};

/** One inode: what its last sync made durable, and what is pending since. */
struct Inode {
  std::string synced;
  std::vector<Op> pending;
};

/** One path: the inode its durable directory entry names, and the one the process sees. */
struct PathState {
  Kind kind = Kind::Db;
  std::string dir;
  std::string name;
  std::shared_ptr<Inode> durable;  ///< null: no durable entry
  std::shared_ptr<Inode> current;  ///< null: unlinked
};

struct Shim {
  sqlite3_vfs vfs{};
  sqlite3_vfs* real = nullptr;
  std::string tracked_dir;  ///< with a trailing '/'
  std::mutex mutex;
  std::map<std::string, PathState> paths;
  Stats stats;
  std::uint64_t db_rw_open = 0;
  CutHook hook;
  const PathState* syncing = nullptr;  ///< during the hook
};

Shim* g_shim = nullptr;

struct ShimFile {
  sqlite3_file base;
  PathState* state;  ///< null: not tracked
  int flags;
  bool dirsync;
  bool readonly;
  bool main_db_rw;
  sqlite3_file* real() { return reinterpret_cast<sqlite3_file*>(this + 1); }
};
static_assert(sizeof(ShimFile) % 8 == 0);

std::string read_whole_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void apply_op(std::string& bytes, const Op& op) {
  if (op.truncate) {
    bytes.resize(static_cast<std::size_t>(op.offset));
    return;
  }
  auto end = static_cast<std::size_t>(op.offset) + op.bytes.size();
  if (bytes.size() < end) {
    bytes.resize(end, '\0');
  }
  std::memcpy(bytes.data() + op.offset, op.bytes.data(), op.bytes.size());
}

/** test6.c's choice per pending operation: 3/8 written, 3/8 lost, 1/4 torn. */
void apply_seeded(std::string& bytes, const Op& op, std::mt19937_64& rng) {
  auto r = rng() % 8;
  if (r < 3) {
    apply_op(bytes, op);
    return;
  }
  if (r < 6 || op.truncate) {
    return;
  }
  // Torn: each 512-byte piece of the written range is new, old or garbage.
  // The file grows first (SQLite's assumption), so "old" beyond the end is zeros.
  auto begin = static_cast<std::size_t>(op.offset);
  auto end = begin + op.bytes.size();
  if (bytes.size() < end) {
    bytes.resize(end, '\0');
  }
  constexpr std::size_t kPiece = 512;
  for (std::size_t at = begin; at < end;) {
    std::size_t piece_end = std::min(end, (at / kPiece + 1) * kPiece);
    auto choice = rng() % 3;
    if (choice == 0) {
      std::memcpy(bytes.data() + at, op.bytes.data() + (at - begin), piece_end - at);
    } else if (choice == 2) {
      for (std::size_t i = at; i < piece_end; ++i) {
        bytes[i] = static_cast<char>(rng());
      }
    }
    at = piece_end;
  }
}

void dir_sync_locked(const std::string& dir) {
  ++g_shim->stats.dir_syncs;
  for (auto& [path, st] : g_shim->paths) {
    if (st.dir == dir) {
      st.durable = st.current;
    }
  }
}

// ---- io methods -------------------------------------------------------------

ShimFile* shim_file(sqlite3_file* f) {
  return reinterpret_cast<ShimFile*>(f);
}

int x_close(sqlite3_file* f) {
  auto* sf = shim_file(f);
  if (sf->main_db_rw) {
    std::lock_guard lock(g_shim->mutex);
    --g_shim->db_rw_open;
  }
  return sf->real()->pMethods->xClose(sf->real());
}

int x_read(sqlite3_file* f, void* buf, int amt, sqlite3_int64 off) {
  auto* sf = shim_file(f);
  return sf->real()->pMethods->xRead(sf->real(), buf, amt, off);
}

int x_write(sqlite3_file* f, const void* buf, int amt, sqlite3_int64 off) {
  auto* sf = shim_file(f);
  if (sf->state == nullptr) {
    return sf->real()->pMethods->xWrite(sf->real(), buf, amt, off);
  }
  std::lock_guard lock(g_shim->mutex);
  if (sf->readonly) {
    ++g_shim->stats.db_writes_ro;
  }
  if (sf->state->kind == Kind::Wal && off == 0) {
    sqlite3_int64 size = 0;
    if (sf->real()->pMethods->xFileSize(sf->real(), &size) == SQLITE_OK && size > 32) {
      ++g_shim->stats.wal_restarts;
    }
  }
  int rc = sf->real()->pMethods->xWrite(sf->real(), buf, amt, off);
  if (rc == SQLITE_OK && sf->state->current) {
    sf->state->current->pending.push_back(
        Op{false, off, std::string(static_cast<const char*>(buf), static_cast<std::size_t>(amt))});
  }
  return rc;
}

int x_truncate(sqlite3_file* f, sqlite3_int64 size) {
  auto* sf = shim_file(f);
  if (sf->state == nullptr) {
    return sf->real()->pMethods->xTruncate(sf->real(), size);
  }
  std::lock_guard lock(g_shim->mutex);
  if (sf->readonly) {
    ++g_shim->stats.db_writes_ro;
  }
  int rc = sf->real()->pMethods->xTruncate(sf->real(), size);
  if (rc == SQLITE_OK && sf->state->current) {
    sf->state->current->pending.push_back(Op{true, size, {}});
  }
  return rc;
}

int x_sync(sqlite3_file* f, int flags) {
  auto* sf = shim_file(f);
  if (sf->state == nullptr) {
    return sf->real()->pMethods->xSync(sf->real(), flags);
  }
  std::unique_lock lock(g_shim->mutex);
  auto& s = g_shim->stats;
  std::uint64_t cut = ++s.syncs;
  switch (sf->state->kind) {
    case Kind::Db:
      ++s.db_syncs;
      break;
    case Kind::Wal:
      ++s.wal_syncs;
      break;
    case Kind::Journal:
      ++s.journal_syncs;
      break;
  }
  if (g_shim->hook) {
    g_shim->syncing = sf->state;
    g_shim->hook(cut);  // the image of a cut just before this sync
    g_shim->syncing = nullptr;
  }
  if (auto& ino = sf->state->current) {
    for (const auto& op : ino->pending) {
      apply_op(ino->synced, op);
    }
    ino->pending.clear();
  }
  if (sf->dirsync) {
    sf->dirsync = false;
    dir_sync_locked(sf->state->dir);
  }
  return sf->real()->pMethods->xSync(sf->real(), flags);
}

int x_file_size(sqlite3_file* f, sqlite3_int64* size) {
  auto* sf = shim_file(f);
  return sf->real()->pMethods->xFileSize(sf->real(), size);
}
int x_lock(sqlite3_file* f, int level) {
  auto* sf = shim_file(f);
  return sf->real()->pMethods->xLock(sf->real(), level);
}
int x_unlock(sqlite3_file* f, int level) {
  auto* sf = shim_file(f);
  return sf->real()->pMethods->xUnlock(sf->real(), level);
}
int x_check_reserved(sqlite3_file* f, int* out) {
  auto* sf = shim_file(f);
  return sf->real()->pMethods->xCheckReservedLock(sf->real(), out);
}
int x_file_control(sqlite3_file* f, int op, void* arg) {
  auto* sf = shim_file(f);
  return sf->real()->pMethods->xFileControl(sf->real(), op, arg);
}
int x_sector_size(sqlite3_file* f) {
  auto* sf = shim_file(f);
  return sf->real()->pMethods->xSectorSize(sf->real());
}
int x_device_characteristics(sqlite3_file* f) {
  auto* sf = shim_file(f);
  return sf->real()->pMethods->xDeviceCharacteristics(sf->real());
}
int x_shm_map(sqlite3_file* f, int pg, int pgsz, int extend, void volatile** pp) {
  auto* sf = shim_file(f);
  return sf->real()->pMethods->xShmMap(sf->real(), pg, pgsz, extend, pp);
}
int x_shm_lock(sqlite3_file* f, int offset, int n, int flags) {
  auto* sf = shim_file(f);
  return sf->real()->pMethods->xShmLock(sf->real(), offset, n, flags);
}
void x_shm_barrier(sqlite3_file* f) {
  auto* sf = shim_file(f);
  sf->real()->pMethods->xShmBarrier(sf->real());
}
int x_shm_unmap(sqlite3_file* f, int del) {
  auto* sf = shim_file(f);
  return sf->real()->pMethods->xShmUnmap(sf->real(), del);
}
// No memory-mapped I/O: every page goes through xRead/xWrite, where the shim sees it.
int x_fetch(sqlite3_file*, sqlite3_int64, int, void** pp) {
  *pp = nullptr;
  return SQLITE_OK;
}
int x_unfetch(sqlite3_file*, sqlite3_int64, void*) {
  return SQLITE_OK;
}

const sqlite3_io_methods kMethods = {
    3,
    x_close,
    x_read,
    x_write,
    x_truncate,
    x_sync,
    x_file_size,
    x_lock,
    x_unlock,
    x_check_reserved,
    x_file_control,
    x_sector_size,
    x_device_characteristics,
    x_shm_map,
    x_shm_lock,
    x_shm_barrier,
    x_shm_unmap,
    x_fetch,
    x_unfetch,
};

// ---- vfs methods ------------------------------------------------------------

bool tracked_path(const char* name, int flags, Kind& kind) {
  if (name == nullptr ||
      std::strncmp(name, g_shim->tracked_dir.c_str(), g_shim->tracked_dir.size()) != 0) {
    return false;
  }
  if (flags & SQLITE_OPEN_MAIN_DB) {
    kind = Kind::Db;
  } else if (flags & SQLITE_OPEN_WAL) {
    kind = Kind::Wal;
  } else if (flags & SQLITE_OPEN_MAIN_JOURNAL) {
    kind = Kind::Journal;
  } else {
    return false;
  }
  return true;
}

int v_open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* f, int flags, int* out_flags) {
  auto* sf = shim_file(f);
  sf->state = nullptr;
  sf->flags = flags;
  sf->dirsync = false;
  sf->readonly = false;
  sf->main_db_rw = false;
  Kind kind{};
  bool tracked = tracked_path(name, flags, kind);
  std::unique_lock<std::mutex> lock;
  bool existed = false;
  if (tracked) {
    lock = std::unique_lock(g_shim->mutex);
    existed = ::access(name, F_OK) == 0;
  }
  int local_out = 0;
  int rc = g_shim->real->xOpen(g_shim->real, name, sf->real(), flags, &local_out);
  if (out_flags != nullptr) {
    *out_flags = local_out;
  }
  if (sf->real()->pMethods == nullptr) {
    f->pMethods = nullptr;
    return rc;
  }
  f->pMethods = &kMethods;
  if (rc != SQLITE_OK || !tracked) {
    return rc;
  }
  std::string path(name);
  auto& st = g_shim->paths[path];
  if (st.name.empty()) {
    st.kind = kind;
    auto slash = path.rfind('/');
    st.dir = path.substr(0, slash);
    st.name = path.substr(slash + 1);
  }
  if (!st.current) {
    st.current = std::make_shared<Inode>();
    if (existed) {
      // A file from before the shim knew it: on disk as it is.
      st.current->synced = read_whole_file(path);
      st.durable = st.current;
    }
  }
  sf->state = &st;
  sf->readonly = (local_out & SQLITE_OPEN_READONLY) != 0 || (flags & SQLITE_OPEN_READONLY) != 0;
  sf->dirsync = (flags & SQLITE_OPEN_CREATE) != 0 && (kind == Kind::Wal || kind == Kind::Journal);
  if (kind == Kind::Db) {
    if (sf->readonly) {
      ++g_shim->stats.db_opens_ro;
    } else {
      ++g_shim->stats.db_opens_rw;
      sf->main_db_rw = true;
      g_shim->stats.max_db_rw_open = std::max(g_shim->stats.max_db_rw_open, ++g_shim->db_rw_open);
    }
  }
  return rc;
}

int v_delete(sqlite3_vfs*, const char* name, int sync_dir) {
  Kind kind{};
  if (!tracked_path(name, SQLITE_OPEN_MAIN_DB, kind)) {
    return g_shim->real->xDelete(g_shim->real, name, sync_dir);
  }
  std::lock_guard lock(g_shim->mutex);
  int rc = g_shim->real->xDelete(g_shim->real, name, sync_dir);
  auto it = g_shim->paths.find(name);
  if (rc == SQLITE_OK && it != g_shim->paths.end()) {
    it->second.current = nullptr;
    if (sync_dir) {
      dir_sync_locked(it->second.dir);
    }
  }
  return rc;
}

int v_access(sqlite3_vfs*, const char* name, int flags, int* out) {
  return g_shim->real->xAccess(g_shim->real, name, flags, out);
}
int v_full_pathname(sqlite3_vfs*, const char* name, int n, char* out) {
  return g_shim->real->xFullPathname(g_shim->real, name, n, out);
}
void* v_dlopen(sqlite3_vfs*, const char* name) {
  return g_shim->real->xDlOpen(g_shim->real, name);
}
void v_dlerror(sqlite3_vfs*, int n, char* out) {
  g_shim->real->xDlError(g_shim->real, n, out);
}
void (*v_dlsym(sqlite3_vfs*, void* h, const char* sym))(void) {
  return g_shim->real->xDlSym(g_shim->real, h, sym);
}
void v_dlclose(sqlite3_vfs*, void* h) {
  g_shim->real->xDlClose(g_shim->real, h);
}
int v_randomness(sqlite3_vfs*, int n, char* out) {
  return g_shim->real->xRandomness(g_shim->real, n, out);
}
int v_sleep(sqlite3_vfs*, int us) {
  return g_shim->real->xSleep(g_shim->real, us);
}
int v_current_time(sqlite3_vfs*, double* out) {
  return g_shim->real->xCurrentTime(g_shim->real, out);
}
int v_get_last_error(sqlite3_vfs*, int n, char* out) {
  return g_shim->real->xGetLastError(g_shim->real, n, out);
}
int v_current_time_int64(sqlite3_vfs*, sqlite3_int64* out) {
  return g_shim->real->xCurrentTimeInt64(g_shim->real, out);
}

}  // namespace

void install(const std::string& tracked_dir, bool make_default) {
  if (g_shim != nullptr) {
    throw std::logic_error("powercut VFS installed twice");
  }
  sqlite3_initialize();
  auto shim = std::make_unique<Shim>();
  shim->real = sqlite3_vfs_find(nullptr);
  if (shim->real == nullptr) {
    throw std::runtime_error("no default SQLite VFS");
  }
  shim->tracked_dir = tracked_dir;
  if (shim->tracked_dir.empty() || shim->tracked_dir.back() != '/') {
    shim->tracked_dir += '/';
  }
  auto& v = shim->vfs;
  v.iVersion = 2;
  v.szOsFile = static_cast<int>(sizeof(ShimFile)) + shim->real->szOsFile;
  v.mxPathname = shim->real->mxPathname;
  v.zName = "powercut";
  v.xOpen = v_open;
  v.xDelete = v_delete;
  v.xAccess = v_access;
  v.xFullPathname = v_full_pathname;
  v.xDlOpen = v_dlopen;
  v.xDlError = v_dlerror;
  v.xDlSym = v_dlsym;
  v.xDlClose = v_dlclose;
  v.xRandomness = v_randomness;
  v.xSleep = v_sleep;
  v.xCurrentTime = v_current_time;
  v.xGetLastError = v_get_last_error;
  v.xCurrentTimeInt64 = v_current_time_int64;
  g_shim = shim.release();
  sqlite3_vfs_register(&g_shim->vfs, make_default ? 1 : 0);
}

void uninstall() {
  if (g_shim == nullptr) {
    return;
  }
  sqlite3_vfs_unregister(&g_shim->vfs);
  sqlite3_vfs_register(g_shim->real, 1);  // the previous default is default again
  delete g_shim;
  g_shim = nullptr;
}

void set_cut_hook(CutHook hook) {
  std::lock_guard lock(g_shim->mutex);
  g_shim->hook = std::move(hook);
}

Stats stats() {
  std::lock_guard lock(g_shim->mutex);
  return g_shim->stats;
}

std::vector<ImageFile> build_image(Pending pending, bool dir_kept, std::mt19937_64& rng) {
  std::vector<ImageFile> out;
  for (const auto& [path, st] : g_shim->paths) {
    const auto& ino = dir_kept ? st.current : st.durable;
    if (!ino) {
      continue;
    }
    ImageFile f{st.name, ino->synced};
    // Pending operations belong to the inode the process writes now.
    if (ino == st.current) {
      for (const auto& op : ino->pending) {
        switch (pending) {
          case Pending::Dropped:
            break;
          case Pending::Applied:
            apply_op(f.bytes, op);
            break;
          case Pending::Seeded:
            apply_seeded(f.bytes, op, rng);
            break;
        }
      }
    }
    out.push_back(std::move(f));
  }
  return out;
}

bool directory_pending() {
  for (const auto& [path, st] : g_shim->paths) {
    if (st.durable != st.current) {
      return true;
    }
  }
  return false;
}

std::string syncing_file() {
  return g_shim->syncing != nullptr ? g_shim->syncing->name : std::string();
}

std::string describe_files() {
  std::ostringstream os;
  for (const auto& [path, st] : g_shim->paths) {
    os << st.name << ": ";
    if (st.durable) {
      os << "durable entry, synced " << st.durable->synced.size() << " B";
    } else {
      os << "no durable entry";
    }
    if (st.current != st.durable) {
      os << (st.current ? " (created since the last directory sync)"
                        : " (unlinked since the last directory sync)");
    }
    if (st.current) {
      os << ", " << st.current->pending.size() << " pending op(s)";
    }
    os << "; ";
  }
  return os.str();
}

}  // namespace pushgate::powercut
