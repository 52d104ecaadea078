// Frames built the way a peer would send them, for the WebSocket tests
// (header-only: no dependency beyond the codec's header writer and masking).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "weft/ws/websocket.hpp"
#include "ws/frame.hpp"
#include "ws/mask.hpp"

namespace weft::ws::test {

/// One frame: `masked` with a fixed key (as a client must), RSV bits in
/// `rsv` (0x40 = RSV1, 0x20 = RSV2, 0x10 = RSV3), any opcode value.
inline std::string frame(std::uint8_t opcode, std::string_view payload, bool fin = true,
                         bool masked = true, std::uint8_t rsv = 0) {
  static const std::uint8_t key[4] = {0x12, 0x34, 0x56, 0x78};
  std::uint8_t header[detail::kMaxHeader];
  std::size_t n = detail::write_frame_header(header, static_cast<Opcode>(opcode & 0x0f), fin, false,
                                             payload.size(), masked ? key : nullptr);
  header[0] = static_cast<std::uint8_t>(header[0] | rsv);
  std::string out(reinterpret_cast<const char*>(header), n);
  std::string body(payload);
  if (masked) detail::apply_mask(body.data(), body.data(), body.size(), key, 0);
  return out + body;
}

inline std::string text(std::string_view s, bool fin = true) {
  return frame(1, s, fin);
}
inline std::string binary(std::string_view s, bool fin = true) {
  return frame(2, s, fin);
}
inline std::string cont(std::string_view s, bool fin = true) {
  return frame(0, s, fin);
}
inline std::string close_frame(std::uint16_t code, std::string_view reason = {}) {
  std::string p;
  p += static_cast<char>(code >> 8);
  p += static_cast<char>(code & 0xff);
  p += reason;
  return frame(8, p);
}

}  // namespace weft::ws::test
