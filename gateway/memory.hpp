#pragma once
// Keeps pushgated's resident size under its documented ceiling (README,
// "Memory"; issue 19): glibc's allocator is told to keep few arenas and to
// map large blocks, and the heap freed after a burst of uploads is handed back
// to the system instead of being held for the next one.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <thread>

namespace pushgate {

/**
 * Called first in main(). Caps malloc arenas at 2 (glibc creates up to 8 per
 * core, one per thread that allocates concurrently, and each keeps what its
 * thread freed) unless MALLOC_ARENA_MAX is set in the environment, and fixes
 * the mmap threshold at 256 KiB so large bodies are unmapped when freed
 * (glibc otherwise raises the threshold after the first one is freed and
 * keeps such blocks in the heap from then on).
 */
void tune_allocator();

/**
 * Every `period`, returns the free heap to the system (malloc_trim) once
 * more than `slack` bytes of it are free: after a flood the resident size
 * falls back near the idle figure within a period or two.
 */
class HeapTrimmer {
 public:
  explicit HeapTrimmer(std::chrono::milliseconds period = std::chrono::seconds(5),
                       std::size_t slack = 4 * 1024 * 1024);
  ~HeapTrimmer();
  HeapTrimmer(const HeapTrimmer&) = delete;
  HeapTrimmer& operator=(const HeapTrimmer&) = delete;

  /** Trims now if more than `slack` bytes are free; true when it did. */
  static bool trim_if_above(std::size_t slack);

 private:
  std::chrono::milliseconds period_;
  std::size_t slack_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace pushgate
