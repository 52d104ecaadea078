// The smux frame codec: fixed little-endian header, stateless checks.
#include "weft/mux/frame.hpp"

#include "weft/mux/errors.hpp"

namespace weft::mux {
namespace {

void put16(char* p, std::uint16_t v) noexcept {
  p[0] = static_cast<char>(v & 0xff);
  p[1] = static_cast<char>(v >> 8);
}
void put32(char* p, std::uint32_t v) noexcept {
  for (int i = 0; i < 4; ++i)
    p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}
std::uint32_t get32(const char* p) noexcept {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return static_cast<std::uint32_t>(u[0]) | (static_cast<std::uint32_t>(u[1]) << 8) |
         (static_cast<std::uint32_t>(u[2]) << 16) | (static_cast<std::uint32_t>(u[3]) << 24);
}

Decoded failed(errc e) noexcept {
  Decoded d;
  d.status = Decoded::bad;
  d.error = make_error_code(e);
  return d;
}

}  // namespace

void encode_header(char* out, int version, Cmd cmd, std::uint16_t length,
                   std::uint32_t stream_id) noexcept {
  out[0] = static_cast<char>(version);
  out[1] = static_cast<char>(cmd);
  put16(out + 2, length);
  put32(out + 4, stream_id);
}

FrameHeader decode_header(const char* p) noexcept {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  FrameHeader h;
  h.version = u[0];
  h.cmd = static_cast<Cmd>(u[1]);
  h.length = static_cast<std::uint16_t>(u[2] | (u[3] << 8));
  h.stream_id = get32(p + 4);
  return h;
}

void encode_upd(char* out, Upd upd) noexcept {
  put32(out, upd.consumed);
  put32(out + 4, upd.window);
}

Upd decode_upd(const char* p) noexcept {
  return {get32(p), get32(p + 4)};
}

Decoded decode_frame(Bytes in, int version, bool names) noexcept {
  if (in.size() < kHeaderSize) return {};
  FrameHeader h = decode_header(in.data());
  // Checked before the payload arrives: a bad header is an error at once.
  if (h.version != version) return failed(errc::invalid_protocol);
  switch (h.cmd) {
    case Cmd::syn:
      if (h.length && !names) return failed(errc::unexpected_payload);
      break;
    case Cmd::fin:
    case Cmd::nop:
      if (h.length) return failed(errc::unexpected_payload);
      break;
    case Cmd::psh:
      break;
    case Cmd::upd:
      if (version < 2) return failed(errc::upd_on_v1);
      if (h.length != kUpdSize) return failed(errc::bad_upd_length);
      break;
    default:
      return failed(errc::invalid_protocol);
  }
  std::size_t size = kHeaderSize + h.length;
  if (in.size() < size) return {};
  Decoded d;
  d.status = Decoded::ok;
  d.frame.header = h;
  d.frame.payload = in.substr(kHeaderSize, h.length);
  d.size = size;
  return d;
}

}  // namespace weft::mux
