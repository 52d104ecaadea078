// One WebSocket connection after the handshake, either role: the decoder's
// sink (messages, pings, the closing handshake) and the keepalive links.
// The Conn's context points here while the connection speaks WebSocket.
#pragma once

#include <cstdint>
#include <string_view>
#include <system_error>

#include "weft/bytes.hpp"
#include "weft/ws/websocket.hpp"
#include "ws/decoder.hpp"

namespace weft::ws::detail {

struct LoopSessions;

// Not a FrameSink itself: a vtable pointer in every idle session would cost
// 8 bytes (and a larger malloc chunk); on_data lends the decoder a sink on
// the stack instead.
class Session final : public WebSocket {
 public:
  /// Takes ownership of `deflate` (null when not negotiated).
  Session(Conn& c, Endpoint& ep, Role role, Deflate* deflate, void* user);
  ~Session();

  /// Input from the connection; returns the bytes used.
  std::size_t on_data(Bytes in);
  /// The connection is gone: on_close if not reported yet.
  void on_closed();
  /// The peer broke a rule: close frame with `code`, then close.
  void fail(std::uint16_t code, const char* why);
  /// Keepalive: called once per ping interval.
  void keepalive_tick();

  // What the decoder finds (see FrameSink).
  bool on_message(Opcode op, std::string_view payload, bool compressed);
  bool on_compressed_piece(Opcode op, std::string_view piece, bool last);
  bool on_control(Opcode op, std::string_view payload);

  // Keepalive list on this loop (Endpoint's), null links when not tracked.
  Session* ka_prev = nullptr;
  Session* ka_next = nullptr;
  LoopSessions* ka_home = nullptr;

 private:
  void report(std::uint16_t code, std::string_view reason);
  // A whole message to on_message.
  void deliver(Opcode op, std::string_view data);
  // Ends a compressed message inflated in pieces (frees its buffer and context).
  void stop_inflating() noexcept;
  bool still_reading() const noexcept;

  Decoder decoder_;
};

}  // namespace weft::ws::detail
