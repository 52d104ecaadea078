#include "ws/frame.hpp"

#include <cstring>

namespace weft::ws::detail {

HeaderParse parse_frame_header(const std::uint8_t* p, std::size_t n, FrameHeader& h) noexcept {
  if (n < 2) return HeaderParse::more;
  h.fin = p[0] & 0x80;
  h.rsv1 = p[0] & 0x40;
  h.rsv2 = p[0] & 0x20;
  h.rsv3 = p[0] & 0x10;
  h.opcode = p[0] & 0x0f;
  h.masked = p[1] & 0x80;
  const std::uint8_t len7 = p[1] & 0x7f;
  std::size_t size = 2;
  if (len7 < 126) {
    h.length = len7;
  } else if (len7 == 126) {
    if (n < 4) return HeaderParse::more;
    h.length = (std::uint64_t{p[2]} << 8) | p[3];
    size = 4;
    if (h.length < 126) return HeaderParse::bad_length;
  } else {
    if (n < 10) return HeaderParse::more;
    h.length = 0;
    for (int i = 2; i < 10; ++i)
      h.length = (h.length << 8) | p[i];
    size = 10;
    if (h.length >> 63) return HeaderParse::bad_length;
    if (h.length <= 0xffff) return HeaderParse::bad_length;
  }
  if (h.masked) {
    if (n < size + 4) return HeaderParse::more;
    std::memcpy(h.mask, p + size, 4);
    size += 4;
  } else {
    std::memset(h.mask, 0, 4);
  }
  h.size = static_cast<std::uint8_t>(size);
  return HeaderParse::ok;
}

std::size_t write_frame_header(std::uint8_t* out, Opcode op, bool fin, bool rsv1,
                               std::uint64_t length, const std::uint8_t* mask) noexcept {
  out[0] = static_cast<std::uint8_t>((fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) |
                                     static_cast<std::uint8_t>(op));
  const std::uint8_t mask_bit = mask ? 0x80 : 0;
  std::size_t size = 2;
  if (length < 126) {
    out[1] = static_cast<std::uint8_t>(mask_bit | length);
  } else if (length <= 0xffff) {
    out[1] = mask_bit | 126;
    out[2] = static_cast<std::uint8_t>(length >> 8);
    out[3] = static_cast<std::uint8_t>(length);
    size = 4;
  } else {
    out[1] = mask_bit | 127;
    for (int i = 0; i < 8; ++i)
      out[2 + i] = static_cast<std::uint8_t>(length >> (56 - 8 * i));
    size = 10;
  }
  if (mask) {
    std::memcpy(out + size, mask, 4);
    size += 4;
  }
  return size;
}

}  // namespace weft::ws::detail
