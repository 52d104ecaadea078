// The per-thread pool of stream buffers (src/mux/buffer_pool.hpp): what it
// keeps, what it frees, and that its spare bytes stay bounded.
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "mux/buffer_pool.hpp"

namespace weft::mux::detail {
namespace {

// Each case runs on a thread of its own: the pool is per thread.
template <typename Fn>
void on_fresh_thread(Fn fn) {
  std::thread t(fn);
  t.join();
}

TEST(MuxBufferPool, ABigBufferComesBackWarm) {
  on_fresh_thread([] {
    std::string big;
    big.resize(4 * 1024 * 1024, 'x');  // a paused reader's backlog
    const char* storage = big.data();
    BufferPool::give(big);
    EXPECT_EQ(big.capacity(), std::string().capacity());  // left without storage
    std::string next;
    BufferPool::take(next);
    EXPECT_EQ(next.data(), storage);  // the same memory, no new pages
    EXPECT_TRUE(next.empty());
    EXPECT_GE(next.capacity(), 4u * 1024 * 1024);
  });
}

TEST(MuxBufferPool, SmallBuffersAreNotKept) {
  on_fresh_thread([] {
    std::string small(100, 'x');
    small.shrink_to_fit();
    BufferPool::give(small);
    std::string next;
    BufferPool::take(next);
    EXPECT_LT(next.capacity(), BufferPool::kMinCapacity);
  });
}

TEST(MuxBufferPool, SpareBytesStayBounded) {
  on_fresh_thread([] {
    constexpr std::size_t kEach = 3 * 1024 * 1024;
    for (int i = 0; i < 20; ++i) {  // 60 MiB offered
      std::string b;
      b.reserve(kEach);
      BufferPool::give(b);
    }
    std::size_t kept = 0;
    for (;;) {
      std::string b;
      BufferPool::take(b);
      if (b.capacity() < kEach) break;
      kept += b.capacity();
    }
    EXPECT_GT(kept, 0u);
    EXPECT_LE(kept, BufferPool::kMaxSpareBytes);
  });
}

TEST(MuxBufferPool, TakeLeavesABufferThatHasStorageAlone) {
  on_fresh_thread([] {
    std::string spare;
    spare.reserve(64 * 1024);
    BufferPool::give(spare);
    std::string mine;
    mine.reserve(8 * 1024);
    const char* storage = mine.data();
    BufferPool::take(mine);  // already has storage: keeps it
    EXPECT_EQ(mine.data(), storage);
    std::string other;
    BufferPool::take(other);  // the spare is still there
    EXPECT_GE(other.capacity(), 64u * 1024);
  });
}

}  // namespace
}  // namespace weft::mux::detail
