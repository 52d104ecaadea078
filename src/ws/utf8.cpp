#include "ws/utf8.hpp"

#include <cstring>

namespace weft::ws::detail {

bool Utf8Validator::feed(std::string_view piece) noexcept {
  const auto* p = reinterpret_cast<const std::uint8_t*>(piece.data());
  const std::size_t n = piece.size();
  std::uint8_t s = state_;
  std::size_t i = 0;
  while (i < n) {
    if (s == kAccept) {
      // ASCII runs, eight bytes at a time.
      while (i + 8 <= n) {
        std::uint64_t w;
        std::memcpy(&w, p + i, 8);
        if (w & 0x8080808080808080ull) break;
        i += 8;
      }
      if (i == n) break;
    }
    const std::uint8_t b = p[i++];
    const bool cont = (b & 0xc0) == 0x80;
    switch (s) {
      case kAccept:
        // C0, C1: overlong 2-byte leads; F5..FF: beyond U+10FFFF; 80..BF:
        // a continuation without a lead.
        if (b < 0x80) {
          s = kAccept;
        } else if (b < 0xc2 || b > 0xf4) {
          s = kReject;
        } else if (b < 0xe0) {
          s = kNeed1;
        } else if (b == 0xe0) {
          s = kAfterE0;
        } else if (b == 0xed) {
          s = kAfterED;
        } else if (b < 0xf0) {
          s = kNeed2;
        } else if (b == 0xf0) {
          s = kAfterF0;
        } else if (b < 0xf4) {
          s = kNeed3;
        } else {
          s = kAfterF4;
        }
        break;
      case kNeed1:
        s = cont ? kAccept : kReject;
        break;
      case kNeed2:
        s = cont ? kNeed1 : kReject;
        break;
      case kNeed3:
        s = cont ? kNeed2 : kReject;
        break;
      case kAfterE0:  // no overlong 3-byte forms
        s = (b >= 0xa0 && b <= 0xbf) ? kNeed1 : kReject;
        break;
      case kAfterED:  // no UTF-16 surrogates
        s = (b >= 0x80 && b <= 0x9f) ? kNeed1 : kReject;
        break;
      case kAfterF0:  // no overlong 4-byte forms
        s = (b >= 0x90 && b <= 0xbf) ? kNeed2 : kReject;
        break;
      case kAfterF4:  // nothing above U+10FFFF
        s = (b >= 0x80 && b <= 0x8f) ? kNeed2 : kReject;
        break;
      default:
        s = kReject;
        break;
    }
    if (s == kReject) break;
  }
  state_ = s;
  return s != kReject;
}

}  // namespace weft::ws::detail
