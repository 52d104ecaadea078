// The receive side: frames from the transport to streams, the session-wide
// receive budget, version 2 window updates, keepalive checks.
#include <algorithm>
#include <string>

#include "mux/buffer_pool.hpp"
#include "mux/session_entry.hpp"
#include "weft/mux/errors.hpp"
#include "weft/mux/frame.hpp"

namespace weft::mux {
namespace {
// A cut data frame with less payload than this stays with the transport
// until it is whole: copying a small tail costs less than an extra piece.
constexpr std::size_t kMinPiece = 512;
// Consumed bytes at the front of a stream's receive buffer worth moving out.
constexpr std::size_t kCompactAt = 64 * 1024;
}  // namespace

std::size_t Session::feed(Bytes in) {
  Entry e(*this);
  if (ended_ || closing_) return in.size();  // dropping the rest of a failed session
  if (!in.empty()) data_seen_ = true;
  std::size_t used = 0;
  if (psh_left_ && !in.empty()) {  // the rest of a data frame begun in an earlier read
    const std::size_t n = std::min<std::size_t>(psh_left_, in.size());
    psh_left_ -= static_cast<std::uint32_t>(n);
    used = n;
    if (!handle_piece(psh_stream_, in.substr(0, n))) return in.size();
  }
  while (!ended_ && !closing_) {
    Decoded d = decode_frame(in.substr(used), cfg_.version, cfg_.names);
    if (d.status == Decoded::need_more) {
      // A large data frame cut by the read: its payload so far goes to the
      // stream now (a stream is a byte stream), so the transport keeps no
      // tail and copies none of the next read onto one.
      const Bytes rest = in.substr(used);
      if (rest.size() >= kHeaderSize + kMinPiece) {
        const FrameHeader h = decode_header(rest.data());
        if (h.cmd == Cmd::psh) {  // (decode_frame checked the header)
          psh_left_ = static_cast<std::uint32_t>(h.length - (rest.size() - kHeaderSize));
          psh_stream_ = h.stream_id;
          used = in.size();
          if (!handle_piece(h.stream_id, rest.substr(kHeaderSize))) return in.size();
        }
      }
      break;
    }
    if (d.status == Decoded::bad) {
      fail(d.error);
      return in.size();
    }
    used += d.size;
    if (!handle_frame(d.frame)) return in.size();
  }
  tail_ = in.size() - used;
  return used;
}

// False when the frame ended the session.
bool Session::handle_frame(const Frame& f) {
  const std::uint32_t id = f.header.stream_id;
  auto find = [&]() -> Stream* {
    auto it = streams_.find(id);
    return it == streams_.end() ? nullptr : it->second;
  };
  switch (f.header.cmd) {
    case Cmd::nop:
      break;
    case Cmd::syn: {
      // The peer opens ids of the other parity (clients odd, servers even).
      const std::uint32_t peer_parity = role_ == Role::server ? 1 : 0;
      if (id == 0 || (id & 1) != peer_parity) {
        fail(make_error_code(errc::bad_stream_id));
        return false;
      }
      if (!find()) accept_stream(id, f.payload);  // a repeated SYN is ignored, as smux does
      break;
    }
    case Cmd::fin:
      if (Stream* s = find()) peer_fin(*s);
      break;
    case Cmd::psh:
      if (Stream* s = find(); s && !f.payload.empty()) push_data(*s, f.payload);
      break;  // data for unknown (or closed) streams is dropped, as smux does
    case Cmd::upd:
      if (Stream* s = find()) handle_upd(*s, f.payload);
      break;
  }
  return !ended_ && !closing_;
}

// A piece of a PSH frame's payload; false when the session ended.
bool Session::handle_piece(std::uint32_t id, Bytes piece) {
  auto it = streams_.find(id);
  if (it != streams_.end()) push_data(*it->second, piece);
  return !ended_ && !closing_;
}

void Session::accept_stream(std::uint32_t id, Bytes name) {
  auto* s = new Stream(this, handler_, id);
  s->peer_window_ = kInitialPeerWindow;
  s->name_.assign(name);
  streams_.emplace(id, s);
  handler_->on_accept(*s);
}

void Session::push_data(Stream& s, Bytes payload) {
  if (s.flags_ & Stream::kReadClosed) return;
  if (s.rbuf_.empty() && !(s.flags_ & Stream::kPaused)) {
    // The common case: straight from the transport's buffer, no copy.
    std::size_t n = std::min(s.handler_->on_data(s, payload), payload.size());
    if (s.flags_ & (Stream::kReadClosed | Stream::kDone)) return;
    consumed(s, n);
    if (n < payload.size()) {
      detail::BufferPool::take(s.rbuf_);
      s.rbuf_.append(payload.substr(n));
      buffered_ += payload.size() - n;
      budget_changed();
    }
    return;
  }
  if (s.rbuf_.empty()) detail::BufferPool::take(s.rbuf_);
  s.rbuf_.append(payload);
  buffered_ += payload.size();
  if (!(s.flags_ & Stream::kPaused)) deliver(s);
  budget_changed();
}

// Drops what a stream received and did not consume (it closed or ended).
void Session::drop_received(Stream& s) {
  if (s.rbuf_.empty()) return;
  buffered_ -= s.buffered();
  detail::BufferPool::give(s.rbuf_);
  s.rbuf_off_ = 0;
  budget_changed();
}

// Offers buffered data again, then the peer's FIN once the data is consumed.
void Session::deliver(Stream& s) {
  if (s.flags_ & (Stream::kPaused | Stream::kReadClosed | Stream::kDone)) return;
  if (!s.rbuf_.empty()) {
    const Bytes pending = Bytes(s.rbuf_).substr(s.rbuf_off_);
    std::size_t n = std::min(s.handler_->on_data(s, pending), pending.size());
    if (s.flags_ & (Stream::kReadClosed | Stream::kDone)) return;
    buffered_ -= n;
    if (n == pending.size()) {
      detail::BufferPool::give(s.rbuf_);  // idle streams hold no buffer
      s.rbuf_off_ = 0;
    } else {
      // Consumed bytes are dropped from the front only once they are half
      // the buffer, so a reader taking small pieces of a large backlog
      // moves each byte about once, not once per piece.
      s.rbuf_off_ += n;
      if (s.rbuf_off_ >= kCompactAt && s.rbuf_off_ * 2 >= s.rbuf_.size()) {
        s.rbuf_.erase(0, s.rbuf_off_);
        s.rbuf_off_ = 0;
      }
    }
    consumed(s, n);
    budget_changed();
  }
  if (s.rbuf_.empty() && (s.flags_ & Stream::kPeerFin) && !(s.flags_ & Stream::kFinDelivered) &&
      !(s.flags_ & Stream::kPaused)) {
    s.flags_ |= Stream::kFinDelivered;
    s.handler_->on_fin(s);
    maybe_done(s);
  }
}

// Version 2: tell the peer what was consumed, as smux does (after the first
// read, then every half window).
void Session::consumed(Stream& s, std::size_t n) {
  if (n == 0 || cfg_.version < 2) return;
  auto n32 = static_cast<std::uint32_t>(n);
  s.num_read_ += n32;
  s.incr_ += n32;
  if (s.incr_ >= static_cast<std::uint32_t>(cfg_.max_stream_buffer / 2) || s.num_read_ == n32) {
    char upd[kUpdSize];
    encode_upd(upd, {s.num_read_, static_cast<std::uint32_t>(cfg_.max_stream_buffer)});
    queue_control(Cmd::upd, s.id_, Bytes(upd, sizeof upd));
    s.incr_ = 0;
  }
}

void Session::handle_upd(Stream& s, Bytes payload) {
  Upd u = decode_upd(payload.data());
  // uint32 counters wrap; the difference is what is in flight.
  if (static_cast<std::int32_t>(s.num_written_ - u.consumed) < 0) {
    fail(make_error_code(errc::consumed_too_much));
    return;
  }
  s.peer_consumed_ = u.consumed;
  s.peer_window_ = u.window;
  if (sendable(s) > 0) {
    ring_add(s);
    want_pump_ = true;
  }
}

void Session::peer_fin(Stream& s) {
  s.flags_ |= Stream::kPeerFin;
  if (s.flags_ & Stream::kReadClosed) {
    s.flags_ |= Stream::kFinDelivered;
    maybe_done(s);
    return;
  }
  deliver(s);
}

// smux stops reading the connection while its token bucket is empty. In
// version 2 we keep reading while our own output waits: the UPDs that
// reopen the windows arrive on the same connection, and stopping would
// deadlock both sides (the peer's data is bounded by our windows instead).
void Session::budget_changed() {
  if (ended_ || closing_) return;
  const auto limit = static_cast<std::size_t>(cfg_.max_receive_buffer);
  const bool over = buffered_ >= limit && (cfg_.version < 2 || send_queued_ == 0);
  if (!paused_ && over) {
    paused_ = true;
    transport_->pause_reading();
  } else if (paused_ && !over) {
    paused_ = false;
    transport_->resume_reading();
  }
}

void Session::keepalive_tick() {
  if (ended_ || closing_) return;
  queue_control(Cmd::nop, 0);
}

// Like smux: no frame since the last check ends the session, unless reading
// is paused for the receive budget (then silence is our own doing).
void Session::keepalive_check() {
  if (ended_ || closing_) return;
  if (!data_seen_ && !paused_) {
    fail(make_error_code(errc::keepalive_timeout));
    return;
  }
  data_seen_ = false;
}

}  // namespace weft::mux
