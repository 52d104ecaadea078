// Delivering one published message to one loop's subscribers: the frame
// header is made once, and for permessage-deflate subscribers without
// context takeover the message is compressed once per shared compressor,
// so most subscribers get the very same bytes with one writev each.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "weft/bytes.hpp"
#include "weft/config.hpp"
#include "weft/ws/websocket.hpp"
#include "ws/frame.hpp"

namespace weft {
class EventLoop;
class Server;
}  // namespace weft

namespace weft::ws::detail {

class Deflater;

class Broadcast {
 public:
  /// `data` must stay valid while the Broadcast is used.
  Broadcast(Bytes data, Opcode op, bool compress, const Config& cfg) noexcept;
  Broadcast(const Broadcast&) = delete;
  Broadcast& operator=(const Broadcast&) = delete;

  /// Sends the message to `ws`; false when it was skipped (closing, in the
  /// middle of a fragmented send, or over the send-buffer limit).
  bool to(WebSocket& ws);

 private:
  // The message compressed by one shared (no context takeover) compressor.
  struct Packed {
    Deflater* by = nullptr;
    std::string bytes;
    std::uint8_t header[kMaxHeader] = {};
    std::uint8_t header_size = 0;
    bool plain = false;  // compressing did not help (or failed): send `data_`
  };
  const Packed& packed_by(Deflater& d);

  Bytes data_;
  Opcode op_;
  bool compress_;
  std::uint8_t header_size_ = 0;
  std::uint8_t header_[kMaxHeader] = {};
  std::size_t skip_over_ = 0;   // queued bytes past which a subscriber misses it (0: never)
  std::vector<Packed> packed_;  // one per shared compressor met (usually one)
};

/// Sends to every subscriber of `topic` on `loop` (its thread) but `except`;
/// returns how many got it.
std::size_t deliver(Server& server, EventLoop& loop, std::string_view topic, Bytes data, Opcode op,
                    bool compress, const WebSocket* except);

/// Posts the message to every loop of `server` but `skip`: one shared copy,
/// one task per loop. Returns the first refusal.
std::error_code post_to_loops(Server& server, const EventLoop* skip, std::string_view topic,
                              Bytes data, Opcode op, bool compress);

}  // namespace weft::ws::detail
