#include "ws/mask.hpp"

#include <cstring>

namespace weft::ws::detail {

unsigned apply_mask(char* dst, const char* src, std::size_t n, const std::uint8_t key[4],
                    unsigned phase) noexcept {
  // The key rotated to start at `phase`, repeated over a 64-bit word: byte
  // order in memory is what matters, so build it through memcpy.
  std::uint8_t rotated[8];
  for (unsigned i = 0; i < 8; ++i)
    rotated[i] = key[(phase + i) & 3];
  std::uint64_t word_key;
  std::memcpy(&word_key, rotated, 8);
  std::size_t i = 0;
  // Four words per round: the compiler turns this into vector XORs.
  for (; i + 32 <= n; i += 32) {
    std::uint64_t w[4];
    std::memcpy(w, src + i, 32);
    w[0] ^= word_key;
    w[1] ^= word_key;
    w[2] ^= word_key;
    w[3] ^= word_key;
    std::memcpy(dst + i, w, 32);
  }
  for (; i + 8 <= n; i += 8) {
    std::uint64_t w;
    std::memcpy(&w, src + i, 8);
    w ^= word_key;
    std::memcpy(dst + i, &w, 8);
  }
  for (; i < n; ++i)
    dst[i] = static_cast<char>(src[i] ^ rotated[i & 7]);
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
