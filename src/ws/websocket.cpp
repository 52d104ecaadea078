// The sending half of a WebSocket, shared by both roles: frames, optional
// compression, fragmentation, control frames and the start of a close.
#include "weft/ws/websocket.hpp"

#include <cstring>
#include <typeinfo>

#include "weft/conn.hpp"
#include "weft/loop.hpp"
#include "ws/deflate.hpp"
#include "ws/endpoint.hpp"
#include "ws/frame.hpp"
#include "ws/mask.hpp"
#include "ws/session.hpp"
#include "ws/topic_table.hpp"

namespace weft::ws {

namespace {
bool is_data(Opcode op) noexcept {
  return op == Opcode::text || op == Opcode::binary;
}

// Masked payload for client frames (per thread; trimmed after large ones).
std::string& mask_buffer() {
  thread_local std::string buf;
  return buf;
}
}  // namespace

WebSocket::~WebSocket() {
  if (topics_) {
    if (auto* table = detail::TopicTable::find(conn_->loop())) table->leave_all(*this);
  }
  delete deflate_;
}

WebSocket* WebSocket::from(Conn& c) noexcept {
  if (!dynamic_cast<detail::Endpoint*>(&c.handler()) || !c.context()) return nullptr;
  return static_cast<detail::Session*>(c.context());
}

ConnHandle WebSocket::handle() const noexcept {
  return conn_->handle();
}

std::size_t WebSocket::buffered_amount() const noexcept {
  return conn_->queued();
}

bool WebSocket::closing() const noexcept {
  return (flags_ & (kCloseSent | kCloseReceived)) || conn_->closing();
}

SendStatus WebSocket::status_after_write() const noexcept {
  if (conn_->closing()) return SendStatus::dropped;
  return conn_->queued() ? SendStatus::backpressure : SendStatus::sent;
}

SendStatus WebSocket::write_frame(Opcode op, Bytes payload, bool fin, bool rsv1) {
  std::uint8_t header[detail::kMaxHeader];
  if (!(flags_ & kClient)) {
    const std::size_t n =
        detail::write_frame_header(header, op, fin, rsv1, payload.size(), nullptr);
    const Bytes frame[] = {Bytes(reinterpret_cast<const char*>(header), n), payload};
    if (flags_ & kBatching) {
      conn_->writev_batched(frame);
    } else {
      conn_->writev(frame);
    }
    return status_after_write();
  }
  std::uint8_t key[4];
  detail::random_mask(key);
  const std::size_t n = detail::write_frame_header(header, op, fin, rsv1, payload.size(), key);
  std::string& masked = mask_buffer();
  masked.resize(payload.size());
  detail::apply_mask(masked.data(), payload.data(), payload.size(), key, 0);
  conn_->writev({Bytes(reinterpret_cast<const char*>(header), n), Bytes(masked)});
  detail::trim_buffer(masked);
  return status_after_write();
}

SendStatus WebSocket::write_message(Opcode op, Bytes payload, bool rsv1) {
  const std::size_t piece = endpoint_->behavior().options.fragment_size;
  if (piece == 0 || payload.size() <= piece) return write_frame(op, payload, true, rsv1);
  SendStatus s = SendStatus::sent;
  for (std::size_t at = 0; at < payload.size(); at += piece) {
    const bool first = at == 0;
    const bool last = at + piece >= payload.size();
    s = write_frame(first ? op : Opcode::continuation, payload.substr(at, piece), last,
                    first && rsv1);
    if (s == SendStatus::dropped) break;
  }
  return s;
}

SendStatus WebSocket::send(Bytes data, Opcode op, bool compress) {
  if (!is_data(op) || closing() || (flags_ & kFragmenting)) return SendStatus::dropped;
  if (deflate_ && compress && data.size() >= deflate_->options->threshold) {
    if (detail::Deflater* d = deflate_->deflater()) {
      std::string& out = detail::compress_buffer();
      const bool fresh = deflate_->our_no_takeover();
      if (d->compress(data, out, fresh)) {
        // A shared context was reset: if compressing did not help, the plain
        // bytes may go instead. An own context has already taken the
        // message into its window, so the peer must see it compressed.
        if (!fresh || out.size() < data.size()) {
          const SendStatus s = write_message(op, out, true);
          detail::trim_buffer(out);
          return s;
        }
      } else if (!fresh) {
        // The context is unusable now; closing is the only safe answer.
        close(close_code::internal_error, "compression failed");
        return SendStatus::dropped;
      }
    }
  }
  return write_message(op, data, false);
}

SendStatus WebSocket::send_fragment(Bytes data, Opcode op, bool last) {
  if (closing()) return SendStatus::dropped;
  Opcode wire = Opcode::continuation;
  if (!(flags_ & kFragmenting)) {
    if (!is_data(op)) return SendStatus::dropped;
    wire = op;
    flags_ |= kFragmenting;
  }
  if (last) flags_ &= static_cast<std::uint16_t>(~kFragmenting);
  return write_frame(wire, data, last, false);
}

SendStatus WebSocket::ping(Bytes payload) {
  if (closing() || payload.size() > detail::kMaxControl) return SendStatus::dropped;
  return write_frame(Opcode::ping, payload, true, false);
}

SendStatus WebSocket::pong(Bytes payload) {
  if (closing() || payload.size() > detail::kMaxControl) return SendStatus::dropped;
  return write_frame(Opcode::pong, payload, true, false);
}

void WebSocket::send_close_frame(std::uint16_t code, std::string_view reason) {
  if (flags_ & kCloseSent) return;
  flags_ |= kCloseSent;
  if (conn_->closing()) return;
  char payload[detail::kMaxControl];
  std::size_t n = 0;
  if (code != 0) {
    // At most 123 bytes of reason, cut on a UTF-8 character boundary.
    if (reason.size() > detail::kMaxControl - 2) {
      std::size_t cut = detail::kMaxControl - 2;
      while (cut > 0 && (static_cast<std::uint8_t>(reason[cut]) & 0xc0) == 0x80)
        --cut;
      reason = reason.substr(0, cut);
    }
    payload[0] = static_cast<char>(code >> 8);
    payload[1] = static_cast<char>(code & 0xff);
    if (!reason.empty()) std::memcpy(payload + 2, reason.data(), reason.size());
    n = 2 + reason.size();
  }
  write_frame(Opcode::close, Bytes(payload, n), true, false);
}

void WebSocket::close(std::uint16_t code, std::string_view reason) {
  if ((flags_ & kCloseSent) || conn_->closing()) return;
  if (!valid_close_code(code)) code = close_code::normal;
  send_close_frame(code, reason);
  if (flags_ & kCloseReceived) {
    conn_->close();
    return;
  }
  // Wait for the peer's close frame, but not for ever.
  const int timeout = endpoint_->behavior().options.close_timeout_ms;
  if (timeout > 0) {
    conn_->loop().run_after(Millis{timeout},
                            [h = conn_->handle()] { (void)h.post([](Conn& c) { c.abort(); }); });
  }
}

void WebSocket::terminate() noexcept {
  close_reason_ = "terminated";
  close_code_ = close_code::abnormal;
  conn_->abort();
}

}  // namespace weft::ws
