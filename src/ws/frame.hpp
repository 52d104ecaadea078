// RFC 6455 frame headers: parsing (any role) and writing. The rules that
// depend on the connection (masking by role, reserved bits by extension,
// continuation order) are the decoder's; this file only reads and writes
// the bytes.
#pragma once

#include <cstddef>
#include <cstdint>

#include "weft/ws/websocket.hpp"

namespace weft::ws::detail {

/// Longest header: 2 + 8 (length) + 4 (mask key).
inline constexpr std::size_t kMaxHeader = 14;
/// Largest control frame payload.
inline constexpr std::size_t kMaxControl = 125;

struct FrameHeader {
  std::uint64_t length = 0;
  std::uint8_t mask[4] = {0, 0, 0, 0};
  std::uint8_t opcode = 0;
  std::uint8_t size = 0;  ///< header bytes, mask key included
  bool fin = false;
  bool rsv1 = false;
  bool rsv2 = false;
  bool rsv3 = false;
  bool masked = false;
};

enum class HeaderParse : std::uint8_t {
  ok,
  more,        ///< the header is not complete yet
  bad_length,  ///< a 64-bit length with the top bit set, or not in its shortest form
};

/// Reads the header at the start of `p` (n bytes available).
HeaderParse parse_frame_header(const std::uint8_t* p, std::size_t n, FrameHeader& h) noexcept;

/// Writes a header into `out` (kMaxHeader bytes); returns its size. `mask`
/// (4 bytes) is written when not null and sets the mask bit.
std::size_t write_frame_header(std::uint8_t* out, Opcode op, bool fin, bool rsv1,
                               std::uint64_t length, const std::uint8_t* mask) noexcept;

inline bool is_control(std::uint8_t opcode) noexcept {
  return opcode & 0x8;
}
/// Opcodes RFC 6455 defines (others are reserved: 3-7, 11-15).
inline bool known_opcode(std::uint8_t opcode) noexcept {
  return opcode <= 2 || (opcode >= 8 && opcode <= 10);
}

}  // namespace weft::ws::detail
