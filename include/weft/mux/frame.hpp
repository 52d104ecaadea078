// weft/mux/frame.hpp — the smux wire format: an 8-byte header (version,
// command, little-endian length and stream id) and the payload.
#pragma once

#include <cstddef>
#include <cstdint>
#include <system_error>

#include "weft/bytes.hpp"

namespace weft::mux {

enum class Cmd : std::uint8_t {
  syn = 0,  ///< open a stream (payload: the gmux name, when names are on)
  fin = 1,  ///< the sender finished writing the stream
  psh = 2,  ///< data
  nop = 3,  ///< keepalive
  upd = 4,  ///< version 2: consumed (u32) and window (u32) of the receiver
};

inline constexpr std::size_t kHeaderSize = 8;
inline constexpr std::size_t kUpdSize = 8;
inline constexpr std::size_t kMaxPayload = 65535;

struct FrameHeader {
  std::uint8_t version = 0;
  Cmd cmd = Cmd::nop;
  std::uint16_t length = 0;
  std::uint32_t stream_id = 0;
};

/// Writes a header into out[0..8).
void encode_header(char* out, int version, Cmd cmd, std::uint16_t length,
                   std::uint32_t stream_id) noexcept;
/// Reads a header from p[0..8).
FrameHeader decode_header(const char* p) noexcept;

struct Upd {
  std::uint32_t consumed = 0;
  std::uint32_t window = 0;
};
void encode_upd(char* out, Upd upd) noexcept;
Upd decode_upd(const char* p) noexcept;

struct Frame {
  FrameHeader header;
  Bytes payload;
};

/// One step of decoding: a whole frame (`size` bytes used), more input
/// needed, or a protocol error (`error` says which, see mux/errors.hpp).
struct Decoded {
  enum Status { ok, need_more, bad } status = need_more;
  Frame frame;
  std::size_t size = 0;
  std::error_code error;
};

/// Decodes the frame at the start of `in` for a session speaking `version`.
/// Checks everything that needs no stream state: version, command, UPD only
/// in version 2 with an 8-byte payload, no payload on FIN/NOP, and none on
/// SYN unless `names` is on.
Decoded decode_frame(Bytes in, int version, bool names) noexcept;

}  // namespace weft::mux
