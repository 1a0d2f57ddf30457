// The heap trimmer hands freed heap back to the system (issue 19: resident
// size back near idle after a flood).
#include "gateway/memory.hpp"

#include <gtest/gtest.h>
#include <malloc.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <vector>

#include "tests/unit/gateway/support/gateway_test_support.hpp"

namespace pushgate {
namespace {

// Resident pages of this process, bytes.
std::size_t resident_bytes() {
  std::ifstream in("/proc/self/statm");
  std::size_t size = 0;
  std::size_t resident = 0;
  in >> size >> resident;
  return resident * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

// Leaves ~32 MB free inside the heap, held there by a few live blocks (as
// the events of a flood leave it), and returns those blocks.
std::vector<void*> fragmented_heap() {
  std::vector<void*> blocks;
  for (int i = 0; i < 2048; ++i) {
    void* p = std::malloc(16 * 1024);
    std::memset(p, 1, 16 * 1024);  // resident
    blocks.push_back(p);
  }
  std::vector<void*> kept;
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    if (i % 64 == 63) {
      kept.push_back(blocks[i]);
    } else {
      std::free(blocks[i]);
    }
  }
  return kept;
}

// Under AddressSanitizer malloc is the sanitizer's allocator, not glibc's:
// glibc's heap, which the trimmer works on, stays empty.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kGlibcHeap = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kGlibcHeap = false;
#else
constexpr bool kGlibcHeap = true;
#endif
#else
constexpr bool kGlibcHeap = true;
#endif

#define SKIP_WITHOUT_GLIBC_HEAP()                                                   \
  if (!kGlibcHeap) {                                                                \
    GTEST_SKIP() << "AddressSanitizer replaces glibc's allocator: no heap to trim"; \
  }

TEST(HeapTrimmer, FreedHeapIsReturnedToTheSystem) {
  SKIP_WITHOUT_GLIBC_HEAP();
  auto kept = fragmented_heap();
  std::size_t before = resident_bytes();
  EXPECT_TRUE(HeapTrimmer::trim_if_above(4 * 1024 * 1024));
  std::size_t after = resident_bytes();
  EXPECT_GT(before, after + 16 * 1024 * 1024) << "before " << before << " after " << after;
  for (void* p : kept) {
    std::free(p);
  }
}

TEST(HeapTrimmer, LittleFreeHeapIsLeftAlone) {
  malloc_trim(0);
  EXPECT_FALSE(HeapTrimmer::trim_if_above(std::size_t{1} << 40));
}

TEST(HeapTrimmer, TrimsOnItsOwnEveryPeriod) {
  SKIP_WITHOUT_GLIBC_HEAP();
  auto kept = fragmented_heap();
  std::size_t before = resident_bytes();
  {
    HeapTrimmer trimmer(std::chrono::milliseconds(10), 4 * 1024 * 1024);
    EXPECT_TRUE(test::wait_until([&] { return resident_bytes() + 16 * 1024 * 1024 < before; }));
  }
  EXPECT_GT(before, resident_bytes() + 16 * 1024 * 1024);
  for (void* p : kept) {
    std::free(p);
  }
}

}  // namespace
}  // namespace pushgate
