// Frames to messages (RFC 6455 §5): the receive side every WebSocket
// session runs, server or client. It enforces every rule the bytes alone
// decide: masking by role, reserved bits and opcodes, control frame size
// and fragmentation, continuation order, close frame payloads, the message
// size limit, and UTF-8 in text (checked as the bytes arrive, so a bad
// sequence fails at once, even mid-fragment).
//
// A compressed (RSV1) message is handed out whole when it arrives in one
// read, and otherwise piece by piece as it arrives (the sink inflates and
// checks it as it goes): the decoder assembles no compressed bytes.
//
// Input is consumed as it arrives: a frame's payload is unmasked piece by
// piece into the message being assembled, so nothing but a partial header
// (or a control frame, at most 131 bytes) is left unconsumed. A message that
// arrives whole in one read is unmasked into a per-thread buffer and handed
// out without touching the heap; the assembly buffer exists only while a
// message is incomplete.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "weft/ws/websocket.hpp"
#include "ws/utf8.hpp"

namespace weft::ws::detail {

enum class Role : std::uint8_t { server, client };

/// Assembly buffers for messages split across reads, recycled per thread.
std::string* take_message_buffer();
void give_message_buffer(std::string* s) noexcept;

/// Receives what the decoder finds. Returning false stops decoding (the
/// session is closing); the rest of the input is then not looked at.
class FrameSink {
 public:
  /// A whole data message. `compressed`: RSV1 was set (permessage-deflate),
  /// the payload still needs inflating and, for text, UTF-8 checking.
  virtual bool on_message(Opcode op, std::string_view payload, bool compressed) = 0;
  /// The next piece (unmasked, possibly empty) of a compressed message that
  /// did not arrive whole in one read; `last`: the message ends here. Only
  /// each frame's length is checked against the limit: the total, inflated
  /// or not, is the sink's to bound.
  virtual bool on_compressed_piece(Opcode op, std::string_view piece, bool last) = 0;
  /// A ping, a pong or a close (close payloads are already validated).
  virtual bool on_control(Opcode op, std::string_view payload) = 0;

 protected:
  ~FrameSink() = default;
};

struct DecodeResult {
  std::size_t consumed = 0;
  std::uint16_t error = 0;  ///< a close code (1002, 1007, 1009) when the peer broke a rule
  const char* reason = "";  ///< why, for logs and the close frame
};

class Decoder {
 public:
  Decoder() = default;
  ~Decoder() { give_message_buffer(message_); }
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  /// `deflate`: permessage-deflate was agreed (RSV1 allowed on a message's
  /// first frame). `max_message` bounds a message's payload (each frame of
  /// a compressed one).
  void configure(Role role, bool deflate, std::size_t max_message) noexcept {
    role_ = role;
    deflate_ = deflate;
    max_message_ = max_message;
  }

  /// Decodes as much of `in` as makes sense. After an error the decoder
  /// must not be fed again. `in_place`: `in` is the caller's writable
  /// memory, and a whole masked message is unmasked where it lies (the
  /// consumed bytes change; the rest stay as they came).
  DecodeResult feed(std::string_view in, FrameSink& sink, bool in_place = false);

  /// Inside on_message: more input follows the message in this feed (the
  /// sink may batch its answers).
  bool input_left() const noexcept { return input_left_; }
  /// Bytes held for an incomplete message (0 when idle).
  std::size_t held() const noexcept { return message_ ? message_->capacity() : 0; }
  /// Frees the assembly buffer (when the connection closes).
  void release() noexcept {
    give_message_buffer(message_);
    message_ = nullptr;
  }

 private:
  DecodeResult fail(std::size_t at, std::uint16_t code, const char* why) noexcept {
    return {at, code, why};
  }
  // Unmasks `piece` of the current data frame onto the message; false (with
  // `err` set) on bad UTF-8.
  bool take_payload(std::string_view piece, DecodeResult& err);
  // Unmasks `piece` of a compressed message into the thread's buffer.
  std::string_view unmask_piece(std::string_view piece);

  // Every idle WebSocket holds one decoder: the small fields are packed so
  // that it stays at 32 bytes.
  std::string* message_ = nullptr;  // the message being assembled, or null
  std::uint64_t frame_left_ = 0;    // payload bytes of the current data frame still to come
  std::size_t max_message_ = 16u << 20;
  std::uint8_t mask_[4] = {0, 0, 0, 0};
  Utf8Validator utf8_;
  std::uint8_t mask_phase_ : 2 = 0;
  std::uint8_t message_op_ : 4 = 0;  // text or binary while a message is open, else 0
  Role role_ : 1 = Role::server;
  bool deflate_ : 1 = false;
  bool in_frame_ : 1 = false;    // inside a data frame's payload
  bool frame_fin_ : 1 = false;   // the current data frame ends its message
  bool masked_ : 1 = false;      // the current data frame is masked
  bool compressed_ : 1 = false;  // the open message has RSV1
  bool input_left_ : 1 = false;  // see input_left()
};

/// Whether a close frame payload is valid (RFC 6455 §5.5.1, §7.4): empty,
/// or a valid code with a UTF-8 reason. Returns 0 or the code to fail with.
std::uint16_t check_close_payload(std::string_view payload) noexcept;

/// Thread buffer a whole message is unmasked into (trimmed after use).
std::string& unmask_buffer();

}  // namespace weft::ws::detail
