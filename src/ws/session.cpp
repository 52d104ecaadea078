// The receiving half of a WebSocket: decoded messages to the Behavior's
// callbacks, automatic pongs, the closing handshake, and protocol errors
// answered with the close code the RFC asks for.
#include "ws/session.hpp"

#include "weft/conn.hpp"
#include "ws/deflate.hpp"
#include "ws/endpoint.hpp"
#include "ws/frame.hpp"

namespace weft::ws::detail {

Session::Session(Conn& c, Endpoint& ep, Role role, Deflate* deflate, void* user)
    : WebSocket(c, ep) {
  deflate_ = deflate;
  user_ = user;
  if (role == Role::client) flags_ |= kClient;
  decoder_.configure(role, deflate != nullptr, ep.behavior().options.max_message);
}

Session::~Session() = default;

bool Session::still_reading() const noexcept {
  return !(flags_ & kCloseReceived) && !conn_->closing();
}

namespace {
class SessionSink final : public FrameSink {
 public:
  explicit SessionSink(Session& s) : s_(s) {}
  bool on_message(Opcode op, std::string_view payload, bool compressed) override {
    return s_.on_message(op, payload, compressed);
  }
  bool on_compressed_piece(Opcode op, std::string_view piece, bool last) override {
    return s_.on_compressed_piece(op, piece, last);
  }
  bool on_control(Opcode op, std::string_view payload) override {
    return s_.on_control(op, payload);
  }

 private:
  Session& s_;
};
}  // namespace

std::size_t Session::on_data(Bytes in) {
  flags_ |= kSeenInput;
  if (!still_reading()) return in.size();  // after the close frame nothing counts
  SessionSink sink(*this);
  const DecodeResult r = decoder_.feed(in, sink, conn_->mutable_input(in) != nullptr);
  if (r.error) {
    fail(r.error, r.reason);
    return in.size();
  }
  if (!still_reading()) return in.size();
  return r.consumed;
}

void Session::report(std::uint16_t code, std::string_view reason) {
  if (flags_ & kReported) return;
  flags_ |= kReported;
  const auto& cb = endpoint_->behavior().on_close;
  if (cb) cb(*this, code, reason);
}

void Session::fail(std::uint16_t code, const char* why) {
  send_close_frame(code, why);
  close_code_ = code;
  close_reason_ = why;
  report(code, why);
  conn_->close();
}

void Session::on_closed() {
  decoder_.release();
  stop_inflating();
  report(close_code_, close_reason_);
}

void Session::keepalive_tick() {
  if (flags_ & kSeenInput) {
    flags_ &= static_cast<std::uint16_t>(~(kSeenInput | kPingOutstanding));
    return;
  }
  if (flags_ & kPingOutstanding) {
    close_code_ = close_code::abnormal;
    close_reason_ = "no answer to the keepalive ping";
    conn_->abort();
    return;
  }
  if (closing()) return;
  flags_ |= kPingOutstanding;
  write_frame(Opcode::ping, {}, true, false);
}

bool Session::on_message(Opcode op, std::string_view payload, bool compressed) {
  if (flags_ & kCloseSent) return true;  // closing: data is ignored, the close is awaited
  std::string_view data = payload;
  if (compressed) {
    Inflater* inf = deflate_->inflater();
    if (!inf) {
      fail(close_code::internal_error, "no decompressor");
      return false;
    }
    std::string& out = inflate_buffer();
    const auto r = inf->decompress(payload, out, endpoint_->behavior().options.max_message,
                                   deflate_->peer_no_takeover());
    if (r == Inflater::Result::too_big) {
      fail(close_code::message_too_big, "message over the size limit");
      return false;
    }
    if (r == Inflater::Result::error) {
      fail(close_code::invalid_payload, "invalid compressed data");
      return false;
    }
    if (op == Opcode::text && !Utf8Validator::valid(out)) {
      fail(close_code::invalid_payload, "invalid UTF-8 in a text message");
      return false;
    }
    data = out;
  }
  deliver(op, data);
  if (compressed) trim_buffer(inflate_buffer());
  return still_reading();
}

// A compressed message that did not arrive whole in one read is inflated
// as its pieces come, so bad data, bad UTF-8 or an inflated size over the
// limit fail before the rest is sent. Its context stays with this
// connection until the message ends (see Deflate::piecewise_inflater).
bool Session::on_compressed_piece(Opcode op, std::string_view piece, bool last) {
  MessageInflater& m = deflate_->partial;
  if (flags_ & kCloseSent) {  // closing: data is ignored, the close is awaited
    stop_inflating();
    return true;
  }
  const std::size_t max = endpoint_->behavior().options.max_message;
  if (!m.open()) {
    Inflater* inf = deflate_->piecewise_inflater();
    if (!inf) {
      fail(close_code::internal_error, "no decompressor");
      return false;
    }
    m.begin(inf, op == Opcode::text);
  }
  MessageInflater::Status st = m.feed(piece, max);
  if (st == MessageInflater::Status::ok && last) st = m.finish(max, deflate_->peer_no_takeover());
  if (st != MessageInflater::Status::ok) {
    stop_inflating();
    if (st == MessageInflater::Status::too_big) {
      fail(close_code::message_too_big, "message over the size limit");
    } else {
      fail(close_code::invalid_payload, st == MessageInflater::Status::bad_utf8
                                            ? "invalid UTF-8 in a text message"
                                            : "invalid compressed data");
    }
    return false;
  }
  if (!last) return true;
  deliver(op, m.data());
  stop_inflating();
  return still_reading();
}

void Session::stop_inflating() noexcept {
  if (!deflate_) return;
  deflate_->partial.end();
  deflate_->drop_piecewise_inflater();
}

void Session::deliver(Opcode op, std::string_view data) {
  const auto& cb = endpoint_->behavior().on_message;
  if (cb) {
    // More messages in this read: answers are gathered into one send.
    if (decoder_.input_left()) flags_ |= kBatching;
    cb(*this, data, op);
    flags_ &= static_cast<std::uint16_t>(~kBatching);
  }
}

bool Session::on_control(Opcode op, std::string_view payload) {
  const Behavior& b = endpoint_->behavior();
  switch (op) {
    case Opcode::ping:
      if (!closing()) write_frame(Opcode::pong, payload, true, false);
      if (b.on_ping) b.on_ping(*this, payload);
      break;
    case Opcode::pong:
      flags_ &= static_cast<std::uint16_t>(~kPingOutstanding);
      if (b.on_pong) b.on_pong(*this, payload);
      break;
    case Opcode::close: {
      flags_ |= kCloseReceived;
      std::uint16_t code = close_code::no_status;
      std::string_view reason;
      if (payload.size() >= 2) {
        code = static_cast<std::uint16_t>((static_cast<std::uint8_t>(payload[0]) << 8) |
                                          static_cast<std::uint8_t>(payload[1]));
        reason = payload.substr(2);
      }
      // Answer with the same code (none if none came), then close: the
      // server closes the TCP connection first (RFC 6455 §7.1.1).
      send_close_frame(payload.size() >= 2 ? code : 0, {});
      close_code_ = code;
      report(code, reason);
      conn_->close();
      return false;
    }
    default:
      break;
  }
  return still_reading();
}

}  // namespace weft::ws::detail
