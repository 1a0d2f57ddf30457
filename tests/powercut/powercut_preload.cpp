// The power-cut VFS as an LD_PRELOAD library for the real pushgated (issue
// 20, daemon variant). Test code only.
//
// Environment:
//   PUSHGATE_POWERCUT_DIR     the data directory to model (required; unset:
//                             the library does nothing)
//   PUSHGATE_POWERCUT_CUT_AT  the cut: the N-th xSync of a file there
//   PUSHGATE_POWERCUT_IMAGES  where to write the images of that cut
//   PUSHGATE_POWERCUT_SEED    seed of the torn variants (default 20261206)
// At the cut, with the shim's mutex held (no other SQLite I/O of the modelled
// files can run), the images are written to IMAGES/<variant>/ (A, B1..B3,
// C when a directory change is pending, K), a line with the cut and the files
// to IMAGES/cut.txt, and the process leaves with _exit(kExitAtCut): no OK
// can leave after the cut. Initialising SQLite from a constructor is safe:
// pushgated's one sqlite3_config call (gateway/store/sqlite.cpp) then fails
// with SQLITE_MISUSE and SQLite keeps its defaults, which this shim models
// anyway (statement journals spill to temporary files outside the data
// directory).

#include <stdlib.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "tests/powercut/powercut_vfs.hpp"

namespace {

namespace fs = std::filesystem;
namespace pc = pushgate::powercut;

constexpr int kExitAtCut = 86;

void write_variant(const fs::path& root, const std::string& name,
                   const std::vector<pc::ImageFile>& files) {
  auto dir = root / name;
  fs::create_directories(dir);
  for (const auto& f : files) {
    std::ofstream out(dir / f.name, std::ios::binary);
    out.write(f.bytes.data(), static_cast<std::streamsize>(f.bytes.size()));
  }
}

__attribute__((constructor)) void powercut_preload_init() {
  const char* dir = std::getenv("PUSHGATE_POWERCUT_DIR");
  const char* cut_at = std::getenv("PUSHGATE_POWERCUT_CUT_AT");
  const char* images = std::getenv("PUSHGATE_POWERCUT_IMAGES");
  if (dir == nullptr || cut_at == nullptr || images == nullptr) {
    return;
  }
  char* real = ::realpath(dir, nullptr);
  std::string tracked = real != nullptr ? real : dir;
  std::free(real);
  const std::uint64_t at = std::strtoull(cut_at, nullptr, 10);
  const char* seed_env = std::getenv("PUSHGATE_POWERCUT_SEED");
  const std::uint64_t seed = seed_env != nullptr ? std::strtoull(seed_env, nullptr, 10) : 20261206;
  const fs::path root = images;
  pc::install(tracked, true);
  pc::set_cut_hook([at, seed, root](std::uint64_t cut) {
    if (cut != at) {
      return;
    }
    std::mt19937_64 rng(seed ^ (cut * 0x9E3779B97F4A7C15ULL));
    write_variant(root, "A", pc::build_image(pc::Pending::Dropped, false, rng));
    for (int i = 1; i <= 3; ++i) {
      bool dir_kept = pc::directory_pending() && (rng() & 1) != 0;
      write_variant(root, "B" + std::to_string(i),
                    pc::build_image(pc::Pending::Seeded, dir_kept, rng));
    }
    if (pc::directory_pending()) {
      write_variant(root, "C", pc::build_image(pc::Pending::Dropped, true, rng));
    }
    write_variant(root, "K", pc::build_image(pc::Pending::Applied, true, rng));
    {
      std::ofstream out(root / "cut.txt");
      out << "cut " << cut << " seed " << seed << " files " << pc::describe_files() << "\n";
    }
    ::_exit(kExitAtCut);
  });
}

}  // namespace
