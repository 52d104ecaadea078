// Masking (RFC 6455 §5.3): XOR with a 4-byte key, sixteen bytes at a time.
#pragma once

#include <cstddef>
#include <cstdint>

namespace weft::ws::detail {

/// Writes src XOR key into dst (dst may equal src). `phase` is the key byte
/// the first byte uses (0..3, the frame offset modulo 4); returns the phase
/// for the byte after the last.
unsigned apply_mask(char* dst, const char* src, std::size_t n, const std::uint8_t key[4],
                    unsigned phase) noexcept;

}  // namespace weft::ws::detail

namespace weft::ws::detail {

/// A fresh masking key for a client frame (RFC 6455 §5.3: unpredictable):
/// xorshift128+ per thread, seeded from the kernel's random source.
void random_mask(std::uint8_t key[4]) noexcept;

}  // namespace weft::ws::detail
