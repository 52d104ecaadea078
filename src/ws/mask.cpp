#include "ws/mask.hpp"

#include <cstring>

namespace weft::ws::detail {

namespace {
// Sixteen bytes as one value: the compiler keeps it in a vector register
// (SSE2 on x86-64, NEON on ARM). Eight-byte words in a small array, as
// before, made GCC spill every round to the stack: twice as slow.
using Vec16 = std::uint8_t __attribute__((vector_size(16)));
}  // namespace

unsigned apply_mask(char* dst, const char* src, std::size_t n, const std::uint8_t key[4],
                    unsigned phase) noexcept {
  // The key rotated to start at `phase`, repeated over sixteen bytes.
  std::uint8_t rotated[16];
  for (unsigned i = 0; i < 16; ++i)
    rotated[i] = key[(phase + i) & 3];
  Vec16 k;
  std::memcpy(&k, rotated, 16);
  std::size_t i = 0;
  for (; i + 64 <= n; i += 64) {
    Vec16 v[4];
    std::memcpy(&v[0], src + i, 16);
    std::memcpy(&v[1], src + i + 16, 16);
    std::memcpy(&v[2], src + i + 32, 16);
    std::memcpy(&v[3], src + i + 48, 16);
    for (Vec16& x : v)
      x ^= k;
    std::memcpy(dst + i, &v[0], 16);
    std::memcpy(dst + i + 16, &v[1], 16);
    std::memcpy(dst + i + 32, &v[2], 16);
    std::memcpy(dst + i + 48, &v[3], 16);
  }
  for (; i + 16 <= n; i += 16) {
    Vec16 v;
    std::memcpy(&v, src + i, 16);
    v ^= k;
    std::memcpy(dst + i, &v, 16);
  }
  for (; i < n; ++i)
    dst[i] = static_cast<char>(src[i] ^ rotated[i & 15]);
  return static_cast<unsigned>((phase + n) & 3);
}

}  // namespace weft::ws::detail

#include <sys/random.h>

namespace weft::ws::detail {

void random_mask(std::uint8_t key[4]) noexcept {
  thread_local std::uint64_t s[2] = {0, 0};
  if (s[0] == 0 && s[1] == 0) {
    if (::getrandom(s, sizeof s, 0) != static_cast<ssize_t>(sizeof s) || (s[0] | s[1]) == 0) {
      s[0] = reinterpret_cast<std::uintptr_t>(&s) | 1;
      s[1] = 0x9e3779b97f4a7c15ull;
    }
  }
  std::uint64_t x = s[0];
  const std::uint64_t y = s[1];
  s[0] = y;
  x ^= x << 23;
  s[1] = x ^ y ^ (x >> 17) ^ (y >> 26);
  const std::uint64_t r = s[1] + y;
  std::memcpy(key, &r, 4);
}

}  // namespace weft::ws::detail
