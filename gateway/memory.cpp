#include "gateway/memory.hpp"

#include <malloc.h>

#include <cstdlib>

namespace pushgate {

void tune_allocator() {
  if (std::getenv("MALLOC_ARENA_MAX") == nullptr) {
    mallopt(M_ARENA_MAX, 2);
  }
  if (std::getenv("MALLOC_MMAP_THRESHOLD_") == nullptr) {
    mallopt(M_MMAP_THRESHOLD, 256 * 1024);
  }
}

bool HeapTrimmer::trim_if_above(std::size_t slack) {
  struct mallinfo2 mi = mallinfo2();
  if (mi.fordblks <= slack) {
    return false;
  }
  malloc_trim(0);
  return true;
}

HeapTrimmer::HeapTrimmer(std::chrono::milliseconds period, std::size_t slack)
    : period_(period), slack_(slack) {
  thread_ = std::thread([this] {
    std::unique_lock lock(mutex_);
    while (!cv_.wait_for(lock, period_, [this] { return stopping_; })) {
      lock.unlock();
      trim_if_above(slack_);
      lock.lock();
    }
  });
}

HeapTrimmer::~HeapTrimmer() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

}  // namespace pushgate
