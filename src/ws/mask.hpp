// Masking (RFC 6455 §5.3): XOR with a 4-byte key, a vector register at a
// time. The widest form the CPU runs is picked once (AVX-512 on x86-64 where
// present, else sixteen bytes at a time).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace weft::ws::detail {

/// Writes src XOR key into dst (dst may equal src). `phase` is the key byte
/// the first byte uses (0..3, the frame offset modulo 4); returns the phase
/// for the byte after the last.
unsigned apply_mask(char* dst, const char* src, std::size_t n, const std::uint8_t key[4],
                    unsigned phase) noexcept;

using MaskFn = unsigned (*)(char* dst, const char* src, std::size_t n, const std::uint8_t key[4],
                            unsigned phase) noexcept;

/// One way of masking, for tests and benchmarks.
struct MaskImpl {
  const char* name;
  MaskFn fn;
};
/// Every form this CPU can run, the one apply_mask uses first.
std::span<const MaskImpl> mask_implementations() noexcept;

}  // namespace weft::ws::detail

namespace weft::ws::detail {

/// A fresh masking key for a client frame (RFC 6455 §5.3: unpredictable):
/// xorshift128+ per thread, seeded from the kernel's random source.
void random_mask(std::uint8_t key[4]) noexcept;

}  // namespace weft::ws::detail
