#include "ws/decoder.hpp"

#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

#include "ws/deflate.hpp"
#include "ws/frame.hpp"
#include "ws/mask.hpp"

namespace weft::ws {

bool valid_close_code(std::uint16_t code) noexcept {
  if (code >= 3000 && code <= 4999) return true;  // registered (3xxx) and private (4xxx)
  if (code < 1000 || code > 1014) return false;
  // 1004 is reserved; 1005, 1006 and 1015 must never be sent.
  return code != 1004 && code != 1005 && code != 1006;
}

}  // namespace weft::ws

namespace weft::ws::detail {

std::uint16_t check_close_payload(std::string_view payload) noexcept {
  if (payload.empty()) return 0;
  if (payload.size() == 1) return close_code::protocol_error;
  const auto code = static_cast<std::uint16_t>((static_cast<std::uint8_t>(payload[0]) << 8) |
                                               static_cast<std::uint8_t>(payload[1]));
  if (!valid_close_code(code)) return close_code::protocol_error;
  if (!Utf8Validator::valid(payload.substr(2))) return close_code::invalid_payload;
  return 0;
}

std::string& unmask_buffer() {
  thread_local std::string buf;
  return buf;
}

namespace {
// Assembly buffers of messages split across reads, recycled per thread: a
// fresh 16 KiB string per message cost more (heap growth and trimming, page
// faults) than everything else of a 16 KiB echo together.
constexpr std::size_t kMaxSpare = 16;
constexpr std::size_t kMaxSpareCapacity = 1u << 20;

std::vector<std::unique_ptr<std::string>>& spare_messages() {
  thread_local std::vector<std::unique_ptr<std::string>> spare;
  return spare;
}
}  // namespace

std::string* take_message_buffer() {
  auto& spare = spare_messages();
  if (spare.empty()) return new std::string;
  std::string* s = spare.back().release();
  spare.pop_back();
  return s;
}

void give_message_buffer(std::string* s) noexcept {
  if (!s) return;
  auto& spare = spare_messages();
  if (s->capacity() > kMaxSpareCapacity || spare.size() >= kMaxSpare) {
    delete s;
    return;
  }
  s->clear();
  try {
    spare.emplace_back(s);
  } catch (...) {  // no room to keep it: free it
    delete s;
  }
}

bool Decoder::take_payload(std::string_view piece, DecodeResult& err) {
  const std::size_t at = message_->size();
  message_->resize(at + piece.size());
  char* dst = message_->data() + at;
  if (masked_) {
    mask_phase_ =
        static_cast<std::uint8_t>(apply_mask(dst, piece.data(), piece.size(), mask_, mask_phase_));
  } else {
    std::memcpy(dst, piece.data(), piece.size());
  }
  if (message_op_ == static_cast<std::uint8_t>(Opcode::text) && !compressed_ &&
      !utf8_.feed(std::string_view(dst, piece.size()))) {
    err.error = close_code::invalid_payload;
    err.reason = "invalid UTF-8 in a text message";
    return false;
  }
  return true;
}

std::string_view Decoder::unmask_piece(std::string_view piece) {
  if (!masked_) return piece;
  std::string& buf = unmask_buffer();
  buf.resize(piece.size());
  mask_phase_ = static_cast<std::uint8_t>(
      apply_mask(buf.data(), piece.data(), piece.size(), mask_, mask_phase_));
  return {buf.data(), piece.size()};
}

DecodeResult Decoder::feed(std::string_view in, FrameSink& sink, bool in_place) {
  std::size_t pos = 0;
  for (;;) {
    if (in_frame_ && compressed_) {
      // A compressed message in pieces: each goes to the sink as it comes.
      const auto take =
          static_cast<std::size_t>(std::min<std::uint64_t>(frame_left_, in.size() - pos));
      const std::string_view piece = unmask_piece(in.substr(pos, take));
      pos += take;
      frame_left_ -= take;
      in_frame_ = frame_left_ > 0;
      const bool last = !in_frame_ && frame_fin_;
      if (take || last) {
        const auto op = static_cast<Opcode>(message_op_);
        if (last) {
          message_op_ = 0;
          compressed_ = false;
          input_left_ = pos < in.size();
        }
        const bool go_on = sink.on_compressed_piece(op, piece, last);
        trim_buffer(unmask_buffer());
        if (!go_on) return {pos};
      }
      if (in_frame_) return {pos};
      continue;
    }
    if (in_frame_) {
      const auto take =
          static_cast<std::size_t>(std::min<std::uint64_t>(frame_left_, in.size() - pos));
      DecodeResult err{pos};
      if (take && !take_payload(in.substr(pos, take), err)) return err;
      pos += take;
      frame_left_ -= take;
      if (frame_left_ > 0) return {pos};
      in_frame_ = false;
      if (!frame_fin_) continue;
      // The message is complete.
      if (message_op_ == static_cast<std::uint8_t>(Opcode::text) && !compressed_ &&
          !utf8_.complete()) {
        return fail(pos, close_code::invalid_payload, "text message ends inside a UTF-8 sequence");
      }
      std::string* msg = message_;
      message_ = nullptr;
      const auto op = static_cast<Opcode>(message_op_);
      const bool compressed = compressed_;
      message_op_ = 0;
      compressed_ = false;
      input_left_ = pos < in.size();
      const bool go_on = sink.on_message(op, *msg, compressed);
      give_message_buffer(msg);
      if (!go_on) return {pos};
      continue;
    }

    if (pos == in.size()) return {pos};
    FrameHeader h;
    const auto* p = reinterpret_cast<const std::uint8_t*>(in.data() + pos);
    const HeaderParse hp = parse_frame_header(p, in.size() - pos, h);
    if (hp == HeaderParse::more) return {pos};
    if (hp == HeaderParse::bad_length) {
      return fail(pos, close_code::protocol_error, "frame length not in its shortest form");
    }
    if (h.rsv2 || h.rsv3) return fail(pos, close_code::protocol_error, "reserved bit set");
    if (!known_opcode(h.opcode)) return fail(pos, close_code::protocol_error, "reserved opcode");
    if (role_ == Role::server && !h.masked) {
      return fail(pos, close_code::protocol_error, "client frame not masked");
    }
    if (role_ == Role::client && h.masked) {
      return fail(pos, close_code::protocol_error, "server frame masked");
    }

    if (is_control(h.opcode)) {
      if (!h.fin) return fail(pos, close_code::protocol_error, "fragmented control frame");
      if (h.length > kMaxControl) {
        return fail(pos, close_code::protocol_error, "control frame over 125 bytes");
      }
      if (h.rsv1) return fail(pos, close_code::protocol_error, "RSV1 on a control frame");
      const std::size_t total = h.size + static_cast<std::size_t>(h.length);
      if (in.size() - pos < total) return {pos};  // wait for the whole (small) frame
      char payload[kMaxControl];
      const auto len = static_cast<std::size_t>(h.length);
      if (h.masked) {
        apply_mask(payload, in.data() + pos + h.size, len, h.mask, 0);
      } else {
        std::memcpy(payload, in.data() + pos + h.size, len);
      }
      pos += total;
      const std::string_view view(payload, len);
      if (h.opcode == static_cast<std::uint8_t>(Opcode::close)) {
        if (const std::uint16_t bad = check_close_payload(view)) {
          return fail(pos, bad,
                      bad == close_code::invalid_payload ? "invalid UTF-8 in a close reason"
                                                         : "invalid close frame");
        }
      }
      if (!sink.on_control(static_cast<Opcode>(h.opcode), view)) return {pos};
      continue;
    }

    // A data frame.
    if (h.opcode == static_cast<std::uint8_t>(Opcode::continuation)) {
      if (!message_op_)
        return fail(pos, close_code::protocol_error, "continuation without a message");
      if (h.rsv1) return fail(pos, close_code::protocol_error, "RSV1 on a continuation frame");
    } else {
      if (message_op_) {
        return fail(pos, close_code::protocol_error, "new message inside a fragmented one");
      }
      if (h.rsv1 && !deflate_) {
        return fail(pos, close_code::protocol_error, "RSV1 set without permessage-deflate");
      }
    }
    const std::size_t so_far = message_ ? message_->size() : 0;
    if (h.length > max_message_ || so_far + h.length > max_message_) {
      return fail(pos, close_code::message_too_big, "message over the size limit");
    }
    const auto len = static_cast<std::size_t>(h.length);
    const bool starts = h.opcode != static_cast<std::uint8_t>(Opcode::continuation);

    // Fast path: a whole unfragmented message in this input.
    // Unmasked where it lies when the caller allows, else into the
    // thread's buffer; an unmasked payload is shown where it lies.
    if (starts && h.fin && in.size() - pos - h.size >= len) {
      std::string& buf = unmask_buffer();
      const char* src = in.data() + pos + h.size;
      const char* payload = src;
      if (h.masked && in_place) {
        apply_mask(const_cast<char*>(src), src, len, h.mask, 0);
      } else if (h.masked) {
        buf.resize(len);
        apply_mask(buf.data(), src, len, h.mask, 0);
        payload = buf.data();
      }
      pos += h.size + len;
      const std::string_view msg(payload, len);
      if (h.opcode == static_cast<std::uint8_t>(Opcode::text) && !h.rsv1 &&
          !Utf8Validator::valid(msg)) {
        return fail(pos, close_code::invalid_payload, "invalid UTF-8 in a text message");
      }
      input_left_ = pos < in.size();
      const bool go_on = sink.on_message(static_cast<Opcode>(h.opcode), msg, h.rsv1);
      trim_buffer(buf);
      if (!go_on) return {pos};
      continue;
    }

    if (starts) {
      message_op_ = h.opcode;
      compressed_ = h.rsv1;
      utf8_.reset();
    }
    if (!message_ && !compressed_) {
      message_ = take_message_buffer();
      // Reserve for this frame, not for what a header claims beyond the input.
      message_->reserve(std::min<std::size_t>(len, std::max<std::size_t>(in.size(), 4096)));
    }
    pos += h.size;
    in_frame_ = true;
    frame_left_ = h.length;
    frame_fin_ = h.fin;
    masked_ = h.masked;
    std::memcpy(mask_, h.mask, 4);
    mask_phase_ = 0;
  }
}

}  // namespace weft::ws::detail
