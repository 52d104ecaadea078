// The send scheduler. Control frames (SYN, FIN of drained streams, UPD,
// NOP) wait in ctrl_ and lead every write. Stream data waits in each
// stream's buffer; streams with sendable data sit in a ring and give one
// frame per turn, so a busy stream cannot starve the others. A stream's FIN
// follows its last data frame. Output stops while the transport holds more
// than kTransportHighWater (resumed by on_drained) and, in version 2, while
// a stream's window is shut (resumed by UPD).
#include <algorithm>
#include <string>

#include "mux/buffer_pool.hpp"
#include "mux/session_entry.hpp"
#include "weft/mux/errors.hpp"
#include "weft/mux/frame.hpp"

namespace weft::mux {

void Session::queue_control(Cmd cmd, std::uint32_t id, Bytes payload) {
  char hdr[kHeaderSize];
  encode_header(hdr, cfg_.version, cmd, static_cast<std::uint16_t>(payload.size()), id);
  ctrl_.append(hdr, sizeof hdr);
  ctrl_.append(payload);
  want_pump_ = true;
}

std::size_t Session::sendable(const Stream& s) const noexcept {
  std::size_t pending = s.queued();
  if (cfg_.version < 2) return pending;
  auto inflight = static_cast<std::int32_t>(s.num_written_ - s.peer_consumed_);
  std::int64_t win = static_cast<std::int64_t>(s.peer_window_) - inflight;
  if (win <= 0) return 0;
  return std::min(pending, static_cast<std::size_t>(win));
}

void Session::ring_add(Stream& s) noexcept {
  if (s.flags_ & Stream::kInRing) return;
  s.flags_ |= Stream::kInRing;
  if (!ring_) {
    s.ring_next_ = s.ring_prev_ = &s;
    ring_ = &s;
    return;
  }
  // Insert at the tail: just before the stream whose turn is next.
  s.ring_next_ = ring_;
  s.ring_prev_ = ring_->ring_prev_;
  ring_->ring_prev_->ring_next_ = &s;
  ring_->ring_prev_ = &s;
}

void Session::ring_remove(Stream& s) noexcept {
  if (!(s.flags_ & Stream::kInRing)) return;
  s.flags_ &= static_cast<std::uint16_t>(~Stream::kInRing);
  if (s.ring_next_ == &s) {
    ring_ = nullptr;
  } else {
    s.ring_prev_->ring_next_ = s.ring_next_;
    s.ring_next_->ring_prev_ = s.ring_prev_;
    if (ring_ == &s) ring_ = s.ring_next_;
  }
  s.ring_next_ = s.ring_prev_ = nullptr;
}

bool Session::stream_write(Stream& s, Bytes data) {
  if ((s.flags_ & (Stream::kDone | Stream::kWriteClosed)) || ended_ || closing_) return false;
  if (data.empty()) return s.queued() <= cfg_.stream_send_buffer;
  stream_send(s, data, data.size());
  if (ended_ || closing_) return false;
  if (s.queued() <= cfg_.stream_send_buffer && send_queued_ <= kSessionSendBudget) return true;
  want_writable(s);
  return false;
}

std::size_t Session::stream_write_some(Stream& s, Bytes data) {
  if ((s.flags_ & (Stream::kDone | Stream::kWriteClosed)) || ended_ || closing_) return 0;
  const std::size_t room =
      std::min(cfg_.stream_send_buffer - std::min(cfg_.stream_send_buffer, s.queued()),
               kSessionSendBudget - std::min(kSessionSendBudget, send_queued_));
  const std::size_t n = stream_send(s, data, room);
  if (n < data.size() && !ended_ && !closing_) want_writable(s);
  return n;
}

// Sends what may go at once and queues up to `queue_max` more on the
// stream. Returns the bytes taken.
std::size_t Session::stream_send(Stream& s, Bytes data, std::size_t queue_max) {
  const std::size_t total = data.size();
  const auto frame = static_cast<std::size_t>(cfg_.max_frame_size);
  // Fast path: nothing waits ahead of this stream, so its frames go out now,
  // straight from the caller's bytes (the transport copies what the kernel
  // does not take). Only as much as the window and the high-water mark allow.
  std::size_t q = transport_->queued();
  if (s.queued() == 0 && !ring_ && q < kTransportHighWater) {
    std::size_t n = data.size();
    if (cfg_.version >= 2) {
      auto inflight = static_cast<std::int32_t>(s.num_written_ - s.peer_consumed_);
      std::int64_t win = static_cast<std::int64_t>(s.peer_window_) - inflight;
      n = win > 0 ? std::min(n, static_cast<std::size_t>(win)) : 0;
    }
    n = std::min({n, kTransportHighWater - q + frame, frame * kMaxFramesPerWrite});
    if (n > 0) {
      pieces_.clear();
      if (!ctrl_.empty()) pieces_.emplace_back(ctrl_);
      std::size_t off = 0;
      char* hdr = headers_.data();
      while (off < n) {
        std::size_t len = std::min(frame, n - off);
        encode_header(hdr, cfg_.version, Cmd::psh, static_cast<std::uint16_t>(len), s.id_);
        pieces_.emplace_back(hdr, kHeaderSize);
        pieces_.emplace_back(data.substr(off, len));
        hdr += kHeaderSize;
        off += len;
      }
      s.num_written_ += static_cast<std::uint32_t>(n);
      transport_->writev(pieces_);
      ctrl_.clear();
      data.remove_prefix(n);
      if (ended_ || closing_) return total - data.size();
    }
  }
  const std::size_t queue = std::min(data.size(), queue_max);
  if (queue > 0) {
    if (s.sbuf_.empty()) detail::BufferPool::take(s.sbuf_);
    s.sbuf_.append(data.substr(0, queue));
    send_queued_ += queue;
    if (cfg_.version >= 2) budget_changed();
    if (sendable(s) > 0) ring_add(s);
    want_pump_ = true;
  }
  return total - data.size() + queue;
}

// on_writable is due once the stream's and the session's queues drain.
void Session::want_writable(Stream& s) {
  if (s.flags_ & Stream::kWantWritable) return;
  s.flags_ |= Stream::kWantWritable | Stream::kBlocked;
  blocked_.push_back(&s);
}

void Session::stream_close_write(Stream& s) {
  if (s.flags_ & (Stream::kDone | Stream::kWriteClosed)) return;
  // Nothing more can be written: an on_writable still due would only wake a
  // writer that has finished.
  s.flags_ = static_cast<std::uint16_t>((s.flags_ | Stream::kWriteClosed) & ~Stream::kWantWritable);
  if (s.queued() == 0) send_fin(s);  // else pump sends it after the last frame
}

void Session::stream_close(Stream& s) {
  if (s.flags_ & Stream::kDone) return;
  s.flags_ |= Stream::kReadClosed;
  drop_received(s);
  stream_close_write(s);
  maybe_done(s);
}

void Session::stream_abort(Stream& s) {
  if (s.flags_ & Stream::kDone) return;
  ring_remove(s);
  send_queued_ -= s.queued();
  detail::BufferPool::give(s.sbuf_);
  s.sbuf_off_ = 0;
  s.flags_ |= Stream::kWriteClosed | Stream::kReadClosed;
  if (!(s.flags_ & Stream::kFinSent) && !ended_ && !closing_) {
    s.flags_ |= Stream::kFinSent;
    queue_control(Cmd::fin, s.id_);
  }
  finish(s, make_error_code(errc::aborted));
}

void Session::send_fin(Stream& s) {
  s.flags_ |= Stream::kFinSent;
  if (!ended_ && !closing_) queue_control(Cmd::fin, s.id_);
  maybe_done(s);
}

// A stream ends when both sides finished writing, or after close() once
// our FIN is out.
void Session::maybe_done(Stream& s) {
  if (s.flags_ & Stream::kDone) return;
  if ((s.flags_ & Stream::kFinSent) && (s.flags_ & (Stream::kFinDelivered | Stream::kReadClosed)))
    finish(s, {});
}

void Session::pump() {
  const auto frame = static_cast<std::size_t>(cfg_.max_frame_size);
  wake_blocked();  // queues may have shrunk outside pump (finish, abort)
  if (cfg_.version >= 2) budget_changed();
  while (!ended_ && !closing_) {
    std::size_t q = transport_->queued();
    if (q >= kTransportHighWater) return;  // on_drained brings us back
    std::size_t budget = kTransportHighWater - q;
    pieces_.clear();
    touched_.clear();
    if (!ctrl_.empty()) pieces_.emplace_back(ctrl_);
    char* hdr = headers_.data();
    std::size_t frames = 0;
    while (ring_ && frames < kMaxFramesPerWrite && budget > 0) {
      Stream& s = *ring_;
      std::size_t n = std::min(sendable(s), frame);
      if (n == 0) {  // window shut: UPD puts it back
        ring_remove(s);
        continue;
      }
      encode_header(hdr, cfg_.version, Cmd::psh, static_cast<std::uint16_t>(n), s.id_);
      pieces_.emplace_back(hdr, kHeaderSize);
      pieces_.emplace_back(Bytes(s.sbuf_).substr(s.sbuf_off_, n));
      hdr += kHeaderSize;
      ++frames;
      s.sbuf_off_ += static_cast<std::uint32_t>(n);
      s.num_written_ += static_cast<std::uint32_t>(n);
      send_queued_ -= n;
      budget -= std::min(budget, n + kHeaderSize);
      touched_.push_back(&s);
      if (s.queued() == 0) {
        ring_remove(s);
        if ((s.flags_ & Stream::kWriteClosed) && !(s.flags_ & Stream::kFinSent)) {
          // The FIN rides right behind the stream's last frame.
          encode_header(hdr, cfg_.version, Cmd::fin, 0, s.id_);
          pieces_.emplace_back(hdr, kHeaderSize);
          hdr += kHeaderSize;
          ++frames;
          s.flags_ |= Stream::kFinSent;
        }
      } else {
        ring_ = s.ring_next_;  // next stream's turn
      }
    }
    if (pieces_.empty()) return;
    transport_->writev(pieces_);
    ctrl_.clear();
    for (Stream* s : touched_)
      after_sent(*s);
    wake_blocked();
    if (cfg_.version >= 2) budget_changed();
    if (frames == 0) return;
  }
}

// on_writable is due for blocked streams once both their own queue and the
// session's are down to half.
void Session::wake_blocked() {
  if (blocked_.empty() || send_queued_ > kSessionSendBudget / 2) return;
  std::size_t keep = 0;
  for (Stream* s : blocked_) {
    if (s->queued() <= cfg_.stream_send_buffer / 2) {
      s->flags_ &= static_cast<std::uint16_t>(~Stream::kBlocked);
      notify_.push_back(s);
    } else {
      blocked_[keep++] = s;
    }
  }
  blocked_.resize(keep);
}

// Releases sent bytes and raises on_writable / on_close as due.
void Session::after_sent(Stream& s) {
  if (s.flags_ & Stream::kDone) return;
  if (s.queued() == 0) {
    detail::BufferPool::give(s.sbuf_);
    s.sbuf_off_ = 0;
  } else if (s.sbuf_off_ >= 64 * 1024 && s.sbuf_off_ * 2 >= s.sbuf_.size()) {
    s.sbuf_.erase(0, s.sbuf_off_);
    s.sbuf_off_ = 0;
  }
  maybe_done(s);
}

}  // namespace weft::mux
